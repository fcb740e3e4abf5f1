//! The `powerup` extension's field: `powerupStatus`, the cooperative's CPU and NET as the chain
//! reports them, what the top-ups paid today against the cap, and the latest top-ups (see
//! [`crate::extensions::powerup`]). It answers only while the extension is enabled, to the
//! council.

use async_graphql::{Context, Object, SimpleObject};

use super::ApiState;
use super::error::ApiError;
use super::policy::admit;
use crate::antelope::asset::Asset;
use crate::chain::api::AccountLimit;
use crate::extensions::{self, powerup};
use crate::store::PowerupTopUp;

/// How many top-ups the status lists.
const LATEST_TOPUPS: i64 = 20;

/// One resource of the cooperative's account; `-1` for `available` and `max` is unlimited.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct PowerupResource {
    /// Used (CPU in microseconds, NET in bytes).
    pub used: i64,
    /// Left.
    pub available: i64,
    /// The most the account may use.
    pub max: i64,
}

/// A top-up the extension pushed.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct PowerupTopUpItem {
    /// The transaction.
    pub transaction_id: String,
    /// When it was pushed, in seconds since 1970.
    pub topped_up_at: i64,
    /// Its block.
    pub block_num: i64,
    /// What it paid.
    pub amount: String,
}

/// The cooperative's resources and the extension's spending.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct PowerupStatus {
    /// CPU.
    pub cpu: PowerupResource,
    /// NET.
    pub net: PowerupResource,
    /// What today's top-ups (UTC) paid.
    pub spent_today: String,
    /// The most they may pay.
    pub daily_cap: String,
    /// The latest top-ups, newest first.
    pub topups: Vec<PowerupTopUpItem>,
}

impl From<AccountLimit> for PowerupResource {
    fn from(limit: AccountLimit) -> Self {
        Self {
            used: limit.used,
            available: limit.available,
            max: limit.max,
        }
    }
}

impl From<PowerupTopUp> for PowerupTopUpItem {
    fn from(topup: PowerupTopUp) -> Self {
        Self {
            transaction_id: topup.transaction_id,
            topped_up_at: topup.topped_up_at,
            block_num: topup.block_num,
            amount: topup.amount,
        }
    }
}

#[derive(Default)]
pub struct PowerupQuery;

#[Object]
impl PowerupQuery {
    /// The cooperative's CPU and NET and the top-ups: for the council, while the `powerup`
    /// extension is enabled.
    async fn powerup_status(&self, ctx: &Context<'_>) -> async_graphql::Result<PowerupStatus> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let config = extensions::enabled_config(&state.store, powerup::NAME)
            .await
            .map_err(ApiError::from)?
            .ok_or(ApiError::Unavailable(
                "the powerup extension is not enabled",
            ))?;
        let settings = powerup::settings(&config).map_err(ApiError::internal)?;
        let pusher = state.cooperative.as_ref().ok_or(ApiError::Unavailable(
            "the cooperative's key is not configured",
        ))?;
        let account = pusher
            .api()
            .get_account(state.coopname)
            .await
            .map_err(ApiError::internal)?;
        let since = powerup::day_start((state.clock)());
        let spent = state
            .store
            .powerup_spent_since(since)
            .await
            .map_err(ApiError::from)?;
        let spent_today =
            Asset::new(spent, settings.daily_cap.symbol()).map_err(ApiError::internal)?;
        let topups = state
            .store
            .powerup_topups(LATEST_TOPUPS)
            .await
            .map_err(ApiError::from)?;
        Ok(PowerupStatus {
            cpu: account.cpu_limit.into(),
            net: account.net_limit.into(),
            spent_today: spent_today.to_string(),
            daily_cap: settings.daily_cap.to_string(),
            topups: topups.into_iter().map(Into::into).collect(),
        })
    }
}
