//! Registry benchmark, on SQLite and PostgreSQL:
//!
//! - list queries at 10,000 members (`MONO_BENCH_MEMBERS`): the first page, a deep page (after
//!   the 9,000th member) and two filters, each run 300 times, reported as p50/p99;
//! - the time from a block's production to its changes being visible in the registries while
//!   the follower follows the head: a devnet producing a block with new members every 0.5 s,
//!   the follower in head mode, and the registry event of each block; 60 blocks, p50/p99/max.
//!
//! Run: `cargo bench -p mono-instance --bench registry`.

#[path = "support/seed.rs"]
mod seed;
#[path = "support/stats.rs"]
mod stats;
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
use mono_instance::store::Store;
use seed::{COOP, username};
use stats::percentiles;
use support::TempPostgres;
use tokio::sync::watch;

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

async fn lists(backend: &str, url: &str, members: u32) -> anyhow::Result<()> {
    let store = Store::open(url).await?;
    let started = Instant::now();
    let head = seed::members(&store, 0..members, None).await?;
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
