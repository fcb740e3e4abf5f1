//! `mono demo`: a working cooperative on one command.
//!
//! It starts a development chain in-process (0.5 s blocks, the demo cooperative `voskhod` with
//! its council), an instance on SQLite that follows it, and the instance's API and endpoints on
//! `--listen`. On a new data directory it writes the cooperative's own records, installs the
//! `qrpay` extension paying into the cooperative's bank account, and then seeds the cooperative
//! through the API as its clients would (see [`crate::demo::seed`]): one applicant is admitted
//! by the council, a second one's paid application waits on the agenda.
//! When ready it prints one JSON line with the addresses, the database and the demo accounts
//! with their keys, and serves until SIGTERM or Ctrl-C.
//!
//! `--smtp-url` and `--smtp-from` send key reset e-mail as `mono serve` does.
//!
//! `--data DIR` keeps the chain, the database and the demo accounts in `DIR`, so a second run
//! serves the same cooperative on; without it they live in a new temporary directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, anyhow};
use clap::Args;
use rand_core::{OsRng, RngCore as _};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::watch;

use super::sync::{bind_http, open_store, runtime, wait_for_signal};
use super::{BadInput, Outcome};
use crate::antelope::keys::PrivateKey;
use crate::antelope::name::Name;
use crate::api::{ApiConfig, ApiState, Secret};
use crate::chain::api::{ApiOptions, ChainApi};
use crate::chain::push::Pusher;
use crate::cli::serve::{SmtpUrl, instance_router, smtp_mailer};
use crate::demo::client::Member;
use crate::demo::records;
use crate::demo::seed::{self, Applicant, Cooperative};
use crate::devnet::bootstrap::Role;
use crate::devnet::{self, DevnetConfig, ProductionMode, Ready, Storage};
use crate::extensions::hooks::{self, HookMetrics};
use crate::extensions::{self, HookContext, qrpay};
use crate::factory::templates;
use crate::mail::Mailer;
use crate::parser::{self, DEFAULT_CONTRACTS, Filter, Metrics, Mode, ParserConfig, Stopped};
use crate::store::Store;

/// The file in the data directory naming the seeded demo accounts and their keys; written
/// last, so its presence means the cooperative is seeded.
const ACCOUNTS_FILE: &str = "accounts.json";
/// The chain's directory inside the data directory.
const CHAIN_DIR: &str = "chain";
/// The database's file inside the data directory.
const DATABASE_FILE: &str = "mono.sqlite";
/// Login attempts allowed per account and per address per minute.
const DEMO_LOGINS_PER_MINUTE: u32 = 600;

/// `mono demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address of the API, the desktop and the endpoints.
    #[arg(long, env = "MONO_LISTEN", default_value = "127.0.0.1:2998")]
    listen: SocketAddr,
    /// Directory keeping the demo's chain, database and accounts across runs. Default: a new
    /// directory under the system's temporary directory.
    #[arg(long)]
    data: Option<PathBuf>,
    /// SMTP server sending key reset e-mail, as `mono serve --smtp-url` takes it. Without it
    /// `startResetKey` answers `UNAVAILABLE`.
    #[arg(long, env = "MONO_SMTP_URL", requires = "smtp_from")]
    smtp_url: Option<SmtpUrl>,
    /// The address key reset e-mail is sent from.
    #[arg(long, env = "MONO_SMTP_FROM", requires = "smtp_url")]
    smtp_from: Option<String>,
}

/// One seeded account as the ready line and the accounts file name it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DemoAccount {
    username: Name,
    role: String,
    private_key: String,
}

/// Runs `mono demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<Outcome> {
    let data = match args.data {
        Some(dir) => dir,
        None => temporary_dir()?,
    };
    std::fs::create_dir_all(&data)
        .map_err(|err| anyhow!(BadInput::new(format!("creating {}: {err}", data.display()))))?;
    let mailer = smtp_mailer(args.smtp_url.as_ref(), args.smtp_from.as_deref())?;
    runtime()?.block_on(demo(args.listen, &data, mailer))?;
    Ok(Outcome::Success)
}

/// A new directory under the temporary directory.
fn temporary_dir() -> anyhow::Result<PathBuf> {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("reading the clock")?
        .as_millis();
    Ok(std::env::temp_dir().join(format!("mono-demo-{stamp}-{}", std::process::id())))
}

async fn demo(
    listen: SocketAddr,
    data: &Path,
    mailer: Option<Arc<dyn Mailer>>,
) -> anyhow::Result<()> {
    let seeded = read_accounts(data)?;
    let database = format!("sqlite://{}", data.join(DATABASE_FILE).display());
    let store = open_store(&database).await?;
    if seeded.is_none()
        && store
            .cursor()
            .await
            .context("reading the cursor")?
            .is_some()
    {
        return Err(anyhow!(BadInput::new(format!(
            "{} holds a demo whose seeding did not finish; remove the directory and run again",
            data.display()
        ))));
    }
    let devnet = devnet::start(DevnetConfig {
        http: ([127, 0, 0, 1], 0).into(),
        ship: ([127, 0, 0, 1], 0).into(),
        storage: Storage::Directory(data.join(CHAIN_DIR)),
        production: ProductionMode::Interval,
        block_interval: Duration::from_millis(500),
        lib_lag: 1,
        bootstrap: None,
    })
    .await
    .context("starting the development chain")?;
    let ready = devnet.ready().clone();
    let outcome = serve(listen, &ready, &store, &database, data, seeded, mailer).await;
    store.close().await;
    devnet
        .stop()
        .await
        .context("stopping the development chain")?;
    outcome
}

/// Serves the instance, seeds it when new, prints the ready line and serves until stopped.
async fn serve(
    listen: SocketAddr,
    ready: &Ready,
    store: &Store,
    database: &str,
    data: &Path,
    seeded: Option<Vec<DemoAccount>>,
    mailer: Option<Arc<dyn Mailer>>,
) -> anyhow::Result<()> {
    let chain = ChainApi::new(&ready.http, ApiOptions::default()).context("Chain API client")?;
    if seeded.is_none() {
        records::write(store, &ready.coopname.to_string(), COUNCIL, 1)
            .await
            .context("writing the cooperative's records")?;
    }
    let mut jwt_key = vec![0_u8; 32];
    OsRng.fill_bytes(&mut jwt_key);
    let mut api_config = ApiConfig::new(Secret::new(jwt_key), None);
    // Every client of a demo, its own seeding and a browser's alike, shares the loopback
    // address, which the per-address login limit would otherwise throttle as one client.
    api_config.logins_per_minute = DEMO_LOGINS_PER_MINUTE;
    let cooperative = Pusher::new(
        chain.clone(),
        ready.coopname,
        genesis_member(ready, Role::Cooperative)?.key,
    );
    let mut api_state = ApiState::new(store.clone(), ready.coopname, api_config)
        .with_cooperative(cooperative.clone());
    if let Some(mailer) = mailer {
        api_state = api_state.with_mailer(mailer);
    }
    if seeded.is_none() {
        // The demo shows payment by QR code into the cooperative's own bank account.
        extensions::install(
            store,
            &api_state.extensions,
            qrpay::NAME,
            true,
            Some(records::qrpay()),
            (api_state.clock)(),
        )
        .await
        .context("installing the qrpay extension")?;
    }
    let metrics = Metrics::default();
    let hook_metrics = HookMetrics::default();
    let follower = Arc::new(AtomicBool::new(true));
    let (stop, shutdown) = watch::channel(false);
    let hooks = tokio::spawn(hooks::run(
        HookContext {
            store: store.clone(),
            coopname: ready.coopname,
            cooperative: Some(cooperative),
            clock: api_state.clock.clone(),
        },
        api_state.extensions.clone(),
        hook_metrics.clone(),
        follower.clone(),
        shutdown.clone(),
    ));
    let routes = instance_router(
        store,
        &metrics,
        &hook_metrics,
        api_state,
        Mode::Irreversible,
        &follower,
    );
    let (address, server) = bind_http(listen, routes).await?;

    let config = ParserConfig::new(
        &ready.ship,
        &ready.http,
        Filter::new(&DEFAULT_CONTRACTS, ready.coopname),
    );
    let follow_store = store.clone();
    let follow_metrics = metrics.clone();
    let mut followed = tokio::spawn(async move {
        parser::follow(&follow_store, &config, &follow_metrics, shutdown).await
    });

    let graphql = format!("http://{address}/v1/graphql");
    let seeding = async {
        match seeded {
            Some(accounts) => Ok(accounts),
            None => {
                let accounts = seed(ready, &chain, &graphql).await?;
                write_accounts(data, &accounts)?;
                Ok(accounts)
            }
        }
    };
    let accounts: anyhow::Result<Vec<DemoAccount>> = tokio::select! {
        accounts = seeding => accounts,
        outcome = &mut followed => Err(follower_ended(outcome)),
    };
    let outcome = match accounts {
        Ok(accounts) => {
            let line = json!({
                "graphql": graphql,
                "desktop": format!("http://{address}/"),
                "chain_api": ready.http,
                "ship": ready.ship,
                "coopname": ready.coopname,
                "chain_id": ready.chain_id.to_hex(),
                "database": database,
                "data": data,
                "accounts": accounts,
            });
            println!("{line}");
            tokio::select! {
                () = wait_for_signal() => Ok(()),
                outcome = &mut followed => Err(follower_ended(outcome)),
            }
        }
        Err(err) => Err(err),
    };
    let _receiver_gone = stop.send(true);
    if !followed.is_finished() {
        let _stopped = followed.await;
    }
    hooks.abort();
    server.abort();
    outcome
}

/// Why the follower's task ending before the demo stops is an error.
fn follower_ended(
    outcome: Result<Result<Stopped, parser::Error>, tokio::task::JoinError>,
) -> anyhow::Error {
    match outcome {
        Ok(Ok(stopped)) => anyhow!("the follower stopped early: {stopped:?}"),
        Ok(Err(err)) => anyhow::Error::new(err).context("following the chain"),
        Err(err) => anyhow::Error::new(err).context("the follower's task failed"),
    }
}

/// The council's personal data: (username, first name, last name).
const COUNCIL: &[(&str, &str, &str)] = &[
    ("chairman", "Сергей", "Иванов"),
    ("member1", "Ольга", "Смирнова"),
    ("member2", "Андрей", "Кузнецов"),
];

/// The genesis accounts with `role`, as clients holding their keys.
fn genesis_members(ready: &Ready, role: Role) -> anyhow::Result<Vec<Member>> {
    ready
        .accounts
        .iter()
        .filter(|account| account.role == role)
        .map(|account| {
            let key = account
                .private_key()?
                .ok_or_else(|| anyhow!("the devnet bootstrap has no key for {}", account.name))?;
            Ok(Member {
                username: account.name,
                key,
            })
        })
        .collect()
}

/// The one genesis account with `role`.
fn genesis_member(ready: &Ready, role: Role) -> anyhow::Result<Member> {
    genesis_members(ready, role)?
        .pop()
        .ok_or_else(|| anyhow!("the devnet bootstrap has no {role:?} account"))
}

/// Seeds the cooperative through its API: one member admitted, one application on the agenda.
async fn seed(ready: &Ready, chain: &ChainApi, graphql: &str) -> anyhow::Result<Vec<DemoAccount>> {
    let api = mono_sdk::Client::new(graphql).context("building the API client")?;
    // The registries answer once the instance has stored its first block.
    seed::synced(&api, 1).await?;
    let chairman = genesis_member(ready, Role::Chairman)?;
    let council = genesis_members(ready, Role::Member)?;
    let cooperative = Cooperative {
        api: &api,
        chain,
        coopname: ready.coopname,
        chairman: &chairman,
        council: &council,
    };
    let (_, example) = templates::builtin_for(100)?.context("the application's template")?;
    let signature_image = example["signature"]
        .as_str()
        .context("the application's example has a signature image")?;
    let admitted = Member {
        username: "annaivanova1".parse()?,
        key: PrivateKey::generate(&mut OsRng),
    };
    let waiting = Member {
        username: "petrsidorov1".parse()?,
        key: PrivateKey::generate(&mut OsRng),
    };
    let decision = cooperative
        .apply(&Applicant {
            member: &admitted,
            first_name: "Анна",
            last_name: "Иванова",
            signature_image,
        })
        .await?;
    cooperative.admit(&admitted, decision, None).await?;
    cooperative
        .apply(&Applicant {
            member: &waiting,
            first_name: "Пётр",
            last_name: "Сидоров",
            signature_image,
        })
        .await?;

    let account = |member: &Member, role: &str| DemoAccount {
        username: member.username,
        role: role.to_owned(),
        private_key: member.key.to_string(),
    };
    let mut accounts = vec![account(&chairman, "chairman")];
    accounts.extend(council.iter().map(|member| account(member, "council")));
    accounts.push(account(&admitted, "member"));
    accounts.push(account(&waiting, "user"));
    Ok(accounts)
}

/// The seeded accounts of a previous run in `data`, if its seeding finished.
fn read_accounts(data: &Path) -> anyhow::Result<Option<Vec<DemoAccount>>> {
    let path = data.join(ACCOUNTS_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|err| anyhow!(BadInput::new(format!("reading {}: {err}", path.display())))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(anyhow!(BadInput::new(format!(
            "reading {}: {err}",
            path.display()
        )))),
    }
}

/// Writes the accounts file atomically, readable by its owner only: it holds demo keys.
fn write_accounts(data: &Path, accounts: &[DemoAccount]) -> anyhow::Result<()> {
    let path = data.join(ACCOUNTS_FILE);
    let partial = data.join(format!("{ACCOUNTS_FILE}.partial"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    std::io::Write::write_all(&mut file, &serde_json::to_vec_pretty(accounts)?)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, &path).with_context(|| format!("renaming to {}", path.display()))
}
