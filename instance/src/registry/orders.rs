//! Orders of property (`marketplace::orders`) and their warranty returns
//! (`marketplace::retrequests`) as of a block, by the id the contract gave them.
//!
//! The contract gives a new row the next free primary key, so an id erased at the top of its
//! table can come back for another order; as of a block it names one row, which is what the
//! documents built from it need.

use serde_json::Value;

use super::projection::{Source, id_key};
use super::{Error, row_value, u64_field};
use crate::antelope::asset::Asset;
use crate::store::{RegistryVersion, RowQuery, Store};

/// One order as of a block.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// The order's id.
    pub id: u64,
    /// Its hash (lowercase).
    pub hash: String,
    /// The member who ordered.
    pub orderer: String,
    /// Units ordered.
    pub quantity: u64,
    /// Price of one unit.
    pub unit_price: Asset,
    /// `quantity × unit_price`.
    pub total_cost: Asset,
    /// The order's status as the contract names it (`active`, …, `received`).
    pub status: String,
    /// First block of this version.
    pub block_num: u32,
    /// The `orders` row.
    pub row: Value,
}

/// One warranty return as of a block.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnRequest {
    /// The request's id.
    pub id: u64,
    /// Its hash (lowercase).
    pub hash: String,
    /// The member returning the property.
    pub orderer: String,
    /// The id of the order whose property is returned.
    pub original_order_id: u64,
    /// Units returned.
    pub actual_quantity: u64,
    /// Their cost at the order's unit price.
    pub fact_cost: Asset,
    /// The request's status as the contract names it (`pendrev`, …).
    pub status: String,
    /// First block of this version.
    pub block_num: u32,
    /// The `retrequests` row.
    pub row: Value,
}

/// Order `id` of `coopname` as of `block_num`.
///
/// # Errors
/// [`Error`] when the store fails or the row lacks a field.
pub async fn order(
    store: &Store,
    coopname: &str,
    block_num: u32,
    id: u64,
) -> Result<Option<Order>, Error> {
    let Some(version) = version(store, Source::Order, coopname, block_num, id).await? else {
        return Ok(None);
    };
    let row = row_value(&version, "orders row")?;
    let read = Fields::of(&row, "orders row");
    Ok(Some(Order {
        id,
        hash: read.text("hash")?.to_ascii_lowercase(),
        orderer: read.text("orderer")?,
        quantity: read.number("quantity")?,
        unit_price: read.asset("unit_price")?,
        total_cost: read.asset("total_cost")?,
        status: read.text("status")?,
        block_num: version.block_num,
        row,
    }))
}

/// Return request `id` of `coopname` as of `block_num`.
///
/// # Errors
/// As [`order`].
pub async fn return_request(
    store: &Store,
    coopname: &str,
    block_num: u32,
    id: u64,
) -> Result<Option<ReturnRequest>, Error> {
    let Some(version) = version(store, Source::ReturnRequest, coopname, block_num, id).await?
    else {
        return Ok(None);
    };
    let row = row_value(&version, "retrequests row")?;
    let read = Fields::of(&row, "retrequests row");
    Ok(Some(ReturnRequest {
        id,
        hash: read.text("hash")?.to_ascii_lowercase(),
        orderer: read.text("orderer")?,
        original_order_id: read.number("original_order_id")?,
        actual_quantity: read.number("actual_quantity")?,
        fact_cost: read.asset("fact_cost")?,
        status: read.text("status")?,
        block_num: version.block_num,
        row,
    }))
}

async fn version(
    store: &Store,
    source: Source,
    coopname: &str,
    block_num: u32,
    id: u64,
) -> Result<Option<RegistryVersion>, Error> {
    let mut query = RowQuery::new(source, coopname, block_num, 1);
    query.keys = Some(vec![id_key(id)]);
    Ok(store.registry_rows(&query).await?.into_iter().next())
}

/// Reads a row's fields, naming the row in a failure.
struct Fields<'a> {
    row: &'a Value,
    what: &'static str,
}

impl<'a> Fields<'a> {
    fn of(row: &'a Value, what: &'static str) -> Self {
        Self { row, what }
    }

    fn missing(&self, field: &'static str) -> Error {
        Error::Row {
            what: self.what,
            source: serde::de::Error::missing_field(field),
        }
    }

    fn text(&self, field: &'static str) -> Result<String, Error> {
        self.row[field]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| self.missing(field))
    }

    fn number(&self, field: &'static str) -> Result<u64, Error> {
        u64_field(self.row, field).ok_or_else(|| self.missing(field))
    }

    fn asset(&self, field: &'static str) -> Result<Asset, Error> {
        self.row[field]
            .as_str()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| self.missing(field))
    }
}
