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

/// Two Cooperatives for one coopname in two namespaces, created together: exactly one is
/// served, and the other takes over when it is deleted (#14).
#[tokio::test]
async fn coopname_is_served_once_in_the_cluster() {
    let mut cluster = Cluster::start().await;
    cluster.create_namespace("coop-vostok-a").await;
    cluster.create_namespace("coop-vostok-b").await;
    let mut second = cooperative("vostok-b", "1.0.0", "Delete");
    second["spec"]["coopname"] = serde_json::json!("vostok");
    let mut first = cooperative("vostok-a", "1.0.0", "Delete");
    first["spec"]["coopname"] = serde_json::json!("vostok");
    tokio::join!(
        cluster.create_in("coop-vostok-a", first),
        cluster.create_in("coop-vostok-b", second),
    );
    let both = [("coop-vostok-a", "vostok-a"), ("coop-vostok-b", "vostok-b")];
    let served = |coop: &Cooperative| {
        coop.metadata
            .finalizers
            .as_ref()
            .is_some_and(|f| !f.is_empty())
    };
    let refused = |coop: &Cooperative| {
        condition(coop, "Ready").is_some_and(|c| c.reason == "DuplicateCoopname")
    };
    let (winner, loser) = cluster
        .eventually("one served and one refused", |fake| {
            let found: Vec<Cooperative> = both
                .iter()
                .filter_map(|(ns, name)| fake.get::<Cooperative>(Some(ns), name))
                .collect();
            match found.as_slice() {
                [x, y] if served(x) && refused(y) => Some((x.clone(), y.clone())),
                [x, y] if served(y) && refused(x) => Some((y.clone(), x.clone())),
                _ => None,
            }
        })
        .await;
    assert!(!served(&loser), "the refused one has no finalizer");
    let message = condition(&loser, "Ready")
        .map(|c| c.message.clone())
        .unwrap_or_default();
    let winner_ns = winner.metadata.namespace.clone().unwrap_or_default();
    let winner_name = winner.metadata.name.clone().unwrap_or_default();
    assert!(
        message.contains(&format!(
            "coopname vostok is served by Cooperative {winner_name} in namespace {winner_ns}"
        )),
        "{message}"
    );
    let loser_ns = loser.metadata.namespace.clone().unwrap_or_default();
    assert!(
        objects(&cluster.fake, "apps", "statefulsets", &loser_ns).is_empty(),
        "nothing is provisioned for the refused one"
    );

    // Deleting the winner lets the other one in, without touching it.
    cluster
        .cooperatives(&winner_ns)
        .delete(&winner_name, &DeleteParams::default())
        .await
        .expect("delete the winner");
    let loser_name = loser.metadata.name.clone().unwrap_or_default();
    cluster.ready(&loser_ns, &loser_name).await;
}
