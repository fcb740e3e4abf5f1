//! `suspend: true` scales the instance to zero and keeps the database and Secrets;
//! `suspend: false` brings the instance back on the same data.

use std::collections::BTreeMap;

use kube::api::{Patch, PatchParams};
use mono_crds::{Cooperative, Phase};
use mono_fake_kube::FakeKube;
use serde_json::{Value, json};

use crate::{Cluster, condition, cooperative, name_of, objects};

const NAMESPACE: &str = "coop-luna";
const NAME: &str = "luna";

/// `kind/name` → (uid, data) of everything that holds the cooperative's data.
fn data(fake: &FakeKube) -> BTreeMap<String, (Value, Value)> {
    let mut kept = BTreeMap::new();
    for (group, plural) in [
        ("", "secrets"),
        ("", "persistentvolumeclaims"),
        ("apps", "statefulsets"),
    ] {
        for object in objects(fake, group, plural, NAMESPACE) {
            kept.insert(
                format!("{plural}/{}", name_of(&object)),
                (object["metadata"]["uid"].clone(), object["data"].clone()),
            );
        }
    }
    kept
}

/// Desired replicas of the instance Deployment.
fn replicas(fake: &FakeKube) -> Option<i64> {
    let deployment = fake.get_value("apps", "deployments", Some(NAMESPACE), NAME)?;
    deployment["spec"]["replicas"].as_i64()
}

async fn set_suspend(cluster: &Cluster, suspend: bool) {
    cluster
        .cooperatives(NAMESPACE)
        .patch(
            NAME,
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"suspend": suspend}})),
        )
        .await
        .expect("set spec.suspend");
}

#[tokio::test]
async fn suspend_scales_to_zero_and_keeps_data() {
    let mut cluster = Cluster::start().await;
    cluster
        .create_cooperative(NAMESPACE, cooperative(NAME, "1.0.0", "Retain"))
        .await;
    cluster.ready(NAMESPACE, NAME).await;
    assert_eq!(replicas(&cluster.fake), Some(1));
    let kept = data(&cluster.fake);
    for part in ["secrets/luna-db", "statefulsets/luna-db"] {
        assert!(kept.contains_key(part), "{part} in {kept:?}");
    }
    assert!(
        kept.keys()
            .any(|k| k.starts_with("persistentvolumeclaims/")),
        "a database volume in {kept:?}"
    );

    set_suspend(&cluster, true).await;
    let coop = cluster
        .eventually("the suspended Cooperative at zero replicas", |fake| {
            let coop = fake.get::<Cooperative>(Some(NAMESPACE), NAME)?;
            let status = coop.status.as_ref()?;
            let suspended = status.observed_generation == coop.metadata.generation
                && status.phase == Some(Phase::Suspended)
                && replicas(fake) == Some(0);
            suspended.then_some(coop)
        })
        .await;
    let ready = condition(&coop, "Ready").expect("a Ready condition");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "Suspended")
    );
    assert_eq!(data(&cluster.fake), kept, "suspending keeps the data");

    set_suspend(&cluster, false).await;
    cluster.ready(NAMESPACE, NAME).await;
    assert_eq!(replicas(&cluster.fake), Some(1));
    assert_eq!(data(&cluster.fake), kept, "resuming uses the same data");
    let jobs: Vec<String> = objects(&cluster.fake, "batch", "jobs", NAMESPACE)
        .iter()
        .map(name_of)
        .collect();
    assert_eq!(jobs, ["luna-migrate-1-0-0"], "no migration for a resume");
}
