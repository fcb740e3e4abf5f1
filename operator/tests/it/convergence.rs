//! A new Cooperative converges to Ready with every child labelled and owned, its first
//! rollout going through the migration Job like every later one.

use mono_fake_kube::JobOutcome;
use serde_json::Value;

use crate::{
    Cluster, condition, cooperative, deployment_image, job_finished, name_of, objects, uid,
};

/// Group, plural and the least number of objects a builtin-database Cooperative with a domain
/// must own.
const CHILDREN: [(&str, &str, usize); 10] = [
    ("", "secrets", 1),
    ("apps", "statefulsets", 1),
    ("batch", "jobs", 1),
    ("", "services", 2),
    ("apps", "deployments", 1),
    ("networking.k8s.io", "ingresses", 1),
    ("networking.k8s.io", "networkpolicies", 1),
    ("", "resourcequotas", 1),
    ("", "limitranges", 1),
    ("policy", "poddisruptionbudgets", 1),
];

fn owned_by(object: &Value, owner_uid: &str) -> bool {
    object["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|owners| {
            owners
                .iter()
                .any(|o| o["uid"] == owner_uid && o["controller"] == true)
        })
}

#[tokio::test]
async fn new_cooperative_converges_to_ready() {
    let mut cluster = Cluster::start().await;
    cluster.kubelet.set_default_job_outcome(JobOutcome::Hold);
    let created = cluster
        .create_cooperative("coop-voskhod", cooperative("voskhod", "1.0.0", "Retain"))
        .await;

    // The database comes up, then the migration Job of 1.0.0 runs; no instance meanwhile.
    let job = cluster
        .eventually("the migration Job of the first rollout", |fake| {
            fake.get_value(
                "batch",
                "jobs",
                Some("coop-voskhod"),
                "voskhod-migrate-1-0-0",
            )
        })
        .await;
    let image = job["spec"]["template"]["spec"]["containers"][0]["image"].clone();
    assert!(
        image.as_str().is_some_and(|i| i.ends_with(":1.0.0")),
        "migration image {image}"
    );
    cluster
        .eventually("Ready=False with reason Migrating", |fake| {
            let coop = fake.get::<mono_crds::Cooperative>(Some("coop-voskhod"), "voskhod")?;
            condition(&coop, "Ready")
                .is_some_and(|c| c.status == "False" && c.reason == "Migrating")
                .then_some(())
        })
        .await;
    assert_eq!(
        deployment_image(&cluster.fake, "coop-voskhod"),
        None,
        "no instance before its migration completed"
    );

    cluster
        .kubelet
        .set_job_outcome("voskhod-migrate-1-0-0", JobOutcome::Complete);
    let coop = cluster.ready("coop-voskhod", "voskhod").await;
    let job = cluster
        .fake
        .get_value(
            "batch",
            "jobs",
            Some("coop-voskhod"),
            "voskhod-migrate-1-0-0",
        )
        .unwrap_or_default();
    assert!(job_finished(&job, "Complete"), "{job}");

    let status = coop.status.clone().unwrap_or_default();
    assert_eq!(status.version.as_deref(), Some("1.0.0"));
    for type_ in ["DatabaseReady", "Ready"] {
        let found = crate::condition(&coop, type_).map(|c| c.status.clone());
        assert_eq!(
            found.as_deref(),
            Some("True"),
            "{type_} in {:?}",
            status.conditions
        );
    }
    for type_ in ["Degraded", "Upgrading"] {
        let found = crate::condition(&coop, type_).map(|c| c.status.clone());
        assert_ne!(
            found.as_deref(),
            Some("True"),
            "{type_} in {:?}",
            status.conditions
        );
    }

    let owner = uid(&created);
    for (group, plural, least) in CHILDREN {
        let found = objects(&cluster.fake, group, plural, "coop-voskhod");
        assert!(
            found.len() >= least,
            "{plural}: expected at least {least}, got {:?}",
            found.iter().map(name_of).collect::<Vec<_>>()
        );
        for object in &found {
            assert!(
                owned_by(object, &owner),
                "{plural}/{} is not controlled by the Cooperative",
                name_of(object)
            );
            let labels = &object["metadata"]["labels"];
            assert_eq!(
                labels["app.kubernetes.io/managed-by"],
                "mono-operator",
                "{plural}/{} labels {labels}",
                name_of(object)
            );
        }
    }
    let image = deployment_image(&cluster.fake, "coop-voskhod").unwrap_or_default();
    assert!(image.ends_with(":1.0.0"), "instance image {image}");
}
