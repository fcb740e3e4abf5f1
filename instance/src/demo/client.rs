//! A member's client, as the demo drives it: it holds the member's key, signs challenges,
//! documents and votes itself, and reaches the instance only through the SDK.

use anyhow::{Context as _, anyhow};
use mono_sdk::Client;
use mono_sdk::operations::{AuthChallenge, Login, auth_challenge, login};
use sha2::{Digest as _, Sha256};

use crate::antelope::document::{signed_hash, vote_digest};
use crate::antelope::keys::PrivateKey;
use crate::antelope::name::Name;
use crate::antelope::time::TimePointSec;
use crate::chain::api::ChainApi;

/// One account's client.
#[derive(Clone)]
pub struct Member {
    /// The account.
    pub username: Name,
    /// Its private key, which only this client uses.
    pub key: PrivateKey,
}

/// A signature of a document's hash, as both operations' inputs spell it.
pub struct DocumentSignature {
    /// The document's hash.
    pub hash: String,
    /// When it was signed (the chain's head time).
    pub signed_at: String,
    /// `SIG_K1_…` over sha256(`hash` + `signed_at`).
    pub signature: String,
    /// The signing key.
    pub public_key: String,
}

/// A council member's signed vote.
pub struct SignedVote {
    /// The decision.
    pub decision_id: i64,
    /// When it was signed (the chain's head time).
    pub signed_at: String,
    /// `SIG_K1_…` over the digest `soviet` checks.
    pub signature: String,
}

/// The chain's head block time, which signatures carry as their time.
pub async fn head_time(chain: &ChainApi) -> anyhow::Result<TimePointSec> {
    let info = chain.get_info().await.context("reading the chain's head")?;
    let secs = u32::try_from(info.head_block_time.as_micros() / 1_000_000)
        .map_err(|_| anyhow!("head block time {} is out of range", info.head_block_time))?;
    Ok(TimePointSec::from_secs(secs))
}

impl Member {
    /// Logs in by signing the server's challenge; returns the client acting as this account.
    pub async fn login(&self, api: &Client) -> anyhow::Result<Client> {
        let challenge = api
            .run::<AuthChallenge>(auth_challenge::Variables {
                username: self.username.to_string(),
            })
            .await
            .with_context(|| format!("asking a challenge for {}", self.username))?
            .auth_challenge;
        let digest: [u8; 32] = Sha256::digest(challenge.as_bytes()).into();
        let signature = self.key.sign_digest(&digest)?.to_string();
        let answer = api
            .run::<Login>(login::Variables {
                data: login::LoginInput {
                    username: self.username.to_string(),
                    challenge,
                    signature,
                },
            })
            .await
            .with_context(|| format!("logging {} in", self.username))?;
        Ok(api.with_token(&answer.login.tokens.access.token))
    }

    /// Signs the document `hash` at the chain's head time.
    pub async fn sign_document(
        &self,
        chain: &ChainApi,
        hash: &str,
    ) -> anyhow::Result<DocumentSignature> {
        let signed_at = head_time(chain).await?;
        let mut digest = [0_u8; 32];
        hex::decode_to_slice(signed_hash(hash, signed_at), &mut digest)
            .context("a document digest is SHA-256 hex")?;
        Ok(DocumentSignature {
            hash: hash.to_owned(),
            signed_at: signed_at.to_string(),
            signature: self.key.sign_digest(&digest)?.to_string(),
            public_key: self.key.public_key().to_string(),
        })
    }

    /// A vote (`votefor` or `voteagainst`) on `decision_id`, signed as `soviet` checks it.
    pub async fn vote(
        &self,
        chain: &ChainApi,
        action: Name,
        coopname: Name,
        decision_id: u64,
    ) -> anyhow::Result<SignedVote> {
        let signed_at = head_time(chain).await?;
        let digest = vote_digest(action, coopname, decision_id, signed_at);
        Ok(SignedVote {
            decision_id: i64::try_from(decision_id).context("a decision id")?,
            signed_at: signed_at.to_string(),
            signature: self.key.sign_digest(digest.as_bytes())?.to_string(),
        })
    }
}
