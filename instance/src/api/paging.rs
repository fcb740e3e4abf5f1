//! What registry queries share: the block they answer as of, and cursor pages.

use async_graphql::{InputObject, OutputType, SimpleObject};

use super::ApiState;
use super::error::ApiError;
use crate::registry::{MAX_PAGE, Page, PageRequest};

/// Which page of a list to read.
#[derive(Debug, Clone, Default, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct PageInput {
    /// The `next` cursor of the previous page; absent for the first page.
    pub after: Option<String>,
    /// How many items, at most 500 (the default).
    pub limit: Option<u32>,
    /// Largest keys first.
    #[graphql(default)]
    pub descending: bool,
}

impl PageInput {
    /// The registry's page request.
    pub fn request(page: Option<Self>) -> PageRequest {
        let page = page.unwrap_or_default();
        PageRequest {
            after: page.after,
            limit: page.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE),
            descending: page.descending,
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
#[graphql(concrete(name = "AccountsPage", params(super::accounts::Account)))]
#[graphql(concrete(name = "DocumentsPage", params(super::documents::Document)))]
#[graphql(concrete(name = "DecisionsPage", params(super::council::Decision)))]
#[graphql(concrete(name = "BranchesPage", params(super::branches::Branch)))]
#[graphql(concrete(name = "PaymentsPage", params(super::payments::Payment)))]
#[graphql(concrete(
    name = "PaymentMethodsPage",
    params(super::payment_methods::PaymentMethod)
))]
pub struct Paged<T: OutputType> {
    /// The items, in key order.
    pub items: Vec<T>,
    /// The cursor of the next page, absent on the last page.
    pub next: Option<String>,
    /// The block the page is as of.
    pub block_num: u32,
}

impl<T: OutputType> Paged<T> {
    /// A registry page as of `block_num`, its items converted.
    pub fn from_page<U>(page: Page<U>, block_num: u32) -> Self
    where
        T: From<U>,
    {
        Self {
            items: page.items.into_iter().map(T::from).collect(),
            next: page.next,
            block_num,
        }
    }
}

/// The block a query answers as of: `block` when given (it must be synced), else the last
/// synced block.
///
/// # Errors
/// [`ApiError::BadInput`] for a block not synced yet; [`ApiError::Internal`] when the store
/// fails.
pub async fn as_of(state: &ApiState, block: Option<u32>) -> Result<u32, ApiError> {
    let synced = state
        .store
        .cursor()
        .await?
        .map_or(0, |cursor| cursor.block_num);
    match block {
        None => Ok(synced),
        Some(block) if block <= synced => Ok(block),
        Some(block) => Err(ApiError::bad_input(format!(
            "block {block} is not synced yet: the instance is at block {synced}"
        ))),
    }
}
