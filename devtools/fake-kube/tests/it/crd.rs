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

#[tokio::test]
async fn crd_cel_rules_refuse_writes_as_the_api_server_does() {
    let (_fake, client) = start().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut crd = widget_crd();
    let schema = json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "x-kubernetes-validations": [
                    {"rule": "self.size <= self.max", "message": "size is above max"},
                ],
                "properties": {
                    "size": {"type": "integer"},
                    "max": {"type": "integer", "default": 10},
                    "color": {
                        "type": "string",
                        "x-kubernetes-validations": [
                            {"rule": "self == oldSelf", "message": "color is immutable"},
                        ],
                    },
                },
            },
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        },
    });
    crd.spec.versions[0].schema =
        Some(serde_json::from_value(json!({"openAPIV3Schema": schema})).expect("schema"));
    crds.create(&PostParams::default(), &crd)
        .await
        .expect("create crd");
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.org", "v1", "Widget"),
        "widgets",
    );
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "coop", &resource);
    let widget = |size: i64, color: &str| {
        json!({"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w"},
               "spec": {"size": size, "color": color}})
    };

    // The default of max applies before the rule: 11 is above it.
    let refused = widgets
        .patch(
            "w",
            &PatchParams::apply("m"),
            &Patch::Apply(widget(11, "red")),
        )
        .await;
    let Err(kube::Error::Api(status)) = refused else {
        panic!("expected a refusal, got {refused:?}");
    };
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        status.message,
        "Widget.example.org \"w\" is invalid: spec: Invalid value: \"object\": size is above max"
    );
    widgets
        .patch(
            "w",
            &PatchParams::apply("m"),
            &Patch::Apply(widget(3, "red")),
        )
        .await
        .expect("a widget within its rules");

    // A transition rule compares with the stored object.
    let changed = widgets
        .patch(
            "w",
            &PatchParams::apply("m"),
            &Patch::Apply(widget(3, "blue")),
        )
        .await;
    assert_eq!(api_error(changed), (422, "Invalid".into()));
    widgets
        .patch(
            "w",
            &PatchParams::apply("m"),
            &Patch::Apply(widget(4, "red")),
        )
        .await
        .expect("other fields still change");
}
