//! ValidatingAdmissionPolicies, evaluated on every create, update and delete they match as
//! the API server's admission evaluates them: a binding with the `Deny` action puts its policy
//! in force in the namespaces its `matchResources.namespaceSelector` (`matchLabels`) selects;
//! the policy's `matchConstraints.resourceRules` pick the requests, the binding's `paramRef`
//! finds the params of the policy's `paramKind` (see [`params`]) and the policy is evaluated
//! once per params object: its `matchConditions` must all hold, its `variables` are bound in
//! order, and the first `validations` expression that is false denies the request with its
//! `messageExpression` or `message` and `reason`. An expression that fails to evaluate, or
//! params that cannot be collected, deny the request under `failurePolicy: Fail` (the default)
//! and are passed over under `Ignore`, as on the API server.
//!
//! Expressions run on the `cel` interpreter with the Kubernetes extension functions of
//! kube-cel, the implementation the CRD rules use, and see `object`, `oldObject`, `request`,
//! `namespaceObject`, `params` and `authorizer` (see [`authorizer`], decided by the stored
//! RBAC objects). Simplifications: `auditAnnotations` and the `Warn` and `Audit` actions are
//! not supported, and variables are evaluated eagerly (one that fails is left unbound, so only
//! expressions that use it fail).

mod authorizer;
mod params;

use std::collections::HashMap;
use std::sync::Arc;

use kube::core::cel::KubeCelExt;
use kube::core::cel::cel::objects::{Key, Map};
use kube::core::cel::cel::{Context, Program, Value as CelValue};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::rbac::{self, Rbac};
use crate::resource::ResourceType;
use crate::users::User;
use authorizer::RequestResource;

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

/// What admission reads of the stored objects besides policies and bindings: params objects
/// and the RBAC objects the `authorizer` decides by.
pub(crate) trait Stored {
    /// Whether the kind `kind` of `api_version` is namespaced, and its stored objects; `None`
    /// when the server does not serve it.
    fn of_kind(&self, api_version: &str, kind: &str) -> Option<(bool, Vec<Arc<Value>>)>;
    /// The stored objects of the storage key `(group, plural)`.
    fn objects(&self, key: (&str, &str)) -> Vec<Arc<Value>>;
}

/// How one evaluation of a policy ended.
enum Outcome {
    Admit,
    Deny {
        reason: Option<String>,
        message: String,
    },
    /// An expression failed to evaluate; `failurePolicy` decides.
    Error(String),
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
    stored: &dyn Stored,
) -> Result<()> {
    let mut rbac = None;
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
        // `Fail` unless the policy says `Ignore`, as the API server defaults it.
        let ignore_errors = policy["spec"]["failurePolicy"] == "Ignore";
        let denial = |reason: Option<&str>, message: String| {
            denial(policy, binding, attributes, reason, message)
        };
        let params = match params::collect(policy, binding, attributes.namespace, stored) {
            Ok(params) => params,
            Err(_) if ignore_errors => continue,
            Err(error) => {
                return Err(denial(
                    None,
                    format!("failed to configure binding: {error}"),
                ));
            }
        };
        let rbac = rbac.get_or_insert_with(|| {
            Arc::new(Rbac {
                roles: stored.objects(rbac::ROLES),
                cluster_roles: stored.objects(rbac::CLUSTER_ROLES),
                role_bindings: stored.objects(rbac::ROLE_BINDINGS),
                cluster_role_bindings: stored.objects(rbac::CLUSTER_ROLE_BINDINGS),
            })
        });
        for param in params {
            match evaluate(policy, &param, attributes, rbac) {
                Outcome::Admit => {}
                Outcome::Deny { reason, message } => {
                    return Err(denial(reason.as_deref(), message));
                }
                Outcome::Error(_) if ignore_errors => {}
                Outcome::Error(message) => return Err(denial(None, message)),
            }
        }
    }
    Ok(())
}

/// The API server's refusal by `policy` through `binding`: 403 for the reason `Forbidden`,
/// 422 (`Invalid`) otherwise.
fn denial(
    policy: &Value,
    binding: &Value,
    attributes: &Attributes<'_>,
    reason: Option<&str>,
    message: String,
) -> Error {
    let policy_name = policy["metadata"]["name"].as_str().unwrap_or_default();
    let binding_name = binding["metadata"]["name"].as_str().unwrap_or_default();
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

/// Runs one policy's conditions, variables and validations with `params`.
fn evaluate(
    policy: &Value,
    params: &Value,
    attributes: &Attributes<'_>,
    rbac: &Arc<Rbac>,
) -> Outcome {
    let spec = &policy["spec"];
    let mut ctx = context(attributes, params, rbac);

    // One false condition skips the policy, whatever the others do; otherwise a condition
    // that failed to evaluate is an error.
    let mut errors = Vec::new();
    for condition in spec["matchConditions"].as_array().into_iter().flatten() {
        let name = condition["name"].as_str().unwrap_or_default();
        let expression = condition["expression"].as_str().unwrap_or_default();
        match run(expression, &ctx) {
            Ok(CelValue::Bool(true)) => {}
            Ok(_) => return Outcome::Admit,
            Err(error) => errors.push(format!("matchCondition '{name}': {error}")),
        }
    }
    if !errors.is_empty() {
        return Outcome::Error(errors.join(", "));
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
                return Outcome::Deny {
                    reason: validation["reason"].as_str().map(str::to_owned),
                    message,
                };
            }
            Ok(other) => {
                return Outcome::Error(format!(
                    "expression '{expression}' resulted in a non-bool value {other:?}"
                ));
            }
            Err(error) => {
                return Outcome::Error(format!(
                    "expression '{expression}' resulted in error: {error}"
                ));
            }
        }
    }
    Outcome::Admit
}

fn run(expression: &str, ctx: &Context<'_>) -> std::result::Result<CelValue, String> {
    let program = Program::compile(expression).map_err(|error| error.to_string())?;
    program.execute(ctx).map_err(|error| error.to_string())
}

/// The variables every expression sees: `object`, `oldObject`, `request`, `namespaceObject`,
/// `params` and `authorizer`.
fn context(attributes: &Attributes<'_>, params: &Value, rbac: &Arc<Rbac>) -> Context<'static> {
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
    ctx.add_variable_from_value("params", to_cel(params));
    authorizer::register(
        &mut ctx,
        rbac.clone(),
        attributes.user,
        &RequestResource {
            group: &rt.group,
            resource: &rt.plural,
            subresource: attributes.subresource.unwrap_or_default(),
            namespace: attributes.namespace,
            name: attributes.name,
        },
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
