//! `mono serve` against the in-process devnet: while the chain is away it is alive but not
//! ready; once the chain is back it follows it, reports its progress on `/status`, turns ready
//! and exports metrics; SIGTERM stops it with exit code 0.

use std::net::{SocketAddr, TcpListener};
use std::time::Instant;

use anyhow::ensure;
use serde_json::Value;

use crate::crash::{
    DEADLINE, POLL, address, mono_following, produce, restart, restartable_devnet, terminate,
    wait_exit,
};
use crate::support::{Backend, TestDb, two_database_test, with_database};

two_database_test!(
    serve_turns_ready_once_synced_and_reports_progress,
    |urls: [String; 2]| async move {
        let (_data, storage, devnet) = restartable_devnet().await?;
        let (http, ship) = (
            address(&devnet.ready().http)?,
            address(&devnet.ready().ship)?,
        );
        produce(&devnet, 5)?;
        let [url, _] = urls;
        let listen = free_loopback_port()?;
        let mut command = mono_following(&devnet, "serve", &url);
        command.args(["--listen", &listen.to_string()]);
        devnet.stop().await?;

        let child = command.spawn()?;
        // reqwest is built without a default TLS provider; the product installs ring.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()?;
        let base = format!("http://{listen}");
        let outcome = async {
            let health = poll(&client, &format!("{base}/health"), |code, _| code == 200).await?;
            ensure!(health.0 == 200);

            // The chain is away: alive, not ready, nothing heard from the chain yet.
            let (code, body) = get(&client, &format!("{base}/ready")).await?;
            ensure!(code == 503, "ready while the chain is away: {code} {body}");
            let (code, status) = get(&client, &format!("{base}/status")).await?;
            ensure!(code == 200, "{code} {status}");
            ensure!(
                status["ready"] == false && status["head_block"] == 0,
                "{status}"
            );
            ensure!(status["mode"] == "irreversible", "{status}");
            ensure!(status["synced_block"] == 0, "{status}");

            let devnet = restart(storage, http, ship).await?;
            produce(&devnet, 5)?;
            let lib = devnet.node().read(|chain| chain.lib_num());
            let (_, status) = poll(&client, &format!("{base}/status"), |_, body| {
                body["synced_block"] == lib
            })
            .await?;
            ensure!(status["ready"] == true, "{status}");
            ensure!(
                status["follower"] == true,
                "the only replica follows: {status}"
            );
            ensure!(status["lib_block"] == lib, "{status}");
            ensure!(
                status["head_block"].as_u64() >= Some(u64::from(lib)),
                "{status}"
            );
            ensure!(
                status["coopname"] == devnet.ready().coopname.to_string(),
                "{status}"
            );
            let (code, _) = get(&client, &format!("{base}/ready")).await?;
            ensure!(code == 200, "not ready once synced");

            // Usage: the database's size, no documents on this chain, and the traffic so far,
            // the previous answer included.
            let (_, first) = get(&client, &format!("{base}/status")).await?;
            let (_, second) = get(&client, &format!("{base}/status")).await?;
            let usage = |body: &Value, field: &str| body["usage"][field].as_u64().unwrap_or(0);
            ensure!(usage(&first, "database_bytes") > 0, "{first}");
            ensure!(first["usage"]["documents"] == 0, "{first}");
            ensure!(
                usage(&second, "api_requests") > usage(&first, "api_requests"),
                "{first} then {second}"
            );
            let first_len = serde_json::to_string(&first)?.len() as u64;
            ensure!(
                usage(&second, "bytes_sent") >= usage(&first, "bytes_sent") + first_len,
                "{first} ({first_len} bytes) then {second}"
            );
            let metrics = client
                .get(format!("{base}/metrics"))
                .send()
                .await?
                .text()
                .await?;
            ensure!(
                metrics.contains(&format!("mono_parser_processed_block {lib}")),
                "{metrics}"
            );

            // New blocks are followed and reported.
            produce(&devnet, 7)?;
            let lib = devnet.node().read(|chain| chain.lib_num());
            poll(&client, &format!("{base}/status"), |_, body| {
                body["synced_block"] == lib
            })
            .await?;
            devnet.stop().await?;
            anyhow::Ok(())
        }
        .await;
        terminate(&child)?;
        let status = wait_exit(child).await?;
        outcome?;
        ensure!(status.code() == Some(0), "SIGTERM exit: {status}");
        Ok(())
    }
);

/// Two `mono serve` on one PostgreSQL database: exactly one follows while both serve; when the
/// follower is killed with SIGKILL the other takes over (#14).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_follower_per_database_and_takeover_after_sigkill() -> anyhow::Result<()> {
    with_database(Backend::Postgres, |db: TestDb| async move {
        let (_data, _storage, devnet) = restartable_devnet().await?;
        produce(&devnet, 5)?;
        let ports = [free_loopback_port()?, free_loopback_port()?];
        let mut children = Vec::new();
        for port in ports {
            let mut command = mono_following(&devnet, "serve", &db.url);
            command.args(["--listen", &port.to_string()]);
            children.push(Some(command.spawn()?));
        }
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()?;
        let urls = ports.map(|port| format!("http://{port}/status"));
        let outcome = async {
            // Both answer; exactly one follows, and it brings the shared store up to the chain.
            let lib = devnet.node().read(|chain| chain.lib_num());
            let until = Instant::now() + DEADLINE;
            let holder = loop {
                let a = get(&client, &urls[0])
                    .await
                    .map(|(_, body)| body)
                    .unwrap_or(Value::Null);
                let b = get(&client, &urls[1])
                    .await
                    .map(|(_, body)| body)
                    .unwrap_or(Value::Null);
                ensure!(
                    !(a["follower"] == true && b["follower"] == true),
                    "two followers: {a} {b}"
                );
                let synced = |body: &Value| body["synced_block"] == lib;
                if a["follower"] == true && b["follower"] == false && synced(&a) && synced(&b) {
                    break 0;
                }
                if b["follower"] == true && a["follower"] == false && synced(&a) && synced(&b) {
                    break 1;
                }
                ensure!(
                    Instant::now() < until,
                    "no single follower in {DEADLINE:?}: {a} {b}"
                );
                tokio::time::sleep(POLL).await;
            };
            let standby = 1 - holder;
            // The standby reads the chain's position itself, so it is ready on the shared store.
            poll(&client, &urls[standby], |_, body| body["ready"] == true).await?;

            // SIGKILL: no chance to release anything; the standby takes over.
            if let Some(mut killed) = children[holder].take() {
                killed.kill()?;
                killed.wait()?;
            }
            poll(&client, &urls[standby], |_, body| body["follower"] == true).await?;
            produce(&devnet, 5)?;
            let lib = devnet.node().read(|chain| chain.lib_num());
            poll(&client, &urls[standby], |_, body| {
                body["synced_block"] == lib
            })
            .await?;
            anyhow::Ok(standby)
        }
        .await;
        let mut exits = Vec::new();
        for child in children.iter_mut().filter_map(Option::take) {
            terminate(&child)?;
            exits.push(wait_exit(child).await?);
        }
        devnet.stop().await?;
        outcome?;
        ensure!(
            exits.iter().all(|status| status.code() == Some(0)),
            "SIGTERM exits: {exits:?}"
        );
        Ok(())
    })
    .await
}

/// A loopback address with a port that was free a moment ago.
fn free_loopback_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// `GET url`: the status code and the body as JSON (`null` when it is not JSON).
async fn get(client: &reqwest::Client, url: &str) -> anyhow::Result<(u16, Value)> {
    let response = client.get(url).send().await?;
    let code = response.status().as_u16();
    let text = response.text().await?;
    Ok((code, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// Polls `url` until `accept` holds for its answer, failing after [`DEADLINE`]; connection
/// errors count as not yet.
async fn poll(
    client: &reqwest::Client,
    url: &str,
    accept: impl Fn(u16, &Value) -> bool,
) -> anyhow::Result<(u16, Value)> {
    let until = Instant::now() + DEADLINE;
    loop {
        if let Ok((code, body)) = get(client, url).await
            && accept(code, &body)
        {
            return Ok((code, body));
        }
        ensure!(
            Instant::now() < until,
            "{url} not as expected in {DEADLINE:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}
