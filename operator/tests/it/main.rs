//! End-to-end tests of the `mono-operator` binary against the fake API server: each test
//! starts a fake cluster, installs the CRDs, runs the real operator process with a kubeconfig
//! pointing at the fake, plays the kubelet, and asserts only through the API state.

mod admission;
mod annotations;
mod bootstrap;
mod convergence;
mod deletion;
mod duplicate;
mod egress;
mod export;
mod guardrails;
mod immutable;
mod migration;
mod restart;
mod steady;
mod suspend;
mod upgrade;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::{Client, ResourceExt};
use mono_crds::Cooperative;
use mono_fake_kube::{FakeKube, Kubelet, User};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

/// How long any convergence may take before a test fails.
const DEADLINE: Duration = Duration::from_secs(60);
/// The operator's command line: one replica and metrics on a free loopback port.
const OPERATOR_ARGS: [&str; 4] = [
    "run",
    "--leader-election=false",
    "--metrics-addr",
    "127.0.0.1:0",
];
/// What most tests add: no probing of instance pods, which never run against the fake.
const NO_PROBES: [&str; 2] = ["--probe-instances", "false"];
/// The operator's service account as the chart installs it (release `mono` in `mono-system`),
/// which the chart's admission policies exempt.
const OPERATOR_USER: &str = "system:serviceaccount:mono-system:mono-mono-operator";
/// A chain id of the right shape; the instance never runs, so no chain is contacted.
const CHAIN_ID: &str = "6e37f9ac0f0ea717bfbed3ef2e2bd7e0ba0ee9d4d0f57a1f0d1e8e1e2a5b8d2c";

/// A fake cluster with the CRDs installed, a kubelet, and the operator process.
struct Cluster {
    fake: FakeKube,
    client: Client,
    kubelet: Kubelet,
    operator: Option<Child>,
    kubeconfig: PathBuf,
    log: PathBuf,
    starts: u32,
    extra_args: Vec<String>,
}

impl Cluster {
    /// Starts the fake, installs the CRDs and starts the operator, which probes no instance.
    async fn start() -> Self {
        Self::start_with(&NO_PROBES).await
    }

    /// Starts the fake, installs the CRDs and starts the operator with `extra_args`.
    async fn start_with(extra_args: &[&str]) -> Self {
        let fake = FakeKube::start().await.expect("fake API server starts");
        let client = fake.client().expect("client");
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for crd in mono_crds::crds() {
            crds.create(&PostParams::default(), &crd)
                .await
                .expect("install CRD");
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("operator-it-{}", fake.addr().port()));
        std::fs::create_dir_all(&dir).expect("test directory");
        let kubeconfig = dir.join("kubeconfig");
        let operator = User::new(
            OPERATOR_USER,
            &[
                "system:serviceaccounts",
                "system:serviceaccounts:mono-system",
            ],
        );
        fake.write_kubeconfig_as(&kubeconfig, operator)
            .expect("kubeconfig");
        let kubelet = fake.kubelet();
        let mut cluster = Self {
            fake,
            client,
            kubelet,
            operator: None,
            kubeconfig,
            log: dir.join("operator.log"),
            starts: 0,
            extra_args: extra_args.iter().map(|&arg| arg.to_owned()).collect(),
        };
        cluster.start_operator();
        cluster
    }

    /// Spawns the operator process; its output goes to a log quoted when a wait fails.
    fn start_operator(&mut self) {
        self.starts += 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("operator log");
        let stderr = log.try_clone().expect("operator log handle");
        let child = Command::new(env!("CARGO_BIN_EXE_mono-operator"))
            .args(OPERATOR_ARGS)
            .args(&self.extra_args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .expect("operator starts");
        self.operator = Some(child);
    }

    /// Kills the operator at once (SIGKILL), as a crash or eviction would.
    async fn kill_operator(&mut self) {
        if let Some(mut child) = self.operator.take() {
            child.kill().await.expect("operator killed");
        }
    }

    /// Creates a namespace and a Cooperative in it.
    async fn create_cooperative(&self, namespace: &str, spec: Value) -> Cooperative {
        self.create_namespace(namespace).await;
        self.create_in(namespace, spec).await
    }

    /// Creates a namespace.
    async fn create_namespace(&self, namespace: &str) {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(namespace.to_owned()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .expect("namespace");
    }

    /// Creates a Cooperative in an existing namespace.
    async fn create_in(&self, namespace: &str, spec: Value) -> Cooperative {
        let coop: Cooperative = serde_json::from_value(spec).expect("cooperative spec");
        let api: Api<Cooperative> = Api::namespaced(self.client.clone(), namespace);
        api.create(&PostParams::default(), &coop)
            .await
            .expect("create cooperative")
    }

    /// Creates the PersistentVolumeClaim `name` in `namespace`, as staff restoring an export
    /// volume would.
    async fn create_claim(&self, namespace: &str, name: &str) {
        let claims: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), namespace);
        let claim: PersistentVolumeClaim = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        }))
        .expect("claim");
        claims
            .create(&PostParams::default(), &claim)
            .await
            .expect("create the claim");
    }

    /// The Cooperative API of a namespace.
    fn cooperatives(&self, namespace: &str) -> Api<Cooperative> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Waits until `check` holds on the fake's state, failing the test with `what` and the
    /// operator's log after [`DEADLINE`].
    async fn eventually<T>(&mut self, what: &str, check: impl FnMut(&FakeKube) -> Option<T>) -> T {
        if let Some(found) = self.fake.wait_for(DEADLINE, check).await {
            return found;
        }
        let exited = match self.operator.as_mut().map(Child::try_wait) {
            Some(Ok(Some(status))) => format!("the operator exited with {status}"),
            Some(_) => "the operator is running".to_owned(),
            None => "the operator is stopped".to_owned(),
        };
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        panic!(
            "timed out after {DEADLINE:?} waiting for {what}; {exited} ({} starts); operator log tail:\n{}",
            self.starts,
            tail.join("\n")
        );
    }

    /// The value of the counter `name` on the operator's `/metrics`, read from the address its
    /// log says it serves on.
    async fn metric(&mut self, name: &str) -> u64 {
        let log = self.log.clone();
        let address = self
            .eventually("the operator to log its metrics address", move |_| {
                metrics_address(&log)
            })
            .await;
        let mut stream = tokio::net::TcpStream::connect(&address)
            .await
            .expect("connect to the operator's /metrics");
        stream
            .write_all(b"GET /metrics HTTP/1.0\r\nHost: operator\r\n\r\n")
            .await
            .expect("request /metrics");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .await
            .expect("read /metrics");
        let prefix = format!("{name} ");
        response
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no counter {name} in\n{response}"))
    }

    /// Waits until the Cooperative is Ready for its current generation and returns it.
    async fn ready(&mut self, namespace: &str, name: &str) -> Cooperative {
        let what = format!("cooperative {namespace}/{name} to be Ready at its generation");
        self.eventually(&what, |fake| {
            fake.get::<Cooperative>(Some(namespace), name)
                .filter(is_ready)
        })
        .await
    }
}

/// The `/metrics` address in the operator's log (of its latest start).
fn metrics_address(log: &Path) -> Option<String> {
    let log = std::fs::read_to_string(log).ok()?;
    let line = log
        .lines()
        .rev()
        .find(|line| line.contains("serving /metrics"))?;
    let address = line.split("addr=").nth(1)?;
    Some(
        address
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
            .collect(),
    )
}

/// A Cooperative with the given version and deletion policy.
fn cooperative(name: &str, version: &str, deletion_policy: &str) -> Value {
    json!({
        "apiVersion": "mono.coopenomics.io/v1alpha1",
        "kind": "Cooperative",
        "metadata": {"name": name},
        "spec": {
            "coopname": name,
            "chain": {"apiUrl": "http://127.0.0.1:8888", "shipUrl": "ws://127.0.0.1:8080", "chainId": CHAIN_ID},
            "instance": {"version": version},
            "domain": {"host": format!("{name}.mono.test")},
            "deletionPolicy": deletion_policy,
        },
    })
}

/// A condition of a Cooperative's status.
fn condition<'c>(coop: &'c Cooperative, type_: &str) -> Option<&'c Condition> {
    coop.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
}

/// Whether the status describes the current generation and says Ready.
fn is_ready(coop: &Cooperative) -> bool {
    let observed = coop.status.as_ref().and_then(|s| s.observed_generation);
    observed == coop.metadata.generation
        && condition(coop, "Ready").is_some_and(|c| c.status == "True")
}

/// Every object of a kind in a namespace, as JSON.
fn objects(fake: &FakeKube, group: &str, plural: &str, namespace: &str) -> Vec<Value> {
    fake.list_values(group, plural, Some(namespace))
}

/// The name of a JSON object.
fn name_of(object: &Value) -> String {
    object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The image of the first container of the Deployment in a namespace, which must be the only
/// one.
fn deployment_image(fake: &FakeKube, namespace: &str) -> Option<String> {
    let deployments = objects(fake, "apps", "deployments", namespace);
    assert!(
        deployments.len() <= 1,
        "one instance Deployment per namespace, got {:?}",
        deployments.iter().map(name_of).collect::<Vec<_>>()
    );
    deployments.first()?["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .map(str::to_owned)
}

/// The uid of a Cooperative, for owner-reference checks.
fn uid(coop: &Cooperative) -> String {
    coop.uid().unwrap_or_default()
}

/// Whether a Job as JSON has the condition `type_` (`Complete` or `Failed`) set to true.
fn job_finished(job: &Value, type_: &str) -> bool {
    job["status"]["conditions"]
        .as_array()
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c["type"] == type_ && c["status"] == "True")
        })
}
