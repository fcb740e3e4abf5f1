//! Catch-up benchmark of the parser: [`follow`] from an empty store to the end of a devnet
//! history, into SQLite and into PostgreSQL, reported as blocks/s and actions/s.
//!
//! The history (`MONO_BENCH_BLOCKS` blocks) is built once into a devnet data directory under
//! `target/bench-data/` and replayed by later runs. Every block opens with the implicit
//! `eosio::onblock` and carries resource deltas, as on a Leap chain. `MONO_BENCH_HISTORY` picks
//! its shape:
//! - `dense` (the default, 100,000 blocks): cooperative traffic in every block: the demo
//!   cooperative adds a member (`registrator::adduser`, with its notifications and table rows),
//!   and every fourth block also creates an account (`eosio::newaccount`);
//! - `sparse` (500,000 blocks): shaped like a real chain, the same traffic in one block of 50
//!   and nothing but `onblock` in the others.
//!
//! The SHiP stream alone is timed first, so the source's own speed is known. PostgreSQL comes
//! from `MONO_BENCH_DATABASE_URL`, else `MONO_TEST_DATABASE_URL`, else the local default
//! server; a fresh database is created and dropped.
//!
//! `MONO_BENCH_BATCH_BLOCKS` sets the most blocks per commit (default: `mono sync`'s 500).
//!
//! Run: `cargo bench -p mono-instance --bench catch_up`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

mod support;

use anyhow::{Context as _, ensure};
use mono_instance::antelope::binary::{Encode as _, Writer};
use mono_instance::antelope::checksum::Checksum256;
use mono_instance::antelope::keys::PrivateKey;
use mono_instance::antelope::name::Name;
use mono_instance::antelope::time::TimePointSec;
use mono_instance::antelope::transaction::{Action, PermissionLevel, Tapos, Transaction};
use mono_instance::chain::ship::{BlocksRequest, ShipClient, ShipOptions};
use mono_instance::chain::tls::TlsRoots;
use mono_instance::devnet::chain::SignedInput;
use mono_instance::devnet::state::Authority;
use mono_instance::devnet::{DevnetConfig, ProductionMode, RunningDevnet, Storage, start};
use mono_instance::parser::{Filter, Metrics, ParserConfig, Stopped, follow};
use mono_instance::store::Store;
use support::TempPostgres;
use tokio::sync::watch;

/// How many blocks of a history carry cooperative traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Every block.
    Dense,
    /// One block of [`SPARSE_TRAFFIC_EVERY`].
    Sparse,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Self::Dense => "dense",
            Self::Sparse => "sparse",
        }
    }

    fn default_blocks(self) -> u32 {
        match self {
            Self::Dense => 100_000,
            Self::Sparse => 500_000,
        }
    }

    fn has_traffic(self, block_num: u32) -> bool {
        match self {
            Self::Dense => true,
            Self::Sparse => block_num.is_multiple_of(SPARSE_TRAFFIC_EVERY),
        }
    }
}

/// A sparse history has cooperative traffic in one block of this many.
const SPARSE_TRAFFIC_EVERY: u32 = 50;
/// Marks a data directory whose history was written completely.
const COMPLETE_MARKER: &str = "complete";
/// An account is created every this many blocks.
const NEWACCOUNT_EVERY: u32 = 4;

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let shape = match std::env::var("MONO_BENCH_HISTORY").as_deref() {
        Ok("sparse") => Shape::Sparse,
        Ok("dense") | Err(_) => Shape::Dense,
        Ok(other) => anyhow::bail!("MONO_BENCH_HISTORY is dense or sparse, not {other}"),
    };
    let blocks = match std::env::var("MONO_BENCH_BLOCKS") {
        Ok(text) => text.parse().context("reading MONO_BENCH_BLOCKS")?,
        Err(_) => shape.default_blocks(),
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/bench-data")
        .join(format!("catch-up-{}-{blocks}", shape.name()));
    if !dir.join(COMPLETE_MARKER).exists() {
        build_history(&dir, blocks, shape).await?;
    }

    let started = Instant::now();
    let devnet = devnet(&dir).await?;
    let head = devnet.node().read(|chain| chain.head_num());
    let lib = devnet.node().read(|chain| chain.lib_num());
    println!(
        "history: {head} blocks replayed from {} in {:.1} s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );

    let (read, elapsed) = read_ship(&devnet, lib).await?;
    println!(
        "ship only: {read} blocks in {:.2} s = {:.0} blocks/s",
        elapsed.as_secs_f64(),
        f64::from(read) / elapsed.as_secs_f64()
    );

    let sqlite_dir = tempfile::tempdir()?;
    let sqlite_url = format!("sqlite://{}", sqlite_dir.path().join("bench.db").display());
    catch_up("sqlite", &sqlite_url, &devnet, lib).await?;

    let postgres = TempPostgres::create().await?;
    let outcome = catch_up("postgres", &postgres.url, &devnet, lib).await;
    postgres.drop().await?;
    outcome?;
    devnet.stop().await?;
    Ok(())
}

/// Follows the whole history into an empty store at `url` and prints the rates.
async fn catch_up(
    backend: &str,
    url: &str,
    devnet: &RunningDevnet,
    lib: u32,
) -> anyhow::Result<()> {
    let store = Store::open(url).await?;
    let config = parser_config(devnet, lib);
    let metrics = Metrics::default();
    let (_stop, shutdown) = watch::channel(false);
    let started = Instant::now();
    let stopped = follow(&store, &config, &metrics, shutdown).await?;
    let seconds = started.elapsed().as_secs_f64();
    ensure!(stopped == Stopped::Reached(lib), "{stopped:?}");
    let counts = store.counts(None).await?;
    store.close().await;
    ensure!(counts.blocks == u64::from(lib), "{counts:?}");
    println!(
        "{backend}: {} blocks, {} actions, {} deltas in {seconds:.2} s = {:.0} blocks/s, {:.0} actions/s",
        counts.blocks,
        counts.actions,
        counts.deltas,
        counts.blocks as f64 / seconds,
        counts.actions as f64 / seconds
    );
    Ok(())
}

/// Reads blocks 1..=`lib` over SHiP without decoding or storing them.
async fn read_ship(devnet: &RunningDevnet, lib: u32) -> anyhow::Result<(u32, Duration)> {
    let started = Instant::now();
    let mut client = ShipClient::connect(
        &devnet.ready().ship,
        ShipOptions::default(),
        &TlsRoots::system()?,
    )
    .await?;
    client.status().await?;
    client
        .request_blocks(&BlocksRequest {
            start_block_num: 1,
            end_block_num: lib.saturating_add(1),
            irreversible_only: true,
            have_positions: Vec::new(),
        })
        .await?;
    let mut read = 0;
    while read < lib {
        let result = client.next_blocks().await?;
        if result.this_block.is_some() {
            read += 1;
        }
    }
    client.close().await;
    Ok((read, started.elapsed()))
}

fn parser_config(devnet: &RunningDevnet, stop_after: u32) -> ParserConfig {
    let ready = devnet.ready();
    let mut config = ParserConfig::new(
        &ready.ship,
        &ready.http,
        Filter::new(&ready.contracts(), ready.coopname),
    );
    config.stop_after = Some(stop_after);
    if let Some(batch_blocks) = std::env::var("MONO_BENCH_BATCH_BLOCKS")
        .ok()
        .and_then(|text| text.parse().ok())
    {
        config.batch_blocks = batch_blocks;
    }
    config
}

async fn devnet(dir: &Path) -> anyhow::Result<RunningDevnet> {
    let loopback: SocketAddr = "127.0.0.1:0".parse()?;
    Ok(start(DevnetConfig {
        http: loopback,
        ship: loopback,
        storage: Storage::Directory(dir.to_owned()),
        production: ProductionMode::Manual,
        block_interval: Duration::from_millis(500),
        lib_lag: 1,
        bootstrap: None,
    })
    .await?)
}

/// Writes a history of `blocks` blocks of `shape` into `dir`, replacing whatever an interrupted
/// build left.
async fn build_history(dir: &Path, blocks: u32, shape: Shape) -> anyhow::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let started = Instant::now();
    let devnet = devnet(dir).await?;
    let node = std::sync::Arc::clone(devnet.node());
    let ready = devnet.ready().clone();
    let transactions = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        let coop_key: PrivateKey = ready
            .accounts
            .iter()
            .find(|account| account.name == ready.coopname)
            .and_then(|account| account.private_key.as_deref())
            .context("the cooperative has a key")?
            .parse()?;
        let registrator = node
            .read(|chain| {
                let contract = chain.contracts().get(Name::from_str_const("registrator"))?;
                mono_instance::antelope::abi::Abi::from_def(contract.abi()).ok()
            })
            .context("registrator's ABI")?;
        let member_key = PrivateKey::from_bytes(&[7; 32])?;
        let mut transactions = 0;
        while node.read(|chain| chain.head_num()) < blocks.saturating_add(1) {
            let block_num = node.read(|chain| chain.head_num() + 1);
            if !shape.has_traffic(block_num) {
                node.produce()?;
                continue;
            }
            let (block_num, tapos, head_secs) = node.read(|chain| {
                let head = chain.head();
                let micros = head.block.header.timestamp.to_time_point().as_micros();
                (
                    chain.head_num() + 1,
                    Tapos::from_block_id(&head.id),
                    u32::try_from(micros / 1_000_000).unwrap_or(0),
                )
            });
            let setup = node
                .bootstrap()
                .synthetic_member(u64::from(block_num), TimePointSec::from_secs(head_secs));
            let type_name = registrator
                .action_type(setup.action)
                .context("registrator has adduser")?
                .to_owned();
            let mut actions = vec![(
                setup.contract,
                setup.action,
                registrator.encode(&type_name, &setup.data)?,
            )];
            if block_num % NEWACCOUNT_EVERY == 0 {
                let mut data = Writer::new();
                ready.coopname.encode(&mut data);
                let name = format!("acct{}", letters(u64::from(block_num)));
                name.parse::<Name>()?.encode(&mut data);
                Authority::single_key(member_key.public_key()).encode(&mut data);
                Authority::single_key(member_key.public_key()).encode(&mut data);
                actions.push((
                    Name::from_str_const("eosio"),
                    Name::from_str_const("newaccount"),
                    data.into_bytes(),
                ));
            }
            for (account, name, data) in actions {
                let trx = Transaction::new(
                    TimePointSec::from_secs(head_secs.saturating_add(120)),
                    tapos,
                    vec![Action {
                        account,
                        name,
                        authorization: vec![PermissionLevel {
                            actor: ready.coopname,
                            permission: Name::from_str_const("active"),
                        }],
                        data,
                    }],
                );
                let chain_id: Checksum256 = ready.chain_id;
                let signed = trx.sign(&chain_id, [&coop_key])?;
                node.push(&SignedInput {
                    signatures: signed.signatures,
                    packed_trx: signed.transaction.pack(),
                })
                .with_context(|| format!("pushing {account}::{name} in block {block_num}"))?;
                transactions += 1;
            }
            node.produce()?;
        }
        Ok(transactions)
    })
    .await??;
    devnet.stop().await?;
    std::fs::write(dir.join(COMPLETE_MARKER), b"")?;
    println!(
        "history: built {blocks} blocks with {transactions} transactions in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `seq` in letters `a`–`z`, for account names (which allow no digits above 5).
fn letters(seq: u64) -> String {
    let mut rest = seq;
    let mut out = Vec::new();
    loop {
        out.push(char::from(b'a' + u8::try_from(rest % 26).unwrap_or(0)));
        rest /= 26;
        if rest == 0 {
            break;
        }
    }
    out.iter().rev().collect()
}
