//! What hosting staff do not allow is refused in the status, and nothing is provisioned for
//! it; once the spec asks for what is allowed, the Cooperative converges (#14).

use kube::api::{Patch, PatchParams};
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
