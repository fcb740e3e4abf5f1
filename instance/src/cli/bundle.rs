//! `mono export --out DIR` and `mono import --from DIR`: the cooperative as a portable bundle
//! (see [`crate::bundle`]), to move an instance to another cluster, cloud or database backend.
//!
//! Export prints the manifest it wrote; import prints what it did. Both show a progress bar on
//! a terminal and plain progress lines otherwise (on stderr). A broken bundle, a wrong
//! passphrase, a bundle of another cooperative or chain, a directory that already holds an
//! export, or a target store holding other data is bad input (exit 2).

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::{BadInputExt as _, Outcome, print_json, read_input_file};
use crate::bundle::{self, Error, ExportOptions, ImportOptions, Passphrase, Progress};
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
    /// A file whose text is the passphrase that encrypts personal data and documents.
    #[arg(long, env = "MONO_EXPORT_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Leave the chain events out; the importing instance rebuilds them by resync.
    #[arg(long)]
    without_events: bool,
    /// The cooperative, recorded in the manifest.
    #[arg(long, env = "MONO_COOPNAME")]
    coopname: Option<String>,
    /// The chain id (hex), recorded in the manifest.
    #[arg(long, env = "MONO_CHAIN_ID")]
    chain_id: Option<String>,
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
    /// A file whose text is the bundle's passphrase.
    #[arg(long, env = "MONO_EXPORT_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// This instance's cooperative: a bundle of another is refused.
    #[arg(long, env = "MONO_COOPNAME")]
    coopname: Option<String>,
    /// This instance's chain id: a bundle of another chain is refused.
    #[arg(long, env = "MONO_CHAIN_ID")]
    chain_id: Option<String>,
    /// Import a bundle of another cooperative or chain anyway.
    #[arg(long)]
    force: bool,
}

/// Runs `mono export`.
pub fn run_export(args: ExportArgs) -> anyhow::Result<Outcome> {
    let options = ExportOptions {
        coopname: args.coopname.clone(),
        chain_id: args.chain_id.clone(),
        with_events: !args.without_events,
        passphrase: passphrase(args.key_file.as_deref())?,
    };
    let bar = Bar::new("export");
    let manifest = runtime()?.block_on(async {
        let store = open_store(&args.database).await?;
        let outcome = bundle::export(&store, &args.out, &options, &|step| bar.show(step)).await;
        store.close().await;
        classify(outcome, || format!("exporting into {}", args.out.display()))
    })?;
    bar.finish();
    print_json(&serde_json::to_value(&manifest).context("printing the manifest")?);
    Ok(Outcome::Success)
}

/// Runs `mono import`.
pub fn run_import(args: ImportArgs) -> anyhow::Result<Outcome> {
    let options = ImportOptions {
        coopname: args.coopname.clone(),
        chain_id: args.chain_id.clone(),
        force: args.force,
        passphrase: passphrase(args.key_file.as_deref())?,
    };
    let bar = Bar::new("import");
    let report = runtime()?.block_on(async {
        let store = open_store(&args.database).await?;
        let outcome = bundle::import(&store, &args.from, &options, &|step| bar.show(step)).await;
        store.close().await;
        classify(outcome, || {
            format!("importing from {}", args.from.display())
        })
    })?;
    bar.finish();
    print_json(&serde_json::to_value(&report).context("printing the report")?);
    Ok(Outcome::Success)
}

fn passphrase(key_file: Option<&Path>) -> anyhow::Result<Option<Passphrase>> {
    let Some(path) = key_file else {
        return Ok(None);
    };
    let text = String::from_utf8(read_input_file(path)?)
        .bad_input(format!("reading {} as text", path.display()))?;
    Passphrase::from_file_text(&text)
        .map(Some)
        .bad_input(format!("reading the passphrase from {}", path.display()))
}

/// Tags errors caused by the bundle, the passphrase or the directory as bad input.
fn classify<T>(outcome: bundle::Result<T>, doing: impl Fn() -> String) -> anyhow::Result<T> {
    match outcome {
        Ok(value) => Ok(value),
        Err(
            err @ (Error::AlreadyExported { .. }
            | Error::EmptyStore
            | Error::BadManifest { .. }
            | Error::FileMismatch { .. }
            | Error::BadLine { .. }
            | Error::PassphraseRequired { .. }
            | Error::WrongPassphrase { .. }
            | Error::OtherCooperative { .. }
            | Error::OtherChain { .. }
            | Error::StoreHoldsOtherData { .. }
            | Error::StoreHoldsOtherRecords),
        ) => Err(err).bad_input(doing()),
        Err(err) => Err(err).with_context(doing),
    }
}

/// Steps between two plain progress lines.
const LINE_EVERY: u64 = 10_000;

/// Progress on stderr: a bar on a terminal, a line every [`LINE_EVERY`] blocks or records
/// otherwise.
pub(crate) struct Bar {
    what: &'static str,
    bar: Option<ProgressBar>,
    /// The unit counted and the count at the last line or bar reset.
    last: Mutex<(&'static str, u64)>,
}

impl Bar {
    pub(crate) fn new(what: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{msg} {bar:40} {pos}/{len}, {per_sec}, {eta} left")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            what,
            bar,
            last: Mutex::new(("", 0)),
        }
    }

    pub(crate) fn show(&self, step: Progress) {
        let mut last = self.last.lock().unwrap_or_else(|err| err.into_inner());
        let new_part = last.0 != step.unit;
        match &self.bar {
            Some(bar) => {
                if new_part {
                    // Rates and the time left start over with each part.
                    bar.reset();
                    bar.set_message(format!("{} {}", self.what, step.unit));
                    *last = (step.unit, 0);
                }
                bar.set_length(step.total);
                bar.set_position(step.done);
            }
            None => {
                if new_part || step.done >= last.1 + LINE_EVERY || step.done == step.total {
                    *last = (step.unit, step.done);
                    eprintln!("{}: {}/{} {}", self.what, step.done, step.total, step.unit);
                }
            }
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
