//! The operator's Prometheus metrics, served in OpenMetrics text on `/metrics`.
//!
//! Labels stay low-cardinality: error kinds from [`Error::metric_label`] and phases. The one
//! exception is usage metering, which is per cooperative by purpose: its gauges carry the
//! Cooperative's namespace and name, bounded by the number of Cooperatives, and go when the
//! Cooperative does.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use mono_crds::{CooperativeUsage, Phase};
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

/// Labels of the per-cooperative usage gauges.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CooperativeLabels {
    /// The Cooperative's namespace.
    pub namespace: String,
    /// The Cooperative's name.
    pub name: String,
}

/// Every metric of the operator and the registry that serves them.
pub struct Metrics {
    registry: Registry,
    storage_bytes: Family<CooperativeLabels, Gauge>,
    documents: Family<CooperativeLabels, Gauge>,
    api_requests: Family<CooperativeLabels, Gauge>,
    bytes_sent: Family<CooperativeLabels, Gauge>,
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
        let usage = |registry: &mut Registry, name: &str, help: &str| {
            let family = Family::<CooperativeLabels, Gauge>::default();
            registry.register(name, help, family.clone());
            family
        };
        let storage_bytes = usage(
            &mut registry,
            "cooperative_storage_bytes",
            "Bytes a cooperative's database takes, as its instance reported",
        );
        let documents = usage(
            &mut registry,
            "cooperative_documents",
            "Documents a cooperative's actions carried, as its instance reported",
        );
        let api_requests = usage(
            &mut registry,
            "cooperative_api_requests",
            "HTTP requests the answering instance replica served since it started",
        );
        let bytes_sent = usage(
            &mut registry,
            "cooperative_sent_bytes",
            "Response bytes the answering instance replica sent since it started",
        );
        Metrics {
            registry,
            storage_bytes,
            documents,
            api_requests,
            bytes_sent,
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

    /// Records the usage of the Cooperative `name` in `namespace`, or forgets it when `None`
    /// (deleted, or nothing reported yet).
    pub fn set_usage(&self, namespace: &str, name: &str, usage: Option<&CooperativeUsage>) {
        let labels = CooperativeLabels {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        let gauges = [
            (&self.storage_bytes, usage.map(|u| u.storage_bytes)),
            (&self.documents, usage.map(|u| u.documents)),
            (&self.api_requests, usage.map(|u| u.api_requests)),
            (&self.bytes_sent, usage.map(|u| u.bytes_sent)),
        ];
        for (family, value) in gauges {
            match value {
                Some(value) => {
                    family
                        .get_or_create(&labels)
                        .set(i64::try_from(value).unwrap_or(i64::MAX));
                }
                None => {
                    family.remove(&labels);
                }
            }
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

    #[test]
    fn usage_per_cooperative_until_it_goes() {
        let metrics = Metrics::new();
        let usage = CooperativeUsage {
            storage_bytes: 8_600_000,
            storage: "8.2Mi".to_owned(),
            documents: 12,
            api_requests: 340,
            bytes_sent: 91_000,
        };
        metrics.set_usage("coop-voskhod", "voskhod", Some(&usage));
        let text = metrics.encode();
        let labels = "{namespace=\"coop-voskhod\",name=\"voskhod\"}";
        for (metric, value) in [
            ("mono_operator_cooperative_storage_bytes", 8_600_000),
            ("mono_operator_cooperative_documents", 12),
            ("mono_operator_cooperative_api_requests", 340),
            ("mono_operator_cooperative_sent_bytes", 91_000),
        ] {
            let prefix = format!("{metric}{labels}");
            assert_eq!(line(&text, &prefix), format!("{prefix} {value}"));
        }
        metrics.set_usage("coop-voskhod", "voskhod", None);
        assert!(!metrics.encode().contains("coop-voskhod"));
    }
}
