//! Deletion: finalizers, deletionTimestamp, and owner-reference garbage collection.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::{api_error, config_map, create_config_map, create_namespace, start};

fn owned_secret(name: &str, owner: &ConfigMap) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            owner_references: Some(vec![OwnerReference {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                name: owner.metadata.name.clone().unwrap_or_default(),
                uid: owner.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                ..OwnerReference::default()
            }]),
            ..ObjectMeta::default()
        },
        ..Secret::default()
    }
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let (fake, client) = start().await;
    create_config_map(&client, "coop", "a", &[]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "coop");
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": ["mono.coopenomics.io/cleanup"]}})),
    )
    .await
    .expect("add finalizer");
    let deleted = api
        .delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    let marked = deleted
        .left()
        .expect("object returned while finalizers remain");
    assert!(marked.metadata.deletion_timestamp.is_some());
    let still = api.get("a").await.expect("still stored");
    assert!(still.metadata.deletion_timestamp.is_some());
    api.delete("a", &DeleteParams::default())
        .await
        .expect("second delete is accepted");
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("remove finalizer");
    assert!(
        fake.get::<ConfigMap>(Some("coop"), "a").is_none(),
        "removed once finalizers are empty"
    );
}

#[tokio::test]
async fn dependents_are_collected_when_their_owner_goes() {
    let (fake, client) = start().await;
    let owner = create_config_map(&client, "coop", "owner", &[]).await;
    let bystander = create_config_map(&client, "coop", "bystander", &[]).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "coop");
    secrets
        .create(&PostParams::default(), &owned_secret("owned", &owner))
        .await
        .expect("owned");
    secrets
        .create(&PostParams::default(), &owned_secret("other", &bystander))
        .await
        .expect("other");
    let mut finalized = owned_secret("finalized", &owner);
    finalized.metadata.finalizers = Some(vec!["keep".into()]);
    secrets
        .create(&PostParams::default(), &finalized)
        .await
        .expect("finalized");

    let config_maps: Api<ConfigMap> = Api::namespaced(client, "coop");
    config_maps
        .delete("owner", &DeleteParams::default())
        .await
        .expect("delete owner");

    assert!(
        fake.get::<Secret>(Some("coop"), "owned").is_none(),
        "dependent collected"
    );
    assert!(
        fake.get::<Secret>(Some("coop"), "other").is_some(),
        "others untouched"
    );
    let held = fake
        .get::<Secret>(Some("coop"), "finalized")
        .expect("finalizer holds the dependent");
    assert!(held.metadata.deletion_timestamp.is_some());
}

#[tokio::test]
async fn statefulset_claims_are_owned_only_when_deleted_with_the_set() {
    use k8s_openapi::api::apps::v1::StatefulSet;
    use k8s_openapi::api::core::v1::PersistentVolumeClaim;

    let (fake, client) = start().await;
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), "coop");
    for (name, when_deleted, owned) in [("kept", "Retain", false), ("dropped", "Delete", true)] {
        let set: StatefulSet = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": name}},
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": when_deleted},
                "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "db", "image": "postgres"}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}],
            },
        }))
        .expect("statefulset");
        api.create(&PostParams::default(), &set)
            .await
            .expect("create");
        fake.mark_statefulset_ready("coop", name).expect("kubelet");
        let claim_name = format!("data-{name}-0");
        let claim = fake
            .get::<PersistentVolumeClaim>(Some("coop"), &claim_name)
            .expect("claim created");
        assert_eq!(
            claim
                .metadata
                .labels
                .and_then(|l| l.get("app").cloned())
                .as_deref(),
            Some(name)
        );
        api.delete(name, &DeleteParams::default())
            .await
            .expect("delete");
        assert_eq!(
            fake.get::<PersistentVolumeClaim>(Some("coop"), &claim_name)
                .is_none(),
            owned,
            "{name}"
        );
    }
}

#[tokio::test]
async fn namespaces_exist_before_their_objects_and_take_them_along() {
    let (fake, client) = start().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(
            namespaces.get_opt(name).await.expect("get").is_some(),
            "a cluster starts with {name}"
        );
    }
    let nowhere: Api<ConfigMap> = Api::namespaced(client.clone(), "nowhere");
    let refused = nowhere
        .create(&PostParams::default(), &config_map("a", &[], "v1"))
        .await;
    assert_eq!(api_error(refused), (404, "NotFound".to_owned()));
    let applied = nowhere
        .patch(
            "a",
            &PatchParams::apply("test"),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
            ),
        )
        .await;
    assert_eq!(
        api_error(applied),
        (404, "NotFound".to_owned()),
        "server-side apply creates nothing in a missing namespace either"
    );

    let created = create_namespace(&client, "tenant").await;
    assert_eq!(
        created.status.and_then(|s| s.phase).as_deref(),
        Some("Active")
    );
    create_config_map(&client, "tenant", "plain", &[]).await;
    let held: Api<Secret> = Api::namespaced(client.clone(), "tenant");
    let mut finalized = Secret {
        metadata: ObjectMeta {
            name: Some("held".into()),
            finalizers: Some(vec!["example.org/keep".into()]),
            ..ObjectMeta::default()
        },
        ..Secret::default()
    };
    held.create(&PostParams::default(), &finalized)
        .await
        .expect("a Secret with a finalizer");

    namespaces
        .delete("tenant", &DeleteParams::default())
        .await
        .expect("delete the namespace");
    let terminating = namespaces.get("tenant").await.expect("still there");
    assert_eq!(
        terminating.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating"),
        "held by the Secret's finalizer"
    );
    assert!(
        fake.get::<ConfigMap>(Some("tenant"), "plain").is_none(),
        "content is deleted"
    );
    let refused = create_config_map_in(&client, "tenant", "late").await;
    assert_eq!(api_error(refused), (403, "Forbidden".to_owned()));

    finalized = held.get("held").await.expect("held Secret");
    assert!(finalized.metadata.deletion_timestamp.is_some());
    held.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("release the finalizer");
    assert!(
        namespaces.get_opt("tenant").await.expect("get").is_none(),
        "the namespace goes with its last object"
    );
    assert!(
        namespaces.get_opt("coop").await.expect("get").is_some(),
        "other namespaces stay"
    );
}

async fn create_config_map_in(
    client: &kube::Client,
    ns: &str,
    name: &str,
) -> Result<ConfigMap, kube::Error> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    api.create(&PostParams::default(), &config_map(name, &[], "v1"))
        .await
}
