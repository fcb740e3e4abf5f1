//! The desktop: its key module signs exactly as the Rust side does, and, in the system's
//! headless Chromium, a newcomer joins through it and the council decides through it, and
//! members keep their accounts and the chairman the settings through it, against `mono demo` (a
//! seeded cooperative on a devnet producing blocks on its own). The scenarios are
//! `instance/tests/browser/*.mjs` (playwright-core, installed by `scripts/install-test-deps.sh`);
//! a missing `node`, Chromium or playwright-core fails the test rather than skipping it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mono_instance::antelope::keys::PrivateKey;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

/// Where the browser tests' scripts and npm packages are.
fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Debian's Chromium, which the scenarios drive.
const CHROMIUM: &str = "/usr/bin/chromium";
/// Longest the demo may take to seed its cooperative and print its ready line.
const READY_DEADLINE: Duration = Duration::from_secs(300);
/// Longest a browser scenario may run; each of its own waits is bounded too.
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
fn every_operation_the_desktop_sends_is_valid_against_the_committed_schema() -> anyhow::Result<()> {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let output = node(
        &browser_dir().join("schema.mjs"),
        b"",
        &[("MONO_SCHEMA_FILE", schema.display().to_string())],
    )?;
    let report = String::from_utf8(output)?;
    ensure!(report.trim_end().ends_with(", 0 errors"), "{report}");
    Ok(())
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

/// `mono demo` on a free loopback port: a seeded cooperative with its council, served with the
/// desktop; the ready line names the desktop's address and the demo accounts' keys.
struct Served {
    demo: tokio::process::Child,
    ready: Value,
    _data: tempfile::TempDir,
}

impl Served {
    /// Starts the demo with `args` after its own.
    async fn start(args: &[&str]) -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let mut demo = tokio::process::Command::new(env!("CARGO_BIN_EXE_mono"))
            .args(["demo", "--listen", "127.0.0.1:0", "--data"])
            .arg(data.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting mono demo")?;
        let stdout = demo.stdout.take().context("the demo's stdout")?;
        let line = tokio::time::timeout(READY_DEADLINE, async {
            BufReader::new(stdout).lines().next_line().await
        })
        .await
        .context("mono demo was not ready in time")??
        .context("mono demo ended without a ready line")?;
        Ok(Self {
            demo,
            ready: serde_json::from_str(&line).context("the ready line")?,
            _data: data,
        })
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        let pid = self.demo.id().context("the demo runs")?.to_string();
        ensure!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()?
                .success()
        );
        let status = tokio::time::timeout(Duration::from_secs(30), self.demo.wait())
            .await
            .context("the demo stops on SIGTERM")??;
        ensure!(status.success(), "mono demo exited with {status}");
        Ok(())
    }
}

/// Runs browser scenario `name` against `served`, with `env` added to its environment; its
/// screenshots go to `MONO_DESKTOP_SCREENSHOTS` when set, otherwise to a temporary directory.
fn scenario(name: &str, served: &Served, env: &[(&str, String)]) -> anyhow::Result<()> {
    ensure!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's chromium (scripts/install-test-deps.sh)"
    );
    ensure!(
        browser_dir().join("node_modules/playwright-core").exists(),
        "playwright-core is missing: npm ci --prefix instance/tests/browser"
    );
    let screenshots = match std::env::var_os("MONO_DESKTOP_SCREENSHOTS") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::temp_dir().join(format!("mono-desktop-{}", std::process::id())),
    };
    std::fs::create_dir_all(&screenshots)?;
    eprintln!("screenshots in {}", screenshots.display());
    let mut env = env.to_vec();
    env.extend([
        (
            "MONO_DESKTOP_URL",
            served.ready["desktop"]
                .as_str()
                .context("the ready line's desktop")?
                .to_owned(),
        ),
        (
            "MONO_DESKTOP_ACCOUNTS",
            served.ready["accounts"].to_string(),
        ),
        (
            "MONO_DESKTOP_SCREENSHOTS",
            screenshots.display().to_string(),
        ),
        ("MONO_CHROMIUM", CHROMIUM.to_owned()),
    ]);
    node(&browser_dir().join(format!("{name}.mjs")), b"", &env)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_joins_and_the_council_admits_it_in_the_browser() -> anyhow::Result<()> {
    let served = Served::start(&[]).await?;
    let outcome = tokio::task::block_in_place(|| scenario("join", &served, &[]));
    served.stop().await?;
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_keep_their_accounts_and_the_chairman_the_settings_in_the_browser()
-> anyhow::Result<()> {
    let mailbox = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let smtp = format!("smtp://{}", listener.local_addr()?);
    let sink = tokio::spawn(smtp_sink(listener, mailbox.path().to_owned()));
    let served = Served::start(&[
        "--smtp-url",
        &smtp,
        "--smtp-from",
        "Кооператив «Восход» <noreply@voskhod.coop>",
    ])
    .await?;
    let outcome = tokio::task::block_in_place(|| {
        scenario(
            "accounts",
            &served,
            &[("MONO_DESKTOP_MAIL", mailbox.path().display().to_string())],
        )
    });
    served.stop().await?;
    ensure!(
        !sink.is_finished(),
        "the SMTP server stopped: {:?}",
        sink.await
    );
    sink.abort();
    outcome
}

/// A stand-in SMTP server on loopback: it accepts every message and leaves each one in `dir`
/// as `N.txt` (its headers, then its body decoded), where a scenario reads its mail.
async fn smtp_sink(listener: tokio::net::TcpListener, dir: PathBuf) -> anyhow::Result<()> {
    let mut received = 0_usize;
    loop {
        let (stream, _) = listener.accept().await?;
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 sink ESMTP\r\n").await?;
        let mut message: Option<Vec<String>> = None;
        while let Some(line) = lines.next_line().await? {
            if let Some(body) = message.as_mut() {
                if line == "." {
                    received += 1;
                    let text = readable(body)?;
                    // Written whole, then renamed: the scenario never reads half a message.
                    let partial = dir.join(format!("{received}.partial"));
                    std::fs::write(&partial, text)?;
                    std::fs::rename(&partial, dir.join(format!("{received}.txt")))?;
                    message = None;
                    write.write_all(b"250 queued\r\n").await?;
                } else {
                    // SMTP doubles a leading dot.
                    body.push(line.strip_prefix('.').unwrap_or(&line).to_owned());
                }
                continue;
            }
            let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
            match verb.as_str() {
                "DATA" => {
                    message = Some(Vec::new());
                    write.write_all(b"354 end with a dot\r\n").await?;
                }
                "QUIT" => {
                    write.write_all(b"221 bye\r\n").await?;
                    break;
                }
                _ => write.write_all(b"250 ok\r\n").await?,
            }
        }
    }
}

/// A message's headers and its body decoded from its transfer encoding (base64 or
/// quoted-printable, as lettre chooses for Cyrillic text).
fn readable(lines: &[String]) -> anyhow::Result<String> {
    let split = lines
        .iter()
        .position(String::is_empty)
        .context("a message with a body")?;
    let (headers, body) = (&lines[..split], &lines[split + 1..]);
    let encoding = headers
        .iter()
        .find_map(|header| {
            let (name, value) = header.split_once(':')?;
            name.eq_ignore_ascii_case("content-transfer-encoding")
                .then(|| value.trim().to_ascii_lowercase())
        })
        .unwrap_or_default();
    let body = match encoding.as_str() {
        "base64" => String::from_utf8(STANDARD.decode(body.concat())?)?,
        "quoted-printable" => quoted_printable(body)?,
        _ => body.join("\n"),
    };
    Ok(format!("{}\n\n{body}", headers.join("\n")))
}

/// Quoted-printable text decoded: `=XX` bytes, `=` at a line's end joining it to the next.
fn quoted_printable(lines: &[String]) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    for line in lines {
        let (line, soft) = match line.strip_suffix('=') {
            Some(joined) => (joined, true),
            None => (line.as_str(), false),
        };
        let mut rest = line.as_bytes();
        while let Some((&byte, tail)) = rest.split_first() {
            if byte == b'=' {
                let hex = tail.get(..2).context("an escape of two hex digits")?;
                bytes.push(u8::from_str_radix(std::str::from_utf8(hex)?, 16)?);
                rest = &tail[2..];
            } else {
                bytes.push(byte);
                rest = tail;
            }
        }
        if !soft {
            bytes.push(b'\n');
        }
    }
    Ok(String::from_utf8(bytes)?)
}
