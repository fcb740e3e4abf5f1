//! ValidatingAdmissionPolicies, their bindings and the users requests come from.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use mono_fake_kube::User;
use serde_json::{Value, json};

use crate::{api_error, config_map, start};

/// A policy on ConfigMaps, for everyone but `system:masters`: a `color` label must be one the
/// namespace's `example.org/colors` annotation lists, and a `keep: "true"` annotation holds
/// deletion.
fn policy() -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "colors"},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE", "DELETE"], "resources": ["configmaps"],
            }]},
            "matchConditions": [{
                "name": "not-admins",
                "expression": "!request.userInfo.groups.exists(g, g == 'system:masters')",
            }],
            "variables": [
                {"name": "annotations", "expression": "has(namespaceObject.metadata.annotations) ? namespaceObject.metadata.annotations : {}"},
                {"name": "colors", "expression": "'example.org/colors' in variables.annotations ? variables.annotations['example.org/colors'].split(',') : []"},
            ],
            "validations": [
                {
                    "expression": "request.operation == 'DELETE' || !has(object.metadata.labels) || !('color' in object.metadata.labels) || object.metadata.labels['color'] in variables.colors",
                    "messageExpression": "'color ' + object.metadata.labels['color'] + ' is not one of ' + variables.colors.join(', ')",
                    "reason": "Forbidden",
                },
                {
                    "expression": "request.operation != 'DELETE' || !has(oldObject.metadata.annotations) || !('keep' in oldObject.metadata.annotations)",
                    "message": "kept",
                    "reason": "Invalid",
                },
            ],
        },
    })
}

fn binding(namespace_labels: Value) -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "colors-binding"},
        "spec": {
            "policyName": "colors",
            "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": {"matchLabels": namespace_labels}},
        },
    })
}

async fn create(client: &kube::Client, plural: &str, kind: &str, object: Value) {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("admissionregistration.k8s.io", "v1", kind),
        plural,
    );
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    api.create(
        &PostParams::default(),
        &serde_json::from_value(object).expect("object"),
    )
    .await
    .expect("create admission object");
}

fn labelled(name: &str, color: &str) -> ConfigMap {
    let mut map = config_map(name, &[("color", color)], "v1");
    if name == "kept" {
        map.metadata.annotations = Some([("keep".to_owned(), "true".to_owned())].into());
    }
    map
}

#[tokio::test]
async fn policies_judge_requests_by_user_object_and_namespace() {
    let (fake, admin) = start().await;
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    namespaces
        .patch(
            "coop",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {
                "labels": {"tenant": "true"},
                "annotations": {"example.org/colors": "red,green"},
            }})),
        )
        .await
        .expect("label the tenant namespace");
    create(
        &admin,
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
        policy(),
    )
    .await;
    create(
        &admin,
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
        binding(json!({"tenant": "true"})),
    )
    .await;

    let tenant = fake
        .client_as(User::new("alice", &["tenants"]))
        .expect("tenant client");
    let maps: Api<ConfigMap> = Api::namespaced(tenant.clone(), "coop");
    maps.create(&PostParams::default(), &labelled("fine", "red"))
        .await
        .expect("an allowed color");
    let refused = maps
        .create(&PostParams::default(), &labelled("loud", "blue"))
        .await;
    let Err(kube::Error::Api(status)) = refused else {
        panic!("blue was admitted: {refused:?}");
    };
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        status.message,
        "configmaps \"loud\" is forbidden: ValidatingAdmissionPolicy 'colors' with binding \
         'colors-binding' denied request: color blue is not one of red, green"
    );
    let recolored = maps
        .patch(
            "fine",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"color": "blue"}}})),
        )
        .await;
    assert_eq!(
        api_error(recolored),
        (403, "Forbidden".to_owned()),
        "updates too"
    );

    // Administrators are not matched; namespaces the binding does not select are not either.
    let admin_maps: Api<ConfigMap> = Api::namespaced(admin.clone(), "coop");
    admin_maps
        .create(&PostParams::default(), &labelled("kept", "blue"))
        .await
        .expect("system:masters is exempt");
    let elsewhere: Api<ConfigMap> = Api::namespaced(tenant.clone(), "other");
    elsewhere
        .create(&PostParams::default(), &labelled("free", "blue"))
        .await
        .expect("a namespace the binding does not select");

    // A delete sees the stored object as oldObject; the reason Invalid gives 422.
    assert_eq!(
        api_error(maps.delete("kept", &DeleteParams::default()).await),
        (422, "Invalid".to_owned())
    );
    maps.delete("fine", &DeleteParams::default())
        .await
        .expect("delete an unkept map");

    // A token the fake never handed out is refused before anything else.
    let mut config = kube::Config::new(fake.url().parse().expect("url"));
    config.auth_info.token = Some("stolen".to_owned().into());
    let stranger: Api<ConfigMap> =
        Api::namespaced(kube::Client::try_from(config).expect("client"), "coop");
    assert_eq!(
        api_error(stranger.get("kept").await),
        (401, "Unauthorized".to_owned())
    );
}
