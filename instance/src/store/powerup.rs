//! What the `powerup` extension keeps: its migrations and the top-ups it pushed (see
//! [`crate::extensions::powerup`]).

use super::{ExtensionMigration, Result, Store, dispatch};

/// The migrations of the `powerup` extension.
pub const POWERUP_MIGRATIONS: &[ExtensionMigration] = &[ExtensionMigration {
    version: 1,
    description: "powerup_topups",
    postgres: include_str!("../../migrations/extensions/powerup/postgres/0001_topups.sql"),
    sqlite: include_str!("../../migrations/extensions/powerup/sqlite/0001_topups.sql"),
}];

/// One `eosio::powerup` the extension pushed for the cooperative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerupTopUp {
    /// The transaction's id (lowercase hex).
    pub transaction_id: String,
    /// When it was pushed, in seconds since 1970.
    pub topped_up_at: i64,
    /// The block it went into, or the block whose hook pushed it.
    pub block_num: i64,
    /// The payment, as the chain writes it (`1.0000 AXON`).
    pub amount: String,
    /// The payment in the token's smallest units.
    pub amount_units: i64,
}

impl Store {
    /// Records a top-up.
    ///
    /// # Errors
    /// [`super::Error::Database`], also when `powerup`'s migrations were never applied.
    pub async fn put_powerup_topup(&self, topup: &PowerupTopUp) -> Result<()> {
        dispatch!(&self.pool, db, {
            sqlx::query(
                "INSERT INTO powerup_topups \
                 (transaction_id, topped_up_at, block_num, amount, amount_units) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(topup.transaction_id.as_str())
            .bind(topup.topped_up_at)
            .bind(topup.block_num)
            .bind(topup.amount.as_str())
            .bind(topup.amount_units)
            .execute(db)
            .await?;
            Ok(())
        })
    }

    /// What the top-ups made at `since` or later paid, in the token's smallest units.
    ///
    /// # Errors
    /// As [`Store::put_powerup_topup`].
    pub async fn powerup_spent_since(&self, since: i64) -> Result<i64> {
        let spent = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, (Option<i64>,)>(
                "SELECT CAST(SUM(amount_units) AS BIGINT) FROM powerup_topups \
                 WHERE topped_up_at >= $1",
            )
            .bind(since)
            .fetch_one(db)
            .await?
        });
        Ok(spent.0.unwrap_or(0))
    }

    /// The latest `limit` top-ups, newest first.
    ///
    /// # Errors
    /// As [`Store::put_powerup_topup`].
    pub async fn powerup_topups(&self, limit: i64) -> Result<Vec<PowerupTopUp>> {
        let rows = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, (String, i64, i64, String, i64)>(
                "SELECT transaction_id, topped_up_at, block_num, amount, amount_units \
                 FROM powerup_topups ORDER BY topped_up_at DESC, transaction_id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(db)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(transaction_id, topped_up_at, block_num, amount, amount_units)| PowerupTopUp {
                    transaction_id,
                    topped_up_at,
                    block_num,
                    amount,
                    amount_units,
                },
            )
            .collect())
    }
}
