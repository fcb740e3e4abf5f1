//! The instance Deployment running `mono serve`, with its configuration passed as environment
//! and its secrets mounted as files.

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EmptyDirVolumeSource, EnvVar, HTTPGetAction, PodSpec,
    PodTemplateSpec, Probe, ResourceRequirements, SecretVolumeSource, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::database::secret_env;
use super::quota::quantities;
use super::secrets::{JWT_KEY, SERVICE_TOKEN_KEY, jwt_secret_name, service_secret_name};
use super::{
    Child, ChildConfig, ChildKind, Ctx, INSTANCE_PORT, VERSION_LABEL, container_security_context,
    database_url_env, pod_security_context, scheduled,
};

/// Non-root user id of the instance image.
pub(crate) const INSTANCE_UID: i64 = 65532;
const SECRETS_DIR: &str = "/var/run/secrets/mono";

/// Environment shared by `mono serve`, `mono migrate`, `mono import` and `mono export`.
pub(crate) fn instance_env(ctx: &Ctx<'_>) -> Vec<EnvVar> {
    let spec = &ctx.coop.spec;
    let mut env = vec![
        database_url_env(ctx),
        value_env("MONO_CHAIN_API", &spec.chain.api_url),
        value_env("MONO_SHIP", &spec.chain.ship_url),
        value_env("MONO_CHAIN_ID", &spec.chain.chain_id),
        value_env("MONO_COOPNAME", &spec.coopname),
        value_env(
            "MONO_JWT_SECRET_FILE",
            &format!("{SECRETS_DIR}/jwt/{JWT_KEY}"),
        ),
        value_env(
            "MONO_SERVICE_TOKEN_FILE",
            &format!("{SECRETS_DIR}/service/{SERVICE_TOKEN_KEY}"),
        ),
    ];
    if let Some(key) = &spec.secrets.cooperative_key {
        env.push(value_env(
            "MONO_COOPERATIVE_KEY_FILE",
            &format!("{SECRETS_DIR}/coop-key/{}", key.key),
        ));
    }
    if !spec.extensions.is_empty() {
        env.push(value_env("MONO_EXTENSIONS", &spec.extensions.join(",")));
    }
    env
}

/// The SMTP settings of `mono serve`, the URL read from the cooperative's Secret since it
/// holds credentials; only the instance sends e-mail, so its Jobs do not get them.
fn smtp_env(ctx: &Ctx<'_>) -> Vec<EnvVar> {
    match &ctx.coop.spec.smtp {
        Some(smtp) => vec![
            secret_env(
                "MONO_SMTP_URL",
                &smtp.url_secret_ref.name,
                &smtp.url_secret_ref.key,
            ),
            value_env("MONO_SMTP_FROM", &smtp.from),
        ],
        None => Vec::new(),
    }
}

/// An environment variable with a plain value.
pub(crate) fn value_env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.to_owned()),
        ..EnvVar::default()
    }
}

/// Secret volumes and their read-only mounts, plus a writable `/tmp`.
pub(crate) fn instance_volumes(ctx: &Ctx<'_>) -> (Vec<Volume>, Vec<VolumeMount>) {
    let mut volumes = vec![
        empty_dir("tmp"),
        secret_volume("jwt", &jwt_secret_name(ctx.name)),
        secret_volume("service", &service_secret_name(ctx.name)),
    ];
    let mut mounts = vec![
        mount("tmp", "/tmp", false),
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
pub(crate) fn instance_resources(ctx: &Ctx<'_>) -> ResourceRequirements {
    match &ctx.coop.spec.instance.resources {
        Some(resources) => resources.clone(),
        None => ResourceRequirements {
            requests: Some(quantities(&[("cpu", "100m"), ("memory", "128Mi")])),
            limits: Some(quantities(&[("cpu", "1"), ("memory", "512Mi")])),
            ..ResourceRequirements::default()
        },
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
    pod_labels.insert(VERSION_LABEL.to_owned(), version.to_owned());
    let mut metadata = ctx.metadata(ctx.name, "instance");
    metadata.labels = Some(pod_labels.clone());
    let http = || IntOrString::String("http".to_owned());
    let probe = |path: &str, period: i32| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: http(),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(2),
        failure_threshold: Some(3),
        ..Probe::default()
    };
    let container = Container {
        name: "mono".to_owned(),
        image: Some(ctx.image(config, version)),
        args: Some(vec!["serve".to_owned()]),
        ports: Some(vec![ContainerPort {
            name: Some("http".to_owned()),
            container_port: INSTANCE_PORT,
            ..ContainerPort::default()
        }]),
        env: Some([instance_env(ctx), smtp_env(ctx)].concat()),
        startup_probe: Some(Probe {
            http_get: Some(HTTPGetAction {
                path: Some("/health".to_owned()),
                port: http(),
                ..HTTPGetAction::default()
            }),
            period_seconds: Some(5),
            failure_threshold: Some(60),
            ..Probe::default()
        }),
        liveness_probe: Some(probe("/health", 20)),
        readiness_probe: Some(probe("/ready", 10)),
        resources: Some(instance_resources(ctx)),
        security_context: Some(container_security_context()),
        volume_mounts: Some(mounts),
        ..Container::default()
    };
    let pod = PodSpec {
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        security_context: Some(pod_security_context(INSTANCE_UID)),
        containers: vec![container],
        volumes: Some(volumes),
        ..PodSpec::default()
    };
    let deployment = Deployment {
        metadata,
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: ctx.selector("instance"),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".to_owned()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString::Int(0)),
                    max_surge: Some(IntOrString::Int(1)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(scheduled(ctx, pod)),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    };
    Child::typed(ChildKind::Deployment, &deployment)
}

/// A writable scratch volume.
pub(crate) fn empty_dir(volume: &str) -> Volume {
    Volume {
        name: volume.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }
}

/// The mount of `volume` at `path`.
pub(crate) fn mount(volume: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: volume.to_owned(),
        mount_path: path.to_owned(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

fn secret_volume(volume: &str, secret: &str) -> Volume {
    Volume {
        name: volume.to_owned(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.to_owned()),
            default_mode: Some(0o440),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    }
}

fn secret_mount(volume: &str) -> VolumeMount {
    mount(volume, &format!("{SECRETS_DIR}/{volume}"), true)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::fixtures::{CooperativeFixture, test_config, test_cooperative};

    fn replicas(coop: &mono_crds::Cooperative) -> Value {
        let ctx = Ctx::new(coop).unwrap();
        deployment(&ctx, &test_config(), "2.4.1").object["spec"]["replicas"].clone()
    }

    #[test]
    fn smtp_reaches_the_instance_with_its_url_from_the_secret() {
        let env = |coop: &mono_crds::Cooperative| {
            let ctx = Ctx::new(coop).unwrap();
            let deployment = deployment(&ctx, &test_config(), "2.4.1");
            let env = deployment.object["spec"]["template"]["spec"]["containers"][0]["env"]
                .as_array()
                .unwrap()
                .clone();
            env.into_iter()
                .filter(|var| var["name"].as_str().unwrap().starts_with("MONO_SMTP_"))
                .collect::<Vec<Value>>()
        };
        assert_eq!(env(&test_cooperative()), Vec::<Value>::new());
        assert_eq!(
            env(&test_cooperative().with_smtp()),
            vec![
                json!({"name": "MONO_SMTP_URL",
                       "valueFrom": {"secretKeyRef": {"name": "voskhod-smtp", "key": "url"}}}),
                json!({"name": "MONO_SMTP_FROM",
                       "value": "Кооператив «Восход» <noreply@voskhod.coop>"}),
            ]
        );
        // The migration Job shares the instance's environment but sends no e-mail.
        let coop = test_cooperative().with_smtp();
        let ctx = Ctx::new(&coop).unwrap();
        assert!(
            instance_env(&ctx)
                .iter()
                .all(|var| !var.name.starts_with("MONO_SMTP_"))
        );
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
