//! The council: `getAgenda`, its decisions as of a block with votes attributed to the seats of
//! that block, and their stage.

use async_graphql::{Context, InputObject, Json, Object, SimpleObject};

use super::ApiState;
use super::error::ApiError;
use super::paging::{PageInput, Paged, as_of};
use super::policy::admit;
use crate::registry::decisions::{self, DecisionFilter};

/// One vote.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct Vote {
    /// The voter.
    pub username: String,
    /// The voter's seat at the block (`chairman`, `member`), absent when the voter holds none.
    pub position: Option<String>,
}

/// One decision as of a block.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct Decision {
    /// Its id.
    pub id: u64,
    /// The account it is about.
    pub username: Option<String>,
    /// Its type (`joincoop`, `freedecision`, …).
    pub kind: Option<String>,
    /// `voting`, `approved`, `authorized`, `executed`, `declined` or `expired`.
    pub stage: String,
    /// Votes for.
    pub votes_for: Vec<Vote>,
    /// Votes against.
    pub votes_against: Vec<Vote>,
    /// Who authorized it.
    pub authorized_by: Option<String>,
    /// Hash of the statement (lowercase).
    pub statement_hash: Option<String>,
    /// Creation time, seconds since 1970.
    pub created_at: Option<i64>,
    /// Expiry time, seconds since 1970.
    pub expired_at: Option<i64>,
    /// First block of this version.
    pub block_num: u32,
    /// The `soviet::decisions` row.
    pub row: Json<serde_json::Value>,
}

impl From<decisions::Vote> for Vote {
    fn from(vote: decisions::Vote) -> Self {
        Self {
            username: vote.username,
            position: vote.position,
        }
    }
}

impl From<decisions::Decision> for Decision {
    fn from(decision: decisions::Decision) -> Self {
        Self {
            id: decision.id,
            username: decision.username,
            kind: decision.kind,
            stage: decision.stage,
            votes_for: decision.votes_for.into_iter().map(Vote::from).collect(),
            votes_against: decision.votes_against.into_iter().map(Vote::from).collect(),
            authorized_by: decision.authorized_by,
            statement_hash: decision.statement_hash,
            created_at: decision.created_at,
            expired_at: decision.expired_at,
            block_num: decision.block_num,
            row: Json(decision.row),
        }
    }
}

/// Which decisions to list.
#[derive(Debug, Clone, Default, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct AgendaFilter {
    /// Only decisions at this stage.
    pub stage: Option<String>,
    /// Only decisions of this type.
    pub kind: Option<String>,
    /// Only decisions about this account.
    pub username: Option<String>,
}

#[derive(Default)]
pub struct CouncilQuery;

#[Object]
impl CouncilQuery {
    /// The council's decisions as of `block`, by id: the council and the chairman.
    async fn get_agenda(
        &self,
        ctx: &Context<'_>,
        filter: Option<AgendaFilter>,
        page: Option<PageInput>,
        block: Option<u32>,
    ) -> async_graphql::Result<Paged<Decision>> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let block_num = as_of(state, block).await?;
        let filter = filter.unwrap_or_default();
        let page = decisions::list(
            &state.store,
            &state.coopname.to_string(),
            block_num,
            &DecisionFilter {
                stage: filter.stage,
                kind: filter.kind,
                username: filter.username,
            },
            &PageInput::request(page),
        )
        .await
        .map_err(ApiError::from)?;
        Ok(Paged::from_page(page, block_num))
    }
}
