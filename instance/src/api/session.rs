//! Sessions: `authChallenge` (a query), `login`, `refresh` and `logout`.
//!
//! Login answers a single-use challenge with a K1 signature checked against the account's
//! active key on chain as of the synced block; it returns a short-lived access token and a
//! refresh token. Each `refresh` spends the refresh token and returns a new pair; a spent token
//! presented again revokes every token of its login. Attempts are rate limited per account and
//! per client address. Nothing here logs a challenge, a signature or a token.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use rand_core::RngCore;

use super::caller::role_now;
use super::error::ApiError;
use super::policy::admit;
use super::token::{self, new_refresh_token, refresh_token_hash};
use super::{ApiState, challenge};
use crate::antelope::name::Name;
use crate::factory::keys::ChainKeys;
use crate::store::{NewRefreshToken, Rotation};

/// The client's address, when the server knows it (request data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub std::net::IpAddr);

/// Login with a signed challenge.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct LoginInput {
    /// The account.
    pub username: String,
    /// The challenge `authChallenge` returned.
    pub challenge: String,
    /// `SIG_K1_…` over sha256(UTF-8 bytes of the challenge), by the account's active key.
    pub signature: String,
}

/// A refresh token to spend.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct RefreshInput {
    /// The refresh token.
    pub refresh_token: String,
}

/// A refresh token whose login ends.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct LogoutInput {
    /// The refresh token.
    pub refresh_token: String,
}

/// A token and its expiry.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct Token {
    /// The token.
    pub token: String,
    /// When it expires, seconds since 1970.
    pub expires: i64,
}

/// An access token and a refresh token.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct Tokens {
    /// Bearer credential of requests (`Authorization: Bearer …`).
    pub access: Token,
    /// Single-use credential of `refresh`.
    pub refresh: Token,
}

/// The logged-in account.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct SessionAccount {
    /// The account.
    pub username: String,
    /// Its role as of the synced block.
    pub role: String,
}

/// What `login` returns.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct LoginResult {
    /// The account.
    pub account: SessionAccount,
    /// Its tokens.
    pub tokens: Tokens,
}

/// What `refresh` returns.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct RefreshResult {
    /// The new tokens.
    pub tokens: Tokens,
}

fn ttl_secs(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// Counts an attempt for `username` and the client's address.
pub(super) fn rate_limit(
    ctx: &Context<'_>,
    state: &ApiState,
    username: &str,
) -> Result<(), ApiError> {
    let now = state.now();
    let mut allowed = state.limiter.allow(&format!("account:{username}"), now);
    if let Some(ClientAddress(address)) = ctx.data_opt::<ClientAddress>() {
        allowed &= state.limiter.allow(&format!("address:{address}"), now);
    }
    if allowed {
        Ok(())
    } else {
        tracing::warn!("login attempts rate limited");
        Err(ApiError::TooManyRequests)
    }
}

/// A fresh pair for `username` starting a login: the refresh token is its family's first.
fn new_tokens(state: &ApiState, username: &str) -> Result<(Tokens, NewRefreshToken), ApiError> {
    let now = state.now();
    let access_ttl = ttl_secs(state.config.access_ttl);
    let access = token::issue_access(
        &state.config.jwt_secret,
        &state.coopname.to_string(),
        username,
        now,
        access_ttl,
    )
    .map_err(ApiError::internal)?;
    let refresh = new_refresh_token();
    let refresh_expires = now.saturating_add(ttl_secs(state.config.refresh_ttl));
    let token_hash = refresh_token_hash(&refresh);
    let stored = NewRefreshToken {
        token_hash,
        family: token_hash,
        username: username.to_owned(),
        issued_at: now,
        expires_at: refresh_expires,
    };
    let tokens = Tokens {
        access: Token {
            token: access,
            expires: now.saturating_add(access_ttl),
        },
        refresh: Token {
            token: refresh,
            expires: refresh_expires,
        },
    };
    Ok((tokens, stored))
}

#[derive(Default)]
pub struct SessionQuery;

#[Object]
impl SessionQuery {
    /// A single-use challenge for `username` to sign, valid for at most five minutes.
    async fn auth_challenge(
        &self,
        ctx: &Context<'_>,
        username: String,
    ) -> async_graphql::Result<String> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let username: Name = username
            .parse()
            .map_err(|_| ApiError::bad_input("username is not an account name"))?;
        let username = username.to_string();
        rate_limit(ctx, state, &username)?;
        let now = state.now();
        let expires_at = now.saturating_add(ttl_secs(state.config.challenge_ttl));
        let mut nonce = [0_u8; 16];
        rand_core::OsRng.fill_bytes(&mut nonce);
        let text = challenge::text(&state.coopname.to_string(), &username, expires_at, &nonce);
        state
            .store
            .put_auth_challenge(&text, &username, expires_at, now)
            .await
            .map_err(ApiError::from)?;
        Ok(text)
    }
}

#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Logs in with a signed challenge.
    async fn login(
        &self,
        ctx: &Context<'_>,
        data: LoginInput,
    ) -> async_graphql::Result<LoginResult> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        rate_limit(ctx, state, &data.username)?;
        let refused = || ApiError::Unauthenticated("the challenge or the signature is not valid");
        // Taken before anything else is checked, so a challenge is answered at most once.
        let Some((issued_to, expires_at)) = state
            .store
            .take_auth_challenge(&data.challenge)
            .await
            .map_err(ApiError::from)?
        else {
            return Err(refused().into());
        };
        if issued_to != data.username || expires_at <= state.now() {
            return Err(refused().into());
        }
        let username: Name = data.username.parse().map_err(|_| refused())?;
        let synced = state
            .store
            .cursor()
            .await
            .map_err(ApiError::from)?
            .map_or(0, |cursor| cursor.block_num);
        let keys = ChainKeys::load(&state.store, &state.contracts, &[username], synced)
            .await
            .map_err(ApiError::from)?
            .active_keys_at(username, synced);
        if challenge::verify(&data.challenge, &data.signature, &keys).is_err() {
            tracing::info!("login refused: the signature does not match the account's key");
            return Err(refused().into());
        }
        let role = role_now(state, username).await?;
        let (tokens, stored) = new_tokens(state, &data.username)?;
        state
            .store
            .put_refresh_token(&stored)
            .await
            .map_err(ApiError::from)?;
        Ok(LoginResult {
            account: SessionAccount {
                username: data.username,
                role: role.as_str().to_owned(),
            },
            tokens,
        })
    }

    /// Spends a refresh token for a new pair. A spent token presented again ends its login.
    async fn refresh(
        &self,
        ctx: &Context<'_>,
        data: RefreshInput,
    ) -> async_graphql::Result<RefreshResult> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let presented = refresh_token_hash(&data.refresh_token);
        let now = state.now();
        let next_token = new_refresh_token();
        // The store takes the family and the account from the presented token.
        let next = NewRefreshToken {
            token_hash: refresh_token_hash(&next_token),
            family: presented,
            username: String::new(),
            issued_at: now,
            expires_at: now.saturating_add(ttl_secs(state.config.refresh_ttl)),
        };
        let rotation = state
            .store
            .rotate_refresh_token(&presented, &next, now)
            .await
            .map_err(ApiError::from)?;
        let username = match rotation {
            Rotation::Rotated { username } => username,
            Rotation::Replayed => {
                tracing::warn!("a spent refresh token was presented again; its login is revoked");
                return Err(ApiError::Unauthenticated("the refresh token is not valid").into());
            }
            Rotation::Unknown | Rotation::Expired | Rotation::Revoked => {
                return Err(ApiError::Unauthenticated("the refresh token is not valid").into());
            }
        };
        let access_ttl = ttl_secs(state.config.access_ttl);
        let access = token::issue_access(
            &state.config.jwt_secret,
            &state.coopname.to_string(),
            &username,
            now,
            access_ttl,
        )
        .map_err(ApiError::internal)?;
        Ok(RefreshResult {
            tokens: Tokens {
                access: Token {
                    token: access,
                    expires: now.saturating_add(access_ttl),
                },
                refresh: Token {
                    token: next_token,
                    expires: next.expires_at,
                },
            },
        })
    }

    /// Ends the login the refresh token belongs to: every refresh token of it is revoked.
    /// Access tokens already issued run out within minutes.
    async fn logout(&self, ctx: &Context<'_>, data: LogoutInput) -> async_graphql::Result<bool> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let known = state
            .store
            .revoke_refresh_family(&refresh_token_hash(&data.refresh_token), state.now())
            .await
            .map_err(ApiError::from)?;
        if known {
            Ok(true)
        } else {
            Err(ApiError::Unauthenticated("the refresh token is not valid").into())
        }
    }
}
