//! A `CooperativeExport` runs `mono export` into a new volume and records the checksums of
//! the manifest the export container leaves as its termination message.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams, PostParams};
use mono_crds::{CooperativeExport, ExportPhase, ExportedFile};
use mono_fake_kube::JobOutcome;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{Cluster, cooperative};

const NAMESPACE: &str = "coop-zvezda";
const NAME: &str = "zvezda";
/// Name of the export, its Job and its volume.
const JOB: &str = "move-export";
/// What `mono export` writes to `/export/export/manifest.json`.
const MANIFEST: &str = r#"{"version":1,"coopname":"zvezda","files":[{"path":"db/events.bin","sha256":"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08","size":4},{"path":"documents.tar","sha256":"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae","size":10240}]}"#;

/// Plays the kubelet for the export Job's pod: it ran to completion and its container's
/// termination message is the manifest.
async fn finished_export_pod(cluster: &Cluster) {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), NAMESPACE);
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": format!("{JOB}-x7k2p"), "labels": {"job-name": JOB}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "mono", "image": "ghcr.io/coopenomics/mono:1.0.0"}]},
    }))
    .expect("pod");
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create the export pod");
    let status = json!({"status": {
        "phase": "Succeeded",
        "containerStatuses": [{
            "name": "mono",
            "image": "ghcr.io/coopenomics/mono:1.0.0",
            "imageID": "ghcr.io/coopenomics/mono@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "ready": false,
            "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed", "message": MANIFEST}},
        }],
    }});
    pods.patch_status(
        &format!("{JOB}-x7k2p"),
        &PatchParams::default(),
        &Patch::Merge(&status),
    )
    .await
    .expect("the export pod terminated");
}

#[tokio::test]
async fn export_runs_into_a_volume_and_records_checksums() {
    let mut cluster = Cluster::start().await;
    cluster
        .create_cooperative(NAMESPACE, cooperative(NAME, "1.0.0", "Retain"))
        .await;
    cluster.ready(NAMESPACE, NAME).await;
    cluster.kubelet.set_job_outcome(JOB, JobOutcome::Hold);
    let exports: Api<CooperativeExport> = Api::namespaced(cluster.client.clone(), NAMESPACE);
    let export: CooperativeExport = serde_json::from_value(json!({
        "apiVersion": "mono.coopenomics.io/v1alpha1",
        "kind": "CooperativeExport",
        "metadata": {"name": "move"},
        "spec": {"cooperative": NAME, "storage": {"size": "1Gi"}},
    }))
    .expect("export spec");
    exports
        .create(&PostParams::default(), &export)
        .await
        .expect("create the export");

    let job = cluster
        .eventually("the export Job", |fake| {
            fake.get_value("batch", "jobs", Some(NAMESPACE), JOB)
        })
        .await;
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(
        pod["containers"][0]["args"],
        json!(["export", "--out", "/export/export"])
    );
    assert_eq!(
        pod["containers"][0]["terminationMessagePath"],
        "/export/export/manifest.json"
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

    finished_export_pod(&cluster).await;
    cluster.kubelet.set_job_outcome(JOB, JobOutcome::Complete);
    let status = cluster
        .eventually("the export to succeed", |fake| {
            let export = fake.get::<CooperativeExport>(Some(NAMESPACE), "move")?;
            export
                .status
                .filter(|s| s.phase == Some(ExportPhase::Succeeded))
        })
        .await;
    assert_eq!(
        status.manifest_sha256.as_deref(),
        Some(hex::encode(Sha256::digest(MANIFEST.as_bytes())).as_str())
    );
    assert_eq!(
        status.files,
        [
            ExportedFile {
                name: "db/events.bin".to_owned(),
                sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                    .to_owned(),
                size: Some(4),
            },
            ExportedFile {
                name: "documents.tar".to_owned(),
                sha256: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
                    .to_owned(),
                size: Some(10240),
            },
        ]
    );
    assert_eq!(status.claim_name.as_deref(), Some(JOB));
    assert_eq!(status.path.as_deref(), Some("export"));
    let complete = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Complete")
        .expect("a Complete condition");
    assert_eq!(
        (complete.status.as_str(), complete.reason.as_str()),
        ("True", "ExportSucceeded")
    );
}
