//! A second Cooperative in a namespace is refused with a condition and an Event, and the
//! first one keeps being served.

use kube::api::DeleteParams;
use mono_crds::{Cooperative, Phase};

use crate::{Cluster, condition, cooperative, deployment_image, name_of, objects};

const NAMESPACE: &str = "coop-sever";

#[tokio::test]
async fn second_cooperative_in_a_namespace_is_refused() {
    let mut cluster = Cluster::start().await;
    cluster
        .create_cooperative(NAMESPACE, cooperative("sever", "1.0.0", "Retain"))
        .await;
    cluster.ready(NAMESPACE, "sever").await;
    cluster
        .create_in(NAMESPACE, cooperative("yug", "1.0.0", "Retain"))
        .await;

    let refused = cluster
        .eventually("the second Cooperative to be refused", |fake| {
            fake.get::<Cooperative>(Some(NAMESPACE), "yug")
                .filter(|coop| {
                    condition(coop, "Ready").is_some_and(|c| c.reason == "DuplicateCooperative")
                })
        })
        .await;
    let status = refused.status.clone().unwrap_or_default();
    assert_eq!(status.phase, Some(Phase::Failed));
    assert_eq!(status.observed_generation, refused.metadata.generation);
    let ready = condition(&refused, "Ready").expect("a Ready condition");
    assert_eq!(ready.status, "False");
    assert!(
        ready
            .message
            .contains("namespace coop-sever already has Cooperative sever"),
        "{}",
        ready.message
    );
    assert!(
        refused.metadata.finalizers.unwrap_or_default().is_empty(),
        "a refused Cooperative gets no finalizer"
    );
    cluster
        .eventually("a Warning Event about the duplicate", |fake| {
            objects(fake, "events.k8s.io", "events", NAMESPACE)
                .into_iter()
                .find(|event| {
                    event["reason"] == "DuplicateCooperative"
                        && event["type"] == "Warning"
                        && event["regarding"]["name"] == "yug"
                })
        })
        .await;

    // Nothing was made for the refused one; the first keeps its single instance.
    for (group, plural) in [
        ("apps", "deployments"),
        ("apps", "statefulsets"),
        ("batch", "jobs"),
        ("", "secrets"),
    ] {
        let names: Vec<String> = objects(&cluster.fake, group, plural, NAMESPACE)
            .iter()
            .map(name_of)
            .filter(|name| name.starts_with("yug"))
            .collect();
        assert!(
            names.is_empty(),
            "{plural} for the refused Cooperative: {names:?}"
        );
    }
    let image = deployment_image(&cluster.fake, NAMESPACE).unwrap_or_default();
    assert!(image.ends_with(":1.0.0"), "instance image {image}");

    // Without a finalizer the refused one goes at once; the first stays Ready.
    cluster
        .cooperatives(NAMESPACE)
        .delete("yug", &DeleteParams::default())
        .await
        .expect("delete the duplicate");
    cluster
        .eventually("the duplicate to be gone", |fake| {
            fake.get::<Cooperative>(Some(NAMESPACE), "yug")
                .is_none()
                .then_some(())
        })
        .await;
    cluster.ready(NAMESPACE, "sever").await;
}
