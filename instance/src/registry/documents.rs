//! Documents as of a block: every signed document the cooperative's actions and contract rows
//! carried, one entry per document hash with each action that carried it (statement, decision,
//! act, link, agreement, …) and each row that holds it, its package, its signers, and the full
//! document from the private store when the instance generated or received it.
//!
//! A document is `accepted` once an action carried it (the follower stores irreversible blocks
//! by default, head blocks in head mode), `rejected` once an action declined it, `expired`
//! once the decision of its package expired undecided, and `pending` while it is only in the
//! private store (generated, not yet on chain). Hashes are compared in
//! lowercase: nodeos prints them lowercase, other tools uppercase.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::projection::Source;
use super::{Error, Page, PageRequest, decisions};
use crate::private_data::cooperative::StoredDocument;
use crate::private_data::records::PrivateRecord;
use crate::store::{RegistryVersion, RowQuery, Store};

/// The private-store kind of documents the instance keeps in full (HTML, PDF, meta, status).
const PRIVATE_KIND: &str = <StoredDocument as PrivateRecord>::KIND;

/// Where a document stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    /// Kept by the instance, not seen on chain.
    Pending,
    /// Carried by an action on chain.
    Accepted,
    /// Declined on chain.
    Rejected,
    /// Carried on chain in the package of a decision that expired undecided.
    Expired,
}

/// One action or contract row that carried a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occurrence {
    /// The contract of the action or row.
    pub contract: String,
    /// The action, for an action.
    pub action: Option<String>,
    /// The table, for a contract row.
    pub table: Option<String>,
    /// The field holding the document (`document`, `statement`, `authorization`).
    pub field: String,
    /// The action's sequence number, for an action.
    pub global_sequence: Option<u64>,
    /// Its block.
    #[serde(default)]
    pub block_num: u32,
}

/// One document as of a block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    /// The document's hash (lowercase).
    pub hash: String,
    /// Where it stands.
    pub status: DocumentStatus,
    /// The package (decision hash) it belongs to, when an action named one.
    pub package: Option<String>,
    /// The account it is about.
    pub username: Option<String>,
    /// The accounts whose signatures it carries.
    pub signers: Vec<String>,
    /// The document as carried (`version`, hashes, `meta`, `signatures`), `None` while pending.
    pub document: Option<Value>,
    /// The actions that carried it, in chain order.
    pub occurrences: Vec<Occurrence>,
    /// The full document from the private store, when the instance has it.
    pub stored: Option<Value>,
}

#[derive(Deserialize)]
struct StoredOccurrence {
    contract: String,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    table: Option<String>,
    field: String,
    #[serde(default)]
    global_sequence: Option<u64>,
    document: Value,
}

/// Which documents to list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentFilter {
    /// Only documents of this package.
    pub package: Option<String>,
    /// Only documents about this account.
    pub username: Option<String>,
}

/// Documents of `coopname` carried on chain up to `block_num`, by hash. The page cursor is a
/// hash.
///
/// # Errors
/// [`Error`] when the store fails or a row is malformed.
pub async fn list(
    store: &Store,
    coopname: &str,
    block_num: u32,
    filter: &DocumentFilter,
    page: &PageRequest,
) -> Result<Page<Document>, Error> {
    let limit = page.limit();
    // Occurrences are keyed `hash:sequence`; reading a few per document usually brings whole
    // documents, and the one cut off at the end of the read is read again on the next page.
    let mut query = RowQuery::new(
        Source::Document,
        coopname,
        block_num,
        limit.saturating_mul(4),
    );
    query.reference = filter
        .package
        .as_ref()
        .map(|hash| hash.to_ascii_lowercase());
    query.username.clone_from(&filter.username);
    query.descending = page.descending;
    query.after = page.after.as_ref().map(|hash| {
        let hash = hash.to_ascii_lowercase();
        // Past every occurrence of the cursor's document, in either direction.
        if page.descending {
            format!("{hash}:")
        } else {
            format!("{hash}:\u{10FFFF}")
        }
    });
    let rows = store.registry_rows(&query).await?;
    let read_all = rows.len() < usize::try_from(query.limit).unwrap_or(usize::MAX);
    let mut groups = group(rows);
    if !read_all {
        if groups.len() > 1 {
            groups.pop();
        } else if let Some((hash, occurrences)) = groups.first_mut() {
            *occurrences = occurrences_of(store, coopname, block_num, hash).await?;
        }
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = !read_all || groups.len() > limit;
    groups.truncate(limit);
    let hashes: Vec<String> = groups.iter().map(|(hash, _)| hash.clone()).collect();
    let mut stored = store
        .private_many_at(PRIVATE_KIND, &hashes, block_num)
        .await?;
    let mut documents = Vec::with_capacity(groups.len());
    for (hash, occurrences) in groups {
        let kept = match stored.iter().position(|record| record.key == hash) {
            Some(at) => {
                Some(
                    stored
                        .swap_remove(at)
                        .data
                        .to_value()
                        .map_err(|source| Error::Row {
                            what: "stored document",
                            source,
                        })?,
                )
            }
            None => None,
        };
        documents.push(document(hash, &occurrences, kept)?);
    }
    expire(store, coopname, block_num, &mut documents).await?;
    let next = documents
        .last()
        .map(|doc| doc.hash.clone())
        .filter(|_| more);
    Ok(Page {
        items: documents,
        next,
    })
}

/// Document `hash` as of `block_num`: from the chain when an action carried it by then,
/// otherwise pending when the private store has it.
///
/// # Errors
/// As [`list`].
pub async fn get(
    store: &Store,
    coopname: &str,
    block_num: u32,
    hash: &str,
) -> Result<Option<Document>, Error> {
    let hash = hash.to_ascii_lowercase();
    let occurrences = occurrences_of(store, coopname, block_num, &hash).await?;
    if occurrences.is_empty() {
        let Some(stored) = stored(store, &hash, block_num).await? else {
            return Ok(None);
        };
        return Ok(Some(Document {
            hash,
            status: DocumentStatus::Pending,
            package: None,
            username: None,
            signers: Vec::new(),
            document: None,
            occurrences: Vec::new(),
            stored: Some(stored),
        }));
    }
    let kept = stored(store, &hash, block_num).await?;
    let mut document = document(hash, &occurrences, kept)?;
    expire(
        store,
        coopname,
        block_num,
        std::slice::from_mut(&mut document),
    )
    .await?;
    Ok(Some(document))
}

/// Marks the accepted documents among `documents` whose package is a decision that had expired
/// by `block_num`.
async fn expire(
    store: &Store,
    coopname: &str,
    block_num: u32,
    documents: &mut [Document],
) -> Result<(), Error> {
    let mut packages: Vec<String> = documents
        .iter()
        .filter(|document| document.status == DocumentStatus::Accepted)
        .filter_map(|document| document.package.clone())
        .collect();
    packages.sort_unstable();
    packages.dedup();
    if packages.is_empty() {
        return Ok(());
    }
    let expired = decisions::expired_among(store, coopname, block_num, packages).await?;
    for document in documents {
        let in_expired = document
            .package
            .as_ref()
            .is_some_and(|package| expired.contains(package));
        if document.status == DocumentStatus::Accepted && in_expired {
            document.status = DocumentStatus::Expired;
        }
    }
    Ok(())
}

async fn occurrences_of(
    store: &Store,
    coopname: &str,
    block_num: u32,
    hash: &str,
) -> Result<Vec<RegistryVersion>, Error> {
    let mut query = RowQuery::new(Source::Document, coopname, block_num, super::MAX_PAGE);
    query.key_prefix = Some(format!("{hash}:"));
    Ok(store.registry_rows(&query).await?)
}

async fn stored(store: &Store, hash: &str, block_num: u32) -> Result<Option<Value>, Error> {
    store
        .private_at(PRIVATE_KIND, hash, block_num)
        .await?
        .map(|record| record.data.to_value())
        .transpose()
        .map_err(|source| Error::Row {
            what: "stored document",
            source,
        })
}

/// Occurrences grouped by document hash, in key order.
fn group(rows: Vec<RegistryVersion>) -> Vec<(String, Vec<RegistryVersion>)> {
    let mut groups: Vec<(String, Vec<RegistryVersion>)> = Vec::new();
    for row in rows {
        let hash = row.key.split(':').next().unwrap_or_default().to_owned();
        match groups.last_mut() {
            Some((last, occurrences)) if *last == hash => occurrences.push(row),
            _ => groups.push((hash, vec![row])),
        }
    }
    groups
}

fn document(
    hash: String,
    rows: &[RegistryVersion],
    stored: Option<Value>,
) -> Result<Document, Error> {
    let mut occurrences = Vec::with_capacity(rows.len());
    let mut document = None;
    for row in rows {
        let stored: StoredOccurrence =
            serde_json::from_str(row.row.data.as_str()).map_err(|source| Error::Row {
                what: "document occurrence",
                source,
            })?;
        document.get_or_insert(stored.document);
        occurrences.push(Occurrence {
            contract: stored.contract,
            action: stored.action,
            table: stored.table,
            field: stored.field,
            global_sequence: stored.global_sequence,
            block_num: row.block_num,
        });
    }
    // Actions in chain order, then the rows that hold the document.
    occurrences.sort_by_key(|occurrence| {
        (
            occurrence.global_sequence.is_none(),
            occurrence.global_sequence,
            occurrence.block_num,
        )
    });
    let status = if rows
        .iter()
        .any(|row| row.row.status.as_deref() == Some("rejected"))
    {
        DocumentStatus::Rejected
    } else {
        DocumentStatus::Accepted
    };
    let mut signers: Vec<String> = document
        .as_ref()
        .and_then(|doc| doc.get("signatures"))
        .and_then(Value::as_array)
        .map(|signatures| {
            signatures
                .iter()
                .filter_map(|signature| signature.get("signer").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    signers.dedup();
    let first = rows
        .iter()
        .min_by_key(|row| row.key.as_str())
        .map(|row| &row.row);
    Ok(Document {
        package: rows.iter().find_map(|row| row.row.reference.clone()),
        username: first.and_then(|row| row.username.clone()),
        stored,
        hash,
        status,
        signers,
        document,
        occurrences,
    })
}
