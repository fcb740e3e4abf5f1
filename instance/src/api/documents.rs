//! Documents: `getDocuments`, the signed documents actions carried, as of a block, with typed
//! filters only (no query operators from the client reach the store).

use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject};

use super::ApiState;
use super::error::ApiError;
use super::paging::{PageInput, Paged, as_of};
use super::policy::admit;
use crate::registry::documents::{self, DocumentFilter};

/// Where a document stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::registry::documents::DocumentStatus")]
pub enum DocumentState {
    /// Kept by the instance, not seen on chain.
    Pending,
    /// Carried by an action on chain.
    Accepted,
    /// Declined on chain.
    Rejected,
    /// Carried on chain in the package of a decision that expired undecided.
    Expired,
}

/// One document as of a block.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct Document {
    /// The document's hash (lowercase).
    pub hash: String,
    /// Where it stands.
    pub status: DocumentState,
    /// The package (decision hash) it belongs to.
    pub package: Option<String>,
    /// The account it is about.
    pub username: Option<String>,
    /// The accounts whose signatures it carries.
    pub signers: Vec<String>,
    /// The document as carried on chain (`version`, hashes, `meta`, `signatures`).
    pub document: Option<Json<serde_json::Value>>,
    /// The actions that carried it (`contract`, `action`, `field`, `global_sequence`,
    /// `block_num`), in chain order, then the contract rows that hold it (`contract`, `table`,
    /// `field`, `block_num`).
    pub occurrences: Json<serde_json::Value>,
    /// The full document the instance keeps, when it has it.
    pub stored: Option<Json<serde_json::Value>>,
}

impl From<documents::Document> for Document {
    fn from(document: documents::Document) -> Self {
        Self {
            hash: document.hash,
            status: DocumentState::from(document.status),
            package: document.package,
            username: document.username,
            signers: document.signers,
            document: document.document.map(Json),
            occurrences: Json(serde_json::to_value(&document.occurrences).unwrap_or_default()),
            stored: document.stored.map(Json),
        }
    }
}

/// Which documents to list.
#[derive(Debug, Clone, Default, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct DocumentsFilter {
    /// Only documents about this account (an account may list its own).
    pub username: Option<String>,
    /// Only documents of this package (a decision's hash).
    pub package: Option<String>,
}

#[derive(Default)]
pub struct DocumentsQuery;

#[Object]
impl DocumentsQuery {
    /// Documents as of `block`, by hash: an account's own (filter by its username), or any for
    /// the council and the chairman.
    async fn get_documents(
        &self,
        ctx: &Context<'_>,
        filter: Option<DocumentsFilter>,
        page: Option<PageInput>,
        block: Option<u32>,
    ) -> async_graphql::Result<Paged<Document>> {
        let filter = filter.unwrap_or_default();
        admit(ctx, filter.username.as_deref())?;
        let state = ctx.data::<ApiState>()?;
        let block_num = as_of(state, block).await?;
        let page = documents::list(
            &state.store,
            &state.coopname.to_string(),
            block_num,
            &DocumentFilter {
                package: filter.package,
                username: filter.username,
            },
            &PageInput::request(page),
        )
        .await
        .map_err(ApiError::from)?;
        Ok(Paged::from_page(page, block_num))
    }
}
