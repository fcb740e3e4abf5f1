//! The system contract on `eosio`: the native actions nodeos runs before any WASM, as far as
//! MONO needs them — `newaccount`, `updateauth`, `deleteauth`, `setcode` and `setabi` — and
//! COOPOS' `createaccnt`, through which the registrator creates the accounts of members, and
//! `powerup`, which rents CPU and NET.
//!
//! `setcode` stores only the hash of the code (the devnet runs native contracts, never WASM);
//! `setabi` stores the binary `abi_def` that `get_abi`/`get_raw_abi` then serve.
//!
//! `createaccnt` takes the registrator's authority and sends an inline `newaccount` by `eosio`,
//! as the COOPOS system contract does, because nodeos only lets `newaccount`'s `creator`
//! authorize it and the cooperative that pays is not the creator. The registration fee the
//! real contract first transfers from the cooperative to `eosio` is not emulated: the devnet
//! has no token contract.
//!
//! `powerup` rents CPU and NET in a deliberately simple, deterministic model of COOPOS' variant
//! of the action, where the payer names the `payment` rather than fractions. The whole network
//! is [`CPU_CAPACITY_US`] of CPU and [`NET_CAPACITY_BYTES`] of NET for [`POWERUP_DAYS`], and
//! [`FULL_RENT_PRICE`] of the system token rents all of both: a payment rents its share of each.
//! A payment in another token, below [`MIN_POWERUP_FEE`] or for other `days` is refused.
//! Each rental is a `powup.order` row, as the real contract keeps them, lasting until
//! `expires`. The first rental also opens the receiver's `powup.used` row (the devnet's own
//! table), to which the chain adds the CPU and NET of every transaction the account is billed
//! for ([`bill`]). An account's `max` is the sum of
//! its unexpired rentals, `used` what it was billed since its first rental (usage never decays),
//! and `available` the difference, never below zero ([`resources`]). Nothing is refused for
//! lack of resources, and accounts that never rented one stay unlimited, so every other flow
//! behaves as before. Without a token contract the payment is checked but not moved, whatever
//! `transfer` says.

use sha2::{Digest, Sha256};

use crate::antelope::abi::def::{AbiDef, ActionDef, FieldDef, StructDef, TableDef, TypeDef};
use crate::antelope::asset::Asset;
use crate::antelope::binary::{self, Decode, Reader};
use crate::antelope::checksum::Checksum256;
use crate::antelope::name::Name;
use crate::antelope::time::{BlockTimestamp, TimePointSec};
use crate::antelope::transaction::Action;
use crate::devnet::contracts::common::{
    AbiStruct, REGISTRATOR, SYSTEM_SYMBOL_RAW, active, chain_struct, now_sec,
};
use crate::devnet::contracts::{ApplyContext, Contract, ContractError, check};
use crate::devnet::error::{ChainError, ChainErrorKind};
use crate::devnet::state::{
    ACTIVE, Account, Authority, EOSIO, Journal, OWNER, Permission, Row, RowKey, State,
};

const NEWACCOUNT: Name = Name::from_str_const("newaccount");
/// COOPOS' account creation on behalf of a cooperative; only the registrator may call it.
pub(crate) const CREATEACCNT: Name = Name::from_str_const("createaccnt");
const UPDATEAUTH: Name = Name::from_str_const("updateauth");
const DELETEAUTH: Name = Name::from_str_const("deleteauth");
const SETCODE: Name = Name::from_str_const("setcode");
const SETABI: Name = Name::from_str_const("setabi");
/// `eosio::powerup`: rent CPU and NET for a day.
pub(crate) const POWERUP: Name = Name::from_str_const("powerup");
/// Rentals, one row per `powerup` under scope `eosio`, as the real contract keeps them.
const POWUP_ORDER: Name = Name::from_str_const("powup.order");
/// The devnet's usage ledger: one row (key 0) under the scope of each account that rented.
const POWUP_USED: Name = Name::from_str_const("powup.used");

/// How long a rental lasts; `days` must say this, as the real contract's configuration does.
pub const POWERUP_DAYS: u32 = 1;
/// CPU of the whole network over a rental, in microseconds.
pub const CPU_CAPACITY_US: u64 = 1_000_000_000;
/// NET of the whole network over a rental, in bytes.
pub const NET_CAPACITY_BYTES: u64 = 1_000_000_000;
/// The payment that rents all of the network's CPU and NET, in the system token's smallest
/// units (1000.0000 AXON).
pub const FULL_RENT_PRICE: i64 = 10_000_000;
/// The smallest payment accepted (`min_powerup_fee`), 0.1000 AXON.
pub const MIN_POWERUP_FEE: i64 = 1_000;

/// The native system contract.
#[derive(Debug, Clone, Copy, Default)]
pub struct System;

chain_struct! {
    /// The data of `newaccount`.
    pub(crate) struct NewAccount = "newaccount" {
        creator: Name => "name",
        name: Name => "name",
        owner: Authority => "authority",
        active: Authority => "authority",
    }
}

chain_struct! {
    /// The data of `createaccnt`: the cooperative that pays for the account, and the account.
    pub(crate) struct CreateAccnt = "createaccnt" {
        coopname: Name => "name",
        new_account_name: Name => "name",
        owner: Authority => "authority",
        active: Authority => "authority",
    }
}

chain_struct! {
    /// The data of `powerup`.
    pub(crate) struct PowerUp = "powerup" {
        payer: Name => "name",
        receiver: Name => "name",
        days: u32 => "uint32",
        payment: Asset => "asset",
        transfer: bool => "bool",
    }
}

chain_struct! {
    /// A rental (`powup.order`): the weights are microseconds of CPU and bytes of NET.
    pub(crate) struct PowupOrder = "powerup_order" {
        version: u8 => "uint8",
        id: u64 => "uint64",
        owner: Name => "name",
        net_weight: i64 => "int64",
        cpu_weight: i64 => "int64",
        ram_bytes: i64 => "int64",
        expires: TimePointSec => "time_point_sec",
    }
}

chain_struct! {
    /// What an account that rented was billed since its first rental.
    pub(crate) struct PowupUsed = "powup_used" {
        cpu_used_us: u64 => "uint64",
        net_used_bytes: u64 => "uint64",
    }
}

/// The CPU and NET of an account that rented some, as `get_account` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    /// CPU billed, in microseconds.
    pub cpu_used_us: u64,
    /// CPU of the unexpired rentals, in microseconds.
    pub cpu_max_us: u64,
    /// NET billed, in bytes.
    pub net_used_bytes: u64,
    /// NET of the unexpired rentals, in bytes.
    pub net_max_bytes: u64,
}

impl Resources {
    /// CPU left, in microseconds.
    pub fn cpu_available_us(&self) -> u64 {
        self.cpu_max_us.saturating_sub(self.cpu_used_us)
    }

    /// NET left, in bytes.
    pub fn net_available_bytes(&self) -> u64 {
        self.net_max_bytes.saturating_sub(self.net_used_bytes)
    }
}

struct UpdateAuth {
    account: Name,
    permission: Name,
    parent: Name,
    auth: Authority,
}

struct DeleteAuth {
    account: Name,
    permission: Name,
}

struct SetCode {
    account: Name,
    code: Vec<u8>,
}

struct SetAbi {
    account: Name,
    abi: Vec<u8>,
}

impl Decode for UpdateAuth {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        Ok(Self {
            account: Name::decode(reader)?,
            permission: Name::decode(reader)?,
            parent: Name::decode(reader)?,
            auth: Authority::decode(reader)?,
        })
    }
}

impl Decode for DeleteAuth {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        Ok(Self {
            account: Name::decode(reader)?,
            permission: Name::decode(reader)?,
        })
    }
}

impl Decode for SetCode {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        let account = Name::decode(reader)?;
        let _vm_type = reader.read_u8()?;
        let _vm_version = reader.read_u8()?;
        let code = reader.read_bytes()?.to_vec();
        Ok(Self { account, code })
    }
}

impl Decode for SetAbi {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        Ok(Self {
            account: Name::decode(reader)?,
            abi: reader.read_bytes()?.to_vec(),
        })
    }
}

/// A new account record with `owner` and `active` permissions, as `newaccount` creates it.
pub fn new_account(
    name: Name,
    owner: Authority,
    active: Authority,
    created: BlockTimestamp,
) -> Account {
    let now = created.to_time_point();
    Account {
        name,
        creation_date: created,
        privileged: name == EOSIO,
        permissions: vec![
            Permission {
                name: OWNER,
                parent: Name::default(),
                auth: owner,
                last_updated: now,
            },
            Permission {
                name: ACTIVE,
                parent: OWNER,
                auth: active,
                last_updated: now,
            },
        ],
        abi: Vec::new(),
        code_hash: Checksum256::default(),
        last_code_update: Default::default(),
        code_sequence: 0,
        abi_sequence: 0,
    }
}

impl Contract for System {
    fn abi(&self) -> AbiDef {
        let field = |name: &str, type_name: &str| FieldDef {
            name: name.to_owned(),
            type_name: type_name.to_owned(),
        };
        let plain = |name: &str, fields: Vec<FieldDef>| StructDef {
            name: name.to_owned(),
            base: String::new(),
            fields,
        };
        let action = |name: Name| ActionDef {
            name,
            type_name: name.to_string(),
            ricardian_contract: String::new(),
        };
        AbiDef {
            version: "eosio::abi/1.1".to_owned(),
            types: vec![TypeDef {
                new_type_name: "account_name".to_owned(),
                type_name: "name".to_owned(),
            }],
            structs: vec![
                plain(
                    "permission_level",
                    vec![field("actor", "name"), field("permission", "name")],
                ),
                plain(
                    "key_weight",
                    vec![field("key", "public_key"), field("weight", "uint16")],
                ),
                plain(
                    "permission_level_weight",
                    vec![
                        field("permission", "permission_level"),
                        field("weight", "uint16"),
                    ],
                ),
                plain(
                    "wait_weight",
                    vec![field("wait_sec", "uint32"), field("weight", "uint16")],
                ),
                plain(
                    "authority",
                    vec![
                        field("threshold", "uint32"),
                        field("keys", "key_weight[]"),
                        field("accounts", "permission_level_weight[]"),
                        field("waits", "wait_weight[]"),
                    ],
                ),
                CreateAccnt::struct_def(),
                NewAccount::struct_def(),
                plain(
                    "updateauth",
                    vec![
                        field("account", "name"),
                        field("permission", "name"),
                        field("parent", "name"),
                        field("auth", "authority"),
                    ],
                ),
                plain(
                    "deleteauth",
                    vec![field("account", "name"), field("permission", "name")],
                ),
                plain(
                    "setcode",
                    vec![
                        field("account", "name"),
                        field("vmtype", "uint8"),
                        field("vmversion", "uint8"),
                        field("code", "bytes"),
                    ],
                ),
                plain(
                    "setabi",
                    vec![field("account", "name"), field("abi", "bytes")],
                ),
                PowerUp::struct_def(),
                PowupOrder::struct_def(),
                PowupUsed::struct_def(),
            ],
            actions: vec![
                action(CREATEACCNT),
                action(NEWACCOUNT),
                action(UPDATEAUTH),
                action(DELETEAUTH),
                action(SETCODE),
                action(SETABI),
                action(POWERUP),
            ],
            tables: vec![
                TableDef {
                    name: POWUP_ORDER,
                    index_type: "i64".to_owned(),
                    key_names: Vec::new(),
                    key_types: Vec::new(),
                    type_name: "powerup_order".to_owned(),
                },
                TableDef {
                    name: POWUP_USED,
                    index_type: "i64".to_owned(),
                    key_names: Vec::new(),
                    key_types: Vec::new(),
                    type_name: "powup_used".to_owned(),
                },
            ],
            ..AbiDef::default()
        }
    }

    fn apply(&self, ctx: &mut ApplyContext<'_>, action: &Action) -> Result<(), ContractError> {
        if ctx.is_notification() {
            return Ok(());
        }
        match action.name {
            CREATEACCNT => create_account(ctx, ctx.data()?),
            NEWACCOUNT => new_account_action(ctx, ctx.data()?),
            UPDATEAUTH => update_auth(ctx, ctx.data()?),
            DELETEAUTH => delete_auth(ctx, ctx.data()?),
            SETCODE => set_code(ctx, ctx.data()?),
            SETABI => set_abi(ctx, ctx.data()?),
            POWERUP => power_up(ctx, ctx.data()?),
            _ => Ok(()),
        }
    }
}

fn invalid_authority(message: String) -> ContractError {
    ContractError::Chain(ChainError::new(ChainErrorKind::AuthorityType, message))
}

fn existing(ctx: &ApplyContext<'_>, name: Name) -> Result<Account, ContractError> {
    ctx.account(name).cloned().ok_or_else(|| {
        ContractError::Chain(ChainError::new(
            ChainErrorKind::AccountQuery,
            format!("unknown account {name}"),
        ))
    })
}

fn new_account_action(ctx: &mut ApplyContext<'_>, args: NewAccount) -> Result<(), ContractError> {
    ctx.require_auth(args.creator)?;
    if ctx.is_account(args.name) {
        return Err(ContractError::Chain(ChainError::new(
            ChainErrorKind::AccountNameExists,
            format!(
                "Cannot create account named {}, as that name is already taken",
                args.name
            ),
        )));
    }
    check(
        !args.name.to_string().is_empty(),
        "account name cannot be empty",
    )?;
    for (perm, auth) in [("owner", &args.owner), ("active", &args.active)] {
        if !auth.is_valid() {
            return Err(invalid_authority(format!("Invalid {perm} authority")));
        }
    }
    let account = new_account(args.name, args.owner, args.active, ctx.block().timestamp);
    ctx.put_account(account)
}

fn create_account(ctx: &mut ApplyContext<'_>, args: CreateAccnt) -> Result<(), ContractError> {
    ctx.require_auth(REGISTRATOR)?;
    let data = NewAccount {
        creator: EOSIO,
        name: args.new_account_name,
        owner: args.owner,
        active: args.active,
    };
    ctx.send_inline_data(EOSIO, NEWACCOUNT, active(EOSIO), &data)
}

fn update_auth(ctx: &mut ApplyContext<'_>, args: UpdateAuth) -> Result<(), ContractError> {
    ctx.require_auth(args.account)?;
    check(
        args.permission != Name::default(),
        "Cannot create authority with empty name",
    )?;
    if !args.auth.is_valid() {
        return Err(invalid_authority("Invalid authority".to_owned()));
    }
    let mut account = existing(ctx, args.account)?;
    if args.permission == OWNER {
        check(
            args.parent == Name::default(),
            "Owner permission's parent must be empty",
        )?;
    } else {
        check(
            account.permission(args.parent).is_some(),
            format!("Parent permission {} does not exist", args.parent),
        )?;
        check(
            args.parent != args.permission,
            "Cannot set an authority as its own parent",
        )?;
    }
    let now = ctx.current_time();
    match account
        .permissions
        .iter_mut()
        .find(|perm| perm.name == args.permission)
    {
        Some(perm) => {
            perm.parent = args.parent;
            perm.auth = args.auth;
            perm.last_updated = now;
        }
        None => account.permissions.push(Permission {
            name: args.permission,
            parent: args.parent,
            auth: args.auth,
            last_updated: now,
        }),
    }
    ctx.put_account(account)
}

fn delete_auth(ctx: &mut ApplyContext<'_>, args: DeleteAuth) -> Result<(), ContractError> {
    ctx.require_auth(args.account)?;
    check(args.permission != ACTIVE, "Cannot delete active authority")?;
    check(args.permission != OWNER, "Cannot delete owner authority")?;
    let mut account = existing(ctx, args.account)?;
    check(
        !account
            .permissions
            .iter()
            .any(|perm| perm.parent == args.permission),
        "Cannot delete an authority which has children. Delete the children first",
    )?;
    let before = account.permissions.len();
    account
        .permissions
        .retain(|perm| perm.name != args.permission);
    check(
        account.permissions.len() < before,
        "Failed to retrieve permission",
    )?;
    ctx.put_account(account)
}

fn set_code(ctx: &mut ApplyContext<'_>, args: SetCode) -> Result<(), ContractError> {
    ctx.require_auth(args.account)?;
    let mut account = existing(ctx, args.account)?;
    let code_hash = if args.code.is_empty() {
        Checksum256::default()
    } else {
        Checksum256::new(Sha256::digest(&args.code).into())
    };
    check(
        account.code_hash != code_hash,
        "contract is already running this version of code",
    )?;
    account.code_hash = code_hash;
    account.code_sequence += 1;
    account.last_code_update = ctx.current_time();
    ctx.put_account(account)
}

fn set_abi(ctx: &mut ApplyContext<'_>, args: SetAbi) -> Result<(), ContractError> {
    ctx.require_auth(args.account)?;
    if !args.abi.is_empty() {
        AbiDef::from_bin(&args.abi).map_err(|error| {
            ContractError::Chain(ChainError::new(ChainErrorKind::AbiType, error.to_string()))
        })?;
    }
    let mut account = existing(ctx, args.account)?;
    account.abi = args.abi;
    account.abi_sequence += 1;
    ctx.put_account(account)
}

/// The share of `capacity` that `payment` (smallest units of the system token) rents.
pub fn rented(payment: i64, capacity: u64) -> i64 {
    let weight = i128::from(payment) * i128::from(capacity) / i128::from(FULL_RENT_PRICE);
    i64::try_from(weight).unwrap_or(i64::MAX)
}

fn power_up(ctx: &mut ApplyContext<'_>, args: PowerUp) -> Result<(), ContractError> {
    ctx.require_auth(args.payer)?;
    check(ctx.is_account(args.receiver), "invalid receiver")?;
    check(
        args.days == POWERUP_DAYS,
        "days doesn't match configuration",
    )?;
    check(
        args.payment.symbol().as_u64() == SYSTEM_SYMBOL_RAW,
        "payment doesn't match core symbol",
    )?;
    check(
        args.payment.amount() >= MIN_POWERUP_FEE,
        "calculated fee is below minimum; try powering up with more resources",
    )?;
    let id = ctx.available_primary_key(EOSIO, POWUP_ORDER);
    let expires = TimePointSec::from_secs(
        now_sec(ctx)
            .as_secs()
            .saturating_add(args.days.saturating_mul(86_400)),
    );
    let order = PowupOrder {
        version: 0,
        id,
        owner: args.receiver,
        net_weight: rented(args.payment.amount(), NET_CAPACITY_BYTES),
        cpu_weight: rented(args.payment.amount(), CPU_CAPACITY_US),
        ram_bytes: 0,
        expires,
    };
    ctx.emplace(POWUP_ORDER, EOSIO, args.payer, id, &order, Vec::new())?;
    if ctx
        .find::<PowupUsed>(EOSIO, args.receiver, POWUP_USED, 0)?
        .is_none()
    {
        let used = PowupUsed {
            cpu_used_us: 0,
            net_used_bytes: 0,
        };
        ctx.emplace(POWUP_USED, args.receiver, args.payer, 0, &used, Vec::new())?;
    }
    Ok(())
}

fn used_key(account: Name) -> RowKey {
    RowKey {
        code: EOSIO,
        scope: account,
        table: POWUP_USED,
        primary_key: 0,
    }
}

/// Adds a transaction's CPU and NET to `account`'s usage when it ever rented resources; other
/// accounts are not billed, as the devnet keeps them unlimited.
pub fn bill(state: &mut State, journal: &mut Journal, account: Name, cpu_us: u64, net_bytes: u64) {
    let key = used_key(account);
    let Some(row) = state.row(&key) else {
        return;
    };
    // The row is only ever written here and by `powerup`, both with `PowupUsed`.
    let Ok(used) = binary::from_bytes::<PowupUsed>(&row.value) else {
        return;
    };
    let billed = PowupUsed {
        cpu_used_us: used.cpu_used_us.saturating_add(cpu_us),
        net_used_bytes: used.net_used_bytes.saturating_add(net_bytes),
    };
    let row = Row {
        payer: row.payer,
        value: binary::to_bytes(&billed),
        secondary: row.secondary.clone(),
    };
    state.set_row(journal, key, Some(row));
}

/// The resources of `account` at `now`, or `None` when it never rented any (unlimited).
pub fn resources(state: &State, account: Name, now: TimePointSec) -> Option<Resources> {
    let used = binary::from_bytes::<PowupUsed>(&state.row(&used_key(account))?.value).ok()?;
    let mut resources = Resources {
        cpu_used_us: used.cpu_used_us,
        cpu_max_us: 0,
        net_used_bytes: used.net_used_bytes,
        net_max_bytes: 0,
    };
    let orders = state
        .table_rows(EOSIO, EOSIO, POWUP_ORDER)
        .filter_map(|(_, row)| binary::from_bytes::<PowupOrder>(&row.value).ok())
        .filter(|order| order.owner == account && order.expires > now);
    for order in orders {
        let weight = |value: i64| u64::try_from(value).unwrap_or(0);
        resources.cpu_max_us = resources
            .cpu_max_us
            .saturating_add(weight(order.cpu_weight));
        resources.net_max_bytes = resources
            .net_max_bytes
            .saturating_add(weight(order.net_weight));
    }
    Some(resources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devnet::chain::Chain;
    use crate::devnet::contracts::registrator::registrator_authority;
    use crate::devnet::fixtures::{ALICE, CAROL, chain, key, now, signed};

    const DAVE: Name = Name::from_str_const("dave");

    /// The fixture chain with a `registrator` account whose permissions hold key 6.
    fn chain_with_registrator() -> Chain {
        let mut chain = chain();
        let auth = Authority::single_key(key(6).public_key());
        let data = NewAccount {
            creator: EOSIO,
            name: REGISTRATOR,
            owner: auth.clone(),
            active: auth,
        };
        let action = Action {
            account: EOSIO,
            name: NEWACCOUNT,
            authorization: active(EOSIO),
            data: binary::to_bytes(&data),
        };
        let input = signed(&chain, vec![action], &[&key(1)]);
        chain
            .push_transaction(&input, now(&chain))
            .expect("registrator is created");
        chain
    }

    /// `createaccnt` of dave for alice, authorized by `actor@active`.
    fn create_dave(actor: Name) -> Action {
        let data = CreateAccnt {
            coopname: ALICE,
            new_account_name: DAVE,
            owner: registrator_authority(),
            active: Authority::single_key(key(5).public_key()),
        };
        Action {
            account: EOSIO,
            name: CREATEACCNT,
            authorization: active(actor),
            data: binary::to_bytes(&data),
        }
    }

    #[test]
    fn createaccnt_creates_the_account_through_an_inline_newaccount() {
        let mut chain = chain_with_registrator();
        let input = signed(&chain, vec![create_dave(REGISTRATOR)], &[&key(6)]);
        let result = chain
            .push_transaction(&input, now(&chain))
            .expect("created");
        let shape: Vec<_> = result
            .trace
            .action_traces
            .iter()
            .map(|trace| {
                (
                    trace.action_ordinal,
                    trace.creator_action_ordinal,
                    trace.receiver,
                    trace.act.name,
                    trace.act.authorization.clone(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                (1, 0, EOSIO, CREATEACCNT, active(REGISTRATOR)),
                (2, 1, EOSIO, NEWACCOUNT, active(EOSIO)),
            ]
        );
        let inline: NewAccount =
            binary::from_bytes(&result.trace.action_traces[1].act.data).expect("decodes");
        let active_auth = Authority::single_key(key(5).public_key());
        assert_eq!(
            inline,
            NewAccount {
                creator: EOSIO,
                name: DAVE,
                owner: registrator_authority(),
                active: active_auth.clone(),
            }
        );
        let account = chain.state().account(DAVE).expect("dave exists");
        let owner = account.permission(OWNER).expect("owner");
        assert_eq!(
            (owner.parent, &owner.auth),
            (Name::default(), &registrator_authority())
        );
        let active_perm = account.permission(ACTIVE).expect("active");
        assert_eq!(
            (active_perm.parent, &active_perm.auth),
            (OWNER, &active_auth)
        );
    }

    /// `powerup` by alice for `receiver`, paying `payment`.
    fn power_up_action(receiver: Name, payment: &str) -> Action {
        let data = PowerUp {
            payer: ALICE,
            receiver,
            days: POWERUP_DAYS,
            payment: payment.parse().expect("an asset"),
            transfer: true,
        };
        Action {
            account: EOSIO,
            name: POWERUP,
            authorization: active(ALICE),
            data: binary::to_bytes(&data),
        }
    }

    fn now_secs(chain: &Chain) -> TimePointSec {
        let micros = now(chain).as_micros();
        TimePointSec::from_secs(u32::try_from(micros / 1_000_000).expect("fits"))
    }

    #[test]
    fn a_payment_rents_its_share_of_the_network() {
        assert_eq!(rented(FULL_RENT_PRICE, CPU_CAPACITY_US), 1_000_000_000);
        assert_eq!(
            rented(FULL_RENT_PRICE / 1000, NET_CAPACITY_BYTES),
            1_000_000
        );
        assert_eq!(rented(1, CPU_CAPACITY_US), 100);
        assert_eq!(rented(0, CPU_CAPACITY_US), 0);
    }

    #[test]
    fn a_rental_gives_capacity_that_billed_transactions_use() {
        let mut chain = chain();
        assert_eq!(resources(chain.state(), CAROL, now_secs(&chain)), None);
        let input = signed(
            &chain,
            vec![power_up_action(CAROL, "1.0000 AXON")],
            &[&key(2)],
        );
        chain.push_transaction(&input, now(&chain)).expect("rented");
        // Alice signed and paid: carol was not billed for the powerup itself.
        let rented = resources(chain.state(), CAROL, now_secs(&chain)).expect("carol rented");
        assert_eq!(
            rented,
            Resources {
                cpu_used_us: 0,
                cpu_max_us: CPU_CAPACITY_US / 1000,
                net_used_bytes: 0,
                net_max_bytes: NET_CAPACITY_BYTES / 1000,
            }
        );
        // A transaction carol authorizes is billed to her.
        let auth = Authority::single_key(key(7).public_key());
        let update = Action {
            account: EOSIO,
            name: UPDATEAUTH,
            authorization: active(CAROL),
            data: [
                binary::to_bytes(&CAROL),
                binary::to_bytes(&Name::from_str_const("extra")),
                binary::to_bytes(&ACTIVE),
                binary::to_bytes(&auth),
            ]
            .concat(),
        };
        let input = signed(&chain, vec![update], &[&key(4)]);
        let pushed = chain.push_transaction(&input, now(&chain)).expect("billed");
        let used = resources(chain.state(), CAROL, now_secs(&chain)).expect("carol rented");
        assert_eq!(used.cpu_used_us, u64::from(pushed.trace.cpu_usage_us));
        assert_eq!(used.net_used_bytes, pushed.trace.net_usage);
        assert_eq!(
            used.cpu_available_us(),
            rented.cpu_max_us - u64::from(pushed.trace.cpu_usage_us)
        );
        // Alice never rented for herself and stays unlimited.
        assert_eq!(resources(chain.state(), ALICE, now_secs(&chain)), None);
        // The rental ends after its day.
        let later = TimePointSec::from_secs(now_secs(&chain).as_secs() + 86_400);
        let expired = resources(chain.state(), CAROL, later).expect("carol rented");
        assert_eq!((expired.cpu_max_us, expired.cpu_available_us()), (0, 0));
    }

    #[test]
    fn powerup_refuses_a_payment_below_the_minimum_and_wrong_terms() {
        let mut chain = chain();
        let cases = [
            (
                power_up_action(CAROL, "0.0999 AXON"),
                "calculated fee is below minimum; try powering up with more resources",
            ),
            (
                power_up_action(CAROL, "100.0000 RUB"),
                "payment doesn't match core symbol",
            ),
            (
                power_up_action(Name::from_str_const("nobody"), "1.0000 AXON"),
                "invalid receiver",
            ),
        ];
        for (action, message) in cases {
            let input = signed(&chain, vec![action], &[&key(2)]);
            let error = chain
                .push_transaction(&input, now(&chain))
                .expect_err("refused");
            assert_eq!(
                error.message(),
                format!("assertion failure with message: {message}")
            );
        }
        assert_eq!(resources(chain.state(), CAROL, now_secs(&chain)), None);
        let input = signed(
            &chain,
            vec![power_up_action(CAROL, "0.1000 AXON")],
            &[&key(2)],
        );
        chain
            .push_transaction(&input, now(&chain))
            .expect("the minimum is enough");
        let rented = resources(chain.state(), CAROL, now_secs(&chain)).expect("carol rented");
        assert_eq!(rented.cpu_max_us, CPU_CAPACITY_US / 10_000);
    }

    #[test]
    fn createaccnt_needs_the_registrators_authority() {
        let mut chain = chain_with_registrator();
        let input = signed(&chain, vec![create_dave(ALICE)], &[&key(2)]);
        let error = chain
            .push_transaction(&input, now(&chain))
            .expect_err("alice is not the registrator");
        assert_eq!(error.kind(), ChainErrorKind::MissingAuth);
        assert_eq!(error.message(), "missing authority of registrator");
        assert!(chain.state().account(DAVE).is_none());
    }
}
