//! Test fixtures: a representative Cooperative with chainable variations, the operator
//! configuration used by the golden files, a deterministic random source, and a mock API
//! server ([`ApiServerVerifier`]) that plays a [`Scenario`], checking every request the
//! reconciler makes (method, path, query, patch body) in order.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, Request, Response, StatusCode, header};
use k8s_openapi::api::core::v1::Toleration;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::client::Body;
use kube::runtime::events::{Recorder, Reporter};
use mono_crds::{
    Bootstrap, ChainSpec, Cooperative, CooperativeSpec, DatabaseMode, DatabaseSpec, DomainSpec,
    ExternalDatabase, FromExport, InstanceSpec, QuotaSpec, SchedulingSpec, SecretKeyRef,
    SecretsSpec, SmtpSpec, TlsSpec,
};
use rand_core::{RngCore, impls};
use serde_json::{Value, json};

use crate::children::egress::{Cidr, EgressConfig, EgressProxy, parse_selector};
use crate::children::{self, ChildConfig, MANAGER, Rollout, secrets};
use crate::metrics::Metrics;
use crate::reconcile::{Context, ControllerConfig, FINALIZER};

/// Compares `actual` with `tests/data/children/<file>`, or rewrites the file when
/// `UPDATE_EXPECT=1`.
pub(crate) fn check_golden(file: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/children")
        .join(file);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::create_dir_all(path.parent().expect("golden files live in a directory"))
            .expect("create the golden directory");
        std::fs::write(&path, actual).expect("write the golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("{}: {err}; run with UPDATE_EXPECT=1", path.display()));
    assert!(
        expected == actual,
        "{} differs from the built children; review and rerun with UPDATE_EXPECT=1\n--- actual\n{actual}",
        path.display()
    );
}

/// The operator settings the golden files were written with.
pub(crate) fn test_config() -> ChildConfig {
    ChildConfig {
        instance_image: "ghcr.io/coopenomics/mono".to_owned(),
        instance_digests: BTreeMap::new(),
        default_version: "2.4.1".to_owned(),
        postgres_image: "docker.io/library/postgres:17.6".to_owned(),
        ingress_namespace: "ingress-nginx".to_owned(),
        monitoring_namespace: "monitoring".to_owned(),
        cnpg_namespace: "cnpg-system".to_owned(),
        operator_namespace: "mono-system".to_owned(),
        service_monitor: true,
        egress: test_egress(),
    }
}

/// Egress as staff might configure it: one chain network, the pod range cut out, a proxy.
pub(crate) fn test_egress() -> EgressConfig {
    let cidr = |text: &str| text.parse::<Cidr>().expect("a CIDR");
    EgressConfig::new(
        &[cidr("203.0.113.0/24")],
        &[cidr("10.244.0.0/16"), cidr("10.96.0.0/12")],
        Some(EgressProxy {
            namespace: "egress".to_owned(),
            selector: parse_selector("app=chain-proxy").expect("a selector"),
            ports: vec![3128],
        }),
        "kube-system",
        parse_selector("k8s-app=kube-dns").expect("a selector"),
    )
    .expect("a valid egress configuration")
}

/// Cooperative `voskhod` in `coop-voskhod`: builtin database, no domain, version 2.4.1.
pub(crate) fn test_cooperative() -> Cooperative {
    let mut coop = Cooperative::new(
        "voskhod",
        CooperativeSpec {
            coopname: "voskhod".to_owned(),
            chain: ChainSpec {
                api_url: "https://api.coopos.example".to_owned(),
                ship_url: "wss://ship.coopos.example:8443".to_owned(),
                chain_id: "6e37f9ac0f0ea717bfbed3ef2e2bd7e0ba0ee9d4d0f57a1f0d1e8e1e2a5b8d2c"
                    .to_owned(),
            },
            instance: InstanceSpec {
                version: Some("2.4.1".to_owned()),
                ..InstanceSpec::default()
            },
            database: DatabaseSpec::default(),
            domain: None,
            secrets: SecretsSpec {
                cooperative_key: Some(SecretKeyRef {
                    name: "voskhod-key".to_owned(),
                    key: "private-key".to_owned(),
                }),
            },
            smtp: None,
            extensions: vec!["capital".to_owned()],
            deletion_policy: Default::default(),
            suspend: false,
            bootstrap: None,
            quota: QuotaSpec::default(),
            scheduling: SchedulingSpec::default(),
        },
    );
    coop.metadata = ObjectMeta {
        name: Some("voskhod".to_owned()),
        namespace: Some("coop-voskhod".to_owned()),
        uid: Some("5f0c2a8e-1b7d-4c3e-9a61-2d4f8e9b0c11".to_owned()),
        generation: Some(3),
        ..ObjectMeta::default()
    };
    coop
}

/// Chainable variations of [`test_cooperative`].
pub(crate) trait CooperativeFixture: Sized {
    fn cloudnativepg(self) -> Self;
    fn external_db(self) -> Self;
    fn suspended(self) -> Self;
    fn with_domain(self) -> Self;
    fn with_domain_tls(self) -> Self;
    fn bootstrapped_from_export(self) -> Self;
    fn version(self, version: &str) -> Self;
    fn scheduled(self) -> Self;
    fn with_smtp(self) -> Self;
    fn finalized(self) -> Self;
    fn deleting(self) -> Self;
}

impl CooperativeFixture for Cooperative {
    fn cloudnativepg(mut self) -> Self {
        self.spec.database.mode = DatabaseMode::Cloudnativepg;
        self.spec.database.storage.storage_class_name = Some("fast-ssd".to_owned());
        self
    }

    fn external_db(mut self) -> Self {
        self.spec.database.mode = DatabaseMode::External;
        self.spec.database.external = Some(ExternalDatabase {
            secret_ref: SecretKeyRef {
                name: "voskhod-pg".to_owned(),
                key: "url".to_owned(),
            },
        });
        self
    }

    fn suspended(mut self) -> Self {
        self.spec.suspend = true;
        self
    }

    fn with_domain(mut self) -> Self {
        self.spec.domain = Some(DomainSpec {
            host: "voskhod.example.org".to_owned(),
            ingress_class_name: Some("nginx".to_owned()),
            tls: None,
        });
        self
    }

    fn with_domain_tls(self) -> Self {
        let mut coop = self.with_domain();
        if let Some(domain) = &mut coop.spec.domain {
            domain.tls = Some(TlsSpec {
                secret_name: None,
                cluster_issuer: Some("letsencrypt".to_owned()),
            });
        }
        coop
    }

    fn bootstrapped_from_export(mut self) -> Self {
        self.spec.bootstrap = Some(Bootstrap {
            from_export: FromExport {
                claim_name: "voskhod-move-export".to_owned(),
                path: "export".to_owned(),
            },
        });
        self
    }

    fn version(mut self, version: &str) -> Self {
        self.spec.instance.version = Some(version.to_owned());
        self
    }

    fn scheduled(mut self) -> Self {
        self.spec.scheduling = SchedulingSpec {
            image_pull_secrets: vec!["registry-coopenomics".to_owned()],
            node_selector: [("mono.coopenomics.io/pool".to_owned(), "tenants".to_owned())].into(),
            tolerations: vec![Toleration {
                key: Some("mono.coopenomics.io/tenants".to_owned()),
                operator: Some("Exists".to_owned()),
                effect: Some("NoSchedule".to_owned()),
                ..Toleration::default()
            }],
        };
        self
    }

    fn with_smtp(mut self) -> Self {
        self.spec.smtp = Some(SmtpSpec {
            url_secret_ref: SecretKeyRef {
                name: "voskhod-smtp".to_owned(),
                key: "url".to_owned(),
            },
            from: "Кооператив «Восход» <noreply@voskhod.coop>".to_owned(),
        });
        self
    }

    fn finalized(mut self) -> Self {
        self.metadata.finalizers = Some(vec![FINALIZER.to_owned()]);
        self
    }

    fn deleting(mut self) -> Self {
        let at = Timestamp::from_second(1_800_000_000).expect("a valid time");
        self.metadata.deletion_timestamp = Some(Time(at));
        self
    }
}

/// A random source returning a counter, so generated Secrets are reproducible in tests.
#[derive(Default)]
pub(crate) struct CountingRng(u64);

impl RngCore for CountingRng {
    fn next_u32(&mut self) -> u32 {
        impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.0
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        impls::fill_bytes_via_next(self, dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// A [`Context`] whose client talks to the returned [`ApiServerVerifier`].
pub(crate) fn mock_context() -> (Arc<Context>, ApiServerVerifier) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let reporter = Reporter {
        controller: MANAGER.to_owned(),
        instance: None,
    };
    let config = ControllerConfig {
        children: test_config(),
        watch_namespace: None,
        probe_instances: true,
        probe_interval: Duration::from_secs(30),
        guardrails: crate::guardrails::Guardrails::default(),
        max_concurrent_upgrades: 0,
        status_address: crate::reconcile::DEFAULT_STATUS_ADDRESS.to_owned(),
        concurrency: 1,
    };
    let (store, _writer) = kube::runtime::reflector::store::<Cooperative>();
    // Namespaces the store has not seen are read with a GET, as the scenarios expect.
    let (namespaces, _writer) = kube::runtime::reflector::store();
    let ctx = Context::new(
        client.clone(),
        config,
        Recorder::new(client, reporter),
        Arc::new(Metrics::new()),
        store,
        namespaces,
    );
    (Arc::new(ctx), ApiServerVerifier(handle))
}

/// Waits for a verifier task; a missing request shows up as this timeout.
pub(crate) async fn within_1s<T>(task: tokio::task::JoinHandle<T>) -> T {
    tokio::time::timeout(Duration::from_secs(1), task)
        .await
        .expect("the mock API server got every expected request within 1 s")
        .expect("the scenario's checks passed")
}

/// What the API server is expected to see, in order.
pub(crate) enum Scenario {
    /// A new Cooperative without the finalizer: only the finalizer is added.
    FinalizerAdded(Cooperative),
    /// The first reconcile with the finalizer in place: the generated Secrets are read and
    /// created, no Deployment exists, the children are applied as `mono-operator` (the
    /// StatefulSet after finding there is none yet; the database not ready yet, so no
    /// migration Job and no Deployment), and the status is applied with
    /// `observedGeneration`.
    FirstReconcile(Cooperative),
    /// The database is ready and the Secrets exist: the StatefulSet is applied as it exists,
    /// its volume's claim is found at the size the spec asks, and the migration Job of the
    /// target version is created after the other children, since none exists; no Deployment
    /// until it completed.
    MigrationBeforeDeployment(Cooperative),
    /// As [`Scenario::FirstReconcile`], but the API server forbids the NetworkPolicy: every
    /// other child is still applied, the status names the refused one (`Reconciled=False`,
    /// `Degraded=True`, reason `ApplyFailed`) and a Warning Event says so.
    PartialApply(Cooperative),
    /// Reading the first generated Secret fails (HTTP 500): the status gets
    /// `Reconciled=False` with reason `GetFailed` and the error, and a `ReconcileFailed`
    /// Warning Event follows.
    SecretReadFails(Cooperative),
    /// Deletion with `deletionPolicy: Retain`: owner references are removed from the
    /// Secrets and volumes, a `DataRetained` Event lists them, then the finalizer goes.
    RetainDeletion(Cooperative),
}

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;
type Responder = tower_test::mock::SendResponse<Response<Body>>;

/// The mock API server side of [`mock_context`].
pub(crate) struct ApiServerVerifier(Handle);

/// One request as the verifier saw it.
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: BTreeMap<String, String>,
    pub(crate) content_type: String,
    pub(crate) body: Value,
    respond: Responder,
}

impl Call {
    fn reply(self, status: StatusCode, body: &Value) {
        let bytes = serde_json::to_vec(body).expect("a JSON body");
        let response = Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(bytes))
            .expect("a valid response");
        self.respond.send_response(response);
    }

    /// Answers with a Status of `code` and `reason`.
    fn fail(self, code: u16, reason: &str, message: &str) {
        let status = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "reason": reason, "code": code, "message": message,
        });
        let code = StatusCode::from_u16(code).expect("a valid status code");
        self.reply(code, &status);
    }

    fn ok(self, body: &Value) {
        self.reply(StatusCode::OK, body);
    }

    fn not_found(self) {
        let status = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "reason": "NotFound", "code": 404, "message": format!("{} not found", self.path),
        });
        self.reply(StatusCode::NOT_FOUND, &status);
    }

    /// Answers an apply or create with the object it carried.
    fn echo(self) {
        let body = self.body.clone();
        self.reply(StatusCode::OK, &body);
    }

    /// Checks a server-side apply by `mono-operator` of `object` at `path`.
    fn assert_apply(&self, path: &str, object: &Value) {
        assert_eq!((&self.method, self.path.as_str()), (&Method::PATCH, path));
        assert_eq!(self.content_type, "application/apply-patch+yaml", "{path}");
        assert_eq!(
            self.query.get("fieldManager").map(String::as_str),
            Some(MANAGER)
        );
        assert_eq!(
            self.query.get("force").map(String::as_str),
            Some("true"),
            "{path}"
        );
        assert_eq!(&self.body, object, "{path}");
    }
}

impl ApiServerVerifier {
    /// Plays `scenario` on a task; await it with [`within_1s`].
    pub(crate) fn run(self, scenario: Scenario) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let verifier = match scenario {
                Scenario::FinalizerAdded(coop) => self.finalizer_added(&coop).await,
                Scenario::FirstReconcile(coop) => self.first_reconcile(&coop).await,
                Scenario::MigrationBeforeDeployment(coop) => {
                    self.migration_before_deployment(&coop).await
                }
                Scenario::RetainDeletion(coop) => self.retain_deletion(&coop).await,
                Scenario::PartialApply(coop) => self.partial_apply(&coop).await,
                Scenario::SecretReadFails(coop) => self.secret_read_fails(&coop).await,
            };
            verifier.no_more_requests().await;
        })
    }

    async fn next(&mut self) -> Call {
        let (request, respond) = self
            .0
            .next_request()
            .await
            .expect("the reconciler made the next expected request");
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.expect("a readable body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("a JSON body")
        };
        let query = parts
            .uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(key), percent_decode(value))
            })
            .collect();
        Call {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            query,
            content_type: parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            body,
            respond,
        }
    }

    /// Once the reconciler is done and its client dropped, nothing else may arrive.
    async fn no_more_requests(mut self) {
        if let Some((request, _)) = self.0.next_request().await {
            panic!("unexpected request {} {}", request.method(), request.uri());
        }
    }

    /// The namespace is read for the allowlists staff set on it; it has none.
    async fn namespace_read(&mut self, namespace: &str) {
        let found =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
        self.got(&format!("/api/v1/namespaces/{namespace}"))
            .await
            .ok(&found);
    }

    async fn finalizer_added(mut self, coop: &Cooperative) -> Self {
        let patch = json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
        ]);
        self.finalizers_patched(coop, &patch, coop.clone().finalized())
            .await;
        self
    }

    async fn first_reconcile(mut self, coop: &Cooperative) -> Self {
        let namespace = namespace(coop);
        self.namespace_read(&namespace).await;
        let generated = secrets::generated(coop).expect("secret templates");
        for secret in &generated {
            let call = self.next().await;
            let path = format!("/api/v1/namespaces/{namespace}/secrets/{}", secret.name);
            assert_eq!(
                (&call.method, call.path.as_str()),
                (&Method::GET, path.as_str())
            );
            call.not_found();
        }
        for secret in &generated {
            let call = self.next().await;
            let path = format!("/api/v1/namespaces/{namespace}/secrets");
            assert_eq!(
                (&call.method, call.path.as_str()),
                (&Method::POST, path.as_str())
            );
            assert_eq!(
                call.query.get("fieldManager").map(String::as_str),
                Some(MANAGER)
            );
            assert_eq!(call.body["metadata"]["name"], json!(secret.name));
            assert_eq!(
                call.body["metadata"]["ownerReferences"][0]["kind"],
                "Cooperative"
            );
            let generated_value = call.body["stringData"]
                .as_object()
                .or(call.body["data"].as_object())
                .is_some_and(|data| {
                    data.values()
                        .any(|v| v.as_str().is_some_and(|v| v.len() >= 32))
                });
            assert!(
                generated_value,
                "{} carries a generated value: {}",
                secret.name, call.body
            );
            call.echo();
        }
        self.no_deployment(coop).await;
        for child in infrastructure(coop) {
            if child.kind == children::ChildKind::StatefulSet {
                self.got(&child_path(coop, &child)).await.not_found();
            }
            let call = self.next().await;
            call.assert_apply(&child_path(coop, &child), &child.object);
            call.echo();
        }
        let status = self.status_applied(coop).await;
        assert_eq!(status["phase"], "Provisioning");
        assert_eq!(condition(&status, "Ready")["reason"], "DatabaseNotReady");
        assert_eq!(condition(&status, "DatabaseReady")["status"], "False");
        self
    }

    async fn partial_apply(mut self, coop: &Cooperative) -> Self {
        let namespace = namespace(coop);
        self.namespace_read(&namespace).await;
        let generated = secrets::generated(coop).expect("secret templates");
        for secret in &generated {
            let path = format!("/api/v1/namespaces/{namespace}/secrets/{}", secret.name);
            let found = json!({"apiVersion": "v1", "kind": "Secret", "metadata": secret.object["metadata"]});
            self.got(&path).await.ok(&found);
        }
        self.no_deployment(coop).await;
        let mut applied = Vec::new();
        for child in infrastructure(coop) {
            if child.kind == children::ChildKind::StatefulSet {
                self.got(&child_path(coop, &child)).await.not_found();
            }
            let call = self.next().await;
            call.assert_apply(&child_path(coop, &child), &child.object);
            if child.kind == children::ChildKind::NetworkPolicy && child.name == "voskhod-egress" {
                call.fail(
                    403,
                    "Forbidden",
                    "networkpolicies.networking.k8s.io is forbidden",
                );
            } else {
                applied.push(child.kind);
                call.echo();
            }
        }
        assert!(
            applied.contains(&children::ChildKind::ResourceQuota)
                && applied.contains(&children::ChildKind::Service)
                && applied.contains(&children::ChildKind::NetworkPolicy),
            "children after the refused one are applied: {applied:?}"
        );
        let status = self.status_applied(coop).await;
        let reconciled = condition(&status, "Reconciled");
        assert_eq!(reconciled["status"], "False");
        assert_eq!(reconciled["reason"], "ApplyFailed");
        let message = reconciled["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("1 child could not be applied")
                && message.contains(
                    "apply NetworkPolicy voskhod-egress: networkpolicies.networking.k8s.io is forbidden (HTTP 403 Forbidden)"
                ),
            "{message}"
        );
        assert_eq!(condition(&status, "Degraded")["reason"], "ApplyFailed");
        assert_eq!(status["phase"], "Degraded");
        let event = self.event_posted(coop).await;
        assert_eq!(
            (&event["type"], &event["reason"]),
            (&json!("Warning"), &json!("ApplyFailed"))
        );
        self
    }

    async fn secret_read_fails(mut self, coop: &Cooperative) -> Self {
        let namespace = namespace(coop);
        self.namespace_read(&namespace).await;
        let generated = secrets::generated(coop).expect("secret templates");
        let path = format!(
            "/api/v1/namespaces/{namespace}/secrets/{}",
            generated[0].name
        );
        self.got(&path)
            .await
            .fail(500, "InternalError", "etcdserver: request timed out");
        let call = self.next().await;
        let status_path = format!("{}/status", cooperative_path(coop));
        assert_eq!(
            (&call.method, call.path.as_str()),
            (&Method::PATCH, status_path.as_str())
        );
        let status = call.body["status"].clone();
        let reconciled = condition(&status, "Reconciled");
        assert_eq!(
            (&reconciled["status"], &reconciled["reason"]),
            (&json!("False"), &json!("GetFailed"))
        );
        let message = reconciled["message"].as_str().unwrap_or_default();
        assert!(
            message.ends_with(&format!(
                "get Secret {}: etcdserver: request timed out (HTTP 500 InternalError)",
                generated[0].name
            )),
            "{message}"
        );
        let mut stored = serde_json::to_value(coop).expect("JSON");
        stored["status"] = status;
        call.ok(&stored);
        let event = self.event_posted(coop).await;
        assert_eq!(
            (&event["type"], &event["reason"]),
            (&json!("Warning"), &json!("ReconcileFailed"))
        );
        self
    }

    /// An Event about the Cooperative is created; returns it.
    async fn event_posted(&mut self, coop: &Cooperative) -> Value {
        let call = self.next().await;
        let path = format!(
            "/apis/events.k8s.io/v1/namespaces/{}/events",
            namespace(coop)
        );
        assert_eq!(
            (&call.method, call.path.as_str()),
            (&Method::POST, path.as_str())
        );
        assert_eq!(call.body["regarding"]["name"], json!(coop.metadata.name));
        let event = call.body.clone();
        call.echo();
        event
    }

    async fn migration_before_deployment(mut self, coop: &Cooperative) -> Self {
        let namespace = namespace(coop);
        self.namespace_read(&namespace).await;
        for secret in secrets::generated(coop).expect("secret templates") {
            let call = self.next().await;
            let path = format!("/api/v1/namespaces/{namespace}/secrets/{}", secret.name);
            assert_eq!(
                (&call.method, call.path.as_str()),
                (&Method::GET, path.as_str())
            );
            let found = json!({"apiVersion": "v1", "kind": "Secret", "metadata": secret.object["metadata"]});
            call.ok(&found);
        }
        self.no_deployment(coop).await;
        for child in infrastructure(coop) {
            let mut ready = child.object.clone();
            ready["status"] = json!({"replicas": 1, "readyReplicas": 1});
            if child.kind == children::ChildKind::StatefulSet {
                self.got(&child_path(coop, &child)).await.ok(&ready);
            }
            let call = self.next().await;
            call.assert_apply(&child_path(coop, &child), &child.object);
            if child.kind == children::ChildKind::StatefulSet {
                call.ok(&ready);
            } else {
                call.echo();
            }
        }
        let claim = children::database_claim_name("voskhod");
        let call = self
            .got(&format!(
                "/api/v1/namespaces/{namespace}/persistentvolumeclaims/{claim}"
            ))
            .await;
        call.ok(&json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim, "namespace": namespace},
            "spec": {"resources": {"requests": {"storage": coop.spec.database.storage.size}}},
            "status": {"phase": "Bound", "capacity": {"storage": coop.spec.database.storage.size}},
        }));
        let version = children::target_version(coop, &test_config()).to_owned();
        let job = children::migration_job(coop, &test_config(), &version).expect("a Job");
        self.got(&child_path(coop, &job)).await.not_found();
        let call = self.next().await;
        call.assert_apply(&child_path(coop, &job), &job.object);
        call.echo();
        let status = self.status_applied(coop).await;
        assert_eq!(condition(&status, "DatabaseReady")["status"], "True");
        assert_eq!(condition(&status, "Ready")["reason"], "Migrating");
        assert_eq!(condition(&status, "Progressing")["reason"], "Migrating");
        assert_eq!(condition(&status, "Upgrading")["status"], "False");
        self
    }

    async fn retain_deletion(mut self, coop: &Cooperative) -> Self {
        let namespace = namespace(coop);
        let selector = children::selector(&coop.metadata.name.clone().unwrap_or_default());
        let owner = json!([{
            "apiVersion": "mono.coopenomics.io/v1alpha1", "kind": "Cooperative",
            "name": coop.metadata.name, "uid": coop.metadata.uid, "controller": true,
        }]);
        let kept = [
            (
                "secrets",
                "SecretList",
                vec!["voskhod-db", "voskhod-jwt", "voskhod-service"],
            ),
            (
                "persistentvolumeclaims",
                "PersistentVolumeClaimList",
                vec!["data-voskhod-db-0"],
            ),
        ];
        for (plural, list_kind, names) in &kept {
            let call = self.next().await;
            let path = format!("/api/v1/namespaces/{namespace}/{plural}");
            assert_eq!(
                (&call.method, call.path.as_str()),
                (&Method::GET, path.as_str())
            );
            assert_eq!(call.query.get("labelSelector"), Some(&selector));
            let items: Vec<Value> = names
                .iter()
                .map(|name| {
                    json!({"metadata": {"name": name, "namespace": namespace, "ownerReferences": owner}})
                })
                .collect();
            call.ok(&json!({
                "apiVersion": "v1", "kind": list_kind, "metadata": {"resourceVersion": "7"},
                "items": items,
            }));
            for name in names {
                let call = self.next().await;
                let path = format!("/api/v1/namespaces/{namespace}/{plural}/{name}");
                assert_eq!(
                    (&call.method, call.path.as_str()),
                    (&Method::PATCH, path.as_str())
                );
                assert_eq!(call.content_type, "application/merge-patch+json");
                assert_eq!(call.body, json!({"metadata": {"ownerReferences": null}}));
                call.ok(&json!({"metadata": {"name": name, "namespace": namespace}}));
            }
        }
        let call = self.next().await;
        let path = format!("/apis/events.k8s.io/v1/namespaces/{namespace}/events");
        assert_eq!(
            (&call.method, call.path.as_str()),
            (&Method::POST, path.as_str())
        );
        assert_eq!(call.body["reason"], "DataRetained");
        assert_eq!(call.body["type"], "Normal");
        assert_eq!(call.body["regarding"]["name"], json!(coop.metadata.name));
        assert_eq!(
            call.body["note"],
            "deletionPolicy Retain kept Secret voskhod-db, Secret voskhod-jwt, Secret voskhod-service, PersistentVolumeClaim data-voskhod-db-0; delete them by hand when no longer needed"
        );
        call.echo();
        let patch = json!([
            {"op": "test", "path": "/metadata/finalizers/0", "value": FINALIZER},
            {"op": "remove", "path": "/metadata/finalizers/0"},
        ]);
        let mut released = coop.clone();
        released.metadata.finalizers = None;
        self.finalizers_patched(coop, &patch, released).await;
        self
    }

    /// The Cooperative's finalizers are changed by the JSON patch `patch`; the answer is
    /// `patched`.
    async fn finalizers_patched(
        &mut self,
        coop: &Cooperative,
        patch: &Value,
        patched: Cooperative,
    ) {
        let call = self.next().await;
        assert_eq!(
            (&call.method, call.path.as_str()),
            (&Method::PATCH, cooperative_path(coop).as_str())
        );
        assert_eq!(call.content_type, "application/json-patch+json");
        assert_eq!(&call.body, patch);
        call.ok(&serde_json::to_value(patched).expect("JSON"));
    }

    /// The next request reads the object at `path`; the caller answers it.
    async fn got(&mut self, path: &str) -> Call {
        let call = self.next().await;
        assert_eq!((&call.method, call.path.as_str()), (&Method::GET, path));
        call
    }

    /// The reconciler looks for the instance Deployment and finds none.
    async fn no_deployment(&mut self, coop: &Cooperative) {
        let call = self.next().await;
        let path = format!(
            "/apis/apps/v1/namespaces/{}/deployments/{}",
            namespace(coop),
            coop.metadata.name.clone().unwrap_or_default()
        );
        assert_eq!(
            (&call.method, call.path.as_str()),
            (&Method::GET, path.as_str())
        );
        call.not_found();
    }

    /// The status is applied to the status subresource as `mono-operator` with the
    /// Cooperative's generation; returns it.
    async fn status_applied(&mut self, coop: &Cooperative) -> Value {
        let call = self.next().await;
        let path = format!("{}/status", cooperative_path(coop));
        assert_eq!(
            (&call.method, call.path.as_str()),
            (&Method::PATCH, path.as_str())
        );
        assert_eq!(call.content_type, "application/apply-patch+yaml");
        assert_eq!(
            call.query.get("fieldManager").map(String::as_str),
            Some(MANAGER)
        );
        assert_eq!(call.body["apiVersion"], "mono.coopenomics.io/v1alpha1");
        assert_eq!(call.body["kind"], "Cooperative");
        let status = call.body["status"].clone();
        assert_eq!(
            status["observedGeneration"],
            json!(coop.metadata.generation)
        );
        assert!(
            status["conditions"].as_array().is_some_and(|all| all
                .iter()
                .all(|c| c["observedGeneration"] == json!(coop.metadata.generation))),
            "{status}"
        );
        let mut stored = serde_json::to_value(coop).expect("JSON");
        stored["status"] = status.clone();
        call.ok(&stored);
        status
    }
}

/// The children applied before the rollout decisions: everything but the Jobs and the
/// Deployment, in order.
fn infrastructure(coop: &Cooperative) -> Vec<children::Child> {
    children::desired(coop, &test_config(), &Rollout::default()).expect("children")
}

fn namespace(coop: &Cooperative) -> String {
    coop.metadata.namespace.clone().unwrap_or_default()
}

fn cooperative_path(coop: &Cooperative) -> String {
    format!(
        "/apis/mono.coopenomics.io/v1alpha1/namespaces/{}/cooperatives/{}",
        namespace(coop),
        coop.metadata.name.clone().unwrap_or_default()
    )
}

/// URL path of a child, from its kind's group, version and plural.
fn child_path(coop: &Cooperative, child: &children::Child) -> String {
    let resource = child.kind.api_resource();
    let prefix = if resource.group.is_empty() {
        "/api/v1".to_owned()
    } else {
        format!("/apis/{}", resource.api_version)
    };
    format!(
        "{prefix}/namespaces/{}/{}/{}",
        namespace(coop),
        resource.plural,
        child.name
    )
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["type"] == type_))
        .unwrap_or(&Value::Null)
}

/// Decodes `%XX` escapes and `+` of a query component.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
