//! The Ingress publishing the instance on `spec.domain.host`, with TLS when asked for
//! (a cert-manager ClusterIssuer annotation when one is named).

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};

use super::{Child, ChildKind, Ctx, INSTANCE_PORT};

pub(crate) fn ingress(ctx: &Ctx<'_>) -> Option<Child> {
    let domain = ctx.coop.spec.domain.as_ref()?;
    let mut metadata = ctx.metadata(ctx.name, "instance");
    let tls = domain.tls.as_ref().map(|tls| {
        if let Some(issuer) = &tls.cluster_issuer {
            metadata.annotations =
                Some([("cert-manager.io/cluster-issuer".to_owned(), issuer.clone())].into());
        }
        vec![IngressTLS {
            hosts: Some(vec![domain.host.clone()]),
            secret_name: Some(
                tls.secret_name
                    .clone()
                    .unwrap_or_else(|| format!("{}-tls", ctx.name)),
            ),
        }]
    });
    let backend = IngressBackend {
        service: Some(IngressServiceBackend {
            name: ctx.name.to_owned(),
            port: Some(ServiceBackendPort {
                number: Some(INSTANCE_PORT),
                ..ServiceBackendPort::default()
            }),
        }),
        ..IngressBackend::default()
    };
    let ingress = Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: domain.ingress_class_name.clone(),
            rules: Some(vec![IngressRule {
                host: Some(domain.host.clone()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".to_owned()),
                        path_type: "Prefix".to_owned(),
                        backend,
                    }],
                }),
            }]),
            tls,
            ..IngressSpec::default()
        }),
        ..Ingress::default()
    };
    Some(Child::typed(ChildKind::Ingress, &ingress))
}
