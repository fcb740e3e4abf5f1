//! The demo cooperative's own records: what a cooperative keeps before anyone joins (its
//! organization record, bank account and variables, and its council's personal data). The
//! document templates read them; the same records seed the tests of the document factory.

use serde_json::{Value, json};

use crate::factory::templates::{self, TemplateFilesError};
use crate::store::{self, JsonText, Store};

/// Why the records could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    /// The built-in template whose example holds the variables is unreadable.
    #[error(transparent)]
    Template(#[from] TemplateFilesError),
    /// The built-in template set has no application (100).
    #[error("the built-in templates have no application (100)")]
    NoApplication,
    /// The store refused a record.
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// The cooperative's full name.
const FULL_NAME: &str = "Потребительский кооператив «Восход»";

/// An individual's personal data as the private store keeps it.
pub fn person(first_name: &str, last_name: &str, username: &str) -> Value {
    json!({
        "username": username, "first_name": first_name, "last_name": last_name,
        "middle_name": "Петрович", "birthdate": "1980-02-03",
        "full_address": "123456, г. Москва, ул. Садовая, д. 1", "phone": "+79161234567",
        "email": format!("{username}@example.ru"),
    })
}

/// An organization's record as the private store keeps it.
pub fn organization(username: &str, full_name: &str) -> Value {
    json!({
        "username": username, "type": "coop", "short_name": full_name, "full_name": full_name,
        "represented_by": {"first_name": "Сергей", "last_name": "Петров", "middle_name": "Николаевич",
                           "position": "председатель", "based_on": "Устава"},
        "country": "Россия", "city": "Москва", "full_address": "119334, г. Москва, ул. Вавилова, д. 24",
        "fact_address": "119334, г. Москва, ул. Вавилова, д. 24", "phone": "+74951234567",
        "email": "soviet@voskhod.coop",
        "details": {"inn": "7736123452", "ogrn": "1207700123454", "kpp": "773601001"},
    })
}

/// A bank account (payment method 1) of `username`.
pub fn bank_account(username: &str) -> Value {
    json!({"username": username, "method_id": "1", "is_default": true, "method_type": "bank_transfer",
           "data": {"currency": "RUB", "bank_name": "ПАО Сбербанк", "account_number": "40703810238000012345",
                    "details": {"bik": "044525225", "corr": "30101810400000000225", "kpp": "773601001"}}})
}

/// The configuration of the `qrpay` extension paying into the cooperative's own bank account
/// ([`bank_account`]), as the chairman would enter it.
pub fn qrpay() -> Value {
    let organization = organization("", FULL_NAME);
    let bank = bank_account("");
    json!({
        "name": FULL_NAME,
        "personal_acc": bank["data"]["account_number"],
        "bank_name": bank["data"]["bank_name"],
        "bic": bank["data"]["details"]["bik"],
        "corresp_acc": bank["data"]["details"]["corr"],
        "payee_inn": organization["details"]["inn"],
        "kpp": organization["details"]["kpp"],
    })
}

/// The cooperative's template variables, from the `vars` of a template's `example`.
pub fn vars(coopname: &str, example: &Value) -> Value {
    let mut vars = example["vars"].clone();
    vars["coopname"] = json!(coopname);
    vars["full_abbr_dative"] = json!("Потребительскому кооперативу");
    // The store keeps the flag as a boolean; templates print it as `yes` or `no`.
    vars["passport_request"] = json!(true);
    for field in ["confidential_link", "confidential_email", "contact_email"] {
        vars[field] = json!("soviet@voskhod.coop");
    }
    vars
}

/// Writes what `coopname` keeps before anyone joins, from `block_num`: its organization record,
/// bank account and variables, and the personal data of its council, given as (username,
/// first name, last name).
pub async fn write(
    store: &Store,
    coopname: &str,
    council: &[(&str, &str, &str)],
    block_num: u32,
) -> Result<(), RecordsError> {
    let (_, example) = templates::builtin_for(100)?.ok_or(RecordsError::NoApplication)?;
    let put = |kind: &'static str, key: String, value: Value| async move {
        store
            .put_private(kind, &key, &JsonText::from_value(&value), block_num)
            .await
    };
    put(
        "organization",
        coopname.to_owned(),
        organization(coopname, FULL_NAME),
    )
    .await?;
    put(
        "payment_method",
        format!("{coopname}/1"),
        bank_account(coopname),
    )
    .await?;
    put("vars", coopname.to_owned(), vars(coopname, &example)).await?;
    for (username, first, last) in council {
        put(
            "individual",
            (*username).to_owned(),
            person(first, last, username),
        )
        .await?;
    }
    Ok(())
}
