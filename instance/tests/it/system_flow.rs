//! The cooperative's own records through the GraphQL API: `initSystem` keeps the organization
//! record and the variables together or not at all, says which fields are wrong, changes
//! nothing when given again and refuses other records once initialized; `updateSystem` needs
//! an initialized system and replaces what it is given. Against the devnet: fees set on chain
//! through `updateSystem` once, and a council installed with a newcomer who sets its own key.

use std::sync::Arc;

use anyhow::{Context as _, ensure};
use mono_instance::antelope::keys::PrivateKey;
use mono_instance::antelope::name::Name;
use mono_instance::chain::api::{ApiOptions, ChainApi};
use mono_instance::chain::push::Pusher;
use mono_instance::demo::records;
use mono_instance::devnet::{RunningDevnet, Storage};
use mono_instance::factory::templates;
use mono_instance::store::Store;
use serde_json::{Value, json};

use crate::api::{Api, SERVICE_TOKEN, bootstrap_key, error_code};
use crate::crash::{devnet, loopback};
use crate::factory_store::checked_organization;
use crate::join_flow::settle;
use crate::key_reset::Outbox;
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

/// A devnet synced into the store at `url` and an API pushing with the cooperative's key and
/// mailing into an outbox.
async fn on_devnet(url: &str) -> anyhow::Result<(RunningDevnet, Store, Api, Arc<Outbox>, String)> {
    let devnet = devnet(Storage::Ephemeral, loopback()?, loopback()?).await?;
    let store = Store::open(url).await?;
    settle(&devnet, &store).await?;
    let ready = devnet.ready();
    let chain = ChainApi::new(&ready.http, ApiOptions::default())?;
    let pusher = Pusher::new(chain, ready.coopname, bootstrap_key(&devnet, "voskhod")?);
    let outbox = Arc::new(Outbox::default());
    let api = Api::start_mailing(
        store.clone(),
        ready.coopname,
        Some(pusher),
        Some(outbox.clone()),
    )
    .await?;
    let (chairman, _, _) = api
        .login("chairman", &bootstrap_key(&devnet, "chairman")?)
        .await?;
    Ok((devnet, store, api, outbox, chairman))
}

const FEES: &str = "mutation($f: FeesInput!) { updateSystem(data: {fees: $f}) { changed transaction { transaction_id } } }";
const INFO: &str = "{ getSystemInfo { fees council } }";

two_database_test!(fees_change_on_chain_once, |urls: [String; 2]| async move {
    let (devnet, store, api, _, chairman) = on_devnet(&urls[0]).await?;
    let fees = json!({"initial": "150.0000 RUB", "minimum": "350.0000 RUB",
                          "org_initial": "1500.0000 RUB", "org_minimum": "3500.0000 RUB"});

    // Amounts are checked field by field; the chain checks the currency's precision.
    let mut invalid = fees.clone();
    invalid["minimum"] = json!("-1.0000 RUB");
    invalid["org_initial"] = json!("много");
    let refused = api
        .call(Some(&chairman), FEES, json!({"f": invalid}))
        .await?;
    ensure!(
        error_code(&refused) == Some("BAD_USER_INPUT")
            && fields(&refused) == ["fees.minimum", "fees.org_initial"],
        "{refused}"
    );
    let mut imprecise = fees.clone();
    imprecise["initial"] = json!("150.00 RUB");
    let rejected = api
        .call(Some(&chairman), FEES, json!({"f": imprecise}))
        .await?;
    ensure!(
        error_code(&rejected) == Some("CHAIN_REJECTED"),
        "{rejected}"
    );

    // Pushed once: the second call finds the chain holding the fees.
    let first = api
        .data(Some(SERVICE_TOKEN), FEES, json!({"f": fees}))
        .await?;
    ensure!(
        first["updateSystem"]["transaction"]["transaction_id"].is_string()
            && first["updateSystem"]["changed"] == 0,
        "{first}"
    );
    let before = api.data(None, INFO, json!({})).await?;
    ensure!(
        before["getSystemInfo"]["fees"]["initial"] == "100.0000 RUB",
        "{before}"
    );
    settle(&devnet, &store).await?;
    let again = api.data(Some(&chairman), FEES, json!({"f": fees})).await?;
    ensure!(again["updateSystem"]["transaction"].is_null(), "{again}");
    let after = api.data(None, INFO, json!({})).await?;
    ensure!(
        after["getSystemInfo"]["fees"]
            == json!({"registration": "500.0000 RUB", "initial": "150.0000 RUB",
                          "minimum": "350.0000 RUB", "org_registration": "5000.0000 RUB",
                          "org_initial": "1500.0000 RUB", "org_minimum": "3500.0000 RUB"}),
        "{after}"
    );
    store.close().await;
    devnet.stop().await?;
    Ok(())
});

const INSTALL: &str = "mutation($d: InstallSystemInput!) { installSystem(data: $d) { created invited changed transaction { transaction_id } } }";

/// A council member's entry of `installSystem`.
fn person(username: &str, role: &str, first_name: &str) -> Value {
    json!({"username": username, "role": role, "email": format!("{username}@voskhod.coop"),
           "individual_data": {"first_name": first_name, "last_name": "Петрова",
               "middle_name": "", "birthdate": "1985-03-04", "full_address": "Москва",
               "phone": "+7 900 000-00-01"}})
}

two_database_test!(
    a_council_is_installed_with_a_newcomer_who_sets_its_own_key,
    |urls: [String; 2]| async move {
        let (devnet, store, api, outbox, chairman) = on_devnet(&urls[0]).await?;
        // member2 leaves the board, annapetrova joins it.
        let council = json!({"soviet": [
            person("chairman", "CHAIRMAN", "Сергей"),
            person("member1", "MEMBER", "Ольга"),
            person("annapetrova", "MEMBER", "Анна"),
        ]});
        let installed = api
            .data(Some(&chairman), INSTALL, json!({"d": council}))
            .await?;
        ensure!(
            installed["installSystem"]["created"] == json!(["annapetrova"])
                && installed["installSystem"]["invited"] == json!(["annapetrova"])
                && installed["installSystem"]["changed"] == 3
                && installed["installSystem"]["transaction"]["transaction_id"].is_string(),
            "{installed}"
        );
        ensure!(outbox.len() == 1, "one invitation");
        let (token, to) = outbox.last_token()?;
        ensure!(to == "annapetrova@voskhod.coop", "{to}");
        settle(&devnet, &store).await?;
        let info = api.data(None, INFO, json!({})).await?;
        let seats: Vec<&str> = info["getSystemInfo"]["council"]
            .as_array()
            .context("seats")?
            .iter()
            .filter_map(|seat| seat["username"].as_str())
            .collect();
        ensure!(seats == ["chairman", "member1", "annapetrova"], "{seats:?}");

        // The newcomer sets its own key with the token and logs in as a council member.
        let key = PrivateKey::from_bytes(&[0x17; 32])?;
        api.data(
            None,
            "mutation($t: String!, $k: String!) { resetKey(data: {token: $t, public_key: $k}) { transaction_id } }",
            json!({"t": token, "k": key.public_key().to_string()}),
        )
        .await?;
        settle(&devnet, &store).await?;
        let (_, _, role) = api.login("annapetrova", &key).await?;
        ensure!(role == "council", "{role}");
        let (_, _, role) = api
            .login("member2", &bootstrap_key(&devnet, "member2")?)
            .await?;
        ensure!(role == "member", "{role}");

        // The same council again: nothing to push, write or send.
        let again = api
            .data(Some(SERVICE_TOKEN), INSTALL, json!({"d": council}))
            .await?;
        ensure!(
            again["installSystem"]
                == json!({"created": [], "invited": [], "changed": 0, "transaction": null}),
            "{again}"
        );
        ensure!(outbox.len() == 1, "no second invitation");
        store.close().await;
        devnet.stop().await?;
        Ok(())
    }
);
