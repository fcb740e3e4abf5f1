//! The Service in front of the instance pods.

use serde_json::json;

use super::{Child, ChildKind, Ctx, INSTANCE_PORT};

pub(crate) fn service(ctx: &Ctx<'_>) -> Child {
    Child {
        kind: ChildKind::Service,
        name: ctx.name.to_owned(),
        object: json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": ctx.metadata(ctx.name, "instance"),
            "spec": {
                "type": "ClusterIP",
                "selector": ctx.selector_labels("instance"),
                "ports": [{"name": "http", "port": INSTANCE_PORT, "targetPort": "http"}],
            },
        }),
    }
}
