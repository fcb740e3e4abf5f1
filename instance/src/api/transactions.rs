//! The cooperative's transactions from the API: actions pushed with the cooperative's key
//! ([`crate::chain::push`]), idempotent by transaction id, the chain's refusals turned into
//! `CHAIN_REJECTED` errors carrying the contract's message.

use async_graphql::SimpleObject;

use super::ApiState;
use super::error::ApiError;
use crate::chain::push::{JsonAction, Pushed};

/// A transaction the chain accepted. Its effect reaches the registries once the follower
/// stores its block.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct TransactionResult {
    /// The transaction's id (hex).
    pub transaction_id: String,
    /// The block it went into, when known.
    pub block_num: Option<u32>,
}

impl From<Pushed> for TransactionResult {
    fn from(pushed: Pushed) -> Self {
        Self {
            transaction_id: pushed.transaction_id.to_hex(),
            block_num: pushed.block_num,
        }
    }
}

/// Pushes `actions` in one transaction signed by the cooperative.
///
/// # Errors
/// [`ApiError::Unavailable`] without the cooperative's key, [`ApiError::Rejected`] when the
/// chain refuses, [`ApiError::Internal`] when the node cannot be reached.
pub(super) async fn push(state: &ApiState, actions: &[JsonAction]) -> Result<Pushed, ApiError> {
    let pusher = state.cooperative.as_ref().ok_or(ApiError::Unavailable(
        "this instance has no key to sign the cooperative's transactions",
    ))?;
    Ok(pusher.push(actions).await?)
}
