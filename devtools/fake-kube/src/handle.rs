//! The in-process handle tests hold: starts the server on loopback, hands out a kubeconfig and
//! a client, reads objects for assertions, waits for conditions without sleeping, and plays the
//! kubelet and the job controller by writing workload status.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::error::Result;
use crate::kubelet::{self, Kubelet};
use crate::node::Node;
use crate::server;
use crate::store::Store;
use crate::users::{User, Users};

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
    node: Arc<Node>,
    users: Arc<Users>,
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
        let node = Arc::new(Node::default());
        let users = Arc::new(Users::default());
        let app = server::app(
            store.clone(),
            node.clone(),
            users.clone(),
            options.bookmark_interval,
        );
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "fake API server stopped");
            }
        });
        Ok(Self {
            store,
            node,
            users,
            addr,
            task,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, such as `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig document selecting this server over plain HTTP without credentials: its
    /// requests come from the administrator (`kubernetes-admin`, in `system:masters`).
    pub fn kubeconfig(&self) -> String {
        self.kubeconfig_with("{}")
    }

    /// A kubeconfig document whose requests come from `user`, by a bearer token the fake
    /// hands out for it; admission policies see that user.
    pub fn kubeconfig_as(&self, user: User) -> String {
        let token = self.users.token_for(user);
        self.kubeconfig_with(&format!("{{token: {token}}}"))
    }

    fn kubeconfig_with(&self, credentials: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {url}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\n\
             current-context: fake\nusers:\n- name: fake\n  user: {credentials}\npreferences: {{}}\n",
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

    /// Writes [`Self::kubeconfig_as`] to a file, for a spawned process acting as `user`.
    ///
    /// # Errors
    /// The I/O error of writing the file.
    pub fn write_kubeconfig_as(&self, path: &Path, user: User) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_as(user))
    }

    /// A kube-rs client whose requests come from `user` (see [`Self::kubeconfig_as`]).
    ///
    /// # Errors
    /// The error of building the client (the URL is always valid).
    pub fn client_as(&self, user: User) -> kube::Result<kube::Client> {
        let mut config = self.config();
        config.auth_info.token = Some(self.users.token_for(user).into());
        kube::Client::try_from(config)
    }

    fn config(&self) -> kube::Config {
        let url: axum::http::Uri = self
            .url()
            .parse()
            .expect("a socket address always forms a valid URL");
        kube::Config::new(url)
    }

    /// A kube-rs client talking to this server.
    ///
    /// # Errors
    /// The error of building the client (the URL is always valid).
    pub fn client(&self) -> kube::Result<kube::Client> {
        kube::Client::try_from(self.config())
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

    /// Counts objects satisfying `predicate`, in one namespace or across all, without copying
    /// them; cheap enough to call on every change of a large store.
    pub fn count(
        &self,
        group: &str,
        plural: &str,
        namespace: Option<&str>,
        predicate: impl Fn(&Value) -> bool,
    ) -> usize {
        self.store
            .type_of(group, plural)
            .map_or(0, |rt| self.store.count(&rt, namespace, predicate))
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

    /// Creates the namespace `name`, as an administrator would before anything goes into it.
    ///
    /// # Errors
    /// [`crate::Error::AlreadyExists`] when it exists.
    pub fn create_namespace(&self, name: &str) -> Result<()> {
        let namespaces = self
            .store
            .type_of("", "namespaces")
            .expect("Namespace is a built-in type");
        self.store
            .create(
                &namespaces,
                None,
                serde_json::json!({"metadata": {"name": name}}),
                None,
            )
            .map(|_| ())
    }

    /// Plays the kubelet for a Deployment: every desired replica is updated, ready and
    /// available at the current generation.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] when the Deployment does not exist.
    pub fn mark_deployment_ready(&self, namespace: &str, name: &str) -> Result<()> {
        kubelet::mark_deployment_ready(&self.store, namespace, name)
    }

    /// Plays the StatefulSet controller and the kubelet: creates the claims of every replica
    /// from `volumeClaimTemplates` as the controller does (`<template>-<set>-<ordinal>`, owned
    /// by the set only when `persistentVolumeClaimRetentionPolicy.whenDeleted` is `Delete`),
    /// then marks every desired replica current, updated and ready.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] when the StatefulSet does not exist.
    pub fn mark_statefulset_ready(&self, namespace: &str, name: &str) -> Result<()> {
        kubelet::mark_statefulset_ready(&self.store, namespace, name)
    }

    /// Plays the job controller: the Job succeeded.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] when the Job does not exist.
    pub fn mark_job_complete(&self, namespace: &str, name: &str) -> Result<()> {
        kubelet::mark_job_complete(&self.store, namespace, name)
    }

    /// Plays the job controller: the Job failed for good, with the given message.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] when the Job does not exist.
    pub fn mark_job_failed(&self, namespace: &str, name: &str, message: &str) -> Result<()> {
        kubelet::mark_job_failed(&self.store, namespace, name, message)
    }

    /// Starts a [`Kubelet`] that keeps every workload of this server ready and finishes Jobs
    /// as its policy says, until dropped.
    pub fn kubelet(&self) -> Kubelet {
        Kubelet::start(self.store.clone(), self.node.clone())
    }

    /// Reads a file on the volume of a PersistentVolumeClaim, by its path from the volume's
    /// root (`export/manifest.json`), as the programs the [`Kubelet`] ran left it.
    pub fn volume_file(&self, namespace: &str, claim: &str, path: &str) -> Option<Vec<u8>> {
        self.node.volume(namespace, claim).remove(path)
    }

    /// Writes a file on the volume of a PersistentVolumeClaim, for programs to find.
    pub fn write_volume_file(&self, namespace: &str, claim: &str, path: &str, content: &[u8]) {
        let mut files = self.node.volume(namespace, claim);
        files.insert(path.to_owned(), content.to_vec());
        self.node.set_volume(namespace, claim, files);
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        self.task.abort();
    }
}
