//! Writing a bundle from a store that may keep running: its blocks up to the cursor (never
//! changed by the follower in irreversible mode; a rolled-back fork in head mode is detected),
//! and its private records read in one statement, so they are one consistent state; the
//! registry digest is computed from the same state, and read again if a record changed
//! meanwhile.

use std::path::Path;

use super::files::{LinesWriter, write_manifest};
use super::{
    BundleFile, ENCRYPTION_SCHEME, EVENTS_FILE, Encryption, Error, ExportOptions, FORMAT,
    MANIFEST_FILE, Manifest, PrivateLine, Progress, Result, private_file_name,
};
use crate::registry::check;
use crate::store::{EventCounts, Store};

/// Blocks read from the store at a time.
const BLOCKS_PER_STEP: u32 = 500;
/// Times the private records are read again when they change during an export.
const PRIVATE_ATTEMPTS: u32 = 5;

/// Writes the store into `dir` (created when missing) as a bundle; `progress` hears of every
/// step of blocks written.
///
/// # Errors
/// [`Error::AlreadyExported`] when `dir` holds a manifest, [`Error::EmptyStore`],
/// [`Error::ChangedDuringExport`] when a fork was rolled back meanwhile or the private records
/// kept changing, and I/O or store errors.
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
    let cursor = store.cursor().await?.ok_or(Error::EmptyStore)?;
    let mut files = Vec::new();
    let counts = if options.with_events {
        let (file, counts) = write_events(store, dir, cursor.block_num, progress).await?;
        files.push(file);
        counts
    } else {
        EventCounts::default()
    };
    // Blocks at or below the cursor change only when a fork is rolled back (head mode).
    let still = store.block(cursor.block_num).await?;
    if still.is_none_or(|block| block.block_id != cursor.block_id) {
        return Err(Error::ChangedDuringExport {
            what: format!("block {} was rolled back", cursor.block_num),
        });
    }

    let (private_file, private_records, registry_digest) =
        write_private(store, dir, cursor.block_num, options).await?;
    files.push(private_file);
    let encryption = options.passphrase.as_ref().map(|_| Encryption {
        scheme: ENCRYPTION_SCHEME.to_owned(),
        files: vec![private_file_name(true).to_owned()],
    });
    let manifest = Manifest {
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
            store.events_digest(Some(cursor.block_num)).await?
        } else {
            String::new()
        },
        private_records,
        registry_digest: options.with_events.then_some(registry_digest),
        encryption,
        files,
    };
    write_manifest(dir, &manifest)?;
    Ok(manifest)
}

async fn write_events(
    store: &Store,
    dir: &Path,
    last: u32,
    progress: &dyn Fn(Progress),
) -> Result<(BundleFile, EventCounts)> {
    let first = store.first_block_num().await?.unwrap_or(last);
    let total = u64::from(last - first) + 1;
    let mut events = LinesWriter::create(dir, EVENTS_FILE, None)?;
    let mut written = EventCounts::default();
    let mut from = first;
    while from <= last {
        let to = from.saturating_add(BLOCKS_PER_STEP - 1).min(last);
        for batch in store.batches(from, to).await? {
            written.blocks += 1;
            written.actions += batch.actions.len() as u64;
            written.deltas += batch.deltas.len() as u64;
            written.abis += batch.abis.len() as u64;
            written.undecodable += batch.undecodable.len() as u64;
            events.line(&batch)?;
        }
        progress(Progress {
            done: written.blocks,
            total,
        });
        match to.checked_add(1) {
            Some(next) => from = next,
            None => break,
        }
    }
    let file = events.finish()?;
    let counts = store.counts(Some(last)).await?;
    if counts != written {
        return Err(Error::ChangedDuringExport {
            what: format!("wrote {written:?}, the store holds {counts:?}"),
        });
    }
    Ok((file, counts))
}

/// Writes the private records and returns the file, their count and the registry digest at
/// `block_num` of the same state.
async fn write_private(
    store: &Store,
    dir: &Path,
    block_num: u32,
    options: &ExportOptions,
) -> Result<(BundleFile, u64, String)> {
    for _ in 0..PRIVATE_ATTEMPTS {
        let private = store.private_versions().await?;
        let registry_digest = check::digest(store, block_num).await?;
        if store.private_versions().await? != private {
            continue;
        }
        let mut out = LinesWriter::create(
            dir,
            private_file_name(options.passphrase.is_some()),
            options.passphrase.as_ref(),
        )?;
        for (kind, version) in &private {
            out.line(&PrivateLine::new(kind, version)?)?;
        }
        return Ok((out.finish()?, private.len() as u64, registry_digest));
    }
    Err(Error::ChangedDuringExport {
        what: format!("private records changed {PRIVATE_ATTEMPTS} times while they were read"),
    })
}
