//! Update rules of the real API server that the fake enforces, so that a write a real cluster
//! refuses is refused here too, with the same code, reason and causes: fields that cannot
//! change after creation (`ValidateJobSpecUpdate`, `ValidateStatefulSetUpdate`,
//! `ValidatePersistentVolumeClaimUpdate`) and the `PersistentVolumeClaimResize` admission
//! plugin, which grows a claim only when its StorageClass allows volume expansion.
//!
//! Only writes of the main resource are checked, never status writes. Other kinds, and the
//! rarer rules of these ones (Job completions, suspended Jobs' mutable scheduling fields),
//! are not.

use serde_json::Value;

use crate::error::{Cause, Error, Result};
use crate::resource::ResourceType;

/// Fields of a StatefulSet's spec that may change; every other one is fixed at creation.
const STATEFUL_SET_MUTABLE: [&str; 7] = [
    "replicas",
    "template",
    "updateStrategy",
    "minReadySeconds",
    "ordinals",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
];
/// The real message for a change to any other StatefulSet field.
const STATEFUL_SET_FORBIDDEN: &str = "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
/// The real message for a change to a claim's spec other than its requests.
const CLAIM_FORBIDDEN: &str = "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims";
/// The real message of the resize admission plugin.
const RESIZE_FORBIDDEN: &str = "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize";

/// Checks that `new` may replace `old`, an object of type `rt`; `storage_class` finds a
/// StorageClass by name.
///
/// # Errors
/// [`Error::FieldsInvalid`] (422) when validation refuses the change, [`Error::Forbidden`]
/// (403) when the resize admission plugin does.
pub(crate) fn update(
    rt: &ResourceType,
    old: &Value,
    new: &Value,
    storage_class: impl Fn(&str) -> Option<Value>,
) -> Result<()> {
    let causes = match (rt.group.as_str(), rt.plural.as_str()) {
        ("batch", "jobs") => ["selector", "template"]
            .into_iter()
            .filter(|field| !same(&old["spec"][field], &new["spec"][field]))
            .map(|field| Cause::immutable(&format!("spec.{field}")))
            .collect(),
        ("apps", "statefulsets") => {
            let fixed = |object: &Value| without(&object["spec"], &STATEFUL_SET_MUTABLE);
            if same(&fixed(old), &fixed(new)) {
                Vec::new()
            } else {
                vec![Cause::forbidden("spec", STATEFUL_SET_FORBIDDEN)]
            }
        }
        ("", "persistentvolumeclaims") => return claim_update(rt, old, new, storage_class),
        _ => Vec::new(),
    };
    refuse(rt, old, causes)
}

fn claim_update(
    rt: &ResourceType,
    old: &Value,
    new: &Value,
    storage_class: impl Fn(&str) -> Option<Value>,
) -> Result<()> {
    let fixed = |object: &Value| {
        let mut spec = without(&object["spec"], &["volumeAttributesClassName"]);
        if let Some(resources) = spec.get_mut("resources").and_then(Value::as_object_mut) {
            resources.remove("requests");
        }
        spec
    };
    let size = |object: &Value| object["spec"]["resources"]["requests"]["storage"].clone();
    let (old_size, new_size) = (size(old), size(new));
    let resized = !same(&old_size, &new_size);
    let bound = old["status"]["phase"] == "Bound";
    let mut causes = Vec::new();
    if !same(&fixed(old), &fixed(new)) || (resized && !bound) {
        causes.push(Cause::forbidden("spec", CLAIM_FORBIDDEN));
    }
    let (old_bytes, new_bytes) = (
        old_size.as_str().and_then(quantity),
        new_size.as_str().and_then(quantity),
    );
    let grows = matches!((old_bytes, new_bytes), (Some(old), Some(new)) if new > old);
    if resized && bound && !grows {
        causes.push(Cause::forbidden(
            "spec.resources.requests.storage",
            "field can not be less than previous value",
        ));
    }
    refuse(rt, old, causes)?;
    if grows && !expandable(old, new, storage_class) {
        return Err(Error::Forbidden {
            plural: rt.plural.clone(),
            name: name(old),
            detail: RESIZE_FORBIDDEN.to_owned(),
        });
    }
    Ok(())
}

/// Whether the resize plugin lets a claim grow: the same StorageClass before and after, and
/// it exists with `allowVolumeExpansion: true`.
fn expandable(old: &Value, new: &Value, storage_class: impl Fn(&str) -> Option<Value>) -> bool {
    let class = old["spec"]["storageClassName"].as_str().unwrap_or_default();
    !class.is_empty()
        && new["spec"]["storageClassName"].as_str() == Some(class)
        && storage_class(class).is_some_and(|class| class["allowVolumeExpansion"] == true)
}

fn refuse(rt: &ResourceType, old: &Value, causes: Vec<Cause>) -> Result<()> {
    if causes.is_empty() {
        return Ok(());
    }
    Err(Error::FieldsInvalid {
        group: rt.group.clone(),
        kind: rt.kind.clone(),
        name: name(old),
        causes,
    })
}

fn name(object: &Value) -> String {
    object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `object` without the `fields`.
fn without(object: &Value, fields: &[&str]) -> Value {
    let mut rest = object.clone();
    if let Some(map) = rest.as_object_mut() {
        for field in fields {
            map.remove(*field);
        }
    }
    rest
}

/// Semantic equality, as the API server compares typed objects: an absent field equals a
/// null one and an empty list or map.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => a.keys().chain(b.keys()).all(|key| {
            same(
                a.get(key).unwrap_or(&Value::Null),
                b.get(key).unwrap_or(&Value::Null),
            )
        }),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b))
        }
        (Value::Null, other) | (other, Value::Null) => is_empty(other),
        (a, b) => a == b,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// The value of a Kubernetes quantity (`10Gi`, `500M`, `1.5e3`), or `None` when it is not one.
pub(crate) fn quantity(text: &str) -> Option<f64> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let multiplier = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024_f64,
        "Mi" => 1024_f64.powi(2),
        "Gi" => 1024_f64.powi(3),
        "Ti" => 1024_f64.powi(4),
        "Pi" => 1024_f64.powi(5),
        "Ei" => 1024_f64.powi(6),
        exponent => {
            let power: i32 = exponent.strip_prefix(['e', 'E'])?.parse().ok()?;
            10_f64.powi(power)
        }
    };
    Some(number * multiplier)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn quantities() {
        let cases = [
            ("10Gi", Some(10.0 * 1024_f64.powi(3))),
            ("500M", Some(5e8)),
            ("1.5Ki", Some(1536.0)),
            ("1e3", Some(1000.0)),
            ("250m", Some(0.25)),
            ("12", Some(12.0)),
            ("Gi", None),
            ("10Qi", None),
        ];
        for (text, expected) in cases {
            assert_eq!(quantity(text), expected, "{text}");
        }
    }

    #[test]
    fn absent_null_and_empty_are_the_same() {
        let cases = [
            (json!({"a": 1}), json!({"a": 1, "b": null}), true),
            (json!({"a": []}), json!({}), true),
            (json!({"a": {"b": {}}}), json!({"a": {}}), true),
            (json!({"a": 1}), json!({"a": 2}), false),
            (json!([1, 2]), json!([2, 1]), false),
        ];
        for (a, b, expected) in cases {
            assert_eq!(same(&a, &b), expected, "{a} {b}");
        }
    }
}
