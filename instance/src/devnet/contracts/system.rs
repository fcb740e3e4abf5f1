//! The system contract on `eosio`: the native actions nodeos runs before any WASM, as far as
//! MONO needs them — `newaccount`, `updateauth`, `deleteauth`, `setcode` and `setabi`.
//!
//! `setcode` stores only the hash of the code (the devnet runs native contracts, never WASM);
//! `setabi` stores the binary `abi_def` that `get_abi`/`get_raw_abi` then serve.

use sha2::{Digest, Sha256};

use crate::antelope::abi::def::{AbiDef, ActionDef, FieldDef, StructDef, TypeDef};
use crate::antelope::binary::{self, Decode, Reader};
use crate::antelope::checksum::Checksum256;
use crate::antelope::name::Name;
use crate::antelope::time::BlockTimestamp;
use crate::antelope::transaction::Action;
use crate::devnet::contracts::{ApplyContext, Contract, ContractError, check};
use crate::devnet::error::{ChainError, ChainErrorKind};
use crate::devnet::state::{ACTIVE, Account, Authority, EOSIO, OWNER, Permission};

const NEWACCOUNT: Name = Name::from_str_const("newaccount");
const UPDATEAUTH: Name = Name::from_str_const("updateauth");
const DELETEAUTH: Name = Name::from_str_const("deleteauth");
const SETCODE: Name = Name::from_str_const("setcode");
const SETABI: Name = Name::from_str_const("setabi");

/// The native system contract.
#[derive(Debug, Clone, Copy, Default)]
pub struct System;

struct NewAccount {
    creator: Name,
    name: Name,
    owner: Authority,
    active: Authority,
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

impl Decode for NewAccount {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        Ok(Self {
            creator: Name::decode(reader)?,
            name: Name::decode(reader)?,
            owner: Authority::decode(reader)?,
            active: Authority::decode(reader)?,
        })
    }
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
                plain(
                    "newaccount",
                    vec![
                        field("creator", "name"),
                        field("name", "name"),
                        field("owner", "authority"),
                        field("active", "authority"),
                    ],
                ),
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
            ],
            actions: vec![
                action(NEWACCOUNT),
                action(UPDATEAUTH),
                action(DELETEAUTH),
                action(SETCODE),
                action(SETABI),
            ],
            ..AbiDef::default()
        }
    }

    fn apply(&self, ctx: &mut ApplyContext<'_>, action: &Action) -> Result<(), ContractError> {
        if ctx.is_notification() {
            return Ok(());
        }
        match action.name {
            NEWACCOUNT => new_account_action(ctx, ctx.data()?),
            UPDATEAUTH => update_auth(ctx, ctx.data()?),
            DELETEAUTH => delete_auth(ctx, ctx.data()?),
            SETCODE => set_code(ctx, ctx.data()?),
            SETABI => set_abi(ctx, ctx.data()?),
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
