//! The `mono` command line: argument types and one handler per subcommand.
//!
//! Handlers print machine-readable output (JSON on stdout) and return `anyhow` errors; `main.rs`
//! maps error classes to exit codes.
