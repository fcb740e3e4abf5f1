//! The join flow and the council flow end to end through the GraphQL API only, against a
//! devnet: a new member registers, has its documents generated, signs them as a client would,
//! files its application; the registration payment is confirmed, the council votes, the
//! chairman signs, authorizes and executes the decision, and the member reads as a member.
//! Accounts other than the council's are refused the council's operations.

use anyhow::{Context as _, ensure};
use mono_instance::antelope::document::signed_hash;
use mono_instance::antelope::keys::PrivateKey;
use mono_instance::antelope::time::TimePointSec;
use mono_instance::chain::api::{ApiOptions, ChainApi};
use mono_instance::chain::push::Pusher;
use mono_instance::demo::records::person;
use mono_instance::devnet::{RunningDevnet, Storage};
use mono_instance::factory::templates;
use mono_instance::store::Store;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::api::{Api, SERVICE_TOKEN, bootstrap_key, error_code, sync_to};
use crate::crash::{devnet, loopback, produce};
use crate::factory_store::cooperative_records;
use crate::support::two_database_test;

const APPLICANT: &str = "newmemberone";

/// A member of the public and a client: signs with its own key, which the server never sees.
pub(crate) struct Client {
    pub(crate) key: PrivateKey,
}

impl Client {
    /// A signature of a generated document's hash at the chain's head time.
    pub(crate) async fn sign_document(
        &self,
        chain: &ChainApi,
        hash: &str,
    ) -> anyhow::Result<Value> {
        let signed_at = head_time(chain).await?;
        let digest: [u8; 32] = hex::decode(signed_hash(hash, signed_at))?
            .try_into()
            .map_err(|_| anyhow::anyhow!("a SHA-256 digest"))?;
        Ok(json!({
            "hash": hash,
            "signature": {
                "signed_at": signed_at.to_string(),
                "signature": self.key.sign_digest(&digest)?.to_string(),
                "public_key": self.key.public_key().to_string(),
            },
        }))
    }

    /// A vote as `soviet` defines its digest.
    pub(crate) async fn vote(
        &self,
        chain: &ChainApi,
        action: &str,
        decision_id: u64,
    ) -> anyhow::Result<Value> {
        let signed_at = head_time(chain).await?;
        let digest: [u8; 32] = Sha256::digest(
            format!("{action}:voskhod:{decision_id}:{}", signed_at.as_secs()).as_bytes(),
        )
        .into();
        Ok(json!({
            "decision_id": decision_id,
            "signed_at": signed_at.to_string(),
            "signature": self.key.sign_digest(&digest)?.to_string(),
        }))
    }
}

async fn head_time(chain: &ChainApi) -> anyhow::Result<TimePointSec> {
    let info = chain.get_info().await?;
    Ok(TimePointSec::from_secs(u32::try_from(
        info.head_block_time.as_micros() / 1_000_000,
    )?))
}

/// Produces two blocks (the pushed one and one to make it irreversible) and syncs them.
pub(crate) async fn settle(devnet: &RunningDevnet, store: &Store) -> anyhow::Result<()> {
    let lib = produce(devnet, 2)? - 1;
    sync_to(devnet, store, lib).await
}

/// What the cooperative keeps before anyone joins (its council is the devnet's); returns the
/// example handwritten signature image.
async fn cooperative_data(store: &Store) -> anyhow::Result<Value> {
    cooperative_records(
        store,
        &[
            ("chairman", "Сергей", "Иванов"),
            ("member1", "Ольга", "Смирнова"),
            ("member2", "Андрей", "Кузнецов"),
        ],
        1,
    )
    .await?;
    let (_, example) = templates::builtin_for(100)?.context("a template")?;
    Ok(example["signature"].clone())
}

/// A devnet, a store holding the cooperative's records and synced with the chain, and an API
/// pushing with the cooperative's key.
pub(crate) struct CooperativeApi {
    pub(crate) devnet: RunningDevnet,
    pub(crate) chain: ChainApi,
    pub(crate) store: Store,
    pub(crate) api: Api,
    /// The example handwritten signature image.
    pub(crate) signature_image: Value,
}

impl CooperativeApi {
    /// Starts them on the database at `url`.
    pub(crate) async fn start(url: &str) -> anyhow::Result<Self> {
        let devnet = devnet(Storage::Ephemeral, loopback()?, loopback()?).await?;
        produce(&devnet, 2)?;
        let ready = devnet.ready();
        let chain = ChainApi::new(&ready.http, ApiOptions::default())?;
        let store = Store::open(url).await?;
        let signature_image = cooperative_data(&store).await?;
        settle(&devnet, &store).await?;
        let pusher = Pusher::new(
            chain.clone(),
            ready.coopname,
            bootstrap_key(&devnet, "voskhod")?,
        );
        let api = Api::start_with(store.clone(), ready.coopname, Some(pusher)).await?;
        Ok(Self {
            devnet,
            chain,
            store,
            api,
            signature_image,
        })
    }
}

two_database_test!(
    a_member_joins_and_the_council_admits_it_through_the_api,
    |urls: [String; 2]| async move {
        let CooperativeApi {
            devnet,
            chain,
            store,
            api,
            signature_image,
        } = CooperativeApi::start(&urls[0]).await?;
        let applicant = Client {
            key: PrivateKey::from_bytes(&[0x31; 32])?,
        };

        // Registration: every invalid field is named before anything reaches the chain.
        let register = "mutation($d: RegisterAccountInput!) { registerAccount(data: $d) { username transaction { transaction_id } } }";
        let mut registration = json!({
            "email": "applicant@example.ru", "username": APPLICANT,
            "public_key": applicant.key.public_key().to_string(), "type": "INDIVIDUAL",
            "individual_data": person("Анна", "Иванова", APPLICANT), "signature": signature_image,
        });
        let mut invalid = registration.clone();
        invalid["individual_data"]["phone"] = json!("not a phone");
        let refused = api.call(None, register, json!({"d": invalid})).await?;
        ensure!(error_code(&refused) == Some("BAD_USER_INPUT"), "{refused}");
        ensure!(
            refused["errors"][0]["extensions"]["fields"][0]["field"] == "phone",
            "{refused}"
        );
        let registered = api.data(None, register, json!({"d": registration})).await?;
        ensure!(
            registered["registerAccount"]["username"] == APPLICANT,
            "{registered}"
        );
        // The chain refuses a second account of the same name, and says why.
        registration["public_key"] = json!(
            PrivateKey::from_bytes(&[0x32; 32])?
                .public_key()
                .to_string()
        );
        let again = api.call(None, register, json!({"d": registration})).await?;
        ensure!(error_code(&again) == Some("CHAIN_REJECTED"), "{again}");
        settle(&devnet, &store).await?;

        // The new account logs in with its own key and has its documents generated.
        let (token, _, role) = api.login(APPLICANT, &applicant.key).await?;
        ensure!(role == "user", "{role}");
        let mut signed = serde_json::Map::new();
        for (operation, field) in [
            ("generateWalletAgreement", "wallet_agreement"),
            ("generateSignatureAgreement", "signature_agreement"),
            ("generatePrivacyAgreement", "privacy_agreement"),
            ("generateUserAgreement", "user_agreement"),
        ] {
            let generated = api
                .data(
                    Some(&token),
                    &format!("mutation($u: String!) {{ {operation}(data: {{username: $u}}) {{ hash registry_id html }} }}"),
                    json!({"u": APPLICANT}),
                )
                .await?;
            let hash = generated[operation]["hash"].as_str().context("a hash")?;
            signed.insert(
                field.to_owned(),
                applicant.sign_document(&chain, hash).await?,
            );
        }
        let links: Vec<&Value> = signed.values().map(|document| &document["hash"]).collect();
        let application = api
            .data(
                Some(&token),
                "mutation($u: String!, $l: [String!]) { generateParticipantApplication(data: {username: $u, links: $l}) { hash registry_id meta html } }",
                json!({"u": APPLICANT, "l": links}),
            )
            .await?;
        let application = &application["generateParticipantApplication"];
        ensure!(
            application["registry_id"] == 100 && application["meta"]["type"] == "individual",
            "{application}"
        );
        ensure!(
            application["html"]
                .as_str()
                .is_some_and(|html| html.contains("Анна")),
            "the application names the applicant"
        );
        let statement_hash = application["hash"].as_str().context("a hash")?.to_owned();
        let statement = applicant.sign_document(&chain, &statement_hash).await?;

        // No application, no registration payment.
        let initial = "mutation($u: String!) { createInitialPayment(data: {username: $u}) { kind hash amount status } }";
        let none = api
            .call(Some(&token), initial, json!({"u": APPLICANT}))
            .await?;
        ensure!(error_code(&none) == Some("NOT_FOUND"), "{none}");

        // A document signed by another key is refused; the signed set is filed.
        let file = "mutation($d: RegisterParticipantInput!) { registerParticipant(data: $d) { transaction_id } }";
        let forger = Client {
            key: PrivateKey::from_bytes(&[0x33; 32])?,
        };
        let mut forged = signed.clone();
        forged.insert("username".to_owned(), json!(APPLICANT));
        forged.insert(
            "statement".to_owned(),
            forger.sign_document(&chain, &statement_hash).await?,
        );
        let refused = api.call(Some(&token), file, json!({"d": forged})).await?;
        ensure!(error_code(&refused) == Some("BAD_USER_INPUT"), "{refused}");
        // So is an agreement given as the application.
        let mut swapped = signed.clone();
        swapped.insert("username".to_owned(), json!(APPLICANT));
        swapped.insert("statement".to_owned(), signed["wallet_agreement"].clone());
        let refused = api.call(Some(&token), file, json!({"d": swapped})).await?;
        ensure!(error_code(&refused) == Some("BAD_USER_INPUT"), "{refused}");
        let mut filing = signed.clone();
        filing.insert("username".to_owned(), json!(APPLICANT));
        filing.insert("statement".to_owned(), statement);
        api.data(Some(&token), file, json!({"d": filing})).await?;
        // Until the follower stores the block, the registries do not know the application.
        let account =
            "query($u: String!) { getAccount(username: $u) { role account { lifecycle } } }";
        let before = api
            .data(Some(&token), account, json!({"u": APPLICANT}))
            .await?;
        ensure!(
            before["getAccount"]["account"]["lifecycle"] == "USER",
            "{before}"
        );
        settle(&devnet, &store).await?;
        let candidate = api
            .data(Some(&token), account, json!({"u": APPLICANT}))
            .await?;
        ensure!(
            candidate["getAccount"]["account"]["lifecycle"] == "CANDIDATE",
            "{candidate}"
        );
        // The application opened its registration payment, which the applicant is shown.
        let opened = api
            .data(Some(&token), initial, json!({"u": APPLICANT}))
            .await?;
        ensure!(
            opened["createInitialPayment"]
                == json!({"kind": "INCOME", "hash": statement_hash, "amount": 4_000_000, "status": "pending"}),
            "{opened}"
        );

        // The registration payment, opened by the application, is confirmed by the service.
        let (chairman, _, _) = api
            .login("chairman", &bootstrap_key(&devnet, "chairman")?)
            .await?;
        let payments = api
            .data(
                Some(&chairman),
                "query($u: String!) { getPayments(filter: {username: $u, status: \"pending\"}) { items { hash } } }",
                json!({"u": APPLICANT}),
            )
            .await?;
        let income = payments["getPayments"]["items"][0]["hash"]
            .as_str()
            .context("a pending income")?
            .to_owned();
        ensure!(
            income == statement_hash,
            "the registration is paid under the application's hash"
        );
        crate::extensions::pay_by_qr(&api, &chairman, &token, APPLICANT, &income).await?;
        // Asked twice before the head moves, it is one transaction, pushed once.
        let mut settled = Vec::new();
        for _ in 0..2 {
            let answer = api
                .data(
                    Some(SERVICE_TOKEN),
                    "mutation($h: String!) { setPaymentStatus(data: {hash: $h, status: COMPLETED}) { transaction_id block_num } }",
                    json!({"h": income}),
                )
                .await?;
            settled.push(answer["setPaymentStatus"].clone());
        }
        ensure!(
            settled[0]["transaction_id"] == settled[1]["transaction_id"]
                && settled[0]["block_num"].is_u64()
                && settled[1]["block_num"].is_null(),
            "{settled:?}"
        );
        settle(&devnet, &store).await?;
        let paid = api
            .call(Some(&chairman), initial, json!({"u": APPLICANT}))
            .await?;
        ensure!(error_code(&paid) == Some("CONFLICT"), "{paid}");
        let agenda = api
            .data(
                Some(&chairman),
                "query($u: String!) { getAgenda(filter: {username: $u}) { items { id stage } } }",
                json!({"u": APPLICANT}),
            )
            .await?;
        let decision_id = agenda["getAgenda"]["items"][0]["id"]
            .as_u64()
            .context("a decision")?;

        // The council votes in its clients; an account outside it may not.
        let vote = "mutation($d: VoteInput!) { voteFor(data: $d) { transaction_id } }";
        let not_council = api
            .call(
                Some(&token),
                vote,
                json!({"d": applicant.vote(&chain, "votefor", decision_id).await?}),
            )
            .await?;
        ensure!(
            error_code(&not_council) == Some("FORBIDDEN"),
            "{not_council}"
        );
        let anonymous = api
            .call(
                None,
                vote,
                json!({"d": applicant.vote(&chain, "votefor", decision_id).await?}),
            )
            .await?;
        ensure!(
            error_code(&anonymous) == Some("UNAUTHENTICATED"),
            "{anonymous}"
        );
        // A vote signed by another key than the member's is refused before it reaches the chain.
        let (dissenter, _, _) = api
            .login("member2", &bootstrap_key(&devnet, "member2")?)
            .await?;
        let against = "mutation($d: VoteInput!) { voteAgainst(data: $d) { transaction_id } }";
        let not_theirs = applicant.vote(&chain, "voteagainst", decision_id).await?;
        let refused = api
            .call(Some(&dissenter), against, json!({"d": not_theirs}))
            .await?;
        ensure!(error_code(&refused) == Some("BAD_USER_INPUT"), "{refused}");
        let dissent = Client {
            key: bootstrap_key(&devnet, "member2")?,
        }
        .vote(&chain, "voteagainst", decision_id)
        .await?;
        api.data(Some(&dissenter), against, json!({"d": dissent}))
            .await?;
        for member in ["chairman", "member1"] {
            let key = bootstrap_key(&devnet, member)?;
            let (bearer, _, _) = api.login(member, &key).await?;
            let vote_of = Client { key }.vote(&chain, "votefor", decision_id).await?;
            api.data(Some(&bearer), vote, json!({"d": vote_of})).await?;
        }
        settle(&devnet, &store).await?;
        let tally = api
            .data(
                Some(&chairman),
                "query($u: String!) { getAgenda(filter: {username: $u}) { items { stage votes_for { username } votes_against { username } } } }",
                json!({"u": APPLICANT}),
            )
            .await?;
        let tally = &tally["getAgenda"]["items"][0];
        ensure!(
            tally["stage"] == "approved"
                && tally["votes_for"].as_array().map(Vec::len) == Some(2)
                && tally["votes_against"][0]["username"] == "member2",
            "{tally}"
        );

        // The chairman signs the decision document in its client, authorizes and executes it.
        let decision = api
            .data(
                Some(&chairman),
                "mutation($u: String!, $i: Int!) { generateParticipantApplicationDecision(data: {username: $u, decision_id: $i}) { hash registry_id } }",
                json!({"u": APPLICANT, "i": decision_id}),
            )
            .await?;
        let decision_hash = decision["generateParticipantApplicationDecision"]["hash"]
            .as_str()
            .context("a hash")?;
        let chairman_client = Client {
            key: bootstrap_key(&devnet, "chairman")?,
        };
        api.data(
            Some(&chairman),
            "mutation($d: AuthorizeDecisionInput!) { authorizeDecision(data: $d) { transaction_id } }",
            json!({"d": {"decision_id": decision_id, "username": APPLICANT,
                         "document": chairman_client.sign_document(&chain, decision_hash).await?}}),
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

        // The applicant is a member now, in its own account and in the council's list.
        let member = api
            .data(Some(&token), account, json!({"u": APPLICANT}))
            .await?;
        ensure!(
            member["getAccount"]["role"] == "member"
                && member["getAccount"]["account"]["lifecycle"] == "MEMBER",
            "{member}"
        );
        let members = api
            .data(
                Some(&chairman),
                "{ getAccounts(filter: {participant_status: \"accepted\"}, page: {limit: 500}) { items { username } } }",
                json!({}),
            )
            .await?;
        ensure!(
            members["getAccounts"]["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|item| item["username"] == APPLICANT)),
            "{members}"
        );
        // The application is on chain with the applicant's signature, and kept in full.
        let documents = api
            .data(
                Some(&token),
                "query($u: String!) { getDocuments(filter: {username: $u}) { items { hash status signers } } }",
                json!({"u": APPLICANT}),
            )
            .await?;
        ensure!(
            documents["getDocuments"]["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|item| {
                    item["hash"] == statement_hash.as_str()
                        && item["status"] == "ACCEPTED"
                        && item["signers"][0] == APPLICANT
                })),
            "{documents}"
        );
        // A plain member is still not the council.
        let plain = api
            .call(
                Some(&token),
                "mutation($i: Int!) { execDecision(data: {decision_id: $i}) { transaction_id } }",
                json!({"i": decision_id}),
            )
            .await?;
        ensure!(error_code(&plain) == Some("FORBIDDEN"), "{plain}");
        store.close().await;
        devnet.stop().await?;
        Ok(())
    }
);

two_database_test!(
    the_chairman_adds_a_shareholder_directly,
    |urls: [String; 2]| async move {
        let CooperativeApi {
            devnet, store, api, ..
        } = CooperativeApi::start(&urls[0]).await?;
        let (chairman, _, _) = api
            .login("chairman", &bootstrap_key(&devnet, "chairman")?)
            .await?;
        let key = PrivateKey::from_bytes(&[0x51; 32])?;
        let add = "mutation($d: AddParticipantInput!) { addParticipant(data: $d) { username transaction { transaction_id } } }";
        let person = json!({
            "email": "old@example.ru", "username": "oldmember", "type": "INDIVIDUAL",
            "public_key": key.public_key().to_string(),
            "individual_data": person("Пётр", "Старый", "oldmember"),
            "created_at": "2024-01-02T03:04:05", "initial": "100.0000 RUB", "minimum": "300.0000 RUB",
        });

        // A council member may not; every invalid field is named and nothing is pushed.
        let (council, _, _) = api
            .login("member1", &bootstrap_key(&devnet, "member1")?)
            .await?;
        let refused = api.call(Some(&council), add, json!({"d": person})).await?;
        ensure!(error_code(&refused) == Some("FORBIDDEN"), "{refused}");
        let mut invalid = person.clone();
        invalid["created_at"] = json!("yesterday");
        invalid["initial"] = json!("100 рублей");
        invalid["public_key"] = json!("none");
        invalid["individual_data"]["phone"] = json!("not a phone");
        let refused = api
            .call(Some(&chairman), add, json!({"d": invalid}))
            .await?;
        let fields: Vec<&str> = refused["errors"][0]["extensions"]["fields"]
            .as_array()
            .context("field errors")?
            .iter()
            .filter_map(|field| field["field"].as_str())
            .collect();
        ensure!(
            fields == ["public_key", "created_at", "initial", "phone"],
            "{refused}"
        );

        api.data(Some(&chairman), add, json!({"d": person})).await?;
        // The contract refuses the same account twice, and says why.
        let again = api.call(Some(&chairman), add, json!({"d": person})).await?;
        ensure!(error_code(&again) == Some("CHAIN_REJECTED"), "{again}");
        settle(&devnet, &store).await?;

        // The shareholder logs in with its own key and reads as a member with its data.
        let (token, _, role) = api.login("oldmember", &key).await?;
        ensure!(role == "member", "{role}");
        let account = api
            .data(
                Some(&token),
                "query($u: String!) { getAccount(username: $u) { account { lifecycle private_data } } }",
                json!({"u": "oldmember"}),
            )
            .await?;
        ensure!(
            account["getAccount"]["account"]["lifecycle"] == "MEMBER"
                && account["getAccount"]["account"]["private_data"]["last_name"] == "Старый",
            "{account}"
        );
        store.close().await;
        devnet.stop().await?;
        Ok(())
    }
);
