//! Instance probing: each running instance's `GET /status`, read on an interval of its own,
//! keeps the sync part of its Cooperative's status current between reconciles.
//!
//! Block numbers move twice a second. Written by the reconciler, every one of them was a
//! status change that triggered the next reconcile, so a steady cooperative was reconciled
//! without rest. The controller now ignores status-only changes (see [`crate::reconcile`]),
//! and this loop recomputes the status from what the last reconcile observed with the fresh
//! report. It never creates or changes children; an unreadable `/status` is an observation
//! (`Synced=Unknown`), never an error.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::reflector::ObjectRef;
use mono_crds::{Cooperative, CooperativeStatus};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::{debug, warn};

use crate::reconcile::{Context, error_chain, now, write_status};
use crate::status::{self, InstanceReport, InstanceUsage, Observed};

/// How long reading one instance's `/status` may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest `/status` response read from an instance.
const MAX_STATUS_BYTES: usize = 64 * 1024;
/// Instances probed at once by one round.
const PROBE_CONCURRENCY: usize = 16;

/// The instances to probe, one slot per Cooperative (`namespace/name`) whose instance has a
/// ready pod. A slot's lock is held while its status is computed and written, so the probe
/// loop and the reconciler never write one Cooperative's status from different observations.
#[derive(Default)]
pub struct Probes {
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Probed>>>>>,
}

/// What the last reconcile saw of one Cooperative whose instance is probed, and the status
/// written since.
#[derive(Debug, Clone)]
pub struct Probed {
    /// `host:port` of the instance's `/status`.
    pub address: String,
    /// Everything the last reconcile observed, with the latest report.
    pub observed: Observed,
    /// The status last written.
    pub status: CooperativeStatus,
    /// `metadata.generation` the observation was made at.
    pub generation: Option<i64>,
    /// `status.endpoint`.
    pub endpoint: Option<String>,
}

impl Probes {
    /// The slot of the Cooperative `key`, created empty when it has none.
    pub fn slot(&self, key: &str) -> Arc<tokio::sync::Mutex<Option<Probed>>> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slots.entry(key.to_owned()).or_default().clone()
    }

    /// Stops probing the Cooperative `key` (deleted, refused or invalid); a round under way
    /// writes nothing more for it.
    pub async fn forget(&self, key: &str) {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(key);
        if let Some(slot) = slot {
            *slot.lock().await = None;
        }
    }

    fn all(&self) -> Vec<(String, Arc<tokio::sync::Mutex<Option<Probed>>>)> {
        let slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slots
            .iter()
            .map(|(key, slot)| (key.clone(), slot.clone()))
            .collect()
    }
}

/// Probes every instance with a ready pod each `interval` until `shutdown` resolves.
pub async fn run(ctx: Arc<Context>, interval: Duration, shutdown: impl Future<Output = ()>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = ticker.tick() => {}
        }
        futures::stream::iter(ctx.probes.all())
            .for_each_concurrent(PROBE_CONCURRENCY, |(key, slot)| {
                let ctx = ctx.clone();
                async move { refresh(&ctx, &key, &slot).await }
            })
            .await;
    }
}

/// Reads one instance's `/status` and writes the status it leads to, when that differs.
async fn refresh(ctx: &Context, key: &str, slot: &tokio::sync::Mutex<Option<Probed>>) {
    let Some(address) = slot.lock().await.as_ref().map(|p| p.address.clone()) else {
        return;
    };
    let report = probe_instance(&address, PROBE_TIMEOUT).await;
    if let Err(why) = &report {
        debug!(key, why, "instance /status unreadable");
    }
    let mut guard = slot.lock().await;
    // The reconciler may have moved on meanwhile (scaled to zero, deleted).
    let Some(probed) = guard.as_mut().filter(|p| p.address == address) else {
        return;
    };
    let Some((namespace, name)) = key.split_once('/') else {
        return;
    };
    let Some(coop) = ctx
        .store()
        .get(&ObjectRef::<Cooperative>::new(name).within(namespace))
    else {
        *guard = None;
        return;
    };
    probed.observed.instance = report;
    let status = status::status(
        &probed.observed,
        probed.generation,
        Some(&probed.status),
        probed.endpoint.clone(),
        &now(),
    );
    let api: Api<Cooperative> = Api::namespaced(ctx.client().clone(), namespace);
    match write_status(&api, &coop, ctx, Some(&probed.status), status).await {
        Ok(status) => probed.status = status,
        Err(err) => warn!(namespace, name, error = %error_chain(&err), "probed status not written"),
    }
}

/// Reads `GET /status` from `address` (`host:port`) within `timeout`; the error says why it
/// could not.
pub async fn probe_instance(address: &str, timeout: Duration) -> Result<InstanceReport, String> {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| {
        host.trim_start_matches('[').trim_end_matches(']')
    });
    let fetch = async {
        let mut stream = TcpStream::connect(address)
            .await
            .map_err(|err| format!("cannot connect to {address}: {err}"))?;
        let request =
            format!("GET /status HTTP/1.0\r\nHost: {host}\r\nAccept: application/json\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|err| format!("sending the request to {address}: {err}"))?;
        let mut response = Vec::new();
        stream
            .take(MAX_STATUS_BYTES as u64)
            .read_to_end(&mut response)
            .await
            .map_err(|err| format!("reading the answer of {address}: {err}"))?;
        Ok::<_, String>(response)
    };
    let response = tokio::time::timeout(timeout, fetch)
        .await
        .map_err(|_| format!("no answer from {address} within {timeout:?}"))??;
    parse_status_response(&response)
}

/// The synced and head block of an HTTP response to `GET /status`: a 200 answer whose JSON
/// body has the non-negative integers `synced_block` and `head_block` (camelCase accepted),
/// and the usage counters when it has a `usage` object (a counter it lacks counts as 0);
/// other fields are ignored. The error says what was wrong.
pub fn parse_status_response(response: &[u8]) -> Result<InstanceReport, String> {
    let text = std::str::from_utf8(response).map_err(|_| "the answer is not UTF-8".to_owned())?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| "the answer is not HTTP".to_owned())?;
    let status = head.split(' ').nth(1).unwrap_or_default();
    if !head.starts_with("HTTP/1.") {
        return Err("the answer is not HTTP".to_owned());
    }
    if status != "200" {
        return Err(format!("GET /status answered HTTP {status}"));
    }
    let json: Value = serde_json::from_str(body).map_err(|_| "the body is not JSON".to_owned())?;
    let number = |keys: [&str; 2]| {
        keys.iter()
            .find_map(|key| json.get(*key).and_then(Value::as_u64))
            .ok_or_else(|| format!("the body has no {} number", keys[0]))
    };
    let usage = json.get("usage").and_then(Value::as_object).map(|usage| {
        let counter = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
        InstanceUsage {
            database_bytes: counter("database_bytes"),
            documents: counter("documents"),
            api_requests: counter("api_requests"),
            bytes_sent: counter("bytes_sent"),
        }
    });
    Ok(InstanceReport {
        synced_block: number(["synced_block", "syncedBlock"])?,
        head_block: number(["head_block", "headBlock"])?,
        usage,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::status::{DatabaseState, DeploymentState, StorageState};

    #[test]
    fn instance_status_responses() {
        let ok = |synced_block, head_block| {
            Ok(InstanceReport {
                synced_block,
                head_block,
                usage: None,
            })
        };
        let with_usage = |usage| {
            Ok(InstanceReport {
                synced_block: 5,
                head_block: 6,
                usage: Some(usage),
            })
        };
        let cases: [(&str, Result<InstanceReport, String>); 10] = [
            (
                "HTTP/1.0 200 OK\r\n\r\n{\"synced_block\":5,\"head_block\":6,\"usage\":{\"database_bytes\":8192000,\"documents\":3,\"api_requests\":17,\"bytes_sent\":4096}}",
                with_usage(InstanceUsage {
                    database_bytes: 8_192_000,
                    documents: 3,
                    api_requests: 17,
                    bytes_sent: 4096,
                }),
            ),
            (
                "HTTP/1.0 200 OK\r\n\r\n{\"synced_block\":5,\"head_block\":6,\"usage\":{\"database_bytes\":10}}",
                with_usage(InstanceUsage {
                    database_bytes: 10,
                    ..InstanceUsage::default()
                }),
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"synced_block\":90,\"head_block\":100}",
                ok(90, 100),
            ),
            (
                "HTTP/1.0 200 OK\r\n\r\n{\"syncedBlock\":7,\"headBlock\":9,\"extra\":true}",
                ok(7, 9),
            ),
            (
                "HTTP/1.1 503 Service Unavailable\r\n\r\n{\"synced_block\":1,\"head_block\":2}",
                Err("GET /status answered HTTP 503".to_owned()),
            ),
            (
                "HTTP/1.1 200 OK\r\n\r\nnot json",
                Err("the body is not JSON".to_owned()),
            ),
            (
                "HTTP/1.1 200 OK\r\n\r\n{\"synced_block\":1}",
                Err("the body has no head_block number".to_owned()),
            ),
            (
                "HTTP/1.1 200 OK\r\n\r\n{\"synced_block\":-1,\"head_block\":2}",
                Err("the body has no synced_block number".to_owned()),
            ),
            (
                "SSH-2.0-OpenSSH_9.6\r\n\r\n",
                Err("the answer is not HTTP".to_owned()),
            ),
            ("", Err("the answer is not HTTP".to_owned())),
        ];
        for (response, expected) in cases {
            assert_eq!(
                parse_status_response(response.as_bytes()),
                expected,
                "{response}"
            );
        }
    }

    /// A running instance whose `/status` gave `instance`.
    fn observed_instance(instance: Result<InstanceReport, String>) -> Observed {
        Observed {
            invalid: None,
            database: DatabaseState {
                ready: true,
                failed: false,
                reason: "PodsReady",
                message: "the database pod is ready".to_owned(),
            },
            storage: StorageState::AsRequested,
            import: None,
            export_claim_missing: None,
            migration: None,
            deployment: Some(DeploymentState {
                version: "2.4.1".to_owned(),
                replicas: 1,
                ready: 1,
                updated: 1,
                observed: true,
            }),
            instance,
            suspended: false,
            target_version: "2.4.1".to_owned(),
            failures: Vec::new(),
            upgrade_queued: false,
            postgres_queued: None,
            postgres_major_refused: None,
        }
    }

    /// Status, reason and message of the `Synced` condition for `instance`.
    fn synced(instance: Result<InstanceReport, String>) -> (String, String, String) {
        let status = status::status(&observed_instance(instance), Some(1), None, None, &now());
        let synced = status
            .conditions
            .into_iter()
            .find(|c| c.type_ == "Synced")
            .expect("a Synced condition");
        (synced.status, synced.reason, synced.message)
    }

    #[test]
    fn synced_condition_from_status_bodies() {
        let http =
            |body: &str| format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{body}");
        let cases = [
            (
                http(r#"{"synced_block":1000,"head_block":1005,"version":"2.4.1"}"#),
                ("True", "CaughtUp", "synced to block 1000"),
            ),
            (
                http(r#"{"synced_block":1000,"head_block":1010}"#),
                ("True", "CaughtUp", "synced to block 1000"),
            ),
            (
                http(r#"{"synced_block":1000,"head_block":1011}"#),
                (
                    "False",
                    "CatchingUp",
                    "block 1000 of 1011, 11 blocks behind",
                ),
            ),
            (
                http(r#"{"synced_block":0,"head_block":0}"#),
                ("True", "CaughtUp", "synced to block 0"),
            ),
            (
                // A head behind the synced block (another node answered) is not "behind".
                http(r#"{"synced_block":50,"head_block":40}"#),
                ("True", "CaughtUp", "synced to block 50"),
            ),
            (
                "HTTP/1.1 503 Service Unavailable\r\n\r\n{}".to_owned(),
                (
                    "Unknown",
                    "StatusUnavailable",
                    "the instance's /status could not be read: GET /status answered HTTP 503",
                ),
            ),
            (
                http(r#"{"synced":1000}"#),
                (
                    "Unknown",
                    "StatusUnavailable",
                    "the instance's /status could not be read: the body has no synced_block number",
                ),
            ),
        ];
        for (response, (status, reason, message)) in cases {
            let found = synced(parse_status_response(response.as_bytes()));
            assert_eq!(
                found,
                (status.to_owned(), reason.to_owned(), message.to_owned()),
                "{response}"
            );
        }
    }

    #[tokio::test]
    async fn unreachable_instance_is_an_observation_not_an_error() {
        let timeout = Duration::from_millis(300);
        // Nothing listens: connection refused.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let refused = probe_instance(&format!("127.0.0.1:{port}"), timeout)
            .await
            .unwrap_err();
        assert!(
            refused.starts_with(&format!("cannot connect to 127.0.0.1:{port}: ")),
            "{refused}"
        );
        // Something accepts and never answers: the probe gives up at its timeout.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let hung = probe_instance(&format!("127.0.0.1:{port}"), timeout)
            .await
            .unwrap_err();
        assert_eq!(
            hung,
            format!("no answer from 127.0.0.1:{port} within 300ms")
        );
        drop(silent);
        // Either way the Cooperative gets Synced=Unknown with the reason in its message.
        for why in [refused, hung] {
            let (status, reason, message) = synced(Err(why.clone()));
            assert_eq!(
                (status.as_str(), reason.as_str()),
                ("Unknown", "StatusUnavailable")
            );
            assert!(message.ends_with(&why), "{message}");
        }

        // An instance serving its status is read.
        let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = server.local_addr().unwrap().port();
        let serve = tokio::spawn(async move {
            let (mut stream, _) = server.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let read = stream.read(&mut request).await.unwrap();
            let body = r#"{"synced_block":41,"head_block":42}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&request[..read]).into_owned()
        });
        let report = probe_instance(&format!("127.0.0.1:{port}"), Duration::from_secs(5)).await;
        assert_eq!(
            report,
            Ok(InstanceReport {
                synced_block: 41,
                head_block: 42,
                usage: None,
            })
        );
        let request = serve.await.unwrap();
        assert!(request.starts_with("GET /status HTTP/1.0\r\n"), "{request}");
    }
}
