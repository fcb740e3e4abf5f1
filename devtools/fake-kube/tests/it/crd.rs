//! Custom resource definitions registered through the API, and discovery.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use kube::discovery::Discovery;
use serde_json::json;

use crate::{api_error, start};

fn widget_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.org"},
        "spec": {
            "group": "example.org",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                          "subresources": {"status": {}}}],
        },
    }))
    .expect("crd")
}

#[tokio::test]
async fn created_crds_are_served_with_their_status_subresource() {
    let (_fake, client) = start().await;
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.org", "v1", "Widget"),
        "widgets",
    );
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "coop", &resource);
    assert_eq!(api_error(widgets.get("w").await), (404, "NotFound".into()));

    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let created = crds
        .create(&PostParams::default(), &widget_crd())
        .await
        .expect("create crd");
    let established = created
        .status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| c.type_ == "Established" && c.status == "True");
    assert!(established, "{:?}", created.status);

    let widget = json!({"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}, "status": {"ok": true}});
    let applied = widgets
        .patch("w", &PatchParams::apply("m"), &Patch::Apply(&widget))
        .await
        .expect("apply widget");
    assert_eq!(
        applied.data.get("status"),
        None,
        "status needs the subresource"
    );
    let status = widgets
        .patch_status("w", &PatchParams::apply("m"), &Patch::Apply(&widget))
        .await
        .expect("status");
    assert_eq!(status.data["status"]["ok"], json!(true));

    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let group = discovery.get("example.org").expect("group discovered");
    let kinds: Vec<String> = group
        .recommended_resources()
        .into_iter()
        .map(|(r, _)| r.kind)
        .collect();
    assert_eq!(kinds, ["Widget"]);

    crds.delete("widgets.example.org", &DeleteParams::default())
        .await
        .expect("delete crd");
    assert_eq!(api_error(widgets.get("w").await), (404, "NotFound".into()));
}
