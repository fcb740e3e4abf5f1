//! ValidatingAdmissionPolicies, evaluated on every create, update and delete they match as
//! the API server's admission evaluates them: a binding with the `Deny` action puts its policy
//! in force in the namespaces its `matchResources.namespaceSelector` (`matchLabels`) selects;
//! the policy's `matchConstraints.resourceRules` pick the requests, its `matchConditions`
//! must all hold, its `variables` are bound in order, and the first `validations` expression
//! that is false denies the request with its `messageExpression` or `message` and `reason`.
//!
//! Expressions run on the `cel` interpreter with the Kubernetes extension functions of
//! kube-cel, the implementation the CRD rules use. Simplifications: `params`, `authorizer`,
//! `auditAnnotations` and `failurePolicy: Ignore` are not supported (an expression that fails
//! to evaluate always denies), and variables are evaluated eagerly (one that fails is left
//! unbound, so only expressions that use it fail).

use std::collections::HashMap;
use std::sync::Arc;

use kube::core::cel::KubeCelExt;
use kube::core::cel::cel::objects::{Key, Map};
use kube::core::cel::cel::{Context, Program, Value as CelValue};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::resource::ResourceType;
use crate::users::User;

/// Storage key of ValidatingAdmissionPolicies.
pub(crate) const POLICIES: (&str, &str) = (
    "admissionregistration.k8s.io",
    "validatingadmissionpolicies",
);
/// Storage key of ValidatingAdmissionPolicyBindings.
pub(crate) const BINDINGS: (&str, &str) = (
    "admissionregistration.k8s.io",
    "validatingadmissionpolicybindings",
);

/// The operation a request performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Create,
    Update,
    Delete,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
        }
    }
}

/// What admission knows of a request.
pub(crate) struct Attributes<'a> {
    pub(crate) operation: Operation,
    pub(crate) rt: &'a ResourceType,
    /// `status` for a write of the status subresource.
    pub(crate) subresource: Option<&'static str>,
    pub(crate) namespace: &'a str,
    pub(crate) name: &'a str,
    /// The object as it would be stored; null for a delete.
    pub(crate) object: &'a Value,
    /// The object as it is stored; null for a create.
    pub(crate) old_object: &'a Value,
    /// The Namespace of a namespaced object.
    pub(crate) namespace_object: Option<&'a Value>,
    pub(crate) user: &'a User,
}

/// Admits or denies a request against every policy in force.
///
/// # Errors
/// [`Error::Forbidden`] (403) or [`Error::Invalid`] (422), as the denying validation's
/// `reason` says, naming the policy and binding.
pub(crate) fn admit<'v>(
    policies: impl IntoIterator<Item = &'v Value> + Clone,
    bindings: impl IntoIterator<Item = &'v Value>,
    attributes: &Attributes<'_>,
) -> Result<()> {
    for binding in bindings {
        let spec = &binding["spec"];
        let denies = spec["validationActions"]
            .as_array()
            .is_some_and(|actions| actions.iter().any(|a| a == "Deny"));
        if !denies || !namespace_selected(&spec["matchResources"], attributes) {
            continue;
        }
        let Some(policy) = policies
            .clone()
            .into_iter()
            .find(|policy| policy["metadata"]["name"] == spec["policyName"])
        else {
            continue;
        };
        if !rules_match(&policy["spec"]["matchConstraints"], attributes) {
            continue;
        }
        evaluate(policy, binding, attributes)?;
    }
    Ok(())
}

fn namespace_selected(match_resources: &Value, attributes: &Attributes<'_>) -> bool {
    let Some(wanted) = match_resources["namespaceSelector"]["matchLabels"].as_object() else {
        return true;
    };
    let Some(namespace) = attributes.namespace_object else {
        return wanted.is_empty();
    };
    let labels = &namespace["metadata"]["labels"];
    wanted.iter().all(|(key, value)| labels[key] == *value)
}

fn rules_match(constraints: &Value, attributes: &Attributes<'_>) -> bool {
    let rt = attributes.rt;
    let resource = match attributes.subresource {
        Some(sub) => format!("{}/{sub}", rt.plural),
        None => rt.plural.clone(),
    };
    let listed = |rule: &Value, field: &str, wanted: &str| {
        rule[field]
            .as_array()
            .is_some_and(|items| items.iter().any(|item| item == "*" || item == wanted))
    };
    constraints["resourceRules"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|rule| {
            listed(rule, "apiGroups", &rt.group)
                && listed(rule, "apiVersions", &rt.version)
                && listed(rule, "operations", attributes.operation.as_str())
                && listed(rule, "resources", &resource)
        })
}

/// Runs one policy's conditions, variables and validations.
fn evaluate(policy: &Value, binding: &Value, attributes: &Attributes<'_>) -> Result<()> {
    let spec = &policy["spec"];
    let policy_name = policy["metadata"]["name"].as_str().unwrap_or_default();
    let binding_name = binding["metadata"]["name"].as_str().unwrap_or_default();
    let mut ctx = context(attributes);
    let deny = |reason: Option<&str>, message: String| {
        let detail = format!(
            "ValidatingAdmissionPolicy '{policy_name}' with binding '{binding_name}' denied request: {message}"
        );
        let rt = attributes.rt;
        let plural = if rt.group.is_empty() {
            rt.plural.clone()
        } else {
            format!("{}.{}", rt.plural, rt.group)
        };
        match reason {
            Some("Forbidden") => Error::Forbidden {
                plural,
                name: attributes.name.to_owned(),
                detail,
            },
            _ => Error::Invalid {
                what: format!("{plural} {:?}", attributes.name),
                detail,
            },
        }
    };

    for condition in spec["matchConditions"].as_array().into_iter().flatten() {
        let expression = condition["expression"].as_str().unwrap_or_default();
        match run(expression, &ctx) {
            Ok(CelValue::Bool(true)) => {}
            Ok(CelValue::Bool(false)) => return Ok(()),
            Ok(other) => {
                return Err(deny(
                    None,
                    format!("matchCondition {expression:?} gave {other:?}"),
                ));
            }
            Err(error) => {
                return Err(deny(
                    None,
                    format!("matchCondition {expression:?}: {error}"),
                ));
            }
        }
    }

    let mut variables: HashMap<Key, CelValue> = HashMap::new();
    for variable in spec["variables"].as_array().into_iter().flatten() {
        let (Some(name), Some(expression)) =
            (variable["name"].as_str(), variable["expression"].as_str())
        else {
            continue;
        };
        if let Ok(value) = run(expression, &ctx) {
            variables.insert(Key::String(Arc::new(name.to_owned())), value);
            ctx.add_variable_from_value(
                "variables",
                CelValue::Map(Map {
                    map: Arc::new(variables.clone()),
                }),
            );
        }
    }

    for validation in spec["validations"].as_array().into_iter().flatten() {
        let expression = validation["expression"].as_str().unwrap_or_default();
        let reason = validation["reason"].as_str();
        match run(expression, &ctx) {
            Ok(CelValue::Bool(true)) => {}
            Ok(CelValue::Bool(false)) => {
                let message = validation["messageExpression"]
                    .as_str()
                    .and_then(|text| match run(text, &ctx) {
                        Ok(CelValue::String(message)) => Some((*message).clone()),
                        _ => None,
                    })
                    .or_else(|| validation["message"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| format!("failed expression: {expression}"));
                return Err(deny(reason, message));
            }
            Ok(other) => {
                return Err(deny(
                    reason,
                    format!("expression {expression:?} gave {other:?}"),
                ));
            }
            Err(error) => {
                return Err(deny(
                    reason,
                    format!("expression {expression:?} failed: {error}"),
                ));
            }
        }
    }
    Ok(())
}

fn run(expression: &str, ctx: &Context<'_>) -> std::result::Result<CelValue, String> {
    let program = Program::compile(expression).map_err(|error| error.to_string())?;
    program.execute(ctx).map_err(|error| error.to_string())
}

/// The variables every expression sees: `object`, `oldObject`, `request` and
/// `namespaceObject`.
fn context(attributes: &Attributes<'_>) -> Context<'static> {
    let mut ctx = Context::default();
    ctx.register_all();
    let rt = attributes.rt;
    let request = json!({
        "operation": attributes.operation.as_str(),
        "name": attributes.name,
        "namespace": attributes.namespace,
        "dryRun": false,
        "kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "resource": {"group": rt.group, "version": rt.version, "resource": rt.plural},
        "subResource": attributes.subresource.unwrap_or_default(),
        "userInfo": {"username": attributes.user.username, "groups": attributes.user.groups},
    });
    ctx.add_variable_from_value("object", to_cel(attributes.object));
    ctx.add_variable_from_value("oldObject", to_cel(attributes.old_object));
    ctx.add_variable_from_value("request", to_cel(&request));
    ctx.add_variable_from_value(
        "namespaceObject",
        attributes.namespace_object.map_or(CelValue::Null, to_cel),
    );
    ctx
}

/// JSON as CEL sees it: integers as `int`, objects as maps keyed by their field names as they
/// are (so `'a/b' in object.metadata.annotations` works as on the API server).
fn to_cel(value: &Value) -> CelValue {
    match value {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => CelValue::Int(i),
            (None, Some(u)) => CelValue::UInt(u),
            (None, None) => CelValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => CelValue::String(Arc::new(s.clone())),
        Value::Array(items) => CelValue::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(fields) => CelValue::Map(Map {
            map: Arc::new(
                fields
                    .iter()
                    .map(|(key, value)| (Key::String(Arc::new(key.clone())), to_cel(value)))
                    .collect(),
            ),
        }),
    }
}
