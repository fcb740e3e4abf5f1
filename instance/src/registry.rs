//! Registries: what the cooperative's council and members look at, built from the chain events
//! the follower stores and the private data the instance keeps, answerable as of any block.
//!
//! - [`projection`]: what each committed block changes in the registry rows (pure); the store
//!   writes it in the block's transaction, so registries and the cursor never disagree.
//! - [`coop`]: the cooperative's profile: its `coops` row, organization data, council board
//!   and fees.
//! - [`members`]: accounts, candidates and shareholders joined with personal data, with the
//!   lifecycle candidate → paid → member (or declined) → exited.
//! - [`documents`]: every signed document actions carried, by hash and package.
//! - [`decisions`]: the council's agenda with votes, approval, authorization and expiry.
//! - [`payments`]: gateway incomes and outcomes, wallet deposits and withdrawals, totals.
//! - [`branches`]: branches with their trustees.
//! - [`orders`]: orders of property from the marketplace and their warranty returns.
//! - [`agreements`]: the agreements members signed, by type.
//! - [`templates`]: the document drafts and their translations in force at a block, which the
//!   document factory renders.
//! - [`roles`]: what an account is to the cooperative at a block (stranger, user, member,
//!   council member, chairman), from the council board and the shareholders on chain.
//! - [`check`]: the digest of every registry as of a block, and the check of the stored
//!   projections against the events.
//!
//! Every list is as of a block, filtered on indexed columns and paged by key: a page ends with
//! the cursor of the next, so deep pages cost what the first does.
//!
//! Architecture invariant: registries read through [`crate::store::Store`] only, and what they
//! answer as of block N depends on nothing after N.

pub mod agreements;
pub mod branches;
pub mod check;
pub mod coop;
pub mod decisions;
pub mod documents;
pub mod members;
pub mod orders;
pub mod payments;
pub mod projection;
pub mod roles;
pub mod templates;

use serde::Serialize;
use serde_json::Value;

use crate::store::{self, RegistryVersion, RowQuery, Store};
use projection::Source;

/// Most items in one page.
pub const MAX_PAGE: u32 = 500;

/// Why a registry could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed.
    #[error("reading the registry")]
    Store(#[from] store::Error),
    /// A stored row does not have the layout the registry reads.
    #[error("stored {what} is not in the expected form")]
    Row {
        /// What was read.
        what: &'static str,
        /// The failure.
        #[source]
        source: serde_json::Error,
    },
}

/// Which page of a list to read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageRequest {
    /// The cursor the previous page ended with; `None` for the first page.
    pub after: Option<String>,
    /// How many items (at most [`MAX_PAGE`]; 0 reads as the maximum).
    pub limit: u32,
    /// Largest keys first.
    pub descending: bool,
}

impl PageRequest {
    /// The first `limit` items.
    pub fn first(limit: u32) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    fn limit(&self) -> u32 {
        match self.limit {
            0 => MAX_PAGE,
            limit => limit.min(MAX_PAGE),
        }
    }

    /// A query of `source` for this page.
    fn query(&self, source: Source, coopname: &str, block_num: u32) -> RowQuery {
        let mut query = RowQuery::new(source, coopname, block_num, self.limit());
        query.after.clone_from(&self.after);
        query.descending = self.descending;
        query
    }
}

/// One page of a list and the cursor of the next.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// The items, in key order.
    pub items: Vec<T>,
    /// The cursor to pass as `after` for the next page; `None` on the last page.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// A page of `items` from `read` rows read with `limit`, the last with key `last_key`:
    /// there is a next page when the read filled the limit.
    fn new_with_len(items: Vec<T>, read: usize, limit: u32, last_key: Option<String>) -> Self {
        let full = read == usize::try_from(limit).unwrap_or(usize::MAX);
        Self {
            items,
            next: last_key.filter(|_| full),
        }
    }
}

/// A stored row's decoded JSON.
fn row_value(version: &RegistryVersion, what: &'static str) -> Result<Value, Error> {
    version
        .row
        .data
        .to_value()
        .map_err(|source| Error::Row { what, source })
}

/// A row's unsigned 64-bit field; nodeos writes those above 2^32 as strings.
fn u64_field(row: &Value, field: &str) -> Option<u64> {
    match row.get(field)? {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

/// Reads the rows `query` selects and converts each; the page's cursor is the last row's key.
async fn read_page<T>(
    store: &Store,
    query: &RowQuery,
    convert: impl Fn(&RegistryVersion) -> Result<T, Error>,
) -> Result<Page<T>, Error> {
    read_kept_page(store, query, convert, |_| true).await
}

/// As [`read_page`], keeping only the items `keep` accepts: for filters the rows' columns
/// cannot answer, it reads on past rejected rows until the page is full or the rows run out.
async fn read_kept_page<T>(
    store: &Store,
    query: &RowQuery,
    convert: impl Fn(&RegistryVersion) -> Result<T, Error>,
    keep: impl Fn(&T) -> bool,
) -> Result<Page<T>, Error> {
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let mut query = query.clone();
    let mut items = Vec::new();
    loop {
        let rows = store.registry_rows(&query).await?;
        for row in &rows {
            let item = convert(row)?;
            if keep(&item) {
                items.push(item);
                if items.len() == limit {
                    return Ok(Page {
                        items,
                        next: Some(row.key.clone()),
                    });
                }
            }
        }
        if rows.len() < limit {
            return Ok(Page { items, next: None });
        }
        query.after = rows.last().map(|row| row.key.clone());
    }
}
