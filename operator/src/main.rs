//! `mono-operator`: command line of the MONO hosting control plane.
//!
//! `run` starts the controllers with `/metrics` and `/healthz`, `crd` prints the
//! CustomResourceDefinitions and `render -f FILE` prints the children of a Cooperative
//! without a cluster. Everything else lives in the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams};
use kube::runtime::events::{Recorder, Reporter};
use mono_crds::Cooperative;
use mono_operator::children::egress::{Cidr, EgressConfig, EgressProxy, parse_selector};
use mono_operator::children::{self, ChildConfig, ChildKind, MANAGER};
use mono_operator::guardrails::Guardrails;
use mono_operator::leader::{self, LeaderConfig};
use mono_operator::metrics::Metrics;
use mono_operator::reconcile::{self, ControllerConfig};
use mono_operator::telemetry::{self, LogFormat};
use mono_operator::{crd_yaml, export};
use tokio::sync::watch;
use tracing::{error, info, warn};

/// Exit code when the input (flags, files) is wrong.
const EXIT_INPUT: u8 = 1;
/// Exit code when the cluster cannot be reached or refuses the operator.
const EXIT_CLUSTER: u8 = 3;
/// Exit code when this replica lost leadership and must restart to campaign again.
const EXIT_LEADERSHIP_LOST: u8 = 4;

#[derive(Debug, Parser)]
#[command(
    name = "mono-operator",
    version,
    about = "Kubernetes operator of MONO cooperative instances"
)]
struct Cli {
    /// Log format: readable text or JSON lines.
    #[arg(long, env = "MONO_OPERATOR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the controllers against the cluster of KUBECONFIG (or the in-cluster account).
    Run(Box<RunArgs>),
    /// Print the CustomResourceDefinitions as multi-document YAML.
    Crd,
    /// Print every child object of a Cooperative as multi-document YAML, without a cluster.
    Render(Box<RenderArgs>),
}

#[derive(Debug, Args)]
struct ChildArgs {
    /// Image repository of instances; the tag is the instance version.
    #[arg(
        long,
        env = "MONO_OPERATOR_INSTANCE_IMAGE",
        default_value = "ghcr.io/coopenomics/mono"
    )]
    instance_image: String,
    /// Digests of instance images by version, comma-separated `VERSION=sha256:HEX`; an
    /// instance of a listed version is pulled as `IMAGE:VERSION@DIGEST`.
    #[arg(long, env = "MONO_OPERATOR_INSTANCE_DIGESTS", value_delimiter = ',')]
    instance_digests: Vec<String>,
    /// Instance version (image tag) for Cooperatives that name none.
    #[arg(long, env = "MONO_OPERATOR_INSTANCE_VERSION", default_value = env!("CARGO_PKG_VERSION"))]
    instance_version: String,
    /// PostgreSQL image of builtin databases; `IMAGE:TAG@sha256:HEX` pins it by digest.
    #[arg(
        long,
        env = "MONO_OPERATOR_POSTGRES_IMAGE",
        default_value = "docker.io/library/postgres:17.6"
    )]
    postgres_image: String,
    /// Namespace of the ingress controller allowed to reach instances.
    #[arg(
        long,
        env = "MONO_OPERATOR_INGRESS_NAMESPACE",
        default_value = "ingress-nginx"
    )]
    ingress_namespace: String,
    /// Namespace of the monitoring stack allowed to scrape instances.
    #[arg(
        long,
        env = "MONO_OPERATOR_MONITORING_NAMESPACE",
        default_value = "monitoring"
    )]
    monitoring_namespace: String,
    /// Namespace of the CloudNativePG operator.
    #[arg(
        long,
        env = "MONO_OPERATOR_CNPG_NAMESPACE",
        default_value = "cnpg-system"
    )]
    cnpg_namespace: String,
    /// Namespace the operator runs in, allowed to read instances' `/status`.
    #[arg(long, env = "MONO_OPERATOR_NAMESPACE", default_value = "mono-system")]
    operator_namespace: String,
    /// CIDRs the chain endpoints live in, comma-separated; instances may connect to them on
    /// their chain URLs' ports (and the SMTP ports when they send e-mail), and nowhere else
    /// outside the cluster. None by default.
    #[arg(long, env = "MONO_OPERATOR_CHAIN_CIDRS", value_delimiter = ',')]
    chain_cidrs: Vec<String>,
    /// The cluster's pod and service CIDRs, comma-separated; cut out of every chain CIDR so
    /// instances never reach other tenants' pods.
    #[arg(long, env = "MONO_OPERATOR_CLUSTER_CIDRS", value_delimiter = ',')]
    cluster_cidrs: Vec<String>,
    /// Namespace of the egress proxy instances may reach their chain through.
    #[arg(long, env = "MONO_OPERATOR_EGRESS_PROXY_NAMESPACE")]
    egress_proxy_namespace: Option<String>,
    /// Labels of the egress proxy's pods (`key=value[,key=value]`); all pods of its namespace
    /// when empty.
    #[arg(long, env = "MONO_OPERATOR_EGRESS_PROXY_SELECTOR", default_value = "")]
    egress_proxy_selector: String,
    /// Ports of the egress proxy, comma-separated.
    #[arg(
        long,
        env = "MONO_OPERATOR_EGRESS_PROXY_PORTS",
        value_delimiter = ',',
        default_value = "3128"
    )]
    egress_proxy_ports: Vec<u16>,
    /// Namespace of the cluster DNS.
    #[arg(
        long,
        env = "MONO_OPERATOR_DNS_NAMESPACE",
        default_value = "kube-system"
    )]
    dns_namespace: String,
    /// Labels of the cluster DNS pods (`key=value[,key=value]`).
    #[arg(
        long,
        env = "MONO_OPERATOR_DNS_SELECTOR",
        default_value = "k8s-app=kube-dns"
    )]
    dns_selector: String,
}

/// Whether to create ServiceMonitors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ServiceMonitorMode {
    /// When the ServiceMonitor kind exists at start-up.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    children: ChildArgs,
    /// Address of the `/metrics` and `/healthz` server.
    #[arg(
        long,
        env = "MONO_OPERATOR_METRICS_ADDR",
        default_value = "0.0.0.0:8080"
    )]
    metrics_addr: SocketAddr,
    /// Take part in leader election; turn off only when a single replica runs.
    #[arg(long, env = "MONO_OPERATOR_LEADER_ELECTION", default_value_t = true, action = ArgAction::Set)]
    leader_election: bool,
    /// Namespace of the leader election Lease.
    #[arg(
        long,
        env = "MONO_OPERATOR_LEASE_NAMESPACE",
        default_value = "mono-system"
    )]
    lease_namespace: String,
    /// Name of the leader election Lease.
    #[arg(
        long,
        env = "MONO_OPERATOR_LEASE_NAME",
        default_value = "mono-operator"
    )]
    lease_name: String,
    /// Identity of this replica (its pod name); the host name when absent.
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Watch only this namespace instead of the whole cluster.
    #[arg(long, env = "MONO_OPERATOR_WATCH_NAMESPACE")]
    watch_namespace: Option<String>,
    /// Read each ready instance's `/status` for the Synced condition.
    #[arg(long, env = "MONO_OPERATOR_PROBE_INSTANCES", default_value_t = true, action = ArgAction::Set)]
    probe_instances: bool,
    /// Seconds between two reads of each ready instance's `/status`.
    #[arg(long, env = "MONO_OPERATOR_PROBE_INTERVAL", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    probe_interval: u64,
    /// `host:port` of an instance's `/status`; `{name}` and `{namespace}` stand for the
    /// Cooperative's. Change it only when the operator runs outside the cluster.
    #[arg(long, env = "MONO_OPERATOR_STATUS_ADDRESS", default_value = reconcile::DEFAULT_STATUS_ADDRESS)]
    status_address: String,
    #[command(flatten)]
    guardrails: GuardrailArgs,
    /// Most Cooperatives upgrading (migrating and rolling out) at once, as when the default
    /// version changes; 0: no limit.
    #[arg(
        long,
        env = "MONO_OPERATOR_MAX_CONCURRENT_UPGRADES",
        default_value_t = 10
    )]
    max_concurrent_upgrades: u16,
    /// Most Cooperatives reconciled at once (0: no limit).
    #[arg(long, env = "MONO_OPERATOR_CONCURRENCY", default_value_t = 64)]
    concurrency: u16,
    /// Create ServiceMonitors: auto (when the kind exists), always or never.
    #[arg(long, env = "MONO_OPERATOR_SERVICE_MONITOR", value_enum, default_value_t = ServiceMonitorMode::Auto)]
    service_monitor: ServiceMonitorMode,
}

/// What hosting staff allow tenants to ask for; an empty list allows anything of its kind.
#[derive(Debug, Args)]
struct GuardrailArgs {
    /// DNS suffixes a Cooperative's `domain.host` must be under, comma-separated.
    #[arg(
        long,
        env = "MONO_OPERATOR_ALLOWED_HOST_SUFFIXES",
        value_delimiter = ','
    )]
    allowed_host_suffixes: Vec<String>,
    /// cert-manager ClusterIssuers a Cooperative may name, comma-separated.
    #[arg(
        long,
        env = "MONO_OPERATOR_ALLOWED_CLUSTER_ISSUERS",
        value_delimiter = ','
    )]
    allowed_cluster_issuers: Vec<String>,
    /// URL prefixes both chain URLs must start with, comma-separated.
    #[arg(
        long,
        env = "MONO_OPERATOR_ALLOWED_CHAIN_ENDPOINTS",
        value_delimiter = ','
    )]
    allowed_chain_endpoints: Vec<String>,
    /// Instance versions a Cooperative may name, comma-separated.
    #[arg(long, env = "MONO_OPERATOR_ALLOWED_VERSIONS", value_delimiter = ',')]
    allowed_versions: Vec<String>,
}

impl GuardrailArgs {
    fn guardrails(&self) -> Guardrails {
        let clean = |list: &[String]| {
            list.iter()
                .map(|item| item.trim().to_owned())
                .filter(|item| !item.is_empty())
                .collect()
        };
        Guardrails {
            host_suffixes: clean(&self.allowed_host_suffixes),
            cluster_issuers: clean(&self.allowed_cluster_issuers),
            chain_endpoints: clean(&self.allowed_chain_endpoints),
            versions: clean(&self.allowed_versions),
        }
    }
}

#[derive(Debug, Args)]
struct RenderArgs {
    /// Cooperative manifest (YAML); its namespace defaults to `default`.
    #[arg(short = 'f', long = "filename")]
    file: PathBuf,
    #[command(flatten)]
    children: ChildArgs,
    /// Include the ServiceMonitor.
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    service_monitor: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    let result = match cli.command {
        Command::Crd => print_crds(),
        Command::Render(args) => render(&args),
        Command::Run(args) => match tokio::runtime::Runtime::new() {
            Ok(runtime) => runtime.block_on(run(*args)),
            Err(err) => Err(Failure::input(
                anyhow!(err).context("starting the async runtime"),
            )),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            error!("{:#}", failure.error);
            eprintln!("mono-operator: {:#}", failure.error);
            ExitCode::from(failure.code)
        }
    }
}

/// An error with the exit code of its class.
struct Failure {
    error: anyhow::Error,
    code: u8,
}

impl Failure {
    fn input(error: anyhow::Error) -> Failure {
        Failure {
            error,
            code: EXIT_INPUT,
        }
    }

    fn cluster(error: anyhow::Error) -> Failure {
        Failure {
            error,
            code: EXIT_CLUSTER,
        }
    }
}

impl ChildArgs {
    fn config(&self, service_monitor: bool) -> anyhow::Result<ChildConfig> {
        let proxy = match &self.egress_proxy_namespace {
            Some(namespace) => Some(EgressProxy {
                namespace: namespace.clone(),
                selector: parse_selector(&self.egress_proxy_selector)
                    .context("reading --egress-proxy-selector")?,
                ports: self.egress_proxy_ports.clone(),
            }),
            None => None,
        };
        let cidrs = |texts: &[String]| -> anyhow::Result<Vec<Cidr>> {
            texts
                .iter()
                .filter(|text| !text.trim().is_empty())
                .map(|text| Ok(text.parse::<Cidr>()?))
                .collect()
        };
        let chain_cidrs = cidrs(&self.chain_cidrs).context("reading --chain-cidrs")?;
        let cluster_cidrs = cidrs(&self.cluster_cidrs).context("reading --cluster-cidrs")?;
        let egress = EgressConfig::new(
            &chain_cidrs,
            &cluster_cidrs,
            proxy,
            &self.dns_namespace,
            parse_selector(&self.dns_selector).context("reading --dns-selector")?,
        )
        .context("checking --chain-cidrs")?;
        let instance_digests = self
            .instance_digests
            .iter()
            .filter(|pair| !pair.trim().is_empty())
            .map(|pair| {
                let (version, digest) = pair
                    .trim()
                    .split_once('=')
                    .with_context(|| format!("{pair:?} is not VERSION=sha256:HEX"))?;
                anyhow::ensure!(
                    children::is_digest(digest),
                    "{digest:?} (for version {version}) is not sha256: and 64 lowercase hex digits"
                );
                Ok((version.to_owned(), digest.to_owned()))
            })
            .collect::<anyhow::Result<_>>()
            .context("reading --instance-digests")?;
        Ok(ChildConfig {
            instance_image: self.instance_image.clone(),
            instance_digests,
            default_version: self.instance_version.clone(),
            postgres_image: self.postgres_image.clone(),
            ingress_namespace: self.ingress_namespace.clone(),
            monitoring_namespace: self.monitoring_namespace.clone(),
            cnpg_namespace: self.cnpg_namespace.clone(),
            operator_namespace: self.operator_namespace.clone(),
            service_monitor,
            egress,
        })
    }
}

fn print_crds() -> Result<(), Failure> {
    let yaml = crd_yaml()
        .context("writing the CustomResourceDefinitions")
        .map_err(Failure::input)?;
    print!(
        "{}",
        yaml.into_iter()
            .map(|(_, doc)| format!("---\n{doc}"))
            .collect::<String>()
    );
    Ok(())
}

fn render(args: &RenderArgs) -> Result<(), Failure> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))
        .map_err(Failure::input)?;
    let mut coop: Cooperative = serde_norway::from_str(&text)
        .with_context(|| format!("parsing a Cooperative from {}", args.file.display()))
        .map_err(Failure::input)?;
    if coop.metadata.namespace.is_none() {
        coop.metadata.namespace = Some("default".to_owned());
    }
    let config = args
        .children
        .config(args.service_monitor)
        .map_err(Failure::input)?;
    let yaml = children::render(&coop, &config)
        .with_context(|| format!("rendering the children of {}", args.file.display()))
        .map_err(Failure::input)?;
    print!("{yaml}");
    Ok(())
}

async fn run(args: RunArgs) -> Result<(), Failure> {
    let client = Client::try_default()
        .await
        .context("connecting to the Kubernetes API (KUBECONFIG or in-cluster service account)")
        .map_err(Failure::cluster)?;
    let metrics = Arc::new(Metrics::new());
    let service_monitor = match args.service_monitor {
        ServiceMonitorMode::Always => true,
        ServiceMonitorMode::Never => false,
        ServiceMonitorMode::Auto => service_monitor_kind_exists(&client).await,
    };
    let children = args
        .children
        .config(service_monitor)
        .map_err(Failure::input)?;
    let identity = args
        .identity
        .clone()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| MANAGER.to_owned());

    let listener = tokio::net::TcpListener::bind(args.metrics_addr)
        .await
        .with_context(|| format!("listening on {}", args.metrics_addr))
        .map_err(Failure::input)?;
    let metrics_addr = listener
        .local_addr()
        .with_context(|| format!("reading the address bound for {}", args.metrics_addr))
        .map_err(Failure::input)?;
    info!(addr = %metrics_addr, "serving /metrics and /healthz");
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let app = Router::new()
        .route("/metrics", get(serve_metrics))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(metrics.clone());
    let server = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(stopped(shutdown_rx.clone()))
            .into_future(),
    );

    let mut leadership = if args.leader_election {
        let config = LeaderConfig {
            lease_name: args.lease_name.clone(),
            namespace: args.lease_namespace.clone(),
            identity: identity.clone(),
        };
        tokio::select! {
            acquired = leader::acquire(client.clone(), &config) => {
                Some(acquired.context("taking part in leader election").map_err(Failure::cluster)?)
            }
            () = termination() => {
                info!("stopped before becoming leader");
                shutdown_tx.send_replace(true);
                let _ = server.await;
                return Ok(());
            }
        }
    } else {
        info!("leader election disabled");
        None
    };

    info!(
        watch_namespace = args.watch_namespace.as_deref().unwrap_or("*"),
        instance_image = children.instance_image,
        default_version = children.default_version,
        service_monitor,
        "starting controllers"
    );
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: MANAGER.to_owned(),
            instance: Some(identity),
        },
    );
    let controller_config = ControllerConfig {
        children: children.clone(),
        watch_namespace: args.watch_namespace.clone(),
        probe_instances: args.probe_instances,
        probe_interval: Duration::from_secs(args.probe_interval),
        guardrails: args.guardrails.guardrails(),
        max_concurrent_upgrades: args.max_concurrent_upgrades,
        status_address: args.status_address.clone(),
        concurrency: args.concurrency,
    };
    let controllers = async {
        tokio::join!(
            reconcile::run(
                client.clone(),
                controller_config,
                recorder,
                metrics.clone(),
                stopped(shutdown_rx.clone()),
            ),
            export::run(
                client.clone(),
                children,
                args.watch_namespace.as_deref(),
                metrics.clone(),
                stopped(shutdown_rx.clone()),
            ),
        )
    };
    let stop = async {
        let lost = match &mut leadership {
            Some(leadership) => {
                tokio::select! {
                    () = leadership.lost() => true,
                    () = termination() => false,
                }
            }
            None => {
                termination().await;
                false
            }
        };
        if lost {
            warn!("leadership lost; stopping controllers");
        } else {
            info!("termination requested; stopping controllers");
        }
        shutdown_tx.send_replace(true);
        lost
    };
    let (_, lost) = tokio::join!(controllers, stop);
    let _ = server.await;
    if let Some(leadership) = leadership {
        leadership.release().await;
    }
    if lost {
        return Err(Failure {
            error: anyhow!("leadership lost"),
            code: EXIT_LEADERSHIP_LOST,
        });
    }
    info!("stopped");
    Ok(())
}

async fn serve_metrics(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
}

async fn service_monitor_kind_exists(client: &Client) -> bool {
    let api: Api<DynamicObject> =
        Api::all_with(client.clone(), &ChildKind::ServiceMonitor.api_resource());
    match api.list(&ListParams::default().limit(1)).await {
        Ok(_) => {
            info!("ServiceMonitor kind found; instances get ServiceMonitors");
            true
        }
        Err(err) => {
            info!(error = %err, "ServiceMonitor kind not available; instances get none");
            false
        }
    }
}

/// Resolves once the shutdown flag is set.
async fn stopped(mut shutdown: watch::Receiver<bool>) {
    // An error means the sender is gone, which also means shutting down.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Resolves on SIGTERM or Ctrl-C.
async fn termination() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                () = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => ctrl_c.await,
    }
}
