//! The system contract on `eosio`: the native actions nodeos runs before any WASM, as far as
//! MONO needs them — `newaccount`, `updateauth`, `deleteauth`, `setcode` and `setabi` — and
//! COOPOS' `createaccnt`, through which the registrator creates the accounts of members.
//!
//! `setcode` stores only the hash of the code (the devnet runs native contracts, never WASM);
//! `setabi` stores the binary `abi_def` that `get_abi`/`get_raw_abi` then serve.
//!
//! `createaccnt` takes the registrator's authority and sends an inline `newaccount` by `eosio`,
//! as the COOPOS system contract does, because nodeos only lets `newaccount`'s `creator`
//! authorize it and the cooperative that pays is not the creator. The registration fee the
//! real contract first transfers from the cooperative to `eosio` is not emulated: the devnet
//! has no token contract and bills no resources.

use sha2::{Digest, Sha256};

use crate::antelope::abi::def::{AbiDef, ActionDef, FieldDef, StructDef, TypeDef};
use crate::antelope::binary::{self, Decode, Reader};
use crate::antelope::checksum::Checksum256;
use crate::antelope::name::Name;
use crate::antelope::time::BlockTimestamp;
use crate::antelope::transaction::Action;
use crate::devnet::contracts::common::{AbiStruct, REGISTRATOR, active, chain_struct};
use crate::devnet::contracts::{ApplyContext, Contract, ContractError, check};
use crate::devnet::error::{ChainError, ChainErrorKind};
use crate::devnet::state::{ACTIVE, Account, Authority, EOSIO, OWNER, Permission};

const NEWACCOUNT: Name = Name::from_str_const("newaccount");
/// COOPOS' account creation on behalf of a cooperative; only the registrator may call it.
pub(crate) const CREATEACCNT: Name = Name::from_str_const("createaccnt");
const UPDATEAUTH: Name = Name::from_str_const("updateauth");
const DELETEAUTH: Name = Name::from_str_const("deleteauth");
const SETCODE: Name = Name::from_str_const("setcode");
const SETABI: Name = Name::from_str_const("setabi");

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
            ],
            actions: vec![
                action(CREATEACCNT),
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
            CREATEACCNT => create_account(ctx, ctx.data()?),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devnet::chain::Chain;
    use crate::devnet::contracts::registrator::registrator_authority;
    use crate::devnet::fixtures::{ALICE, chain, key, now, signed};

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
