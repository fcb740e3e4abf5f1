//! Who is calling: nobody (no credential), an account with its role as of the synced block, or
//! the service (the hosting operator) with its own bearer credential. The role is read from
//! chain state at each request (see [`crate::registry::roles`]), never from the token.

use super::error::ApiError;
use super::{ApiState, token};
use crate::antelope::name::Name;
use crate::registry::roles::{self, Role};

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No credential.
    Anonymous,
    /// A logged-in account.
    Account {
        /// The account.
        username: Name,
        /// What it is to the cooperative as of the synced block.
        role: Role,
    },
    /// The hosting service.
    Service,
}

impl Caller {
    /// The account, when the caller is one.
    pub fn username(&self) -> Option<Name> {
        match self {
            Self::Account { username, .. } => Some(*username),
            Self::Anonymous | Self::Service => None,
        }
    }

    /// The role name as the API spells it (`anonymous` and `service` besides the chain roles).
    pub fn role_name(&self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous",
            Self::Account { role, .. } => role.as_str(),
            Self::Service => "service",
        }
    }
}

/// The caller presenting `authorization` (an `Authorization` header value, or the
/// `authorization` field of a websocket's connection parameters), and when its credential
/// expires (`None` for none or the service's, which does not).
///
/// # Errors
/// [`ApiError::Unauthenticated`] for a credential that is not valid; [`ApiError::Internal`]
/// when the role cannot be read.
pub async fn resolve(
    state: &ApiState,
    authorization: Option<&str>,
) -> Result<(Caller, Option<i64>), ApiError> {
    let Some(value) = authorization else {
        return Ok((Caller::Anonymous, None));
    };
    let Some(credential) = value.strip_prefix("Bearer ") else {
        return Err(ApiError::Unauthenticated(
            "the authorization must be `Bearer <token>`",
        ));
    };
    let credential = credential.trim();
    if let Some(service) = &state.config.service_token
        && service.matches(credential.as_bytes())
    {
        return Ok((Caller::Service, None));
    }
    let access = token::verify_access(
        &state.config.jwt_secret,
        &state.coopname.to_string(),
        credential,
        state.now(),
    )
    .map_err(|_| ApiError::Unauthenticated("the access token is invalid or expired"))?;
    let username: Name = access
        .username
        .parse()
        .map_err(|_| ApiError::Unauthenticated("the access token is invalid or expired"))?;
    let role = role_now(state, username).await?;
    Ok((Caller::Account { username, role }, Some(access.expires)))
}

/// What `username` is to the cooperative as of the synced block.
///
/// # Errors
/// [`ApiError::Internal`] when the store fails.
pub async fn role_now(state: &ApiState, username: Name) -> Result<Role, ApiError> {
    let Some(cursor) = state.store.cursor().await? else {
        return Ok(Role::Stranger);
    };
    Ok(roles::role_at(
        &state.store,
        state.contracts,
        state.coopname,
        username,
        cursor.block_num,
    )
    .await?)
}
