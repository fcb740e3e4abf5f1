//! The council's decisions on chain: `voteFor` and `voteAgainst` (a council member's vote,
//! signed in the client and relayed by the cooperative), `generateParticipantApplicationDecision`
//! (the decision document 501 the chairman signs), `authorizeDecision` (the signed decision
//! document, 501 or a free decision's 600, filed with `soviet::authorize`) and `execDecision` (`soviet::exec`, which admits the member).
//!
//! A vote carries its own proof: the member signs the digest `soviet` defines,
//! sha256(`<votefor|voteagainst>:<coopname>:<decision_id>:<signed_at seconds>`), the contract
//! recovers the member's key from it, and the cooperative only carries the action; the
//! member's private key never reaches the server.

use async_graphql::{Context, InputObject, Object};
use serde_json::json;

use super::ApiState;
use super::error::ApiError;
use super::free_decisions::FREE_DECISION;
use super::paging::as_of;
use super::policy::admit;
use super::signing::{self, GeneratedDocument, SignedDocumentInput};
use super::transactions::{TransactionResult, push};
use crate::antelope::document::vote_digest;
use crate::antelope::name::Name;
use crate::antelope::signature::Signature;
use crate::antelope::time::TimePointSec;
use crate::chain::push::JsonAction;
use crate::factory::keys::ChainKeys;
use crate::registry::decisions;

const SOVIET: Name = Name::from_str_const("soviet");
const VOTEFOR: Name = Name::from_str_const("votefor");
const VOTEAGAINST: Name = Name::from_str_const("voteagainst");
const AUTHORIZE: Name = Name::from_str_const("authorize");
const EXEC: Name = Name::from_str_const("exec");
const DECISION_OF_PARTICIPANT_APPLICATION: u64 = 501;
/// The version of the vote the contract accepts.
const VOTE_VERSION: &str = "1.0.0";

/// A council member's signed vote.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct VoteInput {
    /// The decision.
    pub decision_id: u64,
    /// When the member signed (`2026-01-02T03:04:05`, UTC).
    pub signed_at: String,
    /// `SIG_K1_…` over the vote's digest (see the module's documentation).
    pub signature: String,
}

/// The decision to generate the document of.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GenerateDecisionInput {
    /// The applicant.
    pub username: String,
    /// The decision on the application.
    pub decision_id: u64,
}

/// A decision and its document signed by the chairman.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct AuthorizeDecisionInput {
    /// The decision.
    pub decision_id: u64,
    /// The applicant the decision is about.
    pub username: String,
    /// The decision document (501 for an application, 600 for a free decision), signed by
    /// the chairman.
    pub document: SignedDocumentInput,
}

/// A decision to execute.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ExecDecisionInput {
    /// The decision.
    pub decision_id: u64,
}

#[derive(Default)]
pub struct DecisionsMutation;

#[Object]
impl DecisionsMutation {
    /// A council member's vote for a decision: the council.
    async fn vote_for(
        &self,
        ctx: &Context<'_>,
        data: VoteInput,
    ) -> async_graphql::Result<TransactionResult> {
        vote(ctx, VOTEFOR, data).await
    }

    /// A council member's vote against a decision: the council.
    async fn vote_against(
        &self,
        ctx: &Context<'_>,
        data: VoteInput,
    ) -> async_graphql::Result<TransactionResult> {
        vote(ctx, VOTEAGAINST, data).await
    }

    /// The decision on an application (501), with the votes as of the synced block, for the
    /// chairman to sign.
    async fn generate_participant_application_decision(
        &self,
        ctx: &Context<'_>,
        data: GenerateDecisionInput,
    ) -> async_graphql::Result<GeneratedDocument> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let block_num = as_of(state, None).await?;
        let kind = signing::applicant_kind(state, &data.username, block_num).await?;
        let scalars = json!({"type": kind, "decision_id": data.decision_id});
        Ok(signing::generate(
            state,
            DECISION_OF_PARTICIPANT_APPLICATION,
            &data.username,
            scalars,
        )
        .await?)
    }

    /// Authorizes an approved decision with the chairman's signed decision document.
    async fn authorize_decision(
        &self,
        ctx: &Context<'_>,
        data: AuthorizeDecisionInput,
    ) -> async_graphql::Result<TransactionResult> {
        let chairman = admit(ctx, None)?.username().ok_or(ApiError::Forbidden)?;
        let state = ctx.data::<ApiState>()?;
        let block_num = as_of(state, None).await?;
        let registry_id = decision_document(state, data.decision_id, block_num).await?;
        let checked =
            signing::check_signed_by(state, &data.document, registry_id, &data.username, chairman)
                .await?;
        if checked.record.meta["decision_id"].as_u64() != Some(data.decision_id) {
            return Err(ApiError::bad_input("the document is of another decision").into());
        }
        let document = checked.document()?;
        checked.keep(state).await?;
        let pushed = push(
            state,
            &[JsonAction::new(
                SOVIET,
                AUTHORIZE,
                json!({
                    "coopname": state.coopname,
                    "chairman": chairman,
                    "decision_id": data.decision_id,
                    "document": document,
                }),
            )],
        )
        .await?;
        Ok(pushed.into())
    }

    /// Executes an authorized decision; for an application, the applicant becomes a member.
    async fn exec_decision(
        &self,
        ctx: &Context<'_>,
        data: ExecDecisionInput,
    ) -> async_graphql::Result<TransactionResult> {
        let chairman = admit(ctx, None)?.username().ok_or(ApiError::Forbidden)?;
        let state = ctx.data::<ApiState>()?;
        let pushed = push(
            state,
            &[JsonAction::new(
                SOVIET,
                EXEC,
                json!({
                    "executer": chairman,
                    "coopname": state.coopname,
                    "decision_id": data.decision_id,
                }),
            )],
        )
        .await?;
        Ok(pushed.into())
    }
}

/// The registry id of the document that authorizes decision `decision_id`, by its type as of
/// `block_num`: 501 for an application, 600 for a free decision.
async fn decision_document(
    state: &ApiState,
    decision_id: u64,
    block_num: u32,
) -> Result<u64, ApiError> {
    let decision = decisions::get(
        &state.store,
        &state.coopname.to_string(),
        block_num,
        decision_id,
    )
    .await?
    .ok_or(ApiError::NotFound("decision"))?;
    match decision.kind.as_deref() {
        Some("joincoop") => Ok(DECISION_OF_PARTICIPANT_APPLICATION),
        Some("freedecision") => Ok(FREE_DECISION),
        other => Err(ApiError::bad_input(format!(
            "decisions of type {} are not authorized through this operation",
            other.unwrap_or("unknown")
        ))),
    }
}

/// Relays the caller's vote after checking that its signature is by one of the caller's keys,
/// so a wrong signature is a clear error rather than the contract's.
async fn vote(
    ctx: &Context<'_>,
    action: Name,
    data: VoteInput,
) -> async_graphql::Result<TransactionResult> {
    let member = admit(ctx, None)?.username().ok_or(ApiError::Forbidden)?;
    let state = ctx.data::<ApiState>()?;
    let signed_at: TimePointSec = data
        .signed_at
        .parse()
        .map_err(|_| ApiError::bad_input("signed_at is not a time"))?;
    let signature: Signature = data
        .signature
        .parse()
        .map_err(|_| ApiError::bad_input("signature is not a signature"))?;
    let digest = vote_digest(action, state.coopname, data.decision_id, signed_at);
    let public_key = signature
        .recover(digest.as_bytes())
        .map_err(|_| ApiError::bad_input("the signature does not verify"))?;
    let block_num = as_of(state, None).await?;
    let keys = ChainKeys::load(&state.store, &state.contracts, &[member], block_num)
        .await
        .map_err(ApiError::from)?;
    if !keys
        .keys_at(member, block_num)
        .is_some_and(|keys| keys.contains(&public_key))
    {
        return Err(
            ApiError::bad_input("the vote is not signed by the member's key on chain").into(),
        );
    }
    let pushed = push(
        state,
        &[JsonAction::new(
            SOVIET,
            action,
            json!({
                "version": VOTE_VERSION,
                "coopname": state.coopname,
                "username": member,
                "decision_id": data.decision_id,
                "signed_at": signed_at,
                "signed_hash": digest,
                "signature": signature,
                "public_key": public_key,
            }),
        )],
    )
    .await?;
    Ok(pushed.into())
}
