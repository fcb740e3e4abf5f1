//! Document meta: the recipe a document is regenerated from (upstream's `IMetaDocument`).
//!
//! Fields in this order: `registry_id`, `title`, `lang`, `generator`, `version`, `coopname`,
//! `username`, `created_at` (ISO-8601 UTC with milliseconds), `block_num` (the last
//! irreversible block at generation: templates and data are read as of it), `timezone`,
//! `links`, then every scalar field of the input's top level (`type`, `braname`,
//! `decision_id`, …) in name order. Objects are the private and chain data the document is
//! built from; they are read again as of `block_num`, never copied into the meta, which goes on
//! chain. The handwritten `signature` image is kept out as upstream does.

use serde_json::{Map, Value};

use crate::factory::draft::{Draft, FieldError};

/// Who generated a document: `generator` and `version` of the meta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generator {
    /// The generator's name.
    pub name: String,
    /// Its version; part of the recipe, so regeneration uses the meta's, not the running one.
    pub version: String,
}

impl Generator {
    /// This build of MONO.
    pub fn current() -> Self {
        Self {
            name: "mono".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// The meta's own fields, before the scalar inputs.
pub const BASE_FIELDS: [&str; 11] = [
    "registry_id",
    "title",
    "lang",
    "generator",
    "version",
    "coopname",
    "username",
    "created_at",
    "block_num",
    "timezone",
    "links",
];

/// The input's key holding the recipe fields (and, for the template, the whole meta).
pub const META_KEY: &str = "meta";
/// The input's key of the handwritten signature image, never copied into the meta.
const SIGNATURE_KEY: &str = "signature";
/// Time zone of documents whose input names none.
pub const DEFAULT_TIMEZONE: &str = "Europe/Moscow";
/// Language of documents whose input names none.
pub const DEFAULT_LANG: &str = "ru";

/// Builds the meta of a document of `draft` from `input` (whose `meta` object holds
/// `coopname`, `username`, `created_at`, `block_num` and optionally `lang`, `timezone`,
/// `links`). `created_at` is normalised to milliseconds in UTC.
///
/// # Errors
/// Every missing or malformed recipe field, named by its JSON Pointer.
pub fn build(
    draft: &Draft,
    input: &Value,
    generator: &Generator,
) -> Result<Value, Vec<FieldError>> {
    let mut errors = Vec::new();
    let empty = Map::new();
    let recipe = match input.get(META_KEY) {
        Some(Value::Object(recipe)) => recipe,
        _ => {
            errors.push(field_error("/meta", "the input needs a meta object"));
            &empty
        }
    };
    let mut text = |key: &str| match recipe.get(key) {
        Some(Value::String(text)) if !text.is_empty() => text.clone(),
        _ => {
            errors.push(field_error(
                &format!("/meta/{key}"),
                "required, a non-empty string",
            ));
            String::new()
        }
    };
    let coopname = text("coopname");
    let username = text("username");
    let created_at_text = text("created_at");
    let created_at = if created_at_text.is_empty() {
        String::new()
    } else {
        match normalise_instant(&created_at_text) {
            Some(instant) => instant,
            None => {
                errors.push(field_error(
                    "/meta/created_at",
                    "must be an ISO-8601 instant such as 2025-03-01T12:00:00.000Z",
                ));
                String::new()
            }
        }
    };
    let block_num = match recipe.get("block_num").and_then(Value::as_u64) {
        Some(block_num) if u32::try_from(block_num).is_ok() => block_num,
        _ => {
            errors.push(field_error("/meta/block_num", "required, a block number"));
            0
        }
    };
    let optional_text = |key: &str, default: &str| match recipe.get(key) {
        Some(Value::String(text)) => Ok(text.clone()),
        None | Some(Value::Null) => Ok(default.to_owned()),
        Some(_) => Err(field_error(&format!("/meta/{key}"), "must be a string")),
    };
    let lang = optional_text("lang", DEFAULT_LANG).unwrap_or_else(|err| {
        errors.push(err);
        String::new()
    });
    let timezone = optional_text("timezone", DEFAULT_TIMEZONE).unwrap_or_else(|err| {
        errors.push(err);
        String::new()
    });
    if jiff::tz::TimeZoneDatabase::bundled()
        .get(&timezone)
        .is_err()
    {
        errors.push(field_error("/meta/timezone", "unknown time zone"));
    }
    let links = match recipe.get("links") {
        None | Some(Value::Null) => Value::Array(Vec::new()),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            Value::Array(items.clone())
        }
        Some(_) => {
            errors.push(field_error("/meta/links", "must be a list of strings"));
            Value::Array(Vec::new())
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut meta = Map::new();
    meta.insert("registry_id".to_owned(), Value::from(draft.registry_id));
    meta.insert("title".to_owned(), Value::from(draft.title.clone()));
    meta.insert("lang".to_owned(), Value::from(lang));
    meta.insert("generator".to_owned(), Value::from(generator.name.clone()));
    meta.insert("version".to_owned(), Value::from(generator.version.clone()));
    meta.insert("coopname".to_owned(), Value::from(coopname));
    meta.insert("username".to_owned(), Value::from(username));
    meta.insert("created_at".to_owned(), Value::from(created_at));
    meta.insert("block_num".to_owned(), Value::from(block_num));
    meta.insert("timezone".to_owned(), Value::from(timezone));
    meta.insert("links".to_owned(), links);
    if let Some(fields) = input.as_object() {
        // Sorted, so the meta does not depend on the order the input happened to list them in.
        let scalars: std::collections::BTreeMap<&String, &Value> = fields
            .iter()
            .filter(|(key, value)| {
                matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
                    && key.as_str() != SIGNATURE_KEY
                    && key.as_str() != META_KEY
                    && !BASE_FIELDS.contains(&key.as_str())
            })
            .collect();
        for (key, value) in scalars {
            meta.insert(key.clone(), value.clone());
        }
    }
    Ok(Value::Object(meta))
}

/// The recipe part of a meta, as the input's `meta` object: what [`build`] reads back.
pub fn recipe(meta: &Value) -> Value {
    let mut recipe = Map::new();
    for key in [
        "coopname",
        "username",
        "created_at",
        "block_num",
        "lang",
        "timezone",
        "links",
    ] {
        if let Some(value) = meta.get(key) {
            recipe.insert(key.to_owned(), value.clone());
        }
    }
    Value::Object(recipe)
}

/// The generator a meta names, for regeneration.
pub fn generator(meta: &Value) -> Option<Generator> {
    Some(Generator {
        name: meta.get("generator")?.as_str()?.to_owned(),
        version: meta.get("version")?.as_str()?.to_owned(),
    })
}

/// `2025-03-01T12:00:00Z` or any ISO-8601 instant, as UTC with milliseconds.
fn normalise_instant(text: &str) -> Option<String> {
    let instant: jiff::Timestamp = text.parse().ok()?;
    Some(instant.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

fn field_error(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn draft() -> Draft {
        serde_json::from_value(json!({"registry_id": 100, "title": "Заявление", "context": ""}))
            .expect("draft parses")
    }

    #[test]
    fn meta_lists_the_recipe_then_scalar_inputs() {
        let input = json!({
            "meta": {"coopname": "voskhod", "username": "ivanov", "created_at": "2025-03-01T15:00:00+03:00", "block_num": 12},
            "type": "individual", "braname": "", "signature": "data:image/png;base64,AA", "individual": {"first_name": "Иван"}
        });
        let meta = build(
            &draft(),
            &input,
            &Generator {
                name: "mono".into(),
                version: "0.1.0".into(),
            },
        )
        .expect("builds");
        assert_eq!(
            meta.to_string(),
            r#"{"registry_id":100,"title":"Заявление","lang":"ru","generator":"mono","version":"0.1.0","coopname":"voskhod","username":"ivanov","created_at":"2025-03-01T12:00:00.000Z","block_num":12,"timezone":"Europe/Moscow","links":[],"braname":"","type":"individual"}"#
        );
        let rebuilt = build(
            &draft(),
            &json!({"meta": recipe(&meta), "type": "individual", "braname": ""}),
            &generator(&meta).expect("named"),
        )
        .expect("builds");
        assert_eq!(rebuilt, meta);
    }

    #[test]
    fn every_bad_recipe_field_is_named() {
        let fields = |input: Value| -> Vec<String> {
            build(&draft(), &input, &Generator::current())
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|err| err.field)
                .collect()
        };
        assert_eq!(
            fields(json!({})),
            [
                "/meta",
                "/meta/coopname",
                "/meta/username",
                "/meta/created_at",
                "/meta/block_num"
            ]
        );
        assert_eq!(
            fields(
                json!({"meta": {"coopname": "c", "username": "u", "created_at": "вчера", "block_num": -1, "timezone": "Mars/Base", "links": [1]}})
            ),
            [
                "/meta/created_at",
                "/meta/block_num",
                "/meta/timezone",
                "/meta/links"
            ]
        );
    }
}
