//! Branches: `getBranches`, the cooperative's branches with their trustees as of a block; the
//! chairman's `createBranch`, `editBranch`, `deleteBranch`, `addTrustedAccount` and
//! `deleteTrustedAccount` (the cooperative's pushes to the `branch` contract, with the
//! branch's organization record kept privately for its documents); a shareholder's
//! `generateSelectBranchDocument` (statement 101) and `selectBranch` (the signed statement
//! filed with `soviet::selectbranch`).

use async_graphql::{Context, InputObject, Json, Object, SimpleObject};
use serde_json::{Value, json};

use super::ApiState;
use super::accounts::{account_names, prepare_record, store_record};
use super::error::ApiError;
use super::paging::{PageInput, Paged, as_of};
use super::policy::admit;
use super::signing::{self, GeneratedDocument, SignedDocumentInput};
use super::transactions::{TransactionResult, push};
use crate::antelope::name::Name;
use crate::chain::push::JsonAction;
use crate::private_data::records::{Organization, PrivateRecord};
use crate::private_data::{FieldError, Invalid};
use crate::registry::branches;

const BRANCH: Name = Name::from_str_const("branch");
const SOVIET: Name = Name::from_str_const("soviet");
const CREATEBRANCH: Name = Name::from_str_const("createbranch");
const EDITBRANCH: Name = Name::from_str_const("editbranch");
const DELETEBRANCH: Name = Name::from_str_const("deletebranch");
const ADDTRUSTED: Name = Name::from_str_const("addtrusted");
const DELTRUSTED: Name = Name::from_str_const("deltrusted");
const SELECTBRANCH: Name = Name::from_str_const("selectbranch");
const SELECT_BRANCH_STATEMENT: u64 = 101;

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

/// A branch and its trustee.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct BranchInput {
    /// The branch's account.
    pub braname: String,
    /// Its trustee, a shareholder.
    pub trustee: String,
    /// The branch's organization record (the fields of `updateAccount`'s `organization_data`),
    /// which its documents print; required to create a branch, kept as it was when absent on
    /// an edit.
    pub organization_data: Option<Json<Value>>,
}

/// A branch to delete.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct DeleteBranchInput {
    /// The branch's account.
    pub braname: String,
}

/// A trusted account of a branch.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct TrustedAccountInput {
    /// The branch's account.
    pub braname: String,
    /// The trusted shareholder.
    pub trusted: String,
}

/// Whose statement of a branch choice to generate.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GenerateSelectBranchInput {
    /// The shareholder.
    pub username: String,
    /// The branch it chooses.
    pub braname: String,
}

/// A shareholder's signed choice of a branch.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct SelectBranchInput {
    /// The shareholder.
    pub username: String,
    /// The branch it chooses.
    pub braname: String,
    /// The statement (101), signed by the shareholder.
    pub document: SignedDocumentInput,
}

#[derive(Default)]
pub struct BranchesMutation;

#[Object]
impl BranchesMutation {
    /// Opens a branch with its trustee and keeps its organization record: the chairman.
    async fn create_branch(
        &self,
        ctx: &Context<'_>,
        data: BranchInput,
    ) -> async_graphql::Result<TransactionResult> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let Some(Json(organization)) = data.organization_data.clone() else {
            let missing = FieldError {
                field: "organization_data".to_owned(),
                reason: Invalid::Missing,
            };
            return Err(ApiError::from(vec![missing]).into());
        };
        Ok(trustee_change(state, CREATEBRANCH, &data, Some(organization)).await?)
    }

    /// Replaces a branch's trustee, and its organization record when given: the chairman.
    async fn edit_branch(
        &self,
        ctx: &Context<'_>,
        data: BranchInput,
    ) -> async_graphql::Result<TransactionResult> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let organization = data.organization_data.clone().map(|Json(value)| value);
        Ok(trustee_change(state, EDITBRANCH, &data, organization).await?)
    }

    /// Removes a branch; its organization record closes, so documents made before still
    /// regenerate: the chairman.
    async fn delete_branch(
        &self,
        ctx: &Context<'_>,
        data: DeleteBranchInput,
    ) -> async_graphql::Result<TransactionResult> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let [braname] = account_names([("braname", &data.braname)])?;
        let pushed = push(
            state,
            &[JsonAction::new(
                BRANCH,
                DELETEBRANCH,
                json!({"coopname": state.coopname, "braname": braname}),
            )],
        )
        .await?;
        state
            .store
            .delete_private_next(Organization::KIND, &braname.to_string())
            .await
            .map_err(ApiError::from)?;
        Ok(pushed.into())
    }

    /// Adds a trusted shareholder to a branch: the chairman.
    async fn add_trusted_account(
        &self,
        ctx: &Context<'_>,
        data: TrustedAccountInput,
    ) -> async_graphql::Result<TransactionResult> {
        trusted_change(ctx, ADDTRUSTED, &data).await
    }

    /// Removes a trusted shareholder from a branch: the chairman.
    async fn delete_trusted_account(
        &self,
        ctx: &Context<'_>,
        data: TrustedAccountInput,
    ) -> async_graphql::Result<TransactionResult> {
        trusted_change(ctx, DELTRUSTED, &data).await
    }

    /// The statement of a branch choice (101) for the shareholder to sign: the shareholder
    /// itself, the council.
    async fn generate_select_branch_document(
        &self,
        ctx: &Context<'_>,
        data: GenerateSelectBranchInput,
    ) -> async_graphql::Result<GeneratedDocument> {
        admit(ctx, Some(&data.username))?;
        let state = ctx.data::<ApiState>()?;
        let [_, braname] =
            account_names([("username", &data.username), ("braname", &data.braname)])?;
        let block_num = as_of(state, None).await?;
        let kind = signing::applicant_kind(state, &data.username, block_num).await?;
        let scalars = json!({"type": kind, "braname": braname});
        Ok(signing::generate(state, SELECT_BRANCH_STATEMENT, &data.username, scalars).await?)
    }

    /// Files a shareholder's signed statement of a branch choice: its signature is checked
    /// against the shareholder's key on chain, and `soviet::selectbranch` records the choice.
    /// The shareholder itself, the chairman.
    async fn select_branch(
        &self,
        ctx: &Context<'_>,
        data: SelectBranchInput,
    ) -> async_graphql::Result<TransactionResult> {
        admit(ctx, Some(&data.username))?;
        let state = ctx.data::<ApiState>()?;
        let [username, braname] =
            account_names([("username", &data.username), ("braname", &data.braname)])?;
        let checked = signing::check_signed_by(
            state,
            &data.document,
            SELECT_BRANCH_STATEMENT,
            &data.username,
            username,
        )
        .await?;
        if checked.record.meta["braname"] != braname.to_string() {
            return Err(ApiError::bad_input("the statement names another branch").into());
        }
        let document = checked.document()?;
        checked.keep(state).await?;
        let pushed = push(
            state,
            &[JsonAction::new(
                SOVIET,
                SELECTBRANCH,
                json!({"coopname": state.coopname, "username": username, "braname": braname,
                       "document": document}),
            )],
        )
        .await?;
        Ok(pushed.into())
    }
}

/// Pushes `action` (`createbranch` or `editbranch`) naming the branch's trustee, then keeps
/// `organization` as the branch's record; every field is checked before the push.
async fn trustee_change(
    state: &ApiState,
    action: Name,
    data: &BranchInput,
    organization: Option<Value>,
) -> Result<TransactionResult, ApiError> {
    let [braname, trustee] =
        account_names([("braname", &data.braname), ("trustee", &data.trustee)])?;
    let record = organization
        .map(|value| prepare_record::<Organization>(&braname.to_string(), value))
        .transpose()?;
    let pushed = push(
        state,
        &[JsonAction::new(
            BRANCH,
            action,
            json!({"coopname": state.coopname, "braname": braname, "trustee": trustee}),
        )],
    )
    .await?;
    if let Some(record) = record {
        store_record(state, record).await?;
    }
    Ok(pushed.into())
}

/// Pushes `action` (`addtrusted` or `deltrusted`) for `data`, once the chairman is admitted.
async fn trusted_change(
    ctx: &Context<'_>,
    action: Name,
    data: &TrustedAccountInput,
) -> async_graphql::Result<TransactionResult> {
    admit(ctx, None)?;
    let state = ctx.data::<ApiState>()?;
    let [braname, trusted] =
        account_names([("braname", &data.braname), ("trusted", &data.trusted)])?;
    let pushed = push(
        state,
        &[JsonAction::new(
            BRANCH,
            action,
            json!({"coopname": state.coopname, "braname": braname, "trusted": trusted}),
        )],
    )
    .await?;
    Ok(pushed.into())
}
