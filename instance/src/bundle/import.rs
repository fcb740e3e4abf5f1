//! Reading a bundle into a store: every check that can fail is made before anything is
//! written (manifest, identity, file checksums, the passphrase and every private record), the
//! blocks are committed in order so an interrupted import resumes, the private records are
//! written in one transaction, and the store's counts and digests are compared with the
//! manifest's at the end.

use std::io::BufRead as _;
use std::path::Path;

use super::files::{read_lines, verify_file};
use super::{
    EVENTS_FILE, Error, ImportOptions, ImportReport, PrivateLine, Progress, Result,
    private_file_name, read_manifest,
};
use crate::registry::check;
use crate::store::{BlockBatch, Cursor, PrivateVersion, Store};

/// Blocks committed to the store at a time.
const BLOCKS_PER_COMMIT: usize = 500;

/// Reads the bundle in `dir` into `store`, which must be empty or hold a prefix of the bundle
/// left by an interrupted import; `progress` hears of every commit.
///
/// # Errors
/// [`Error::BadManifest`], [`Error::FileMismatch`], [`Error::OtherCooperative`],
/// [`Error::OtherChain`], [`Error::PassphraseRequired`], [`Error::WrongPassphrase`] or
/// [`Error::BadLine`] for a bundle that cannot be imported (nothing is written then),
/// [`Error::StoreHoldsOtherData`], [`Error::ImportMismatch`], and I/O or store errors.
pub async fn import(
    store: &Store,
    dir: &Path,
    options: &ImportOptions,
    progress: &dyn Fn(Progress),
) -> Result<ImportReport> {
    let manifest = read_manifest(dir)?;
    if !options.force {
        refuse_other(
            manifest.coopname.as_deref(),
            options.coopname.as_deref(),
            |bundle, ours| Error::OtherCooperative { bundle, ours },
        )?;
        refuse_other(
            manifest.chain_id.as_deref(),
            options.chain_id.as_deref(),
            |bundle, ours| Error::OtherChain { bundle, ours },
        )?;
    }
    for file in &manifest.files {
        verify_file(dir, file)?;
    }
    let encrypted = manifest.encryption.is_some();
    let private = match manifest
        .files
        .iter()
        .find(|file| file.path == private_file_name(encrypted))
    {
        Some(file) => read_private(dir, &file.path, encrypted, options)?,
        None => Vec::new(),
    };
    if private.len() as u64 != manifest.private_records {
        return Err(Error::ImportMismatch {
            what: format!(
                "{} private record versions, the manifest {}",
                private.len(),
                manifest.private_records
            ),
        });
    }

    let mut report = ImportReport {
        imported_blocks: 0,
        cursor_block: None,
        counts: manifest.counts,
        events_digest: None,
        private_records: manifest.private_records,
        registry_digest: None,
    };
    if manifest.events_included {
        report.imported_blocks =
            import_events(store, dir, manifest.counts.blocks, progress).await?;
        check_events(store, &manifest).await?;
        report.cursor_block = Some(manifest.cursor.block_num);
        report.events_digest = Some(manifest.events_digest.clone());
    }
    store.import_private_versions(&private).await?;
    store.refresh_statistics().await?;
    if let Some(expected) = &manifest.registry_digest {
        let registry_digest = check::digest(store, manifest.cursor.block_num).await?;
        if &registry_digest != expected {
            return Err(Error::ImportMismatch {
                what: format!("registry digest {registry_digest}, the manifest {expected}"),
            });
        }
        report.registry_digest = Some(registry_digest);
    }
    Ok(report)
}

/// Refuses a bundle naming another cooperative or chain than the importing instance's.
fn refuse_other(
    bundle: Option<&str>,
    ours: Option<&str>,
    error: impl FnOnce(String, String) -> Error,
) -> Result<()> {
    match (bundle, ours) {
        (Some(bundle), Some(ours)) if !bundle.eq_ignore_ascii_case(ours) => {
            Err(error(bundle.to_owned(), ours.to_owned()))
        }
        _ => Ok(()),
    }
}

fn read_private(
    dir: &Path,
    name: &str,
    encrypted: bool,
    options: &ImportOptions,
) -> Result<Vec<(String, PrivateVersion)>> {
    let path = dir.join(name);
    let lines = read_lines(dir, name, encrypted, options.passphrase.as_ref())?;
    let mut versions = Vec::new();
    for (idx, line) in lines.lines().enumerate() {
        let line = line.map_err(super::files::io_error(&path))?;
        let line: PrivateLine = serde_json::from_str(&line).map_err(|source| Error::BadLine {
            path: path.clone(),
            line: idx as u64 + 1,
            source,
        })?;
        versions.push(line.into_version());
    }
    Ok(versions)
}

async fn import_events(
    store: &Store,
    dir: &Path,
    total: u64,
    progress: &dyn Fn(Progress),
) -> Result<u64> {
    let path = dir.join(EVENTS_FILE);
    let resume_at = store.cursor().await?;
    let lines = read_lines(dir, EVENTS_FILE, false, None)?;
    let mut resumed = resume_at.is_none();
    let mut pending = Vec::new();
    let mut imported_blocks = 0;
    let mut done = 0;
    for (idx, line) in lines.lines().enumerate() {
        let line = line.map_err(super::files::io_error(&path))?;
        let batch: BlockBatch = serde_json::from_str(&line).map_err(|source| Error::BadLine {
            path: path.clone(),
            line: idx as u64 + 1,
            source,
        })?;
        done += 1;
        if let Some(cursor) = resume_at.filter(|_| !resumed) {
            resumed = skip_imported(&batch, &cursor)?;
            continue;
        }
        pending.push(batch);
        if pending.len() >= BLOCKS_PER_COMMIT {
            store.commit_blocks(&pending).await?;
            imported_blocks += pending.len() as u64;
            pending.clear();
            progress(Progress { done, total });
        }
    }
    if let Some(cursor) = resume_at.filter(|_| !resumed) {
        return Err(Error::StoreHoldsOtherData {
            block_num: cursor.block_num,
        });
    }
    store.commit_blocks(&pending).await?;
    imported_blocks += pending.len() as u64;
    progress(Progress { done, total });
    Ok(imported_blocks)
}

/// Compares the store's cursor, counts and events digest with the manifest's.
async fn check_events(store: &Store, manifest: &super::Manifest) -> Result<()> {
    let cursor = store.cursor().await?;
    let at = cursor.map(|cursor| (cursor.block_num, cursor.block_id));
    if at != Some((manifest.cursor.block_num, manifest.cursor.block_id)) {
        return Err(Error::ImportMismatch {
            what: format!(
                "the store ends at {:?}, the manifest at block {} {}",
                at.map(|(num, id)| format!("block {num} {}", hex::encode(id))),
                manifest.cursor.block_num,
                hex::encode(manifest.cursor.block_id)
            ),
        });
    }
    let counts = store.counts(None).await?;
    if counts != manifest.counts {
        return Err(Error::ImportMismatch {
            what: format!("counts {counts:?}, the manifest {:?}", manifest.counts),
        });
    }
    let events_digest = store.events_digest(None).await?;
    if events_digest != manifest.events_digest {
        return Err(Error::ImportMismatch {
            what: format!(
                "events digest {events_digest}, the manifest {}",
                manifest.events_digest
            ),
        });
    }
    Ok(())
}

/// Whether an interrupted import's last block is `batch` (then importing resumes after it);
/// blocks before it are skipped.
pub(super) fn skip_imported(batch: &BlockBatch, cursor: &Cursor) -> Result<bool> {
    if batch.block.block_num < cursor.block_num {
        return Ok(false);
    }
    if batch.block.block_num == cursor.block_num && batch.block.block_id == cursor.block_id {
        return Ok(true);
    }
    Err(Error::StoreHoldsOtherData {
        block_num: cursor.block_num,
    })
}
