//! The API's Prometheus metrics: requests, latency and errors per operation (the root field
//! asked for, so labels are bounded by the schema, never chosen by clients), with the prefix
//! `mono_api_`.

use std::sync::Arc;
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{ServerResult, Value};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of per-operation metrics: `[("operation", name)]`.
type OperationLabels = Vec<(String, String)>;

/// Latency buckets in seconds: registry queries should answer in milliseconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Metrics of the API; cheap to clone (the values are shared).
#[derive(Debug, Clone)]
pub struct ApiMetrics {
    /// Operations run, by operation.
    pub requests: Family<OperationLabels, Counter>,
    /// Operations that answered with an error, by operation.
    pub errors: Family<OperationLabels, Counter>,
    /// Time to resolve an operation, by operation.
    pub latency: Family<OperationLabels, Histogram, fn() -> Histogram>,
}

impl Default for ApiMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            errors: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
        }
    }
}

impl ApiMetrics {
    /// Registers every metric in `registry` (give it the `mono` prefix).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "api_requests",
            "GraphQL operations run, by operation",
            self.requests.clone(),
        );
        registry.register(
            "api_errors",
            "GraphQL operations that answered with an error, by operation",
            self.errors.clone(),
        );
        registry.register(
            "api_latency_seconds",
            "Time to resolve a GraphQL operation, by operation",
            self.latency.clone(),
        );
    }

    /// Records one run of `operation` that took `seconds`.
    pub fn observe(&self, operation: &str, seconds: f64, failed: bool) {
        let labels = vec![("operation".to_owned(), operation.to_owned())];
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(seconds);
        if failed {
            self.errors.get_or_create(&labels).inc();
        }
    }
}

/// The schema extension timing each root field.
#[derive(Debug, Clone)]
pub struct MetricsExtension(pub ApiMetrics);

impl ExtensionFactory for MetricsExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Extension for MetricsExtension {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.path_node.parent.is_some() || info.is_for_introspection {
            return next.run(ctx, info).await;
        }
        // Names come from the schema's own root fields, so the label set stays bounded.
        let operation = info.name.to_owned();
        let started = Instant::now();
        let result = next.run(ctx, info).await;
        self.0
            .observe(&operation, started.elapsed().as_secs_f64(), result.is_err());
        result
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;

    use super::*;

    #[test]
    fn operations_are_counted_timed_and_failures_counted() {
        let metrics = ApiMetrics::default();
        metrics.observe("getAccounts", 0.003, false);
        metrics.observe("getAccounts", 0.2, true);
        let mut registry = Registry::with_prefix("mono");
        metrics.register(&mut registry);
        let mut text = String::new();
        encode(&mut text, &registry).expect("encodes");
        assert!(
            text.contains("mono_api_requests_total{operation=\"getAccounts\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("mono_api_errors_total{operation=\"getAccounts\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("mono_api_latency_seconds_count{operation=\"getAccounts\"} 2"),
            "{text}"
        );
    }
}
