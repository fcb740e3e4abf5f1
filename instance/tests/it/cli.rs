//! The `mono` command line, driven as a user would: arguments in, stdout/stderr and exit code out.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use mono_instance::chain::api::{ApiOptions, ChainApi};
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
    ok_with_stdin(args, None)
}

/// [`ok`], with optional stdin.
fn ok_with_stdin(args: &[&str], stdin: Option<&str>) -> String {
    let output = mono(args, stdin);
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
    let derived: Value =
        serde_json::from_str(&ok_with_stdin(&["key", "public"], Some(private_key)))
            .expect("stdout is one JSON value");
    assert_eq!(derived["public_key"], pair["public_key"]);
    assert_eq!(derived["legacy_public_key"], pair["legacy_public_key"]);
    assert_ne!(pair, ok_json(&["key", "generate"]), "two keys must differ");
}

#[test]
fn key_public_accepts_both_private_forms() {
    for private_key in [WIF, PVT_K1] {
        let derived: Value = serde_json::from_str(&ok_with_stdin(
            &["key", "public"],
            Some(&format!("{private_key}\n")),
        ))
        .expect("stdout is one JSON value");
        assert_eq!(derived["public_key"], PUB_K1);
        assert_eq!(derived["legacy_public_key"], LEGACY);
    }
}

#[test]
fn key_sign_reproduces_the_published_signature() {
    assert_eq!(
        ok_with_stdin(&["key", "sign", DIGEST], Some(WIF)),
        SIGNATURE
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, format!("{PVT_K1}\n")).expect("key file written");
    let key_file = key_file.to_str().expect("UTF-8 path");
    assert_eq!(
        ok(&["key", "sign", "--key-file", key_file, DIGEST]),
        SIGNATURE
    );
}

#[test]
fn a_private_key_comes_from_the_environment() {
    let output = Command::new(env!("CARGO_BIN_EXE_mono"))
        .args(["key", "sign", DIGEST])
        .env("MONO_PRIVATE_KEY", PVT_K1)
        .stdin(Stdio::null())
        .output()
        .expect("mono runs");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output).trim_end(), SIGNATURE);
}

#[test]
fn a_private_key_is_never_an_argument() {
    let output = mono(&["key", "sign", PVT_K1, DIGEST], Some(PVT_K1));
    assert_eq!(
        output.status.code(),
        Some(2),
        "an extra argument is refused"
    );
    assert!(output.stdout.is_empty());
    let output = mono(&["key", "public", PVT_K1], None);
    assert_eq!(
        output.status.code(),
        Some(2),
        "an extra argument is refused"
    );
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
        (&["key", "public"], "private key"),
        (
            &["key", "public", "--key-file", "/nonexistent/key"],
            "/nonexistent/key",
        ),
        (&["key", "sign", "abcd"], "digest"),
        (
            &[
                "key",
                "sign",
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
    for key in [
        "PVT_K1_abc",
        "5KQvfsPJ9YvGuVbLRLXVWPNubed6FWvV8yax6cNSJEzB4co3zxx",
    ] {
        let output = mono(&["key", "sign", DIGEST], Some(key));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{key}: {stderr}");
        assert!(stderr.contains("private key"), "{stderr}");
        assert!(!stderr.contains(key), "the key is not echoed: {stderr}");
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

/// A minimal token ABI of this test suite (the shape of `eosio.token`'s `transfer`).
const TOKEN_ABI: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cli/token.abi");
/// The real COOPOS ABIs, read in place as test data.
const COOPOS_ABIS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/coopos-abi");

/// `mono abi VERB --abi ABI --type TYPE_NAME INPUT`.
fn abi_args<'a>(verb: &'a str, abi: &'a str, type_name: &'a str, input: &'a str) -> [&'a str; 7] {
    ["abi", verb, "--abi", abi, "--type", type_name, input]
}

#[test]
fn abi_encode_and_decode_follow_the_published_transfer_vector() {
    // Vector S12 (wharfkit/antelope test/serializer.ts 'struct decorators').
    let transfer = r#"{"from":"alice","to":"bob","quantity":"42.0 GMZ","memo":"for you"}"#;
    let packed = "0000000000855c340000000000000e3da40100000000000001474d5a0000000007666f7220796f75";
    let args = ["abi", "encode", "--abi", TOKEN_ABI, "--type", "transfer"];
    assert_eq!(ok(&[&args[..], &[transfer]].concat()), packed);
    assert_eq!(ok_with_stdin(&args, Some(transfer)), packed);

    let decoded = ok_json(&abi_args("decode", TOKEN_ABI, "transfer", packed));
    let expected: Value = serde_json::from_str(transfer).expect("JSON");
    assert_eq!(decoded, expected);
}

#[test]
fn abi_round_trips_a_coopos_action() {
    let soviet = format!("{COOPOS_ABIS}/soviet.abi");
    let vote = r#"{"coopname":"voskhod","member":"ant","decision_id":7}"#;
    let hex = ok(&abi_args("encode", &soviet, "cancelvote", vote));
    let decoded = ok_json(&abi_args("decode", &soviet, "cancelvote", &hex));
    assert_eq!(decoded, serde_json::from_str::<Value>(vote).expect("JSON"));
}

#[test]
fn abi_commands_reject_bad_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    let not_an_abi = dir.path().join("not.abi");
    std::fs::write(&not_an_abi, r#"{"version":"eosio::abi/9.0"}"#).expect("write");
    let not_an_abi = not_an_abi.to_str().expect("UTF-8 path");
    let transfer = r#"{"from":"alice","to":"bob","quantity":"42.0 GMZ","memo":"for you"}"#;
    let cases = [
        (
            "encode",
            "/nonexistent/x.abi",
            "transfer",
            transfer,
            "x.abi",
        ),
        ("encode", not_an_abi, "transfer", transfer, "ABI"),
        ("encode", TOKEN_ABI, "nosuchtype", transfer, "nosuchtype"),
        ("encode", TOKEN_ABI, "transfer", "{not json", "JSON"),
        (
            "encode",
            TOKEN_ABI,
            "transfer",
            r#"{"from":"ALICE"}"#,
            "transfer",
        ),
        ("decode", TOKEN_ABI, "transfer", "00zz", "hex"),
        (
            "decode",
            TOKEN_ABI,
            "transfer",
            "0000000000855c34",
            "transfer",
        ),
        ("decode", TOKEN_ABI, "name", "0000000000855c3400", "name"),
    ];
    for (verb, abi, type_name, input, needle) in cases {
        bad_input(&abi_args(verb, abi, type_name, input), needle);
    }
}

/// Vector S15 (wharfkit/antelope test/chain.ts 'transaction'): transaction id and packed bytes.
const S15_ID: &str = "97b4d267ce0e0bd6c78c52f85a27031bd16def0920703ca3b72c28c2c5a1a79b";
const S15_PACKED: &str = "00000000000000000000000000000100a6823403ea3055000000572d3ccdcd0026000000000000285d000000000000ae39102700000000000004454f53000000000568656c6c6f00";

/// The chain id of the signing-digest vectors.
const CHAIN_ID: &str = "2a02a0053e5a8cf73a56ba0fda11e4d92e0238a4a2aa74fccf46d5a910746840";

/// `mono trx digest --chain-id CHAIN_ID` followed by `rest`.
fn trx_digest<'a>(chain_id: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    [&["trx", "digest", "--chain-id", chain_id][..], rest].concat()
}

fn s15_transaction(data: Value) -> String {
    serde_json::json!({
        "expiration": "1970-01-01T00:00:00",
        "ref_block_num": 0,
        "ref_block_prefix": 0,
        "max_net_usage_words": 0,
        "max_cpu_usage_ms": 0,
        "delay_sec": 0,
        "context_free_actions": [],
        "actions": [{"account": "eosio.token", "name": "transfer", "authorization": [], "data": data}],
        "transaction_extensions": []
    })
    .to_string()
}

#[test]
fn trx_digest_matches_published_vectors() {
    let data_json =
        serde_json::json!({"from":"foo","to":"bar","quantity":"1.0000 EOS","memo":"hello"});
    let with_abi = format!("eosio.token={TOKEN_ABI}");
    let result = ok_json(&trx_digest(
        CHAIN_ID,
        &["--abi", &with_abi, &s15_transaction(data_json)],
    ));
    assert_eq!(result["id"], S15_ID);
    assert_eq!(result["packed_trx"], S15_PACKED);

    // The same transaction with hex data needs no ABI and gives the same answer.
    let data_hex = &S15_PACKED[S15_PACKED.len() - 78..S15_PACKED.len() - 2];
    let from_hex = ok_json(&trx_digest(CHAIN_ID, &[&s15_transaction(data_hex.into())]));
    assert_eq!(from_hex, result);

    // Signing-digest vector of the reference notes (§4.1), from a transfer by corecorecore.
    let transfer = serde_json::json!({
        "expiration": "1970-01-01T00:00:00",
        "ref_block_num": 0,
        "ref_block_prefix": 0,
        "actions": [{
            "account": "eosio.token",
            "name": "transfer",
            "authorization": [{"actor": "corecorecore", "permission": "active"}],
            "data": {"from": "corecorecore", "to": "teamgreymass", "quantity": "0.0442 EOS", "memo": "eosio-core is the best <3"}
        }]
    })
    .to_string();
    let digest = ok_json(&trx_digest(CHAIN_ID, &["--abi", &with_abi, &transfer]));
    assert_eq!(
        digest["digest"],
        "59fa6b615e3ce1b539ae27bc2398448c1374d2d3c97fe2bbba2c37c118631848"
    );
    let from_stdin = ok_with_stdin(
        &trx_digest(CHAIN_ID, &["--abi", &with_abi]),
        Some(&transfer),
    );
    assert_eq!(
        serde_json::from_str::<Value>(&from_stdin).expect("JSON"),
        digest
    );
}

#[test]
fn trx_digest_rejects_bad_input() {
    let json_data = s15_transaction(
        serde_json::json!({"from":"foo","to":"bar","quantity":"1.0000 EOS","memo":"hello"}),
    );
    let with_abi = format!("eosio.token={TOKEN_ABI}");
    let cases: &[(&str, &[&str], &str)] = &[
        ("abcd", &[&json_data], "chain-id"),
        (CHAIN_ID, &[&json_data], "--abi eosio.token=FILE"),
        (CHAIN_ID, &["--abi", TOKEN_ABI, &json_data], "ACCOUNT=FILE"),
        (CHAIN_ID, &["--abi", "Bad=x", &json_data], "account"),
        (CHAIN_ID, &["--abi", &with_abi, "[1,2"], "JSON"),
        (
            CHAIN_ID,
            &["--abi", &with_abi, r#"{"expiration":"yesterday"}"#],
            "transaction",
        ),
    ];
    for (chain_id, rest, needle) in cases {
        bad_input(&trx_digest(chain_id, rest), needle);
    }
}

/// `mono devnet` in memory, on free loopback ports.
const EPHEMERAL_DEVNET: [&str; 6] = [
    "devnet",
    "--ephemeral",
    "--http",
    "127.0.0.1:0",
    "--ship",
    "127.0.0.1:0",
];

/// A child process that is killed if a failing assertion leaves it running.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[tokio::test]
async fn devnet_prints_its_ready_line_serves_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};

    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_mono"))
            .args(EPHEMERAL_DEVNET)
            .args(["--production", "manual"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mono devnet starts"),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().expect("stdout is piped"))
        .read_line(&mut line)
        .expect("ready line");
    let ready: Value = serde_json::from_str(&line).expect("the ready line is JSON");
    assert_eq!(ready["coopname"], "voskhod");
    let roles: Vec<&str> = ready["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .filter_map(|account| account["role"].as_str())
        .collect();
    for role in ["system", "contract", "cooperative", "chairman", "member"] {
        assert!(roles.contains(&role), "no {role} in {roles:?}");
    }

    let http = ready["http"].as_str().expect("http URL");
    let api = ChainApi::new(http, ApiOptions::default()).expect("Chain API client");
    let info = api.get_info().await.expect("get_info answers");
    assert_eq!(
        info.chain_id.to_hex(),
        ready["chain_id"].as_str().expect("chain_id")
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "mono devnet did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn devnet_rejects_an_unreadable_bootstrap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bootstrap = dir.path().join("bootstrap.json");
    std::fs::write(&bootstrap, "{\"chain_id\": 42}").expect("write");
    let bootstrap = bootstrap.to_str().expect("UTF-8 path");
    bad_input(
        &[&EPHEMERAL_DEVNET[..], &["--bootstrap", bootstrap]].concat(),
        "bootstrap",
    );
}

#[test]
fn migrate_creates_the_schema_once_and_keeps_the_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = format!("sqlite://{}", dir.path().join("mono.sqlite").display());
    let first = ok_json(&["migrate", "--database", &database]);
    assert_eq!(
        first,
        serde_json::json!({"migrated": true, "cursor_block": null})
    );
    // Migrating an up-to-date database changes nothing.
    assert_eq!(ok_json(&["migrate", "--database", &database]), first);
    let status = ok_json(&["status", "--database", &database]);
    assert_eq!(status["blocks"], 0);
    bad_input(
        &["migrate", "--database", "mysql://localhost/mono"],
        "database",
    );
}

#[test]
fn serve_refuses_a_configuration_file_with_an_unknown_setting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("mono.env");
    std::fs::write(
        &config,
        "MONO_DATABASE_URL=sqlite://a.db\nMONO_LISTN=0.0.0.0:1\n",
    )
    .expect("write");
    bad_input(
        &["serve", "--config", config.to_str().expect("UTF-8 path")],
        "has no setting MONO_LISTN",
    );
}
