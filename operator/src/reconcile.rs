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

mod api;
mod cleanup;
mod context;
mod database;
mod export_volume;
mod generated;
mod rollout;
mod status_write;

pub(crate) use api::{apply_child, ensure_job, kube_error, now};
pub use context::{Context, ControllerConfig, DEFAULT_STATUS_ADDRESS};
pub use database::database_address;
pub use rollout::{Gate, instance_version};
pub(crate) use status_write::{apply_status, write_status};

use api::{get_child, lock, parse, scoped_api};
use cleanup::cleanup;
use database::{
    cnpg_state, database_storage, external_database_address, external_database_state,
    stateful_set_state,
};
use generated::ensure_secrets;
use rollout::{deployed_version, deployment_state, job_state};
use status_write::{pause, publish_status, report_duplicate, report_failure};

use std::future::Future;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures::future::Either;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::events::Recorder;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{PredicateConfig, WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use mono_crds::{Cooperative, DatabaseMode, validate_coopname};
use tracing::{debug, instrument, warn};

use crate::children::{self, ChildKind, MANAGER, Rollout};
use crate::guardrails::Guardrails;
use crate::metrics::Metrics;
use crate::probe::{self, PROBE_TIMEOUT, Probed, probe_instance};
use crate::status::{self, DatabaseState, JobState, Observed, StorageState};
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
    // Namespaces are watched for their allowlist annotations: a change reconciles the
    // Cooperatives in the namespace, and reconciles read them without a request.
    let (namespaces, namespace_writer) = reflector::store();
    let namespace_watch = match config.watch_namespace.as_deref() {
        Some(namespace) => watcher::Config::default().fields(&format!("metadata.name={namespace}")),
        None => watcher::Config::default(),
    };
    let namespace_changes = watcher(Api::<Namespace>::all(client.clone()), namespace_watch)
        .default_backoff()
        .reflect(namespace_writer)
        .applied_objects()
        .predicate_filter(namespace_trigger, PredicateConfig::default());
    let ctx = Arc::new(Context::new(
        client.clone(),
        config.clone(),
        recorder,
        metrics,
        store.clone(),
        namespaces,
    ));
    let in_namespace = store.clone();
    // Cooperatives refused for a conflict are reconciled again when the winner goes.
    let retriggers = lock(&ctx.retriggers)
        .take()
        .map(StreamExt::boxed)
        .unwrap_or_else(|| futures::stream::empty().boxed());
    let controller = Controller::for_stream(triggers, store)
        .reconcile_on(retriggers)
        .watches_stream(namespace_changes, move |namespace: Namespace| {
            let name = namespace.name_any();
            in_namespace
                .state()
                .into_iter()
                .filter(|coop| coop.namespace().as_deref() == Some(name.as_str()))
                .map(|coop| ObjectRef::from_obj(&*coop))
                .collect::<Vec<_>>()
        });
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

/// What makes a Namespace worth reconciling its Cooperatives for: the annotations staff
/// narrow the allowlists with.
pub fn namespace_trigger(namespace: &Namespace) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    namespace.annotations().hash(&mut hasher);
    Some(hasher.finish())
}

/// What staff allow in `namespace`, from its annotations (see [`Guardrails::from_annotations`]):
/// as the namespace watch last saw them, or read when it has not seen the namespace yet (a
/// Cooperative's watch event can come before its new namespace's).
async fn namespace_guardrails(ctx: &Context, namespace: &str) -> Result<Guardrails> {
    if let Some(seen) = ctx.namespaces.get(&ObjectRef::new(namespace)) {
        return Ok(Guardrails::from_annotations(seen.annotations()));
    }
    let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
    let found = namespaces.get_opt(namespace).await.map_err(kube_error(
        Verb::Get,
        "Namespace",
        namespace,
    ))?;
    Ok(found.map_or_else(Guardrails::default, |ns| {
        Guardrails::from_annotations(ns.annotations())
    }))
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
            export_claim_missing: None,
            migration: None,
            deployment: None,
            instance: Err("the spec is invalid".to_owned()),
            suspended: coop.spec.suspend,
            target_version: target,
            failures: Vec::new(),
            upgrade_queued: false,
            postgres_major_refused: None,
            postgres_queued: None,
        };
        ctx.probes.forget(&format!("{namespace}/{name}")).await;
        publish_status(api, coop, ctx, None, &observed).await?;
        return Ok(Action::await_change());
    }
    let running = coop.status.as_ref().and_then(|s| s.version.as_deref());
    let mut refusals = ctx.config.guardrails.refusals(coop, running);
    let narrowed = namespace_guardrails(ctx, &namespace).await?;
    refusals.extend(
        narrowed
            .refusals(coop, None)
            .into_iter()
            .map(|refusal| format!("{refusal} (namespace {namespace})")),
    );
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
    let mut postgres_major_refused = None;
    let key = format!("{namespace}/{name}");
    // A new PostgreSQL image restarts the database: an upgrade like a new version, which
    // waits for one of the fleet's upgrade slots.
    let mut postgres_rolling = false;
    let mut postgres_queued = None;
    for mut child in children::desired(coop, &ctx.config.children, &infrastructure)? {
        if child.kind == ChildKind::StatefulSet
            && let Some(live) = get_child(&ctx.client, &namespace, &child).await?
        {
            children::keep_created(&mut child, &live);
            postgres_major_refused = children::keep_postgres_major(&mut child, &live);
            if let Some(change) = children::postgres_image_change(&child, &live) {
                if ctx.upgrades.acquire(&key, false) {
                    postgres_rolling = true;
                } else {
                    children::keep_postgres_image(&mut child, &live);
                    postgres_queued = Some(change);
                }
            }
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
    // Until the import completed it needs its volume; a claim deleted afterwards is no matter.
    let export_claim_missing = match &coop.spec.bootstrap {
        Some(bootstrap) if import && import_state != Some(JobState::Complete) => {
            export_volume::missing_claim(&ctx.client, &namespace, &bootstrap.from_export.claim_name)
                .await?
        }
        _ => None,
    };

    // Every rollout, the first included, waits for the target version's migration Job. It
    // starts once the database accepts connections and a bootstrap import has completed.
    let mut migration_version =
        (deployed_version.as_deref() != Some(target.as_str())).then(|| target.clone());
    // The slot of a new PostgreSQL image is held until the database is ready on it.
    let postgres_settling =
        postgres_rolling || (database_set_existed && !database.ready && ctx.upgrades.holds(&key));
    // An upgrade (not the first rollout) waits for one of the fleet's upgrade slots.
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
        _ if postgres_settling || postgres_queued.is_some() => {}
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
        export_claim_missing,
        migration: migration_version.zip(migration_state),
        deployment,
        instance,
        suspended: coop.spec.suspend,
        target_version: target,
        failures,
        upgrade_queued,
        postgres_queued,
        postgres_major_refused,
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

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::PostParams;
    use mono_crds::DeletionPolicy;
    use serde_json::{Value, json};

    use super::cleanup::dispose;
    use crate::guardrails::Guardrails;
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
        fake.create_namespace("coop-voskhod").unwrap();
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
        fake.create_namespace("coop-voskhod").unwrap();
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
