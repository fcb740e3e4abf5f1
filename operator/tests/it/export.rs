//! A `CooperativeExport` runs `mono export` into a new volume and records the checksums of
//! the manifest the export printed, read back from its pod's log.
//!
//! The simulated kubelet mounts the termination-log file where the container asks, before it
//! starts, as a real kubelet does: an export Job pointing it into the bundle directory fails.

use kube::api::{Api, PostParams};
use mono_crds::{CooperativeExport, CooperativeExportStatus, ExportPhase, ExportedFile};
use mono_fake_kube::{Container, JobOutcome, Program};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{Cluster, cooperative};

const NAMESPACE: &str = "coop-zvezda";
const NAME: &str = "zvezda";
/// Name of the export, its Job and its volume.
const JOB: &str = "move-export";
/// What the simulated export writes as its events.
const EVENTS: &[u8] = b"events of zvezda, gzipped";

/// `mono export --out DIR` as the instance runs it (`instance/src/cli/bundle.rs`,
/// `instance/src/bundle.rs`): it refuses a directory that holds `manifest.json` (exit 2),
/// writes `events.jsonl.gz`, then the manifest pretty-printed with a final newline, and prints
/// the manifest as one JSON line on stdout; its log lines go to stderr.
fn mono_export() -> Program {
    Program::new(|container: &mut Container| {
        let args: Vec<&str> = container.args().iter().map(String::as_str).collect();
        let ["export", "--out", dir] = args.as_slice() else {
            container.stderr(&format!("error: unexpected arguments {args:?}"));
            return 2;
        };
        let dir = (*dir).to_owned();
        let manifest_path = format!("{dir}/manifest.json");
        container.stderr("2026-11-22T10:00:00Z  INFO mono::bundle: exporting");
        if container.exists(&manifest_path) {
            container.stderr(&format!(
                "Error: exporting into {dir}: {manifest_path} already holds an export; choose an empty directory"
            ));
            return 2;
        }
        let manifest = json!({
            "format": "mono-export/1",
            "cursor": {"block_num": 1000, "block_id": "000003e8c0ffee00000000000000000000000000000000000000000000000000", "lib": 1000},
            "counts": {"blocks": 1000, "actions": 3250, "deltas": 3000, "abis": 9, "undecodable": 0},
            "events_digest": "5e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff0",
            "files": [{"path": "events.jsonl.gz", "sha256": hex::encode(Sha256::digest(EVENTS)), "size": EVENTS.len()}],
        });
        let mut file = serde_json::to_vec_pretty(&manifest).expect("a manifest");
        file.push(b'\n');
        let written = container
            .write(&format!("{dir}/events.jsonl.gz"), EVENTS)
            .and_then(|()| container.write(&manifest_path, &file));
        if let Err(err) = written {
            container.stderr(&format!("Error: exporting into {dir}: {err}"));
            return 3;
        }
        container.stdout(&manifest.to_string());
        0
    })
}

/// Creates the CooperativeExport `name` of the Cooperative.
async fn create_export(cluster: &Cluster, name: &str) {
    let exports: Api<CooperativeExport> = Api::namespaced(cluster.client.clone(), NAMESPACE);
    let export: CooperativeExport = serde_json::from_value(json!({
        "apiVersion": "mono.coopenomics.io/v1alpha1",
        "kind": "CooperativeExport",
        "metadata": {"name": name},
        "spec": {"cooperative": NAME, "storage": {"size": "1Gi"}},
    }))
    .expect("export spec");
    exports
        .create(&PostParams::default(), &export)
        .await
        .expect("create the export");
}

/// Waits for the export `name` to finish; returns its status.
async fn finished(cluster: &mut Cluster, name: &str) -> CooperativeExportStatus {
    cluster
        .eventually(&format!("the export {name} to finish"), |fake| {
            let export = fake.get::<CooperativeExport>(Some(NAMESPACE), name)?;
            export
                .status
                .filter(|s| matches!(s.phase, Some(ExportPhase::Succeeded | ExportPhase::Failed)))
        })
        .await
}

/// The condition of `type_` of an export status, as `(status, reason, message)`.
fn condition(status: &CooperativeExportStatus, type_: &str) -> (String, String, String) {
    let found = status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("a {type_} condition in {status:?}"));
    (
        found.status.clone(),
        found.reason.clone(),
        found.message.clone(),
    )
}

#[tokio::test]
async fn export_runs_into_a_volume_and_records_checksums() {
    let mut cluster = Cluster::start().await;
    cluster
        .create_cooperative(NAMESPACE, cooperative(NAME, "1.0.0", "Retain"))
        .await;
    cluster.ready(NAMESPACE, NAME).await;
    cluster.kubelet.set_job_outcome(JOB, JobOutcome::Hold);
    create_export(&cluster, "move").await;

    let job = cluster
        .eventually("the export Job", |fake| {
            fake.get_value("batch", "jobs", Some(NAMESPACE), JOB)
        })
        .await;
    let pod = &job["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(
        container["args"],
        json!(["export", "--out", "/export/export"])
    );
    assert_eq!(
        (
            container.get("terminationMessagePath"),
            &container["terminationMessagePolicy"]
        ),
        (None, &json!("FallbackToLogsOnError")),
        "the kubelet's termination log stays at its default path, outside the bundle"
    );
    assert_eq!(
        pod["volumes"]
            .as_array()
            .and_then(|v| v.iter().find(|v| v["name"] == "export"))
            .map(|v| v["persistentVolumeClaim"].clone()),
        Some(json!({"claimName": JOB, "readOnly": false}))
    );
    let claim = cluster
        .fake
        .get_value("", "persistentvolumeclaims", Some(NAMESPACE), JOB)
        .expect("the export volume");
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "1Gi");
    assert!(
        claim["metadata"].get("ownerReferences").is_none(),
        "the export volume outlives the export: {claim}"
    );
    cluster
        .eventually("the export to be Running", |fake| {
            let export = fake.get::<CooperativeExport>(Some(NAMESPACE), "move")?;
            (export.status?.phase == Some(ExportPhase::Running)).then_some(())
        })
        .await;

    cluster
        .kubelet
        .set_job_outcome(JOB, JobOutcome::Run(mono_export()));
    let status = finished(&mut cluster, "move").await;
    assert_eq!(
        condition(&status, "Complete"),
        (
            "True".to_owned(),
            "ExportSucceeded".to_owned(),
            format!("exported 1 parts into volume {JOB}")
        )
    );
    let manifest = cluster
        .fake
        .volume_file(NAMESPACE, JOB, "export/manifest.json")
        .expect("the manifest on the export volume");
    assert_eq!(
        status.manifest_sha256,
        Some(hex::encode(Sha256::digest(&manifest))),
        "the digest `sha256sum manifest.json` gives"
    );
    assert_eq!(
        status.files,
        [ExportedFile {
            name: "events.jsonl.gz".to_owned(),
            sha256: hex::encode(Sha256::digest(EVENTS)),
            size: Some(EVENTS.len() as u64),
        }]
    );
    assert_eq!(
        cluster
            .fake
            .volume_file(NAMESPACE, JOB, "export/events.jsonl.gz")
            .as_deref(),
        Some(EVENTS)
    );
    assert_eq!(status.claim_name.as_deref(), Some(JOB));
    assert_eq!(status.path.as_deref(), Some("export"));
}

#[tokio::test]
async fn failed_export_quotes_the_end_of_its_log() {
    let mut cluster = Cluster::start().await;
    cluster
        .create_cooperative(NAMESPACE, cooperative(NAME, "1.0.0", "Retain"))
        .await;
    cluster.ready(NAMESPACE, NAME).await;
    cluster
        .kubelet
        .set_default_job_outcome(JobOutcome::Run(mono_export()));
    // The volume already holds an export: `mono export` refuses it.
    cluster
        .fake
        .write_volume_file(NAMESPACE, "again-export", "export/manifest.json", b"{}\n");
    create_export(&cluster, "again").await;

    let status = finished(&mut cluster, "again").await;
    assert_eq!(status.phase, Some(ExportPhase::Failed));
    let (truth, reason, message) = condition(&status, "Failed");
    assert_eq!((truth.as_str(), reason.as_str()), ("True", "ExportFailed"));
    assert_eq!(
        message,
        "the export Job failed: Job has reached the specified backoff limit; its last output: \
         2026-11-22T10:00:00Z INFO mono::bundle: exporting Error: exporting into /export/export: \
         /export/export/manifest.json already holds an export; choose an empty directory; \
         read its logs, then delete and recreate this CooperativeExport"
    );
    assert!(status.manifest_sha256.is_none() && status.files.is_empty());
    let job: Value = cluster
        .fake
        .get_value("batch", "jobs", Some(NAMESPACE), "again-export")
        .expect("the export Job");
    assert_eq!(
        job["status"]["failed"],
        json!(3),
        "backoffLimit 2: three pods"
    );
}
