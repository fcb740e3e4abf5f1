//! System: `getSystemInfo`, what anyone may know about the instance: the cooperative's public
//! profile (status, council seats, fees) and how far the instance has synced; `initSystem` and
//! `updateSystem`, the cooperative's own records the documents print (its organization record
//! and its template variables), written together in one transaction or not at all, and the
//! fees a member pays, which are chain state (`registrator::coops`) that `updateSystem` changes
//! with `registrator::updatecoop` signed by the cooperative.
//!
//! Both are idempotent: a record already holding what is given is left as it is, and fees the
//! chain already holds are not pushed again. The council is set by `installSystem`
//! (`super::install`).

use async_graphql::{Context, InputObject, Json, Object, SimpleObject};
use serde_json::{Value, json};

use super::ApiState;
use super::accounts::{Prepared, prepare_record, store_records_together};
use super::chain_state;
use super::error::ApiError;
use super::paging::as_of;
use super::policy::admit;
use super::transactions::{TransactionResult, push};
use crate::antelope::asset::Asset;
use crate::antelope::name::Name;
use crate::chain::push::JsonAction;
use crate::private_data::cooperative::Vars;
use crate::private_data::records::Organization;
use crate::private_data::{FieldError, Invalid};
use crate::registry::coop;

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

const REGISTRATOR: Name = Name::from_str_const("registrator");
const COOPS: Name = Name::from_str_const("coops");
const UPDATECOOP: Name = Name::from_str_const("updatecoop");

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

/// The cooperative's records and fees to replace; what is absent stays.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct UpdateSystemInput {
    /// The cooperative's organization record.
    pub organization_data: Option<Json<Value>>,
    /// The cooperative's template variables.
    pub vars: Option<Json<Value>>,
    /// The fees a member pays, set on chain.
    pub fees: Option<FeesInput>,
}

/// The fees a member pays, in the cooperative's currency with its precision
/// (`"100.0000 RUB"`), each positive; the registration fees are their sums.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct FeesInput {
    /// An individual's entrance fee.
    pub initial: String,
    /// An individual's minimum share contribution.
    pub minimum: String,
    /// An organization's entrance fee.
    pub org_initial: String,
    /// An organization's minimum share contribution.
    pub org_minimum: String,
}

/// What a write of the cooperative's records did.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct SystemRecords {
    /// The block the records written are in force from.
    pub valid_from_block: u32,
    /// How many records got a new version (0 when they already held what was given).
    pub changed: u32,
    /// The `registrator::updatecoop` that set the fees given, when the chain held others.
    pub transaction: Option<TransactionResult>,
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

    /// Replaces the cooperative's organization record, variables or fees, whichever is given:
    /// the service, the chairman. Records need an initialized system; fees the chain does not
    /// hold yet are pushed first, so records are written only once the chain took the fees.
    async fn update_system(
        &self,
        ctx: &Context<'_>,
        data: UpdateSystemInput,
    ) -> async_graphql::Result<SystemRecords> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        if data.organization_data.is_none() && data.vars.is_none() && data.fees.is_none() {
            return Err(ApiError::bad_input("give organization_data, vars, fees or some").into());
        }
        let fees = data.fees.as_ref().map(parse_fees);
        let records = prepare(
            state,
            data.organization_data.map(|Json(value)| value),
            data.vars.map(|Json(value)| value),
        );
        // Every invalid field of the records and the fees at once.
        let (records, fees) = match (records, fees.transpose()) {
            (Ok(records), Ok(fees)) => (records, fees),
            (Err(ApiError::BadInput { fields, .. }), Err(more)) if !fields.is_empty() => {
                return Err(ApiError::from([fields, more].concat()).into());
            }
            (Err(err), _) => return Err(err.into()),
            (_, Err(fields)) => return Err(ApiError::from(fields).into()),
        };
        for record in &records {
            if current(state, record).await?.is_none() {
                return Err(ApiError::NotFound(
                    "the cooperative's records (initialize the system first)",
                )
                .into());
            }
        }
        let transaction = match fees {
            Some(fees) => set_fees(state, &fees).await?,
            None => None,
        };
        let mut written = if records.is_empty() {
            SystemRecords {
                valid_from_block: as_of(state, None).await?.saturating_add(1),
                changed: 0,
                transaction: None,
            }
        } else {
            write(state, &records).await?
        };
        written.transaction = transaction;
        Ok(written)
    }
}

/// The fees in the order `registrator::updatecoop` takes them.
struct Fees([Asset; 4]);

const FEE_FIELDS: [&str; 4] = ["initial", "minimum", "org_initial", "org_minimum"];

/// The fees given, or every field that is not a positive amount with its currency.
fn parse_fees(input: &FeesInput) -> Result<Fees, Vec<FieldError>> {
    let given = [
        &input.initial,
        &input.minimum,
        &input.org_initial,
        &input.org_minimum,
    ];
    let mut fees = [Asset::default(); 4];
    let mut errors = Vec::new();
    for ((field, text), fee) in FEE_FIELDS.iter().zip(given).zip(&mut fees) {
        match text.trim().parse::<Asset>() {
            Ok(asset) if asset.amount() > 0 => *fee = asset,
            _ => errors.push(FieldError {
                field: format!("fees.{field}"),
                reason: Invalid::Format {
                    expected: "a positive amount with its currency, 100.0000 RUB",
                },
            }),
        }
    }
    if errors.is_empty() {
        Ok(Fees(fees))
    } else {
        Err(errors)
    }
}

/// Pushes `registrator::updatecoop` with `fees` unless the chain's `coops` row holds them; the
/// row's announcement and description are kept. The cooperative names itself the updater,
/// the authority the contract accepts from it.
async fn set_fees(state: &ApiState, fees: &Fees) -> Result<Option<TransactionResult>, ApiError> {
    let coopname = state.coopname;
    let api = chain_state::node(state)?;
    let row = chain_state::row(api, REGISTRATOR, REGISTRATOR, COOPS, coopname)
        .await?
        .ok_or(ApiError::NotFound(
            "the cooperative's registration on chain",
        ))?;
    let held = FEE_FIELDS.map(|field| {
        row[field]
            .as_str()
            .and_then(|text| text.parse::<Asset>().ok())
    });
    if held
        .iter()
        .zip(&fees.0)
        .all(|(held, given)| *held == Some(*given))
    {
        return Ok(None);
    }
    let text = |field: &str| row[field].as_str().unwrap_or_default().to_owned();
    let pushed = push(
        state,
        &[JsonAction::new(
            REGISTRATOR,
            UPDATECOOP,
            json!({
                "coopname": coopname,
                "username": coopname,
                "initial": fees.0[0],
                "minimum": fees.0[1],
                "org_initial": fees.0[2],
                "org_minimum": fees.0[3],
                "announce": text("announce"),
                "description": text("description"),
            }),
        )],
    )
    .await?;
    Ok(Some(pushed.into()))
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
    let (valid_from_block, changed) = store_records_together(state, records).await?;
    Ok(SystemRecords {
        valid_from_block,
        changed: u32::try_from(changed).unwrap_or(u32::MAX),
        transaction: None,
    })
}
