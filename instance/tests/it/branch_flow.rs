//! Branches through the GraphQL API against a devnet: the chairman opens, edits and removes a
//! branch and its trusted accounts with the cooperative's key; a shareholder has its statement
//! of a branch choice generated, signs it in its client and files it; the statement then reads
//! in full with its verification report, as of any block, and regenerates byte for byte.

use anyhow::{Context as _, ensure};
use mono_instance::antelope::keys::PrivateKey;
use mono_instance::demo::records::person;
use serde_json::{Value, json};

use crate::api::{Api, bootstrap_key, error_code};
use crate::factory_store::checked_organization;
use crate::join_flow::{Client, CooperativeApi, settle};
use crate::support::two_database_test;

const BRANCH: &str = "branchone";

/// The branches as of the synced block (`braname`, `trustee`, `trusted`).
async fn branches(api: &Api, bearer: &str) -> anyhow::Result<Vec<Value>> {
    let data = api
        .data(
            Some(bearer),
            "{ getBranches { items { braname trustee trusted } } }",
            json!({}),
        )
        .await?;
    Ok(data["getBranches"]["items"]
        .as_array()
        .context("branches")?
        .clone())
}

two_database_test!(
    the_chairman_runs_branches_and_a_shareholder_selects_one,
    |urls: [String; 2]| async move {
        let CooperativeApi {
            devnet,
            chain,
            store,
            api,
            ..
        } = CooperativeApi::start(&urls[0]).await?;
        let (chairman, _, _) = api
            .login("chairman", &bootstrap_key(&devnet, "chairman")?)
            .await?;
        let shareholder = Client {
            key: bootstrap_key(&devnet, "member2")?,
        };
        let (member, _, _) = api.login("member2", &shareholder.key).await?;

        // Only the chairman runs branches; bad input names its fields and pushes nothing.
        let create = "mutation($d: BranchInput!) { createBranch(data: $d) { transaction_id } }";
        let branch = json!({"braname": BRANCH, "trustee": "member1",
                            "organization_data": checked_organization(BRANCH, "Участок «Север»")});
        let refused = api
            .call(Some(&member), create, json!({"d": branch}))
            .await?;
        ensure!(error_code(&refused) == Some("FORBIDDEN"), "{refused}");
        let mut bad_names = branch.clone();
        bad_names["braname"] = json!("Not A Name");
        bad_names["trustee"] = json!("");
        let refused = api
            .call(Some(&chairman), create, json!({"d": bad_names}))
            .await?;
        let fields: Vec<&Value> = refused["errors"][0]["extensions"]["fields"]
            .as_array()
            .context("field errors")?
            .iter()
            .map(|field| &field["field"])
            .collect();
        ensure!(
            error_code(&refused) == Some("BAD_USER_INPUT")
                && fields == [&json!("braname"), &json!("trustee")],
            "{refused}"
        );
        let mut no_record = branch.clone();
        no_record["organization_data"] = Value::Null;
        let refused = api
            .call(Some(&chairman), create, json!({"d": no_record}))
            .await?;
        ensure!(
            refused["errors"][0]["extensions"]["fields"][0]["field"] == "organization_data",
            "{refused}"
        );
        let mut bad_record = branch.clone();
        bad_record["organization_data"]["details"]["inn"] = json!("7707083894");
        let refused = api
            .call(Some(&chairman), create, json!({"d": bad_record}))
            .await?;
        ensure!(error_code(&refused) == Some("BAD_USER_INPUT"), "{refused}");
        // The contract wants a shareholder as trustee, and says so.
        let mut stranger = branch.clone();
        stranger["trustee"] = json!("nobody");
        let refused = api
            .call(Some(&chairman), create, json!({"d": stranger}))
            .await?;
        ensure!(error_code(&refused) == Some("CHAIN_REJECTED"), "{refused}");
        settle(&devnet, &store).await?;
        ensure!(
            branches(&api, &chairman).await?.is_empty(),
            "nothing was opened"
        );

        api.data(Some(&chairman), create, json!({"d": branch}))
            .await?;
        // Until the follower stores the block, the registry does not know the branch.
        ensure!(branches(&api, &chairman).await?.is_empty());
        settle(&devnet, &store).await?;
        let trusted = "mutation($b: String!, $t: String!) { addTrustedAccount(data: {braname: $b, trusted: $t}) { transaction_id } }";
        api.data(
            Some(&chairman),
            trusted,
            json!({"b": BRANCH, "t": "member2"}),
        )
        .await?;
        settle(&devnet, &store).await?;
        ensure!(
            branches(&api, &chairman).await?
                == [json!({"braname": BRANCH, "trustee": "member1", "trusted": ["member2"]})],
            "{:?}",
            branches(&api, &chairman).await?
        );
        api.data(
            Some(&chairman),
            &trusted.replace("addTrustedAccount", "deleteTrustedAccount"),
            json!({"b": BRANCH, "t": "member2"}),
        )
        .await?;
        api.data(
            Some(&chairman),
            "mutation($d: BranchInput!) { editBranch(data: $d) { transaction_id } }",
            json!({"d": {"braname": BRANCH, "trustee": "chairman"}}),
        )
        .await?;
        settle(&devnet, &store).await?;
        ensure!(
            branches(&api, &chairman).await?
                == [json!({"braname": BRANCH, "trustee": "chairman", "trusted": []})],
            "{:?}",
            branches(&api, &chairman).await?
        );

        // The shareholder's statement names the branch and its trustee.
        let generated = api
            .data(
                Some(&member),
                "mutation($u: String!, $b: String!) { generateSelectBranchDocument(data: {username: $u, braname: $b}) { hash registry_id html block_num } }",
                json!({"u": "member2", "b": BRANCH}),
            )
            .await?;
        let generated = &generated["generateSelectBranchDocument"];
        ensure!(
            generated["registry_id"] == 101
                && generated["html"]
                    .as_str()
                    .is_some_and(|html| html.contains("Участок «Север»")),
            "{generated}"
        );
        let hash = generated["hash"].as_str().context("a hash")?.to_owned();
        let generated_at = generated["block_num"].as_u64().context("a block")?;
        let select =
            "mutation($d: SelectBranchInput!) { selectBranch(data: $d) { transaction_id } }";
        let forged = Client {
            key: bootstrap_key(&devnet, "member1")?,
        }
        .sign_document(&chain, &hash)
        .await?;
        let refused = api
            .call(
                Some(&member),
                select,
                json!({"d": {"username": "member2", "braname": BRANCH, "document": forged}}),
            )
            .await?;
        ensure!(error_code(&refused) == Some("BAD_USER_INPUT"), "{refused}");
        let signed = shareholder.sign_document(&chain, &hash).await?;
        let refused = api
            .call(
                Some(&member),
                select,
                json!({"d": {"username": "member2", "braname": "branchtwo", "document": signed}}),
            )
            .await?;
        ensure!(error_code(&refused) == Some("BAD_USER_INPUT"), "{refused}");
        api.data(
            Some(&member),
            select,
            json!({"d": {"username": "member2", "braname": BRANCH, "document": signed}}),
        )
        .await?;
        settle(&devnet, &store).await?;

        // The statement in full: accepted, its PDF and signature verified against the
        // shareholder's key on chain; pending as of the block it was made at.
        let one = "query($h: String!, $b: Int) { getDocument(hash: $h, block: $b) { registry_id pdf html document { status signers } verification { valid pdf_matches_meta signed { hash_matches signatures { signer key_matches key_on_chain } } } } }";
        let shown = api
            .data(Some(&member), one, json!({"h": hash, "b": null}))
            .await?;
        let shown = &shown["getDocument"];
        ensure!(
            shown["document"]["status"] == "ACCEPTED"
                && shown["document"]["signers"] == json!(["member2"])
                && shown["registry_id"] == 101
                && shown["pdf"].as_str().is_some_and(|pdf| pdf.len() > 1000),
            "{shown}"
        );
        let report = &shown["verification"];
        ensure!(
            report["valid"] == true
                && report["pdf_matches_meta"] == true
                && report["signed"]["hash_matches"] == true
                && report["signed"]["signatures"]
                    == json!([{"signer": "member2", "key_matches": true, "key_on_chain": true}]),
            "{report}"
        );
        let before = api
            .data(Some(&member), one, json!({"h": hash, "b": generated_at}))
            .await?;
        ensure!(
            before["getDocument"]["document"]["status"] == "PENDING",
            "{before}"
        );
        let regenerated = api
            .data(
                Some(&chairman),
                "mutation($h: String!) { regenerateDocument(data: {hash: $h}) { hash regenerated_hash identical } }",
                json!({"h": hash}),
            )
            .await?;
        ensure!(
            regenerated["regenerateDocument"]["identical"] == true
                && regenerated["regenerateDocument"]["regenerated_hash"] == hash.as_str(),
            "{regenerated}"
        );
        // The council reads it; another account may not, and learns no more of a document
        // that does not exist.
        let (council, _, _) = api
            .login("member1", &bootstrap_key(&devnet, "member1")?)
            .await?;
        let read = api
            .data(Some(&council), one, json!({"h": hash, "b": null}))
            .await?;
        ensure!(read["getDocument"]["registry_id"] == 101, "{read}");
        let outsider_key = PrivateKey::from_bytes(&[0x41; 32])?;
        api.data(
            None,
            "mutation($d: RegisterAccountInput!) { registerAccount(data: $d) { username } }",
            json!({"d": {"email": "outsider@example.ru", "username": "outsider",
                         "public_key": outsider_key.public_key().to_string(), "type": "INDIVIDUAL",
                         "individual_data": person("Иван", "Сидоров", "outsider")}}),
        )
        .await?;
        settle(&devnet, &store).await?;
        let (outsider, _, _) = api.login("outsider", &outsider_key).await?;
        for asked in [hash.clone(), "ab".repeat(32)] {
            let refused = api
                .call(Some(&outsider), one, json!({"h": asked, "b": null}))
                .await?;
            ensure!(error_code(&refused) == Some("FORBIDDEN"), "{refused}");
        }
        let missing = api
            .call(
                Some(&chairman),
                one,
                json!({"h": "ab".repeat(32), "b": null}),
            )
            .await?;
        ensure!(error_code(&missing) == Some("NOT_FOUND"), "{missing}");

        api.data(
            Some(&chairman),
            "mutation($b: String!) { deleteBranch(data: {braname: $b}) { transaction_id } }",
            json!({"b": BRANCH}),
        )
        .await?;
        settle(&devnet, &store).await?;
        ensure!(branches(&api, &chairman).await?.is_empty());
        store.close().await;
        devnet.stop().await?;
        Ok(())
    }
);
