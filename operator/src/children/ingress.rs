//! The Ingress publishing the instance on `spec.domain.host`, with TLS when asked for
//! (a cert-manager ClusterIssuer annotation when one is named).

use serde_json::json;

use super::{Child, ChildKind, Ctx, INSTANCE_PORT};

pub(crate) fn ingress(ctx: &Ctx<'_>) -> Option<Child> {
    let domain = ctx.coop.spec.domain.as_ref()?;
    let mut metadata = ctx.metadata(ctx.name, "instance");
    let mut spec = json!({
        "rules": [{
            "host": domain.host,
            "http": {"paths": [{
                "path": "/",
                "pathType": "Prefix",
                "backend": {"service": {"name": ctx.name, "port": {"number": INSTANCE_PORT}}},
            }]},
        }],
    });
    if let Some(class) = &domain.ingress_class_name {
        spec["ingressClassName"] = json!(class);
    }
    if let Some(tls) = &domain.tls {
        let secret_name = tls
            .secret_name
            .clone()
            .unwrap_or_else(|| format!("{}-tls", ctx.name));
        spec["tls"] = json!([{"hosts": [domain.host], "secretName": secret_name}]);
        if let Some(issuer) = &tls.cluster_issuer {
            metadata["annotations"] = json!({"cert-manager.io/cluster-issuer": issuer});
        }
    }
    Some(Child {
        kind: ChildKind::Ingress,
        name: ctx.name.to_owned(),
        object: json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": metadata,
            "spec": spec,
        }),
    })
}
