//! Members: every account the cooperative registered (`registrator::accounts`), joined with its
//! application (`registrator::candidates2`), its shareholder row (`soviet::participants`) and
//! its personal data from the private store, as of a block.
//!
//! A member's lifecycle is read from those rows ([`lifecycle`], pure): an application is a
//! candidate, then paid; the council's admission makes a shareholder (member); a refused
//! application is declined; a registered applicant who is no longer a shareholder has exited.

use serde::Serialize;
use serde_json::Value;

use super::projection::Source;
use super::{Error, Page, PageRequest, row_value};
use crate::private_data::records::{Entrepreneur, Individual, Organization, PrivateRecord};
use crate::store::{RegistryVersion, RowQuery, Store};

/// Where an account stands with the cooperative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    /// Registered, with no application and no shares.
    User,
    /// Applied; the registration fee is not paid yet.
    Candidate,
    /// Applied and paid; waiting for the council.
    Paid,
    /// The application was refused or its payment declined.
    Declined,
    /// A shareholder whose membership is in force.
    Member,
    /// A shareholder whose membership is suspended (any status but `accepted`).
    Blocked,
    /// Was admitted, is no longer a shareholder.
    Exited,
}

/// A member's lifecycle from the application and shareholder rows in force (pure).
pub fn lifecycle(candidate_status: Option<&str>, participant_status: Option<&str>) -> Lifecycle {
    match (participant_status, candidate_status) {
        (Some("accepted"), _) => Lifecycle::Member,
        (Some(_), _) => Lifecycle::Blocked,
        (None, Some("payed")) => Lifecycle::Paid,
        (None, Some("declined")) => Lifecycle::Declined,
        (None, Some("registered")) => Lifecycle::Exited,
        (None, Some(_)) => Lifecycle::Candidate,
        (None, None) => Lifecycle::User,
    }
}

/// One member as of a block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    /// The account.
    pub username: String,
    /// `individual`, `entrepreneur` or `organization`.
    pub kind: Option<String>,
    /// Where the account stands.
    pub lifecycle: Lifecycle,
    /// The branch the member belongs to (or applied to).
    pub branch: Option<String>,
    /// Registration time (seconds since 1970).
    pub registered_at: Option<i64>,
    /// The `accounts` row.
    pub account: Value,
    /// The application row, while one is in force.
    pub candidate: Option<Value>,
    /// The shareholder row, while the account is a shareholder.
    pub participant: Option<Value>,
    /// Personal data from the private store (by the account's type), when the instance has it.
    pub private: Option<Value>,
}

/// Which members to list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberFilter {
    /// Only accounts of this type.
    pub kind: Option<String>,
    /// Only shareholders with this status (e.g. `accepted`); pages then run over shareholders.
    pub participant_status: Option<String>,
}

/// One step of a member's history: the block from which the member stood as said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// First block of the step.
    pub block_num: u32,
    /// Where the account stood.
    pub lifecycle: Lifecycle,
}

/// Members of `coopname` as of `block_num`, by username.
///
/// # Errors
/// [`Error`] when the store fails or a row is malformed.
pub async fn list(
    store: &Store,
    coopname: &str,
    block_num: u32,
    filter: &MemberFilter,
    page: &PageRequest,
) -> Result<Page<Member>, Error> {
    let driving = if filter.participant_status.is_some() {
        Source::Participant
    } else {
        Source::Account
    };
    let mut query = page.query(driving, coopname, block_num);
    query.status.clone_from(&filter.participant_status);
    if driving == Source::Account {
        query.kind.clone_from(&filter.kind);
    }
    let rows = store.registry_rows(&query).await?;
    let last_key = rows.last().map(|row| row.key.clone());
    let usernames: Vec<String> = rows.iter().map(|row| row.key.clone()).collect();
    let mut members = join(store, coopname, block_num, &usernames).await?;
    if driving == Source::Participant
        && let Some(kind) = &filter.kind
    {
        members.retain(|member| member.kind.as_ref() == Some(kind));
    }
    Ok(Page::new_with_len(
        members,
        rows.len(),
        query.limit,
        last_key,
    ))
}

/// Member `username` of `coopname` as of `block_num`, if the cooperative registered it by then.
///
/// # Errors
/// As [`list`].
pub async fn get(
    store: &Store,
    coopname: &str,
    block_num: u32,
    username: &str,
) -> Result<Option<Member>, Error> {
    Ok(join(store, coopname, block_num, &[username.to_owned()])
        .await?
        .into_iter()
        .next())
}

/// Every change of `username`'s standing up to `block_num`, oldest first.
///
/// # Errors
/// As [`list`].
pub async fn history(
    store: &Store,
    coopname: &str,
    block_num: u32,
    username: &str,
) -> Result<Vec<Step>, Error> {
    let mut blocks = Vec::new();
    for source in [Source::Account, Source::Candidate, Source::Participant] {
        for version in store.registry_history(source, username).await? {
            if version.row.coopname != coopname {
                continue;
            }
            blocks.push(version.block_num);
            blocks.extend(version.valid_to_block);
        }
    }
    blocks.retain(|block| *block <= block_num);
    blocks.sort_unstable();
    blocks.dedup();
    let mut steps: Vec<Step> = Vec::new();
    for block in blocks {
        let Some(member) = get(store, coopname, block, username).await? else {
            continue;
        };
        if steps.last().map(|step| step.lifecycle) != Some(member.lifecycle) {
            steps.push(Step {
                block_num: block,
                lifecycle: member.lifecycle,
            });
        }
    }
    Ok(steps)
}

/// The members among `usernames`, reading each source once for all of them.
async fn join(
    store: &Store,
    coopname: &str,
    block_num: u32,
    usernames: &[String],
) -> Result<Vec<Member>, Error> {
    let rows = |source| {
        let mut query = RowQuery::new(source, coopname, block_num, super::MAX_PAGE);
        query.keys = Some(usernames.to_vec());
        async move { store.registry_rows(&query).await }
    };
    let accounts = rows(Source::Account).await?;
    let candidates = rows(Source::Candidate).await?;
    let participants = rows(Source::Participant).await?;
    let find = |versions: &[RegistryVersion], key: &str| -> Option<RegistryVersion> {
        versions.iter().find(|version| version.key == key).cloned()
    };
    let mut private = Vec::new();
    for kind in [Individual::KIND, Entrepreneur::KIND, Organization::KIND] {
        let keys: Vec<String> = accounts
            .iter()
            .filter(|account| account.row.kind.as_deref() == Some(kind))
            .map(|account| account.key.clone())
            .collect();
        private.extend(store.private_many_at(kind, &keys, block_num).await?);
    }
    let mut members = Vec::with_capacity(accounts.len());
    for account in &accounts {
        let candidate = find(&candidates, &account.key);
        let participant = find(&participants, &account.key);
        let lifecycle = lifecycle(
            candidate.as_ref().and_then(|row| row.row.status.as_deref()),
            participant
                .as_ref()
                .and_then(|row| row.row.status.as_deref()),
        );
        let branch = participant
            .as_ref()
            .or(candidate.as_ref())
            .and_then(|row| row.row.reference.clone())
            .filter(|branch| !branch.is_empty());
        let private = private
            .iter()
            .find(|record| record.key == account.key)
            .map(|record| record.data.to_value())
            .transpose()
            .map_err(|source| Error::Row {
                what: "private record",
                source,
            })?;
        members.push(Member {
            username: account.key.clone(),
            kind: account.row.kind.clone().filter(|kind| !kind.is_empty()),
            lifecycle,
            branch,
            registered_at: account.row.created_at,
            account: row_value(account, "accounts row")?,
            candidate: candidate
                .as_ref()
                .map(|row| row_value(row, "candidates2 row"))
                .transpose()?,
            participant: participant
                .as_ref()
                .map(|row| row_value(row, "participants row"))
                .transpose()?,
            private,
        });
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_follows_the_rows() {
        let cases = [
            (None, None, Lifecycle::User),
            (Some("created"), None, Lifecycle::Candidate),
            (Some("payed"), None, Lifecycle::Paid),
            (Some("declined"), None, Lifecycle::Declined),
            (Some("registered"), None, Lifecycle::Exited),
            (Some("registered"), Some("accepted"), Lifecycle::Member),
            (None, Some("accepted"), Lifecycle::Member),
            (None, Some("blocked"), Lifecycle::Blocked),
        ];
        for (candidate, participant, expected) in cases {
            assert_eq!(
                lifecycle(candidate, participant),
                expected,
                "{candidate:?} {participant:?}"
            );
        }
    }
}
