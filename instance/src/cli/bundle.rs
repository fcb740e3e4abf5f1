//! `mono export --out DIR` and `mono import --from DIR`: the store as a portable bundle (see
//! [`crate::bundle`]), to move an instance to another cluster or another database backend.
//!
//! Export prints the manifest it wrote; import prints what it did. A broken bundle, a directory
//! that already holds an export, or a target store holding other data is bad input (exit 2).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::{BadInputExt as _, Outcome, print_json};
use crate::bundle::{self, Error};
use crate::cli::sync::{open_store, runtime};

/// `mono export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Database URL: `postgres://…` or `sqlite://PATH`.
    #[arg(long, env = "MONO_DATABASE_URL")]
    database: String,
    /// Directory to write the bundle into (created when missing; must not hold an export).
    #[arg(long)]
    out: PathBuf,
}

/// `mono import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Database URL of the target store: empty, or left by an interrupted import of the same
    /// bundle.
    #[arg(long, env = "MONO_DATABASE_URL")]
    database: String,
    /// Directory holding the bundle.
    #[arg(long)]
    from: PathBuf,
}

/// Runs `mono export`.
pub fn run_export(args: ExportArgs) -> anyhow::Result<Outcome> {
    let manifest = runtime()?.block_on(async {
        let store = open_store(&args.database).await?;
        let outcome = bundle::export(&store, &args.out).await;
        store.close().await;
        classify(outcome, || format!("exporting into {}", args.out.display()))
    })?;
    print_json(&serde_json::to_value(&manifest).context("printing the manifest")?);
    Ok(Outcome::Success)
}

/// Runs `mono import`.
pub fn run_import(args: ImportArgs) -> anyhow::Result<Outcome> {
    let report = runtime()?.block_on(async {
        let store = open_store(&args.database).await?;
        let outcome = bundle::import(&store, &args.from).await;
        store.close().await;
        classify(outcome, || {
            format!("importing from {}", args.from.display())
        })
    })?;
    print_json(&serde_json::to_value(&report).context("printing the report")?);
    Ok(Outcome::Success)
}

/// Tags errors caused by the bundle or the directory as bad input.
fn classify<T>(outcome: bundle::Result<T>, doing: impl Fn() -> String) -> anyhow::Result<T> {
    match outcome {
        Ok(value) => Ok(value),
        Err(
            err @ (Error::AlreadyExported { .. }
            | Error::EmptyStore
            | Error::BadManifest { .. }
            | Error::FileMismatch { .. }
            | Error::BadLine { .. }
            | Error::StoreHoldsOtherData { .. }),
        ) => Err(err).bad_input(doing()),
        Err(err) => Err(err).with_context(doing),
    }
}
