//! In-memory object storage with Kubernetes write semantics: resourceVersion, uid, generation,
//! optimistic concurrency, status subresource, immutable fields (see [`crate::validate`]),
//! finalizers and deletionTimestamp, owner-reference garbage collection, CRD registration,
//! namespace lifecycle, and a bounded change history for watches.
//!
//! Namespaces behave as the API server's lifecycle admission and the namespace controller make
//! them: the four a cluster starts with exist, nothing is created in a namespace that does not
//! exist or is terminating, and deleting a namespace marks it `Terminating`, deletes everything
//! in it (objects with finalizers wait for them) and removes it once it is empty.
//!
//! One mutex guards the whole state; every write happens under it and is broadcast to watchers
//! before the lock is released, so watchers see changes in resourceVersion order.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use serde_json::{Map, Value, json};
use tokio::sync::{broadcast, watch};

use crate::admission::{self, Attributes, Operation};
use crate::error::{Error, Result};
use crate::patch::{self, PatchError};
use crate::resource::{ResourceType, builtin_types};
use crate::rules::CrdRules;
use crate::select::Selector;
use crate::users::User;
use crate::validate;

/// Capacity of the change broadcast; a watcher lagging further is disconnected and resumes.
const BROADCAST_CAPACITY: usize = 65_536;

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// The object was created.
    Added,
    /// The object was changed.
    Modified,
    /// The object was removed from storage.
    Deleted,
}

impl EventType {
    /// The watch event `type` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One committed change, as broadcast to watchers.
#[derive(Debug)]
pub struct Change {
    /// Group of the changed object's type.
    pub group: String,
    /// Plural of the changed object's type.
    pub plural: String,
    /// The resourceVersion this change produced.
    pub resource_version: u64,
    /// What happened.
    pub event: EventType,
    /// The object after the change (the last state for deletions).
    pub object: Arc<Value>,
    /// The object before the change, for watch filtering by selector transitions.
    pub previous: Option<Arc<Value>>,
}

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The main resource: spec and metadata; status is kept when a status subresource exists.
    Main,
    /// The `/status` subresource: only status changes.
    Status,
}

/// The patch flavours, by content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/json-patch+json`.
    Json,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml`: server-side apply by a field manager.
    Apply {
        /// The `fieldManager` query parameter.
        manager: String,
    },
}

/// Where a watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchStart {
    /// Synthetic `ADDED` events for every current object, then live changes.
    Current,
    /// Changes after this resourceVersion.
    After(u64),
}

/// An opened watch: the events to send first, then the live subscription.
pub(crate) struct WatchFeed {
    pub(crate) initial: Vec<Arc<Change>>,
    pub(crate) live: broadcast::Receiver<Arc<Change>>,
    pub(crate) resource_version: u64,
}

/// The object store shared by the HTTP server and the test handle.
pub(crate) struct Store {
    state: Mutex<State>,
    history_per_type: usize,
    changes: broadcast::Sender<Arc<Change>>,
    version: watch::Sender<u64>,
}

struct State {
    resource_version: u64,
    next_uid: u64,
    types: Vec<ResourceType>,
    kinds: HashMap<(String, String), Kind>,
    /// The CEL rules of each custom resource type, by storage key.
    rules: HashMap<(String, String), CrdRules>,
}

#[derive(Default)]
struct Kind {
    objects: BTreeMap<(String, String), Arc<Value>>,
    history: VecDeque<Arc<Change>>,
    oldest_replayable: u64,
}

fn what(rt: &ResourceType, name: &str) -> String {
    if rt.group.is_empty() {
        format!("{} {name:?}", rt.plural)
    } else {
        format!("{}.{} {name:?}", rt.plural, rt.group)
    }
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn meta_str<'v>(object: &'v Value, field: &str) -> Option<&'v str> {
    object["metadata"][field].as_str()
}

fn metadata_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object["metadata"].is_object() {
        object["metadata"] = Value::Object(Map::new());
    }
    object["metadata"]
        .as_object_mut()
        .expect("metadata was just made an object")
}

fn without_metadata_and_status(object: &Value) -> Value {
    let mut rest = object.clone();
    if let Value::Object(map) = &mut rest {
        map.remove("metadata");
        map.remove("status");
    }
    rest
}

fn finalizers_empty(object: &Value) -> bool {
    object["metadata"]["finalizers"]
        .as_array()
        .is_none_or(Vec::is_empty)
}

/// Storage key of Namespaces.
fn namespaces_key() -> (String, String) {
    (String::new(), "namespaces".to_owned())
}

/// The namespaces a new cluster has.
const INITIAL_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

fn namespace_key(rt: &ResourceType, namespace: Option<&str>) -> String {
    if rt.namespaced {
        namespace.unwrap_or_default().to_owned()
    } else {
        String::new()
    }
}

impl Store {
    /// An empty store keeping `history_per_type` changes per type replayable for watches.
    pub(crate) fn new(history_per_type: usize) -> Self {
        let (changes, _) = broadcast::channel(BROADCAST_CAPACITY);
        let (version, _) = watch::channel(0);
        let mut state = State {
            resource_version: 0,
            next_uid: 0,
            types: builtin_types(),
            kinds: HashMap::new(),
            rules: HashMap::new(),
        };
        let namespaces = state
            .types
            .iter()
            .find(|rt| rt.storage_key() == namespaces_key())
            .cloned()
            .expect("Namespace is a built-in type");
        for name in INITIAL_NAMESPACES {
            state
                .create(
                    &namespaces,
                    None,
                    json!({"metadata": {"name": name}}),
                    None,
                    None,
                )
                .expect("a new store has no namespaces yet");
        }
        Self {
            state: Mutex::new(state),
            history_per_type,
            changes,
            version,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, state: &mut State, changes: Vec<Change>) {
        for change in changes {
            let change = Arc::new(change);
            let kind = state
                .kinds
                .entry((change.group.clone(), change.plural.clone()))
                .or_default();
            kind.history.push_back(change.clone());
            while kind.history.len() > self.history_per_type {
                if let Some(dropped) = kind.history.pop_front() {
                    kind.oldest_replayable = dropped.resource_version;
                }
            }
            // Nobody listening is normal; the history above serves later watchers.
            let _ = self.changes.send(change);
        }
        self.version.send_replace(state.resource_version);
    }

    /// Every served resource type.
    pub(crate) fn types(&self) -> Vec<ResourceType> {
        self.lock().types.clone()
    }

    /// Resolves a URL's group, version and plural to a served type.
    pub(crate) fn resolve(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.lock()
            .types
            .iter()
            .find(|rt| rt.group == group && rt.version == version && rt.plural == plural)
            .cloned()
    }

    /// A receiver of every change committed from now on.
    pub(crate) fn subscribe_changes(&self) -> broadcast::Receiver<Arc<Change>> {
        self.changes.subscribe()
    }

    /// A receiver of the latest resourceVersion, changed after every commit.
    pub(crate) fn subscribe_version(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// Reads one object.
    pub(crate) fn get(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value> {
        let state = self.lock();
        state
            .object(rt, namespace, name)
            .map(|object| (*object).clone())
            .ok_or_else(|| Error::NotFound {
                what: what(rt, name),
            })
    }

    /// Lists objects, across all namespaces when `namespace` is `None`, with the list's
    /// resourceVersion.
    pub(crate) fn list(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        selector: &Selector,
    ) -> (Vec<Value>, u64) {
        let state = self.lock();
        let items = state
            .kinds
            .get(&rt.storage_key())
            .map_or_else(Vec::new, |kind| {
                kind.objects
                    .iter()
                    .filter(|((ns, _), object)| {
                        namespace.is_none_or(|wanted| wanted == ns) && selector.matches(object)
                    })
                    .map(|(_, object)| (**object).clone())
                    .collect()
            });
        (items, state.resource_version)
    }

    /// Counts the objects of a type satisfying `predicate`, without copying them.
    pub(crate) fn count(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        predicate: impl Fn(&Value) -> bool,
    ) -> usize {
        let state = self.lock();
        state.kinds.get(&rt.storage_key()).map_or(0, |kind| {
            kind.objects
                .iter()
                .filter(|((ns, _), object)| {
                    namespace.is_none_or(|wanted| wanted == ns) && predicate(object)
                })
                .count()
        })
    }

    /// Opens a watch on a type; the live receiver is subscribed under the lock, so no change
    /// falls between the initial events and the live ones.
    pub(crate) fn watch(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        start: WatchStart,
    ) -> Result<WatchFeed> {
        let state = self.lock();
        let live = self.changes.subscribe();
        let kind = state.kinds.get(&rt.storage_key());
        let in_namespace = |object: &Value| {
            namespace.is_none_or(|wanted| meta_str(object, "namespace").unwrap_or("") == wanted)
        };
        let initial = match start {
            WatchStart::Current => kind
                .map(|kind| {
                    kind.objects
                        .values()
                        .filter(|object| in_namespace(object))
                        .map(|object| {
                            Arc::new(Change {
                                group: rt.group.clone(),
                                plural: rt.plural.clone(),
                                resource_version: state.resource_version,
                                event: EventType::Added,
                                object: object.clone(),
                                previous: None,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default(),
            WatchStart::After(after) => match kind {
                Some(kind) if after < kind.oldest_replayable => {
                    return Err(Error::Expired {
                        requested: after,
                        oldest: kind.oldest_replayable,
                    });
                }
                Some(kind) => kind
                    .history
                    .iter()
                    .filter(|change| change.resource_version > after)
                    .cloned()
                    .collect(),
                None => Vec::new(),
            },
        };
        Ok(WatchFeed {
            initial,
            live,
            resource_version: state.resource_version,
        })
    }

    /// Creates an object; `status` is dropped when the type has a status subresource.
    /// Requests of a `user` pass admission; the fake's own controllers send none.
    pub(crate) fn create(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        body: Value,
        user: Option<&User>,
    ) -> Result<Value> {
        let mut state = self.lock();
        let (created, changes) = state.create(rt, namespace, body, None, user)?;
        self.publish(&mut state, changes);
        Ok(created)
    }

    /// Replaces an object (`PUT`), honouring `metadata.resourceVersion` as a precondition.
    pub(crate) fn replace(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        body: Value,
        target: Target,
        user: Option<&User>,
    ) -> Result<Value> {
        if meta_str(&body, "name").is_some_and(|body_name| body_name != name) {
            return Err(Error::BadRequest(format!(
                "the name of the object ({:?}) does not match the name on the URL ({name:?})",
                meta_str(&body, "name")
            )));
        }
        let mut state = self.lock();
        let old = state
            .object(rt, namespace, name)
            .ok_or_else(|| Error::NotFound {
                what: what(rt, name),
            })?;
        let (written, changes) = state.write(rt, &old, body, target, None, user)?;
        self.publish(&mut state, changes);
        Ok(written)
    }

    /// Patches an object; server-side apply creates it when absent.
    #[allow(clippy::too_many_arguments)] // the request's parts, as the server has them
    pub(crate) fn patch(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        kind: &PatchKind,
        body: &Value,
        target: Target,
        user: Option<&User>,
    ) -> Result<Value> {
        let mut state = self.lock();
        let Some(old) = state.object(rt, namespace, name) else {
            let PatchKind::Apply { manager } = kind else {
                return Err(Error::NotFound {
                    what: what(rt, name),
                });
            };
            if target == Target::Status {
                return Err(Error::NotFound {
                    what: what(rt, name),
                });
            }
            if !body.is_object() {
                return Err(Error::BadRequest("the body must be a JSON object".into()));
            }
            let mut object = body.clone();
            metadata_mut(&mut object).insert("name".into(), json!(name));
            let managed = vec![managed_entry(
                manager,
                &rt.api_version(),
                patch::field_set(body),
                target,
                None,
            )];
            let (created, changes) = state.create(rt, namespace, object, Some(managed), user)?;
            self.publish(&mut state, changes);
            return Ok(created);
        };
        let mut candidate = (*old).clone();
        let invalid = |error: PatchError| Error::Invalid {
            what: what(rt, name),
            detail: error.to_string(),
        };
        let mut managed = None;
        match kind {
            PatchKind::Merge => patch::merge_patch(&mut candidate, body),
            PatchKind::Strategic => patch::strategic_merge(&mut candidate, body),
            PatchKind::Json => patch::json_patch(&mut candidate, body).map_err(invalid)?,
            PatchKind::Apply { manager } => {
                if meta_str(body, "name").is_some_and(|body_name| body_name != name) {
                    return Err(Error::BadRequest(format!(
                        "the name of the object does not match the name on the URL ({name:?})"
                    )));
                }
                let fields = patch::field_set(body);
                let mut entries: Vec<Value> = old["metadata"]["managedFields"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let subresource = (target == Target::Status).then_some("status");
                let position = entries.iter().position(|entry| {
                    entry["manager"] == *manager
                        && entry["operation"] == "Apply"
                        && entry["subresource"].as_str() == subresource
                });
                let previous = position.map(|idx| entries.remove(idx));
                patch::strategic_merge(&mut candidate, body);
                if let Some(previous) = &previous {
                    patch::remove_dropped_fields(&mut candidate, &previous["fieldsV1"], &fields);
                }
                let kept_time = previous
                    .as_ref()
                    .filter(|previous| previous["fieldsV1"] == fields)
                    .and_then(|previous| previous["time"].as_str().map(str::to_owned));
                entries.push(managed_entry(
                    manager,
                    &rt.api_version(),
                    fields,
                    target,
                    kept_time,
                ));
                managed = Some(entries);
            }
        }
        let (written, changes) = state.write(rt, &old, candidate, target, managed, user)?;
        self.publish(&mut state, changes);
        Ok(written)
    }

    /// Deletes an object: with finalizers it only gains a deletionTimestamp; otherwise it is
    /// removed and its dependents are garbage-collected. Returns the object and whether it is
    /// gone from storage.
    pub(crate) fn delete(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        user: Option<&User>,
    ) -> Result<(Value, bool)> {
        let mut state = self.lock();
        let object = state
            .object(rt, namespace, name)
            .ok_or_else(|| Error::NotFound {
                what: what(rt, name),
            })?;
        state.admit(
            user,
            Operation::Delete,
            rt,
            Target::Main,
            &Value::Null,
            &object,
        )?;
        let mut changes = Vec::new();
        let (last, removed) = state.delete(rt.storage_key(), &object, &mut changes);
        self.publish(&mut state, changes);
        Ok((last, removed))
    }

    /// Finds a type by kind and apiVersion, for the test handle.
    pub(crate) fn type_of(&self, group: &str, plural: &str) -> Option<ResourceType> {
        self.lock()
            .types
            .iter()
            .find(|rt| rt.group == group && rt.plural == plural)
            .cloned()
    }
}

impl admission::Stored for State {
    fn of_kind(&self, api_version: &str, kind: &str) -> Option<(bool, Vec<Arc<Value>>)> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let rt = self
            .types
            .iter()
            .find(|rt| rt.group == group && rt.version == version && rt.kind == kind)?;
        Some((
            rt.namespaced,
            self.objects((rt.group.as_str(), rt.plural.as_str())),
        ))
    }

    fn objects(&self, (group, plural): (&str, &str)) -> Vec<Arc<Value>> {
        self.kinds
            .get(&(group.to_owned(), plural.to_owned()))
            .map(|kind| kind.objects.values().cloned().collect())
            .unwrap_or_default()
    }
}

fn managed_entry(
    manager: &str,
    api_version: &str,
    fields: Value,
    target: Target,
    time: Option<String>,
) -> Value {
    let mut entry = json!({
        "manager": manager,
        "operation": "Apply",
        "apiVersion": api_version,
        "time": time.unwrap_or_else(now),
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    });
    if target == Target::Status {
        entry["subresource"] = json!("status");
    }
    entry
}

impl State {
    fn object(&self, rt: &ResourceType, namespace: Option<&str>, name: &str) -> Option<Arc<Value>> {
        let key = (namespace_key(rt, namespace), name.to_owned());
        self.kinds
            .get(&rt.storage_key())?
            .objects
            .get(&key)
            .cloned()
    }

    fn bump(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }

    fn create(
        &mut self,
        rt: &ResourceType,
        namespace: Option<&str>,
        mut object: Value,
        managed: Option<Vec<Value>>,
        user: Option<&User>,
    ) -> Result<(Value, Vec<Change>)> {
        if !object.is_object() {
            return Err(Error::BadRequest("the body must be a JSON object".into()));
        }
        let namespace = namespace_key(rt, namespace);
        let name = match (meta_str(&object, "name"), meta_str(&object, "generateName")) {
            (Some(name), _) if !name.is_empty() => name.to_owned(),
            (_, Some(prefix)) => format!("{prefix}{:05x}", self.next_uid % 0x10_0000),
            _ => {
                return Err(Error::Invalid {
                    what: rt.kind.clone(),
                    detail: "metadata.name: Required value".into(),
                });
            }
        };
        if rt.namespaced {
            if meta_str(&object, "namespace").is_some_and(|ns| !ns.is_empty() && ns != namespace) {
                return Err(Error::BadRequest("the namespace of the provided object does not match the namespace sent on the request".into()));
            }
            if namespace.is_empty() {
                return Err(Error::BadRequest(
                    "a namespaced object needs a namespace".into(),
                ));
            }
            match self.namespace(&namespace) {
                None => {
                    return Err(Error::NotFound {
                        what: format!("namespaces {namespace:?}"),
                    });
                }
                Some(ns) if ns["metadata"].get("deletionTimestamp").is_some() => {
                    return Err(Error::Forbidden {
                        plural: rt.plural.clone(),
                        name,
                        detail: format!(
                            "unable to create new content in namespace {namespace} because it is being terminated"
                        ),
                    });
                }
                Some(_) => {}
            }
        }
        let key = (namespace.clone(), name.clone());
        if self
            .kinds
            .get(&rt.storage_key())
            .is_some_and(|kind| kind.objects.contains_key(&key))
        {
            return Err(Error::AlreadyExists {
                what: what(rt, &name),
            });
        }
        self.next_uid += 1;
        let uid = format!("00000000-0000-4000-8000-{:012x}", self.next_uid);
        let resource_version = self.bump();
        object["apiVersion"] = json!(rt.api_version());
        object["kind"] = json!(rt.kind);
        if rt.status_subresource
            && let Value::Object(map) = &mut object
        {
            map.remove("status");
        }
        let metadata = metadata_mut(&mut object);
        metadata.insert("name".into(), json!(name));
        if rt.namespaced {
            metadata.insert("namespace".into(), json!(namespace));
        } else {
            metadata.remove("namespace");
        }
        metadata.insert("uid".into(), json!(uid));
        metadata.insert("creationTimestamp".into(), json!(now()));
        metadata.insert("generation".into(), json!(1));
        metadata.insert(
            "resourceVersion".into(),
            json!(resource_version.to_string()),
        );
        metadata.remove("deletionTimestamp");
        metadata.remove("deletionGracePeriodSeconds");
        match managed {
            Some(entries) => metadata.insert("managedFields".into(), Value::Array(entries)),
            None => metadata.remove("managedFields"),
        };
        if is_crd(rt) {
            self.register_crd(&mut object);
        }
        merge_string_data(rt, &mut object);
        if let Some(rules) = self.rules.get(&rt.storage_key()) {
            rules.check(rt, &object, None)?;
        }
        self.admit(
            user,
            Operation::Create,
            rt,
            Target::Main,
            &object,
            &Value::Null,
        )?;
        if rt.storage_key() == namespaces_key() {
            object["spec"] = json!({"finalizers": ["kubernetes"]});
            object["status"] = json!({"phase": "Active"});
        }
        let object = Arc::new(object);
        self.kinds
            .entry(rt.storage_key())
            .or_default()
            .objects
            .insert(key, object.clone());
        let change = Change {
            group: rt.group.clone(),
            plural: rt.plural.clone(),
            resource_version,
            event: EventType::Added,
            object: object.clone(),
            previous: None,
        };
        Ok(((*object).clone(), vec![change]))
    }

    fn write(
        &mut self,
        rt: &ResourceType,
        old: &Arc<Value>,
        candidate: Value,
        target: Target,
        managed: Option<Vec<Value>>,
        user: Option<&User>,
    ) -> Result<(Value, Vec<Change>)> {
        let old_version = meta_str(old, "resourceVersion").unwrap_or_default();
        let name = meta_str(old, "name").unwrap_or_default().to_owned();
        if let Some(wanted) = meta_str(&candidate, "resourceVersion")
            .filter(|wanted| !wanted.is_empty() && *wanted != old_version)
        {
            return Err(Error::Conflict {
                what: what(rt, &name),
                detail: format!(
                    "the object has been modified; please apply your changes to the latest version and try again (have {old_version}, got {wanted})"
                ),
            });
        }
        if !candidate.is_object() {
            return Err(Error::BadRequest("the body must be a JSON object".into()));
        }
        let mut new = match target {
            Target::Status => {
                let mut new = (**old).clone();
                match candidate.get("status") {
                    Some(status) => new["status"] = status.clone(),
                    None => {
                        if let Value::Object(map) = &mut new {
                            map.remove("status");
                        }
                    }
                }
                new
            }
            Target::Main => {
                let mut new = candidate;
                if rt.status_subresource
                    && let Value::Object(map) = &mut new
                {
                    match old.get("status") {
                        Some(status) => map.insert("status".into(), status.clone()),
                        None => map.remove("status"),
                    };
                }
                new
            }
        };
        new["apiVersion"] = json!(rt.api_version());
        new["kind"] = json!(rt.kind);
        let metadata = metadata_mut(&mut new);
        for field in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "resourceVersion",
            "managedFields",
        ] {
            match old["metadata"].get(field) {
                Some(value) => metadata.insert(field.into(), value.clone()),
                None => metadata.remove(field),
            };
        }
        if target == Target::Status {
            new["metadata"] = old["metadata"].clone();
        } else {
            validate::update(rt, old, &new, |class| {
                self.kinds
                    .get(&("storage.k8s.io".to_owned(), "storageclasses".to_owned()))?
                    .objects
                    .get(&(String::new(), class.to_owned()))
                    .map(|object| (**object).clone())
            })?;
        }
        if let Some(entries) = managed {
            metadata_mut(&mut new).insert("managedFields".into(), Value::Array(entries));
        }
        if without_metadata_and_status(&new) != without_metadata_and_status(old) {
            let generation = old["metadata"]["generation"].as_u64().unwrap_or(0) + 1;
            metadata_mut(&mut new).insert("generation".into(), json!(generation));
        }
        if is_crd(rt) {
            self.register_crd(&mut new);
        }
        merge_string_data(rt, &mut new);
        if new == **old {
            return Ok((new, Vec::new()));
        }
        if let Some(rules) = self.rules.get(&rt.storage_key()) {
            rules.check(rt, &new, Some(old))?;
        }
        self.admit(user, Operation::Update, rt, target, &new, old)?;
        let mut changes = Vec::new();
        if new["metadata"].get("deletionTimestamp").is_some() && finalizers_empty(&new) {
            self.remove(rt.storage_key(), Arc::new(new), &mut changes);
            let last = changes
                .first()
                .map(|change| (*change.object).clone())
                .unwrap_or_default();
            return Ok((last, changes));
        }
        let resource_version = self.bump();
        metadata_mut(&mut new).insert(
            "resourceVersion".into(),
            json!(resource_version.to_string()),
        );
        let new = Arc::new(new);
        let key = (namespace_key(rt, meta_str(&new, "namespace")), name);
        self.kinds
            .entry(rt.storage_key())
            .or_default()
            .objects
            .insert(key, new.clone());
        changes.push(Change {
            group: rt.group.clone(),
            plural: rt.plural.clone(),
            resource_version,
            event: EventType::Modified,
            object: new.clone(),
            previous: Some(old.clone()),
        });
        Ok(((*new).clone(), changes))
    }

    fn delete(
        &mut self,
        storage_key: (String, String),
        object: &Arc<Value>,
        changes: &mut Vec<Change>,
    ) -> (Value, bool) {
        if storage_key == namespaces_key() {
            return self.delete_namespace(object, changes);
        }
        if finalizers_empty(object) {
            self.remove(storage_key, object.clone(), changes);
            let last = changes
                .iter()
                .find(|change| change.event == EventType::Deleted)
                .map_or_else(|| (**object).clone(), |change| (*change.object).clone());
            return (last, true);
        }
        if object["metadata"].get("deletionTimestamp").is_some() {
            return ((**object).clone(), false);
        }
        let mut marked = (**object).clone();
        let resource_version = self.bump();
        let metadata = metadata_mut(&mut marked);
        metadata.insert("deletionTimestamp".into(), json!(now()));
        metadata.insert("deletionGracePeriodSeconds".into(), json!(0));
        metadata.insert(
            "resourceVersion".into(),
            json!(resource_version.to_string()),
        );
        let marked = Arc::new(marked);
        let key = (
            meta_str(&marked, "namespace")
                .unwrap_or_default()
                .to_owned(),
            meta_str(&marked, "name").unwrap_or_default().to_owned(),
        );
        self.kinds
            .entry(storage_key.clone())
            .or_default()
            .objects
            .insert(key, marked.clone());
        changes.push(Change {
            group: storage_key.0,
            plural: storage_key.1,
            resource_version,
            event: EventType::Modified,
            object: marked.clone(),
            previous: Some(object.clone()),
        });
        ((*marked).clone(), false)
    }

    /// Runs the admission policies in force on a request of `user`; none for the fake's own
    /// controllers (`None`).
    fn admit(
        &self,
        user: Option<&User>,
        operation: Operation,
        rt: &ResourceType,
        target: Target,
        object: &Value,
        old_object: &Value,
    ) -> Result<()> {
        let Some(user) = user else { return Ok(()) };
        let kind = |(group, plural): (&str, &str)| {
            self.kinds
                .get(&(group.to_owned(), plural.to_owned()))
                .map(|kind| kind.objects.values().map(|object| &**object))
        };
        let (Some(policies), Some(bindings)) =
            (kind(admission::POLICIES), kind(admission::BINDINGS))
        else {
            return Ok(());
        };
        let stored = if object.is_null() { old_object } else { object };
        let namespace = meta_str(stored, "namespace").unwrap_or_default();
        let attributes = Attributes {
            operation,
            rt,
            subresource: (target == Target::Status).then_some("status"),
            namespace,
            name: meta_str(stored, "name").unwrap_or_default(),
            object,
            old_object,
            namespace_object: self.namespace(namespace).map(|ns| &**ns),
            user,
        };
        admission::admit(policies, bindings, &attributes, self)
    }

    /// The Namespace `name`, if it exists.
    fn namespace(&self, name: &str) -> Option<&Arc<Value>> {
        self.kinds
            .get(&namespaces_key())?
            .objects
            .get(&(String::new(), name.to_owned()))
    }

    /// Marks a namespace `Terminating`, deletes what it holds, and removes it when nothing is
    /// left; objects held by finalizers keep it until they go (see [`State::remove`]).
    fn delete_namespace(
        &mut self,
        object: &Arc<Value>,
        changes: &mut Vec<Change>,
    ) -> (Value, bool) {
        let name = meta_str(object, "name").unwrap_or_default().to_owned();
        let marked = if object["metadata"].get("deletionTimestamp").is_some() {
            object.clone()
        } else {
            let mut marked = (**object).clone();
            let resource_version = self.bump();
            let metadata = metadata_mut(&mut marked);
            metadata.insert("deletionTimestamp".into(), json!(now()));
            metadata.insert("deletionGracePeriodSeconds".into(), json!(0));
            metadata.insert(
                "resourceVersion".into(),
                json!(resource_version.to_string()),
            );
            marked["status"]["phase"] = json!("Terminating");
            let marked = Arc::new(marked);
            self.kinds
                .entry(namespaces_key())
                .or_default()
                .objects
                .insert((String::new(), name.clone()), marked.clone());
            changes.push(Change {
                group: String::new(),
                plural: "namespaces".to_owned(),
                resource_version,
                event: EventType::Modified,
                object: marked.clone(),
                previous: Some(object.clone()),
            });
            marked
        };
        let content: Vec<((String, String), Arc<Value>)> = self
            .kinds
            .iter()
            .flat_map(|(kind_key, kind)| {
                kind.objects
                    .iter()
                    .filter(|((namespace, _), _)| *namespace == name)
                    .map(|(_, object)| (kind_key.clone(), object.clone()))
            })
            .collect();
        for (kind_key, object) in content {
            // An object already gone with an owner deleted before it is skipped.
            let key = (
                name.clone(),
                meta_str(&object, "name").unwrap_or_default().to_owned(),
            );
            let Some(current) = self
                .kinds
                .get(&kind_key)
                .and_then(|k| k.objects.get(&key))
                .cloned()
            else {
                continue;
            };
            self.delete(kind_key, &current, changes);
        }
        if self.namespace(&name).is_none() {
            let last = changes
                .iter()
                .rev()
                .find(|c| c.event == EventType::Deleted && c.plural == "namespaces")
                .map_or_else(|| (*marked).clone(), |c| (*c.object).clone());
            return (last, true);
        }
        if self.namespace_empty(&name) {
            self.remove(namespaces_key(), marked.clone(), changes);
            return ((*marked).clone(), true);
        }
        ((*marked).clone(), false)
    }

    /// Whether no object is left in the namespace `name`.
    fn namespace_empty(&self, name: &str) -> bool {
        self.kinds
            .values()
            .all(|kind| !kind.objects.keys().any(|(namespace, _)| namespace == name))
    }

    /// Removes an object for good, then deletes every object all of whose owners are gone, the
    /// objects of a removed CRD, and a terminating namespace its last object left.
    fn remove(
        &mut self,
        storage_key: (String, String),
        last: Arc<Value>,
        changes: &mut Vec<Change>,
    ) {
        let mut pending = vec![(storage_key, last)];
        let mut queued: HashSet<String> = HashSet::new();
        while let Some((storage_key, last)) = pending.pop() {
            let key = (
                meta_str(&last, "namespace").unwrap_or_default().to_owned(),
                meta_str(&last, "name").unwrap_or_default().to_owned(),
            );
            let Some(previous) = self
                .kinds
                .get_mut(&storage_key)
                .and_then(|kind| kind.objects.remove(&key))
            else {
                continue;
            };
            let resource_version = self.bump();
            let mut last = (*last).clone();
            metadata_mut(&mut last).insert(
                "resourceVersion".into(),
                json!(resource_version.to_string()),
            );
            let last = Arc::new(last);
            changes.push(Change {
                group: storage_key.0.clone(),
                plural: storage_key.1.clone(),
                resource_version,
                event: EventType::Deleted,
                object: last.clone(),
                previous: Some(previous),
            });
            if storage_key.0 == "apiextensions.k8s.io"
                && storage_key.1 == "customresourcedefinitions"
            {
                self.unregister_crd(&last, changes);
            }
            let namespace = &key.0;
            if !namespace.is_empty()
                && let Some(ns) = self.namespace(namespace).cloned()
                && ns["metadata"].get("deletionTimestamp").is_some()
                && self.namespace_empty(namespace)
            {
                pending.push((namespaces_key(), ns));
            }
            for (kind_key, orphan) in self.orphans() {
                let uid = meta_str(&orphan, "uid").unwrap_or_default().to_owned();
                if finalizers_empty(&orphan) {
                    if queued.insert(uid) {
                        pending.push((kind_key, orphan));
                    }
                } else {
                    self.delete(kind_key, &orphan, changes);
                }
            }
        }
    }

    /// Objects with owner references none of which names a stored object.
    fn orphans(&self) -> Vec<((String, String), Arc<Value>)> {
        let live: HashSet<&str> = self
            .kinds
            .values()
            .flat_map(|kind| kind.objects.values())
            .filter_map(|object| meta_str(object, "uid"))
            .collect();
        let mut orphans = Vec::new();
        for (kind_key, kind) in &self.kinds {
            for object in kind.objects.values() {
                let Some(owners) = object["metadata"]["ownerReferences"]
                    .as_array()
                    .filter(|owners| !owners.is_empty())
                else {
                    continue;
                };
                let dangling = owners
                    .iter()
                    .all(|owner| owner["uid"].as_str().is_none_or(|uid| !live.contains(uid)));
                let already_deleting = object["metadata"].get("deletionTimestamp").is_some();
                if dangling && !already_deleting {
                    orphans.push((kind_key.clone(), object.clone()));
                }
            }
        }
        orphans
    }

    fn register_crd(&mut self, crd: &mut Value) {
        let served = ResourceType::from_crd(crd);
        let stored: Vec<Value> = crd["spec"]["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["storage"].as_bool() == Some(true))
            .map(|v| v["name"].clone())
            .collect();
        for rt in &served {
            self.types.retain(|existing| {
                !(existing.group == rt.group
                    && existing.version == rt.version
                    && existing.plural == rt.plural)
            });
        }
        if let Some(first) = served.first() {
            match CrdRules::compile(crd) {
                Some(rules) => self.rules.insert(first.storage_key(), rules),
                None => self.rules.remove(&first.storage_key()),
            };
        }
        self.types.extend(served);
        let time = crd["status"]["conditions"][0]["lastTransitionTime"]
            .as_str()
            .map_or_else(now, str::to_owned);
        crd["status"] = json!({
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": time},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": time},
            ],
            "acceptedNames": crd["spec"]["names"].clone(),
            "storedVersions": stored,
        });
    }

    fn unregister_crd(&mut self, crd: &Value, changes: &mut Vec<Change>) {
        let served = ResourceType::from_crd(crd);
        let Some(first) = served.first() else { return };
        let storage_key = first.storage_key();
        self.rules.remove(&storage_key);
        self.types
            .retain(|existing| existing.storage_key() != storage_key);
        if let Some(kind) = self.kinds.get_mut(&storage_key) {
            let objects = std::mem::take(&mut kind.objects);
            for object in objects.into_values() {
                self.resource_version += 1;
                changes.push(Change {
                    group: storage_key.0.clone(),
                    plural: storage_key.1.clone(),
                    resource_version: self.resource_version,
                    event: EventType::Deleted,
                    object,
                    previous: None,
                });
            }
        }
    }
}

/// A Secret's `stringData` is write-only: the API server merges it into `data` (base64),
/// over keys of the same name, and never stores it.
fn merge_string_data(rt: &ResourceType, object: &mut Value) {
    if !(rt.group.is_empty() && rt.plural == "secrets") {
        return;
    }
    let Some(Value::Object(strings)) = object.as_object_mut().and_then(|o| o.remove("stringData"))
    else {
        return;
    };
    if !object["data"].is_object() {
        object["data"] = json!({});
    }
    for (key, value) in strings {
        let text = value.as_str().unwrap_or_default();
        object["data"][key] = json!(BASE64_STANDARD.encode(text));
    }
}

fn is_crd(rt: &ResourceType) -> bool {
    rt.group == "apiextensions.k8s.io" && rt.plural == "customresourcedefinitions"
}
