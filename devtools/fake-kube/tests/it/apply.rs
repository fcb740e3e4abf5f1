//! Server-side apply and the other patch flavours.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use crate::{api_error, create_config_map, start};

fn deployment(images: &[(&str, &str)], extra_label: Option<&str>) -> Value {
    let containers: Vec<Value> = images
        .iter()
        .map(|(name, image)| json!({"name": name, "image": image}))
        .collect();
    let mut labels = json!({"app": "web"});
    if let Some(label) = extra_label {
        labels[label] = json!("yes");
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": labels},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}}},
    })
}

fn images(deployment: &Deployment) -> Vec<(String, String)> {
    deployment
        .spec
        .iter()
        .flat_map(|spec| {
            spec.template
                .spec
                .iter()
                .flat_map(|pod| pod.containers.iter())
        })
        .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn apply_creates_merges_and_drops_fields_of_its_manager() {
    let (_fake, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client, "coop");
    let ssa = PatchParams::apply("mono-operator").force();
    let created = api
        .patch(
            "web",
            &ssa,
            &Patch::Apply(deployment(
                &[("app", "i:1"), ("side", "s:1")],
                Some("extra"),
            )),
        )
        .await
        .expect("apply creates");
    assert_eq!(created.metadata.generation, Some(1));
    let managers: Vec<String> = created
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert_eq!(managers, ["mono-operator"]);

    let other = PatchParams::apply("someone-else").force();
    api.patch("web", &other, &Patch::Apply(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "annotations": {"note": "kept"}}})))
        .await
        .expect("second manager applies");

    let updated = api
        .patch(
            "web",
            &ssa,
            &Patch::Apply(deployment(&[("app", "i:2")], None)),
        )
        .await
        .expect("apply updates");
    assert_eq!(
        images(&updated),
        [("app".to_owned(), "i:2".to_owned())],
        "side container dropped by its manager"
    );
    let labels = updated.metadata.labels.clone().unwrap_or_default();
    assert!(
        !labels.contains_key("extra"),
        "label dropped by its manager: {labels:?}"
    );
    assert_eq!(
        updated
            .metadata
            .annotations
            .and_then(|a| a.get("note").cloned())
            .as_deref(),
        Some("kept")
    );
    assert_eq!(updated.metadata.generation, Some(2));

    let again = api
        .patch(
            "web",
            &ssa,
            &Patch::Apply(deployment(&[("app", "i:2")], None)),
        )
        .await
        .expect("no-op apply");
    assert_eq!(
        again.metadata.resource_version, updated.metadata.resource_version,
        "an identical apply changes nothing"
    );
}

#[tokio::test]
async fn status_apply_needs_the_object_and_writes_only_status() {
    let (_fake, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client, "coop");
    let status = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "status": {"replicas": 1}});
    assert_eq!(
        api_error(
            api.patch_status("web", &PatchParams::apply("m"), &Patch::Apply(&status))
                .await
        ),
        (404, "NotFound".into())
    );
    api.patch(
        "web",
        &PatchParams::apply("m"),
        &Patch::Apply(deployment(&[("app", "i:1")], None)),
    )
    .await
    .expect("apply");
    let applied = api
        .patch_status("web", &PatchParams::apply("m"), &Patch::Apply(&status))
        .await
        .expect("status apply");
    assert_eq!(applied.status.and_then(|s| s.replicas), Some(1));
    assert_eq!(applied.metadata.generation, Some(1));
}

#[tokio::test]
async fn merge_json_and_strategic_patches() {
    let (_fake, client) = start().await;
    create_config_map(&client, "coop", "a", &[("app", "mono")]).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "coop");
    let pp = PatchParams::default();
    let merged = api
        .patch(
            "a",
            &pp,
            &Patch::Merge(json!({"data": {"key": null, "new": "1"}})),
        )
        .await
        .expect("merge");
    assert_eq!(
        merged.data,
        Some([("new".to_owned(), "1".to_owned())].into())
    );
    let json_patch = Patch::Json::<()>(
        serde_json::from_value(
            json!([{"op": "add", "path": "/metadata/finalizers", "value": ["f"]}]),
        )
        .expect("patch"),
    );
    let patched = api.patch("a", &pp, &json_patch).await.expect("json patch");
    assert_eq!(patched.metadata.finalizers, Some(vec!["f".to_owned()]));

    let deployments: Api<Deployment> = Api::namespaced(client, "coop");
    deployments
        .patch(
            "web",
            &PatchParams::apply("m"),
            &Patch::Apply(deployment(&[("app", "i:1"), ("side", "s:1")], None)),
        )
        .await
        .expect("apply");
    let strategic =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "s:2"}]}}}});
    let patched = deployments
        .patch("web", &pp, &Patch::Strategic(strategic))
        .await
        .expect("strategic");
    assert_eq!(
        images(&patched),
        [
            ("app".to_owned(), "i:1".to_owned()),
            ("side".to_owned(), "s:2".to_owned())
        ]
    );
}
