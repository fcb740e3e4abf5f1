//! The `qrpay` extension's field: `qrpayPaymentInstructions`, the bank transfer that pays a
//! pending registration payment or share deposit, with its ST00012 QR code (see
//! [`crate::extensions::qrpay`]). It answers only while the extension is enabled, to the payer
//! or the council, and records what it issued for the chairman's reconciliation.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use base64::Engine as _;

use super::ApiState;
use super::error::ApiError;
use super::policy::admit;
use crate::antelope::asset::Asset;
use crate::antelope::checksum::Checksum256;
use crate::extensions::{self, qrpay};
use crate::registry::payments::{self, PaymentKind};
use crate::store::QrpayIssued;

/// The payments qrpay makes instructions for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum QrpayPaymentKind {
    /// A gateway income: the registration fees of an application among them.
    Income,
    /// A share contribution into the wallet.
    Deposit,
}

impl From<QrpayPaymentKind> for PaymentKind {
    fn from(kind: QrpayPaymentKind) -> Self {
        match kind {
            QrpayPaymentKind::Income => Self::Income,
            QrpayPaymentKind::Deposit => Self::Deposit,
        }
    }
}

/// The payment to pay.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct QrpayPaymentInput {
    /// The payer.
    pub username: String,
    /// Its kind.
    pub kind: QrpayPaymentKind,
    /// Its hash (a registration's is its application's hash).
    pub hash: String,
}

/// How to pay a payment by bank transfer.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct QrpayPaymentInstructions {
    /// The payment's hash (lowercase).
    pub hash: String,
    /// The payer.
    pub username: String,
    /// The amount, in kopecks.
    pub sum_kopecks: u64,
    /// The purpose to write on the transfer.
    pub purpose: String,
    /// The payee.
    pub name: String,
    /// The payee's account.
    pub personal_acc: String,
    /// The payee's bank.
    pub bank_name: String,
    /// The bank's BIC.
    pub bic: String,
    /// The bank's correspondent account.
    pub corresp_acc: String,
    /// The payee's INN.
    pub payee_inn: String,
    /// The payee's KPP.
    pub kpp: Option<String>,
    /// The ST00012 text the QR code carries.
    pub payload: String,
    /// The QR code as an SVG document.
    pub svg: String,
    /// The QR code as a PNG image, base64.
    pub png: String,
}

impl From<qrpay::Error> for ApiError {
    fn from(err: qrpay::Error) -> Self {
        match err {
            qrpay::Error::NotRubles { .. } | qrpay::Error::Amount => {
                Self::Conflict("the payment's amount cannot be paid by bank transfer in rubles")
            }
            other => Self::internal(other),
        }
    }
}

#[derive(Default)]
pub struct QrpayQuery;

#[Object]
impl QrpayQuery {
    /// The bank transfer paying a pending payment, with its QR code: for the payer and the
    /// council, while the `qrpay` extension is enabled.
    async fn qrpay_payment_instructions(
        &self,
        ctx: &Context<'_>,
        data: QrpayPaymentInput,
    ) -> async_graphql::Result<QrpayPaymentInstructions> {
        admit(ctx, Some(&data.username))?;
        let state = ctx.data::<ApiState>()?;
        let config = extensions::enabled_config(&state.store, qrpay::NAME)
            .await
            .map_err(ApiError::from)?
            .ok_or(ApiError::Unavailable("the qrpay extension is not enabled"))?;
        let hash = data
            .hash
            .parse::<Checksum256>()
            .map_err(|_| ApiError::bad_input("hash is not a SHA-256 hash"))?
            .to_hex();
        let kind = PaymentKind::from(data.kind);
        let payment = payments::history(&state.store, kind, &hash)
            .await
            .map_err(ApiError::from)?
            .pop()
            .filter(|payment| payment.username.as_deref() == Some(data.username.as_str()))
            .ok_or(ApiError::NotFound("payment"))?;
        let username = data.username;
        if payment.status.as_deref() != Some("pending") {
            return Err(ApiError::Conflict("the payment is not pending").into());
        }
        let amount: Asset = payment.row["quantity"]
            .as_str()
            .and_then(|text| text.parse().ok())
            .ok_or(ApiError::Conflict("the payment has no amount"))?;
        let sum_kopecks = qrpay::kopecks(&amount).map_err(ApiError::from)?;
        // The registrator opens a registration's income and is called back when it is paid.
        let registration = payment.row["callback_contract"] == "registrator";
        let what = match data.kind {
            QrpayPaymentKind::Income if registration => "Вступительный и минимальный паевой взносы",
            QrpayPaymentKind::Income => "Взнос",
            QrpayPaymentKind::Deposit => "Паевой взнос",
        };
        let details = qrpay::bank_details(&config).map_err(ApiError::from)?;
        let made = qrpay::instructions(
            &details,
            sum_kopecks,
            &qrpay::purpose(what, &username, &hash),
        );
        let svg = qrpay::svg(&made.payload).map_err(ApiError::from)?;
        let png = qrpay::png(&made.payload).map_err(ApiError::from)?;
        state
            .store
            .put_qrpay_issued(&QrpayIssued {
                payment_hash: hash.clone(),
                kind: kind.as_str().to_owned(),
                username: username.clone(),
                sum_kopecks: i64::try_from(sum_kopecks)
                    .map_err(|_| ApiError::Conflict("the payment's amount is too large"))?,
                purpose: made.purpose.clone(),
                issued_at: state.now(),
            })
            .await
            .map_err(ApiError::from)?;
        Ok(QrpayPaymentInstructions {
            hash,
            username,
            sum_kopecks,
            purpose: made.purpose,
            name: details.name,
            personal_acc: details.personal_acc,
            bank_name: details.bank_name,
            bic: details.bic,
            corresp_acc: details.corresp_acc,
            payee_inn: details.payee_inn,
            kpp: details.kpp,
            payload: made.payload,
            svg,
            png: base64::engine::general_purpose::STANDARD.encode(png),
        })
    }
}
