//! `mono key …`: K1 key generation, derivation, signing, verification and recovery.

use clap::Subcommand;
use serde_json::json;

use super::{BadInputExt, Outcome, print_json};
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
        /// Private key, `PVT_K1_…` or WIF.
        private_key: String,
    },
    /// Sign a 32-byte digest; prints a canonical `SIG_K1_…` signature.
    Sign {
        /// Private key, `PVT_K1_…` or WIF.
        private_key: String,
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
        KeyCommand::Public { private_key } => {
            let public_key = parse_private_key(&private_key)?.public_key();
            print_json(&json!({
                "public_key": public_key.to_string(),
                "legacy_public_key": public_key.to_legacy_string(),
            }));
        }
        KeyCommand::Sign {
            private_key,
            digest,
        } => {
            let private_key = parse_private_key(&private_key)?;
            let digest = parse_digest(&digest)?;
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
