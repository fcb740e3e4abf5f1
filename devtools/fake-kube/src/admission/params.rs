//! The params of a policy binding: the objects of the policy's `paramKind` that the binding's
//! `paramRef` names or selects, collected as the API server's `CollectParams` collects them.
//!
//! A policy without `paramKind`, or a binding without `paramRef`, is evaluated once with
//! `params` null. Otherwise the params are looked up in the `paramRef`'s namespace, or the
//! request's when it names none and the kind is namespaced; `name` finds one object, `selector`
//! every matching one, and the policy is evaluated once per object. When none is found,
//! `parameterNotFoundAction: Allow` admits without evaluating and `Deny` is a configuration
//! error, which the policy's `failurePolicy` turns into a denial or lets pass.

use std::sync::Arc;

use serde_json::Value;

use super::Stored;
use crate::select::Selector;

/// The `params` values to evaluate a policy with, once each; empty to admit without
/// evaluating.
///
/// # Errors
/// The configuration error, in the API server's words, that `failurePolicy` governs.
pub(crate) fn collect(
    policy: &Value,
    binding: &Value,
    request_namespace: &str,
    stored: &dyn Stored,
) -> Result<Vec<Arc<Value>>, String> {
    let param_kind = &policy["spec"]["paramKind"];
    let param_ref = &binding["spec"]["paramRef"];
    if param_kind.is_null() || param_ref.is_null() {
        return Ok(vec![Arc::new(Value::Null)]);
    }
    let api_version = param_kind["apiVersion"].as_str().unwrap_or_default();
    let kind = param_kind["kind"].as_str().unwrap_or_default();
    let (namespaced, objects) = stored
        .of_kind(api_version, kind)
        .ok_or_else(|| format!("paramKind kind `{api_version}, Kind={kind}` not known"))?;
    let ref_namespace = param_ref["namespace"].as_str().unwrap_or_default();
    let namespace = match (namespaced, ref_namespace, request_namespace) {
        (false, "", _) => None,
        (false, _, _) => {
            return Err(
                "paramRef.namespace must not be provided for a cluster-scoped `paramKind`"
                    .to_owned(),
            );
        }
        (true, "", "") => {
            return Err(
                "cannot use namespaced paramRef in policy binding that matches cluster-scoped resources"
                    .to_owned(),
            );
        }
        (true, "", namespace) | (true, namespace, _) => Some(namespace),
    };
    let in_namespace = objects.into_iter().filter(|object| {
        namespace.is_none_or(|namespace| object["metadata"]["namespace"] == namespace)
    });
    let name = param_ref["name"].as_str().unwrap_or_default();
    let selector = &param_ref["selector"];
    let params: Vec<Arc<Value>> = match (name, selector.is_null()) {
        ("", true) => Vec::new(),
        ("", false) => {
            let selector = label_selector(selector)?;
            in_namespace
                .filter(|object| selector.matches(object))
                .collect()
        }
        (_, true) => in_namespace
            .filter(|object| object["metadata"]["name"] == name)
            .collect(),
        (_, false) => {
            return Err("paramRef.name and paramRef.selector are mutually exclusive".to_owned());
        }
    };
    if params.is_empty() && param_ref["parameterNotFoundAction"] == "Deny" {
        return Err(
            "no params found for policy binding with `Deny` parameterNotFoundAction".to_owned(),
        );
    }
    Ok(params)
}

/// A `metav1.LabelSelector` (`matchLabels`, `matchExpressions`) as a list selector; the empty
/// selector selects everything.
fn label_selector(selector: &Value) -> Result<Selector, String> {
    let mut requirements: Vec<String> = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, value)| format!("{key}={}", value.as_str().unwrap_or_default()))
        .collect();
    for expression in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = expression["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = expression["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        requirements.push(match expression["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            other => return Err(format!("{other:?} is not a valid label selector operator")),
        });
    }
    if requirements.is_empty() {
        return Ok(Selector::default());
    }
    Selector::parse(Some(&requirements.join(",")), None).map_err(|error| error.to_string())
}
