//! `mono demo`: the main job on its embedded defaults, end to end on one machine.
//!
//! It starts a development chain in-process (0.5 s blocks, the demo cooperative `voskhod` with
//! its council), acts as the cooperative's client over the Chain API (reads the registrator's
//! ABI from the chain, signs `registrator::adduser` transactions with the cooperative's key and
//! pushes them), then follows the chain over SHiP into an SQLite store until those blocks are
//! irreversible, and prints one JSON report: what was pushed, what the store holds, and the
//! cooperative's participants as of the block before the pushes and as of the last one.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, anyhow, bail};
use clap::Args;
use rand_core::OsRng;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::{BadInput, Outcome, print_json};
use crate::antelope::keys::PrivateKey;
use crate::antelope::name::Name;
use crate::antelope::time::TimePointSec;
use crate::chain::api::{ApiOptions, ChainApi};
use crate::chain::push::{JsonAction, Pusher};
use crate::cli::sync::open_store;
use crate::devnet::bootstrap::Role;
use crate::devnet::{self, DevnetConfig, ProductionMode, Ready, Storage};
use crate::parser::{self, DEFAULT_CONTRACTS, Filter, Metrics, ParserConfig, Stopped};
use crate::store::Store;

const REGISTRATOR: Name = Name::from_str_const("registrator");
const ADDUSER: Name = Name::from_str_const("adduser");
/// Longest the demo waits for the follower to store the pushed blocks.
const SYNC_DEADLINE: Duration = Duration::from_secs(120);

/// `mono demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Database to sync into; it must be empty. Default: a new SQLite file in a new directory
    /// under the system's temporary directory, kept for `mono status --database …`.
    #[arg(long, env = "MONO_DATABASE_URL")]
    database: Option<String>,
    /// Members the cooperative adds, one transaction each.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    members: u32,
}

/// Runs `mono demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<Outcome> {
    crate::telemetry::init();
    let database = match args.database {
        Some(url) => url,
        None => default_database()?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(demo(&database, args.members))?;
    print_json(&report);
    Ok(Outcome::Success)
}

/// A fresh SQLite file in a new directory under the temporary directory.
fn default_database() -> anyhow::Result<String> {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("reading the clock")?
        .as_millis();
    let dir: PathBuf =
        std::env::temp_dir().join(format!("mono-demo-{stamp}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(format!("sqlite://{}", dir.join("mono.sqlite").display()))
}

async fn demo(database: &str, members: u32) -> anyhow::Result<Value> {
    let store = open_store(database).await?;
    if store
        .cursor()
        .await
        .context("reading the cursor")?
        .is_some()
    {
        return Err(anyhow!(BadInput::new(
            "the demo syncs a new chain and needs an empty database"
        )));
    }
    let devnet = devnet::start(DevnetConfig {
        http: ([127, 0, 0, 1], 0).into(),
        ship: ([127, 0, 0, 1], 0).into(),
        storage: Storage::Ephemeral,
        production: ProductionMode::Interval,
        block_interval: Duration::from_millis(500),
        lib_lag: 1,
        bootstrap: None,
    })
    .await
    .context("starting the development chain")?;
    let ready = devnet.ready().clone();
    let outcome = run_against(&ready, &store, members).await;
    store.close().await;
    devnet
        .stop()
        .await
        .context("stopping the development chain")?;
    let mut report = outcome?;
    report["database"] = json!(database);
    Ok(report)
}

/// Pushes the members, follows the chain until they are stored, and reports.
async fn run_against(ready: &Ready, store: &Store, members: u32) -> anyhow::Result<Value> {
    let api = ChainApi::new(&ready.http, ApiOptions::default()).context("Chain API client")?;
    let pusher = Pusher::new(api, ready.coopname, cooperative_key(ready)?);
    let mut pushed = Vec::new();
    for _ in 0..members {
        let username = Name::random_user(&mut OsRng);
        let result = pusher
            .push(&[adduser(&pusher, ready.coopname, username).await?])
            .await
            .with_context(|| format!("pushing registrator::adduser of {username}"))?;
        let block_num = result
            .block_num
            .ok_or_else(|| anyhow!("the push of {username} reports no block number"))?;
        pushed.push((username, result.transaction_id.to_hex(), block_num));
    }
    let first_block = pushed.iter().map(|(_, _, block)| *block).min().unwrap_or(1);
    let last_block = pushed.iter().map(|(_, _, block)| *block).max().unwrap_or(1);

    let mut config = ParserConfig::new(
        &ready.ship,
        &ready.http,
        Filter::new(&DEFAULT_CONTRACTS, ready.coopname),
    );
    config.stop_after = Some(last_block);
    let (_stop, shutdown) = watch::channel(false);
    let followed = tokio::time::timeout(
        SYNC_DEADLINE,
        parser::follow(store, &config, &Metrics::default(), shutdown),
    )
    .await
    .context("waiting for the follower to store the pushed blocks")?
    .context("following the chain")?;
    if followed != Stopped::Reached(last_block) {
        bail!("the follower stopped before block {last_block}: {followed:?}");
    }

    let cursor = store
        .cursor()
        .await
        .context("reading the cursor")?
        .ok_or_else(|| anyhow!("the follower stored no block"))?;
    let counts = store.counts(None).await.context("counting events")?;
    let digest = store
        .events_digest(None)
        .await
        .context("computing the events digest")?;
    let coopname = ready.coopname.to_string();
    let participants = |block_num: u32| {
        let coopname = coopname.clone();
        async move {
            let rows = store
                .table_rows_at("soviet", &coopname, "participants", block_num)
                .await
                .with_context(|| format!("reading participants as of block {block_num}"))?;
            let mut names = Vec::new();
            for row in &rows {
                if let Some(value) = &row.record.value {
                    let value = value.to_value().context("reading a stored participant")?;
                    names.extend(value.get("username").cloned());
                }
            }
            anyhow::Ok(json!({ "block_num": block_num, "participants": names }))
        }
    };
    Ok(json!({
        "chain": { "chain_id": ready.chain_id.to_hex(), "http": ready.http, "ship": ready.ship },
        "coopname": ready.coopname,
        "pushed": pushed
            .iter()
            .map(|(username, trx_id, block_num)| json!({
                "action": "registrator::adduser",
                "username": username,
                "trx_id": trx_id,
                "block_num": block_num,
            }))
            .collect::<Vec<_>>(),
        "store": {
            "cursor_block": cursor.block_num,
            "cursor_id": hex::encode(cursor.block_id),
            "lib": cursor.lib,
            "blocks": counts.blocks,
            "actions": counts.actions,
            "deltas": counts.deltas,
            "events_digest": digest,
        },
        "before": participants(first_block.saturating_sub(1)).await?,
        "after": participants(last_block).await?,
    }))
}

/// The cooperative's private key from the devnet's bootstrap.
fn cooperative_key(ready: &Ready) -> anyhow::Result<PrivateKey> {
    let account = ready
        .accounts
        .iter()
        .find(|account| account.role == Role::Cooperative)
        .ok_or_else(|| anyhow!("the devnet bootstrap has no cooperative account"))?;
    account
        .private_key()?
        .ok_or_else(|| anyhow!("the devnet bootstrap has no key for {}", account.name))
}

/// `registrator::adduser` of `username` by the cooperative, created at the head block's time.
async fn adduser(pusher: &Pusher, coopname: Name, username: Name) -> anyhow::Result<JsonAction> {
    let info = pusher.api().get_info().await.context("reading get_info")?;
    let head_secs = u32::try_from(info.head_block_time.as_micros() / 1_000_000)
        .map_err(|_| anyhow!("head block time {} is out of range", info.head_block_time))?;
    Ok(JsonAction::new(
        REGISTRATOR,
        ADDUSER,
        json!({
            "coopname": coopname,
            "referer": "",
            "username": username,
            "type": "individual",
            "created_at": TimePointSec::from_secs(head_secs),
            "initial": "100.0000 RUB",
            "minimum": "300.0000 RUB",
            "spread_initial": true,
            "meta": "",
            "registration_hash": hex::encode(sha2_digest(username)),
        }),
    ))
}

/// The registration hash MONO derives for a member added directly: SHA-256 of the username.
fn sha2_digest(username: Name) -> [u8; 32] {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(username.to_string().as_bytes()).into()
}
