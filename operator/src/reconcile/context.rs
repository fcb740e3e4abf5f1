//! The one context of the Cooperative controller: its configuration and the state its
//! reconciles and the probe loop share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender};
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::{ObjectRef, Store};
use mono_crds::Cooperative;

use crate::children::ChildConfig;
use crate::guardrails::Guardrails;
use crate::metrics::Metrics;
use crate::probe::Probes;
use crate::uniqueness::Claims;
use crate::upgrades::UpgradeSlots;

/// Settings of [`run`].
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// What shapes the children.
    pub children: ChildConfig,
    /// Namespace to watch; every namespace when `None`.
    pub watch_namespace: Option<String>,
    /// Whether to read each ready instance's `/status` for the `Synced` condition.
    pub probe_instances: bool,
    /// How often each ready instance's `/status` is read.
    pub probe_interval: Duration,
    /// What hosting staff allow tenants to ask for.
    pub guardrails: Guardrails,
    /// Most Cooperatives upgrading (migrating and rolling out) at once; 0: no limit.
    pub max_concurrent_upgrades: u16,
    /// `host:port` of an instance's `/status`, `{name}` and `{namespace}` standing for the
    /// Cooperative's.
    pub status_address: String,
    /// Most Cooperatives reconciled at once (0: no limit).
    pub concurrency: u16,
}

/// Address of an instance's `/status` inside the cluster, as [`ControllerConfig::status_address`].
pub const DEFAULT_STATUS_ADDRESS: &str = "{name}.{namespace}.svc:8080";

impl ControllerConfig {
    /// `host:port` of the `/status` of the Cooperative `name` in `namespace`.
    pub fn status_address(&self, name: &str, namespace: &str) -> String {
        self.status_address
            .replace("{name}", name)
            .replace("{namespace}", namespace)
    }
}

/// Shared state of the reconcilers and the probe loop.
pub struct Context {
    pub(super) client: Client,
    pub(super) config: ControllerConfig,
    pub(super) recorder: Recorder,
    pub(super) metrics: Arc<Metrics>,
    pub(super) store: Store<Cooperative>,
    pub(super) namespaces: Store<Namespace>,
    pub(super) failures: Mutex<HashMap<String, u32>>,
    pub(crate) probes: Probes,
    pub(super) claims: Claims,
    pub(super) upgrades: UpgradeSlots,
    pub(super) retrigger: UnboundedSender<ObjectRef<Cooperative>>,
    pub(super) retriggers: Mutex<Option<UnboundedReceiver<ObjectRef<Cooperative>>>>,
}

impl Context {
    /// State shared by [`reconcile`] and [`error_policy`]; `store` holds every Cooperative the
    /// controller sees, to find a namespace's first one, and `namespaces` every Namespace it
    /// may reconcile in, for the allowlists staff set on them.
    pub fn new(
        client: Client,
        config: ControllerConfig,
        recorder: Recorder,
        metrics: Arc<Metrics>,
        store: Store<Cooperative>,
        namespaces: Store<Namespace>,
    ) -> Context {
        let (retrigger, retriggers) = futures::channel::mpsc::unbounded();
        let upgrades = UpgradeSlots::new(usize::from(config.max_concurrent_upgrades));
        Context {
            client,
            config,
            recorder,
            metrics,
            store,
            namespaces,
            failures: Mutex::new(HashMap::new()),
            probes: Probes::default(),
            claims: Claims::default(),
            upgrades,
            retrigger,
            retriggers: Mutex::new(Some(retriggers)),
        }
    }

    /// The client every request goes through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Every Cooperative the controller sees, as of the last watch event.
    pub fn store(&self) -> &Store<Cooperative> {
        &self.store
    }
}
