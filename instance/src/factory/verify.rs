//! Verification of a document: the PDF against its meta, and when the signed chain record is
//! given (`document2`, or the legacy `document`), the hash chain, every signature, and that
//! each signer's key belonged to the signer on chain when it signed.
//!
//! Key history lives in the chain store, so the caller answers that question through
//! [`SignerKeys`]; without it the report says "not checked" rather than guessing.

use serde::Serialize;
use serde_json::Value;

use crate::antelope::document::{self, Document, Document2, DocumentVersion};
use crate::antelope::keys::PublicKey;
use crate::antelope::name::Name;
use crate::antelope::time::TimePointSec;
use crate::factory::pdf;

/// Whether `key` was one of `signer`'s keys on chain at `signed_at`.
pub trait SignerKeys {
    /// `Some(true)`/`Some(false)` when known, `None` when the history is not available.
    fn key_in_force(&self, signer: Name, key: &PublicKey, signed_at: TimePointSec) -> Option<bool>;
}

/// No key history: every key is reported as not checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoKeyHistory;

impl SignerKeys for NoKeyHistory {
    fn key_in_force(&self, _: Name, _: &PublicKey, _: TimePointSec) -> Option<bool> {
        None
    }
}

impl<F> SignerKeys for F
where
    F: Fn(Name, &PublicKey, TimePointSec) -> Option<bool>,
{
    fn key_in_force(&self, signer: Name, key: &PublicKey, signed_at: TimePointSec) -> Option<bool> {
        self(signer, key, signed_at)
    }
}

/// A signed record as the chain keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signed {
    /// `document2` with any number of signatures.
    Document2(Document2),
    /// The legacy `document`: one signature over the PDF hash.
    Legacy(Document),
}

/// What verification found; `valid` is the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Whether every check passed.
    pub valid: bool,
    /// SHA-256 of the PDF, uppercase hex.
    pub doc_hash: String,
    /// sha256hex(JCS(meta)).
    pub meta_hash: String,
    /// sha256hex(meta_hash + doc_hash).
    pub hash: String,
    /// Whether the PDF carries this meta's fingerprint (`meta:<meta_hash>` in its keywords).
    pub pdf_matches_meta: bool,
    /// The signed record's checks, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed: Option<SignedReport>,
}

/// Checks of the signed record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedReport {
    /// `document2` version, or `legacy`.
    pub version: String,
    /// The record's `doc_hash` (legacy: `hash`) is the PDF's.
    pub doc_hash_matches: bool,
    /// The record's meta is the meta given (as JSON values).
    pub meta_matches: bool,
    /// `meta_hash` follows from the record's meta under its version.
    pub meta_hash_matches: bool,
    /// `hash` = sha256hex(meta_hash + doc_hash).
    pub hash_matches: bool,
    /// One entry per signature, in order.
    pub signatures: Vec<SignatureCheck>,
}

/// Checks of one signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureCheck {
    /// The signature's id (0 for a legacy record).
    pub id: u32,
    /// Who is said to have signed.
    pub signer: String,
    /// `signed_hash` = sha256hex(hash + signed_at).
    pub signed_hash_matches: bool,
    /// The signature recovers to the stated key.
    pub key_matches: bool,
    /// The key was the signer's on chain when signing; `None`: not checked.
    pub key_on_chain: Option<bool>,
}

/// Verifies `pdf` against `meta`, and `signed` when given, asking `keys` about signer keys.
pub fn verify(pdf: &[u8], meta: &Value, signed: Option<&Signed>, keys: &dyn SignerKeys) -> Report {
    let doc_hash = document::doc_hash(pdf);
    let meta_hash = document::meta_hash(DocumentVersion::V1_1_0, meta).unwrap_or_default();
    let hash = document::hash(&meta_hash, &doc_hash);
    let pdf_matches_meta = pdf::keywords(pdf).is_some_and(|keywords| {
        keywords
            .split([',', ' '])
            .any(|word| word.strip_prefix("meta:") == Some(meta_hash.as_str()))
    });
    let signed = signed.map(|signed| match signed {
        Signed::Document2(record) => check_document2(record, pdf, meta, keys),
        Signed::Legacy(record) => check_legacy(record, &doc_hash, meta, keys),
    });
    let valid = pdf_matches_meta && signed.as_ref().is_none_or(SignedReport::is_valid);
    Report {
        valid,
        doc_hash,
        meta_hash,
        hash,
        pdf_matches_meta,
        signed,
    }
}

impl SignedReport {
    fn is_valid(&self) -> bool {
        self.doc_hash_matches
            && self.meta_matches
            && self.meta_hash_matches
            && self.hash_matches
            && self.signatures.iter().all(|sig| {
                sig.signed_hash_matches && sig.key_matches && sig.key_on_chain != Some(false)
            })
    }
}

fn check_document2(
    record: &Document2,
    pdf: &[u8],
    meta: &Value,
    keys: &dyn SignerKeys,
) -> SignedReport {
    let meta_matches = serde_json::from_str::<Value>(&record.meta).is_ok_and(|own| own == *meta);
    let Ok(report) = record.verify(Some(pdf)) else {
        return SignedReport {
            version: record.version.clone(),
            doc_hash_matches: false,
            meta_matches,
            meta_hash_matches: false,
            hash_matches: false,
            signatures: Vec::new(),
        };
    };
    let signatures = record
        .signatures
        .iter()
        .zip(&report.signatures)
        .map(|(info, check)| SignatureCheck {
            id: info.id,
            signer: info.signer.to_string(),
            signed_hash_matches: check.signed_hash_matches,
            key_matches: check.key_matches,
            key_on_chain: keys.key_in_force(info.signer, &info.public_key, info.signed_at),
        })
        .collect();
    SignedReport {
        version: record.version.clone(),
        doc_hash_matches: report.doc_hash_matches == Some(true),
        meta_matches,
        meta_hash_matches: report.meta_hash_matches,
        hash_matches: report.hash_matches,
        signatures,
    }
}

/// A legacy record signs the PDF hash itself; its signer is the meta's `username`.
fn check_legacy(
    record: &Document,
    doc_hash: &str,
    meta: &Value,
    keys: &dyn SignerKeys,
) -> SignedReport {
    let report = record.verify();
    let meta_matches = serde_json::from_str::<Value>(&record.meta).is_ok_and(|own| own == *meta);
    let signer = meta["username"]
        .as_str()
        .and_then(|name| name.parse::<Name>().ok());
    let signed_at = meta["created_at"]
        .as_str()
        .and_then(|text| text.parse::<jiff::Timestamp>().ok())
        .and_then(|instant| u32::try_from(instant.as_second()).ok())
        .map(TimePointSec::from_secs);
    let key_on_chain = match (signer, signed_at) {
        (Some(signer), Some(at)) => keys.key_in_force(signer, &record.public_key, at),
        _ => Some(false),
    };
    let doc_hash_matches = record.hash.to_hex().eq_ignore_ascii_case(doc_hash);
    SignedReport {
        version: "legacy".to_owned(),
        doc_hash_matches,
        meta_matches,
        meta_hash_matches: true,
        hash_matches: true,
        signatures: vec![SignatureCheck {
            id: 0,
            signer: signer.map(|name| name.to_string()).unwrap_or_default(),
            signed_hash_matches: doc_hash_matches,
            key_matches: report.key_matches,
            key_on_chain,
        }],
    }
}
