//! `mono devnet`: a COOPOS-compatible development chain.
//!
//! It speaks the Chain API v1 and the SHiP websocket protocol of Leap 5 nodes, produces blocks
//! with nodeos ids and TaPoS values, validates transactions as nodeos does and runs the
//! contracts MONO relies on natively. It is a development and test tool, never a production
//! chain: one producer, no consensus, no WASM.
//!
//! Resources follow a simple, deterministic model: an account that never rented CPU and NET
//! through `eosio::powerup` is unlimited, as before; one that did gets the rented capacity for
//! the rental's days, is billed the CPU and NET of every transaction it pays for (the first
//! authorizer of the first action, as in the block's resource usage deltas), and `get_account`
//! reports its `used`, `available` and `max`. Usage never decays and nothing is refused for lack
//! of resources; the model is in [`contracts::system`].
//!
//! Architecture invariant: the chain (`chain`, `block`, `state`, `validate`, `contracts`) is a
//! pure state machine that takes the clock as an argument; only `node` (clock, lock, block
//! log), `http`, `ship` and this module's runner do I/O.

pub mod block;
pub mod blocklog;
pub mod bootstrap;
pub mod chain;
pub mod contracts;
pub mod deltas;
pub mod error;
#[cfg(test)]
mod fixtures;
pub mod http;
pub mod node;
pub mod ship;
pub mod state;
pub mod validate;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt as _;
use rand_core::OsRng;
use serde::Serialize;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::antelope::abi::Abi;
use crate::antelope::checksum::Checksum256;
use crate::antelope::name::Name;
use crate::antelope::time::{BlockTimestamp, TimePointSec};
use crate::antelope::transaction::{Action, PermissionLevel, Tapos, Transaction};
use crate::devnet::blocklog::{BlockLog, BlockLogError};
use crate::devnet::bootstrap::{
    Bootstrap, BootstrapAccount, BootstrapError, DEMO_COOPNAME, SetupAction,
};
use crate::devnet::chain::{Chain, ChainConfig, SignedInput};
use crate::devnet::contracts::Contracts;
use crate::devnet::error::ChainError;
use crate::devnet::node::Node;
use crate::devnet::state::ACTIVE;

const BOOTSTRAP_FILE: &str = "bootstrap.json";
const BLOCK_LOG_FILE: &str = "blocks.log";

/// Why the devnet could not start or stopped.
#[derive(Debug, Error)]
pub enum DevnetError {
    /// A listener could not be bound.
    #[error("binding {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The data directory or a bootstrap file could not be read or written.
    #[error("accessing {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The bootstrap is unusable.
    #[error("loading the bootstrap")]
    Bootstrap(#[from] BootstrapError),
    /// The block log is unreadable.
    #[error("reading the block log")]
    BlockLog(#[from] BlockLogError),
    /// The chain could not be created or replayed.
    #[error("building the chain")]
    Chain(#[from] ChainError),
    /// A set-up action of the demo cooperative failed.
    #[error("setting up the cooperative: {contract}::{action}")]
    Setup {
        /// Contract.
        contract: Name,
        /// Action.
        action: Name,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The ready line could not be written as JSON.
    #[error("printing the ready line")]
    Print(#[source] serde_json::Error),
    /// A server failed.
    #[error("serving {what}")]
    Serve {
        /// Which server.
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// How blocks are produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProductionMode {
    /// One block every `--block-interval-ms`.
    Interval,
    /// Only when asked through `POST /v1/devnet/produce_block` (for tests).
    Manual,
    /// Back to back, as fast as the machine allows, each block with synthetic cooperative
    /// traffic (new members of the demo cooperative), to build long histories.
    Fast,
}

/// Run a COOPOS-compatible development chain: Chain API v1 and SHiP like a Leap 5 node.
///
/// A development and test tool, not a production chain: one producer, no consensus, no WASM
/// (the cooperative contracts are emulated natively), no resource limits. It prints one JSON
/// line with its endpoints, chain id and the genesis accounts' keys when ready.
#[derive(Debug, Clone, clap::Args)]
pub struct DevnetArgs {
    /// Address of the Chain API v1 (HTTP); port 0 picks a free port.
    #[arg(long, env = "MONO_DEVNET_HTTP", default_value = "127.0.0.1:8888")]
    pub http: SocketAddr,
    /// Address of the SHiP websocket; port 0 picks a free port.
    #[arg(long, env = "MONO_DEVNET_SHIP", default_value = "127.0.0.1:8070")]
    pub ship: SocketAddr,
    /// Directory that keeps the chain across restarts (bootstrap and block log).
    #[arg(
        long,
        env = "MONO_DEVNET_DATA",
        required_unless_present = "ephemeral",
        conflicts_with = "ephemeral"
    )]
    pub data: Option<PathBuf>,
    /// Keep the chain in memory only; it is gone when the process stops.
    #[arg(long, env = "MONO_DEVNET_EPHEMERAL")]
    pub ephemeral: bool,
    /// Milliseconds between blocks in the interval mode.
    #[arg(long, env = "MONO_DEVNET_BLOCK_INTERVAL_MS", default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
    pub block_interval_ms: u64,
    /// How blocks are produced.
    #[arg(long, env = "MONO_DEVNET_PRODUCTION", value_enum, default_value_t = ProductionMode::Interval)]
    pub production: ProductionMode,
    /// Blocks between the head and the last irreversible block (1 on COOPOS).
    #[arg(long, env = "MONO_DEVNET_LIB_LAG", default_value_t = 1)]
    pub lib_lag: u32,
    /// Bootstrap JSON to create the chain from, instead of fresh keys; ignored when the data
    /// directory already holds a chain.
    #[arg(long, env = "MONO_DEVNET_BOOTSTRAP")]
    pub bootstrap: Option<PathBuf>,
}

/// Where the chain is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// In memory only.
    Ephemeral,
    /// In this directory.
    Directory(PathBuf),
}

/// Resolved settings of a devnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevnetConfig {
    /// Chain API address.
    pub http: SocketAddr,
    /// SHiP address.
    pub ship: SocketAddr,
    /// Where the chain is kept.
    pub storage: Storage,
    /// How blocks are produced.
    pub production: ProductionMode,
    /// Interval between blocks in [`ProductionMode::Interval`].
    pub block_interval: Duration,
    /// LIB = head − `lib_lag`.
    pub lib_lag: u32,
    /// Bootstrap file for a new chain.
    pub bootstrap: Option<PathBuf>,
}

impl From<DevnetArgs> for DevnetConfig {
    fn from(args: DevnetArgs) -> Self {
        Self {
            http: args.http,
            ship: args.ship,
            storage: match args.data {
                Some(dir) if !args.ephemeral => Storage::Directory(dir),
                _ => Storage::Ephemeral,
            },
            production: args.production,
            block_interval: Duration::from_millis(args.block_interval_ms),
            lib_lag: args.lib_lag,
            bootstrap: args.bootstrap,
        }
    }
}

/// The line printed when the devnet is ready: where to reach it and the genesis accounts.
#[derive(Debug, Clone, Serialize)]
pub struct Ready {
    /// Chain id.
    pub chain_id: Checksum256,
    /// Chain API base URL.
    pub http: String,
    /// SHiP websocket URL.
    pub ship: String,
    /// Demo cooperative.
    pub coopname: Name,
    /// Genesis accounts with keys and roles.
    pub accounts: Vec<BootstrapAccount>,
}

impl Ready {
    /// The genesis accounts that hold contracts: what a follower of this devnet tracks.
    pub fn contracts(&self) -> Vec<Name> {
        self.accounts
            .iter()
            .filter(|account| account.role == bootstrap::Role::Contract)
            .map(|account| account.name)
            .collect()
    }
}

/// A started devnet; [`RunningDevnet::stop`] shuts it down cleanly.
#[derive(Debug)]
pub struct RunningDevnet {
    ready: Ready,
    node: Arc<Node>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<Result<(), DevnetError>>,
}

impl RunningDevnet {
    /// Where it listens and what it was bootstrapped with.
    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    /// The shared node, for in-process tools such as benchmarks.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// Stops producing and serving, waiting for the servers to finish.
    pub async fn stop(mut self) -> Result<(), DevnetError> {
        let _receivers = self.shutdown.send(true);
        let mut result = Ok(());
        while let Some(joined) = self.tasks.join_next().await {
            if let Ok(Err(error)) = joined {
                result = Err(error);
            }
        }
        result
    }
}

/// Runs a devnet until `shutdown` completes; prints the [`Ready`] line on stdout once serving.
pub async fn run(
    config: DevnetConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DevnetError> {
    let running = start(config).await?;
    let line = serde_json::to_string(running.ready()).map_err(DevnetError::Print)?;
    println!("{line}");
    shutdown.await;
    running.stop().await
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        // Without a Ctrl-C handler the process still stops on SIGTERM.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Builds the chain (replaying the data directory if any), binds both servers and starts
/// block production.
pub async fn start(config: DevnetConfig) -> Result<RunningDevnet, DevnetError> {
    let bootstrap = load_bootstrap(&config)?;
    let chain_config = ChainConfig {
        chain_id: bootstrap.chain_id(),
        lib_lag: config.lib_lag,
        producer_key: bootstrap.producer_key()?,
    };
    let mut chain = Chain::new(
        chain_config,
        Contracts::with_cooperative(),
        bootstrap.genesis_accounts(),
        bootstrap.genesis_time,
    )?;
    let log = match &config.storage {
        Storage::Ephemeral => None,
        Storage::Directory(dir) => {
            let (log, blocks) = BlockLog::open(&dir.join(BLOCK_LOG_FILE))?;
            for block in &blocks {
                chain.replay_block(block)?;
            }
            tracing::info!(head = chain.head_num(), "devnet chain replayed");
            Some(log)
        }
    };
    let fresh = chain.head_num() == 1;
    let coopname = bootstrap.coopname;
    let accounts = bootstrap.accounts.clone();
    let node = Arc::new(Node::new(chain, log, bootstrap));
    if fresh {
        set_up_cooperative(&node)?;
    }

    let http_listener = bind(config.http).await?;
    let ship_listener = bind(config.ship).await?;
    let http_addr = local_addr(&http_listener, config.http)?;
    let ship_addr = local_addr(&ship_listener, config.ship)?;
    let (shutdown, shutdown_rx) = watch::channel(false);

    let mut tasks = JoinSet::new();
    let http_app = http::router(Arc::clone(&node));
    let mut http_stop = shutdown_rx.clone();
    tasks.spawn(async move {
        axum::serve(http_listener, http_app)
            .with_graceful_shutdown(async move {
                let _changed = http_stop.changed().await;
            })
            .await
            .map_err(|source| DevnetError::Serve {
                what: "the Chain API",
                source,
            })
    });
    let ship_app = ship::router(Arc::clone(&node), shutdown_rx.clone());
    let mut ship_stop = shutdown_rx.clone();
    // Results are small and flow-controlled by acknowledgements; Nagle's algorithm would hold
    // them back by the client's delayed-ACK time.
    let ship_listener = ship_listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!(error = %err, "cannot disable Nagle's algorithm on a SHiP connection");
        }
    });
    tasks.spawn(async move {
        axum::serve(ship_listener, ship_app)
            .with_graceful_shutdown(async move {
                let _changed = ship_stop.changed().await;
            })
            .await
            .map_err(|source| DevnetError::Serve {
                what: "SHiP",
                source,
            })
    });
    if config.production != ProductionMode::Manual {
        tasks.spawn(produce(
            Arc::clone(&node),
            config.production,
            config.block_interval,
            shutdown_rx,
        ));
    }
    let ready = Ready {
        chain_id: node.read(|chain| *chain.chain_id()),
        http: format!("http://{http_addr}"),
        ship: format!("ws://{ship_addr}"),
        coopname,
        accounts,
    };
    tracing::info!(http = %ready.http, ship = %ready.ship, "devnet ready");
    Ok(RunningDevnet {
        ready,
        node,
        shutdown,
        tasks,
    })
}

/// Synthetic transactions pushed before each block in [`ProductionMode::Fast`].
const FAST_TRANSACTIONS_PER_BLOCK: u64 = 10;

/// Pushes the demo cooperative's set-up actions and the project's document templates and
/// produces them in block 2.
fn set_up_cooperative(node: &Node) -> Result<(), DevnetError> {
    let mut actions = node.bootstrap().cooperative_setup();
    actions.extend(
        node.bootstrap()
            .template_setup()
            .map_err(|error| DevnetError::Setup {
                contract: Name::from_str_const("draft"),
                action: Name::from_str_const("createdraft"),
                source: error.into(),
            })?,
    );
    if actions.is_empty() {
        return Ok(());
    }
    for setup in &actions {
        push_setup_action(node, setup)?;
    }
    node.produce()?;
    Ok(())
}

/// Signs `setup` with its actor's bootstrap key and pushes it into the pending block.
fn push_setup_action(node: &Node, setup: &SetupAction) -> Result<(), DevnetError> {
    let bootstrap = node.bootstrap();
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| DevnetError::Setup {
        contract: setup.contract,
        action: setup.action,
        source,
    };
    let key = bootstrap
        .accounts
        .iter()
        .find(|account| account.name == setup.actor)
        .map(BootstrapAccount::private_key)
        .transpose()
        .map_err(|error| fail(error.into()))?
        .flatten()
        .ok_or_else(|| fail(format!("no private key for {}", setup.actor).into()))?;
    let data = node
        .read(|chain| {
            let contract = chain.contracts().get(setup.contract)?;
            let abi = Abi::from_def(contract.abi()).ok()?;
            let type_name = abi.action_type(setup.action)?.to_owned();
            Some(abi.encode(&type_name, &setup.data))
        })
        .ok_or_else(|| fail("the contract or its ABI has no such action".into()))?
        .map_err(|error| fail(error.into()))?;
    let action = Action {
        account: setup.contract,
        name: setup.action,
        authorization: vec![PermissionLevel {
            actor: setup.actor,
            permission: ACTIVE,
        }],
        data,
    };
    let (tapos, head_secs) = node.read(|chain| {
        let head = chain.head();
        let secs = head.block.header.timestamp.to_time_point().as_micros() / 1_000_000;
        (
            Tapos::from_block_id(&head.id),
            u32::try_from(secs).unwrap_or(u32::MAX),
        )
    });
    let expiration = TimePointSec::from_secs(head_secs.saturating_add(120));
    let trx = Transaction::new(expiration, tapos, vec![action]);
    let signed = trx
        .sign(&bootstrap.chain_id(), [&key])
        .map_err(|error| fail(error.into()))?;
    let input = SignedInput {
        signatures: signed.signatures,
        packed_trx: signed.transaction.pack(),
    };
    node.push(&input).map_err(|error| fail(error.into()))?;
    Ok(())
}

/// Pushes the synthetic cooperative traffic of the next block: new members of the demo
/// cooperative, numbered from the block number so names never repeat.
///
/// # Errors
/// [`DevnetError::Setup`] when a transaction is refused.
pub fn push_synthetic_traffic(node: &Node) -> Result<(), DevnetError> {
    let (next_block, created_at) = node.read(|chain| {
        let head = chain.head();
        let secs = head.block.header.timestamp.to_time_point().as_micros() / 1_000_000;
        (
            u64::from(chain.head_num()) + 1,
            TimePointSec::from_secs(u32::try_from(secs).unwrap_or(0)),
        )
    });
    for idx in 0..FAST_TRANSACTIONS_PER_BLOCK {
        let setup = node
            .bootstrap()
            .synthetic_member(next_block * FAST_TRANSACTIONS_PER_BLOCK + idx, created_at);
        push_setup_action(node, &setup)?;
    }
    Ok(())
}

async fn produce(
    node: Arc<Node>,
    mode: ProductionMode,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), DevnetError> {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if mode == ProductionMode::Interval {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = shutdown.changed() => return Ok(()),
            }
        } else if *shutdown.borrow() {
            return Ok(());
        }
        let produced = {
            let node = Arc::clone(&node);
            tokio::task::spawn_blocking(move || {
                if mode == ProductionMode::Fast
                    && node.bootstrap().coopname == DEMO_COOPNAME
                    && let Err(error) = push_synthetic_traffic(&node)
                {
                    tracing::warn!(error = %error, "synthetic traffic skipped for this block");
                }
                node.produce()
            })
            .await
        };
        match produced {
            Ok(Ok(block_num)) => tracing::debug!(block_num, "block produced"),
            Ok(Err(error)) => return Err(DevnetError::Chain(error)),
            Err(join_error) => {
                tracing::error!(error = %join_error, "block production panicked");
                return Ok(());
            }
        }
        if mode == ProductionMode::Fast {
            tokio::task::yield_now().await;
        }
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, DevnetError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| DevnetError::Bind { addr, source })
}

fn local_addr(listener: &TcpListener, addr: SocketAddr) -> Result<SocketAddr, DevnetError> {
    listener
        .local_addr()
        .map_err(|source| DevnetError::Bind { addr, source })
}

/// The bootstrap: the data directory's if it has one, else the `--bootstrap` file, else fresh
/// keys; a new one is saved to the data directory.
fn load_bootstrap(config: &DevnetConfig) -> Result<Bootstrap, DevnetError> {
    let stored = match &config.storage {
        Storage::Directory(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| DevnetError::Io {
                path: dir.clone(),
                source,
            })?;
            let path = dir.join(BOOTSTRAP_FILE);
            path.exists().then(|| read_bootstrap(&path)).transpose()?
        }
        Storage::Ephemeral => None,
    };
    if let Some(bootstrap) = stored {
        return Ok(bootstrap);
    }
    let bootstrap = match &config.bootstrap {
        Some(path) => read_bootstrap(path)?,
        None => {
            let now = node::now();
            let genesis_time =
                BlockTimestamp::from_time_point(now).unwrap_or(BlockTimestamp::from_slot(0));
            Bootstrap::generate(&mut OsRng, genesis_time)
        }
    };
    if let Storage::Directory(dir) = &config.storage {
        let path = dir.join(BOOTSTRAP_FILE);
        let text = serde_json::to_string_pretty(&bootstrap).map_err(BootstrapError::from)?;
        std::fs::write(&path, text).map_err(|source| DevnetError::Io { path, source })?;
    }
    Ok(bootstrap)
}

fn read_bootstrap(path: &Path) -> Result<Bootstrap, DevnetError> {
    let text = std::fs::read_to_string(path).map_err(|source| DevnetError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(Bootstrap::from_json(&text)?)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        devnet: DevnetArgs,
    }

    fn parse(args: &[&str]) -> Result<DevnetConfig, clap::Error> {
        let argv = std::iter::once("devnet").chain(args.iter().copied());
        Cli::try_parse_from(argv).map(|cli| DevnetConfig::from(cli.devnet))
    }

    #[test]
    fn storage_is_a_directory_or_ephemeral_never_both() {
        let ephemeral = parse(&["--ephemeral", "--production", "manual"]).expect("parses");
        assert_eq!(ephemeral.storage, Storage::Ephemeral);
        assert_eq!(ephemeral.production, ProductionMode::Manual);
        assert_eq!(ephemeral.lib_lag, 1);
        assert_eq!(ephemeral.block_interval, Duration::from_millis(500));
        let kept = parse(&["--data", "chain", "--lib-lag", "5"]).expect("parses");
        assert_eq!(kept.storage, Storage::Directory(PathBuf::from("chain")));
        assert_eq!(kept.lib_lag, 5);
        assert!(parse(&["--data", "chain", "--ephemeral"]).is_err());
        assert!(parse(&[]).is_err());
        assert!(parse(&["--ephemeral", "--block-interval-ms", "0"]).is_err());
    }
}
