//! Export bundles: everything a cooperative's instance owns, written to a directory
//! (`mono export`) and read back into another store of either backend (`mono import`), to move
//! the cooperative between clusters, clouds or backends.
//!
//! A bundle is a directory with:
//! - `events.jsonl.gz` (unless exported without events, which a resync rebuilds): gzip of JSON
//!   lines, one [`BlockBatch`](crate::store::BlockBatch) per stored block in block order;
//! - `private.jsonl.gz`, or `private.jsonl.gz.age` when encrypted: one [`PrivateLine`] per
//!   version of every private record (personal data, payment methods, the cooperative's
//!   variables, signature images, kept documents with their HTML, PDF, meta and signatures),
//!   history included;
//! - `sessions.jsonl.gz`, or `sessions.jsonl.gz.age` when encrypted: one [`SessionLine`] per
//!   refresh token of the API (its hash only, with its family and state), so logins survive
//!   the move; login challenges and key-reset tokens live for minutes and are left behind;
//! - `extensions.jsonl.gz`, or `extensions.jsonl.gz.age` when encrypted: one [`ExtensionLine`]
//!   per installed extension (whether it runs, its configuration with its secrets, when it was
//!   installed and changed); the import applies this build's migrations of each, so its tables
//!   exist, and refuses a bundle with an extension this build does not have. What an extension
//!   keeps in its own tables is derived (`qrpay`'s record of the instructions it issued, which it
//!   issues again on request) or short-lived (`powerup`'s top-ups, so its daily spending cap
//!   starts afresh after a move) and stays behind;
//! - `manifest.json`: the format, the instance version, the cooperative and chain, when it was
//!   made, the cursor, the row count of every table carried (blocks, actions, deltas, ABI
//!   versions, undecodable records, private record versions, refresh tokens, extensions), the events
//!   digest, the registry digest at the cursor, how personal data is encrypted, and every
//!   file's size and SHA-256. It is written last, so a directory without it is an unfinished
//!   export.
//!
//! Registry projections are not carried: the import rebuilds them from the events, and the
//! registry digest proves them equal. Accounts are chain state (events) joined with private
//! records, so they travel with those.
//!
//! Personal data, sessions and extensions are encrypted with [age](https://age-encryption.org) under a
//! passphrase (its scrypt recipient); chain events are public and are not. Import checks every
//! file against the manifest, the cooperative and chain, and decrypts every private record,
//! session and extension before it writes anything; see [`import`]. Bundles of the earlier
//! formats (events only; without sessions; without extensions) are still read.

mod export;
mod files;
mod import;

pub use export::export;
pub use files::Passphrase;
pub use import::import;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::{
    self, Cursor, EventCounts, InstalledExtension, JsonText, NewRefreshToken, PrivateVersion,
    RefreshTokenRow, Store, hex32,
};

/// The bundle format this build writes.
pub const FORMAT: &str = "mono-export/4";
/// The third format, without extensions, which this build still reads.
pub const FORMAT_WITHOUT_EXTENSIONS: &str = "mono-export/3";
/// The second format, without sessions, which this build still reads.
pub const FORMAT_WITHOUT_SESSIONS: &str = "mono-export/2";
/// The first format, events only, which this build still reads.
pub const FORMAT_EVENTS_ONLY: &str = "mono-export/1";
/// The manifest's file name.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The events' file name.
pub const EVENTS_FILE: &str = "events.jsonl.gz";
/// The private records' file name.
pub const PRIVATE_FILE: &str = "private.jsonl.gz";
/// The private records' file name when encrypted.
pub const PRIVATE_FILE_ENCRYPTED: &str = "private.jsonl.gz.age";
/// The refresh tokens' file name.
pub const SESSIONS_FILE: &str = "sessions.jsonl.gz";
/// The refresh tokens' file name when encrypted.
pub const SESSIONS_FILE_ENCRYPTED: &str = "sessions.jsonl.gz.age";
/// The extensions' file name.
pub const EXTENSIONS_FILE: &str = "extensions.jsonl.gz";
/// The extensions' file name when encrypted.
pub const EXTENSIONS_FILE_ENCRYPTED: &str = "extensions.jsonl.gz.age";
/// How encrypted files are encrypted: age v1 with one scrypt (passphrase) recipient.
pub const ENCRYPTION_SCHEME: &str = "age-v1-scrypt";

/// The name of bundle file `plain` ([`PRIVATE_FILE`], [`SESSIONS_FILE`], [`EXTENSIONS_FILE`])
/// when `encrypted`.
fn file_name(plain: &str, encrypted: bool) -> String {
    if encrypted {
        format!("{plain}.age")
    } else {
        plain.to_owned()
    }
}

/// Private record versions read from a store at a time: kept documents with their PDF are tens
/// of kilobytes each, so a page stays within tens of megabytes.
const PRIVATE_VERSIONS_PER_PAGE: u32 = 500;

/// Calls `each` with every version of every private record of `store`, in the order of
/// [`Store::private_versions`], a page at a time so they are never all in memory; returns how
/// many there were.
async fn each_private_version(
    store: &Store,
    mut each: impl FnMut(&str, &PrivateVersion) -> Result<()>,
) -> Result<u64> {
    let mut count = 0;
    let mut after: Option<(String, String, u64)> = None;
    loop {
        let after_key = after
            .as_ref()
            .map(|(kind, key, version)| (kind.as_str(), key.as_str(), *version));
        let page = store
            .private_versions_page(after_key, PRIVATE_VERSIONS_PER_PAGE)
            .await?;
        for (kind, version) in &page {
            each(kind, version)?;
        }
        count += page.len() as u64;
        match page.last() {
            Some((kind, version)) if page.len() == PRIVATE_VERSIONS_PER_PAGE as usize => {
                after = Some((kind.clone(), version.key.clone(), version.version));
            }
            _ => return Ok(count),
        }
    }
}

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
    /// The target store holds private records or sessions that are not this bundle's.
    #[error(
        "the store already holds private records or sessions other than the bundle's; \
         import into an empty store"
    )]
    StoreHoldsOtherRecords,
    /// The key file holds no passphrase.
    #[error("the key file is empty: it must hold the bundle's passphrase")]
    EmptyPassphrase,
    /// The bundle is encrypted and no passphrase was given.
    #[error("{path} is encrypted: give the passphrase's key file (--key-file)")]
    PassphraseRequired {
        /// The encrypted file.
        path: PathBuf,
    },
    /// The passphrase does not open the bundle (or the file is damaged).
    #[error("{path} cannot be decrypted with this passphrase")]
    WrongPassphrase {
        /// The encrypted file.
        path: PathBuf,
    },
    /// The bundle carries an extension this build does not have.
    #[error(
        "the bundle has extension {name}, which this build of mono does not have; \
         import it with a build that does"
    )]
    UnknownExtension {
        /// The extension's name.
        name: String,
    },
    /// The bundle is another cooperative's.
    #[error(
        "the bundle is cooperative {bundle}'s, this instance is {ours}'s (--force imports it anyway)"
    )]
    OtherCooperative {
        /// The bundle's cooperative.
        bundle: String,
        /// The importing instance's.
        ours: String,
    },
    /// The bundle is another chain's.
    #[error(
        "the bundle is of chain {bundle}, this instance follows {ours} (--force imports it anyway)"
    )]
    OtherChain {
        /// The bundle's chain id.
        bundle: String,
        /// The importing instance's.
        ours: String,
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

/// How a bundle's encrypted files are encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encryption {
    /// [`ENCRYPTION_SCHEME`].
    pub scheme: String,
    /// The encrypted files.
    pub files: Vec<String>,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The version of `mono` that wrote it.
    #[serde(default)]
    pub instance_version: Option<String>,
    /// The cooperative, when the exporting instance named it.
    #[serde(default)]
    pub coopname: Option<String>,
    /// The chain id (hex), when the exporting instance named it.
    #[serde(default)]
    pub chain_id: Option<String>,
    /// When the export was made (ISO-8601 UTC).
    #[serde(default)]
    pub created_at: Option<String>,
    /// The store's cursor at the export (its id in lowercase hex).
    pub cursor: Cursor,
    /// Whether the chain events are in the bundle.
    #[serde(default = "included")]
    pub events_included: bool,
    /// Blocks, actions, deltas, ABI versions and undecodable records exported.
    pub counts: EventCounts,
    /// The store's events digest up to the cursor block (`mono status`'s `events_digest`).
    pub events_digest: String,
    /// Versions of private records exported.
    #[serde(default)]
    pub private_records: u64,
    /// Refresh tokens exported.
    #[serde(default)]
    pub refresh_tokens: u64,
    /// Installed extensions exported.
    #[serde(default)]
    pub extensions: u64,
    /// The registry digest at the cursor block (`mono registry digest`), when events are in the
    /// bundle.
    #[serde(default)]
    pub registry_digest: Option<String>,
    /// How personal data is encrypted; `None`: it is not.
    #[serde(default)]
    pub encryption: Option<Encryption>,
    /// The files of the bundle.
    pub files: Vec<BundleFile>,
}

fn included() -> bool {
    true
}

/// One version of a private record in the private records' file.
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

impl PrivateLine {
    fn new(kind: &str, version: &PrivateVersion) -> Result<Self> {
        Ok(Self {
            kind: kind.to_owned(),
            key: version.key.clone(),
            version: version.version,
            valid_from_block: version.valid_from_block,
            valid_to_block: version.valid_to_block,
            data: version.data.to_value().map_err(|source| {
                Error::Store(store::Error::CorruptJson {
                    column: "data",
                    source,
                })
            })?,
        })
    }

    fn into_version(self) -> (String, PrivateVersion) {
        (
            self.kind,
            PrivateVersion {
                key: self.key,
                version: self.version,
                valid_from_block: self.valid_from_block,
                valid_to_block: self.valid_to_block,
                data: JsonText::from_value(&self.data),
            },
        )
    }
}

/// One refresh token in the sessions' file: hashes in lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionLine {
    /// SHA-256 of the token.
    #[serde(with = "hex32")]
    pub token_hash: [u8; 32],
    /// Its family: the first token's hash.
    #[serde(with = "hex32")]
    pub family: [u8; 32],
    /// The account it logs in.
    pub username: String,
    /// When it was issued (seconds since 1970).
    pub issued_at: i64,
    /// When it stops being accepted (seconds since 1970).
    pub expires_at: i64,
    /// Whether it was replaced by its successor.
    pub spent: bool,
    /// Whether its family was revoked.
    pub revoked: bool,
}

impl From<&RefreshTokenRow> for SessionLine {
    fn from(row: &RefreshTokenRow) -> Self {
        Self {
            token_hash: row.token.token_hash,
            family: row.token.family,
            username: row.token.username.clone(),
            issued_at: row.token.issued_at,
            expires_at: row.token.expires_at,
            spent: row.spent,
            revoked: row.revoked,
        }
    }
}

impl From<SessionLine> for RefreshTokenRow {
    fn from(line: SessionLine) -> Self {
        Self {
            token: NewRefreshToken {
                token_hash: line.token_hash,
                family: line.family,
                username: line.username,
                issued_at: line.issued_at,
                expires_at: line.expires_at,
            },
            spent: line.spent,
            revoked: line.revoked,
        }
    }
}

/// One installed extension in the extensions' file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionLine {
    /// Its name.
    pub name: String,
    /// The version installed.
    pub version: String,
    /// Whether it runs.
    pub enabled: bool,
    /// Its configuration, secrets included.
    pub config: serde_json::Value,
    /// When it was installed (seconds since 1970).
    pub installed_at: i64,
    /// When it was last changed (seconds since 1970).
    pub updated_at: i64,
}

impl From<InstalledExtension> for ExtensionLine {
    fn from(extension: InstalledExtension) -> Self {
        Self {
            name: extension.name,
            version: extension.version,
            enabled: extension.enabled,
            config: extension.config,
            installed_at: extension.installed_at,
            updated_at: extension.updated_at,
        }
    }
}

impl From<ExtensionLine> for InstalledExtension {
    fn from(line: ExtensionLine) -> Self {
        Self {
            name: line.name,
            version: line.version,
            enabled: line.enabled,
            config: line.config,
            installed_at: line.installed_at,
            updated_at: line.updated_at,
        }
    }
}

/// What an export writes.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The cooperative, recorded so an import into another one is refused.
    pub coopname: Option<String>,
    /// The chain id (hex), recorded so an import into another chain is refused.
    pub chain_id: Option<String>,
    /// Whether to include the chain events (without them, the importer resyncs).
    pub with_events: bool,
    /// Encrypts personal data with this passphrase.
    pub passphrase: Option<Passphrase>,
}

/// How an import checks the bundle.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The importing instance's cooperative: a bundle of another is refused.
    pub coopname: Option<String>,
    /// The importing instance's chain id: a bundle of another chain is refused.
    pub chain_id: Option<String>,
    /// Imports a bundle of another cooperative or chain anyway.
    pub force: bool,
    /// Opens encrypted personal data.
    pub passphrase: Option<Passphrase>,
}

/// How far an export or import is in one of its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// What is counted: `blocks` or `private records`.
    pub unit: &'static str,
    /// Done.
    pub done: u64,
    /// In all.
    pub total: u64,
}

impl Progress {
    fn blocks(done: u64, total: u64) -> Self {
        Self {
            unit: "blocks",
            done,
            total,
        }
    }

    fn records(done: u64, total: u64) -> Self {
        Self {
            unit: "private records",
            done,
            total,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Blocks committed by this run (fewer than exported when it resumed an earlier run).
    pub imported_blocks: u64,
    /// The store's cursor block after the import, when the bundle had events.
    pub cursor_block: Option<u32>,
    /// The bundle's event counts.
    pub counts: EventCounts,
    /// The store's events digest after the import, equal to the manifest's.
    pub events_digest: Option<String>,
    /// Private record versions imported.
    pub private_records: u64,
    /// Refresh tokens imported.
    pub refresh_tokens: u64,
    /// Extensions installed.
    pub extensions: u64,
    /// The registry digest after the import, equal to the manifest's.
    pub registry_digest: Option<String>,
}

/// Reads and checks `dir/manifest.json`.
///
/// # Errors
/// [`Error::BadManifest`] when it cannot be read, is of another format, or does not list the
/// files its format needs; I/O errors.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).map_err(files::io_error(&path))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|err| Error::BadManifest {
        path: path.clone(),
        reason: err.to_string(),
    })?;
    let bad = |reason: String| Error::BadManifest {
        path: path.clone(),
        reason,
    };
    let formats = [
        FORMAT,
        FORMAT_WITHOUT_EXTENSIONS,
        FORMAT_WITHOUT_SESSIONS,
        FORMAT_EVENTS_ONLY,
    ];
    if !formats.contains(&manifest.format.as_str()) {
        return Err(bad(format!(
            "format {:?}, this build reads {}",
            manifest.format,
            formats.map(|format| format!("{format:?}")).join(", ")
        )));
    }
    let listed = |name: &str| manifest.files.iter().any(|file| file.path == name);
    if manifest.events_included && !listed(EVENTS_FILE) {
        return Err(bad(format!("{EVENTS_FILE} is not listed")));
    }
    if let Some(encryption) = &manifest.encryption
        && encryption.scheme != ENCRYPTION_SCHEME
    {
        return Err(bad(format!(
            "encryption {:?}, this build reads {ENCRYPTION_SCHEME:?}",
            encryption.scheme
        )));
    }
    let encrypted = manifest.encryption.is_some();
    let needed: &[&str] = match manifest.format.as_str() {
        FORMAT => &[PRIVATE_FILE, SESSIONS_FILE, EXTENSIONS_FILE],
        FORMAT_WITHOUT_EXTENSIONS => &[PRIVATE_FILE, SESSIONS_FILE],
        FORMAT_WITHOUT_SESSIONS => &[PRIVATE_FILE],
        _ => &[],
    };
    for name in needed.iter().map(|plain| file_name(plain, encrypted)) {
        if !listed(&name) {
            return Err(bad(format!("{name} is not listed")));
        }
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::files::{verify_file, write_manifest};
    use super::import::skip_imported;
    use super::*;
    use crate::store::BlockBatch;
    use sha2::{Digest as _, Sha256};

    fn manifest_with(format: &str, files: Vec<BundleFile>) -> Manifest {
        Manifest {
            format: format.to_owned(),
            cursor: Cursor {
                block_num: 3,
                block_id: [0xab; 32],
                lib: 3,
            },
            instance_version: None,
            coopname: None,
            chain_id: None,
            created_at: None,
            events_included: true,
            counts: EventCounts::default(),
            events_digest: String::new(),
            private_records: 0,
            refresh_tokens: 0,
            extensions: 0,
            registry_digest: None,
            encryption: None,
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
                manifest_with("mono-export/5", vec![events_file(EVENTS_FILE)]),
                "format",
            ),
            (manifest_with(FORMAT, Vec::new()), "not listed"),
            (
                manifest_with(
                    FORMAT,
                    vec![events_file(EVENTS_FILE), events_file(PRIVATE_FILE)],
                ),
                "sessions.jsonl.gz is not listed",
            ),
            (
                manifest_with(
                    FORMAT,
                    vec![
                        events_file(EVENTS_FILE),
                        events_file(PRIVATE_FILE),
                        events_file(SESSIONS_FILE),
                    ],
                ),
                "extensions.jsonl.gz is not listed",
            ),
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
        for (format, files) in [
            (
                FORMAT,
                vec![
                    events_file(EVENTS_FILE),
                    events_file(PRIVATE_FILE),
                    events_file(SESSIONS_FILE),
                    events_file(EXTENSIONS_FILE),
                ],
            ),
            (
                FORMAT_WITHOUT_EXTENSIONS,
                vec![
                    events_file(EVENTS_FILE),
                    events_file(PRIVATE_FILE),
                    events_file(SESSIONS_FILE),
                ],
            ),
            (
                FORMAT_WITHOUT_SESSIONS,
                vec![events_file(EVENTS_FILE), events_file(PRIVATE_FILE)],
            ),
            (FORMAT_EVENTS_ONLY, vec![events_file(EVENTS_FILE)]),
        ] {
            let good = manifest_with(format, files);
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
