//! `mono demo` serves a seeded cooperative: checked from the outside, through the SDK, as any
//! client of the ready line would use it, and again after a restart on the same data directory.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use mono_instance::antelope::keys::PrivateKey;
use mono_instance::antelope::name::Name;
use mono_instance::chain::api::{ApiOptions, ChainApi};
use mono_instance::demo::client::Member;
use mono_sdk::Client;
use mono_sdk::operations::{
    DecisionChanged, GetAccount, GetAgenda, GetDocuments, GetPayments, GetSystemInfo, VoteFor,
    decision_changed, get_account, get_agenda, get_documents, get_payments, get_system_info,
    vote_for,
};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// Longest a demo may take to seed its cooperative and print its ready line.
const READY_DEADLINE: Duration = Duration::from_secs(300);

/// Starts `mono demo` on a free loopback port with `data`; returns it and its ready line.
async fn start(data: &Path) -> (Child, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mono"))
        .args(["demo", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("mono demo starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let line = tokio::time::timeout(READY_DEADLINE, async {
        BufReader::new(stdout).lines().next_line().await
    })
    .await
    .expect("the demo is ready in time")
    .expect("stdout is readable")
    .expect("the demo prints a ready line");
    (
        child,
        serde_json::from_str(&line).expect("the ready line is JSON"),
    )
}

/// Sends SIGTERM and expects a clean exit.
async fn stop(mut child: Child) {
    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the demo stops on SIGTERM")
        .expect("wait");
    assert_eq!(status.code(), Some(0));
}

/// The demo account with `role`, as a client holding its key.
fn account(ready: &Value, role: &str) -> Member {
    let account = ready["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .find(|account| account["role"] == role)
        .unwrap_or_else(|| panic!("no {role} in {ready}"));
    Member {
        username: account["username"]
            .as_str()
            .expect("username")
            .parse::<Name>()
            .expect("an account name"),
        key: account["private_key"]
            .as_str()
            .expect("private_key")
            .parse::<PrivateKey>()
            .expect("a private key"),
    }
}

#[tokio::test]
async fn demo_serves_a_seeded_cooperative_and_keeps_it_across_runs() {
    let data = tempfile::tempdir().expect("temp dir");
    let (child, ready) = start(data.path()).await;
    for field in ["graphql", "desktop", "chain_api", "ship", "database"] {
        assert!(ready[field].is_string(), "no {field} in {ready}");
    }
    assert_eq!(ready["coopname"], "voskhod");
    let api = Client::new(ready["graphql"].as_str().expect("graphql")).expect("client");

    let info = api
        .run::<GetSystemInfo>(get_system_info::Variables { block: None })
        .await
        .expect("system info")
        .get_system_info;
    assert_eq!(info.coopname, "voskhod");
    assert_eq!(info.chairman.as_deref(), Some("chairman"));

    // The admitted member is a member, with its application accepted on chain and paid.
    let member = account(&ready, "member");
    let as_member = member.login(&api).await.expect("the member logs in");
    let own = as_member
        .run::<GetAccount>(get_account::Variables {
            username: member.username.to_string(),
            block: None,
        })
        .await
        .expect("own account")
        .get_account
        .expect("the account exists");
    assert_eq!(own.role, "member");
    let documents = as_member
        .run::<GetDocuments>(get_documents::Variables {
            filter: Some(get_documents::DocumentsFilter {
                username: Some(member.username.to_string()),
                package: None,
            }),
            page: None,
            block: None,
        })
        .await
        .expect("own documents")
        .get_documents
        .items;
    assert!(
        documents.iter().any(|document| {
            document.status == get_documents::DocumentState::ACCEPTED
                && document.signers == [member.username.to_string()]
        }),
        "{documents:?}"
    );
    let payments = as_member
        .run::<GetPayments>(get_payments::Variables {
            kind: get_payments::PaymentKind::INCOME,
            filter: Some(get_payments::PaymentsFilter {
                username: Some(member.username.to_string()),
                status: None,
            }),
            page: None,
            block: None,
        })
        .await
        .expect("own payments")
        .get_payments
        .items;
    assert!(!payments.is_empty(), "the registration fee is listed");
    // A plain member does not see the council's agenda.
    let refused = as_member
        .run::<GetAgenda>(get_agenda::Variables {
            filter: None,
            page: None,
            block: None,
        })
        .await
        .expect_err("the agenda is the council's");
    assert_eq!(refused.code(), Some("FORBIDDEN"), "{refused}");
    // Nor does a stranger, who is asked to log in first.
    let stranger = api
        .run::<GetAgenda>(get_agenda::Variables {
            filter: None,
            page: None,
            block: None,
        })
        .await
        .expect_err("the agenda is the council's");
    assert_eq!(stranger.code(), Some("UNAUTHENTICATED"), "{stranger}");

    // The second applicant's paid application waits for the council's votes.
    let waiting = account(&ready, "user");
    let council = account(&ready, "council")
        .login(&api)
        .await
        .expect("a council member logs in");
    let agenda = council
        .run::<GetAgenda>(get_agenda::Variables {
            filter: Some(get_agenda::AgendaFilter {
                stage: None,
                kind: None,
                username: Some(waiting.username.to_string()),
            }),
            page: None,
            block: None,
        })
        .await
        .expect("the agenda")
        .get_agenda
        .items;
    assert!(
        agenda
            .iter()
            .any(|decision| decision.votes_for.is_empty() && decision.votes_against.is_empty()),
        "{agenda:?}"
    );
    let decision = agenda.first().expect("the application's decision").id;

    // A council member's vote reaches every council client that subscribed to decisions.
    let mut changes = council
        .subscribe::<DecisionChanged>(decision_changed::Variables {})
        .await
        .expect("the council subscribes to decisions");
    let voter = account(&ready, "council");
    let chain = ChainApi::new(
        ready["chain_api"].as_str().expect("chain_api"),
        ApiOptions::default(),
    )
    .expect("Chain API client");
    let vote = voter
        .vote(
            &chain,
            "votefor".parse().expect("a name"),
            "voskhod".parse().expect("a name"),
            u64::try_from(decision).expect("a decision id"),
        )
        .await
        .expect("the vote is signed");
    council
        .run::<VoteFor>(vote_for::Variables {
            data: vote_for::VoteInput {
                decision_id: vote.decision_id,
                signed_at: vote.signed_at,
                signature: vote.signature,
            },
        })
        .await
        .expect("the vote is relayed");
    let change = tokio::time::timeout(Duration::from_secs(30), changes.next())
        .await
        .expect("the change arrives in time")
        .expect("the subscription runs")
        .expect("a change");
    // Keys are zero-padded so they sort as numbers.
    assert_eq!(
        change.decision_changed.key.parse::<i64>().ok(),
        Some(decision)
    );
    assert_eq!(change.decision_changed.source, "decision");
    stop(child).await;

    // A second run on the same directory serves the same cooperative on.
    let (child, again) = start(data.path()).await;
    assert_eq!(again["accounts"], ready["accounts"]);
    let api = Client::new(again["graphql"].as_str().expect("graphql")).expect("client");
    member
        .login(&api)
        .await
        .expect("the member logs in after a restart");
    stop(child).await;
}
