//! The files of a bundle: JSON lines compressed with gzip and, given a passphrase, encrypted
//! with age (scrypt recipient), hashed as they are written; the manifest written so it appears
//! whole or not at all; a listed file checked against its size and SHA-256.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::iter;
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{BundleFile, Error, MANIFEST_FILE, Manifest, Result};

/// How hard bundle files are compressed: gzip's fastest level. Most of a bundle is kept
/// documents' PDFs, already deflated, in base64, where the default level took several times as
/// long for a few percent less (docs/benchmarks.md, "Export and import").
const COMPRESSION: Compression = Compression::fast();

/// The passphrase that encrypts a bundle's personal data.
#[derive(Clone)]
pub struct Passphrase(SecretString);

impl Passphrase {
    /// The passphrase a key file holds: its text without the trailing line break.
    ///
    /// # Errors
    /// [`Error::EmptyPassphrase`] when nothing is left.
    pub fn from_file_text(text: &str) -> Result<Self> {
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            return Err(Error::EmptyPassphrase);
        }
        Ok(Self(SecretString::from(text.to_owned())))
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(…)")
    }
}

pub(super) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Where compressed lines go: straight to the hashed file, or through age first.
enum Sink {
    Plain(GzEncoder<HashingWriter>),
    Encrypted(GzEncoder<age::stream::StreamWriter<HashingWriter>>),
}

/// Writes one bundle file of JSON lines under a temporary name, renamed when finished.
pub(super) struct LinesWriter {
    name: String,
    partial: PathBuf,
    path: PathBuf,
    sink: Sink,
}

impl LinesWriter {
    /// Starts `dir/name`; encrypted when `passphrase` is given.
    pub(super) fn create(dir: &Path, name: &str, passphrase: Option<&Passphrase>) -> Result<Self> {
        let path = dir.join(name);
        let partial = dir.join(format!("{name}.partial"));
        let file = File::create(&partial).map_err(io_error(&partial))?;
        let hashing = HashingWriter::new(BufWriter::new(file));
        let sink = match passphrase {
            None => Sink::Plain(GzEncoder::new(hashing, COMPRESSION)),
            Some(passphrase) => {
                let encryptor = age::Encryptor::with_user_passphrase(passphrase.0.clone());
                let stream = encryptor.wrap_output(hashing).map_err(io_error(&partial))?;
                Sink::Encrypted(GzEncoder::new(stream, COMPRESSION))
            }
        };
        Ok(Self {
            name: name.to_owned(),
            partial,
            path,
            sink,
        })
    }

    /// Appends one value as a JSON line.
    pub(super) fn line(&mut self, value: &impl Serialize) -> Result<()> {
        let out: &mut dyn Write = match &mut self.sink {
            Sink::Plain(out) => out,
            Sink::Encrypted(out) => out,
        };
        serde_json::to_writer(&mut *out, value)
            .map_err(|source| io_error(&self.partial)(source.into()))?;
        out.write_all(b"\n").map_err(io_error(&self.partial))
    }

    /// Finishes the file, syncs it, gives it its name and returns its manifest entry.
    pub(super) fn finish(self) -> Result<BundleFile> {
        let partial = &self.partial;
        let hashing = match self.sink {
            Sink::Plain(out) => out.finish().map_err(io_error(partial))?,
            Sink::Encrypted(out) => out
                .finish()
                .and_then(age::stream::StreamWriter::finish)
                .map_err(io_error(partial))?,
        };
        let (sha256, size) = hashing.finish().map_err(io_error(partial))?;
        std::fs::rename(partial, &self.path).map_err(io_error(&self.path))?;
        Ok(BundleFile {
            path: self.name,
            sha256,
            size,
        })
    }
}

/// The lines of bundle file `dir/name`, decrypted with `passphrase` when it is encrypted.
///
/// # Errors
/// [`Error::PassphraseRequired`] for an encrypted file without a passphrase,
/// [`Error::WrongPassphrase`] when the passphrase does not open it, I/O errors.
pub(super) fn read_lines(
    dir: &Path,
    name: &str,
    encrypted: bool,
    passphrase: Option<&Passphrase>,
) -> Result<BufReader<GzDecoder<Box<dyn Read>>>> {
    let path = dir.join(name);
    let file = BufReader::new(File::open(&path).map_err(io_error(&path))?);
    let plain: Box<dyn Read> = if encrypted {
        let passphrase =
            passphrase.ok_or_else(|| Error::PassphraseRequired { path: path.clone() })?;
        let wrong = |_| Error::WrongPassphrase { path: path.clone() };
        let decryptor = age::Decryptor::new(file).map_err(wrong)?;
        let identity = age::scrypt::Identity::new(passphrase.0.clone());
        Box::new(
            decryptor
                .decrypt(iter::once(&identity as &dyn age::Identity))
                .map_err(wrong)?,
        )
    } else {
        Box::new(file)
    };
    Ok(BufReader::new(GzDecoder::new(plain)))
}

/// Checks a bundle file's size and SHA-256 against the manifest.
pub(super) fn verify_file(dir: &Path, listed: &BundleFile) -> Result<()> {
    // Only plain names: a manifest must not point outside its directory.
    if listed.path.is_empty() || listed.path.contains(['/', '\\']) || listed.path == ".." {
        return Err(Error::BadManifest {
            path: dir.join(MANIFEST_FILE),
            reason: format!("file name {:?} is not a plain name", listed.path),
        });
    }
    let path = dir.join(&listed.path);
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::FileMismatch {
                path,
                reason: "the file is missing".to_owned(),
            });
        }
        Err(err) => return Err(io_error(&path)(err)),
    };
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
pub(super) fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
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
