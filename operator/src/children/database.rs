//! The database of an instance: a builtin PostgreSQL StatefulSet with its Service and volume,
//! a CloudNativePG `Cluster`, or nothing for an external database (whose Secret is only
//! referenced).

use mono_crds::DatabaseMode;
use serde_json::{Value, json};

use super::secrets::{DATABASE_URL_KEY, DATABASE_USER};
use super::{
    Child, ChildConfig, ChildKind, Ctx, POSTGRES_PORT, container_security_context, database_name,
    pod_security_context,
};

/// User id of the `postgres` user in the official PostgreSQL image.
const POSTGRES_UID: i64 = 999;

/// The `MONO_DATABASE_URL` environment entry, read from the Secret of the database mode.
pub(crate) fn database_url_env(ctx: &Ctx<'_>) -> Value {
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
    json!({
        "name": "MONO_DATABASE_URL",
        "valueFrom": {"secretKeyRef": {"name": name, "key": key}},
    })
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
    let name = database_name(ctx.name);
    Child {
        kind: ChildKind::Service,
        object: json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": ctx.metadata(&name, "database"),
            "spec": {
                "type": "ClusterIP",
                "selector": ctx.selector_labels("database"),
                "ports": [{"name": "postgres", "port": POSTGRES_PORT, "targetPort": "postgres"}],
            },
        }),
        name,
    }
}

fn stateful_set(ctx: &Ctx<'_>, config: &ChildConfig) -> Child {
    let name = database_name(ctx.name);
    let storage = &ctx.coop.spec.database.storage;
    let mut claim_spec = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": storage.size}},
    });
    if let Some(class) = &storage.storage_class_name {
        claim_spec["storageClassName"] = json!(class);
    }
    let secret_env = |env: &str, key: &str| json!({"name": env, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}});
    Child {
        kind: ChildKind::StatefulSet,
        object: json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": ctx.metadata(&name, "database"),
            "spec": {
                "serviceName": name,
                "replicas": 1,
                "selector": {"matchLabels": ctx.selector_labels("database")},
                // Volumes outlive the StatefulSet; the finalizer applies the deletion policy.
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                "template": {
                    "metadata": {"labels": ctx.labels("database")},
                    "spec": {
                        "automountServiceAccountToken": false,
                        "securityContext": pod_security_context(POSTGRES_UID),
                        "containers": [{
                            "name": "postgres",
                            "image": config.postgres_image,
                            "ports": [{"name": "postgres", "containerPort": POSTGRES_PORT}],
                            "env": [
                                secret_env("POSTGRES_USER", "username"),
                                secret_env("POSTGRES_PASSWORD", "password"),
                                secret_env("POSTGRES_DB", "database"),
                                {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
                            ],
                            "readinessProbe": {
                                "exec": {"command": ["pg_isready", "-U", DATABASE_USER, "-d", DATABASE_USER, "-h", "127.0.0.1"]},
                                "periodSeconds": 10,
                            },
                            "livenessProbe": {
                                "tcpSocket": {"port": "postgres"},
                                "initialDelaySeconds": 30,
                                "periodSeconds": 20,
                            },
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "256Mi"},
                                "limits": {"cpu": "1", "memory": "1Gi"},
                            },
                            "securityContext": container_security_context(),
                            "volumeMounts": [
                                {"name": "data", "mountPath": "/var/lib/postgresql/data"},
                                {"name": "run", "mountPath": "/var/run/postgresql"},
                                {"name": "tmp", "mountPath": "/tmp"},
                            ],
                        }],
                        "volumes": [
                            {"name": "run", "emptyDir": {}},
                            {"name": "tmp", "emptyDir": {}},
                        ],
                    },
                },
                "volumeClaimTemplates": [{
                    "metadata": {"name": "data", "labels": ctx.labels("database")},
                    "spec": claim_spec,
                }],
            },
        }),
        name,
    }
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
