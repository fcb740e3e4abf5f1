//! Patch semantics on JSON objects: JSON merge patch (RFC 7386), JSON patch (RFC 6902), the
//! subset of strategic merge patch MONO's operator relies on (maps merged, lists of uniquely
//! named items merged by name), and server-side apply's merge with field sets in the
//! `FieldsV1` shape so a manager's dropped fields are removed on its next apply.
//!
//! Pure functions on `serde_json::Value`; no storage, no I/O.

use serde_json::{Map, Value};

/// Why a patch could not be applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PatchError {
    /// The patch document has the wrong shape.
    #[error("malformed patch: {0}")]
    Malformed(String),
    /// A JSON patch path does not exist in the target.
    #[error("path {0} does not exist")]
    MissingPath(String),
    /// A JSON patch `test` operation did not match.
    #[error("test operation at {0} failed")]
    TestFailed(String),
}

/// Applies an RFC 7386 merge patch: objects merge recursively, `null` removes, anything else
/// replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target_map) = target {
        for (key, value) in patch_map {
            if value.is_null() {
                target_map.remove(key);
            } else {
                merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// Applies a strategic merge patch in the simplified form documented in the module: like a merge
/// patch, except that two lists whose items are all objects with distinct `name`s are merged
/// item by item.
pub fn strategic_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target_map), Value::Object(patch_map)) => {
            for (key, value) in patch_map {
                if value.is_null() {
                    target_map.remove(key);
                } else {
                    match target_map.get_mut(key) {
                        Some(existing) => strategic_merge(existing, value),
                        None => {
                            target_map.insert(key.clone(), strip_nulls(value));
                        }
                    }
                }
            }
        }
        (Value::Array(target_items), Value::Array(patch_items))
            if named_items(target_items).is_some() && named_items(patch_items).is_some() =>
        {
            for item in patch_items {
                let name = &item["name"];
                match target_items
                    .iter_mut()
                    .find(|existing| &existing["name"] == name)
                {
                    Some(existing) => strategic_merge(existing, item),
                    None => target_items.push(strip_nulls(item)),
                }
            }
        }
        (target, patch) => *target = strip_nulls(patch),
    }
}

/// The `FieldsV1` set of every field an applied configuration sets: `f:<key>` for map keys,
/// `k:{"name":…}` for items of named lists, `{}` at leaves and atomic lists.
pub fn field_set(applied: &Value) -> Value {
    match applied {
        Value::Object(map) => {
            let mut fields = Map::new();
            for (key, value) in map {
                fields.insert(format!("f:{key}"), field_set(value));
            }
            Value::Object(fields)
        }
        Value::Array(items) if named_items(items).is_some() => {
            let mut fields = Map::new();
            for item in items {
                let key = serde_json::json!({"name": item["name"]});
                let mut item_fields = field_set(item);
                if let Value::Object(map) = &mut item_fields {
                    map.insert(".".to_owned(), Value::Object(Map::new()));
                }
                fields.insert(format!("k:{key}"), item_fields);
            }
            Value::Object(fields)
        }
        _ => Value::Object(Map::new()),
    }
}

/// Removes from `target` the fields present in `previous` but absent from `current`: what a
/// manager owned before and no longer applies.
pub fn remove_dropped_fields(target: &mut Value, previous: &Value, current: &Value) {
    let Value::Object(previous_fields) = previous else {
        return;
    };
    for (key, previous_child) in previous_fields {
        if key == "." {
            continue;
        }
        let current_child = current.get(key);
        if let Some(field) = key.strip_prefix("f:") {
            let Value::Object(map) = target else { continue };
            match current_child {
                None => {
                    map.remove(field);
                }
                Some(current_child) => {
                    if let Some(child) = map.get_mut(field) {
                        remove_dropped_fields(child, previous_child, current_child);
                    }
                }
            }
        } else if let Some(item_key) = key.strip_prefix("k:") {
            let Value::Array(items) = target else {
                continue;
            };
            let Ok(item_key) = serde_json::from_str::<Value>(item_key) else {
                continue;
            };
            let name = &item_key["name"];
            match current_child {
                None => items.retain(|item| &item["name"] != name),
                Some(current_child) => {
                    if let Some(item) = items.iter_mut().find(|item| &item["name"] == name) {
                        remove_dropped_fields(item, previous_child, current_child);
                    }
                }
            }
        }
    }
}

/// Applies an RFC 6902 JSON patch (`add`, `remove`, `replace`, `move`, `copy`, `test`).
///
/// # Errors
/// [`PatchError`] when the patch is malformed, a path is missing, or a `test` fails; the target
/// is then left in an unspecified intermediate state, so callers patch a copy.
pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let operations = patch
        .as_array()
        .ok_or_else(|| PatchError::Malformed("a JSON patch is a list".into()))?;
    for operation in operations {
        let op = operation["op"]
            .as_str()
            .ok_or_else(|| PatchError::Malformed("operation without op".into()))?;
        let path = operation["path"]
            .as_str()
            .ok_or_else(|| PatchError::Malformed(format!("{op} without path")))?;
        let value = || {
            operation
                .get("value")
                .cloned()
                .ok_or_else(|| PatchError::Malformed(format!("{op} without value")))
        };
        let from = || {
            operation["from"]
                .as_str()
                .ok_or_else(|| PatchError::Malformed(format!("{op} without from")))
        };
        match op {
            "add" => add(target, path, value()?)?,
            "remove" => {
                remove(target, path)?;
            }
            "replace" => {
                let slot = target
                    .pointer_mut(path)
                    .ok_or_else(|| PatchError::MissingPath(path.to_owned()))?;
                *slot = value()?;
            }
            "move" => {
                let moved = remove(target, from()?)?;
                add(target, path, moved)?;
            }
            "copy" => {
                let from = from()?;
                let copied = target
                    .pointer(from)
                    .cloned()
                    .ok_or_else(|| PatchError::MissingPath(from.to_owned()))?;
                add(target, path, copied)?;
            }
            "test" => {
                // Like the Kubernetes API server, a missing member equals `null`; kube-rs's
                // finalizer helper relies on this to add the first finalizer.
                if target.pointer(path).unwrap_or(&Value::Null) != &value()? {
                    return Err(PatchError::TestFailed(path.to_owned()));
                }
            }
            other => return Err(PatchError::Malformed(format!("unknown operation {other}"))),
        }
    }
    Ok(())
}

fn named_items(items: &[Value]) -> Option<()> {
    let mut names = Vec::with_capacity(items.len());
    for item in items {
        names.push(item.get("name")?.as_str()?);
    }
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    (names.len() == before).then_some(())
}

fn strip_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn split_pointer(path: &str) -> Result<(&str, String), PatchError> {
    let (parent, last) = path
        .rsplit_once('/')
        .ok_or_else(|| PatchError::Malformed(format!("bad path {path}")))?;
    Ok((parent, last.replace("~1", "/").replace("~0", "~")))
}

fn add(target: &mut Value, path: &str, value: Value) -> Result<(), PatchError> {
    if path.is_empty() {
        *target = value;
        return Ok(());
    }
    let (parent_path, last) = split_pointer(path)?;
    let parent = target
        .pointer_mut(parent_path)
        .ok_or_else(|| PatchError::MissingPath(path.to_owned()))?;
    match parent {
        Value::Object(map) => {
            map.insert(last, value);
        }
        Value::Array(items) => {
            if last == "-" {
                items.push(value);
            } else {
                let index: usize = last
                    .parse()
                    .map_err(|_| PatchError::MissingPath(path.to_owned()))?;
                if index > items.len() {
                    return Err(PatchError::MissingPath(path.to_owned()));
                }
                items.insert(index, value);
            }
        }
        _ => return Err(PatchError::MissingPath(path.to_owned())),
    }
    Ok(())
}

fn remove(target: &mut Value, path: &str) -> Result<Value, PatchError> {
    let (parent_path, last) = split_pointer(path)?;
    let parent = target
        .pointer_mut(parent_path)
        .ok_or_else(|| PatchError::MissingPath(path.to_owned()))?;
    let removed = match parent {
        Value::Object(map) => map.remove(&last),
        Value::Array(items) => last
            .parse::<usize>()
            .ok()
            .filter(|index| *index < items.len())
            .map(|index| items.remove(index)),
        _ => None,
    };
    removed.ok_or_else(|| PatchError::MissingPath(path.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_merge(target: Value, patch: Value, expected: Value) {
        let mut got = target.clone();
        merge_patch(&mut got, &patch);
        assert_eq!(got, expected, "merge {patch} into {target}");
    }

    #[test]
    fn merge_patch_follows_rfc7386() {
        check_merge(json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"}));
        check_merge(
            json!({"a": "b"}),
            json!({"b": "c"}),
            json!({"a": "b", "b": "c"}),
        );
        check_merge(json!({"a": "b"}), json!({"a": null}), json!({}));
        check_merge(
            json!({"a": ["b"]}),
            json!({"a": ["c"]}),
            json!({"a": ["c"]}),
        );
        check_merge(
            json!({"a": {"b": "c"}}),
            json!({"a": {"b": "d", "c": null}}),
            json!({"a": {"b": "d"}}),
        );
        check_merge(json!(["a"]), json!({"a": "b"}), json!({"a": "b"}));
    }

    fn check_strategic(target: Value, patch: Value, expected: Value) {
        let mut got = target.clone();
        strategic_merge(&mut got, &patch);
        assert_eq!(got, expected, "strategic {patch} into {target}");
    }

    #[test]
    fn strategic_merge_merges_named_lists() {
        check_strategic(
            json!({"c": [{"name": "a", "image": "1"}, {"name": "b"}]}),
            json!({"c": [{"name": "a", "image": "2"}, {"name": "z"}]}),
            json!({"c": [{"name": "a", "image": "2"}, {"name": "b"}, {"name": "z"}]}),
        );
        check_strategic(json!({"l": [1, 2]}), json!({"l": [3]}), json!({"l": [3]}));
        check_strategic(
            json!({"l": [{"name": "a"}, {"name": "a"}]}),
            json!({"l": [{"name": "b"}]}),
            json!({"l": [{"name": "b"}]}),
        );
        check_strategic(
            json!({"a": 1}),
            json!({"a": null, "b": {"c": null, "d": 1}}),
            json!({"b": {"d": 1}}),
        );
    }

    fn check_json_patch(target: Value, patch: Value, expected: Result<Value, PatchError>) {
        let mut got = target.clone();
        let result = json_patch(&mut got, &patch).map(|()| got);
        assert_eq!(result, expected, "json patch {patch} on {target}");
    }

    #[test]
    fn json_patch_follows_rfc6902() {
        let doc = json!({"m": {"f": ["a"]}});
        check_json_patch(
            doc.clone(),
            json!([{"op": "add", "path": "/m/f/-", "value": "b"}]),
            Ok(json!({"m": {"f": ["a", "b"]}})),
        );
        check_json_patch(
            doc.clone(),
            json!([{"op": "add", "path": "/m/f/0", "value": "z"}]),
            Ok(json!({"m": {"f": ["z", "a"]}})),
        );
        check_json_patch(
            doc.clone(),
            json!([{"op": "remove", "path": "/m/f/0"}]),
            Ok(json!({"m": {"f": []}})),
        );
        check_json_patch(
            doc.clone(),
            json!([{"op": "replace", "path": "/m/f", "value": 1}]),
            Ok(json!({"m": {"f": 1}})),
        );
        check_json_patch(
            doc.clone(),
            json!([{"op": "move", "from": "/m/f", "path": "/g"}]),
            Ok(json!({"m": {}, "g": ["a"]})),
        );
        check_json_patch(
            doc.clone(),
            json!([{"op": "copy", "from": "/m/f", "path": "/g"}]),
            Ok(json!({"m": {"f": ["a"]}, "g": ["a"]})),
        );
        check_json_patch(
            doc.clone(),
            json!([{"op": "test", "path": "/m/f", "value": ["a"]}]),
            Ok(doc.clone()),
        );
        check_json_patch(
            doc.clone(),
            json!([{"op": "test", "path": "/m/x", "value": null}]),
            Ok(doc.clone()),
        );
        check_json_patch(
            doc.clone(),
            json!([{"op": "test", "path": "/m/x", "value": 1}]),
            Err(PatchError::TestFailed("/m/x".into())),
        );
        check_json_patch(
            doc.clone(),
            json!([{"op": "test", "path": "/m/f", "value": []}]),
            Err(PatchError::TestFailed("/m/f".into())),
        );
        check_json_patch(
            doc.clone(),
            json!([{"op": "remove", "path": "/x"}]),
            Err(PatchError::MissingPath("/x".into())),
        );
        check_json_patch(
            json!({"a~b/c": 1}),
            json!([{"op": "remove", "path": "/a~0b~1c"}]),
            Ok(json!({})),
        );
        check_json_patch(
            doc,
            json!({"op": "add"}),
            Err(PatchError::Malformed("a JSON patch is a list".into())),
        );
    }

    #[test]
    fn dropped_fields_are_removed() {
        let first = json!({"spec": {"a": 1, "b": 2, "c": [{"name": "x", "v": 1}, {"name": "y"}]}});
        let second = json!({"spec": {"a": 1, "c": [{"name": "x"}]}});
        let mut live = first.clone();
        live["spec"]["other"] = json!("kept");
        strategic_merge(&mut live, &second);
        remove_dropped_fields(&mut live, &field_set(&first), &field_set(&second));
        assert_eq!(
            live,
            json!({"spec": {"a": 1, "other": "kept", "c": [{"name": "x"}]}})
        );
    }

    #[test]
    fn field_sets_use_fields_v1_keys() {
        let fields = field_set(
            &json!({"spec": {"containers": [{"name": "a", "image": "i"}], "ports": [80]}}),
        );
        assert_eq!(
            fields,
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"a\"}": {".": {}, "f:image": {}, "f:name": {}}}, "f:ports": {}}})
        );
    }
}
