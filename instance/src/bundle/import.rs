//! Reading a bundle into a store. Every check that can fail on a bundle is made before
//! anything is written: the manifest, the cooperative and chain, every file's checksum, the
//! passphrase (it must open every encrypted file), that this build has every extension of the
//! bundle, and whether the store holds other private data. Then the blocks are committed in
//! order, so an interrupted import resumes; the private records, the sessions and the
//! extensions are streamed from the bundle into one transaction, which commits only when their
//! counts are the manifest's; and the store's counts and digests are compared
//! with the manifest's at the end.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};

use super::files::{read_lines, verify_file};
use super::{
    EVENTS_FILE, EXTENSIONS_FILE, Error, ExtensionLine, ImportOptions, ImportReport, Manifest,
    PRIVATE_FILE, PrivateLine, Progress, Result, SESSIONS_FILE, SessionLine, each_private_version,
    file_name, read_manifest,
};
use crate::extensions::Catalog;
use crate::registry::check;
use crate::store::{BlockBatch, Cursor, ExtensionMigration, RefreshTokenRow, Store};

/// Blocks committed to the store at a time.
const BLOCKS_PER_COMMIT: usize = 500;
/// Private record versions or sessions written at a time inside the import's transaction.
const RECORDS_PER_WRITE: usize = 500;

/// Reads the bundle in `dir` into `store`, which must be empty or hold what an interrupted
/// import of the same bundle left; `progress` hears of every commit.
///
/// # Errors
/// [`Error::BadManifest`], [`Error::FileMismatch`], [`Error::OtherCooperative`],
/// [`Error::OtherChain`], [`Error::PassphraseRequired`], [`Error::WrongPassphrase`],
/// [`Error::UnknownExtension`], [`Error::StoreHoldsOtherRecords`] for a bundle that cannot be imported (nothing is written
/// then); [`Error::BadLine`], [`Error::StoreHoldsOtherData`], [`Error::ImportMismatch`], and
/// I/O or store errors.
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
    // Opening an encrypted file checks the passphrase.
    let mut private = Part::open(dir, &manifest, PRIVATE_FILE, options)?;
    let mut sessions = Part::open(dir, &manifest, SESSIONS_FILE, options)?;
    let extensions = Part::open(dir, &manifest, EXTENSIONS_FILE, options)?
        .values::<ExtensionLine>()
        .collect::<Result<Vec<_>>>()?;
    let migrations = migrations_of(&extensions)?;
    let already_imported = holds_private_data(store).await?;
    if already_imported {
        // Only a store left by an import of this very bundle may hold private data.
        let (bundle, stored) = (
            bundle_digest(&manifest, private.take(), sessions.take(), &extensions)?,
            store_digest(store).await?,
        );
        if bundle != stored {
            return Err(Error::StoreHoldsOtherRecords);
        }
    }

    let mut report = ImportReport {
        imported_blocks: 0,
        cursor_block: None,
        counts: manifest.counts,
        events_digest: None,
        private_records: manifest.private_records,
        refresh_tokens: manifest.refresh_tokens,
        extensions: manifest.extensions,
        registry_digest: None,
    };
    if manifest.events_included {
        report.imported_blocks =
            import_events(store, dir, manifest.counts.blocks, progress).await?;
        check_events(store, &manifest).await?;
        report.cursor_block = Some(manifest.cursor.block_num);
        report.events_digest = Some(manifest.events_digest.clone());
    }
    if !already_imported {
        let extensions = extensions.into_iter().zip(migrations).collect();
        import_private_data(store, &manifest, private, sessions, extensions, progress).await?;
    }
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

/// One JSON-lines file of the bundle, opened (and decrypted) for reading; `None` inside when
/// the bundle's format has no such file.
struct Part {
    path: PathBuf,
    lines: Option<Box<dyn BufRead>>,
}

impl Part {
    /// Opens bundle file `plain` ([`PRIVATE_FILE`], [`SESSIONS_FILE`], [`EXTENSIONS_FILE`]),
    /// decrypting it when the bundle is encrypted.
    fn open(dir: &Path, manifest: &Manifest, plain: &str, options: &ImportOptions) -> Result<Self> {
        let encrypted = manifest.encryption.is_some();
        let name = file_name(plain, encrypted);
        let listed = manifest.files.iter().any(|file| file.path == name);
        let lines = if listed {
            let lines = read_lines(dir, &name, encrypted, options.passphrase.as_ref())?;
            Some(Box::new(lines) as Box<dyn BufRead>)
        } else {
            None
        };
        Ok(Self {
            path: dir.join(name),
            lines,
        })
    }

    /// Takes the file out, leaving an absent one.
    fn take(&mut self) -> Self {
        Self {
            path: self.path.clone(),
            lines: self.lines.take(),
        }
    }

    /// The file's values, one per line, each parsed as it is read.
    fn values<T: DeserializeOwned>(self) -> impl Iterator<Item = Result<T>> {
        let path = self.path;
        self.lines
            .into_iter()
            .flat_map(BufRead::lines)
            .enumerate()
            .map(move |(idx, line)| {
                let line = line.map_err(super::files::io_error(&path))?;
                serde_json::from_str(&line).map_err(|source| Error::BadLine {
                    path: path.clone(),
                    line: idx as u64 + 1,
                    source,
                })
            })
    }
}

/// This build's migrations of each of the bundle's extensions.
fn migrations_of(extensions: &[ExtensionLine]) -> Result<Vec<&'static [ExtensionMigration]>> {
    let catalog = Catalog::builtin();
    extensions
        .iter()
        .map(|line| {
            catalog
                .get(&line.name)
                .map(|extension| extension.migrations())
                .map_err(|_| Error::UnknownExtension {
                    name: line.name.clone(),
                })
        })
        .collect()
}

/// Whether the store holds any private record, refresh token or installed extension.
async fn holds_private_data(store: &Store) -> Result<bool> {
    Ok(!store.private_versions_page(None, 1).await?.is_empty()
        || !store.refresh_tokens().await?.is_empty()
        || !store.installed_extensions().await?.is_empty())
}

/// SHA-256 of private record versions, then sessions, then extensions, one JSON line each, as a bundle
/// writes them: equal for a bundle and a store holding the same.
#[derive(Default)]
struct ContentDigest(Sha256);

impl ContentDigest {
    fn add(&mut self, line: &impl Serialize) {
        let text = serde_json::to_vec(line)
            .expect("bundle lines hold only strings, numbers and JSON values");
        self.0.update(&text);
        self.0.update(b"\n");
    }

    fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// The content digest of the bundle's private records, sessions and extensions, whose counts
/// must be the manifest's.
fn bundle_digest(
    manifest: &Manifest,
    private: Part,
    sessions: Part,
    extensions: &[ExtensionLine],
) -> Result<String> {
    let mut digest = ContentDigest::default();
    let mut counts = Counts::default();
    for line in private.values::<PrivateLine>() {
        digest.add(&line?);
        counts.private += 1;
    }
    for line in sessions.values::<SessionLine>() {
        digest.add(&line?);
        counts.sessions += 1;
    }
    for line in extensions {
        digest.add(line);
    }
    counts.extensions = extensions.len() as u64;
    check_private_counts(manifest, counts)?;
    Ok(digest.finish())
}

/// The content digest of the store's private records, sessions and extensions.
async fn store_digest(store: &Store) -> Result<String> {
    let mut digest = ContentDigest::default();
    each_private_version(store, |kind, version| {
        digest.add(&PrivateLine::new(kind, version)?);
        Ok(())
    })
    .await?;
    for token in &store.refresh_tokens().await? {
        digest.add(&SessionLine::from(token));
    }
    for extension in store.installed_extensions().await? {
        digest.add(&ExtensionLine::from(extension));
    }
    Ok(digest.finish())
}

/// How many private record versions, refresh tokens and extensions were read.
#[derive(Default)]
struct Counts {
    private: u64,
    sessions: u64,
    extensions: u64,
}

/// Refuses private record, session and extension counts other than the manifest's.
fn check_private_counts(manifest: &Manifest, counts: Counts) -> Result<()> {
    for (what, read, listed) in [
        (
            "private record versions",
            counts.private,
            manifest.private_records,
        ),
        ("refresh tokens", counts.sessions, manifest.refresh_tokens),
        ("extensions", counts.extensions, manifest.extensions),
    ] {
        if read != listed {
            return Err(Error::ImportMismatch {
                what: format!("{read} {what}, the manifest {listed}"),
            });
        }
    }
    Ok(())
}

/// Streams the private records, sessions and extensions (with this build's migrations of each)
/// into one transaction, committed only when their counts are the manifest's.
async fn import_private_data(
    store: &Store,
    manifest: &Manifest,
    private: Part,
    sessions: Part,
    extensions: Vec<(ExtensionLine, &[ExtensionMigration])>,
    progress: &dyn Fn(Progress),
) -> Result<()> {
    let mut import = store.begin_private_import().await?;
    let mut counts = Counts::default();
    let mut chunk = Vec::with_capacity(RECORDS_PER_WRITE);
    for line in private.values::<PrivateLine>() {
        chunk.push(line?.into_version());
        if chunk.len() == RECORDS_PER_WRITE {
            import.private_versions(&chunk).await?;
            counts.private += chunk.len() as u64;
            chunk.clear();
            progress(Progress::records(counts.private, manifest.private_records));
        }
    }
    import.private_versions(&chunk).await?;
    counts.private += chunk.len() as u64;
    progress(Progress::records(counts.private, manifest.private_records));
    let tokens = sessions
        .values::<SessionLine>()
        .map(|line| line.map(RefreshTokenRow::from))
        .collect::<Result<Vec<_>>>()?;
    import.refresh_tokens(&tokens).await?;
    counts.sessions = tokens.len() as u64;
    for (line, migrations) in extensions {
        if !import.extension(&line.into(), migrations).await? {
            return Err(Error::StoreHoldsOtherRecords);
        }
        counts.extensions += 1;
    }
    check_private_counts(manifest, counts)?;
    import.commit().await?;
    Ok(())
}

async fn import_events(
    store: &Store,
    dir: &Path,
    total: u64,
    progress: &dyn Fn(Progress),
) -> Result<u64> {
    let resume_at = store.cursor().await?;
    let lines = read_lines(dir, EVENTS_FILE, false, None)?;
    let events = Part {
        path: dir.join(EVENTS_FILE),
        lines: Some(Box::new(lines)),
    };
    let mut resumed = resume_at.is_none();
    let mut pending = Vec::new();
    let mut imported_blocks = 0;
    let mut done = 0;
    for batch in events.values::<BlockBatch>() {
        let batch = batch?;
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
            progress(Progress::blocks(done, total));
        }
    }
    if let Some(cursor) = resume_at.filter(|_| !resumed) {
        return Err(Error::StoreHoldsOtherData {
            block_num: cursor.block_num,
        });
    }
    store.commit_blocks(&pending).await?;
    imported_blocks += pending.len() as u64;
    progress(Progress::blocks(done, total));
    Ok(imported_blocks)
}

/// Compares the store's cursor, counts and events digest with the manifest's.
async fn check_events(store: &Store, manifest: &Manifest) -> Result<()> {
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
