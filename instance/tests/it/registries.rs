//! Registries built from a devnet cooperative's real traffic, on SQLite and PostgreSQL: members
//! registered (admitted, declined), decisions voted, authorized, executed and left to expire,
//! payments completed and declined, branches opened, edited and closed, with private data.
//! Every block goes through the devnet's SHiP encoding and the follower's decoder into the
//! store, one commit per block; the registries are then read as of several blocks, the stored
//! projections are checked against the events, and a rollback and re-commit reproduce the same
//! digests.

use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use mono_instance::antelope::abi::def::AbiDef;
use mono_instance::antelope::document::{Document2, DocumentVersion};
use mono_instance::antelope::keys::PrivateKey;
use mono_instance::antelope::name::Name;
use mono_instance::antelope::ship::{GetBlocksRequestV0, ShipResult};
use mono_instance::devnet::ship::blocks_result;
use mono_instance::parser::{AbiSet, DEFAULT_CONTRACTS, Filter, decode_block};
use mono_instance::registry::agreements::{self, AgreementFilter};
use mono_instance::registry::decisions::{self, DecisionFilter};
use mono_instance::registry::documents::{self, DocumentFilter, DocumentStatus};
use mono_instance::registry::members::{self, Lifecycle, MemberFilter};
use mono_instance::registry::payments::{self, PaymentFilter, PaymentKind};
use mono_instance::registry::projection::{Contracts, RegistryEvent, Source};
use mono_instance::registry::{PageRequest, branches, check, coop};
use mono_instance::store::{JsonText, Store};
use rand_core::OsRng;
use serde_json::json;
use sqlx::Connection as _;
use tokio::sync::{broadcast, watch};

use crate::devnet_flows::{COOP, Devnet, sha_hex};
use crate::support::two_database_test;

/// Commits the chain's blocks `from..=head` into `store` as the follower would, one per commit.
pub(crate) async fn sync(
    devnet: &Devnet,
    store: &Store,
    abis: &mut AbiSet,
    from: u32,
) -> Result<u32> {
    let chain = &devnet.chain;
    let request = GetBlocksRequestV0 {
        start_block_num: from,
        end_block_num: u32::MAX,
        max_messages_in_flight: 1,
        have_positions: Vec::new(),
        irreversible_only: false,
        fetch_block: true,
        fetch_traces: true,
        fetch_deltas: true,
    };
    let filter = Filter::new(&DEFAULT_CONTRACTS, Name::from_str_const(COOP));
    for block_num in from..=chain.head_num() {
        let Some(ShipResult::Blocks(result)) = blocks_result(chain, &request, block_num) else {
            anyhow::bail!("the devnet has no block {block_num}");
        };
        let batch = decode_block(&result, chain.lib_num().min(block_num), &filter, abis)?;
        store.commit_block(&batch).await?;
    }
    Ok(chain.head_num())
}

/// The contracts' ABIs as the chain publishes them.
pub(crate) fn abis(devnet: &Devnet) -> AbiSet {
    let mut abis = AbiSet::default();
    for (account, contract) in devnet.chain.contracts().iter() {
        let def: AbiDef = contract.abi();
        abis.set(account, &def.to_bin());
    }
    abis
}

/// Has the cooperative create `username` with a fresh key, and `username` apply with a
/// statement signed with it.
fn apply(devnet: &mut Devnet, username: &str, braname: &str) -> Result<()> {
    let key = PrivateKey::generate(&mut OsRng);
    devnet.push(
        "registrator",
        "newaccount",
        COOP,
        json!({"coopname": COOP, "referer": "", "username": username, "public_key": key.public_key(), "meta": "{}"}),
    )?;
    devnet.keys.insert(username.parse()?, key);
    let statement = devnet.own_document(username)?;
    devnet.push(
        "registrator",
        "reguser",
        COOP,
        json!({"coopname": COOP, "braname": braname, "username": username, "type": "individual",
               "statement": statement, "registration_hash": sha_hex(username)}),
    )?;
    Ok(())
}

fn authorize_and_exec(devnet: &mut Devnet, decision_id: u64) -> Result<()> {
    let protocol = devnet.own_document("chairone")?;
    devnet.push(
        "soviet",
        "authorize",
        COOP,
        json!({"coopname": COOP, "chairman": "chairone", "decision_id": decision_id, "document": protocol}),
    )?;
    devnet.push(
        "soviet",
        "exec",
        COOP,
        json!({"executer": COOP, "coopname": COOP, "decision_id": decision_id}),
    )?;
    Ok(())
}

/// The next `count` registry events, waiting at most ten seconds for them.
async fn hear(
    events: &mut broadcast::Receiver<RegistryEvent>,
    count: usize,
) -> Result<Vec<RegistryEvent>> {
    let mut heard = Vec::with_capacity(count);
    while heard.len() < count {
        heard.push(tokio::time::timeout(Duration::from_secs(10), events.recv()).await??);
    }
    Ok(heard)
}

async fn lifecycle(store: &Store, username: &str, block_num: u32) -> Result<Option<Lifecycle>> {
    Ok(members::get(store, COOP, block_num, username)
        .await?
        .map(|member| member.lifecycle))
}

two_database_test!(
    registries_answer_as_of_any_block_and_match_the_events,
    |urls: [String; 2]| async move {
        let mut devnet = Devnet::with_council()?;
        let store = Store::open(&urls[0]).await?;
        let mut events = store.subscribe_registry();
        // A replica: another handle on the database, as another process has it, whose
        // subscribers hear of the blocks the follower commits through the relay.
        let replica = Store::open(&urls[0]).await?;
        let mut relayed = replica.subscribe_registry();
        let (stop_relay, relay_shutdown) = watch::channel(false);
        let from = replica.cursor().await?;
        let relay = tokio::spawn({
            let replica = replica.clone();
            async move {
                replica
                    .relay_commits(from, Duration::from_millis(10), relay_shutdown)
                    .await;
            }
        });
        let mut abis = abis(&devnet);
        let entered = sync(&devnet, &store, &mut abis, 1).await?;

        // Personal data of a council member, kept from the block it was entered at.
        let person =
            json!({"first_name": "Мария", "last_name": "Соколова", "middle_name": "Петровна"});
        store
            .put_private(
                "individual",
                "memberone",
                &JsonText::from_value(&person),
                entered,
            )
            .await?;

        // Candidate A applies, pays, is voted in (2 for, 1 against), authorized and admitted.
        apply(&mut devnet, "candidatea", "")?;
        let applied = devnet.chain.head_num();
        devnet.pay("candidatea")?;
        let paid = devnet.chain.head_num();
        devnet.vote("votefor", "chairone", 1)?;
        devnet.vote("voteagainst", "membertwo", 1)?;
        devnet.vote("votefor", "memberone", 1)?;
        let voted = devnet.chain.head_num();
        authorize_and_exec(&mut devnet, 1)?;
        let admitted = devnet.chain.head_num();

        // Candidate B applies and its payment is declined.
        apply(&mut devnet, "candidateb", "")?;
        devnet.decline_payment("candidateb")?;
        let declined = devnet.chain.head_num();

        // Candidate D pays; the chairman declines the application with a signed document.
        apply(&mut devnet, "candidated", "")?;
        devnet.pay("candidated")?;
        let meta = json!({"registry_id": 501, "coopname": COOP, "username": "candidated"});
        let mut refusal = Document2::new(DocumentVersion::V1_1_0, &meta, b"%PDF-1.7 refusal")?;
        refusal.sign(
            "chairone".parse()?,
            devnet.key("chairone")?,
            devnet.now_sec(),
        )?;
        devnet.push(
            "soviet",
            "declinedoc",
            COOP,
            json!({"coopname": COOP, "username": "chairone", "hash": sha_hex("candidated"), "document": refusal}),
        )?;
        let refused = devnet.chain.head_num();

        // Candidate C pays; the council never decides, and the decision expires.
        apply(&mut devnet, "candidatec", "")?;
        devnet.pay("candidatec")?;
        let pending = devnet.chain.head_num();
        devnet.advance_days(31);

        // A deposit completes, another is declined.
        for (hash, quantity) in [
            ("deposit-1", "1000.0000 RUB"),
            ("deposit-2", "500.0000 RUB"),
        ] {
            devnet.push(
                "wallet",
                "createdpst",
                COOP,
                json!({"coopname": COOP, "username": "memberone", "deposit_hash": sha_hex(hash), "quantity": quantity}),
            )?;
        }
        devnet.pay("deposit-1")?;
        devnet.decline_payment("deposit-2")?;

        // A branch is opened, edited, and closed.
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
        let branch_open = devnet.chain.head_num();
        devnet.push(
            "branch",
            "deletebranch",
            COOP,
            json!({"coopname": COOP, "braname": "branchone"}),
        )?;
        // A template is published; a member signs the signature agreement on it.
        devnet.push(
            "draft",
            "createdraft",
            "draft",
            json!({"scope": "draft", "username": "draft", "registry_id": 2, "lang": "ru",
                   "title": "Положение о простой электронной подписи", "description": "",
                   "context": "<p>{{ name }}</p>", "model": "{}", "translation_data": "{}"}),
        )?;
        let agreement = devnet.own_document("memberone")?;
        devnet.push(
            "soviet",
            "sndagreement",
            "memberone",
            json!({"coopname": COOP, "administrator": COOP, "username": "memberone",
                   "agreement_type": "signature", "document": agreement}),
        )?;
        let sent = devnet.chain.head_num();
        devnet.push(
            "soviet",
            "confirmagree",
            COOP,
            json!({"coopname": COOP, "administrator": COOP, "username": "memberone", "agreement_id": 1}),
        )?;

        let head = sync(&devnet, &store, &mut abis, entered + 1).await?;

        // Members: the lifecycle as of each block.
        for (block, expected) in [
            (applied, Lifecycle::Candidate),
            (paid, Lifecycle::Paid),
            (voted, Lifecycle::Paid),
            (admitted, Lifecycle::Member),
            (head, Lifecycle::Member),
        ] {
            ensure!(
                lifecycle(&store, "candidatea", block).await? == Some(expected),
                "candidatea at block {block}: expected {expected:?}"
            );
        }
        ensure!(
            lifecycle(&store, "candidatea", applied - 2)
                .await?
                .is_none()
        );
        ensure!(lifecycle(&store, "candidateb", declined).await? == Some(Lifecycle::Declined));
        ensure!(lifecycle(&store, "candidatec", head).await? == Some(Lifecycle::Paid));
        ensure!(lifecycle(&store, "candidated", refused - 1).await? == Some(Lifecycle::Paid));
        ensure!(lifecycle(&store, "candidated", refused).await? == Some(Lifecycle::Declined));
        let history = members::history(&store, COOP, head, "candidatea").await?;
        let steps: Vec<Lifecycle> = history.iter().map(|step| step.lifecycle).collect();
        ensure!(
            steps
                == [
                    Lifecycle::User,
                    Lifecycle::Candidate,
                    Lifecycle::Paid,
                    Lifecycle::Member
                ],
            "{steps:?}"
        );
        let memberone = members::get(&store, COOP, head, "memberone")
            .await?
            .context("memberone is a member")?;
        ensure!(memberone.private == Some(person.clone()), "{memberone:?}");
        ensure!(
            members::get(&store, COOP, entered - 1, "memberone")
                .await?
                .is_some_and(|member| member.private.is_none()),
            "personal data entered later is not there before"
        );

        // Pages: three at a time, the cursor continues where the page ended.
        let mut usernames = Vec::new();
        let mut page = PageRequest::first(3);
        loop {
            let read = members::list(&store, COOP, head, &MemberFilter::default(), &page).await?;
            usernames.extend(read.items.iter().map(|member| member.username.clone()));
            match read.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        ensure!(
            usernames
                == [
                    "candidatea",
                    "candidateb",
                    "candidatec",
                    "candidated",
                    "chairone",
                    "memberone",
                    "membertwo"
                ],
            "{usernames:?}"
        );
        let shareholders = members::list(
            &store,
            COOP,
            head,
            &MemberFilter {
                participant_status: Some("accepted".to_owned()),
                kind: None,
            },
            &PageRequest::first(50),
        )
        .await?;
        ensure!(shareholders.items.len() == 4, "{:?}", shareholders.items);

        // Decisions: votes attributed to the council, stages as of each block.
        let at_vote = decisions::get(&store, COOP, voted, 1)
            .await?
            .context("decision 1 while voted")?;
        ensure!(
            at_vote.stage == "voting" || at_vote.stage == "approved",
            "{at_vote:?}"
        );
        ensure!(
            at_vote
                .votes_for
                .iter()
                .map(|vote| (vote.username.as_str(), vote.position.as_deref()))
                .collect::<Vec<_>>()
                == [
                    ("chairone", Some("chairman")),
                    ("memberone", Some("member"))
                ],
            "{at_vote:?}"
        );
        ensure!(at_vote.votes_against.len() == 1);
        let executed = decisions::get(&store, COOP, head, 1)
            .await?
            .context("decision 1")?;
        ensure!(executed.stage == "executed", "{executed:?}");
        ensure!(executed.authorized_by.as_deref() == Some("chairone"));
        let expired = decisions::list(
            &store,
            COOP,
            head,
            &DecisionFilter::default(),
            &PageRequest::first(10),
        )
        .await?;
        let stages: Vec<(u64, &str)> = expired
            .items
            .iter()
            .map(|decision| (decision.id, decision.stage.as_str()))
            .collect();
        ensure!(
            stages == [(1, "executed"), (2, "declined"), (3, "expired")],
            "{stages:?}"
        );
        ensure!(
            decisions::get(&store, COOP, pending, 3)
                .await?
                .is_some_and(|decision| decision.stage == "voting"),
            "decision 2 was open before it expired"
        );
        // The stage filter answers with the stage as of the block, not the stored status.
        let staged = |block_num: u32, stage: &'static str| {
            let store = &store;
            async move {
                let page = decisions::list(
                    store,
                    COOP,
                    block_num,
                    &DecisionFilter {
                        stage: Some(stage.to_owned()),
                        ..DecisionFilter::default()
                    },
                    &PageRequest::first(1),
                )
                .await?;
                anyhow::Ok(page.items.iter().map(|item| item.id).collect::<Vec<_>>())
            }
        };
        ensure!(staged(pending, "voting").await? == [3]);
        ensure!(staged(pending, "expired").await?.is_empty());
        ensure!(staged(head, "voting").await?.is_empty());
        ensure!(staged(head, "expired").await? == [3]);
        ensure!(staged(head, "executed").await? == [1]);

        // Payments: completed and declined, with totals.
        let deposits = payments::list(
            &store,
            COOP,
            head,
            PaymentKind::Deposit,
            &PaymentFilter::default(),
            &PageRequest::first(10),
        )
        .await?;
        let mut statuses: Vec<(Option<&str>, Option<i64>)> = deposits
            .items
            .iter()
            .map(|payment| (payment.status.as_deref(), payment.amount))
            .collect();
        statuses.sort_unstable();
        ensure!(
            statuses
                == [
                    (Some("completed"), Some(10_000_000)),
                    (Some("declined"), Some(5_000_000))
                ],
            "{statuses:?}"
        );
        let totals = payments::totals(&store, COOP, head).await?;
        ensure!(totals.cooperative.deposit == 10_000_000, "{totals:?}");
        let member_total = totals
            .members
            .iter()
            .find(|member| member.username == "memberone")
            .context("memberone's totals")?;
        ensure!(member_total.deposit == 10_000_000, "{totals:?}");
        // Registration payments of candidates A and C and deposit 1 came in; B's was declined.
        let incomes = payments::list(
            &store,
            COOP,
            head,
            PaymentKind::Income,
            &PaymentFilter {
                status: Some("declined".to_owned()),
                username: None,
            },
            &PageRequest::first(10),
        )
        .await?;
        ensure!(incomes.items.len() == 2, "{:?}", incomes.items);

        // Branches: present while open, with trustee and trusted accounts.
        let open = branches::list(&store, COOP, branch_open, None, &PageRequest::first(10)).await?;
        ensure!(
            open.items.len() == 1 && open.items[0].trusted == ["membertwo"],
            "{open:?}"
        );
        ensure!(
            branches::list(&store, COOP, head, None, &PageRequest::first(10))
                .await?
                .items
                .is_empty()
        );

        // Documents: statements, protocol and decision, by hash in either case.
        let all = documents::list(
            &store,
            COOP,
            head,
            &DocumentFilter::default(),
            &PageRequest::first(100),
        )
        .await?;
        ensure!(all.items.len() >= 4, "{:?}", all.items.len());
        let statement = &all
            .items
            .iter()
            .find(|doc| {
                doc.username.as_deref() == Some("candidatea") && doc.signers == ["candidatea"]
            })
            .context("candidate A's statement")?;
        ensure!(statement.status == DocumentStatus::Accepted);
        let by_upper = documents::get(&store, COOP, head, &statement.hash.to_uppercase())
            .await?
            .context("found by an uppercase hash")?;
        ensure!(by_upper.occurrences.len() == statement.occurrences.len());
        ensure!(statement.occurrences.len() >= 2, "{statement:?}");
        let rejected: Vec<Option<&str>> = all
            .items
            .iter()
            .filter(|doc| doc.status == DocumentStatus::Rejected)
            .map(|doc| doc.occurrences[0].action.as_deref())
            .collect();
        ensure!(rejected == [Some("declinedoc")], "{rejected:?}");
        // The contract rows that hold the statement count too, after the actions.
        let tables: Vec<Option<&str>> = statement
            .occurrences
            .iter()
            .map(|occurrence| occurrence.table.as_deref())
            .collect();
        ensure!(
            tables.first() == Some(&None) && tables.contains(&Some("decisions")),
            "{tables:?}"
        );
        // Candidate C's statement was accepted while its decision was open, and expired with it.
        let expired: Vec<&documents::Document> = all
            .items
            .iter()
            .filter(|doc| doc.status == DocumentStatus::Expired)
            .collect();
        ensure!(
            expired.len() == 1 && expired[0].username.as_deref() == Some("candidatec"),
            "{expired:?}"
        );
        let before = documents::get(&store, COOP, pending, &expired[0].hash)
            .await?
            .context("candidate C's statement while the decision was open")?;
        ensure!(before.status == DocumentStatus::Accepted, "{before:?}");

        // Agreements: pending when sent, confirmed after, on the template's registry id.
        for (block, status) in [(sent, ""), (head, "confirmed")] {
            let signed = agreements::list(
                &store,
                COOP,
                block,
                &AgreementFilter {
                    username: Some("memberone".to_owned()),
                    kind: None,
                },
                &PageRequest::first(10),
            )
            .await?;
            ensure!(
                signed.items.len() == 1
                    && signed.items[0].status.as_deref() == Some(status)
                    && signed.items[0].kind.as_deref() == Some("signature")
                    && signed.items[0].draft_id == Some(2),
                "{signed:?}"
            );
        }

        let versions = agreements::history(&store, 1).await?;
        ensure!(
            versions.len() == 2 && versions[0].block_num == sent,
            "{versions:?}"
        );

        // The cooperative's profile and its council.
        let profile = coop::get(&store, COOP, head).await?.context("the coop")?;
        ensure!(
            profile.chairman.as_deref() == Some("chairone"),
            "{profile:?}"
        );
        ensure!(profile.council.len() == 3);
        // Its `coops` row changed as members were admitted (the participant counter).
        let changes = coop::history(&store, COOP).await?;
        ensure!(
            changes.len() >= 2 && changes.iter().any(|(block, _)| *block == admitted),
            "{changes:?}"
        );

        // Subscribers heard of every committed block, with what changed.
        let mut heard = Vec::new();
        while let Ok(event) = events.try_recv() {
            heard.push(event);
        }
        ensure!(
            heard.len() == usize::try_from(head)?,
            "{} events for {head} blocks",
            heard.len()
        );
        ensure!(heard.iter().any(|event| matches!(event,
            RegistryEvent::Committed { block_num, sources } if *block_num == admitted
                && sources.contains(&Source::Participant) && sources.contains(&Source::Decision))));
        // The replica's subscribers heard the same, read back from the stored blocks.
        ensure!(hear(&mut relayed, heard.len()).await? == heard);

        // The projections are exactly what the events give.
        let report = check::verify(&store, &Contracts::default()).await?;
        ensure!(report.is_consistent(), "{report:?}");

        // A rollback and the same blocks again give the same registries.
        let digests = [
            check::digest(&store, admitted).await?,
            check::digest(&store, head).await?,
        ];
        let fork_point = store.block(paid).await?.context("stored block")?;
        store.rollback_to(paid, &fork_point.block_id).await?;
        // The replica tells a rollback no later than the fork point, then the blocks again.
        let rolled_back = match hear(&mut relayed, 1).await?.as_slice() {
            [RegistryEvent::RolledBack { block_num }] if *block_num <= paid => *block_num,
            other => anyhow::bail!("not a rollback: {other:?}"),
        };
        ensure!(lifecycle(&store, "candidatea", head).await? == Some(Lifecycle::Paid));
        ensure!(
            check::verify(&store, &Contracts::default())
                .await?
                .is_consistent()
        );
        let mut abis = self::abis(&devnet);
        sync(&devnet, &store, &mut abis, paid + 1).await?;
        ensure!(check::digest(&store, admitted).await? == digests[0]);
        ensure!(check::digest(&store, head).await? == digests[1]);
        let again = hear(&mut relayed, usize::try_from(head - rolled_back)?).await?;
        ensure!(
            again
                == heard[usize::try_from(rolled_back)?..]
                    .iter()
                    .filter(|event| matches!(event, RegistryEvent::Committed { .. }))
                    .cloned()
                    .collect::<Vec<_>>(),
            "{again:?}"
        );
        let _ = stop_relay.send(true);
        relay.await?;
        replica.close().await;

        // A store whose projections an older build wrote (here: none at all) gets them rebuilt
        // from its events when it is opened.
        store.close().await;
        forget_projections(&urls[0]).await?;
        let store = Store::open(&urls[0]).await?;
        ensure!(check::digest(&store, head).await? == digests[1]);
        ensure!(
            check::verify(&store, &Contracts::default())
                .await?
                .is_consistent()
        );

        // A second database fed the same blocks agrees, whatever the backend.
        let other = Store::open(&urls[1]).await?;
        sync(&devnet, &other, &mut self::abis(&devnet), 1).await?;
        other
            .put_private(
                "individual",
                "memberone",
                &JsonText::from_value(&person),
                entered,
            )
            .await?;
        ensure!(check::digest(&other, head).await? == digests[1]);
        Ok(())
    }
);

/// Empties the projections and marks them as written by the first projection code.
async fn forget_projections(url: &str) -> Result<()> {
    const FORGET: [&str; 2] = [
        "DELETE FROM registry_rows",
        "UPDATE registry_state SET projection_version = 1",
    ];
    if url.starts_with("sqlite:") {
        let mut db = sqlx::SqliteConnection::connect(url).await?;
        for statement in FORGET {
            sqlx::query(statement).execute(&mut db).await?;
        }
    } else {
        let mut db = sqlx::PgConnection::connect(url).await?;
        for statement in FORGET {
            sqlx::query(statement).execute(&mut db).await?;
        }
    }
    Ok(())
}
