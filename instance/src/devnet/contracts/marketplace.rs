//! The `marketplace` contract, as far as the asset documents need it: a member's order of
//! property from a supplier's offer (`createorder`), its supply to a branch and issue to the
//! member (`acceptorder`, `signsupp`, `signchair`, `signiss1`, `signiss2`), and the member's
//! warranty return of what was issued (`submretrn`).
//!
//! Tables (scope: cooperative): `orders` and `retrequests`, each with its first secondary
//! index `byhash` (the order's or the request's hash); ids are the next free primary key.
//! Every action needs the cooperative's authority, as upstream. Acts are checked with the
//! signatures of the parties the contract names; a branch's signer must be its trustee or one
//! of its trusted members.
//!
//! Not emulated: the contract's ledger entries and wallet balances (`Ledger2::apply`), the
//! membership fee (always zero here, as with no `config` row), the document registry
//! package `createorder` opens for its statement, payouts, cancellations, expiry, markdowns,
//! write-offs and the steps of a return after its submission.

use crate::antelope::abi::def::AbiDef;
use crate::antelope::asset::Asset;
use crate::antelope::checksum::Checksum256;
use crate::antelope::document::Document2;
use crate::antelope::name::Name;
use crate::antelope::symbol::Symbol;
use crate::antelope::time::TimePointSec;
use crate::antelope::transaction::Action;
use crate::devnet::contracts::branch::branch_or_fail;
use crate::devnet::contracts::common::{
    AbiBuilder, GOVERN_SYMBOL_RAW, MARKETPLACE, SOVIET, active, chain_struct, empty_document,
    now_sec, verify_document,
};
use crate::devnet::contracts::soviet::{NewSubmitted, participant_or_fail};
use crate::devnet::contracts::{ApplyContext, Contract, ContractError, check};
use crate::devnet::state::SecondaryKey;

/// The `orders` table (scope: cooperative).
pub const ORDERS: Name = Name::from_str_const("orders");
/// The `retrequests` table (scope: cooperative).
pub const RETREQUESTS: Name = Name::from_str_const("retrequests");

const CREATEORDER: Name = Name::from_str_const("createorder");
const ACCEPTORDER: Name = Name::from_str_const("acceptorder");
const SIGNSUPP: Name = Name::from_str_const("signsupp");
const SIGNCHAIR: Name = Name::from_str_const("signchair");
const SIGNISS1: Name = Name::from_str_const("signiss1");
const SIGNISS2: Name = Name::from_str_const("signiss2");
const SUBMRETRN: Name = Name::from_str_const("submretrn");
const NEWSUBMITTED: Name = Name::from_str_const("newsubmitted");

/// Order statuses in the order a supply goes through them.
const ACTIVE: Name = Name::from_str_const("active");
const ACCEPTED: Name = Name::from_str_const("accepted");
const SUPPLY_PREPARED: Name = Name::from_str_const("supplyprep");
const ACCEPTED_TO_COOP: Name = Name::from_str_const("acceptcoop");
const READY_TO_RECEIVE: Name = Name::from_str_const("readyrecv");
const RECEIVED: Name = Name::from_str_const("received");
/// A payout to the supplier not yet asked for.
const PAYOUT_NONE: Name = Name::from_str_const("none");
/// A return request waiting for the branch's review.
const PENDING_REVIEW: Name = Name::from_str_const("pendrev");
/// Longest reason of a return, in bytes.
const MAX_REASON_BYTES: usize = 500;

/// The marketplace contract.
#[derive(Debug, Clone, Copy, Default)]
pub struct Marketplace;

chain_struct! {
    /// An `orders` row: one member's order of one offer, from creation to issue.
    pub(crate) struct Order = "order" {
        id: u64 => "uint64",
        hash: Checksum256 => "checksum256",
        coopname: Name => "name",
        orderer: Name => "name",
        offerer: Name => "name",
        offer_hash: Checksum256 => "checksum256",
        delivery_braname: Name => "name",
        accept_braname: Name => "name",
        current_warehouse_braname: Name => "name",
        quantity: u64 => "uint64",
        actual_quantity: u64 => "uint64",
        unit_price: Asset => "asset",
        total_cost: Asset => "asset",
        fact_cost: Asset => "asset",
        warranty_period_secs: u32 => "uint32",
        warranty_until: TimePointSec => "time_point_sec",
        status: Name => "name",
        batch_hash: Checksum256 => "checksum256",
        acceptance_act_signsupp: Document2 => "document2",
        acceptance_act_signchair: Document2 => "document2",
        issue_act_signiss1: Document2 => "document2",
        issue_act_signiss2: Document2 => "document2",
        payout_status: Name => "name",
        payout_decline_reason: String => "string",
        return_request_id: u64 => "uint64",
        markdown_cost: Asset => "asset$",
        membership_fee: Asset => "asset$",
    }
}

chain_struct! {
    /// A `retrequests` row: a member's warranty return of an issued order.
    pub(crate) struct ReturnRequest = "return_request" {
        id: u64 => "uint64",
        hash: Checksum256 => "checksum256",
        coopname: Name => "name",
        orderer: Name => "name",
        original_order_id: u64 => "uint64",
        original_order_hash: Checksum256 => "checksum256",
        original_consume_op_id: Checksum256 => "checksum256",
        actual_quantity: u64 => "uint64",
        fact_cost: Asset => "asset",
        reason_text: String => "string",
        photos: Vec<Checksum256> => "checksum256[]",
        status: Name => "name",
        statement: Document2 => "document2",
    }
}

chain_struct! {
    /// `createorder`: a member orders an offer, with the signed statement.
    pub(crate) struct CreateOrder = "createorder" {
        coopname: Name => "name",
        orderer: Name => "name",
        order_hash: Checksum256 => "checksum256",
        offer_hash: Checksum256 => "checksum256",
        offerer: Name => "name",
        delivery_braname: Name => "name",
        quantity: u64 => "uint64",
        unit_price: Asset => "asset",
        warranty_period_secs: u32 => "uint32",
        batch_hash: Checksum256 => "checksum256",
        convert_statement: Document2 => "document2",
    }
}

chain_struct! {
    /// `acceptorder`: the supplier takes the order.
    pub(crate) struct AcceptOrder = "acceptorder" {
        coopname: Name => "name",
        offerer: Name => "name",
        order_hash: Checksum256 => "checksum256",
    }
}

chain_struct! {
    /// `signsupp`: the supplier signs the acceptance act, naming the receiving branch.
    pub(crate) struct SignSupp = "signsupp" {
        coopname: Name => "name",
        offerer: Name => "name",
        order_hash: Checksum256 => "checksum256",
        accept_braname: Name => "name",
        act: Document2 => "document2",
    }
}

chain_struct! {
    /// `signchair`: the receiving branch countersigns the acceptance act with the facts.
    pub(crate) struct SignChair = "signchair" {
        coopname: Name => "name",
        signer: Name => "name",
        order_hash: Checksum256 => "checksum256",
        actual_quantity: u64 => "uint64",
        actual_unit_price: Asset => "asset",
        act: Document2 => "document2",
    }
}

chain_struct! {
    /// `signiss1`: the delivery branch signs the issue act first.
    pub(crate) struct SignIss1 = "signiss1" {
        coopname: Name => "name",
        signer: Name => "name",
        order_hash: Checksum256 => "checksum256",
        act: Document2 => "document2",
    }
}

chain_struct! {
    /// `signiss2`: the member receives the property and signs the issue act.
    pub(crate) struct SignIss2 = "signiss2" {
        coopname: Name => "name",
        orderer: Name => "name",
        order_hash: Checksum256 => "checksum256",
        actual_quantity: u64 => "uint64",
        actual_unit_price: Asset => "asset",
        delivery_signer: Name => "name",
        act: Document2 => "document2",
    }
}

chain_struct! {
    /// `submretrn`: the member asks to return issued property under warranty.
    pub(crate) struct SubmRetrn = "submretrn" {
        coopname: Name => "name",
        orderer: Name => "name",
        request_hash: Checksum256 => "checksum256",
        original_order_hash: Checksum256 => "checksum256",
        actual_quantity: u64 => "uint64",
        reason_text: String => "string",
        photos: Vec<Checksum256> => "checksum256[]",
        statement: Document2 => "document2",
    }
}

impl Contract for Marketplace {
    fn abi(&self) -> AbiDef {
        AbiBuilder::new()
            .with_document2()
            .with_table::<Order>(ORDERS)
            .with_table::<ReturnRequest>(RETREQUESTS)
            .with_action::<CreateOrder>(CREATEORDER)
            .with_action::<AcceptOrder>(ACCEPTORDER)
            .with_action::<SignSupp>(SIGNSUPP)
            .with_action::<SignChair>(SIGNCHAIR)
            .with_action::<SignIss1>(SIGNISS1)
            .with_action::<SignIss2>(SIGNISS2)
            .with_action::<SubmRetrn>(SUBMRETRN)
            .build()
    }

    fn apply(&self, ctx: &mut ApplyContext<'_>, action: &Action) -> Result<(), ContractError> {
        if ctx.is_notification() {
            return Ok(());
        }
        match action.name {
            CREATEORDER => create_order(ctx, ctx.data()?),
            ACCEPTORDER => {
                let args: AcceptOrder = ctx.data()?;
                ctx.require_auth(args.coopname)?;
                let mut order = order_or_fail(ctx, args.coopname, args.order_hash)?;
                check(
                    order.offerer == args.offerer,
                    "Вы не поставщик этого заказа",
                )?;
                check(order.status == ACTIVE, "Заказ уже принят или закрыт")?;
                order.status = ACCEPTED;
                save_order(ctx, &order)
            }
            SIGNSUPP => sign_supply(ctx, ctx.data()?),
            SIGNCHAIR => sign_acceptance(ctx, ctx.data()?),
            SIGNISS1 => {
                let args: SignIss1 = ctx.data()?;
                ctx.require_auth(args.coopname)?;
                let mut order = order_or_fail(ctx, args.coopname, args.order_hash)?;
                check(
                    order.status == ACCEPTED_TO_COOP,
                    "Заказ не принят кооперативом",
                )?;
                branch_signer_or_fail(ctx, args.coopname, order.delivery_braname, args.signer)?;
                verify_document(&args.act, &[args.signer])?;
                order.issue_act_signiss1 = args.act;
                order.current_warehouse_braname = order.delivery_braname;
                order.status = READY_TO_RECEIVE;
                save_order(ctx, &order)
            }
            SIGNISS2 => sign_issue(ctx, ctx.data()?),
            SUBMRETRN => submit_return(ctx, ctx.data()?),
            _ => Ok(()),
        }
    }
}

fn rub(amount: i64) -> Result<Asset, ContractError> {
    Symbol::from_raw(GOVERN_SYMBOL_RAW)
        .ok()
        .and_then(|symbol| Asset::new(amount, symbol).ok())
        .ok_or_else(|| ContractError::Assert("multiplication overflow".to_owned()))
}

/// `quantity × unit_price` in the cooperative's currency.
fn cost(quantity: u64, unit_price: Asset) -> Result<Asset, ContractError> {
    i64::try_from(quantity)
        .ok()
        .and_then(|quantity| quantity.checked_mul(unit_price.amount()))
        .ok_or_else(|| ContractError::Assert("multiplication overflow".to_owned()))
        .and_then(rub)
}

/// A positive price in the cooperative's currency.
fn price_or_fail(price: Asset) -> Result<(), ContractError> {
    check(
        price.symbol().as_u64() == GOVERN_SYMBOL_RAW,
        "Цена за единицу указана в неверной валюте",
    )?;
    check(
        price.amount() > 0,
        "Цена за единицу должна быть больше нуля",
    )
}

fn by_hash(hash: Checksum256) -> Vec<SecondaryKey> {
    vec![SecondaryKey::Checksum256(hash)]
}

/// The order with `hash` in `coopname`, or the contract's failure.
fn order_or_fail(
    ctx: &ApplyContext<'_>,
    coopname: Name,
    hash: Checksum256,
) -> Result<Order, ContractError> {
    ctx.find_by_secondary(
        MARKETPLACE,
        coopname,
        ORDERS,
        2,
        &SecondaryKey::Checksum256(hash),
    )?
    .map(|(_, order)| order)
    .ok_or_else(|| ContractError::Assert("Заказ не найден".to_owned()))
}

fn save_order(ctx: &mut ApplyContext<'_>, order: &Order) -> Result<(), ContractError> {
    ctx.modify(
        ORDERS,
        order.coopname,
        None,
        order.id,
        order,
        by_hash(order.hash),
    )
}

/// `Branch::is_user_authorized`: the branch exists and `signer` is its trustee or trusted.
fn branch_signer_or_fail(
    ctx: &ApplyContext<'_>,
    coopname: Name,
    braname: Name,
    signer: Name,
) -> Result<(), ContractError> {
    let branch = branch_or_fail(ctx, coopname, braname)?;
    check(
        branch.trustee == signer || branch.trusted.contains(&signer),
        "Подписант не уполномочен подписывать акты данного кооперативного участка",
    )
}

fn create_order(ctx: &mut ApplyContext<'_>, args: CreateOrder) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    check(args.quantity > 0, "Количество должно быть больше нуля")?;
    check(
        !args.convert_statement.is_empty(),
        "Отсутствует заявление о конвертации паевого взноса",
    )?;
    verify_document(&args.convert_statement, &[args.orderer])?;
    price_or_fail(args.unit_price)?;
    let existing = ctx.find_by_secondary::<Order>(
        MARKETPLACE,
        args.coopname,
        ORDERS,
        2,
        &SecondaryKey::Checksum256(args.order_hash),
    )?;
    check(
        existing.is_none(),
        "Заказ с таким идентификатором уже создан",
    )?;
    participant_or_fail(ctx, args.coopname, args.orderer)?;
    branch_or_fail(ctx, args.coopname, args.delivery_braname)?;
    let total_cost = cost(args.quantity, args.unit_price)?;
    let id = ctx.available_primary_key(args.coopname, ORDERS);
    let order = Order {
        id,
        hash: args.order_hash,
        coopname: args.coopname,
        orderer: args.orderer,
        offerer: args.offerer,
        offer_hash: args.offer_hash,
        delivery_braname: args.delivery_braname,
        accept_braname: Name::default(),
        current_warehouse_braname: Name::default(),
        quantity: args.quantity,
        actual_quantity: args.quantity,
        unit_price: args.unit_price,
        total_cost,
        fact_cost: total_cost,
        warranty_period_secs: args.warranty_period_secs,
        warranty_until: TimePointSec::from_secs(0),
        status: ACTIVE,
        batch_hash: args.batch_hash,
        acceptance_act_signsupp: empty_document(),
        acceptance_act_signchair: empty_document(),
        issue_act_signiss1: empty_document(),
        issue_act_signiss2: empty_document(),
        payout_status: PAYOUT_NONE,
        payout_decline_reason: String::new(),
        return_request_id: 0,
        markdown_cost: rub(0)?,
        membership_fee: rub(0)?,
    };
    ctx.emplace(
        ORDERS,
        args.coopname,
        MARKETPLACE,
        id,
        &order,
        by_hash(args.order_hash),
    )
}

fn sign_supply(ctx: &mut ApplyContext<'_>, args: SignSupp) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    let mut order = order_or_fail(ctx, args.coopname, args.order_hash)?;
    check(
        order.offerer == args.offerer,
        "Вы не поставщик этого заказа",
    )?;
    check(order.status == ACCEPTED, "Заказ не принят поставщиком")?;
    branch_or_fail(ctx, args.coopname, args.accept_braname)?;
    verify_document(&args.act, &[args.offerer])?;
    order.accept_braname = args.accept_braname;
    order.acceptance_act_signsupp = args.act;
    order.status = SUPPLY_PREPARED;
    save_order(ctx, &order)
}

fn sign_acceptance(ctx: &mut ApplyContext<'_>, args: SignChair) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    check(
        args.actual_quantity > 0,
        "Фактическое количество должно быть больше нуля",
    )?;
    price_or_fail(args.actual_unit_price)?;
    let mut order = order_or_fail(ctx, args.coopname, args.order_hash)?;
    check(
        order.status == SUPPLY_PREPARED,
        "Заказ не готов к приёмке кооперативом",
    )?;
    branch_signer_or_fail(ctx, args.coopname, order.accept_braname, args.signer)?;
    verify_document(&args.act, &[order.offerer, args.signer])?;
    order.actual_quantity = args.actual_quantity;
    order.fact_cost = cost(args.actual_quantity, args.actual_unit_price)?;
    order.acceptance_act_signchair = args.act;
    order.current_warehouse_braname = order.accept_braname;
    order.status = ACCEPTED_TO_COOP;
    save_order(ctx, &order)
}

fn sign_issue(ctx: &mut ApplyContext<'_>, args: SignIss2) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    check(
        args.actual_quantity > 0,
        "Фактическое количество должно быть больше нуля",
    )?;
    price_or_fail(args.actual_unit_price)?;
    let mut order = order_or_fail(ctx, args.coopname, args.order_hash)?;
    check(order.orderer == args.orderer, "Вы не заказчик этого заказа")?;
    check(order.status == READY_TO_RECEIVE, "Заказ не готов к выдаче")?;
    check(
        order.issue_act_signiss2.is_empty(),
        "Финальная подпись акта выдачи уже зафиксирована",
    )?;
    branch_signer_or_fail(
        ctx,
        args.coopname,
        order.delivery_braname,
        args.delivery_signer,
    )?;
    verify_document(&args.act, &[args.delivery_signer, args.orderer])?;
    let now = now_sec(ctx).as_secs();
    order.actual_quantity = args.actual_quantity;
    order.fact_cost = cost(args.actual_quantity, args.actual_unit_price)?;
    order.issue_act_signiss2 = args.act;
    order.warranty_until = TimePointSec::from_secs(now.saturating_add(order.warranty_period_secs));
    order.status = RECEIVED;
    save_order(ctx, &order)
}

fn submit_return(ctx: &mut ApplyContext<'_>, args: SubmRetrn) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    check(
        args.actual_quantity > 0,
        "Возвращаемое количество должно быть больше нуля",
    )?;
    check(
        !args.photos.is_empty(),
        "Приложите хотя бы одну фотографию товара",
    )?;
    check(
        !args.reason_text.is_empty() && args.reason_text.len() <= MAX_REASON_BYTES,
        "Опишите причину возврата (от 1 до 500 символов)",
    )?;
    let existing = ctx.find_by_secondary::<ReturnRequest>(
        MARKETPLACE,
        args.coopname,
        RETREQUESTS,
        2,
        &SecondaryKey::Checksum256(args.request_hash),
    )?;
    check(
        existing.is_none(),
        "Заявление с таким идентификатором уже подано",
    )?;
    let mut order = order_or_fail(ctx, args.coopname, args.original_order_hash)?;
    check(
        order.orderer == args.orderer,
        "Вы не заказчик исходного заказа",
    )?;
    check(
        order.status == RECEIVED,
        "Возврат возможен только по выданному заказу",
    )?;
    check(
        order.return_request_id == 0,
        "По этому заказу уже открыто заявление на возврат",
    )?;
    check(
        args.actual_quantity <= order.actual_quantity,
        "Нельзя вернуть больше единиц, чем было выдано",
    )?;
    check(
        order.warranty_period_secs > 0,
        "По этому заказу гарантия не предусмотрена",
    )?;
    check(
        now_sec(ctx) < order.warranty_until,
        "Гарантийный срок по заказу истёк",
    )?;
    let id = ctx.available_primary_key(args.coopname, RETREQUESTS);
    let request = ReturnRequest {
        id,
        hash: args.request_hash,
        coopname: args.coopname,
        orderer: args.orderer,
        original_order_id: order.id,
        original_order_hash: order.hash,
        original_consume_op_id: Checksum256::default(),
        actual_quantity: args.actual_quantity,
        fact_cost: cost(args.actual_quantity, order.unit_price)?,
        reason_text: args.reason_text,
        photos: args.photos,
        status: PENDING_REVIEW,
        statement: args.statement.clone(),
    };
    ctx.emplace(
        RETREQUESTS,
        args.coopname,
        MARKETPLACE,
        id,
        &request,
        by_hash(args.request_hash),
    )?;
    order.return_request_id = id;
    save_order(ctx, &order)?;
    let submitted = NewSubmitted {
        coopname: args.coopname,
        username: args.orderer,
        action: SUBMRETRN,
        package: order.hash,
        document: args.statement,
    };
    ctx.send_inline_data(SOVIET, NEWSUBMITTED, active(MARKETPLACE), &submitted)
}
