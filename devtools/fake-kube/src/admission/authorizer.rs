//! The `authorizer` variable of admission policies, with Kubernetes' CEL authorization
//! library: `authorizer.group(g).resource(r)` with optional `.subresource(s)`,
//! `.namespace(ns)` and `.name(n)`, then `.check(verb)`; `authorizer.path(p).check(verb)`;
//! `authorizer.serviceAccount(ns, name)` to ask for another principal; and
//! `authorizer.requestResource`, the request's own resource. A check's decision answers
//! `allowed()`, `reason()`, `errored()` and `error()`. Checks are decided by [`crate::rbac`]
//! for the requesting user.

use std::sync::Arc;

use kube::core::cel::cel::extractors::This;
use kube::core::cel::cel::objects::{Key, Map, Opaque};
use kube::core::cel::cel::{Context, ExecutionError, FunctionContext, Value};

use crate::rbac::{Rbac, Target};
use crate::users::User;

/// Who checks are about, and the RBAC objects that decide them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Principal {
    rbac: Arc<Rbac>,
    user: User,
}

/// `authorizer.group(g)`.
#[derive(Debug, PartialEq, Eq)]
struct GroupCheck {
    principal: Arc<Principal>,
    group: String,
}

/// A resource check being built, or `authorizer.requestResource`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ResourceCheck {
    principal: Arc<Principal>,
    group: String,
    resource: String,
    subresource: String,
    namespace: String,
    name: String,
}

/// `authorizer.path(p)`.
#[derive(Debug, PartialEq, Eq)]
struct PathCheck {
    principal: Arc<Principal>,
    path: String,
}

/// The result of `check(verb)`. RBAC decisions never fail here, so `errored()` is false.
#[derive(Debug, PartialEq, Eq)]
struct Decision {
    allowed: bool,
    reason: String,
}

macro_rules! opaque {
    ($($type:ident => $name:literal),* $(,)?) => {
        $(impl Opaque for $type {
            fn runtime_type_name(&self) -> &str {
                $name
            }
        })*
    };
}

opaque!(
    Principal => "kubernetes.authorization.Authorizer",
    GroupCheck => "kubernetes.authorization.GroupCheck",
    ResourceCheck => "kubernetes.authorization.ResourceCheck",
    PathCheck => "kubernetes.authorization.PathCheck",
    Decision => "kubernetes.authorization.Decision",
);

/// The request's resource, as `authorizer.requestResource` names it.
pub(crate) struct RequestResource<'a> {
    pub(crate) group: &'a str,
    pub(crate) resource: &'a str,
    pub(crate) subresource: &'a str,
    pub(crate) namespace: &'a str,
    pub(crate) name: &'a str,
}

/// Binds `authorizer` for `user` and registers the library's functions on `ctx`.
pub(crate) fn register(
    ctx: &mut Context<'_>,
    rbac: Arc<Rbac>,
    user: &User,
    request: &RequestResource<'_>,
) {
    let principal = Arc::new(Principal {
        rbac,
        user: user.clone(),
    });
    let request_resource = ResourceCheck {
        principal: principal.clone(),
        group: request.group.to_owned(),
        resource: request.resource.to_owned(),
        subresource: request.subresource.to_owned(),
        namespace: request.namespace.to_owned(),
        name: request.name.to_owned(),
    };
    // A map, so that `authorizer.requestResource` selects a field; the methods called on
    // `authorizer` itself are registered under their qualified names.
    ctx.add_variable_from_value(
        "authorizer",
        Value::Map(Map {
            map: Arc::new(
                [(
                    Key::String(Arc::new("requestResource".to_owned())),
                    Value::Opaque(Arc::new(request_resource)),
                )]
                .into(),
            ),
        }),
    );

    let of_request = principal.clone();
    ctx.add_function(
        "authorizer.group",
        move |_: &FunctionContext, group: Arc<String>| {
            Ok::<_, ExecutionError>(group_check(of_request.clone(), &group))
        },
    );
    let of_request = principal.clone();
    ctx.add_function(
        "authorizer.path",
        move |_: &FunctionContext, path: Arc<String>| {
            Ok::<_, ExecutionError>(path_check(of_request.clone(), &path))
        },
    );
    let of_request = principal;
    ctx.add_function(
        "authorizer.serviceAccount",
        move |_: &FunctionContext, namespace: Arc<String>, name: Arc<String>| {
            Ok::<_, ExecutionError>(service_account(&of_request, &namespace, &name))
        },
    );
    ctx.add_function(
        "serviceAccount",
        |ftx: &FunctionContext,
         This(this): This<Value>,
         namespace: Arc<String>,
         name: Arc<String>| {
            let principal = receiver::<Principal>(ftx, &this)?;
            Ok::<_, ExecutionError>(service_account(principal, &namespace, &name))
        },
    );
    ctx.add_function(
        "group",
        |ftx: &FunctionContext, This(this): This<Value>, group: Arc<String>| {
            let principal = Arc::new(receiver::<Principal>(ftx, &this)?.clone());
            Ok::<_, ExecutionError>(group_check(principal, &group))
        },
    );
    ctx.add_function(
        "path",
        |ftx: &FunctionContext, This(this): This<Value>, path: Arc<String>| {
            let principal = Arc::new(receiver::<Principal>(ftx, &this)?.clone());
            Ok::<_, ExecutionError>(path_check(principal, &path))
        },
    );
    ctx.add_function(
        "resource",
        |ftx: &FunctionContext, This(this): This<Value>, resource: Arc<String>| {
            let check = receiver::<GroupCheck>(ftx, &this)?;
            Ok::<_, ExecutionError>(Value::Opaque(Arc::new(ResourceCheck {
                principal: check.principal.clone(),
                group: check.group.clone(),
                resource: (*resource).clone(),
                subresource: String::new(),
                namespace: String::new(),
                name: String::new(),
            })))
        },
    );
    ctx.add_function(
        "subresource",
        |ftx: &FunctionContext, This(this): This<Value>, value: Arc<String>| {
            refine(ftx, &this, |check| check.subresource = (*value).clone())
        },
    );
    ctx.add_function(
        "namespace",
        |ftx: &FunctionContext, This(this): This<Value>, value: Arc<String>| {
            refine(ftx, &this, |check| check.namespace = (*value).clone())
        },
    );
    ctx.add_function(
        "name",
        |ftx: &FunctionContext, This(this): This<Value>, value: Arc<String>| {
            refine(ftx, &this, |check| check.name = (*value).clone())
        },
    );
    ctx.add_function("check", check);
    ctx.add_function(
        "allowed",
        |ftx: &FunctionContext, This(this): This<Value>| {
            Ok::<_, ExecutionError>(Value::Bool(receiver::<Decision>(ftx, &this)?.allowed))
        },
    );
    ctx.add_function(
        "reason",
        |ftx: &FunctionContext, This(this): This<Value>| {
            Ok::<_, ExecutionError>(Value::String(Arc::new(
                receiver::<Decision>(ftx, &this)?.reason.clone(),
            )))
        },
    );
    ctx.add_function(
        "errored",
        |ftx: &FunctionContext, This(this): This<Value>| {
            receiver::<Decision>(ftx, &this)?;
            Ok::<_, ExecutionError>(Value::Bool(false))
        },
    );
    ctx.add_function("error", |ftx: &FunctionContext, This(this): This<Value>| {
        receiver::<Decision>(ftx, &this)?;
        Ok::<_, ExecutionError>(Value::String(Arc::new(String::new())))
    });
}

/// `this` as the library type `T`, or an error naming the function called on something else.
fn receiver<'v, T: Opaque>(
    ftx: &FunctionContext,
    this: &'v Value,
) -> Result<&'v T, ExecutionError> {
    match this {
        Value::Opaque(opaque) => opaque.downcast_ref::<T>(),
        _ => None,
    }
    .ok_or_else(|| ftx.error(format!("{}() does not apply to {this:?}", ftx.name)))
}

fn group_check(principal: Arc<Principal>, group: &str) -> Value {
    Value::Opaque(Arc::new(GroupCheck {
        principal,
        group: group.to_owned(),
    }))
}

fn path_check(principal: Arc<Principal>, path: &str) -> Value {
    Value::Opaque(Arc::new(PathCheck {
        principal,
        path: path.to_owned(),
    }))
}

/// The principal of service account `name` in `namespace`, as the API server authenticates
/// it.
fn service_account(principal: &Principal, namespace: &str, name: &str) -> Value {
    Value::Opaque(Arc::new(Principal {
        rbac: principal.rbac.clone(),
        user: User::new(
            &format!("system:serviceaccount:{namespace}:{name}"),
            &[
                "system:serviceaccounts",
                &format!("system:serviceaccounts:{namespace}"),
            ],
        ),
    }))
}

/// A copy of the resource check `this` with one field changed by `change`.
fn refine(
    ftx: &FunctionContext,
    this: &Value,
    change: impl FnOnce(&mut ResourceCheck),
) -> Result<Value, ExecutionError> {
    let mut check = receiver::<ResourceCheck>(ftx, this)?.clone();
    change(&mut check);
    Ok(Value::Opaque(Arc::new(check)))
}

/// `check(verb)` on a resource or path check.
fn check(
    ftx: &FunctionContext,
    This(this): This<Value>,
    verb: Arc<String>,
) -> Result<Value, ExecutionError> {
    let (principal, target) = if let Ok(check) = receiver::<ResourceCheck>(ftx, &this) {
        (
            &check.principal,
            Target::Resource {
                group: check.group.clone(),
                resource: check.resource.clone(),
                subresource: check.subresource.clone(),
                namespace: check.namespace.clone(),
                name: check.name.clone(),
            },
        )
    } else {
        let check = receiver::<PathCheck>(ftx, &this)?;
        (&check.principal, Target::Path(check.path.clone()))
    };
    let decision = principal.rbac.authorize(&principal.user, &verb, &target);
    Ok(Value::Opaque(Arc::new(Decision {
        allowed: decision.allowed,
        reason: decision.reason,
    })))
}
