//! The Service in front of the instance pods.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Child, ChildKind, Ctx, INSTANCE_PORT};

pub(crate) fn service(ctx: &Ctx<'_>) -> Child {
    let service = Service {
        metadata: ctx.metadata(ctx.name, "instance"),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(ctx.selector_labels("instance")),
            ports: Some(vec![ServicePort {
                name: Some("http".to_owned()),
                port: INSTANCE_PORT,
                target_port: Some(IntOrString::String("http".to_owned())),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };
    Child::typed(ChildKind::Service, &service)
}
