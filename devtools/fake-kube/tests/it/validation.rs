//! The real API server's refusals: immutable fields of Jobs, StatefulSets and claims, and the
//! resize admission of claims.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, Error};
use serde_json::{Value, json};

use crate::start;

/// `(code, reason, message)` of an API error.
fn refusal<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, String, String) {
    match result {
        Err(Error::Api(status)) => (status.code, status.reason.clone(), status.message.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn job(image: &str, label: &str) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "migrate", "labels": {"team": label}},
        "spec": {"backoffLimit": 2, "template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": image}],
        }}},
    })
}

#[tokio::test]
async fn a_jobs_template_cannot_change() {
    let (_fake, client) = start().await;
    let jobs: Api<Job> = Api::namespaced(client, "coop");
    let ssa = PatchParams::apply("mono-operator").force();
    jobs.patch("migrate", &ssa, &Patch::Apply(job("mono:1", "a")))
        .await
        .expect("created");
    // The same template again, and a change outside it, are fine.
    jobs.patch("migrate", &ssa, &Patch::Apply(job("mono:1", "b")))
        .await
        .expect("labels may change");
    let refused = jobs
        .patch("migrate", &ssa, &Patch::Apply(job("mono:2", "b")))
        .await;
    assert_eq!(
        refusal(refused),
        (
            422,
            "Invalid".to_owned(),
            "Job.batch \"migrate\" is invalid: spec.template: Invalid value: \"object\": field is immutable".to_owned()
        )
    );
    let mut selector = job("mono:1", "b");
    selector["spec"]["selector"] = json!({"matchLabels": {"x": "y"}});
    let refused = jobs.patch("migrate", &ssa, &Patch::Apply(selector)).await;
    assert_eq!(refusal(refused).0, 422);
}

fn stateful_set(replicas: u32, size: &str, service: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "serviceName": service, "replicas": replicas,
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "pg", "image": "postgres:17"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                "resources": {"requests": {"storage": size}},
            }}],
        },
    })
}

#[tokio::test]
async fn a_stateful_sets_claims_service_and_selector_cannot_change() {
    let (_fake, client) = start().await;
    let sets: Api<StatefulSet> = Api::namespaced(client, "coop");
    let ssa = PatchParams::apply("mono-operator").force();
    sets.patch("db", &ssa, &Patch::Apply(stateful_set(1, "10Gi", "db")))
        .await
        .expect("created");
    sets.patch("db", &ssa, &Patch::Apply(stateful_set(2, "10Gi", "db")))
        .await
        .expect("replicas may change");
    let forbidden = "StatefulSet.apps \"db\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
    for (changed, what) in [
        (stateful_set(2, "20Gi", "db"), "volumeClaimTemplates"),
        (stateful_set(2, "10Gi", "db-headless"), "serviceName"),
    ] {
        let refused = sets.patch("db", &ssa, &Patch::Apply(changed)).await;
        assert_eq!(
            refusal(refused),
            (422, "Invalid".to_owned(), forbidden.to_owned()),
            "{what}"
        );
    }
    let mut selector = stateful_set(2, "10Gi", "db");
    selector["spec"]["selector"]["matchLabels"]["tier"] = json!("data");
    selector["spec"]["template"]["metadata"]["labels"]["tier"] = json!("data");
    let refused = sets.patch("db", &ssa, &Patch::Apply(selector)).await;
    assert_eq!(refusal(refused).0, 422, "selector");
}

async fn storage_class(client: &Client, name: &str, expandable: bool) {
    let classes: Api<StorageClass> = Api::all(client.clone());
    let class: StorageClass = serde_json::from_value(json!({
        "metadata": {"name": name}, "provisioner": "fake.csi", "allowVolumeExpansion": expandable,
    }))
    .expect("storage class");
    classes
        .create(&PostParams::default(), &class)
        .await
        .expect("create storage class");
}

/// A claim, bound to a volume of its size when `bound`.
async fn claim(client: &Client, name: &str, class: &str, bound: bool) {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "coop");
    let claim: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": class,
                 "resources": {"requests": {"storage": "10Gi"}}},
    }))
    .expect("claim");
    claims
        .create(&PostParams::default(), &claim)
        .await
        .expect("create claim");
    if bound {
        let status = json!({"status": {"phase": "Bound", "capacity": {"storage": "10Gi"}}});
        claims
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("bind claim");
    }
}

fn resize(size: &str) -> Patch<Value> {
    Patch::Merge(json!({"spec": {"resources": {"requests": {"storage": size}}}}))
}

#[tokio::test]
async fn claims_grow_only_when_bound_and_their_class_allows_it() {
    let (_fake, client) = start().await;
    storage_class(&client, "expandable", true).await;
    storage_class(&client, "fixed", false).await;
    claim(&client, "grows", "expandable", true).await;
    claim(&client, "stays", "fixed", true).await;
    claim(&client, "pending", "expandable", false).await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client, "coop");
    let params = PatchParams::default();

    let grown = claims
        .patch("grows", &params, &resize("20Gi"))
        .await
        .expect("an expandable class lets a bound claim grow");
    let requests = grown
        .spec
        .and_then(|s| s.resources)
        .and_then(|r| r.requests);
    assert_eq!(
        requests.map(|r| r["storage"].0.clone()).as_deref(),
        Some("20Gi")
    );
    assert_eq!(
        refusal(claims.patch("grows", &params, &resize("15Gi")).await),
        (
            422,
            "Invalid".to_owned(),
            "PersistentVolumeClaim \"grows\" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than previous value".to_owned()
        )
    );
    assert_eq!(
        refusal(claims.patch("stays", &params, &resize("20Gi")).await),
        (
            403,
            "Forbidden".to_owned(),
            "persistentvolumeclaims \"stays\" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize".to_owned()
        )
    );
    assert_eq!(
        refusal(claims.patch("pending", &params, &resize("20Gi")).await).0,
        422,
        "an unbound claim keeps its request"
    );
    let class_change = Patch::Merge(json!({"spec": {"storageClassName": "fixed"}}));
    assert_eq!(
        refusal(claims.patch("grows", &params, &class_change).await).0,
        422
    );
}
