//! The stored actions that set an account's keys, read for the key history documents are
//! verified against: the registrator's `newaccount` and `changekey` (by `username`), and the
//! system's `newaccount` (by `name`) and `updateauth` (by `account`) that the follower kept.

use super::codec::{json_from_db, u32_from_db, u64_from_db};
use super::{Error, JsonText, Result, Store, dispatch};

/// One stored action that set keys of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAction {
    /// The action's sequence number.
    pub global_sequence: u64,
    /// Its block.
    pub block_num: u32,
    /// The block's time, milliseconds since the Unix epoch.
    pub block_time_ms: i64,
    /// The contract (`registrator` or `eosio`).
    pub contract: String,
    /// The action (`newaccount`, `changekey`, `updateauth`).
    pub action: String,
    /// The decoded action data; `None` when it did not decode.
    pub data: Option<JsonText>,
}

type KeyActionRow = (i64, i64, Option<i64>, String, String, Option<String>);

impl Store {
    /// Actions up to block `up_to` that set `account`'s keys, in chain order: `newaccount` and
    /// `changekey` of the contract `registrator` naming it as `username`, `eosio::newaccount`
    /// creating it and `eosio::updateauth` changing one of its permissions. Only each
    /// contract's own execution counts, not notifications.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn key_actions(
        &self,
        account: &str,
        registrator: &str,
        up_to: u32,
    ) -> Result<Vec<KeyAction>> {
        let rows = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, KeyActionRow>(
                "SELECT global_sequence, block_num, \
                 (SELECT timestamp_ms FROM blocks WHERE blocks.block_num = actions.block_num), \
                 account, name, CAST(data AS TEXT) FROM actions \
                 WHERE receiver = account AND block_num <= $3 AND ( \
                 (account = $2 AND name IN ('newaccount', 'changekey') \
                  AND data ->> 'username' = $1) \
                 OR (account = 'eosio' AND name = 'newaccount' AND data ->> 'name' = $1) \
                 OR (account = 'eosio' AND name = 'updateauth' AND data ->> 'account' = $1)) \
                 ORDER BY global_sequence",
            )
            .bind(account)
            .bind(registrator)
            .bind(i64::from(up_to))
            .fetch_all(db)
            .await?
        });
        rows.into_iter()
            .map(|(sequence, block_num, time, contract, action, data)| {
                let block_num = u32_from_db("block_num", block_num)?;
                Ok(KeyAction {
                    global_sequence: u64_from_db(sequence),
                    block_num,
                    block_time_ms: time.ok_or(Error::OrphanEvent { block_num })?,
                    contract,
                    action,
                    data: json_from_db("data", data)?,
                })
            })
            .collect()
    }
}
