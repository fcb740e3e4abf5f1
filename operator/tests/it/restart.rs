//! An operator killed in the middle of provisioning and started again converges without
//! duplicates and without regenerating Secrets.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{Cluster, cooperative, name_of, objects};

const NAMESPACE: &str = "coop-soyuz";
const NAME: &str = "soyuz";

/// Secret name → (uid, data).
fn secrets(cluster: &Cluster) -> BTreeMap<String, (Value, Value)> {
    objects(&cluster.fake, "", "secrets", NAMESPACE)
        .into_iter()
        .map(|secret| {
            (
                name_of(&secret),
                (secret["metadata"]["uid"].clone(), secret["data"].clone()),
            )
        })
        .collect()
}

#[tokio::test]
async fn restarted_operator_converges_without_duplicates() {
    let mut cluster = Cluster::start().await;
    cluster.kubelet.pause();
    cluster
        .create_cooperative(NAMESPACE, cooperative(NAME, "1.0.0", "Retain"))
        .await;
    cluster
        .eventually("the first generated Secret", |fake| {
            (!objects(fake, "", "secrets", NAMESPACE).is_empty()).then_some(())
        })
        .await;
    cluster.kill_operator().await;
    let before = secrets(&cluster);

    cluster.start_operator();
    cluster.kubelet.resume();
    cluster.ready(NAMESPACE, NAME).await;

    let after = secrets(&cluster);
    for (name, identity) in &before {
        assert_eq!(
            after.get(name),
            Some(identity),
            "Secret {name} kept its uid and data"
        );
    }
    for (group, plural, least, most) in [
        ("apps", "deployments", 1, 1),
        ("apps", "statefulsets", 1, 1),
        ("batch", "jobs", 1, 1),
    ] {
        let names: Vec<String> = objects(&cluster.fake, group, plural, NAMESPACE)
            .iter()
            .map(name_of)
            .collect();
        assert!(
            (least..=most).contains(&names.len()),
            "{least} to {most} {plural} expected, got {names:?}"
        );
    }
    let cooperatives = objects(
        &cluster.fake,
        "mono.coopenomics.io",
        "cooperatives",
        NAMESPACE,
    );
    assert_eq!(cooperatives.len(), 1);
}
