//! What recent blocks changed in each registry source, read from the store once and shared by
//! every subscriber: a thousand subscriptions woken by one block make one query per source,
//! not a thousand. A rollback empties it, so blocks committed again are read afresh; like any
//! read after a notification, a subscriber still behind a rollback may see the new blocks'
//! rows, which is why clients read the registries as of the notified block for the details.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::registry::projection::Source;
use crate::store::{self, RegistryVersion, Store};

/// (block, source) pairs remembered; older ones are read again if a late subscriber asks.
const REMEMBERED: usize = 64;

type Changes = Arc<Vec<RegistryVersion>>;
/// One shared read: the block and source, and the changes once read.
type Entry = ((u32, Source), Arc<OnceCell<Changes>>);

/// The shared reads, newest last.
#[derive(Default)]
pub struct BlockChanges {
    entries: Mutex<VecDeque<Entry>>,
}

impl BlockChanges {
    /// The row versions of `source` that block `block_num` opened or closed
    /// ([`Store::registry_changes_in_block`]); concurrent callers share one read.
    pub async fn get(
        &self,
        store: &Store,
        coopname: &str,
        source: Source,
        block_num: u32,
    ) -> Result<Changes, store::Error> {
        let cell = {
            let mut entries = self
                .entries
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match entries.iter().find(|(key, _)| *key == (block_num, source)) {
                Some((_, cell)) => cell.clone(),
                None => {
                    let cell = Arc::new(OnceCell::new());
                    entries.push_back(((block_num, source), cell.clone()));
                    if entries.len() > REMEMBERED {
                        entries.pop_front();
                    }
                    cell
                }
            }
        };
        cell.get_or_try_init(|| async {
            store
                .registry_changes_in_block(source, coopname, block_num)
                .await
                .map(Arc::new)
        })
        .await
        .cloned()
    }

    /// Forgets every read: blocks after a rollback are read afresh.
    pub fn forget(&self) {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}
