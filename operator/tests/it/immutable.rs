//! Regression for #14: fields a real API server never lets change after creation. A larger
//! database volume is asked of its claim, not of the StatefulSet's claim template; a Job is
//! never re-applied with another pod template. The fake refuses both as a real API server
//! does (422), so an operator that tried would never converge.

use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, Patch, PatchParams, PostParams};
use mono_crds::Cooperative;
use mono_fake_kube::JobOutcome;
use serde_json::{Value, json};

use crate::{Cluster, condition, cooperative, is_ready};

/// Creates a StorageClass that allows volume expansion or not.
async fn storage_class(cluster: &Cluster, name: &str, expandable: bool) {
    let classes: Api<StorageClass> = Api::all(cluster.client.clone());
    let class: StorageClass = serde_json::from_value(json!({
        "metadata": {"name": name}, "provisioner": "fake.csi", "allowVolumeExpansion": expandable,
    }))
    .expect("storage class");
    classes
        .create(&PostParams::default(), &class)
        .await
        .expect("create storage class");
}

/// A Ready Cooperative `name` in `coop-<name>` whose 10Gi database volume is of `class`.
async fn ready_with_class(cluster: &mut Cluster, name: &str, class: &str) {
    let mut spec = cooperative(name, "1.0.0", "Retain");
    spec["spec"]["database"] = json!({"storage": {"size": "10Gi", "storageClassName": class}});
    let namespace = format!("coop-{name}");
    cluster.create_cooperative(&namespace, spec).await;
    cluster.ready(&namespace, name).await;
}

/// Asks for a database volume of `size`.
async fn resize_database(cluster: &Cluster, name: &str, size: &str) {
    let patch = json!({"spec": {"database": {"storage": {"size": size}}}});
    cluster
        .cooperatives(&format!("coop-{name}"))
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("change the storage size");
}

/// Waits for the status of the current generation to satisfy `check`.
async fn observed(
    cluster: &mut Cluster,
    name: &str,
    what: &str,
    check: impl Fn(&Cooperative) -> bool,
) -> Cooperative {
    let namespace = format!("coop-{name}");
    cluster
        .eventually(what, |fake| {
            let coop = fake.get::<Cooperative>(Some(&namespace), name)?;
            let current = coop.status.as_ref()?.observed_generation == coop.metadata.generation;
            (current && check(&coop)).then_some(coop)
        })
        .await
}

/// The requested size of the database claim and of the StatefulSet's claim template.
fn sizes(cluster: &Cluster, name: &str) -> (Value, Value) {
    let namespace = format!("coop-{name}");
    let claim = cluster
        .fake
        .get_value(
            "",
            "persistentvolumeclaims",
            Some(&namespace),
            &format!("data-{name}-db-0"),
        )
        .expect("the database claim");
    let set = cluster
        .fake
        .get_value(
            "apps",
            "statefulsets",
            Some(&namespace),
            &format!("{name}-db"),
        )
        .expect("the database StatefulSet");
    (
        claim["spec"]["resources"]["requests"]["storage"].clone(),
        set["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"].clone(),
    )
}

/// `(status, reason)` of the `Degraded` condition.
fn degraded(coop: &Cooperative) -> (String, String) {
    condition(coop, "Degraded")
        .map(|c| (c.status.clone(), c.reason.clone()))
        .unwrap_or_default()
}

#[tokio::test]
async fn a_larger_database_volume_grows_its_claim_and_never_shrinks() {
    let mut cluster = Cluster::start().await;
    storage_class(&cluster, "expandable", true).await;
    ready_with_class(&mut cluster, "rost", "expandable").await;

    resize_database(&cluster, "rost", "20Gi").await;
    observed(
        &mut cluster,
        "rost",
        "Ready with the larger volume",
        |coop| is_ready(coop) && degraded(coop).0 == "False",
    )
    .await;
    assert_eq!(
        sizes(&cluster, "rost"),
        (json!("20Gi"), json!("10Gi")),
        "the claim grows; the StatefulSet keeps its template as created"
    );

    resize_database(&cluster, "rost", "15Gi").await;
    let coop = observed(&mut cluster, "rost", "the shrink to be refused", |coop| {
        degraded(coop).0 == "True"
    })
    .await;
    let refused = condition(&coop, "Degraded").expect("Degraded");
    assert_eq!(refused.reason, "StorageShrinkRefused");
    assert_eq!(
        refused.message,
        "spec.database.storage.size 15Gi is smaller than the database volume data-rost-db-0 (20Gi); volumes cannot shrink: set it to at least 20Gi"
    );
    assert_eq!(sizes(&cluster, "rost"), (json!("20Gi"), json!("10Gi")));
    assert!(is_ready(&coop), "the instance keeps running");
}

#[tokio::test]
async fn a_volume_its_storage_class_cannot_expand_is_reported() {
    let mut cluster = Cluster::start().await;
    storage_class(&cluster, "fixed", false).await;
    ready_with_class(&mut cluster, "tverd", "fixed").await;

    resize_database(&cluster, "tverd", "20Gi").await;
    let coop = observed(&mut cluster, "tverd", "the refused expansion", |coop| {
        degraded(coop).0 == "True"
    })
    .await;
    let refused = condition(&coop, "Degraded").expect("Degraded");
    assert_eq!(refused.reason, "StorageNotExpandable");
    assert!(
        refused.message.starts_with(
            "the database volume data-tverd-db-0 cannot grow from 10Gi to 20Gi: the API server refused it"
        ) && refused.message.contains("allowVolumeExpansion"),
        "{}",
        refused.message
    );
    assert_eq!(sizes(&cluster, "tverd"), (json!("10Gi"), json!("10Gi")));
}

#[tokio::test]
async fn a_running_import_job_is_left_alone_when_the_spec_changes() {
    const NAMESPACE: &str = "coop-perenos";
    const NAME: &str = "perenos";
    let mut cluster = Cluster::start().await;
    cluster.kubelet.set_default_job_outcome(JobOutcome::Hold);
    let mut spec = cooperative(NAME, "1.0.0", "Retain");
    spec["spec"]["bootstrap"] =
        json!({"fromExport": {"claimName": "move-export", "path": "export"}});
    cluster.create_namespace(NAMESPACE).await;
    cluster.create_claim(NAMESPACE, "move-export").await;
    cluster.create_in(NAMESPACE, spec).await;
    let import = cluster
        .eventually("the import Job", |fake| {
            fake.get_value("batch", "jobs", Some(NAMESPACE), "perenos-import")
        })
        .await;

    // A new version while the import runs: the import Job's image would change.
    let patch = json!({"spec": {"instance": {"version": "1.1.0"}}});
    cluster
        .cooperatives(NAMESPACE)
        .patch(NAME, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("change version");
    cluster
        .kubelet
        .set_default_job_outcome(JobOutcome::Complete);
    cluster
        .kubelet
        .set_job_outcome("perenos-import", JobOutcome::Complete);
    let coop = cluster.ready(NAMESPACE, NAME).await;
    assert_eq!(
        coop.status.and_then(|s| s.version).as_deref(),
        Some("1.1.0")
    );
    let finished = cluster
        .fake
        .get_value("batch", "jobs", Some(NAMESPACE), "perenos-import")
        .expect("the import Job");
    assert_eq!(
        finished["spec"]["template"], import["spec"]["template"],
        "the import Job keeps the template it was created with"
    );
}

#[tokio::test]
async fn the_crd_rules_refuse_a_new_coopname_or_database_mode() {
    const NAMESPACE: &str = "coop-vesna";
    let cluster = Cluster::start().await;
    cluster
        .create_cooperative(NAMESPACE, cooperative("vesna", "1.0.0", "Retain"))
        .await;
    let cooperatives = cluster.cooperatives(NAMESPACE);
    let cases = [
        (
            json!({"spec": {"coopname": "leto"}}),
            "spec.coopname: Invalid value: \"object\": coopname is immutable",
        ),
        (
            json!({"spec": {"database": {"mode": "cloudnativepg"}}}),
            "spec.database.mode: Invalid value: \"object\": database mode is immutable",
        ),
    ];
    for (patch, expected) in cases {
        let refused = cooperatives
            .patch("vesna", &PatchParams::default(), &Patch::Merge(&patch))
            .await;
        let Err(kube::Error::Api(status)) = refused else {
            panic!("{patch} was not refused: {refused:?}");
        };
        assert_eq!(status.code, 422, "{patch}");
        assert!(status.message.ends_with(expected), "{}", status.message);
    }
    let stored = cluster
        .fake
        .get::<Cooperative>(Some(NAMESPACE), "vesna")
        .expect("the Cooperative");
    assert_eq!(stored.spec.coopname, "vesna");
}
