//! `mono serve`: the instance as it runs in production. It serves on one address the GraphQL
//! API at `/v1/graphql` (see [`crate::api`]) and the platform's endpoints (`/health`, `/ready`,
//! `/status`, `/metrics`, see [`crate::server`]), and follows the chain into the store, as
//! `mono sync` does, while it holds the database's follower lock. With `--no-sync` it only
//! serves, reading a store another instance keeps in sync (an API-only replica).
//!
//! Replicas sharing a database all serve; one follows. A replica without the lock asks for it
//! every [`STANDBY_RETRY`] and meanwhile reads the chain's head and irreversible block, so its
//! `/ready` tells whether the shared store is current. It takes over within seconds of the
//! holder's death, whatever killed it. On SQLite the single process always holds the lock.
//!
//! SIGTERM or Ctrl-C commits the blocks already read and exits 0; a fatal follower error exits
//! non-zero so the platform restarts the instance.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use rand_core::RngCore;
use tokio::sync::watch;

use crate::api::{self, ApiConfig, ApiState, Secret};

use crate::antelope::keys::PrivateKey;
use crate::chain::api::{ApiOptions, ChainApi};
use crate::chain::push::Pusher;
use crate::chain::tls::TlsRoots;
use crate::cli::sync::{
    ConnectionArgs, Relay, metrics_server, open_store, parser_config, runtime, serve_http,
    serve_only, wait_for_signal,
};
use crate::cli::{BadInput, BadInputExt, Outcome};
use crate::desktop;
use crate::extensions::HookContext;
use crate::extensions::hooks::{self, HookMetrics};
use crate::mail::{Mailer, SmtpMailer};
use crate::parser::{self, Metrics, Mode, ParserConfig, Stopped};
use crate::server::{self, ServerState};
use crate::store::Store;
use crate::store::follower_lock::FollowerLock;

/// How often a replica without the follower lock asks for it.
pub const STANDBY_RETRY: Duration = Duration::from_secs(2);
/// How often the holder checks that the lock's connection still answers.
const LOCK_CHECK: Duration = Duration::from_secs(5);

/// `mono serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// File of settings, one `MONO_NAME=value` per line with the environment's names; flags
    /// and the environment take precedence over it.
    #[arg(long, env = "MONO_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Address of the HTTP endpoints and the API.
    #[arg(long, env = "MONO_LISTEN", default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// File holding the key of access tokens (at least 32 bytes). Replicas serving one
    /// cooperative share it; without it a random key lives as long as the process.
    #[arg(long, env = "MONO_JWT_SECRET_FILE")]
    jwt_secret_file: Option<PathBuf>,
    /// File holding the bearer credential of the service role (at least 32 bytes); without it
    /// no caller is the service.
    #[arg(long, env = "MONO_SERVICE_TOKEN_FILE")]
    service_token_file: Option<PathBuf>,
    /// Serve the API and the endpoints from the store without following the chain.
    #[arg(long, env = "MONO_NO_SYNC")]
    no_sync: bool,
    /// File holding the cooperative's active private key (`PVT_K1_…` or WIF), which signs the
    /// transactions of the API's mutations; without it those mutations answer `UNAVAILABLE`.
    #[arg(long, env = "MONO_COOPERATIVE_KEY_FILE")]
    cooperative_key_file: Option<PathBuf>,
    /// SMTP server sending key reset e-mail: `smtps://user:password@host` (TLS),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS) or `smtp://host:25` (plain, on a
    /// trusted network). Prefer the environment to the flag: the URL may hold a password.
    /// Without it `startResetKey` answers `UNAVAILABLE`.
    #[arg(long, env = "MONO_SMTP_URL", requires = "smtp_from")]
    smtp_url: Option<SmtpUrl>,
    /// The address key reset e-mail is sent from (`Кооператив <noreply@example.ru>`).
    #[arg(long, env = "MONO_SMTP_FROM", requires = "smtp_url")]
    smtp_from: Option<String>,
}

/// An SMTP URL, which may hold a password: printed as `***`.
#[derive(Clone)]
pub(super) struct SmtpUrl(String);

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::str::FromStr for SmtpUrl {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self(text.to_owned()))
    }
}

/// The mailer of `--smtp-url` and `--smtp-from`, when given.
fn mailer(args: &ServeArgs) -> anyhow::Result<Option<Arc<dyn Mailer>>> {
    smtp_mailer(args.smtp_url.as_ref(), args.smtp_from.as_deref())
}

/// The mailer sending through `url` from `from`, when both are given.
pub(super) fn smtp_mailer(
    url: Option<&SmtpUrl>,
    from: Option<&str>,
) -> anyhow::Result<Option<Arc<dyn Mailer>>> {
    let (Some(SmtpUrl(url)), Some(from)) = (url, from) else {
        return Ok(None);
    };
    let mailer = SmtpMailer::new(url, from).map_err(|err| {
        anyhow::anyhow!(BadInput::new(format!("--smtp-url or --smtp-from: {err}")))
    })?;
    Ok(Some(Arc::new(mailer)))
}

/// The cooperative's pusher, when `--cooperative-key-file` is given.
fn cooperative(args: &ServeArgs, config: &ParserConfig) -> anyhow::Result<Option<Pusher>> {
    let Some(path) = &args.cooperative_key_file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).bad_input("reading --cooperative-key-file")?;
    let key: PrivateKey = text.trim().parse().map_err(|_| {
        anyhow::anyhow!(BadInput::new("--cooperative-key-file holds no private key"))
    })?;
    let roots = TlsRoots::new(config.ca_file.as_deref()).context("reading the chain CA file")?;
    let api = ChainApi::with_roots(&config.chain_api_url, config.api, &roots)
        .context("building the chain API client")?;
    Ok(Some(Pusher::new(api, config.filter.coopname(), key)))
}

/// The API's configuration from the flags: secrets read from their files.
fn api_config(args: &ServeArgs) -> anyhow::Result<ApiConfig> {
    let jwt_secret = match &args.jwt_secret_file {
        Some(path) => Secret::from_file(path).bad_input("reading --jwt-secret-file")?,
        None => {
            tracing::warn!(
                "no --jwt-secret-file: access tokens are signed with a key that dies with this process"
            );
            let mut key = vec![0_u8; 32];
            rand_core::OsRng.fill_bytes(&mut key);
            Secret::new(key)
        }
    };
    let service_token = args
        .service_token_file
        .as_deref()
        .map(Secret::from_file)
        .transpose()
        .bad_input("reading --service-token-file")?;
    Ok(ApiConfig::new(jwt_secret, service_token))
}

/// Runs `mono serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    let config = parser_config(&args.connection)?;
    let runtime = runtime()?;
    if let Some(path) = &args.config {
        tracing::info!(path = %path.display(), "settings read from the configuration file");
    }
    let api_config = api_config(&args)?;
    let cooperative = cooperative(&args, &config)?;
    let mailer = mailer(&args)?;
    runtime.block_on(async {
        let store = open_store(&args.connection.database).await?;
        let metrics = Metrics::default();
        let follower = Arc::new(AtomicBool::new(false));
        let mut api_state = ApiState::new(store.clone(), config.filter.coopname(), api_config);
        if let Some(pusher) = cooperative.clone() {
            api_state = api_state.with_cooperative(pusher);
        }
        if let Some(mailer) = mailer {
            api_state = api_state.with_mailer(mailer);
        }
        let hook_metrics = HookMetrics::default();
        let hook_context = HookContext {
            store: store.clone(),
            coopname: config.filter.coopname(),
            cooperative,
            clock: api_state.clock.clone(),
        };
        let catalog = api_state.extensions.clone();
        let routes = instance_router(
            &store,
            &metrics,
            &hook_metrics,
            api_state,
            config.mode,
            &follower,
        );
        let mut http = vec![(args.listen, routes)];
        http.extend(metrics_server(&args.connection, &metrics));
        if args.no_sync {
            return serve_only(&store, http).await.context("serving the API");
        }
        let mut servers = Vec::new();
        for (addr, routes) in http {
            servers.push(serve_http(addr, routes).await?);
        }
        let (stop, shutdown) = watch::channel(false);
        // The hooks run beside the follower of this process, on the blocks it commits.
        let hooks = tokio::spawn(hooks::run(
            hook_context,
            catalog,
            hook_metrics,
            follower.clone(),
            shutdown.clone(),
        ));
        let signals = tokio::spawn(async move {
            wait_for_signal().await;
            let _receiver_gone = stop.send(true);
        });
        let outcome = follow_while_holding(&store, &config, &metrics, &follower, shutdown).await;
        signals.abort();
        hooks.abort();
        for server in servers {
            server.abort();
        }
        store.close().await;
        match outcome? {
            Stopped::Shutdown => tracing::info!("stopped"),
            Stopped::Reached(block_num) => {
                tracing::info!(block_num, "reached the last block asked");
            }
        }
        Ok(Outcome::Success)
    })
}

/// Everything an instance answers on its address: the platform's endpoints, the API and the
/// desktop.
pub(crate) fn instance_router(
    store: &Store,
    metrics: &Metrics,
    hook_metrics: &HookMetrics,
    api_state: ApiState,
    mode: Mode,
    follower: &Arc<AtomicBool>,
) -> axum::Router {
    server::router(ServerState {
        store: store.clone(),
        metrics: metrics.clone(),
        api_metrics: api_state.metrics.clone(),
        hook_metrics: hook_metrics.clone(),
        mode,
        coopname: api_state.coopname,
        follower: follower.clone(),
        traffic: server::Traffic::default(),
    })
    .merge(api::http::router(api_state))
    .merge(desktop::router())
}

/// How one term as the follower ended.
enum Term {
    /// The follower stopped: shut down, reached the last block, or failed.
    Ended(anyhow::Result<Stopped>),
    /// The lock's connection broke; wait for the lock again.
    LockLost,
}

/// Waits for the follower lock, follows while holding it, and waits again when it is lost,
/// until `shutdown` or the follower stops.
async fn follow_while_holding(
    store: &Store,
    config: &ParserConfig,
    metrics: &Metrics,
    follower: &AtomicBool,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Stopped> {
    let roots = TlsRoots::new(config.ca_file.as_deref()).context("reading the chain CA file")?;
    // One quick attempt per retry: a standby must not stall on a chain that is away.
    let options = ApiOptions {
        max_attempts: 1,
        timeout: STANDBY_RETRY,
        ..config.api
    };
    let api = ChainApi::with_roots(&config.chain_api_url, options, &roots)
        .context("building the chain API client")?;
    loop {
        // Meanwhile the follower elsewhere commits; this replica's subscribers hear of it.
        let relay = Relay::start(store).await;
        let lock = wait_for_lock(store, metrics, &api, &mut shutdown).await;
        relay.stop().await;
        let Some(lock) = lock else {
            return Ok(Stopped::Shutdown);
        };
        tracing::info!("holding the follower lock: following the chain");
        follower.store(true, Ordering::Relaxed);
        let (term, lock) = follow_one_term(store, config, metrics, lock, &mut shutdown).await;
        follower.store(false, Ordering::Relaxed);
        lock.release().await;
        match term {
            Term::Ended(outcome) => return outcome,
            Term::LockLost => continue,
        }
    }
}

/// Asks for the lock every [`STANDBY_RETRY`] until it is taken (`None` on shutdown), keeping
/// the chain's position in `metrics` meanwhile.
async fn wait_for_lock(
    store: &Store,
    metrics: &Metrics,
    api: &ChainApi,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<FollowerLock> {
    let mut announced = false;
    loop {
        if *shutdown.borrow() {
            return None;
        }
        match store.try_follower_lock().await {
            Ok(Some(lock)) => return Some(lock),
            Ok(None) if !announced => {
                tracing::info!("another replica follows this database; serving and standing by");
                announced = true;
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "the follower lock cannot be asked for"),
        }
        match api.get_info().await {
            Ok(info) => {
                metrics.head_block.set(i64::from(info.head_block_num));
                metrics
                    .lib_block
                    .set(i64::from(info.last_irreversible_block_num));
            }
            Err(err) => tracing::debug!(error = %err, "standby: chain position unknown"),
        }
        tokio::select! {
            _ = shutdown.changed() => {}
            () = tokio::time::sleep(STANDBY_RETRY) => {}
        }
    }
}

/// Follows while `lock` holds; returns how the term ended and the lock to release.
async fn follow_one_term(
    store: &Store,
    config: &ParserConfig,
    metrics: &Metrics,
    mut lock: FollowerLock,
    shutdown: &mut watch::Receiver<bool>,
) -> (Term, FollowerLock) {
    let (stop, follower_shutdown) = watch::channel(false);
    let followed = parser::follow(store, config, metrics, follower_shutdown);
    tokio::pin!(followed);
    enum Event {
        Followed(Result<Stopped, parser::Error>),
        Lost(crate::store::follower_lock::Error),
        Shutdown,
    }
    let event = tokio::select! {
        outcome = &mut followed => Event::Followed(outcome),
        err = lock.lost(LOCK_CHECK) => Event::Lost(err),
        _ = shutdown.wait_for(|stop| *stop) => Event::Shutdown,
    };
    let term = match event {
        Event::Followed(outcome) => Term::Ended(outcome.context("following the chain")),
        Event::Lost(err) => {
            tracing::warn!(error = %err, "follower lock lost; the follower stops and waits for it");
            let _receiver_gone = stop.send(true);
            let _stopped = followed.await;
            Term::LockLost
        }
        Event::Shutdown => {
            let _receiver_gone = stop.send(true);
            Term::Ended(followed.await.context("following the chain"))
        }
    };
    (term, lock)
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use crate::cli::{Cli, Command};

    /// `mono devnet` and `mono serve` run side by side on one machine with their defaults.
    #[test]
    fn devnet_and_serve_listen_on_different_ports_by_default() {
        let Command::Devnet(devnet) = Cli::parse_from(["mono", "devnet", "--ephemeral"]).command
        else {
            panic!("devnet parses");
        };
        let serve = Cli::parse_from([
            "mono",
            "serve",
            "--database",
            "sqlite://mono.db",
            "--chain-api",
            "http://127.0.0.1:8888",
            "--ship",
            "ws://127.0.0.1:8070",
            "--coopname",
            "voskhod",
        ]);
        let Command::Serve(serve) = serve.command else {
            panic!("serve parses");
        };
        let devnet_ports = [devnet.http.port(), devnet.ship.port()];
        assert!(
            !devnet_ports.contains(&serve.listen.port()),
            "{devnet_ports:?}"
        );
    }
}
