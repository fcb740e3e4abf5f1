//! ResourceQuota and LimitRange bounding what the namespace of a Cooperative may use.
//!
//! Tenants get no RBAC on these kinds; the operator re-applies them with force on every
//! reconcile, so an edit does not stick.

use serde_json::json;

use super::{Child, ChildKind, Ctx};

pub(crate) fn resource_quota(ctx: &Ctx<'_>) -> Child {
    let quota = &ctx.coop.spec.quota;
    Child {
        kind: ChildKind::ResourceQuota,
        name: ctx.name.to_owned(),
        object: json!({
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": ctx.metadata(ctx.name, "isolation"),
            "spec": {"hard": {
                "limits.cpu": quota.cpu,
                "limits.memory": quota.memory,
                "requests.storage": quota.storage,
                "pods": quota.pods,
            }},
        }),
    }
}

pub(crate) fn limit_range(ctx: &Ctx<'_>) -> Child {
    Child {
        kind: ChildKind::LimitRange,
        name: ctx.name.to_owned(),
        object: json!({
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": ctx.metadata(ctx.name, "isolation"),
            "spec": {"limits": [{
                "type": "Container",
                "default": {"cpu": "500m", "memory": "512Mi"},
                "defaultRequest": {"cpu": "50m", "memory": "128Mi"},
            }]},
        }),
    }
}
