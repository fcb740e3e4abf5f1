//! `mono export` and `mono import` (the operator's migration between clusters): a store synced
//! from the devnet moves from SQLite to PostgreSQL and back with its cursor, counts, events
//! digest, ABI history and undecodable records intact; a broken bundle, a directory that holds
//! an export and a store holding other data are refused with exit code 2 and nothing written;
//! an interrupted import resumes. Personal data travels encrypted under a passphrase: a wrong
//! or missing passphrase, a bundle of another cooperative or chain, a flipped byte, a truncated
//! or a missing file are refused before anything is written.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{Context as _, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mono_instance::bundle::{
    self, EVENTS_FILE, EXTENSIONS_FILE_ENCRYPTED, ExportOptions, ImportOptions, MANIFEST_FILE,
    PRIVATE_FILE_ENCRYPTED, Passphrase, SESSIONS_FILE_ENCRYPTED,
};
use mono_instance::devnet::Storage;
use mono_instance::extensions;
use mono_instance::factory::store as kept;
use mono_instance::factory::{Factory, templates};
use mono_instance::registry::check;
use mono_instance::store::{
    BlockBatch, BlockRecord, InstalledExtension, NewRefreshToken, Rotation, Store,
};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::crash::{
    Traffic, comparable, devnet, loopback, mono_status, produce, sync, terminate, wait_exit,
    wait_until,
};
use crate::extensions::bank;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_travels_encrypted_and_only_the_right_passphrase_opens_it()
-> anyhow::Result<()> {
    let postgres = TestDb::create(Backend::Postgres).await?;
    let sqlite = TestDb::create(Backend::Sqlite).await?;
    let refused = TestDb::create(Backend::Sqlite).await?;
    let bare = TestDb::create(Backend::Postgres).await?;
    let outcome = encrypted_round_trip(&postgres.url, &sqlite.url, &refused.url, &bare.url).await;
    for db in [postgres, sqlite, refused, bare] {
        db.destroy().await?;
    }
    outcome
}

async fn encrypted_round_trip(
    postgres: &str,
    sqlite: &str,
    refused: &str,
    bare: &str,
) -> anyhow::Result<()> {
    // A cooperative with a member, personal data with a history, and a kept document.
    let mut devnet = crate::devnet_flows::Devnet::with_council()?;
    let store = mono_instance::store::Store::open(postgres).await?;
    let head =
        crate::registries::sync(&devnet, &store, &mut crate::registries::abis(&devnet), 1).await?;
    let person = serde_json::json!({"username": "memberone", "first_name": "Мария",
                                    "last_name": "Соколова", "phone": "+79161234567"});
    let document =
        serde_json::json!({"hash": "ab".repeat(32), "html": "<p>Заявление Соколовой</p>"});
    for (kind, key, data, block) in [
        ("individual", "memberone", person.clone(), head - 1),
        ("individual", "memberone", person.clone(), head),
        ("document", "ab".repeat(32).as_str(), document, head),
    ] {
        store
            .put_private(
                kind,
                key,
                &mono_instance::store::JsonText::from_value(&data),
                block,
            )
            .await?;
    }
    store.close().await;
    devnet.advance_days(1);
    let source = mono_status(postgres, None)?;

    let dir = tempfile::tempdir()?;
    let key = dir.path().join("passphrase");
    std::fs::write(&key, "correct horse battery staple\n")?;
    let wrong_key = dir.path().join("wrong");
    std::fs::write(&wrong_key, "incorrect horse\n")?;
    let bundle = dir.path().join("bundle");
    let exported = mono(&[
        "export",
        "--database",
        postgres,
        "--out",
        path(&bundle)?,
        "--key-file",
        path(&key)?,
        "--coopname",
        "voskhod",
        "--chain-id",
        &"0c".repeat(32),
    ])?;
    ensure!(exported.status.success(), "export: {exported:?}");
    let manifest: Value = serde_json::from_slice(&exported.stdout)?;
    ensure!(
        manifest["encryption"]["scheme"] == "age-v1-scrypt"
            && manifest["encryption"]["files"]
                == serde_json::json!([
                    PRIVATE_FILE_ENCRYPTED,
                    SESSIONS_FILE_ENCRYPTED,
                    EXTENSIONS_FILE_ENCRYPTED
                ])
            && manifest["coopname"] == "voskhod"
            && manifest["private_records"] == 3
            && manifest["registry_digest"] == source["registry_digest"]
            && manifest["created_at"]
                .as_str()
                .is_some_and(|at| at.ends_with('Z')),
        "{manifest}"
    );
    // Nothing personal can be read from the bundle without the passphrase.
    let sealed = std::fs::read(bundle.join(PRIVATE_FILE_ENCRYPTED))?;
    ensure!(sealed.starts_with(b"age-encryption.org/v1\n"));
    ensure!(!bundle.join("private.jsonl.gz").exists());

    // Refused, with nothing written: no passphrase, a wrong one, another cooperative or chain,
    // a flipped byte, a truncated file, a missing file.
    let broken = |name: &str,
                  damage: &dyn Fn(&Path) -> anyhow::Result<()>|
     -> anyhow::Result<std::path::PathBuf> {
        let copy = dir.path().join(name);
        std::fs::create_dir_all(&copy)?;
        for entry in std::fs::read_dir(&bundle)? {
            let entry = entry?;
            std::fs::copy(entry.path(), copy.join(entry.file_name()))?;
        }
        damage(&copy)?;
        Ok(copy)
    };
    let flipped = broken("flipped", &|dir| {
        let file = dir.join(PRIVATE_FILE_ENCRYPTED);
        let mut bytes = std::fs::read(&file)?;
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        Ok(std::fs::write(file, bytes)?)
    })?;
    let truncated = broken("truncated", &|dir| {
        let file = dir.join(EVENTS_FILE);
        let bytes = std::fs::read(&file)?;
        Ok(std::fs::write(file, &bytes[..bytes.len() / 2])?)
    })?;
    let missing = broken("missing", &|dir| {
        Ok(std::fs::remove_file(dir.join(PRIVATE_FILE_ENCRYPTED))?)
    })?;
    let other_chain = "0d".repeat(32);
    let cases: [(&Path, Vec<&str>, &str); 7] = [
        (&bundle, vec![], "is encrypted"),
        (
            &bundle,
            vec!["--key-file", path(&wrong_key)?],
            "cannot be decrypted",
        ),
        (
            &bundle,
            vec!["--key-file", path(&key)?, "--coopname", "zarya"],
            "cooperative voskhod",
        ),
        (
            &bundle,
            vec!["--key-file", path(&key)?, "--chain-id", &other_chain],
            "of chain",
        ),
        (
            &flipped,
            vec!["--key-file", path(&key)?],
            "does not match the manifest",
        ),
        (
            &truncated,
            vec!["--key-file", path(&key)?],
            "does not match the manifest",
        ),
        (
            &missing,
            vec!["--key-file", path(&key)?],
            "private.jsonl.gz.age",
        ),
    ];
    for (from, extra, says) in cases {
        let mut args = vec!["import", "--database", refused, "--from", path(from)?];
        args.extend(extra.iter().copied());
        let output = mono(&args)?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        ensure!(
            output.status.code() == Some(2) && stderr.contains(says),
            "{args:?}: {output:?}"
        );
        let untouched = mono_status(refused, None)?;
        ensure!(
            untouched["cursor_block"].is_null()
                && untouched["registry_digest"] == mono_status(bare, None)?["registry_digest"],
            "{args:?} wrote something: {untouched}"
        );
    }

    // The right passphrase: PostgreSQL -> SQLite, the same registries and personal data.
    let imported = mono(&[
        "import",
        "--database",
        sqlite,
        "--from",
        path(&bundle)?,
        "--key-file",
        path(&key)?,
        "--coopname",
        "voskhod",
    ])?;
    ensure!(imported.status.success(), "import: {imported:?}");
    let report: Value = serde_json::from_slice(&imported.stdout)?;
    ensure!(report["private_records"] == 3, "{report}");
    let target = mono_status(sqlite, None)?;
    ensure!(
        comparable(&target) == comparable(&source),
        "{target} != {source}"
    );
    let store = mono_instance::store::Store::open(sqlite).await?;
    let history = store.private_history("individual", "memberone").await?;
    ensure!(
        history.len() == 2 && history[0].valid_to_block == Some(head),
        "{history:?}"
    );
    store.close().await;

    // Without events: only what the chain cannot give back travels; the events come by resync.
    let light = dir.path().join("light");
    let exported = mono(&[
        "export",
        "--database",
        sqlite,
        "--out",
        path(&light)?,
        "--without-events",
        "--key-file",
        path(&key)?,
    ])?;
    ensure!(
        exported.status.success(),
        "export without events: {exported:?}"
    );
    ensure!(!light.join(EVENTS_FILE).exists());
    let imported = mono(&[
        "import",
        "--database",
        bare,
        "--from",
        path(&light)?,
        "--key-file",
        path(&key)?,
    ])?;
    ensure!(
        imported.status.success(),
        "import without events: {imported:?}"
    );
    let store = mono_instance::store::Store::open(bare).await?;
    ensure!(store.cursor().await?.is_none());
    ensure!(store.private_versions().await?.len() == 3);
    store.close().await;
    Ok(())
}

/// A refresh token whose hash and family are derived from `seed`, issued for a long life.
fn refresh_token(seed: u64, family: u64, username: &str) -> NewRefreshToken {
    let hash = |seed: u64| <[u8; 32]>::from(Sha256::digest(seed.to_le_bytes()));
    NewRefreshToken {
        token_hash: hash(seed),
        family: hash(family),
        username: username.to_owned(),
        issued_at: LOGIN_AT,
        expires_at: LOGIN_AT + 86_400,
    }
}

/// When the tests' logins happen (seconds since 1970).
const LOGIN_AT: i64 = 1_800_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_backend_pair_keeps_registries_documents_and_logins() -> anyhow::Result<()> {
    let dbs = [
        TestDb::create(Backend::Postgres).await?,
        TestDb::create(Backend::Postgres).await?,
        TestDb::create(Backend::Sqlite).await?,
        TestDb::create(Backend::Postgres).await?,
        TestDb::create(Backend::Sqlite).await?,
    ];
    let urls = dbs.clone().map(|db| db.url);
    let outcome = backend_pairs(&urls).await;
    for db in dbs {
        db.destroy().await?;
    }
    outcome
}

/// PostgreSQL -> PostgreSQL -> SQLite -> PostgreSQL, each step one export and one import; the
/// last store is one with personal data of its own, which refuses the bundle.
async fn backend_pairs(urls: &[String; 5]) -> anyhow::Result<()> {
    // A cooperative with its council, two rendered documents kept with their HTML and PDF,
    // and logins: a rotated one with its live successor, and a revoked family.
    let devnet = crate::devnet_flows::Devnet::with_council()?;
    let store = Store::open(&urls[0]).await?;
    let head =
        crate::registries::sync(&devnet, &store, &mut crate::registries::abis(&devnet), 1).await?;
    let factory = Factory::new()?;
    let mut documents = Vec::new();
    for registry_id in [1, 100] {
        let (draft, mut input) = templates::builtin_for(registry_id)?.context("a template")?;
        input["meta"]["username"] = serde_json::json!("memberone");
        input["meta"]["block_num"] = serde_json::json!(head);
        let generated = factory.render(&draft, &input)?;
        let (_, record) = kept::keep(&store, &generated).await?;
        documents.push((record.hash, generated));
    }
    store
        .put_refresh_token(&refresh_token(1, 1, "memberone"))
        .await?;
    let rotated = store
        .rotate_refresh_token(
            &refresh_token(1, 1, "memberone").token_hash,
            &refresh_token(2, 1, "memberone"),
            LOGIN_AT + 60,
        )
        .await?;
    ensure!(matches!(rotated, Rotation::Rotated { .. }), "{rotated:?}");
    store
        .put_refresh_token(&refresh_token(3, 3, "chairone"))
        .await?;
    store
        .revoke_refresh_family(&refresh_token(3, 3, "chairone").token_hash, LOGIN_AT)
        .await?;
    // An extension configured, then changed: its configuration and times
    // travel, and its tables are made again where it lands.
    let catalog = extensions::Catalog::builtin();
    extensions::install(&store, &catalog, "qrpay", false, Some(bank()), LOGIN_AT).await?;
    let mut changed = bank();
    changed["kpp"] = serde_json::json!("773601001");
    extensions::update(
        &store,
        &catalog,
        "qrpay",
        Some(true),
        Some(changed),
        LOGIN_AT + 5,
    )
    .await?;
    let installed = store.installed_extensions().await?;
    store.close().await;

    let dir = tempfile::tempdir()?;
    let passphrase = Passphrase::from_file_text("correct horse battery staple")?;
    for (step, pair) in urls[..4].windows(2).enumerate() {
        let (from, to) = (Store::open(&pair[0]).await?, Store::open(&pair[1]).await?);
        let bundle = dir.path().join(format!("step{step}"));
        let export_options = ExportOptions {
            coopname: Some(crate::devnet_flows::COOP.to_owned()),
            chain_id: None,
            with_events: true,
            passphrase: Some(passphrase.clone()),
        };
        let manifest = bundle::export(&from, &bundle, &export_options, &|_| {}).await?;
        let import_options = ImportOptions {
            coopname: Some(crate::devnet_flows::COOP.to_owned()),
            passphrase: Some(passphrase.clone()),
            ..ImportOptions::default()
        };
        bundle::import(&to, &bundle, &import_options, &|_| {}).await?;

        ensure!(
            manifest.refresh_tokens == 3
                && manifest.private_records == 2
                && manifest.extensions == 1,
            "step {step}: {manifest:?}"
        );
        ensure!(
            to.installed_extensions().await? == installed
                && to.extension_migrations("qrpay").await? == [1]
                && to.qrpay_issued("0000").await?.is_none(),
            "step {step}: extensions {:?}",
            to.installed_extensions().await?
        );
        let digest = check::digest(&to, head).await?;
        ensure!(
            digest == check::digest(&from, head).await?
                && Some(&digest) == manifest.registry_digest.as_ref(),
            "step {step}: registry digest {digest}, manifest {manifest:?}"
        );
        ensure!(
            to.events_digest(None).await? == from.events_digest(None).await?,
            "step {step}: events digest"
        );
        for (hash, generated) in &documents {
            let record = kept::kept(&to, hash, head)
                .await?
                .with_context(|| format!("step {step}: document {hash}"))?;
            ensure!(
                record.html == generated.html
                    && STANDARD.decode(&record.pdf)? == generated.pdf
                    && Some(record) == kept::kept(&from, hash, head).await?,
                "step {step}: document {hash} changed"
            );
        }
        ensure!(
            to.refresh_tokens().await? == from.refresh_tokens().await?,
            "step {step}: refresh tokens"
        );
        from.close().await;
        to.close().await;
    }

    // A store with personal data of its own refuses the bundle before writing anything.
    let other = Store::open(&urls[4]).await?;
    let person = mono_instance::store::JsonText::from_value(&serde_json::json!({"name": "Ольга"}));
    other.put_private("individual", "olga", &person, 1).await?;
    let import_options = ImportOptions {
        passphrase: Some(passphrase.clone()),
        ..ImportOptions::default()
    };
    let refused = bundle::import(&other, &dir.path().join("step2"), &import_options, &|_| {}).await;
    ensure!(
        matches!(refused, Err(bundle::Error::StoreHoldsOtherRecords)),
        "{refused:?}"
    );
    ensure!(other.cursor().await?.is_none() && other.private_versions().await?.len() == 1);
    other.close().await;

    // A bundle with an extension this build does not have is refused before anything is
    // written.
    let (from, to) = (Store::open(&urls[3]).await?, Store::open(&urls[4]).await?);
    let foreign = InstalledExtension {
        name: "counting".to_owned(),
        version: "1.0.0".to_owned(),
        enabled: true,
        config: serde_json::json!({}),
        installed_at: LOGIN_AT,
        updated_at: LOGIN_AT,
    };
    ensure!(from.install_extension(&foreign, &[]).await?);
    let bundle = dir.path().join("foreign");
    let export_options = ExportOptions {
        coopname: None,
        chain_id: None,
        with_events: false,
        passphrase: None,
    };
    bundle::export(&from, &bundle, &export_options, &|_| {}).await?;
    from.uninstall_extension("counting").await?;
    let refused = bundle::import(&to, &bundle, &ImportOptions::default(), &|_| {}).await;
    ensure!(
        matches!(&refused, Err(bundle::Error::UnknownExtension { name }) if name == "counting"),
        "{refused:?}"
    );
    ensure!(to.private_versions().await?.len() == 1 && to.installed_extensions().await?.is_empty());
    from.close().await;
    to.close().await;

    // Logins survive: the live token rotates, the spent one is a replay, the revoked stays so.
    let last = Store::open(&urls[3]).await?;
    let now = LOGIN_AT + 120;
    let next = refresh_token(4, 1, "memberone");
    for (seed, family, expected) in [(2, 1, "rotated"), (1, 1, "replayed"), (3, 3, "revoked")] {
        let rotation = last
            .rotate_refresh_token(&refresh_token(seed, family, "").token_hash, &next, now)
            .await?;
        let got = match rotation {
            Rotation::Rotated { .. } => "rotated",
            Rotation::Replayed => "replayed",
            Rotation::Revoked => "revoked",
            Rotation::Expired | Rotation::Unknown => "refused",
        };
        ensure!(got == expected, "token {seed}: {rotation:?}");
    }
    last.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_while_the_instance_runs_is_one_state_and_following_goes_on() -> anyhow::Result<()>
{
    let source = TestDb::create(Backend::Postgres).await?;
    let target = TestDb::create(Backend::Sqlite).await?;
    let outcome = export_while_running(&source.url, &target.url).await;
    for db in [source, target] {
        db.destroy().await?;
    }
    outcome
}

async fn export_while_running(source: &str, target: &str) -> anyhow::Result<()> {
    let devnet = devnet(Storage::Ephemeral, loopback()?, loopback()?).await?;
    let traffic = Traffic::new(&devnet).await?;
    traffic.add_member(&devnet, 0).await?;
    produce(&devnet, 3)?;
    let mut follower = sync(&devnet, source, None)?;
    let store = Store::open(source).await?;
    wait_until(|| Ok(mono_status(source, None)?["cursor_block"].as_u64() > Some(2))).await?;

    // While the follower commits the chain's new blocks and personal data and logins are
    // written as the API writes them (from the block after the synced one), the export runs.
    // Each write step adds a private record, then a refresh token: one state holds the first
    // k records and the first k or k - 1 tokens, written while the cursor was at most its own.
    let writes = PersonalWrites { store: &store };
    for step in 0..3 {
        writes.step(step).await?;
    }
    let exported = std::sync::atomic::AtomicBool::new(false);
    let dir = tempfile::tempdir()?;
    let bundle = dir.path().join("bundle");
    let bundle_arg = path(&bundle)?.to_owned();
    let source_arg = source.to_owned();
    let export = async {
        let output = tokio::task::spawn_blocking(move || {
            mono(&["export", "--database", &source_arg, "--out", &bundle_arg])
        })
        .await??;
        exported.store(true, std::sync::atomic::Ordering::SeqCst);
        anyhow::Ok(output)
    };
    let blocks = async {
        let mut seq = 1;
        while !exported.load(std::sync::atomic::Ordering::SeqCst) {
            traffic.add_member(&devnet, seq).await?;
            produce(&devnet, 1)?;
            seq += 1;
        }
        anyhow::Ok(())
    };
    let personal = async {
        let mut step = 3;
        while !exported.load(std::sync::atomic::Ordering::SeqCst) {
            writes.step(step).await?;
            step += 1;
        }
        // Writes after the export, which the bundle must not hold.
        for _ in 0..2 {
            writes.step(step).await?;
            step += 1;
        }
        anyhow::Ok(step)
    };
    let (output, (), steps) = tokio::try_join!(export, blocks, personal)?;
    ensure!(output.status.success(), "export: {output:?}");
    let manifest: Value = serde_json::from_slice(&output.stdout)?;
    let cursor = u32::try_from(manifest["cursor"]["block_num"].as_u64().context("cursor")?)?;

    // The chain goes on; the source follows it to the new head.
    for seq in 1_000_000..1_000_003 {
        traffic.add_member(&devnet, seq).await?;
        produce(&devnet, 2)?;
    }
    let lib = devnet.node().read(|chain| chain.lib_num());
    wait_until(|| Ok(mono_status(source, None)?["cursor_block"] == lib)).await?;
    terminate(&follower)?;
    ensure!(follower.wait()?.success(), "the follower stops cleanly");
    ensure!(lib > cursor, "blocks {cursor}..{lib} came after the export");

    // The bundle holds one state: a prefix of the writes, records and tokens alike.
    let imported = mono(&["import", "--database", target, "--from", path(&bundle)?])?;
    ensure!(imported.status.success(), "import: {imported:?}");
    let target_store = Store::open(target).await?;
    let versions = target_store.private_versions().await?;
    // Each record starts at the block after the one synced when it was written, so the records
    // of one state start at most one block after its cursor.
    let latest_start = versions
        .iter()
        .map(|(_, version)| version.valid_from_block)
        .max()
        .unwrap_or(0);
    ensure!(
        latest_start <= cursor + 1,
        "a record from block {latest_start} was written after block {cursor} was synced"
    );
    let records: Vec<String> = versions
        .into_iter()
        .map(|(_, version)| version.key)
        .collect();
    let tokens = target_store.refresh_tokens().await?;
    target_store.close().await;
    let k = records.len() as u64;
    let m = tokens.len() as u64;
    let mut expected_records: Vec<String> = (0..k).map(PersonalWrites::key).collect();
    expected_records.sort();
    let mut expected_tokens: Vec<[u8; 32]> = (0..m)
        .map(|step| refresh_token(step, step, "").token_hash)
        .collect();
    expected_tokens.sort_unstable();
    ensure!(
        records == expected_records
            && tokens
                .iter()
                .map(|t| t.token.token_hash)
                .collect::<Vec<_>>()
                == expected_tokens
            && (m == k || m + 1 == k),
        "not one state: {k} records {records:?}, {m} tokens"
    );
    ensure!(
        k >= 3 && k < steps && manifest["private_records"] == k,
        "{k} of {steps} write steps exported: {manifest}"
    );
    store.close().await;

    // Its registries are the source's at its cursor, then and now.
    let at_cursor = mono_status(source, Some(cursor))?;
    let imported_at_cursor = mono_status(target, Some(cursor))?;
    ensure!(
        manifest["registry_digest"] == at_cursor["registry_digest"]
            && imported_at_cursor["registry_digest"] == at_cursor["registry_digest"]
            && imported_at_cursor["events_digest"] == at_cursor["events_digest"],
        "source {at_cursor}, imported {imported_at_cursor}, manifest {manifest}"
    );

    // Following goes on from the bundle's cursor: no gap, no duplicate.
    ensure!(
        wait_exit(sync(&devnet, target, Some(lib))?)
            .await?
            .success()
    );
    let (followed, original) = (mono_status(target, None)?, mono_status(source, None)?);
    let events = |status: &Value| comparable(status)[..7].to_vec();
    ensure!(
        followed["cursor_block"] == lib && events(&followed) == events(&original),
        "{followed} != {original}"
    );
    devnet.stop().await?;
    Ok(())
}

/// Personal data and logins written into a running instance's store as the API writes them.
struct PersonalWrites<'a> {
    store: &'a Store,
}

impl PersonalWrites<'_> {
    fn key(step: u64) -> String {
        format!("live{step:05}")
    }

    /// Write step `step`: a private record from the block after the synced one, then a login.
    async fn step(&self, step: u64) -> anyhow::Result<()> {
        let data = mono_instance::store::JsonText::from_value(&serde_json::json!({"step": step}));
        self.store
            .put_private_next("individual", &Self::key(step), &data)
            .await?;
        self.store
            .put_refresh_token(&refresh_token(step, step, "memberone"))
            .await?;
        Ok(())
    }
}
