//! Registry benchmark, on SQLite and PostgreSQL:
//!
//! - list queries at 10,000 members (`MONO_BENCH_MEMBERS`): the first page, a deep page (after
//!   the 9,000th member) and two filters, each run 300 times, reported as p50/p99;
//! - the time from a block's production to its changes being visible in the registries while
//!   the follower follows the head: a devnet producing a block with new members every 0.5 s,
//!   the follower in head mode, and the registry event of each block; 60 blocks, p50/p99/max.
//!
//! Run: `cargo bench -p mono-instance --bench registry`.

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use mono_instance::devnet::{
    DevnetConfig, ProductionMode, RunningDevnet, Storage, push_synthetic_traffic, start,
};
use mono_instance::parser::{Filter, Metrics, Mode, ParserConfig, follow};
use mono_instance::registry::PageRequest;
use mono_instance::registry::members::{self, MemberFilter};
use mono_instance::registry::projection::RegistryEvent;
use mono_instance::store::{BlockBatch, BlockRecord, DeltaRecord, JsonText, PrivateVersion, Store};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use support::TempPostgres;
use tokio::sync::watch;

const COOP: &str = "voskhod";
/// Members written per block.
const MEMBERS_PER_BLOCK: u32 = 100;
/// Runs of each list query.
const QUERY_RUNS: usize = 300;
/// Blocks timed while following the head.
const LATENCY_BLOCKS: u32 = 60;
/// The devnet's block interval.
const BLOCK_INTERVAL: Duration = Duration::from_millis(500);

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let members: u32 = std::env::var("MONO_BENCH_MEMBERS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(10_000);
    let sqlite_dir = tempfile::tempdir()?;
    let sqlite_url = format!("sqlite://{}", sqlite_dir.path().join("lists.db").display());
    lists("sqlite", &sqlite_url, members).await?;
    let postgres = TempPostgres::create().await?;
    let outcome = lists("postgres", &postgres.url, members).await;
    postgres.drop().await?;
    outcome?;

    let latency_url = format!("sqlite://{}", sqlite_dir.path().join("head.db").display());
    head_latency("sqlite", &latency_url).await?;
    let postgres = TempPostgres::create().await?;
    let outcome = head_latency("postgres", &postgres.url).await;
    postgres.drop().await?;
    outcome
}

/// A member's account name: `seq` in 12 letters.
fn username(seq: u32) -> String {
    let mut rest = seq;
    let mut letters = [b'a'; 12];
    for letter in letters.iter_mut().rev() {
        *letter = b'a' + u8::try_from(rest % 26).unwrap_or(0);
        rest /= 26;
    }
    String::from_utf8_lossy(&letters).into_owned()
}

/// Block `block_num`'s id, derived from its number.
fn block_id(block_num: u32) -> [u8; 32] {
    Sha256::digest(block_num.to_be_bytes()).into()
}

/// One contract row version as the decoder writes it.
fn delta(
    code: &str,
    scope: &str,
    table: &str,
    username: &str,
    value: serde_json::Value,
) -> DeltaRecord {
    let primary_key = username
        .parse::<mono_instance::antelope::name::Name>()
        .map(|name| name.as_u64())
        .unwrap_or_default();
    DeltaRecord {
        code: code.to_owned(),
        scope: scope.to_owned(),
        table_name: table.to_owned(),
        primary_key,
        present: true,
        payer: COOP.to_owned(),
        value: Some(JsonText::from_value(&value)),
        raw: Vec::new(),
        abi_hash: None,
    }
}

/// Writes `members` members (accounts, shareholder rows, personal data) into `store`,
/// [`MEMBERS_PER_BLOCK`] per block; a third are entrepreneurs, one in ten is blocked.
async fn fill(store: &Store, members: u32) -> anyhow::Result<u32> {
    let blocks = members.div_ceil(MEMBERS_PER_BLOCK);
    let mut batches = Vec::new();
    let mut private = Vec::new();
    for block_num in 1..=blocks {
        let mut batch = BlockBatch::new(
            BlockRecord {
                block_num,
                block_id: block_id(block_num),
                previous: block_id(block_num - 1),
                timestamp_ms: 1_750_000_000_000 + i64::from(block_num) * 500,
            },
            block_num,
        );
        let first = (block_num - 1) * MEMBERS_PER_BLOCK;
        for seq in first..(first + MEMBERS_PER_BLOCK).min(members) {
            let name = username(seq);
            let kind = if seq % 3 == 0 {
                "entrepreneur"
            } else {
                "individual"
            };
            let status = if seq % 10 == 0 { "blocked" } else { "accepted" };
            batch.deltas.push(delta(
                "registrator",
                "registrator",
                "accounts",
                &name,
                json!({"username": name, "referer": "", "registrator": COOP, "type": kind,
                       "status": "active", "meta": "", "storages": [], "verifications": [],
                       "registered_at": "2025-06-15T14:13:20"}),
            ));
            batch.deltas.push(delta(
                "soviet",
                COOP,
                "participants",
                &name,
                json!({"username": name, "created_at": "2025-06-15T14:13:20",
                       "last_update": "2025-06-15T14:13:20", "last_min_pay": "2025-06-15T14:13:20",
                       "status": status, "is_initial": true, "is_minimum": true, "has_vote": true,
                       "type": kind, "braname": "", "initial_amount": "100.0000 RUB",
                       "minimum_amount": "300.0000 RUB"}),
            ));
            private.push((
                kind.to_owned(),
                PrivateVersion {
                    key: name.clone(),
                    version: 1,
                    valid_from_block: block_num,
                    valid_to_block: None,
                    data: JsonText::from_value(&json!({"username": name, "first_name": "Иван",
                        "last_name": "Петров", "phone": "+79001234567"})),
                },
            ));
        }
        batches.push(batch);
    }
    for chunk in batches.chunks(20) {
        store.commit_blocks(chunk).await?;
    }
    store.import_private_versions(&private).await?;
    Ok(blocks)
}

/// p50, p99 and max of `samples`, in milliseconds.
fn percentiles(samples: &mut [Duration]) -> (f64, f64, f64) {
    samples.sort_unstable();
    let at = |fraction: f64| {
        let idx = ((samples.len() as f64 * fraction).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[idx].as_secs_f64() * 1000.0
    };
    (at(0.50), at(0.99), at(1.0))
}

async fn lists(backend: &str, url: &str, members: u32) -> anyhow::Result<()> {
    let store = Store::open(url).await?;
    let started = Instant::now();
    let head = fill(&store, members).await?;
    // The state autovacuum reaches within a minute of a bulk load, and an import at once.
    store.refresh_statistics().await?;
    println!(
        "{backend}: {members} members in {head} blocks written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let deep = PageRequest {
        after: Some(username(members * 9 / 10)),
        ..PageRequest::first(50)
    };
    let cases: [(&str, MemberFilter, PageRequest); 4] = [
        (
            "first page",
            MemberFilter::default(),
            PageRequest::first(50),
        ),
        ("deep page", MemberFilter::default(), deep),
        (
            "filter: entrepreneurs",
            MemberFilter {
                kind: Some("entrepreneur".to_owned()),
                participant_status: None,
            },
            PageRequest::first(50),
        ),
        (
            "filter: blocked shareholders",
            MemberFilter {
                kind: None,
                participant_status: Some("blocked".to_owned()),
            },
            PageRequest::first(50),
        ),
    ];
    for (name, filter, page) in cases {
        let mut samples = Vec::with_capacity(QUERY_RUNS);
        for _ in 0..QUERY_RUNS {
            let started = Instant::now();
            let read = members::list(&store, COOP, head, &filter, &page).await?;
            samples.push(started.elapsed());
            ensure!(
                read.items.len() == 50,
                "{name}: {} members",
                read.items.len()
            );
            ensure!(read.items.iter().all(|member| member.private.is_some()));
        }
        let (p50, p99, max) = percentiles(&mut samples);
        println!(
            "{backend}: members {name} (50 of {members}): p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms"
        );
    }
    store.close().await;
    Ok(())
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn head_latency(backend: &str, url: &str) -> anyhow::Result<()> {
    let devnet: RunningDevnet = start(DevnetConfig {
        http: loopback(),
        ship: loopback(),
        storage: Storage::Ephemeral,
        production: ProductionMode::Manual,
        block_interval: BLOCK_INTERVAL,
        lib_lag: 1,
        bootstrap: None,
    })
    .await?;
    let ready = devnet.ready();
    let mut config = ParserConfig::new(
        &ready.ship,
        &ready.http,
        Filter::new(&ready.contracts(), ready.coopname),
    );
    config.mode = Mode::Head;
    let store = Store::open(url).await?;
    let mut events = store.subscribe_registry();
    // Blocks up to here are the devnet's genesis, whose events are not timed.
    let genesis_head = devnet.node().read(|chain| chain.head_num());
    let (stop, shutdown) = watch::channel(false);
    let follower = {
        let store = store.clone();
        tokio::spawn(async move { follow(&store, &config, &Metrics::default(), shutdown).await })
    };
    // When each block with registry changes became visible, timed as the event arrives.
    let seen = tokio::spawn(async move {
        let mut seen: HashMap<u32, Instant> = HashMap::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        while seen.len() < LATENCY_BLOCKS as usize && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
                Ok(Ok(RegistryEvent::Committed { block_num, sources }))
                    if block_num > genesis_head && !sources.is_empty() =>
                {
                    seen.insert(block_num, Instant::now());
                }
                Ok(Ok(_)) => {}
                _ => break,
            }
        }
        seen
    });
    let node = devnet.node().clone();
    let mut produced: HashMap<u32, Instant> = HashMap::new();
    let mut ticker = tokio::time::interval(BLOCK_INTERVAL);
    for _ in 0..LATENCY_BLOCKS {
        ticker.tick().await;
        let node = node.clone();
        let (block_num, at) = tokio::task::spawn_blocking(move || {
            push_synthetic_traffic(&node)?;
            let block_num = node.produce()?;
            anyhow::Ok((block_num, Instant::now()))
        })
        .await??;
        produced.insert(block_num, at);
    }
    // The follower in head mode reaches the last block once the devnet announces it.
    let seen = seen.await?;
    stop.send(true)?;
    follower.await?.context("following the head")?;
    store.close().await;
    devnet.stop().await?;
    let mut samples: Vec<Duration> = produced
        .iter()
        .filter_map(|(block_num, at)| {
            seen.get(block_num)
                .map(|visible| visible.saturating_duration_since(*at))
        })
        .collect();
    let mut missing: Vec<u32> = produced
        .keys()
        .filter(|block_num| !seen.contains_key(block_num))
        .copied()
        .collect();
    missing.sort_unstable();
    ensure!(
        missing.is_empty(),
        "no registry event within the wait for blocks {missing:?}"
    );
    let (p50, p99, max) = percentiles(&mut samples);
    println!(
        "{backend}: block produced -> registry changed, {LATENCY_BLOCKS} blocks with 10 new members each, \
         head mode: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms"
    );
    Ok(())
}
