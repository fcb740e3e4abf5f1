//! What the cooperative knows of the property its members order and return that the
//! marketplace contract does not keep: what an order is of ([`OrderItem`]: its title, unit of
//! measurement, kind and programme, keyed by the order's hash, which exists before the order
//! goes on chain) and the names of its programmes as documents print them ([`Program`]; on
//! COOPOS they are also the `title` of `soviet::programs`, which the registries do not follow
//! yet). The contract's `orders` row has only the order's hashes, units, prices and parties.

use serde::{Deserialize, Serialize};

use crate::private_data::cooperative::sha256_hex;
use crate::private_data::records::{Checks, PrivateRecord, private_record};
use crate::private_data::{FieldError, Invalid};

/// What one order is of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    /// The cooperative's account.
    pub coopname: String,
    /// The order's hash (`orders.hash`), lowercase hex.
    pub order_hash: String,
    /// What is ordered, as documents name it (`Мёд цветочный, фасованный`).
    pub title: String,
    /// Its unit (`кг`, `шт.`).
    pub unit_of_measurement: String,
    /// `product` or `service`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The cooperative's programme the order belongs to.
    pub program_id: u64,
}

impl OrderItem {
    /// The item with its hash in lowercase, or every field error.
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field.
    pub fn validated(mut self) -> Result<Self, Vec<FieldError>> {
        let mut checks = Checks::default();
        checks.username_at("coopname", &self.coopname);
        if let Some(hash) = checks.check("order_hash", sha256_hex(&self.order_hash)) {
            self.order_hash = hash;
        }
        checks.required("title", &self.title);
        checks.required("unit_of_measurement", &self.unit_of_measurement);
        if !matches!(self.kind.as_str(), "product" | "service") {
            checks.check::<()>(
                "type",
                Err(Invalid::Format {
                    expected: "product or service",
                }),
            );
        }
        checks.finish(self)
    }
}

/// A programme of the cooperative, by which documents name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    /// The cooperative's account.
    pub coopname: String,
    /// The programme's id.
    pub id: u64,
    /// Its name (`Соседи`).
    pub name: String,
}

impl Program {
    /// The programme, or every field error.
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field.
    pub fn validated(self) -> Result<Self, Vec<FieldError>> {
        let mut checks = Checks::default();
        checks.username_at("coopname", &self.coopname);
        checks.required("name", &self.name);
        checks.finish(self)
    }
}

private_record!(OrderItem, "order_item", |record| format!(
    "{}/{}",
    record.coopname, record.order_hash
));
private_record!(Program, "program", |record| format!(
    "{}/{}",
    record.coopname, record.id
));

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|error| error.field).collect()
    }

    fn item() -> OrderItem {
        OrderItem {
            coopname: "voskhod".to_owned(),
            order_hash: "AB".repeat(32),
            title: "Мёд цветочный".to_owned(),
            unit_of_measurement: "кг".to_owned(),
            kind: "product".to_owned(),
            program_id: 1,
        }
    }

    #[test]
    fn order_items_are_keyed_by_the_lowercase_hash() {
        let valid = item().validated().expect("valid");
        assert_eq!(valid.order_hash, "ab".repeat(32));
        assert_eq!(valid.key(), format!("voskhod/{}", "ab".repeat(32)));
        assert_eq!(OrderItem::KIND, "order_item");
    }

    #[test]
    fn order_items_and_programs_name_every_invalid_field() {
        let broken = OrderItem {
            coopname: "Voskhod".to_owned(),
            order_hash: "zz".repeat(32),
            title: " ".to_owned(),
            unit_of_measurement: String::new(),
            kind: "goods".to_owned(),
            program_id: 0,
        };
        assert_eq!(
            fields(broken.validated().unwrap_err()),
            [
                "coopname",
                "order_hash",
                "title",
                "unit_of_measurement",
                "type"
            ]
        );
        let program = Program {
            coopname: "voskhod".to_owned(),
            id: 1,
            name: String::new(),
        };
        assert_eq!(fields(program.validated().unwrap_err()), ["name"]);
        let short = OrderItem {
            order_hash: "ab".to_owned(),
            ..item()
        };
        assert_eq!(fields(short.validated().unwrap_err()), ["order_hash"]);
    }
}
