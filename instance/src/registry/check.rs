//! Checks over all registries: a digest of every registry as of a block, so two databases can
//! be compared whatever their backend, and the check of the stored projections against what
//! the projection computes from the stored events.
//!
//! # Digest
//!
//! Lowercase hex SHA-256 of one line per registry row in force at the block, ordered by source
//! and key, then one line per private record in force, ordered by kind and key; fields are
//! separated by a tab and each line ends with `\n`:
//!
//! ```text
//! R  source  key  block_num  coopname  username  status  kind  reference  created_at  amount  data
//! P  kind  key  valid_from_block  data
//! ```
//!
//! Absent values are `-`; `data` is the stored JSON text. Everything registries answer as of
//! the block is a function of these rows and the block, so equal digests mean equal registries.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::projection::{Contracts, RegistryRow, Source, project};
use crate::store::{self, RegistryVersion, Store};

/// Blocks read per step when the projections are recomputed.
const VERIFY_PAGE_BLOCKS: u32 = 2_000;
/// Private records read at a time by [`digest`]: kept documents are tens of kilobytes each.
const PRIVATE_PAGE: u32 = 500;
/// Differences named in a report at most.
const MAX_DIFFERENCES: usize = 20;

/// The digest of every registry as of `block_num` (see the module documentation).
///
/// # Errors
/// [`store::Error`] when the store fails.
pub async fn digest(store: &Store, block_num: u32) -> Result<String, store::Error> {
    let mut hasher = Sha256::new();
    for version in store.registry_in_force(block_num).await? {
        hasher.update(row_line(&version));
    }
    let mut after: Option<(String, String)> = None;
    loop {
        let after_key = after
            .as_ref()
            .map(|(kind, key)| (kind.as_str(), key.as_str()));
        let page = store
            .private_page_at(block_num, after_key, PRIVATE_PAGE)
            .await?;
        for (kind, record) in &page {
            hasher.update(format!(
                "P\t{kind}\t{}\t{}\t{}\n",
                record.key,
                record.valid_from_block,
                record.data.as_str()
            ));
        }
        match page.last() {
            Some((kind, record)) if page.len() == PRIVATE_PAGE as usize => {
                after = Some((kind.clone(), record.key.clone()));
            }
            _ => return Ok(hex::encode(hasher.finalize())),
        }
    }
}

fn row_line(version: &RegistryVersion) -> String {
    let row = &version.row;
    let text = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
    let number = |value: Option<i64>| value.map_or_else(|| "-".to_owned(), |n| n.to_string());
    format!(
        "R\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
        version.source.as_str(),
        version.key,
        version.block_num,
        row.coopname,
        text(&row.username),
        text(&row.status),
        text(&row.kind),
        text(&row.reference),
        number(row.created_at),
        number(row.amount),
        row.data.as_str(),
    )
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Row versions the events give.
    pub expected: u64,
    /// Row versions stored.
    pub stored: u64,
    /// The first differences, each naming the row and what differs.
    pub differences: Vec<String>,
}

impl Report {
    /// Whether the stored projections are exactly what the events give.
    pub fn is_consistent(&self) -> bool {
        self.differences.is_empty()
    }
}

/// A row version as compared: its block range and columns.
type Expected = (Option<u32>, RegistryRow);

/// Recomputes every projection from the stored events and compares it with what is stored:
/// the same row versions with the same block ranges and columns.
///
/// # Errors
/// [`store::Error`] when the store fails.
pub async fn verify(store: &Store, contracts: &Contracts) -> Result<Report, store::Error> {
    let mut expected: BTreeMap<(Source, String, u32), Expected> = BTreeMap::new();
    let mut open: BTreeMap<(Source, String), u32> = BTreeMap::new();
    if let Some(cursor) = store.cursor().await? {
        let mut from = store.first_block_num().await?.unwrap_or(1);
        while from <= cursor.block_num {
            let to = from
                .saturating_add(VERIFY_PAGE_BLOCKS - 1)
                .min(cursor.block_num);
            for batch in store.batches(from, to).await? {
                for change in project(contracts, &batch) {
                    let key = (change.source, change.key);
                    if let Some(start) = open.remove(&key)
                        && let Some(version) = expected.get_mut(&(key.0, key.1.clone(), start))
                    {
                        version.0 = Some(change.block_num);
                    }
                    if let Some(row) = change.row {
                        open.insert(key.clone(), change.block_num);
                        expected.insert((key.0, key.1, change.block_num), (None, row));
                    }
                }
            }
            from = to.saturating_add(1);
        }
    }
    let stored = store.registry_versions(None).await?;
    let mut report = Report {
        expected: expected.len() as u64,
        stored: stored.len() as u64,
        differences: Vec::new(),
    };
    let mut note = |text: String| {
        if report.differences.len() < MAX_DIFFERENCES {
            report.differences.push(text);
        }
    };
    for version in stored {
        let name = format!(
            "{} {} from block {}",
            version.source.as_str(),
            version.key,
            version.block_num
        );
        match expected.remove(&(version.source, version.key.clone(), version.block_num)) {
            None => note(format!(
                "{name}: stored, but the events give no such version"
            )),
            Some((valid_to, row)) => {
                if valid_to != version.valid_to_block {
                    note(format!(
                        "{name}: stored until {:?}, the events give {valid_to:?}",
                        version.valid_to_block
                    ));
                }
                if row != version.row {
                    let mut text = format!("{name}: stored columns differ from the events'");
                    let _ = write!(text, " (stored {:?}, expected {:?})", version.row, row);
                    note(text);
                }
            }
        }
    }
    for ((source, key, block_num), _) in expected {
        note(format!(
            "{} {key} from block {block_num}: the events give it, it is not stored",
            source.as_str()
        ));
    }
    Ok(report)
}
