//! The cooperative's profile as of a block: its `registrator::coops` row, its organization
//! data from the private store, its council board (chairman and members) and its fees.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::projection::Source;
use super::{Error, row_value};
use crate::private_data::records::{Organization, PrivateRecord};
use crate::store::{RowQuery, Store};

/// The fees a member pays, as the chain writes assets (`"100.0000 RUB"`); the `org_` fees
/// apply to organizations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fees {
    /// Registration fee.
    pub registration: Option<String>,
    /// Initial (entrance) contribution.
    pub initial: Option<String>,
    /// Minimum share contribution.
    pub minimum: Option<String>,
    /// Registration fee for organizations.
    pub org_registration: Option<String>,
    /// Initial contribution for organizations.
    pub org_initial: Option<String>,
    /// Minimum share contribution for organizations.
    pub org_minimum: Option<String>,
}

/// A seat on the council.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    /// The council member.
    pub username: String,
    /// `chairman` or `member`.
    pub position: String,
    /// The position's title.
    #[serde(default)]
    pub position_title: String,
    /// Whether the seat votes.
    #[serde(default)]
    pub is_voting: bool,
}

/// The cooperative as of a block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    /// The cooperative's account.
    pub coopname: String,
    /// `active`, `pending`, … as the registrator names it.
    pub status: Option<String>,
    /// The cooperative's type (`conscoop`, …).
    pub kind: Option<String>,
    /// The chairman's account, when the board has one.
    pub chairman: Option<String>,
    /// The council board's seats.
    pub council: Vec<Seat>,
    /// The fees.
    pub fees: Fees,
    /// The organization's requisites from the private store, when the instance has them.
    pub organization: Option<Value>,
    /// First block of the `coops` row version.
    pub block_num: u32,
    /// The `coops` row.
    pub row: Value,
}

#[derive(Deserialize)]
struct Board {
    #[serde(rename = "type")]
    kind: String,
    members: Vec<Seat>,
}

/// The council board's seats of `coopname` as of `block_num`.
///
/// # Errors
/// [`Error`] when the store fails or a row is malformed.
pub async fn council(store: &Store, coopname: &str, block_num: u32) -> Result<Vec<Seat>, Error> {
    let boards = store
        .registry_rows(&RowQuery::new(
            Source::Board,
            coopname,
            block_num,
            super::MAX_PAGE,
        ))
        .await?;
    let mut seats = Vec::new();
    for board in &boards {
        let board: Board =
            serde_json::from_str(board.row.data.as_str()).map_err(|source| Error::Row {
                what: "boards row",
                source,
            })?;
        if board.kind == "soviet" {
            seats.extend(board.members);
        }
    }
    Ok(seats)
}

/// The blocks at which the cooperative's `coops` row changed (its status, fees, counters),
/// oldest first, each with the status then.
///
/// # Errors
/// [`Error`] when the store fails.
pub async fn history(store: &Store, coopname: &str) -> Result<Vec<(u32, Option<String>)>, Error> {
    Ok(store
        .registry_history(Source::Coop, coopname)
        .await?
        .into_iter()
        .map(|version| (version.block_num, version.row.status))
        .collect())
}

/// The profile of `coopname` as of `block_num`, once the registrator registered it.
///
/// # Errors
/// [`Error`] when the store fails or a row is malformed.
pub async fn get(store: &Store, coopname: &str, block_num: u32) -> Result<Option<Profile>, Error> {
    let mut query = RowQuery::new(Source::Coop, coopname, block_num, 1);
    query.keys = Some(vec![coopname.to_owned()]);
    let Some(version) = store.registry_rows(&query).await?.into_iter().next() else {
        return Ok(None);
    };
    let fees: Fees =
        serde_json::from_str(version.row.data.as_str()).map_err(|source| Error::Row {
            what: "coops row",
            source,
        })?;
    let council = council(store, coopname, block_num).await?;
    let organization = store
        .private_at(Organization::KIND, coopname, block_num)
        .await?
        .map(|record| record.data.to_value())
        .transpose()
        .map_err(|source| Error::Row {
            what: "organization record",
            source,
        })?;
    Ok(Some(Profile {
        coopname: coopname.to_owned(),
        status: version.row.status.clone(),
        kind: version.row.kind.clone(),
        chairman: council
            .iter()
            .find(|seat| seat.position == "chairman")
            .map(|seat| seat.username.clone()),
        council,
        fees,
        organization,
        block_num: version.block_num,
        row: row_value(&version, "coops row")?,
    }))
}
