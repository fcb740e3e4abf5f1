//! A document template in the chain's draft shape: `registry_id`, `title`, `context` (the
//! Nunjucks text), `model` (a JSON Schema of the inputs) and `translations` per language.
//!
//! On chain `model` and each translation are JSON *strings*; a draft file may hold them as
//! strings or as JSON values, both read the same. Validation of inputs against `model` lists
//! every failing field, so a caller can name them all at once.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// One template: what `draft::drafts` and `draft::translations` hold for a registry id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// The registry id the template renders (100 = participant application, …).
    pub registry_id: u64,
    /// The template's version on chain (1 for a draft never bumped).
    #[serde(default = "first_version")]
    pub version: u64,
    /// The document's title, copied into the meta.
    pub title: String,
    /// What the template is for.
    #[serde(default)]
    pub description: String,
    /// The template text (Nunjucks with the `trans` tag).
    pub context: String,
    /// JSON Schema of the inputs; `null` when the draft has none.
    #[serde(default, deserialize_with = "json_or_json_text")]
    pub model: Value,
    /// Language -> key -> text.
    #[serde(default)]
    pub translations: BTreeMap<String, BTreeMap<String, String>>,
}

/// One field that does not satisfy the draft's model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON Pointer of the field (`/individual/email`); empty for the whole input.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// Why a draft's model cannot be used or its inputs were refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DraftError {
    /// The draft's `model` is not a valid JSON Schema.
    #[error("the model of registry id {registry_id} is not a valid JSON Schema: {message}")]
    BadModel {
        /// The draft's registry id.
        registry_id: u64,
        /// The schema compiler's message.
        message: String,
    },
    /// The inputs break the model, field by field.
    #[error("invalid input: {}", describe(.0))]
    Invalid(Vec<FieldError>),
    /// The draft has no translation into the language asked for.
    #[error("registry id {registry_id} has no translation into {lang:?}")]
    NoTranslation {
        /// The draft's registry id.
        registry_id: u64,
        /// The language asked for.
        lang: String,
    },
}

impl Draft {
    /// Checks `input` against the model; a draft without a model accepts any object.
    ///
    /// # Errors
    /// [`DraftError::BadModel`] when the model does not compile, [`DraftError::Invalid`] with
    /// every failing field otherwise.
    pub fn validate(&self, input: &Value) -> Result<(), DraftError> {
        self.validate_compiled(self.validator()?.as_ref(), input)
    }

    /// The model compiled for [`Draft::validate_compiled`]; `None` when the draft has no model.
    /// Compiling costs far more than validating, so a caller rendering many documents keeps
    /// the validator of each model.
    ///
    /// # Errors
    /// [`DraftError::BadModel`] when the model does not compile.
    pub fn validator(&self) -> Result<Option<jsonschema::Validator>, DraftError> {
        if self.model.is_null() {
            return Ok(None);
        }
        jsonschema::validator_for(&self.model)
            .map(Some)
            .map_err(|err| DraftError::BadModel {
                registry_id: self.registry_id,
                message: err.to_string(),
            })
    }

    /// Checks `input` against `validator`, this draft's compiled model (see
    /// [`Draft::validator`]); with `None`, any object passes.
    ///
    /// # Errors
    /// [`DraftError::Invalid`] with every failing field.
    pub fn validate_compiled(
        &self,
        validator: Option<&jsonschema::Validator>,
        input: &Value,
    ) -> Result<(), DraftError> {
        let Some(validator) = validator else {
            return if input.is_object() {
                Ok(())
            } else {
                Err(DraftError::Invalid(vec![FieldError {
                    field: String::new(),
                    message: "the input must be a JSON object".to_owned(),
                }]))
            };
        };
        let mut errors: Vec<FieldError> = validator
            .iter_errors(input)
            .map(|err| FieldError {
                field: err.instance_path().to_string(),
                message: err.to_string(),
            })
            .collect();
        if errors.is_empty() {
            return Ok(());
        }
        errors.sort_by(|a, b| a.field.cmp(&b.field).then(a.message.cmp(&b.message)));
        errors.dedup();
        Err(DraftError::Invalid(errors))
    }

    /// The texts of one language.
    ///
    /// # Errors
    /// [`DraftError::NoTranslation`] when the draft has none for `lang`.
    pub fn translation(&self, lang: &str) -> Result<&BTreeMap<String, String>, DraftError> {
        self.translations
            .get(lang)
            .ok_or_else(|| DraftError::NoTranslation {
                registry_id: self.registry_id,
                lang: lang.to_owned(),
            })
    }
}

fn first_version() -> u64 {
    1
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|err| {
            if err.field.is_empty() {
                err.message.clone()
            } else {
                format!("{}: {}", err.field, err.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A JSON value, or a string holding JSON text as the chain stores it; an empty string is
/// "no model".
fn json_or_json_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) if text.trim().is_empty() => Ok(Value::Null),
        Value::String(text) => serde_json::from_str(&text).map_err(serde::de::Error::custom),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn draft(model: Value) -> Draft {
        serde_json::from_value(json!({
            "registry_id": 7, "title": "T", "context": "", "model": model,
            "translations": {"ru": {"a": "б"}}
        }))
        .expect("draft parses")
    }

    #[test]
    fn model_as_text_or_value_reads_the_same() {
        let schema = json!({"type": "object", "required": ["a"]});
        let as_text = draft(Value::String(schema.to_string()));
        assert_eq!(as_text.model, schema);
        assert_eq!(draft(schema.clone()).model, schema);
        assert_eq!(draft(json!("")).model, Value::Null);
        assert_eq!(as_text.version, 1);
    }

    #[test]
    fn every_failing_field_is_named() {
        let model = json!({
            "type": "object",
            "required": ["name", "person"],
            "properties": {
                "name": {"type": "string", "minLength": 2},
                "person": {"type": "object", "required": ["email"],
                           "properties": {"email": {"type": "string", "pattern": "@"}}}
            }
        });
        let check = |input: Value, fields: &[&str]| {
            let got = match draft(model.clone()).validate(&input) {
                Ok(()) => Vec::new(),
                Err(DraftError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
                Err(other) => panic!("unexpected {other}"),
            };
            assert_eq!(got, fields, "{input}");
        };
        check(json!({"name": "Ок", "person": {"email": "a@b"}}), &[]);
        check(
            json!({"name": "x", "person": {"email": "ab"}}),
            &["/name", "/person/email"],
        );
        check(json!({"person": {}}), &["", "/person"]);
    }

    #[test]
    fn drafts_without_a_model_take_any_object() {
        let plain = draft(Value::Null);
        assert!(plain.validate(&json!({"x": 1})).is_ok());
        assert!(matches!(
            plain.validate(&json!([1])),
            Err(DraftError::Invalid(_))
        ));
        assert!(matches!(
            draft(json!({"type": 5})).validate(&json!({})),
            Err(DraftError::BadModel { registry_id: 7, .. })
        ));
        assert!(plain.translation("ru").is_ok());
        assert!(matches!(
            plain.translation("en"),
            Err(DraftError::NoTranslation { .. })
        ));
    }
}
