//! Child objects of a Cooperative, built by pure functions from the spec, the operator's
//! [`ChildConfig`] and the [`Rollout`] decided from what was observed.
//!
//! Nothing here talks to the API server, reads the clock or draws random numbers: the same
//! inputs always give the same objects, which is what `mono-operator render` prints and what
//! the golden files under `tests/data/children/` pin.

mod database;
mod deployment;
mod disruption_budget;
pub mod egress;
mod ingress;
pub(crate) mod migration;
mod network_policy;
mod quota;
pub mod secrets;
mod service;
mod service_monitor;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, LocalObjectReference, PodSecurityContext, PodSpec, SeccompProfile,
    SecurityContext,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use kube::Resource;
use kube::core::ApiResource;
use mono_crds::{Cooperative, DatabaseMode};
use serde::Serialize;
use serde_json::Value;

use crate::{Error, Result};
use egress::EgressConfig;

pub use database::ClaimPlan;
pub(crate) use database::database_url_env;

/// Field manager and `managed-by` label of everything the operator writes.
pub const MANAGER: &str = "mono-operator";
/// Label holding the Cooperative's name on every child.
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
/// Label naming the part of the instance a child belongs to.
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
/// Label holding the instance version a pod template runs.
pub const VERSION_LABEL: &str = "app.kubernetes.io/version";
/// Port the instance listens on for its API, probes and metrics.
pub const INSTANCE_PORT: i32 = 8080;
/// Port of the PostgreSQL database.
pub const POSTGRES_PORT: i32 = 5432;

/// Operator-wide settings that shape children (images, neighbouring namespaces, features).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildConfig {
    /// Image repository of the instance; the tag is the instance version.
    pub instance_image: String,
    /// Digests (`sha256:` and 64 hex digits) of the images of `instance_image` by version:
    /// an instance of a version listed here is pulled by digest, so a tag moved in the
    /// registry cannot change what runs.
    pub instance_digests: BTreeMap<String, String>,
    /// Instance version used when a Cooperative names none.
    pub default_version: String,
    /// PostgreSQL image of the builtin database.
    pub postgres_image: String,
    /// Namespace of the ingress controller allowed to reach instances.
    pub ingress_namespace: String,
    /// Namespace of the monitoring stack allowed to scrape instances.
    pub monitoring_namespace: String,
    /// Namespace of the CloudNativePG operator allowed to reach its database pods.
    pub cnpg_namespace: String,
    /// Namespace of this operator, allowed to read instances' `/status`.
    pub operator_namespace: String,
    /// Whether the ServiceMonitor kind exists in the cluster.
    pub service_monitor: bool,
    /// Where instances may connect to.
    pub egress: EgressConfig,
}

/// Host and port of a database, from its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseAddress {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

/// What the instance Deployment and the one-off Jobs should be at this step of a rollout, and
/// what else was observed that shapes children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rollout {
    /// Version the Deployment runs; `None` while an import must finish first.
    pub instance_version: Option<String>,
    /// Version the migration Job migrates to, while a rollout (the first included) waits
    /// for it.
    pub migration_version: Option<String>,
    /// Whether the import Job of `bootstrap.fromExport` is part of the children.
    pub import: bool,
    /// Where the external database is, once its Secret has been read; the egress rule to it
    /// takes its port (and its address when that is an IP).
    pub external_database: Option<DatabaseAddress>,
}

/// The kinds of child object the operator manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChildKind {
    /// Generated credentials, created once and never updated.
    Secret,
    /// Builtin PostgreSQL.
    StatefulSet,
    /// Stable address of the instance or the builtin database.
    Service,
    /// CloudNativePG database cluster.
    CnpgCluster,
    /// Migration and import runs.
    Job,
    /// The instance.
    Deployment,
    /// Public host of the instance.
    Ingress,
    /// Default-deny and allow rules.
    NetworkPolicy,
    /// Namespace budget.
    ResourceQuota,
    /// Per-container defaults inside the budget.
    LimitRange,
    /// Prometheus Operator scrape configuration.
    ServiceMonitor,
    /// How many instance pods a voluntary disruption may take at once.
    PodDisruptionBudget,
    /// The volume an export is written to.
    PersistentVolumeClaim,
}

/// One child object, ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Child {
    /// Its kind.
    pub kind: ChildKind,
    /// `metadata.name`.
    pub name: String,
    /// The full object as the API server receives it.
    pub object: Value,
}

impl Child {
    /// `object`, a typed Kubernetes object of `kind`, as the API server receives it.
    pub(crate) fn typed<K: Resource + Serialize>(kind: ChildKind, object: &K) -> Child {
        Child {
            kind,
            name: object.meta().name.clone().unwrap_or_default(),
            object: serde_json::to_value(object)
                .expect("Kubernetes objects have string keys and serialize to JSON"),
        }
    }
}

impl ChildKind {
    /// Group, version, kind and plural of this kind.
    pub fn api_resource(self) -> ApiResource {
        let (group, version, kind, plural) = match self {
            ChildKind::Secret => ("", "v1", "Secret", "secrets"),
            ChildKind::StatefulSet => ("apps", "v1", "StatefulSet", "statefulsets"),
            ChildKind::Service => ("", "v1", "Service", "services"),
            ChildKind::CnpgCluster => ("postgresql.cnpg.io", "v1", "Cluster", "clusters"),
            ChildKind::Job => ("batch", "v1", "Job", "jobs"),
            ChildKind::Deployment => ("apps", "v1", "Deployment", "deployments"),
            ChildKind::Ingress => ("networking.k8s.io", "v1", "Ingress", "ingresses"),
            ChildKind::NetworkPolicy => (
                "networking.k8s.io",
                "v1",
                "NetworkPolicy",
                "networkpolicies",
            ),
            ChildKind::ResourceQuota => ("", "v1", "ResourceQuota", "resourcequotas"),
            ChildKind::LimitRange => ("", "v1", "LimitRange", "limitranges"),
            ChildKind::PersistentVolumeClaim => {
                ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims")
            }
            ChildKind::PodDisruptionBudget => (
                "policy",
                "v1",
                "PodDisruptionBudget",
                "poddisruptionbudgets",
            ),
            ChildKind::ServiceMonitor => (
                "monitoring.coreos.com",
                "v1",
                "ServiceMonitor",
                "servicemonitors",
            ),
        };
        let api_version = if group.is_empty() {
            version.to_owned()
        } else {
            format!("{group}/{version}")
        };
        ApiResource {
            group: group.to_owned(),
            version: version.to_owned(),
            api_version,
            kind: kind.to_owned(),
            plural: plural.to_owned(),
        }
    }
}

impl Rollout {
    /// Every child a new Cooperative gets over its first rollout: the import Job when the
    /// spec bootstraps from an export, the migration Job of the target version and the
    /// Deployment on it. This is what `render` shows.
    pub fn first(coop: &Cooperative, config: &ChildConfig) -> Rollout {
        let version = target_version(coop, config).to_owned();
        Rollout {
            instance_version: Some(version.clone()),
            migration_version: Some(version),
            import: coop.spec.bootstrap.is_some(),
            external_database: None,
        }
    }
}

/// Every child of `coop` at this step of `rollout`, except the generated Secrets (see
/// [`secrets::generated`]), in the order they are applied: isolation first, then the
/// database, the one-off Jobs and the instance.
pub fn desired(coop: &Cooperative, config: &ChildConfig, rollout: &Rollout) -> Result<Vec<Child>> {
    let ctx = Ctx::new(coop)?;
    let mut children = vec![quota::resource_quota(&ctx), quota::limit_range(&ctx)];
    children.extend(network_policy::policies(
        &ctx,
        config,
        rollout.external_database.as_ref(),
    ));
    children.extend(database::database(&ctx, config));
    if rollout.import {
        children.extend(migration::import_job(&ctx, config));
    }
    if let Some(version) = &rollout.migration_version {
        children.push(migration::migration_job(&ctx, config, version));
    }
    if let Some(version) = &rollout.instance_version {
        children.push(deployment::deployment(&ctx, config, version));
    }
    children.push(service::service(&ctx));
    children.extend(ingress::ingress(&ctx));
    if config.service_monitor {
        children.push(service_monitor::service_monitor(&ctx));
    }
    children.push(disruption_budget::instance_budget(&ctx));
    Ok(children)
}

/// The migration Job of `version`, which must complete before the Deployment runs `version`.
pub fn migration_job(coop: &Cooperative, config: &ChildConfig, version: &str) -> Result<Child> {
    Ok(migration::migration_job(&Ctx::new(coop)?, config, version))
}

/// The import Job of `bootstrap.fromExport`, when the spec has one.
pub fn import_job(coop: &Cooperative, config: &ChildConfig) -> Result<Option<Child>> {
    Ok(migration::import_job(&Ctx::new(coop)?, config))
}

/// The version `coop` asks for, or the operator's default.
pub fn target_version<'a>(coop: &'a Cooperative, config: &'a ChildConfig) -> &'a str {
    coop.spec
        .instance
        .version
        .as_deref()
        .unwrap_or(&config.default_version)
}

/// URL of the instance API: the public host when there is one, else the in-cluster Service.
pub fn endpoint(coop: &Cooperative) -> Option<String> {
    let name = coop.metadata.name.as_deref()?;
    let namespace = coop.metadata.namespace.as_deref()?;
    Some(match &coop.spec.domain {
        Some(domain) if domain.tls.is_some() => format!("https://{}", domain.host),
        Some(domain) => format!("http://{}", domain.host),
        None => format!("http://{name}.{namespace}.svc:{INSTANCE_PORT}"),
    })
}

/// Name of the database Service, StatefulSet or CloudNativePG Cluster.
pub fn database_name(coop_name: &str) -> String {
    format!("{coop_name}-db")
}

/// Name of the claim of the builtin database's volume, made by the StatefulSet controller.
pub fn database_claim_name(coop_name: &str) -> String {
    database::claim_name(coop_name)
}

/// `child` with what its kind cannot change after creation taken from `live`, the object as
/// it exists: for the builtin database's StatefulSet, its claim templates, selector and
/// service name. Other kinds are left as they are.
pub fn keep_created(child: &mut Child, live: &Value) {
    if child.kind == ChildKind::StatefulSet {
        database::keep_created(&mut child.object, live);
    }
}

/// `child`, the builtin database's StatefulSet, keeping the PostgreSQL image of `live` when
/// the desired one is of another major version; returns `(kept image, refused image)` then.
pub fn keep_postgres_major(child: &mut Child, live: &Value) -> Option<(String, String)> {
    if child.kind != ChildKind::StatefulSet {
        return None;
    }
    database::keep_postgres_major(&mut child.object, live)
}

/// `(image it runs, image child asks for)` of the builtin database's StatefulSet `child`,
/// when `live`, the StatefulSet as it exists, runs another one.
pub fn postgres_image_change(child: &Child, live: &Value) -> Option<(String, String)> {
    if child.kind != ChildKind::StatefulSet {
        return None;
    }
    database::postgres_image_change(&child.object, live)
}

/// `child`, the builtin database's StatefulSet, keeping the PostgreSQL image of `live`.
pub fn keep_postgres_image(child: &mut Child, live: &Value) {
    if child.kind == ChildKind::StatefulSet {
        database::keep_postgres_image(&mut child.object, live);
    }
}

/// What `coop`'s `database.storage` asks of `claim`, its builtin database's volume claim as
/// it exists.
pub fn claim_plan(coop: &Cooperative, claim: &Value) -> ClaimPlan {
    database::claim_plan(&coop.spec.database.storage, claim)
}

/// Label selector matching every child of the Cooperative `coop_name`.
pub fn selector(coop_name: &str) -> String {
    format!("{INSTANCE_LABEL}={coop_name},app.kubernetes.io/managed-by={MANAGER}")
}

/// Every child of `coop` over its first rollout, generated Secrets first (without values), as
/// multi-document YAML: what `mono-operator render` prints.
pub fn render(coop: &Cooperative, config: &ChildConfig) -> Result<String> {
    let mut children = secrets::generated(coop)?;
    children.extend(desired(coop, config, &Rollout::first(coop, config))?);
    to_yaml(&children)
}

/// Multi-document YAML of `children`, each preceded by `---`.
pub fn to_yaml(children: &[Child]) -> Result<String> {
    let mut out = String::new();
    for child in children {
        out.push_str("---\n");
        out.push_str(&serde_norway::to_string(&child.object).map_err(Error::Yaml)?);
    }
    Ok(out)
}

/// What every builder needs to know about the Cooperative.
pub(crate) struct Ctx<'a> {
    pub(crate) coop: &'a Cooperative,
    pub(crate) name: &'a str,
    pub(crate) namespace: &'a str,
    owner: Option<OwnerReference>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(coop: &'a Cooperative) -> Result<Ctx<'a>> {
        let name = coop
            .metadata
            .name
            .as_deref()
            .ok_or(Error::MissingObjectKey("metadata.name"))?;
        let namespace = coop
            .metadata
            .namespace
            .as_deref()
            .ok_or(Error::MissingObjectKey("metadata.namespace"))?;
        // Without a uid (a file given to `render`) there is nothing to own the children yet.
        let owner = coop.controller_owner_ref(&());
        Ok(Ctx {
            coop,
            name,
            namespace,
            owner,
        })
    }

    pub(crate) fn database_mode(&self) -> DatabaseMode {
        self.coop.spec.database.mode
    }

    /// Labels shared by every child of one component.
    pub(crate) fn labels(&self, component: &str) -> BTreeMap<String, String> {
        let mut labels = self.selector_labels(component);
        for (key, value) in [
            ("app.kubernetes.io/part-of", "mono"),
            ("app.kubernetes.io/managed-by", MANAGER),
            ("mono.coopenomics.io/coopname", &self.coop.spec.coopname),
        ] {
            labels.insert(key.to_owned(), value.to_owned());
        }
        labels
    }

    /// Labels that select the pods of one component.
    pub(crate) fn selector_labels(&self, component: &str) -> BTreeMap<String, String> {
        [
            ("app.kubernetes.io/name", "mono"),
            (INSTANCE_LABEL, self.name),
            (COMPONENT_LABEL, component),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
    }

    /// The selector of the pods of one component.
    pub(crate) fn selector(&self, component: &str) -> LabelSelector {
        LabelSelector {
            match_labels: Some(self.selector_labels(component)),
            ..LabelSelector::default()
        }
    }

    /// `metadata` of a child: name, namespace, labels and the controller owner reference.
    pub(crate) fn metadata(&self, name: &str, component: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(self.namespace.to_owned()),
            labels: Some(self.labels(component)),
            owner_references: self.owner.clone().map(|owner| vec![owner]),
            ..ObjectMeta::default()
        }
    }

    /// The instance image at `version`, pinned by digest where staff know it. A digest is
    /// known only for the operator's repository: a Cooperative's own image is pulled by tag.
    pub(crate) fn image(&self, config: &ChildConfig, version: &str) -> String {
        match &self.coop.spec.instance.image {
            Some(repository) => format!("{repository}:{version}"),
            None => match config.instance_digests.get(version) {
                Some(digest) => format!("{}:{version}@{digest}", config.instance_image),
                None => format!("{}:{version}", config.instance_image),
            },
        }
    }
}

/// Whether `text` is an image digest as the operator takes them: `sha256:` and 64 lowercase
/// hex digits.
pub fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Security context every operator-made container runs with.
pub(crate) fn container_security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_owned()]),
            ..Capabilities::default()
        }),
        ..SecurityContext::default()
    }
}

/// `pod` with `spec.scheduling` (pull secrets, node selector, tolerations): every pod of the
/// cooperative, instance, Jobs and builtin database, is placed and pulled the same way.
pub(crate) fn scheduled(ctx: &Ctx<'_>, pod: PodSpec) -> PodSpec {
    let scheduling = &ctx.coop.spec.scheduling;
    PodSpec {
        image_pull_secrets: (!scheduling.image_pull_secrets.is_empty()).then(|| {
            scheduling
                .image_pull_secrets
                .iter()
                .map(|name| LocalObjectReference { name: name.clone() })
                .collect()
        }),
        node_selector: (!scheduling.node_selector.is_empty())
            .then(|| scheduling.node_selector.clone()),
        tolerations: (!scheduling.tolerations.is_empty()).then(|| scheduling.tolerations.clone()),
        ..pod
    }
}

/// Pod security context for a non-root user `uid`.
pub(crate) fn pod_security_context(uid: i64) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(uid),
        run_as_group: Some(uid),
        fs_group: Some(uid),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_owned(),
            ..SeccompProfile::default()
        }),
        ..PodSecurityContext::default()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use super::*;
    use crate::fixtures::{CooperativeFixture, check_golden, test_config, test_cooperative};

    fn render_rollout(coop: &Cooperative, config: &ChildConfig, rollout: &Rollout) -> String {
        let mut children = secrets::generated(coop).unwrap();
        children.extend(desired(coop, config, rollout).unwrap());
        to_yaml(&children).unwrap()
    }

    #[test]
    fn golden_children_of_representative_specs() {
        let config = test_config();
        let cases = [
            ("builtin.yaml", test_cooperative()),
            ("cloudnativepg.yaml", test_cooperative().cloudnativepg()),
            ("external.yaml", test_cooperative().external_db()),
            ("suspended.yaml", test_cooperative().suspended()),
            ("ingress-tls.yaml", test_cooperative().with_domain_tls()),
            (
                "from-export.yaml",
                test_cooperative().bootstrapped_from_export(),
            ),
            ("scheduled.yaml", test_cooperative().scheduled()),
        ];
        for (file, coop) in cases {
            let mut rollout = Rollout::first(&coop, &config);
            if coop.spec.database.mode == DatabaseMode::External {
                rollout.external_database = Some(DatabaseAddress {
                    host: "192.0.2.10".to_owned(),
                    port: 6432,
                });
            }
            check_golden(file, &render_rollout(&coop, &config, &rollout));
        }
    }

    #[test]
    fn golden_children_while_migrating() {
        let config = test_config();
        let coop = test_cooperative().version("2.5.0");
        let rollout = Rollout {
            instance_version: Some("2.4.1".to_owned()),
            migration_version: Some("2.5.0".to_owned()),
            ..Rollout::default()
        };
        check_golden("migrating.yaml", &render_rollout(&coop, &config, &rollout));
    }

    #[test]
    fn example_renders_every_kind() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/cooperative.yaml");
        let coop: Cooperative =
            serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let yaml = render(&coop, &test_config()).unwrap();
        let kinds: Vec<&str> = yaml
            .lines()
            .filter_map(|line| line.strip_prefix("kind: "))
            .collect();
        assert_eq!(
            kinds,
            [
                "Secret",
                "Secret",
                "Secret",
                "ResourceQuota",
                "LimitRange",
                "NetworkPolicy",
                "NetworkPolicy",
                "NetworkPolicy",
                "NetworkPolicy",
                // The example's TLS certificate comes from a ClusterIssuer: the solver is let in.
                "NetworkPolicy",
                "Service",
                "StatefulSet",
                "Job",
                "Deployment",
                "Service",
                "Ingress",
                "ServiceMonitor",
                "PodDisruptionBudget",
            ]
        );
    }

    #[test]
    fn every_child_is_labelled_owned_and_namespaced() {
        let config = test_config();
        for coop in [
            test_cooperative(),
            test_cooperative().cloudnativepg().with_domain_tls(),
        ] {
            let rollout = Rollout::first(&coop, &config);
            for child in desired(&coop, &config, &rollout).unwrap() {
                let meta = &child.object["metadata"];
                assert_eq!(meta["name"], json!(child.name));
                assert_eq!(meta["namespace"], json!("coop-voskhod"));
                assert_eq!(meta["labels"][INSTANCE_LABEL], json!("voskhod"));
                assert_eq!(
                    meta["labels"]["app.kubernetes.io/managed-by"],
                    json!(MANAGER)
                );
                assert_eq!(meta["ownerReferences"][0]["kind"], json!("Cooperative"));
                assert_eq!(meta["ownerReferences"][0]["controller"], json!(true));
                let resource = child.kind.api_resource();
                assert_eq!(child.object["kind"], json!(resource.kind));
                assert_eq!(child.object["apiVersion"], json!(resource.api_version));
            }
        }
    }

    #[test]
    fn service_monitor_only_when_the_kind_exists() {
        let coop = test_cooperative();
        for (service_monitor, expected) in [(true, 1), (false, 0)] {
            let config = ChildConfig {
                service_monitor,
                ..test_config()
            };
            let rollout = Rollout::first(&coop, &config);
            let children = desired(&coop, &config, &rollout).unwrap();
            let found = children
                .iter()
                .filter(|child| child.kind == ChildKind::ServiceMonitor)
                .count();
            assert_eq!(found, expected, "service_monitor={service_monitor}");
        }
    }

    #[test]
    fn endpoint_prefers_the_public_host() {
        let cases = [
            (test_cooperative(), "http://voskhod.coop-voskhod.svc:8080"),
            (
                test_cooperative().with_domain(),
                "http://voskhod.example.org",
            ),
            (
                test_cooperative().with_domain_tls(),
                "https://voskhod.example.org",
            ),
        ];
        for (coop, expected) in cases {
            assert_eq!(endpoint(&coop).as_deref(), Some(expected));
        }
    }

    #[test]
    fn digests() {
        let hex = "0123456789abcdef".repeat(4);
        let cases = [
            (format!("sha256:{hex}"), true),
            (hex.clone(), false),
            (format!("sha256:{}", hex.to_uppercase()), false),
            (format!("sha256:{}", &hex[1..]), false),
            (format!("sha512:{hex}"), false),
            (String::new(), false),
        ];
        for (text, expected) in cases {
            assert_eq!(is_digest(&text), expected, "{text}");
        }
    }

    #[test]
    fn missing_namespace_is_an_error() {
        let mut coop = test_cooperative();
        coop.metadata.namespace = None;
        let err = desired(
            &coop,
            &test_config(),
            &Rollout::first(&coop, &test_config()),
        );
        assert!(matches!(
            err,
            Err(Error::MissingObjectKey("metadata.namespace"))
        ));
    }
}
