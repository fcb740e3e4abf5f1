//! Latency percentiles of the benchmarks.

use std::time::Duration;

/// p50, p99 and max of `samples`, in milliseconds.
pub fn percentiles(samples: &mut [Duration]) -> (f64, f64, f64) {
    samples.sort_unstable();
    let at = |fraction: f64| {
        let idx = ((samples.len() as f64 * fraction).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[idx].as_secs_f64() * 1000.0
    };
    (at(0.50), at(0.99), at(1.0))
}
