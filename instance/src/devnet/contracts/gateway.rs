//! The `gateway` contract: incoming and outgoing payments of a cooperative. A contract opens a
//! payment (`createinpay`/`createoutpay`) naming a callback contract and its confirm and decline
//! actions; the cooperative then closes it (`incomplete`/`indecline`,
//! `outcomplete`/`outdecline`), which calls the callback and removes the payment.
//!
//! Tables (scope: cooperative): `incomes` and `outcomes`, each with secondary indexes
//! 2 `byhash`, 3 `byusername` and 4 `bystatus`. Ids count up from 1 per scope.

use crate::antelope::abi::def::AbiDef;
use crate::antelope::asset::Asset;
use crate::antelope::checksum::Checksum256;
use crate::antelope::name::Name;
use crate::antelope::time::TimePointSec;
use crate::antelope::transaction::Action;
use crate::devnet::contracts::common::{
    AbiBuilder, CONTRACTS_WHITELIST, GATEWAY, active, chain_struct, now_sec, require_any_auth,
};
use crate::devnet::contracts::registrator::cooperative_or_fail;
use crate::devnet::contracts::{ApplyContext, Contract, ContractError, check};
use crate::devnet::state::SecondaryKey;

/// The `incomes` table (scope: cooperative).
pub const INCOMES: Name = Name::from_str_const("incomes");
/// The `outcomes` table (scope: cooperative).
pub const OUTCOMES: Name = Name::from_str_const("outcomes");

const CREATEINPAY: Name = Name::from_str_const("createinpay");
const INCOMPLETE: Name = Name::from_str_const("incomplete");
const INDECLINE: Name = Name::from_str_const("indecline");
const CREATEOUTPAY: Name = Name::from_str_const("createoutpay");
const OUTCOMPLETE: Name = Name::from_str_const("outcomplete");
const OUTDECLINE: Name = Name::from_str_const("outdecline");
const PENDING: Name = Name::from_str_const("pending");

/// The payment gateway contract.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gateway;

chain_struct! {
    /// An `incomes` row: a payment the cooperative expects.
    pub(crate) struct Income = "income" {
        id: u64 => "uint64",
        coopname: Name => "name",
        username: Name => "name",
        r#type: Name => "name",
        income_hash: Checksum256 => "checksum256",
        callback_contract: Name => "name",
        confirm_callback: Name => "name",
        decline_callback: Name => "name",
        quantity: Asset => "asset",
        status: Name => "name",
        created_at: TimePointSec => "time_point_sec",
    }
}

chain_struct! {
    /// An `outcomes` row: a payment the cooperative is to make.
    pub(crate) struct Outcome = "outcome" {
        id: u64 => "uint64",
        coopname: Name => "name",
        username: Name => "name",
        r#type: Name => "name",
        outcome_hash: Checksum256 => "checksum256",
        callback_contract: Name => "name",
        confirm_callback: Name => "name",
        decline_callback: Name => "name",
        quantity: Asset => "asset",
        status: Name => "name",
        created_at: TimePointSec => "time_point_sec",
    }
}

chain_struct! {
    /// `createinpay`: opens an incoming payment.
    pub(crate) struct CreateInPay = "createinpay" {
        coopname: Name => "name",
        username: Name => "name",
        income_hash: Checksum256 => "checksum256",
        quantity: Asset => "asset",
        callback_contract: Name => "name",
        confirm_callback: Name => "name",
        decline_callback: Name => "name",
    }
}

chain_struct! {
    /// `createoutpay`: opens an outgoing payment.
    pub(crate) struct CreateOutPay = "createoutpay" {
        coopname: Name => "name",
        username: Name => "name",
        outcome_hash: Checksum256 => "checksum256",
        quantity: Asset => "asset",
        callback_contract: Name => "name",
        confirm_callback: Name => "name",
        decline_callback: Name => "name",
    }
}

chain_struct! {
    /// `incomplete`: the incoming payment arrived.
    pub(crate) struct InComplete = "incomplete" {
        coopname: Name => "name",
        income_hash: Checksum256 => "checksum256",
    }
}

chain_struct! {
    /// `indecline`: the incoming payment failed.
    pub(crate) struct InDecline = "indecline" {
        coopname: Name => "name",
        income_hash: Checksum256 => "checksum256",
        reason: String => "string",
    }
}

chain_struct! {
    /// `outcomplete`: the outgoing payment was made.
    pub(crate) struct OutComplete = "outcomplete" {
        coopname: Name => "name",
        outcome_hash: Checksum256 => "checksum256",
    }
}

chain_struct! {
    /// `outdecline`: the outgoing payment failed.
    pub(crate) struct OutDecline = "outdecline" {
        coopname: Name => "name",
        outcome_hash: Checksum256 => "checksum256",
        reason: String => "string",
    }
}

chain_struct! {
    /// The data of a confirm callback: `(coopname, hash)`.
    pub(crate) struct HashCallback = "hash_callback" {
        coopname: Name => "name",
        hash: Checksum256 => "checksum256",
    }
}

chain_struct! {
    /// The data of a decline callback: `(coopname, hash, reason)`.
    pub(crate) struct ReasonCallback = "reason_callback" {
        coopname: Name => "name",
        hash: Checksum256 => "checksum256",
        reason: String => "string",
    }
}

impl Contract for Gateway {
    fn abi(&self) -> AbiDef {
        AbiBuilder::new()
            .with_table::<Income>(INCOMES)
            .with_table::<Outcome>(OUTCOMES)
            .with_action::<CreateInPay>(CREATEINPAY)
            .with_action::<InComplete>(INCOMPLETE)
            .with_action::<InDecline>(INDECLINE)
            .with_action::<CreateOutPay>(CREATEOUTPAY)
            .with_action::<OutComplete>(OUTCOMPLETE)
            .with_action::<OutDecline>(OUTDECLINE)
            .build()
    }

    fn apply(&self, ctx: &mut ApplyContext<'_>, action: &Action) -> Result<(), ContractError> {
        if ctx.is_notification() {
            return Ok(());
        }
        // Each outgoing action has the layout of its incoming twin, so one type reads both.
        let direction = match action.name {
            CREATEOUTPAY | OUTCOMPLETE | OUTDECLINE => Direction::Out,
            _ => Direction::In,
        };
        match action.name {
            CREATEINPAY | CREATEOUTPAY => create(ctx, direction, ctx.data()?),
            INCOMPLETE | OUTCOMPLETE => {
                let args: InComplete = ctx.data()?;
                close(ctx, direction, args.coopname, &args.income_hash, None)
            }
            INDECLINE | OUTDECLINE => {
                let args: InDecline = ctx.data()?;
                close(
                    ctx,
                    direction,
                    args.coopname,
                    &args.income_hash,
                    Some(args.reason),
                )
            }
            _ => Ok(()),
        }
    }
}

/// Which table a payment lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    In,
    Out,
}

impl Direction {
    fn table(self) -> Name {
        match self {
            Self::In => INCOMES,
            Self::Out => OUTCOMES,
        }
    }

    fn not_found(self) -> &'static str {
        match self {
            Self::In => "Входящий платеж не найден",
            Self::Out => "Исходящий платеж не найден",
        }
    }
}

fn secondary(hash: Checksum256, username: Name, status: Name) -> Vec<SecondaryKey> {
    vec![
        SecondaryKey::Checksum256(hash),
        SecondaryKey::U64(username.as_u64()),
        SecondaryKey::U64(status.as_u64()),
    ]
}

fn create(
    ctx: &mut ApplyContext<'_>,
    direction: Direction,
    payment: CreateInPay,
) -> Result<(), ContractError> {
    require_any_auth(ctx, &CONTRACTS_WHITELIST)?;
    check(
        payment.quantity.amount() > 0,
        "Сумма должна быть положительной",
    )?;
    cooperative_or_fail(ctx, payment.coopname)?;
    check(
        payment.callback_contract != Name::default(),
        "Коллбэк контракт должен быть установлен",
    )?;
    check(
        payment.confirm_callback != Name::default(),
        "Действие для коллбэка-успеха должено быть установлено",
    )?;
    check(
        payment.decline_callback != Name::default(),
        "Действие для коллбэка-отлонения должно быть установлено",
    )?;
    let table = direction.table();
    let exists = ctx
        .find_by_secondary::<Income>(
            GATEWAY,
            payment.coopname,
            table,
            2,
            &SecondaryKey::Checksum256(payment.income_hash),
        )?
        .is_some();
    let message = match direction {
        Direction::In => "Входящий платеж с указанным hash уже существует",
        Direction::Out => "Исходящий платеж с указанным hash уже существует",
    };
    check(!exists, message)?;
    let id = ctx.available_primary_key(payment.coopname, table).max(1);
    let row = Income {
        id,
        coopname: payment.coopname,
        username: payment.username,
        r#type: Name::default(),
        income_hash: payment.income_hash,
        callback_contract: payment.callback_contract,
        confirm_callback: payment.confirm_callback,
        decline_callback: payment.decline_callback,
        quantity: payment.quantity,
        status: PENDING,
        created_at: now_sec(ctx),
    };
    let keys = secondary(payment.income_hash, payment.username, PENDING);
    ctx.emplace(table, payment.coopname, GATEWAY, id, &row, keys)
}

fn close(
    ctx: &mut ApplyContext<'_>,
    direction: Direction,
    coopname: Name,
    hash: &Checksum256,
    decline_reason: Option<String>,
) -> Result<(), ContractError> {
    ctx.require_auth(coopname)?;
    let table = direction.table();
    // Incomes and outcomes have the same layout, so one row type reads both.
    let (id, row) = ctx
        .find_by_secondary::<Income>(
            GATEWAY,
            coopname,
            table,
            2,
            &SecondaryKey::Checksum256(*hash),
        )?
        .ok_or_else(|| ContractError::Assert(direction.not_found().to_owned()))?;
    check(row.status == PENDING, "Статус платежа должен быть pending")?;
    match decline_reason {
        None => ctx.send_inline_data(
            row.callback_contract,
            row.confirm_callback,
            active(GATEWAY),
            &HashCallback {
                coopname,
                hash: *hash,
            },
        )?,
        Some(reason) => ctx.send_inline_data(
            row.callback_contract,
            row.decline_callback,
            active(GATEWAY),
            &ReasonCallback {
                coopname,
                hash: *hash,
                reason,
            },
        )?,
    }
    ctx.erase(table, coopname, id)
}
