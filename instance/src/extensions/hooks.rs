//! Calls the enabled extensions' [`Extension::on_block`] for each block the follower stores.
//!
//! The runner listens to the registries' per-block notifications
//! ([`crate::store::Store::subscribe_registry`]), which the follower sends after each commit
//! without waiting for anyone: a slow hook makes the runner skip blocks (it learns that it
//! lagged and goes on from the newest), never holds the follower back. Hooks of one block run
//! one after the other, each bounded by [`HOOK_TIMEOUT`]; a failure or a timeout is logged
//! and counted in `mono_extension_hook_failures_total`, and the next block calls the hook again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use super::{Catalog, HookContext};
use crate::registry::projection::RegistryEvent;

/// The longest one hook may run for one block.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(30);

/// Labels of the hook counters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct HookLabels {
    /// The extension.
    pub extension: String,
}

/// Hook calls and failures per extension.
#[derive(Debug, Clone, Default)]
pub struct HookMetrics {
    /// Hook calls.
    pub calls: Family<HookLabels, Counter>,
    /// Hook calls that failed or timed out.
    pub failures: Family<HookLabels, Counter>,
}

impl HookMetrics {
    /// Registers the counters in `registry` (give it the `mono` prefix).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "extension_hook_calls",
            "Calls of extensions' block hooks",
            self.calls.clone(),
        );
        registry.register(
            "extension_hook_failures",
            "Calls of extensions' block hooks that failed or timed out",
            self.failures.clone(),
        );
    }
}

/// Runs the hooks of the enabled extensions of `catalog` for each stored block until
/// `shutdown`, while `follower` says this process follows the chain: replicas that only
/// serve hear of the same blocks, and the hooks must act once.
pub async fn run(
    ctx: HookContext,
    catalog: Catalog,
    metrics: HookMetrics,
    follower: Arc<AtomicBool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut blocks = ctx.store.subscribe_registry();
    loop {
        let event = tokio::select! {
            event = blocks.recv() => event,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let block_num = match event {
            Ok(RegistryEvent::Committed { .. }) if !follower.load(Ordering::Relaxed) => continue,
            Ok(RegistryEvent::Committed { block_num, .. }) => block_num,
            Ok(RegistryEvent::RolledBack { .. }) => continue,
            Err(RecvError::Lagged(skipped)) => {
                tracing::debug!(skipped, "extension hooks skipped blocks");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        run_block(&ctx, &catalog, &metrics, block_num).await;
    }
}

/// Runs the hooks of the extensions enabled now for `block_num`.
pub async fn run_block(
    ctx: &HookContext,
    catalog: &Catalog,
    metrics: &HookMetrics,
    block_num: u32,
) {
    let installed = match ctx.store.installed_extensions().await {
        Ok(installed) => installed,
        Err(err) => {
            tracing::warn!(block_num, error = %err, "extension hooks: the extensions cannot be read");
            return;
        }
    };
    for installed in installed.iter().filter(|installed| installed.enabled) {
        let Ok(extension) = catalog.get(&installed.name) else {
            continue;
        };
        let labels = HookLabels {
            extension: installed.name.clone(),
        };
        metrics.calls.get_or_create(&labels).inc();
        let outcome = tokio::time::timeout(
            HOOK_TIMEOUT,
            extension.on_block(ctx, block_num, &installed.config),
        )
        .await;
        let failure = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(err)) => err.to_string(),
            Err(_) => format!("timed out after {} s", HOOK_TIMEOUT.as_secs()),
        };
        metrics.failures.get_or_create(&labels).inc();
        tracing::warn!(
            extension = installed.name,
            block_num,
            error = failure,
            "extension hook failed"
        );
    }
}
