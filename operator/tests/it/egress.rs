//! The egress NetworkPolicy of an external database opens the port of the URL in its Secret,
//! not PostgreSQL's usual one (#14).

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::{Cluster, cooperative};

const NAMESPACE: &str = "coop-zarya";

#[tokio::test]
async fn external_database_port_is_read_from_its_url() {
    let mut cluster = Cluster::start().await;
    cluster.create_namespace(NAMESPACE).await;
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "zarya-pg"},
        "stringData": {"url": "postgres://mono:secret@127.0.0.1:6543/zarya?sslmode=disable"},
    }))
    .expect("a Secret");
    Api::<Secret>::namespaced(cluster.client.clone(), NAMESPACE)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create the database Secret");
    let mut spec = cooperative("zarya", "1.0.0", "Retain");
    spec["spec"]["database"] = json!({
        "mode": "external",
        "external": {"secretRef": {"name": "zarya-pg", "key": "url"}},
    });
    cluster.create_in(NAMESPACE, spec).await;

    let rule = cluster
        .eventually("the egress rule to the external database", |fake| {
            let policy = fake.get_value(
                "networking.k8s.io",
                "networkpolicies",
                Some(NAMESPACE),
                "zarya-egress",
            )?;
            policy["spec"]["egress"]
                .as_array()?
                .iter()
                .find(|rule| rule["ports"][0]["port"] == 6543)
                .cloned()
        })
        .await;
    assert_eq!(
        rule,
        json!({
            "to": [{"ipBlock": {"cidr": "127.0.0.1/32"}}],
            "ports": [{"protocol": "TCP", "port": 6543}],
        })
    );
    let policy = cluster
        .fake
        .get_value(
            "networking.k8s.io",
            "networkpolicies",
            Some(NAMESPACE),
            "zarya-egress",
        )
        .unwrap_or_default();
    let ports: Vec<&serde_json::Value> = policy["spec"]["egress"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|rule| rule["ports"].as_array().into_iter().flatten())
        .map(|port| &port["port"])
        .collect();
    assert!(
        !ports.contains(&&json!(5432)),
        "no rule opens 5432: {policy}"
    );
}
