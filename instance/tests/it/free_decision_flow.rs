//! A free decision through the GraphQL API against a devnet: a member keeps a project, has its
//! document generated, signs and publishes it; the council votes, the chairman signs the
//! protocol, authorizes and executes it. Then a member opens a share contribution, which shows
//! in the payments once the chain accepted it.

use anyhow::{Context as _, ensure};
use serde_json::{Value, json};

use crate::api::{Api, bootstrap_key, error_code};
use crate::join_flow::{Client, CooperativeApi, settle};
use crate::support::two_database_test;

/// The items of `getPayments` of `kind` for `username`.
async fn payments(api: &Api, bearer: &str, kind: &str, username: &str) -> anyhow::Result<Value> {
    let data = api
        .data(
            Some(bearer),
            &format!("query($u: String!) {{ getPayments(kind: {kind}, filter: {{username: $u}}) {{ items {{ hash status amount }} }} }}"),
            json!({"u": username}),
        )
        .await?;
    Ok(data["getPayments"]["items"].clone())
}

two_database_test!(
    a_free_decision_passes_the_council_and_a_member_contributes,
    |urls: [String; 2]| async move {
        let CooperativeApi {
            devnet,
            chain,
            store,
            api,
            ..
        } = CooperativeApi::start(&urls[0]).await?;
        let author = Client {
            key: bootstrap_key(&devnet, "member2")?,
        };
        let (member, _, _) = api.login("member2", &author.key).await?;
        let chairman_client = Client {
            key: bootstrap_key(&devnet, "chairman")?,
        };
        let (chairman, _, _) = api.login("chairman", &chairman_client.key).await?;

        // The project is kept privately; every empty field is named.
        let create = "mutation($d: CreateProjectInput!) { createProjectOfFreeDecision(data: $d) { id question block_num } }";
        let refused = api
            .call(
                Some(&member),
                create,
                json!({"d": {"question": "", "decision": " "}}),
            )
            .await?;
        let fields: Vec<&Value> = refused["errors"][0]["extensions"]["fields"]
            .as_array()
            .context("field errors")?
            .iter()
            .map(|field| &field["field"])
            .collect();
        ensure!(
            fields == [&json!("question"), &json!("decision")],
            "{refused}"
        );
        let project = api
            .data(
                Some(&member),
                create,
                json!({"d": {"question": "О ремонте склада", "decision": "Отремонтировать склад до осени"}}),
            )
            .await?;
        let project_id = project["createProjectOfFreeDecision"]["id"]
            .as_str()
            .context("a project id")?
            .to_owned();
        settle(&devnet, &store).await?;

        // Its document, signed by its author, goes on the agenda.
        let generated = api
            .data(
                Some(&member),
                "mutation($p: String!) { generateProjectOfFreeDecision(data: {project_id: $p}) { hash registry_id html } }",
                json!({"p": project_id}),
            )
            .await?;
        let generated = &generated["generateProjectOfFreeDecision"];
        ensure!(
            generated["registry_id"] == 599
                && generated["html"]
                    .as_str()
                    .is_some_and(|html| html.contains("О ремонте склада")),
            "{generated}"
        );
        let project_hash = generated["hash"].as_str().context("a hash")?.to_owned();
        let publish = "mutation($d: PublishProjectInput!) { publishProjectOfFreeDecision(data: $d) { transaction_id } }";
        let not_the_author = chairman_client.sign_document(&chain, &project_hash).await?;
        let refused = api
            .call(
                Some(&chairman),
                publish,
                json!({"d": {"document": not_the_author}}),
            )
            .await?;
        ensure!(error_code(&refused) == Some("BAD_USER_INPUT"), "{refused}");
        api.data(
            Some(&member),
            publish,
            json!({"d": {"document": author.sign_document(&chain, &project_hash).await?}}),
        )
        .await?;
        settle(&devnet, &store).await?;
        let agenda = "query($u: String!) { getAgenda(filter: {username: $u}) { items { id kind stage statement_hash } } }";
        let items = api
            .data(Some(&chairman), agenda, json!({"u": "member2"}))
            .await?;
        let item = &items["getAgenda"]["items"][0];
        ensure!(
            item["kind"] == "freedecision"
                && item["stage"] == "voting"
                && item["statement_hash"] == project_hash.as_str(),
            "{items}"
        );
        let decision_id = item["id"].as_u64().context("a decision")?;

        // The council votes; the chairman signs the protocol, authorizes and executes it.
        for voter in ["chairman", "member1", "member2"] {
            let key = bootstrap_key(&devnet, voter)?;
            let (bearer, _, _) = api.login(voter, &key).await?;
            let vote = Client { key }.vote(&chain, "votefor", decision_id).await?;
            api.data(
                Some(&bearer),
                "mutation($d: VoteInput!) { voteFor(data: $d) { transaction_id } }",
                json!({"d": vote}),
            )
            .await?;
        }
        settle(&devnet, &store).await?;
        let protocol = api
            .data(
                Some(&chairman),
                "mutation($i: Int!) { generateFreeDecision(data: {decision_id: $i}) { hash registry_id html } }",
                json!({"i": decision_id}),
            )
            .await?;
        let protocol = &protocol["generateFreeDecision"];
        ensure!(
            protocol["registry_id"] == 600
                && protocol["html"]
                    .as_str()
                    .is_some_and(|html| html.contains("Отремонтировать склад до осени")),
            "{protocol}"
        );
        let protocol_hash = protocol["hash"].as_str().context("a hash")?.to_owned();
        let authorize = "mutation($d: AuthorizeDecisionInput!) { authorizeDecision(data: $d) { transaction_id } }";
        api.data(
            Some(&chairman),
            authorize,
            json!({"d": {"decision_id": decision_id, "username": "member2",
                         "document": chairman_client.sign_document(&chain, &protocol_hash).await?}}),
        )
        .await?;
        settle(&devnet, &store).await?;
        api.data(
            Some(&chairman),
            "mutation($i: Int!) { execDecision(data: {decision_id: $i}) { transaction_id } }",
            json!({"i": decision_id}),
        )
        .await?;
        settle(&devnet, &store).await?;
        let items = api
            .data(Some(&chairman), agenda, json!({"u": "member2"}))
            .await?;
        ensure!(
            items["getAgenda"]["items"][0]["stage"] == "executed",
            "{items}"
        );
        let decided = api
            .data(
                Some(&member),
                "query($h: String!) { getDocument(hash: $h) { document { status signers } verification { valid } } }",
                json!({"h": protocol_hash}),
            )
            .await?;
        ensure!(
            decided["getDocument"]["document"]["status"] == "ACCEPTED"
                && decided["getDocument"]["document"]["signers"] == json!(["chairman"])
                && decided["getDocument"]["verification"]["valid"] == true,
            "{decided}"
        );

        // A share contribution: the member's own, in the cooperative's currency.
        let deposit = "mutation($d: CreateDepositPaymentInput!) { createDepositPayment(data: $d) { hash transaction { transaction_id } } }";
        let refused = api
            .call(
                Some(&member),
                deposit,
                json!({"d": {"username": "member1", "quantity": "1000.0000 RUB"}}),
            )
            .await?;
        ensure!(error_code(&refused) == Some("FORBIDDEN"), "{refused}");
        let refused = api
            .call(
                Some(&member),
                deposit,
                json!({"d": {"username": "member2", "quantity": "-5.0000 RUB"}}),
            )
            .await?;
        ensure!(
            refused["errors"][0]["extensions"]["fields"][0]["field"] == "quantity",
            "{refused}"
        );
        let refused = api
            .call(
                Some(&member),
                deposit,
                json!({"d": {"username": "member2", "quantity": "1000.00 USD"}}),
            )
            .await?;
        ensure!(error_code(&refused) == Some("CHAIN_REJECTED"), "{refused}");
        let opened = api
            .data(
                Some(&member),
                deposit,
                json!({"d": {"username": "member2", "quantity": "1000.0000 RUB"}}),
            )
            .await?;
        let deposit_hash = opened["createDepositPayment"]["hash"]
            .as_str()
            .context("a hash")?
            .to_owned();
        ensure!(
            payments(&api, &member, "DEPOSIT", "member2")
                .await?
                .as_array()
                .is_some_and(Vec::is_empty),
            "not before the chain accepted it"
        );
        settle(&devnet, &store).await?;
        for kind in ["DEPOSIT", "INCOME"] {
            let items = payments(&api, &member, kind, "member2").await?;
            ensure!(
                items
                    .as_array()
                    .is_some_and(|items| items.iter().any(|item| {
                        item["hash"] == deposit_hash.as_str()
                            && item["status"] == "pending"
                            && item["amount"] == 10_000_000
                    })),
                "{kind}: {items}"
            );
        }
        store.close().await;
        devnet.stop().await?;
        Ok(())
    }
);
