//! Logging set-up for the `mono` binary's long-running commands.
//!
//! Logs go to stderr so stdout stays machine-readable; the filter comes from `RUST_LOG`
//! (default `info`); lines are human-readable on a terminal and JSON otherwise (in a cluster).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. A second call (another command in the same process, as in
/// tests) keeps the first subscriber.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _already_set = if std::io::stderr().is_terminal() {
        builder.try_init()
    } else {
        builder.json().try_init()
    };
}
