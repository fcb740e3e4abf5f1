//! The Cooperative controller: read → desired children (pure) → server-side apply → observe
//! → conditions (pure) → status, inside kube's finalizer wrapper that applies the
//! `deletionPolicy`.
//!
//! Every step is idempotent. Generated Secrets are created once and never rewritten; the
//! instance Deployment is created, or moved to a new version, only after that version's
//! migration Job completed. What the API server never lets change is never re-applied
//! changed: Jobs are created once, the database StatefulSet keeps its claim templates as
//! created, and a larger volume is asked of its claim. What a person must act on becomes a
//! condition and an Event.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender};
use futures::future::Either;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{PredicateConfig, WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use mono_crds::{Cooperative, CooperativeStatus, DatabaseMode, DeletionPolicy, validate_coopname};
use rand_core::OsRng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tracing::{debug, info, instrument, warn};

use crate::children::{
    self, Child, ChildConfig, ChildKind, ClaimPlan, DatabaseAddress, MANAGER, Rollout,
    VERSION_LABEL, secrets,
};
use crate::guardrails::Guardrails;
use crate::metrics::Metrics;
use crate::probe::{self, PROBE_TIMEOUT, Probed, Probes, probe_instance};
use crate::status::{
    self, DatabaseState, DeploymentState, JobState, Observed, Severity, StorageState,
};
use crate::uniqueness::{Claims, Conflict};
use crate::upgrades::UpgradeSlots;
use crate::{Error, Result, Verb};

/// Finalizer that applies `spec.deletionPolicy` before a Cooperative goes away.
pub const FINALIZER: &str = "mono.coopenomics.io/cleanup";
/// Annotation that, set to `"true"`, pauses reconciliation: nothing is applied or changed
/// until it is removed; deletion still proceeds.
pub const PAUSED_ANNOTATION: &str = "mono.coopenomics.io/paused";
/// Annotation that, set to `"true"`, holds the Cooperative's deletion (and with it its data)
/// until it is removed.
pub const DELETION_PROTECTION_ANNOTATION: &str = "mono.coopenomics.io/deletion-protection";
/// Requeue interval of a healthy Cooperative (drift safety net).
const STEADY_REQUEUE: Duration = Duration::from_secs(300);
/// Requeue interval while something converges.
const PROGRESS_REQUEUE: Duration = Duration::from_secs(30);
/// Upper bound of the error back-off.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

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
    client: Client,
    config: ControllerConfig,
    recorder: Recorder,
    metrics: Arc<Metrics>,
    store: Store<Cooperative>,
    failures: Mutex<HashMap<String, u32>>,
    pub(crate) probes: Probes,
    claims: Claims,
    upgrades: UpgradeSlots,
    retrigger: UnboundedSender<ObjectRef<Cooperative>>,
    retriggers: Mutex<Option<UnboundedReceiver<ObjectRef<Cooperative>>>>,
}

impl Context {
    /// State shared by [`reconcile`] and [`error_policy`]; `store` holds every Cooperative the
    /// controller sees, to find a namespace's first one.
    pub fn new(
        client: Client,
        config: ControllerConfig,
        recorder: Recorder,
        metrics: Arc<Metrics>,
        store: Store<Cooperative>,
    ) -> Context {
        let (retrigger, retriggers) = futures::channel::mpsc::unbounded();
        let upgrades = UpgradeSlots::new(usize::from(config.max_concurrent_upgrades));
        Context {
            client,
            config,
            recorder,
            metrics,
            store,
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

/// What makes a Cooperative worth reconciling: its spec (through `metadata.generation`),
/// finalizers, deletion and annotations. Status writes, the probe loop's included, change
/// none of them, so they do not trigger reconciles.
pub fn reconcile_trigger(coop: &Cooperative) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    coop.meta().generation.hash(&mut hasher);
    coop.finalizers().hash(&mut hasher);
    coop.meta().deletion_timestamp.is_some().hash(&mut hasher);
    coop.annotations().hash(&mut hasher);
    Some(hasher.finish())
}

/// Runs the Cooperative controller until `shutdown` resolves.
pub async fn run(
    client: Client,
    config: ControllerConfig,
    recorder: Recorder,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let cooperatives: Api<Cooperative> = scoped_api(&client, config.watch_namespace.as_deref());
    let children =
        watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGER}"));
    // The store sees every change; reconciles are triggered only by those that matter.
    let (store, writer) = reflector::store();
    let triggers = watcher(cooperatives, watcher::Config::default().any_semantic())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(reconcile_trigger, PredicateConfig::default());
    let ctx = Arc::new(Context::new(
        client.clone(),
        config.clone(),
        recorder,
        metrics,
        store.clone(),
    ));
    // Cooperatives refused for a conflict are reconciled again when the winner goes.
    let retriggers = lock(&ctx.retriggers)
        .take()
        .map(StreamExt::boxed)
        .unwrap_or_else(|| futures::stream::empty().boxed());
    let controller = Controller::for_stream(triggers, store).reconcile_on(retriggers);
    let shutdown = shutdown.shared();
    let probing = if config.probe_instances {
        Either::Left(probe::run(
            ctx.clone(),
            config.probe_interval,
            shutdown.clone(),
        ))
    } else {
        Either::Right(std::future::ready(()))
    };
    let namespace = config.watch_namespace.as_deref();
    let controller = controller
        .owns(
            scoped_api::<Deployment>(&client, namespace),
            children.clone(),
        )
        .owns(
            scoped_api::<StatefulSet>(&client, namespace),
            children.clone(),
        )
        .owns(scoped_api::<Job>(&client, namespace), children)
        .with_config(controller::Config::default().concurrency(config.concurrency))
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, action)) => debug!(name = %object.name, ?action, "reconciled"),
                Err(err) => debug!(error = %error_chain(&err), "reconcile not run"),
            }
        });
    tokio::join!(controller, probing);
}

/// Reconciles one Cooperative.
#[instrument(skip_all, fields(namespace = coop.namespace().unwrap_or_default(), name = coop.name_any()))]
pub async fn reconcile(coop: Arc<Cooperative>, ctx: Arc<Context>) -> Result<Action> {
    let _timer = ctx.metrics.reconcile_started();
    let namespace = coop
        .namespace()
        .ok_or(Error::MissingObjectKey("metadata.namespace"))?;
    let key = format!("{namespace}/{}", coop.name_any());
    let api: Api<Cooperative> = Api::namespaced(ctx.client.clone(), &namespace);
    let ours = has_finalizer(&coop);
    let state = ctx.store.state();
    let conflict = if ours {
        // Served already: it keeps its namespace and coopname.
        ctx.claims.claim(&coop);
        None
    } else {
        ctx.claims
            .decide(&coop, state.iter().map(AsRef::as_ref), has_finalizer)
    };
    if let Some(conflict) = conflict {
        ctx.probes.forget(&key).await;
        if coop.meta().deletion_timestamp.is_none() {
            report_duplicate(&api, &coop, &conflict, &ctx).await?;
        }
        // The winner's cleanup names this one for another reconcile; the requeue is the
        // safety net for a winner that went without it.
        return Ok(Action::requeue(STEADY_REQUEUE));
    }
    let result = finalizer(&api, FINALIZER, coop.clone(), |event| async {
        match event {
            FinalizerEvent::Apply(coop) if annotated(&coop, PAUSED_ANNOTATION) => {
                pause(&coop, &ctx, &api).await
            }
            FinalizerEvent::Apply(coop) => apply(&coop, &ctx, &api).await,
            FinalizerEvent::Cleanup(coop) if annotated(&coop, DELETION_PROTECTION_ANNOTATION) => {
                Err(Error::DeletionProtected {
                    annotation: DELETION_PROTECTION_ANNOTATION,
                })
            }
            FinalizerEvent::Cleanup(coop) => cleanup(&coop, &ctx).await,
        }
    })
    .await
    .map_err(|err| Error::Finalizer(Box::new(err)));
    match result {
        Ok(action) => {
            lock(&ctx.failures).remove(&key);
            Ok(action)
        }
        Err(err) => {
            // Failures persist until someone fixes RBAC, quotas or the spec: say so where
            // `kubectl get` and `kubectl describe` show it, not only in the operator's log.
            if !err.in_status() {
                report_failure(&api, &coop, &ctx, &err).await;
            }
            Err(err)
        }
    }
}

/// Counts the failure and requeues with exponential back-off per Cooperative.
pub fn error_policy(coop: Arc<Cooperative>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.reconcile_failed(err);
    let key = format!(
        "{}/{}",
        coop.namespace().unwrap_or_default(),
        coop.name_any()
    );
    let attempts = {
        let mut failures = lock(&ctx.failures);
        let attempts = failures.entry(key).or_insert(0);
        *attempts = attempts.saturating_add(1);
        *attempts
    };
    let delay = backoff(attempts);
    warn!(
        namespace = coop.namespace().unwrap_or_default(),
        name = coop.name_any(),
        error = %error_chain(err),
        attempts,
        retry_in_seconds = delay.as_secs(),
        "reconcile failed"
    );
    Action::requeue(delay)
}

/// Delay before retry number `attempts` (1-based): 5 s doubling up to 5 minutes.
pub fn backoff(attempts: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(16);
    Duration::from_secs(5u64 << exponent).min(MAX_BACKOFF)
}

/// Whether `coop` has the annotation `key` set to `"true"`.
pub fn annotated(coop: &Cooperative, key: &str) -> bool {
    coop.annotations()
        .get(key)
        .is_some_and(|value| value == "true")
}

/// Reports the pause and changes nothing else; the annotation's removal triggers the next
/// reconcile.
async fn pause(coop: &Cooperative, ctx: &Context, api: &Api<Cooperative>) -> Result<Action> {
    let status = status::paused_status(
        coop.status.as_ref(),
        coop.meta().generation,
        PAUSED_ANNOTATION,
        &now(),
    );
    let slot = ctx.probes.slot(&format!(
        "{}/{}",
        coop.namespace().unwrap_or_default(),
        coop.name_any()
    ));
    // The probe loop keeps refreshing the sync state, from a status that says so.
    let mut probed = slot.lock().await;
    let previous = probed.as_ref().map(|p| p.status.clone());
    let written = write_status(api, coop, ctx, previous.as_ref(), status).await?;
    if let Some(probed) = probed.as_mut() {
        probed.status = written;
    }
    Ok(Action::await_change())
}

/// Frees the upgrade slot of `key`, and reconciles the Cooperatives that waited for one.
fn release_upgrade_slot(ctx: &Context, key: &str) {
    for waiting in ctx.upgrades.release(key) {
        if let Some((namespace, name)) = waiting.split_once('/') {
            // The receiver lives as long as the controller; a send fails only while stopping.
            let _ = ctx
                .retrigger
                .unbounded_send(ObjectRef::new(name).within(namespace));
        }
    }
}

fn has_finalizer(coop: &Cooperative) -> bool {
    coop.finalizers().iter().any(|f| f == FINALIZER)
}

/// What decides the version the instance Deployment may run.
#[derive(Debug, Clone, Copy)]
pub struct Gate<'a> {
    /// Version the spec asks for.
    pub target: &'a str,
    /// Version the existing Deployment runs, if there is one.
    pub deployed: Option<&'a str>,
    /// The import Job's state when the spec still bootstraps from an export
    /// (`Some(None)`: not observed yet).
    pub import: Option<Option<&'a JobState>>,
    /// The state of the target version's migration Job, once it was started.
    pub migration: Option<&'a JobState>,
}

/// The version the Deployment may run now. The target once its migration Job completed (and,
/// before the first start, the import too); until then the deployed version, or no
/// Deployment at all before the first start.
pub fn instance_version(gate: &Gate<'_>) -> Option<String> {
    let importing = gate
        .import
        .is_some_and(|state| state != Some(&JobState::Complete));
    let migrated = gate.migration == Some(&JobState::Complete);
    match gate.deployed {
        Some(deployed) if deployed == gate.target => Some(deployed.to_owned()),
        None if importing || !migrated => None,
        None => Some(gate.target.to_owned()),
        Some(_) if migrated => Some(gate.target.to_owned()),
        Some(deployed) => Some(deployed.to_owned()),
    }
}

/// What a person reads about a failure: for a request the API server answered, its own
/// message and code rather than the client's rendering of the whole answer.
pub fn failure_text(err: &Error) -> String {
    match err {
        Error::Kube {
            verb,
            kind,
            name,
            source,
        } => match source.as_ref() {
            kube::Error::Api(status) => format!(
                "{verb} {kind} {name}: {} (HTTP {} {})",
                status.message, status.code, status.reason
            ),
            _ => error_chain(err),
        },
        Error::Finalizer(inner) => match inner.as_ref() {
            kube::runtime::finalizer::Error::ApplyFailed(err)
            | kube::runtime::finalizer::Error::CleanupFailed(err) => failure_text(err),
            _ => error_chain(err),
        },
        _ => error_chain(err),
    }
}

/// One line with an error and all its causes.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        // Some errors (kube's among them) already print their cause; do not repeat it.
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}

async fn apply(coop: &Cooperative, ctx: &Context, api: &Api<Cooperative>) -> Result<Action> {
    let namespace = coop
        .namespace()
        .ok_or(Error::MissingObjectKey("metadata.namespace"))?;
    let name = coop.name_any();
    let target = children::target_version(coop, &ctx.config.children).to_owned();
    if let Err(err) = validate_coopname(&coop.spec.coopname) {
        let observed = Observed {
            invalid: Some(err.to_string()),
            database: DatabaseState {
                ready: false,
                failed: false,
                reason: "NotProvisioned",
                message: "nothing is provisioned while the spec is invalid".to_owned(),
            },
            storage: StorageState::AsRequested,
            import: None,
            migration: None,
            deployment: None,
            instance: Err("the spec is invalid".to_owned()),
            suspended: coop.spec.suspend,
            target_version: target,
            failures: Vec::new(),
            upgrade_queued: false,
        };
        ctx.probes.forget(&format!("{namespace}/{name}")).await;
        publish_status(api, coop, ctx, None, &observed).await?;
        return Ok(Action::await_change());
    }
    let running = coop.status.as_ref().and_then(|s| s.version.as_deref());
    let refusals = ctx.config.guardrails.refusals(coop, running);
    if !refusals.is_empty() {
        // What runs keeps running; nothing is changed for a spec staff do not allow.
        ctx.probes.forget(&format!("{namespace}/{name}")).await;
        let status = status::refused_status(
            coop.status.as_ref(),
            coop.meta().generation,
            &refusals,
            &now(),
        );
        write_status(api, coop, ctx, None, status).await?;
        return Ok(Action::await_change());
    }

    ensure_secrets(&ctx.client, coop, &namespace).await?;

    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), &namespace);
    let existing =
        deployments
            .get_opt(&name)
            .await
            .map_err(kube_error(Verb::Get, "Deployment", &name))?;
    let deployed_version = existing.as_ref().and_then(deployed_version);
    let never_ran = coop
        .status
        .as_ref()
        .and_then(|s| s.version.as_ref())
        .is_none();
    let import = coop.spec.bootstrap.is_some() && never_ran;
    // An external database's address comes from its Secret; the egress rule to it needs it.
    let external = match coop.spec.database.mode {
        DatabaseMode::External => Some(external_database_address(coop, ctx, &namespace).await?),
        DatabaseMode::Builtin | DatabaseMode::Cloudnativepg => None,
    };
    let infrastructure = Rollout {
        external_database: external.clone().and_then(Result::ok),
        ..Rollout::default()
    };

    // A child the API server refuses does not keep the others from being applied; the
    // status names it and the reconcile fails afterwards, so it is retried with back-off.
    let mut failures = Vec::new();
    let mut database = None;
    let mut database_set_existed = false;
    for mut child in children::desired(coop, &ctx.config.children, &infrastructure)? {
        if child.kind == ChildKind::StatefulSet
            && let Some(live) = get_child(&ctx.client, &namespace, &child).await?
        {
            children::keep_created(&mut child, &live);
            database_set_existed = true;
        }
        match apply_child(&ctx.client, &namespace, &child).await {
            Ok(applied) => match child.kind {
                ChildKind::StatefulSet => database = Some(stateful_set_state(parse(applied)?)),
                ChildKind::CnpgCluster => database = Some(cnpg_state(&applied)),
                _ => {}
            },
            Err(Error::Kube { source, .. })
                if child.kind == ChildKind::CnpgCluster
                    && matches!(&*source, kube::Error::Api(status) if status.code == 404) =>
            {
                database = Some(DatabaseState {
                    ready: false,
                    failed: true,
                    reason: "CloudNativePGMissing",
                    message: "the CloudNativePG operator is not installed (no postgresql.cnpg.io/v1 Cluster kind); install it or use database mode builtin".to_owned(),
                });
            }
            Err(Error::Kube { source, .. })
                if child.kind == ChildKind::ServiceMonitor
                    && matches!(&*source, kube::Error::Api(status) if status.code == 404) =>
            {
                // The Prometheus Operator was removed after start-up; monitoring is optional.
                warn!(
                    namespace,
                    name, "ServiceMonitor kind not found; skipping monitoring"
                );
            }
            Err(err) => {
                warn!(namespace, name, error = %error_chain(&err), "child not applied");
                if matches!(child.kind, ChildKind::StatefulSet | ChildKind::CnpgCluster) {
                    database = Some(DatabaseState {
                        ready: false,
                        failed: true,
                        reason: "ApplyFailed",
                        message: format!(
                            "the database could not be applied: {}",
                            failure_text(&err)
                        ),
                    });
                }
                failures.push(failure_text(&err));
            }
        }
    }
    let database = match external {
        Some(Ok(address)) => external_database_state(&address).await,
        Some(Err(state)) => state,
        None => database.unwrap_or(DatabaseState {
            ready: false,
            failed: false,
            reason: "Provisioning",
            message: "the database is being created".to_owned(),
        }),
    };

    // The claims exist once the StatefulSet does; a new one gets its template's size.
    let storage = if database_set_existed {
        database_storage(coop, &ctx.client, &namespace).await?
    } else {
        StorageState::AsRequested
    };

    // A bootstrap import starts once the database accepts connections.
    let mut import_state = None;
    if import
        && database.ready
        && let Some(job) = children::import_job(coop, &ctx.config.children)?
    {
        import_state = Some(job_state(&parse(
            ensure_job(&ctx.client, &namespace, &job).await?,
        )?));
    }

    // Every rollout, the first included, waits for the target version's migration Job. It
    // starts once the database accepts connections and a bootstrap import has completed.
    let mut migration_version =
        (deployed_version.as_deref() != Some(target.as_str())).then(|| target.clone());
    // An upgrade (not the first rollout) waits for one of the fleet's upgrade slots.
    let key = format!("{namespace}/{name}");
    let mut upgrade_queued = false;
    match (&deployed_version, &migration_version) {
        (Some(_), Some(version)) => {
            let job = children::migration_job(coop, &ctx.config.children, version)?;
            let started = get_child(&ctx.client, &namespace, &job).await?.is_some();
            if !ctx.upgrades.acquire(&key, started) {
                upgrade_queued = true;
                migration_version = None;
            }
        }
        _ => release_upgrade_slot(ctx, &key),
    }
    let imported = !import || import_state == Some(JobState::Complete);
    let mut migration_state = None;
    if let Some(version) = &migration_version
        && database.ready
        && imported
    {
        let job = children::migration_job(coop, &ctx.config.children, version)?;
        migration_state = Some(job_state(&parse(
            ensure_job(&ctx.client, &namespace, &job).await?,
        )?));
    }

    let instance_version = instance_version(&Gate {
        target: &target,
        deployed: deployed_version.as_deref(),
        import: import.then_some(import_state.as_ref()),
        migration: migration_state.as_ref(),
    });
    let mut deployment = existing.as_ref().map(deployment_state);
    if let Some(version) = instance_version {
        let rollout = Rollout {
            instance_version: Some(version),
            ..infrastructure.clone()
        };
        let children = children::desired(coop, &ctx.config.children, &rollout)?;
        if let Some(child) = children.iter().find(|c| c.kind == ChildKind::Deployment) {
            match apply_child(&ctx.client, &namespace, child).await {
                Ok(applied) => deployment = Some(deployment_state(&parse(applied)?)),
                Err(err) => {
                    warn!(namespace, name, error = %error_chain(&err), "child not applied");
                    failures.push(failure_text(&err));
                }
            }
        }
    }

    // The probe loop keeps the instance's report current; a reconcile reads `/status` itself
    // only when the loop has no report of this instance yet. An unreadable `/status` is an
    // observation (Synced=Unknown), never a reconcile error.
    let key = format!("{namespace}/{name}");
    let slot = ctx.probes.slot(&key);
    let mut probed = slot.lock().await;
    let address = (ctx.config.probe_instances && deployment.as_ref().is_some_and(|d| d.ready > 0))
        .then(|| ctx.config.status_address(&name, &namespace));
    let instance = match (&address, probed.as_ref()) {
        (None, _) if !ctx.config.probe_instances => {
            Err("the operator runs with --probe-instances false".to_owned())
        }
        (None, _) => Err("no instance pod is ready".to_owned()),
        (Some(address), Some(last)) if last.address == *address => last.observed.instance.clone(),
        (Some(address), _) => {
            let report = probe_instance(address, PROBE_TIMEOUT).await;
            if let Err(why) = &report {
                debug!(namespace, name, why, "instance /status unreadable");
            }
            report
        }
    };
    let observed = Observed {
        invalid: None,
        database,
        storage: storage.clone(),
        import: import_state,
        migration: migration_version.zip(migration_state),
        deployment,
        instance,
        suspended: coop.spec.suspend,
        target_version: target,
        failures,
        upgrade_queued,
    };
    let previous = probed.as_ref().map(|p| &p.status);
    let status = publish_status(api, coop, ctx, previous, &observed).await?;
    let observed_failures = observed.failures.clone();
    *probed = address.map(|address| Probed {
        address,
        observed,
        status: status.clone(),
        generation: coop.meta().generation,
        endpoint: children::endpoint(coop),
    });
    drop(probed);
    if !observed_failures.is_empty() {
        return Err(Error::ChildrenNotApplied(observed_failures));
    }
    // Claims are not watched: a growing volume is looked at again soon.
    let expanding = matches!(storage, StorageState::Expanding { .. });
    let steady = !expanding
        && (status.phase == Some(mono_crds::Phase::Running)
            || status.phase == Some(mono_crds::Phase::Suspended));
    Ok(Action::requeue(if steady {
        STEADY_REQUEUE
    } else {
        PROGRESS_REQUEUE
    }))
}

/// Applies the Deletion policy, then lets the finalizer go.
async fn cleanup(coop: &Cooperative, ctx: &Context) -> Result<Action> {
    let namespace = coop
        .namespace()
        .ok_or(Error::MissingObjectKey("metadata.namespace"))?;
    let name = coop.name_any();
    let selector = children::selector(&name);
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
    let policy = coop.spec.deletion_policy;
    let mut data = dispose(&secrets, "Secret", &selector, policy).await?;
    data.extend(dispose(&claims, "PersistentVolumeClaim", &selector, policy).await?);
    let (reason, note) = match policy {
        DeletionPolicy::Retain => {
            if coop.spec.database.mode == DatabaseMode::Cloudnativepg {
                let clusters: Api<DynamicObject> = Api::namespaced_with(
                    ctx.client.clone(),
                    &namespace,
                    &ChildKind::CnpgCluster.api_resource(),
                );
                data.extend(dispose(&clusters, "Cluster", &selector, policy).await?);
            }
            (
                "DataRetained",
                format!(
                    "deletionPolicy Retain kept {}; delete them by hand when no longer needed",
                    data.join(", ")
                ),
            )
        }
        DeletionPolicy::Delete => (
            "DataDeleted",
            format!("deletionPolicy Delete removed {}", data.join(", ")),
        ),
    };
    info!(namespace, name, reason, "cooperative deleted");
    publish_event(ctx, coop, Severity::Normal, reason, note).await;
    ctx.probes.forget(&format!("{namespace}/{name}")).await;
    ctx.metrics.set_phase(&format!("{namespace}/{name}"), None);
    ctx.metrics.set_usage(&namespace, &name, None);
    release_upgrade_slot(ctx, &format!("{namespace}/{name}"));
    let state = ctx.store.state();
    for other in ctx.claims.release(coop, state.iter().map(AsRef::as_ref)) {
        // The receiver lives as long as the controller; a send fails only while stopping.
        let _ = ctx.retrigger.unbounded_send(other);
    }
    Ok(Action::await_change())
}

/// Sets `Reconciled=False` with the error's reason (an Event follows the condition change);
/// when even that cannot be written, publishes the Event alone.
async fn report_failure(api: &Api<Cooperative>, coop: &Cooperative, ctx: &Context, err: &Error) {
    let status = status::reconcile_failed(
        coop.status.as_ref(),
        coop.meta().generation,
        err.reason(),
        failure_text(err),
        &now(),
    );
    let previous = coop.status.as_ref();
    if previous == Some(&status) {
        return;
    }
    if let Err(write_err) = apply_status(api, coop, &status).await {
        warn!(name = coop.name_any(), error = %error_chain(&write_err), "failure not written to status");
        publish_event(
            ctx,
            coop,
            Severity::Warning,
            "ReconcileFailed",
            error_chain(err),
        )
        .await;
        return;
    }
    let conditions = previous.map(|s| s.conditions.as_slice()).unwrap_or(&[]);
    for note in status::events(conditions, &status.conditions) {
        publish_event(ctx, coop, note.severity, &note.reason, note.note).await;
    }
}

async fn report_duplicate(
    api: &Api<Cooperative>,
    coop: &Cooperative,
    conflict: &Conflict,
    ctx: &Context,
) -> Result<()> {
    let status = status::duplicate_status(
        conflict,
        coop.meta().generation,
        coop.status.as_ref(),
        &now(),
    );
    write_status(api, coop, ctx, None, status).await.map(|_| ())
}

/// Writes the status `observed` leads to; `previous` is the status last written when it is
/// newer than the one `coop` carries.
async fn publish_status(
    api: &Api<Cooperative>,
    coop: &Cooperative,
    ctx: &Context,
    previous: Option<&CooperativeStatus>,
    observed: &Observed,
) -> Result<CooperativeStatus> {
    let previous = previous.or(coop.status.as_ref());
    let status = status::status(
        observed,
        coop.meta().generation,
        previous,
        children::endpoint(coop),
        &now(),
    );
    write_status(api, coop, ctx, previous, status).await
}

/// Writes `status` by server-side apply when it differs from `previous` (the status last
/// written, or else the one `coop` carries), records its phase and publishes Events for the
/// condition changes.
pub(crate) async fn write_status(
    api: &Api<Cooperative>,
    coop: &Cooperative,
    ctx: &Context,
    previous: Option<&CooperativeStatus>,
    status: CooperativeStatus,
) -> Result<CooperativeStatus> {
    let key = format!(
        "{}/{}",
        coop.namespace().unwrap_or_default(),
        coop.name_any()
    );
    ctx.metrics.set_phase(&key, status.phase);
    ctx.metrics.set_usage(
        &coop.namespace().unwrap_or_default(),
        &coop.name_any(),
        status.usage.as_ref(),
    );
    let previous = previous.or(coop.status.as_ref());
    if previous == Some(&status) {
        return Ok(status);
    }
    apply_status(api, coop, &status).await?;
    let previous = previous.map(|s| s.conditions.as_slice()).unwrap_or(&[]);
    for note in status::events(previous, &status.conditions) {
        publish_event(ctx, coop, note.severity, &note.reason, note.note).await;
    }
    Ok(status)
}

/// Writes `status` to the status subresource of `object` by server-side apply.
pub(crate) async fn apply_status<K>(api: &Api<K>, object: &K, status: &impl Serialize) -> Result<()>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let name = object.name_any();
    let kind = K::kind(&());
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": kind,
        "status": status,
    });
    api.patch_status(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map_err(kube_error(Verb::Patch, &kind, &name))?;
    Ok(())
}

async fn publish_event(
    ctx: &Context,
    coop: &Cooperative,
    severity: Severity,
    reason: &str,
    note: String,
) {
    let event = Event {
        type_: match severity {
            Severity::Normal => EventType::Normal,
            Severity::Warning => EventType::Warning,
        },
        reason: reason.to_owned(),
        note: Some(note),
        action: "Reconcile".to_owned(),
        secondary: None,
    };
    // Events are best effort: a failure to record one must not fail the reconcile.
    if let Err(err) = ctx.recorder.publish(&event, &coop.object_ref(&())).await {
        warn!(name = coop.name_any(), reason, error = %error_chain(&err), "event not recorded");
    }
}

/// Creates the generated Secrets that do not exist yet; existing ones are never touched.
async fn ensure_secrets(client: &Client, coop: &Cooperative, namespace: &str) -> Result<()> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut missing = Vec::new();
    for template in secrets::generated(coop)? {
        let found = api.get_opt(&template.name).await.map_err(kube_error(
            Verb::Get,
            "Secret",
            &template.name,
        ))?;
        if found.is_none() {
            missing.push(template.name);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let params = PostParams {
        field_manager: Some(MANAGER.to_owned()),
        ..PostParams::default()
    };
    for child in secrets::generate(coop, &mut OsRng)? {
        if !missing.contains(&child.name) {
            continue;
        }
        let secret: Secret = serde_json::from_value(child.object).map_err(Error::Serialize)?;
        match api.create(&params, &secret).await {
            Ok(_) => info!(namespace, secret = child.name, "generated secret created"),
            // Another replica or an earlier attempt won the race; keep its values.
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(source) => return Err(kube_error(Verb::Create, "Secret", &child.name)(source)),
        }
    }
    Ok(())
}

/// Applies `child` by server-side apply; returns the object the API server stored.
pub(crate) async fn apply_child(client: &Client, namespace: &str, child: &Child) -> Result<Value> {
    let resource = child.kind.api_resource();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let applied = api
        .patch(
            &child.name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&child.object),
        )
        .await
        .map_err(kube_error(Verb::Apply, &resource.kind, &child.name))?;
    serde_json::to_value(applied).map_err(Error::Serialize)
}

/// The object `child` names as it exists, if it does.
async fn get_child(client: &Client, namespace: &str, child: &Child) -> Result<Option<Value>> {
    let resource = child.kind.api_resource();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let found = api.get_opt(&child.name).await.map_err(kube_error(
        Verb::Get,
        &resource.kind,
        &child.name,
    ))?;
    found
        .map(|object| serde_json::to_value(object).map_err(Error::Serialize))
        .transpose()
}

/// The Job `child` as it exists, created from `child` when it does not.
///
/// An existing Job is never applied again: its pod template cannot change (the API server
/// refuses that with 422), and one that ran must stay as it ran. A spec change reaches a Job
/// through a new one (another version's migration), or once someone deletes it to retry.
pub(crate) async fn ensure_job(client: &Client, namespace: &str, child: &Child) -> Result<Value> {
    match get_child(client, namespace, child).await? {
        Some(job) => Ok(job),
        None => apply_child(client, namespace, child).await,
    }
}

/// Compares the builtin database's volume with `database.storage` and grows its claim when
/// the spec asks for more. The StatefulSet's claim template keeps the size it was created
/// with, since the API server refuses changes to it.
async fn database_storage(
    coop: &Cooperative,
    client: &Client,
    namespace: &str,
) -> Result<StorageState> {
    let name = children::database_claim_name(&coop.name_any());
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let Some(claim) =
        api.get_opt(&name)
            .await
            .map_err(kube_error(Verb::Get, "PersistentVolumeClaim", &name))?
    else {
        return Ok(StorageState::AsRequested);
    };
    let claim = serde_json::to_value(claim).map_err(Error::Serialize)?;
    let (from, to) = match children::claim_plan(coop, &claim) {
        ClaimPlan::Observe(state) => return Ok(state),
        ClaimPlan::Grow { from, to } => (from, to),
    };
    let patch = json!({"spec": {"resources": {"requests": {"storage": to}}}});
    match api
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {
            info!(
                namespace,
                claim = name,
                from,
                to,
                "database volume asked to grow"
            );
            Ok(StorageState::Expanding {
                claim: name,
                from,
                to,
            })
        }
        // Refused by validation or by the resize admission plugin (a StorageClass without
        // allowVolumeExpansion): a person must act, so it is a condition, not an error.
        Err(kube::Error::Api(status)) if status.code == 403 || status.code == 422 => {
            Ok(StorageState::NotExpandable {
                claim: name,
                current: from,
                requested: to,
                refusal: status.message,
            })
        }
        Err(source) => Err(kube_error(Verb::Patch, "PersistentVolumeClaim", &name)(
            source,
        )),
    }
}

/// Applies `policy` to the objects matching `selector`: Retain removes their owner
/// references so garbage collection keeps them, Delete deletes them. Returns them as
/// `"<kind> <name>"`.
async fn dispose<K>(
    api: &Api<K>,
    kind: &str,
    selector: &str,
    policy: DeletionPolicy,
) -> Result<Vec<String>>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let objects = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(kube_error(Verb::List, kind, ""))?;
    let mut names = Vec::new();
    for object in objects {
        let name = object.meta().name.clone().unwrap_or_default();
        match policy {
            DeletionPolicy::Retain => {
                if !object.owner_references().is_empty() {
                    let patch = json!({"metadata": {"ownerReferences": null}});
                    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                        .map_err(kube_error(Verb::Patch, kind, &name))?;
                }
            }
            DeletionPolicy::Delete => match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(source) => return Err(kube_error(Verb::Delete, kind, &name)(source)),
            },
        }
        names.push(format!("{kind} {name}"));
    }
    Ok(names)
}

fn database_failed(reason: &'static str, message: String) -> DatabaseState {
    DatabaseState {
        ready: false,
        failed: true,
        reason,
        message,
    }
}

/// Where the external database is, from the URL in its Secret; or the state saying what is
/// wrong with the Secret.
async fn external_database_address(
    coop: &Cooperative,
    ctx: &Context,
    namespace: &str,
) -> Result<Result<DatabaseAddress, DatabaseState>> {
    let failed = |reason, message| Ok(Err(database_failed(reason, message)));
    let Some(external) = &coop.spec.database.external else {
        return failed(
            "ExternalSecretMissing",
            "database mode external needs spec.database.external.secretRef".to_owned(),
        );
    };
    let reference = &external.secret_ref;
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let secret = api.get_opt(&reference.name).await.map_err(kube_error(
        Verb::Get,
        "Secret",
        &reference.name,
    ))?;
    let url = secret
        .and_then(|s| s.data)
        .and_then(|data| data.get(&reference.key).cloned())
        .and_then(|bytes| String::from_utf8(bytes.0).ok());
    let Some(url) = url else {
        return failed(
            "ExternalSecretMissing",
            format!(
                "Secret {} has no key {}; create it with the database's postgres:// URL",
                reference.name, reference.key
            ),
        );
    };
    let Some((host, port)) = database_address(&url) else {
        return failed(
            "ExternalUrlInvalid",
            format!(
                "Secret {} key {} is not a postgres:// URL with a host",
                reference.name, reference.key
            ),
        );
    };
    Ok(Ok(DatabaseAddress { host, port }))
}

/// Whether the external database at `address` accepts connections.
async fn external_database_state(address: &DatabaseAddress) -> DatabaseState {
    let DatabaseAddress { host, port } = address;
    let failed = database_failed;
    let connected =
        tokio::time::timeout(PROBE_TIMEOUT, TcpStream::connect((host.as_str(), *port))).await;
    match connected {
        Ok(Ok(_)) => DatabaseState {
            ready: true,
            failed: false,
            reason: "ExternalReachable",
            message: format!("the external database at {host}:{port} accepts connections"),
        },
        Ok(Err(err)) => failed(
            "ExternalUnreachable",
            format!(
                "cannot connect to the external database at {host}:{port}: {err}; check the URL and network access"
            ),
        ),
        Err(_) => failed(
            "ExternalUnreachable",
            format!(
                "no answer from the external database at {host}:{port} within {} s",
                PROBE_TIMEOUT.as_secs()
            ),
        ),
    }
}

/// Host and port of a `postgres://` or `postgresql://` URL (port 5432 when absent).
pub fn database_address(url: &str) -> Option<(String, u16)> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let (host, port) = match host_port.strip_prefix('[') {
        Some(bracketed) => {
            let (host, after) = bracketed.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some(port) => port.parse().ok()?,
        None => 5432,
    };
    Some((host.to_owned(), port))
}

fn deployed_version(deployment: &Deployment) -> Option<String> {
    deployment
        .spec
        .as_ref()?
        .template
        .metadata
        .as_ref()?
        .labels
        .as_ref()?
        .get(VERSION_LABEL)
        .cloned()
}

fn deployment_state(deployment: &Deployment) -> DeploymentState {
    let status = deployment.status.clone().unwrap_or_default();
    let replicas = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    DeploymentState {
        version: deployed_version(deployment).unwrap_or_default(),
        replicas,
        ready: status.ready_replicas.unwrap_or(0),
        updated: status.updated_replicas.unwrap_or(0),
        observed: status
            .observed_generation
            .is_some_and(|g| Some(g) >= deployment.metadata.generation),
    }
}

fn stateful_set_state(set: StatefulSet) -> DatabaseState {
    let ready = set.status.and_then(|s| s.ready_replicas).unwrap_or(0) >= 1;
    DatabaseState {
        ready,
        failed: false,
        reason: if ready { "PodsReady" } else { "PodsNotReady" },
        message: if ready {
            "the database pod is ready".to_owned()
        } else {
            "the database pod is not ready yet".to_owned()
        },
    }
}

fn cnpg_state(cluster: &Value) -> DatabaseState {
    let wanted = cluster["spec"]["instances"].as_i64().unwrap_or(1);
    let ready = cluster["status"]["readyInstances"].as_i64().unwrap_or(0) >= wanted;
    let phase = cluster["status"]["phase"].as_str().unwrap_or("unknown");
    DatabaseState {
        ready,
        failed: false,
        reason: if ready {
            "ClusterReady"
        } else {
            "ClusterNotReady"
        },
        message: format!("CloudNativePG cluster phase: {phase}"),
    }
}

fn job_state(job: &Job) -> JobState {
    let Some(status) = &job.status else {
        return JobState::Running;
    };
    let condition = |type_: &str| {
        status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == type_ && c.status == "True")
    };
    if condition("Complete").is_some() || status.succeeded.unwrap_or(0) > 0 {
        JobState::Complete
    } else if let Some(failed) = condition("Failed") {
        let reason = failed.reason.clone().unwrap_or_else(|| "Failed".to_owned());
        JobState::Failed(match &failed.message {
            Some(message) => format!("{reason}: {message}"),
            None => reason,
        })
    } else {
        JobState::Running
    }
}

fn parse<K: DeserializeOwned>(value: Value) -> Result<K> {
    serde_json::from_value(value).map_err(Error::Serialize)
}

fn scoped_api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    <K as Resource>::DynamicType: Default,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

pub(crate) fn kube_error<'a>(
    verb: Verb,
    kind: &'a str,
    name: &'a str,
) -> impl FnOnce(kube::Error) -> Error + 'a {
    move |source| Error::Kube {
        verb,
        kind: kind.to_owned(),
        name: name.to_owned(),
        source: Box::new(source),
    }
}

/// The current time at whole seconds, as the API server stores it.
pub(crate) fn now() -> Time {
    let now = Timestamp::now();
    Time(Timestamp::from_second(now.as_second()).unwrap_or(now))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Namespace;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use kube::runtime::events::Reporter;
    use mono_fake_kube::FakeKube;

    use super::*;
    use crate::fixtures::{
        CooperativeFixture, Scenario, mock_context, test_config, test_cooperative, within_1s,
    };

    /// Runs one reconcile against the mock API server playing `scenario`; both must finish
    /// within the timeout.
    async fn reconcile_against(coop: Cooperative, scenario: Scenario) -> Action {
        let (ctx, verifier) = mock_context();
        let server = verifier.run(scenario);
        let action = tokio::time::timeout(Duration::from_secs(1), reconcile(Arc::new(coop), ctx))
            .await
            .expect("reconcile finished within 1 s")
            .expect("reconcile succeeded");
        within_1s(server).await;
        action
    }

    #[tokio::test]
    async fn new_cooperative_gets_the_finalizer_first() {
        let coop = test_cooperative();
        let action = reconcile_against(coop.clone(), Scenario::FinalizerAdded(coop)).await;
        assert_eq!(action, Action::await_change());
    }

    #[tokio::test]
    async fn first_reconcile_creates_secrets_applies_children_and_status() {
        let coop = test_cooperative().finalized();
        let action = reconcile_against(coop.clone(), Scenario::FirstReconcile(coop)).await;
        assert_eq!(action, Action::requeue(PROGRESS_REQUEUE));
    }

    #[tokio::test]
    async fn ready_database_starts_the_migration_before_any_deployment() {
        let coop = test_cooperative().finalized();
        let action =
            reconcile_against(coop.clone(), Scenario::MigrationBeforeDeployment(coop)).await;
        assert_eq!(action, Action::requeue(PROGRESS_REQUEUE));
    }

    /// Runs one reconcile that must fail against the mock API server playing `scenario`;
    /// returns the error.
    async fn failing_reconcile_against(coop: Cooperative, scenario: Scenario) -> Error {
        let (ctx, verifier) = mock_context();
        let server = verifier.run(scenario);
        let err = tokio::time::timeout(Duration::from_secs(1), reconcile(Arc::new(coop), ctx))
            .await
            .expect("reconcile finished within 1 s")
            .expect_err("reconcile failed");
        within_1s(server).await;
        err
    }

    #[tokio::test]
    async fn refused_child_does_not_stop_the_others_and_is_in_status() {
        let coop = test_cooperative().finalized();
        let err = failing_reconcile_against(coop.clone(), Scenario::PartialApply(coop)).await;
        assert_eq!(err.metric_label(), "children_not_applied");
        assert!(err.in_status());
    }

    #[tokio::test]
    async fn failed_reconcile_is_in_status() {
        let coop = test_cooperative().finalized();
        let err = failing_reconcile_against(coop.clone(), Scenario::SecretReadFails(coop)).await;
        assert_eq!(err.reason(), "GetFailed");
        assert!(!err.in_status());
    }

    #[tokio::test]
    async fn retain_deletion_releases_data_then_the_finalizer() {
        let coop = test_cooperative().finalized().deleting();
        let action = reconcile_against(coop.clone(), Scenario::RetainDeletion(coop)).await;
        assert_eq!(action, Action::await_change());
    }

    #[test]
    fn error_chain_lists_each_cause_once() {
        let apply = Error::Kube {
            verb: Verb::Apply,
            kind: "Deployment".to_owned(),
            name: "voskhod".to_owned(),
            source: Box::new(kube::Error::LinesCodecMaxLineLengthExceeded),
        };
        // The finalizer error prints its cause itself; it must not appear twice.
        let finalizer = Error::Finalizer(Box::new(kube::runtime::finalizer::Error::AddFinalizer(
            kube::Error::LinesCodecMaxLineLengthExceeded,
        )));
        let cases = [
            (
                apply,
                "apply Deployment voskhod: Error finding newline character",
            ),
            (
                finalizer,
                "finalizer: failed to add finalizer: Error finding newline character",
            ),
        ];
        for (err, expected) in cases {
            assert_eq!(error_chain(&err), expected);
        }
    }

    /// A Secret of the Cooperative with `value` (base64) under the key `value`.
    fn secret(name: &str, value: &str) -> Secret {
        serde_json::from_value(json!({
            "metadata": {
                "name": name,
                "namespace": "coop-voskhod",
                "labels": {
                    "app.kubernetes.io/instance": "voskhod",
                    "app.kubernetes.io/managed-by": MANAGER,
                },
                "ownerReferences": [{
                    "apiVersion": "mono.coopenomics.io/v1alpha1",
                    "kind": "Cooperative",
                    "name": "voskhod",
                    "uid": "5f0c2a8e-1b7d-4c3e-9a61-2d4f8e9b0c11",
                    "controller": true,
                }],
            },
            "data": {"value": value},
        }))
        .unwrap()
    }

    fn secret_value(fake: &FakeKube, name: &str) -> Option<Value> {
        fake.get::<Secret>(Some("coop-voskhod"), name)
            .map(|s| json!(s.data.unwrap_or_default().get("value").map(|v| v.0.clone())))
    }

    fn condition_reason(coop: &Cooperative, type_: &str) -> Option<String> {
        let status = coop.status.as_ref()?;
        let condition = status.conditions.iter().find(|c| c.type_ == type_)?;
        Some(condition.reason.clone())
    }

    #[tokio::test]
    async fn second_cooperative_in_a_namespace_is_refused() {
        let fake = FakeKube::start().await.unwrap();
        let client = fake.client().unwrap();
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for crd in mono_crds::crds() {
            crds.create(&PostParams::default(), &crd).await.unwrap();
        }
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let namespace: Namespace =
            serde_json::from_value(json!({"metadata": {"name": "coop-voskhod"}})).unwrap();
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap();
        let coops: Api<Cooperative> = Api::namespaced(client.clone(), "coop-voskhod");
        for name in ["voskhod", "zarya"] {
            let mut coop = test_cooperative();
            coop.metadata = ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some("coop-voskhod".to_owned()),
                ..ObjectMeta::default()
            };
            coops.create(&PostParams::default(), &coop).await.unwrap();
        }

        let (stop, stopped) = tokio::sync::watch::channel(false);
        let config = ControllerConfig {
            children: test_config(),
            watch_namespace: None,
            probe_instances: false,
            probe_interval: Duration::from_secs(30),
            guardrails: Guardrails::default(),
            max_concurrent_upgrades: 0,
            status_address: DEFAULT_STATUS_ADDRESS.to_owned(),
            concurrency: 4,
        };
        let reporter = Reporter {
            controller: MANAGER.to_owned(),
            instance: None,
        };
        let controller = tokio::spawn(run(
            client.clone(),
            config,
            Recorder::new(client.clone(), reporter),
            Arc::new(Metrics::new()),
            async move {
                let mut stopped = stopped;
                let _ = stopped.wait_for(|stop| *stop).await;
            },
        ));
        let refused = fake
            .wait_for(Duration::from_secs(30), |fake| {
                fake.get::<Cooperative>(Some("coop-voskhod"), "zarya")
                    .filter(|c| {
                        condition_reason(c, "Ready").as_deref() == Some("DuplicateCooperative")
                    })
            })
            .await;
        let served = fake
            .wait_for(Duration::from_secs(30), |fake| {
                fake.get::<Cooperative>(Some("coop-voskhod"), "voskhod")
                    .filter(|c| c.status.as_ref().is_some_and(|s| s.phase.is_some()))
            })
            .await;
        stop.send_replace(true);
        controller.await.unwrap();

        let refused = refused.expect("zarya is reported as a duplicate");
        assert_eq!(
            refused.status.unwrap().phase,
            Some(mono_crds::Phase::Failed)
        );
        assert!(refused.metadata.finalizers.unwrap_or_default().is_empty());
        let served = served.expect("voskhod is reconciled");
        assert_eq!(served.metadata.finalizers, Some(vec![FINALIZER.to_owned()]));
        assert_ne!(
            condition_reason(&served, "Ready").as_deref(),
            Some("DuplicateCooperative")
        );
    }

    #[tokio::test]
    async fn existing_secrets_are_never_rewritten() {
        let fake = FakeKube::start().await.unwrap();
        let client = fake.client().unwrap();
        let secrets: Api<Secret> = Api::namespaced(client.clone(), "coop-voskhod");
        secrets
            .create(&PostParams::default(), &secret("voskhod-jwt", "a2VwdA=="))
            .await
            .unwrap();
        let before = secret_value(&fake, "voskhod-jwt");
        assert_eq!(before, Some(json!(b"kept")));
        let coop = test_cooperative();
        ensure_secrets(&client, &coop, "coop-voskhod")
            .await
            .unwrap();
        assert_eq!(secret_value(&fake, "voskhod-jwt"), before);
        let created = fake
            .get::<Secret>(Some("coop-voskhod"), "voskhod-service")
            .unwrap();
        let token = match (created.data, created.string_data) {
            (Some(data), _) if data.contains_key("token") => data["token"].0.clone(),
            (_, Some(string_data)) => string_data["token"].clone().into_bytes(),
            _ => Vec::new(),
        };
        assert_eq!(token.len(), 43);
        assert!(
            fake.get::<Secret>(Some("coop-voskhod"), "voskhod-db")
                .is_some()
        );
        // A second pass finds everything and changes nothing.
        let version = fake.resource_version();
        ensure_secrets(&client, &coop, "coop-voskhod")
            .await
            .unwrap();
        assert_eq!(fake.resource_version(), version);
    }

    #[tokio::test]
    async fn deletion_policies_release_or_remove_data() {
        let fake = FakeKube::start().await.unwrap();
        let client = fake.client().unwrap();
        let secrets: Api<Secret> = Api::namespaced(client.clone(), "coop-voskhod");
        for name in ["voskhod-db", "voskhod-jwt"] {
            secrets
                .create(&PostParams::default(), &secret(name, "eA=="))
                .await
                .unwrap();
        }
        let selector = children::selector("voskhod");
        let kept = dispose(&secrets, "Secret", &selector, DeletionPolicy::Retain)
            .await
            .unwrap();
        assert_eq!(kept, ["Secret voskhod-db", "Secret voskhod-jwt"]);
        for name in ["voskhod-db", "voskhod-jwt"] {
            let secret = fake.get::<Secret>(Some("coop-voskhod"), name).unwrap();
            assert!(secret.owner_references().is_empty(), "{name}");
        }
        let deleted = dispose(&secrets, "Secret", &selector, DeletionPolicy::Delete)
            .await
            .unwrap();
        assert_eq!(deleted, ["Secret voskhod-db", "Secret voskhod-jwt"]);
        assert!(fake.list::<Secret>(Some("coop-voskhod")).is_empty());
    }

    #[test]
    fn deployment_moves_only_after_its_migration() {
        let running = JobState::Running;
        let complete = JobState::Complete;
        let failed = JobState::Failed("BackoffLimitExceeded".to_owned());
        let gate = |deployed, import, migration| Gate {
            target: "2.5.0",
            deployed,
            import,
            migration,
        };
        let cases = [
            // First start: only after the target's migration completed.
            (gate(None, None, None), None),
            (gate(None, None, Some(&running)), None),
            (gate(None, None, Some(&failed)), None),
            (gate(None, None, Some(&complete)), Some("2.5.0")),
            // First start from an export: after the import and then the migration.
            (gate(None, Some(None), None), None),
            (gate(None, Some(Some(&running)), None), None),
            (gate(None, Some(Some(&failed)), None), None),
            (gate(None, Some(Some(&complete)), None), None),
            (gate(None, Some(Some(&complete)), Some(&running)), None),
            (
                gate(None, Some(Some(&complete)), Some(&complete)),
                Some("2.5.0"),
            ),
            // Steady state.
            (gate(Some("2.5.0"), None, None), Some("2.5.0")),
            // Upgrade: the old version serves until the migration completed.
            (gate(Some("2.4.1"), None, None), Some("2.4.1")),
            (gate(Some("2.4.1"), None, Some(&running)), Some("2.4.1")),
            (gate(Some("2.4.1"), None, Some(&failed)), Some("2.4.1")),
            (gate(Some("2.4.1"), None, Some(&complete)), Some("2.5.0")),
            // An existing Deployment is never removed for an unfinished import.
            (
                gate(Some("2.4.1"), Some(Some(&running)), Some(&complete)),
                Some("2.5.0"),
            ),
        ];
        for (gate, expected) in cases {
            assert_eq!(instance_version(&gate).as_deref(), expected, "{gate:?}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let cases = [(1, 5), (2, 10), (3, 20), (6, 160), (7, 300), (100, 300)];
        for (attempts, seconds) in cases {
            assert_eq!(
                backoff(attempts),
                Duration::from_secs(seconds),
                "attempt {attempts}"
            );
        }
    }

    #[test]
    fn database_addresses() {
        let cases = [
            (
                "postgres://mono:pw@db.example.org:6432/mono",
                Some(("db.example.org", 6432)),
            ),
            (
                "postgresql://db.example.org/mono?sslmode=require",
                Some(("db.example.org", 5432)),
            ),
            (
                "postgres://u:p@[2001:db8::1]:5433/x",
                Some(("2001:db8::1", 5433)),
            ),
            ("postgres://u:p@/x", None),
            ("mysql://db/x", None),
            ("postgres://db:port/x", None),
        ];
        for (url, expected) in cases {
            assert_eq!(
                database_address(url),
                expected.map(|(h, p)| (h.to_owned(), p)),
                "{url}"
            );
        }
    }

    #[test]
    fn job_states() {
        let job =
            |status: Value| -> Job { serde_json::from_value(json!({"status": status})).unwrap() };
        let cases = [
            (json!({}), JobState::Running),
            (json!({"active": 1}), JobState::Running),
            (
                json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}),
                JobState::Complete,
            ),
            (
                json!({"failed": 3, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}),
                JobState::Failed(
                    "BackoffLimitExceeded: Job has reached the specified backoff limit".to_owned(),
                ),
            ),
        ];
        for (status, expected) in cases {
            assert_eq!(job_state(&job(status.clone())), expected, "{status}");
        }
    }
}
