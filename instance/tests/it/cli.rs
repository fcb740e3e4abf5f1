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
