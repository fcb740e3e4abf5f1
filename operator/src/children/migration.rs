//! One-off Jobs running the instance image: `mono migrate` before every rollout of a version
//! (the first included) and `mono import` for `bootstrap.fromExport`.
//!
//! A migration Job is named after its version, so each version's migration runs exactly once
//! and a failed one stays visible until the spec changes or someone deletes it.

use serde_json::json;

use super::deployment::{INSTANCE_UID, instance_env, instance_resources, instance_volumes};
use super::{Child, ChildConfig, ChildKind, Ctx, container_security_context, pod_security_context};

/// Longest Kubernetes label value, which a Job name must fit into (its pods carry it).
const MAX_NAME_LEN: usize = 63;
/// Name of the one container of the Jobs.
pub(crate) const CONTAINER: &str = "mono";
/// Mount point of an export volume inside import and export Jobs.
pub(crate) const EXPORT_MOUNT: &str = "/export";

/// Name of the migration Job of `version`: `<coop>-migrate-<version>` with the version
/// lower-cased, characters outside `a-z0-9-` replaced by `-`, cut to a valid name.
pub(crate) fn migration_job_name(coop_name: &str, version: &str) -> String {
    let sanitized: String = version
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '-',
        })
        .collect();
    let mut name = format!("{coop_name}-migrate-{sanitized}");
    name.truncate(MAX_NAME_LEN);
    name.trim_end_matches('-').to_owned()
}

/// Name of the import Job.
pub(crate) fn import_job_name(coop_name: &str) -> String {
    format!("{coop_name}-import")
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
        volumes.push(json!({
            "name": "export",
            "persistentVolumeClaim": {"claimName": claim, "readOnly": !params.writable},
        }));
        mounts.push(
            json!({"name": "export", "mountPath": EXPORT_MOUNT, "readOnly": !params.writable}),
        );
    }
    let container = json!({
        "name": CONTAINER,
        "image": ctx.image(config, params.version),
        "args": params.args,
        "env": instance_env(ctx),
        "resources": instance_resources(ctx),
        "securityContext": container_security_context(),
        "volumeMounts": mounts,
        // `mono` writes nothing to the termination-log file, and the image has no shell to
        // copy its output there. So the kubelet's file stays at its default path, outside
        // every volume (it bind-mounts that file before the container starts: at a path inside
        // the export it would be an empty `manifest.json`, which `mono export` refuses), and a
        // failed run's last log lines (at most 80 lines and 2 KiB; the kubelet takes them only
        // from containers that exited with an error) become its termination message, shown
        // by `kubectl describe` and quoted in the CooperativeExport's `Failed` condition.
        "terminationMessagePolicy": "FallbackToLogsOnError",
    });
    let labels = ctx.labels(params.component);
    Child {
        kind: ChildKind::Job,
        name: params.name.to_owned(),
        object: json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": ctx.metadata(params.name, params.component),
            "spec": {
                "backoffLimit": 2,
                "activeDeadlineSeconds": 3600,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "restartPolicy": "Never",
                        "automountServiceAccountToken": false,
                        "enableServiceLinks": false,
                        "securityContext": pod_security_context(INSTANCE_UID),
                        "containers": [container],
                        "volumes": volumes,
                    },
                },
            },
        }),
    }
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
    use serde_json::Value;

    use super::*;
    use crate::fixtures::{CooperativeFixture, test_config, test_cooperative};

    fn args(child: &Child) -> &Value {
        &child.object["spec"]["template"]["spec"]["containers"][0]["args"]
    }

    #[test]
    fn migration_job_names() {
        let cases = [
            ("voskhod", "2.4.1", "voskhod-migrate-2-4-1"),
            ("voskhod", "2.5.0-RC.1", "voskhod-migrate-2-5-0-rc-1"),
            ("voskhod", "v3_0", "voskhod-migrate-v3-0"),
            (
                "a-very-long-cooperative-resource-name",
                "1.2.3-build.20261122.abcdef",
                "a-very-long-cooperative-resource-name-migrate-1-2-3-build-20261",
            ),
            (
                "a-very-long-cooperative-resource-name",
                "1.2.3-build.20261-22",
                "a-very-long-cooperative-resource-name-migrate-1-2-3-build-20261",
            ),
        ];
        for (coop, version, expected) in cases {
            let name = migration_job_name(coop, version);
            assert_eq!(name, expected, "{coop} {version}");
            assert!(name.len() <= MAX_NAME_LEN);
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
