//! The `CooperativeExport` custom resource: a portable copy of a cooperative written by
//! `mono export` into a volume, with the checksum of every part recorded in the status; or,
//! with a schedule, the source of such exports at every scheduled time.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::cooperative::StorageSpec;

/// Request to export one Cooperative of the same namespace into a new volume, once or on a
/// schedule.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "mono.coopenomics.io",
    version = "v1alpha1",
    kind = "CooperativeExport",
    namespaced,
    status = "CooperativeExportStatus",
    shortname = "coopexport",
    category = "mono",
    doc = "An export of a Cooperative into a volume, for moving it to another cluster.",
    printcolumn = r#"{"name":"Cooperative","type":"string","jsonPath":".spec.cooperative"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Volume","type":"string","jsonPath":".status.claimName"}"#,
    printcolumn = r#"{"name":"Schedule","type":"string","priority":1,"jsonPath":".spec.schedule"}"#,
    printcolumn = r#"{"name":"Last","type":"date","priority":1,"jsonPath":".status.lastScheduleTime"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = Rule::new("!has(self.retention) || has(self.schedule)").message("retention needs a schedule"))]
#[serde(rename_all = "camelCase")]
pub struct CooperativeExportSpec {
    /// Name of the Cooperative to export, in the same namespace.
    pub cooperative: String,
    /// Volume the export is written to; it is kept when the export is deleted.
    #[serde(default)]
    pub storage: StorageSpec,
    /// Cron schedule in UTC (five fields, or six with seconds first; `@daily` and the other
    /// aliases too). With one, this object exports nothing itself: at every scheduled time it
    /// creates a CooperativeExport named after it and the time, with the same cooperative and
    /// storage, and owns it. A time missed while the operator was down is caught up once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub schedule: Option<String>,
    /// How many succeeded exports of the schedule to keep. Older ones are deleted with their
    /// volumes, and so are failed ones older than the oldest kept; running ones never are.
    /// Every export is kept when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub retention: Option<u32>,
}

/// Progress and result of an export.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CooperativeExportStatus {
    /// `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Where the export is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<ExportPhase>,
    /// PersistentVolumeClaim holding the export; give it to `bootstrap.fromExport`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_name: Option<String>,
    /// Directory of the export inside the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// SHA-256 (hex) of the export manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_sha256: Option<String>,
    /// Every part of the export with its checksum, as listed in the manifest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ExportedFile>,
    /// The latest scheduled time an export was created for (schedules only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_schedule_time: Option<Time>,
    /// The next scheduled time (schedules only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_schedule_time: Option<Time>,
    /// `Complete` and `Failed` conditions with reasons; `Scheduled` for a schedule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// Lifecycle of an export.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportPhase {
    /// Waiting for the Cooperative or the volume.
    Pending,
    /// The export Job runs.
    Running,
    /// The export is complete and its checksums are recorded.
    Succeeded,
    /// The export Job failed; see the conditions.
    Failed,
    /// A schedule: it creates exports at its scheduled times.
    Scheduled,
}

/// One part of an export.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ExportedFile {
    /// Path relative to the export directory.
    pub name: String,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_spec_defaults_its_volume() {
        let export: CooperativeExport = serde_norway::from_str(
            "apiVersion: mono.coopenomics.io/v1alpha1\nkind: CooperativeExport\nmetadata: {name: move, namespace: coop-a}\nspec: {cooperative: voskhod}\n",
        )
        .unwrap();
        assert_eq!(export.spec.cooperative, "voskhod");
        assert_eq!(export.spec.storage.size, "10Gi");
        assert_eq!((export.spec.schedule, export.spec.retention), (None, None));
    }

    #[test]
    fn retention_needs_a_schedule() {
        let export = |spec: &str| -> CooperativeExport {
            serde_norway::from_str(&format!(
                "apiVersion: mono.coopenomics.io/v1alpha1\nkind: CooperativeExport\nmetadata: {{name: nightly, namespace: coop-a}}\nspec: {spec}\n"
            ))
            .unwrap()
        };
        let cases = [
            ("{cooperative: voskhod}", true),
            ("{cooperative: voskhod, schedule: '0 3 * * *'}", true),
            (
                "{cooperative: voskhod, schedule: '0 3 * * *', retention: 7}",
                true,
            ),
            ("{cooperative: voskhod, retention: 7}", false),
        ];
        for (spec, valid) in cases {
            let result = kube::core::cel::validate_cel(&export(spec));
            assert_eq!(result.is_ok(), valid, "{spec}: {result:?}");
        }
    }
}
