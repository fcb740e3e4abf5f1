//! System: `getSystemInfo`, what anyone may know about the instance: the cooperative's public
//! profile (status, council seats, fees) and how far the instance has synced; `initSystem` and
//! `updateSystem`, the cooperative's own records the documents print (its organization record
//! and its template variables), written together in one transaction or not at all.
//!
//! Both are idempotent: a record already holding what is given is left as it is. The council
//! and the fees are chain state (`soviet::boards`, `registrator::coops`), not set here.

use async_graphql::{Context, InputObject, Json, Object, SimpleObject};
use serde_json::Value;

use super::ApiState;
use super::accounts::{Prepared, prepare_record};
use super::error::ApiError;
use super::paging::as_of;
use super::policy::admit;
use crate::private_data::cooperative::Vars;
use crate::private_data::records::Organization;
use crate::registry::coop;
use crate::store::JsonText;

/// The instance and its cooperative.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct SystemInfo {
    /// The cooperative's account.
    pub coopname: String,
    /// Version of the instance.
    pub version: String,
    /// Last block synced (0 before the first).
    pub synced_block: u32,
    /// The block the profile is as of.
    pub block_num: u32,
    /// The cooperative's status as the registrator names it, once registered.
    pub status: Option<String>,
    /// The chairman's account.
    pub chairman: Option<String>,
    /// The council's seats (`username`, `position`, `position_title`, `is_voting`).
    pub council: Json<serde_json::Value>,
    /// The fees (registration, initial and minimum contributions).
    pub fees: Json<serde_json::Value>,
}

#[derive(Default)]
pub struct SystemQuery;

#[Object]
impl SystemQuery {
    /// The instance and its cooperative as of `block` (default: the last synced block). Public:
    /// the organization's requisites stay out.
    async fn get_system_info(
        &self,
        ctx: &Context<'_>,
        block: Option<u32>,
    ) -> async_graphql::Result<SystemInfo> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let synced_block = as_of(state, None).await?;
        let block_num = as_of(state, block).await?;
        let coopname = state.coopname.to_string();
        let profile = coop::get(&state.store, &coopname, block_num)
            .await
            .map_err(ApiError::from)?;
        let to_json = |value: Result<serde_json::Value, serde_json::Error>| {
            value.map(Json).map_err(ApiError::internal)
        };
        Ok(SystemInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            synced_block,
            block_num,
            status: profile.as_ref().and_then(|profile| profile.status.clone()),
            chairman: profile
                .as_ref()
                .and_then(|profile| profile.chairman.clone()),
            council: to_json(serde_json::to_value(
                profile.as_ref().map(|profile| &profile.council),
            ))?,
            fees: to_json(serde_json::to_value(
                profile.as_ref().map(|profile| &profile.fees),
            ))?,
            coopname,
        })
    }
}

/// The cooperative's records.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct InitSystemInput {
    /// The cooperative's organization record (the fields of `updateAccount`'s
    /// `organization_data`).
    pub organization_data: Json<Value>,
    /// The cooperative's template variables (names in their cases, links, addresses, the
    /// protocols that approved its documents).
    pub vars: Json<Value>,
}

/// The cooperative's records to replace; what is absent stays.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct UpdateSystemInput {
    /// The cooperative's organization record.
    pub organization_data: Option<Json<Value>>,
    /// The cooperative's template variables.
    pub vars: Option<Json<Value>>,
}

/// What a write of the cooperative's records did.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct SystemRecords {
    /// The block the records written are in force from.
    pub valid_from_block: u32,
    /// How many records got a new version (0 when they already held what was given).
    pub changed: u32,
}

#[derive(Default)]
pub struct SystemMutation;

#[Object]
impl SystemMutation {
    /// Keeps the cooperative's organization record and variables for the first time: the
    /// service, the chairman. Given again unchanged it changes nothing; records that already
    /// hold something else are `CONFLICT` (use `updateSystem`).
    async fn init_system(
        &self,
        ctx: &Context<'_>,
        data: InitSystemInput,
    ) -> async_graphql::Result<SystemRecords> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let records = prepare(state, Some(data.organization_data.0), Some(data.vars.0))?;
        for record in &records {
            if let Some(current) = current(state, record).await?
                && current != record.data
            {
                return Err(ApiError::Conflict(
                    "the system is initialized already: change it with updateSystem",
                )
                .into());
            }
        }
        Ok(write(state, &records).await?)
    }

    /// Replaces the cooperative's organization record or variables, whichever is given: the
    /// service, the chairman. The system must be initialized.
    async fn update_system(
        &self,
        ctx: &Context<'_>,
        data: UpdateSystemInput,
    ) -> async_graphql::Result<SystemRecords> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        if data.organization_data.is_none() && data.vars.is_none() {
            return Err(ApiError::bad_input("give organization_data, vars or both").into());
        }
        let records = prepare(
            state,
            data.organization_data.map(|Json(value)| value),
            data.vars.map(|Json(value)| value),
        )?;
        for record in &records {
            if current(state, record).await?.is_none() {
                return Err(ApiError::NotFound(
                    "the cooperative's records (initialize the system first)",
                )
                .into());
            }
        }
        Ok(write(state, &records).await?)
    }
}

/// The given records checked field by field (every invalid field of both named at once),
/// keyed by the cooperative.
fn prepare(
    state: &ApiState,
    organization: Option<Value>,
    vars: Option<Value>,
) -> Result<Vec<Prepared>, ApiError> {
    let coopname = state.coopname.to_string();
    let organization = organization.map(|value| prepare_record::<Organization>(&coopname, value));
    let vars = vars.map(|mut value| {
        if let Some(object) = value.as_object_mut() {
            object.insert("coopname".to_owned(), Value::from(coopname.as_str()));
        }
        prepare_record::<Vars>(&coopname, value)
    });
    let mut records = Vec::new();
    let mut fields = Vec::new();
    for (prefix, prepared) in [("organization_data", organization), ("vars", vars)] {
        match prepared {
            Some(Ok(record)) => records.push(record),
            Some(Err(ApiError::BadInput {
                fields: invalid, ..
            })) if !invalid.is_empty() => {
                fields.extend(invalid.into_iter().map(|mut field| {
                    field.field = format!("{prefix}.{}", field.field);
                    field
                }));
            }
            Some(Err(err)) => return Err(err),
            None => {}
        }
    }
    if fields.is_empty() {
        Ok(records)
    } else {
        Err(fields.into())
    }
}

/// The version of `record` in force now, if any.
async fn current(state: &ApiState, record: &Prepared) -> Result<Option<Value>, ApiError> {
    let version = state
        .store
        .private_at(record.kind, &record.key, u32::MAX)
        .await?;
    version
        .map(|version| serde_json::from_str(version.data.as_str()))
        .transpose()
        .map_err(ApiError::internal)
}

async fn write(state: &ApiState, records: &[Prepared]) -> Result<SystemRecords, ApiError> {
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
    let (valid_from_block, changed) = state.store.put_private_all_next(&rows).await?;
    Ok(SystemRecords {
        valid_from_block,
        changed: u32::try_from(changed).unwrap_or(u32::MAX),
    })
}
