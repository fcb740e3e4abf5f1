//! Export bundles: the store written to a directory (`mono export`) and read back into another
//! store, of either backend (`mono import`), to move an instance between clusters.
//!
//! A bundle is a directory with three files:
//! - `events.jsonl.gz`: gzip of JSON lines, one [`BlockBatch`] per stored block in block order;
//! - `private.jsonl.gz`: gzip of JSON lines, one [`PrivateLine`] per version of every private
//!   record (members' personal data, payment methods, …), history included;
//! - `manifest.json`: the format, the cursor, event counts, the events digest, the number of
//!   private record versions, the registry digest at the cursor and every file's size and
//!   SHA-256. It is written last, so a directory without it is an unfinished export.
//!
//! Import checks every file against the manifest before it writes anything, commits the blocks
//! in order through [`Store::commit_blocks`] (so a crash leaves a consistent prefix, and running
//! the import again resumes after it), writes the private records in one transaction, and
//! finally checks that the store's counts and digests are the manifest's. Bundles of the first
//! format (events only) are still read.

use std::fs::File;
use std::io::{BufRead as _, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::registry::check;
use crate::store::{self, BlockBatch, Cursor, EventCounts, JsonText, PrivateVersion, Store};

/// The bundle format this build writes.
pub const FORMAT: &str = "mono-export/2";
/// The first format, events only, which this build still reads.
pub const FORMAT_EVENTS_ONLY: &str = "mono-export/1";
/// The manifest's file name.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The events' file name.
pub const EVENTS_FILE: &str = "events.jsonl.gz";
/// The private records' file name.
pub const PRIVATE_FILE: &str = "private.jsonl.gz";
/// Blocks read from the store, or committed to it, at a time.
const BLOCKS_PER_STEP: u32 = 500;

/// Why an export or an import failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The directory already holds a finished export.
    #[error("{path} already holds an export; choose an empty directory")]
    AlreadyExported {
        /// The manifest found.
        path: PathBuf,
    },
    /// There is nothing to export.
    #[error("the store is empty: there is nothing to export")]
    EmptyStore,
    /// The store changed while it was exported (a fork was rolled back meanwhile).
    #[error("the store changed during the export ({what}); export again")]
    ChangedDuringExport {
        /// What differed.
        what: String,
    },
    /// The manifest is not one this build reads.
    #[error("{path} is not a MONO export manifest: {reason}")]
    BadManifest {
        /// The manifest.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file of the bundle is not the one the manifest lists.
    #[error("{path} does not match the manifest: {reason}")]
    FileMismatch {
        /// The file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// A line of the events file is not a block.
    #[error("{path} line {line}: {source}")]
    BadLine {
        /// The events file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The target store holds blocks that are not this export's.
    #[error(
        "the store already holds block {block_num} with another id than the export's; \
         import into an empty store"
    )]
    StoreHoldsOtherData {
        /// The store's cursor block.
        block_num: u32,
    },
    /// After the import the store does not hold what the manifest says.
    #[error("the imported store does not match the manifest: {what}")]
    ImportMismatch {
        /// What differs.
        what: String,
    },
}

/// Result of bundle operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleFile {
    /// File name inside the bundle directory.
    pub path: String,
    /// Lowercase hex SHA-256 of the file.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The store's cursor at the export (its id in lowercase hex).
    pub cursor: Cursor,
    /// Blocks, actions, deltas, ABI versions and undecodable records exported.
    pub counts: EventCounts,
    /// The store's events digest up to the cursor block (`mono status`'s `events_digest`).
    pub events_digest: String,
    /// Versions of private records exported.
    #[serde(default)]
    pub private_records: u64,
    /// The registry digest at the cursor block (`mono registry digest`), absent in the first
    /// format.
    #[serde(default)]
    pub registry_digest: Option<String>,
    /// The files of the bundle.
    pub files: Vec<BundleFile>,
}

/// One version of a private record in `private.jsonl.gz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivateLine {
    /// The record's kind.
    pub kind: String,
    /// The record's key.
    pub key: String,
    /// Its version number.
    pub version: u64,
    /// First block of the version.
    pub valid_from_block: u32,
    /// First block after it, `None` while current.
    pub valid_to_block: Option<u32>,
    /// The record.
    pub data: serde_json::Value,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Blocks committed by this run (fewer than exported when it resumed an earlier run).
    pub imported_blocks: u64,
    /// The store's cursor block after the import.
    pub cursor_block: u32,
    /// The store's counts after the import.
    pub counts: EventCounts,
    /// The store's events digest after the import, equal to the manifest's.
    pub events_digest: String,
}

/// Writes the store's events up to its cursor into `dir` (created when missing) as a bundle.
///
/// # Errors
/// [`Error::AlreadyExported`] when `dir` holds a manifest, [`Error::EmptyStore`],
/// [`Error::ChangedDuringExport`] when a fork was rolled back meanwhile, and I/O or store errors.
pub async fn export(store: &Store, dir: &Path) -> Result<Manifest> {
    let manifest_path = dir.join(MANIFEST_FILE);
    if manifest_path.exists() {
        return Err(Error::AlreadyExported {
            path: manifest_path,
        });
    }
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let cursor = store.cursor().await?.ok_or(Error::EmptyStore)?;
    let first = store.first_block_num().await?.unwrap_or(cursor.block_num);

    let events_path = dir.join(EVENTS_FILE);
    let partial = dir.join(format!("{EVENTS_FILE}.partial"));
    let file = File::create(&partial).map_err(io_error(&partial))?;
    let mut events = GzEncoder::new(
        HashingWriter::new(BufWriter::new(file)),
        Compression::default(),
    );
    let mut written = EventCounts::default();
    let mut from = first;
    while from <= cursor.block_num {
        let to = from
            .saturating_add(BLOCKS_PER_STEP - 1)
            .min(cursor.block_num);
        for batch in store.batches(from, to).await? {
            written.blocks += 1;
            written.actions += batch.actions.len() as u64;
            written.deltas += batch.deltas.len() as u64;
            written.abis += batch.abis.len() as u64;
            written.undecodable += batch.undecodable.len() as u64;
            serde_json::to_writer(&mut events, &batch)
                .map_err(|source| io_error(&partial)(source.into()))?;
            events.write_all(b"\n").map_err(io_error(&partial))?;
        }
        match to.checked_add(1) {
            Some(next) => from = next,
            None => break,
        }
    }
    let hashing = events.finish().map_err(io_error(&partial))?;
    let (sha256, size) = hashing.finish().map_err(io_error(&partial))?;
    std::fs::rename(&partial, &events_path).map_err(io_error(&events_path))?;

    // Blocks at or below the cursor change only when a fork is rolled back (head mode).
    let still = store.block(cursor.block_num).await?;
    if still.is_none_or(|block| block.block_id != cursor.block_id) {
        return Err(Error::ChangedDuringExport {
            what: format!("block {} was rolled back", cursor.block_num),
        });
    }
    let counts = store.counts(Some(cursor.block_num)).await?;
    if counts != written {
        return Err(Error::ChangedDuringExport {
            what: format!("wrote {written:?}, the store holds {counts:?}"),
        });
    }
    let private = store.private_versions().await?;
    let registry_digest = check::digest(store, cursor.block_num).await?;
    let private_file = write_private(dir, &private)?;
    if store.private_versions().await? != private {
        return Err(Error::ChangedDuringExport {
            what: "private records changed".to_owned(),
        });
    }
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        cursor,
        counts,
        events_digest: store.events_digest(Some(cursor.block_num)).await?,
        private_records: private.len() as u64,
        registry_digest: Some(registry_digest),
        files: vec![
            BundleFile {
                path: EVENTS_FILE.to_owned(),
                sha256,
                size,
            },
            private_file,
        ],
    };
    write_manifest(dir, &manifest)?;
    Ok(manifest)
}

/// Reads the bundle in `dir` into `store`, which must be empty or hold a prefix of the bundle
/// left by an interrupted import.
///
/// # Errors
/// [`Error::BadManifest`] or [`Error::FileMismatch`] for a broken bundle (nothing is written
/// then), [`Error::StoreHoldsOtherData`], [`Error::BadLine`], [`Error::ImportMismatch`], and I/O
/// or store errors.
pub async fn import(store: &Store, dir: &Path) -> Result<ImportReport> {
    let manifest = read_manifest(dir)?;
    for file in &manifest.files {
        verify_file(dir, file)?;
    }
    let resume_at = store.cursor().await?;
    let events_path = dir.join(EVENTS_FILE);
    let file = File::open(&events_path).map_err(io_error(&events_path))?;
    let lines = BufReader::new(GzDecoder::new(BufReader::new(file))).lines();
    let mut resumed = resume_at.is_none();
    let mut pending = Vec::new();
    let mut imported_blocks = 0;
    for (idx, line) in lines.enumerate() {
        let line = line.map_err(io_error(&events_path))?;
        let batch: BlockBatch = serde_json::from_str(&line).map_err(|source| Error::BadLine {
            path: events_path.clone(),
            line: idx as u64 + 1,
            source,
        })?;
        if let Some(cursor) = resume_at.filter(|_| !resumed) {
            resumed = skip_imported(&batch, &cursor)?;
            continue;
        }
        pending.push(batch);
        if pending.len() >= BLOCKS_PER_STEP as usize {
            store.commit_blocks(&pending).await?;
            imported_blocks += pending.len() as u64;
            pending.clear();
        }
    }
    if let Some(cursor) = resume_at.filter(|_| !resumed) {
        return Err(Error::StoreHoldsOtherData {
            block_num: cursor.block_num,
        });
    }
    store.commit_blocks(&pending).await?;
    imported_blocks += pending.len() as u64;

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
    if manifest.files.iter().any(|file| file.path == PRIVATE_FILE) {
        let private = read_private(dir)?;
        if private.len() as u64 != manifest.private_records {
            return Err(Error::ImportMismatch {
                what: format!(
                    "{} private record versions, the manifest {}",
                    private.len(),
                    manifest.private_records
                ),
            });
        }
        store.import_private_versions(&private).await?;
    }
    if let Some(expected) = &manifest.registry_digest {
        let registry_digest = check::digest(store, manifest.cursor.block_num).await?;
        if &registry_digest != expected {
            return Err(Error::ImportMismatch {
                what: format!("registry digest {registry_digest}, the manifest {expected}"),
            });
        }
    }
    Ok(ImportReport {
        imported_blocks,
        cursor_block: manifest.cursor.block_num,
        counts,
        events_digest,
    })
}

/// Whether an interrupted import's last block is `batch` (then importing resumes after it);
/// blocks before it are skipped.
fn skip_imported(batch: &BlockBatch, cursor: &Cursor) -> Result<bool> {
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

/// Reads and checks `dir/manifest.json`.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|err| Error::BadManifest {
        path: path.clone(),
        reason: err.to_string(),
    })?;
    if manifest.format != FORMAT && manifest.format != FORMAT_EVENTS_ONLY {
        return Err(Error::BadManifest {
            path,
            reason: format!(
                "format {:?}, this build reads {FORMAT:?} and {FORMAT_EVENTS_ONLY:?}",
                manifest.format
            ),
        });
    }
    if !manifest.files.iter().any(|file| file.path == EVENTS_FILE) {
        return Err(Error::BadManifest {
            path,
            reason: format!("{EVENTS_FILE} is not listed"),
        });
    }
    Ok(manifest)
}

/// Writes `private.jsonl.gz`, returning its manifest entry.
fn write_private(dir: &Path, versions: &[(String, PrivateVersion)]) -> Result<BundleFile> {
    let path = dir.join(PRIVATE_FILE);
    let partial = dir.join(format!("{PRIVATE_FILE}.partial"));
    let file = File::create(&partial).map_err(io_error(&partial))?;
    let mut out = GzEncoder::new(
        HashingWriter::new(BufWriter::new(file)),
        Compression::default(),
    );
    for (kind, version) in versions {
        let line = PrivateLine {
            kind: kind.clone(),
            key: version.key.clone(),
            version: version.version,
            valid_from_block: version.valid_from_block,
            valid_to_block: version.valid_to_block,
            data: version
                .data
                .to_value()
                .map_err(|source| io_error(&partial)(source.into()))?,
        };
        serde_json::to_writer(&mut out, &line)
            .map_err(|source| io_error(&partial)(source.into()))?;
        out.write_all(b"\n").map_err(io_error(&partial))?;
    }
    let hashing = out.finish().map_err(io_error(&partial))?;
    let (sha256, size) = hashing.finish().map_err(io_error(&partial))?;
    std::fs::rename(&partial, &path).map_err(io_error(&path))?;
    Ok(BundleFile {
        path: PRIVATE_FILE.to_owned(),
        sha256,
        size,
    })
}

/// Reads `private.jsonl.gz`.
fn read_private(dir: &Path) -> Result<Vec<(String, PrivateVersion)>> {
    let path = dir.join(PRIVATE_FILE);
    let file = File::open(&path).map_err(io_error(&path))?;
    let mut versions = Vec::new();
    for (idx, line) in BufReader::new(GzDecoder::new(BufReader::new(file)))
        .lines()
        .enumerate()
    {
        let line = line.map_err(io_error(&path))?;
        let bad_line = |source| Error::BadLine {
            path: path.clone(),
            line: idx as u64 + 1,
            source,
        };
        let line: PrivateLine = serde_json::from_str(&line).map_err(bad_line)?;
        versions.push((
            line.kind,
            PrivateVersion {
                key: line.key,
                version: line.version,
                valid_from_block: line.valid_from_block,
                valid_to_block: line.valid_to_block,
                data: JsonText::from_value(&line.data),
            },
        ));
    }
    Ok(versions)
}

/// Checks a bundle file's size and SHA-256 against the manifest.
fn verify_file(dir: &Path, listed: &BundleFile) -> Result<()> {
    // Only plain names: a manifest must not point outside its directory.
    if listed.path.is_empty() || listed.path.contains(['/', '\\']) || listed.path == ".." {
        return Err(Error::BadManifest {
            path: dir.join(MANIFEST_FILE),
            reason: format!("file name {:?} is not a plain name", listed.path),
        });
    }
    let path = dir.join(&listed.path);
    let mut file = File::open(&path).map_err(io_error(&path))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 16];
    let mut size = 0u64;
    loop {
        let read = file.read(&mut buffer).map_err(io_error(&path))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    let sha256 = hex::encode(hasher.finalize());
    if size != listed.size || sha256 != listed.sha256 {
        return Err(Error::FileMismatch {
            path,
            reason: format!(
                "{size} bytes with SHA-256 {sha256}, the manifest lists {} bytes with {}",
                listed.size, listed.sha256
            ),
        });
    }
    Ok(())
}

/// Writes the manifest through a temporary file, so it appears whole or not at all.
fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    let path = dir.join(MANIFEST_FILE);
    let partial = dir.join(format!("{MANIFEST_FILE}.partial"));
    let mut text =
        serde_json::to_vec_pretty(manifest).map_err(|source| io_error(&partial)(source.into()))?;
    text.push(b'\n');
    let mut file = File::create(&partial).map_err(io_error(&partial))?;
    file.write_all(&text).map_err(io_error(&partial))?;
    file.sync_all().map_err(io_error(&partial))?;
    std::fs::rename(&partial, &path).map_err(io_error(&path))?;
    // The renames are durable once the directory is.
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io_error(dir))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// A writer that hashes and counts what passes through, for the manifest.
struct HashingWriter {
    inner: BufWriter<File>,
    hasher: Sha256,
    size: u64,
}

impl HashingWriter {
    fn new(inner: BufWriter<File>) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// Flushes and syncs the file; returns its SHA-256 (hex) and size.
    fn finish(self) -> std::io::Result<(String, u64)> {
        let file = self.inner.into_inner().map_err(|err| err.into_error())?;
        file.sync_all()?;
        Ok((hex::encode(self.hasher.finalize()), self.size))
    }
}

impl Write for HashingWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..written]);
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_with(format: &str, files: Vec<BundleFile>) -> Manifest {
        Manifest {
            format: format.to_owned(),
            cursor: Cursor {
                block_num: 3,
                block_id: [0xab; 32],
                lib: 3,
            },
            counts: EventCounts::default(),
            events_digest: String::new(),
            private_records: 0,
            registry_digest: None,
            files,
        }
    }

    fn events_file(path: &str) -> BundleFile {
        BundleFile {
            path: path.to_owned(),
            sha256: String::new(),
            size: 0,
        }
    }

    #[test]
    fn manifests_of_other_formats_or_without_events_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cases = [
            (
                manifest_with("mono-export/3", vec![events_file(EVENTS_FILE)]),
                "format",
            ),
            (manifest_with(FORMAT, Vec::new()), "not listed"),
        ];
        for (manifest, reason) in cases {
            write_manifest(dir.path(), &manifest).expect("written");
            match read_manifest(dir.path()) {
                Err(Error::BadManifest { reason: got, .. }) => {
                    assert!(got.contains(reason), "{got}");
                }
                other => panic!("{other:?}"),
            }
        }
        for format in [FORMAT, FORMAT_EVENTS_ONLY] {
            let good = manifest_with(format, vec![events_file(EVENTS_FILE)]);
            write_manifest(dir.path(), &good).expect("written");
            assert_eq!(read_manifest(dir.path()).expect("readable"), good);
        }
    }

    #[test]
    fn listed_files_must_be_plain_names_with_the_listed_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["../escape", "a/b", "..", ""] {
            assert!(
                matches!(
                    verify_file(dir.path(), &events_file(name)),
                    Err(Error::BadManifest { .. })
                ),
                "{name:?}"
            );
        }
        std::fs::write(dir.path().join("part"), b"abc").expect("written");
        let mut listed = events_file("part");
        listed.size = 3;
        listed.sha256 = hex::encode(Sha256::digest(b"abc"));
        assert!(verify_file(dir.path(), &listed).is_ok());
        listed.sha256 = hex::encode(Sha256::digest(b"abd"));
        assert!(matches!(
            verify_file(dir.path(), &listed),
            Err(Error::FileMismatch { .. })
        ));
    }

    #[test]
    fn an_interrupted_import_resumes_after_its_last_block() {
        let batch = |block_num, id| {
            BlockBatch::new(
                store::BlockRecord {
                    block_num,
                    block_id: [id; 32],
                    previous: [0; 32],
                    timestamp_ms: 0,
                },
                0,
            )
        };
        let cursor = Cursor {
            block_num: 5,
            block_id: [5; 32],
            lib: 5,
        };
        assert!(!skip_imported(&batch(4, 4), &cursor).expect("before the cursor"));
        assert!(skip_imported(&batch(5, 5), &cursor).expect("the cursor block"));
        assert!(matches!(
            skip_imported(&batch(5, 6), &cursor),
            Err(Error::StoreHoldsOtherData { block_num: 5 })
        ));
        assert!(matches!(
            skip_imported(&batch(6, 6), &cursor),
            Err(Error::StoreHoldsOtherData { block_num: 5 })
        ));
    }
}
