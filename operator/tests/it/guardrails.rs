//! What hosting staff do not allow is refused in the status, and nothing is provisioned for
//! it; once the spec asks for what is allowed, the Cooperative converges (#14).

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams, PostParams};
use mono_crds::{Cooperative, Phase};
use serde_json::json;

use crate::{Cluster, NO_PROBES, condition, cooperative, objects};

const NAMESPACE: &str = "coop-yug";

#[tokio::test]
async fn host_outside_the_allowed_suffixes_is_refused_until_fixed() {
    let mut args = NO_PROBES.to_vec();
    args.extend(["--allowed-host-suffixes", "coops.test"]);
    let mut cluster = Cluster::start_with(&args).await;
    // `cooperative` asks for yug.mono.test, outside coops.test.
    cluster
        .create_cooperative(NAMESPACE, cooperative("yug", "1.0.0", "Retain"))
        .await;
    let refused = cluster
        .eventually("the Cooperative to be refused", |fake| {
            fake.get::<Cooperative>(Some(NAMESPACE), "yug")
                .filter(|coop| condition(coop, "Ready").is_some_and(|c| c.reason == "NotAllowed"))
        })
        .await;
    let status = refused.status.clone().unwrap_or_default();
    assert_eq!(status.phase, Some(Phase::Failed));
    assert_eq!(status.observed_generation, refused.metadata.generation);
    let message = condition(&refused, "Ready")
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(
        message.contains("host yug.mono.test is not under coops.test"),
        "{message}"
    );
    cluster
        .eventually("a Warning Event NotAllowed", |fake| {
            objects(fake, "events.k8s.io", "events", NAMESPACE)
                .into_iter()
                .find(|event| event["reason"] == "NotAllowed" && event["type"] == "Warning")
        })
        .await;
    for (group, plural) in [
        ("apps", "statefulsets"),
        ("apps", "deployments"),
        ("networking.k8s.io", "ingresses"),
    ] {
        assert!(
            objects(&cluster.fake, group, plural, NAMESPACE).is_empty(),
            "{plural} made for a refused spec"
        );
    }

    cluster
        .cooperatives(NAMESPACE)
        .patch(
            "yug",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"domain": {"host": "yug.coops.test"}}})),
        )
        .await
        .expect("move the host under an allowed suffix");
    let ready = cluster.ready(NAMESPACE, "yug").await;
    assert_ne!(
        condition(&ready, "Ready").map(|c| c.reason.as_str()),
        Some("NotAllowed")
    );
}

#[tokio::test]
async fn a_namespace_narrows_what_the_platform_allows() {
    const NARROW: &str = "coop-sever";
    let mut args = NO_PROBES.to_vec();
    args.extend(["--allowed-host-suffixes", "mono.test"]);
    let mut cluster = Cluster::start_with(&args).await;
    let namespaces: Api<Namespace> = Api::all(cluster.client.clone());
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {
        "name": NARROW,
        "annotations": {
            "mono.coopenomics.io/allowed-host-suffixes": "sever.mono.test",
            "mono.coopenomics.io/allowed-versions": "1.0.0, 1.1.0",
        },
    }}))
    .expect("namespace");
    namespaces
        .create(&PostParams::default(), &namespace)
        .await
        .expect("create the namespace");
    // sever.mono.test is under the platform's mono.test, but not under the namespace's list.
    cluster
        .create_in(NARROW, cooperative("sever", "1.0.0", "Retain"))
        .await;
    let refused = cluster
        .eventually("the Cooperative to be refused by its namespace", |fake| {
            fake.get::<Cooperative>(Some(NARROW), "sever")
                .filter(|coop| condition(coop, "Ready").is_some_and(|c| c.reason == "NotAllowed"))
        })
        .await;
    let message = condition(&refused, "Ready")
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(
        message
            .contains("host sever.mono.test is not under sever.mono.test (namespace coop-sever)"),
        "{message}"
    );
    assert!(objects(&cluster.fake, "apps", "deployments", NARROW).is_empty());

    cluster
        .cooperatives(NARROW)
        .patch(
            "sever",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"domain": {"host": "coop.sever.mono.test"}}})),
        )
        .await
        .expect("move the host under the namespace's suffix");
    cluster.ready(NARROW, "sever").await;

    // Staff narrowing the namespace further is seen at once, with no change to the
    // Cooperative (its own resync is minutes away).
    namespaces
        .patch(
            NARROW,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "mono.coopenomics.io/allowed-host-suffixes": "yug.mono.test",
            }}})),
        )
        .await
        .expect("narrow the namespace");
    cluster
        .eventually(
            "the Cooperative refused by the narrowed namespace",
            |fake| {
                let coop = fake.get::<Cooperative>(Some(NARROW), "sever")?;
                condition(&coop, "Ready")
                    .filter(|c| {
                        c.message
                            .contains("host coop.sever.mono.test is not under yug.mono.test")
                    })
                    .map(|_| ())
            },
        )
        .await;
    namespaces
        .patch(
            NARROW,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "mono.coopenomics.io/allowed-host-suffixes": "sever.mono.test",
            }}})),
        )
        .await
        .expect("widen the namespace again");
    cluster.ready(NARROW, "sever").await;

    // A version the platform allows (it lists none) but the namespace does not.
    cluster
        .cooperatives(NARROW)
        .patch(
            "sever",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"instance": {"version": "2.0.0"}}})),
        )
        .await
        .expect("ask for 2.0.0");
    cluster
        .eventually("2.0.0 to be refused in the namespace", |fake| {
            let coop = fake.get::<Cooperative>(Some(NARROW), "sever")?;
            condition(&coop, "Ready")
                .filter(|c| {
                    c.message
                        .contains("version 2.0.0 is not one of 1.0.0, 1.1.0 (namespace coop-sever)")
                })
                .map(|_| ())
        })
        .await;
    let image = crate::deployment_image(&cluster.fake, NARROW).unwrap_or_default();
    assert!(
        image.ends_with(":1.0.0"),
        "what runs keeps running: {image}"
    );
}
