//! The PodDisruptionBudget of the instance: a drain or a cluster upgrade evicts at most one
//! instance pod at a time, so a cooperative with several replicas keeps serving. With one
//! replica it allows the eviction (a single pod cannot be protected without blocking drains);
//! the builtin database, a single pod, has none for the same reason.

use serde_json::json;

use super::{Child, ChildKind, Ctx};

pub(crate) fn instance_budget(ctx: &Ctx<'_>) -> Child {
    Child {
        kind: ChildKind::PodDisruptionBudget,
        name: ctx.name.to_owned(),
        object: json!({
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": ctx.metadata(ctx.name, "instance"),
            "spec": {
                "maxUnavailable": 1,
                "selector": {"matchLabels": ctx.selector_labels("instance")},
            },
        }),
    }
}
