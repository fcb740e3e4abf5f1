//! `fake-kube`: runs the in-memory fake Kubernetes API server for manual use and local
//! development, printing its URL; never a real cluster.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use mono_fake_kube::{FakeKube, Options};

/// Serve a fake Kubernetes API over plain HTTP until interrupted.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Config {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "MONO_FAKE_KUBE_LISTEN", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Also write a kubeconfig selecting the server to this file.
    #[arg(long, env = "MONO_FAKE_KUBE_KUBECONFIG")]
    kubeconfig: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let config = Config::parse();
    let fake = FakeKube::start_with(Options {
        listen: config.listen,
        ..Options::default()
    })
    .await
    .with_context(|| format!("starting on {}", config.listen))?;
    if let Some(path) = &config.kubeconfig {
        fake.write_kubeconfig(path)
            .with_context(|| format!("writing kubeconfig {}", path.display()))?;
    }
    println!("{}", fake.url());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for interrupt")?;
    Ok(())
}
