//! The database of an instance: a builtin PostgreSQL StatefulSet with its Service and volume,
//! a CloudNativePG `Cluster`, or nothing for an external database (whose Secret is only
//! referenced).
//!
//! A StatefulSet's claim templates, selector and service name cannot change once it exists
//! (the API server refuses the update with 422), so an existing StatefulSet is applied with
//! those fields as it was created ([`keep_created`]), and a larger `database.storage.size` is
//! asked of the volume's claim itself ([`claim_plan`]), which may grow but never shrink.

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, EnvVarSource, ExecAction, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
    SecretKeySelector, Service, ServicePort, ServiceSpec, TCPSocketAction,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use mono_crds::{DatabaseMode, StorageSpec};
use serde_json::{Value, json};

use super::deployment::{empty_dir, mount, value_env};
use super::quota::quantities;
use super::secrets::{DATABASE_URL_KEY, DATABASE_USER};
use super::{
    Child, ChildConfig, ChildKind, Ctx, POSTGRES_PORT, container_security_context, database_name,
    pod_security_context, scheduled,
};
use crate::status::StorageState;

/// User id of the `postgres` user in the official PostgreSQL image.
const POSTGRES_UID: i64 = 999;
/// Name of the StatefulSet's claim template; its claim is `data-<set>-0`.
const DATA_TEMPLATE: &str = "data";
/// The fields of a StatefulSet's spec that may change after creation.
const STATEFUL_SET_MUTABLE: [&str; 7] = [
    "replicas",
    "template",
    "updateStrategy",
    "minReadySeconds",
    "ordinals",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
];

/// What to do about the builtin database's volume claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimPlan {
    /// Nothing to write; the claim is in this state.
    Observe(StorageState),
    /// Ask the claim for `to`; it asks for `from` now.
    Grow {
        /// The size the claim asks for now.
        from: String,
        /// The size the spec asks for.
        to: String,
    },
}

/// Name of the claim the StatefulSet controller makes for the builtin database's only pod.
pub(crate) fn claim_name(coop_name: &str) -> String {
    format!("{DATA_TEMPLATE}-{}-0", database_name(coop_name))
}

/// `set`, the StatefulSet to apply, with every field that cannot change after creation taken
/// from `live`, the StatefulSet as it exists: its claim templates (and so the size the volume
/// was created with), selector and service name are sent back unchanged, and none is added.
pub(crate) fn keep_created(set: &mut Value, live: &Value) {
    let (Some(spec), Some(live_spec)) = (set["spec"].as_object_mut(), live["spec"].as_object())
    else {
        return;
    };
    let fixed = |key: &String| !STATEFUL_SET_MUTABLE.contains(&key.as_str());
    spec.retain(|key, _| !fixed(key) || live_spec.contains_key(key));
    for (key, value) in live_spec.iter().filter(|(key, _)| fixed(key)) {
        spec.insert(key.clone(), value.clone());
    }
}

/// The PostgreSQL major version of an image reference: the leading number of its tag
/// (`postgres:17.6` → 17, `postgres:18-alpine@sha256:…` → 18); `None` without a numeric tag.
pub(crate) fn postgres_major(image: &str) -> Option<u32> {
    let reference = image.split('@').next()?;
    let (_, tag) = reference.rsplit_once(':')?;
    // A registry port (`registry:5000/postgres`) is not a tag.
    if tag.contains('/') {
        return None;
    }
    let digits: String = tag.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Keeps the PostgreSQL image of `live` in `set` when the desired one is of another major
/// version: a server of another major version cannot open the data directory, and
/// `pg_upgrade` is not something a rollout can do. Returns `(live image, refused image)`
/// when it kept it.
pub(crate) fn keep_postgres_major(set: &mut Value, live: &Value) -> Option<(String, String)> {
    let (live_image, desired_image) = postgres_image_change(set, live)?;
    if postgres_major(&live_image)? == postgres_major(&desired_image)? {
        return None;
    }
    keep_postgres_image(set, live);
    Some((live_image, desired_image))
}

/// `(image it runs, image set asks for)` of the database container, when they differ.
pub(crate) fn postgres_image_change(set: &Value, live: &Value) -> Option<(String, String)> {
    let live_image = postgres_image(live)?.to_owned();
    let desired_image = postgres_image(set)?.to_owned();
    (live_image != desired_image).then_some((live_image, desired_image))
}

/// `set` with the database container's image `live` runs.
pub(crate) fn keep_postgres_image(set: &mut Value, live: &Value) {
    if let Some(image) = postgres_image(live) {
        set["spec"]["template"]["spec"]["containers"][0]["image"] = Value::String(image.to_owned());
    }
}

fn postgres_image(set: &Value) -> Option<&str> {
    set["spec"]["template"]["spec"]["containers"][0]["image"].as_str()
}

/// What `storage` asks of `claim`, the database volume's claim as it exists: grow it, or
/// nothing because it is as asked, still growing, or asked to shrink or change class (which
/// no volume can).
pub(crate) fn claim_plan(storage: &StorageSpec, claim: &Value) -> ClaimPlan {
    let name = claim["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let class = claim["spec"]["storageClassName"]
        .as_str()
        .unwrap_or_default();
    if let Some(requested) = storage
        .storage_class_name
        .as_deref()
        .filter(|requested| *requested != class)
    {
        let current = if class.is_empty() { "(none)" } else { class };
        return ClaimPlan::Observe(StorageState::ClassChangeRefused {
            claim: name,
            current: current.to_owned(),
            requested: requested.to_owned(),
        });
    }
    let size = claim["spec"]["resources"]["requests"]["storage"]
        .as_str()
        .unwrap_or_default();
    let capacity = claim["status"]["capacity"]["storage"].as_str();
    let (Some(wanted), Some(asked)) = (quantity(&storage.size), quantity(size)) else {
        return ClaimPlan::Observe(StorageState::AsRequested);
    };
    if wanted > asked {
        return ClaimPlan::Grow {
            from: size.to_owned(),
            to: storage.size.clone(),
        };
    }
    if wanted < asked {
        return ClaimPlan::Observe(StorageState::ShrinkRefused {
            claim: name,
            current: size.to_owned(),
            requested: storage.size.clone(),
        });
    }
    match capacity {
        Some(capacity) if quantity(capacity).is_some_and(|has| has < asked) => {
            ClaimPlan::Observe(StorageState::Expanding {
                claim: name,
                from: capacity.to_owned(),
                to: size.to_owned(),
            })
        }
        _ => ClaimPlan::Observe(StorageState::AsRequested),
    }
}

/// Bytes of a Kubernetes quantity such as `10Gi` or `500M` (a decimal number and an optional
/// binary or decimal suffix); `None` for anything else.
pub(crate) fn quantity(text: &str) -> Option<f64> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let multiplier = match suffix {
        "" => 1.0,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024_f64,
        "Mi" => 1024_f64.powi(2),
        "Gi" => 1024_f64.powi(3),
        "Ti" => 1024_f64.powi(4),
        "Pi" => 1024_f64.powi(5),
        "Ei" => 1024_f64.powi(6),
        _ => return None,
    };
    Some(number * multiplier)
}

/// The `MONO_DATABASE_URL` environment entry, read from the Secret of the database mode.
pub(crate) fn database_url_env(ctx: &Ctx<'_>) -> EnvVar {
    let (name, key) = match ctx.database_mode() {
        DatabaseMode::Builtin => (database_name(ctx.name), DATABASE_URL_KEY.to_owned()),
        // CloudNativePG writes the application credentials into `<cluster>-app`.
        DatabaseMode::Cloudnativepg => {
            (format!("{}-app", database_name(ctx.name)), "uri".to_owned())
        }
        DatabaseMode::External => match &ctx.coop.spec.database.external {
            Some(external) => (
                external.secret_ref.name.clone(),
                external.secret_ref.key.clone(),
            ),
            // The CRD requires `external` in this mode; fall back to the builtin name so the
            // pod fails visibly on a missing Secret rather than connecting somewhere else.
            None => (database_name(ctx.name), DATABASE_URL_KEY.to_owned()),
        },
    };
    secret_env("MONO_DATABASE_URL", &name, &key)
}

/// An environment variable read from the key `key` of the Secret `secret`.
pub(crate) fn secret_env(env: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: env.to_owned(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_owned(),
                key: key.to_owned(),
                ..SecretKeySelector::default()
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

/// Children of the database for the Cooperative's mode.
pub(crate) fn database(ctx: &Ctx<'_>, config: &ChildConfig) -> Vec<Child> {
    match ctx.database_mode() {
        DatabaseMode::Builtin => vec![service(ctx), stateful_set(ctx, config)],
        DatabaseMode::Cloudnativepg => vec![cnpg_cluster(ctx)],
        DatabaseMode::External => Vec::new(),
    }
}

fn service(ctx: &Ctx<'_>) -> Child {
    let service = Service {
        metadata: ctx.metadata(&database_name(ctx.name), "database"),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(ctx.selector_labels("database")),
            ports: Some(vec![ServicePort {
                name: Some("postgres".to_owned()),
                port: POSTGRES_PORT,
                target_port: Some(IntOrString::String("postgres".to_owned())),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };
    Child::typed(ChildKind::Service, &service)
}

fn stateful_set(ctx: &Ctx<'_>, config: &ChildConfig) -> Child {
    let name = database_name(ctx.name);
    let storage = &ctx.coop.spec.database.storage;
    let container = Container {
        name: "postgres".to_owned(),
        image: Some(config.postgres_image.clone()),
        ports: Some(vec![ContainerPort {
            name: Some("postgres".to_owned()),
            container_port: POSTGRES_PORT,
            ..ContainerPort::default()
        }]),
        env: Some(vec![
            secret_env("POSTGRES_USER", &name, "username"),
            secret_env("POSTGRES_PASSWORD", &name, "password"),
            secret_env("POSTGRES_DB", &name, "database"),
            value_env("PGDATA", "/var/lib/postgresql/data/pgdata"),
        ]),
        readiness_probe: Some(Probe {
            exec: Some(ExecAction {
                command: Some(
                    [
                        "pg_isready",
                        "-U",
                        DATABASE_USER,
                        "-d",
                        DATABASE_USER,
                        "-h",
                        "127.0.0.1",
                    ]
                    .map(str::to_owned)
                    .to_vec(),
                ),
            }),
            period_seconds: Some(10),
            ..Probe::default()
        }),
        liveness_probe: Some(Probe {
            tcp_socket: Some(TCPSocketAction {
                port: IntOrString::String("postgres".to_owned()),
                ..TCPSocketAction::default()
            }),
            initial_delay_seconds: Some(30),
            period_seconds: Some(20),
            ..Probe::default()
        }),
        resources: Some(ResourceRequirements {
            requests: Some(quantities(&[("cpu", "100m"), ("memory", "256Mi")])),
            limits: Some(quantities(&[("cpu", "1"), ("memory", "1Gi")])),
            ..ResourceRequirements::default()
        }),
        security_context: Some(container_security_context()),
        volume_mounts: Some(vec![
            mount("data", "/var/lib/postgresql/data", false),
            mount("run", "/var/run/postgresql", false),
            mount("tmp", "/tmp", false),
        ]),
        ..Container::default()
    };
    let pod = PodSpec {
        automount_service_account_token: Some(false),
        security_context: Some(pod_security_context(POSTGRES_UID)),
        containers: vec![container],
        volumes: Some(vec![empty_dir("run"), empty_dir("tmp")]),
        ..PodSpec::default()
    };
    let claim = PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(DATA_TEMPLATE.to_owned()),
            labels: Some(ctx.labels("database")),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(quantities(&[("storage", &storage.size)])),
                ..VolumeResourceRequirements::default()
            }),
            storage_class_name: storage.storage_class_name.clone(),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    };
    let set = StatefulSet {
        metadata: ctx.metadata(&name, "database"),
        spec: Some(StatefulSetSpec {
            service_name: Some(name.clone()),
            replicas: Some(1),
            selector: ctx.selector("database"),
            // Volumes outlive the StatefulSet; the finalizer applies the deletion policy.
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some("Retain".to_owned()),
                    when_scaled: Some("Retain".to_owned()),
                },
            ),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(ctx.labels("database")),
                    ..ObjectMeta::default()
                }),
                spec: Some(scheduled(ctx, pod)),
            },
            volume_claim_templates: Some(vec![claim]),
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    };
    Child::typed(ChildKind::StatefulSet, &set)
}

fn cnpg_cluster(ctx: &Ctx<'_>) -> Child {
    let name = database_name(ctx.name);
    let storage = &ctx.coop.spec.database.storage;
    let mut storage_spec = json!({"size": storage.size});
    if let Some(class) = &storage.storage_class_name {
        storage_spec["storageClass"] = json!(class);
    }
    Child {
        kind: ChildKind::CnpgCluster,
        object: json!({
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Cluster",
            "metadata": ctx.metadata(&name, "database"),
            "spec": {
                "instances": 1,
                "inheritedMetadata": {"labels": ctx.labels("database")},
                "bootstrap": {"initdb": {"database": DATABASE_USER, "owner": DATABASE_USER}},
                "storage": storage_spec,
                "resources": {
                    "requests": {"cpu": "100m", "memory": "256Mi"},
                    "limits": {"cpu": "1", "memory": "1Gi"},
                },
            },
        }),
        name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage(size: &str, class: Option<&str>) -> StorageSpec {
        StorageSpec {
            size: size.to_owned(),
            storage_class_name: class.map(str::to_owned),
        }
    }

    fn claim(size: &str, capacity: &str, class: &str) -> Value {
        json!({
            "metadata": {"name": "data-voskhod-db-0"},
            "spec": {"storageClassName": class, "resources": {"requests": {"storage": size}}},
            "status": {"phase": "Bound", "capacity": {"storage": capacity}},
        })
    }

    #[test]
    fn claim_plans() {
        let name = || "data-voskhod-db-0".to_owned();
        let cases = [
            (
                storage("10Gi", None),
                claim("10Gi", "10Gi", "standard"),
                ClaimPlan::Observe(StorageState::AsRequested),
            ),
            // The same size written another way.
            (
                storage("10240Mi", None),
                claim("10Gi", "10Gi", "standard"),
                ClaimPlan::Observe(StorageState::AsRequested),
            ),
            (
                storage("20Gi", Some("standard")),
                claim("10Gi", "10Gi", "standard"),
                ClaimPlan::Grow {
                    from: "10Gi".to_owned(),
                    to: "20Gi".to_owned(),
                },
            ),
            (
                storage("20Gi", None),
                claim("20Gi", "10Gi", "standard"),
                ClaimPlan::Observe(StorageState::Expanding {
                    claim: name(),
                    from: "10Gi".to_owned(),
                    to: "20Gi".to_owned(),
                }),
            ),
            (
                storage("15Gi", None),
                claim("20Gi", "20Gi", "standard"),
                ClaimPlan::Observe(StorageState::ShrinkRefused {
                    claim: name(),
                    current: "20Gi".to_owned(),
                    requested: "15Gi".to_owned(),
                }),
            ),
            (
                storage("10Gi", Some("fast")),
                claim("10Gi", "10Gi", "standard"),
                ClaimPlan::Observe(StorageState::ClassChangeRefused {
                    claim: name(),
                    current: "standard".to_owned(),
                    requested: "fast".to_owned(),
                }),
            ),
        ];
        for (storage, claim, expected) in cases {
            assert_eq!(
                claim_plan(&storage, &claim),
                expected,
                "{storage:?} {claim}"
            );
        }
    }

    #[test]
    fn quantities() {
        let cases = [
            ("10Gi", Some(10_737_418_240.0)),
            ("1.5Ti", Some(1.5 * 1024_f64.powi(4))),
            ("500M", Some(5e8)),
            ("7", Some(7.0)),
            ("10GB", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(quantity(text), expected, "{text}");
        }
    }

    #[test]
    fn an_existing_stateful_set_keeps_what_cannot_change() {
        let mut desired = json!({"spec": {
            "replicas": 1,
            "serviceName": "voskhod-db",
            "selector": {"matchLabels": {"app": "new"}},
            "template": {"spec": {"containers": [{"image": "postgres:18"}]}},
            "volumeClaimTemplates": [{"spec": {"resources": {"requests": {"storage": "20Gi"}}}}],
            "podManagementPolicy": "Parallel",
        }});
        let live = json!({"spec": {
            "replicas": 3,
            "serviceName": "voskhod-db",
            "selector": {"matchLabels": {"app": "old"}},
            "template": {"spec": {"containers": [{"image": "postgres:17"}]}},
            "volumeClaimTemplates": [{"spec": {"resources": {"requests": {"storage": "10Gi"}}}, "status": {"phase": "Pending"}}],
            "revisionHistoryLimit": 10,
        }});
        keep_created(&mut desired, &live);
        assert_eq!(
            desired,
            json!({"spec": {
                "replicas": 1,
                "serviceName": "voskhod-db",
                "selector": {"matchLabels": {"app": "old"}},
                "template": {"spec": {"containers": [{"image": "postgres:18"}]}},
                "volumeClaimTemplates": [{"spec": {"resources": {"requests": {"storage": "10Gi"}}}, "status": {"phase": "Pending"}}],
            }})
        );
    }

    #[test]
    fn postgres_major_versions() {
        let cases = [
            ("docker.io/library/postgres:17.6", Some(17)),
            ("postgres:18", Some(18)),
            ("postgres:18-alpine@sha256:0123", Some(18)),
            ("registry:5000/postgres", None),
            ("postgres:latest", None),
            ("postgres", None),
        ];
        for (image, expected) in cases {
            assert_eq!(postgres_major(image), expected, "{image}");
        }
    }

    #[test]
    fn another_postgres_major_is_never_rolled_out() {
        let set = |image: &str| json!({"spec": {"template": {"spec": {"containers": [{"image": image}]}}}});
        let live = set("postgres:17.6");
        let mut minor = set("postgres:17.7");
        assert_eq!(keep_postgres_major(&mut minor, &live), None);
        assert_eq!(minor, set("postgres:17.7"), "a minor update is applied");
        let mut major = set("postgres:18.1");
        assert_eq!(
            keep_postgres_major(&mut major, &live),
            Some(("postgres:17.6".to_owned(), "postgres:18.1".to_owned()))
        );
        assert_eq!(major, set("postgres:17.6"), "the running major is kept");
    }
}
