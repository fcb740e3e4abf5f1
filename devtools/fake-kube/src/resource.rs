//! Resource types the fake serves: the built-in kinds a MONO operator touches, plus every
//! `CustomResourceDefinition` registered through the API, and the discovery documents built
//! from them.
//!
//! This module knows nothing about objects or HTTP; it only describes types.

use serde_json::{Value, json};

/// One served resource type (a group, version and plural), as discovery describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// API group, empty for the core group.
    pub group: String,
    /// API version within the group, such as `v1`.
    pub version: String,
    /// Lower-case plural used in URLs, such as `deployments`.
    pub plural: String,
    /// Lower-case singular name.
    pub singular: String,
    /// Kind of the objects, such as `Deployment`.
    pub kind: String,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Whether a `/status` subresource exists, which splits status writes from spec writes.
    pub status_subresource: bool,
}

impl ResourceType {
    fn builtin(
        group: &str,
        version: &str,
        plural: &str,
        kind: &str,
        namespaced: bool,
        status: bool,
    ) -> Self {
        Self {
            group: group.to_owned(),
            version: version.to_owned(),
            plural: plural.to_owned(),
            singular: kind.to_lowercase(),
            kind: kind.to_owned(),
            namespaced,
            status_subresource: status,
        }
    }

    /// The `apiVersion` of objects of this type: `v1` for core, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The storage key: objects of one group and plural share storage across versions.
    pub(crate) fn storage_key(&self) -> (String, String) {
        (self.group.clone(), self.plural.clone())
    }

    /// Reads the served versions of a `CustomResourceDefinition` object.
    ///
    /// Returns an empty list when the object lacks the fields a definition must have.
    pub(crate) fn from_crd(crd: &Value) -> Vec<Self> {
        let spec = &crd["spec"];
        let (Some(group), Some(plural), Some(kind)) = (
            spec["group"].as_str(),
            spec["names"]["plural"].as_str(),
            spec["names"]["kind"].as_str(),
        ) else {
            return Vec::new();
        };
        let singular = spec["names"]["singular"]
            .as_str()
            .map_or_else(|| kind.to_lowercase(), str::to_owned);
        let namespaced = spec["scope"].as_str() != Some("Cluster");
        let Some(versions) = spec["versions"].as_array() else {
            return Vec::new();
        };
        versions
            .iter()
            .filter(|version| version["served"].as_bool().unwrap_or(true))
            .filter_map(|version| {
                Some(Self {
                    group: group.to_owned(),
                    version: version["name"].as_str()?.to_owned(),
                    plural: plural.to_owned(),
                    singular: singular.clone(),
                    kind: kind.to_owned(),
                    namespaced,
                    status_subresource: version["subresources"]["status"].is_object(),
                })
            })
            .collect()
    }
}

/// The built-in resource types served from the start.
pub(crate) fn builtin_types() -> Vec<ResourceType> {
    let rt = ResourceType::builtin;
    vec![
        rt("", "v1", "namespaces", "Namespace", false, true),
        rt(
            "admissionregistration.k8s.io",
            "v1",
            "validatingadmissionpolicies",
            "ValidatingAdmissionPolicy",
            false,
            true,
        ),
        rt(
            "admissionregistration.k8s.io",
            "v1",
            "validatingadmissionpolicybindings",
            "ValidatingAdmissionPolicyBinding",
            false,
            false,
        ),
        rt("", "v1", "pods", "Pod", true, true),
        rt("", "v1", "services", "Service", true, true),
        rt("", "v1", "secrets", "Secret", true, false),
        rt("", "v1", "configmaps", "ConfigMap", true, false),
        rt(
            "",
            "v1",
            "persistentvolumeclaims",
            "PersistentVolumeClaim",
            true,
            true,
        ),
        rt(
            "",
            "v1",
            "persistentvolumes",
            "PersistentVolume",
            false,
            true,
        ),
        rt("", "v1", "serviceaccounts", "ServiceAccount", true, false),
        rt("", "v1", "events", "Event", true, false),
        rt("", "v1", "endpoints", "Endpoints", true, false),
        rt("", "v1", "resourcequotas", "ResourceQuota", true, true),
        rt("", "v1", "limitranges", "LimitRange", true, false),
        rt("", "v1", "nodes", "Node", false, true),
        rt("apps", "v1", "deployments", "Deployment", true, true),
        rt("apps", "v1", "statefulsets", "StatefulSet", true, true),
        rt("apps", "v1", "replicasets", "ReplicaSet", true, true),
        rt("apps", "v1", "daemonsets", "DaemonSet", true, true),
        rt("batch", "v1", "jobs", "Job", true, true),
        rt("batch", "v1", "cronjobs", "CronJob", true, true),
        rt(
            "networking.k8s.io",
            "v1",
            "ingresses",
            "Ingress",
            true,
            true,
        ),
        rt(
            "networking.k8s.io",
            "v1",
            "networkpolicies",
            "NetworkPolicy",
            true,
            false,
        ),
        rt(
            "policy",
            "v1",
            "poddisruptionbudgets",
            "PodDisruptionBudget",
            true,
            true,
        ),
        rt("coordination.k8s.io", "v1", "leases", "Lease", true, false),
        rt(
            "storage.k8s.io",
            "v1",
            "storageclasses",
            "StorageClass",
            false,
            false,
        ),
        rt("events.k8s.io", "v1", "events", "Event", true, false),
        rt(
            "rbac.authorization.k8s.io",
            "v1",
            "roles",
            "Role",
            true,
            false,
        ),
        rt(
            "rbac.authorization.k8s.io",
            "v1",
            "rolebindings",
            "RoleBinding",
            true,
            false,
        ),
        rt(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterroles",
            "ClusterRole",
            false,
            false,
        ),
        rt(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
            false,
        ),
        rt(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
            true,
        ),
    ]
}

/// `GET /api`: the core group's versions.
pub(crate) fn core_versions() -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
}

/// `GET /apis`: every non-core group with its versions.
pub(crate) fn group_list(types: &[ResourceType]) -> Value {
    let groups: Vec<Value> = group_names(types)
        .iter()
        .map(|group| api_group(types, group))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/<group>`: one group, or `None` when nothing of that group is served.
pub(crate) fn group(types: &[ResourceType], group: &str) -> Option<Value> {
    types
        .iter()
        .any(|rt| rt.group == group)
        .then(|| api_group(types, group))
}

/// `GET /api/v1` or `GET /apis/<group>/<version>`: the resources of one group version, or
/// `None` when that group version is not served.
pub(crate) fn resource_list(types: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let served: Vec<&ResourceType> = types
        .iter()
        .filter(|rt| rt.group == group && rt.version == version)
        .collect();
    let first = served.first()?;
    let mut resources = Vec::new();
    for rt in &served {
        resources.push(json!({
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        }));
        if rt.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", rt.plural),
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": first.api_version(),
        "resources": resources,
    }))
}

fn group_names(types: &[ResourceType]) -> Vec<String> {
    let mut names: Vec<String> = types
        .iter()
        .filter(|rt| !rt.group.is_empty())
        .map(|rt| rt.group.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn api_group(types: &[ResourceType], group: &str) -> Value {
    let mut versions: Vec<&str> = types
        .iter()
        .filter(|rt| rt.group == group)
        .map(|rt| rt.version.as_str())
        .collect();
    versions.sort_unstable();
    versions.dedup();
    let entries: Vec<Value> = versions
        .iter()
        .map(|version| json!({"groupVersion": format!("{group}/{version}"), "version": version}))
        .collect();
    let preferred = entries.last().cloned().unwrap_or(Value::Null);
    json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": entries,
        "preferredVersion": preferred,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_crd(crd: Value, expected: &[(&str, bool, bool)]) {
        let types = ResourceType::from_crd(&crd);
        let got: Vec<(&str, bool, bool)> = types
            .iter()
            .map(|rt| (rt.version.as_str(), rt.namespaced, rt.status_subresource))
            .collect();
        assert_eq!(got, expected, "{crd}");
    }

    #[test]
    fn crd_versions_are_read() {
        let names = json!({"plural": "widgets", "kind": "Widget"});
        check_crd(json!({"spec": {}}), &[]);
        check_crd(
            json!({"spec": {"group": "x.io", "names": names, "scope": "Namespaced",
                "versions": [{"name": "v1", "served": true, "subresources": {"status": {}}}]}}),
            &[("v1", true, true)],
        );
        check_crd(
            json!({"spec": {"group": "x.io", "names": names, "scope": "Cluster",
                "versions": [{"name": "v1alpha1", "served": false}, {"name": "v1", "served": true}]}}),
            &[("v1", false, false)],
        );
    }

    #[test]
    fn discovery_lists_status_subresources() {
        let types = builtin_types();
        let apps = resource_list(&types, "apps", "v1").expect("apps/v1 is built in");
        let names: Vec<&str> = apps["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert!(
            names.contains(&"deployments") && names.contains(&"deployments/status"),
            "{names:?}"
        );
        assert_eq!(resource_list(&types, "apps", "v2"), None);
        assert_eq!(
            group(&types, "batch").map(|g| g["preferredVersion"]["version"].clone()),
            Some(json!("v1"))
        );
        assert!(
            group_list(&types)["groups"]
                .as_array()
                .is_some_and(|g| !g.is_empty())
        );
    }
}
