//! Branches (`branch::branches`) as of a block: each branch with its trustee and the accounts
//! the trustee trusts.

use serde::{Deserialize, Serialize};

use super::projection::Source;
use super::{Error, Page, PageRequest, read_page};
use crate::store::{RegistryVersion, Store};

/// One branch as of a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Branch {
    /// The branch's account.
    pub braname: String,
    /// Its trustee.
    pub trustee: Option<String>,
    /// The accounts the trustee trusts.
    pub trusted: Vec<String>,
    /// First block of this version.
    pub block_num: u32,
}

#[derive(Deserialize)]
struct Fields {
    #[serde(default)]
    trusted: Vec<String>,
}

fn branch(version: &RegistryVersion) -> Result<Branch, Error> {
    let fields: Fields =
        serde_json::from_str(version.row.data.as_str()).map_err(|source| Error::Row {
            what: "branches row",
            source,
        })?;
    Ok(Branch {
        braname: version.key.clone(),
        trustee: version.row.username.clone(),
        trusted: fields.trusted,
        block_num: version.block_num,
    })
}

/// Branches of `coopname` as of `block_num`, by name; `trustee` keeps those it leads.
///
/// # Errors
/// [`Error`] when the store fails or a row is malformed.
pub async fn list(
    store: &Store,
    coopname: &str,
    block_num: u32,
    trustee: Option<&str>,
    page: &PageRequest,
) -> Result<Page<Branch>, Error> {
    let mut query = page.query(Source::Branch, coopname, block_num);
    query.username = trustee.map(str::to_owned);
    read_page(store, &query, branch).await
}

/// Every version of branch `braname`, oldest first.
///
/// # Errors
/// As [`list`].
pub async fn history(store: &Store, braname: &str) -> Result<Vec<Branch>, Error> {
    store
        .registry_history(Source::Branch, braname)
        .await?
        .iter()
        .map(branch)
        .collect()
}
