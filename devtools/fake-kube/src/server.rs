//! The HTTP face of the fake: URL parsing into resource routes, one handler per verb, watch
//! streams of JSON lines, and discovery documents.
//!
//! Handlers only translate between HTTP and [`Store`]; every Kubernetes rule lives there.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::node::Node;
use crate::resource::{self, ResourceType};
use crate::select::Selector;
use crate::store::{Change, EventType, PatchKind, Store, Target, WatchStart};
use crate::users::{User, Users};

/// How long a watch lasts when the client gives no `timeoutSeconds`.
const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(1800);

/// Builds the router serving the whole API from one store, and the logs of the node.
pub(crate) fn app(
    store: Arc<Store>,
    node: Arc<Node>,
    users: Arc<Users>,
    bookmark_interval: Duration,
) -> Router {
    Router::new().fallback(dispatch).with_state(AppState {
        store,
        node,
        users,
        bookmark_interval,
    })
}

#[derive(Clone)]
struct AppState {
    store: Arc<Store>,
    node: Arc<Node>,
    users: Arc<Users>,
    bookmark_interval: Duration,
}

/// The user a request comes from: the holder of its bearer token, or the administrator when
/// it has none.
///
/// # Errors
/// [`Error::Unauthorized`] for a token the fake never handed out.
fn authenticate(users: &Users, headers: &HeaderMap) -> Result<User> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match bearer {
        None => Ok(User::admin()),
        Some(token) => users.find(token.trim()).ok_or(Error::Unauthorized),
    }
}

enum Route {
    CoreVersions,
    Groups,
    Group(String),
    Resources(String, String),
    Version,
    Health,
    PodLog { namespace: String, name: String },
    Objects(ObjectRoute),
}

struct ObjectRoute {
    rt: ResourceType,
    namespace: Option<String>,
    name: Option<String>,
    target: Target,
}

fn not_found() -> Error {
    Error::UnknownResource
}

fn parse_route(store: &Store, path: &str) -> Result<Route> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["api"] => Ok(Route::CoreVersions),
        ["apis"] => Ok(Route::Groups),
        ["version"] => Ok(Route::Version),
        ["healthz" | "readyz" | "livez"] => Ok(Route::Health),
        ["api", version] => Ok(Route::Resources(String::new(), (*version).to_owned())),
        ["api", "v1", "namespaces", namespace, "pods", name, "log"] => Ok(Route::PodLog {
            namespace: (*namespace).to_owned(),
            name: (*name).to_owned(),
        }),
        ["apis", group] => Ok(Route::Group((*group).to_owned())),
        ["apis", group, version] => {
            Ok(Route::Resources((*group).to_owned(), (*version).to_owned()))
        }
        ["api", version, rest @ ..] => object_route(store, "", version, rest).map(Route::Objects),
        ["apis", group, version, rest @ ..] => {
            object_route(store, group, version, rest).map(Route::Objects)
        }
        _ => Err(not_found()),
    }
}

fn object_route(store: &Store, group: &str, version: &str, rest: &[&str]) -> Result<ObjectRoute> {
    let namespaced = match rest {
        ["namespaces", namespace, plural, tail @ ..] => store
            .resolve(group, version, plural)
            .filter(|rt| rt.namespaced)
            .map(|rt| (rt, Some((*namespace).to_owned()), tail)),
        _ => None,
    };
    let (rt, namespace, tail) = match namespaced {
        Some(found) => found,
        None => {
            let (plural, tail) = rest.split_first().ok_or_else(not_found)?;
            let rt = store
                .resolve(group, version, plural)
                .ok_or_else(not_found)?;
            (rt, None, tail)
        }
    };
    let (name, target) = match tail {
        [] => (None, Target::Main),
        [name] => (Some((*name).to_owned()), Target::Main),
        [name, "status"] if rt.status_subresource => (Some((*name).to_owned()), Target::Status),
        _ => return Err(not_found()),
    };
    if rt.namespaced && namespace.is_none() && name.is_some() {
        return Err(not_found());
    }
    Ok(ObjectRoute {
        rt,
        namespace,
        name,
        target,
    })
}

async fn dispatch(
    State(AppState {
        store,
        node,
        users,
        bookmark_interval,
    }): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let user = match authenticate(&users, &headers) {
        Ok(user) => user,
        Err(error) => return error.into_response(),
    };
    match handle(&store, &node, &user, &method, &uri, &headers, &query, &body) {
        Ok(Reply::Json(code, value)) => (code, axum::Json(value)).into_response(),
        Ok(Reply::Text(text)) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], text).into_response()
        }
        Ok(Reply::Watch(request)) => watch_response(&store, request, bookmark_interval),
        Err(error) => error.into_response(),
    }
}

enum Reply {
    Json(StatusCode, Value),
    Text(String),
    Watch(WatchRequest),
}

struct WatchRequest {
    route: ObjectRoute,
    selector: Selector,
    start: WatchStart,
    bookmarks: bool,
    initial_events_end: bool,
    timeout: Duration,
}

fn ok(value: Value) -> Result<Reply> {
    Ok(Reply::Json(StatusCode::OK, value))
}

fn parse_body(body: &Bytes) -> Result<Value> {
    serde_json::from_slice(body)
        .map_err(|e| Error::BadRequest(format!("the body is not JSON: {e}")))
}

fn flag(query: &HashMap<String, String>, key: &str) -> bool {
    query
        .get(key)
        .is_some_and(|value| value == "true" || value == "1")
}

#[allow(clippy::too_many_arguments)] // one per part of the request, as axum hands them over
fn handle(
    store: &Store,
    node: &Node,
    user: &User,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    body: &Bytes,
) -> Result<Reply> {
    let route = match parse_route(store, uri.path())? {
        Route::CoreVersions => return ok(resource::core_versions()),
        Route::Groups => return ok(resource::group_list(&store.types())),
        Route::Group(group) => {
            return resource::group(&store.types(), &group).map_or_else(|| Err(not_found()), ok);
        }
        Route::Resources(group, version) => {
            return resource::resource_list(&store.types(), &group, &version)
                .map_or_else(|| Err(not_found()), ok);
        }
        Route::Version => {
            return ok(
                json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-fake", "platform": "linux/amd64"}),
            );
        }
        Route::Health => return ok(json!("ok")),
        Route::PodLog { namespace, name } if method == Method::GET => {
            return pod_log(store, node, &namespace, &name, query).map(Reply::Text);
        }
        Route::PodLog { .. } => return Err(Error::MethodNotAllowed),
        Route::Objects(route) => route,
    };
    if query.contains_key("dryRun") {
        return Err(Error::BadRequest(
            "dryRun is not supported by the fake API server".into(),
        ));
    }
    let namespace = route.namespace.as_deref();
    let rt = &route.rt;
    let selector = || {
        Selector::parse(
            query.get("labelSelector").map(String::as_str),
            query.get("fieldSelector").map(String::as_str),
        )
    };
    match (method, route.name.as_deref()) {
        (&Method::GET, None) if flag(query, "watch") => {
            let start =
                match query.get("resourceVersion").map(String::as_str) {
                    None | Some("" | "0") => WatchStart::Current,
                    Some(rv) => WatchStart::After(rv.parse().map_err(|_| {
                        Error::BadRequest(format!("invalid resourceVersion {rv:?}"))
                    })?),
                };
            let initial_events_end = flag(query, "sendInitialEvents");
            let start = if initial_events_end {
                WatchStart::Current
            } else {
                start
            };
            let timeout = query
                .get("timeoutSeconds")
                .and_then(|t| t.parse().ok())
                .map_or(DEFAULT_WATCH_TIMEOUT, Duration::from_secs);
            Ok(Reply::Watch(WatchRequest {
                selector: selector()?,
                start,
                bookmarks: flag(query, "allowWatchBookmarks"),
                initial_events_end,
                timeout,
                route,
            }))
        }
        (&Method::GET, None) => {
            let (items, rv) = store.list(rt, namespace, &selector()?);
            ok(list_body(rt, items, rv))
        }
        (&Method::GET, Some(name)) => ok(with_version(rt, store.get(rt, namespace, name)?)),
        (&Method::POST, None) => {
            let created = store.create(rt, namespace, parse_body(body)?, Some(user))?;
            Ok(Reply::Json(StatusCode::CREATED, with_version(rt, created)))
        }
        (&Method::PUT, Some(name)) => ok(with_version(
            rt,
            store.replace(
                rt,
                namespace,
                name,
                parse_body(body)?,
                route.target,
                Some(user),
            )?,
        )),
        (&Method::PATCH, Some(name)) => {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let kind = match content_type.split(';').next().unwrap_or_default().trim() {
                "application/merge-patch+json" => PatchKind::Merge,
                "application/json-patch+json" => PatchKind::Json,
                "application/strategic-merge-patch+json" => PatchKind::Strategic,
                "application/apply-patch+yaml" => PatchKind::Apply {
                    manager: query.get("fieldManager").filter(|m| !m.is_empty()).cloned().ok_or_else(|| {
                        Error::BadRequest("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch".into())
                    })?,
                },
                other => return Err(Error::UnsupportedMediaType(other.to_owned())),
            };
            ok(with_version(
                rt,
                store.patch(
                    rt,
                    namespace,
                    name,
                    &kind,
                    &parse_body(body)?,
                    route.target,
                    Some(user),
                )?,
            ))
        }
        (&Method::DELETE, Some(name)) => {
            let (object, removed) = store.delete(rt, namespace, name, Some(user))?;
            let code = if removed {
                StatusCode::OK
            } else {
                StatusCode::ACCEPTED
            };
            Ok(Reply::Json(code, with_version(rt, object)))
        }
        (&Method::DELETE, None) => {
            let (items, rv) = store.list(rt, namespace, &selector()?);
            let mut deleted = Vec::with_capacity(items.len());
            for item in items {
                let item_namespace = item["metadata"]["namespace"].as_str().map(str::to_owned);
                let item_name = item["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                match store.delete(rt, item_namespace.as_deref(), &item_name, Some(user)) {
                    Ok((object, _)) => deleted.push(object),
                    Err(Error::NotFound { .. }) => {}
                    Err(other) => return Err(other),
                }
            }
            ok(list_body(rt, deleted, rv))
        }
        _ => Err(Error::MethodNotAllowed),
    }
}

/// The log of a container of a pod the kubelet ran, cut to the last `tailLines` lines and
/// then the first `limitBytes` bytes, as the kubelet serves it.
fn pod_log(
    store: &Store,
    node: &Node,
    namespace: &str,
    name: &str,
    query: &HashMap<String, String>,
) -> Result<String> {
    let pods = store.type_of("", "pods").ok_or_else(not_found)?;
    let pod = store.get(&pods, Some(namespace), name)?;
    let containers: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let container = match (query.get("container"), containers.as_slice()) {
        (Some(container), _) if containers.contains(&container.as_str()) => container.as_str(),
        (Some(container), _) => {
            return Err(Error::BadRequest(format!(
                "container {container} is not valid for pod {name}"
            )));
        }
        (None, [only]) => only,
        (None, _) => {
            return Err(Error::BadRequest(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            )));
        }
    };
    let log = node.log(namespace, name, container).ok_or_else(|| {
        Error::BadRequest(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating"
        ))
    })?;
    let number = |key: &str| -> Result<Option<usize>> {
        query
            .get(key)
            .map(|value| {
                value
                    .parse()
                    .map_err(|_| Error::BadRequest(format!("invalid {key} {value:?}")))
            })
            .transpose()
    };
    let lines: Vec<&str> = log.split_inclusive('\n').collect();
    let mut text = match number("tailLines")? {
        Some(tail) => lines[lines.len().saturating_sub(tail)..].concat(),
        None => log,
    };
    if let Some(limit) = number("limitBytes")? {
        let mut end = limit.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    Ok(text)
}

fn with_version(rt: &ResourceType, mut object: Value) -> Value {
    object["apiVersion"] = json!(rt.api_version());
    object
}

fn list_body(rt: &ResourceType, items: Vec<Value>, rv: u64) -> Value {
    let items: Vec<Value> = items
        .into_iter()
        .map(|item| with_version(rt, item))
        .collect();
    json!({
        "kind": format!("{}List", rt.kind),
        "apiVersion": rt.api_version(),
        "metadata": {"resourceVersion": rv.to_string()},
        "items": items,
    })
}

struct WatchState {
    rt: ResourceType,
    namespace: Option<String>,
    selector: Selector,
    initial: VecDeque<Arc<Change>>,
    live: broadcast::Receiver<Arc<Change>>,
    seen: u64,
    bookmarks: bool,
    initial_events_end: bool,
    bookmark_interval: Duration,
    next_bookmark: Instant,
    deadline: Instant,
    finished: bool,
}

fn watch_response(store: &Store, request: WatchRequest, bookmark_interval: Duration) -> Response {
    let WatchRequest {
        route,
        selector,
        start,
        bookmarks,
        initial_events_end,
        timeout,
    } = request;
    let feed = match store.watch(&route.rt, route.namespace.as_deref(), start) {
        Ok(feed) => feed,
        Err(error) => {
            let line = event_line("ERROR", &error.status());
            return streaming(futures::stream::iter([Ok::<Bytes, Infallible>(line)]));
        }
    };
    let now = Instant::now();
    let state = WatchState {
        rt: route.rt,
        namespace: route.namespace,
        selector,
        initial: feed.initial.into(),
        live: feed.live,
        seen: feed.resource_version,
        bookmarks,
        initial_events_end,
        bookmark_interval,
        next_bookmark: now + bookmark_interval,
        deadline: now + timeout,
        finished: false,
    };
    streaming(futures::stream::unfold(state, |mut state| async move {
        let line = state.next_line().await?;
        Some((Ok::<Bytes, Infallible>(line), state))
    }))
}

fn streaming<S>(stream: S) -> Response
where
    S: futures::Stream<Item = std::result::Result<Bytes, Infallible>> + Send + 'static,
{
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn event_line(event_type: &str, object: &Value) -> Bytes {
    let mut line = format!("{{\"type\":\"{event_type}\",\"object\":{object}}}");
    line.push('\n');
    Bytes::from(line)
}

impl WatchState {
    /// The next line to send, or `None` when the watch ends (timeout, lag, shutdown).
    async fn next_line(&mut self) -> Option<Bytes> {
        if self.finished {
            return None;
        }
        while let Some(change) = self.initial.pop_front() {
            if let Some(line) = self.line_for(&change) {
                return Some(line);
            }
        }
        if self.initial_events_end {
            self.initial_events_end = false;
            return Some(self.bookmark(true));
        }
        loop {
            let bookmark_at = if self.bookmarks {
                self.next_bookmark
            } else {
                self.deadline
            };
            tokio::select! {
                received = self.live.recv() => match received {
                    Ok(change) => {
                        if change.resource_version <= self.seen {
                            continue;
                        }
                        self.seen = self.seen.max(change.resource_version);
                        if change.group == self.rt.group
                            && change.plural == self.rt.plural
                            && let Some(line) = self.line_for(&change)
                        {
                            return Some(line);
                        }
                    }
                    Err(RecvError::Lagged(_) | RecvError::Closed) => return None,
                },
                () = tokio::time::sleep_until(bookmark_at), if bookmark_at < self.deadline => {
                    self.next_bookmark = Instant::now() + self.bookmark_interval;
                    return Some(self.bookmark(false));
                }
                () = tokio::time::sleep_until(self.deadline) => {
                    self.finished = true;
                    return None;
                }
            }
        }
    }

    fn in_scope(&self, object: &Value) -> bool {
        self.namespace
            .as_deref()
            .is_none_or(|namespace| object["metadata"]["namespace"].as_str() == Some(namespace))
            && self.selector.matches(object)
    }

    fn line_for(&self, change: &Change) -> Option<Bytes> {
        let now = self.in_scope(&change.object);
        let before = change
            .previous
            .as_deref()
            .is_some_and(|previous| self.in_scope(previous));
        let event_type = match (change.event, before, now) {
            (EventType::Added, _, true) => EventType::Added,
            (EventType::Modified, true, true) => EventType::Modified,
            (EventType::Modified, false, true) => EventType::Added,
            (EventType::Modified, true, false) => EventType::Deleted,
            (EventType::Deleted, before, now) if before || now => EventType::Deleted,
            _ => return None,
        };
        let api_version = self.rt.api_version();
        if change.object["apiVersion"] == api_version.as_str() {
            return Some(event_line(event_type.as_str(), &change.object));
        }
        let converted = with_version(&self.rt, (*change.object).clone());
        Some(event_line(event_type.as_str(), &converted))
    }

    fn bookmark(&self, initial_events_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": self.seen.to_string()});
        if initial_events_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        event_line(
            "BOOKMARK",
            &json!({"kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": metadata}),
        )
    }
}
