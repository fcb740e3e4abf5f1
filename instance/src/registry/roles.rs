//! Roles from chain state, as of a block: the cooperative's council board (`soviet::boards`,
//! the board of type `soviet`) names the chairman and the council members, its shareholders
//! (`soviet::participants`) are the members, and an account the registrator registered
//! (`registrator::accounts`) is a user. Nothing relayed by others counts: only rows on chain.
//!
//! [`role`] decides from the facts (pure); [`role_at`] reads the facts from the store.

use serde::Deserialize;

use crate::antelope::name::Name;
use crate::registry::projection::Contracts;
use crate::store::{self, Store};

/// What an account is to the cooperative, from least to most trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Unknown to the cooperative.
    Stranger,
    /// Registered on chain by the registrator, not (or no longer) a shareholder.
    User,
    /// A shareholder whose membership is in force.
    Member,
    /// A member of the council board.
    Council,
    /// The council's chairman.
    Chairman,
}

impl Role {
    /// The role's name as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stranger => "stranger",
            Self::User => "user",
            Self::Member => "member",
            Self::Council => "council",
            Self::Chairman => "chairman",
        }
    }
}

/// What the chain says about one account at one block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    /// The registrator registered the account.
    pub registered: bool,
    /// The account's `participants` status, when it is a shareholder.
    pub participant_status: Option<String>,
    /// The account's `position` on the council board, when it sits on it.
    pub board_position: Option<String>,
}

/// The `participants` status of a shareholder whose membership is in force.
const ACCEPTED: &str = "accepted";
/// The board `position` of the chairman.
const CHAIRMAN: &str = "chairman";
/// The `type` of the council board.
const SOVIET_BOARD: &str = "soviet";

/// The role the facts give (pure). A seat on the board counts only for an accepted
/// shareholder, as the contract admits only shareholders to the board.
pub fn role(facts: &Facts) -> Role {
    let member = facts.participant_status.as_deref() == Some(ACCEPTED);
    match (member, facts.board_position.as_deref()) {
        (true, Some(CHAIRMAN)) => Role::Chairman,
        (true, Some(_)) => Role::Council,
        (true, None) => Role::Member,
        (false, _) if facts.registered || facts.participant_status.is_some() => Role::User,
        (false, _) => Role::Stranger,
    }
}

#[derive(Deserialize)]
struct BoardRow {
    #[serde(rename = "type")]
    kind: String,
    members: Vec<BoardMember>,
}

#[derive(Deserialize)]
struct BoardMember {
    username: String,
    position: String,
}

#[derive(Deserialize)]
struct ParticipantRow {
    status: String,
}

/// Why a role could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed.
    #[error("reading the chain state")]
    Store {
        /// The store's error.
        #[source]
        source: store::Error,
    },
    /// A row does not have the layout the contract publishes.
    #[error("{table} row does not have the expected fields")]
    Row {
        /// `code::table`.
        table: String,
        /// What was missing or malformed.
        #[source]
        source: serde_json::Error,
    },
}

/// The facts about `account` in `coopname` as of `block_num`, read from the store.
///
/// # Errors
/// [`Error`] when the store fails or a row does not have the contract's layout.
pub async fn facts_at(
    store: &Store,
    contracts: Contracts,
    coopname: Name,
    account: Name,
    block_num: u32,
) -> Result<Facts, Error> {
    let store_error = |source| Error::Store { source };
    let registrator = contracts.registrator.to_string();
    let soviet = contracts.soviet.to_string();
    let coop = coopname.to_string();
    let registered = store
        .table_row_at(
            &registrator,
            &registrator,
            "accounts",
            account.as_u64(),
            block_num,
        )
        .await
        .map_err(store_error)?
        .is_some();
    let participant = store
        .table_row_at(&soviet, &coop, "participants", account.as_u64(), block_num)
        .await
        .map_err(store_error)?;
    let participant_status = match participant.and_then(|row| row.record.value) {
        Some(value) => Some(
            serde_json::from_str::<ParticipantRow>(value.as_str())
                .map_err(|source| Error::Row {
                    table: format!("{soviet}::participants"),
                    source,
                })?
                .status,
        ),
        None => None,
    };
    let boards = store
        .table_rows_at(&soviet, &coop, "boards", block_num)
        .await
        .map_err(store_error)?;
    let mut board_position = None;
    for row in boards {
        let Some(value) = row.record.value else {
            continue;
        };
        let board: BoardRow =
            serde_json::from_str(value.as_str()).map_err(|source| Error::Row {
                table: format!("{soviet}::boards"),
                source,
            })?;
        if board.kind == SOVIET_BOARD {
            board_position = board
                .members
                .into_iter()
                .find(|member| member.username == account.to_string())
                .map(|member| member.position);
        }
    }
    Ok(Facts {
        registered,
        participant_status,
        board_position,
    })
}

/// What `account` is to `coopname` as of `block_num`.
///
/// # Errors
/// As [`facts_at`].
pub async fn role_at(
    store: &Store,
    contracts: Contracts,
    coopname: Name,
    account: Name,
    block_num: u32,
) -> Result<Role, Error> {
    facts_at(store, contracts, coopname, account, block_num)
        .await
        .map(|facts| role(&facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(registered: bool, status: Option<&str>, position: Option<&str>) -> Facts {
        Facts {
            registered,
            participant_status: status.map(str::to_owned),
            board_position: position.map(str::to_owned),
        }
    }

    #[test]
    fn roles_follow_the_board_and_the_shareholders() {
        let cases = [
            (facts(false, None, None), Role::Stranger),
            (facts(true, None, None), Role::User),
            (facts(true, Some("blocked"), None), Role::User),
            (facts(true, Some("accepted"), None), Role::Member),
            (facts(true, Some("accepted"), Some("member")), Role::Council),
            (
                facts(true, Some("accepted"), Some("chairman")),
                Role::Chairman,
            ),
            // A seat without membership in force grants nothing.
            (facts(true, Some("blocked"), Some("chairman")), Role::User),
            (facts(false, None, Some("chairman")), Role::Stranger),
        ];
        for (facts, expected) in cases {
            assert_eq!(role(&facts), expected, "{facts:?}");
        }
        assert!(Role::Chairman > Role::Council && Role::Member > Role::User);
        assert_eq!(Role::Council.as_str(), "council");
    }
}
