//! What the simulated node keeps besides API objects: the files on persistent volumes and the
//! logs of the containers the kubelet ran.
//!
//! It holds bytes only; which container sees which volume is decided in [`crate::container`],
//! and when containers run in [`crate::kubelet`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Files of one volume, by path relative to the volume's root.
pub(crate) type Files = BTreeMap<String, Vec<u8>>;

/// Volume contents and container logs of the whole fake cluster.
#[derive(Default)]
pub(crate) struct Node {
    state: Mutex<NodeState>,
}

#[derive(Default)]
struct NodeState {
    /// By namespace and PersistentVolumeClaim name.
    volumes: HashMap<(String, String), Files>,
    /// By namespace, pod and container name: stdout and stderr interleaved, as the kubelet
    /// stores them.
    logs: HashMap<(String, String, String), String>,
}

impl Node {
    fn lock(&self) -> MutexGuard<'_, NodeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every file on the volume of a claim (empty for a claim never written to).
    pub(crate) fn volume(&self, namespace: &str, claim: &str) -> Files {
        self.lock()
            .volumes
            .get(&(namespace.to_owned(), claim.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    /// Replaces every file on the volume of a claim.
    pub(crate) fn set_volume(&self, namespace: &str, claim: &str, files: Files) {
        self.lock()
            .volumes
            .insert((namespace.to_owned(), claim.to_owned()), files);
    }

    /// The log of a container that ran, if it did.
    pub(crate) fn log(&self, namespace: &str, pod: &str, container: &str) -> Option<String> {
        self.lock()
            .logs
            .get(&(namespace.to_owned(), pod.to_owned(), container.to_owned()))
            .cloned()
    }

    /// Records the log of a container that ran.
    pub(crate) fn set_log(&self, namespace: &str, pod: &str, container: &str, log: String) {
        self.lock().logs.insert(
            (namespace.to_owned(), pod.to_owned(), container.to_owned()),
            log,
        );
    }
}
