//! Kubernetes custom resource types of the MONO operator: [`Cooperative`] and
//! [`CooperativeExport`].
//!
//! This crate holds only types, schema derives, defaults and validation rules (OpenAPI patterns
//! and CEL rules checked by the API server, plus the same checks as plain functions).
//! It must never talk to a cluster: the operator does that.

mod cooperative;
mod coopname;
mod export;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub use cooperative::{
    Bootstrap, ChainSpec, Cooperative, CooperativeSpec, CooperativeStatus, CooperativeUsage,
    DatabaseMode, DatabaseSpec, DeletionPolicy, DomainSpec, ExternalDatabase, FromExport,
    InstanceSpec, Phase, QuotaSpec, SchedulingSpec, SecretKeyRef, SecretsSpec, SmtpSpec,
    StorageSpec, TlsSpec,
};
pub use coopname::{CoopnameError, validate_coopname};
pub use export::{
    CooperativeExport, CooperativeExportSpec, CooperativeExportStatus, ExportPhase, ExportedFile,
};

/// API group of every MONO custom resource.
pub const GROUP: &str = "mono.coopenomics.io";

/// The CustomResourceDefinitions of this crate, in a stable order (Cooperative first).
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![Cooperative::crd(), CooperativeExport::crd()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crds_are_namespaced_in_the_mono_group_with_status() {
        let crds = crds();
        let names: Vec<&str> = crds
            .iter()
            .map(|crd| crd.metadata.name.as_deref().unwrap_or_default())
            .collect();
        assert_eq!(
            names,
            [
                "cooperatives.mono.coopenomics.io",
                "cooperativeexports.mono.coopenomics.io"
            ]
        );
        for crd in &crds {
            assert_eq!(crd.spec.group, GROUP);
            assert_eq!(crd.spec.scope, "Namespaced");
            let version = &crd.spec.versions[0];
            assert_eq!(version.name, "v1alpha1");
            assert!(
                version
                    .subresources
                    .as_ref()
                    .and_then(|sub| sub.status.as_ref())
                    .is_some()
            );
        }
    }

    #[test]
    fn cooperative_schema_carries_cel_rules() {
        let json = serde_json::to_string(&Cooperative::crd()).unwrap();
        for rule in [
            "coopname is immutable",
            "database mode is immutable",
            "external database needs external.secretRef",
            "bootstrap is set at creation and cannot change",
        ] {
            assert!(json.contains(rule), "missing rule message {rule:?}");
        }
    }
}
