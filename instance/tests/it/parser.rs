//! The follower against the in-process devnet, on SQLite and PostgreSQL: syncing irreversible
//! blocks with the cooperative's system actions, and a fork in head mode ending in the same
//! events as a clean sync of the canonical chain.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use mono_instance::antelope::binary::{Encode as _, Writer};
use mono_instance::antelope::keys::PrivateKey;
use mono_instance::antelope::name::Name;
use mono_instance::antelope::time::TimePointSec;
use mono_instance::antelope::transaction::{Action, PermissionLevel, Tapos, Transaction};
use mono_instance::chain::api::{ApiOptions, ChainApi};
use mono_instance::devnet::state::Authority;
use mono_instance::devnet::{DevnetConfig, ProductionMode, RunningDevnet, Storage, start};
use mono_instance::parser::{Filter, Metrics, Mode, ParserConfig, Stopped, follow};
use mono_instance::registry::check;
use mono_instance::registry::projection::Contracts;
use mono_instance::store::Store;
use rand_core::{OsRng, RngCore as _};
use tokio::sync::watch;

use crate::support::two_database_test;

const DEADLINE: Duration = Duration::from_secs(60);

async fn devnet(lib_lag: u32) -> anyhow::Result<RunningDevnet> {
    let loopback: SocketAddr = "127.0.0.1:0".parse()?;
    Ok(start(DevnetConfig {
        http: loopback,
        ship: loopback,
        storage: Storage::Ephemeral,
        production: ProductionMode::Manual,
        block_interval: Duration::from_millis(500),
        lib_lag,
        bootstrap: None,
    })
    .await?)
}

fn parser_config(devnet: &RunningDevnet, mode: Mode, stop_after: u32) -> ParserConfig {
    let ready = devnet.ready();
    let mut config = ParserConfig::new(
        &ready.ship,
        &ready.http,
        Filter::new(&ready.contracts(), ready.coopname),
    );
    config.mode = mode;
    config.stop_after = Some(stop_after);
    config.batch_blocks = 4;
    config.reconnect_delay = Duration::from_millis(20);
    config
}

/// Follows into the store at `url` until `config.stop_after`, under a deadline.
async fn sync(url: &str, config: &ParserConfig) -> anyhow::Result<(Store, Metrics)> {
    let store = Store::open(url).await?;
    let metrics = Metrics::default();
    let (_stop, shutdown) = watch::channel(false);
    let stopped = tokio::time::timeout(DEADLINE, follow(&store, config, &metrics, shutdown))
        .await
        .context("sync did not finish in time")??;
    ensure!(
        stopped == Stopped::Reached(config.stop_after.unwrap_or_default()),
        "{stopped:?}"
    );
    Ok((store, metrics))
}

/// Has the cooperative create an account: an `eosio::newaccount` the filter keeps.
async fn create_member(devnet: &RunningDevnet, member: &str) -> anyhow::Result<()> {
    let ready = devnet.ready();
    let api = ChainApi::new(&ready.http, ApiOptions::default())?;
    let info = api.get_info().await?;
    let coop = ready.coopname;
    let coop_key: PrivateKey = ready
        .accounts
        .iter()
        .find(|account| account.name == coop)
        .and_then(|account| account.private_key.as_deref())
        .context("the cooperative has a key")?
        .parse()?;
    let member_key = PrivateKey::from_bytes(&[7; 32])?;
    let mut data = Writer::new();
    coop.encode(&mut data);
    member.parse::<Name>()?.encode(&mut data);
    Authority::single_key(member_key.public_key()).encode(&mut data);
    Authority::single_key(member_key.public_key()).encode(&mut data);
    let expiration = u32::try_from(info.head_block_time.as_micros() / 1_000_000 + 120)?;
    let trx = Transaction::new(
        TimePointSec::from_secs(expiration),
        Tapos::from_block_id(&info.last_irreversible_block_id),
        vec![Action {
            account: Name::from_str_const("eosio"),
            name: Name::from_str_const("newaccount"),
            authorization: vec![PermissionLevel {
                actor: coop,
                permission: Name::from_str_const("active"),
            }],
            data: data.into_bytes(),
        }],
    );
    let signed = trx.sign(&ready.chain_id, [&coop_key])?;
    api.push_transaction(&signed.to_packed()).await?;
    Ok(())
}

fn produce(devnet: &RunningDevnet, count: u32) -> anyhow::Result<u32> {
    let mut head = 0;
    for _ in 0..count {
        head = devnet.node().produce()?;
    }
    Ok(head)
}

two_database_test!(
    irreversible_sync_stores_the_cooperatives_actions,
    |urls: [String; 2]| async move {
        let devnet = devnet(2).await?;
        produce(&devnet, 3)?;
        create_member(&devnet, "joiner1").await?;
        produce(&devnet, 5)?;
        let lib = devnet.node().read(|chain| chain.lib_num());
        let (store, metrics) =
            sync(&urls[0], &parser_config(&devnet, Mode::Irreversible, lib)).await?;

        let cursor = store.cursor().await?.context("a cursor")?;
        ensure!(cursor.block_num == lib, "cursor {cursor:?}, lib {lib}");
        let counts = store.counts(None).await?;
        ensure!(counts.blocks == u64::from(lib), "{counts:?}");
        ensure!(counts.actions >= 1, "{counts:?}");
        ensure!(metrics.blocks.get() == u64::from(lib));
        let mut found = false;
        for block_num in 1..=lib {
            let header = store
                .block(block_num)
                .await?
                .context("every block is stored")?;
            ensure!(header.timestamp_ms > 0, "block {block_num} has its time");
        }
        for global_sequence in 0..10_000 {
            if let Some(stored) = store.action(global_sequence).await?
                && stored.record.name == "newaccount"
            {
                let data = stored
                    .record
                    .data
                    .context("newaccount decodes")?
                    .to_value()?;
                if data["name"] != "joiner1" {
                    continue;
                }
                ensure!(
                    data["creator"] == devnet.ready().coopname.to_string(),
                    "{data}"
                );
                found = true;
                break;
            }
        }
        ensure!(found, "the cooperative's newaccount is stored");

        // A second run resumes from the cursor and stores only the new blocks.
        produce(&devnet, 3)?;
        let lib2 = devnet.node().read(|chain| chain.lib_num());
        let (again, _) = sync(&urls[0], &parser_config(&devnet, Mode::Irreversible, lib2)).await?;
        ensure!(again.counts(None).await?.blocks == u64::from(lib2));
        store.close().await;
        again.close().await;
        devnet.stop().await?;
        Ok(())
    }
);

two_database_test!(
    a_fork_ends_in_the_canonical_chains_events,
    |urls: [String; 2]| async move {
        let devnet = devnet(6).await?;
        produce(&devnet, 4)?;
        create_member(&devnet, "joiner2").await?;
        let head = produce(&devnet, 4)?;
        let (following, _) = sync(&urls[0], &parser_config(&devnet, Mode::Head, head)).await?;
        following.close().await;

        devnet.node().fork(3)?;
        let head = produce(&devnet, 2)?;
        let config = parser_config(&devnet, Mode::Head, head);
        let (following, metrics) = sync(&urls[0], &config).await?;
        ensure!(metrics.forks.get() == 1, "one fork rolled back");
        let (clean, _) = sync(&urls[1], &config).await?;

        ensure!(following.counts(None).await? == clean.counts(None).await?);
        ensure!(
            following.events_digest(None).await? == clean.events_digest(None).await?
                && following.wrong_row_versions().await? == 0,
            "the forked store equals a clean sync"
        );
        ensure!(
            check::digest(&following, head).await? == check::digest(&clean, head).await?
                && check::verify(&following, &Contracts::default())
                    .await?
                    .is_consistent(),
            "the forked store's registries equal a clean sync's"
        );
        following.close().await;
        clean.close().await;
        devnet.stop().await?;
        Ok(())
    }
);

#[test]
fn status_of_an_empty_store_and_of_a_bad_url() -> anyhow::Result<()> {
    let path = std::env::temp_dir().join(format!("mono_status_{:016x}.db", OsRng.next_u64()));
    let url = format!("sqlite://{}", path.display());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mono"))
        .args(["status", "--database", &url])
        .output()?;
    let _removed = std::fs::remove_file(&path);
    ensure!(output.status.success(), "{output:?}");
    let status: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    ensure!(status["cursor_block"].is_null(), "{status}");
    ensure!(status["actions"] == 0 && status["deltas"] == 0, "{status}");
    ensure!(
        status["events_digest"]
            == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "{status}"
    );
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_mono"))
        .args(["status", "--database", "mysql://db"])
        .output()?;
    ensure!(bad.status.code() == Some(2), "{bad:?}");
    Ok(())
}
