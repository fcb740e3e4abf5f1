//! Role-based access control decided as the API server's RBAC authorizer decides it, over the
//! stored Roles, ClusterRoles, RoleBindings and ClusterRoleBindings, for the `authorizer` of
//! admission policies.
//!
//! The fake enforces none of this on its own requests (see the crate doc); only policies ask.
//! As on a real cluster, `system:masters` is allowed everything without a binding.
//! Simplification: an aggregated ClusterRole counts only the rules it lists itself, since no
//! controller aggregates them here.

use std::sync::Arc;

use serde_json::Value;

use crate::users::User;

/// Storage keys of the four RBAC kinds.
pub(crate) const ROLES: (&str, &str) = ("rbac.authorization.k8s.io", "roles");
pub(crate) const CLUSTER_ROLES: (&str, &str) = ("rbac.authorization.k8s.io", "clusterroles");
pub(crate) const ROLE_BINDINGS: (&str, &str) = ("rbac.authorization.k8s.io", "rolebindings");
pub(crate) const CLUSTER_ROLE_BINDINGS: (&str, &str) =
    ("rbac.authorization.k8s.io", "clusterrolebindings");

/// The RBAC objects stored when a request was admitted.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Rbac {
    pub(crate) roles: Vec<Arc<Value>>,
    pub(crate) cluster_roles: Vec<Arc<Value>>,
    pub(crate) role_bindings: Vec<Arc<Value>>,
    pub(crate) cluster_role_bindings: Vec<Arc<Value>>,
}

/// What a check asks to do `verb` to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// An API resource; an empty `namespace` asks cluster-wide, an empty `name` of any object.
    Resource {
        group: String,
        resource: String,
        subresource: String,
        namespace: String,
        name: String,
    },
    /// A non-resource URL such as `/healthz`.
    Path(String),
}

/// The answer to a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) allowed: bool,
    /// Which binding allowed it, in the RBAC authorizer's words; empty when denied.
    pub(crate) reason: String,
}

impl Rbac {
    /// Whether `user` may do `verb` to `target`.
    pub(crate) fn authorize(&self, user: &User, verb: &str, target: &Target) -> Decision {
        if user.groups.iter().any(|group| group == "system:masters") {
            return Decision {
                allowed: true,
                reason: String::new(),
            };
        }
        for binding in &self.cluster_role_bindings {
            if let Some(reason) = self.grants(binding, user, verb, target) {
                return Decision {
                    allowed: true,
                    reason,
                };
            }
        }
        // A RoleBinding grants only inside its namespace, and never non-resource URLs.
        if let Target::Resource { namespace, .. } = target
            && !namespace.is_empty()
        {
            for binding in self
                .role_bindings
                .iter()
                .filter(|binding| binding["metadata"]["namespace"] == namespace.as_str())
            {
                if let Some(reason) = self.grants(binding, user, verb, target) {
                    return Decision {
                        allowed: true,
                        reason,
                    };
                }
            }
        }
        Decision {
            allowed: false,
            reason: String::new(),
        }
    }

    /// The reason `binding` allows `verb` on `target` to `user`, if it does.
    fn grants(&self, binding: &Value, user: &User, verb: &str, target: &Target) -> Option<String> {
        let binding_namespace = binding["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default();
        let subject = binding["subjects"]
            .as_array()?
            .iter()
            .find(|subject| applies_to(subject, user, binding_namespace))?;
        let role_kind = binding["roleRef"]["kind"].as_str()?;
        let role_name = binding["roleRef"]["name"].as_str()?;
        let role = match role_kind {
            "ClusterRole" => self
                .cluster_roles
                .iter()
                .find(|role| role["metadata"]["name"] == role_name)?,
            "Role" => self.roles.iter().find(|role| {
                role["metadata"]["name"] == role_name
                    && role["metadata"]["namespace"] == binding_namespace
            })?,
            _ => return None,
        };
        role["rules"]
            .as_array()?
            .iter()
            .any(|rule| rule_allows(rule, verb, target))
            .then(|| {
                let binding_kind = if binding_namespace.is_empty() {
                    "ClusterRoleBinding"
                } else {
                    "RoleBinding"
                };
                let binding_name = binding["metadata"]["name"].as_str().unwrap_or_default();
                let binding_name = if binding_namespace.is_empty() {
                    binding_name.to_owned()
                } else {
                    format!("{binding_name}/{binding_namespace}")
                };
                format!(
                    "RBAC: allowed by {binding_kind} {binding_name:?} of {role_kind} {role_name:?} to {} {:?}",
                    subject["kind"].as_str().unwrap_or_default(),
                    subject["name"].as_str().unwrap_or_default(),
                )
            })
    }
}

/// Whether a binding's `subject` is `user`; a ServiceAccount without a namespace is in the
/// binding's.
fn applies_to(subject: &Value, user: &User, binding_namespace: &str) -> bool {
    let name = subject["name"].as_str().unwrap_or_default();
    match subject["kind"].as_str() {
        Some("User") => user.username == name,
        Some("Group") => user.groups.iter().any(|group| group == name),
        Some("ServiceAccount") => {
            let namespace = subject["namespace"]
                .as_str()
                .filter(|namespace| !namespace.is_empty())
                .unwrap_or(binding_namespace);
            user.username == format!("system:serviceaccount:{namespace}:{name}")
        }
        _ => false,
    }
}

/// Whether one PolicyRule allows `verb` on `target`, as upstream's `RuleAllows`.
fn rule_allows(rule: &Value, verb: &str, target: &Target) -> bool {
    let listed = |field: &str| -> Vec<&str> {
        rule[field]
            .as_array()
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let verbs = listed("verbs");
    if !verbs.iter().any(|listed| *listed == "*" || *listed == verb) {
        return false;
    }
    match target {
        Target::Resource {
            group,
            resource,
            subresource,
            name,
            ..
        } => {
            let combined = if subresource.is_empty() {
                resource.clone()
            } else {
                format!("{resource}/{subresource}")
            };
            let any_subresource = format!("*/{subresource}");
            let names = listed("resourceNames");
            listed("apiGroups")
                .iter()
                .any(|listed| *listed == "*" || listed == group)
                && listed("resources").iter().any(|listed| {
                    *listed == "*"
                        || *listed == combined
                        || (!subresource.is_empty() && *listed == any_subresource)
                })
                && (names.is_empty() || names.iter().any(|listed| listed == name))
        }
        Target::Path(path) => listed("nonResourceURLs").iter().any(|listed| {
            *listed == "*"
                || listed == path
                || listed
                    .strip_suffix('*')
                    .is_some_and(|prefix| path.starts_with(prefix))
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn resource(group: &str, resource: &str, subresource: &str, namespace: &str) -> Target {
        Target::Resource {
            group: group.to_owned(),
            resource: resource.to_owned(),
            subresource: subresource.to_owned(),
            namespace: namespace.to_owned(),
            name: "x".to_owned(),
        }
    }

    fn rbac() -> Rbac {
        Rbac {
            roles: vec![Arc::new(json!({
                "metadata": {"name": "editor", "namespace": "coop"},
                "rules": [{"apiGroups": ["apps"], "resources": ["deployments", "*/scale"], "verbs": ["get", "update"]}],
            }))],
            cluster_roles: vec![Arc::new(json!({
                "metadata": {"name": "reader"},
                "rules": [
                    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["x"]},
                    {"nonResourceURLs": ["/healthz", "/metrics/*"], "verbs": ["get"]},
                ],
            }))],
            role_bindings: vec![Arc::new(json!({
                "metadata": {"name": "editors", "namespace": "coop"},
                "subjects": [{"kind": "ServiceAccount", "name": "deployer"}],
                "roleRef": {"kind": "Role", "name": "editor"},
            }))],
            cluster_role_bindings: vec![Arc::new(json!({
                "metadata": {"name": "readers"},
                "subjects": [{"kind": "Group", "name": "auditors"}],
                "roleRef": {"kind": "ClusterRole", "name": "reader"},
            }))],
        }
    }

    #[test]
    fn checks() {
        let deployer = User::new("system:serviceaccount:coop:deployer", &[]);
        let auditor = User::new("eve", &["auditors"]);
        let admin = User::new("root", &["system:masters"]);
        let path = |path: &str| Target::Path(path.to_owned());
        let cases = [
            (
                &deployer,
                "update",
                resource("apps", "deployments", "", "coop"),
                true,
            ),
            (
                &deployer,
                "update",
                resource("apps", "statefulsets", "scale", "coop"),
                true,
            ),
            (
                &deployer,
                "delete",
                resource("apps", "deployments", "", "coop"),
                false,
            ),
            (
                &deployer,
                "get",
                resource("apps", "deployments", "", "other"),
                false,
            ),
            (
                &deployer,
                "get",
                resource("apps", "deployments", "", ""),
                false,
            ),
            (
                &auditor,
                "get",
                resource("", "configmaps", "", "anywhere"),
                true,
            ),
            (&auditor, "get", resource("", "configmaps", "", ""), true),
            (&auditor, "list", resource("", "configmaps", "", ""), false),
            (&auditor, "get", resource("", "secrets", "", ""), false),
            (&auditor, "get", path("/healthz"), true),
            (&auditor, "get", path("/metrics/cadvisor"), true),
            (&auditor, "get", path("/logs"), false),
            (&deployer, "get", path("/healthz"), false),
            (&admin, "delete", resource("", "nodes", "", ""), true),
        ];
        let rbac = rbac();
        for (user, verb, target, allowed) in cases {
            let decision = rbac.authorize(user, verb, &target);
            assert_eq!(
                decision.allowed, allowed,
                "{} {verb} {target:?}",
                user.username
            );
        }
        assert_eq!(
            rbac.authorize(
                &deployer,
                "get",
                &resource("apps", "deployments", "", "coop")
            )
            .reason,
            "RBAC: allowed by RoleBinding \"editors/coop\" of Role \"editor\" to ServiceAccount \"deployer\""
        );
    }
}
