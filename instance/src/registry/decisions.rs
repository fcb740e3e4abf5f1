//! The council's agenda (`soviet::decisions`) as of a block: each decision with its statement,
//! the votes for and against attributed to the council members who cast them, approval,
//! the chairman's authorization, and how it ended (executed, declined, expired).
//!
//! Contracts erase a decision once it is settled; the projection keeps its last version with
//! the outcome (see `projection::CLOSINGS`), so settled decisions stay answerable. A decision
//! still open after its `expired_at` reads as expired.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::projection::{Source, id_key};
use super::{Error, Page, PageRequest, read_kept_page, read_page, row_value};
use crate::antelope::time::TimePointSec;
use crate::store::{RegistryVersion, RowQuery, Store};

/// One vote, with the voter's seat on the council when the decision is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vote {
    /// The voter.
    pub username: String,
    /// The voter's position on the council board (`chairman`, `member`), `None` when the voter
    /// holds no seat at that block.
    pub position: Option<String>,
}

/// One decision as of a block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The decision's id.
    pub id: u64,
    /// The account the decision is about.
    pub username: Option<String>,
    /// Its type (`joincoop`, `withdraw`, `freedecision`, …).
    pub kind: Option<String>,
    /// `voting`, `approved`, `authorized`, `executed`, `declined` or `expired`.
    pub stage: String,
    /// Votes for.
    pub votes_for: Vec<Vote>,
    /// Votes against.
    pub votes_against: Vec<Vote>,
    /// Who authorized it.
    pub authorized_by: Option<String>,
    /// Hash of the statement document (lowercase).
    pub statement_hash: Option<String>,
    /// Creation time (seconds since 1970).
    pub created_at: Option<i64>,
    /// Expiry time (seconds since 1970).
    pub expired_at: Option<i64>,
    /// First block of this version.
    pub block_num: u32,
    /// The `decisions` row.
    pub row: Value,
}

/// Which decisions to list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DecisionFilter {
    /// Only decisions at this stage as of the block (`voting`, `approved`, `authorized`,
    /// `executed`, `declined`, `expired`).
    pub stage: Option<String>,
    /// Only decisions of this type.
    pub kind: Option<String>,
    /// Only decisions about this account.
    pub username: Option<String>,
}

#[derive(Deserialize)]
struct Fields {
    #[serde(default)]
    votes_for: Vec<String>,
    #[serde(default)]
    votes_against: Vec<String>,
    #[serde(default)]
    authorized_by: Option<String>,
    #[serde(default)]
    expired_at: Option<String>,
    #[serde(default)]
    statement: Option<Hash>,
}

#[derive(Deserialize)]
struct Hash {
    hash: String,
}

/// The council's seats as of a block: (username, position).
async fn seats(
    store: &Store,
    coopname: &str,
    block_num: u32,
) -> Result<Vec<(String, String)>, Error> {
    Ok(super::coop::council(store, coopname, block_num)
        .await?
        .into_iter()
        .map(|seat| (seat.username, seat.position))
        .collect())
}

fn decision(
    version: &RegistryVersion,
    seats: &[(String, String)],
    now_secs: Option<i64>,
) -> Result<Decision, Error> {
    let fields: Fields =
        serde_json::from_str(version.row.data.as_str()).map_err(|source| Error::Row {
            what: "decisions row",
            source,
        })?;
    let votes = |names: Vec<String>| {
        names
            .into_iter()
            .map(|username| Vote {
                position: seats
                    .iter()
                    .find(|(seat, _)| *seat == username)
                    .map(|(_, position)| position.clone()),
                username,
            })
            .collect()
    };
    let expired_at = fields
        .expired_at
        .as_deref()
        .and_then(|text| text.parse::<TimePointSec>().ok())
        .map(|time| i64::from(time.as_secs()));
    let stored = version.row.status.clone().unwrap_or_default();
    let open = matches!(stored.as_str(), "voting" | "approved");
    let stage = match (expired_at, now_secs) {
        (Some(expiry), Some(now)) if open && expiry > 0 && now >= expiry => "expired".to_owned(),
        _ => stored,
    };
    Ok(Decision {
        id: version.key.parse().unwrap_or_default(),
        username: version.row.username.clone(),
        kind: version.row.kind.clone(),
        stage,
        votes_for: votes(fields.votes_for),
        votes_against: votes(fields.votes_against),
        authorized_by: fields.authorized_by.filter(|name| !name.is_empty()),
        statement_hash: fields.statement.map(|doc| doc.hash.to_ascii_lowercase()),
        created_at: version.row.created_at,
        expired_at,
        block_num: version.block_num,
        row: row_value(version, "decisions row")?,
    })
}

/// The block's time in seconds, when the block is stored.
async fn block_secs(store: &Store, block_num: u32) -> Result<Option<i64>, Error> {
    Ok(store
        .block(block_num)
        .await?
        .map(|block| block.timestamp_ms.div_euclid(1000)))
}

/// Decisions of `coopname` as of `block_num`, by id.
///
/// # Errors
/// [`Error`] when the store fails or a row is malformed.
pub async fn list(
    store: &Store,
    coopname: &str,
    block_num: u32,
    filter: &DecisionFilter,
    page: &PageRequest,
) -> Result<Page<Decision>, Error> {
    let seats = seats(store, coopname, block_num).await?;
    let now = block_secs(store, block_num).await?;
    let mut query = page.query(Source::Decision, coopname, block_num);
    query.kind.clone_from(&filter.kind);
    query.username.clone_from(&filter.username);
    let convert = |version: &RegistryVersion| decision(version, &seats, now);
    match filter.stage.as_deref() {
        None => read_page(store, &query, convert).await,
        // An open decision past its expiry is stored as open: the stage needs the block's time.
        Some(stage @ ("voting" | "approved")) => {
            query.status = Some(stage.to_owned());
            read_kept_page(store, &query, convert, |item| item.stage == stage).await
        }
        Some("expired") => {
            read_kept_page(store, &query, convert, |item| item.stage == "expired").await
        }
        Some(stage) => {
            query.status = Some(stage.to_owned());
            read_page(store, &query, convert).await
        }
    }
}

/// Decision `id` of `coopname` as of `block_num`.
///
/// # Errors
/// As [`list`].
pub async fn get(
    store: &Store,
    coopname: &str,
    block_num: u32,
    id: u64,
) -> Result<Option<Decision>, Error> {
    let mut query = RowQuery::new(Source::Decision, coopname, block_num, 1);
    query.keys = Some(vec![id_key(id)]);
    let Some(version) = store.registry_rows(&query).await?.into_iter().next() else {
        return Ok(None);
    };
    let seats = seats(store, coopname, block_num).await?;
    let now = block_secs(store, block_num).await?;
    decision(&version, &seats, now).map(Some)
}

/// Those of `hashes` that are hashes of decisions of `coopname` expired as of `block_num`.
///
/// # Errors
/// As [`list`].
pub async fn expired_among(
    store: &Store,
    coopname: &str,
    block_num: u32,
    hashes: Vec<String>,
) -> Result<Vec<String>, Error> {
    let limit = u32::try_from(hashes.len()).unwrap_or(u32::MAX);
    let mut query = RowQuery::new(Source::Decision, coopname, block_num, limit);
    query.references = Some(hashes);
    let versions = store.registry_rows(&query).await?;
    let now = block_secs(store, block_num).await?;
    let mut expired = Vec::new();
    for version in &versions {
        if decision(version, &[], now)?.stage == "expired" {
            expired.extend(version.row.reference.clone());
        }
    }
    Ok(expired)
}

/// Every version of decision `id`, oldest first, each read with the council of its block.
///
/// # Errors
/// As [`list`].
pub async fn history(store: &Store, coopname: &str, id: u64) -> Result<Vec<Decision>, Error> {
    let mut decisions = Vec::new();
    for version in store
        .registry_history(Source::Decision, &id_key(id))
        .await?
    {
        if version.row.coopname != coopname {
            continue;
        }
        let seats = seats(store, coopname, version.block_num).await?;
        decisions.push(decision(&version, &seats, None)?);
    }
    Ok(decisions)
}
