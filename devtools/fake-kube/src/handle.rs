//! The in-process handle tests hold: starts the server on loopback, hands out a kubeconfig and
//! a client, reads objects for assertions, waits for conditions without sleeping, and plays the
//! kubelet and the job controller by writing workload status.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::server;
use crate::store::{PatchKind, Store, Target};

/// Why the fake could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The listening socket could not be bound.
    #[error("binding {addr}")]
    Bind {
        /// The requested address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Settings of a fake server; the defaults suit tests and the benchmark.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Changes per resource type kept replayable for watches; a watch from an older
    /// resourceVersion gets `410 Gone` and the client relists.
    pub history_per_type: usize,
    /// How often a watch that allows bookmarks receives one.
    pub bookmark_interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            history_per_type: 20_000,
            bookmark_interval: Duration::from_secs(5),
        }
    }
}

/// A running fake API server; dropping it stops the server.
pub struct FakeKube {
    store: Arc<Store>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl FakeKube {
    /// Starts a server on `127.0.0.1` with a port the system chooses.
    ///
    /// # Errors
    /// [`StartError::Bind`] when no loopback port can be bound.
    pub async fn start() -> Result<Self, StartError> {
        Self::start_with(Options::default()).await
    }

    /// Starts a server with explicit settings.
    ///
    /// # Errors
    /// [`StartError::Bind`] when the address cannot be bound.
    pub async fn start_with(options: Options) -> Result<Self, StartError> {
        let addr = options.listen;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let store = Arc::new(Store::new(options.history_per_type));
        let app = server::app(store.clone(), options.bookmark_interval);
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "fake API server stopped");
            }
        });
        Ok(Self { store, addr, task })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, such as `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig document selecting this server over plain HTTP without credentials.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {url}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\n\
             current-context: fake\nusers:\n- name: fake\n  user: {{}}\npreferences: {{}}\n",
            url = self.url()
        )
    }

    /// Writes [`Self::kubeconfig`] to a file, for `KUBECONFIG` of a spawned process.
    ///
    /// # Errors
    /// The I/O error of writing the file.
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig())
    }

    /// A kube-rs client talking to this server.
    ///
    /// # Errors
    /// The error of building the client (the URL is always valid).
    pub fn client(&self) -> kube::Result<kube::Client> {
        let url: axum::http::Uri = self
            .url()
            .parse()
            .expect("a socket address always forms a valid URL");
        kube::Client::try_from(kube::Config::new(url))
    }

    /// The latest resourceVersion; it grows with every committed change.
    pub fn resource_version(&self) -> u64 {
        *self.store.subscribe_version().borrow()
    }

    /// Reads one object as JSON, by group (empty for core), plural, namespace and name.
    pub fn get_value(
        &self,
        group: &str,
        plural: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let rt = self.store.type_of(group, plural)?;
        self.store.get(&rt, namespace, name).ok()
    }

    /// Lists objects as JSON, in one namespace or across all when `namespace` is `None`.
    pub fn list_values(&self, group: &str, plural: &str, namespace: Option<&str>) -> Vec<Value> {
        let Some(rt) = self.store.type_of(group, plural) else {
            return Vec::new();
        };
        self.store
            .list(&rt, namespace, &crate::select::Selector::default())
            .0
    }

    /// Reads one typed object; `None` when absent or not decodable as `K`.
    pub fn get<K>(&self, namespace: Option<&str>, name: &str) -> Option<K>
    where
        K: kube::Resource<DynamicType = ()> + DeserializeOwned,
    {
        let value = self.get_value(&K::group(&()), &K::plural(&()), namespace, name)?;
        serde_json::from_value(value).ok()
    }

    /// Lists typed objects; objects not decodable as `K` are left out.
    pub fn list<K>(&self, namespace: Option<&str>) -> Vec<K>
    where
        K: kube::Resource<DynamicType = ()> + DeserializeOwned,
    {
        self.list_values(&K::group(&()), &K::plural(&()), namespace)
            .into_iter()
            .filter_map(|value| serde_json::from_value(value).ok())
            .collect()
    }

    /// Calls `check` now and after every committed change until it returns `Some`, or until
    /// `timeout` passes (then `None`). No polling interval: it wakes on changes only.
    pub async fn wait_for<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&Self) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut version = self.store.subscribe_version();
        loop {
            version.borrow_and_update();
            if let Some(found) = check(self) {
                return Some(found);
            }
            match tokio::time::timeout_at(deadline, version.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return check(self),
            }
        }
    }

    /// Plays the kubelet for a Deployment: every desired replica is updated, ready and
    /// available at the current generation.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the Deployment does not exist.
    pub fn mark_deployment_ready(&self, namespace: &str, name: &str) -> Result<()> {
        self.write_status("apps", "deployments", namespace, name, |object| {
            let replicas = object["spec"]["replicas"].as_u64().unwrap_or(1);
            json!({
                "observedGeneration": object["metadata"]["generation"],
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": replicas,
                "availableReplicas": replicas,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                ],
            })
        })
    }

    /// Plays the StatefulSet controller and the kubelet: creates the claims of every replica
    /// from `volumeClaimTemplates` as the controller does (`<template>-<set>-<ordinal>`, owned
    /// by the set only when `persistentVolumeClaimRetentionPolicy.whenDeleted` is `Delete`),
    /// then marks every desired replica current, updated and ready.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the StatefulSet does not exist.
    pub fn mark_statefulset_ready(&self, namespace: &str, name: &str) -> Result<()> {
        self.create_claims(namespace, name)?;
        self.write_status("apps", "statefulsets", namespace, name, |object| {
            let replicas = object["spec"]["replicas"].as_u64().unwrap_or(1);
            let revision = format!("{name}-{}", object["metadata"]["generation"]);
            json!({
                "observedGeneration": object["metadata"]["generation"],
                "replicas": replicas,
                "readyReplicas": replicas,
                "availableReplicas": replicas,
                "currentReplicas": replicas,
                "updatedReplicas": replicas,
                "currentRevision": revision,
                "updateRevision": revision,
            })
        })
    }

    /// Plays the job controller: the Job succeeded.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the Job does not exist.
    pub fn mark_job_complete(&self, namespace: &str, name: &str) -> Result<()> {
        self.write_status("batch", "jobs", namespace, name, |object| {
            let time = object["metadata"]["creationTimestamp"].clone();
            json!({
                "startTime": time,
                "completionTime": time,
                "succeeded": 1,
                "active": 0,
                "conditions": [
                    {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached"},
                    {"type": "Complete", "status": "True", "reason": "CompletionsReached"},
                ],
            })
        })
    }

    /// Plays the job controller: the Job failed for good, with the given message.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the Job does not exist.
    pub fn mark_job_failed(&self, namespace: &str, name: &str, message: &str) -> Result<()> {
        self.write_status("batch", "jobs", namespace, name, |object| {
            json!({
                "startTime": object["metadata"]["creationTimestamp"],
                "failed": 1,
                "active": 0,
                "conditions": [
                    {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": message},
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": message},
                ],
            })
        })
    }

    fn create_claims(&self, namespace: &str, name: &str) -> Result<()> {
        let sets = self
            .store
            .type_of("apps", "statefulsets")
            .ok_or_else(|| Error::NotFound {
                what: "statefulsets.apps".into(),
            })?;
        let claims = self
            .store
            .type_of("", "persistentvolumeclaims")
            .ok_or_else(|| Error::NotFound {
                what: "persistentvolumeclaims".into(),
            })?;
        let set = self.store.get(&sets, Some(namespace), name)?;
        let replicas = set["spec"]["replicas"].as_u64().unwrap_or(1);
        let owned = set["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete";
        let templates = set["spec"]["volumeClaimTemplates"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for template in &templates {
            let Some(template_name) = template["metadata"]["name"].as_str() else {
                continue;
            };
            for ordinal in 0..replicas {
                let mut labels = template["metadata"]["labels"].clone();
                if let (Some(labels), Some(selector)) = (
                    labels.as_object_mut(),
                    set["spec"]["selector"]["matchLabels"].as_object(),
                ) {
                    labels.extend(selector.clone());
                } else {
                    labels = set["spec"]["selector"]["matchLabels"].clone();
                }
                let mut claim = json!({
                    "metadata": {"name": format!("{template_name}-{name}-{ordinal}"), "labels": labels},
                    "spec": template["spec"],
                });
                if owned {
                    claim["metadata"]["ownerReferences"] = json!([{
                        "apiVersion": "apps/v1", "kind": "StatefulSet", "name": name,
                        "uid": set["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true,
                    }]);
                }
                match self.store.create(&claims, Some(namespace), claim) {
                    Ok(_) | Err(Error::AlreadyExists { .. }) => {}
                    Err(other) => return Err(other),
                }
            }
        }
        Ok(())
    }

    fn write_status(
        &self,
        group: &str,
        plural: &str,
        namespace: &str,
        name: &str,
        status: impl FnOnce(&Value) -> Value,
    ) -> Result<()> {
        let rt = self
            .store
            .type_of(group, plural)
            .ok_or_else(|| Error::NotFound {
                what: format!("{plural}.{group}"),
            })?;
        let object = self.store.get(&rt, Some(namespace), name)?;
        let patch = json!({"status": status(&object)});
        self.store.patch(
            &rt,
            Some(namespace),
            name,
            &PatchKind::Merge,
            &patch,
            Target::Status,
        )?;
        Ok(())
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        self.task.abort();
    }
}
