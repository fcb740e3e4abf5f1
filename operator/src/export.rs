//! The CooperativeExport controller: a Job runs `mono export` into a new volume, and the
//! export's manifest (read back through the container's termination message) is recorded in
//! the status with the checksum of every part.
//!
//! The volume has no owner: it is the point of the export and outlives both the
//! CooperativeExport and the Cooperative, until staff delete it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, ListParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use mono_crds::{
    Cooperative, CooperativeExport, CooperativeExportStatus, ExportPhase, ExportedFile,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::{debug, instrument, warn};

use crate::children::migration::{EXPORT_MOUNT, JobParams, instance_job};
use crate::children::{Child, ChildConfig, ChildKind, Ctx, MANAGER, target_version};
use crate::metrics::Metrics;
use crate::reconcile::{apply_child, apply_status, backoff, error_chain, kube_error, now};
use crate::{Error, Result, Verb};

/// Directory inside the export volume that `mono export` writes to.
pub const EXPORT_DIR: &str = "export";
/// Name of the manifest `mono export` writes into the export directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Label naming the CooperativeExport on its Job and volume.
pub const EXPORT_LABEL: &str = "mono.coopenomics.io/export";
const RUNNING_REQUEUE: Duration = Duration::from_secs(30);
const WAITING_REQUEUE: Duration = Duration::from_secs(60);

/// Shared state of the export reconciler.
pub struct ExportContext {
    client: Client,
    children: ChildConfig,
    metrics: Arc<Metrics>,
}

/// Runs the CooperativeExport controller until `shutdown` resolves.
pub async fn run(
    client: Client,
    children: ChildConfig,
    watch_namespace: Option<&str>,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let (exports, jobs): (Api<CooperativeExport>, Api<Job>) = match watch_namespace {
        Some(namespace) => (
            Api::namespaced(client.clone(), namespace),
            Api::namespaced(client.clone(), namespace),
        ),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };
    let ctx = Arc::new(ExportContext {
        client,
        children,
        metrics,
    });
    Controller::new(exports, watcher::Config::default().any_semantic())
        .owns(jobs, watcher::Config::default().labels(EXPORT_LABEL))
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(err) = result {
                debug!(error = %error_chain(&err), "export reconcile not run");
            }
        })
        .await;
}

/// The volume and Job of `export`, for the Cooperative `coop`.
pub fn export_children(
    export: &CooperativeExport,
    coop: &Cooperative,
    config: &ChildConfig,
) -> Result<Vec<Child>> {
    let export_name = export
        .metadata
        .name
        .as_deref()
        .ok_or(Error::MissingObjectKey("metadata.name"))?;
    let owner = export
        .controller_owner_ref(&())
        .map(|owner| serde_json::to_value(owner).map_err(Error::Serialize))
        .transpose()?;
    let ctx = Ctx::new(coop)?;
    let name = claim_name(export_name);
    let version = coop
        .status
        .as_ref()
        .and_then(|s| s.version.as_deref())
        .unwrap_or_else(|| target_version(coop, config));

    let storage = &export.spec.storage;
    let mut claim_spec = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": storage.size}},
    });
    if let Some(class) = &storage.storage_class_name {
        claim_spec["storageClassName"] = json!(class);
    }
    let claim = Child {
        kind: ChildKind::PersistentVolumeClaim,
        name: name.clone(),
        object: json!({
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {
                "name": name,
                "namespace": ctx.namespace,
                "labels": {
                    "app.kubernetes.io/name": "mono",
                    "app.kubernetes.io/component": "export",
                    "app.kubernetes.io/managed-by": MANAGER,
                    EXPORT_LABEL: export_name,
                },
            },
            "spec": claim_spec,
        }),
    };

    let out_dir = format!("{EXPORT_MOUNT}/{EXPORT_DIR}");
    let mut job = instance_job(
        &ctx,
        config,
        JobParams {
            name: &name,
            component: "export",
            version,
            args: vec!["export".to_owned(), "--out".to_owned(), out_dir.clone()],
            export_claim: Some(&name),
            writable: true,
            termination_message_path: Some(format!("{out_dir}/{MANIFEST_FILE}")),
        },
    );
    job.object["metadata"]["labels"][EXPORT_LABEL] = json!(export_name);
    match owner {
        Some(owner) => job.object["metadata"]["ownerReferences"] = json!([owner]),
        None => {
            if let Some(meta) = job.object["metadata"].as_object_mut() {
                meta.remove("ownerReferences");
            }
        }
    }
    Ok(vec![claim, job])
}

/// Name of the export volume and Job.
pub fn claim_name(export_name: &str) -> String {
    format!("{export_name}-export")
}

/// SHA-256 of a manifest and the parts it lists.
///
/// Reads `files` entries with `path` or `name`, `sha256` and optional `size` or `bytes`;
/// `None` when the text is not such a manifest.
pub fn parse_manifest(text: &str) -> Option<(String, Vec<ExportedFile>)> {
    let manifest: Value = serde_json::from_str(text).ok()?;
    let files = manifest.get("files")?.as_array()?;
    let files = files
        .iter()
        .map(|file| {
            Some(ExportedFile {
                name: file
                    .get("path")
                    .or_else(|| file.get("name"))?
                    .as_str()?
                    .to_owned(),
                sha256: file.get("sha256")?.as_str()?.to_ascii_lowercase(),
                size: file
                    .get("size")
                    .or_else(|| file.get("bytes"))
                    .and_then(Value::as_u64),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let digest = hex::encode(Sha256::digest(text.as_bytes()));
    Some((digest, files))
}

#[instrument(skip_all, fields(namespace = export.namespace().unwrap_or_default(), name = export.name_any()))]
async fn reconcile(export: Arc<CooperativeExport>, ctx: Arc<ExportContext>) -> Result<Action> {
    let _timer = ctx.metrics.reconcile_started();
    let finished = export
        .status
        .as_ref()
        .and_then(|s| s.phase)
        .is_some_and(|phase| matches!(phase, ExportPhase::Succeeded | ExportPhase::Failed));
    if finished {
        return Ok(Action::await_change());
    }
    let namespace = export
        .namespace()
        .ok_or(Error::MissingObjectKey("metadata.namespace"))?;
    let name = export.name_any();
    let api: Api<CooperativeExport> = Api::namespaced(ctx.client.clone(), &namespace);
    let cooperatives: Api<Cooperative> = Api::namespaced(ctx.client.clone(), &namespace);
    let coop_name = &export.spec.cooperative;
    let coop = cooperatives.get_opt(coop_name).await.map_err(kube_error(
        Verb::Get,
        "Cooperative",
        coop_name,
    ))?;
    let Some(coop) = coop else {
        let status = export_status(
            &export,
            ExportPhase::Pending,
            (
                "CooperativeNotFound",
                format!("Cooperative {coop_name} does not exist in namespace {namespace}"),
            ),
            None,
        );
        write_status(&api, &export, status).await?;
        return Ok(Action::requeue(WAITING_REQUEUE));
    };

    let mut job = None;
    for child in export_children(&export, &coop, &ctx.children)? {
        let applied = apply_child(&ctx.client, &namespace, &child).await?;
        if child.kind == ChildKind::Job {
            job = Some(serde_json::from_value::<Job>(applied).map_err(Error::Serialize)?);
        }
    }
    let job_status = job.and_then(|job| job.status).unwrap_or_default();
    let failed = job_status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Failed" && c.status == "True");
    let (phase, reason, manifest, action) = if job_status.succeeded.unwrap_or(0) > 0 {
        let message = termination_message(&ctx.client, &namespace, &claim_name(&name)).await?;
        match message.as_deref().and_then(parse_manifest) {
            Some(manifest) => (
                ExportPhase::Succeeded,
                ("ExportSucceeded", format!("exported {} parts into volume {}", manifest.1.len(), claim_name(&name))),
                Some(manifest),
                Action::await_change(),
            ),
            None => (
                ExportPhase::Failed,
                ("ManifestUnreadable", "the export Job succeeded but its manifest could not be read from the termination message".to_owned()),
                None,
                Action::await_change(),
            ),
        }
    } else if let Some(failed) = failed {
        (
            ExportPhase::Failed,
            (
                "ExportFailed",
                format!(
                    "the export Job failed: {}; read its logs, then delete and recreate this CooperativeExport",
                    failed
                        .message
                        .clone()
                        .or(failed.reason.clone())
                        .unwrap_or_default()
                ),
            ),
            None,
            Action::await_change(),
        )
    } else {
        (
            ExportPhase::Running,
            ("ExportRunning", "the export Job is running".to_owned()),
            None,
            Action::requeue(RUNNING_REQUEUE),
        )
    };
    let status = export_status(&export, phase, reason, manifest);
    write_status(&api, &export, status).await?;
    Ok(action)
}

fn error_policy(export: Arc<CooperativeExport>, err: &Error, ctx: Arc<ExportContext>) -> Action {
    ctx.metrics.reconcile_failed(err);
    warn!(
        namespace = export.namespace().unwrap_or_default(),
        name = export.name_any(),
        error = %error_chain(err),
        "export reconcile failed"
    );
    Action::requeue(backoff(3))
}

/// The status for `phase`, with one condition carrying the reason.
fn export_status(
    export: &CooperativeExport,
    phase: ExportPhase,
    (reason, message): (&str, String),
    manifest: Option<(String, Vec<ExportedFile>)>,
) -> CooperativeExportStatus {
    let previous = export.status.clone().unwrap_or_default();
    let (type_, status) = match phase {
        ExportPhase::Succeeded => ("Complete", "True"),
        ExportPhase::Failed => ("Failed", "True"),
        ExportPhase::Pending | ExportPhase::Running => ("Complete", "False"),
    };
    let last_transition_time = previous
        .conditions
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map_or_else(now, |c| c.last_transition_time.clone());
    let (manifest_sha256, files) = match manifest {
        Some((digest, files)) => (Some(digest), files),
        None => (None, Vec::new()),
    };
    let name = export.name_any();
    CooperativeExportStatus {
        observed_generation: export.meta().generation,
        phase: Some(phase),
        claim_name: Some(claim_name(&name)),
        path: Some(EXPORT_DIR.to_owned()),
        manifest_sha256,
        files,
        conditions: vec![Condition {
            type_: type_.to_owned(),
            status: status.to_owned(),
            reason: reason.to_owned(),
            message,
            observed_generation: export.meta().generation,
            last_transition_time,
        }],
    }
}

async fn write_status(
    api: &Api<CooperativeExport>,
    export: &CooperativeExport,
    status: CooperativeExportStatus,
) -> Result<()> {
    if export.status.as_ref() == Some(&status) {
        return Ok(());
    }
    apply_status(api, export, &status).await
}

/// The termination message of the export Job's succeeded pod: the manifest.
async fn termination_message(
    client: &Client,
    namespace: &str,
    job: &str,
) -> Result<Option<String>> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = pods
        .list(&ListParams::default().labels(&format!("job-name={job}")))
        .await
        .map_err(kube_error(Verb::List, "Pod", ""))?;
    Ok(list.items.into_iter().find_map(|pod| {
        pod.status?
            .container_statuses?
            .into_iter()
            .find_map(|c| c.state?.terminated.filter(|t| t.exit_code == 0)?.message)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::children::to_yaml;
    use crate::fixtures::{check_golden, test_config, test_cooperative};

    fn test_export() -> CooperativeExport {
        let mut export: CooperativeExport = serde_norway::from_str(
            "apiVersion: mono.coopenomics.io/v1alpha1\nkind: CooperativeExport\nmetadata: {name: move, namespace: coop-voskhod, uid: 0b7e1c44-9f0e-4d7a-8f3c-1a2b3c4d5e6f}\nspec: {cooperative: voskhod, storage: {size: 20Gi}}\n",
        )
        .unwrap();
        export.metadata.generation = Some(1);
        export
    }

    #[test]
    fn export_children_match_golden_file() {
        let children =
            export_children(&test_export(), &test_cooperative(), &test_config()).unwrap();
        check_golden("export.yaml", &to_yaml(&children).unwrap());
        let job = &children[1].object;
        assert_eq!(
            job["metadata"]["ownerReferences"][0]["kind"],
            json!("CooperativeExport")
        );
        assert!(
            children[0].object["metadata"]
                .get("ownerReferences")
                .is_none()
        );
    }

    #[test]
    fn manifests() {
        let good = r#"{"version":1,"files":[{"path":"db/events.bin","sha256":"AB12","size":10},{"name":"documents.tar","sha256":"cd34","bytes":7}]}"#;
        let (digest, files) = parse_manifest(good).unwrap();
        assert_eq!(digest, hex::encode(Sha256::digest(good.as_bytes())));
        assert_eq!(
            files,
            vec![
                ExportedFile {
                    name: "db/events.bin".to_owned(),
                    sha256: "ab12".to_owned(),
                    size: Some(10)
                },
                ExportedFile {
                    name: "documents.tar".to_owned(),
                    sha256: "cd34".to_owned(),
                    size: Some(7)
                },
            ]
        );
        for bad in [
            "",
            "{}",
            r#"{"files":[{"path":"x"}]}"#,
            r#"{"files":"x"}"#,
            "not json",
        ] {
            assert_eq!(parse_manifest(bad), None, "{bad}");
        }
    }

    #[test]
    fn status_records_checksums() {
        let export = test_export();
        let files = vec![ExportedFile {
            name: "a".to_owned(),
            sha256: "00".to_owned(),
            size: None,
        }];
        let status = export_status(
            &export,
            ExportPhase::Succeeded,
            ("ExportSucceeded", "done".to_owned()),
            Some(("ff".to_owned(), files.clone())),
        );
        assert_eq!(status.phase, Some(ExportPhase::Succeeded));
        assert_eq!(status.claim_name.as_deref(), Some("move-export"));
        assert_eq!(status.manifest_sha256.as_deref(), Some("ff"));
        assert_eq!(status.files, files);
        assert_eq!(status.conditions[0].type_, "Complete");
        assert_eq!(status.conditions[0].status, "True");
    }
}
