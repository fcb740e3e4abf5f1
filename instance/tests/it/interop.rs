//! Interoperability with an unmodified third-party Antelope client: `mono devnet` runs as its
//! binary, and `tests/interop/wharfkit.mjs` drives it with `@wharfkit/antelope` from npm, a
//! client written against nodeos. The script reads `get_info` and the ABIs, pushes a
//! transaction it signed itself, reads the block back, and streams SHiP, decoding every message
//! with the ABI the devnet sent; it prints what it found as one JSON line, checked here.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::Value;

/// How long the devnet may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the script may run; it gives up by itself after 30 s.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(90);

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Kills the devnet when the test ends, whatever its outcome.
struct DevnetProcess(Child);

impl Drop for DevnetProcess {
    fn drop(&mut self) {
        let _already_exited = self.0.kill();
        let _status = self.0.wait();
    }
}

/// Starts `mono devnet` on loopback ports and returns it with its ready line.
fn start_devnet() -> (DevnetProcess, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mono"))
        .args(["devnet", "--ephemeral"])
        .args(["--http", "127.0.0.1:0", "--ship", "127.0.0.1:0"])
        .args(["--block-interval-ms", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mono devnet starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let devnet = DevnetProcess(child);
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _test_gave_up = sender.send(read);
    });
    let line = receiver
        .recv_timeout(READY_TIMEOUT)
        .expect("mono devnet prints its ready line in time")
        .expect("the ready line is readable");
    (devnet, line.trim_end().to_owned())
}

/// Runs the wharfkit script against the devnet of `ready`.
fn run_script(ready: &str) -> Output {
    let dir = interop_dir();
    assert!(
        dir.join("node_modules/@wharfkit/antelope").is_dir()
            && dir.join("node_modules/ws").is_dir(),
        "the interop test needs its npm packages: run `npm ci --prefix instance/tests/interop` \
         (Node.js 20 or later)"
    );
    let child = Command::new("node")
        .arg("wharfkit.mjs")
        .arg(ready)
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`node` (Node.js 20 or later) is on PATH");
    let pid = child.id();
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let _test_gave_up = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(SCRIPT_TIMEOUT) {
        Ok(output) => output.expect("the script's output is readable"),
        Err(_) => {
            let _killed = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("the interop script did not finish within {SCRIPT_TIMEOUT:?}");
        }
    }
}

#[test]
fn wharfkit_reads_pushes_and_streams_ship() {
    let (_devnet, ready_line) = start_devnet();
    let ready: Value = serde_json::from_str(&ready_line).expect("the ready line is JSON");
    let output = run_script(&ready_line);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the wharfkit script failed ({}):\n{stderr}\n{stdout}",
        output.status
    );
    let found: Value = serde_json::from_str(stdout.trim()).expect("the script prints JSON");

    assert_eq!(found["chain_id"], ready["chain_id"]);
    let trx_id = found["transaction_id"].as_str().expect("transaction id");
    assert_eq!(trx_id.len(), 64);
    assert_eq!(found["block_transaction_id"], trx_id, "get_block holds it");
    let block_num = found["block_num"].as_u64().expect("block num");
    let block_id = found["block_id"].as_str().expect("block id");
    assert!(
        block_id.starts_with(&format!("{block_num:08x}")),
        "{block_id}"
    );
    assert!(found["head_block_num"].as_u64().expect("head") < block_num);

    assert!(found["ship_head_block_num"].as_u64().expect("ship head") >= block_num);
    assert_eq!(found["ship_blocks"], block_num, "SHiP streamed every block");
    let username = found["username"].as_str().expect("username");
    assert_eq!(found["trace"]["status"], 0, "executed");
    assert_eq!(
        found["trace"]["actions"][0], "registrator:registrator::adduser",
        "{found}"
    );
    let action = &found["ship_action"];
    assert_eq!(action["account"], "registrator");
    assert_eq!(action["name"], "adduser");
    assert_eq!(action["coopname"], ready["coopname"]);
    assert_eq!(action["username"], username);
    assert_eq!(action["initial"], "100.0000 RUB");
    assert_eq!(found["account_row_keys"], serde_json::json!([username]));

    let tables = found["ship_abi_tables"].as_array().expect("tables");
    for table in ["account", "account_metadata", "contract_row", "permission"] {
        assert!(tables.iter().any(|name| name == table), "{table}");
    }
    assert!(found["ship_delta_rows"].as_u64().expect("rows") > 0);
}
