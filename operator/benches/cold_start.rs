//! Benchmark: how long the operator takes to bring 1,000 Cooperatives in 1,000 namespaces to
//! Ready from a cold start against the fake API server (budget: under 60 s on 2 cores).
//!
//! Every Cooperative exists before the operator starts; a simulated kubelet makes workloads
//! ready and Jobs complete as soon as they appear. The clock runs from the operator's spawn to
//! the moment every Cooperative reports Ready for its generation.
//!
//! `cargo bench -p mono-operator --bench cold_start [-- COUNT]`

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta, PostParams};
use mono_crds::Cooperative;
use mono_fake_kube::{FakeKube, Options};
use serde_json::{Value, json};

/// Cooperatives created when no count is given.
const DEFAULT_COUNT: usize = 1_000;
/// Give up after this long; far above the budget so a slow run still reports its number.
const LIMIT: Duration = Duration::from_secs(600);
/// Concurrent create requests while seeding.
const SEED_CONCURRENCY: usize = 16;
/// The operator's command line: one replica, metrics on a free loopback port, and no probing
/// of instance pods, which never run against the fake.
const OPERATOR_ARGS: [&str; 6] = [
    "run",
    "--leader-election=false",
    "--metrics-addr",
    "127.0.0.1:0",
    "--probe-instances",
    "false",
];
const CHAIN_ID: &str = "6e37f9ac0f0ea717bfbed3ef2e2bd7e0ba0ee9d4d0f57a1f0d1e8e1e2a5b8d2c";

fn main() -> anyhow::Result<()> {
    let count = match std::env::args().skip(1).find(|arg| !arg.starts_with('-')) {
        Some(arg) => arg
            .parse()
            .with_context(|| format!("parsing cooperative count {arg:?}"))?,
        None => DEFAULT_COUNT,
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting runtime")?
        .block_on(run(count))
}

/// Coopname number `idx`: Antelope names allow only a-z and 1-5, so digits are spelled in base 5.
fn coopname(idx: usize) -> String {
    let mut digits = String::new();
    let mut rest = idx;
    for _ in 0..6 {
        digits.insert(0, char::from(b'1' + u8::try_from(rest % 5).unwrap_or(0)));
        rest /= 5;
    }
    format!("bench{digits}")
}

fn cooperative(name: &str) -> Value {
    json!({
        "apiVersion": "mono.coopenomics.io/v1alpha1",
        "kind": "Cooperative",
        "metadata": {"name": name},
        "spec": {
            "coopname": name,
            "chain": {"apiUrl": "http://127.0.0.1:8888", "shipUrl": "ws://127.0.0.1:8080", "chainId": CHAIN_ID},
            "instance": {"version": "1.0.0"},
        },
    })
}

fn is_ready(coop: &Value) -> bool {
    let status = &coop["status"];
    status["observedGeneration"] == coop["metadata"]["generation"]
        && status["conditions"].as_array().is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

async fn run(count: usize) -> anyhow::Result<()> {
    let fake = FakeKube::start_with(Options {
        history_per_type: 200_000,
        ..Options::default()
    })
    .await
    .context("starting the fake API server")?;
    let client = fake.client().context("client")?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in mono_crds::crds() {
        crds.create(&PostParams::default(), &crd)
            .await
            .context("installing CRDs")?;
    }
    let _kubelet = fake.kubelet();
    futures::stream::iter(0..count)
        .map(|idx| {
            let client = client.clone();
            async move {
                let name = coopname(idx);
                let namespace = format!("coop-{name}");
                let ns = Namespace {
                    metadata: ObjectMeta {
                        name: Some(namespace.clone()),
                        ..ObjectMeta::default()
                    },
                    ..Namespace::default()
                };
                Api::<Namespace>::all(client.clone())
                    .create(&PostParams::default(), &ns)
                    .await?;
                let coop: Cooperative =
                    serde_json::from_value(cooperative(&name)).map_err(kube::Error::SerdeError)?;
                Api::<Cooperative>::namespaced(client, &namespace)
                    .create(&PostParams::default(), &coop)
                    .await?;
                Ok::<_, kube::Error>(())
            }
        })
        .buffer_unordered(SEED_CONCURRENCY)
        .try_collect::<()>()
        .await
        .context("creating cooperatives")?;

    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cold-start");
    std::fs::create_dir_all(&dir).context("creating the benchmark directory")?;
    let kubeconfig = dir.join("kubeconfig");
    fake.write_kubeconfig(&kubeconfig)
        .context("writing kubeconfig")?;
    let log =
        std::fs::File::create(dir.join("operator.log")).context("creating the operator log")?;

    let started = Instant::now();
    let mut operator = tokio::process::Command::new(env!("CARGO_BIN_EXE_mono-operator"))
        .args(OPERATOR_ARGS)
        .env("KUBECONFIG", &kubeconfig)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("starting the operator")?;
    let ready = fake
        .wait_for(LIMIT, |fake| {
            let ready = fake.count("mono.coopenomics.io", "cooperatives", None, is_ready);
            (ready == count).then_some(ready)
        })
        .await;
    let elapsed = started.elapsed();
    operator.kill().await.context("stopping the operator")?;
    let Some(ready) = ready else {
        let ready = fake.count("mono.coopenomics.io", "cooperatives", None, is_ready);
        bail!(
            "only {ready} of {count} cooperatives Ready after {LIMIT:?}; see {}",
            dir.join("operator.log").display()
        );
    };
    let children: usize = [
        ("", "secrets"),
        ("apps", "statefulsets"),
        ("apps", "deployments"),
        ("batch", "jobs"),
        ("", "services"),
    ]
    .iter()
    .map(|(group, plural)| fake.list_values(group, plural, None).len())
    .sum();
    println!(
        "cold start: {ready} cooperatives Ready in {:.2} s ({:.1} per second); {children} secrets, statefulsets, deployments, jobs and services; {} API writes",
        elapsed.as_secs_f64(),
        ready as f64 / elapsed.as_secs_f64(),
        fake.resource_version(),
    );
    Ok(())
}
