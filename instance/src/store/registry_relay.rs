//! Registry notifications for a process that does not write the store: an API-only replica
//! (`mono serve --no-sync`) or a standby waiting for the follower lock. The process that
//! follows sends each commit's [`RegistryEvent`] to its own subscribers; every other process
//! reading the same database learns of commits by polling the cursor, and tells its
//! subscribers the same events, read back from what the committed blocks stored.

use std::time::Duration;

use tokio::sync::watch;

use super::codec::{id_from_db, u32_from_db};
use super::{Cursor, Result, Store, dispatch};
use crate::registry::projection::{RegistryEvent, Source};

/// Most blocks one poll reads back; a longer gap is told over the next polls.
const BLOCKS_PER_POLL: u32 = 1_000;

impl Store {
    /// Tells this handle's registry subscribers ([`Store::subscribe_registry`]) of the blocks
    /// another process commits or rolls back after `from` (the cursor when the caller started
    /// listening), polling the cursor every `every`, until `shutdown`. A cursor that went back,
    /// or whose block was replaced, is told as a rollback to the last irreversible block known
    /// (no block at or below it is ever replaced), then the blocks after it as committed. A
    /// database outage is logged and waited out.
    pub async fn relay_commits(
        &self,
        from: Option<Cursor>,
        every: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut told = from;
        loop {
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => return,
                () = tokio::time::sleep(every) => {}
            }
            let step = async {
                let now = self.cursor().await?;
                self.relay_step(told, now).await
            };
            match step.await {
                Ok(now) => told = now,
                Err(err) => {
                    tracing::warn!(error = %err, "registry notifications wait for the database");
                }
            }
        }
    }

    /// Tells the change from `told` to `now`; returns the cursor told.
    async fn relay_step(
        &self,
        told: Option<Cursor>,
        now: Option<Cursor>,
    ) -> Result<Option<Cursor>> {
        let Some(now) = now else {
            if told.is_some() {
                let _ = self
                    .registry_events
                    .send(RegistryEvent::RolledBack { block_num: 0 });
            }
            return Ok(None);
        };
        let mut from = match told {
            None => 0,
            Some(told) if told == now => return Ok(Some(now)),
            Some(told) => {
                let kept = told.block_num <= now.block_num
                    && self.block_id_at(told.block_num).await? == Some(told.block_id);
                if kept {
                    told.block_num
                } else {
                    let block_num = now.lib.min(told.block_num);
                    let _ = self
                        .registry_events
                        .send(RegistryEvent::RolledBack { block_num });
                    block_num
                }
            }
        };
        while from < now.block_num {
            let to = now.block_num.min(from.saturating_add(BLOCKS_PER_POLL));
            let changed = self.registry_sources_in_blocks(from, to).await?;
            for block_num in from + 1..=to {
                let sources = Source::ALL
                    .into_iter()
                    .filter(|source| changed.contains(&(block_num, *source)))
                    .collect();
                // No subscriber is not an error.
                let _ = self
                    .registry_events
                    .send(RegistryEvent::Committed { block_num, sources });
            }
            from = to;
        }
        Ok(Some(now))
    }

    /// The stored id of block `block_num`, if stored.
    async fn block_id_at(&self, block_num: u32) -> Result<Option<[u8; 32]>> {
        let id = dispatch!(&self.pool, db, {
            sqlx::query_scalar::<_, Vec<u8>>("SELECT block_id FROM blocks WHERE block_num = $1")
                .bind(i64::from(block_num))
                .fetch_optional(db)
                .await?
        });
        id.map(|id| id_from_db("blocks.block_id", &id)).transpose()
    }

    /// The (block, source) pairs of the row versions the blocks after `after` up to `to`
    /// opened or closed.
    async fn registry_sources_in_blocks(&self, after: u32, to: u32) -> Result<Vec<(u32, Source)>> {
        let rows = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, (i64, String)>(
                "SELECT block_num, source FROM registry_rows WHERE block_num > $1 AND block_num <= $2 \
                 UNION SELECT valid_to_block, source FROM registry_rows \
                 WHERE valid_to_block > $1 AND valid_to_block <= $2",
            )
            .bind(i64::from(after))
            .bind(i64::from(to))
            .fetch_all(db)
            .await?
        });
        let mut changed = Vec::with_capacity(rows.len());
        for (block_num, source) in rows {
            // A source this version does not know has no subscribers here.
            if let Some(source) = Source::parse(&source) {
                changed.push((u32_from_db("registry_rows.block_num", block_num)?, source));
            }
        }
        Ok(changed)
    }
}
