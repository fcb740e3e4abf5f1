//! Accounts: `getAccount`, `getAccounts` (members joined with their personal data, as of a
//! block) and `updateAccount` (personal data, validated field by field).

use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject};

use super::ApiState;
use super::error::ApiError;
use super::paging::{PageInput, Paged, as_of};
use super::policy::admit;
use crate::antelope::name::Name;
use crate::private_data::records::{Entrepreneur, Individual, Organization, PrivateRecord};
use crate::private_data::{FieldError, Invalid};
use crate::registry::members::{self, Member, MemberFilter};
use crate::registry::roles;
use crate::store::JsonText;

/// Where an account stands with the cooperative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::registry::members::Lifecycle")]
pub enum AccountLifecycle {
    /// Registered, with no application and no shares.
    User,
    /// Applied; the fee is not paid yet.
    Candidate,
    /// Applied and paid; waiting for the council.
    Paid,
    /// Refused.
    Declined,
    /// A shareholder in force.
    Member,
    /// A suspended shareholder.
    Blocked,
    /// No longer a shareholder.
    Exited,
}

/// One account as of a block.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct Account {
    /// The account.
    pub username: String,
    /// `individual`, `entrepreneur` or `organization`.
    pub kind: Option<String>,
    /// Where it stands.
    pub lifecycle: AccountLifecycle,
    /// Its branch.
    pub branch: Option<String>,
    /// Registration time, seconds since 1970.
    pub registered_at: Option<i64>,
    /// The `registrator::accounts` row.
    pub account: Json<serde_json::Value>,
    /// The application row, while one is in force.
    pub candidate: Option<Json<serde_json::Value>>,
    /// The shareholder row, while it is a shareholder.
    pub participant: Option<Json<serde_json::Value>>,
    /// Personal data, when the instance keeps it.
    pub private_data: Option<Json<serde_json::Value>>,
}

impl From<Member> for Account {
    fn from(member: Member) -> Self {
        Self {
            username: member.username,
            kind: member.kind,
            lifecycle: AccountLifecycle::from(member.lifecycle),
            branch: member.branch,
            registered_at: member.registered_at,
            account: Json(member.account),
            candidate: member.candidate.map(Json),
            participant: member.participant.map(Json),
            private_data: member.private.map(Json),
        }
    }
}

/// An account with its role.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct AccountWithRole {
    /// The account.
    pub account: Account,
    /// `stranger`, `user`, `member`, `council` or `chairman` as of the block.
    pub role: String,
    /// The block the answer is as of.
    pub block_num: u32,
}

/// Which accounts to list.
#[derive(Debug, Clone, Default, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct AccountsFilter {
    /// Only accounts of this type (`individual`, `entrepreneur`, `organization`).
    pub kind: Option<String>,
    /// Only shareholders with this status (`accepted`, `blocked`).
    pub participant_status: Option<String>,
}

/// New personal data of an account: exactly one of the three, matching the account's type.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct UpdateAccountInput {
    /// The account.
    pub username: String,
    /// An individual's data, in the fields of the private store.
    pub individual_data: Option<Json<serde_json::Value>>,
    /// An organization's data.
    pub organization_data: Option<Json<serde_json::Value>>,
    /// An entrepreneur's data.
    pub entrepreneur_data: Option<Json<serde_json::Value>>,
}

/// A private record as stored.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct StoredRecord {
    /// The record's kind.
    pub kind: String,
    /// Its key.
    pub key: String,
    /// Its version number.
    pub version: u64,
    /// The block from which it is in force.
    pub valid_from_block: u32,
    /// The record, normalised.
    pub data: Json<serde_json::Value>,
}

#[derive(Default)]
pub struct AccountsQuery;

#[Object]
impl AccountsQuery {
    /// One account as of `block`, with its role: the account itself, the council and the
    /// chairman.
    async fn get_account(
        &self,
        ctx: &Context<'_>,
        username: String,
        block: Option<u32>,
    ) -> async_graphql::Result<Option<AccountWithRole>> {
        admit(ctx, Some(&username))?;
        let state = ctx.data::<ApiState>()?;
        let block_num = as_of(state, block).await?;
        let name: Name = username
            .parse()
            .map_err(|_| ApiError::bad_input("username is not an account name"))?;
        let coopname = state.coopname.to_string();
        let Some(member) = members::get(&state.store, &coopname, block_num, &username)
            .await
            .map_err(ApiError::from)?
        else {
            return Ok(None);
        };
        let role = roles::role_at(
            &state.store,
            state.contracts,
            state.coopname,
            name,
            block_num,
        )
        .await
        .map_err(ApiError::from)?;
        Ok(Some(AccountWithRole {
            account: member.into(),
            role: role.as_str().to_owned(),
            block_num,
        }))
    }

    /// Accounts as of `block`, by username: the council and the chairman.
    async fn get_accounts(
        &self,
        ctx: &Context<'_>,
        filter: Option<AccountsFilter>,
        page: Option<PageInput>,
        block: Option<u32>,
    ) -> async_graphql::Result<Paged<Account>> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let block_num = as_of(state, block).await?;
        let filter = filter.unwrap_or_default();
        let filter = MemberFilter {
            kind: filter.kind,
            participant_status: filter.participant_status,
        };
        let page = members::list(
            &state.store,
            &state.coopname.to_string(),
            block_num,
            &filter,
            &PageInput::request(page),
        )
        .await
        .map_err(ApiError::from)?;
        Ok(Paged::from_page(page, block_num))
    }
}

#[derive(Default)]
pub struct AccountsMutation;

#[Object]
impl AccountsMutation {
    /// Replaces an account's personal data from the next block on: the account itself or the
    /// chairman. Every invalid field is named in `extensions.fields`.
    async fn update_account(
        &self,
        ctx: &Context<'_>,
        data: UpdateAccountInput,
    ) -> async_graphql::Result<StoredRecord> {
        admit(ctx, Some(&data.username))?;
        let state = ctx.data::<ApiState>()?;
        let given = [
            data.individual_data.is_some(),
            data.organization_data.is_some(),
            data.entrepreneur_data.is_some(),
        ];
        if given.iter().filter(|given| **given).count() != 1 {
            return Err(ApiError::bad_input(
                "give exactly one of individual_data, organization_data, entrepreneur_data",
            )
            .into());
        }
        let username = data.username.clone();
        let stored = if let Some(Json(value)) = data.individual_data {
            put_record::<Individual>(state, &username, value).await?
        } else if let Some(Json(value)) = data.organization_data {
            put_record::<Organization>(state, &username, value).await?
        } else if let Some(Json(value)) = data.entrepreneur_data {
            put_record::<Entrepreneur>(state, &username, value).await?
        } else {
            return Err(ApiError::bad_input("no data given").into());
        };
        Ok(stored)
    }
}

/// A validated private record, ready to store.
#[derive(Clone)]
pub(super) struct Prepared {
    pub(super) kind: &'static str,
    pub(super) key: String,
    pub(super) data: serde_json::Value,
}

/// The account names given for `fields` (`(field, text)`), or one error naming every field
/// that is empty or not an account name.
pub(super) fn account_names<const N: usize>(
    fields: [(&str, &str); N],
) -> Result<[Name; N], ApiError> {
    let mut errors = Vec::new();
    let names = fields.map(|(field, text)| {
        let reason = match text.parse::<Name>() {
            Ok(name) if name != Name::default() => return name,
            Ok(_) => Invalid::Missing,
            Err(_) => Invalid::Format {
                expected: "an account name (up to 12 of a-z, 1-5 and dots)",
            },
        };
        errors.push(FieldError {
            field: field.to_owned(),
            reason,
        });
        Name::default()
    });
    if errors.is_empty() {
        Ok(names)
    } else {
        Err(errors.into())
    }
}

/// Validates `value` as a record of type `R` about `username`, every invalid field named.
pub(super) fn prepare_record<R>(
    username: &str,
    mut value: serde_json::Value,
) -> Result<Prepared, ApiError>
where
    R: PrivateRecord + serde::de::DeserializeOwned,
{
    if let Some(object) = value.as_object_mut() {
        // The account comes from the operation's subject, which the policy checked.
        object.insert("username".to_owned(), serde_json::Value::from(username));
    }
    let record: R = serde_json::from_value(value)
        .map_err(|err| ApiError::bad_input(format!("the data does not fit: {err}")))?;
    let record = record.validated()?;
    Ok(Prepared {
        kind: R::KIND,
        key: record.key(),
        data: serde_json::to_value(&record).map_err(ApiError::internal)?,
    })
}

/// Stores `record` from the block after the synced one, so what any synced block answers
/// never changes afterwards.
pub(super) async fn store_record(
    state: &ApiState,
    record: Prepared,
) -> Result<StoredRecord, ApiError> {
    // The store chooses the block in the writing transaction: one read here could be
    // committed by the follower before the write.
    let (version, block_num) = state
        .store
        .put_private_next(
            record.kind,
            &record.key,
            &JsonText::from_value(&record.data),
        )
        .await?;
    Ok(StoredRecord {
        kind: record.kind.to_owned(),
        key: record.key,
        version,
        valid_from_block: block_num,
        data: Json(record.data),
    })
}

/// Stores `records` in one transaction (all or none) from the block after the synced one;
/// returns that block and how many records got a new version (a record already holding its
/// data is left as it is).
pub(super) async fn store_records_together(
    state: &ApiState,
    records: &[Prepared],
) -> Result<(u32, usize), ApiError> {
    let rows: Vec<(&str, &str, JsonText)> = records
        .iter()
        .map(|record| {
            (
                record.kind,
                record.key.as_str(),
                JsonText::from_value(&record.data),
            )
        })
        .collect();
    Ok(state.store.put_private_all_next(&rows).await?)
}

/// Validates `value` as a record of type `R` about `username` and stores it from the block
/// after the synced one.
pub(super) async fn put_record<R>(
    state: &ApiState,
    username: &str,
    value: serde_json::Value,
) -> Result<StoredRecord, ApiError>
where
    R: PrivateRecord + serde::de::DeserializeOwned,
{
    store_record(state, prepare_record::<R>(username, value)?).await
}
