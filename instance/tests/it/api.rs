//! The GraphQL API on loopback over a devnet synced into SQLite and PostgreSQL: login with a
//! real K1 signature, refused challenges, refresh rotation and family revocation, access token
//! expiry, the authorization matrix (every operation as every role and as a stranger), queries
//! as of a block, and a subscription receiving a block's change over `graphql-transport-ws`.
//! The schema's own checks (every operation has a policy, `schema.graphql` is current) need no
//! chain.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use futures::{SinkExt as _, StreamExt as _};
use mono_instance::antelope::keys::PrivateKey;
use mono_instance::antelope::name::Name;
use mono_instance::api::policy::POLICIES;
use mono_instance::api::{ApiConfig, ApiState, Secret};
use mono_instance::chain::push::Pusher;
use mono_instance::devnet::{RunningDevnet, Storage};
use mono_instance::mail::Mailer;
use mono_instance::parser::{Filter, Metrics, ParserConfig, Stopped, follow};
use mono_instance::store::Store;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::crash::{DEADLINE, Traffic, devnet, loopback, produce};
use crate::support::two_database_test;

/// The service's credential in these tests.
pub(crate) const SERVICE_TOKEN: &str = "service-token-of-the-tests-0123456789abcdef";
/// The council member every `SelfOr` operation of the matrix is asked about: no caller of the
/// matrix is this account, so only roles can admit.
const SUBJECT: &str = "member2";

/// An API served on loopback with a clock the test moves.
pub(crate) struct Api {
    url: String,
    client: reqwest::Client,
    clock: Arc<AtomicI64>,
    server: tokio::task::JoinHandle<()>,
}

impl Api {
    async fn start(store: Store, coopname: Name) -> anyhow::Result<Self> {
        Self::start_with(store, coopname, None).await
    }

    /// An API pushing the cooperative's transactions with `cooperative`, when given.
    pub(crate) async fn start_with(
        store: Store,
        coopname: Name,
        cooperative: Option<Pusher>,
    ) -> anyhow::Result<Self> {
        Self::start_mailing(store, coopname, cooperative, None).await
    }

    /// As [`Api::start_with`], sending e-mail with `mailer`, when given.
    pub(crate) async fn start_mailing(
        store: Store,
        coopname: Name,
        cooperative: Option<Pusher>,
        mailer: Option<Arc<dyn Mailer>>,
    ) -> anyhow::Result<Self> {
        let clock = Arc::new(AtomicI64::new(1_800_000_000));
        let now = clock.clone();
        let mut config = ApiConfig::new(
            Secret::new(vec![0x5a; 32]),
            Some(Secret::new(SERVICE_TOKEN.as_bytes().to_vec())),
        );
        // The matrix logs in as many accounts from one address.
        config.logins_per_minute = 1_000;
        let mut state = ApiState::with_clock(
            store,
            coopname,
            config,
            Arc::new(move || now.load(Ordering::SeqCst)),
        );
        if let Some(pusher) = cooperative {
            state = state.with_cooperative(pusher);
        }
        if let Some(mailer) = mailer {
            state = state.with_mailer(mailer);
        }
        let router = mono_instance::api::http::router(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            let _stopped = axum::serve(listener, service).await;
        });
        Ok(Self {
            url: format!("http://{addr}/v1/graphql"),
            client: {
                let _already_installed = rustls::crypto::ring::default_provider().install_default();
                reqwest::Client::new()
            },
            clock,
            server,
        })
    }

    pub(crate) fn advance(&self, secs: i64) {
        self.clock.fetch_add(secs, Ordering::SeqCst);
    }

    /// The whole response body of `query` with `variables`, sent with `bearer`.
    pub(crate) async fn call(
        &self,
        bearer: Option<&str>,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .client
            .post(&self.url)
            .json(&json!({"query": query, "variables": variables}));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        Ok(request.send().await?.json().await?)
    }

    /// The `data` of a successful call.
    pub(crate) async fn data(
        &self,
        bearer: Option<&str>,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        let body = self.call(bearer, query, variables).await?;
        ensure!(body.get("errors").is_none(), "{query}: {body}");
        Ok(body["data"].clone())
    }

    async fn challenge(&self, username: &str) -> anyhow::Result<String> {
        let data = self
            .data(
                None,
                "query($u: String!) { authChallenge(username: $u) }",
                json!({"u": username}),
            )
            .await?;
        Ok(data["authChallenge"]
            .as_str()
            .context("a challenge")?
            .to_owned())
    }

    async fn login_with(
        &self,
        username: &str,
        challenge: &str,
        signature: &str,
    ) -> anyhow::Result<Value> {
        self.call(
            None,
            "mutation($d: LoginInput!) { login(data: $d) { account { username role } \
             tokens { access { token expires } refresh { token expires } } } }",
            json!({"d": {"username": username, "challenge": challenge, "signature": signature}}),
        )
        .await
    }

    /// Logs `username` in with `key`: (access token, refresh token, role).
    pub(crate) async fn login(
        &self,
        username: &str,
        key: &PrivateKey,
    ) -> anyhow::Result<(String, String, String)> {
        let challenge = self.challenge(username).await?;
        let body = self
            .login_with(username, &challenge, &sign(key, &challenge)?)
            .await?;
        let login = &body["data"]["login"];
        ensure!(login.is_object(), "login of {username}: {body}");
        let text = |value: &Value| value.as_str().map(str::to_owned).context("a string");
        Ok((
            text(&login["tokens"]["access"]["token"])?,
            text(&login["tokens"]["refresh"]["token"])?,
            text(&login["account"]["role"])?,
        ))
    }

    pub(crate) async fn refresh(&self, token: &str) -> anyhow::Result<Value> {
        self.call(
            None,
            "mutation($t: String!) { refresh(data: {refresh_token: $t}) { tokens { access { token } refresh { token } } } }",
            json!({"t": token}),
        )
        .await
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub(crate) fn sign(key: &PrivateKey, challenge: &str) -> anyhow::Result<String> {
    let digest: [u8; 32] = Sha256::digest(challenge.as_bytes()).into();
    Ok(key.sign_digest(&digest)?.to_string())
}

/// The first error's code, if the body has an error.
pub(crate) fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// Whether the policy refused the call (as opposed to the operation failing on its input).
fn refused(body: &Value) -> bool {
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    error_code(body) == Some("FORBIDDEN")
        || (error_code(body) == Some("UNAUTHENTICATED")
            && message == "this operation needs a login")
}

pub(crate) fn bootstrap_key(devnet: &RunningDevnet, account: &str) -> anyhow::Result<PrivateKey> {
    let ready = devnet.ready();
    Ok(ready
        .accounts
        .iter()
        .find(|candidate| candidate.name.to_string() == account)
        .and_then(|candidate| candidate.private_key.as_deref())
        .with_context(|| format!("{account} has a key"))?
        .parse()?)
}

/// Follows `devnet` into `store` up to `lib`.
pub(crate) async fn sync_to(devnet: &RunningDevnet, store: &Store, lib: u32) -> anyhow::Result<()> {
    let ready = devnet.ready();
    let mut config = ParserConfig::new(
        &ready.ship,
        &ready.http,
        Filter::new(&ready.contracts(), ready.coopname),
    );
    config.stop_after = Some(lib);
    let (_stop, shutdown) = watch::channel(false);
    let stopped = tokio::time::timeout(
        DEADLINE,
        follow(store, &config, &Metrics::default(), shutdown),
    )
    .await
    .context("sync in time")??;
    ensure!(stopped == Stopped::Reached(lib), "{stopped:?}");
    Ok(())
}

/// Each operation of the schema with a call of it about [`SUBJECT`] (or about no account), and
/// the callers it must admit: `a`nonymous, `u`ser, `m`ember, `c`ouncil, c`h`airman, `s`ervice.
fn matrix() -> Vec<(&'static str, String, &'static str)> {
    let op = |name: &'static str, query: &str, admitted: &'static str| {
        (name, query.replace("SUBJECT", SUBJECT), admitted)
    };
    let bank = r#"data: {currency: "RUB", bank_name: "Bank", account_number: "1", details: {bik: "1", corr: "1", kpp: "1"}}"#;
    let signed = r#"{hash: "00", signature: {signed_at: "2026-01-01T00:00:00", signature: "SIG_K1_none", public_key: "PUB_K1_none"}}"#;
    let vote =
        r#"data: {decision_id: 1, signed_at: "2026-01-01T00:00:00", signature: "SIG_K1_none"}"#;
    vec![
        op(
            "authChallenge",
            r#"{ authChallenge(username: "SUBJECT") }"#,
            "aumchs",
        ),
        op(
            "login",
            r#"mutation { login(data: {username: "SUBJECT", challenge: "none", signature: "SIG_K1_none"}) { account { username } } }"#,
            "aumchs",
        ),
        op(
            "refresh",
            r#"mutation { refresh(data: {refresh_token: "none"}) { tokens { access { token } } } }"#,
            "aumchs",
        ),
        op(
            "logout",
            r#"mutation { logout(data: {refresh_token: "none"}) }"#,
            "aumchs",
        ),
        op(
            "startResetKey",
            r#"mutation { startResetKey(data: {email: "nobody@example.ru"}) }"#,
            "aumchs",
        ),
        op(
            "resetKey",
            r#"mutation { resetKey(data: {token: "none", public_key: "none"}) { transaction_id } }"#,
            "aumchs",
        ),
        op("getSystemInfo", "{ getSystemInfo { coopname } }", "aumchs"),
        op(
            "initSystem",
            "mutation { initSystem(data: {organization_data: {}, vars: {}}) { changed } }",
            "hs",
        ),
        op(
            "updateSystem",
            "mutation { updateSystem(data: {vars: {}}) { changed } }",
            "hs",
        ),
        op(
            "installSystem",
            "mutation { installSystem(data: {soviet: []}) { changed } }",
            "hs",
        ),
        op(
            "getAccount",
            r#"{ getAccount(username: "SUBJECT") { role } }"#,
            "ch",
        ),
        op(
            "getAccounts",
            "{ getAccounts { items { username } } }",
            "ch",
        ),
        op(
            "updateAccount",
            r#"mutation { updateAccount(data: {username: "SUBJECT", individual_data: {first_name: ""}}) { version } }"#,
            "h",
        ),
        op(
            "registerAccount",
            r#"mutation { registerAccount(data: {email: "x", username: "SUBJECT", public_key: "none", type: INDIVIDUAL, individual_data: {}}) { username } }"#,
            "aumchs",
        ),
        op(
            "generateWalletAgreement",
            r#"mutation { generateWalletAgreement(data: {username: "SUBJECT"}) { hash } }"#,
            "ch",
        ),
        op(
            "generateSignatureAgreement",
            r#"mutation { generateSignatureAgreement(data: {username: "SUBJECT"}) { hash } }"#,
            "ch",
        ),
        op(
            "generatePrivacyAgreement",
            r#"mutation { generatePrivacyAgreement(data: {username: "SUBJECT"}) { hash } }"#,
            "ch",
        ),
        op(
            "generateUserAgreement",
            r#"mutation { generateUserAgreement(data: {username: "SUBJECT"}) { hash } }"#,
            "ch",
        ),
        op(
            "generateParticipantApplication",
            r#"mutation { generateParticipantApplication(data: {username: "SUBJECT"}) { hash } }"#,
            "ch",
        ),
        op(
            "registerParticipant",
            &format!(
                r#"mutation {{ registerParticipant(data: {{username: "SUBJECT", statement: {signed}, wallet_agreement: {signed}, signature_agreement: {signed}, privacy_agreement: {signed}, user_agreement: {signed}}}) {{ transaction_id }} }}"#
            ),
            "h",
        ),
        op(
            "addParticipant",
            r#"mutation { addParticipant(data: {email: "x", username: "SUBJECT", public_key: "none", type: INDIVIDUAL, individual_data: {}, created_at: "none", initial: "none", minimum: "none"}) { username } }"#,
            "h",
        ),
        op(
            "getDocuments",
            r#"{ getDocuments(filter: {username: "SUBJECT"}) { items { hash } } }"#,
            "ch",
        ),
        op(
            "getDocument",
            r#"{ getDocument(hash: "00") { registry_id } }"#,
            "ch",
        ),
        op(
            "regenerateDocument",
            r#"mutation { regenerateDocument(data: {hash: "00"}) { identical } }"#,
            "ch",
        ),
        op(
            "getExtensions",
            "{ getExtensions { name enabled } }",
            "aumchs",
        ),
        op(
            "installExtension",
            r#"mutation { installExtension(data: {name: "nosuch"}) { name } }"#,
            "hs",
        ),
        op(
            "updateExtension",
            r#"mutation { updateExtension(data: {name: "nosuch", enabled: true}) { name } }"#,
            "hs",
        ),
        op(
            "uninstallExtension",
            r#"mutation { uninstallExtension(data: {name: "nosuch"}) }"#,
            "hs",
        ),
        op(
            "qrpayPaymentInstructions",
            r#"{ qrpayPaymentInstructions(data: {username: "SUBJECT", kind: INCOME, hash: "00"}) { payload } }"#,
            "ch",
        ),
        op(
            "powerupStatus",
            "{ powerupStatus { spent_today cpu { available } } }",
            "ch",
        ),
        op("getAgenda", "{ getAgenda { items { id stage } } }", "ch"),
        op(
            "voteFor",
            &format!("mutation {{ voteFor({vote}) {{ transaction_id }} }}"),
            "ch",
        ),
        op(
            "voteAgainst",
            &format!("mutation {{ voteAgainst({vote}) {{ transaction_id }} }}"),
            "ch",
        ),
        op(
            "generateParticipantApplicationDecision",
            r#"mutation { generateParticipantApplicationDecision(data: {username: "SUBJECT", decision_id: 1}) { hash } }"#,
            "h",
        ),
        op(
            "authorizeDecision",
            &format!(
                r#"mutation {{ authorizeDecision(data: {{decision_id: 1, username: "SUBJECT", document: {signed}}}) {{ transaction_id }} }}"#
            ),
            "h",
        ),
        op(
            "execDecision",
            "mutation { execDecision(data: {decision_id: 1}) { transaction_id } }",
            "h",
        ),
        op(
            "createBranch",
            r#"mutation { createBranch(data: {braname: "Not A Name", trustee: "SUBJECT", organization_data: {}}) { transaction_id } }"#,
            "h",
        ),
        op(
            "editBranch",
            r#"mutation { editBranch(data: {braname: "Not A Name", trustee: "SUBJECT"}) { transaction_id } }"#,
            "h",
        ),
        op(
            "deleteBranch",
            r#"mutation { deleteBranch(data: {braname: "Not A Name"}) { transaction_id } }"#,
            "h",
        ),
        op(
            "addTrustedAccount",
            r#"mutation { addTrustedAccount(data: {braname: "Not A Name", trusted: "SUBJECT"}) { transaction_id } }"#,
            "h",
        ),
        op(
            "deleteTrustedAccount",
            r#"mutation { deleteTrustedAccount(data: {braname: "Not A Name", trusted: "SUBJECT"}) { transaction_id } }"#,
            "h",
        ),
        op(
            "generateSelectBranchDocument",
            r#"mutation { generateSelectBranchDocument(data: {username: "SUBJECT", braname: "Not A Name"}) { hash } }"#,
            "ch",
        ),
        op(
            "selectBranch",
            &format!(
                r#"mutation {{ selectBranch(data: {{username: "SUBJECT", braname: "none", document: {signed}}}) {{ transaction_id }} }}"#
            ),
            "h",
        ),
        op(
            "createProjectOfFreeDecision",
            r#"mutation { createProjectOfFreeDecision(data: {question: "", decision: ""}) { id } }"#,
            "mch",
        ),
        op(
            "generateProjectOfFreeDecision",
            r#"mutation { generateProjectOfFreeDecision(data: {project_id: "none"}) { hash } }"#,
            "mch",
        ),
        op(
            "publishProjectOfFreeDecision",
            &format!(
                r#"mutation {{ publishProjectOfFreeDecision(data: {{document: {signed}}}) {{ transaction_id }} }}"#
            ),
            "mch",
        ),
        op(
            "generateFreeDecision",
            "mutation { generateFreeDecision(data: {decision_id: 999}) { hash } }",
            "h",
        ),
        op(
            "getBranches",
            "{ getBranches { items { braname } } }",
            "umch",
        ),
        op(
            "getPayments",
            r#"{ getPayments(filter: {username: "SUBJECT"}) { items { hash } } }"#,
            "ch",
        ),
        op(
            "createInitialPayment",
            r#"mutation { createInitialPayment(data: {username: "SUBJECT"}) { hash } }"#,
            "h",
        ),
        op(
            "createDepositPayment",
            r#"mutation { createDepositPayment(data: {username: "SUBJECT", quantity: "0"}) { hash } }"#,
            "h",
        ),
        op(
            "setPaymentStatus",
            r#"mutation { setPaymentStatus(data: {hash: "00", status: COMPLETED}) { transaction_id } }"#,
            "hs",
        ),
        op(
            "getPaymentMethods",
            r#"{ getPaymentMethods(username: "SUBJECT") { items { method_id } } }"#,
            "h",
        ),
        op(
            "createBankAccount",
            &format!(
                r#"mutation {{ createBankAccount(data: {{username: "SUBJECT", {bank}}}) {{ version }} }}"#
            ),
            "h",
        ),
        op(
            "updateBankAccount",
            &format!(
                r#"mutation {{ updateBankAccount(data: {{username: "SUBJECT", method_id: "none", {bank}}}) {{ version }} }}"#
            ),
            "h",
        ),
        op(
            "deletePaymentMethod",
            r#"mutation { deletePaymentMethod(data: {username: "SUBJECT", method_id: "none"}) }"#,
            "h",
        ),
        op(
            "memberChanged",
            "subscription { memberChanged { key } }",
            "umch",
        ),
        op(
            "decisionChanged",
            "subscription { decisionChanged { key } }",
            "umch",
        ),
        op(
            "paymentChanged",
            "subscription { paymentChanged { key } }",
            "umch",
        ),
        op(
            "documentChanged",
            "subscription { documentChanged { key } }",
            "umch",
        ),
        op(
            "followerProgress",
            "subscription { followerProgress { block_num } }",
            "umchs",
        ),
    ]
}

two_database_test!(
    the_api_logs_in_authorizes_and_answers_as_of_a_block,
    |urls: [String; 2]| async move {
        let devnet = devnet(Storage::Ephemeral, loopback()?, loopback()?).await?;
        produce(&devnet, 2)?;
        let traffic = Traffic::new(&devnet).await?;
        let coopname = devnet.ready().coopname;
        // A registered account (a user) and a shareholder (a member), each with its own key.
        let user_key = PrivateKey::from_bytes(&[0x21; 32])?;
        let member_key = PrivateKey::from_bytes(&[0x22; 32])?;
        traffic
            .push_registrator(
                &devnet,
                "newaccount",
                &json!({"coopname": coopname, "referer": "", "username": "apiuser",
            "public_key": user_key.public_key(), "meta": ""}),
            )
            .await?;
        let member = devnet
            .node()
            .bootstrap()
            .synthetic_member(
                11,
                mono_instance::antelope::time::TimePointSec::from_secs(0),
            )
            .data["username"]
            .as_str()
            .context("adduser names the member")?
            .to_owned();
        let before_member = produce(&devnet, 1)?;
        traffic.add_member(&devnet, 11).await?;
        let member_joined = produce(&devnet, 1)?;
        traffic
            .push_registrator(
                &devnet,
                "changekey",
                &json!({"coopname": coopname, "changer": coopname, "username": member,
            "public_key": member_key.public_key()}),
            )
            .await?;
        let lib = produce(&devnet, 2)? - 1;
        let store = Store::open(&urls[0]).await?;
        sync_to(&devnet, &store, lib).await?;
        let api = Api::start(store.clone(), coopname).await?;

        // Login with a real signature; the role comes from the chain.
        let chairman_key = bootstrap_key(&devnet, "chairman")?;
        let council_key = bootstrap_key(&devnet, "member1")?;
        let (chairman, chairman_refresh, role) = api.login("chairman", &chairman_key).await?;
        ensure!(role == "chairman", "{role}");

        // A challenge is single-use: a wrong signature spends it, and a used one is refused.
        let challenge = api.challenge("chairman").await?;
        let wrong = api
            .login_with("chairman", &challenge, &sign(&council_key, &challenge)?)
            .await?;
        ensure!(error_code(&wrong) == Some("UNAUTHENTICATED"), "{wrong}");
        let again = api
            .login_with("chairman", &challenge, &sign(&chairman_key, &challenge)?)
            .await?;
        ensure!(
            error_code(&again) == Some("UNAUTHENTICATED"),
            "spent challenge: {again}"
        );
        // A challenge issued to one account does not log in another.
        let challenge = api.challenge("member1").await?;
        let other = api
            .login_with("chairman", &challenge, &sign(&chairman_key, &challenge)?)
            .await?;
        ensure!(error_code(&other) == Some("UNAUTHENTICATED"), "{other}");
        // An expired challenge is refused.
        let challenge = api.challenge("chairman").await?;
        api.advance(301);
        let late = api
            .login_with("chairman", &challenge, &sign(&chairman_key, &challenge)?)
            .await?;
        ensure!(
            error_code(&late) == Some("UNAUTHENTICATED"),
            "expired challenge: {late}"
        );

        // Refresh rotates; presenting a spent token revokes the whole login.
        let first = api.refresh(&chairman_refresh).await?;
        let second_token = first["data"]["refresh"]["tokens"]["refresh"]["token"]
            .as_str()
            .context("rotated")?
            .to_owned();
        let second = api.refresh(&second_token).await?;
        let third_token = second["data"]["refresh"]["tokens"]["refresh"]["token"]
            .as_str()
            .context("rotated again")?
            .to_owned();
        let replay = api.refresh(&chairman_refresh).await?;
        ensure!(
            error_code(&replay) == Some("UNAUTHENTICATED"),
            "replay: {replay}"
        );
        let after_replay = api.refresh(&third_token).await?;
        ensure!(
            error_code(&after_replay) == Some("UNAUTHENTICATED"),
            "family revoked: {after_replay}"
        );
        // Logout ends a login.
        let (_, refresh, _) = api.login("member1", &council_key).await?;
        let logout = api
            .data(
                None,
                "mutation($t: String!) { logout(data: {refresh_token: $t}) }",
                json!({"t": refresh}),
            )
            .await?;
        ensure!(logout["logout"] == true, "{logout}");
        ensure!(error_code(&api.refresh(&refresh).await?) == Some("UNAUTHENTICATED"));

        // As of a block: the member appears when the cooperative adds it.
        let query = "query($u: String!, $b: Int) { getAccount(username: $u, block: $b) { role block_num account { lifecycle } } }";
        // Access tokens stay valid until they expire, whatever happened to refresh tokens.
        let at_before = api
            .data(
                Some(&chairman),
                query,
                json!({"u": member, "b": before_member}),
            )
            .await?;
        ensure!(at_before["getAccount"].is_null(), "{at_before}");
        let at_joined = api
            .data(
                Some(&chairman),
                query,
                json!({"u": member, "b": member_joined}),
            )
            .await?;
        ensure!(at_joined["getAccount"]["role"] == "member", "{at_joined}");
        ensure!(
            at_joined["getAccount"]["account"]["lifecycle"] == "MEMBER",
            "{at_joined}"
        );
        let ahead = api
            .call(Some(&chairman), query, json!({"u": member, "b": lib + 100}))
            .await?;
        ensure!(error_code(&ahead) == Some("BAD_USER_INPUT"), "{ahead}");
        let info = api
            .data(
                None,
                "{ getSystemInfo { coopname synced_block chairman } }",
                json!({}),
            )
            .await?;
        ensure!(
            info["getSystemInfo"]["synced_block"] == lib
                && info["getSystemInfo"]["chairman"] == "chairman",
            "{info}"
        );
        // Own data: a member reads its own account but not another's, and sees field errors.
        let (member_token, _, member_role) = api.login(&member, &member_key).await?;
        ensure!(member_role == "member", "{member_role}");
        let own = api
            .data(Some(&member_token), query, json!({"u": member, "b": null}))
            .await?;
        ensure!(own["getAccount"]["role"] == "member", "{own}");
        let invalid = api
        .call(Some(&member_token), "mutation($u: String!) { createBankAccount(data: {username: $u, data: {currency: \"RUB\", bank_name: \"B\", account_number: \"40702810900000000001\", details: {bik: \"044525225\", corr: \"1\", kpp: \"773601001\"}}}) { version } }", json!({"u": member}))
        .await?;
        ensure!(error_code(&invalid) == Some("BAD_USER_INPUT"), "{invalid}");
        ensure!(
            invalid["errors"][0]["extensions"]["fields"]
                .as_array()
                .is_some_and(|fields| !fields.is_empty()),
            "{invalid}"
        );

        // The authorization matrix: every operation as every role and as a stranger.
        let (user_token, _, user_role) = api.login("apiuser", &user_key).await?;
        ensure!(user_role == "user", "{user_role}");
        let (council_token, _, council_role) = api.login("member1", &council_key).await?;
        ensure!(council_role == "council", "{council_role}");
        let callers: [(char, Option<&str>); 6] = [
            ('a', None),
            ('u', Some(&user_token)),
            ('m', Some(&member_token)),
            ('c', Some(&council_token)),
            ('h', Some(&chairman)),
            ('s', Some(SERVICE_TOKEN)),
        ];
        let schema_ops: BTreeSet<&str> = POLICIES.iter().map(|(name, _)| *name).collect();
        let matrix = matrix();
        let matrix_ops: BTreeSet<&str> = matrix.iter().map(|(name, _, _)| *name).collect();
        ensure!(
            schema_ops == matrix_ops,
            "the matrix covers every operation: {schema_ops:?} vs {matrix_ops:?}"
        );
        let mut wrong = Vec::new();
        for (name, query, admitted) in &matrix {
            for (role, bearer) in callers {
                let admitted_here = if query.starts_with("subscription") {
                    subscription_admitted(&api, bearer, query).await?
                } else {
                    !refused(&api.call(bearer, query, json!({})).await?)
                };
                let expected = admitted.contains(role);
                if admitted_here != expected {
                    wrong.push(format!("{name} as {role}: admitted {admitted_here}"));
                }
            }
        }
        ensure!(wrong.is_empty(), "authorization matrix: {wrong:?}");

        // Access tokens expire.
        api.advance(16 * 60);
        let expired = api
            .call(
                Some(&chairman),
                "{ getAccounts { items { username } } }",
                json!({}),
            )
            .await?;
        ensure!(error_code(&expired) == Some("UNAUTHENTICATED"), "{expired}");

        // A subscription receives the change of a block the follower commits.
        let (chairman, _, _) = api.login("chairman", &chairman_key).await?;
        let (stop, shutdown) = watch::channel(false);
        let following = {
            let store = store.clone();
            let ready = devnet.ready();
            let config = ParserConfig::new(
                &ready.ship,
                &ready.http,
                Filter::new(&ready.contracts(), ready.coopname),
            );
            tokio::spawn(
                async move { follow(&store, &config, &Metrics::default(), shutdown).await },
            )
        };
        let mut socket = subscribe(
            &api,
            Some(&chairman),
            "subscription { memberChanged { block_num key username source } }",
        )
        .await?;
        let mut seq = 20;
        let received = tokio::time::timeout(DEADLINE, async {
            loop {
                // Blocks with a new member until one reaches the subscriber: the subscription may
                // start listening after the first of them.
                traffic.add_member(&devnet, seq).await?;
                produce(&devnet, 2)?;
                seq += 1;
                if let Ok(Some(message)) =
                    tokio::time::timeout(Duration::from_secs(2), socket.next()).await
                {
                    let message: Value = serde_json::from_str(message?.to_text()?)?;
                    if message["type"] == "next" {
                        return anyhow::Ok(message);
                    }
                    bail!("unexpected message {message}");
                }
            }
        })
        .await
        .context("a subscription event in time")??;
        let change = &received["payload"]["data"]["memberChanged"];
        ensure!(
            change["source"] == "account" || change["source"] == "participant",
            "{received}"
        );
        ensure!(change["username"] == change["key"], "{received}");
        let _stopped = stop.send(true);
        following.await??;
        store.close().await;
        devnet.stop().await?;
        Ok(())
    }
);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A `graphql-transport-ws` connection with `query` subscribed as id `1`.
async fn subscribe(api: &Api, bearer: Option<&str>, query: &str) -> anyhow::Result<Socket> {
    let mut request = api.url.replace("http://", "ws://").into_client_request()?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let payload = bearer.map_or(
        json!({}),
        |token| json!({"authorization": format!("Bearer {token}")}),
    );
    socket
        .send(Message::text(
            json!({"type": "connection_init", "payload": payload}).to_string(),
        ))
        .await?;
    let ack: Value = serde_json::from_str(socket.next().await.context("an answer")??.to_text()?)?;
    ensure!(ack["type"] == "connection_ack", "{ack}");
    socket
        .send(Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {"query": query}}).to_string(),
        ))
        .await?;
    Ok(socket)
}

/// How long a refusal may trail the answer to a `ping`.
const REFUSAL_GRACE: Duration = Duration::from_millis(500);

/// Whether a subscription is admitted: a refusal answers at once with an error, an admitted
/// subscription waits for blocks. A `ping` after the subscription bounds the wait; the server
/// may answer it before it has run the subscription's policy (which can read the store), so a
/// refusal is still awaited for a moment after the `pong`.
async fn subscription_admitted(
    api: &Api,
    bearer: Option<&str>,
    query: &str,
) -> anyhow::Result<bool> {
    let mut socket = subscribe(api, bearer, query).await?;
    socket
        .send(Message::text(json!({"type": "ping"}).to_string()))
        .await?;
    let mut pong = false;
    let admitted = loop {
        let message = if pong {
            match tokio::time::timeout(REFUSAL_GRACE, socket.next()).await {
                Ok(message) => message,
                Err(_) => break true,
            }
        } else {
            socket.next().await
        };
        let answer: Value = serde_json::from_str(message.context("an answer")??.to_text()?)?;
        match answer["type"].as_str() {
            Some("pong") => pong = true,
            // A refusal is the subscription's only result: its errors.
            Some("next") => break !refused(&answer["payload"]),
            _ => bail!("unexpected answer {answer}"),
        }
    };
    let _closed = socket.close(None).await;
    Ok(admitted)
}

/// Every operation the schema has (by introspection) has a policy, and every policy names an
/// operation the schema has.
#[tokio::test]
async fn every_operation_declares_its_policy() -> anyhow::Result<()> {
    let store = Store::open("sqlite::memory:").await?;
    let api = Api::start(store, Name::from_str_const("voskhod")).await?;
    let data = api
        .data(None, "{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }", json!({}))
        .await?;
    let mut operations = BTreeSet::new();
    for root in ["queryType", "mutationType", "subscriptionType"] {
        for field in data["__schema"][root]["fields"]
            .as_array()
            .context("root fields")?
        {
            operations.insert(field["name"].as_str().context("a name")?.to_owned());
        }
    }
    let declared: BTreeSet<String> = POLICIES
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    let missing: Vec<&String> = operations.difference(&declared).collect();
    let stale: Vec<&String> = declared.difference(&operations).collect();
    ensure!(
        missing.is_empty(),
        "operations without a policy: {missing:?}"
    );
    ensure!(stale.is_empty(), "policies of no operation: {stale:?}");
    Ok(())
}

/// `schema.graphql` at the repository's root is what `mono schema` prints; refresh it with
/// `UPDATE_EXPECT=1`.
#[test]
fn the_committed_schema_is_current() -> anyhow::Result<()> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let current = mono_instance::api::schema::sdl();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &current)?;
    }
    let committed = std::fs::read_to_string(&path).context("reading schema.graphql")?;
    ensure!(
        committed == current,
        "schema.graphql is stale: run `mono schema > schema.graphql` or UPDATE_EXPECT=1"
    );
    Ok(())
}

/// Requests above the body limit are refused before parsing, GET without a websocket upgrade
/// serves GraphiQL to a browser, and only `graphql-transport-ws` is spoken.
#[tokio::test]
async fn limits_graphiql_and_the_websocket_protocol() -> anyhow::Result<()> {
    let store = Store::open("sqlite::memory:").await?;
    let api = Api::start(store, Name::from_str_const("voskhod")).await?;
    let big = "x".repeat(70 * 1024);
    let response = api.client.post(&api.url).body(big).send().await?;
    ensure!(response.status() == 413, "{}", response.status());
    let page = api
        .client
        .get(&api.url)
        .header("Accept", "text/html")
        .send()
        .await?;
    ensure!(page.status() == 200 && page.text().await?.contains("graphiql"));
    let shallow = "{ getSystemInfo { coopname } }";
    ensure!(api.call(None, shallow, json!({})).await?["errors"].is_null());
    let too_deep = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } }";
    ensure!(
        api.call(None, too_deep, json!({})).await?["errors"].is_array(),
        "depth limit"
    );
    let mut request = api.url.replace("http://", "ws://").into_client_request()?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "graphql-ws".parse()?);
    ensure!(
        tokio_tungstenite::connect_async(request).await.is_err(),
        "the old protocol is refused"
    );
    let bad_token = api
        .call(
            Some("not-a-token"),
            "{ getSystemInfo { coopname } }",
            json!({}),
        )
        .await?;
    ensure!(
        error_code(&bad_token) == Some("UNAUTHENTICATED"),
        "{bad_token}"
    );
    Ok(())
}
