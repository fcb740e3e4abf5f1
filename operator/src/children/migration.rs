//! One-off Jobs running the instance image: `mono migrate` before every rollout of a version
//! (the first included) and `mono import` for `bootstrap.fromExport`.
//!
//! A migration Job is named after its version, so each version's migration runs exactly once
//! and a failed one stays visible until the spec changes or someone deletes it.
//!
//! Job names are DNS-1123 labels of at most 63 characters, since the Job's pods carry the
//! name as a label value. A name that does not fit is cut and ends with a hash of the whole
//! name, so two long names never become one (see [`job_name`]).

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sha2::{Digest, Sha256};

use super::deployment::{INSTANCE_UID, instance_env, instance_resources, instance_volumes, mount};
use super::{
    Child, ChildConfig, ChildKind, Ctx, container_security_context, pod_security_context, scheduled,
};

/// Longest Kubernetes label value, which a Job name must fit into (its pods carry it).
const MAX_NAME_LEN: usize = 63;
/// Hex digits of the SHA-256 that end a name cut to fit: 40 bits, so two names cut from
/// different inputs are the same only with odds of one in a trillion.
const NAME_HASH_LEN: usize = 10;
/// Name of the one container of the Jobs.
pub(crate) const CONTAINER: &str = "mono";
/// Mount point of an export volume inside import and export Jobs.
pub(crate) const EXPORT_MOUNT: &str = "/export";

/// Name of the migration Job of `version`: `<coop>-migrate-<version>` with the version
/// lower-cased and characters outside `a-z0-9-` replaced by `-`, made to fit by [`job_name`].
pub(crate) fn migration_job_name(coop_name: &str, version: &str) -> String {
    job_name(coop_name, "migrate", Some(version))
}

/// Name of the import Job: `<coop>-import`, made to fit by [`job_name`].
pub(crate) fn import_job_name(coop_name: &str) -> String {
    job_name(coop_name, "import", None)
}

/// The name of the Job `purpose` of the object `owner` (and its `version`):
/// `<owner>-<purpose>[-<version>]`, lower-cased, with characters outside `a-z0-9-` replaced by
/// `-`, so a DNS-1123 label.
///
/// When that is longer than [`MAX_NAME_LEN`], or `owner` itself had to change (a name with a
/// `.`), it is cut and ends with `-` and [`NAME_HASH_LEN`] hex digits of the SHA-256 of the
/// unchanged owner, purpose and version: long names sharing their first 63 characters, or
/// differing only past them, still name different Jobs. Names that fit unchanged, the usual
/// case, carry no hash and stay readable.
pub(crate) fn job_name(owner: &str, purpose: &str, version: Option<&str>) -> String {
    let mut name = format!("{}-{purpose}", label_chars(owner));
    if let Some(version) = version {
        name.push('-');
        name.push_str(&label_chars(version));
    }
    let name = name.trim_matches('-').to_owned();
    if name.len() <= MAX_NAME_LEN && label_chars(owner) == owner {
        return name;
    }
    let identity = format!("{owner}\n{purpose}\n{}", version.unwrap_or_default());
    let digest = hex::encode(Sha256::digest(identity.as_bytes()));
    let kept = &name[..name.len().min(MAX_NAME_LEN - 1 - NAME_HASH_LEN)];
    format!(
        "{}-{}",
        kept.trim_end_matches('-'),
        &digest[..NAME_HASH_LEN]
    )
}

/// `text` lower-cased, with every character outside `a-z0-9-` replaced by `-`.
fn label_chars(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-') => c,
            _ => '-',
        })
        .collect()
}

/// What differs between the one-off Jobs.
pub(crate) struct JobParams<'a> {
    pub(crate) name: &'a str,
    pub(crate) component: &'a str,
    pub(crate) version: &'a str,
    pub(crate) args: Vec<String>,
    /// Claim mounted at [`EXPORT_MOUNT`], read-only unless `writable`.
    pub(crate) export_claim: Option<&'a str>,
    pub(crate) writable: bool,
}

/// A Job running the instance image once with the instance's environment.
pub(crate) fn instance_job(ctx: &Ctx<'_>, config: &ChildConfig, params: JobParams<'_>) -> Child {
    let (mut volumes, mut mounts) = instance_volumes(ctx);
    if let Some(claim) = params.export_claim {
        volumes.push(Volume {
            name: "export".to_owned(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.to_owned(),
                read_only: Some(!params.writable),
            }),
            ..Volume::default()
        });
        let mut export = mount("export", EXPORT_MOUNT, false);
        export.read_only = Some(!params.writable);
        mounts.push(export);
    }
    let container = Container {
        name: CONTAINER.to_owned(),
        image: Some(ctx.image(config, params.version)),
        args: Some(params.args),
        env: Some(instance_env(ctx)),
        resources: Some(instance_resources(ctx)),
        security_context: Some(container_security_context()),
        volume_mounts: Some(mounts),
        // `mono` writes nothing to the termination-log file, and the image has no shell to
        // copy its output there. So the kubelet's file stays at its default path, outside
        // every volume (it bind-mounts that file before the container starts: at a path inside
        // the export it would be an empty `manifest.json`, which `mono export` refuses), and a
        // failed run's last log lines (at most 80 lines and 2 KiB; the kubelet takes them only
        // from containers that exited with an error) become its termination message, shown
        // by `kubectl describe` and quoted in the CooperativeExport's `Failed` condition.
        termination_message_policy: Some("FallbackToLogsOnError".to_owned()),
        ..Container::default()
    };
    let pod = PodSpec {
        restart_policy: Some("Never".to_owned()),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        security_context: Some(pod_security_context(INSTANCE_UID)),
        containers: vec![container],
        volumes: Some(volumes),
        ..PodSpec::default()
    };
    let job = Job {
        metadata: ctx.metadata(params.name, params.component),
        spec: Some(JobSpec {
            backoff_limit: Some(2),
            active_deadline_seconds: Some(3600),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(ctx.labels(params.component)),
                    ..ObjectMeta::default()
                }),
                spec: Some(scheduled(ctx, pod)),
            },
            ..JobSpec::default()
        }),
        ..Job::default()
    };
    Child::typed(ChildKind::Job, &job)
}

pub(crate) fn migration_job(ctx: &Ctx<'_>, config: &ChildConfig, version: &str) -> Child {
    let name = migration_job_name(ctx.name, version);
    instance_job(
        ctx,
        config,
        JobParams {
            name: &name,
            component: "migration",
            version,
            args: vec!["migrate".to_owned()],
            export_claim: None,
            writable: false,
        },
    )
}

pub(crate) fn import_job(ctx: &Ctx<'_>, config: &ChildConfig) -> Option<Child> {
    let from = &ctx.coop.spec.bootstrap.as_ref()?.from_export;
    let name = import_job_name(ctx.name);
    let version = super::target_version(ctx.coop, config);
    Some(instance_job(
        ctx,
        config,
        JobParams {
            name: &name,
            component: "import",
            version,
            args: vec![
                "import".to_owned(),
                "--from".to_owned(),
                format!("{EXPORT_MOUNT}/{}", from.path),
            ],
            export_claim: Some(&from.claim_name),
            writable: false,
        },
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::fixtures::{CooperativeFixture, test_config, test_cooperative};

    fn args(child: &Child) -> &Value {
        &child.object["spec"]["template"]["spec"]["containers"][0]["args"]
    }

    /// Whether `name` is a DNS-1123 label that fits a label value.
    fn is_label(name: &str) -> bool {
        let bytes = name.as_bytes();
        (1..=MAX_NAME_LEN).contains(&bytes.len())
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
    }

    #[test]
    fn migration_job_names() {
        let cases = [
            ("voskhod", "2.4.1", "voskhod-migrate-2-4-1"),
            ("voskhod", "2.5.0-RC.1", "voskhod-migrate-2-5-0-rc-1"),
            ("voskhod", "v3_0", "voskhod-migrate-v3-0"),
            // Versions that differ only past the 63rd character of the name (#14): each keeps
            // a hash of the whole name, so they name two Jobs.
            (
                "a-very-long-cooperative-resource-name",
                "1.2.3-build.20261122.abcdef",
                "a-very-long-cooperative-resource-name-migrate-1-2-3-4d54eeb288",
            ),
            (
                "a-very-long-cooperative-resource-name",
                "1.2.3-build.20261-22",
                "a-very-long-cooperative-resource-name-migrate-1-2-3-7301ee3c2b",
            ),
            // A name with a dot is not a label: replaced, and hashed since it changed.
            ("coop.v2", "1.0.0", "coop-v2-migrate-1-0-0-16e2e7ae5c"),
        ];
        for (coop, version, expected) in cases {
            let name = migration_job_name(coop, version);
            assert_eq!(name, expected, "{coop} {version}");
            assert!(is_label(&name), "{name}");
        }
    }

    #[test]
    fn long_cooperative_names_sharing_60_characters_get_different_jobs() {
        let shared = "a-cooperative-whose-resource-name-is-long-enough-to-fill-six";
        assert_eq!(shared.len(), 60);
        let (first, second) = (format!("{shared}-one"), format!("{shared}-two"));
        for version in ["2.4.1", "2.5.0"] {
            let names = [
                migration_job_name(&first, version),
                migration_job_name(&second, version),
            ];
            assert_ne!(names[0], names[1], "{version}");
            assert!(names.iter().all(|name| is_label(name)), "{names:?}");
        }
        let imports = [import_job_name(&first), import_job_name(&second)];
        assert_ne!(imports[0], imports[1]);
        assert!(imports.iter().all(|name| is_label(name)), "{imports:?}");
        // And one long Cooperative's versions never share a migration Job.
        assert_ne!(
            migration_job_name(&first, "2.4.1"),
            migration_job_name(&first, "2.5.0")
        );
    }

    #[test]
    fn job_names_that_fit_are_kept() {
        let cases = [
            (("voskhod", "import", None), "voskhod-import"),
            (("move", "export", None), "move-export"),
            (
                (
                    "a23456789012345678901234567890123456789012345678901234",
                    "import",
                    None,
                ),
                "a23456789012345678901234567890123456789012345678901234-import",
            ),
        ];
        for ((owner, purpose, version), expected) in cases {
            assert_eq!(job_name(owner, purpose, version), expected);
        }
    }

    #[test]
    fn jobs_run_the_right_subcommands() {
        let coop = test_cooperative().bootstrapped_from_export();
        let ctx = Ctx::new(&coop).unwrap();
        let config = test_config();
        let migrate = migration_job(&ctx, &config, "2.5.0");
        assert_eq!(args(&migrate), &json!(["migrate"]));
        let import = import_job(&ctx, &config).unwrap();
        assert_eq!(
            args(&import),
            &json!(["import", "--from", "/export/export"])
        );
        let plain = test_cooperative();
        assert!(import_job(&Ctx::new(&plain).unwrap(), &config).is_none());
    }
}
