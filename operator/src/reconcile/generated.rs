//! Generated Secrets: created once when missing, never rewritten.

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, PostParams};
use mono_crds::Cooperative;
use rand_core::OsRng;
use tracing::info;

use super::kube_error;
use crate::children::{MANAGER, secrets};
use crate::{Error, Result, Verb};

/// Creates the generated Secrets that do not exist yet; existing ones are never touched.
pub(crate) async fn ensure_secrets(
    client: &Client,
    coop: &Cooperative,
    namespace: &str,
) -> Result<()> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut missing = Vec::new();
    for template in secrets::generated(coop)? {
        let found = api.get_opt(&template.name).await.map_err(kube_error(
            Verb::Get,
            "Secret",
            &template.name,
        ))?;
        if found.is_none() {
            missing.push(template.name);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let params = PostParams {
        field_manager: Some(MANAGER.to_owned()),
        ..PostParams::default()
    };
    for child in secrets::generate(coop, &mut OsRng)? {
        if !missing.contains(&child.name) {
            continue;
        }
        let secret: Secret = serde_json::from_value(child.object).map_err(Error::Serialize)?;
        match api.create(&params, &secret).await {
            Ok(_) => info!(namespace, secret = child.name, "generated secret created"),
            // Another replica or an earlier attempt won the race; keep its values.
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(source) => return Err(kube_error(Verb::Create, "Secret", &child.name)(source)),
        }
    }
    Ok(())
}
