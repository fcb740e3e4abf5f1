//! Test fixtures of the devnet: a small contract exercising tables, secondary keys,
//! notifications and inline actions, and a chain with a few keyed accounts.

use std::sync::Arc;

use crate::antelope::abi::def::{AbiDef, ActionDef, FieldDef, StructDef, TableDef};
use crate::antelope::binary;
use crate::antelope::checksum::Checksum256;
use crate::antelope::keys::PrivateKey;
use crate::antelope::name::Name;
use crate::antelope::time::{BlockTimestamp, TimePoint, TimePointSec};
use crate::antelope::transaction::{Action, PermissionLevel, Tapos, Transaction};
use crate::devnet::chain::{Chain, ChainConfig, SignedInput};
use crate::devnet::contracts::system::new_account;
use crate::devnet::contracts::{ApplyContext, Contract, ContractError, Contracts, check};
use crate::devnet::state::{Authority, EOSIO, SecondaryKey};

pub(crate) const BANK: Name = Name::from_str_const("bank");
pub(crate) const ALICE: Name = Name::from_str_const("alice");
pub(crate) const CAROL: Name = Name::from_str_const("carol");
pub(crate) const PUT: Name = Name::from_str_const("put");
pub(crate) const BOOM: Name = Name::from_str_const("boom");
pub(crate) const NOTE: Name = Name::from_str_const("note");
pub(crate) const ROWS: Name = Name::from_str_const("rows");
pub(crate) const GENESIS_SLOT: u32 = 1_000_000;

/// Test contract: `put(u64)` stores a row, notifies carol and sends `note`; `boom(u64)`
/// stores a row and sends `put` twice for the same key, so the inline action fails.
pub(crate) struct Bank;

impl Contract for Bank {
    fn abi(&self) -> AbiDef {
        let value = || {
            vec![FieldDef {
                name: "value".to_owned(),
                type_name: "uint64".to_owned(),
            }]
        };
        let structs = ["put", "boom", "note", "row"].map(|name| StructDef {
            name: name.to_owned(),
            base: String::new(),
            fields: value(),
        });
        let actions = [PUT, BOOM, NOTE].map(|name| ActionDef {
            name,
            type_name: name.to_string(),
            ricardian_contract: String::new(),
        });
        AbiDef {
            version: "eosio::abi/1.1".to_owned(),
            structs: structs.to_vec(),
            actions: actions.to_vec(),
            tables: vec![TableDef {
                name: ROWS,
                index_type: "i64".to_owned(),
                key_names: Vec::new(),
                key_types: Vec::new(),
                type_name: "row".to_owned(),
            }],
            ..AbiDef::default()
        }
    }

    fn apply(&self, ctx: &mut ApplyContext<'_>, action: &Action) -> Result<(), ContractError> {
        if ctx.is_notification() {
            return Ok(());
        }
        let value: u64 = ctx.data()?;
        let auth = vec![PermissionLevel {
            actor: BANK,
            permission: Name::from_str_const("active"),
        }];
        match action.name {
            PUT => {
                ctx.emplace(
                    ROWS,
                    BANK,
                    BANK,
                    value,
                    &value,
                    vec![SecondaryKey::U64(value * 2)],
                )?;
                ctx.require_recipient(CAROL);
                ctx.send_inline_data(BANK, NOTE, auth, &value)
            }
            BOOM => {
                ctx.emplace(ROWS, BANK, BANK, value + 1000, &value, Vec::new())?;
                ctx.send_inline_data(BANK, PUT, auth.clone(), &value)?;
                ctx.send_inline_data(BANK, PUT, auth, &value)
            }
            NOTE => check(
                ctx.find::<u64>(BANK, BANK, ROWS, value)?.is_some(),
                "row missing",
            ),
            _ => Ok(()),
        }
    }
}

pub(crate) fn key(byte: u8) -> PrivateKey {
    PrivateKey::from_bytes(&[byte; 32]).expect("valid scalar")
}

pub(crate) fn chain() -> Chain {
    let mut contracts = Contracts::with_system();
    contracts.register(BANK, Arc::new(Bank));
    let created = BlockTimestamp::from_slot(GENESIS_SLOT);
    let account = |name: Name, key: &PrivateKey| {
        let auth = Authority::single_key(key.public_key());
        new_account(name, auth.clone(), auth, created)
    };
    let config = ChainConfig {
        chain_id: Checksum256::new([9; 32]),
        lib_lag: 3,
        producer_key: key(1),
    };
    let accounts = vec![
        account(EOSIO, &key(1)),
        account(ALICE, &key(2)),
        account(BANK, &key(3)),
        account(CAROL, &key(4)),
    ];
    Chain::new(config, contracts, accounts, created).expect("genesis")
}

pub(crate) fn now(chain: &Chain) -> TimePoint {
    BlockTimestamp::from_slot(chain.head().block.header.timestamp.slot() + 1).to_time_point()
}

pub(crate) fn signed(chain: &Chain, actions: Vec<Action>, keys: &[&PrivateKey]) -> SignedInput {
    let head_secs = chain
        .head()
        .block
        .header
        .timestamp
        .to_time_point()
        .as_micros()
        / 1_000_000;
    let expiration = TimePointSec::from_secs(u32::try_from(head_secs + 60).expect("fits"));
    let trx = Transaction::new(expiration, Tapos::from_block_id(&chain.head().id), actions);
    let signed = trx
        .sign(chain.chain_id(), keys.iter().copied())
        .expect("signs");
    let packed = signed.to_packed();
    SignedInput {
        signatures: packed.signatures,
        packed_trx: packed.packed_trx,
    }
}

pub(crate) fn bank_action(name: Name, value: u64) -> Action {
    Action {
        account: BANK,
        name,
        authorization: vec![PermissionLevel {
            actor: BANK,
            permission: Name::from_str_const("active"),
        }],
        data: binary::to_bytes(&value),
    }
}
