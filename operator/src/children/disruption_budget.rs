//! The PodDisruptionBudget of the instance: a drain or a cluster upgrade evicts at most one
//! instance pod at a time, so a cooperative with several replicas keeps serving. With one
//! replica it allows the eviction (a single pod cannot be protected without blocking drains);
//! the builtin database, a single pod, has none for the same reason.

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Child, ChildKind, Ctx};

pub(crate) fn instance_budget(ctx: &Ctx<'_>) -> Child {
    let budget = PodDisruptionBudget {
        metadata: ctx.metadata(ctx.name, "instance"),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(ctx.selector("instance")),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    };
    Child::typed(ChildKind::PodDisruptionBudget, &budget)
}
