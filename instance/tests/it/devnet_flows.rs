//! The cooperative contracts of the devnet, driven through the chain's public API in manual
//! block mode: signed transactions in, traces, table rows and assertion errors out. Covers the
//! full admission flow (reguser → payment → agenda → votes → authorize → exec → confirmreg),
//! the wallet's deposits and withdrawals, the checks that must reject them, and the shape of
//! every published ABI against the real COOPOS ABIs, read in place.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow};
use rand_core::OsRng;
use serde_json::{Value, json};

use mono_instance::antelope::abi::Abi;
use mono_instance::antelope::abi::def::AbiDef;
use mono_instance::antelope::document::vote_digest;
use mono_instance::antelope::document::{Document2, DocumentVersion};
use mono_instance::antelope::keys::PrivateKey;
use mono_instance::antelope::name::Name;
use mono_instance::antelope::time::{BlockTimestamp, TimePoint, TimePointSec};
use mono_instance::antelope::transaction::{Action, PermissionLevel, Tapos, Transaction};
use mono_instance::devnet::bootstrap::Bootstrap;
use mono_instance::devnet::chain::{Chain, ChainConfig, PushResult, SignedInput};
use mono_instance::devnet::contracts::Contracts;
use mono_instance::devnet::error::{ChainError, ChainErrorKind};
use mono_instance::devnet::state::RowKey;

const ABI_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/coopos-abi");
/// 2025-06-15T14:13:20Z, a fixed genesis so runs are reproducible.
const GENESIS_MICROS: i64 = 1_750_000_000_000_000;
pub(crate) const COOP: &str = "voskhod";
const BOARD: [(&str, &str); 3] = [
    ("chairone", "chairman"),
    ("memberone", "member"),
    ("membertwo", "member"),
];
const CANDIDATE: &str = "candidateone";

fn name(text: &str) -> Name {
    Name::from_str_const(text)
}

fn active(actor: &str) -> PermissionLevel {
    PermissionLevel {
        actor: name(actor),
        permission: name("active"),
    }
}

/// A devnet chain with the cooperative contracts, stepped by hand.
pub(crate) struct Devnet {
    pub(crate) chain: Chain,
    now: TimePoint,
    pub(crate) keys: BTreeMap<Name, PrivateKey>,
    abis: BTreeMap<Name, Abi>,
}

impl Devnet {
    fn new() -> Result<Self> {
        let genesis_time = BlockTimestamp::from_time_point(TimePoint::from_micros(GENESIS_MICROS))
            .context("genesis time is after 2000")?;
        let bootstrap = Bootstrap::generate(&mut OsRng, genesis_time);
        let config = ChainConfig {
            chain_id: bootstrap.chain_id(),
            lib_lag: 1,
            producer_key: bootstrap.producer_key()?,
        };
        let contracts = Contracts::with_cooperative();
        let mut abis = BTreeMap::new();
        for (account, contract) in contracts.iter() {
            abis.insert(account, Abi::from_def(contract.abi())?);
        }
        let mut keys = BTreeMap::new();
        for account in &bootstrap.accounts {
            if let Some(text) = &account.private_key {
                keys.insert(account.name, text.parse::<PrivateKey>()?);
            }
        }
        let chain = Chain::new(
            config,
            contracts,
            bootstrap.genesis_accounts(),
            genesis_time,
        )?;
        Ok(Self {
            chain,
            now: genesis_time.to_time_point(),
            keys,
            abis,
        })
    }

    /// Moves the clock `days` ahead; the next block is produced then.
    pub(crate) fn advance_days(&mut self, days: i64) {
        self.now = TimePoint::from_micros(self.now.as_micros() + days * 86_400 * 1_000_000);
    }

    pub(crate) fn now_sec(&self) -> TimePointSec {
        let secs = self.now.as_micros() / 1_000_000;
        TimePointSec::from_secs(u32::try_from(secs).unwrap_or(u32::MAX))
    }

    pub(crate) fn key(&self, account: &str) -> Result<&PrivateKey> {
        self.keys
            .get(&name(account))
            .ok_or_else(|| anyhow!("no key for {account}"))
    }

    /// Pushes one action authorized by `actor@active`, signed with the actor's key, and
    /// produces the block on success.
    pub(crate) fn push(
        &mut self,
        contract: &str,
        action: &str,
        actor: &str,
        data: Value,
    ) -> Result<PushResult, ChainError> {
        let abi = &self.abis[&name(contract)];
        let type_name = abi
            .action_type(name(action))
            .expect("the ABI has the action");
        let bytes = abi
            .encode(type_name, &data)
            .expect("action data matches the ABI");
        let act = Action {
            account: name(contract),
            name: name(action),
            authorization: vec![active(actor)],
            data: bytes,
        };
        let expiration = TimePointSec::from_secs(self.now_sec().as_secs() + 60);
        let trx = Transaction::new(
            expiration,
            Tapos::from_block_id(&self.chain.head().id),
            vec![act],
        );
        let key = self
            .keys
            .get(&name(actor))
            .expect("the actor's key is known");
        let signed = trx.sign(self.chain.chain_id(), [key]).expect("key signs");
        let input = SignedInput {
            signatures: signed.signatures.clone(),
            packed_trx: signed.transaction.pack(),
        };
        let result = self.chain.push_transaction(&input, self.now)?;
        self.produce();
        Ok(result)
    }

    fn produce(&mut self) {
        self.chain
            .produce_block(self.now)
            .expect("block is produced");
        self.now = TimePoint::from_micros(self.now.as_micros() + 500_000);
    }

    fn row(&self, code: &str, scope: &str, table: &str, primary_key: u64) -> Option<Value> {
        let key = RowKey {
            code: name(code),
            scope: name(scope),
            table: name(table),
            primary_key,
        };
        let row = self.chain.state().row(&key)?;
        let abi = &self.abis[&name(code)];
        let type_name = abi.table_type(name(table)).expect("the ABI has the table");
        Some(
            abi.decode(type_name, &row.value)
                .expect("row matches the ABI"),
        )
    }

    fn rows(&self, code: &str, scope: &str, table: &str) -> Vec<Value> {
        let abi = &self.abis[&name(code)];
        let type_name = abi.table_type(name(table)).expect("the ABI has the table");
        self.chain
            .state()
            .table_rows(name(code), name(scope), name(table))
            .map(|(_, row)| {
                abi.decode(type_name, &row.value)
                    .expect("row matches the ABI")
            })
            .collect()
    }

    /// The candidate's account card in the registrator's registry.
    fn card(&self) -> Result<Value> {
        self.row(
            "registrator",
            "registrator",
            "accounts",
            name(CANDIDATE).as_u64(),
        )
        .context("card")
    }

    /// The council's decision 1, the only one these tests put on the agenda.
    fn decision(&self) -> Result<Value> {
        self.row("soviet", COOP, "decisions", 1)
            .context("decision 1")
    }

    /// The wallet's withdrawal 1.
    fn withdrawal(&self) -> Result<Value> {
        self.row("wallet", COOP, "withdraws", 1).context("withdraw")
    }

    /// The provider cooperative with a three-member council, each member with a fresh key.
    pub(crate) fn with_council() -> Result<Self> {
        let mut devnet = Self::new()?;
        devnet.push("registrator", "init", "eosio", json!({}))?;
        for (member, _) in BOARD {
            devnet.push(
                "registrator",
                "adduser",
                COOP,
                json!({
                    "coopname": COOP, "referer": "", "username": member, "type": "individual",
                    "created_at": "2025-01-01T00:00:00", "initial": "100.0000 RUB",
                    "minimum": "300.0000 RUB", "spread_initial": true, "meta": "",
                    "registration_hash": sha_hex(member),
                }),
            )?;
            let key = PrivateKey::generate(&mut OsRng);
            devnet.push(
                "registrator",
                "changekey",
                COOP,
                json!({"coopname": COOP, "changer": COOP, "username": member, "public_key": key.public_key()}),
            )?;
            devnet.keys.insert(name(member), key);
        }
        let members: Vec<Value> = BOARD
            .iter()
            .map(|(member, position)| {
                json!({"username": member, "is_voting": true, "position_title": position, "position": position})
            })
            .collect();
        devnet.push(
            "soviet",
            "createboard",
            COOP,
            json!({"coopname": COOP, "username": COOP, "type": "soviet", "members": members,
                   "name": "Совет", "description": ""}),
        )?;
        Ok(devnet)
    }

    /// A signed `document2` by `signer` with `key`.
    fn document(&self, signer: &str, key: &PrivateKey) -> Result<Document2> {
        let meta = json!({"registry_id": 100, "coopname": COOP, "username": signer});
        let mut document = Document2::new(DocumentVersion::V1_1_0, &meta, b"%PDF-1.7 statement")?;
        document.sign(name(signer), key, self.now_sec())?;
        Ok(document)
    }

    /// A signed `document2` by `signer` with the signer's own key.
    pub(crate) fn own_document(&self, signer: &str) -> Result<Document2> {
        self.document(signer, self.key(signer)?)
    }

    /// `signer`'s own document whose signature names a public key it was not made with.
    fn forged_document(&self, signer: &str) -> Result<Document2> {
        let mut forged = self.own_document(signer)?;
        forged.signatures[0].public_key = PrivateKey::generate(&mut OsRng).public_key();
        Ok(forged)
    }

    /// The candidate's chain account, created by the cooperative.
    fn with_candidate() -> Result<Self> {
        let mut devnet = Self::with_council()?;
        devnet.create_candidate()?;
        Ok(devnet)
    }

    /// Has the cooperative create the candidate's account with a fresh key
    /// (`registrator::newaccount`).
    fn create_candidate(&mut self) -> Result<PushResult> {
        let key = PrivateKey::generate(&mut OsRng);
        let result = self.push(
            "registrator",
            "newaccount",
            COOP,
            json!({"coopname": COOP, "referer": "", "username": CANDIDATE, "public_key": key.public_key(), "meta": "{}"}),
        )?;
        self.keys.insert(name(CANDIDATE), key);
        Ok(result)
    }

    fn reguser(&mut self, statement: &Document2) -> Result<PushResult, ChainError> {
        self.push(
            "registrator",
            "reguser",
            COOP,
            json!({"coopname": COOP, "braname": "", "username": CANDIDATE, "type": "individual",
                   "statement": statement, "registration_hash": sha_hex(CANDIDATE)}),
        )
    }

    /// The candidate applies with a statement signed with the candidate's own key.
    fn apply(&mut self) -> Result<PushResult> {
        let statement = self.own_document(CANDIDATE)?;
        Ok(self.reguser(&statement)?)
    }

    /// The gateway confirms the payment of the income `sha_hex(hash)`.
    pub(crate) fn pay(&mut self, hash: &str) -> Result<PushResult, ChainError> {
        self.push(
            "gateway",
            "incomplete",
            COOP,
            json!({"coopname": COOP, "income_hash": sha_hex(hash)}),
        )
    }

    /// The gateway declines the payment of the income `sha_hex(hash)`.
    pub(crate) fn decline_payment(&mut self, hash: &str) -> Result<PushResult, ChainError> {
        self.push(
            "gateway",
            "indecline",
            COOP,
            json!({"coopname": COOP, "income_hash": sha_hex(hash), "reason": "no payment"}),
        )
    }

    pub(crate) fn vote(
        &mut self,
        action: &str,
        member: &str,
        decision_id: u64,
    ) -> Result<PushResult> {
        let signed_at = self.now_sec();
        let digest = vote_digest(name(action), name(COOP), decision_id, signed_at);
        let key = self.key(member)?;
        let signature = key.sign_digest(digest.as_bytes())?;
        let public_key = key.public_key();
        Ok(self.push(
            "soviet",
            action,
            member,
            json!({"version": "1.0.0", "coopname": COOP, "username": member, "decision_id": decision_id,
                   "signed_at": signed_at, "signed_hash": digest, "signature": signature,
                   "public_key": public_key}),
        )?)
    }

    fn authorize(&mut self, chairman: &str, signer: &str) -> Result<PushResult, ChainError> {
        let protocol = self.own_document(signer).expect("protocol is signed");
        self.push(
            "soviet",
            "authorize",
            COOP,
            json!({"coopname": COOP, "chairman": chairman, "decision_id": 1, "document": protocol}),
        )
    }

    fn exec(&mut self) -> Result<PushResult, ChainError> {
        self.push(
            "soviet",
            "exec",
            COOP,
            json!({"executer": COOP, "coopname": COOP, "decision_id": 1}),
        )
    }
}

pub(crate) fn sha_hex(text: &str) -> String {
    mono_instance::devnet::contracts::common::sha256(text).to_hex()
}

/// `(receiver, account::action)` of every action trace, in execution order.
fn trace_of(result: &PushResult) -> Vec<(String, String)> {
    result
        .trace
        .action_traces
        .iter()
        .map(|trace| {
            (
                trace.receiver.to_string(),
                format!("{}::{}", trace.act.account, trace.act.name),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(receiver, action)| ((*receiver).to_owned(), (*action).to_owned()))
        .collect()
}

pub(crate) fn assert_assertion(result: Result<PushResult, ChainError>, message: &str) {
    match result {
        Ok(_) => panic!("expected the contract to reject with {message:?}"),
        Err(error) => {
            assert_eq!(
                error.kind(),
                ChainErrorKind::AssertMessage,
                "{}",
                error.message()
            );
            assert!(
                error.message().contains(message),
                "{:?} does not contain {message:?}",
                error.message()
            );
        }
    }
}

fn assert_vote_rejected(result: Result<PushResult>, message: &str) {
    let error = match result {
        Ok(_) => panic!("expected the vote to be rejected with {message:?}"),
        Err(error) => error,
    };
    let chain_error = error.downcast::<ChainError>().expect("a chain error");
    assert_assertion(Err(chain_error), message);
}

#[test]
fn registration_runs_from_statement_to_admission() -> Result<()> {
    let mut devnet = Devnet::with_council()?;

    // 0. newaccount: the system contract creates the account for the cooperative.
    let result = devnet.create_candidate()?;
    assert_eq!(
        trace_of(&result),
        pairs(&[
            ("registrator", "registrator::newaccount"),
            ("eosio", "eosio::createaccnt"),
            ("eosio", "eosio::newaccount"),
        ])
    );
    let registrator_owner = json!({
        "threshold": 1, "keys": [], "waits": [],
        "accounts": [{"permission": {"actor": "registrator", "permission": "active"}, "weight": 1}],
    });
    let candidate_key = devnet.key(CANDIDATE)?.public_key();
    let candidate_active = json!({
        "threshold": 1, "accounts": [], "waits": [],
        "keys": [{"key": candidate_key.to_legacy_string(), "weight": 1}],
    });
    let system = &devnet.abis[&name("eosio")];
    let createaccnt = &result.trace.action_traces[1].act;
    assert_eq!(createaccnt.authorization, [active("registrator")]);
    assert_eq!(
        system.decode("createaccnt", &createaccnt.data)?,
        json!({"coopname": COOP, "new_account_name": CANDIDATE,
               "owner": registrator_owner, "active": candidate_active})
    );
    let newaccount = &result.trace.action_traces[2].act;
    assert_eq!(newaccount.authorization, [active("eosio")]);
    assert_eq!(
        system.decode("newaccount", &newaccount.data)?,
        json!({"creator": "eosio", "name": CANDIDATE,
               "owner": registrator_owner, "active": candidate_active})
    );
    let account = devnet
        .chain
        .state()
        .account(name(CANDIDATE))
        .context("the candidate's account")?;
    let permissions: Vec<_> = account
        .permissions
        .iter()
        .map(|perm| {
            (
                perm.name.to_string(),
                perm.parent.to_string(),
                perm.auth.threshold,
                perm.auth
                    .keys
                    .iter()
                    .map(|weight| weight.key)
                    .collect::<Vec<_>>(),
                perm.auth
                    .accounts
                    .iter()
                    .map(|weight| weight.permission)
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        permissions,
        vec![
            (
                "owner".to_owned(),
                String::new(),
                1,
                vec![],
                vec![active("registrator")],
            ),
            (
                "active".to_owned(),
                "owner".to_owned(),
                1,
                vec![candidate_key],
                vec![]
            ),
        ]
    );

    let card = devnet.card()?;
    assert_eq!(card["status"], "pending");
    assert_eq!(card["registrator"], COOP);

    // 1. reguser: candidate row, payment and package notifications.
    let result = devnet.apply()?;
    assert_eq!(
        trace_of(&result),
        pairs(&[
            ("registrator", "registrator::reguser"),
            ("soviet", "soviet::newpackage"),
            ("gateway", "gateway::createinpay"),
            (COOP, "soviet::newpackage"),
            (CANDIDATE, "soviet::newpackage"),
        ])
    );
    let candidates = devnet.rows("registrator", COOP, "candidates2");
    assert_eq!(candidates.len(), 1);
    assert_eq!(candidates[0]["status"], "created");
    assert_eq!(candidates[0]["registration_hash"], sha_hex(CANDIDATE));
    assert_eq!(
        candidates[0]["statement"]["signatures"][0]["signer"],
        CANDIDATE
    );
    let card = devnet.card()?;
    assert_eq!(card["type"], "individual");
    assert_eq!(card["storages"], json!([COOP]));
    let incomes = devnet.rows("gateway", COOP, "incomes");
    assert_eq!(incomes.len(), 1);
    assert_eq!(incomes[0]["status"], "pending");
    assert_eq!(incomes[0]["quantity"], "400.0000 RUB");
    assert_eq!(incomes[0]["confirm_callback"], "confirmpay");

    // 2. payment: gateway confirms, the registrator puts the candidate on the agenda.
    let result = devnet.pay(CANDIDATE)?;
    assert_eq!(
        trace_of(&result),
        pairs(&[
            ("gateway", "gateway::incomplete"),
            ("registrator", "registrator::confirmpay"),
            ("soviet", "soviet::createagenda"),
            ("soviet", "soviet::newsubmitted"),
            (COOP, "soviet::newsubmitted"),
            (CANDIDATE, "soviet::newsubmitted"),
        ])
    );
    assert!(devnet.rows("gateway", COOP, "incomes").is_empty());
    assert_eq!(
        devnet.rows("registrator", COOP, "candidates2")[0]["status"],
        "payed"
    );
    let decision = devnet.decision()?;
    assert_eq!(decision["type"], "joincoop");
    assert_eq!(decision["callback_contract"], "registrator");
    assert_eq!(decision["confirm_callback"], "confirmreg");
    assert_eq!(decision["hash"], sha_hex(CANDIDATE));

    // 3. votes: one of three is not a majority, two are.
    devnet.vote("votefor", "chairone", 1)?;
    let decision = devnet.decision()?;
    assert_eq!(decision["votes_for"], json!(["chairone"]));
    assert_eq!(decision["approved"], false);
    devnet.vote("voteagainst", "membertwo", 1)?;
    devnet.vote("votefor", "memberone", 1)?;
    let decision = devnet.decision()?;
    assert_eq!(decision["votes_for"], json!(["chairone", "memberone"]));
    assert_eq!(decision["votes_against"], json!(["membertwo"]));
    assert_eq!(decision["approved"], true);

    // 4. the chairman authorizes with a signed protocol.
    devnet.authorize("chairone", "chairone")?;
    let decision = devnet.decision()?;
    assert_eq!(decision["authorized"], true);
    assert_eq!(decision["authorized_by"], "chairone");
    assert_eq!(
        decision["authorization"]["signatures"][0]["signer"],
        "chairone"
    );

    // 5. exec fires confirmreg and the registry notifications.
    let result = devnet.exec()?;
    assert_eq!(
        trace_of(&result),
        pairs(&[
            ("soviet", "soviet::exec"),
            ("registrator", "registrator::confirmreg"),
            ("soviet", "soviet::newresolved"),
            ("soviet", "soviet::newdecision"),
            (CANDIDATE, "registrator::confirmreg"),
            ("soviet", "soviet::addpartcpnt"),
            (COOP, "soviet::newresolved"),
            (CANDIDATE, "soviet::newresolved"),
            (COOP, "soviet::newdecision"),
            (CANDIDATE, "soviet::newdecision"),
        ])
    );
    assert!(devnet.row("soviet", COOP, "decisions", 1).is_none());
    assert!(devnet.rows("registrator", COOP, "candidates2").is_empty());
    let participant = devnet
        .row("soviet", COOP, "participants", name(CANDIDATE).as_u64())
        .context("participant")?;
    assert_eq!(participant["status"], "accepted");
    assert_eq!(participant["initial_amount"], "100.0000 RUB");
    assert_eq!(participant["minimum_amount"], "300.0000 RUB");
    let card = devnet.card()?;
    assert_eq!(card["status"], "active");
    let coop = devnet
        .row("registrator", "registrator", "coops", name(COOP).as_u64())
        .context("coop")?;
    assert_eq!(coop["active_participants_count"], 4);
    Ok(())
}

#[test]
fn statement_with_a_bad_signature_is_rejected() -> Result<()> {
    let mut devnet = Devnet::with_candidate()?;
    let forged = devnet.forged_document(CANDIDATE)?;
    assert_assertion(
        devnet.reguser(&forged),
        "Error expected key different than recovered key",
    );

    let stranger = PrivateKey::generate(&mut OsRng);
    let foreign = devnet.document(CANDIDATE, &stranger)?;
    assert_assertion(
        devnet.reguser(&foreign),
        "does not belong to candidateone@active",
    );
    assert!(devnet.rows("registrator", COOP, "candidates2").is_empty());
    assert!(devnet.rows("gateway", COOP, "incomes").is_empty());
    Ok(())
}

#[test]
fn council_checks_reject_bad_votes_and_early_steps() -> Result<()> {
    let mut devnet = Devnet::with_candidate()?;
    devnet.apply()?;
    devnet.pay(CANDIDATE)?;

    assert_vote_rejected(
        devnet.vote("votefor", CANDIDATE, 1),
        "У вас нет права голоса",
    );
    assert_assertion(
        devnet.exec(),
        "Только авторизованное решение может быть исполнено",
    );
    assert_assertion(
        devnet.authorize("chairone", "chairone"),
        "Консенсус совета по решению не достигнут",
    );

    devnet.vote("votefor", "chairone", 1)?;
    assert_vote_rejected(
        devnet.vote("votefor", "chairone", 1),
        "Участник уже проголосовал",
    );
    assert_vote_rejected(
        devnet.vote("voteagainst", "chairone", 1),
        "Участник уже проголосовал",
    );
    devnet.vote("votefor", "memberone", 1)?;

    // A vote signed over another decision's digest does not count.
    let signed_at = devnet.now_sec();
    let wrong = vote_digest(name("votefor"), name(COOP), 2, signed_at);
    let key = devnet.key("membertwo")?.clone();
    let result = devnet.push(
        "soviet",
        "votefor",
        "membertwo",
        json!({"version": "1.0.0", "coopname": COOP, "username": "membertwo", "decision_id": 1,
               "signed_at": signed_at, "signed_hash": wrong, "signature": key.sign_digest(wrong.as_bytes())?,
               "public_key": key.public_key()}),
    );
    assert_assertion(
        result,
        "Подписанный хэш не соответствует голосу за это решение",
    );

    assert_assertion(
        devnet.authorize("memberone", "memberone"),
        "Только председатель совета может утвердить решение",
    );
    assert_assertion(
        devnet.authorize("chairone", "memberone"),
        "Не найдена подпись от обязательного подписанта: chairone",
    );
    let decision = devnet.decision()?;
    assert_eq!(decision["votes_for"], json!(["chairone", "memberone"]));
    assert_eq!(decision["authorized"], false);
    assert_assertion(
        devnet.exec(),
        "Только авторизованное решение может быть исполнено",
    );
    Ok(())
}

#[test]
fn declined_payment_frees_the_account_card() -> Result<()> {
    let mut devnet = Devnet::with_candidate()?;
    devnet.apply()?;
    let result = devnet.decline_payment(CANDIDATE)?;
    assert_eq!(
        trace_of(&result),
        pairs(&[
            ("gateway", "gateway::indecline"),
            ("registrator", "registrator::declinepay"),
            (CANDIDATE, "registrator::declinepay"),
        ])
    );
    assert!(devnet.rows("registrator", COOP, "candidates2").is_empty());
    assert!(devnet.rows("gateway", COOP, "incomes").is_empty());
    let card = devnet.card()?;
    assert_eq!(card["type"], "");
    Ok(())
}

#[test]
fn published_abis_have_the_shape_of_the_real_contracts() -> Result<()> {
    let contracts = Contracts::with_cooperative();
    let mut checked = 0;
    for (account, contract) in contracts.iter() {
        if account == name("eosio") {
            continue;
        }
        let path = format!("{ABI_DIR}/{account}.abi");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        let real = AbiDef::from_json_str(&text)?;
        let ours = contract.abi();
        Abi::from_def(ours.clone()).with_context(|| format!("loading the ABI of {account}"))?;
        assert_eq!(ours.version, real.version, "{account}");
        for def in &ours.structs {
            let found = real
                .structs
                .iter()
                .find(|candidate| candidate.name == def.name);
            assert_eq!(found, Some(def), "{account}: struct {}", def.name);
        }
        for def in &ours.actions {
            let found = real
                .actions
                .iter()
                .find(|candidate| candidate.name == def.name);
            assert_eq!(
                found.map(|action| &action.type_name),
                Some(&def.type_name),
                "{account}: action {}",
                def.name
            );
        }
        for def in &ours.tables {
            let found = real
                .tables
                .iter()
                .find(|candidate| candidate.name == def.name);
            assert_eq!(
                found.map(|table| (&table.type_name, &table.index_type)),
                Some((&def.type_name, &def.index_type)),
                "{account}: table {}",
                def.name
            );
        }
        // The binary form served by get_raw_abi reads back to the same ABI.
        assert_eq!(AbiDef::from_bin(&ours.to_bin())?, ours, "{account}");
        checked += 1;
    }
    assert_eq!(checked, 7);

    // The system contract: the account-creation actions, `powerup` and the structs they carry. Its other
    // actions lack the binary extensions of the real ones (`memo`, `authorized_by`).
    let path = format!("{ABI_DIR}/eosio.system.abi");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let real = AbiDef::from_json_str(&text)?;
    let ours = contracts.get(name("eosio")).context("eosio")?.abi();
    for struct_name in [
        "createaccnt",
        "newaccount",
        "authority",
        "key_weight",
        "permission_level_weight",
        "permission_level",
        "wait_weight",
        "powerup",
        "powerup_order",
    ] {
        let find = |abi: &AbiDef| {
            abi.structs
                .iter()
                .find(|def| def.name == struct_name)
                .cloned()
        };
        assert!(find(&ours).is_some(), "eosio: struct {struct_name}");
        assert_eq!(find(&ours), find(&real), "eosio: struct {struct_name}");
    }
    for action_name in ["createaccnt", "newaccount", "powerup"] {
        let find = |abi: &AbiDef| {
            abi.actions
                .iter()
                .find(|def| def.name == name(action_name))
                .map(|def| def.type_name.clone())
        };
        assert_eq!(
            find(&ours).as_deref(),
            Some(action_name),
            "eosio: action {action_name}"
        );
        assert_eq!(find(&ours), find(&real), "eosio: action {action_name}");
    }
    Ok(())
}

#[test]
fn a_shareholder_selects_a_branch_with_its_signed_statement() -> Result<()> {
    let mut devnet = Devnet::with_council()?;
    devnet.push(
        "branch",
        "createbranch",
        COOP,
        json!({"coopname": COOP, "braname": "branchone", "trustee": "memberone"}),
    )?;
    let select = |braname: &str, document: &Document2| json!({"coopname": COOP, "username": "membertwo", "braname": braname, "document": document});
    let statement = devnet.own_document("membertwo")?;
    assert_assertion(
        devnet.push(
            "soviet",
            "selectbranch",
            COOP,
            select("branchtwo", &statement),
        ),
        "Кооперативный участок не найден",
    );
    let stranger = PrivateKey::generate(&mut OsRng);
    let foreign = devnet.document("membertwo", &stranger)?;
    assert_assertion(
        devnet.push(
            "soviet",
            "selectbranch",
            COOP,
            select("branchone", &foreign),
        ),
        "does not belong to membertwo@active",
    );
    let error = devnet
        .push(
            "soviet",
            "selectbranch",
            "membertwo",
            select("branchone", &statement),
        )
        .err()
        .context("selectbranch without the cooperative's authority")?;
    assert_eq!(
        error.kind(),
        ChainErrorKind::MissingAuth,
        "{}",
        error.message()
    );
    devnet.push(
        "soviet",
        "selectbranch",
        COOP,
        select("branchone", &statement),
    )?;
    let participant = devnet
        .row("soviet", COOP, "participants", name("membertwo").as_u64())
        .context("participant")?;
    assert_eq!(participant["braname"], "branchone");
    Ok(())
}

#[test]
fn a_free_decision_goes_through_the_agenda_without_a_callback() -> Result<()> {
    let mut devnet = Devnet::with_council()?;
    let project = devnet.own_document("memberone")?;
    let stranger = PrivateKey::generate(&mut OsRng);
    let foreign = devnet.document("memberone", &stranger)?;
    let publish = |document: &Document2| json!({"coopname": COOP, "username": "memberone", "document": document, "meta": "{}"});
    assert_assertion(
        devnet.push("soviet", "freedecision", COOP, publish(&foreign)),
        "does not belong to memberone@active",
    );
    devnet.push("soviet", "freedecision", COOP, publish(&project))?;
    let decision = devnet.decision()?;
    assert_eq!(decision["type"], "freedecision");
    assert_eq!(decision["username"], "memberone");
    assert_eq!(decision["hash"], project.hash.to_hex());
    for (member, _) in BOARD {
        devnet.vote("votefor", member, 1)?;
    }
    devnet.authorize("chairone", "chairone")?;
    let executed = devnet.exec()?;
    assert_eq!(
        trace_of(&executed),
        pairs(&[
            ("soviet", "soviet::exec"),
            ("soviet", "soviet::newresolved"),
            ("soviet", "soviet::newdecision"),
            ("voskhod", "soviet::newresolved"),
            ("memberone", "soviet::newresolved"),
            ("voskhod", "soviet::newdecision"),
            ("memberone", "soviet::newdecision"),
        ])
    );
    assert!(devnet.rows("soviet", COOP, "decisions").is_empty());
    Ok(())
}

#[test]
fn branches_and_drafts_keep_their_tables() -> Result<()> {
    let mut devnet = Devnet::with_council()?;
    devnet.push(
        "branch",
        "createbranch",
        COOP,
        json!({"coopname": COOP, "braname": "branchone", "trustee": "memberone"}),
    )?;
    devnet.push(
        "branch",
        "addtrusted",
        COOP,
        json!({"coopname": COOP, "braname": "branchone", "trusted": "membertwo"}),
    )?;
    let branch = devnet
        .row("branch", COOP, "branches", name("branchone").as_u64())
        .context("branch")?;
    assert_eq!(branch["trustee"], "memberone");
    assert_eq!(branch["trusted"], json!(["membertwo"]));
    assert_eq!(devnet.rows("branch", COOP, "branchstat")[0]["count"], 1);
    assert_assertion(
        devnet.push(
            "branch",
            "createbranch",
            COOP,
            json!({"coopname": COOP, "braname": "branchone", "trustee": "memberone"}),
        ),
        "Кооперативный участок уже существует",
    );
    devnet.push(
        "branch",
        "editbranch",
        COOP,
        json!({"coopname": COOP, "braname": "branchone", "trustee": "chairone"}),
    )?;
    devnet.push(
        "branch",
        "deletebranch",
        COOP,
        json!({"coopname": COOP, "braname": "branchone"}),
    )?;
    assert!(devnet.rows("branch", COOP, "branches").is_empty());
    assert_eq!(devnet.rows("branch", COOP, "branchstat")[0]["count"], 0);

    devnet.push(
        "draft",
        "createdraft",
        "draft",
        json!({"scope": "draft", "username": "draft", "registry_id": 2, "lang": "ru", "title": "Signature",
               "description": "", "context": "<p>{{ name }}</p>", "model": "{}", "translation_data": "{}"}),
    )?;
    devnet.push("draft", "createtrans", "draft", json!({"scope": "draft", "username": "draft", "registry_id": 2, "lang": "en", "data": "{}"}))?;
    devnet.push(
        "draft",
        "upversion",
        "draft",
        json!({"scope": "draft", "username": "draft", "registry_id": 2}),
    )?;
    let draft = devnet.row("draft", "draft", "drafts", 2).context("draft")?;
    assert_eq!(draft["version"], 2);
    assert_eq!(draft["default_translation_id"], 1);
    assert_eq!(devnet.rows("draft", "draft", "translations").len(), 2);
    assert_assertion(
        devnet.push(
            "draft",
            "deltrans",
            "draft",
            json!({"scope": "draft", "username": "draft", "translate_id": 1}),
        ),
        "Нельзя удалить перевод по умолчанию",
    );

    // A member signs the cooperative's signature agreement, on the template's current version.
    let document = devnet.own_document("memberone")?;
    devnet.push(
        "soviet",
        "sndagreement",
        "memberone",
        json!({"coopname": COOP, "administrator": COOP, "username": "memberone", "agreement_type": "signature",
               "document": document}),
    )?;
    let agreement = devnet
        .row("soviet", COOP, "agreements3", 1)
        .context("agreement")?;
    assert_eq!(agreement["version"], 2);
    assert_eq!(agreement["draft_id"], 2);
    devnet.push("soviet", "confirmagree", COOP, json!({"coopname": COOP, "administrator": COOP, "username": "memberone", "agreement_id": 1}))?;
    assert_eq!(
        devnet
            .row("soviet", COOP, "agreements3", 1)
            .context("agreement")?["status"],
        "confirmed"
    );

    devnet.push(
        "draft",
        "deldraft",
        "draft",
        json!({"scope": "draft", "username": "draft", "registry_id": 2}),
    )?;
    assert!(devnet.rows("draft", "draft", "drafts").is_empty());
    assert!(devnet.rows("draft", "draft", "translations").is_empty());
    Ok(())
}

const DEPOSITOR: &str = "memberone";

fn deposit(devnet: &mut Devnet, hash: &str, quantity: &str) -> Result<PushResult, ChainError> {
    devnet.push(
        "wallet",
        "createdpst",
        COOP,
        json!({"coopname": COOP, "username": DEPOSITOR, "deposit_hash": sha_hex(hash), "quantity": quantity}),
    )
}

fn withdraw(
    devnet: &mut Devnet,
    hash: &str,
    statement: &Document2,
) -> Result<PushResult, ChainError> {
    devnet.push(
        "wallet",
        "createwthd",
        COOP,
        json!({"coopname": COOP, "username": DEPOSITOR, "withdraw_hash": sha_hex(hash),
               "quantity": "250.0000 RUB", "statement": statement}),
    )
}

#[test]
fn deposit_completes_through_the_gateway() -> Result<()> {
    let mut devnet = Devnet::with_council()?;
    let result = deposit(&mut devnet, "deposit-1", "1000.0000 RUB")?;
    assert_eq!(
        trace_of(&result),
        pairs(&[
            ("wallet", "wallet::createdpst"),
            ("gateway", "gateway::createinpay"),
        ])
    );
    let deposits = devnet.rows("wallet", COOP, "deposits");
    assert_eq!(deposits.len(), 1);
    assert_eq!(deposits[0]["id"], 1);
    assert_eq!(deposits[0]["username"], DEPOSITOR);
    assert_eq!(deposits[0]["deposit_hash"], sha_hex("deposit-1"));
    assert_eq!(deposits[0]["quantity"], "1000.0000 RUB");
    assert_eq!(deposits[0]["status"], "pending");
    let incomes = devnet.rows("gateway", COOP, "incomes");
    assert_eq!(incomes.len(), 1);
    assert_eq!(incomes[0]["income_hash"], sha_hex("deposit-1"));
    assert_eq!(incomes[0]["callback_contract"], "wallet");
    assert_eq!(incomes[0]["confirm_callback"], "completedpst");
    assert_eq!(incomes[0]["decline_callback"], "declinedpst");

    let result = devnet.pay("deposit-1")?;
    assert_eq!(
        trace_of(&result),
        pairs(&[
            ("gateway", "gateway::incomplete"),
            ("wallet", "wallet::completedpst"),
            (DEPOSITOR, "wallet::completedpst"),
        ])
    );
    assert!(devnet.rows("wallet", COOP, "deposits").is_empty());
    assert!(devnet.rows("gateway", COOP, "incomes").is_empty());

    // A declined payment removes the deposit too.
    deposit(&mut devnet, "deposit-2", "500.0000 RUB")?;
    let result = devnet.decline_payment("deposit-2")?;
    assert_eq!(
        trace_of(&result),
        pairs(&[
            ("gateway", "gateway::indecline"),
            ("wallet", "wallet::declinedpst"),
        ])
    );
    assert!(devnet.rows("wallet", COOP, "deposits").is_empty());
    Ok(())
}

#[test]
fn withdrawal_runs_through_a_council_decision() -> Result<()> {
    let mut devnet = Devnet::with_council()?;
    let statement = devnet.own_document(DEPOSITOR)?;
    let result = withdraw(&mut devnet, "withdraw-1", &statement)?;
    assert_eq!(
        trace_of(&result)[..3],
        pairs(&[
            ("wallet", "wallet::createwthd"),
            ("soviet", "soviet::createagenda"),
            ("soviet", "soviet::newsubmitted"),
        ])[..]
    );
    let row = devnet.withdrawal()?;
    assert_eq!(row["status"], "pending");
    assert_eq!(row["username"], DEPOSITOR);
    assert_eq!(row["quantity"], "250.0000 RUB");
    assert_eq!(row["statement"]["signatures"][0]["signer"], DEPOSITOR);
    assert_eq!(row["authorization"]["signatures"], json!([]));
    let decision = devnet.decision()?;
    assert_eq!(decision["type"], "createwthd");
    assert_eq!(decision["username"], DEPOSITOR);
    assert_eq!(decision["hash"], sha_hex("withdraw-1"));
    assert_eq!(decision["callback_contract"], "wallet");
    assert_eq!(decision["confirm_callback"], "authwthd");
    assert_eq!(decision["decline_callback"], "declinewthd");

    devnet.vote("votefor", "chairone", 1)?;
    devnet.vote("votefor", "membertwo", 1)?;
    devnet.authorize("chairone", "chairone")?;
    let result = devnet.exec()?;
    let trace = trace_of(&result);
    assert_eq!(
        trace[..3],
        pairs(&[
            ("soviet", "soviet::exec"),
            ("wallet", "wallet::authwthd"),
            ("soviet", "soviet::newresolved"),
        ])[..]
    );
    assert!(
        trace.contains(&("gateway".to_owned(), "gateway::createoutpay".to_owned())),
        "{trace:?}"
    );
    let row = devnet.withdrawal()?;
    assert_eq!(row["status"], "authorized");
    let outcomes = devnet.rows("gateway", COOP, "outcomes");
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0]["outcome_hash"], sha_hex("withdraw-1"));
    assert_eq!(outcomes[0]["username"], DEPOSITOR);
    assert_eq!(outcomes[0]["quantity"], "250.0000 RUB");
    assert_eq!(outcomes[0]["confirm_callback"], "completewthd");
    assert_eq!(outcomes[0]["decline_callback"], "declinewthd");

    let result = devnet.push(
        "gateway",
        "outcomplete",
        COOP,
        json!({"coopname": COOP, "outcome_hash": sha_hex("withdraw-1")}),
    )?;
    assert_eq!(
        trace_of(&result),
        pairs(&[
            ("gateway", "gateway::outcomplete"),
            ("wallet", "wallet::completewthd"),
        ])
    );
    assert!(devnet.rows("wallet", COOP, "withdraws").is_empty());
    assert!(devnet.rows("gateway", COOP, "outcomes").is_empty());
    Ok(())
}

#[test]
fn wallet_checks_reject_bad_deposits_and_withdrawals() -> Result<()> {
    let mut devnet = Devnet::with_council()?;
    assert_assertion(
        deposit(&mut devnet, "deposit-1", "10.0000 USD"),
        "Неверный символ токена",
    );
    assert_assertion(
        devnet.push(
            "wallet",
            "createdpst",
            COOP,
            json!({"coopname": COOP, "username": "nosuchmember", "deposit_hash": sha_hex("x"),
                   "quantity": "10.0000 RUB"}),
        ),
        "Пайщик не найден в кооперативе",
    );
    deposit(&mut devnet, "deposit-1", "10.0000 RUB")?;
    assert_assertion(
        deposit(&mut devnet, "deposit-1", "10.0000 RUB"),
        "Взнос у указанным deposit_hash уже существует",
    );
    // Only the gateway confirms a payment.
    let error = devnet
        .push(
            "wallet",
            "completedpst",
            COOP,
            json!({"coopname": COOP, "deposit_hash": sha_hex("deposit-1")}),
        )
        .err()
        .context("completedpst without the gateway's authority")?;
    assert_eq!(
        error.kind(),
        ChainErrorKind::MissingAuth,
        "{}",
        error.message()
    );
    assert_eq!(devnet.rows("wallet", COOP, "deposits").len(), 1);

    // The statement must be signed by the member, with the member's key.
    let forged = devnet.forged_document(DEPOSITOR)?;
    assert_assertion(
        withdraw(&mut devnet, "withdraw-1", &forged),
        "Error expected key different than recovered key",
    );
    let stranger = PrivateKey::generate(&mut OsRng);
    let foreign = devnet.document(DEPOSITOR, &stranger)?;
    assert_assertion(
        withdraw(&mut devnet, "withdraw-1", &foreign),
        "public key does not belong to memberone@active",
    );
    let by_another = devnet.own_document("chairone")?;
    assert_assertion(
        withdraw(&mut devnet, "withdraw-1", &by_another),
        "Не найдена подпись от обязательного подписанта: memberone",
    );
    assert!(devnet.rows("wallet", COOP, "withdraws").is_empty());
    assert!(devnet.rows("soviet", COOP, "decisions").is_empty());

    let statement = devnet.own_document(DEPOSITOR)?;
    withdraw(&mut devnet, "withdraw-1", &statement)?;
    assert_assertion(
        withdraw(&mut devnet, "withdraw-1", &statement),
        "Объект возврата уже существует с указанным хэшем",
    );
    // No payout before the council authorized the withdrawal.
    assert_assertion(
        devnet.push(
            "wallet",
            "completewthd",
            "gateway",
            json!({"coopname": COOP, "withdraw_hash": sha_hex("withdraw-1")}),
        ),
        "Только принятые заявления на вывод могут быть обработаны",
    );
    assert_assertion(
        devnet.push(
            "wallet",
            "authwthd",
            "soviet",
            json!({"coopname": COOP, "hash": sha_hex("withdraw-2"),
                   "authorization": devnet.own_document("chairone")?}),
        ),
        "Объект возврата с указанным хэшем не найден",
    );
    // The gateway or the council may decline it.
    devnet.push(
        "wallet",
        "declinewthd",
        "gateway",
        json!({"coopname": COOP, "withdraw_hash": sha_hex("withdraw-1"), "reason": "declined"}),
    )?;
    assert!(devnet.rows("wallet", COOP, "withdraws").is_empty());
    assert_assertion(
        devnet.push(
            "wallet",
            "declinewthd",
            "soviet",
            json!({"coopname": COOP, "withdraw_hash": sha_hex("withdraw-1"), "reason": "again"}),
        ),
        "Объект возврата не найден",
    );
    Ok(())
}

/// `registrator::updatecoop` with these fees, by `actor` naming `username` as the updater.
fn update_coop(
    devnet: &mut Devnet,
    actor: &str,
    username: &str,
    fees: [&str; 4],
) -> Result<PushResult, ChainError> {
    devnet.push(
        "registrator",
        "updatecoop",
        actor,
        json!({"coopname": COOP, "username": username, "initial": fees[0], "minimum": fees[1],
               "org_initial": fees[2], "org_minimum": fees[3],
               "announce": "Кооператив «Восход»", "description": "Потребительский кооператив"}),
    )
}

#[test]
fn the_cooperative_updates_its_fees_and_no_one_else_does() -> Result<()> {
    let mut devnet = Devnet::with_council()?;
    let fees = [
        "150.0000 RUB",
        "350.0000 RUB",
        "1500.0000 RUB",
        "3500.0000 RUB",
    ];
    // A council member holds no staff right the devnet knows, even naming itself.
    assert_assertion(
        update_coop(&mut devnet, "memberone", "memberone", fees),
        "Недостаточно прав доступа",
    );
    assert_assertion(
        update_coop(
            &mut devnet,
            COOP,
            COOP,
            ["150.0000 RUB", "350.00 RUB", fees[2], fees[3]],
        ),
        "Неверные символы взносов",
    );
    assert_assertion(
        update_coop(
            &mut devnet,
            COOP,
            COOP,
            [fees[0], fees[1], "0.0000 RUB", fees[3]],
        ),
        "должны быть положительными",
    );
    update_coop(&mut devnet, COOP, COOP, fees)?;
    let coop = devnet
        .row("registrator", "registrator", "coops", name(COOP).as_u64())
        .context("coops row")?;
    for (field, expected) in [
        ("initial", "150.0000 RUB"),
        ("minimum", "350.0000 RUB"),
        ("registration", "500.0000 RUB"),
        ("org_initial", "1500.0000 RUB"),
        ("org_minimum", "3500.0000 RUB"),
        ("org_registration", "5000.0000 RUB"),
        ("announce", "Кооператив «Восход»"),
    ] {
        assert_eq!(coop[field], expected, "{field}: {coop}");
    }
    Ok(())
}
