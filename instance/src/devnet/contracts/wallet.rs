//! The `wallet` contract: share contributions to the "Digital Wallet" programme (deposits) and
//! their return (withdrawals), each with its payment through the gateway.
//!
//! A deposit (`createdpst`) opens a gateway income whose callbacks are `completedpst` and
//! `declinedpst`; either removes the deposit. A withdrawal (`createwthd`) carries the member's
//! signed statement and puts it on the council's agenda as a `createwthd` decision; executing
//! the decision calls `authwthd`, which opens a gateway outcome whose callbacks are
//! `completewthd` and `declinewthd`; either removes the withdrawal, and the council may also
//! decline it through `declinewthd`.
//!
//! Tables (scope: cooperative): `deposits` and `withdraws`, with secondary indexes
//! 2 `byusername`, 3 `byhash`, 4 `bystatus`. Ids count up from 1 per scope.
//! The contract's ledger entries (`Ledger2::apply` upstream) and its programme agreements
//! (`signagree`, `revokeagree`, the `users` table) are not emulated.

use crate::antelope::abi::def::AbiDef;
use crate::antelope::asset::Asset;
use crate::antelope::checksum::Checksum256;
use crate::antelope::document::Document2;
use crate::antelope::name::Name;
use crate::antelope::time::TimePointSec;
use crate::antelope::transaction::Action;
use crate::devnet::contracts::common::{
    AbiBuilder, GATEWAY, GOVERN_SYMBOL_RAW, SOVIET, WALLET, active, chain_struct, empty_document,
    now_sec, require_any_auth, verify_document, verify_signer_keys,
};
use crate::devnet::contracts::gateway::{CreateInPay, CreateOutPay};
use crate::devnet::contracts::registrator::cooperative_or_fail;
use crate::devnet::contracts::soviet::{ACCEPTED, CreateAgenda, Participant, participant_or_fail};
use crate::devnet::contracts::{ApplyContext, Contract, ContractError, check};
use crate::devnet::state::SecondaryKey;

/// The `deposits` table (scope: cooperative).
pub const DEPOSITS: Name = Name::from_str_const("deposits");
/// The `withdraws` table (scope: cooperative).
pub const WITHDRAWS: Name = Name::from_str_const("withdraws");

const CREATEDPST: Name = Name::from_str_const("createdpst");
const COMPLETEDPST: Name = Name::from_str_const("completedpst");
const DECLINEDPST: Name = Name::from_str_const("declinedpst");
const CREATEWTHD: Name = Name::from_str_const("createwthd");
const AUTHWTHD: Name = Name::from_str_const("authwthd");
const COMPLETEWTHD: Name = Name::from_str_const("completewthd");
const DECLINEWTHD: Name = Name::from_str_const("declinewthd");
const CREATEAGENDA: Name = Name::from_str_const("createagenda");
const CREATEINPAY: Name = Name::from_str_const("createinpay");
const CREATEOUTPAY: Name = Name::from_str_const("createoutpay");
const PENDING: Name = Name::from_str_const("pending");
const AUTHORIZED: Name = Name::from_str_const("authorized");
/// Secondary index position of `byhash` (2 is `byusername`).
const BYHASH: usize = 3;

/// The share-contribution wallet contract.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wallet;

chain_struct! {
    /// A `deposits` row: a contribution waiting for its payment.
    pub(crate) struct Deposit = "deposit" {
        id: u64 => "uint64",
        coopname: Name => "name",
        username: Name => "name",
        deposit_hash: Checksum256 => "checksum256",
        quantity: Asset => "asset",
        status: Name => "name",
        created_at: TimePointSec => "time_point_sec",
    }
}

chain_struct! {
    /// A `withdraws` row: a return of contributions on its way through council and payment.
    pub(crate) struct Withdraw = "withdraw" {
        id: u64 => "uint64",
        username: Name => "name",
        coopname: Name => "name",
        withdraw_hash: Checksum256 => "checksum256",
        status: Name => "name",
        quantity: Asset => "asset",
        statement: Document2 => "document2",
        approved_statement: Document2 => "document2",
        authorization: Document2 => "document2",
        created_at: TimePointSec => "time_point_sec",
    }
}

chain_struct! {
    /// `createdpst`: the cooperative opens a member's contribution.
    pub(crate) struct CreateDeposit = "createdpst" {
        coopname: Name => "name",
        username: Name => "name",
        deposit_hash: Checksum256 => "checksum256",
        quantity: Asset => "asset",
    }
}

chain_struct! {
    /// `completedpst`: the gateway reports the contribution paid.
    pub(crate) struct CompleteDeposit = "completedpst" {
        coopname: Name => "name",
        deposit_hash: Checksum256 => "checksum256",
    }
}

chain_struct! {
    /// `declinedpst`: the gateway reports the contribution failed.
    pub(crate) struct DeclineDeposit = "declinedpst" {
        coopname: Name => "name",
        deposit_hash: Checksum256 => "checksum256",
        reason: String => "string",
    }
}

chain_struct! {
    /// `createwthd`: the cooperative files a member's signed withdrawal statement.
    pub(crate) struct CreateWithdraw = "createwthd" {
        coopname: Name => "name",
        username: Name => "name",
        withdraw_hash: Checksum256 => "checksum256",
        quantity: Asset => "asset",
        statement: Document2 => "document2",
    }
}

chain_struct! {
    /// `authwthd`: the council's executed decision authorizes the withdrawal.
    pub(crate) struct AuthWithdraw = "authwthd" {
        coopname: Name => "name",
        hash: Checksum256 => "checksum256",
        authorization: Document2 => "document2",
    }
}

chain_struct! {
    /// `completewthd`: the gateway reports the withdrawal paid out.
    pub(crate) struct CompleteWithdraw = "completewthd" {
        coopname: Name => "name",
        withdraw_hash: Checksum256 => "checksum256",
    }
}

chain_struct! {
    /// `declinewthd`: the council or the gateway declines the withdrawal.
    pub(crate) struct DeclineWithdraw = "declinewthd" {
        coopname: Name => "name",
        withdraw_hash: Checksum256 => "checksum256",
        reason: String => "string",
    }
}

impl Contract for Wallet {
    fn abi(&self) -> AbiDef {
        AbiBuilder::new()
            .with_document2()
            .with_table::<Deposit>(DEPOSITS)
            .with_table::<Withdraw>(WITHDRAWS)
            .with_action::<CreateDeposit>(CREATEDPST)
            .with_action::<CompleteDeposit>(COMPLETEDPST)
            .with_action::<DeclineDeposit>(DECLINEDPST)
            .with_action::<CreateWithdraw>(CREATEWTHD)
            .with_action::<AuthWithdraw>(AUTHWTHD)
            .with_action::<CompleteWithdraw>(COMPLETEWTHD)
            .with_action::<DeclineWithdraw>(DECLINEWTHD)
            .build()
    }

    fn apply(&self, ctx: &mut ApplyContext<'_>, action: &Action) -> Result<(), ContractError> {
        if ctx.is_notification() {
            return Ok(());
        }
        match action.name {
            CREATEDPST => create_deposit(ctx, ctx.data()?),
            COMPLETEDPST => complete_deposit(ctx, ctx.data()?),
            DECLINEDPST => decline_deposit(ctx, ctx.data()?),
            CREATEWTHD => create_withdraw(ctx, ctx.data()?),
            AUTHWTHD => auth_withdraw(ctx, ctx.data()?),
            COMPLETEWTHD => complete_withdraw(ctx, ctx.data()?),
            DECLINEWTHD => decline_withdraw(ctx, ctx.data()?),
            _ => Ok(()),
        }
    }
}

/// `Wallet::validate_asset`: the cooperative's governing symbol and a non-negative amount.
fn validate_asset(quantity: Asset) -> Result<(), ContractError> {
    check(
        quantity.symbol().as_u64() == GOVERN_SYMBOL_RAW,
        "Неверный символ токена",
    )?;
    check(quantity.amount() >= 0, "Сумма должна быть неотрицательной")
}

/// `get_active_participant_or_fail`: an accepted shareholder of the cooperative.
fn active_participant_or_fail(
    ctx: &ApplyContext<'_>,
    coopname: Name,
    username: Name,
) -> Result<Participant, ContractError> {
    let participant = participant_or_fail(ctx, coopname, username)?;
    check(
        participant.status == ACCEPTED,
        "Пайщик не является активным участником кооператива",
    )?;
    Ok(participant)
}

fn secondary(username: Name, hash: Checksum256, status: Name) -> Vec<SecondaryKey> {
    vec![
        SecondaryKey::U64(username.as_u64()),
        SecondaryKey::Checksum256(hash),
        SecondaryKey::U64(status.as_u64()),
    ]
}

fn find_deposit(
    ctx: &ApplyContext<'_>,
    coopname: Name,
    hash: Checksum256,
) -> Result<Option<(u64, Deposit)>, ContractError> {
    let key = SecondaryKey::Checksum256(hash);
    ctx.find_by_secondary(WALLET, coopname, DEPOSITS, BYHASH, &key)
}

fn find_withdraw(
    ctx: &ApplyContext<'_>,
    coopname: Name,
    hash: Checksum256,
) -> Result<Option<(u64, Withdraw)>, ContractError> {
    let key = SecondaryKey::Checksum256(hash);
    ctx.find_by_secondary(WALLET, coopname, WITHDRAWS, BYHASH, &key)
}

fn create_deposit(ctx: &mut ApplyContext<'_>, args: CreateDeposit) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    validate_asset(args.quantity)?;
    cooperative_or_fail(ctx, args.coopname)?;
    active_participant_or_fail(ctx, args.coopname, args.username)?;
    check(
        find_deposit(ctx, args.coopname, args.deposit_hash)?.is_none(),
        "Взнос у указанным deposit_hash уже существует",
    )?;
    let id = ctx.available_primary_key(args.coopname, DEPOSITS).max(1);
    let deposit = Deposit {
        id,
        coopname: args.coopname,
        username: args.username,
        deposit_hash: args.deposit_hash,
        quantity: args.quantity,
        status: PENDING,
        created_at: now_sec(ctx),
    };
    let keys = secondary(args.username, args.deposit_hash, PENDING);
    ctx.emplace(DEPOSITS, args.coopname, args.coopname, id, &deposit, keys)?;
    let income = CreateInPay {
        coopname: args.coopname,
        username: args.username,
        income_hash: args.deposit_hash,
        quantity: args.quantity,
        callback_contract: WALLET,
        confirm_callback: COMPLETEDPST,
        decline_callback: DECLINEDPST,
    };
    ctx.send_inline_data(GATEWAY, CREATEINPAY, active(WALLET), &income)
}

fn complete_deposit(
    ctx: &mut ApplyContext<'_>,
    args: CompleteDeposit,
) -> Result<(), ContractError> {
    ctx.require_auth(GATEWAY)?;
    cooperative_or_fail(ctx, args.coopname)?;
    let (id, deposit) = find_deposit(ctx, args.coopname, args.deposit_hash)?
        .ok_or_else(|| ContractError::Assert("Объект паевого взноса не найден".to_owned()))?;
    participant_or_fail(ctx, args.coopname, deposit.username)?;
    ctx.require_recipient(deposit.username);
    ctx.erase(DEPOSITS, args.coopname, id)
}

fn decline_deposit(ctx: &mut ApplyContext<'_>, args: DeclineDeposit) -> Result<(), ContractError> {
    ctx.require_auth(GATEWAY)?;
    let (id, _) = find_deposit(ctx, args.coopname, args.deposit_hash)?
        .ok_or_else(|| ContractError::Assert("Объект паевого взноса не найден".to_owned()))?;
    ctx.erase(DEPOSITS, args.coopname, id)
}

fn create_withdraw(ctx: &mut ApplyContext<'_>, args: CreateWithdraw) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    validate_asset(args.quantity)?;
    let cooperative = cooperative_or_fail(ctx, args.coopname)?;
    check(
        cooperative.initial.symbol() == args.quantity.symbol()
            && cooperative.minimum.symbol() == args.quantity.symbol(),
        "Неверный контракт токена",
    )?;
    verify_document(&args.statement, &[args.username])?;
    verify_signer_keys(ctx, &args.statement, args.username)?;
    check(
        find_withdraw(ctx, args.coopname, args.withdraw_hash)?.is_none(),
        "Объект возврата уже существует с указанным хэшем",
    )?;
    let id = ctx.available_primary_key(args.coopname, WITHDRAWS).max(1);
    let withdraw = Withdraw {
        id,
        username: args.username,
        coopname: args.coopname,
        withdraw_hash: args.withdraw_hash,
        status: PENDING,
        quantity: args.quantity,
        statement: args.statement.clone(),
        approved_statement: empty_document(),
        authorization: empty_document(),
        created_at: now_sec(ctx),
    };
    let keys = secondary(args.username, args.withdraw_hash, PENDING);
    ctx.emplace(WITHDRAWS, args.coopname, args.coopname, id, &withdraw, keys)?;
    let agenda = CreateAgenda {
        coopname: args.coopname,
        username: args.username,
        r#type: CREATEWTHD,
        hash: args.withdraw_hash,
        callback_contract: WALLET,
        confirm_callback: AUTHWTHD,
        decline_callback: DECLINEWTHD,
        statement: args.statement,
        meta: String::new(),
    };
    ctx.send_inline_data(SOVIET, CREATEAGENDA, active(WALLET), &agenda)
}

fn auth_withdraw(ctx: &mut ApplyContext<'_>, args: AuthWithdraw) -> Result<(), ContractError> {
    ctx.require_auth(SOVIET)?;
    let (id, mut withdraw) = find_withdraw(ctx, args.coopname, args.hash)?.ok_or_else(|| {
        ContractError::Assert("Объект возврата с указанным хэшем не найден".to_owned())
    })?;
    withdraw.status = AUTHORIZED;
    let keys = secondary(withdraw.username, withdraw.withdraw_hash, AUTHORIZED);
    ctx.modify(WITHDRAWS, args.coopname, None, id, &withdraw, keys)?;
    let outcome = CreateOutPay {
        coopname: args.coopname,
        username: withdraw.username,
        outcome_hash: args.hash,
        quantity: withdraw.quantity,
        callback_contract: WALLET,
        confirm_callback: COMPLETEWTHD,
        decline_callback: DECLINEWTHD,
    };
    ctx.send_inline_data(GATEWAY, CREATEOUTPAY, active(WALLET), &outcome)
}

fn complete_withdraw(
    ctx: &mut ApplyContext<'_>,
    args: CompleteWithdraw,
) -> Result<(), ContractError> {
    ctx.require_auth(GATEWAY)?;
    let (id, withdraw) = find_withdraw(ctx, args.coopname, args.withdraw_hash)?
        .ok_or_else(|| ContractError::Assert("Объект процессинга не найден".to_owned()))?;
    check(
        withdraw.status == AUTHORIZED,
        "Только принятые заявления на вывод могут быть обработаны",
    )?;
    ctx.erase(WITHDRAWS, args.coopname, id)
}

fn decline_withdraw(
    ctx: &mut ApplyContext<'_>,
    args: DeclineWithdraw,
) -> Result<(), ContractError> {
    require_any_auth(ctx, &[SOVIET, GATEWAY])?;
    let (id, _) = find_withdraw(ctx, args.coopname, args.withdraw_hash)?
        .ok_or_else(|| ContractError::Assert("Объект возврата не найден".to_owned()))?;
    ctx.erase(WITHDRAWS, args.coopname, id)
}
