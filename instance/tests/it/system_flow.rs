//! The cooperative's own records through the GraphQL API: `initSystem` keeps the organization
//! record and the variables together or not at all, says which fields are wrong, changes
//! nothing when given again and refuses other records once initialized; `updateSystem` needs
//! an initialized system and replaces what it is given.

use anyhow::{Context as _, ensure};
use mono_instance::antelope::name::Name;
use mono_instance::demo::records;
use mono_instance::factory::templates;
use mono_instance::store::Store;
use serde_json::{Value, json};

use crate::api::{Api, SERVICE_TOKEN, error_code};
use crate::factory_store::checked_organization;
use crate::support::two_database_test;

const INIT: &str =
    "mutation($d: InitSystemInput!) { initSystem(data: $d) { valid_from_block changed } }";
const UPDATE: &str =
    "mutation($d: UpdateSystemInput!) { updateSystem(data: $d) { valid_from_block changed } }";

/// The fields an error names.
fn fields(body: &Value) -> Vec<String> {
    body["errors"][0]["extensions"]["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .filter_map(|field| field["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// How many versions the cooperative's `kind` record has.
async fn versions(store: &Store, kind: &str) -> anyhow::Result<usize> {
    Ok(store.private_history(kind, "voskhod").await?.len())
}

two_database_test!(
    the_system_is_initialized_once_and_updated_after,
    |urls: [String; 2]| async move {
        let store = Store::open(&urls[0]).await?;
        let api = Api::start_with(store.clone(), Name::from_str_const("voskhod"), None).await?;
        let (_, example) = templates::builtin_for(100)?.context("a template")?;
        let records = json!({
            "organization_data": checked_organization("voskhod", "Потребительский кооператив «Восход»"),
            "vars": records::vars("voskhod", &example),
        });

        // Only the service and the chairman; an invalid field of either record writes neither.
        let anonymous = api.call(None, INIT, json!({"d": records})).await?;
        ensure!(
            error_code(&anonymous) == Some("UNAUTHENTICATED"),
            "{anonymous}"
        );
        let mut invalid = records.clone();
        invalid["organization_data"]["details"]["inn"] = json!("7707083894");
        invalid["vars"]["contact_email"] = json!("not an address");
        let refused = api
            .call(Some(SERVICE_TOKEN), INIT, json!({"d": invalid}))
            .await?;
        ensure!(
            error_code(&refused) == Some("BAD_USER_INPUT")
                && fields(&refused).contains(&"organization_data.details.inn".to_owned())
                && fields(&refused).contains(&"vars.contact_email".to_owned()),
            "{refused}"
        );
        ensure!(versions(&store, "organization").await? == 0);
        ensure!(versions(&store, "vars").await? == 0);
        // Updating needs an initialized system.
        let early = api
            .call(
                Some(SERVICE_TOKEN),
                UPDATE,
                json!({"d": {"vars": records["vars"]}}),
            )
            .await?;
        ensure!(error_code(&early) == Some("NOT_FOUND"), "{early}");

        let first = api
            .data(Some(SERVICE_TOKEN), INIT, json!({"d": records}))
            .await?;
        ensure!(
            first["initSystem"] == json!({"valid_from_block": 1, "changed": 2}),
            "{first}"
        );
        let again = api
            .data(Some(SERVICE_TOKEN), INIT, json!({"d": records}))
            .await?;
        ensure!(again["initSystem"]["changed"] == 0, "{again}");
        let mut other = records.clone();
        other["vars"]["website"] = json!("other.coop");
        let conflict = api
            .call(Some(SERVICE_TOKEN), INIT, json!({"d": other}))
            .await?;
        ensure!(error_code(&conflict) == Some("CONFLICT"), "{conflict}");
        ensure!(versions(&store, "vars").await? == 1);

        // An update replaces what it is given, once.
        let nothing = api
            .call(Some(SERVICE_TOKEN), UPDATE, json!({"d": {}}))
            .await?;
        ensure!(error_code(&nothing) == Some("BAD_USER_INPUT"), "{nothing}");
        for expected in [1, 0] {
            let updated = api
                .data(
                    Some(SERVICE_TOKEN),
                    UPDATE,
                    json!({"d": {"vars": other["vars"]}}),
                )
                .await?;
            ensure!(updated["updateSystem"]["changed"] == expected, "{updated}");
        }
        let kept = store
            .private_at("vars", "voskhod", u32::MAX)
            .await?
            .context("vars")?;
        let kept: Value = serde_json::from_str(kept.data.as_str())?;
        ensure!(kept["website"] == "other.coop", "{kept}");
        ensure!(versions(&store, "organization").await? == 1);
        store.close().await;
        Ok(())
    }
);
