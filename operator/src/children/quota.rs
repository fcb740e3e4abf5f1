//! ResourceQuota and LimitRange bounding what the namespace of a Cooperative may use.
//!
//! Tenants get no RBAC on these kinds; the operator re-applies them with force on every
//! reconcile, so an edit does not stick.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    LimitRange, LimitRangeItem, LimitRangeSpec, ResourceQuota, ResourceQuotaSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::{Child, ChildKind, Ctx};

pub(crate) fn resource_quota(ctx: &Ctx<'_>) -> Child {
    let quota = &ctx.coop.spec.quota;
    let quota = ResourceQuota {
        metadata: ctx.metadata(ctx.name, "isolation"),
        spec: Some(ResourceQuotaSpec {
            hard: Some(quantities(&[
                ("limits.cpu", &quota.cpu),
                ("limits.memory", &quota.memory),
                ("requests.storage", &quota.storage),
                ("pods", &quota.pods),
            ])),
            ..ResourceQuotaSpec::default()
        }),
        ..ResourceQuota::default()
    };
    Child::typed(ChildKind::ResourceQuota, &quota)
}

pub(crate) fn limit_range(ctx: &Ctx<'_>) -> Child {
    let range = LimitRange {
        metadata: ctx.metadata(ctx.name, "isolation"),
        spec: Some(LimitRangeSpec {
            limits: vec![LimitRangeItem {
                type_: "Container".to_owned(),
                default: Some(quantities(&[("cpu", "500m"), ("memory", "512Mi")])),
                default_request: Some(quantities(&[("cpu", "50m"), ("memory", "128Mi")])),
                ..LimitRangeItem::default()
            }],
        }),
    };
    Child::typed(ChildKind::LimitRange, &range)
}

/// A map of resource names to quantities.
pub(crate) fn quantities(items: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    items
        .iter()
        .map(|(name, quantity)| ((*name).to_owned(), Quantity((*quantity).to_owned())))
        .collect()
}
