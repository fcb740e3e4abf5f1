//! System: `getSystemInfo`, what anyone may know about the instance: the cooperative's public
//! profile (status, council seats, fees) and how far the instance has synced.

use async_graphql::{Context, Json, Object, SimpleObject};

use super::ApiState;
use super::error::ApiError;
use super::paging::as_of;
use super::policy::admit;
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
