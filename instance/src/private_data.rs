//! Members' and organizations' personal data, which never goes on chain, starting with the
//! rules every field must meet before it is stored: [`requisites`] (INN, OGRN, OGRNIP, KPP, BIK
//! and bank accounts with their check digits), [`contact`] (phone numbers, e-mail addresses,
//! calendar dates), [`records`] (individuals, organizations, entrepreneurs and payment
//! methods, each checked field by field), [`cooperative`] (the cooperative's template
//! variables, projects of free decisions, signature images and the documents it keeps) and
//! [`market`] (what the cooperative's orders of property are of, and its programmes).
//! Each record type names its store kind and key through [`records::PrivateRecord`]. Each valid value is a newtype that can only hold a
//! valid value; each invalid one is an [`Invalid`] reason, named per field by [`FieldError`] so a
//! form can show it next to the field. The versions of the records live in the store
//! ([`crate::store::Store::put_private`]).
//!
//! Pure: no I/O, no clock.

pub mod contact;
pub mod cooperative;
pub mod market;
pub mod records;
pub mod requisites;

/// Why a value is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Invalid {
    /// Characters other than the expected ones.
    #[error("must consist of {expected}")]
    Characters {
        /// What is allowed.
        expected: &'static str,
    },
    /// The wrong number of characters.
    #[error("must be {expected} characters long, not {got}")]
    Length {
        /// The lengths allowed.
        expected: &'static str,
        /// The length given.
        got: usize,
    },
    /// The check digit (or control key) does not match the other digits.
    #[error("the check digit does not match: a digit is mistyped")]
    CheckDigit,
    /// A required field is empty.
    #[error("is required")]
    Missing,
    /// Not in the expected form.
    #[error("must be {expected}")]
    Format {
        /// The form expected, with an example.
        expected: &'static str,
    },
    /// A rule of a JSON Schema the value was checked against (an extension's configuration).
    #[error("{message}")]
    Schema {
        /// The rule broken, as the validator words it.
        message: String,
    },
}

/// An invalid value and the field it was given for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// The field's name as the caller knows it (`inn`, `bank_account.bik`, …).
    pub field: String,
    /// Why its value is not valid.
    pub reason: Invalid,
}

/// Checks `value` for `field`, naming the field in the error.
///
/// # Errors
/// [`FieldError`] with the reason `T` gives.
pub fn field<T>(field: &str, value: Result<T, Invalid>) -> Result<T, FieldError> {
    value.map_err(|reason| FieldError {
        field: field.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::requisites::Inn;
    use super::*;

    #[test]
    fn a_field_error_names_the_field_and_the_reason() {
        let error = field("organization.inn", "7707083894".parse::<Inn>()).expect_err("invalid");
        assert_eq!(error.field, "organization.inn");
        assert_eq!(error.reason, Invalid::CheckDigit);
        assert_eq!(
            error.to_string(),
            "organization.inn: the check digit does not match: a digit is mistyped"
        );
        assert!(field("inn", "7707083893".parse::<Inn>()).is_ok());
    }
}
