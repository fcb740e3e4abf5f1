//! A simulated kubelet and workload controllers: status writes that make Deployments and
//! StatefulSets ready and finish Jobs, either one object at a time or continuously through a
//! [`Kubelet`] task driven by store changes.
//!
//! It schedules nothing and runs no containers; it only writes the status a healthy cluster
//! would report, so operators under test can converge.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::select::Selector;
use crate::store::{EventType, PatchKind, Store, Target};

/// Upper bound on the rounds of one kubelet task; each round follows one change or wake-up.
const MAX_ROUNDS: u64 = 100_000_000;

/// What the simulated job controller does with a Job that has not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Mark it complete (the default).
    Complete,
    /// Mark it failed with this message.
    Fail(String),
    /// Leave it running.
    Hold,
}

/// A background task playing the kubelet for every namespace: Deployments and StatefulSets
/// become ready at their current generation, Jobs finish as their [`JobOutcome`] says.
/// Stops when dropped.
pub struct Kubelet {
    policy: Arc<Mutex<Policy>>,
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

#[derive(Debug, Clone)]
struct Policy {
    running: bool,
    default_job: JobOutcome,
    jobs: HashMap<String, JobOutcome>,
}

impl Kubelet {
    pub(crate) fn start(store: Arc<Store>) -> Self {
        let policy = Arc::new(Mutex::new(Policy {
            running: true,
            default_job: JobOutcome::Complete,
            jobs: HashMap::new(),
        }));
        let wake = Arc::new(Notify::new());
        let task = tokio::spawn(run(store, policy.clone(), wake.clone()));
        Self { policy, wake, task }
    }

    /// Sets what happens to the Job of this name from now on.
    pub fn set_job_outcome(&self, job_name: &str, outcome: JobOutcome) {
        self.update(|policy| {
            policy.jobs.insert(job_name.to_owned(), outcome);
        });
    }

    /// Sets what happens from now on to Jobs without an outcome of their own.
    pub fn set_default_job_outcome(&self, outcome: JobOutcome) {
        self.update(|policy| policy.default_job = outcome);
    }

    /// Stops writing status until [`Self::resume`]; pods "stop starting".
    pub fn pause(&self) {
        self.update(|policy| policy.running = false);
    }

    /// Writes status again, catching up on everything that changed meanwhile.
    pub fn resume(&self) {
        self.update(|policy| policy.running = true);
    }

    fn update(&self, change: impl FnOnce(&mut Policy)) {
        change(&mut self.policy.lock().unwrap_or_else(PoisonError::into_inner));
        self.wake.notify_one();
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(store: Arc<Store>, policy: Arc<Mutex<Policy>>, wake: Arc<Notify>) {
    let mut changes = store.subscribe_changes();
    let mut scan_all = true;
    for _ in 0..MAX_ROUNDS {
        let policy = policy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if policy.running && scan_all {
            let all = Selector::default();
            for (group, plural) in [
                ("apps", "deployments"),
                ("apps", "statefulsets"),
                ("batch", "jobs"),
            ] {
                if let Some(rt) = store.type_of(group, plural) {
                    for object in store.list(&rt, None, &all).0 {
                        play(&store, &policy, plural, &object);
                    }
                }
            }
            scan_all = false;
        }
        tokio::select! {
            received = changes.recv() => match received {
                Ok(change) if policy.running && change.event != EventType::Deleted => {
                    play(&store, &policy, &change.plural, &change.object);
                }
                Ok(_) => {}
                // Missed changes, or a paused kubelet resuming: look at everything again.
                Err(RecvError::Lagged(_)) => scan_all = true,
                Err(RecvError::Closed) => return,
            },
            () = wake.notified() => scan_all = true,
        }
    }
}

/// Brings one workload forward if it needs it. Objects may vanish between the change and the
/// write; such `NotFound`s are expected races, so write errors are dropped.
fn play(store: &Store, policy: &Policy, plural: &str, object: &Value) {
    let (namespace, name) = namespace_and_name(object);
    match plural {
        "deployments" if !workload_ready(object) => {
            let _ = mark_deployment_ready(store, namespace, name);
        }
        "statefulsets" if !workload_ready(object) => {
            let _ = mark_statefulset_ready(store, namespace, name);
        }
        "jobs" => {
            let finished = object["status"]["conditions"]
                .as_array()
                .is_some_and(|conditions| {
                    conditions
                        .iter()
                        .any(|c| c["type"] == "Complete" || c["type"] == "Failed")
                });
            if finished {
                return;
            }
            let _ = match policy.jobs.get(name).unwrap_or(&policy.default_job) {
                JobOutcome::Complete => mark_job_complete(store, namespace, name),
                JobOutcome::Fail(message) => mark_job_failed(store, namespace, name, message),
                JobOutcome::Hold => Ok(()),
            };
        }
        _ => {}
    }
}

fn namespace_and_name(object: &Value) -> (&str, &str) {
    (
        object["metadata"]["namespace"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default(),
    )
}

fn workload_ready(object: &Value) -> bool {
    let replicas = object["spec"]["replicas"].as_u64().unwrap_or(1);
    let status = &object["status"];
    status["observedGeneration"] == object["metadata"]["generation"]
        && status["readyReplicas"].as_u64().unwrap_or(0) == replicas
        && status["updatedReplicas"].as_u64().unwrap_or(0) == replicas
}

/// Plays the kubelet for a Deployment: every desired replica is updated, ready and
/// available at the current generation.
///
/// # Errors
/// [`Error::NotFound`] when the Deployment does not exist.
pub(crate) fn mark_deployment_ready(store: &Store, namespace: &str, name: &str) -> Result<()> {
    write_status(store, "apps", "deployments", namespace, name, |object| {
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
pub(crate) fn mark_statefulset_ready(store: &Store, namespace: &str, name: &str) -> Result<()> {
    create_claims(store, namespace, name)?;
    write_status(store, "apps", "statefulsets", namespace, name, |object| {
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
pub(crate) fn mark_job_complete(store: &Store, namespace: &str, name: &str) -> Result<()> {
    write_status(store, "batch", "jobs", namespace, name, |object| {
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
pub(crate) fn mark_job_failed(
    store: &Store,
    namespace: &str,
    name: &str,
    message: &str,
) -> Result<()> {
    write_status(store, "batch", "jobs", namespace, name, |object| {
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

fn create_claims(store: &Store, namespace: &str, name: &str) -> Result<()> {
    let sets = store
        .type_of("apps", "statefulsets")
        .ok_or_else(|| Error::NotFound {
            what: "statefulsets.apps".into(),
        })?;
    let claims = store
        .type_of("", "persistentvolumeclaims")
        .ok_or_else(|| Error::NotFound {
            what: "persistentvolumeclaims".into(),
        })?;
    let set = store.get(&sets, Some(namespace), name)?;
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
            match store.create(&claims, Some(namespace), claim) {
                Ok(_) | Err(Error::AlreadyExists { .. }) => {}
                Err(other) => return Err(other),
            }
        }
    }
    Ok(())
}

fn write_status(
    store: &Store,
    group: &str,
    plural: &str,
    namespace: &str,
    name: &str,
    status: impl FnOnce(&Value) -> Value,
) -> Result<()> {
    let rt = store
        .type_of(group, plural)
        .ok_or_else(|| Error::NotFound {
            what: format!("{plural}.{group}"),
        })?;
    let object = store.get(&rt, Some(namespace), name)?;
    let patch = json!({"status": status(&object)});
    store.patch(
        &rt,
        Some(namespace),
        name,
        &PatchKind::Merge,
        &patch,
        Target::Status,
    )?;
    Ok(())
}
