//! What the reconciler observes of the export volume a `bootstrap.fromExport` imports from.
//!
//! The import Job's pod cannot start without its claim, and Kubernetes says so only on the
//! pod; the status names the missing claim so a person sees what to provide.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::Client;
use kube::api::Api;

use super::kube_error;
use crate::{Result, Verb};

/// `claim` when it does not exist in `namespace`.
pub(crate) async fn missing_claim(
    client: &Client,
    namespace: &str,
    claim: &str,
) -> Result<Option<String>> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let found =
        api.get_opt(claim)
            .await
            .map_err(kube_error(Verb::Get, "PersistentVolumeClaim", claim))?;
    Ok(found.is_none().then(|| claim.to_owned()))
}
