//! Create, get, list, replace and the errors of each.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::{api_error, config_map, create_config_map, start};

#[tokio::test]
async fn create_fills_server_metadata_and_get_returns_it() {
    let (_fake, client) = start().await;
    let created = create_config_map(&client, "coop", "a", &[]).await;
    let meta = &created.metadata;
    assert_eq!(meta.namespace.as_deref(), Some("coop"));
    assert!(meta.uid.as_deref().is_some_and(|uid| !uid.is_empty()));
    assert!(meta.creation_timestamp.is_some());
    assert_eq!(meta.generation, Some(1));
    let api: Api<ConfigMap> = Api::namespaced(client, "coop");
    let got = api.get("a").await.expect("get");
    assert_eq!(got.metadata.uid, meta.uid);
    assert_eq!(got.metadata.resource_version, meta.resource_version);
    assert_eq!(got.data, created.data);
}

#[tokio::test]
async fn errors_are_kubernetes_statuses() {
    let (_fake, client) = start().await;
    create_config_map(&client, "coop", "a", &[]).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "coop");
    let dry_run = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    assert_eq!(
        api_error(api.create(&dry_run, &config_map("b", &[], "x")).await),
        (400, "BadRequest".into())
    );
    assert_eq!(
        api_error(api.get("missing").await),
        (404, "NotFound".into())
    );
    assert_eq!(
        api_error(
            api.create(&PostParams::default(), &config_map("a", &[], "x"))
                .await
        ),
        (409, "AlreadyExists".into())
    );
    let mut stale = api.get("a").await.expect("get");
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"key": "v2"}})),
    )
    .await
    .expect("patch");
    stale.data = Some([("key".to_owned(), "v3".to_owned())].into());
    assert_eq!(
        api_error(api.replace("a", &PostParams::default(), &stale).await),
        (409, "Conflict".into())
    );
    let unknown: Api<ConfigMap> = Api::namespaced(client, "coop");
    let json_patch = Patch::Json::<()>(
        serde_json::from_value(json!([{"op": "test", "path": "/data/key", "value": "no"}]))
            .expect("patch"),
    );
    assert_eq!(
        api_error(
            unknown
                .patch("a", &PatchParams::default(), &json_patch)
                .await
        ),
        (422, "Invalid".into())
    );
}

#[tokio::test]
async fn replace_with_current_version_succeeds_and_bumps_it() {
    let (_fake, client) = start().await;
    let created = create_config_map(&client, "coop", "a", &[]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "coop");
    let mut next = created.clone();
    next.data = Some([("key".to_owned(), "v2".to_owned())].into());
    let replaced = api
        .replace("a", &PostParams::default(), &next)
        .await
        .expect("replace");
    let version = |cm: &ConfigMap| {
        cm.metadata
            .resource_version
            .as_deref()
            .and_then(|rv| rv.parse::<u64>().ok())
    };
    assert!(version(&replaced) > version(&created));
    assert_eq!(replaced.data, next.data);
}

/// Namespace (or all), list parameters, and the expected `(namespace, name)` pairs.
type ListCase = (
    Option<&'static str>,
    ListParams,
    &'static [(&'static str, &'static str)],
);

#[tokio::test]
async fn list_filters_by_namespace_labels_and_fields() {
    let (_fake, client) = start().await;
    create_config_map(&client, "one", "a", &[("app", "mono"), ("tier", "db")]).await;
    create_config_map(&client, "one", "b", &[("app", "mono")]).await;
    create_config_map(&client, "two", "a", &[("app", "other")]).await;
    let cases: [ListCase; 6] = [
        (
            None,
            ListParams::default(),
            &[("one", "a"), ("one", "b"), ("two", "a")],
        ),
        (
            Some("one"),
            ListParams::default(),
            &[("one", "a"), ("one", "b")],
        ),
        (
            None,
            ListParams::default().labels("app=mono"),
            &[("one", "a"), ("one", "b")],
        ),
        (
            None,
            ListParams::default().labels("app=mono,tier"),
            &[("one", "a")],
        ),
        (
            None,
            ListParams::default().fields("metadata.name=a"),
            &[("one", "a"), ("two", "a")],
        ),
        (
            None,
            ListParams::default().fields("metadata.namespace=two"),
            &[("two", "a")],
        ),
    ];
    for (namespace, params, expected) in cases {
        let api: Api<ConfigMap> = match namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        let list = api.list(&params).await.expect("list");
        let got: Vec<(String, String)> = list
            .items
            .iter()
            .map(|cm| {
                (
                    cm.metadata.namespace.clone().unwrap_or_default(),
                    cm.metadata.name.clone().unwrap_or_default(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(ns, n)| ((*ns).to_owned(), (*n).to_owned()))
            .collect();
        assert_eq!(got, expected, "{namespace:?} {params:?}");
        assert!(list.metadata.resource_version.is_some());
    }
}

#[tokio::test]
async fn generation_follows_spec_and_status_is_a_subresource() {
    let (fake, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client, "coop");
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}},
        "status": {"readyReplicas": 9},
    }))
    .expect("deployment");
    let created = api
        .create(&PostParams::default(), &deployment)
        .await
        .expect("create");
    assert_eq!(created.status, None, "status is dropped on create");
    let pp = PatchParams::default();
    let steps = [
        (json!({"metadata": {"labels": {"x": "y"}}}), 1, None),
        (json!({"spec": {"replicas": 3}}), 2, None),
        (json!({"status": {"readyReplicas": 3}}), 2, None),
    ];
    for (patch, generation, ready) in steps {
        let patched = api
            .patch("web", &pp, &Patch::Merge(&patch))
            .await
            .expect("patch");
        assert_eq!(patched.metadata.generation, Some(generation), "{patch}");
        assert_eq!(
            patched.status.and_then(|s| s.ready_replicas),
            ready,
            "{patch}"
        );
    }
    let patched = api
        .patch_status(
            "web",
            &pp,
            &Patch::Merge(json!({"status": {"readyReplicas": 3}, "spec": {"replicas": 7}})),
        )
        .await
        .expect("status");
    assert_eq!(patched.status.and_then(|s| s.ready_replicas), Some(3));
    assert_eq!(
        patched.spec.and_then(|s| s.replicas),
        Some(3),
        "spec is ignored on /status"
    );
    assert_eq!(patched.metadata.generation, Some(2));
    fake.mark_deployment_ready("coop", "web").expect("kubelet");
    let ready = api
        .get_status("web")
        .await
        .expect("get status")
        .status
        .expect("status");
    assert_eq!(
        (
            ready.ready_replicas,
            ready.available_replicas,
            ready.updated_replicas,
            ready.observed_generation
        ),
        (Some(3), Some(3), Some(3), Some(2))
    );
}

#[tokio::test]
async fn secret_string_data_is_stored_as_data() {
    let (_fake, client) = start().await;
    let api: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client, "coop");
    let secret = serde_json::from_value(json!({
        "metadata": {"name": "pg"},
        "data": {"kept": "a2VwdA==", "url": "b2xk"},
        "stringData": {"url": "postgres://db:6432/x"},
    }))
    .expect("a Secret");
    let created = api
        .create(&PostParams::default(), &secret)
        .await
        .expect("create");
    let text = |secret: &k8s_openapi::api::core::v1::Secret, key: &str| {
        secret
            .data
            .as_ref()
            .and_then(|data| data.get(key))
            .map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned())
    };
    assert_eq!(
        text(&created, "url").as_deref(),
        Some("postgres://db:6432/x")
    );
    assert_eq!(text(&created, "kept").as_deref(), Some("kept"));
    assert_eq!(created.string_data, None);
    let patched = api
        .patch(
            "pg",
            &PatchParams::default(),
            &Patch::Merge(json!({"stringData": {"extra": "e"}})),
        )
        .await
        .expect("patch");
    assert_eq!(text(&patched, "extra").as_deref(), Some("e"));
    assert_eq!(
        text(&patched, "url").as_deref(),
        Some("postgres://db:6432/x")
    );
    assert_eq!(api.get("pg").await.expect("get").string_data, None);
}
