//! The `branch` contract: a cooperative's local branches (`cooperative sites`), each run by a
//! trustee and a list of trusted members, and the per-cooperative branch count.
//!
//! Tables: `branches` (scope: cooperative, keyed by `braname`) and `branchstat` (scope:
//! cooperative, keyed by `coopname`). Every action needs the cooperative's authority; the
//! trustee and trusted accounts must be accepted shareholders.

use crate::antelope::abi::def::AbiDef;
use crate::antelope::name::Name;
use crate::antelope::transaction::Action;
use crate::devnet::contracts::common::{AbiBuilder, BRANCH, chain_struct};
use crate::devnet::contracts::registrator::cooperative_or_fail;
use crate::devnet::contracts::soviet::participant_or_fail;
use crate::devnet::contracts::{ApplyContext, Contract, ContractError, check};

/// The `branches` table (scope: cooperative).
pub const BRANCHES: Name = Name::from_str_const("branches");
/// The `branchstat` table (scope: cooperative).
pub const BRANCHSTAT: Name = Name::from_str_const("branchstat");

const CREATEBRANCH: Name = Name::from_str_const("createbranch");
const EDITBRANCH: Name = Name::from_str_const("editbranch");
const DELETEBRANCH: Name = Name::from_str_const("deletebranch");
const ADDTRUSTED: Name = Name::from_str_const("addtrusted");
const DELTRUSTED: Name = Name::from_str_const("deltrusted");
/// The most trusted members a branch may have.
const MAX_TRUSTED: usize = 3;

/// The branches contract.
#[derive(Debug, Clone, Copy, Default)]
pub struct Branch;

chain_struct! {
    /// A `branches` row.
    pub(crate) struct CooBranch = "coobranch" {
        braname: Name => "name",
        trustee: Name => "name",
        trusted: Vec<Name> => "name[]",
    }
}

chain_struct! {
    /// A `branchstat` row: how many branches the cooperative has.
    pub(crate) struct BranchStat = "branchstat" {
        coopname: Name => "name",
        count: u64 => "uint64",
    }
}

chain_struct! {
    /// `createbranch`: opens a branch with its trustee.
    pub(crate) struct BranchTrustee = "createbranch" {
        coopname: Name => "name",
        braname: Name => "name",
        trustee: Name => "name",
    }
}

chain_struct! {
    /// `editbranch`: replaces a branch's trustee.
    pub(crate) struct EditBranch = "editbranch" {
        coopname: Name => "name",
        braname: Name => "name",
        trustee: Name => "name",
    }
}

chain_struct! {
    /// `deletebranch`: removes a branch.
    pub(crate) struct DeleteBranch = "deletebranch" {
        coopname: Name => "name",
        braname: Name => "name",
    }
}

chain_struct! {
    /// `addtrusted`: adds a trusted member to a branch.
    pub(crate) struct AddTrusted = "addtrusted" {
        coopname: Name => "name",
        braname: Name => "name",
        trusted: Name => "name",
    }
}

chain_struct! {
    /// `deltrusted`: removes a trusted member from a branch.
    pub(crate) struct DelTrusted = "deltrusted" {
        coopname: Name => "name",
        braname: Name => "name",
        trusted: Name => "name",
    }
}

impl Contract for Branch {
    fn abi(&self) -> AbiDef {
        AbiBuilder::new()
            .with_table::<CooBranch>(BRANCHES)
            .with_table::<BranchStat>(BRANCHSTAT)
            .with_action::<BranchTrustee>(CREATEBRANCH)
            .with_action::<EditBranch>(EDITBRANCH)
            .with_action::<DeleteBranch>(DELETEBRANCH)
            .with_action::<AddTrusted>(ADDTRUSTED)
            .with_action::<DelTrusted>(DELTRUSTED)
            .build()
    }

    fn apply(&self, ctx: &mut ApplyContext<'_>, action: &Action) -> Result<(), ContractError> {
        if ctx.is_notification() {
            return Ok(());
        }
        match action.name {
            CREATEBRANCH => create_branch(ctx, ctx.data()?),
            EDITBRANCH => edit_branch(ctx, ctx.data()?),
            DELETEBRANCH => delete_branch(ctx, ctx.data()?),
            ADDTRUSTED => {
                let args: AddTrusted = ctx.data()?;
                ctx.require_auth(args.coopname)?;
                let mut branch = branch_or_fail(ctx, args.coopname, args.braname)?;
                participant_or_fail(ctx, args.coopname, args.trusted)?;
                check(
                    !branch.trusted.contains(&args.trusted),
                    "Доверенный уже добавлен",
                )?;
                check(
                    branch.trusted.len() < MAX_TRUSTED,
                    "Превышено максимальное количество доверенных",
                )?;
                branch.trusted.push(args.trusted);
                save_branch(ctx, args.coopname, &branch)
            }
            DELTRUSTED => {
                let args: DelTrusted = ctx.data()?;
                ctx.require_auth(args.coopname)?;
                let mut branch = branch_or_fail(ctx, args.coopname, args.braname)?;
                check(
                    branch.trusted.contains(&args.trusted),
                    "Доверенный не найден",
                )?;
                branch.trusted.retain(|name| *name != args.trusted);
                save_branch(ctx, args.coopname, &branch)
            }
            _ => Ok(()),
        }
    }
}

/// The branch `braname` of `coopname`, or the contract's failure.
pub(crate) fn branch_or_fail(
    ctx: &ApplyContext<'_>,
    coopname: Name,
    braname: Name,
) -> Result<CooBranch, ContractError> {
    ctx.find(BRANCH, coopname, BRANCHES, braname.as_u64())?
        .ok_or_else(|| ContractError::Assert("Кооперативный участок не найден".to_owned()))
}

/// Replaces a branch of `coopname`, keeping the row's payer.
fn save_branch(
    ctx: &mut ApplyContext<'_>,
    coopname: Name,
    branch: &CooBranch,
) -> Result<(), ContractError> {
    ctx.modify(
        BRANCHES,
        coopname,
        None,
        branch.braname.as_u64(),
        branch,
        Vec::new(),
    )
}

fn change_count(
    ctx: &mut ApplyContext<'_>,
    coopname: Name,
    added: bool,
) -> Result<(), ContractError> {
    let existing: Option<BranchStat> = ctx.find(BRANCH, coopname, BRANCHSTAT, coopname.as_u64())?;
    match existing {
        Some(mut stat) => {
            stat.count = if added {
                stat.count.saturating_add(1)
            } else {
                stat.count.saturating_sub(1)
            };
            ctx.modify(
                BRANCHSTAT,
                coopname,
                None,
                coopname.as_u64(),
                &stat,
                Vec::new(),
            )
        }
        None => {
            let stat = BranchStat {
                coopname,
                count: u64::from(added),
            };
            ctx.emplace(
                BRANCHSTAT,
                coopname,
                coopname,
                coopname.as_u64(),
                &stat,
                Vec::new(),
            )
        }
    }
}

fn create_branch(ctx: &mut ApplyContext<'_>, args: BranchTrustee) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    cooperative_or_fail(ctx, args.coopname)?;
    participant_or_fail(ctx, args.coopname, args.trustee)?;
    let existing: Option<CooBranch> =
        ctx.find(BRANCH, args.coopname, BRANCHES, args.braname.as_u64())?;
    check(existing.is_none(), "Кооперативный участок уже существует")?;
    let branch = CooBranch {
        braname: args.braname,
        trustee: args.trustee,
        trusted: Vec::new(),
    };
    ctx.emplace(
        BRANCHES,
        args.coopname,
        args.coopname,
        args.braname.as_u64(),
        &branch,
        Vec::new(),
    )?;
    change_count(ctx, args.coopname, true)
}

fn edit_branch(ctx: &mut ApplyContext<'_>, args: EditBranch) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    let mut branch = branch_or_fail(ctx, args.coopname, args.braname)?;
    participant_or_fail(ctx, args.coopname, args.trustee)?;
    branch.trustee = args.trustee;
    save_branch(ctx, args.coopname, &branch)
}

fn delete_branch(ctx: &mut ApplyContext<'_>, args: DeleteBranch) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    branch_or_fail(ctx, args.coopname, args.braname)?;
    ctx.erase(BRANCHES, args.coopname, args.braname.as_u64())?;
    change_count(ctx, args.coopname, false)
}
