//! The document factory against the store, on SQLite and PostgreSQL, with a devnet
//! cooperative's real traffic: generated documents kept pending and read as accepted or
//! rejected once the chain carries them; signers' keys checked against the key history the
//! store kept; joining agreements (1–4, 50), participant applications (100) and decisions on
//! them (501) built from private records and registries as of their block, and regenerated
//! byte for byte after later edits of the private data and the template, also by
//! `mono document regenerate`.

use anyhow::{Context as _, Result, ensure};
use mono_instance::antelope::document::Document2;
use mono_instance::antelope::keys::PrivateKey;
use mono_instance::antelope::name::Name;
use mono_instance::antelope::time::{BlockTimestamp, TimePoint};
use mono_instance::demo::records::{self, bank_account, organization};
use mono_instance::devnet::bootstrap::Bootstrap;
use mono_instance::factory::draft::Draft;
use mono_instance::factory::keys::ChainKeys;
use mono_instance::factory::store::{self as kept, Error as KeepError};
use mono_instance::factory::verify::{self, Signed};
use mono_instance::factory::{Factory, inputs, templates};
use mono_instance::registry::documents::DocumentStatus;
use mono_instance::registry::projection::Contracts;
use mono_instance::store::{JsonText, Store};
use rand_core::OsRng;
use serde_json::{Value, json};

use crate::cli::mono;
use crate::devnet_flows::{COOP, Devnet, sha_hex};
use crate::registries::{abis, sync};
use crate::support::two_database_test;

const APPLICANT: &str = "applicantone";
/// The branch the applicant selects (101).
const BRANCH: &str = "branchone";
/// The project of the free decision (599, 600).
const PROJECT: &str = "smeta2025";
/// The registry ids whose inputs this module builds from the store; the asset documents are
/// `market_flow`'s.
pub(crate) const COVERED: [u64; 10] = [1, 2, 3, 4, 50, 100, 101, 501, 599, 600];

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn factory() -> Factory {
    Factory::new().expect("built-in fonts parse")
}

/// The example input of `registry_id` for `username` at `block_num`.
fn example(registry_id: u64, username: &str, block_num: u32) -> Result<(Draft, Value)> {
    let (draft, mut input) = templates::builtin_for(registry_id)?.context("a template")?;
    input["meta"]["username"] = json!(username);
    input["meta"]["block_num"] = json!(block_num);
    Ok((draft, input))
}

/// Has the cooperative create `username` with `key` (`registrator::newaccount`).
fn create_account(devnet: &mut Devnet, username: &str, key: &PrivateKey) -> Result<()> {
    devnet.push(
        "registrator",
        "newaccount",
        COOP,
        json!({"coopname": COOP, "referer": "", "username": username, "public_key": key.public_key(), "meta": "{}"}),
    )?;
    devnet.keys.insert(username.parse()?, key.clone());
    Ok(())
}

fn status_of(report: &verify::Report) -> Vec<Option<bool>> {
    report
        .signed
        .as_ref()
        .map(|signed| {
            signed
                .signatures
                .iter()
                .map(|sig| sig.key_on_chain)
                .collect()
        })
        .unwrap_or_default()
}

two_database_test!(
    kept_documents_read_as_accepted_or_rejected_and_signers_keys_come_from_the_chain,
    |urls: [String; 2]| async move {
        let mut devnet = Devnet::with_council()?;
        let store = Store::open(&urls[0]).await?;
        let mut abis = abis(&devnet);
        let first_key = PrivateKey::generate(&mut OsRng);
        create_account(&mut devnet, APPLICANT, &first_key)?;
        let generated_at = sync(&devnet, &store, &mut abis, 1).await?;

        // The application, generated at the synced block and signed by the applicant.
        let factory = factory();
        let (draft, input) = example(100, APPLICANT, generated_at)?;
        let mut statement = factory.render(&draft, &input)?;
        let signed_at = devnet.now_sec();
        statement
            .document
            .sign(APPLICANT.parse()?, &first_key, signed_at)?;
        let (block, record) = kept::keep(&store, &statement).await?;
        ensure!(block == generated_at, "kept at {block}");
        ensure!(record.signatures.len() == 1);
        let hash = record.hash.clone();
        ensure!(
            kept::status(&store, COOP, &hash, generated_at).await? == Some(DocumentStatus::Pending)
        );
        ensure!(
            kept::status(&store, COOP, &hash, generated_at - 1)
                .await?
                .is_none()
        );
        ensure!(
            kept::kept(&store, &hash.to_ascii_uppercase(), generated_at).await?
                == Some(record.clone())
        );
        // Keeping it again writes nothing; keeping it from an earlier block is refused.
        kept::keep(&store, &statement).await?;
        ensure!(store.private_history("document", &hash).await?.len() == 1);
        let mut earlier = statement.clone();
        earlier.meta["block_num"] = json!(generated_at - 1);
        ensure!(matches!(
            kept::keep(&store, &earlier).await,
            Err(KeepError::Store(_))
        ));

        // The chain carries it: accepted from that block on, still pending before.
        devnet.push(
            "registrator",
            "reguser",
            COOP,
            json!({"coopname": COOP, "braname": "", "username": APPLICANT, "type": "individual",
                   "statement": statement.document, "registration_hash": sha_hex(APPLICANT)}),
        )?;
        let carried = sync(&devnet, &store, &mut abis, generated_at + 1).await?;
        ensure!(
            kept::status(&store, COOP, &hash, carried).await? == Some(DocumentStatus::Accepted)
        );
        ensure!(
            kept::status(&store, COOP, &hash, generated_at).await? == Some(DocumentStatus::Pending)
        );

        // A refusal the chairman signs and the chain declines with: rejected.
        let (refusal_draft, refusal_input) = example(501, APPLICANT, carried)?;
        let mut refusal = factory.render(&refusal_draft, &refusal_input)?;
        refusal.document.sign(
            "chairone".parse()?,
            devnet.key("chairone")?,
            devnet.now_sec(),
        )?;
        let (_, refusal_record) = kept::keep(&store, &refusal).await?;
        devnet.pay(APPLICANT)?;
        devnet.push(
            "soviet",
            "declinedoc",
            COOP,
            json!({"coopname": COOP, "username": "chairone", "hash": sha_hex(APPLICANT), "document": refusal.document}),
        )?;
        let declined = sync(&devnet, &store, &mut abis, carried + 1).await?;
        ensure!(
            kept::status(&store, COOP, &refusal_record.hash, declined).await?
                == Some(DocumentStatus::Rejected)
        );

        // A council member signs the statement too; a day later its key changes.
        let member: Name = "memberone".parse()?;
        let first_key = devnet.key("memberone")?.clone();
        let mut countersigned: Document2 = statement.document.clone();
        countersigned.signatures.clear();
        countersigned.sign(member, &first_key, signed_at)?;
        devnet.advance_days(1);
        let second_key = PrivateKey::generate(&mut OsRng);
        devnet.push(
            "registrator",
            "changekey",
            COOP,
            json!({"coopname": COOP, "changer": COOP, "username": "memberone", "public_key": second_key.public_key()}),
        )?;
        let changed = sync(&devnet, &store, &mut abis, declined + 1).await?;
        let keys = ChainKeys::load(&store, &Contracts::default(), &[member], changed).await?;
        ensure!(keys.keys_at(member, generated_at) == Some([first_key.public_key()].into()));
        ensure!(keys.keys_at(member, changed) == Some([second_key.public_key()].into()));
        ensure!(
            keys.keys_at(member, 1) == Some([].into()),
            "no key before the account"
        );

        // Signed with the key of its time: still valid after the change.
        let signed = Signed::Document2(countersigned.clone());
        let report = verify::verify(&statement.pdf, &statement.meta, Some(&signed), &keys);
        ensure!(
            report.valid && status_of(&report) == [Some(true)],
            "{report:?}"
        );

        // Signed at the same time with the key that came later: not on chain then.
        let mut forged = countersigned.clone();
        forged.signatures.clear();
        forged.sign(member, &second_key, signed_at)?;
        let report = verify::verify(
            &statement.pdf,
            &statement.meta,
            Some(&Signed::Document2(forged.clone())),
            &keys,
        );
        ensure!(
            !report.valid && status_of(&report) == [Some(false)],
            "{report:?}"
        );
        // The new key signs validly from its block on; the first key no longer does.
        let mut later = countersigned.clone();
        later.signatures.clear();
        later.sign(member, &second_key, devnet.now_sec())?;
        later.sign(member, &first_key, devnet.now_sec())?;
        let report = verify::verify(
            &statement.pdf,
            &statement.meta,
            Some(&Signed::Document2(later)),
            &keys,
        );
        ensure!(
            status_of(&report) == [Some(true), Some(false)],
            "{report:?}"
        );
        // A signer whose history was not read is reported as not checked.
        let unread = ChainKeys::load(&store, &Contracts::default(), &[], changed).await?;
        let report = verify::verify(&statement.pdf, &statement.meta, Some(&signed), &unread);
        ensure!(status_of(&report) == [None]);

        // The command line: verify with keys from the store, render into the store.
        let dir = tempfile::tempdir()?;
        let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        std::fs::write(path("document.pdf"), &statement.pdf)?;
        std::fs::write(path("meta.json"), statement.meta.to_string())?;
        std::fs::write(path("signed.json"), serde_json::to_string(&countersigned)?)?;
        std::fs::write(path("forged.json"), serde_json::to_string(&forged)?)?;
        let url = urls[0].as_str();
        for (signed, code, on_chain) in [("signed.json", 0, true), ("forged.json", 1, false)] {
            let output = mono(
                &[
                    "document",
                    "verify",
                    &path("document.pdf"),
                    "--meta",
                    &path("meta.json"),
                    "--signed",
                    &path(signed),
                    "--database",
                    url,
                ],
                None,
            );
            let report: Value = serde_json::from_slice(&output.stdout)?;
            ensure!(output.status.code() == Some(code), "{signed}: {report}");
            ensure!(
                report["signed"]["signatures"][0]["key_on_chain"] == on_chain,
                "{report}"
            );
        }
        let (_, free) = templates::builtin_for(599)?.context("a template")?;
        std::fs::write(path("input.json"), free.to_string())?;
        let output = mono(
            &[
                "document",
                "render",
                "--registry-id",
                "599",
                "--input",
                &path("input.json"),
                "--out",
                &path("out"),
                "--database",
                url,
            ],
            None,
        );
        ensure!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let line: Value = serde_json::from_slice(&output.stdout)?;
        ensure!(
            line["stored_from_block"] == free["meta"]["block_num"],
            "{line}"
        );
        let hash = line["hash"].as_str().context("a hash")?;
        let block = u32::try_from(free["meta"]["block_num"].as_u64().context("a block")?)?;
        let record = kept::kept(&store, hash, block)
            .await?
            .context("kept by the command")?;
        ensure!(record.pdf == base64_of(&std::fs::read(path("out/document.pdf"))?));
        store.close().await;
        Ok(())
    }
);

/// Puts `value` as private record `(kind, key)` from `block_num`.
async fn put(store: &Store, kind: &str, key: &str, value: Value, block_num: u32) -> Result<()> {
    store
        .put_private(kind, key, &JsonText::from_value(&value), block_num)
        .await?;
    Ok(())
}

/// An organization record whose registration numbers pass the API's checks (those of
/// [`organization`] are kept as the stored documents print them).
pub(crate) fn checked_organization(username: &str, full_name: &str) -> Value {
    let mut record = organization(username, full_name);
    record["details"] = json!({"inn": "7707083893", "ogrn": "1027700132195", "kpp": "773601001"});
    record
}

/// What the cooperative keeps before anyone joins, from `block_num`, with its council given
/// as (username, first name, last name).
pub(crate) async fn cooperative_records(
    store: &Store,
    council: &[(&str, &str, &str)],
    block_num: u32,
) -> Result<()> {
    records::write(store, COOP, council, block_num).await?;
    Ok(())
}

/// The cooperative's private data as of `block_num` (see [`cooperative_records`]), the
/// applicant (an organization with a bank account) and its signature image, the branch's
/// organization and a project of a free decision.
async fn private_data(store: &Store, block_num: u32) -> Result<()> {
    let (_, example) = templates::builtin_for(100)?.context("a template")?;
    cooperative_records(
        store,
        &[
            ("chairone", "Сергей", "Петров"),
            ("memberone", "Ольга", "Смирнова"),
            ("membertwo", "Андрей", "Кузнецов"),
        ],
        block_num,
    )
    .await?;
    put(
        store,
        "organization",
        APPLICANT,
        organization(APPLICANT, "ООО «Северное поле»"),
        block_num,
    )
    .await?;
    put(
        store,
        "payment_method",
        &format!("{APPLICANT}/1"),
        bank_account(APPLICANT),
        block_num,
    )
    .await?;
    put(
        store,
        "organization",
        BRANCH,
        organization(BRANCH, "Кооперативный участок «Заречье»"),
        block_num,
    )
    .await?;
    put(
        store,
        "project",
        &format!("{COOP}/{PROJECT}"),
        json!({"coopname": COOP, "id": PROJECT, "question": "Об утверждении сметы",
               "decision": "Утвердить смету"}),
        block_num,
    )
    .await?;
    put(
        store,
        "signature",
        APPLICANT,
        json!({"username": APPLICANT, "signature": example["signature"]}),
        block_num,
    )
    .await?;
    Ok(())
}

two_database_test!(
    applications_and_decisions_regenerate_from_private_data_byte_for_byte,
    |urls: [String; 2]| async move {
        let mut devnet = Devnet::with_council()?;
        let store = Store::open(&urls[0]).await?;
        let mut abis = abis(&devnet);
        // The drafts of 100 and 501, published by the draft account as on COOPOS.
        let genesis =
            BlockTimestamp::from_time_point(TimePoint::from_micros(1_750_000_000_000_000))
                .context("a time after 2000")?;
        for action in Bootstrap::generate(&mut OsRng, genesis).template_setup()? {
            let registry_id = action.data["registry_id"].as_u64().unwrap_or_default();
            if COVERED.contains(&registry_id) {
                devnet.push("draft", "createdraft", "draft", action.data)?;
            }
        }
        let key = PrivateKey::generate(&mut OsRng);
        create_account(&mut devnet, APPLICANT, &key)?;
        let statement = devnet.own_document(APPLICANT)?;
        devnet.push(
            "registrator",
            "reguser",
            COOP,
            json!({"coopname": COOP, "braname": "", "username": APPLICANT, "type": "organization",
                   "statement": statement, "registration_hash": sha_hex(APPLICANT)}),
        )?;
        devnet.pay(APPLICANT)?;
        devnet.vote("votefor", "chairone", 1)?;
        devnet.vote("voteagainst", "membertwo", 1)?;
        devnet.push(
            "branch",
            "createbranch",
            COOP,
            json!({"coopname": COOP, "braname": BRANCH, "trustee": "memberone"}),
        )?;
        let generated_at = sync(&devnet, &store, &mut abis, 1).await?;
        private_data(&store, generated_at).await?;

        let factory = factory();
        let contracts = Contracts::default();
        let recipe = |registry_id: u64| {
            let mut request = json!({
                "meta": {"coopname": COOP, "username": APPLICANT, "created_at": "2025-06-15T15:00:00.000Z",
                         "block_num": generated_at},
            });
            match registry_id {
                100 | 101 => {
                    request["type"] = json!("organization");
                    request["braname"] = json!(if registry_id == 101 { BRANCH } else { "" });
                }
                501 => {
                    request["type"] = json!("organization");
                    request["decision_id"] = json!(1);
                }
                599 | 600 => {
                    request["project_id"] = json!(PROJECT);
                    if registry_id == 600 {
                        request["decision_id"] = json!(1);
                    }
                }
                _ => {}
            }
            request
        };
        let mut originals = Vec::new();
        for registry_id in COVERED {
            let input = inputs::complete(&store, registry_id, &recipe(registry_id)).await?;
            let draft = mono_instance::registry::templates::draft_at(
                &store,
                contracts.draft,
                registry_id,
                generated_at,
            )
            .await?
            .context("the draft is on chain")?;
            let generated = factory.render(&draft, &input)?;
            ensure!(
                generated.html.contains("Северное поле")
                    == [4, 100, 101, 501, 599].contains(&registry_id)
                    || input["user"]["full_name"] == "ООО «Северное поле»",
                "{registry_id}"
            );
            originals.push((registry_id, input, generated));
        }
        let input_of = |registry_id: u64| {
            originals
                .iter()
                .find(|(id, _, _)| *id == registry_id)
                .map(|(_, input, _)| input.clone())
                .context("rendered")
        };
        let application = input_of(100)?;
        let decision = &input_of(501)?["decision"];
        ensure!(
            decision["votes_for"] == 1
                && decision["votes_against"] == 1
                && decision["votes_abstained"] == 1
                && decision["voters_percent"] == 67,
            "{decision}"
        );
        ensure!(application["coop"]["members"].as_array().map(Vec::len) == Some(3));
        ensure!(application["organization"]["bank_account"]["bank_name"] == "ПАО Сбербанк");
        ensure!(input_of(4)?["user"]["full_name"] == "ООО «Северное поле»");

        // Later: the applicant renames itself, the signature and the cooperative's variables
        // change, the council votes again, and the drafts are edited on chain.
        devnet.vote("votefor", "memberone", 1)?;
        for registry_id in COVERED {
            let (draft, _) = templates::builtin_for(registry_id)?.context("a template")?;
            devnet.push(
                "draft",
                "editdraft",
                "draft",
                json!({"scope": "draft", "username": "draft", "registry_id": registry_id,
                       "title": "Новая редакция", "description": draft.description,
                       "context": "<p>{{ meta.title }}</p>", "model": draft.model.to_string()}),
            )?;
        }
        let edited = sync(&devnet, &store, &mut abis, generated_at + 1).await?;
        let mut renamed = store
            .private_at("organization", APPLICANT, edited)
            .await?
            .context("kept")?
            .data
            .to_value()?;
        renamed["full_name"] = json!("ООО «Южное поле»");
        put(&store, "organization", APPLICANT, renamed, edited).await?;
        let mut vars = store
            .private_at("vars", COOP, edited)
            .await?
            .context("kept")?
            .data
            .to_value()?;
        vars["name"] = json!("Рассвет");
        put(&store, "vars", COOP, vars, edited).await?;
        store.delete_private("signature", APPLICANT, edited).await?;

        for (registry_id, _, original) in &originals {
            let again = inputs::regenerate(&store, &factory, &contracts, &original.meta).await?;
            ensure!(again.pdf == original.pdf, "{registry_id}: the PDF differs");
            ensure!(
                again.html == original.html && again.document == original.document,
                "{registry_id}"
            );
            // Today's data and draft make another document.
            let mut now = recipe(*registry_id);
            now["meta"]["block_num"] = json!(edited);
            let today = inputs::complete(&store, *registry_id, &now).await;
            if *registry_id == 100 {
                ensure!(
                    matches!(
                        today,
                        Err(inputs::Error::Missing {
                            what: "signature",
                            ..
                        })
                    ),
                    "the signature image was removed: {today:?}"
                );
            } else {
                let today = today?;
                let renamed = match registry_id {
                    101 | 501 => &today["organization"]["full_name"],
                    599 => &today["suggester_name"],
                    600 => &today["decision"]["votes_for"],
                    _ => &today["user"]["full_name"],
                };
                let expected = if *registry_id == 600 {
                    json!(2)
                } else {
                    json!("ООО «Южное поле»")
                };
                ensure!(*renamed == expected, "{registry_id}: {today}");
                if *registry_id == 501 {
                    ensure!(today["decision"]["votes_for"] == 2);
                }
            }
        }
        // The command line regenerates from the store as well.
        let (_, _, application) = originals
            .iter()
            .find(|(id, _, _)| *id == 100)
            .context("rendered")?;
        let dir = tempfile::tempdir()?;
        let meta = dir.path().join("meta.json");
        std::fs::write(&meta, application.meta.to_string())?;
        let out = dir.path().join("out");
        let output = mono(
            &[
                "document",
                "regenerate",
                "--meta",
                &meta.to_string_lossy(),
                "--database",
                &urls[0],
                "--out",
                &out.to_string_lossy(),
            ],
            None,
        );
        ensure!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        ensure!(std::fs::read(out.join("document.pdf"))? == application.pdf);
        store.close().await;
        Ok(())
    }
);

two_database_test!(
    signers_adding_signatures_at_once_lose_none,
    |urls: [String; 2]| async move {
        let devnet = Devnet::with_council()?;
        let store = Store::open(&urls[0]).await?;
        let mut abis = abis(&devnet);
        let generated_at = sync(&devnet, &store, &mut abis, 1).await?;
        let (draft, input) = example(100, APPLICANT, generated_at)?;
        let unsigned = factory().render(&draft, &input)?;
        let (_, record) = kept::keep(&store, &unsigned).await?;
        ensure!(record.signatures.is_empty());

        // Eight signers sign the same kept document at the same moment.
        let mut signing = tokio::task::JoinSet::new();
        for signer in [
            "chairone",
            "memberone",
            "membertwo",
            APPLICANT,
            "signerfive",
            "signersix",
            "signerseven",
            "signereight",
        ] {
            let mut document = unsigned.document.clone();
            document.sign(
                signer.parse()?,
                &PrivateKey::generate(&mut OsRng),
                devnet.now_sec(),
            )?;
            let signature = document.signatures.pop().context("a signature")?;
            let store = store.clone();
            let hash = record.hash.clone();
            signing.spawn(async move { kept::add_signature(&store, &hash, &signature).await });
        }
        while let Some(added) = signing.join_next().await {
            added??;
        }
        let signed = kept::kept(&store, &record.hash, u32::MAX)
            .await?
            .context("kept")?;
        ensure!(
            signed.signatures.len() == 8,
            "{} signatures kept",
            signed.signatures.len()
        );
        ensure!(store.private_history("document", &record.hash).await?.len() == 9);
        store.close().await;
        Ok(())
    }
);
