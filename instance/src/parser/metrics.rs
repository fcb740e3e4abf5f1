//! The follower's Prometheus metrics, prefixed `mono_`.
//!
//! Rates are exported twice: as counters (`…_total`, for `rate()` in Prometheus) and as gauges
//! averaged over the last progress interval, for a quick look at `/metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// Error labels: `[("kind", label)]`.
type ErrorLabels = Vec<(String, String)>;

/// Metrics of one follower; cheap to clone (the values are shared).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    /// Chain head block as last reported by the node.
    pub head_block: Gauge,
    /// Last irreversible block as last reported by the node.
    pub lib_block: Gauge,
    /// Last block committed to the store.
    pub processed_block: Gauge,
    /// Blocks between the processed block and the followed target (LIB or head).
    pub lag_blocks: Gauge,
    /// Blocks committed.
    pub blocks: Counter,
    /// Actions committed.
    pub actions: Counter,
    /// Table deltas committed.
    pub deltas: Counter,
    /// Undecodable parts recorded.
    pub undecodable: Counter,
    /// Forks rolled back.
    pub forks: Counter,
    /// Failures by kind (the follower retried or stopped).
    pub errors: Family<ErrorLabels, Counter>,
    /// Blocks per second over the last progress interval.
    pub blocks_per_second: Gauge<f64, AtomicU64>,
    /// Actions per second over the last progress interval.
    pub actions_per_second: Gauge<f64, AtomicU64>,
}

impl Metrics {
    /// Registers every metric in `registry` (give it the `mono` prefix).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "chain_head_block",
            "Chain head block number",
            self.head_block.clone(),
        );
        registry.register(
            "chain_lib_block",
            "Last irreversible block number",
            self.lib_block.clone(),
        );
        registry.register(
            "parser_processed_block",
            "Last block committed to the store",
            self.processed_block.clone(),
        );
        registry.register(
            "parser_lag_blocks",
            "Blocks between the committed block and the followed target",
            self.lag_blocks.clone(),
        );
        registry.register("parser_blocks", "Blocks committed", self.blocks.clone());
        registry.register("parser_actions", "Actions committed", self.actions.clone());
        registry.register(
            "parser_deltas",
            "Table deltas committed",
            self.deltas.clone(),
        );
        registry.register(
            "parser_undecodable",
            "Undecodable parts recorded with their raw bytes",
            self.undecodable.clone(),
        );
        registry.register("parser_forks", "Forks rolled back", self.forks.clone());
        registry.register(
            "parser_errors",
            "Follower failures by kind",
            self.errors.clone(),
        );
        registry.register(
            "parser_blocks_per_second",
            "Blocks committed per second, recent average",
            self.blocks_per_second.clone(),
        );
        registry.register(
            "parser_actions_per_second",
            "Actions committed per second, recent average",
            self.actions_per_second.clone(),
        );
    }

    /// Counts one failure of `kind`.
    pub fn count_error(&self, kind: &str) {
        self.errors
            .get_or_create(&vec![("kind".to_owned(), kind.to_owned())])
            .inc();
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut registry = Registry::with_prefix("mono");
        self.register(&mut registry);
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _infallible = encode(&mut text, &registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prefixed_names() {
        let metrics = Metrics::default();
        metrics.blocks.inc_by(3);
        metrics.head_block.set(42);
        metrics.count_error("ship");
        let text = metrics.render();
        assert!(text.contains("mono_parser_blocks_total 3"), "{text}");
        assert!(text.contains("mono_chain_head_block 42"), "{text}");
        assert!(
            text.contains("mono_parser_errors_total{kind=\"ship\"} 1"),
            "{text}"
        );
    }
}
