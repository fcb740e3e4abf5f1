//! A Cooperative bootstrapped from an export runs the import Job first, then the migration
//! Job, and only then gets its instance.

use mono_crds::Cooperative;
use mono_fake_kube::{FakeKube, JobOutcome};
use serde_json::json;

use crate::{
    Cluster, condition, cooperative, deployment_image, is_ready, job_finished, name_of, objects,
};

const NAMESPACE: &str = "coop-vostok";
const NAME: &str = "vostok";
const IMPORT: &str = "vostok-import";
const MIGRATE: &str = "vostok-migrate-1-0-0";

fn jobs(fake: &FakeKube) -> Vec<String> {
    let mut names: Vec<String> = objects(fake, "batch", "jobs", NAMESPACE)
        .iter()
        .map(name_of)
        .collect();
    names.sort();
    names
}

/// Waits until `Ready` is false with `reason`.
async fn not_ready_because(cluster: &mut Cluster, reason: &str) {
    let what = format!("Ready=False with reason {reason}");
    cluster
        .eventually(&what, |fake| {
            let coop = fake.get::<Cooperative>(Some(NAMESPACE), NAME)?;
            condition(&coop, "Ready")
                .is_some_and(|c| c.status == "False" && c.reason == reason)
                .then_some(())
        })
        .await;
}

#[tokio::test]
async fn import_runs_before_the_first_migration_and_the_instance() {
    let mut cluster = Cluster::start().await;
    cluster.kubelet.set_default_job_outcome(JobOutcome::Hold);
    let mut spec = cooperative(NAME, "1.0.0", "Retain");
    spec["spec"]["bootstrap"] =
        json!({"fromExport": {"claimName": "move-export", "path": "export"}});
    cluster.create_cooperative(NAMESPACE, spec).await;

    let import = cluster
        .eventually("the import Job", |fake| {
            fake.get_value("batch", "jobs", Some(NAMESPACE), IMPORT)
        })
        .await;
    let pod = &import["spec"]["template"]["spec"];
    assert_eq!(
        pod["containers"][0]["args"],
        json!(["import", "--from", "/export/export"])
    );
    assert_eq!(
        pod["volumes"]
            .as_array()
            .and_then(|v| v.iter().find(|v| v["name"] == "export"))
            .map(|v| v["persistentVolumeClaim"].clone()),
        Some(json!({"claimName": "move-export", "readOnly": true}))
    );
    not_ready_because(&mut cluster, "ExportVolumeMissing").await;
    assert_eq!(
        jobs(&cluster.fake),
        [IMPORT],
        "no migration during the import"
    );
    assert_eq!(deployment_image(&cluster.fake, NAMESPACE), None);

    // The export volume has not been copied into this cluster yet: the import's pod cannot
    // be scheduled, whatever the import would do.
    cluster
        .kubelet
        .set_job_outcome(IMPORT, JobOutcome::Complete);
    let pending = cluster
        .eventually("the import's pod to wait for its volume", |fake| {
            fake.get_value("", "pods", Some(NAMESPACE), &format!("{IMPORT}-00000"))
                .filter(|pod| pod["status"]["phase"] == "Pending")
        })
        .await;
    assert_eq!(
        pending["status"]["conditions"][0]["message"],
        json!("0/1 nodes are available: persistentvolumeclaim \"move-export\" not found.")
    );
    not_ready_because(&mut cluster, "ExportVolumeMissing").await;
    assert_eq!(jobs(&cluster.fake), [IMPORT]);

    cluster.create_claim(NAMESPACE, "move-export").await;
    not_ready_because(&mut cluster, "Migrating").await;
    assert_eq!(jobs(&cluster.fake), [IMPORT, MIGRATE]);
    assert_eq!(
        deployment_image(&cluster.fake, NAMESPACE),
        None,
        "no instance before the migration completed"
    );

    cluster
        .kubelet
        .set_job_outcome(MIGRATE, JobOutcome::Complete);
    let coop = cluster.ready(NAMESPACE, NAME).await;
    assert_eq!(
        coop.status.and_then(|s| s.version).as_deref(),
        Some("1.0.0")
    );
    for job in [IMPORT, MIGRATE] {
        let found = cluster
            .fake
            .get_value("batch", "jobs", Some(NAMESPACE), job)
            .unwrap_or_default();
        assert!(job_finished(&found, "Complete"), "{job}: {found}");
    }
    let image = deployment_image(&cluster.fake, NAMESPACE).unwrap_or_default();
    assert!(image.ends_with(":1.0.0"), "instance image {image}");
}

/// Waits until the `Importing` condition has `status` and `reason`, and returns its message.
async fn importing(cluster: &mut Cluster, status: &str, reason: &str) -> String {
    let what = format!("Importing={status} with reason {reason}");
    cluster
        .eventually(&what, |fake| {
            let coop = fake.get::<Cooperative>(Some(NAMESPACE), NAME)?;
            condition(&coop, "Importing")
                .filter(|c| c.status == status && c.reason == reason)
                .map(|c| c.message.clone())
        })
        .await
}

#[tokio::test]
async fn a_missing_export_volume_is_named_until_it_appears() {
    let mut cluster = Cluster::start().await;
    cluster.kubelet.set_default_job_outcome(JobOutcome::Hold);
    let mut spec = cooperative(NAME, "1.0.0", "Retain");
    spec["spec"]["bootstrap"] =
        json!({"fromExport": {"claimName": "move-export", "path": "export"}});
    cluster.create_cooperative(NAMESPACE, spec).await;

    let message = importing(&mut cluster, "False", "ExportVolumeMissing").await;
    assert!(message.contains("move-export"), "{message}");
    not_ready_because(&mut cluster, "ExportVolumeMissing").await;
    cluster
        .eventually("a Warning Event naming the claim", |fake| {
            objects(fake, "events.k8s.io", "events", NAMESPACE)
                .into_iter()
                .find(|event| {
                    event["reason"] == "ExportVolumeMissing"
                        && event["type"] == "Warning"
                        && event["note"]
                            .as_str()
                            .is_some_and(|note| note.contains("move-export"))
                })
        })
        .await;

    cluster.create_claim(NAMESPACE, "move-export").await;
    importing(&mut cluster, "True", "Running").await;
    not_ready_because(&mut cluster, "Importing").await;

    cluster
        .kubelet
        .set_job_outcome(IMPORT, JobOutcome::Complete);
    importing(&mut cluster, "False", "Imported").await;
    cluster
        .kubelet
        .set_job_outcome(MIGRATE, JobOutcome::Complete);
    // Once the instance has run, nothing is said of the import.
    cluster
        .eventually("Ready without an Importing condition", |fake| {
            fake.get::<Cooperative>(Some(NAMESPACE), NAME)
                .filter(|coop| is_ready(coop) && condition(coop, "Importing").is_none())
        })
        .await;
}
