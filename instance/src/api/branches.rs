//! Branches: `getBranches`, the cooperative's branches with their trustees as of a block.

use async_graphql::{Context, Object, SimpleObject};

use super::ApiState;
use super::error::ApiError;
use super::paging::{PageInput, Paged, as_of};
use super::policy::admit;
use crate::registry::branches;

/// One branch as of a block.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct Branch {
    /// The branch's account.
    pub braname: String,
    /// Its trustee.
    pub trustee: Option<String>,
    /// The accounts the trustee trusts.
    pub trusted: Vec<String>,
    /// First block of this version.
    pub block_num: u32,
}

impl From<branches::Branch> for Branch {
    fn from(branch: branches::Branch) -> Self {
        Self {
            braname: branch.braname,
            trustee: branch.trustee,
            trusted: branch.trusted,
            block_num: branch.block_num,
        }
    }
}

#[derive(Default)]
pub struct BranchesQuery;

#[Object]
impl BranchesQuery {
    /// Branches as of `block`, by name; `trustee` keeps those it leads. Any registered account.
    async fn get_branches(
        &self,
        ctx: &Context<'_>,
        trustee: Option<String>,
        page: Option<PageInput>,
        block: Option<u32>,
    ) -> async_graphql::Result<Paged<Branch>> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let block_num = as_of(state, block).await?;
        let page = branches::list(
            &state.store,
            &state.coopname.to_string(),
            block_num,
            trustee.as_deref(),
            &PageInput::request(page),
        )
        .await
        .map_err(ApiError::from)?;
        Ok(Paged::from_page(page, block_num))
    }
}
