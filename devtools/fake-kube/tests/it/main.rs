//! Tests of the fake API server through the real kube-rs client: every behaviour the operator
//! relies on is checked the way the operator will use it.

mod admission;
mod apply;
mod crd;
mod kubelet;
mod lifecycle;
mod objects;
mod validation;
mod watch;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::{Client, Error};
use mono_fake_kube::FakeKube;

/// Namespaces the tests write to; nothing can be created in a namespace that does not exist.
const NAMESPACES: [&str; 5] = ["coop", "one", "two", "other", "elsewhere"];

/// Starts a fake and a client for it, with the namespaces in [`NAMESPACES`].
async fn start() -> (FakeKube, Client) {
    let fake = FakeKube::start().await.expect("fake starts on loopback");
    let client = fake.client().expect("client for the fake");
    for name in NAMESPACES {
        create_namespace(&client, name).await;
    }
    (fake, client)
}

/// Creates the namespace `name`.
async fn create_namespace(client: &Client, name: &str) -> Namespace {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    namespaces
        .create(&PostParams::default(), &namespace)
        .await
        .expect("create namespace")
}

/// The `(code, reason)` of an API error.
fn api_error<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, String) {
    match result {
        Err(Error::Api(status)) => (status.code, status.reason.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// A ConfigMap with one data entry and labels.
fn config_map(name: &str, labels: &[(&str, &str)], value: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            ..ObjectMeta::default()
        },
        data: Some([("key".to_owned(), value.to_owned())].into()),
        ..ConfigMap::default()
    }
}

/// Creates a ConfigMap in `ns`.
async fn create_config_map(
    client: &Client,
    ns: &str,
    name: &str,
    labels: &[(&str, &str)],
) -> ConfigMap {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    api.create(&PostParams::default(), &config_map(name, labels, "v1"))
        .await
        .expect("create config map")
}
