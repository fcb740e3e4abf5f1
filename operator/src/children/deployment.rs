//! The instance Deployment running `mono serve`, with its configuration passed as environment
//! and its secrets mounted as files.

use serde_json::{Value, json};

use super::secrets::{JWT_KEY, SERVICE_TOKEN_KEY, jwt_secret_name, service_secret_name};
use super::{
    Child, ChildConfig, ChildKind, Ctx, INSTANCE_PORT, VERSION_LABEL, container_security_context,
    database_url_env, pod_security_context,
};

/// Non-root user id of the instance image.
pub(crate) const INSTANCE_UID: i64 = 65532;
const SECRETS_DIR: &str = "/var/run/secrets/mono";

/// Environment shared by `mono serve`, `mono migrate`, `mono import` and `mono export`.
pub(crate) fn instance_env(ctx: &Ctx<'_>) -> Vec<Value> {
    let spec = &ctx.coop.spec;
    let mut env = vec![
        database_url_env(ctx),
        json!({"name": "MONO_CHAIN_API", "value": spec.chain.api_url}),
        json!({"name": "MONO_SHIP", "value": spec.chain.ship_url}),
        json!({"name": "MONO_CHAIN_ID", "value": spec.chain.chain_id}),
        json!({"name": "MONO_COOPNAME", "value": spec.coopname}),
        json!({"name": "MONO_JWT_SECRET_FILE", "value": format!("{SECRETS_DIR}/jwt/{JWT_KEY}")}),
        json!({"name": "MONO_SERVICE_TOKEN_FILE", "value": format!("{SECRETS_DIR}/service/{SERVICE_TOKEN_KEY}")}),
    ];
    if let Some(key) = &spec.secrets.cooperative_key {
        env.push(json!({
            "name": "MONO_COOP_KEY_FILE",
            "value": format!("{SECRETS_DIR}/coop-key/{}", key.key),
        }));
    }
    if !spec.extensions.is_empty() {
        env.push(json!({"name": "MONO_EXTENSIONS", "value": spec.extensions.join(",")}));
    }
    env
}

/// Secret volumes and their read-only mounts, plus a writable `/tmp`.
pub(crate) fn instance_volumes(ctx: &Ctx<'_>) -> (Vec<Value>, Vec<Value>) {
    let mut volumes = vec![
        json!({"name": "tmp", "emptyDir": {}}),
        secret_volume("jwt", &jwt_secret_name(ctx.name)),
        secret_volume("service", &service_secret_name(ctx.name)),
    ];
    let mut mounts = vec![
        json!({"name": "tmp", "mountPath": "/tmp"}),
        secret_mount("jwt"),
        secret_mount("service"),
    ];
    if let Some(key) = &ctx.coop.spec.secrets.cooperative_key {
        volumes.push(secret_volume("coop-key", &key.name));
        mounts.push(secret_mount("coop-key"));
    }
    (volumes, mounts)
}

/// Default resources of an instance pod when the spec names none.
pub(crate) fn instance_resources(ctx: &Ctx<'_>) -> Value {
    match &ctx.coop.spec.instance.resources {
        Some(resources) => json!(resources),
        None => json!({
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        }),
    }
}

pub(crate) fn deployment(ctx: &Ctx<'_>, config: &ChildConfig, version: &str) -> Child {
    let spec = &ctx.coop.spec;
    let replicas = if spec.suspend {
        0
    } else {
        spec.instance.replicas
    };
    let (volumes, mounts) = instance_volumes(ctx);
    let mut pod_labels = ctx.labels("instance");
    pod_labels[VERSION_LABEL] = json!(version);
    let mut metadata = ctx.metadata(ctx.name, "instance");
    metadata["labels"][VERSION_LABEL] = json!(version);
    let probe = |path: &str, period: i32| {
        json!({
            "httpGet": {"path": path, "port": "http"},
            "periodSeconds": period,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        })
    };
    Child {
        kind: ChildKind::Deployment,
        name: ctx.name.to_owned(),
        object: json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": metadata,
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": ctx.selector_labels("instance")},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {
                        "automountServiceAccountToken": false,
                        "enableServiceLinks": false,
                        "securityContext": pod_security_context(INSTANCE_UID),
                        "containers": [{
                            "name": "mono",
                            "image": ctx.image(config, version),
                            "args": ["serve"],
                            "ports": [{"name": "http", "containerPort": INSTANCE_PORT}],
                            "env": instance_env(ctx),
                            "startupProbe": {
                                "httpGet": {"path": "/health", "port": "http"},
                                "periodSeconds": 5,
                                "failureThreshold": 60,
                            },
                            "livenessProbe": probe("/health", 20),
                            "readinessProbe": probe("/ready", 10),
                            "resources": instance_resources(ctx),
                            "securityContext": container_security_context(),
                            "volumeMounts": mounts,
                        }],
                        "volumes": volumes,
                    },
                },
            },
        }),
    }
}

fn secret_volume(volume: &str, secret: &str) -> Value {
    json!({"name": volume, "secret": {"secretName": secret, "defaultMode": 0o440}})
}

fn secret_mount(volume: &str) -> Value {
    json!({"name": volume, "mountPath": format!("{SECRETS_DIR}/{volume}"), "readOnly": true})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{CooperativeFixture, test_config, test_cooperative};

    fn replicas(coop: &mono_crds::Cooperative) -> Value {
        let ctx = Ctx::new(coop).unwrap();
        deployment(&ctx, &test_config(), "2.4.1").object["spec"]["replicas"].clone()
    }

    #[test]
    fn suspend_scales_to_zero() {
        assert_eq!(replicas(&test_cooperative()), json!(1));
        assert_eq!(replicas(&test_cooperative().suspended()), json!(0));
    }

    #[test]
    fn image_follows_version_digest_and_repository_override() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let pinned = ChildConfig {
            instance_digests: [("2.4.1".to_owned(), digest.clone())].into(),
            ..test_config()
        };
        let other_version = ChildConfig {
            instance_digests: [("2.5.0".to_owned(), digest.clone())].into(),
            ..test_config()
        };
        let plain = test_cooperative();
        let mut custom = test_cooperative();
        custom.spec.instance.image = Some("registry.example.org/mono".to_owned());
        let cases = [
            (
                &plain,
                test_config(),
                "ghcr.io/coopenomics/mono:2.4.1".to_owned(),
            ),
            (
                &custom,
                test_config(),
                "registry.example.org/mono:2.4.1".to_owned(),
            ),
            (
                &plain,
                pinned.clone(),
                format!("ghcr.io/coopenomics/mono:2.4.1@{digest}"),
            ),
            // The digest is of the operator's repository, not of the Cooperative's own.
            (
                &custom,
                pinned,
                "registry.example.org/mono:2.4.1".to_owned(),
            ),
            (
                &plain,
                other_version,
                "ghcr.io/coopenomics/mono:2.4.1".to_owned(),
            ),
        ];
        for (coop, config, expected) in cases {
            let ctx = Ctx::new(coop).unwrap();
            let object = deployment(&ctx, &config, "2.4.1").object;
            assert_eq!(
                object["spec"]["template"]["spec"]["containers"][0]["image"],
                json!(expected)
            );
            assert_eq!(
                object["spec"]["template"]["metadata"]["labels"][VERSION_LABEL],
                json!("2.4.1")
            );
        }
    }
}
