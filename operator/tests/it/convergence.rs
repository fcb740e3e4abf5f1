//! A new Cooperative converges to Ready with every child labelled and owned.

use serde_json::Value;

use crate::{Cluster, cooperative, deployment_image, name_of, objects, uid};

/// Group, plural and the least number of objects a builtin-database Cooperative with a domain
/// must own. No migration Job: a first install has nothing to migrate from, and the instance
/// applies its migrations when it starts.
const CHILDREN: [(&str, &str, usize); 8] = [
    ("", "secrets", 1),
    ("apps", "statefulsets", 1),
    ("", "services", 2),
    ("apps", "deployments", 1),
    ("networking.k8s.io", "ingresses", 1),
    ("networking.k8s.io", "networkpolicies", 1),
    ("", "resourcequotas", 1),
    ("", "limitranges", 1),
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
    let created = cluster
        .create_cooperative("coop-voskhod", cooperative("voskhod", "1.0.0", "Retain"))
        .await;
    let coop = cluster.ready("coop-voskhod", "voskhod").await;

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
