//! `mono-operator`: the hosting control plane that turns a `Cooperative` into a running MONO
//! instance with its own database, and a `CooperativeExport` into a portable volume.
//!
//! The core is pure: [`children::desired`] builds every child object from the spec and
//! [`status`] derives conditions from what was observed. Only [`reconcile`], [`export`] and
//! [`leader`] talk to the API server; `main.rs` parses the command line and wires them.

pub mod children;
pub mod export;
#[cfg(test)]
mod fixtures;
pub mod guardrails;
pub mod leader;
pub mod metrics;
pub mod probe;
pub mod reconcile;
pub mod status;
pub mod telemetry;
pub mod uniqueness;
pub mod upgrades;

use thiserror::Error;

/// Everything that can make a reconcile fail; each variant has a metric label.
#[derive(Debug, Error)]
pub enum Error {
    /// A request to the Kubernetes API failed.
    #[error("{verb} {kind} {name}")]
    Kube {
        /// What was being done.
        verb: Verb,
        /// Kind of the object.
        kind: String,
        /// Name of the object (empty for lists).
        name: String,
        /// The client error (boxed: it is large and errors are the rare path).
        #[source]
        source: Box<kube::Error>,
    },
    /// Adding or removing the finalizer, or the cleanup it guards, failed.
    #[error("finalizer")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
    /// An object lacks a field the operator needs, such as its namespace.
    #[error("object has no {0}")]
    MissingObjectKey(&'static str),
    /// An object could not be turned into JSON.
    #[error("serializing an object")]
    Serialize(#[source] serde_json::Error),
    /// Children could not be written as YAML.
    #[error("writing YAML")]
    Yaml(#[source] serde_norway::Error),
    /// The API server refused some children; the others were applied and the status names
    /// the refused ones.
    #[error("{} not applied: {}", .0.len(), .0.join("; "))]
    ChildrenNotApplied(Vec<String>),
    /// The Cooperative is being deleted while its deletion-protection annotation is set.
    #[error(
        "deletion is held: the annotation {annotation} is \"true\"; remove it to let the Cooperative go"
    )]
    DeletionProtected {
        /// The annotation holding the deletion.
        annotation: &'static str,
    },
}

/// The kind of request to the Kubernetes API that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Read one object.
    Get,
    /// List objects.
    List,
    /// Server-side apply.
    Apply,
    /// Create an object that must not exist yet.
    Create,
    /// Merge patch (status, owner references).
    Patch,
    /// Delete an object.
    Delete,
}

impl Verb {
    /// Lower-case name, as in log lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Apply => "apply",
            Verb::Create => "create",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
        }
    }
}

impl std::fmt::Display for Verb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Result with the operator's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Low-cardinality label of this error for `mono_operator_reconcile_errors_total`.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Kube { verb, .. } => match verb {
                Verb::Get => "kube_get",
                Verb::List => "kube_list",
                Verb::Apply => "kube_apply",
                Verb::Create => "kube_create",
                Verb::Patch => "kube_patch",
                Verb::Delete => "kube_delete",
            },
            // A failure inside the finalizer's apply or cleanup is labelled by its own kind.
            Error::Finalizer(inner) => match inner.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(err)
                | kube::runtime::finalizer::Error::CleanupFailed(err) => err.metric_label(),
                _ => "finalizer",
            },
            Error::MissingObjectKey(_) => "missing_object_key",
            Error::Serialize(_) => "serialize",
            Error::Yaml(_) => "yaml",
            Error::ChildrenNotApplied(_) => "children_not_applied",
            Error::DeletionProtected { .. } => "deletion_protected",
        }
    }

    /// CamelCase reason of the `Reconciled=False` condition this error leads to.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Kube { verb, .. } => match verb {
                Verb::Get => "GetFailed",
                Verb::List => "ListFailed",
                Verb::Apply => "ApplyFailed",
                Verb::Create => "CreateFailed",
                Verb::Patch => "PatchFailed",
                Verb::Delete => "DeleteFailed",
            },
            Error::Finalizer(inner) => match inner.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(err)
                | kube::runtime::finalizer::Error::CleanupFailed(err) => err.reason(),
                _ => "FinalizerFailed",
            },
            Error::MissingObjectKey(_) => "MissingObjectKey",
            Error::Serialize(_) => "SerializeFailed",
            Error::Yaml(_) => "YamlFailed",
            Error::ChildrenNotApplied(_) => "ApplyFailed",
            Error::DeletionProtected { .. } => "DeletionProtected",
        }
    }

    /// Whether the status already says what failed (a partial apply writes it before it
    /// returns the error).
    pub fn in_status(&self) -> bool {
        match self {
            Error::ChildrenNotApplied(_) => true,
            Error::Finalizer(inner) => matches!(
                inner.as_ref(),
                kube::runtime::finalizer::Error::ApplyFailed(err) if err.in_status()
            ),
            _ => false,
        }
    }
}

/// Every CustomResourceDefinition as `(file name, YAML)`, the file names being those under
/// `charts/mono-operator/crds/`.
pub fn crd_yaml() -> Result<Vec<(String, String)>> {
    mono_crds::crds()
        .into_iter()
        .map(|crd| {
            let name = format!("{}.yaml", crd.metadata.name.as_deref().unwrap_or("crd"));
            serde_norway::to_string(&crd)
                .map(|yaml| (name, yaml))
                .map_err(Error::Yaml)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn chart_crds_are_fresh() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/mono-operator/crds");
        for (file, yaml) in crd_yaml().unwrap() {
            let path = dir.join(&file);
            if std::env::var_os("UPDATE_EXPECT").is_some() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &yaml).unwrap();
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == yaml,
                "{} is stale; regenerate with `UPDATE_EXPECT=1 cargo test -p mono-operator chart_crds_are_fresh`",
                path.display()
            );
        }
    }

    #[test]
    fn metric_labels_are_stable() {
        let kube_error = |verb| Error::Kube {
            verb,
            kind: "Deployment".to_owned(),
            name: "voskhod".to_owned(),
            source: Box::new(kube::Error::LinesCodecMaxLineLengthExceeded),
        };
        let cases = [
            (kube_error(Verb::Apply), "kube_apply"),
            (kube_error(Verb::Get), "kube_get"),
            (kube_error(Verb::Delete), "kube_delete"),
            (
                Error::MissingObjectKey("metadata.namespace"),
                "missing_object_key",
            ),
            (
                Error::Finalizer(Box::new(kube::runtime::finalizer::Error::ApplyFailed(
                    kube_error(Verb::Get),
                ))),
                "kube_get",
            ),
            (
                Error::Finalizer(Box::new(kube::runtime::finalizer::Error::AddFinalizer(
                    kube::Error::LinesCodecMaxLineLengthExceeded,
                ))),
                "finalizer",
            ),
            (
                Error::ChildrenNotApplied(vec!["apply Ingress voskhod: x".to_owned()]),
                "children_not_applied",
            ),
        ];
        for (err, expected) in cases {
            assert_eq!(err.metric_label(), expected, "{err}");
        }
    }
}
