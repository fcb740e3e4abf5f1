//! Key reset by a one-time e-mailed token: `startResetKey` sends a token to the address an
//! account registered with, `resetKey` spends it to replace the account's key.
//!
//! `startResetKey` answers `true` whether or not the address belongs to anyone (and when the
//! message cannot be sent), so it tells nothing about who is registered; it is rate limited
//! per address and per client. The token is 32 random bytes, stored only as its SHA-256, lives
//! [`super::ApiConfig::key_reset_ttl`] and works once. `resetKey` pushes
//! `registrator::changekey` signed by the cooperative, which sets the account's active key on
//! chain; logins check that key once the follower stored the block. It also revokes every
//! refresh token of the account, so whoever held the old key loses its sessions.

use async_graphql::{Context, InputObject, Object};
use serde_json::json;

use super::ApiState;
use super::error::ApiError;
use super::participants::public_key_field;
use super::policy::admit;
use super::session::rate_limit;
use super::token::{new_refresh_token, refresh_token_hash};
use super::transactions::{TransactionResult, push};
use crate::antelope::name::Name;
use crate::chain::push::JsonAction;
use crate::mail::Mail;
use crate::store::KeyReset;

const REGISTRATOR: Name = Name::from_str_const("registrator");
const CHANGEKEY: Name = Name::from_str_const("changekey");

/// Whom to send a reset token.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct StartResetKeyInput {
    /// The e-mail address the account registered with.
    pub email: String,
}

/// A reset token and the new key.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ResetKeyInput {
    /// The token from the e-mail.
    pub token: String,
    /// The account's new public key (`PUB_K1_…`).
    pub public_key: String,
}

fn reset_mail(state: &ApiState, email: &str, username: &str, token: &str) -> Mail {
    let minutes = state.config.key_reset_ttl.as_secs() / 60;
    Mail {
        to: email.to_owned(),
        subject: "Восстановление доступа к кооперативу".to_owned(),
        body: format!(
            "Здравствуйте!\n\n\
             Для аккаунта {username} в кооперативе {coopname} запрошена замена ключа доступа.\n\
             Код для замены ключа (действует {minutes} минут, один раз):\n\n{token}\n\n\
             Если вы не запрашивали замену, просто не используйте этот код.\n",
            coopname = state.coopname,
        ),
    }
}

/// A fresh one-time token that sets `username`'s key with `resetKey`, stored as its hash and
/// valid for [`super::ApiConfig::key_reset_ttl`]; the caller sends it.
pub(super) async fn issue_token(state: &ApiState, username: &str) -> Result<String, ApiError> {
    let now = state.now();
    let token = new_refresh_token();
    let expires_at =
        now.saturating_add(i64::try_from(state.config.key_reset_ttl.as_secs()).unwrap_or(i64::MAX));
    state
        .store
        .put_key_reset(&refresh_token_hash(&token), username, expires_at, now)
        .await?;
    Ok(token)
}

#[derive(Default)]
pub struct KeyResetMutation;

#[Object]
impl KeyResetMutation {
    /// Sends a one-time key reset token to `email` if an account registered with it; answers
    /// `true` either way.
    async fn start_reset_key(
        &self,
        ctx: &Context<'_>,
        data: StartResetKeyInput,
    ) -> async_graphql::Result<bool> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let mailer = state
            .mailer
            .as_ref()
            .ok_or(ApiError::Unavailable("this instance sends no e-mail"))?;
        let email = data.email.trim().to_lowercase();
        rate_limit(ctx, state, &format!("reset:{email}"))?;
        let Some(username) = state
            .store
            .username_by_email(&email)
            .await
            .map_err(ApiError::from)?
        else {
            return Ok(true);
        };
        let token = issue_token(state, &username).await?;
        if let Err(err) = mailer
            .send(&reset_mail(state, &email, &username, &token))
            .await
        {
            // Logged without the address or the token; the answer stays the same.
            tracing::error!(error = %err, "the key reset e-mail was not sent");
        }
        Ok(true)
    }

    /// Spends a key reset token to set the account's key to `public_key`, through
    /// `registrator::changekey` signed by the cooperative; ends the account's sessions.
    async fn reset_key(
        &self,
        ctx: &Context<'_>,
        data: ResetKeyInput,
    ) -> async_graphql::Result<TransactionResult> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let public_key = public_key_field(&data.public_key)?;
        if state.cooperative.is_none() {
            return Err(ApiError::Unavailable(
                "this instance has no key to sign the cooperative's transactions",
            )
            .into());
        }
        let spent = state
            .store
            .spend_key_reset(&refresh_token_hash(data.token.trim()), state.now())
            .await
            .map_err(ApiError::from)?;
        let KeyReset::Spent { username } = spent else {
            tracing::info!(outcome = ?spent, "key reset refused");
            return Err(ApiError::Unauthenticated("the reset token is not valid").into());
        };
        let pushed = push(
            state,
            &[JsonAction::new(
                REGISTRATOR,
                CHANGEKEY,
                json!({
                    "coopname": state.coopname,
                    "changer": state.coopname,
                    "username": username,
                    "public_key": public_key.to_string(),
                }),
            )],
        )
        .await?;
        state
            .store
            .revoke_refresh_tokens_of(&username)
            .await
            .map_err(ApiError::from)?;
        tracing::info!(account = username, "key reset");
        Ok(pushed.into())
    }
}
