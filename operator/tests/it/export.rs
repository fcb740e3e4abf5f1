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

#[tokio::test]
async fn a_schedule_exports_again_and_keeps_its_retention() {
    let mut cluster = Cluster::start().await;
    cluster
        .create_cooperative(NAMESPACE, cooperative(NAME, "1.0.0", "Retain"))
        .await;
    cluster.ready(NAMESPACE, NAME).await;
    cluster
        .kubelet
        .set_default_job_outcome(JobOutcome::Run(mono_export()));
    let exports: Api<CooperativeExport> = Api::namespaced(cluster.client.clone(), NAMESPACE);
    let schedule: CooperativeExport = serde_json::from_value(json!({
        "apiVersion": "mono.coopenomics.io/v1alpha1",
        "kind": "CooperativeExport",
        "metadata": {"name": "often"},
        "spec": {
            "cooperative": NAME,
            "storage": {"size": "1Gi"},
            "schedule": "*/2 * * * * *",
            "retention": 2,
        },
    }))
    .expect("schedule spec");
    let schedule = exports
        .create(&PostParams::default(), &schedule)
        .await
        .expect("create the schedule");
    let uid = schedule.metadata.uid.clone().expect("a uid");

    // The exports the schedule made, oldest first, as `(name, phase)`.
    let made = move |fake: &mono_fake_kube::FakeKube| {
        let mut made: Vec<(String, Option<ExportPhase>)> = fake
            .list::<CooperativeExport>(Some(NAMESPACE))
            .into_iter()
            .filter(|e| {
                e.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| o.uid == uid)
            })
            .map(|e| {
                (
                    e.metadata.name.unwrap_or_default(),
                    e.status.and_then(|s| s.phase),
                )
            })
            .collect();
        made.sort_by(|a, b| a.0.cmp(&b.0));
        made
    };
    let first = cluster
        .eventually("the schedule's first export to succeed", |fake| {
            made(fake)
                .into_iter()
                .find(|(_, phase)| *phase == Some(ExportPhase::Succeeded))
                .map(|(name, _)| name)
        })
        .await;
    assert!(
        first.starts_with("often-") && first["often-".len()..].parse::<i64>().is_ok(),
        "named after the schedule and the time: {first}"
    );
    let first_claim = format!("{first}-export");
    assert!(
        cluster
            .fake
            .volume_file(NAMESPACE, &first_claim, "export/manifest.json")
            .is_some(),
        "the first export wrote its bundle"
    );

    // Two newer exports succeed: the first is deleted with its volume, two stay.
    let kept = cluster
        .eventually("the first export to go beyond retention", |fake| {
            let made = made(fake);
            let gone = made.iter().all(|(name, _)| *name != first)
                && fake
                    .get_value("", "persistentvolumeclaims", Some(NAMESPACE), &first_claim)
                    .is_none();
            gone.then_some(made)
        })
        .await;
    let succeeded = kept
        .iter()
        .filter(|(_, phase)| *phase == Some(ExportPhase::Succeeded))
        .count();
    assert!(
        (2..=3).contains(&succeeded),
        "retention 2 keeps two succeeded exports (a third may have just finished): {kept:?}"
    );
    for (name, _) in &kept {
        assert!(name > &first, "only newer exports are kept: {kept:?}");
    }
    let status = cluster
        .fake
        .get::<CooperativeExport>(Some(NAMESPACE), "often")
        .and_then(|e| e.status)
        .expect("the schedule's status");
    assert_eq!(status.phase, Some(ExportPhase::Scheduled));
    assert!(status.last_schedule_time.is_some() && status.next_schedule_time.is_some());
    assert_eq!(condition(&status, "Scheduled").0, "True");
}

#[tokio::test]
async fn an_invalid_schedule_is_reported() {
    let mut cluster = Cluster::start().await;
    cluster.create_namespace(NAMESPACE).await;
    let exports: Api<CooperativeExport> = Api::namespaced(cluster.client.clone(), NAMESPACE);
    let schedule: CooperativeExport = serde_json::from_value(json!({
        "apiVersion": "mono.coopenomics.io/v1alpha1",
        "kind": "CooperativeExport",
        "metadata": {"name": "nightly"},
        "spec": {"cooperative": NAME, "schedule": "every night"},
    }))
    .expect("schedule spec");
    exports
        .create(&PostParams::default(), &schedule)
        .await
        .expect("create the schedule");
    let status = cluster
        .eventually("the schedule to be refused", |fake| {
            fake.get::<CooperativeExport>(Some(NAMESPACE), "nightly")?
                .status
                .filter(|s| !s.conditions.is_empty())
        })
        .await;
    let (truth, reason, message) = condition(&status, "Scheduled");
    assert_eq!(
        (truth.as_str(), reason.as_str()),
        ("False", "InvalidSchedule")
    );
    assert!(
        message.starts_with("schedule \"every night\": "),
        "{message}"
    );
    assert!(
        cluster
            .fake
            .list::<CooperativeExport>(Some(NAMESPACE))
            .len()
            == 1,
        "no export is made"
    );
}
