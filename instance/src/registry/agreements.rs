//! Agreements members signed (`soviet::agreements3`) as of a block: per member and type, with
//! the template they were signed on and the signed document's hash.

use serde::Serialize;
use serde_json::Value;

use super::projection::Source;
use super::{Error, Page, PageRequest, read_page, row_value};
use crate::store::{RegistryVersion, Store};

/// One agreement as of a block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// Its id.
    pub id: u64,
    /// The member who signed it.
    pub username: Option<String>,
    /// Its type (`wallet`, `signature`, `privacy`, `user`, …).
    pub kind: Option<String>,
    /// Its status as the contract names it (`confirmed`, `declined`, empty while pending).
    pub status: Option<String>,
    /// The registry id of the template it was signed on.
    pub draft_id: Option<u64>,
    /// The signed document's hash (lowercase).
    pub document_hash: Option<String>,
    /// First block of this version.
    pub block_num: u32,
    /// The row.
    pub row: Value,
}

/// Which agreements to list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgreementFilter {
    /// Only this member's.
    pub username: Option<String>,
    /// Only of this type.
    pub kind: Option<String>,
}

fn agreement(version: &RegistryVersion) -> Result<Agreement, Error> {
    let row = row_value(version, "agreements3 row")?;
    Ok(Agreement {
        id: version.key.parse().unwrap_or_default(),
        username: version.row.username.clone(),
        kind: version.row.kind.clone(),
        status: version.row.status.clone(),
        draft_id: super::u64_field(&row, "draft_id"),
        document_hash: version.row.reference.clone(),
        block_num: version.block_num,
        row,
    })
}

/// Agreements in `coopname` as of `block_num`, by id.
///
/// # Errors
/// [`Error`] when the store fails or a row is malformed.
pub async fn list(
    store: &Store,
    coopname: &str,
    block_num: u32,
    filter: &AgreementFilter,
    page: &PageRequest,
) -> Result<Page<Agreement>, Error> {
    let mut query = page.query(Source::Agreement, coopname, block_num);
    query.username.clone_from(&filter.username);
    query.kind.clone_from(&filter.kind);
    read_page(store, &query, agreement).await
}

/// Every version of agreement `id`, oldest first.
///
/// # Errors
/// As [`list`].
pub async fn history(store: &Store, id: u64) -> Result<Vec<Agreement>, Error> {
    store
        .registry_history(Source::Agreement, &super::projection::id_key(id))
        .await?
        .iter()
        .map(agreement)
        .collect()
}
