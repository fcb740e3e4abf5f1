//! Watches: raw event streams, resumption, compaction, bookmarks and kube-runtime's watcher.

use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use kube::runtime::watcher;
use mono_fake_kube::{FakeKube, Options};
use serde_json::json;

use crate::{create_config_map, create_namespace, start};

const STEP: Duration = Duration::from_secs(10);

async fn next<S: Stream + Unpin>(stream: &mut S) -> S::Item {
    tokio::time::timeout(STEP, stream.next())
        .await
        .expect("an event within the deadline")
        .expect("the stream goes on")
}

fn describe(event: &WatchEvent<ConfigMap>) -> String {
    match event {
        WatchEvent::Added(cm) => format!("ADDED {}", cm.metadata.name.clone().unwrap_or_default()),
        WatchEvent::Modified(cm) => {
            format!("MODIFIED {}", cm.metadata.name.clone().unwrap_or_default())
        }
        WatchEvent::Deleted(cm) => {
            format!("DELETED {}", cm.metadata.name.clone().unwrap_or_default())
        }
        WatchEvent::Bookmark(_) => "BOOKMARK".to_owned(),
        WatchEvent::Error(status) => format!("ERROR {}", status.code),
    }
}

#[tokio::test]
async fn watch_streams_changes_after_the_listed_version() {
    let (_fake, client) = start().await;
    create_config_map(&client, "coop", "before", &[]).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "coop");
    let listed = api.list(&ListParams::default()).await.expect("list");
    let version = listed.metadata.resource_version.expect("list version");
    let mut stream = api
        .watch(&WatchParams::default(), &version)
        .await
        .expect("watch")
        .boxed();
    create_config_map(&client, "coop", "a", &[]).await;
    create_config_map(&client, "elsewhere", "x", &[]).await;
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"key": "v2"}})),
    )
    .await
    .expect("patch");
    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(describe(&next(&mut stream).await.expect("event decodes")));
    }
    assert_eq!(seen, ["ADDED a", "MODIFIED a", "DELETED a"]);
}

#[tokio::test]
async fn watch_from_zero_and_resume_replay_history() {
    let (_fake, client) = start().await;
    let first = create_config_map(&client, "coop", "a", &[]).await;
    create_config_map(&client, "coop", "b", &[]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "coop");
    let cases = [
        ("0", vec!["ADDED a", "ADDED b"]),
        (
            first
                .metadata
                .resource_version
                .as_deref()
                .unwrap_or_default(),
            vec!["ADDED b"],
        ),
    ];
    for (version, expected) in cases {
        let mut stream = api
            .watch(&WatchParams::default(), version)
            .await
            .expect("watch")
            .boxed();
        let mut seen = Vec::new();
        for _ in 0..expected.len() {
            seen.push(describe(&next(&mut stream).await.expect("event decodes")));
        }
        assert_eq!(seen, expected, "from {version}");
    }
}

#[tokio::test]
async fn compacted_history_answers_gone_and_bookmarks_flow() {
    let options = Options {
        history_per_type: 2,
        bookmark_interval: Duration::from_millis(50),
        ..Options::default()
    };
    let fake = FakeKube::start_with(options).await.expect("start");
    let client = fake.client().expect("client");
    create_namespace(&client, "coop").await;
    let first = create_config_map(&client, "coop", "a", &[]).await;
    for name in ["b", "c", "d"] {
        create_config_map(&client, "coop", name, &[]).await;
    }
    let api: Api<ConfigMap> = Api::namespaced(client, "coop");
    let old = first.metadata.resource_version.expect("version");
    let mut stream = api
        .watch(&WatchParams::default(), &old)
        .await
        .expect("watch")
        .boxed();
    assert_eq!(
        describe(&next(&mut stream).await.expect("event decodes")),
        "ERROR 410"
    );

    let current = fake.resource_version().to_string();
    let mut stream = api
        .watch(
            &WatchParams {
                bookmarks: true,
                ..WatchParams::default()
            },
            &current,
        )
        .await
        .expect("watch")
        .boxed();
    assert_eq!(
        describe(&next(&mut stream).await.expect("event decodes")),
        "BOOKMARK"
    );
}

#[tokio::test]
async fn label_selected_watch_sees_objects_leave_and_enter() {
    let (_fake, client) = start().await;
    create_config_map(&client, "coop", "a", &[("app", "mono")]).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "coop");
    let mut stream = api
        .watch(&WatchParams::default().labels("app=mono"), "0")
        .await
        .expect("watch")
        .boxed();
    let relabel = |value: &str| Patch::Merge(json!({"metadata": {"labels": {"app": value}}}));
    api.patch("a", &PatchParams::default(), &relabel("other"))
        .await
        .expect("relabel out");
    api.patch("a", &PatchParams::default(), &relabel("mono"))
        .await
        .expect("relabel in");
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(describe(&next(&mut stream).await.expect("event decodes")));
    }
    assert_eq!(seen, ["ADDED a", "DELETED a", "ADDED a"]);
}

#[tokio::test]
async fn runtime_watcher_lists_then_follows() {
    let (_fake, client) = start().await;
    create_config_map(&client, "coop", "a", &[]).await;
    let api: Api<ConfigMap> = Api::all(client.clone());
    let mut stream = watcher(api, watcher::Config::default()).boxed();
    let mut initial = Vec::new();
    for _ in 0..10 {
        match next(&mut stream).await.expect("watcher event") {
            watcher::Event::Init => {}
            watcher::Event::InitApply(cm) => initial.push(cm.metadata.name.unwrap_or_default()),
            watcher::Event::InitDone => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(initial, ["a"]);
    create_config_map(&client, "other", "b", &[]).await;
    match next(&mut stream).await.expect("watcher event") {
        watcher::Event::Apply(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("b")),
        other => panic!("unexpected {other:?}"),
    }
}
