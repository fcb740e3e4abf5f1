//! The Prometheus Operator ServiceMonitor scraping the instance's `/metrics`; only built when
//! the ServiceMonitor kind exists in the cluster.

use serde_json::json;

use super::{Child, ChildKind, Ctx};

pub(crate) fn service_monitor(ctx: &Ctx<'_>) -> Child {
    Child {
        kind: ChildKind::ServiceMonitor,
        name: ctx.name.to_owned(),
        object: json!({
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": ctx.metadata(ctx.name, "instance"),
            "spec": {
                "selector": {"matchLabels": ctx.selector_labels("instance")},
                "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}],
            },
        }),
    }
}
