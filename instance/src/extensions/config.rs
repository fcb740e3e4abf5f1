//! An extension's configuration: checked against the extension's JSON Schema field by field,
//! and its secrets kept out of every answer.
//!
//! A secret is a top-level property the schema marks `"writeOnly": true` (JSON Schema's own
//! annotation for values a client sends and never reads back). Secrets are stored with the
//! rest of the configuration, left out of what the API returns (which says only whether each
//! is set), and kept when an update leaves them out, so a form can change other fields without
//! knowing them. Validation messages never quote the value they refuse.
//!
//! Pure: no I/O.

use serde_json::{Map, Value};

use crate::private_data::{FieldError, Invalid};

/// Why a configuration is refused: each invalid field (`bank.bic`; the empty name for the
/// whole configuration).
pub type ConfigErrors = Vec<FieldError>;

/// Checks `config` against `schema`.
///
/// # Errors
/// Every rule `config` breaks, by field, sorted by field name.
pub fn validate(schema: &Value, config: &Value) -> Result<(), ConfigErrors> {
    let validator = jsonschema::validator_for(schema).map_err(|err| {
        vec![FieldError {
            field: String::new(),
            reason: Invalid::Schema {
                message: format!("the extension's schema does not compile: {err}"),
            },
        }]
    })?;
    let mut errors: Vec<FieldError> = validator
        .iter_errors(config)
        .map(|err| {
            let mut field = pointer_to_field(&err.instance_path().to_string());
            // A missing property is reported at its parent; name the property itself.
            if let jsonschema::error::ValidationErrorKind::Required { property } = err.kind() {
                let property = property.as_str().unwrap_or_default();
                field = if field.is_empty() {
                    property.to_owned()
                } else {
                    format!("{field}.{property}")
                };
                return FieldError {
                    field,
                    reason: Invalid::Missing,
                };
            }
            FieldError {
                field,
                reason: Invalid::Schema {
                    message: err.masked().to_string(),
                },
            }
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    errors.sort_by(|a, b| a.field.cmp(&b.field));
    errors.dedup();
    Err(errors)
}

/// `/bank/bic` → `bank.bic`.
fn pointer_to_field(pointer: &str) -> String {
    pointer
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

/// The names of the secrets `schema` declares, in schema order.
pub fn secret_fields(schema: &Value) -> Vec<String> {
    schema["properties"]
        .as_object()
        .map(|properties| {
            properties
                .iter()
                .filter(|(_, property)| property["writeOnly"] == Value::Bool(true))
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// `config` without the secrets `schema` declares: what may be shown.
pub fn without_secrets(schema: &Value, config: &Value) -> Value {
    let Some(fields) = config.as_object() else {
        return config.clone();
    };
    let secrets = secret_fields(schema);
    let shown: Map<String, Value> = fields
        .iter()
        .filter(|(name, _)| !secrets.contains(name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    Value::Object(shown)
}

/// The secrets `schema` declares that `config` sets.
pub fn secrets_set(schema: &Value, config: &Value) -> Vec<String> {
    secret_fields(schema)
        .into_iter()
        .filter(|name| config.get(name).is_some_and(|value| !value.is_null()))
        .collect()
}

/// `given` with each secret it leaves out taken from `stored`: an update that does not
/// mention a secret keeps it.
pub fn keep_secrets(schema: &Value, stored: &Value, given: Value) -> Value {
    let Value::Object(mut fields) = given else {
        return given;
    };
    for name in secret_fields(schema) {
        if !fields.contains_key(&name)
            && let Some(value) = stored.get(&name)
        {
            fields.insert(name, value.clone());
        }
    }
    Value::Object(fields)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["bic", "token"],
            "additionalProperties": false,
            "properties": {
                "bic": {"type": "string", "pattern": "^[0-9]{9}$"},
                "bank": {"type": "object", "properties": {"name": {"type": "string", "minLength": 1}}},
                "token": {"type": "string", "writeOnly": true},
            }
        })
    }

    fn check(config: Value, expected: &[(&str, &str)]) {
        let got: Vec<(String, String)> = match validate(&schema(), &config) {
            Ok(()) => Vec::new(),
            Err(errors) => errors
                .into_iter()
                .map(|err| (err.field, err.reason.to_string()))
                .collect(),
        };
        let got: Vec<(&str, &str)> = got.iter().map(|(f, r)| (f.as_str(), r.as_str())).collect();
        assert_eq!(got.len(), expected.len(), "{got:?}");
        for ((field, reason), (want_field, want_part)) in got.iter().zip(expected) {
            assert_eq!(field, want_field, "{got:?}");
            assert!(reason.contains(want_part), "{reason:?} lacks {want_part:?}");
        }
    }

    #[test]
    fn errors_name_each_field_and_never_quote_the_value() {
        check(json!({"bic": "044525225", "token": "s3cret"}), &[]);
        check(
            json!({"bic": "04452", "token": "s3cret"}),
            &[("bic", "does not match")],
        );
        check(json!({"bic": "044525225"}), &[("token", "required")]);
        check(
            json!({"bic": "044525225", "token": 7, "bank": {"name": ""}}),
            &[("bank.name", ""), ("token", "type")],
        );
        check(
            json!({"bic": "044525225", "token": "x", "other": 1}),
            &[("", "")],
        );
        let errors = validate(&schema(), &json!({"bic": "044525225", "token": 12345}))
            .expect_err("a number is no token");
        assert!(
            !errors[0].reason.to_string().contains("12345"),
            "{errors:?}"
        );
    }

    #[test]
    fn secrets_are_left_out_and_kept_across_updates() {
        let stored = json!({"bic": "044525225", "token": "s3cret"});
        assert_eq!(secret_fields(&schema()), ["token"]);
        assert_eq!(
            without_secrets(&schema(), &stored),
            json!({"bic": "044525225"})
        );
        assert_eq!(secrets_set(&schema(), &stored), ["token"]);
        assert!(secrets_set(&schema(), &json!({"bic": "1"})).is_empty());
        let updated = keep_secrets(&schema(), &stored, json!({"bic": "046577674"}));
        assert_eq!(updated, json!({"bic": "046577674", "token": "s3cret"}));
        let replaced = keep_secrets(&schema(), &stored, json!({"bic": "1", "token": "new"}));
        assert_eq!(replaced["token"], "new");
    }
}
