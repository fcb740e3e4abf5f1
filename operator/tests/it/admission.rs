//! The chart's ValidatingAdmissionPolicies, rendered by `charts/lint.sh` into
//! `tests/data/chart/admission.yaml` and evaluated by the fake API server: tenants are refused
//! staff-only fields, what the guardrails do not allow and deleting a protected Cooperative,
//! while the operator, exempt, still converges what tenants may ask for (#14).

use std::path::Path;

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use mono_crds::Cooperative;
use mono_fake_kube::User;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{Cluster, cooperative};

const NAMESPACE: &str = "coop-rassvet";

/// Installs every policy and binding of the rendered chart.
async fn install_policies(cluster: &Cluster) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/chart/admission.yaml");
    let text = std::fs::read_to_string(&path).expect("the rendered policies");
    for document in serde_norway::Deserializer::from_str(&text) {
        let object = Value::deserialize(document).expect("a YAML document");
        if object.is_null() {
            continue;
        }
        let kind = object["kind"].as_str().expect("a kind").to_owned();
        let plural = match kind.as_str() {
            "ValidatingAdmissionPolicy" => "validatingadmissionpolicies",
            "ValidatingAdmissionPolicyBinding" => "validatingadmissionpolicybindings",
            other => panic!("unexpected kind {other} in the rendered policies"),
        };
        let resource = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("admissionregistration.k8s.io", "v1", &kind),
            plural,
        );
        let api: Api<DynamicObject> = Api::all_with(cluster.client.clone(), &resource);
        api.create(
            &PostParams::default(),
            &serde_json::from_value(object).expect("an object"),
        )
        .await
        .expect("install an admission object");
    }
}

/// The message of a refused request, or a panic naming what was admitted.
fn refusal<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> (u16, String) {
    match result {
        Err(kube::Error::Api(status)) => (status.code, status.message),
        other => panic!("admitted: {other:?}"),
    }
}

#[tokio::test]
async fn the_charts_policies_hold_tenants_and_let_the_operator_work() {
    let mut cluster = Cluster::start().await;
    install_policies(&cluster).await;
    cluster.create_namespace(NAMESPACE).await;
    let tenant = cluster
        .fake
        .client_as(User::new("alice", &["coop-rassvet-admins"]))
        .expect("tenant client");
    let cooperatives: Api<Cooperative> = Api::namespaced(tenant, NAMESPACE);
    let create = |spec: Value| {
        let coop: Cooperative = serde_json::from_value(spec).expect("spec");
        let api = cooperatives.clone();
        async move { api.create(&PostParams::default(), &coop).await }
    };

    let mut own_image = cooperative("rassvet", "1.0.0", "Retain");
    own_image["spec"]["instance"]["image"] = json!("evil.example/mono");
    let (code, message) = refusal(create(own_image).await);
    assert_eq!(code, 403);
    assert!(
        message.ends_with("denied request: spec.instance.image is set by hosting staff only"),
        "{message}"
    );
    let mut foreign_host = cooperative("rassvet", "1.0.0", "Retain");
    foreign_host["spec"]["domain"]["host"] = json!("console.platform.example");
    let (code, message) = refusal(create(foreign_host).await);
    assert_eq!(code, 403);
    assert!(
        message.ends_with("spec.domain.host console.platform.example is not under mono.test"),
        "{message}"
    );

    // What tenants may ask for is admitted, and the operator, exempt, makes it Ready.
    let mut allowed = cooperative("rassvet", "1.0.0", "Retain");
    allowed["metadata"]["annotations"] = json!({"mono.coopenomics.io/deletion-protection": "true"});
    create(allowed).await.expect("an allowed Cooperative");
    cluster.ready(NAMESPACE, "rassvet").await;

    let (code, message) = refusal(
        cooperatives
            .patch(
                "rassvet",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"quota": {"cpu": "64"}}})),
            )
            .await,
    );
    assert_eq!(code, 403);
    assert!(
        message.ends_with("spec.quota is set by hosting staff only"),
        "{message}"
    );
    // Staff narrow the versions of this namespace; the policy reads them from namespaceObject.
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(cluster.client.clone());
    namespaces
        .patch(
            NAMESPACE,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "mono.coopenomics.io/allowed-versions": "1.0.0, 1.0.1",
            }}})),
        )
        .await
        .expect("annotate the namespace");
    let (code, message) = refusal(
        cooperatives
            .patch(
                "rassvet",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"instance": {"version": "1.1.0"}}})),
            )
            .await,
    );
    assert_eq!(code, 403);
    assert!(
        message.ends_with(
            "spec.instance.version must be one of 1.0.0, 1.0.1 (namespace coop-rassvet)"
        ),
        "{message}"
    );
    cooperatives
        .patch(
            "rassvet",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"instance": {"version": "1.0.1"}}})),
        )
        .await
        .expect("a version the namespace allows");

    let (code, message) = refusal(
        cooperatives
            .delete("rassvet", &DeleteParams::default())
            .await,
    );
    assert_eq!(code, 403);
    assert!(
        message.contains("mono.coopenomics.io/deletion-protection: \"true\""),
        "{message}"
    );
    assert!(
        cluster
            .fake
            .get::<Cooperative>(Some(NAMESPACE), "rassvet")
            .is_some_and(|coop| coop.metadata.deletion_timestamp.is_none())
    );
}
