//! The CooperativeExport controller: a Job runs `mono export` into a new volume, and the
//! export's manifest is recorded in the status with the checksum of every part.
//!
//! The manifest comes back through the log of the Job's succeeded pod, where `mono export`
//! prints it as one JSON line on stdout (its own log lines go to stderr, in the same log).
//! It cannot come back as a termination message: the kubelet bind-mounts its termination-log
//! file at `terminationMessagePath` before the container starts, so pointing that at the
//! bundle's `manifest.json` leaves an empty manifest in the bundle directory, which `mono
//! export` refuses as "a directory that already holds an export"; `mono export` writes nothing
//! to the default `/dev/termination-log`, the distroless image has no shell to copy its output
//! there, and `FallbackToLogsOnError` copies the log's tail into the termination message only
//! for a container that exited with an error. That fallback does serve failures: a failed
//! export's last lines are its termination message, quoted in the `Failed` condition.
//!
//! The volume has no owner: it is the point of the export and outlives both the
//! CooperativeExport and the Cooperative, until staff (or a schedule's retention) delete it.
//! A CooperativeExport with a schedule runs no Job: it creates exports (see [`schedule`]).

pub mod schedule;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    ContainerStateTerminated, PersistentVolumeClaim, PersistentVolumeClaimSpec, Pod,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta};
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use mono_crds::{
    Cooperative, CooperativeExport, CooperativeExportStatus, ExportPhase, ExportedFile,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::{debug, instrument, warn};

use crate::children::migration::{CONTAINER, EXPORT_MOUNT, JobParams, instance_job, job_name};
use crate::children::{Child, ChildConfig, ChildKind, Ctx, MANAGER, target_version};
use crate::metrics::Metrics;
use crate::reconcile::{
    apply_child, apply_status, backoff, ensure_job, error_chain, kube_error, now,
};
use crate::{Error, Result, Verb};

/// Directory inside the export volume that `mono export` writes to.
pub const EXPORT_DIR: &str = "export";
/// Label naming the CooperativeExport on its Job and volume.
pub const EXPORT_LABEL: &str = "mono.coopenomics.io/export";
/// Lines read from the end of the export pod's log: the manifest is printed last, and only a
/// few log lines of the process's shutdown can follow it.
const LOG_TAIL_LINES: i64 = 100;
/// Most bytes of those lines read.
const LOG_LIMIT_BYTES: i64 = 1 << 20;
/// Most bytes of a failed export's termination message quoted in its `Failed` condition.
const MAX_QUOTED_BYTES: usize = 1024;
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
    Controller::new(exports.clone(), watcher::Config::default().any_semantic())
        .owns(jobs, watcher::Config::default().labels(EXPORT_LABEL))
        // A schedule hears of its exports' progress, which retention waits for.
        .owns(exports, watcher::Config::default().any_semantic())
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
    let claim = PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(ctx.namespace.to_owned()),
            labels: Some(
                [
                    ("app.kubernetes.io/name", "mono"),
                    ("app.kubernetes.io/component", "export"),
                    ("app.kubernetes.io/managed-by", MANAGER),
                    (EXPORT_LABEL, export_name),
                ]
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .collect(),
            ),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some([("storage".to_owned(), Quantity(storage.size.clone()))].into()),
                ..VolumeResourceRequirements::default()
            }),
            storage_class_name: storage.storage_class_name.clone(),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    };
    let claim = Child::typed(ChildKind::PersistentVolumeClaim, &claim);

    let out_dir = format!("{EXPORT_MOUNT}/{EXPORT_DIR}");
    let mut job = instance_job(
        &ctx,
        config,
        JobParams {
            name: &name,
            component: "export",
            version,
            args: vec!["export".to_owned(), "--out".to_owned(), out_dir],
            export_claim: Some(&name),
            writable: true,
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

/// Name of the export volume and Job: `<export>-export`, cut and ended with a hash of the
/// export's name when it does not fit a Job name (see [`job_name`]).
pub fn claim_name(export_name: &str) -> String {
    job_name(export_name, "export", None)
}

/// The SHA-256 of `manifest.json` and the parts it lists, from the manifest as `mono export`
/// prints it: one line of JSON.
///
/// `mono export` prints the same value it wrote, compactly; the file holds it pretty-printed
/// (two-space indent, fields in the same order, serde_json's format) and ends with a newline.
/// The digest is taken over that rendering, so it is the one `sha256sum manifest.json`
/// gives where the bundle is copied to.
///
/// Reads `files` entries with `path` or `name`, `sha256` and optional `size` or `bytes`;
/// `None` when the line is not such a manifest.
pub fn parse_manifest(line: &str) -> Option<(String, Vec<ExportedFile>)> {
    let manifest: Value = serde_json::from_str(line).ok()?;
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
    let mut file = serde_json::to_vec_pretty(&manifest).ok()?;
    file.push(b'\n');
    Some((hex::encode(Sha256::digest(&file)), files))
}

/// The manifest in the log of a succeeded export: its last line that is one.
pub fn manifest_in_log(log: &str) -> Option<(String, Vec<ExportedFile>)> {
    log.lines()
        .rev()
        .find_map(|line| parse_manifest(line.trim()))
}

#[instrument(skip_all, fields(namespace = export.namespace().unwrap_or_default(), name = export.name_any()))]
async fn reconcile(export: Arc<CooperativeExport>, ctx: Arc<ExportContext>) -> Result<Action> {
    let _timer = ctx.metrics.reconcile_started();
    if let Some(text) = &export.spec.schedule {
        return schedule::reconcile(&export, text, &ctx).await;
    }
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
        if child.kind == ChildKind::Job {
            let found = ensure_job(&ctx.client, &namespace, &child).await?;
            job = Some(serde_json::from_value::<Job>(found).map_err(Error::Serialize)?);
        } else {
            apply_child(&ctx.client, &namespace, &child).await?;
        }
    }
    let job_status = job.and_then(|job| job.status).unwrap_or_default();
    let failed = job_status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Failed" && c.status == "True");
    let job_name = claim_name(&name);
    let (phase, reason, manifest, action) = if job_status.succeeded.unwrap_or(0) > 0 {
        let log = succeeded_log(&ctx.client, &namespace, &job_name).await?;
        match log.as_deref().and_then(manifest_in_log) {
            Some(manifest) => (
                ExportPhase::Succeeded,
                (
                    "ExportSucceeded",
                    format!("exported {} parts into volume {job_name}", manifest.1.len()),
                ),
                Some(manifest),
                Action::await_change(),
            ),
            None => (
                ExportPhase::Failed,
                (
                    "ManifestUnreadable",
                    format!(
                        "the export Job succeeded but no manifest was found in the log of its pod (kubectl logs job/{job_name}); the bundle may still be whole: check it, or delete and recreate this CooperativeExport"
                    ),
                ),
                None,
                Action::await_change(),
            ),
        }
    } else if let Some(failed) = failed {
        let mut why = failed
            .message
            .clone()
            .or(failed.reason.clone())
            .unwrap_or_default();
        if let Some(output) = failed_output(&ctx.client, &namespace, &job_name).await? {
            why = format!("{why}; its last output: {output}");
        }
        (
            ExportPhase::Failed,
            (
                "ExportFailed",
                format!(
                    "the export Job failed: {why}; read its logs, then delete and recreate this CooperativeExport"
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
        ExportPhase::Pending | ExportPhase::Running | ExportPhase::Scheduled => {
            ("Complete", "False")
        }
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
        last_schedule_time: None,
        next_schedule_time: None,
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

/// The pods of the Job `job` with how their container ended, if it did.
async fn job_pods(
    client: &Client,
    namespace: &str,
    job: &str,
) -> Result<Vec<(String, ContainerStateTerminated)>> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = pods
        .list(&ListParams::default().labels(&format!("job-name={job}")))
        .await
        .map_err(kube_error(Verb::List, "Pod", ""))?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|pod| {
            let name = pod.metadata.name?;
            let terminated = pod
                .status?
                .container_statuses?
                .into_iter()
                .find(|c| c.name == CONTAINER)?
                .state?
                .terminated?;
            Some((name, terminated))
        })
        .collect())
}

/// The end of the log of the export Job's succeeded pod, where `mono export` printed the
/// manifest; `None` when no such pod is left (deleted, or its node gone).
async fn succeeded_log(client: &Client, namespace: &str, job: &str) -> Result<Option<String>> {
    let succeeded = job_pods(client, namespace, job)
        .await?
        .into_iter()
        .find(|(_, terminated)| terminated.exit_code == 0);
    let Some((pod, _)) = succeeded else {
        return Ok(None);
    };
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let params = LogParams {
        container: Some(CONTAINER.to_owned()),
        tail_lines: Some(LOG_TAIL_LINES),
        limit_bytes: Some(LOG_LIMIT_BYTES),
        ..LogParams::default()
    };
    match pods.logs(&pod, &params).await {
        Ok(log) => Ok(Some(log)),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(source) => Err(kube_error(Verb::Get, "Pod log", &pod)(source)),
    }
}

/// The termination message of the export Job's last failed pod: with
/// `FallbackToLogsOnError`, the end of its log, cut to [`MAX_QUOTED_BYTES`] on one line.
async fn failed_output(client: &Client, namespace: &str, job: &str) -> Result<Option<String>> {
    let last = job_pods(client, namespace, job)
        .await?
        .into_iter()
        .filter(|(_, terminated)| terminated.exit_code != 0)
        .max_by(|(a_name, a), (b_name, b)| {
            (a.finished_at.as_ref().map(|t| t.0), a_name)
                .cmp(&(b.finished_at.as_ref().map(|t| t.0), b_name))
        });
    Ok(last
        .and_then(|(_, terminated)| terminated.message)
        .map(|message| quote_output(&message))
        .filter(|quoted| !quoted.is_empty()))
}

/// A container's output on one line, its end kept when it is too long.
fn quote_output(output: &str) -> String {
    let line = output.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut start = line.len().saturating_sub(MAX_QUOTED_BYTES);
    while !line.is_char_boundary(start) {
        start += 1;
    }
    line[start..].to_owned()
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

    /// A manifest as `mono export` prints it on stdout...
    const PRINTED: &str = r#"{"format":"mono-export/1","cursor":{"block_num":1000,"block_id":"000003e8c0ffee00000000000000000000000000000000000000000000000000","lib":1000},"counts":{"blocks":1000,"actions":3250,"deltas":3000,"abis":9,"undecodable":0},"events_digest":"5e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff0","files":[{"path":"events.jsonl.gz","sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","size":123456}]}"#;
    /// ...and as it writes it to `manifest.json` (`serde_json::to_vec_pretty` and a newline).
    const WRITTEN: &str = r#"{
  "format": "mono-export/1",
  "cursor": {
    "block_num": 1000,
    "block_id": "000003e8c0ffee00000000000000000000000000000000000000000000000000",
    "lib": 1000
  },
  "counts": {
    "blocks": 1000,
    "actions": 3250,
    "deltas": 3000,
    "abis": 9,
    "undecodable": 0
  },
  "events_digest": "5e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff0",
  "files": [
    {
      "path": "events.jsonl.gz",
      "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      "size": 123456
    }
  ]
}
"#;

    #[test]
    fn the_manifest_digest_is_that_of_the_file() {
        let (digest, files) = parse_manifest(PRINTED).unwrap();
        assert_eq!(digest, hex::encode(Sha256::digest(WRITTEN.as_bytes())));
        assert_eq!(
            files,
            [ExportedFile {
                name: "events.jsonl.gz".to_owned(),
                sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                    .to_owned(),
                size: Some(123_456),
            }]
        );
    }

    #[test]
    fn the_manifest_is_the_last_one_in_the_log() {
        let log = format!(
            "2026-11-22T10:00:00Z INFO exporting\n{{\"files\":[]}}\n{PRINTED}\n2026-11-22T10:00:09Z INFO store closed\n"
        );
        assert_eq!(manifest_in_log(&log), parse_manifest(PRINTED));
        for log in [
            "",
            "Error: the store is empty: there is nothing to export\n",
        ] {
            assert_eq!(manifest_in_log(log), None, "{log}");
        }
    }

    #[test]
    fn failed_output_is_quoted_on_one_line_from_its_end() {
        let long = format!("{}\nError: disk full\n", "x".repeat(2000));
        let long_end = format!("{} Error: disk full", "x".repeat(2000))[993..].to_owned();
        let cases = [
            (
                "Error: exporting into /export/export\n  the store is empty\n",
                "Error: exporting into /export/export the store is empty".to_owned(),
            ),
            (long.as_str(), long_end),
            ("\n", String::new()),
        ];
        for (output, expected) in cases {
            assert_eq!(quote_output(output), expected);
            assert!(quote_output(output).len() <= MAX_QUOTED_BYTES);
        }
    }

    #[test]
    fn manifests() {
        let good = r#"{"version":1,"files":[{"path":"db/events.bin","sha256":"AB12","size":10},{"name":"documents.tar","sha256":"cd34","bytes":7}]}"#;
        let (digest, files) = parse_manifest(good).unwrap();
        let rendered = "{\n  \"version\": 1,\n  \"files\": [\n    {\n      \"path\": \"db/events.bin\",\n      \"sha256\": \"AB12\",\n      \"size\": 10\n    },\n    {\n      \"name\": \"documents.tar\",\n      \"sha256\": \"cd34\",\n      \"bytes\": 7\n    }\n  ]\n}\n";
        assert_eq!(digest, hex::encode(Sha256::digest(rendered.as_bytes())));
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
    fn long_export_names_get_different_jobs_and_volumes() {
        let shared = "x".repeat(60);
        let names = [
            claim_name(&format!("{shared}-before-upgrade")),
            claim_name(&format!("{shared}-after-upgrade")),
        ];
        assert_ne!(names[0], names[1]);
        assert!(names.iter().all(|name| name.len() <= 63), "{names:?}");
        assert_eq!(claim_name("move"), "move-export");
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
