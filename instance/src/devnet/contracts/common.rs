//! What the cooperative contracts share: their account names, the [`chain_struct!`] macro that
//! gives a row or action type its binary layout and its ABI struct from one declaration, the
//! [`AbiBuilder`] that assembles a contract's published ABI, the document checks every
//! document-carrying action runs, and small helpers (id counters, assets, time).
//!
//! Document checks follow the contracts' `verify_document_or_fail` and
//! `verify_signer_keys_or_fail`: every signature must recover to the key it names over its
//! `signed_hash`, and a named signer's key must belong to `signer@permission`. Like the chain,
//! they never recompute the document hash chain.

use sha2::{Digest, Sha256};

use crate::antelope::abi::def::{AbiDef, ActionDef, FieldDef, StructDef, TableDef};
use crate::antelope::asset::Asset;
use crate::antelope::checksum::Checksum256;
use crate::antelope::document::Document2;
use crate::antelope::keys::PublicKey;
use crate::antelope::name::Name;
use crate::antelope::signature::Signature;
use crate::antelope::time::TimePointSec;
use crate::antelope::transaction::PermissionLevel;
use crate::devnet::contracts::{ApplyContext, ContractError, check};
use crate::devnet::state::ACTIVE;

/// The registrator contract account.
pub const REGISTRATOR: Name = Name::from_str_const("registrator");
/// The council contract account.
pub const SOVIET: Name = Name::from_str_const("soviet");
/// The payment gateway contract account.
pub const GATEWAY: Name = Name::from_str_const("gateway");
/// The share-contribution wallet contract account.
pub const WALLET: Name = Name::from_str_const("wallet");
/// The branches contract account.
pub const BRANCH: Name = Name::from_str_const("branch");
/// The marketplace contract account (orders of property and their returns).
pub const MARKETPLACE: Name = Name::from_str_const("marketplace");
/// The document templates contract account.
pub const DRAFT: Name = Name::from_str_const("draft");
/// The system contract account, whose authority `init` actions require.
pub const SYSTEM: Name = Name::from_str_const("eosio");
/// The provider cooperative that `registrator::init` registers (`_provider` upstream).
pub const PROVIDER: Name = Name::from_str_const("voskhod");

/// Contracts allowed to call the council's and the gateway's service actions
/// (`contracts_whitelist` upstream).
pub const CONTRACTS_WHITELIST: [Name; 6] =
    [REGISTRATOR, SOVIET, GATEWAY, WALLET, BRANCH, MARKETPLACE];

/// `RUB` with 4 decimals, the unit of cooperative fees and contributions
/// (`_root_govern_symbol` upstream).
pub const GOVERN_SYMBOL_RAW: u64 = u64::from_le_bytes([4, b'R', b'U', b'B', 0, 0, 0, 0]);

/// `AXON` with 4 decimals, the system token rentals are paid in (`_root_symbol` upstream).
pub const SYSTEM_SYMBOL_RAW: u64 = u64::from_le_bytes([4, b'A', b'X', b'O', b'N', 0, 0, 0]);

/// The `counts` table holding per-scope id counters (`counts_base` rows).
pub const COUNTS: Name = Name::from_str_const("counts");

/// A type whose ABI struct is known: name and fields in wire order.
pub trait AbiStruct {
    /// The ABI struct definition.
    fn struct_def() -> StructDef;
}

/// Declares a struct with the Antelope binary layout of its fields in order and its ABI struct
/// definition; each field names its ABI type. A field named `r#type` is published as `type`.
macro_rules! chain_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident = $abi_name:literal {
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty => $abi_type:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        $vis struct $name {
            $( $(#[$field_meta])* pub(crate) $field: $ty, )*
        }

        impl $crate::antelope::binary::Encode for $name {
            #[allow(unused_variables, reason = "structs without fields write nothing")]
            fn encode(&self, writer: &mut $crate::antelope::binary::Writer) {
                $( $crate::antelope::binary::Encode::encode(&self.$field, writer); )*
            }
        }

        impl $crate::antelope::binary::Decode for $name {
            #[allow(unused_variables, reason = "structs without fields read nothing")]
            fn decode(
                reader: &mut $crate::antelope::binary::Reader<'_>,
            ) -> $crate::antelope::binary::Result<Self> {
                Ok(Self { $( $field: $crate::antelope::binary::Decode::decode(reader)?, )* })
            }
        }

        impl $crate::devnet::contracts::common::AbiStruct for $name {
            fn struct_def() -> $crate::antelope::abi::def::StructDef {
                $crate::antelope::abi::def::StructDef {
                    name: $abi_name.to_owned(),
                    base: String::new(),
                    fields: vec![$(
                        $crate::antelope::abi::def::FieldDef {
                            name: stringify!($field).trim_start_matches("r#").to_owned(),
                            type_name: $abi_type.to_owned(),
                        },
                    )*],
                }
            }
        }
    };
}

pub(crate) use chain_struct;

chain_struct! {
    /// A per-scope id counter row of a `counts` table (`counts_base`).
    pub(crate) struct CountsBase = "counts_base" {
        key: Name => "name",
        secondary_key: Name => "name",
        value: u64 => "uint64",
    }
}

/// Collects the structs, actions and tables of one contract's ABI.
#[derive(Debug, Default)]
pub struct AbiBuilder {
    structs: Vec<StructDef>,
    actions: Vec<ActionDef>,
    tables: Vec<TableDef>,
}

impl AbiBuilder {
    /// An empty ABI.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the struct of `T`.
    pub fn with_struct<T: AbiStruct>(mut self) -> Self {
        self.structs.push(T::struct_def());
        self
    }

    /// Adds the `document2` and `signature_info` structs.
    pub fn with_document2(mut self) -> Self {
        self.structs.extend(document2_structs());
        self
    }

    /// Adds the legacy `document` struct.
    pub fn with_document(mut self) -> Self {
        self.structs.push(StructDef {
            name: "document".to_owned(),
            base: String::new(),
            fields: fields(&[
                ("hash", "checksum256"),
                ("public_key", "public_key"),
                ("signature", "signature"),
                ("meta", "string"),
            ]),
        });
        self
    }

    /// Adds the `counts` table, its row struct `counts` deriving from `counts_base`.
    pub fn with_counts_table(mut self) -> Self {
        self.structs.push(CountsBase::struct_def());
        self.structs.push(StructDef {
            name: "counts".to_owned(),
            base: "counts_base".to_owned(),
            fields: Vec::new(),
        });
        self.tables.push(table(COUNTS, "counts"));
        self
    }

    /// Adds the struct of `T` and an action `name` whose data is `T`.
    pub fn with_action<T: AbiStruct>(mut self, name: Name) -> Self {
        let def = T::struct_def();
        self.actions.push(ActionDef {
            name,
            type_name: def.name.clone(),
            ricardian_contract: String::new(),
        });
        self.structs.push(def);
        self
    }

    /// Adds the struct of `T` and a table `name` whose rows are `T`.
    pub fn with_table<T: AbiStruct>(mut self, name: Name) -> Self {
        let def = T::struct_def();
        self.tables.push(table(name, &def.name));
        self.structs.push(def);
        self
    }

    /// The ABI, structs sorted by name as the CDT ABI generator writes them.
    pub fn build(mut self) -> AbiDef {
        self.structs
            .sort_by(|left, right| left.name.cmp(&right.name));
        self.structs.dedup_by(|left, right| left.name == right.name);
        self.actions.sort_by_key(|action| action.name.to_string());
        self.tables.sort_by_key(|table| table.name.to_string());
        AbiDef {
            version: "eosio::abi/1.2".to_owned(),
            structs: self.structs,
            actions: self.actions,
            tables: self.tables,
            ..AbiDef::default()
        }
    }
}

fn fields(list: &[(&str, &str)]) -> Vec<FieldDef> {
    list.iter()
        .map(|(name, type_name)| FieldDef {
            name: (*name).to_owned(),
            type_name: (*type_name).to_owned(),
        })
        .collect()
}

fn table(name: Name, type_name: &str) -> TableDef {
    TableDef {
        name,
        index_type: "i64".to_owned(),
        key_names: Vec::new(),
        key_types: Vec::new(),
        type_name: type_name.to_owned(),
    }
}

fn document2_structs() -> [StructDef; 2] {
    [
        StructDef {
            name: "document2".to_owned(),
            base: String::new(),
            fields: fields(&[
                ("version", "string"),
                ("hash", "checksum256"),
                ("doc_hash", "checksum256"),
                ("meta_hash", "checksum256"),
                ("meta", "string"),
                ("signatures", "signature_info[]"),
            ]),
        },
        StructDef {
            name: "signature_info".to_owned(),
            base: String::new(),
            fields: fields(&[
                ("id", "uint32"),
                ("signed_hash", "checksum256"),
                ("signer", "name"),
                ("public_key", "public_key"),
                ("signature", "signature"),
                ("signed_at", "time_point_sec"),
                ("meta", "string"),
            ]),
        },
    ]
}

/// `actor@active`, the authority contracts send inline actions with.
pub fn active(actor: Name) -> Vec<PermissionLevel> {
    vec![PermissionLevel {
        actor,
        permission: ACTIVE,
    }]
}

/// Fails with `missing_auth_exception` unless one of `accounts` authorized the action
/// (`check_auth_and_get_payer_or_fail` upstream); returns the first that did.
pub fn require_any_auth(ctx: &ApplyContext<'_>, accounts: &[Name]) -> Result<Name, ContractError> {
    accounts
        .iter()
        .copied()
        .find(|account| ctx.has_auth(*account))
        .ok_or_else(|| ContractError::MissingAuth(accounts.first().copied().unwrap_or_default()))
}

/// `check_auth_or_fail` without staff rights: `username` must authorize the action and be
/// `owner` itself (the cooperative, or the account a template scope belongs to).
pub fn require_owner_authority(
    ctx: &ApplyContext<'_>,
    owner: Name,
    username: Name,
) -> Result<(), ContractError> {
    ctx.require_auth(username)?;
    check(username == owner, "Недостаточно прав доступа")
}

/// `assert_recover_key`: the signature over `digest` recovers to `key`.
pub fn assert_recover_key(
    digest: &Checksum256,
    signature: &Signature,
    key: &PublicKey,
) -> Result<(), ContractError> {
    let recovered = signature.recover(digest.as_bytes()).ok();
    check(
        recovered.as_ref() == Some(key),
        "Error expected key different than recovered key",
    )
}

/// `assert_recover_key_account`: the signature recovers to `key`, and `key` is one of the keys
/// of `account@permission`.
pub fn assert_recover_key_account(
    ctx: &ApplyContext<'_>,
    digest: &Checksum256,
    signature: &Signature,
    key: &PublicKey,
    account: Name,
    permission: Name,
) -> Result<(), ContractError> {
    assert_recover_key(digest, signature, key)?;
    let belongs = ctx
        .account(account)
        .and_then(|record| record.permission(permission))
        .is_some_and(|perm| perm.auth.keys.iter().any(|weight| weight.key == *key));
    check(
        belongs,
        format!("public key does not belong to {account}@{permission}"),
    )
}

/// `verify_document_or_fail`: every signature recovers to its key over its `signed_hash`, and
/// each of `required_signers` has signed.
pub fn verify_document(
    document: &Document2,
    required_signers: &[Name],
) -> Result<(), ContractError> {
    for info in &document.signatures {
        assert_recover_key(&info.signed_hash, &info.signature, &info.public_key)?;
    }
    for required in required_signers {
        check(
            document
                .signatures
                .iter()
                .any(|info| info.signer == *required),
            format!("Не найдена подпись от обязательного подписанта: {required}"),
        )?;
    }
    Ok(())
}

/// `verify_signer_keys_or_fail`: every signature by `signer` is made with a key of
/// `signer@active`.
pub fn verify_signer_keys(
    ctx: &ApplyContext<'_>,
    document: &Document2,
    signer: Name,
) -> Result<(), ContractError> {
    for info in document
        .signatures
        .iter()
        .filter(|info| info.signer == signer)
    {
        assert_recover_key_account(
            ctx,
            &info.signed_hash,
            &info.signature,
            &info.public_key,
            signer,
            ACTIVE,
        )?;
    }
    Ok(())
}

/// An empty `document2` (all-zero hash), as contracts store "no document yet".
pub fn empty_document() -> Document2 {
    Document2 {
        version: String::new(),
        hash: Checksum256::default(),
        doc_hash: Checksum256::default(),
        meta_hash: Checksum256::default(),
        meta: String::new(),
        signatures: Vec::new(),
    }
}

/// Block time in whole seconds (`current_time_point().sec_since_epoch()`).
pub fn now_sec(ctx: &ApplyContext<'_>) -> TimePointSec {
    let secs = ctx.current_time().as_micros().div_euclid(1_000_000);
    TimePointSec::from_secs(u32::try_from(secs).unwrap_or(u32::MAX))
}

/// `left + right`, failing as CDT's asset arithmetic does.
pub fn add_assets(left: Asset, right: Asset) -> Result<Asset, ContractError> {
    check(
        left.symbol() == right.symbol(),
        "attempt to add asset with different symbol",
    )?;
    let sum = left
        .amount()
        .checked_add(right.amount())
        .ok_or_else(|| ContractError::Assert("addition overflow".to_owned()))?;
    Asset::new(sum, left.symbol())
        .map_err(|_| ContractError::Assert("addition overflow".to_owned()))
}

/// `sha256` of a UTF-8 string as a checksum.
pub fn sha256(text: &str) -> Checksum256 {
    Checksum256::new(Sha256::digest(text.as_bytes()).into())
}

/// The next id of the counter `key` in the receiver's `counts` table under `scope`, starting
/// at 1 (`get_global_id_in_scope` upstream).
pub fn next_id(ctx: &mut ApplyContext<'_>, scope: Name, key: Name) -> Result<u64, ContractError> {
    let receiver = ctx.receiver();
    let current: Option<CountsBase> = ctx.find(receiver, scope, COUNTS, key.as_u64())?;
    let row = match current {
        Some(mut row) => {
            row.value = row.value.saturating_add(1);
            ctx.modify(COUNTS, scope, None, key.as_u64(), &row, Vec::new())?;
            row
        }
        None => {
            let row = CountsBase {
                key,
                secondary_key: Name::default(),
                value: 1,
            };
            ctx.emplace(COUNTS, scope, receiver, key.as_u64(), &row, Vec::new())?;
            row
        }
    };
    Ok(row.value)
}
