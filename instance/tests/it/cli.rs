//! The `mono` command line, driven as a user would: arguments in, stdout/stderr and exit code out.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Published key vector K1/K2 (wharfkit/antelope test/crypto.ts, swift-eosio CryptoTests).
const WIF: &str = "5KQvfsPJ9YvGuVbLRLXVWPNubed6FWvV8yax6cNSJEzB4co3zFu";
const PVT_K1: &str = "PVT_K1_2be6BwD56MHeVD4P95bRLdnP3oB3P4QRAXAsSKh4N8Xu6d4Aux";
const PUB_K1: &str = "PUB_K1_6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeACcSRFs";
const LEGACY: &str = "EOS6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeABhJRin";
/// Vector V3: sha256("I like turtles") signed by the key above (greymass/swift-eosio CryptoTests).
const DIGEST: &str = "e50da5010bca3f3ea824008ff6d885e7a877936c5834705e55c7fd0f1e0be47b";
const SIGNATURE: &str = "SIG_K1_K6PhJrD6wvjzVQRwTUd82fk3Z4jznnUszjeBH7xGCAsfByCunzSN2KQ2A9ALetFwLTqnK4xvES6Bstt6NNSvGgjgM1Tcxn";

/// Runs `mono` with arguments and optional stdin.
pub(crate) fn mono(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mono"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mono starts");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes())
            .expect("stdin accepts input");
    }
    drop(pipe);
    child.wait_with_output().expect("mono finishes")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

/// Asserts success and returns stdout without the trailing newline.
pub(crate) fn ok(args: &[&str]) -> String {
    let output = mono(args, None);
    assert_eq!(
        output.status.code(),
        Some(0),
        "mono {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout(&output).trim_end().to_owned()
}

pub(crate) fn ok_json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).expect("stdout is one JSON value")
}

/// Asserts exit code 2 with one error line on stderr that mentions `needle`, and nothing on stdout.
pub(crate) fn bad_input(args: &[&str], needle: &str) {
    let output = mono(args, None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "mono {args:?}: {stderr}");
    assert!(output.stdout.is_empty(), "mono {args:?} printed to stdout");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one error line: {stderr}"
    );
    assert!(
        stderr.contains(needle),
        "mono {args:?}: expected {needle:?} in {stderr:?}"
    );
}

#[test]
fn key_generate_prints_a_consistent_pair() {
    let pair = ok_json(&["key", "generate"]);
    let private_key = pair["private_key"].as_str().expect("private_key");
    assert!(private_key.starts_with("PVT_K1_"));
    let derived = ok_json(&["key", "public", private_key]);
    assert_eq!(derived["public_key"], pair["public_key"]);
    assert_eq!(derived["legacy_public_key"], pair["legacy_public_key"]);
    assert_ne!(pair, ok_json(&["key", "generate"]), "two keys must differ");
}

#[test]
fn key_public_accepts_both_private_forms() {
    for private_key in [WIF, PVT_K1] {
        let derived = ok_json(&["key", "public", private_key]);
        assert_eq!(derived["public_key"], PUB_K1);
        assert_eq!(derived["legacy_public_key"], LEGACY);
    }
}

#[test]
fn key_sign_reproduces_the_published_signature() {
    assert_eq!(ok(&["key", "sign", WIF, DIGEST]), SIGNATURE);
    assert_eq!(ok(&["key", "sign", PVT_K1, DIGEST]), SIGNATURE);
}

#[test]
fn key_verify_answers_valid_or_invalid() {
    for public_key in [PUB_K1, LEGACY] {
        assert_eq!(
            ok(&["key", "verify", public_key, DIGEST, SIGNATURE]),
            "valid"
        );
    }
    let other_digest = "e50da5010bca3f3ea824008ff6d885e7a877936c5834705e55c7fd0f1e0be47c";
    let output = mono(&["key", "verify", PUB_K1, other_digest, SIGNATURE], None);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output).trim_end(), "invalid");
}

#[test]
fn key_recover_returns_the_signer() {
    assert_eq!(ok(&["key", "recover", DIGEST, SIGNATURE]), PUB_K1);
}

#[test]
fn key_commands_reject_bad_input() {
    let cases: &[(&[&str], &str)] = &[
        (&["key", "public", "PVT_K1_abc"], "private key"),
        (
            &[
                "key",
                "public",
                "5KQvfsPJ9YvGuVbLRLXVWPNubed6FWvV8yax6cNSJEzB4co3zxx",
            ],
            "private key",
        ),
        (&["key", "sign", WIF, "abcd"], "digest"),
        (
            &[
                "key",
                "sign",
                WIF,
                "zz50da5010bca3f3ea824008ff6d885e7a877936c5834705e55c7fd0f1e0be4",
            ],
            "digest",
        ),
        (
            &["key", "verify", "EOS1234", DIGEST, SIGNATURE],
            "public key",
        ),
        (
            &["key", "verify", PUB_K1, DIGEST, "SIG_K1_abc"],
            "signature",
        ),
        (&["key", "recover", DIGEST, "SIG_R1_abc"], "signature"),
        (&["key", "frobnicate"], "frobnicate"),
    ];
    for (args, needle) in cases {
        bad_input(args, needle);
    }
}

/// The golden hash chain shared with the document unit tests.
fn hash_chain_vector() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/antelope/document/hash-chain.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("vector file")).expect("JSON")
}

#[test]
fn document_hash_follows_the_golden_chain() {
    let vector = hash_chain_vector();
    let dir = tempfile::tempdir().expect("temp dir");
    let meta = dir.path().join("meta.json");
    let pdf = dir.path().join("doc.pdf");
    std::fs::write(&meta, vector["meta_text"].as_str().expect("meta_text")).expect("write meta");
    let pdf_bytes = hex::decode(vector["pdf_hex"].as_str().expect("pdf_hex")).expect("hex");
    std::fs::write(&pdf, pdf_bytes).expect("write pdf");
    let meta = meta.to_str().expect("UTF-8 path");
    let pdf = pdf.to_str().expect("UTF-8 path");

    for expected in vector["versions"].as_array().expect("versions") {
        let version = expected["version"].as_str().expect("version");
        let hashes = ok_json(&[
            "document",
            "hash",
            "--meta",
            meta,
            "--pdf",
            pdf,
            "--version",
            version,
        ]);
        assert_eq!(hashes["doc_hash"], vector["doc_hash"], "version {version}");
        assert_eq!(
            hashes["meta_hash"], expected["meta_hash"],
            "version {version}"
        );
        assert_eq!(hashes["hash"], expected["hash"], "version {version}");
    }
    let default_version = ok_json(&["document", "hash", "--meta", meta, "--pdf", pdf]);
    assert_eq!(
        default_version["meta_hash"],
        vector["versions"][1]["meta_hash"]
    );
}

#[test]
fn document_hash_rejects_bad_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    let meta = dir.path().join("meta.json");
    let broken = dir.path().join("broken.json");
    let pdf = dir.path().join("doc.pdf");
    std::fs::write(&meta, r#"{"registry_id":1}"#).expect("write");
    std::fs::write(&broken, "{not json").expect("write");
    std::fs::write(&pdf, b"%PDF-1.4").expect("write");
    let missing = dir.path().join("missing.pdf");
    let [meta, broken, pdf, missing] =
        [&meta, &broken, &pdf, &missing].map(|path| path.to_str().expect("UTF-8 path").to_owned());

    bad_input(
        &["document", "hash", "--meta", &broken, "--pdf", &pdf],
        "parsing",
    );
    bad_input(
        &["document", "hash", "--meta", &meta, "--pdf", &missing],
        "missing.pdf",
    );
    bad_input(
        &[
            "document",
            "hash",
            "--meta",
            &meta,
            "--pdf",
            &pdf,
            "--version",
            "2.0.0",
        ],
        "2.0.0",
    );
}
