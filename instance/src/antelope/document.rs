//! COOPOS signed documents as contracts store them: the legacy `document` and the current
//! `document2` with its `signature_info` list, the hash chain that binds them to the PDF and
//! the meta, signing, and verification that reports on every signature.
//!
//! The hash chain follows the coopenomics SDK, built from hex **strings**:
//! `doc_hash` = SHA-256 of the PDF bytes as UPPERCASE hex;
//! `meta_hash` = sha256hex(JSON.stringify(meta)) for version 1.0.0 and
//! sha256hex(JCS(meta)) (RFC 8785) for 1.1.0;
//! `hash` = sha256hex(meta_hash + doc_hash) with `meta_hash` lowercase and `doc_hash`
//! uppercase; each signature signs `signed_hash` = sha256hex(hash + signed_at), taken as the
//! digest. Chain data prints checksums lowercase, so recomputing from it uppercases `doc_hash`.
//!
//! Contracts only check that each signature recovers to its stated key over `signed_hash`
//! and accept any S and non-canonical signatures; this module does the same and also checks
//! the hash chain, which the chain never does. Pure: no I/O, the clock is an argument.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::antelope::binary::{self, Decode, Encode, Reader, Writer};
use crate::antelope::checksum::Checksum256;
use crate::antelope::keys::{KeyError, PrivateKey, PublicKey};
use crate::antelope::name::Name;
use crate::antelope::signature::Signature;
use crate::antelope::time::TimePointSec;

/// Why a document could not be hashed, signed or verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// A `version` this crate does not know how to hash.
    #[error("unsupported document version {0:?}: expected 1.0.0 or 1.1.0")]
    UnsupportedVersion(String),
    /// The meta could not be written as JSON (a non-finite number).
    #[error("writing the document meta as JSON")]
    MetaJson(#[source] serde_json::Error),
    /// The key could not sign.
    #[error("signing the document")]
    Signing(#[source] KeyError),
}

/// Result of document operations.
pub type Result<T, E = DocumentError> = std::result::Result<T, E>;

/// The `document2` hashing rule versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocumentVersion {
    /// `1.0.0`: `meta_hash` over `JSON.stringify(meta)` (key order as given).
    V1_0_0,
    /// `1.1.0`: `meta_hash` over the RFC 8785 canonical form; the current version.
    V1_1_0,
}

/// A legacy signed document: one signature over `hash`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// The signed digest.
    pub hash: Checksum256,
    /// The key that is said to have signed.
    pub public_key: PublicKey,
    /// Signature over `hash`.
    pub signature: Signature,
    /// Meta as a JSON string.
    pub meta: String,
}

/// One signature of a `document2`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureInfo {
    /// Position, counted from 1.
    pub id: u32,
    /// sha256hex(hash + signed_at), the digest `signature` signs.
    pub signed_hash: Checksum256,
    /// The signing account.
    pub signer: Name,
    /// The key that is said to have signed.
    pub public_key: PublicKey,
    /// Signature over `signed_hash`.
    pub signature: Signature,
    /// When it was signed (UTC, whole seconds).
    pub signed_at: TimePointSec,
    /// Per-signature meta, `"{}"` by default.
    pub meta: String,
}

/// A signed document with any number of signatures (`document2`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document2 {
    /// Hashing rule version, `1.0.0` or `1.1.0`.
    pub version: String,
    /// sha256hex(meta_hash + DOC_HASH).
    pub hash: Checksum256,
    /// SHA-256 of the PDF.
    pub doc_hash: Checksum256,
    /// SHA-256 of the meta text (rule depends on `version`).
    pub meta_hash: Checksum256,
    /// The meta as a JSON string.
    pub meta: String,
    /// The signatures, in order.
    pub signatures: Vec<SignatureInfo>,
}

/// The outcome of checking one `document2` signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureReport {
    /// The signature's `id`.
    pub id: u32,
    /// The signature's `signer`.
    pub signer: Name,
    /// Whether `signed_hash` equals sha256hex(hash + signed_at).
    pub signed_hash_matches: bool,
    /// The key recovered from `signature` over `signed_hash`, if any.
    pub recovered_key: Option<PublicKey>,
    /// Whether the recovered key is the stated `public_key` (the contract check).
    pub key_matches: bool,
    /// Whether the signature also passes the nodeos canonical rule (informative only).
    pub canonical: bool,
}

/// The outcome of checking a `document2`: the hash chain and every signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationReport {
    /// Whether `meta_hash` matches the meta text under the document's version.
    pub meta_hash_matches: bool,
    /// Whether `hash` equals sha256hex(meta_hash + DOC_HASH).
    pub hash_matches: bool,
    /// Whether `doc_hash` is the PDF's hash; `None` when no PDF was given.
    pub doc_hash_matches: Option<bool>,
    /// One report per signature, in order.
    pub signatures: Vec<SignatureReport>,
}

/// The outcome of checking a legacy `document`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyReport {
    /// The key recovered from `signature` over `hash`, if any.
    pub recovered_key: Option<PublicKey>,
    /// Whether it is the stated `public_key`.
    pub key_matches: bool,
}

/// SHA-256 of the PDF bytes as UPPERCASE hex, as the document factory writes it.
pub fn doc_hash(pdf: &[u8]) -> String {
    hex::encode_upper(Sha256::digest(pdf))
}

/// sha256hex of the meta text the version prescribes.
///
/// # Errors
/// [`DocumentError::MetaJson`] if the meta cannot be written (never for parsed JSON).
pub fn meta_hash(version: DocumentVersion, meta: &Value) -> Result<String> {
    Ok(sha256_hex(&meta_text(version, meta)?))
}

/// sha256hex(meta_hash + doc_hash), with `meta_hash` lowercased and `doc_hash` uppercased
/// first, so hashes read back from chain data (all lowercase) give the same result.
pub fn hash(meta_hash: &str, doc_hash: &str) -> String {
    sha256_hex(&format!(
        "{}{}",
        meta_hash.to_ascii_lowercase(),
        doc_hash.to_ascii_uppercase()
    ))
}

/// sha256hex(hash + `YYYY-MM-DDTHH:MM:SS`), the digest a signature signs; `hash` is
/// lowercased first.
pub fn signed_hash(hash: &str, signed_at: TimePointSec) -> String {
    sha256_hex(&format!("{}{signed_at}", hash.to_ascii_lowercase()))
}

/// The digest a council member's vote signs, as `soviet` checks it:
/// sha256(`<action>:<coopname>:<decision_id>:<signed_at seconds>`), `action` being `votefor` or
/// `voteagainst`.
pub fn vote_digest(
    action: Name,
    coopname: Name,
    decision_id: u64,
    signed_at: TimePointSec,
) -> Checksum256 {
    checksum_from_sha256_hex(&sha256_hex(&format!(
        "{action}:{coopname}:{decision_id}:{}",
        signed_at.as_secs()
    )))
}

/// The meta text a version hashes: `JSON.stringify` for 1.0.0, RFC 8785 for 1.1.0.
///
/// # Errors
/// [`DocumentError::MetaJson`] for values JSON cannot hold.
pub fn meta_text(version: DocumentVersion, meta: &Value) -> Result<String> {
    match version {
        DocumentVersion::V1_0_0 => {
            let mut out = String::new();
            write_js_json(meta, &mut out)?;
            Ok(out)
        }
        DocumentVersion::V1_1_0 => serde_jcs::to_string(meta).map_err(DocumentError::MetaJson),
    }
}

impl DocumentVersion {
    /// The version string stored on chain.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1_0_0 => "1.0.0",
            Self::V1_1_0 => "1.1.0",
        }
    }
}

impl FromStr for DocumentVersion {
    type Err = DocumentError;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "1.0.0" => Ok(Self::V1_0_0),
            "1.1.0" => Ok(Self::V1_1_0),
            other => Err(DocumentError::UnsupportedVersion(other.to_owned())),
        }
    }
}

impl fmt::Display for DocumentVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Document {
    /// Recovers the signer from `hash` and compares it with `public_key`.
    pub fn verify(&self) -> LegacyReport {
        let recovered_key = self.signature.recover(self.hash.as_bytes()).ok();
        LegacyReport {
            recovered_key,
            key_matches: recovered_key == Some(self.public_key),
        }
    }
}

impl Document2 {
    /// An unsigned document for `pdf` and `meta`: hashes computed under `version`, meta stored
    /// as its `JSON.stringify` text, as the SDK does.
    ///
    /// # Errors
    /// [`DocumentError::MetaJson`] for values JSON cannot hold.
    pub fn new(version: DocumentVersion, meta: &Value, pdf: &[u8]) -> Result<Self> {
        let doc_hash_hex = doc_hash(pdf);
        let meta_hash_hex = meta_hash(version, meta)?;
        let hash_hex = hash(&meta_hash_hex, &doc_hash_hex);
        Ok(Self {
            version: version.as_str().to_owned(),
            hash: checksum_from_sha256_hex(&hash_hex),
            doc_hash: checksum_from_sha256_hex(&doc_hash_hex),
            meta_hash: checksum_from_sha256_hex(&meta_hash_hex),
            meta: meta_text(DocumentVersion::V1_0_0, meta)?,
            signatures: Vec::new(),
        })
    }

    /// Whether this is the empty document contracts use as "none" (`hash` all zero).
    pub fn is_empty(&self) -> bool {
        self.hash == Checksum256::default()
    }

    /// Appends `key`'s signature by `signer` at `signed_at`, with the next id (1 for the first)
    /// and meta `"{}"`.
    ///
    /// # Errors
    /// [`DocumentError::Signing`] if the key finds no canonical signature.
    pub fn sign(&mut self, signer: Name, key: &PrivateKey, signed_at: TimePointSec) -> Result<()> {
        let signed_hash = checksum_from_sha256_hex(&signed_hash(&self.hash.to_hex(), signed_at));
        let signature = key
            .sign_digest(signed_hash.as_bytes())
            .map_err(DocumentError::Signing)?;
        let id = self
            .signatures
            .last()
            .map_or(1, |last| last.id.saturating_add(1));
        self.signatures.push(SignatureInfo {
            id,
            signed_hash,
            signer,
            public_key: key.public_key(),
            signature,
            signed_at,
            meta: "{}".to_owned(),
        });
        Ok(())
    }

    /// Checks the hash chain (meta, and the PDF when given) and every signature.
    ///
    /// A meta that is not JSON makes `meta_hash_matches` false rather than an error.
    ///
    /// # Errors
    /// [`DocumentError::UnsupportedVersion`] for versions other than 1.0.0 and 1.1.0.
    pub fn verify(&self, pdf: Option<&[u8]>) -> Result<VerificationReport> {
        let version: DocumentVersion = self.version.parse()?;
        let meta_hash_matches = serde_json::from_str::<Value>(&self.meta)
            .ok()
            .and_then(|meta| meta_hash(version, &meta).ok())
            .is_some_and(|computed| computed == self.meta_hash.to_hex());
        let hash_matches =
            hash(&self.meta_hash.to_hex(), &self.doc_hash.to_hex()) == self.hash.to_hex();
        let doc_hash_matches =
            pdf.map(|pdf| doc_hash(pdf).eq_ignore_ascii_case(&self.doc_hash.to_hex()));
        let hash_hex = self.hash.to_hex();
        let signatures = self
            .signatures
            .iter()
            .map(|info| {
                let recovered_key = info.signature.recover(info.signed_hash.as_bytes()).ok();
                SignatureReport {
                    id: info.id,
                    signer: info.signer,
                    signed_hash_matches: signed_hash(&hash_hex, info.signed_at)
                        == info.signed_hash.to_hex(),
                    recovered_key,
                    key_matches: recovered_key == Some(info.public_key),
                    canonical: info.signature.is_canonical(),
                }
            })
            .collect();
        Ok(VerificationReport {
            meta_hash_matches,
            hash_matches,
            doc_hash_matches,
            signatures,
        })
    }
}

impl SignatureReport {
    /// Whether this signature is sound: its digest follows from the document hash and it
    /// recovers to the stated key. The canonical flag is not required, as contracts do not.
    pub fn is_valid(&self) -> bool {
        self.signed_hash_matches && self.key_matches
    }
}

impl VerificationReport {
    /// Whether the whole document is sound: hash chain (and PDF, if checked) and every
    /// signature.
    pub fn is_valid(&self) -> bool {
        self.meta_hash_matches
            && self.hash_matches
            && self.doc_hash_matches != Some(false)
            && self.signatures.iter().all(SignatureReport::is_valid)
    }
}

impl Encode for Document {
    fn encode(&self, writer: &mut Writer) {
        self.hash.encode(writer);
        self.public_key.encode(writer);
        self.signature.encode(writer);
        writer.write_str(&self.meta);
    }
}

impl Decode for Document {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        Ok(Self {
            hash: Checksum256::decode(reader)?,
            public_key: PublicKey::decode(reader)?,
            signature: Signature::decode(reader)?,
            meta: String::decode(reader)?,
        })
    }
}

impl Encode for SignatureInfo {
    fn encode(&self, writer: &mut Writer) {
        writer.write_u32(self.id);
        self.signed_hash.encode(writer);
        self.signer.encode(writer);
        self.public_key.encode(writer);
        self.signature.encode(writer);
        self.signed_at.encode(writer);
        writer.write_str(&self.meta);
    }
}

impl Decode for SignatureInfo {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        Ok(Self {
            id: reader.read_u32()?,
            signed_hash: Checksum256::decode(reader)?,
            signer: Name::decode(reader)?,
            public_key: PublicKey::decode(reader)?,
            signature: Signature::decode(reader)?,
            signed_at: TimePointSec::decode(reader)?,
            meta: String::decode(reader)?,
        })
    }
}

impl Encode for Document2 {
    fn encode(&self, writer: &mut Writer) {
        writer.write_str(&self.version);
        self.hash.encode(writer);
        self.doc_hash.encode(writer);
        self.meta_hash.encode(writer);
        writer.write_str(&self.meta);
        self.signatures.encode(writer);
    }
}

impl Decode for Document2 {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        Ok(Self {
            version: String::decode(reader)?,
            hash: Checksum256::decode(reader)?,
            doc_hash: Checksum256::decode(reader)?,
            meta_hash: Checksum256::decode(reader)?,
            meta: String::decode(reader)?,
            signatures: Vec::decode(reader)?,
        })
    }
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A checksum from hex this module produced from a SHA-256 digest.
fn checksum_from_sha256_hex(hex_text: &str) -> Checksum256 {
    let mut bytes = [0u8; 32];
    // The text is 64 hex digits written by `sha256_hex`/`doc_hash` in this module.
    hex::decode_to_slice(hex_text, &mut bytes).expect("SHA-256 hex is 64 hex digits");
    Checksum256::new(bytes)
}

/// Writes `value` as JavaScript's `JSON.stringify` does: no whitespace, object keys in their
/// given order, numbers in JavaScript's shortest round-trip form (`1e+30`, `100.5`, `0`).
fn write_js_json(value: &Value, out: &mut String) -> Result<()> {
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => {
            out.push_str(&serde_json::to_string(value).map_err(DocumentError::MetaJson)?);
        }
        // JavaScript numbers are doubles printed shortest-first, which is the JCS number form.
        Value::Number(_) => {
            out.push_str(&serde_jcs::to_string(value).map_err(DocumentError::MetaJson)?);
        }
        Value::Array(items) => {
            out.push('[');
            for (idx, item) in items.iter().enumerate() {
                if idx > 0 {
                    out.push(',');
                }
                write_js_json(item, out)?;
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (idx, (key, item)) in fields.iter().enumerate() {
                if idx > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).map_err(DocumentError::MetaJson)?);
                out.push(':');
                write_js_json(item, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vote_digest_hashes_the_documented_string() {
        let (votefor, voteagainst) = (
            Name::from_str_const("votefor"),
            Name::from_str_const("voteagainst"),
        );
        let coopname = Name::from_str_const("voskhod");
        let signed_at = TimePointSec::from_secs(1_700_000_000);
        let digest = vote_digest(votefor, coopname, 7, signed_at);
        assert_eq!(digest.to_hex(), sha256_hex("votefor:voskhod:7:1700000000"));
        assert_ne!(digest, vote_digest(voteagainst, coopname, 7, signed_at));
    }

    use k256::elliptic_curve::ops::Neg;
    use proptest::prelude::*;

    /// The golden hash chain; see its `comment`.
    #[derive(Deserialize)]
    struct Golden {
        meta_text: String,
        jcs: String,
        stringify: String,
        pdf_hex: String,
        doc_hash: String,
        versions: Vec<GoldenVersion>,
        signed_at: TimePointSec,
    }

    #[derive(Deserialize)]
    struct GoldenVersion {
        version: String,
        meta_hash: String,
        hash: String,
        signed_hash: String,
    }

    fn golden() -> Golden {
        serde_json::from_str(include_str!(
            "../../tests/data/antelope/document/hash-chain.json"
        ))
        .expect("golden file parses")
    }

    fn golden_meta(golden: &Golden) -> Value {
        serde_json::from_str(&golden.meta_text).expect("golden meta parses")
    }

    fn golden_pdf(golden: &Golden) -> Vec<u8> {
        hex::decode(&golden.pdf_hex).expect("golden hex")
    }

    fn signer_key() -> PrivateKey {
        "5KQvfsPJ9YvGuVbLRLXVWPNubed6FWvV8yax6cNSJEzB4co3zFu"
            .parse()
            .expect("published WIF parses")
    }

    fn second_key() -> PrivateKey {
        "5J4zo6Af9QnAeJmNEQeAR4MNhaG7SKVReAYgZC8655hpkbbBscr"
            .parse()
            .expect("published WIF parses")
    }

    fn name(text: &str) -> Name {
        text.parse().expect("test name is valid")
    }

    #[test]
    fn meta_texts_follow_stringify_and_jcs() {
        let golden = golden();
        let meta = golden_meta(&golden);
        assert_eq!(
            meta_text(DocumentVersion::V1_0_0, &meta).ok().as_deref(),
            Some(golden.stringify.as_str())
        );
        assert_eq!(
            meta_text(DocumentVersion::V1_1_0, &meta).ok().as_deref(),
            Some(golden.jcs.as_str())
        );
    }

    /// RFC 8785 §3.2.2 and §3.2.3 examples: number forms, string escapes and UTF-16 key order.
    #[test]
    fn jcs_matches_rfc_8785_examples() {
        let check = |input: &str, expected: &str| {
            let value: Value = serde_json::from_str(input).expect("example parses");
            assert_eq!(
                meta_text(DocumentVersion::V1_1_0, &value).ok().as_deref(),
                Some(expected),
                "{input}"
            );
        };
        check(
            r#"{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/","literals":[null,true,false]}"#,
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#,
        );
        check(
            r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#,
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}",
        );
        check(
            "[-0.0, 1.0, 100, 9007199254740993]",
            "[0,1,100,9007199254740992]",
        );
    }

    #[test]
    fn golden_hash_chain() {
        let golden = golden();
        let meta = golden_meta(&golden);
        let pdf = golden_pdf(&golden);
        assert_eq!(doc_hash(&pdf), golden.doc_hash);
        assert_eq!(golden.versions.len(), 2);
        for expected in &golden.versions {
            let version: DocumentVersion = expected.version.parse().expect("known version");
            let computed_meta_hash = meta_hash(version, &meta).expect("hashes");
            assert_eq!(computed_meta_hash, expected.meta_hash, "{version}");
            assert_eq!(
                hash(&computed_meta_hash, &golden.doc_hash),
                expected.hash,
                "{version}"
            );
            assert_eq!(
                signed_hash(&expected.hash, golden.signed_at),
                expected.signed_hash,
                "{version}"
            );
        }
    }

    /// Chain data prints `doc_hash` lowercase; the hash is over the UPPERCASE form.
    #[test]
    fn case_rule_of_the_hash_concatenation() {
        let golden = golden();
        let expected = &golden.versions[1];
        let lowercase_doc_hash = golden.doc_hash.to_ascii_lowercase();
        assert_eq!(
            hash(&expected.meta_hash, &lowercase_doc_hash),
            expected.hash
        );
        assert_eq!(
            hash(&expected.meta_hash.to_ascii_uppercase(), &golden.doc_hash),
            expected.hash
        );
        let naive = sha256_hex(&format!("{}{lowercase_doc_hash}", expected.meta_hash));
        assert_ne!(naive, expected.hash);
        assert_eq!(
            signed_hash(&expected.hash.to_ascii_uppercase(), golden.signed_at),
            expected.signed_hash
        );
    }

    fn signed_golden_document() -> (Document2, Vec<u8>) {
        let golden = golden();
        let pdf = golden_pdf(&golden);
        let mut document =
            Document2::new(DocumentVersion::V1_1_0, &golden_meta(&golden), &pdf).expect("builds");
        document
            .sign(name("ant"), &signer_key(), golden.signed_at)
            .expect("signs");
        document
            .sign(
                name("voskhod"),
                &second_key(),
                "2025-03-02T08:00:00".parse().expect("valid time"),
            )
            .expect("signs");
        (document, pdf)
    }

    #[test]
    fn new_and_sign_follow_the_golden_chain() {
        let golden = golden();
        let expected = &golden.versions[1];
        let (document, pdf) = signed_golden_document();
        assert_eq!(document.version, "1.1.0");
        assert_eq!(document.meta, golden.stringify);
        assert_eq!(document.meta_hash.to_hex(), expected.meta_hash);
        assert_eq!(
            document.doc_hash.to_hex(),
            golden.doc_hash.to_ascii_lowercase()
        );
        assert_eq!(document.hash.to_hex(), expected.hash);
        assert!(!document.is_empty());
        let first = &document.signatures[0];
        assert_eq!(first.id, 1);
        assert_eq!(first.signed_hash.to_hex(), expected.signed_hash);
        assert_eq!(first.public_key, signer_key().public_key());
        assert_eq!(first.meta, "{}");
        assert_eq!(document.signatures[1].id, 2);

        let report = document.verify(Some(&pdf)).expect("supported version");
        assert!(report.is_valid(), "{report:?}");
        assert_eq!(report.doc_hash_matches, Some(true));
        assert_eq!(report.signatures.len(), 2);
        assert_eq!(
            report.signatures[1].recovered_key,
            Some(second_key().public_key())
        );
        assert!(report.signatures.iter().all(|sig| sig.canonical));
        assert_eq!(
            document.verify(None).expect("supported").doc_hash_matches,
            None
        );
    }

    #[test]
    fn version_1_0_0_documents_verify() {
        let golden = golden();
        let pdf = golden_pdf(&golden);
        let mut document =
            Document2::new(DocumentVersion::V1_0_0, &golden_meta(&golden), &pdf).expect("builds");
        assert_eq!(document.hash.to_hex(), golden.versions[0].hash);
        document
            .sign(name("ant"), &signer_key(), golden.signed_at)
            .expect("signs");
        assert!(document.verify(Some(&pdf)).expect("supported").is_valid());
    }

    /// Each tampering breaks exactly the check that covers it.
    #[test]
    fn tampered_documents_fail_verification() {
        let (document, pdf) = signed_golden_document();
        let check = |tampered: &Document2, pdf: &[u8], expect: fn(&VerificationReport) -> bool| {
            let report = tampered.verify(Some(pdf)).expect("supported version");
            assert!(!report.is_valid(), "{report:?}");
            assert!(expect(&report), "{report:?}");
        };

        let mut meta_edited = document.clone();
        meta_edited.meta = meta_edited.meta.replace("voskhod", "voskhoe");
        check(&meta_edited, &pdf, |r| {
            !r.meta_hash_matches && r.hash_matches
        });

        let mut meta_not_json = document.clone();
        meta_not_json.meta = "{".to_owned();
        check(&meta_not_json, &pdf, |r| !r.meta_hash_matches);

        let mut other_pdf = pdf.clone();
        other_pdf.push(b'\n');
        check(&document, &other_pdf, |r| {
            r.doc_hash_matches == Some(false) && r.hash_matches
        });

        let mut hash_edited = document.clone();
        hash_edited.doc_hash = Checksum256::new([1; 32]);
        check(&hash_edited, &pdf, |r| !r.hash_matches);

        let mut time_edited = document.clone();
        time_edited.signatures[0].signed_at = "2025-03-01T12:34:57".parse().expect("valid time");
        check(&time_edited, &pdf, |r| {
            !r.signatures[0].signed_hash_matches && r.signatures[0].key_matches
        });

        let mut key_swapped = document.clone();
        key_swapped.signatures[0].public_key = second_key().public_key();
        check(&key_swapped, &pdf, |r| {
            !r.signatures[0].key_matches && r.signatures[1].is_valid()
        });

        let mut signature_swapped = document.clone();
        signature_swapped.signatures[0].signature = document.signatures[1].signature;
        check(&signature_swapped, &pdf, |r| {
            r.signatures[0].recovered_key != Some(signer_key().public_key())
        });
    }

    /// Contracts accept high-S (hence non-canonical) signatures, so verification does too.
    #[test]
    fn high_s_signatures_verify() {
        let (mut document, pdf) = signed_golden_document();
        let low = document.signatures[0].signature;
        let parsed = k256::ecdsa::Signature::from_slice(&low.compact()[1..]).expect("valid");
        let (r, s) = parsed.split_scalars();
        let high = k256::ecdsa::Signature::from_scalars(r, s.neg()).expect("valid scalars");
        let mut compact = [0u8; 65];
        compact[0] = 31 + ((low.compact()[0] - 31) ^ 1);
        compact[1..].copy_from_slice(&high.to_bytes());
        document.signatures[0].signature = Signature::from_compact(compact);
        let report = document.verify(Some(&pdf)).expect("supported version");
        assert!(!report.signatures[0].canonical);
        assert!(report.is_valid(), "{report:?}");
    }

    #[test]
    fn unsupported_versions_are_errors() {
        let (mut document, _) = signed_golden_document();
        for version in ["1.2.0", "", "1.1"] {
            document.version = version.to_owned();
            assert!(matches!(
                document.verify(None),
                Err(DocumentError::UnsupportedVersion(v)) if v == version
            ));
        }
    }

    #[test]
    fn legacy_document_recovers_from_hash() {
        let hash = Checksum256::new([0x42; 32]);
        let signature = signer_key().sign_digest(hash.as_bytes()).expect("signs");
        let document = Document {
            hash,
            public_key: signer_key().public_key(),
            signature,
            meta: "{}".to_owned(),
        };
        assert_eq!(
            document.verify(),
            LegacyReport {
                recovered_key: Some(signer_key().public_key()),
                key_matches: true
            }
        );
        let wrong = Document {
            public_key: second_key().public_key(),
            ..document.clone()
        };
        assert!(!wrong.verify().key_matches);
        let bytes = binary::to_bytes(&document);
        assert_eq!(bytes.len(), 32 + 34 + 66 + 3);
        assert_eq!(binary::from_bytes::<Document>(&bytes).ok(), Some(document));
    }

    #[test]
    fn document2_binary_layout() {
        let (document, _) = signed_golden_document();
        let bytes = binary::to_bytes(&document);
        let meta_len = document.meta.len();
        // version, three checksums, meta (two-byte length prefix), count, then two signatures.
        let signature_len = 4 + 32 + 8 + 34 + 66 + 4 + 3;
        assert_eq!(bytes.len(), 6 + 96 + 2 + meta_len + 1 + 2 * signature_len);
        assert_eq!(
            binary::from_bytes::<Document2>(&bytes).ok(),
            Some(document.clone())
        );
        assert!(binary::from_bytes::<Document2>(&bytes[..bytes.len() - 1]).is_err());
        let json = serde_json::to_value(&document).expect("serialises");
        assert_eq!(json["signatures"][0]["signed_at"], "2025-03-01T12:34:56");
        assert_eq!(
            serde_json::from_value::<Document2>(json).ok(),
            Some(document)
        );
    }

    proptest! {
        #[test]
        fn document2_binary_round_trip(
            version in "[0-9.]{0,6}",
            meta in "\\PC{0,40}",
            hashes in any::<[[u8; 32]; 3]>(),
            ids in prop::collection::vec(any::<u32>(), 0..3),
        ) {
            let key = signer_key();
            let signatures = ids
                .iter()
                .map(|&id| SignatureInfo {
                    id,
                    signed_hash: Checksum256::new(hashes[0]),
                    signer: Name::from_u64(u64::from(id)),
                    public_key: key.public_key(),
                    signature: Signature::from_compact([id.to_le_bytes()[0]; 65]),
                    signed_at: TimePointSec::from_secs(id),
                    meta: meta.clone(),
                })
                .collect();
            let document = Document2 {
                version,
                hash: Checksum256::new(hashes[0]),
                doc_hash: Checksum256::new(hashes[1]),
                meta_hash: Checksum256::new(hashes[2]),
                meta,
                signatures,
            };
            let bytes = binary::to_bytes(&document);
            prop_assert_eq!(binary::from_bytes::<Document2>(&bytes).ok(), Some(document));
        }
    }
}
