//! The `CooperativeExport` custom resource: a portable copy of a cooperative written by
//! `mono export` into a volume, with the checksum of every part recorded in the status.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::cooperative::StorageSpec;

/// Request to export one Cooperative of the same namespace into a new volume.
#[derive(CustomResource, JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
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
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct CooperativeExportSpec {
    /// Name of the Cooperative to export, in the same namespace.
    pub cooperative: String,
    /// Volume the export is written to; it is kept when the export is deleted.
    #[serde(default)]
    pub storage: StorageSpec,
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
    /// `Complete` and `Failed` conditions with reasons.
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
    }
}
