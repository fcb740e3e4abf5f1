//! Payment methods: `getPaymentMethods`, `createBankAccount`, `updateBankAccount` and
//! `deletePaymentMethod`, on the private store, for the method's owner and the chairman only.
//! A change takes effect from the block after the synced one; a deletion closes the method's
//! version and keeps its history.

use async_graphql::{Context, InputObject, Json, Object, SimpleObject};
use rand_core::RngCore;

use super::ApiState;
use super::accounts::{StoredRecord, put_record};
use super::error::ApiError;
use super::paging::{PageInput, Paged, as_of};
use super::policy::admit;
use crate::private_data::records::{PaymentMethod as MethodRecord, PrivateRecord};

/// One payment method as of a block.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct PaymentMethod {
    /// Whose method it is.
    pub username: String,
    /// Its id among the owner's methods.
    pub method_id: String,
    /// Whether it is the default.
    pub is_default: bool,
    /// `sbp` or `bank_transfer`.
    pub method_type: String,
    /// The details (`phone`, or the bank account's fields).
    pub data: Json<serde_json::Value>,
}

/// A bank's requisites.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct BankDetailsInput {
    /// BIK.
    pub bik: String,
    /// Correspondent account.
    pub corr: String,
    /// KPP.
    pub kpp: String,
}

/// A bank account to pay to or from.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct BankAccountInput {
    /// `RUB`.
    pub currency: String,
    /// A card number, when the account has one.
    pub card_number: Option<String>,
    /// The bank's name.
    pub bank_name: String,
    /// The account number.
    pub account_number: String,
    /// The bank's requisites.
    pub details: BankDetailsInput,
}

/// A new bank account of `username`.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CreateBankAccountInput {
    /// The owner.
    pub username: String,
    /// Whether it becomes the default method.
    #[graphql(default)]
    pub is_default: bool,
    /// The account.
    pub data: BankAccountInput,
}

/// New details of an existing bank account.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct UpdateBankAccountInput {
    /// The owner.
    pub username: String,
    /// The method's id.
    pub method_id: String,
    /// Whether it is the default method.
    #[graphql(default)]
    pub is_default: bool,
    /// The account.
    pub data: BankAccountInput,
}

/// Which method to delete.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct DeletePaymentMethodInput {
    /// The owner.
    pub username: String,
    /// The method's id.
    pub method_id: String,
}

fn method_value(is_default: bool, method_id: &str, data: BankAccountInput) -> serde_json::Value {
    serde_json::json!({
        "method_id": method_id,
        "is_default": is_default,
        "method_type": "bank_transfer",
        "data": {
            "currency": data.currency,
            "card_number": data.card_number,
            "bank_name": data.bank_name,
            "account_number": data.account_number,
            "details": {"bik": data.details.bik, "corr": data.details.corr, "kpp": data.details.kpp},
        },
    })
}

fn method_from_value(value: serde_json::Value) -> Result<PaymentMethod, ApiError> {
    let record: MethodRecord = serde_json::from_value(value).map_err(ApiError::internal)?;
    let as_stored = serde_json::to_value(&record).map_err(ApiError::internal)?;
    Ok(PaymentMethod {
        username: record.username,
        method_id: record.method_id,
        is_default: record.is_default,
        method_type: as_stored["method_type"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        data: Json(as_stored["data"].clone()),
    })
}

#[derive(Default)]
pub struct PaymentMethodsQuery;

#[Object]
impl PaymentMethodsQuery {
    /// The payment methods of `username` as of `block`: the owner and the chairman.
    async fn get_payment_methods(
        &self,
        ctx: &Context<'_>,
        username: String,
        page: Option<PageInput>,
        block: Option<u32>,
    ) -> async_graphql::Result<Paged<PaymentMethod>> {
        admit(ctx, Some(&username))?;
        let state = ctx.data::<ApiState>()?;
        let block_num = as_of(state, block).await?;
        let request = PageInput::request(page);
        let prefix = format!("{username}/");
        // Keys are `username/method_id`, so one owner's methods are contiguous after the
        // prefix; the page cursor is the method id.
        let after = match &request.after {
            Some(method_id) => format!("{prefix}{method_id}"),
            None => prefix.clone(),
        };
        let versions = state
            .store
            .private_list_at(MethodRecord::KIND, block_num, Some(&after), request.limit)
            .await?;
        let read = versions.len();
        let mut items = Vec::new();
        for version in versions {
            if !version.key.starts_with(&prefix) {
                break;
            }
            items.push(method_from_value(
                version.data.to_value().map_err(ApiError::internal)?,
            )?);
        }
        let full = read == usize::try_from(request.limit).unwrap_or(usize::MAX);
        let next = items
            .last()
            .filter(|_| full && items.len() == read)
            .map(|method| method.method_id.clone());
        Ok(Paged {
            items,
            next,
            block_num,
        })
    }
}

#[derive(Default)]
pub struct PaymentMethodsMutation;

#[Object]
impl PaymentMethodsMutation {
    /// Adds a bank account to `username`'s payment methods: the owner and the chairman.
    async fn create_bank_account(
        &self,
        ctx: &Context<'_>,
        data: CreateBankAccountInput,
    ) -> async_graphql::Result<StoredRecord> {
        admit(ctx, Some(&data.username))?;
        let state = ctx.data::<ApiState>()?;
        let mut id = [0_u8; 8];
        rand_core::OsRng.fill_bytes(&mut id);
        let method_id = hex::encode(id);
        let value = method_value(data.is_default, &method_id, data.data);
        Ok(put_record::<MethodRecord>(state, &data.username, value).await?)
    }

    /// Replaces a bank account's details: the owner and the chairman.
    async fn update_bank_account(
        &self,
        ctx: &Context<'_>,
        data: UpdateBankAccountInput,
    ) -> async_graphql::Result<StoredRecord> {
        admit(ctx, Some(&data.username))?;
        let state = ctx.data::<ApiState>()?;
        let key = format!("{}/{}", data.username, data.method_id);
        let block_num = as_of(state, None).await?.saturating_add(1);
        if state
            .store
            .private_at(MethodRecord::KIND, &key, block_num)
            .await?
            .is_none()
        {
            return Err(ApiError::NotFound("payment method").into());
        }
        let value = method_value(data.is_default, &data.method_id, data.data);
        Ok(put_record::<MethodRecord>(state, &data.username, value).await?)
    }

    /// Deletes a payment method from the next block on: the owner and the chairman. Its
    /// history stays.
    async fn delete_payment_method(
        &self,
        ctx: &Context<'_>,
        data: DeletePaymentMethodInput,
    ) -> async_graphql::Result<bool> {
        admit(ctx, Some(&data.username))?;
        let state = ctx.data::<ApiState>()?;
        let key = format!("{}/{}", data.username, data.method_id);
        let deleted = state
            .store
            .delete_private_next(MethodRecord::KIND, &key)
            .await?;
        if deleted {
            Ok(true)
        } else {
            Err(ApiError::NotFound("payment method").into())
        }
    }
}
