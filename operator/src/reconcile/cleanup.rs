//! Deletion: the finalizer's cleanup applies `spec.deletionPolicy` to the data (Secrets,
//! volumes, a CloudNativePG cluster) and frees what the Cooperative held.

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use mono_crds::{Cooperative, DatabaseMode, DeletionPolicy};
use serde::de::DeserializeOwned;
use serde_json::json;
use tracing::info;

use super::status_write::publish_event;
use super::{Context, kube_error, release_upgrade_slot};
use crate::children::{self, ChildKind};
use crate::status::Severity;
use crate::{Error, Result, Verb};

/// Applies the Deletion policy, then lets the finalizer go.
pub(crate) async fn cleanup(coop: &Cooperative, ctx: &Context) -> Result<Action> {
    let namespace = coop
        .namespace()
        .ok_or(Error::MissingObjectKey("metadata.namespace"))?;
    let name = coop.name_any();
    let selector = children::selector(&name);
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
    let policy = coop.spec.deletion_policy;
    let mut data = dispose(&secrets, "Secret", &selector, policy).await?;
    data.extend(dispose(&claims, "PersistentVolumeClaim", &selector, policy).await?);
    let (reason, note) = match policy {
        DeletionPolicy::Retain => {
            if coop.spec.database.mode == DatabaseMode::Cloudnativepg {
                let clusters: Api<DynamicObject> = Api::namespaced_with(
                    ctx.client.clone(),
                    &namespace,
                    &ChildKind::CnpgCluster.api_resource(),
                );
                data.extend(dispose(&clusters, "Cluster", &selector, policy).await?);
            }
            (
                "DataRetained",
                format!(
                    "deletionPolicy Retain kept {}; delete them by hand when no longer needed",
                    data.join(", ")
                ),
            )
        }
        DeletionPolicy::Delete => (
            "DataDeleted",
            format!("deletionPolicy Delete removed {}", data.join(", ")),
        ),
    };
    info!(namespace, name, reason, "cooperative deleted");
    publish_event(ctx, coop, Severity::Normal, reason, note).await;
    ctx.probes.forget(&format!("{namespace}/{name}")).await;
    ctx.metrics.set_phase(&format!("{namespace}/{name}"), None);
    ctx.metrics.set_usage(&namespace, &name, None);
    release_upgrade_slot(ctx, &format!("{namespace}/{name}"));
    let state = ctx.store.state();
    for other in ctx.claims.release(coop, state.iter().map(AsRef::as_ref)) {
        // The receiver lives as long as the controller; a send fails only while stopping.
        let _ = ctx.retrigger.unbounded_send(other);
    }
    Ok(Action::await_change())
}

/// Applies `policy` to the objects matching `selector`: Retain removes their owner
/// references so garbage collection keeps them, Delete deletes them. Returns them as
/// `"<kind> <name>"`.
pub(crate) async fn dispose<K>(
    api: &Api<K>,
    kind: &str,
    selector: &str,
    policy: DeletionPolicy,
) -> Result<Vec<String>>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let objects = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(kube_error(Verb::List, kind, ""))?;
    let mut names = Vec::new();
    for object in objects {
        let name = object.meta().name.clone().unwrap_or_default();
        match policy {
            DeletionPolicy::Retain => {
                if !object.owner_references().is_empty() {
                    let patch = json!({"metadata": {"ownerReferences": null}});
                    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                        .map_err(kube_error(Verb::Patch, kind, &name))?;
                }
            }
            DeletionPolicy::Delete => match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(source) => return Err(kube_error(Verb::Delete, kind, &name)(source)),
            },
        }
        names.push(format!("{kind} {name}"));
    }
    Ok(names)
}
