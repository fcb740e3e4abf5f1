//! What the chain holds now, read from the node the cooperative pushes to: the operations that
//! push only what the chain lacks (`updateSystem`'s fees, `installSystem`) compare with the
//! head's rows, not with what the follower stored, so a retry soon after a push sees it and
//! pushes nothing.

use serde_json::Value;

use super::ApiState;
use super::error::ApiError;
use crate::antelope::name::Name;
use crate::chain::api::{ChainApi, TableQuery};

/// A scope's rows are read up to this many; the tables read here hold a handful.
const MAX_ROWS: usize = 1_000;

/// The node's client, which only an instance with the cooperative's key has.
///
/// # Errors
/// [`ApiError::Unavailable`] without the cooperative's key.
pub(super) fn node(state: &ApiState) -> Result<&ChainApi, ApiError> {
    state
        .cooperative
        .as_ref()
        .map(|pusher| pusher.api())
        .ok_or(ApiError::Unavailable(
            "this instance has no key to sign the cooperative's transactions",
        ))
}

/// The row of `code`'s `table` in `scope` whose primary key is `key`, if any.
///
/// # Errors
/// [`ApiError::Internal`] when the node cannot be read.
pub(super) async fn row(
    api: &ChainApi,
    code: Name,
    scope: Name,
    table: Name,
    key: Name,
) -> Result<Option<Value>, ApiError> {
    let mut query = TableQuery::new(code, &scope.to_string(), table);
    query.lower_bound = Some(key.to_string());
    query.upper_bound = Some(key.to_string());
    query.limit = 1;
    let rows = api
        .get_table_rows(&query)
        .await
        .map_err(ApiError::internal)?;
    Ok(rows.rows.into_iter().next())
}

/// Every row of `code`'s `table` in `scope`.
///
/// # Errors
/// [`ApiError::Internal`] when the node cannot be read.
pub(super) async fn rows(
    api: &ChainApi,
    code: Name,
    scope: Name,
    table: Name,
) -> Result<Vec<Value>, ApiError> {
    api.get_all_table_rows(&TableQuery::new(code, &scope.to_string(), table), MAX_ROWS)
        .await
        .map_err(ApiError::internal)
}
