//! What the reconciler observes of the database: the builtin StatefulSet, a CloudNativePG
//! cluster, an external database reached through the URL in its Secret, and the volume
//! against `database.storage`.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use mono_crds::Cooperative;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tracing::info;

use super::{Context, kube_error};
use crate::children::{self, ClaimPlan, DatabaseAddress};
use crate::probe::PROBE_TIMEOUT;
use crate::status::{DatabaseState, StorageState};
use crate::{Error, Result, Verb};

/// Compares the builtin database's volume with `database.storage` and grows its claim when
/// the spec asks for more. The StatefulSet's claim template keeps the size it was created
/// with, since the API server refuses changes to it.
pub(crate) async fn database_storage(
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

pub(crate) fn database_failed(reason: &'static str, message: String) -> DatabaseState {
    DatabaseState {
        ready: false,
        failed: true,
        reason,
        message,
    }
}

/// Where the external database is, from the URL in its Secret; or the state saying what is
/// wrong with the Secret.
pub(crate) async fn external_database_address(
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
pub(crate) async fn external_database_state(address: &DatabaseAddress) -> DatabaseState {
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

pub(crate) fn stateful_set_state(set: StatefulSet) -> DatabaseState {
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

pub(crate) fn cnpg_state(cluster: &Value) -> DatabaseState {
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
