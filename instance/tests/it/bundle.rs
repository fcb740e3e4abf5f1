//! `mono export` and `mono import` (the operator's migration between clusters): a store synced
//! from the devnet moves from SQLite to PostgreSQL and back with its cursor, counts, events
//! digest, ABI history and undecodable records intact; a broken bundle, a directory that holds
//! an export and a store holding other data are refused with exit code 2 and nothing written;
//! an interrupted import resumes.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{Context as _, ensure};
use mono_instance::bundle::{EVENTS_FILE, MANIFEST_FILE};
use mono_instance::devnet::Storage;
use mono_instance::store::{BlockBatch, BlockRecord};
use serde_json::Value;

use crate::crash::{Traffic, comparable, devnet, loopback, mono_status, produce, sync, wait_exit};
use crate::support::{Backend, TestDb};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_moves_between_backends_and_broken_bundles_are_refused() -> anyhow::Result<()> {
    let sqlite = TestDb::create(Backend::Sqlite).await?;
    let postgres = TestDb::create(Backend::Postgres).await?;
    let back = TestDb::create(Backend::Sqlite).await?;
    let other = TestDb::create(Backend::Sqlite).await?;
    let outcome = moves_between_backends(&sqlite.url, &postgres.url, &back.url, &other.url).await;
    for db in [sqlite, postgres, back, other] {
        db.destroy().await?;
    }
    outcome
}

async fn moves_between_backends(
    sqlite: &str,
    postgres: &str,
    back: &str,
    other: &str,
) -> anyhow::Result<()> {
    let devnet = devnet(Storage::Ephemeral, loopback()?, loopback()?).await?;
    let traffic = Traffic::new(&devnet).await?;
    for seq in 0..3 {
        traffic.add_member(&devnet, seq).await?;
        traffic
            .create_account(&devnet, &format!("moved{}", ["a", "b", "c"][seq as usize]))
            .await?;
        produce(&devnet, 3)?;
    }
    traffic.push_undecodable(&devnet).await?;
    produce(&devnet, 3)?;
    let lib = devnet.node().read(|chain| chain.lib_num());
    ensure!(
        wait_exit(sync(&devnet, sqlite, Some(lib))?)
            .await?
            .success()
    );
    devnet.stop().await?;
    // Personal data with a history: two versions of one record, and a deleted one.
    let store = mono_instance::store::Store::open(sqlite).await?;
    for (key, name, block) in [
        ("alice", "Алиса", 2),
        ("alice", "Алиса Петрова", 4),
        ("bob", "Борис", 3),
    ] {
        let data = mono_instance::store::JsonText::from_value(&serde_json::json!({"name": name}));
        store.put_private("individual", key, &data, block).await?;
    }
    store.delete_private("individual", "bob", 5).await?;
    store.close().await;
    let source = mono_status(sqlite, None)?;
    ensure!(source["cursor_block"] == lib, "{source}");
    ensure!(
        source["abis"].as_u64() > Some(0) && source["undecodable"].as_u64() > Some(0),
        "the store has ABI versions and undecodable records to move: {source}"
    );

    let dir = tempfile::tempdir()?;
    let bundle = dir.path().join("bundle");
    let exported = mono(&["export", "--database", sqlite, "--out", path(&bundle)?])?;
    ensure!(exported.status.success(), "export: {exported:?}");
    let manifest: Value = serde_json::from_slice(&exported.stdout)?;
    let on_disk: Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join(MANIFEST_FILE))?)?;
    ensure!(manifest == on_disk, "printed {manifest}, wrote {on_disk}");
    ensure!(
        manifest["private_records"] == 3
            && manifest["registry_digest"] == source["registry_digest"],
        "{manifest}"
    );
    ensure!(
        manifest["events_digest"] == source["events_digest"],
        "{manifest}"
    );
    ensure!(manifest["cursor"]["block_num"] == lib, "{manifest}");

    // A second export into the same directory is refused.
    let again = mono(&["export", "--database", sqlite, "--out", path(&bundle)?])?;
    ensure!(
        again.status.code() == Some(2),
        "export over an export: {again:?}"
    );

    // A bundle with one byte changed is refused before anything is written.
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken)?;
    for file in [MANIFEST_FILE, EVENTS_FILE] {
        std::fs::copy(bundle.join(file), broken.join(file))?;
    }
    let mut events = std::fs::read(broken.join(EVENTS_FILE))?;
    let middle = events.len() / 2;
    events[middle] ^= 0x01;
    std::fs::write(broken.join(EVENTS_FILE), events)?;
    let refused = mono(&["import", "--database", postgres, "--from", path(&broken)?])?;
    ensure!(
        refused.status.code() == Some(2),
        "broken bundle: {refused:?}"
    );
    ensure!(
        String::from_utf8_lossy(&refused.stderr).contains("does not match the manifest"),
        "{refused:?}"
    );
    let untouched = mono_status(postgres, None)?;
    ensure!(untouched["cursor_block"].is_null(), "{untouched}");

    // SQLite -> PostgreSQL: everything arrives.
    let imported = mono(&["import", "--database", postgres, "--from", path(&bundle)?])?;
    ensure!(imported.status.success(), "import: {imported:?}");
    let report: Value = serde_json::from_slice(&imported.stdout)?;
    ensure!(report["imported_blocks"] == source["blocks"], "{report}");
    let target = mono_status(postgres, None)?;
    ensure!(
        comparable(&target) == comparable(&source),
        "{target} != {source}"
    );
    for field in ["cursor_block", "cursor_id", "lib"] {
        ensure!(
            target[field] == source[field],
            "{field}: {target} != {source}"
        );
    }
    ensure!(
        same_side_records(sqlite, postgres).await?,
        "ABI history and undecodable records survive"
    );

    // Importing again is a no-op; importing into a store with other data is refused.
    let repeated = mono(&["import", "--database", postgres, "--from", path(&bundle)?])?;
    ensure!(repeated.status.success(), "repeated import: {repeated:?}");
    let report: Value = serde_json::from_slice(&repeated.stdout)?;
    ensure!(report["imported_blocks"] == 0, "{report}");
    let store = mono_instance::store::Store::open(other).await?;
    let first = first_block(sqlite).await?;
    store
        .commit_block(&BlockBatch::new(
            BlockRecord {
                block_num: first,
                block_id: [9; 32],
                previous: [0; 32],
                timestamp_ms: 0,
            },
            0,
        ))
        .await?;
    store.close().await;
    let refused = mono(&["import", "--database", other, "--from", path(&bundle)?])?;
    ensure!(refused.status.code() == Some(2), "other data: {refused:?}");
    let kept = mono_status(other, None)?;
    ensure!(kept["cursor_id"] == "09".repeat(32), "{kept}");

    // PostgreSQL -> SQLite, through an interrupted import that resumes.
    let second = dir.path().join("second");
    let exported = mono(&["export", "--database", postgres, "--out", path(&second)?])?;
    ensure!(
        exported.status.success(),
        "export from PostgreSQL: {exported:?}"
    );
    let prefix = lib / 2;
    {
        let from = mono_instance::store::Store::open(postgres).await?;
        let to = mono_instance::store::Store::open(back).await?;
        let first = from.first_block_num().await?.context("blocks")?;
        to.commit_blocks(&from.batches(first, prefix).await?)
            .await?;
        from.close().await;
        to.close().await;
    }
    let resumed = mono(&["import", "--database", back, "--from", path(&second)?])?;
    ensure!(resumed.status.success(), "resumed import: {resumed:?}");
    let report: Value = serde_json::from_slice(&resumed.stdout)?;
    ensure!(report["imported_blocks"] == lib - prefix, "{report}");
    let round_trip = mono_status(back, None)?;
    ensure!(
        comparable(&round_trip) == comparable(&source),
        "{round_trip} != {source}"
    );
    Ok(())
}

/// The first block stored at `url`.
async fn first_block(url: &str) -> anyhow::Result<u32> {
    let store = mono_instance::store::Store::open(url).await?;
    let first = store.first_block_num().await?.context("blocks")?;
    store.close().await;
    Ok(first)
}

/// Whether the ABI history and the undecodable records of two stores are equal.
async fn same_side_records(a: &str, b: &str) -> anyhow::Result<bool> {
    let (a, b) = (
        mono_instance::store::Store::open(a).await?,
        mono_instance::store::Store::open(b).await?,
    );
    let cursor = a.cursor().await?.context("a cursor")?;
    let first = a.first_block_num().await?.context("blocks")?;
    let (left, right) = (
        a.batches(first, cursor.block_num).await?,
        b.batches(first, cursor.block_num).await?,
    );
    a.close().await;
    b.close().await;
    let side = |batches: &[BlockBatch]| {
        batches
            .iter()
            .map(|batch| (batch.abis.clone(), batch.undecodable.clone()))
            .collect::<Vec<_>>()
    };
    let has_both = left.iter().any(|batch| !batch.abis.is_empty())
        && left.iter().any(|batch| !batch.undecodable.is_empty());
    Ok(has_both && side(&left) == side(&right) && left == right)
}

fn mono(args: &[&str]) -> anyhow::Result<Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_mono"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()?)
}

fn path(path: &Path) -> anyhow::Result<&str> {
    path.to_str().context("a UTF-8 temporary path")
}
