//! Free decisions: a question the council decides that no other contract acts on.
//! `createProjectOfFreeDecision` keeps the project (question and proposed decision) privately,
//! `generateProjectOfFreeDecision` makes the project document 599 for its author to sign,
//! `publishProjectOfFreeDecision` files the signed project with `soviet::freedecision`, which
//! puts it on the council's agenda, and `generateFreeDecision` makes the protocol 600 of the
//! voted decision for the chairman to sign; votes, `authorizeDecision` and `execDecision` are
//! the council's as for any decision.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use rand_core::RngCore as _;
use serde_json::json;

use super::ApiState;
use super::accounts::{prepare_record, store_record};
use super::error::ApiError;
use super::paging::as_of;
use super::policy::admit;
use super::signing::{self, GeneratedDocument, SignedDocumentInput};
use super::transactions::{TransactionResult, push};
use crate::antelope::name::Name;
use crate::chain::push::JsonAction;
use crate::factory::store as kept;
use crate::private_data::cooperative::Project;
use crate::registry::decisions;

const SOVIET: Name = Name::from_str_const("soviet");
const FREEDECISION: Name = Name::from_str_const("freedecision");
/// The registry id of a project of a free decision.
pub(super) const PROJECT_FREE_DECISION: u64 = 599;
/// The registry id of the protocol of a free decision.
pub(super) const FREE_DECISION: u64 = 600;

/// The question and the decision proposed.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CreateProjectInput {
    /// The question put to the council.
    pub question: String,
    /// The decision proposed.
    pub decision: String,
}

/// A kept project of a free decision.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ProjectOfFreeDecision {
    /// The project's id, which its documents name.
    pub id: String,
    /// The question.
    pub question: String,
    /// The decision proposed.
    pub decision: String,
    /// The first block the project is kept from.
    pub block_num: u32,
}

/// The project to make the document of.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GenerateProjectInput {
    /// The project's id.
    pub project_id: String,
}

/// The signed project to put on the agenda.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct PublishProjectInput {
    /// The project document (599), signed by its author (the caller).
    pub document: SignedDocumentInput,
    /// Free text the agenda item carries.
    pub meta: Option<String>,
}

/// The voted decision to make the protocol of.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GenerateFreeDecisionInput {
    /// The decision on the agenda.
    pub decision_id: u64,
}

#[derive(Default)]
pub struct FreeDecisionsMutation;

#[Object]
impl FreeDecisionsMutation {
    /// Keeps a project of a free decision under a new id: a member.
    async fn create_project_of_free_decision(
        &self,
        ctx: &Context<'_>,
        data: CreateProjectInput,
    ) -> async_graphql::Result<ProjectOfFreeDecision> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let mut id = [0_u8; 8];
        rand_core::OsRng.fill_bytes(&mut id);
        let project = json!({
            "coopname": state.coopname,
            "id": hex::encode(id),
            "question": data.question,
            "decision": data.decision,
        });
        let record = prepare_record::<Project>(&state.coopname.to_string(), project)?;
        let stored = store_record(state, record).await?;
        let project: Project = serde_json::from_value(stored.data.0).map_err(ApiError::internal)?;
        Ok(ProjectOfFreeDecision {
            id: project.id,
            question: project.question,
            decision: project.decision,
            block_num: stored.valid_from_block,
        })
    }

    /// The project document (599) of a kept project, authored by the caller, for the caller to
    /// sign: a member.
    async fn generate_project_of_free_decision(
        &self,
        ctx: &Context<'_>,
        data: GenerateProjectInput,
    ) -> async_graphql::Result<GeneratedDocument> {
        let author = admit(ctx, None)?.username().ok_or(ApiError::Forbidden)?;
        let state = ctx.data::<ApiState>()?;
        let scalars = json!({"project_id": data.project_id});
        Ok(signing::generate(state, PROJECT_FREE_DECISION, &author.to_string(), scalars).await?)
    }

    /// Files the caller's signed project with `soviet::freedecision`: the signature is checked
    /// against the caller's key on chain, and the project goes on the council's agenda. A
    /// member.
    async fn publish_project_of_free_decision(
        &self,
        ctx: &Context<'_>,
        data: PublishProjectInput,
    ) -> async_graphql::Result<TransactionResult> {
        let author = admit(ctx, None)?.username().ok_or(ApiError::Forbidden)?;
        let state = ctx.data::<ApiState>()?;
        let checked = signing::check_signed_by(
            state,
            &data.document,
            PROJECT_FREE_DECISION,
            &author.to_string(),
            author,
        )
        .await?;
        let document = checked.document()?;
        checked.keep(state).await?;
        let pushed = push(
            state,
            &[JsonAction::new(
                SOVIET,
                FREEDECISION,
                json!({"coopname": state.coopname, "username": author, "document": document,
                       "meta": data.meta.unwrap_or_default()}),
            )],
        )
        .await?;
        Ok(pushed.into())
    }

    /// The protocol (600) of a free decision with the votes as of the synced block, for the
    /// chairman to sign and authorize with `authorizeDecision`.
    async fn generate_free_decision(
        &self,
        ctx: &Context<'_>,
        data: GenerateFreeDecisionInput,
    ) -> async_graphql::Result<GeneratedDocument> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let block_num = as_of(state, None).await?;
        let coopname = state.coopname.to_string();
        let decision = decisions::get(&state.store, &coopname, block_num, data.decision_id)
            .await
            .map_err(ApiError::from)?
            .ok_or(ApiError::NotFound("decision"))?;
        if decision.kind.as_deref() != Some("freedecision") {
            return Err(ApiError::bad_input(format!(
                "decision {} is not a free decision",
                data.decision_id
            ))
            .into());
        }
        // The project the protocol prints is the one the agenda item's document names.
        let project = match &decision.statement_hash {
            Some(hash) => kept::kept(&state.store, hash, block_num).await?,
            None => None,
        }
        .ok_or(ApiError::NotFound("the project document of the decision"))?;
        let username = decision.username.unwrap_or_default();
        let scalars = json!({
            "decision_id": data.decision_id,
            "project_id": project.meta["project_id"],
        });
        Ok(signing::generate(state, FREE_DECISION, &username, scalars).await?)
    }
}
