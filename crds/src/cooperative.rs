//! The `Cooperative` custom resource: one MONO instance with its database, at most one per
//! namespace.
//!
//! Defaults live here so that `kubectl get -o yaml`, the operator and `mono-operator render`
//! agree on them; rules the API server can check statically are CEL rules on the schema.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ResourceRequirements, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::coopname::COOPNAME_PATTERN;

/// Desired state of one cooperative's MONO instance.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "mono.coopenomics.io",
    version = "v1alpha1",
    kind = "Cooperative",
    namespaced,
    status = "CooperativeStatus",
    shortname = "coop",
    category = "mono",
    doc = "One cooperative's MONO instance with its own database; at most one per namespace.",
    printcolumn = r#"{"name":"Coopname","type":"string","jsonPath":".spec.coopname"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".status.version"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Synced","type":"integer","jsonPath":".status.syncedBlock"}"#,
    printcolumn = r#"{"name":"Storage","type":"string","jsonPath":".status.usage.storage"}"#,
    printcolumn = r#"{"name":"Documents","type":"integer","jsonPath":".status.usage.documents"}"#,
    printcolumn = r#"{"name":"Endpoint","type":"string","priority":1,"jsonPath":".status.endpoint"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = Rule::new(
    "has(oldSelf.bootstrap) == has(self.bootstrap) && (!has(self.bootstrap) || self.bootstrap == oldSelf.bootstrap)"
).message("bootstrap is set at creation and cannot change"))]
#[serde(rename_all = "camelCase")]
pub struct CooperativeSpec {
    /// Antelope account of the cooperative on the chain (1-12 characters of a-z, 1-5, '.').
    #[schemars(regex(pattern = COOPNAME_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("coopname is immutable"))]
    pub coopname: String,
    /// Chain endpoints the instance follows and pushes to.
    pub chain: ChainSpec,
    /// Instance version, image and sizing.
    #[serde(default)]
    pub instance: InstanceSpec,
    /// Where the instance keeps its database.
    #[serde(default)]
    pub database: DatabaseSpec,
    /// Public host name and TLS; without it the instance is reachable only inside the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainSpec>,
    /// References to Secrets the cooperative provides itself.
    #[serde(default)]
    pub secrets: SecretsSpec,
    /// E-mail the instance sends (key reset tokens, council invitations); without it those
    /// operations answer `UNAVAILABLE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpSpec>,
    /// Names of instance extensions to enable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
    /// What happens to the database volume and generated Secrets when the Cooperative is deleted.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// Scale the instance to zero while keeping the database and all data.
    #[serde(default)]
    pub suspend: bool,
    /// How a new cooperative gets its first data; only honoured at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<Bootstrap>,
    /// Namespace budget enforced with a ResourceQuota and LimitRange.
    #[serde(default)]
    pub quota: QuotaSpec,
    /// Where the cooperative's pods run and how their images are pulled (staff only).
    #[serde(default, skip_serializing_if = "SchedulingSpec::is_empty")]
    pub scheduling: SchedulingSpec,
}

/// Placement and image pulling of every pod of the cooperative: instance, Jobs and builtin
/// database (staff only).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingSpec {
    /// Secrets (in the Cooperative's namespace) with credentials of private registries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<String>,
    /// Labels the nodes must have.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Taints the pods tolerate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
}

impl SchedulingSpec {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self == &SchedulingSpec::default()
    }
}

/// Chain endpoints of a COOPOS (Antelope) network.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChainSpec {
    /// Chain API v1 base URL (http or https).
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("self.startsWith('http://') || self.startsWith('https://')").message("chain.apiUrl must be an http(s) URL"))]
    pub api_url: String,
    /// State History (SHiP) websocket URL (ws or wss).
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("self.startsWith('ws://') || self.startsWith('wss://')").message("chain.shipUrl must be a ws(s) URL"))]
    pub ship_url: String,
    /// Chain id: 64 hexadecimal characters.
    #[schemars(regex(pattern = "^[0-9a-fA-F]{64}$"))]
    pub chain_id: String,
}

/// Version, image and sizing of the instance Deployment.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InstanceSpec {
    /// Instance version, also the image tag; the operator's default version when absent.
    /// Changing it runs the migration Job before the rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"))]
    pub version: Option<String>,
    /// Image repository overriding the operator's default (staff only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Number of instance pods while not suspended.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 0, max = 10))]
    pub replicas: i32,
    /// CPU and memory of each instance pod (staff only); defaults suit a small cooperative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

/// How the database is provided.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseMode {
    /// A single PostgreSQL StatefulSet with a volume, run by the operator.
    #[default]
    Builtin,
    /// A CloudNativePG `Cluster` (the CloudNativePG operator must be installed).
    Cloudnativepg,
    /// A database run elsewhere; its URL is read from a Secret.
    External,
}

/// Database of the instance.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[x_kube(validation = Rule::new("self.mode != 'external' || has(self.external)").message("external database needs external.secretRef"))]
#[serde(rename_all = "camelCase")]
pub struct DatabaseSpec {
    /// `builtin` (default), `cloudnativepg` or `external` (staff only).
    #[serde(default)]
    #[x_kube(validation = Rule::new("self == oldSelf").message("database mode is immutable"))]
    pub mode: DatabaseMode,
    /// Volume of the builtin or CloudNativePG database.
    #[serde(default)]
    pub storage: StorageSpec,
    /// Connection of an external database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalDatabase>,
}

/// Size and class of a persistent volume.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// Requested size, a Kubernetes quantity such as `10Gi`.
    #[serde(default = "default_storage_size")]
    #[schemars(regex(pattern = "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$"))]
    pub size: String,
    /// StorageClass; the cluster default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
}

/// A database the cooperative or staff run outside the operator.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExternalDatabase {
    /// Secret key holding a `postgres://` URL.
    pub secret_ref: SecretKeyRef,
}

/// One key of a Secret in the Cooperative's namespace.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Secret name.
    pub name: String,
    /// Key inside the Secret.
    pub key: String,
}

/// Public host name of the instance.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DomainSpec {
    /// Fully qualified host name served by the Ingress.
    #[schemars(regex(
        pattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    ))]
    pub host: String,
    /// IngressClass; the cluster default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_class_name: Option<String>,
    /// TLS for the host; plain HTTP when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSpec>,
}

/// TLS certificate of the public host.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TlsSpec {
    /// Secret with the certificate; `<name>-tls` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// cert-manager ClusterIssuer that issues the certificate into the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_issuer: Option<String>,
}

/// Secrets the cooperative provides; everything else is generated once by the operator.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecretsSpec {
    /// The cooperative's private key (K1), used to sign its transactions and documents.
    /// Without it the instance follows the chain but cannot sign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooperative_key: Option<SecretKeyRef>,
}

/// The SMTP server the instance sends e-mail through.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SmtpSpec {
    /// Secret key holding the SMTP URL, credentials included (`smtps://user:password@host`,
    /// `smtp://user:password@host:587?tls=required`).
    pub url_secret_ref: SecretKeyRef,
    /// The sender (`Кооператив «Восход» <noreply@voskhod.coop>`).
    #[schemars(length(min = 3, max = 320))]
    pub from: String,
}

/// What deleting the Cooperative does to its data.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeletionPolicy {
    /// Keep the database volume and the generated Secrets (they lose their owner).
    #[default]
    Retain,
    /// Delete the database volume and the generated Secrets with the Cooperative.
    Delete,
}

/// First data of a new cooperative.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Bootstrap {
    /// Restore from a volume written by a `CooperativeExport`.
    pub from_export: FromExport,
}

/// An exported volume to import before the instance starts.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FromExport {
    /// PersistentVolumeClaim holding the export, in the Cooperative's namespace.
    pub claim_name: String,
    /// Directory of the export inside the volume.
    #[serde(default = "default_export_path")]
    pub path: String,
}

/// Namespace budget (staff only).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QuotaSpec {
    /// Total CPU limits in the namespace.
    #[serde(default = "default_quota_cpu")]
    pub cpu: String,
    /// Total memory limits in the namespace.
    #[serde(default = "default_quota_memory")]
    pub memory: String,
    /// Total requested storage in the namespace.
    #[serde(default = "default_quota_storage")]
    pub storage: String,
    /// Number of pods in the namespace.
    #[serde(default = "default_quota_pods")]
    pub pods: String,
}

/// Observed state of a Cooperative, written by the operator.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CooperativeStatus {
    /// `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// One-word summary; the conditions carry the detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// `Ready`, `Progressing`, `Degraded`, `DatabaseReady`, `Synced`, `Upgrading`, `Reconciled`,
    /// and `Importing` while a `bootstrap.fromExport` has not run an instance yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// URL of the instance API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Version every ready instance pod runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Last block the instance has applied, from its `/status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_block: Option<u64>,
    /// Chain head block seen by the instance, from its `/status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_block: Option<u64>,
    /// What the cooperative uses, as its instance last reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<CooperativeUsage>,
}

/// Usage of one cooperative, the basis of metering stored, processed and transmitted
/// information.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CooperativeUsage {
    /// Bytes its database takes.
    pub storage_bytes: u64,
    /// The same, readable (`512Mi`, `1.5Gi`).
    pub storage: String,
    /// Documents its actions carried on chain.
    pub documents: u64,
    /// HTTP requests the instance replica that answered served since it started.
    pub api_requests: u64,
    /// Response bytes that replica sent since it started.
    pub bytes_sent: u64,
}

/// Summary of a Cooperative's state.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Children are being created or the database is starting.
    Provisioning,
    /// Every instance pod is ready on the requested version.
    Running,
    /// A new version is being migrated to or rolled out.
    Upgrading,
    /// Scaled to zero on request.
    Suspended,
    /// Something needs a person; see the `Degraded` condition.
    Degraded,
    /// The spec cannot be acted on; see the `Ready` condition.
    Failed,
}

impl Phase {
    /// Every phase, in the order they are reported in metrics.
    pub const ALL: [Phase; 6] = [
        Phase::Provisioning,
        Phase::Running,
        Phase::Upgrading,
        Phase::Suspended,
        Phase::Degraded,
        Phase::Failed,
    ];

    /// The name used in status and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Provisioning => "Provisioning",
            Phase::Running => "Running",
            Phase::Upgrading => "Upgrading",
            Phase::Suspended => "Suspended",
            Phase::Degraded => "Degraded",
            Phase::Failed => "Failed",
        }
    }
}

impl Default for InstanceSpec {
    fn default() -> Self {
        InstanceSpec {
            version: None,
            image: None,
            replicas: default_replicas(),
            resources: None,
        }
    }
}

impl Default for StorageSpec {
    fn default() -> Self {
        StorageSpec {
            size: default_storage_size(),
            storage_class_name: None,
        }
    }
}

impl Default for QuotaSpec {
    fn default() -> Self {
        QuotaSpec {
            cpu: default_quota_cpu(),
            memory: default_quota_memory(),
            storage: default_quota_storage(),
            pods: default_quota_pods(),
        }
    }
}

fn default_replicas() -> i32 {
    1
}

fn default_storage_size() -> String {
    "10Gi".to_owned()
}

fn default_export_path() -> String {
    "export".to_owned()
}

fn default_quota_cpu() -> String {
    "4".to_owned()
}

fn default_quota_memory() -> String {
    "8Gi".to_owned()
}

fn default_quota_storage() -> String {
    "100Gi".to_owned()
}

fn default_quota_pods() -> String {
    "20".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
apiVersion: mono.coopenomics.io/v1alpha1
kind: Cooperative
metadata: {name: voskhod, namespace: coop-voskhod}
spec:
  coopname: voskhod
  chain:
    apiUrl: https://api.coopos.example
    shipUrl: wss://ship.coopos.example
    chainId: 6e37f9ac0f0ea717bfbed3ef2e2bd7e0ba0ee9d4d0f57a1f0d1e8e1e2a5b8d2c
"#;

    #[test]
    fn minimal_spec_gets_safe_defaults() {
        let coop: Cooperative = serde_norway::from_str(MINIMAL).unwrap();
        assert_eq!(coop.spec.database.mode, DatabaseMode::Builtin);
        assert_eq!(coop.spec.database.storage.size, "10Gi");
        assert_eq!(coop.spec.deletion_policy, DeletionPolicy::Retain);
        assert_eq!(coop.spec.instance.replicas, 1);
        assert_eq!(coop.spec.instance.version, None);
        assert!(!coop.spec.suspend);
        assert_eq!(coop.spec.quota, QuotaSpec::default());
        assert_eq!(coop.status, None);
    }

    fn minimal() -> Cooperative {
        serde_norway::from_str(MINIMAL).unwrap()
    }

    /// Runs the CRD's CEL rules on `new` (a create when `old` is `None`) and returns the
    /// messages of the rules that failed.
    fn cel_failures(new: &Cooperative, old: Option<&Cooperative>) -> String {
        let result = match old {
            None => kube::core::cel::validate_cel(new),
            Some(old) => kube::core::cel::validate_cel_update(new, old),
        };
        match result {
            Ok(()) => String::new(),
            Err(errors) => errors.to_string(),
        }
    }

    #[test]
    fn cel_rules_on_create() {
        let external = |with_secret: bool| {
            let mut coop = minimal();
            coop.spec.database.mode = DatabaseMode::External;
            if with_secret {
                coop.spec.database.external = Some(ExternalDatabase {
                    secret_ref: SecretKeyRef {
                        name: "pg".to_owned(),
                        key: "url".to_owned(),
                    },
                });
            }
            coop
        };
        let mut ftp = minimal();
        ftp.spec.chain.api_url = "ftp://api.coopos.example".to_owned();
        let cases = [
            (minimal(), None),
            (external(true), None),
            (
                external(false),
                Some("external database needs external.secretRef"),
            ),
            (ftp, Some("chain.apiUrl must be an http(s) URL")),
        ];
        for (coop, expected) in cases {
            let failures = cel_failures(&coop, None);
            match expected {
                None => assert_eq!(failures, "", "{:?}", coop.spec),
                Some(message) => assert!(failures.contains(message), "{failures}"),
            }
        }
    }

    #[test]
    fn cel_rules_on_update() {
        let old = minimal();
        let changed = |change: fn(&mut Cooperative)| {
            let mut coop = minimal();
            change(&mut coop);
            coop
        };
        let cases = [
            (
                changed(|c| c.spec.instance.version = Some("2.5.0".to_owned())),
                None,
            ),
            (changed(|c| c.spec.suspend = true), None),
            (
                changed(|c| c.spec.coopname = "zarya".to_owned()),
                Some("coopname is immutable"),
            ),
            (
                changed(|c| c.spec.database.mode = DatabaseMode::Cloudnativepg),
                Some("database mode is immutable"),
            ),
            (
                changed(|c| {
                    c.spec.bootstrap = Some(Bootstrap {
                        from_export: FromExport {
                            claim_name: "move-export".to_owned(),
                            path: "export".to_owned(),
                        },
                    })
                }),
                Some("bootstrap is set at creation and cannot change"),
            ),
        ];
        for (coop, expected) in cases {
            let failures = cel_failures(&coop, Some(&old));
            match expected {
                None => assert_eq!(failures, "", "{:?}", coop.spec),
                Some(message) => assert!(failures.contains(message), "{failures}"),
            }
        }
    }

    #[test]
    fn enums_use_their_documented_spellings() {
        let cases = [
            (
                serde_json::to_value(DatabaseMode::Cloudnativepg),
                "cloudnativepg",
            ),
            (serde_json::to_value(DatabaseMode::External), "external"),
            (serde_json::to_value(DeletionPolicy::Delete), "Delete"),
            (serde_json::to_value(Phase::Running), "Running"),
        ];
        for (value, expected) in cases {
            assert_eq!(value.unwrap(), serde_json::json!(expected));
        }
        for phase in Phase::ALL {
            assert_eq!(serde_json::to_value(phase).unwrap(), phase.as_str());
        }
    }
}
