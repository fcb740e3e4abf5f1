//! `mono key …`: K1 key generation, derivation, signing, verification and recovery.
//!
//! A private key never comes as an argument, where shell history and `ps` would show it: it is
//! read from `--key-file`, else from the `MONO_PRIVATE_KEY` environment variable, else from
//! standard input.

use std::io::{IsTerminal as _, Read as _};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::json;

use super::{BadInput, BadInputExt, Outcome, print_json, read_input_file};
use crate::antelope::checksum::Checksum256;
use crate::antelope::keys::{PrivateKey, PublicKey};
use crate::antelope::signature::Signature;

/// Subcommands of `mono key`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a new K1 key pair from the operating system's random source.
    Generate,
    /// Print the public key of a private key (`PVT_K1_…` or WIF).
    Public {
        #[command(flatten)]
        key: PrivateKeyInput,
    },
    /// Sign a 32-byte digest; prints a canonical `SIG_K1_…` signature.
    Sign {
        #[command(flatten)]
        key: PrivateKeyInput,
        /// The digest as 64 hex characters.
        digest: String,
    },
    /// Check a signature over a digest: prints `valid` (exit 0) or `invalid` (exit 1).
    Verify {
        /// Public key, `PUB_K1_…` or legacy `EOS…`.
        public_key: String,
        /// The digest as 64 hex characters.
        digest: String,
        /// Signature, `SIG_K1_…`.
        signature: String,
    },
    /// Recover the public key that made a signature over a digest.
    Recover {
        /// The digest as 64 hex characters.
        digest: String,
        /// Signature, `SIG_K1_…`.
        signature: String,
    },
}

/// Where a command reads a private key (`PVT_K1_…` or WIF) from.
#[derive(Debug, Args)]
pub struct PrivateKeyInput {
    /// File holding the private key; without it the key comes from the MONO_PRIVATE_KEY
    /// environment variable, or else from standard input.
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
}

/// The environment variable a private key may come from.
const PRIVATE_KEY_ENV: &str = "MONO_PRIVATE_KEY";

impl PrivateKeyInput {
    /// Reads and parses the key; surrounding white space (a final newline) is ignored.
    fn read(&self) -> anyhow::Result<PrivateKey> {
        let text = match (&self.key_file, std::env::var(PRIVATE_KEY_ENV)) {
            (Some(path), _) => String::from_utf8(read_input_file(path)?)
                .bad_input(format!("reading {}", path.display()))?,
            (None, Ok(text)) => text,
            (None, Err(_)) => {
                let mut stdin = std::io::stdin();
                if stdin.is_terminal() {
                    return Err(BadInput::new(format!(
                        "no private key: give --key-file, set {PRIVATE_KEY_ENV} or pipe it to standard input"
                    ))
                    .into());
                }
                let mut text = String::new();
                stdin
                    .read_to_string(&mut text)
                    .context("reading the private key from standard input")?;
                text
            }
        };
        parse_private_key(text.trim())
    }
}

/// Runs one `mono key` subcommand.
pub fn run(command: KeyCommand) -> anyhow::Result<Outcome> {
    match command {
        KeyCommand::Generate => {
            let private_key = PrivateKey::generate(&mut rand_core::OsRng);
            let public_key = private_key.public_key();
            print_json(&json!({
                "private_key": private_key.to_string(),
                "public_key": public_key.to_string(),
                "legacy_public_key": public_key.to_legacy_string(),
            }));
        }
        KeyCommand::Public { key } => {
            let public_key = key.read()?.public_key();
            print_json(&json!({
                "public_key": public_key.to_string(),
                "legacy_public_key": public_key.to_legacy_string(),
            }));
        }
        KeyCommand::Sign { key, digest } => {
            let digest = parse_digest(&digest)?;
            let private_key = key.read()?;
            let signature = private_key
                .sign_digest(&digest)
                .bad_input("signing the digest")?;
            println!("{signature}");
        }
        KeyCommand::Verify {
            public_key,
            digest,
            signature,
        } => {
            let public_key: PublicKey = public_key.parse().bad_input("parsing the public key")?;
            let digest = parse_digest(&digest)?;
            let signature = parse_signature(&signature)?;
            if signature.verify(&digest, &public_key) {
                println!("valid");
            } else {
                println!("invalid");
                return Ok(Outcome::Negative);
            }
        }
        KeyCommand::Recover { digest, signature } => {
            let digest = parse_digest(&digest)?;
            let signature = parse_signature(&signature)?;
            let public_key = signature
                .recover(&digest)
                .bad_input("recovering the public key")?;
            println!("{public_key}");
        }
    }
    Ok(Outcome::Success)
}

fn parse_private_key(text: &str) -> anyhow::Result<PrivateKey> {
    text.parse().bad_input("parsing the private key")
}

fn parse_signature(text: &str) -> anyhow::Result<Signature> {
    text.parse().bad_input("parsing the signature")
}

/// A 32-byte digest from 64 hex characters.
pub(super) fn parse_digest(text: &str) -> anyhow::Result<[u8; 32]> {
    let checksum: Checksum256 = text.parse().bad_input("parsing the digest")?;
    let mut digest = [0u8; 32];
    digest.copy_from_slice(checksum.as_ref());
    Ok(digest)
}
