//! `mono sync` (follow the chain into the store until stopped) and `mono resync --from BLOCK`
//! (roll the store back to just before BLOCK, then follow again from there; when BLOCK is at or
//! below the first stored block, empty the store and rebuild it from scratch).
//!
//! SIGTERM or Ctrl-C commits the blocks already read and exits 0. Logs go to stderr: readable on
//! a terminal, JSON lines otherwise.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use tokio::sync::watch;

use crate::antelope::checksum::Checksum256;
use crate::antelope::name::Name;
use crate::chain::tls::TlsRoots;
use crate::cli::{BadInput, BadInputExt as _, Outcome};
use crate::parser::{self, DEFAULT_CONTRACTS, Filter, Metrics, Mode, ParserConfig, Stopped};
use crate::server;
use crate::store::{self, Store};

/// Where to read the chain and where to write, shared by `sync` and `resync`.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Database URL: `postgres://…` or `sqlite://PATH`.
    #[arg(long, env = "MONO_DATABASE_URL")]
    pub database: String,
    /// Chain API base URL of the node (`http://host:8888` or `https://…`).
    #[arg(long, env = "MONO_CHAIN_API")]
    pub chain_api: String,
    /// SHiP websocket URL of the node (`ws://host:8080` or `wss://…`).
    #[arg(long, env = "MONO_SHIP")]
    pub ship: String,
    /// The chain id the node must serve (64 hex characters); following stops with an error on
    /// a node of another chain.
    #[arg(long, env = "MONO_CHAIN_ID")]
    pub chain_id: Option<String>,
    /// PEM file of CA certificates trusted for `https://` and `wss://` besides the system's.
    #[arg(long, env = "MONO_CHAIN_CA_FILE")]
    pub chain_ca_file: Option<PathBuf>,
    /// The cooperative's account.
    #[arg(long, env = "MONO_COOPNAME")]
    pub coopname: String,
    /// Contract accounts to follow, comma-separated (default: the COOPOS production names).
    #[arg(long, env = "MONO_CONTRACTS", value_delimiter = ',')]
    pub contracts: Vec<String>,
    /// Follow the head and roll forks back, instead of irreversible blocks only.
    #[arg(long, env = "MONO_HEAD")]
    pub head: bool,
    /// First block to read when the store is empty.
    #[arg(long, env = "MONO_START_BLOCK", default_value_t = 1)]
    pub start_block: u32,
    /// Exit once this block is stored, instead of following forever.
    #[arg(long, env = "MONO_STOP_AFTER")]
    pub stop_after: Option<u32>,
    /// Most blocks committed in one transaction while catching up.
    #[arg(long, env = "MONO_BATCH_BLOCKS", default_value_t = 500)]
    pub batch_blocks: usize,
    /// Serve Prometheus metrics at `http://ADDR/metrics`.
    #[arg(long, env = "MONO_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

/// `mono sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// `mono resync`.
#[derive(Debug, Args)]
pub struct ResyncArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Rebuild from this block: every stored block from it on is removed first; at or below the
    /// first stored block the store is emptied and rebuilt from scratch.
    #[arg(long, env = "MONO_RESYNC_FROM")]
    from: u32,
}

/// Runs `mono sync`.
pub fn run_sync(args: SyncArgs) -> anyhow::Result<Outcome> {
    let config = parser_config(&args.connection)?;
    runtime()?.block_on(async {
        let store = open_store(&args.connection.database).await?;
        let metrics = Metrics::default();
        let http = metrics_server(&args.connection, &metrics);
        follow(&store, &config, &metrics, http).await
    })
}

/// Runs `mono resync`.
pub fn run_resync(args: ResyncArgs) -> anyhow::Result<Outcome> {
    let mut config = parser_config(&args.connection)?;
    if args.from == 0 {
        return Err(std::io::Error::other("block numbers start at 1")).bad_input("reading --from");
    }
    config.start_block = args.from;
    runtime()?.block_on(async {
        let store = open_store(&args.connection.database).await?;
        roll_back_for_resync(&store, args.from).await?;
        let metrics = Metrics::default();
        let http = metrics_server(&args.connection, &metrics);
        follow(&store, &config, &metrics, http).await
    })
}

/// Removes the stored blocks from `from` on: a rollback to block `from - 1`, or, when `from` is
/// at or below the first stored block, every block and the cursor.
async fn roll_back_for_resync(store: &Store, from: u32) -> anyhow::Result<()> {
    let Some(cursor) = store.cursor().await.context("reading the cursor")? else {
        return Ok(());
    };
    let target = from - 1;
    if cursor.block_num <= target {
        return Ok(());
    }
    let first = store
        .first_block_num()
        .await
        .context("reading the first stored block")?;
    if first.is_none_or(|first| from <= first) {
        store.reset().await.context("emptying the store")?;
        tracing::info!(block_num = from, "store emptied for resync from scratch");
        return Ok(());
    }
    let Some(block) = store
        .block(target)
        .await
        .with_context(|| format!("reading block {target}"))?
    else {
        bail!("block {target} is not stored, so the store cannot be rolled back to it");
    };
    store
        .rollback_to(target, &block.block_id)
        .await
        .with_context(|| format!("rolling back to block {target}"))?;
    tracing::info!(block_num = target, "rolled back for resync");
    Ok(())
}

pub(crate) fn parser_config(args: &ConnectionArgs) -> anyhow::Result<ParserConfig> {
    let coopname: Name = args.coopname.parse().bad_input("reading --coopname")?;
    let contracts = if args.contracts.is_empty() {
        DEFAULT_CONTRACTS.to_vec()
    } else {
        args.contracts
            .iter()
            .map(|name| name.trim().parse::<Name>())
            .collect::<Result<Vec<_>, _>>()
            .bad_input("reading --contracts")?
    };
    if !(args.ship.starts_with("ws://") || args.ship.starts_with("wss://")) {
        return Err(BadInput::new(format!(
            "--ship {:?} is not a ws:// or wss:// URL",
            args.ship
        ))
        .into());
    }
    if !(args.chain_api.starts_with("http://") || args.chain_api.starts_with("https://")) {
        return Err(BadInput::new(format!(
            "--chain-api {:?} is not an http:// or https:// URL",
            args.chain_api
        ))
        .into());
    }
    let mut config = ParserConfig::new(
        &args.ship,
        &args.chain_api,
        Filter::new(&contracts, coopname),
    );
    config.chain_id = args
        .chain_id
        .as_deref()
        .map(str::parse::<Checksum256>)
        .transpose()
        .bad_input("reading --chain-id")?;
    // Read now so a bad file is reported as bad input before anything starts.
    TlsRoots::new(args.chain_ca_file.as_deref()).bad_input("reading --chain-ca-file")?;
    config.ca_file.clone_from(&args.chain_ca_file);
    config.mode = if args.head {
        Mode::Head
    } else {
        Mode::Irreversible
    };
    config.start_block = args.start_block;
    config.stop_after = args.stop_after;
    config.batch_blocks = args.batch_blocks;
    Ok(config)
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    crate::telemetry::init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub(crate) async fn open_store(url: &str) -> anyhow::Result<Store> {
    match Store::open(url).await {
        Ok(store) => Ok(store),
        Err(err @ (store::Error::UnsupportedUrl { .. } | store::Error::InvalidUrl { .. })) => {
            Err(err).bad_input("opening the database")
        }
        Err(err) => Err(err).context("opening the database"),
    }
}

/// `/metrics` on `--metrics-addr`, when given.
pub(crate) fn metrics_server(
    args: &ConnectionArgs,
    metrics: &Metrics,
) -> Vec<(SocketAddr, axum::Router)> {
    args.metrics_addr
        .map(|addr| (addr, server::metrics_router(metrics.clone())))
        .into_iter()
        .collect()
}

/// Follows the chain into `store` until stopped, serving each of `http` (an address and its
/// routes) meanwhile.
pub(crate) async fn follow(
    store: &Store,
    config: &ParserConfig,
    metrics: &Metrics,
    http: Vec<(SocketAddr, axum::Router)>,
) -> anyhow::Result<Outcome> {
    let mut servers = Vec::new();
    for (addr, routes) in http {
        servers.push(serve_http(addr, routes).await?);
    }
    let (stop, shutdown) = watch::channel(false);
    let signals = tokio::spawn(async move {
        wait_for_signal().await;
        let _receiver_gone = stop.send(true);
    });
    let outcome = parser::follow(store, config, metrics, shutdown).await;
    signals.abort();
    for server in servers {
        server.abort();
    }
    store.close().await;
    match outcome.context("following the chain")? {
        Stopped::Shutdown => tracing::info!("stopped"),
        Stopped::Reached(block_num) => tracing::info!(block_num, "reached the last block asked"),
    }
    Ok(Outcome::Success)
}

/// Serves each of `http` without following the chain, until SIGTERM or Ctrl-C: an API-only
/// replica reading a store another instance keeps in sync.
pub(crate) async fn serve_only(
    store: &Store,
    http: Vec<(SocketAddr, axum::Router)>,
) -> anyhow::Result<Outcome> {
    let mut servers = Vec::new();
    for (addr, routes) in http {
        servers.push(serve_http(addr, routes).await?);
    }
    let relay = Relay::start(store).await;
    wait_for_signal().await;
    relay.stop().await;
    for server in servers {
        server.abort();
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(Outcome::Success)
}

/// How often a process that does not follow looks for blocks another one committed.
const RELAY_POLL: Duration = Duration::from_millis(500);

/// Registry notifications for the API's subscribers while another process writes the store
/// (see [`Store::relay_commits`]).
pub(crate) struct Relay {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Starts telling `store`'s subscribers of other processes' commits after the cursor now
    /// (from the first commit seen when the cursor cannot be read).
    pub(crate) async fn start(store: &Store) -> Self {
        let from = store.cursor().await.unwrap_or_else(|err| {
            tracing::warn!(error = %err, "registry notifications start without the cursor");
            None
        });
        let (stop, shutdown) = watch::channel(false);
        let store = store.clone();
        let task =
            tokio::spawn(async move { store.relay_commits(from, RELAY_POLL, shutdown).await });
        Self { stop, task }
    }

    /// Stops, once the poll under way is told.
    pub(crate) async fn stop(self) {
        let _receiver_gone = self.stop.send(true);
        if let Err(err) = self.task.await {
            tracing::warn!(error = %err, "registry notifications stopped abnormally");
        }
    }
}

/// Serves `routes` on `addr` until the returned task is aborted.
pub(crate) async fn serve_http(
    addr: SocketAddr,
    routes: axum::Router,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    Ok(bind_http(addr, routes).await?.1)
}

/// Serves `routes` on `addr` from a spawned task; returns the bound address (the port chosen
/// when `addr` asks for port 0) and the task.
pub(crate) async fn bind_http(
    addr: SocketAddr,
    routes: axum::Router,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the HTTP address {addr}"))?;
    let bound = listener
        .local_addr()
        .with_context(|| format!("reading the address bound for {addr}"))?;
    tracing::info!(addr = %bound, "serving HTTP");
    let task = tokio::spawn(async move {
        // The client's address reaches handlers, for per-address rate limits.
        let service = routes.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(err) = axum::serve(listener, service).await {
            tracing::error!(error = %err, "HTTP server stopped");
        }
    });
    Ok((bound, task))
}

/// Resolves on SIGTERM or Ctrl-C.
pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _interrupted = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _interrupted = tokio::signal::ctrl_c().await;
    }
}
