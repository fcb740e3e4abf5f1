//! The desktop: its key module signs exactly as the Rust side does, and, in the system's
//! headless Chromium, a newcomer joins through it and the council decides through it, against
//! `mono serve` following a devnet that produces blocks on its own. The browser scenarios are
//! `instance/tests/browser/*.mjs` (playwright-core, installed by `scripts/install-test-deps.sh`);
//! a missing `node`, Chromium or playwright-core fails the test rather than skipping it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use mono_instance::antelope::keys::PrivateKey;
use mono_instance::devnet::{DevnetConfig, ProductionMode, RunningDevnet, Storage, start};
use mono_instance::store::Store;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::api::bootstrap_key;
use crate::crash::{loopback, mono_following};
use crate::factory_store::cooperative_records;

/// Where the browser tests' scripts and npm packages are.
fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Debian's Chromium, which the scenarios drive.
const CHROMIUM: &str = "/usr/bin/chromium";
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

/// A cooperative on a devnet producing blocks every half second, served by `mono serve` with
/// the desktop, and the council's demo keys.
struct Served {
    devnet: RunningDevnet,
    serve: Child,
    desktop: String,
    accounts: Value,
    _data: tempfile::TempDir,
}

impl Served {
    async fn start() -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let devnet = start(DevnetConfig {
            http: loopback()?,
            ship: loopback()?,
            storage: Storage::Ephemeral,
            production: ProductionMode::Interval,
            block_interval: Duration::from_millis(500),
            lib_lag: 1,
            bootstrap: None,
        })
        .await?;
        let url = format!("sqlite://{}", data.path().join("mono.sqlite").display());
        let store = Store::open(&url).await?;
        cooperative_records(
            &store,
            &[
                ("chairman", "Сергей", "Иванов"),
                ("member1", "Ольга", "Смирнова"),
                ("member2", "Андрей", "Кузнецов"),
            ],
            1,
        )
        .await?;
        store.close().await;
        let key_file = data.path().join("cooperative.key");
        std::fs::write(&key_file, bootstrap_key(&devnet, "voskhod")?.to_string())?;
        let listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let mut command = mono_following(&devnet, "serve", &url);
        command
            .args(["--listen", &listen.to_string()])
            .arg("--cooperative-key-file")
            .arg(&key_file);
        let serve = command.spawn()?;
        let accounts = json!(
            [
                ("chairman", "chairman"),
                ("member1", "council"),
                ("member2", "council")
            ]
            .iter()
            .map(|(name, role)| Ok(json!({
                "username": name, "role": role,
                "private_key": bootstrap_key(&devnet, name)?.to_string(),
            })))
            .collect::<anyhow::Result<Vec<Value>>>()?
        );
        let served = Self {
            devnet,
            serve,
            desktop: format!("http://{listen}/"),
            accounts,
            _data: data,
        };
        served.wait_ready(&format!("http://{listen}/ready")).await?;
        Ok(served)
    }

    async fn wait_ready(&self, url: &str) -> anyhow::Result<()> {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(response) = client.get(url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        bail!("mono serve was not ready at {url} within two minutes")
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        let _gone = self.serve.kill();
        let _status = self.serve.wait();
        self.devnet.stop().await?;
        Ok(())
    }
}

/// Runs browser scenario `name` against `served`; its screenshots go to
/// `MONO_DESKTOP_SCREENSHOTS` when set, otherwise to a temporary directory.
fn scenario(name: &str, served: &Served) -> anyhow::Result<()> {
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
    node(
        &browser_dir().join(format!("{name}.mjs")),
        b"",
        &[
            ("MONO_DESKTOP_URL", served.desktop.clone()),
            ("MONO_DESKTOP_ACCOUNTS", served.accounts.to_string()),
            (
                "MONO_DESKTOP_SCREENSHOTS",
                screenshots.display().to_string(),
            ),
            ("MONO_CHROMIUM", CHROMIUM.to_owned()),
        ],
    )?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_joins_and_the_council_admits_it_in_the_browser() -> anyhow::Result<()> {
    let served = Served::start().await?;
    let outcome = tokio::task::block_in_place(|| scenario("join", &served));
    served.stop().await?;
    outcome
}
