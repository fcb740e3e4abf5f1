//! The instance's HTTP endpoints for the platform around it: liveness (`/health`), readiness
//! (`/ready`), the sync report (`/status`) and Prometheus metrics (`/metrics`, the follower's
//! and the API's).
//!
//! `/status` always answers with the report when the store can be read; `/ready` answers 200 only
//! once the store has caught up with the chain (within [`READY_LAG_BLOCKS`] of the followed
//! target), so a rolling upgrade or a fresh instance takes traffic only when its data is current.
//! The report is computed by [`StatusReport::new`], a pure function of the cursor and what the
//! follower last heard from the chain.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::Router;
use axum::body::{Body, HttpBody as _};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt as _;
use serde::Serialize;

use crate::antelope::name::Name;
use crate::api::ApiMetrics;
use crate::extensions::hooks::HookMetrics;
use crate::parser::{Metrics, Mode};
use crate::store::{Cursor, Store};

/// Most blocks the store may be behind the followed target (LIB, or head in head mode) for the
/// instance to be ready; the operator's `Synced` condition uses the same tolerance.
pub const READY_LAG_BLOCKS: u32 = 10;

/// What the endpoints read: the store and the follower's metrics.
#[derive(Clone)]
pub struct ServerState {
    /// The event store the follower writes.
    pub store: Store,
    /// The follower's metrics (head and LIB as last heard from the chain).
    pub metrics: Metrics,
    /// The API's metrics.
    pub api_metrics: ApiMetrics,
    /// Calls and failures of the extensions' block hooks.
    pub hook_metrics: HookMetrics,
    /// Which blocks the follower follows.
    pub mode: Mode,
    /// The cooperative this instance serves.
    pub coopname: Name,
    /// Whether this process holds the database's follower lock and follows the chain.
    pub follower: Arc<AtomicBool>,
    /// Requests served and bytes sent since the process started.
    pub traffic: Traffic,
}

/// Requests this process's HTTP endpoints served and the response bytes they sent since it
/// started, every endpoint included; cheap to clone (the counters are shared).
#[derive(Clone, Debug, Default)]
pub struct Traffic {
    requests: Arc<AtomicU64>,
    bytes_sent: Arc<AtomicU64>,
}

impl Traffic {
    /// Requests served so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Response body bytes sent so far.
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Ordering::Relaxed)
    }
}

/// Usage counters in `/status`, the basis of the platform's metering of stored, processed and
/// transmitted information.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UsageReport {
    /// Bytes the database takes.
    pub database_bytes: u64,
    /// Documents the cooperative's actions carried (distinct hashes).
    pub documents: u64,
    /// HTTP requests this replica served since it started.
    pub api_requests: u64,
    /// Response body bytes this replica sent since it started.
    pub bytes_sent: u64,
}

/// The body of `/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// The cooperative's account.
    pub coopname: String,
    /// `irreversible` or `head`.
    pub mode: &'static str,
    /// Last block committed to the store (0 when it is empty).
    pub synced_block: u32,
    /// Id of that block, hex.
    pub synced_block_id: Option<String>,
    /// Chain head as last heard from the node (0 before the follower reached it).
    pub head_block: u32,
    /// Last irreversible block as last heard from the node.
    pub lib_block: u32,
    /// Blocks between the store and the followed target.
    pub behind_blocks: u32,
    /// Whether `/ready` answers 200.
    pub ready: bool,
    /// Whether this replica follows the chain (holds the database's follower lock); the others
    /// serve the same store and wait to take over.
    pub follower: bool,
    /// Usage counters; only `/status` reads them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageReport>,
    /// Version of this binary.
    pub version: &'static str,
}

impl StatusReport {
    /// The report for a store at `cursor` while the chain is at `head_block` with
    /// `lib_block` irreversible (both 0 when not heard yet); `follower` says whether this
    /// replica follows, `usage` what it measured.
    pub fn new(
        coopname: Name,
        mode: Mode,
        cursor: Option<Cursor>,
        head_block: u32,
        lib_block: u32,
        follower: bool,
        usage: Option<UsageReport>,
    ) -> Self {
        let synced_block = cursor.map_or(0, |cursor| cursor.block_num);
        let target = match mode {
            Mode::Irreversible => lib_block,
            Mode::Head => head_block,
        };
        let behind_blocks = target.saturating_sub(synced_block);
        Self {
            coopname: coopname.to_string(),
            mode: match mode {
                Mode::Irreversible => "irreversible",
                Mode::Head => "head",
            },
            synced_block,
            synced_block_id: cursor.map(|cursor| hex::encode(cursor.block_id)),
            head_block,
            lib_block,
            behind_blocks,
            ready: head_block > 0 && behind_blocks <= READY_LAG_BLOCKS,
            follower,
            usage,
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// The routes of `mono serve`, each request and its response bytes counted in
/// [`ServerState::traffic`].
pub fn router(state: ServerState) -> Router {
    let traffic = state.traffic.clone();
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .with_state(state)
        .layer(middleware::from_fn_with_state(traffic, count_traffic))
}

/// Counts the request, and the response's body bytes as they are sent.
async fn count_traffic(State(traffic): State<Traffic>, request: Request, next: Next) -> Response {
    traffic.requests.fetch_add(1, Ordering::Relaxed);
    let response = next.run(request).await;
    if let Some(length) = response.body().size_hint().exact() {
        traffic.bytes_sent.fetch_add(length, Ordering::Relaxed);
        return response;
    }
    let (parts, body) = response.into_parts();
    let sent = traffic.bytes_sent.clone();
    let counted = body.into_data_stream().inspect(move |chunk| {
        if let Ok(bytes) = chunk {
            sent.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
    });
    Response::from_parts(parts, Body::from_stream(counted))
}

/// Only `/metrics`, for `mono sync --metrics-addr`.
pub fn metrics_router(metrics: Metrics) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move { metrics.render() }
        }),
    )
}

/// Answering at all is the liveness signal: the runtime is not stuck.
async fn health() -> &'static str {
    "ok\n"
}

async fn ready(State(state): State<ServerState>) -> Response {
    match current_report(&state, false).await {
        Ok(report) if report.ready => (StatusCode::OK, axum::Json(report)).into_response(),
        Ok(report) => (StatusCode::SERVICE_UNAVAILABLE, axum::Json(report)).into_response(),
        Err(response) => response,
    }
}

async fn status(State(state): State<ServerState>) -> Response {
    match current_report(&state, true).await {
        Ok(report) => (StatusCode::OK, axum::Json(report)).into_response(),
        Err(response) => response,
    }
}

async fn metrics(State(state): State<ServerState>) -> String {
    let mut registry = prometheus_client::registry::Registry::with_prefix("mono");
    state.metrics.register(&mut registry);
    state.api_metrics.register(&mut registry);
    state.hook_metrics.register(&mut registry);
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _infallible = prometheus_client::encoding::text::encode(&mut text, &registry);
    text
}

/// The report now, with the usage counters when `with_usage`, or a 503 naming why the store
/// could not be read.
async fn current_report(state: &ServerState, with_usage: bool) -> Result<StatusReport, Response> {
    let unreadable = |err: crate::store::Error| {
        tracing::warn!(error = %err, "status: the store cannot be read");
        let body = serde_json::json!({"error": format!("the store cannot be read: {err}")});
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
    };
    let cursor = state.store.cursor().await.map_err(unreadable)?;
    let usage = if with_usage {
        Some(UsageReport {
            database_bytes: state.store.database_bytes().await.map_err(unreadable)?,
            documents: state.store.document_count().await.map_err(unreadable)?,
            api_requests: state.traffic.requests(),
            bytes_sent: state.traffic.bytes_sent(),
        })
    } else {
        None
    };
    let block =
        |gauge: &prometheus_client::metrics::gauge::Gauge| u32::try_from(gauge.get()).unwrap_or(0);
    Ok(StatusReport::new(
        state.coopname,
        state.mode,
        cursor,
        block(&state.metrics.head_block),
        block(&state.metrics.lib_block),
        state.follower.load(Ordering::Relaxed),
        usage,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOP: Name = Name::from_str_const("voskhod");

    fn cursor(block_num: u32) -> Option<Cursor> {
        Some(Cursor {
            block_num,
            block_id: [0xab; 32],
            lib: block_num,
        })
    }

    #[test]
    fn readiness_follows_the_target_of_the_mode() {
        // (mode, cursor, head, lib, ready, behind)
        let cases = [
            (Mode::Irreversible, None, 0, 0, false, 0),
            (Mode::Irreversible, None, 100, 5, true, 5),
            (Mode::Irreversible, None, 100, 11, false, 11),
            (Mode::Irreversible, cursor(90), 100, 100, true, 10),
            (Mode::Irreversible, cursor(89), 100, 100, false, 11),
            (Mode::Irreversible, cursor(100), 130, 100, true, 0),
            (Mode::Head, cursor(100), 130, 100, false, 30),
            (Mode::Head, cursor(125), 130, 100, true, 5),
            (Mode::Head, cursor(140), 130, 100, true, 0),
        ];
        for (idx, (mode, cursor, head, lib, ready, behind)) in cases.into_iter().enumerate() {
            let report = StatusReport::new(COOP, mode, cursor, head, lib, true, None);
            assert_eq!(report.ready, ready, "case {idx}");
            assert_eq!(report.behind_blocks, behind, "case {idx}");
        }
    }

    #[test]
    fn the_report_carries_what_the_operator_reads() {
        let usage = UsageReport {
            database_bytes: 8_192_000,
            documents: 3,
            api_requests: 17,
            bytes_sent: 4_096,
        };
        let report = StatusReport::new(
            COOP,
            Mode::Irreversible,
            cursor(42),
            50,
            45,
            false,
            Some(usage),
        );
        let body = serde_json::to_value(&report).expect("serializes");
        assert_eq!(body["synced_block"], 42);
        assert_eq!(body["head_block"], 50);
        assert_eq!(body["lib_block"], 45);
        assert_eq!(body["synced_block_id"], "ab".repeat(32));
        assert_eq!(body["coopname"], "voskhod");
        assert_eq!(body["mode"], "irreversible");
        assert_eq!(body["follower"], false);
        assert_eq!(
            body["usage"],
            serde_json::json!({"database_bytes": 8_192_000, "documents": 3, "api_requests": 17, "bytes_sent": 4_096})
        );
        let without = StatusReport::new(COOP, Mode::Irreversible, cursor(42), 50, 45, false, None);
        let body = serde_json::to_value(&without).expect("serializes");
        assert!(body.get("usage").is_none(), "{body}");
    }
}
