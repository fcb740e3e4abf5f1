//! The desktop: its key module signs exactly as the Rust side does (run under node; a missing
//! `node` fails the test rather than skipping it).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use mono_instance::antelope::keys::PrivateKey;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// Where the browser tests' scripts and npm packages are.
fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Longest a node script may run.
const SCENARIO_DEADLINE: Duration = Duration::from_secs(600);

/// Runs `node script` with `input` on stdin; its stdout.
fn node(script: &Path, input: &[u8], env: &[(&str, String)]) -> anyhow::Result<Vec<u8>> {
    let mut command = Command::new("node");
    command
        .arg(script)
        .envs(env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command
        .spawn()
        .context("running node: install Node.js 18 or later (scripts/install-test-deps.sh)")?;
    child
        .stdin
        .take()
        .context("node's stdin")?
        .write_all(input)?;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            let mut output = Vec::new();
            std::io::Read::read_to_end(&mut child.stdout.take().context("stdout")?, &mut output)?;
            ensure!(
                status.success(),
                "node {} failed: {status}",
                script.display()
            );
            return Ok(output);
        }
        if started.elapsed() > SCENARIO_DEADLINE {
            let _gone = child.kill();
            bail!("node {} ran past {SCENARIO_DEADLINE:?}", script.display());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_desktop_signs_digests_byte_for_byte_as_rust_does() -> anyhow::Result<()> {
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for key_idx in 1_u8..=4 {
        let key = PrivateKey::from_bytes(&Sha256::digest([key_idx]).into())?;
        // Enough digests that some need retries for a canonical signature.
        for digest_idx in 0_u32..16 {
            let digest: [u8; 32] =
                Sha256::digest(format!("{key_idx}:{digest_idx}").as_bytes()).into();
            cases.push(json!({"private_key": key.to_string(), "digest": hex::encode(digest)}));
            expected.push(json!({
                "public_key": key.public_key().to_string(),
                "backup": key.to_string(),
                "signature": key.sign_digest(&digest)?.to_string(),
            }));
        }
    }
    let output = node(
        &browser_dir().join("sign.mjs"),
        &serde_json::to_vec(&cases)?,
        &[],
    )?;
    let answers: Vec<Value> = serde_json::from_slice(&output)?;
    ensure!(answers.len() == expected.len(), "{answers:?}");
    for ((case, answer), expected) in cases.iter().zip(&answers).zip(&expected) {
        ensure!(
            answer == expected,
            "{case}: browser {answer} != rust {expected}"
        );
    }
    Ok(())
}
