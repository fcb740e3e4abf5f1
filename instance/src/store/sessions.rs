//! Sessions of the GraphQL API: single-use login challenges and rotating refresh tokens.
//!
//! Refresh tokens are stored by their SHA-256 only. Each rotation spends the presented token and
//! adds its successor to the same family; presenting a spent token again revokes the family
//! (the holder or a thief is replaying it, and the store cannot tell which). Times are seconds
//! since 1970, given by the caller.

use super::codec::id_from_db;
use super::{Result, Store, dispatch};

/// A refresh token to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshToken {
    /// SHA-256 of the token.
    pub token_hash: [u8; 32],
    /// The family: the first token's hash, shared by every successor.
    pub family: [u8; 32],
    /// The account it logs in.
    pub username: String,
    /// When it was issued.
    pub issued_at: i64,
    /// When it stops being accepted.
    pub expires_at: i64,
}

/// A stored refresh token with its state, as an export carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRow {
    /// The token as it was issued.
    pub token: NewRefreshToken,
    /// Whether it was presented and replaced by its successor.
    pub spent: bool,
    /// Whether its family was revoked.
    pub revoked: bool,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was valid: it is spent and its successor stored.
    Rotated {
        /// The account the token logs in.
        username: String,
    },
    /// No such token.
    Unknown,
    /// The token's lifetime is over.
    Expired,
    /// The token's family was revoked (a logout or an earlier replay).
    Revoked,
    /// The token was already spent: its whole family is now revoked.
    Replayed,
}

type TokenRow = (Vec<u8>, String, i64, bool, bool);
type FullTokenRow = (Vec<u8>, Vec<u8>, String, i64, i64, bool, bool);

fn token_from_row(
    (token_hash, family, username, issued_at, expires_at, spent, revoked): FullTokenRow,
) -> Result<RefreshTokenRow> {
    Ok(RefreshTokenRow {
        token: NewRefreshToken {
            token_hash: id_from_db("token_hash", &token_hash)?,
            family: id_from_db("family", &family)?,
            username,
            issued_at,
            expires_at,
        },
        spent,
        revoked,
    })
}

impl Store {
    /// Stores a login challenge for `username` valid until `expires_at`, and forgets the
    /// challenges that expired by `now`.
    ///
    /// # Errors
    /// [`super::Error::DuplicateEvent`] when the challenge is already stored,
    /// [`super::Error::Database`].
    pub async fn put_auth_challenge(
        &self,
        challenge: &str,
        username: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        dispatch!(&self.pool, db, {
            let mut tx = db.begin_with(BEGIN_WRITE).await?;
            sqlx::query("DELETE FROM auth_challenges WHERE expires_at <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO auth_challenges (challenge, username, expires_at) VALUES ($1, $2, $3)",
            )
            .bind(challenge)
            .bind(username)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Removes `challenge` and returns the account it was issued for and its expiry, if it was
    /// stored: a challenge is answered at most once, whatever the answer.
    ///
    /// # Errors
    /// [`super::Error::Database`].
    pub async fn take_auth_challenge(&self, challenge: &str) -> Result<Option<(String, i64)>> {
        Ok(dispatch!(&self.pool, db, {
            sqlx::query_as::<_, (String, i64)>(
                "DELETE FROM auth_challenges WHERE challenge = $1 RETURNING username, expires_at",
            )
            .bind(challenge)
            .fetch_optional(db)
            .await?
        }))
    }

    /// Stores a new refresh token.
    ///
    /// # Errors
    /// [`super::Error::DuplicateEvent`] when the hash is already stored,
    /// [`super::Error::Database`].
    pub async fn put_refresh_token(&self, token: &NewRefreshToken) -> Result<()> {
        dispatch!(&self.pool, db, {
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, family, username, issued_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token.token_hash.as_slice())
            .bind(token.family.as_slice())
            .bind(token.username.as_str())
            .bind(token.issued_at)
            .bind(token.expires_at)
            .execute(db)
            .await?;
            Ok(())
        })
    }

    /// Spends the refresh token with `token_hash` and stores `next` in its family, if the
    /// token is valid at `now`; `next` takes the family and the account of the spent token,
    /// whatever its own fields say. A spent token presented again revokes its family.
    ///
    /// # Errors
    /// [`super::Error::Database`].
    pub async fn rotate_refresh_token(
        &self,
        token_hash: &[u8; 32],
        next: &NewRefreshToken,
        now: i64,
    ) -> Result<Rotation> {
        dispatch!(&self.pool, db, {
            let mut tx = db.begin_with(BEGIN_WRITE).await?;
            let row = sqlx::query_as::<_, TokenRow>(
                "SELECT family, username, expires_at, spent, revoked FROM refresh_tokens \
                 WHERE token_hash = $1",
            )
            .bind(token_hash.as_slice())
            .fetch_optional(&mut *tx)
            .await?;
            let Some((family, username, expires_at, spent, revoked)) = row else {
                return Ok(Rotation::Unknown);
            };
            let rotation = if revoked {
                Rotation::Revoked
            } else if spent {
                sqlx::query("UPDATE refresh_tokens SET revoked = TRUE WHERE family = $1")
                    .bind(family.as_slice())
                    .execute(&mut *tx)
                    .await?;
                Rotation::Replayed
            } else if expires_at <= now {
                Rotation::Expired
            } else {
                sqlx::query("UPDATE refresh_tokens SET spent = TRUE WHERE token_hash = $1")
                    .bind(token_hash.as_slice())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO refresh_tokens \
                     (token_hash, family, username, issued_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(next.token_hash.as_slice())
                .bind(family.as_slice())
                .bind(&username)
                .bind(next.issued_at)
                .bind(next.expires_at)
                .execute(&mut *tx)
                .await?;
                Rotation::Rotated { username }
            };
            tx.commit().await?;
            Ok(rotation)
        })
    }

    /// Revokes the family of the refresh token with `token_hash` and forgets the tokens that
    /// expired by `now`; returns whether the token was known.
    ///
    /// # Errors
    /// [`super::Error::Database`].
    pub async fn revoke_refresh_family(&self, token_hash: &[u8; 32], now: i64) -> Result<bool> {
        dispatch!(&self.pool, db, {
            let mut tx = db.begin_with(BEGIN_WRITE).await?;
            let family: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT family FROM refresh_tokens WHERE token_hash = $1")
                    .bind(token_hash.as_slice())
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(family) = &family {
                sqlx::query("UPDATE refresh_tokens SET revoked = TRUE WHERE family = $1")
                    .bind(family.as_slice())
                    .execute(&mut *tx)
                    .await?;
            }
            // Expired tokens are refused anyway; dropping them keeps the table to live sessions.
            sqlx::query("DELETE FROM refresh_tokens WHERE expires_at <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(family.is_some())
        })
    }

    /// Every stored refresh token with its state, by hash: what an export carries so that
    /// logins survive a move.
    ///
    /// # Errors
    /// [`super::Error::Database`] or [`super::Error::CorruptId`].
    pub async fn refresh_tokens(&self) -> Result<Vec<RefreshTokenRow>> {
        let rows = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, FullTokenRow>(
                "SELECT token_hash, family, username, issued_at, expires_at, spent, revoked \
                 FROM refresh_tokens ORDER BY token_hash",
            )
            .fetch_all(db)
            .await?
        });
        rows.into_iter().map(token_from_row).collect()
    }
}
