//! Writing a bundle from a store that may keep running: everything is read through one
//! [snapshot](Store::snapshot) taken at the start, so the blocks up to its cursor, the private
//! records, the refresh tokens, the extensions, the counts and both digests are one state, whatever the
//! follower and the API write meanwhile.

use std::path::Path;

use super::files::{LinesWriter, write_manifest};
use super::{
    BundleFile, ENCRYPTION_SCHEME, EVENTS_FILE, EXTENSIONS_FILE, Encryption, Error, ExportOptions,
    ExtensionLine, FORMAT, MANIFEST_FILE, Manifest, PRIVATE_FILE, PrivateLine, Progress, Result,
    SESSIONS_FILE, SessionLine, each_private_version, file_name,
};
use crate::registry::check;
use crate::store::{EventCounts, Store};

/// Blocks read from the store at a time.
const BLOCKS_PER_STEP: u32 = 500;
/// Private record versions written between two progress reports.
const PRIVATE_PROGRESS_EVERY: u64 = 500;

/// Writes the store into `dir` (created when missing) as a bundle; `progress` hears of every
/// step of blocks and of private records written.
///
/// # Errors
/// [`Error::AlreadyExported`] when `dir` holds a manifest, [`Error::EmptyStore`], and I/O or
/// store errors.
pub async fn export(
    store: &Store,
    dir: &Path,
    options: &ExportOptions,
    progress: &dyn Fn(Progress),
) -> Result<Manifest> {
    let manifest_path = dir.join(MANIFEST_FILE);
    if manifest_path.exists() {
        return Err(Error::AlreadyExported {
            path: manifest_path,
        });
    }
    std::fs::create_dir_all(dir).map_err(super::files::io_error(dir))?;
    let snapshot = store.snapshot().await?;
    let written = write_bundle(&snapshot, dir, options, progress).await;
    snapshot.close().await;
    let manifest = written?;
    write_manifest(dir, &manifest)?;
    Ok(manifest)
}

/// Writes every file of the bundle from `snapshot` and returns the manifest to write last.
async fn write_bundle(
    snapshot: &Store,
    dir: &Path,
    options: &ExportOptions,
    progress: &dyn Fn(Progress),
) -> Result<Manifest> {
    let cursor = snapshot.cursor().await?.ok_or(Error::EmptyStore)?;
    let mut files = Vec::new();
    let counts = if options.with_events {
        files.push(write_events(snapshot, dir, cursor.block_num, progress).await?);
        snapshot.counts(Some(cursor.block_num)).await?
    } else {
        EventCounts::default()
    };

    let passphrase = options.passphrase.as_ref();
    let mut out = LinesWriter::create(
        dir,
        &file_name(PRIVATE_FILE, passphrase.is_some()),
        passphrase,
    )?;
    let total = snapshot.private_version_count().await?;
    let mut done = 0;
    let private_records = each_private_version(snapshot, |kind, version| {
        out.line(&PrivateLine::new(kind, version)?)?;
        done += 1;
        if done % PRIVATE_PROGRESS_EVERY == 0 || done == total {
            progress(Progress::records(done, total));
        }
        Ok(())
    })
    .await?;
    files.push(out.finish()?);

    let tokens = snapshot.refresh_tokens().await?;
    let mut out = LinesWriter::create(
        dir,
        &file_name(SESSIONS_FILE, passphrase.is_some()),
        passphrase,
    )?;
    for token in &tokens {
        out.line(&SessionLine::from(token))?;
    }
    files.push(out.finish()?);

    let extensions = snapshot.installed_extensions().await?;
    let mut out = LinesWriter::create(
        dir,
        &file_name(EXTENSIONS_FILE, passphrase.is_some()),
        passphrase,
    )?;
    let extension_count = extensions.len() as u64;
    for extension in extensions {
        out.line(&ExtensionLine::from(extension))?;
    }
    files.push(out.finish()?);

    let encryption = passphrase.map(|_| Encryption {
        scheme: ENCRYPTION_SCHEME.to_owned(),
        files: [PRIVATE_FILE, SESSIONS_FILE, EXTENSIONS_FILE]
            .map(|plain| file_name(plain, true))
            .to_vec(),
    });
    Ok(Manifest {
        format: FORMAT.to_owned(),
        instance_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        coopname: options.coopname.clone(),
        chain_id: options.chain_id.clone(),
        created_at: Some(
            jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string(),
        ),
        cursor,
        events_included: options.with_events,
        counts,
        events_digest: if options.with_events {
            snapshot.events_digest(Some(cursor.block_num)).await?
        } else {
            String::new()
        },
        private_records,
        refresh_tokens: tokens.len() as u64,
        extensions: extension_count,
        registry_digest: if options.with_events {
            Some(check::digest(snapshot, cursor.block_num).await?)
        } else {
            None
        },
        encryption,
        files,
    })
}

async fn write_events(
    snapshot: &Store,
    dir: &Path,
    last: u32,
    progress: &dyn Fn(Progress),
) -> Result<BundleFile> {
    let first = snapshot.first_block_num().await?.unwrap_or(last);
    let total = u64::from(last - first) + 1;
    let mut events = LinesWriter::create(dir, EVENTS_FILE, None)?;
    let mut done = 0;
    let mut from = first;
    while from <= last {
        let to = from.saturating_add(BLOCKS_PER_STEP - 1).min(last);
        for batch in snapshot.batches(from, to).await? {
            events.line(&batch)?;
            done += 1;
        }
        progress(Progress::blocks(done, total));
        match to.checked_add(1) {
            Some(next) => from = next,
            None => break,
        }
    }
    events.finish()
}
