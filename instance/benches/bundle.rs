//! Export and import benchmark: a cooperative of 10,000 members (`MONO_BENCH_MEMBERS`) with
//! 100,000 kept documents (`MONO_BENCH_DOCUMENTS`) moves from SQLite to PostgreSQL (a
//! self-hosted instance joining the operator's cloud): one `bundle::export` encrypted under a
//! passphrase, one `bundle::import`, reported as time, records per second and bundle size. The
//! way back, PostgreSQL to SQLite, runs too with `MONO_BENCH_BACK=1`.
//!
//! The members are written straight into the store (account and shareholder rows in 100
//! blocks, personal data), as in the registry benchmark. The documents are the factory's: every
//! built-in template's example is rendered once (HTML, PDF, meta, hashes), and the store keeps
//! that many copies of them in turn, each under a hash of its own and from a block of the
//! history, so the bundle carries real HTML and PDF bytes. Each import checks the registry
//! digest at the cursor against the export's, which covers every document.
//!
//! PostgreSQL comes from `MONO_BENCH_DATABASE_URL`, else `MONO_TEST_DATABASE_URL`, else the
//! local default server; a fresh database is created and dropped.
//!
//! Run: `cargo bench -p mono-instance --bench bundle`.

#[path = "support/seed.rs"]
mod seed;
mod support;

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, ensure};
use mono_instance::bundle::{self, ExportOptions, ImportOptions, Manifest, Passphrase};
use mono_instance::factory::store::record;
use mono_instance::factory::{Factory, templates};
use mono_instance::store::{JsonText, NewRefreshToken, PrivateVersion, RefreshTokenRow, Store};
use sha2::{Digest as _, Sha256};
use support::TempPostgres;

/// Documents written per transaction while seeding.
const DOCUMENTS_PER_WRITE: u64 = 1_000;

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

async fn run() -> anyhow::Result<()> {
    let members = u32::try_from(env_count("MONO_BENCH_MEMBERS", 10_000))?;
    let documents = env_count("MONO_BENCH_DOCUMENTS", 100_000);
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}", dir.path().join("source.db").display());
    let back = format!("sqlite://{}", dir.path().join("back.db").display());
    let postgres = TempPostgres::create().await?;
    let outcome = round_trip(
        dir.path(),
        &sqlite,
        &postgres.url,
        &back,
        members,
        documents,
    )
    .await;
    postgres.drop().await?;
    outcome
}

async fn round_trip(
    dir: &Path,
    sqlite: &str,
    postgres: &str,
    back: &str,
    members: u32,
    documents: u64,
) -> anyhow::Result<()> {
    let source = Store::open(sqlite).await?;
    let started = Instant::now();
    let head = seed::members(&source, 0..members, None).await?;
    seed_documents(&source, documents, head).await?;
    seed_logins(&source, members).await?;
    println!(
        "seeded {members} members with a login each and {documents} documents in {head} blocks \
         into SQLite in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    source.close().await;

    let passphrase = Passphrase::from_file_text("correct horse battery staple")?;
    let moves = [
        (sqlite, postgres, "SQLite", "PostgreSQL"),
        (postgres, back, "PostgreSQL", "SQLite"),
    ];
    let n_moves = if env_count("MONO_BENCH_BACK", 0) == 1 {
        2
    } else {
        1
    };
    for (step, &(from, to, from_name, to_name)) in moves[..n_moves].iter().enumerate() {
        let bundle_dir = dir.join(format!("bundle{step}"));
        let from = Store::open(from).await?;
        let started = Instant::now();
        let options = ExportOptions {
            coopname: Some(seed::COOP.to_owned()),
            chain_id: None,
            with_events: true,
            passphrase: Some(passphrase.clone()),
        };
        let manifest = bundle::export(&from, &bundle_dir, &options, &|_| {}).await?;
        let export_seconds = started.elapsed().as_secs_f64();
        from.close().await;
        print_export(from_name, &manifest, export_seconds);

        let to = Store::open(to).await?;
        let started = Instant::now();
        let options = ImportOptions {
            coopname: Some(seed::COOP.to_owned()),
            passphrase: Some(passphrase.clone()),
            ..ImportOptions::default()
        };
        let report = bundle::import(&to, &bundle_dir, &options, &|_| {}).await?;
        let import_seconds = started.elapsed().as_secs_f64();
        to.close().await;
        ensure!(
            report.registry_digest.is_some() && report.registry_digest == manifest.registry_digest,
            "the import's registry digest is the export's"
        );
        println!(
            "import into {to_name}: {import_seconds:.1} s, {:.0} private records/s \
             (registry digest checked)",
            manifest.private_records as f64 / import_seconds
        );
        std::fs::remove_dir_all(&bundle_dir)?;
    }
    Ok(())
}

fn print_export(backend: &str, manifest: &Manifest, seconds: f64) {
    let size = |name: &str| {
        manifest
            .files
            .iter()
            .filter(|file| file.path.starts_with(name))
            .map(|file| file.size)
            .sum::<u64>()
    };
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    println!(
        "export from {backend}: {seconds:.1} s, {:.0} private records/s; bundle {:.1} MiB \
         (events {:.1} MiB, private records {:.1} MiB, sessions {:.3} MiB); {} blocks, \
         {} deltas, {} private record versions",
        manifest.private_records as f64 / seconds,
        mib(manifest.files.iter().map(|file| file.size).sum()),
        mib(size("events")),
        mib(size("private")),
        mib(size("sessions")),
        manifest.counts.blocks,
        manifest.counts.deltas,
        manifest.private_records,
    );
}

/// One live login (refresh token) per member.
async fn seed_logins(store: &Store, members: u32) -> anyhow::Result<()> {
    let tokens: Vec<RefreshTokenRow> = (0..members)
        .map(|seq| {
            let hash: [u8; 32] = Sha256::digest(seq.to_be_bytes()).into();
            RefreshTokenRow {
                token: NewRefreshToken {
                    token_hash: hash,
                    family: hash,
                    username: seed::username(seq),
                    issued_at: 1_800_000_000,
                    expires_at: 1_800_086_400,
                },
                spent: false,
                revoked: false,
            }
        })
        .collect();
    let mut import = store.begin_private_import().await?;
    import.refresh_tokens(&tokens).await?;
    import.commit().await?;
    Ok(())
}

/// Keeps `count` documents in `store`: copies of every built-in template's rendered example
/// in turn, each under its own hash, from blocks spread over `1..=head`.
async fn seed_documents(store: &Store, count: u64, head: u32) -> anyhow::Result<()> {
    let factory = Factory::new().context("loading fonts")?;
    let rendered = templates::builtin()
        .context("reading the built-in templates")?
        .into_iter()
        .map(|(draft, input)| {
            let generated = factory.render(&draft, &input)?;
            Ok(serde_json::to_value(record(&generated)?)?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let n_rendered = rendered.len() as u64;
    let mut seq = 0;
    while seq < count {
        let mut chunk = Vec::new();
        for seq in seq..(seq + DOCUMENTS_PER_WRITE).min(count) {
            let hash = hex::encode(Sha256::digest(seq.to_le_bytes()));
            let mut document = rendered[usize::try_from(seq % n_rendered)?].clone();
            document["hash"] = serde_json::Value::from(hash.as_str());
            chunk.push((
                "document".to_owned(),
                PrivateVersion {
                    key: hash,
                    version: 1,
                    valid_from_block: u32::try_from(seq % u64::from(head))? + 1,
                    valid_to_block: None,
                    data: JsonText::from_value(&document),
                },
            ));
        }
        let mut import = store.begin_private_import().await?;
        import.private_versions(&chunk).await?;
        import.commit().await?;
        seq += DOCUMENTS_PER_WRITE;
    }
    Ok(())
}
