//! The `mono` command line: argument types and one handler per subcommand.
//!
//! Handlers print machine-readable output (JSON on stdout) and return `anyhow` errors.
//! An error caused by what the caller passed (a malformed key, a missing file, JSON that does not
//! fit the ABI) is wrapped in [`BadInput`] so `main` can exit with code 2; anything else is a
//! runtime failure.

mod abi;
mod bundle;
pub mod config_file;
mod demo;
mod devnet;
mod document;
mod key;
mod migrate;
mod registry;
mod schema;
mod serve;
mod status;
mod sync;
mod trx;

use std::error::Error as StdError;
use std::fmt;
use std::io::Read;
use std::path::Path;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Exit code of a command whose answer is "no" (for example `key verify` on a bad signature).
pub const EXIT_NEGATIVE: u8 = 1;
/// Exit code of a command given bad input.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code of a command that failed while running (database, network, disk).
pub const EXIT_RUNTIME: u8 = 3;

/// MONO: one cooperative's private node next to the COOPOS chain.
#[derive(Debug, Parser)]
#[command(name = "mono", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands of `mono`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate K1 keys, derive public keys, sign, verify and recover.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Encode and decode values with a contract ABI.
    #[command(subcommand)]
    Abi(abi::AbiCommand),
    /// Compute a transaction's id, signing digest and packed form.
    #[command(subcommand)]
    Trx(trx::TrxCommand),
    /// Hash documents the way the chain's `document2` records them.
    #[command(subcommand)]
    Document(document::DocumentCommand),
    /// Serve a working demo cooperative on embedded defaults: a development chain, an instance
    /// on SQLite following it, and its API, seeded with a council, a member and an application.
    Demo(demo::DemoArgs),
    /// Run a COOPOS-compatible development chain (a development tool, not a production chain).
    Devnet(crate::devnet::DevnetArgs),
    /// Bring the database schema up to this version and exit.
    Migrate(migrate::MigrateArgs),
    /// Run the instance: follow the chain into the store and serve the GraphQL API at
    /// `/v1/graphql`, `/health`, `/ready`, `/status` and `/metrics` (SIGTERM: finish the block,
    /// exit 0).
    Serve(serve::ServeArgs),
    /// Print the GraphQL API's schema (SDL).
    Schema(schema::SchemaArgs),
    /// Follow the chain into the store until stopped (SIGTERM: finish the block, exit 0).
    Sync(sync::SyncArgs),
    /// Roll the store back to before a block, then follow again from there.
    Resync(sync::ResyncArgs),
    /// Print the store's cursor, event counts and events digest as JSON.
    Status(status::StatusArgs),
    /// Registries for operators: digest, verify, show.
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// Write the store into a directory as a bundle another instance can import.
    Export(bundle::ExportArgs),
    /// Read a bundle written by `mono export` into an empty store.
    Import(bundle::ImportArgs),
}

/// What a finished command asks `main` to exit with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code 0.
    Success,
    /// A well-formed question answered "no": exit code [`EXIT_NEGATIVE`].
    Negative,
}

/// Marks an error as caused by the caller's input; `main` exits with [`EXIT_BAD_INPUT`].
#[derive(Debug)]
pub struct BadInput(anyhow::Error);

impl BadInput {
    /// Bad input described by a message alone, for checks the command line makes itself.
    pub fn new(message: impl fmt::Display + fmt::Debug + Send + Sync + 'static) -> Self {
        Self(anyhow::Error::msg(message))
    }
}

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl StdError for BadInput {}

/// Extension that tags a result's error as bad input, with context saying what was wrong.
pub trait BadInputExt<T> {
    /// Wraps the error in [`BadInput`] after adding `context`.
    fn bad_input(self, context: impl fmt::Display + Send + Sync + 'static) -> anyhow::Result<T>;
}

impl<T, E> BadInputExt<T> for Result<T, E>
where
    E: StdError + Send + Sync + 'static,
{
    fn bad_input(self, context: impl fmt::Display + Send + Sync + 'static) -> anyhow::Result<T> {
        self.map_err(|err| anyhow::Error::new(BadInput(anyhow::Error::new(err).context(context))))
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Key(command) => key::run(command),
        Command::Abi(command) => abi::run(command),
        Command::Trx(command) => trx::run(command),
        Command::Document(command) => document::run(command),
        Command::Demo(args) => demo::run(args),
        Command::Devnet(args) => devnet::run(args),
        Command::Migrate(args) => migrate::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Export(args) => bundle::run_export(args),
        Command::Import(args) => bundle::run_import(args),
        Command::Sync(args) => sync::run_sync(args),
        Command::Resync(args) => sync::run_resync(args),
        Command::Status(args) => status::run(args),
        Command::Registry(command) => registry::run(command),
    }
}

/// The exit code for a failed command: [`EXIT_BAD_INPUT`] when any error in the chain is
/// [`BadInput`], [`EXIT_RUNTIME`] otherwise.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    if err.chain().any(|cause| cause.is::<BadInput>()) {
        EXIT_BAD_INPUT
    } else {
        EXIT_RUNTIME
    }
}

/// Prints a value as one line of JSON on stdout.
fn print_json(value: &serde_json::Value) {
    println!("{value}");
}

/// Reads a file named on the command line; a missing or unreadable file is bad input.
fn read_input_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).bad_input(format!("reading {}", path.display()))
}

/// The argument's text, or all of stdin when the argument is absent.
fn argument_or_stdin(argument: Option<String>) -> anyhow::Result<String> {
    match argument {
        Some(text) => Ok(text),
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading standard input")?;
            Ok(text)
        }
    }
}
