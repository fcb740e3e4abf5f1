//! An account's active keys as of a block, from the registrator's actions the follower keeps:
//! `newaccount` creates a member's account with one key and `changekey` replaces it, both with
//! a `username` and a `public_key` field. The key in force at block N is the one of the last such
//! action up to N.

use super::{Error, Result, Store, dispatch};
use crate::antelope::keys::PublicKey;

/// The fields of `registrator::newaccount` and `registrator::changekey` read here.
#[derive(serde::Deserialize)]
struct RegistratorKey {
    username: String,
    public_key: String,
}

impl Store {
    /// The active keys of `username` as of `block_num`, from the registrator's `newaccount` and
    /// `changekey` actions; empty when the cooperative never set a key for the account.
    ///
    /// # Errors
    /// [`Error::Database`]; [`Error::CorruptJson`] when a stored action lacks its fields or
    /// holds a key that does not parse.
    pub async fn account_keys_at(&self, username: &str, block_num: u32) -> Result<Vec<PublicKey>> {
        let registrator = self.contracts.registrator.to_string();
        // Names hold only `a-z`, `1-5` and `.`, none of which LIKE treats specially; the
        // pattern narrows the scan to this account's actions, the JSON check below decides.
        let pattern = format!("%\"username\":\"{username}\"%");
        let rows: Vec<String> = dispatch!(&self.pool, db, {
            sqlx::query_scalar(
                "SELECT CAST(data AS TEXT) FROM actions \
                 WHERE account = $1 AND receiver = $1 AND name IN ('newaccount', 'changekey') \
                 AND block_num <= $2 AND data IS NOT NULL AND CAST(data AS TEXT) LIKE $3 \
                 ORDER BY global_sequence DESC",
            )
            .bind(&registrator)
            .bind(i64::from(block_num))
            .bind(&pattern)
            .fetch_all(db)
            .await?
        });
        for data in rows {
            let action: RegistratorKey =
                serde_json::from_str(&data).map_err(|source| Error::CorruptJson {
                    column: "data",
                    source,
                })?;
            if action.username != username {
                continue;
            }
            let key = action
                .public_key
                .parse::<PublicKey>()
                .map_err(|err| Error::CorruptJson {
                    column: "data",
                    source: <serde_json::Error as serde::de::Error>::custom(err),
                })?;
            return Ok(vec![key]);
        }
        Ok(Vec::new())
    }
}
