//! The rollout gate: which version the instance Deployment may run, from the Deployment and
//! the migration and import Jobs as observed. Pure.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;

use crate::children::VERSION_LABEL;
use crate::status::{DeploymentState, JobState};

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

pub(crate) fn deployed_version(deployment: &Deployment) -> Option<String> {
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

pub(crate) fn deployment_state(deployment: &Deployment) -> DeploymentState {
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

pub(crate) fn job_state(job: &Job) -> JobState {
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
