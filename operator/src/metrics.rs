//! The operator's Prometheus metrics, served in OpenMetrics text on `/metrics`.
//!
//! Labels stay low-cardinality: error kinds from [`Error::metric_label`] and phases, never
//! cooperative names.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use mono_crds::Phase;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::Error;

/// Label of `mono_operator_reconcile_errors_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// [`Error::metric_label`] of the failure.
    pub error: &'static str,
}

/// Label of `mono_operator_cooperatives`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabels {
    /// [`Phase::as_str`].
    pub phase: &'static str,
}

/// Every metric of the operator and the registry that serves them.
pub struct Metrics {
    registry: Registry,
    reconciliations: Counter,
    errors: Family<ErrorLabels, Counter>,
    duration: Histogram,
    cooperatives: Family<PhaseLabels, Gauge>,
    /// Last known phase of each Cooperative (by `namespace/name`), to count them by phase.
    phases: Mutex<HashMap<String, Phase>>,
}

/// Measures one reconcile; records its duration when dropped.
pub struct ReconcileTimer<'a> {
    metrics: &'a Metrics,
    started: Instant,
}

impl Metrics {
    /// Registers every metric under the `mono_operator` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("mono_operator");
        let reconciliations = Counter::default();
        registry.register(
            "reconciliations",
            "Reconciles of Cooperatives started",
            reconciliations.clone(),
        );
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "reconcile_errors",
            "Reconciles that failed, by kind of error",
            errors.clone(),
        );
        let duration = Histogram::new([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0]);
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconcile of a Cooperative took",
            duration.clone(),
        );
        let cooperatives = Family::<PhaseLabels, Gauge>::default();
        registry.register(
            "cooperatives",
            "Cooperatives by phase",
            cooperatives.clone(),
        );
        for phase in Phase::ALL {
            cooperatives
                .get_or_create(&PhaseLabels {
                    phase: phase.as_str(),
                })
                .set(0);
        }
        Metrics {
            registry,
            reconciliations,
            errors,
            duration,
            cooperatives,
            phases: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a reconcile and starts timing it.
    pub fn reconcile_started(&self) -> ReconcileTimer<'_> {
        self.reconciliations.inc();
        ReconcileTimer {
            metrics: self,
            started: Instant::now(),
        }
    }

    /// Counts a failed reconcile.
    pub fn reconcile_failed(&self, err: &Error) {
        self.errors
            .get_or_create(&ErrorLabels {
                error: err.metric_label(),
            })
            .inc();
    }

    /// Records the phase of the Cooperative `key`, or forgets it when `None` (deleted).
    pub fn set_phase(&self, key: &str, phase: Option<Phase>) {
        let mut phases = self
            .phases
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match phase {
            Some(phase) => phases.insert(key.to_owned(), phase),
            None => phases.remove(key),
        };
        for candidate in Phase::ALL {
            let count = phases.values().filter(|p| **p == candidate).count();
            self.cooperatives
                .get_or_create(&PhaseLabels {
                    phase: candidate.as_str(),
                })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }

    /// The metrics in OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Drop for ReconcileTimer<'_> {
    fn drop(&mut self) {
        self.metrics
            .duration
            .observe(self.started.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
        text.lines()
            .find(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
    }

    #[test]
    fn counts_reconciles_errors_and_phases() {
        let metrics = Metrics::new();
        drop(metrics.reconcile_started());
        drop(metrics.reconcile_started());
        metrics.reconcile_failed(&Error::MissingObjectKey("metadata.namespace"));
        metrics.set_phase("a/a", Some(Phase::Running));
        metrics.set_phase("b/b", Some(Phase::Running));
        metrics.set_phase("c/c", Some(Phase::Degraded));
        metrics.set_phase("b/b", Some(Phase::Upgrading));
        metrics.set_phase("c/c", None);
        let text = metrics.encode();
        let cases = [
            (
                "mono_operator_reconciliations_total ",
                "mono_operator_reconciliations_total 2",
            ),
            (
                "mono_operator_reconcile_errors_total{",
                "mono_operator_reconcile_errors_total{error=\"missing_object_key\"} 1",
            ),
            (
                "mono_operator_reconcile_duration_seconds_count",
                "mono_operator_reconcile_duration_seconds_count 2",
            ),
            (
                "mono_operator_cooperatives{phase=\"Running\"}",
                "mono_operator_cooperatives{phase=\"Running\"} 1",
            ),
            (
                "mono_operator_cooperatives{phase=\"Upgrading\"}",
                "mono_operator_cooperatives{phase=\"Upgrading\"} 1",
            ),
            (
                "mono_operator_cooperatives{phase=\"Degraded\"}",
                "mono_operator_cooperatives{phase=\"Degraded\"} 0",
            ),
        ];
        for (prefix, expected) in cases {
            assert_eq!(line(&text, prefix), expected);
        }
    }
}
