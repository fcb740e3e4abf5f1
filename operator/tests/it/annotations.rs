//! Annotations staff set on a Cooperative: `mono.coopenomics.io/paused` stops every change
//! until removed, `mono.coopenomics.io/deletion-protection` holds a deletion and its data
//! until removed (#14).

use kube::api::{DeleteParams, Patch, PatchParams};
use mono_crds::Cooperative;
use serde_json::json;

use crate::{Cluster, condition, cooperative, objects};

const PAUSED: &str = "mono.coopenomics.io/paused";
const PROTECTED: &str = "mono.coopenomics.io/deletion-protection";

async fn annotate(cluster: &Cluster, namespace: &str, name: &str, key: &str, value: Option<&str>) {
    cluster
        .cooperatives(namespace)
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {key: value}}})),
        )
        .await
        .expect("annotate the Cooperative");
}

#[tokio::test]
async fn paused_cooperative_changes_nothing_until_resumed() {
    const NS: &str = "coop-tishina";
    let mut cluster = Cluster::start().await;
    cluster
        .create_cooperative(NS, cooperative("tishina", "1.0.0", "Retain"))
        .await;
    cluster.ready(NS, "tishina").await;
    annotate(&cluster, NS, "tishina", PAUSED, Some("true")).await;
    cluster
        .cooperatives(NS)
        .patch(
            "tishina",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"instance": {"version": "1.1.0"}}})),
        )
        .await
        .expect("ask for a new version");
    let paused = cluster
        .eventually("Reconciled=False reason Paused", |fake| {
            fake.get::<Cooperative>(Some(NS), "tishina")
                .filter(|coop| condition(coop, "Reconciled").is_some_and(|c| c.reason == "Paused"))
        })
        .await;
    assert_eq!(
        condition(&paused, "Ready").map(|c| c.status.as_str()),
        Some("True"),
        "what runs keeps running"
    );
    let migration = |fake: &mono_fake_kube::FakeKube| {
        fake.get_value("batch", "jobs", Some(NS), "tishina-migrate-1-1-0")
    };
    assert!(
        migration(&cluster.fake).is_none(),
        "a paused Cooperative got a migration Job"
    );

    annotate(&cluster, NS, "tishina", PAUSED, None).await;
    cluster
        .eventually("the migration Job of 1.1.0 once resumed", migration)
        .await;
}

#[tokio::test]
async fn protected_cooperative_is_deleted_only_once_unprotected() {
    const NS: &str = "coop-krepost";
    let mut cluster = Cluster::start().await;
    let mut spec = cooperative("krepost", "1.0.0", "Delete");
    spec["metadata"]["annotations"] = json!({PROTECTED: "true"});
    cluster.create_cooperative(NS, spec).await;
    cluster.ready(NS, "krepost").await;
    cluster
        .cooperatives(NS)
        .delete("krepost", &DeleteParams::default())
        .await
        .expect("ask to delete");
    let held = cluster
        .eventually("the deletion to be held", |fake| {
            fake.get::<Cooperative>(Some(NS), "krepost").filter(|coop| {
                condition(coop, "Reconciled").is_some_and(|c| c.reason == "DeletionProtected")
            })
        })
        .await;
    assert!(held.metadata.deletion_timestamp.is_some());
    assert!(
        !objects(&cluster.fake, "", "persistentvolumeclaims", NS).is_empty(),
        "the data of a protected Cooperative is kept"
    );

    annotate(&cluster, NS, "krepost", PROTECTED, None).await;
    cluster
        .eventually("the Cooperative and its data to go", |fake| {
            (fake.get::<Cooperative>(Some(NS), "krepost").is_none()
                && objects(fake, "", "persistentvolumeclaims", NS).is_empty())
            .then_some(())
        })
        .await;
}
