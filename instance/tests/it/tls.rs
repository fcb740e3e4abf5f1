//! Chain endpoints behind TLS, as real ones sit behind TLS proxies: the follower reads `wss://`
//! SHiP and the `https://` Chain API through a TLS-terminating proxy in front of the devnet,
//! trusting a private CA given with `ca_file`; and connections that can never succeed (an
//! untrusted certificate, TLS to a plain endpoint, a node of another chain, a malformed URL) stop
//! following with an error instead of being retried forever.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use mono_instance::antelope::checksum::Checksum256;
use mono_instance::chain::api::{ApiOptions, ChainApi};
use mono_instance::chain::tls::TlsRoots;
use mono_instance::devnet::{DevnetConfig, ProductionMode, RunningDevnet, Storage, start};
use mono_instance::parser::{Error, Filter, Metrics, ParserConfig, Stopped, follow};
use mono_instance::store::Store;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::support::{Backend, with_database};

const DEADLINE: Duration = Duration::from_secs(60);

/// A private CA and a certificate it issued for `localhost`.
struct Pki {
    ca_pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
}

fn pki() -> anyhow::Result<Pki> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key)?;
    let server_key = KeyPair::generate()?;
    let server = CertificateParams::new(vec!["localhost".to_owned()])?
        .signed_by(&server_key, &rcgen::Issuer::new(ca_params, ca_key))?;
    Ok(Pki {
        ca_pem: ca.pem(),
        server_chain: vec![server.der().clone()],
        server_key: PrivatePkcs8KeyDer::from(server_key.serialize_der()).into(),
    })
}

/// Terminates TLS on a loopback port and forwards each connection to `target`; runs until the
/// test's runtime ends.
async fn tls_proxy(pki: &Pki, target: SocketAddr) -> anyhow::Result<SocketAddr> {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(pki.server_chain.clone(), pki.server_key.clone_key())?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut client) = acceptor.accept(client).await else {
                    return;
                };
                if let Ok(mut server) = TcpStream::connect(target).await {
                    let _closed = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    Ok(addr)
}

async fn devnet() -> anyhow::Result<RunningDevnet> {
    let loopback: SocketAddr = "127.0.0.1:0".parse()?;
    Ok(start(DevnetConfig {
        http: loopback,
        ship: loopback,
        storage: Storage::Ephemeral,
        production: ProductionMode::Manual,
        block_interval: Duration::from_millis(500),
        lib_lag: 1,
        bootstrap: None,
    })
    .await?)
}

fn port(url: &str) -> anyhow::Result<SocketAddr> {
    let authority = url
        .split("://")
        .nth(1)
        .context("a URL")?
        .trim_end_matches('/');
    Ok(authority.parse()?)
}

fn config(devnet: &RunningDevnet, ship_url: &str, chain_api_url: &str) -> ParserConfig {
    let ready = devnet.ready();
    let mut config = ParserConfig::new(
        ship_url,
        chain_api_url,
        Filter::new(&ready.contracts(), ready.coopname),
    );
    config.reconnect_delay = Duration::from_millis(20);
    config
}

/// Follows under the deadline; a follower that keeps retrying fails the test by timing out.
async fn follow_once(url: &str, config: &ParserConfig) -> anyhow::Result<Result<Stopped, Error>> {
    let store = Store::open(url).await?;
    let (_stop, shutdown) = watch::channel(false);
    let outcome = tokio::time::timeout(
        DEADLINE,
        follow(&store, config, &Metrics::default(), shutdown),
    )
    .await
    .context("the follower did not stop by itself")?;
    store.close().await;
    Ok(outcome)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_follower_reads_wss_and_https_through_a_private_ca() -> anyhow::Result<()> {
    with_database(Backend::Sqlite, |db| async move {
        let devnet = devnet().await?;
        for _ in 0..3 {
            devnet.node().produce()?;
        }
        let lib = devnet.node().read(|chain| chain.lib_num());
        let pki = pki()?;
        let dir = tempfile::tempdir()?;
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &pki.ca_pem)?;
        let ship = tls_proxy(&pki, port(&devnet.ready().ship)?).await?;
        let http = tls_proxy(&pki, port(&devnet.ready().http)?).await?;
        let wss = format!("wss://localhost:{}", ship.port());
        let https = format!("https://localhost:{}", http.port());

        let roots = TlsRoots::new(Some(&ca_file))?;
        let api = ChainApi::with_roots(&https, ApiOptions::default(), &roots)?;
        ensure!(api.get_info().await?.chain_id == devnet.ready().chain_id);

        let mut trusted = config(&devnet, &wss, &https);
        trusted.ca_file = Some(ca_file.clone());
        trusted.chain_id = Some(devnet.ready().chain_id);
        trusted.stop_after = Some(lib);
        let stopped = follow_once(&db.url, &trusted).await??;
        ensure!(stopped == Stopped::Reached(lib), "{stopped:?}");

        // Without the CA the certificate is untrusted: a permanent failure, not a retry loop.
        let untrusted = config(&devnet, &wss, &https);
        let failure = follow_once(&db.url, &untrusted).await?;
        ensure!(
            failure.as_ref().is_err_and(Error::is_fatal),
            "an untrusted certificate stops following: {failure:?}"
        );

        // TLS to an endpoint that does not speak it.
        let plain = format!("wss://localhost:{}", port(&devnet.ready().ship)?.port());
        let mut no_tls = config(&devnet, &plain, &https);
        no_tls.ca_file = Some(ca_file);
        let failure = follow_once(&db.url, &no_tls).await?;
        ensure!(
            failure.as_ref().is_err_and(Error::is_fatal),
            "TLS to a plain endpoint stops following: {failure:?}"
        );
        devnet.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_of_another_chain_stops_following() -> anyhow::Result<()> {
    with_database(Backend::Sqlite, |db| async move {
        let devnet = devnet().await?;
        let ready = devnet.ready();
        let mut other_chain = config(&devnet, &ready.ship, &ready.http);
        other_chain.chain_id = Some(Checksum256::new([0xab; 32]));
        let failure = follow_once(&db.url, &other_chain).await?;
        ensure!(
            matches!(failure, Err(Error::WrongChain { .. })),
            "{failure:?}"
        );
        let store = Store::open(&db.url).await?;
        ensure!(store.cursor().await?.is_none(), "nothing was stored");
        store.close().await;
        devnet.stop().await?;
        Ok(())
    })
    .await
}

#[test]
fn malformed_chain_urls_and_ids_are_bad_input() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let database = format!("sqlite://{}", dir.path().join("mono.db").display());
    let cases: [(&str, &str, &[&str]); 4] = [
        ("http://127.0.0.1:8070", "http://127.0.0.1:8888", &[]),
        ("ws://127.0.0.1:8070", "ftp://127.0.0.1:8888", &[]),
        (
            "ws://127.0.0.1:8070",
            "http://127.0.0.1:8888",
            &["--chain-id", "xyz"],
        ),
        (
            "wss://127.0.0.1:8070",
            "https://127.0.0.1:8888",
            &["--chain-ca-file", "/nonexistent/ca.pem"],
        ),
    ];
    for (ship, chain_api, extra) in cases {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_mono"))
            .args(["sync", "--database", &database, "--coopname", "voskhod"])
            .args(["--ship", ship, "--chain-api", chain_api])
            .args(extra)
            .output()?;
        let code = output.status.code();
        let stderr = String::from_utf8_lossy(&output.stderr);
        ensure!(
            code == Some(2),
            "{ship} {chain_api} {extra:?}: {code:?} {stderr}"
        );
        ensure!(
            stderr.trim().lines().count() == 1,
            "one error line: {stderr}"
        );
    }
    Ok(())
}
