//! Crash safety of the real `mono sync` binary against the in-process devnet, on SQLite and
//! PostgreSQL (issue 4): killed with SIGKILL at pseudo-random points and restarted, it ends with
//! exactly the events of an uninterrupted run; SIGTERM commits what was read and exits 0; an
//! action whose data does not decode is recorded with its raw bytes and the reason while
//! following goes on; a devnet that stops and comes back on the same ports is waited for.
//!
//! Kill points come from a fixed seed, so a failure replays the same run.

use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use mono_instance::antelope::abi::Abi;
use mono_instance::antelope::abi::def::AbiDef;
use mono_instance::antelope::binary::{Encode as _, Writer};
use mono_instance::antelope::checksum::Checksum256;
use mono_instance::antelope::keys::PrivateKey;
use mono_instance::antelope::name::Name;
use mono_instance::antelope::time::TimePointSec;
use mono_instance::antelope::transaction::{Action, PermissionLevel, Tapos, Transaction};
use mono_instance::chain::api::{ApiOptions, ChainApi};
use mono_instance::devnet::state::Authority;
use mono_instance::devnet::{DevnetConfig, ProductionMode, RunningDevnet, Storage, start};
use mono_instance::store::UndecodableKind;
use serde_json::Value;

use crate::support::two_database_test;

/// Longest wait for one `mono` process or one condition.
pub(crate) const DEADLINE: Duration = Duration::from_secs(120);
/// How often a condition is polled while waiting for it.
pub(crate) const POLL: Duration = Duration::from_millis(20);
/// SIGKILLs per run.
const KILLS: usize = 8;
/// Seed of the kill points.
const SEED: u64 = 0x4d4f_4e4f_0000_0004;
/// Blocks of the history the kill test syncs.
const HISTORY_BLOCKS: u32 = 1_500;
/// A block with cooperative traffic every this many blocks.
const TRAFFIC_EVERY: u32 = 25;
/// Blocks per commit: small, so a kill lands between and inside many commits.
const BATCH_BLOCKS: &str = "3";

two_database_test!(
    killed_at_random_points_ends_as_an_uninterrupted_run,
    |urls: [String; 2]| async move {
        let devnet = devnet(Storage::Ephemeral, loopback()?, loopback()?).await?;
        let traffic = Traffic::new(&devnet).await?;
        let history = build_history(&devnet, &traffic).await?;
        let stop_after = history.lib;
        let [interrupted, clean] = urls;

        let started = Instant::now();
        let status = wait_exit(sync(&devnet, &clean, Some(stop_after))?).await?;
        ensure!(status.success(), "uninterrupted run: {status}");
        let uninterrupted_run = started.elapsed();
        let expected = mono_status(&clean, Some(stop_after))?;
        ensure!(expected["cursor_block"] == stop_after, "{expected}");
        ensure!(
            expected["actions"].as_u64() >= Some(history.transactions),
            "{expected}"
        );

        // SIGTERM while catching up: the blocks read are committed whole and the exit code is 0.
        let mut child = sync(&devnet, &interrupted, Some(stop_after))?;
        wait_until(|| {
            if let Some(status) = child.try_wait()? {
                bail!("mono sync exited before SIGTERM: {status}");
            }
            Ok(!mono_status(&interrupted, None)?["cursor_block"].is_null())
        })
        .await?;
        terminate(&child)?;
        let status = wait_exit(child).await?;
        ensure!(status.code() == Some(0), "SIGTERM exit: {status}");
        let cursor = mono_status(&interrupted, None)?["cursor_block"]
            .as_u64()
            .context("a block is committed")?;
        let cursor = u32::try_from(cursor)?;
        ensure!(
            cursor < stop_after,
            "SIGTERM stopped the run at block {cursor}"
        );
        ensure!(
            comparable(&mono_status(&interrupted, Some(cursor))?)
                == comparable(&mono_status(&clean, Some(cursor))?),
            "after SIGTERM at block {cursor} the store equals the uninterrupted run"
        );

        let mut rng = SplitMix64(SEED);
        let mut kills = 0;
        for _ in 0..KILLS {
            let mut child = sync(&devnet, &interrupted, Some(stop_after))?;
            // On average an eighth of an uninterrupted run: most kills land before the end,
            // anywhere from process start to a commit in flight.
            let window = u64::try_from(uninterrupted_run.as_millis())? * 2 / KILLS as u64;
            let delay = Duration::from_millis(rng.next() % window.max(1));
            let exited = wait_exit_for(&mut child, delay).await?;
            if exited.is_none() {
                child.kill()?;
                kills += 1;
            }
            child.wait()?;
        }
        ensure!(kills > 0, "no run was killed");

        let status = wait_exit(sync(&devnet, &interrupted, Some(stop_after))?).await?;
        ensure!(status.success(), "last run: {status}");
        let got = mono_status(&interrupted, Some(stop_after))?;
        ensure!(
            comparable(&got) == comparable(&expected),
            "after {kills} kills: {got} != {expected}"
        );
        ensure!(got["cursor_block"] == stop_after, "{got}");
        ensure!(
            got["registry_differences"] == 0,
            "registries after kills: {got}"
        );

        // The undecodable action is kept with its bytes and the reason, and blocks after it
        // were followed.
        let store = mono_instance::store::Store::open(&interrupted).await?;
        let records = store
            .undecodable_in_block(history.undecodable_block)
            .await?;
        store.close().await;
        let record = records
            .iter()
            .find(|record| record.kind == UndecodableKind::Action)
            .context("the undecodable action is recorded")?;
        ensure!(record.raw == UNDECODABLE_DATA, "{record:?}");
        ensure!(record.reason.contains("bogus"), "{record:?}");
        ensure!(history.undecodable_block < stop_after);

        devnet.stop().await?;
        Ok(())
    }
);

two_database_test!(
    a_chain_outage_is_waited_out,
    |urls: [String; 2]| async move {
        let (_data, storage, devnet) = restartable_devnet().await?;
        let (http, ship) = (
            address(&devnet.ready().http)?,
            address(&devnet.ready().ship)?,
        );
        let traffic = Traffic::new(&devnet).await?;
        traffic.add_member(&devnet, 1).await?;
        produce(&devnet, 5)?;
        let lib = devnet.node().read(|chain| chain.lib_num());
        let stop_after = lib + 10;
        let [url, _] = urls;

        let mut child = sync(&devnet, &url, Some(stop_after))?;
        wait_until(|| {
            let cursor = mono_status(&url, None)?["cursor_block"].as_u64();
            Ok(cursor == Some(u64::from(lib)) || child.try_wait()?.is_some())
        })
        .await?;
        devnet.stop().await?;
        ensure!(
            child.try_wait()?.is_none(),
            "the follower waits while the chain is away"
        );

        let devnet = restart(storage, http, ship).await?;
        ensure!(
            devnet.node().read(|chain| chain.head_num()) > lib,
            "the chain was replayed from its data directory"
        );
        traffic.add_member(&devnet, 2).await?;
        produce(&devnet, 12)?;
        let status = wait_exit(child).await?;
        ensure!(status.success(), "after the outage: {status}");
        let got = mono_status(&url, None)?;
        ensure!(got["cursor_block"] == stop_after, "{got}");
        devnet.stop().await?;
        Ok(())
    }
);

two_database_test!(
    resync_rebuilds_from_scratch_or_from_a_block,
    |urls: [String; 2]| async move {
        let devnet = devnet(Storage::Ephemeral, loopback()?, loopback()?).await?;
        let traffic = Traffic::new(&devnet).await?;
        for seq in 0..4 {
            traffic.add_member(&devnet, seq).await?;
            produce(&devnet, 5)?;
        }
        let lib = devnet.node().read(|chain| chain.lib_num());
        let [url, _] = urls;
        let status = wait_exit(sync(&devnet, &url, Some(lib))?).await?;
        ensure!(status.success(), "sync: {status}");
        let expected = mono_status(&url, None)?;

        for from in [1, lib / 2, lib + 1] {
            let status = wait_exit(resync(&devnet, &url, from, lib)?).await?;
            ensure!(status.success(), "resync --from {from}: {status}");
            let got = mono_status(&url, None)?;
            ensure!(
                comparable(&got) == comparable(&expected) && got["cursor_block"] == lib,
                "resync --from {from}: {got} != {expected}"
            );
            ensure!(got["registry_differences"] == 0, "{got}");
        }
        devnet.stop().await?;
        Ok(())
    }
);

/// The action data the devnet accepts but no ABI describes.
const UNDECODABLE_DATA: [u8; 5] = [0xde, 0xad, 0xbe, 0xef, 0x04];

/// What the history holds.
struct History {
    /// LIB after the last block: the block both runs stop at.
    lib: u32,
    /// Transactions pushed, each with at least one followed action.
    transactions: u64,
    /// Block holding the action that does not decode.
    undecodable_block: u32,
}

/// Produces [`HISTORY_BLOCKS`] blocks, a block with cooperative traffic every
/// [`TRAFFIC_EVERY`]: a member added through `registrator::adduser`, an account created by the
/// cooperative, and once an action no ABI describes.
async fn build_history(devnet: &RunningDevnet, traffic: &Traffic) -> anyhow::Result<History> {
    let mut transactions = 0;
    let mut undecodable_block = 0;
    for idx in 0..HISTORY_BLOCKS / TRAFFIC_EVERY {
        let seq = u64::from(idx);
        traffic.add_member(devnet, seq).await?;
        traffic
            .create_account(devnet, &format!("acct{}", name_suffix(seq)))
            .await?;
        transactions += 2;
        if idx == 3 {
            traffic.push_undecodable(devnet).await?;
            transactions += 1;
            undecodable_block = produce(devnet, 1)?;
            produce(devnet, TRAFFIC_EVERY - 1)?;
        } else {
            produce(devnet, TRAFFIC_EVERY)?;
        }
    }
    let lib = devnet.node().read(|chain| chain.lib_num());
    Ok(History {
        lib,
        transactions,
        undecodable_block,
    })
}

/// Letters `a`–`z` spelling `seq` (names allow no digits above 5).
fn name_suffix(seq: u64) -> String {
    let mut rest = seq;
    let mut letters = Vec::new();
    loop {
        letters.push(char::from(b'a' + u8::try_from(rest % 26).unwrap_or(0)));
        rest /= 26;
        if rest == 0 {
            break;
        }
    }
    letters.iter().rev().collect()
}

/// Signs and pushes the cooperative's transactions through the Chain API.
pub(crate) struct Traffic {
    coopname: Name,
    key: PrivateKey,
    registrator: Abi,
}

impl Traffic {
    pub(crate) async fn new(devnet: &RunningDevnet) -> anyhow::Result<Self> {
        let ready = devnet.ready();
        let key = ready
            .accounts
            .iter()
            .find(|account| account.name == ready.coopname)
            .and_then(|account| account.private_key.as_deref())
            .context("the cooperative has a key")?
            .parse()?;
        let raw = api(devnet)?
            .get_raw_abi(Name::from_str_const("registrator"))
            .await?;
        let registrator = Abi::from_def(AbiDef::from_bin(&raw.abi)?)?;
        Ok(Self {
            coopname: ready.coopname,
            key,
            registrator,
        })
    }

    /// `registrator::adduser` of synthetic member `seq`.
    pub(crate) async fn add_member(&self, devnet: &RunningDevnet, seq: u64) -> anyhow::Result<()> {
        let created_at = devnet.node().read(|chain| {
            let micros = chain
                .head()
                .block
                .header
                .timestamp
                .to_time_point()
                .as_micros();
            TimePointSec::from_secs(u32::try_from(micros / 1_000_000).unwrap_or(0))
        });
        let setup = devnet.node().bootstrap().synthetic_member(seq, created_at);
        let type_name = self
            .registrator
            .action_type(setup.action)
            .context("registrator has adduser")?
            .to_owned();
        let data = self.registrator.encode(&type_name, &setup.data)?;
        self.push(devnet, setup.contract, setup.action, data).await
    }

    /// `registrator::<action>` with `data` (JSON by the registrator's ABI), authorized by the
    /// cooperative.
    pub(crate) async fn push_registrator(
        &self,
        devnet: &RunningDevnet,
        action: &str,
        data: &Value,
    ) -> anyhow::Result<()> {
        let name: Name = action.parse()?;
        let type_name = self
            .registrator
            .action_type(name)
            .with_context(|| format!("registrator has {action}"))?
            .to_owned();
        let bytes = self.registrator.encode(&type_name, data)?;
        self.push(devnet, Name::from_str_const("registrator"), name, bytes)
            .await
    }

    /// `eosio::newaccount` of `name` by the cooperative.
    pub(crate) async fn create_account(
        &self,
        devnet: &RunningDevnet,
        name: &str,
    ) -> anyhow::Result<()> {
        let member_key = PrivateKey::from_bytes(&[7; 32])?;
        let mut data = Writer::new();
        self.coopname.encode(&mut data);
        name.parse::<Name>()?.encode(&mut data);
        Authority::single_key(member_key.public_key()).encode(&mut data);
        Authority::single_key(member_key.public_key()).encode(&mut data);
        let eosio = Name::from_str_const("eosio");
        let newaccount = Name::from_str_const("newaccount");
        self.push(devnet, eosio, newaccount, data.into_bytes())
            .await
    }

    /// `soviet::bogus`: the contract accepts unknown actions silently, its ABI has no such
    /// action, so the follower cannot decode it.
    pub(crate) async fn push_undecodable(&self, devnet: &RunningDevnet) -> anyhow::Result<()> {
        let soviet = Name::from_str_const("soviet");
        let bogus = Name::from_str_const("bogus");
        self.push(devnet, soviet, bogus, UNDECODABLE_DATA.to_vec())
            .await
    }

    async fn push(
        &self,
        devnet: &RunningDevnet,
        account: Name,
        name: Name,
        data: Vec<u8>,
    ) -> anyhow::Result<()> {
        let api = api(devnet)?;
        let info = api.get_info().await?;
        let expiration = u32::try_from(info.head_block_time.as_micros() / 1_000_000 + 120)?;
        let trx = Transaction::new(
            TimePointSec::from_secs(expiration),
            Tapos::from_block_id(&info.last_irreversible_block_id),
            vec![Action {
                account,
                name,
                authorization: vec![PermissionLevel {
                    actor: self.coopname,
                    permission: Name::from_str_const("active"),
                }],
                data,
            }],
        );
        let chain_id: Checksum256 = devnet.ready().chain_id;
        let signed = trx.sign(&chain_id, [&self.key])?;
        api.push_transaction(&signed.to_packed())
            .await
            .with_context(|| format!("pushing {account}::{name}"))?;
        Ok(())
    }
}

fn api(devnet: &RunningDevnet) -> anyhow::Result<ChainApi> {
    Ok(ChainApi::new(&devnet.ready().http, ApiOptions::default())?)
}

pub(crate) fn loopback() -> anyhow::Result<SocketAddr> {
    Ok("127.0.0.1:0".parse()?)
}

/// The socket address of a `http://` or `ws://` URL the devnet printed.
pub(crate) fn address(url: &str) -> anyhow::Result<SocketAddr> {
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .trim_end_matches('/');
    Ok(host.parse()?)
}

/// A devnet producing blocks only when asked, with LIB one block behind the head.
pub(crate) async fn devnet(
    storage: Storage,
    http: SocketAddr,
    ship: SocketAddr,
) -> anyhow::Result<RunningDevnet> {
    Ok(start(DevnetConfig {
        http,
        ship,
        storage,
        production: ProductionMode::Manual,
        block_interval: Duration::from_millis(500),
        lib_lag: 1,
        bootstrap: None,
    })
    .await?)
}

/// A devnet keeping its chain in a temporary directory (returned first, to keep it alive), so it
/// can be stopped and [`restart`]ed with the same chain.
pub(crate) async fn restartable_devnet()
-> anyhow::Result<(tempfile::TempDir, Storage, RunningDevnet)> {
    let data = tempfile::tempdir()?;
    let storage = Storage::Directory(data.path().to_owned());
    let devnet = devnet(storage.clone(), loopback()?, loopback()?).await?;
    Ok((data, storage, devnet))
}

/// Starts the devnet of `storage` again on the same ports; the ports may take a moment to be
/// free again, so binding is retried until the deadline.
pub(crate) async fn restart(
    storage: Storage,
    http: SocketAddr,
    ship: SocketAddr,
) -> anyhow::Result<RunningDevnet> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        match devnet(storage.clone(), http, ship).await {
            Ok(devnet) => return Ok(devnet),
            Err(_) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
            Err(error) => return Err(error.context("restarting the devnet")),
        }
    }
}

pub(crate) fn produce(devnet: &RunningDevnet, count: u32) -> anyhow::Result<u32> {
    let mut head = 0;
    for _ in 0..count {
        head = devnet.node().produce()?;
    }
    Ok(head)
}

/// Spawns `mono sync` following `devnet` into `url`.
pub(crate) fn sync(
    devnet: &RunningDevnet,
    url: &str,
    stop_after: Option<u32>,
) -> anyhow::Result<Child> {
    let mut command = mono_following(devnet, "sync", url);
    if let Some(block) = stop_after {
        command.args(["--stop-after", &block.to_string()]);
    }
    Ok(command.spawn()?)
}

/// Spawns `mono resync --from FROM` following `devnet` into `url` until `stop_after`.
fn resync(devnet: &RunningDevnet, url: &str, from: u32, stop_after: u32) -> anyhow::Result<Child> {
    let mut command = mono_following(devnet, "resync", url);
    command
        .args(["--from", &from.to_string()])
        .args(["--stop-after", &stop_after.to_string()]);
    Ok(command.spawn()?)
}

/// `mono SUBCOMMAND` with the connection flags of `devnet` and `url`.
pub(crate) fn mono_following(devnet: &RunningDevnet, subcommand: &str, url: &str) -> Command {
    let ready = devnet.ready();
    let contracts: Vec<String> = ready.contracts().iter().map(ToString::to_string).collect();
    let mut command = Command::new(env!("CARGO_BIN_EXE_mono"));
    command
        .args([subcommand, "--database", url, "--chain-api", &ready.http])
        .args(["--ship", &ready.ship, "--coopname"])
        .arg(ready.coopname.to_string())
        .args(["--contracts", &contracts.join(",")])
        .args(["--batch-blocks", BATCH_BLOCKS])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// `mono status` of `url` as JSON.
pub(crate) fn mono_status(url: &str, block: Option<u32>) -> anyhow::Result<Value> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mono"));
    command.args(["status", "--database", url]);
    if let Some(block) = block {
        command.args(["--block", &block.to_string()]);
    }
    let output = command.output()?;
    ensure!(output.status.success(), "mono status: {output:?}");
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// The fields two stores must share at the same block: counts, the events and registry
/// digests, and the numbers of row versions and registry rows that disagree with the events
/// (0 in both).
pub(crate) fn comparable(status: &Value) -> [Value; 9] {
    [
        "blocks",
        "actions",
        "deltas",
        "abis",
        "undecodable",
        "events_digest",
        "wrong_row_versions",
        "registry_digest",
        "registry_differences",
    ]
    .map(|field| status[field].clone())
}

/// Sends SIGTERM to `child`.
pub(crate) fn terminate(child: &Child) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    ensure!(status.success(), "kill -TERM: {status}");
    Ok(())
}

/// Waits for `child` to exit within `wait`; `None` when it is still running.
pub(crate) async fn wait_exit_for(
    child: &mut Child,
    wait: Duration,
) -> anyhow::Result<Option<ExitStatus>> {
    let until = Instant::now() + wait;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= until {
            return Ok(None);
        }
        tokio::time::sleep(POLL.min(until.saturating_duration_since(Instant::now()))).await;
    }
}

/// Waits for `child` to exit, killing it and failing after [`DEADLINE`].
pub(crate) async fn wait_exit(mut child: Child) -> anyhow::Result<ExitStatus> {
    match wait_exit_for(&mut child, DEADLINE).await? {
        Some(status) => Ok(status),
        None => {
            child.kill()?;
            child.wait()?;
            bail!("mono did not exit within {DEADLINE:?}")
        }
    }
}

/// Polls `condition` until it holds, failing after [`DEADLINE`].
pub(crate) async fn wait_until(
    mut condition: impl FnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let until = Instant::now() + DEADLINE;
    while !condition()? {
        ensure!(
            Instant::now() < until,
            "condition not reached in {DEADLINE:?}"
        );
        tokio::time::sleep(POLL).await;
    }
    Ok(())
}

/// SplitMix64: a tiny seeded generator for reproducible kill points.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[test]
fn addresses_are_read_from_devnet_urls() -> anyhow::Result<()> {
    assert_eq!(
        address("ws://127.0.0.1:8080")?,
        "127.0.0.1:8080".parse::<SocketAddr>()?
    );
    assert_eq!(
        address("http://127.0.0.1:8888/")?,
        "127.0.0.1:8888".parse::<SocketAddr>()?
    );
    assert!(address("http://host").is_err());
    Ok(())
}
