//! Payments: `getPayments`, gateway incomes and outcomes and wallet deposits and withdrawals as
//! of a block, each pending until settled; `createDepositPayment` opens a member's share
//! contribution (`wallet::createdpst`, which opens its gateway income); `setPaymentStatus`
//! settles a pending income.
//!
//! A registration payment needs no operation to open it: `registrator::reguser` opens it on
//! chain (`gateway::createinpay`) for the application's fees, under the application's hash;
//! `createInitialPayment` returns it for the account, as upstream's clients call it before
//! paying.

use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject};
use serde_json::json;

use super::ApiState;
use super::accounts::account_names;
use super::error::ApiError;
use super::paging::{PageInput, Paged, as_of};
use super::policy::admit;
use super::transactions::{TransactionResult, push};
use crate::antelope::asset::Asset;
use crate::antelope::checksum::Checksum256;
use crate::antelope::name::Name;
use crate::chain::push::JsonAction;
use crate::private_data::{FieldError, Invalid};
use crate::registry::members;
use crate::registry::payments::{self, PaymentFilter};

const GATEWAY: Name = Name::from_str_const("gateway");
const INCOMPLETE: Name = Name::from_str_const("incomplete");
const INDECLINE: Name = Name::from_str_const("indecline");
const WALLET: Name = Name::from_str_const("wallet");
const CREATEDPST: Name = Name::from_str_const("createdpst");

/// A kind of payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::registry::payments::PaymentKind")]
pub enum PaymentKind {
    /// Money received through the gateway (registration fees among them).
    Income,
    /// Money paid out through the gateway.
    Outcome,
    /// A share contribution into the wallet.
    Deposit,
    /// A return of shares from the wallet.
    Withdraw,
}

/// One payment as of a block.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct Payment {
    /// Its kind.
    pub kind: PaymentKind,
    /// Its id in its table (reused by the contract once settled; the hash names it for good).
    pub id: Option<u64>,
    /// The paying or paid member.
    pub username: Option<String>,
    /// `pending`, `authorized`, `completed` or `declined`.
    pub status: Option<String>,
    /// Its purpose: `registration`, `deposit`, `withdraw`, or the name of the contract that
    /// opened it.
    pub purpose: Option<String>,
    /// Its hash (lowercase).
    pub hash: Option<String>,
    /// Amount in smallest units.
    pub amount: Option<i64>,
    /// Creation time, seconds since 1970.
    pub created_at: Option<i64>,
    /// First block of this version.
    pub block_num: u32,
    /// The row.
    pub row: Json<serde_json::Value>,
}

impl From<payments::Payment> for Payment {
    fn from(payment: payments::Payment) -> Self {
        Self {
            kind: PaymentKind::from(payment.kind),
            id: payment.id,
            username: payment.username,
            status: payment.status,
            purpose: payment.purpose,
            hash: payment.hash,
            amount: payment.amount,
            created_at: payment.created_at,
            block_num: payment.block_num,
            row: Json(payment.row),
        }
    }
}

/// Which payments to list.
#[derive(Debug, Clone, Default, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct PaymentsFilter {
    /// Only this member's payments (a member may list its own).
    pub username: Option<String>,
    /// Only payments with this status.
    pub status: Option<String>,
}

#[derive(Default)]
pub struct PaymentsQuery;

#[Object]
impl PaymentsQuery {
    /// Payments of `kind` as of `block`, by hash: a member's own (filter by its username), or
    /// any for the council and the chairman.
    async fn get_payments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "PaymentKind::Income")] kind: PaymentKind,
        filter: Option<PaymentsFilter>,
        page: Option<PageInput>,
        block: Option<u32>,
    ) -> async_graphql::Result<Paged<Payment>> {
        let filter = filter.unwrap_or_default();
        admit(ctx, filter.username.as_deref())?;
        let state = ctx.data::<ApiState>()?;
        let block_num = as_of(state, block).await?;
        let page = payments::list(
            &state.store,
            &state.coopname.to_string(),
            block_num,
            kind.into(),
            &PaymentFilter {
                username: filter.username,
                status: filter.status,
            },
            &PageInput::request(page),
        )
        .await
        .map_err(ApiError::from)?;
        Ok(Paged::from_page(page, block_num))
    }
}

/// What became of an income.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum PaymentOutcome {
    /// The money arrived: the payment completes and its contract hears of it (a registration
    /// payment puts the application on the council's agenda).
    Completed,
    /// The money did not arrive: the payment is declined.
    Declined,
}

/// A pending income and what became of it.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct SetPaymentStatusInput {
    /// The income's hash (a registration's is its application's hash).
    pub hash: String,
    /// What became of it.
    pub status: PaymentOutcome,
    /// Why it was declined.
    pub reason: Option<String>,
}

/// Whose registration payment to return.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CreateInitialPaymentInput {
    /// The applicant.
    pub username: String,
}

/// A share contribution to open.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CreateDepositPaymentInput {
    /// The contributing member.
    pub username: String,
    /// The amount, in the cooperative's currency (`1000.0000 RUB`).
    pub quantity: String,
}

/// A payment opened on chain.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CreatedPayment {
    /// The payment's hash, which names it in `getPayments` and `setPaymentStatus`.
    pub hash: String,
    /// The transaction that opens it.
    pub transaction: TransactionResult,
}

#[derive(Default)]
pub struct PaymentsMutation;

#[Object]
impl PaymentsMutation {
    /// Opens a member's share contribution with `wallet::createdpst`, which opens the income
    /// the member pays; both show in `getPayments` once the chain accepted them. The member
    /// itself, the chairman.
    async fn create_deposit_payment(
        &self,
        ctx: &Context<'_>,
        data: CreateDepositPaymentInput,
    ) -> async_graphql::Result<CreatedPayment> {
        admit(ctx, Some(&data.username))?;
        let state = ctx.data::<ApiState>()?;
        let [username] = account_names([("username", &data.username)])?;
        let quantity = data
            .quantity
            .parse::<Asset>()
            .ok()
            .filter(|quantity| quantity.amount() > 0)
            .ok_or_else(|| {
                ApiError::from(vec![FieldError {
                    field: "quantity".to_owned(),
                    reason: Invalid::Format {
                        expected: "a positive amount with its currency, 1000.0000 RUB",
                    },
                }])
            })?;
        // A fresh random hash names the contribution for good: contracts reuse ids.
        let mut bytes = [0_u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
        let hash = Checksum256::new(bytes);
        let pushed = push(
            state,
            &[JsonAction::new(
                WALLET,
                CREATEDPST,
                json!({"coopname": state.coopname, "username": username,
                       "deposit_hash": hash, "quantity": quantity}),
            )],
        )
        .await?;
        Ok(CreatedPayment {
            hash: hash.to_hex(),
            transaction: pushed.into(),
        })
    }

    /// The pending registration payment of `username`'s application, as of the synced block:
    /// the income `registrator::reguser` opened under the application's hash. The applicant
    /// itself, the chairman. `NOT_FOUND` without an application or its payment, `CONFLICT`
    /// once the payment is settled.
    async fn create_initial_payment(
        &self,
        ctx: &Context<'_>,
        data: CreateInitialPaymentInput,
    ) -> async_graphql::Result<Payment> {
        admit(ctx, Some(&data.username))?;
        let state = ctx.data::<ApiState>()?;
        let [username] = account_names([("username", &data.username)])?;
        let block_num = as_of(state, None).await?;
        let coopname = state.coopname.to_string();
        let member = members::get(&state.store, &coopname, block_num, &username.to_string())
            .await
            .map_err(ApiError::from)?
            .ok_or(ApiError::NotFound("the account"))?;
        let hash = member
            .candidate
            .as_ref()
            .and_then(|candidate| candidate["registration_hash"].as_str())
            .ok_or(ApiError::NotFound(
                "an application of the account (file it with registerParticipant)",
            ))?;
        // The version in force at the synced block: a settled payment keeps its last one.
        let payment = payments::history(&state.store, payments::PaymentKind::Income, hash)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .rfind(|payment| payment.block_num <= block_num)
            .ok_or(ApiError::NotFound(
                "the registration payment of the application",
            ))?;
        if payment.status.as_deref() != Some("pending") {
            return Err(ApiError::Conflict("the registration payment is settled already").into());
        }
        Ok(payment.into())
    }

    /// Settles a pending income through `gateway::incomplete` or `gateway::indecline`: the
    /// service (a payment provider's notification) or the chairman (a transfer seen on the
    /// account).
    async fn set_payment_status(
        &self,
        ctx: &Context<'_>,
        data: SetPaymentStatusInput,
    ) -> async_graphql::Result<TransactionResult> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let hash: Checksum256 = data
            .hash
            .parse()
            .map_err(|_| ApiError::bad_input("hash is not a SHA-256 hash"))?;
        let action = match data.status {
            PaymentOutcome::Completed => JsonAction::new(
                GATEWAY,
                INCOMPLETE,
                json!({"coopname": state.coopname, "income_hash": hash}),
            ),
            PaymentOutcome::Declined => JsonAction::new(
                GATEWAY,
                INDECLINE,
                json!({"coopname": state.coopname, "income_hash": hash,
                       "reason": data.reason.unwrap_or_default()}),
            ),
        };
        Ok(push(state, &[action]).await?.into())
    }
}
