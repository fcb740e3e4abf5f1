//! Writing what was observed: status by server-side apply, Events for condition changes,
//! and the statuses of refused, failed and paused reconciles.

use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use mono_crds::{Cooperative, CooperativeStatus};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tracing::warn;

use super::{Context, PAUSED_ANNOTATION, error_chain, failure_text, kube_error, now};
use crate::children::{self, MANAGER};
use crate::status::{self, Observed, Severity};
use crate::uniqueness::Conflict;
use crate::{Error, Result, Verb};

/// Reports the pause and changes nothing else; the annotation's removal triggers the next
/// reconcile.
pub(crate) async fn pause(
    coop: &Cooperative,
    ctx: &Context,
    api: &Api<Cooperative>,
) -> Result<Action> {
    let status = status::paused_status(
        coop.status.as_ref(),
        coop.meta().generation,
        PAUSED_ANNOTATION,
        &now(),
    );
    let slot = ctx.probes.slot(&format!(
        "{}/{}",
        coop.namespace().unwrap_or_default(),
        coop.name_any()
    ));
    // The probe loop keeps refreshing the sync state, from a status that says so.
    let mut probed = slot.lock().await;
    let previous = probed.as_ref().map(|p| p.status.clone());
    let written = write_status(api, coop, ctx, previous.as_ref(), status).await?;
    if let Some(probed) = probed.as_mut() {
        probed.status = written;
    }
    Ok(Action::await_change())
}

/// Sets `Reconciled=False` with the error's reason (an Event follows the condition change);
/// when even that cannot be written, publishes the Event alone.
pub(crate) async fn report_failure(
    api: &Api<Cooperative>,
    coop: &Cooperative,
    ctx: &Context,
    err: &Error,
) {
    let status = status::reconcile_failed(
        coop.status.as_ref(),
        coop.meta().generation,
        err.reason(),
        failure_text(err),
        &now(),
    );
    let previous = coop.status.as_ref();
    if previous == Some(&status) {
        return;
    }
    if let Err(write_err) = apply_status(api, coop, &status).await {
        warn!(name = coop.name_any(), error = %error_chain(&write_err), "failure not written to status");
        publish_event(
            ctx,
            coop,
            Severity::Warning,
            "ReconcileFailed",
            error_chain(err),
        )
        .await;
        return;
    }
    let conditions = previous.map(|s| s.conditions.as_slice()).unwrap_or(&[]);
    for note in status::events(conditions, &status.conditions) {
        publish_event(ctx, coop, note.severity, &note.reason, note.note).await;
    }
}

pub(crate) async fn report_duplicate(
    api: &Api<Cooperative>,
    coop: &Cooperative,
    conflict: &Conflict,
    ctx: &Context,
) -> Result<()> {
    let status = status::duplicate_status(
        conflict,
        coop.meta().generation,
        coop.status.as_ref(),
        &now(),
    );
    write_status(api, coop, ctx, None, status).await.map(|_| ())
}

/// Writes the status `observed` leads to; `previous` is the status last written when it is
/// newer than the one `coop` carries.
pub(crate) async fn publish_status(
    api: &Api<Cooperative>,
    coop: &Cooperative,
    ctx: &Context,
    previous: Option<&CooperativeStatus>,
    observed: &Observed,
) -> Result<CooperativeStatus> {
    let previous = previous.or(coop.status.as_ref());
    let status = status::status(
        observed,
        coop.meta().generation,
        previous,
        children::endpoint(coop),
        &now(),
    );
    write_status(api, coop, ctx, previous, status).await
}

/// Writes `status` by server-side apply when it differs from `previous` (the status last
/// written, or else the one `coop` carries), records its phase and publishes Events for the
/// condition changes.
pub(crate) async fn write_status(
    api: &Api<Cooperative>,
    coop: &Cooperative,
    ctx: &Context,
    previous: Option<&CooperativeStatus>,
    status: CooperativeStatus,
) -> Result<CooperativeStatus> {
    let key = format!(
        "{}/{}",
        coop.namespace().unwrap_or_default(),
        coop.name_any()
    );
    ctx.metrics.set_phase(&key, status.phase);
    ctx.metrics.set_usage(
        &coop.namespace().unwrap_or_default(),
        &coop.name_any(),
        status.usage.as_ref(),
    );
    let previous = previous.or(coop.status.as_ref());
    if previous == Some(&status) {
        return Ok(status);
    }
    apply_status(api, coop, &status).await?;
    let previous = previous.map(|s| s.conditions.as_slice()).unwrap_or(&[]);
    for note in status::events(previous, &status.conditions) {
        publish_event(ctx, coop, note.severity, &note.reason, note.note).await;
    }
    Ok(status)
}

/// Writes `status` to the status subresource of `object` by server-side apply.
pub(crate) async fn apply_status<K>(api: &Api<K>, object: &K, status: &impl Serialize) -> Result<()>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let name = object.name_any();
    let kind = K::kind(&());
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": kind,
        "status": status,
    });
    api.patch_status(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map_err(kube_error(Verb::Patch, &kind, &name))?;
    Ok(())
}

pub(crate) async fn publish_event(
    ctx: &Context,
    coop: &Cooperative,
    severity: Severity,
    reason: &str,
    note: String,
) {
    let event = Event {
        type_: match severity {
            Severity::Normal => EventType::Normal,
            Severity::Warning => EventType::Warning,
        },
        reason: reason.to_owned(),
        note: Some(note),
        action: "Reconcile".to_owned(),
        secondary: None,
    };
    // Events are best effort: a failure to record one must not fail the reconcile.
    if let Err(err) = ctx.recorder.publish(&event, &coop.object_ref(&())).await {
        warn!(name = coop.name_any(), reason, error = %error_chain(&err), "event not recorded");
    }
}
