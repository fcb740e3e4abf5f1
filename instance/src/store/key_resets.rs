//! One-time key reset tokens (`key_resets`), the account an e-mail address belongs to, and the
//! revocation of an account's refresh tokens once its key changed.
//!
//! A token is stored by its SHA-256 only and is spent by the first presentation, whatever
//! follows, so it works at most once. Times are seconds since 1970, given by the caller.

use super::{Pool, Result, Store, dispatch};

/// What presenting a key reset token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyReset {
    /// The token was live and is now spent: the account whose key it resets.
    Spent {
        /// The account.
        username: String,
    },
    /// No such token.
    Unknown,
    /// The token was already used.
    Used,
    /// The token's lifetime is over.
    Expired,
}

/// The private record kinds that carry an account's e-mail address.
const EMAIL_KINDS: [&str; 3] = ["individual", "entrepreneur", "organization"];

impl Store {
    /// Stores a key reset token for `username` valid until `expires_at`, and forgets the
    /// tokens that expired by `now`.
    ///
    /// # Errors
    /// [`super::Error::DuplicateEvent`] when the hash is already stored,
    /// [`super::Error::Database`].
    pub async fn put_key_reset(
        &self,
        token_hash: &[u8; 32],
        username: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        dispatch!(&self.pool, db, {
            let mut tx = db.begin_with(BEGIN_WRITE).await?;
            sqlx::query("DELETE FROM key_resets WHERE expires_at <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO key_resets (token_hash, username, expires_at) VALUES ($1, $2, $3)",
            )
            .bind(token_hash.as_slice())
            .bind(username)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Spends the key reset token with `token_hash` at `now`, if it is live.
    ///
    /// # Errors
    /// [`super::Error::Database`].
    pub async fn spend_key_reset(&self, token_hash: &[u8; 32], now: i64) -> Result<KeyReset> {
        dispatch!(&self.pool, db, {
            let mut tx = db.begin_with(BEGIN_WRITE).await?;
            let row = sqlx::query_as::<_, (String, i64, Option<i64>)>(
                "SELECT username, expires_at, used_at FROM key_resets WHERE token_hash = $1",
            )
            .bind(token_hash.as_slice())
            .fetch_optional(&mut *tx)
            .await?;
            let outcome = match row {
                None => KeyReset::Unknown,
                Some((_, _, Some(_))) => KeyReset::Used,
                Some((_, expires_at, None)) if expires_at <= now => KeyReset::Expired,
                Some((username, _, None)) => {
                    sqlx::query("UPDATE key_resets SET used_at = $2 WHERE token_hash = $1")
                        .bind(token_hash.as_slice())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    KeyReset::Spent { username }
                }
            };
            tx.commit().await?;
            Ok(outcome)
        })
    }

    /// The account whose current personal data (individual, entrepreneur or organization)
    /// has the e-mail address `email`, compared without regard to case.
    ///
    /// # Errors
    /// [`super::Error::Database`].
    pub async fn username_by_email(&self, email: &str) -> Result<Option<String>> {
        let email = email.trim().to_lowercase();
        // The data is JSON text on both backends; PostgreSQL reads it as JSON by a cast.
        let sql = if matches!(self.pool, Pool::Postgres(_)) {
            "SELECT record_key FROM private_records \
             WHERE kind IN ($1, $2, $3) AND valid_to_block IS NULL \
             AND lower(CAST(data AS json) ->> 'email') = $4 ORDER BY record_key LIMIT 1"
        } else {
            "SELECT record_key FROM private_records \
             WHERE kind IN ($1, $2, $3) AND valid_to_block IS NULL \
             AND lower(data ->> '$.email') = $4 ORDER BY record_key LIMIT 1"
        };
        let username = dispatch!(&self.pool, db, {
            sqlx::query_scalar::<_, String>(sql)
                .bind(EMAIL_KINDS[0])
                .bind(EMAIL_KINDS[1])
                .bind(EMAIL_KINDS[2])
                .bind(&email)
                .fetch_optional(db)
                .await?
        });
        Ok(username)
    }

    /// Revokes every refresh token of `username`: each of its logins ends at its next refresh.
    ///
    /// # Errors
    /// [`super::Error::Database`].
    pub async fn revoke_refresh_tokens_of(&self, username: &str) -> Result<u64> {
        Ok(dispatch!(&self.pool, db, {
            sqlx::query("UPDATE refresh_tokens SET revoked = TRUE WHERE username = $1")
                .bind(username)
                .execute(db)
                .await?
                .rows_affected()
        }))
    }
}
