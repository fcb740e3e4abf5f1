//! A simulated kubelet and workload controllers: status writes that make Deployments and
//! StatefulSets ready and finish Jobs, either one object at a time or continuously through a
//! [`Kubelet`] task driven by store changes.
//!
//! It schedules nothing and runs no real containers. Workloads only get the status a healthy
//! cluster would report, so operators under test can converge. A Job whose outcome is
//! [`JobOutcome::Run`] gets pods as the job controller makes them, each running the test's
//! [`Program`] the way the kubelet runs a container (see [`crate::container`]): its log is
//! served by `pods/<name>/log`, and its pod status carries the exit code and the termination
//! message.
//!
//! A Job whose pod mounts a PersistentVolumeClaim that does not exist goes no further than the
//! scheduler lets it: its pod stays `Pending` (`PodScheduled=False`, `Unschedulable`) and the
//! Job active, whatever its outcome, until the claim is created.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use crate::container::{Container, Program};
use crate::error::{Error, Result};
use crate::node::Node;
use crate::select::Selector;
use crate::store::{EventType, PatchKind, Store, Target};

/// Upper bound on the rounds of one kubelet task; each round follows one change or wake-up.
const MAX_ROUNDS: u64 = 100_000_000;

/// Retries of a Job's pod when `spec.backoffLimit` is absent (the API server's default).
const DEFAULT_BACKOFF_LIMIT: u64 = 6;

/// What the simulated job controller does with a Job that has not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Mark it complete (the default), without pods.
    Complete,
    /// Mark it failed with this message, without pods.
    Fail(String),
    /// Leave it running.
    Hold,
    /// Run its pods with this program standing in for the first container's image: one pod
    /// after another until one exits with 0 (the Job completes) or `backoffLimit` retries
    /// failed too (the Job fails with `BackoffLimitExceeded`).
    Run(Program),
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
    pub(crate) fn start(store: Arc<Store>, node: Arc<Node>) -> Self {
        let policy = Arc::new(Mutex::new(Policy {
            running: true,
            default_job: JobOutcome::Complete,
            jobs: HashMap::new(),
        }));
        let wake = Arc::new(Notify::new());
        let task = tokio::spawn(run(store, node, policy.clone(), wake.clone()));
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

async fn run(store: Arc<Store>, node: Arc<Node>, policy: Arc<Mutex<Policy>>, wake: Arc<Notify>) {
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
                ("", "persistentvolumeclaims"),
            ] {
                if let Some(rt) = store.type_of(group, plural) {
                    for object in store.list(&rt, None, &all).0 {
                        play(&store, &node, &policy, plural, &object);
                    }
                }
            }
            scan_all = false;
        }
        tokio::select! {
            received = changes.recv() => match received {
                Ok(change) if policy.running && change.event != EventType::Deleted => {
                    play(&store, &node, &policy, &change.plural, &change.object);
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
fn play(store: &Store, node: &Node, policy: &Policy, plural: &str, object: &Value) {
    let (namespace, name) = namespace_and_name(object);
    match plural {
        "deployments" if !workload_ready(object) => {
            let _ = mark_deployment_ready(store, namespace, name);
        }
        "statefulsets" if !workload_ready(object) => {
            let _ = mark_statefulset_ready(store, namespace, name);
        }
        "persistentvolumeclaims" => {
            if resize_pending(object) {
                let _ = write_status(store, "", plural, namespace, name, |claim| {
                    let mut status = claim["status"].clone();
                    status["capacity"]["storage"] =
                        claim["spec"]["resources"]["requests"]["storage"].clone();
                    status
                });
            }
            // A Job waiting for this claim can be scheduled now.
            if let Some(jobs) = store.type_of("batch", "jobs") {
                for job in store.list(&jobs, Some(namespace), &Selector::default()).0 {
                    play(store, node, policy, "jobs", &job);
                }
            }
        }
        "jobs" => {
            if job_finished(object) {
                return;
            }
            let outcome = policy.jobs.get(name).unwrap_or(&policy.default_job);
            if *outcome == JobOutcome::Hold {
                return;
            }
            let missing = missing_claims(store, namespace, &object["spec"]["template"]["spec"]);
            if !missing.is_empty() {
                let _ = hold_unschedulable(store, namespace, object, &missing);
                return;
            }
            let _ = remove_pending_pod(store, namespace, name).and_then(|()| match outcome {
                JobOutcome::Complete => mark_job_complete(store, namespace, name),
                JobOutcome::Fail(message) => mark_job_failed(store, namespace, name, message),
                JobOutcome::Hold => Ok(()),
                JobOutcome::Run(program) => run_job(store, node, namespace, name, program),
            });
        }
        _ => {}
    }
}

fn job_finished(job: &Value) -> bool {
    job["status"]["conditions"]
        .as_array()
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c["type"] == "Complete" || c["type"] == "Failed")
        })
}

/// Plays the job controller and the kubelet for one Job: pods from its template, one at a
/// time, each running `program`, until one succeeds or the retries are used up.
///
/// The change that woke the kubelet may be older than the store, so the Job is read again:
/// a Job that finished meanwhile is not run twice.
fn run_job(
    store: &Store,
    node: &Node,
    namespace: &str,
    name: &str,
    program: &Program,
) -> Result<()> {
    let jobs = store
        .type_of("batch", "jobs")
        .ok_or_else(|| Error::NotFound {
            what: "jobs.batch".into(),
        })?;
    let pods = store.type_of("", "pods").ok_or_else(|| Error::NotFound {
        what: "pods".into(),
    })?;
    let job = store.get(&jobs, Some(namespace), name)?;
    if job_finished(&job) {
        return Ok(());
    }
    let attempts = job["spec"]["backoffLimit"]
        .as_u64()
        .unwrap_or(DEFAULT_BACKOFF_LIMIT)
        + 1;
    for attempt in 0..attempts {
        let pod = store.create(&pods, Some(namespace), job_pod(&job, attempt), None)?;
        let pod_name = pod["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let spec = &pod["spec"];
        let mut statuses = Vec::new();
        let mut exit_code = 0;
        for (idx, container) in spec["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let container_name = container["name"].as_str().unwrap_or_default();
            let running = Container::start(node, namespace, spec, container);
            let exited = if idx == 0 {
                running.run(
                    program,
                    node,
                    namespace,
                    container["terminationMessagePolicy"].as_str(),
                )
            } else {
                running.run(&Program::new(|_| 0), node, namespace, None)
            };
            node.set_log(namespace, &pod_name, container_name, exited.log);
            let mut terminated = json!({
                "exitCode": exited.exit_code,
                "reason": if exited.exit_code == 0 { "Completed" } else { "Error" },
                "startedAt": pod["metadata"]["creationTimestamp"],
                "finishedAt": pod["metadata"]["creationTimestamp"],
                "containerID": format!("containerd://{pod_name}-{container_name}"),
            });
            if let Some(message) = exited.message {
                terminated["message"] = json!(message);
            }
            statuses.push(json!({
                "name": container_name,
                "image": container["image"],
                "imageID": container["image"],
                "ready": false,
                "started": false,
                "restartCount": 0,
                "state": {"terminated": terminated},
            }));
            if exit_code == 0 {
                exit_code = exited.exit_code;
            }
        }
        let phase = if exit_code == 0 {
            "Succeeded"
        } else {
            "Failed"
        };
        let status = json!({"status": {
            "phase": phase,
            "startTime": pod["metadata"]["creationTimestamp"],
            "containerStatuses": statuses,
        }});
        store.patch(
            &pods,
            Some(namespace),
            &pod_name,
            &PatchKind::Merge,
            &status,
            Target::Status,
            None,
        )?;
        if exit_code == 0 {
            return write_status(store, "batch", "jobs", namespace, name, |job| {
                let time = job["metadata"]["creationTimestamp"].clone();
                json!({
                    "startTime": time,
                    "completionTime": time,
                    "succeeded": 1,
                    "failed": attempt,
                    "active": 0,
                    "conditions": [
                        {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached"},
                        {"type": "Complete", "status": "True", "reason": "CompletionsReached"},
                    ],
                })
            });
        }
    }
    write_status(store, "batch", "jobs", namespace, name, |job| {
        let message = "Job has reached the specified backoff limit";
        json!({
            "startTime": job["metadata"]["creationTimestamp"],
            "failed": attempts,
            "active": 0,
            "conditions": [
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": message},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": message},
            ],
        })
    })
}

/// The pod of one attempt of `job`, as the job controller makes it: the template with the
/// Job's labels and a controller reference, and the container defaults the API server fills
/// in.
fn job_pod(job: &Value, attempt: u64) -> Value {
    let name = job["metadata"]["name"].as_str().unwrap_or_default();
    let uid = &job["metadata"]["uid"];
    let template = &job["spec"]["template"];
    let mut labels = template["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    labels["job-name"] = json!(name);
    labels["batch.kubernetes.io/job-name"] = json!(name);
    labels["controller-uid"] = uid.clone();
    labels["batch.kubernetes.io/controller-uid"] = uid.clone();
    let mut spec = template["spec"].clone();
    for container in spec["containers"].as_array_mut().into_iter().flatten() {
        if container.get("terminationMessagePath").is_none() {
            container["terminationMessagePath"] =
                json!(crate::container::DEFAULT_TERMINATION_MESSAGE_PATH);
        }
        if container.get("terminationMessagePolicy").is_none() {
            container["terminationMessagePolicy"] = json!("File");
        }
    }
    json!({
        "metadata": {
            "name": format!("{name}-{attempt:05}"),
            "labels": labels,
            "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": uid,
                "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "spec": spec,
    })
}

/// The claims `pod_spec` mounts that do not exist or are being deleted.
fn missing_claims(store: &Store, namespace: &str, pod_spec: &Value) -> Vec<String> {
    let Some(claims) = store.type_of("", "persistentvolumeclaims") else {
        return Vec::new();
    };
    pod_spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|volume| volume["persistentVolumeClaim"]["claimName"].as_str())
        .filter(|claim| {
            store
                .get(&claims, Some(namespace), claim)
                .map_or(true, |found| {
                    found["metadata"].get("deletionTimestamp").is_some()
                })
        })
        .map(str::to_owned)
        .collect()
}

/// Plays the job controller and the scheduler for a Job whose pod cannot be scheduled: its
/// first pod exists and stays `Pending`, the Job is active.
fn hold_unschedulable(
    store: &Store,
    namespace: &str,
    job: &Value,
    missing: &[String],
) -> Result<()> {
    let pods = store.type_of("", "pods").ok_or_else(|| Error::NotFound {
        what: "pods".into(),
    })?;
    let name = job["metadata"]["name"].as_str().unwrap_or_default();
    let pod_name = match store.create(&pods, Some(namespace), job_pod(job, 0), None) {
        Ok(pod) => pod["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        Err(Error::AlreadyExists { .. }) => format!("{name}-{:05}", 0),
        Err(other) => return Err(other),
    };
    let not_found: Vec<String> = missing
        .iter()
        .map(|claim| format!("persistentvolumeclaim {claim:?} not found"))
        .collect();
    let status = json!({"status": {
        "phase": "Pending",
        "conditions": [{
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": format!("0/1 nodes are available: {}.", not_found.join(", ")),
        }],
    }});
    store.patch(
        &pods,
        Some(namespace),
        &pod_name,
        &PatchKind::Merge,
        &status,
        Target::Status,
        None,
    )?;
    write_status(
        store,
        "batch",
        "jobs",
        namespace,
        name,
        |job| json!({"startTime": job["metadata"]["creationTimestamp"], "active": 1}),
    )
}

/// Deletes the `Pending` pod a Job had while a claim was missing, so its runs start afresh.
fn remove_pending_pod(store: &Store, namespace: &str, job: &str) -> Result<()> {
    let Some(pods) = store.type_of("", "pods") else {
        return Ok(());
    };
    let pod_name = format!("{job}-{:05}", 0);
    match store.get(&pods, Some(namespace), &pod_name) {
        Ok(pod) if pod["status"]["phase"] == "Pending" => store
            .delete(&pods, Some(namespace), &pod_name, None)
            .map(|_| ()),
        _ => Ok(()),
    }
}

/// Whether a bound claim asks for another size than it has: the API server let it grow, and
/// the simulated storage system expands it at once.
fn resize_pending(claim: &Value) -> bool {
    claim["status"]["phase"] == "Bound"
        && claim["status"]["capacity"]["storage"]
            != claim["spec"]["resources"]["requests"]["storage"]
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
/// bound at once to a volume of the requested size as dynamic provisioning binds them, then
/// marks every desired replica current, updated and ready.
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
            match store.create(&claims, Some(namespace), claim, None) {
                Ok(created) => {
                    let bound = json!({"status": {
                        "phase": "Bound",
                        "accessModes": created["spec"]["accessModes"],
                        "capacity": {"storage": created["spec"]["resources"]["requests"]["storage"]},
                    }});
                    let claim_name = created["metadata"]["name"].as_str().unwrap_or_default();
                    store.patch(
                        &claims,
                        Some(namespace),
                        claim_name,
                        &PatchKind::Merge,
                        &bound,
                        Target::Status,
                        None,
                    )?;
                }
                Err(Error::AlreadyExists { .. }) => {}
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
        None,
    )?;
    Ok(())
}
