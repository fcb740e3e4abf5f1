//! What the `qrpay` extension keeps: its migrations and the payment instructions it issued
//! (see [`crate::extensions::qrpay`]).

use super::{ExtensionMigration, Result, Store, dispatch};

/// The migrations of the `qrpay` extension.
pub const QRPAY_MIGRATIONS: &[ExtensionMigration] = &[ExtensionMigration {
    version: 1,
    description: "qrpay_instructions",
    postgres: include_str!("../../migrations/extensions/qrpay/postgres/0001_instructions.sql"),
    sqlite: include_str!("../../migrations/extensions/qrpay/sqlite/0001_instructions.sql"),
}];

/// Payment instructions `qrpay` issued for one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrpayIssued {
    /// The payment's hash (lowercase).
    pub payment_hash: String,
    /// The payment's kind (`income`, `deposit`).
    pub kind: String,
    /// The payer.
    pub username: String,
    /// The amount asked, in kopecks.
    pub sum_kopecks: i64,
    /// The purpose written into the request.
    pub purpose: String,
    /// When they were last issued.
    pub issued_at: i64,
}

impl Store {
    /// Records the instructions issued for a payment, replacing earlier ones for it (the
    /// amount of a pending payment does not change; the purpose may, with the wording).
    ///
    /// # Errors
    /// [`super::Error::Database`], also when `qrpay`'s migrations were never applied.
    pub async fn put_qrpay_issued(&self, issued: &QrpayIssued) -> Result<()> {
        dispatch!(&self.pool, db, {
            sqlx::query(
                "INSERT INTO qrpay_instructions \
                 (payment_hash, kind, username, sum_kopecks, purpose, issued_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (payment_hash) DO UPDATE SET \
                 kind = excluded.kind, username = excluded.username, \
                 sum_kopecks = excluded.sum_kopecks, purpose = excluded.purpose, \
                 issued_at = excluded.issued_at",
            )
            .bind(issued.payment_hash.as_str())
            .bind(issued.kind.as_str())
            .bind(issued.username.as_str())
            .bind(issued.sum_kopecks)
            .bind(issued.purpose.as_str())
            .bind(issued.issued_at)
            .execute(db)
            .await?;
            Ok(())
        })
    }

    /// The instructions issued for the payment `payment_hash`, if any.
    ///
    /// # Errors
    /// As [`Store::put_qrpay_issued`].
    pub async fn qrpay_issued(&self, payment_hash: &str) -> Result<Option<QrpayIssued>> {
        let row = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, (String, String, String, i64, String, i64)>(
                "SELECT payment_hash, kind, username, sum_kopecks, purpose, issued_at \
                 FROM qrpay_instructions WHERE payment_hash = $1",
            )
            .bind(payment_hash)
            .fetch_optional(db)
            .await?
        });
        Ok(row.map(
            |(payment_hash, kind, username, sum_kopecks, purpose, issued_at)| QrpayIssued {
                payment_hash,
                kind,
                username,
                sum_kopecks,
                purpose,
                issued_at,
            },
        ))
    }
}
