//! The document factory end to end: every template of the project renders from its example and
//! regenerates byte for byte; verification catches each kind of tampering; an upstream draft
//! renders unchanged; the command line; and templates read from the chain as of a block, on
//! SQLite and PostgreSQL, so a later edit of a draft leaves earlier documents reproducible.

use std::time::Duration;

use anyhow::{Context as _, ensure};
use mono_instance::antelope::abi::Abi;
use mono_instance::antelope::abi::def::AbiDef;
use mono_instance::antelope::checksum::Checksum256;
use mono_instance::antelope::document::Document;
use mono_instance::antelope::keys::PrivateKey;
use mono_instance::antelope::name::Name;
use mono_instance::antelope::time::TimePointSec;
use mono_instance::antelope::transaction::{Action, PermissionLevel, Tapos, Transaction};
use mono_instance::chain::api::{ApiOptions, ChainApi};
use mono_instance::devnet::{RunningDevnet, Storage};
use mono_instance::factory::draft::Draft;
use mono_instance::factory::verify::{self, NoKeyHistory, Report, Signed};
use mono_instance::factory::{Error, Factory, templates};
use mono_instance::parser::{Filter, Metrics, ParserConfig, Stopped, follow};
use mono_instance::registry::templates::{draft_at, drafts_at};
use mono_instance::store::Store;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::cli::mono;
use crate::crash::{devnet, loopback, produce};
use crate::support::two_database_test;

const DEADLINE: Duration = Duration::from_secs(60);
const DRAFT: Name = Name::from_str_const("draft");

fn factory() -> Factory {
    Factory::new().expect("built-in fonts parse")
}

fn template(registry_id: u64) -> (Draft, Value) {
    templates::builtin_for(registry_id)
        .expect("built-in templates are valid")
        .expect("the registry id has a template")
}

/// The input without its recipe: what regeneration reads again from the registries.
fn data_of(input: &Value) -> Value {
    let mut data = input.clone();
    if let Some(object) = data.as_object_mut() {
        object.remove("meta");
    }
    data
}

#[test]
fn every_registry_id_renders_and_regenerates_byte_identically() {
    let factory = factory();
    let drafts = templates::builtin().expect("valid");
    let ids: Vec<u64> = drafts.iter().map(|(draft, _)| draft.registry_id).collect();
    assert_eq!(
        ids,
        [
            1, 2, 3, 4, 50, 100, 101, 501, 599, 600, 700, 701, 702, 800, 801, 802
        ]
    );
    for (draft, example) in &drafts {
        let id = draft.registry_id;
        let first = factory.render(draft, example).expect("renders");
        assert!(first.pdf.starts_with(b"%PDF-"), "{id}");
        assert_eq!(first.meta["registry_id"], id, "{id}");
        assert_eq!(
            first.meta["created_at"], example["meta"]["created_at"],
            "{id}"
        );
        assert!(first.html.contains(&draft.title), "{id}");
        let again = factory.render(draft, example).expect("renders");
        assert_eq!(again, first, "{id}: a second render differs");
        let regenerated = factory
            .regenerate(draft, &first.meta, &data_of(example))
            .expect("regenerates");
        assert_eq!(
            regenerated.meta.to_string(),
            first.meta.to_string(),
            "{id}: meta"
        );
        assert_eq!(regenerated.html, first.html, "{id}: html");
        assert!(
            regenerated.pdf == first.pdf,
            "{id}: regenerated PDF differs"
        );
        assert_eq!(regenerated.document, first.document, "{id}: hashes");
        let report = verify::verify(&first.pdf, &first.meta, None, &NoKeyHistory);
        assert!(report.valid, "{id}: {report:?}");
        assert_eq!(
            report.doc_hash,
            first.document.doc_hash.to_hex().to_ascii_uppercase()
        );
        assert_eq!(report.hash, first.document.hash.to_hex());
    }
}

#[test]
fn participant_application_covers_every_applicant_kind_and_the_branch() {
    let factory = factory();
    let (draft, example) = template(100);
    let individual = factory.render(&draft, &example).expect("renders");
    assert!(individual.html.contains("Заявление физического лица"));
    assert!(individual.html.contains("data:image/png;base64,"));
    // The handwritten signature is not part of the meta that goes on chain.
    assert!(individual.meta.get("signature").is_none());
    assert_eq!(individual.meta["type"], "individual");

    let (_, entrepreneur_source) = template(101);
    let mut entrepreneur = example.clone();
    entrepreneur["type"] = json!("entrepreneur");
    entrepreneur["entrepreneur"] = entrepreneur_source["entrepreneur"].clone();
    entrepreneur["coop"]["is_branched"] = json!(true);
    entrepreneur["branch"] = entrepreneur_source["branch"].clone();
    let html = factory.render(&draft, &entrepreneur).expect("renders").html;
    assert!(
        html.contains("индивидуального предпринимателя") && html.contains("ОГРНИП 319623400012345")
    );
    assert!(
        html.contains("Заречье"),
        "the optional branch is rendered when given"
    );

    let (_, decision_source) = template(501);
    let mut organization = example.clone();
    organization["type"] = json!("organization");
    organization["organization"] = decision_source["organization"].clone();
    let html = factory.render(&draft, &organization).expect("renders").html;
    assert!(html.contains("юридического лица") && html.contains("Лебедев"));
    assert!(
        !html.contains("Заречье"),
        "no branch section without a branch"
    );

    // The kind chosen requires its object.
    organization
        .as_object_mut()
        .expect("object")
        .remove("organization");
    assert!(matches!(
        factory.render(&draft, &organization),
        Err(Error::Invalid { .. })
    ));
}

#[test]
fn decision_protocols_print_the_vote_tallies() {
    let factory = factory();
    let (draft, mut example) = template(501);
    let html = factory.render(&draft, &example).expect("renders").html;
    assert!(html.contains("Принять в пайщики"));
    assert!(html.contains(
        r#"<td class="center">2</td><td class="center">0</td><td class="center">1</td>"#
    ));
    example["decision"]["votes_for"] = json!(1);
    example["decision"]["votes_against"] = json!(2);
    let html = factory.render(&draft, &example).expect("renders").html;
    assert!(html.contains("Решение не принято") && !html.contains("Принять в пайщики"));
}

#[test]
fn invalid_inputs_name_every_field() {
    let factory = factory();
    let (draft, mut example) = template(100);
    example["individual"]["email"] = json!("не адрес");
    example["individual"]
        .as_object_mut()
        .expect("object")
        .remove("birthdate");
    example["meta"]["created_at"] = json!("вчера");
    let Err(Error::Invalid { fields }) = factory.render(&draft, &example) else {
        panic!("invalid input is refused");
    };
    let names: Vec<&str> = fields.iter().map(|field| field.field.as_str()).collect();
    assert_eq!(
        names,
        ["/individual", "/individual/email", "/meta/created_at"],
        "{fields:?}"
    );
}

fn key(seed: u8) -> PrivateKey {
    PrivateKey::from_bytes(&[seed; 32]).expect("a valid scalar")
}

fn at(text: &str) -> TimePointSec {
    text.parse().expect("valid time")
}

#[test]
fn verification_rejects_every_kind_of_tampering() {
    let factory = factory();
    let (draft, example) = template(100);
    let generated = factory.render(&draft, &example).expect("renders");
    let member: Name = "ivanovii1234".parse().expect("name");
    let chairman: Name = "petrovsn1234".parse().expect("name");
    let mut signed = generated.document.clone();
    signed
        .sign(member, &key(1), at("2025-03-14T09:30:00"))
        .expect("signs");
    signed
        .sign(chairman, &key(2), at("2025-03-14T12:00:00"))
        .expect("signs");
    // The chain's key history: each account's key, from the start of 2025.
    let history =
        |signer: Name, public: &mono_instance::antelope::keys::PublicKey, when: TimePointSec| {
            let owner = if signer == member {
                key(1)
            } else if signer == chairman {
                key(2)
            } else {
                return Some(false);
            };
            Some(owner.public_key() == *public && when >= at("2025-01-01T00:00:00"))
        };
    let check = |pdf: &[u8], meta: &Value, record: &Signed| -> Report {
        verify::verify(pdf, meta, Some(record), &history)
    };
    let good = check(
        &generated.pdf,
        &generated.meta,
        &Signed::Document2(signed.clone()),
    );
    assert!(good.valid, "{good:?}");

    let mut pdf = generated.pdf.clone();
    let middle = pdf.len() / 2;
    pdf[middle] ^= 1;
    let report = check(&pdf, &generated.meta, &Signed::Document2(signed.clone()));
    assert!(!report.valid && !report.signed.as_ref().expect("checked").doc_hash_matches);

    let mut meta = generated.meta.clone();
    meta["username"] = json!("sidorov12345");
    let report = check(&generated.pdf, &meta, &Signed::Document2(signed.clone()));
    assert!(
        !report.valid
            && !report.pdf_matches_meta
            && !report.signed.as_ref().expect("checked").meta_matches
    );

    let mut record = signed.clone();
    record.meta = record.meta.replace("ivanovii1234", "sidorov12345");
    let report = check(&generated.pdf, &generated.meta, &Signed::Document2(record));
    assert!(!report.valid && !report.signed.as_ref().expect("checked").meta_hash_matches);

    let mut record = signed.clone();
    record.signatures[1].signature = signed.signatures[0].signature;
    let report = check(&generated.pdf, &generated.meta, &Signed::Document2(record));
    assert!(!report.valid && !report.signed.as_ref().expect("checked").signatures[1].key_matches);

    let mut record = signed.clone();
    record.signatures[0].signed_at = at("2025-03-14T09:30:01");
    let report = check(&generated.pdf, &generated.meta, &Signed::Document2(record));
    assert!(
        !report.valid
            && !report.signed.as_ref().expect("checked").signatures[0].signed_hash_matches
    );

    // A wrong signer: the chairman's name on the member's valid signature.
    let mut record = signed.clone();
    record.signatures[0].signer = chairman;
    let report = check(&generated.pdf, &generated.meta, &Signed::Document2(record));
    assert_eq!(
        report.signed.as_ref().expect("checked").signatures[0].key_on_chain,
        Some(false)
    );
    assert!(!report.valid);

    // A key that was not the signer's on chain when it signed.
    let mut early = generated.document.clone();
    early
        .sign(member, &key(1), at("2024-12-31T23:59:59"))
        .expect("signs");
    let report = check(&generated.pdf, &generated.meta, &Signed::Document2(early));
    assert!(
        !report.valid
            && report.signed.as_ref().expect("checked").signatures[0].key_on_chain == Some(false)
    );

    // The legacy record signs the PDF hash itself.
    let hash: Checksum256 = report.doc_hash.parse().expect("hex");
    let legacy = Document {
        hash,
        public_key: key(1).public_key(),
        signature: key(1).sign_digest(hash.as_bytes()).expect("signs"),
        meta: generated.meta.to_string(),
    };
    assert!(
        check(
            &generated.pdf,
            &generated.meta,
            &Signed::Legacy(legacy.clone())
        )
        .valid
    );
    let forged = Document {
        public_key: key(2).public_key(),
        ..legacy
    };
    assert!(!check(&generated.pdf, &generated.meta, &Signed::Legacy(forged)).valid);
}

#[test]
fn upstream_participant_application_renders_unchanged() {
    let draft: Draft =
        serde_json::from_str(include_str!("../data/factory/upstream-100/draft.json"))
            .expect("draft parses");
    let (_, mut example) = template(100);
    example["coop"]["is_branched"] = json!(true);
    example["branch"] = template(101).1["branch"].clone();
    let generated = factory()
        .render(&draft, &example)
        .expect("the upstream template renders");
    let html = &generated.html;
    assert!(html.contains("Заявление физического лица о приеме в пайщики"));
    assert!(html.contains("Иванов Иван Иванович") || html.contains("Иванов Иван Иванович"));
    assert!(html.contains("Паспорт № 4510 123456"));
    assert!(html.contains("Уполномочиваю Председателя кооперативного участка КУ «Заречье»"));
    assert!(html.contains("номер телефона с активированной функцией получения sms: +79161234567"));
    assert!(generated.pdf.starts_with(b"%PDF-"));
}

fn write_json(path: &std::path::Path, value: &Value) {
    std::fs::write(
        path,
        serde_json::to_string_pretty(value).expect("serialises"),
    )
    .expect("writes");
}

#[test]
fn command_line_example_render_and_verify() {
    let dir = tempfile::tempdir().expect("temp dir");
    let example = mono(&["document", "example", "--registry-id", "501"], None);
    assert!(example.status.success());
    let input = dir.path().join("input.json");
    std::fs::write(&input, &example.stdout).expect("writes");
    let out = dir.path().join("out");
    let render = |args: &[&str]| mono(args, None);
    let output = render(&[
        "document",
        "render",
        "--registry-id",
        "501",
        "--input",
        input.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    for field in [
        "doc_hash",
        "meta_hash",
        "hash",
        "version",
        "html",
        "pdf",
        "meta",
    ] {
        assert!(line.get(field).is_some(), "{field} in {line}");
    }
    assert_eq!(line["version"], "1.1.0");
    let pdf = std::fs::read(out.join("document.pdf")).expect("pdf written");
    assert_eq!(
        line["doc_hash"],
        mono_instance::antelope::document::doc_hash(&pdf)
    );
    assert!(
        std::fs::read_to_string(out.join("document.html"))
            .expect("html")
            .contains("Протокол № 17")
    );

    // The same document from the draft in the chain's shape.
    let (draft, _) = template(501);
    let draft_path = dir.path().join("draft.json");
    write_json(
        &draft_path,
        &serde_json::to_value(&draft).expect("serialises"),
    );
    let out2 = dir.path().join("out2");
    let output = render(&[
        "document",
        "render",
        "--draft",
        draft_path.to_str().expect("utf-8"),
        "--input",
        input.to_str().expect("utf-8"),
        "--out",
        out2.to_str().expect("utf-8"),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(std::fs::read(out2.join("document.pdf")).expect("pdf"), pdf);

    let meta = out.join("meta.json");
    let verify = mono(
        &[
            "document",
            "verify",
            out.join("document.pdf").to_str().expect("utf-8"),
            "--meta",
            meta.to_str().expect("utf-8"),
        ],
        None,
    );
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let mut tampered_meta: Value =
        serde_json::from_slice(&std::fs::read(&meta).expect("meta")).expect("json");
    tampered_meta["decision_id"] = json!(99);
    let tampered = dir.path().join("tampered.json");
    write_json(&tampered, &tampered_meta);
    let verify = mono(
        &[
            "document",
            "verify",
            out.join("document.pdf").to_str().expect("utf-8"),
            "--meta",
            tampered.to_str().expect("utf-8"),
        ],
        None,
    );
    assert_eq!(verify.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&verify.stdout).expect("a report");
    assert_eq!(report["pdf_matches_meta"], false);

    // Invalid input exits 2 and names the fields.
    let mut bad: Value = serde_json::from_slice(&example.stdout).expect("json");
    bad["decision"]["votes_for"] = json!(-1);
    bad["coop"].as_object_mut().expect("object").remove("city");
    write_json(&input, &bad);
    let output = render(&[
        "document",
        "render",
        "--registry-id",
        "501",
        "--input",
        input.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/decision/votes_for") && stderr.contains("/coop"),
        "{stderr}"
    );
    let missing = render(&["document", "example", "--registry-id", "77"]);
    assert_eq!(missing.status.code(), Some(2));
}

/// Pushes `draft::editdraft` of `registry_id` with a new title, signed by the `draft` account.
async fn edit_draft(devnet: &RunningDevnet, draft: &Draft, title: &str) -> anyhow::Result<()> {
    let ready = devnet.ready();
    let key: PrivateKey = ready
        .accounts
        .iter()
        .find(|account| account.name == DRAFT)
        .and_then(|account| account.private_key.as_deref())
        .context("the draft account has a key")?
        .parse()?;
    let api = ChainApi::new(&ready.http, ApiOptions::default())?;
    let abi = Abi::from_def(AbiDef::from_bin(&api.get_raw_abi(DRAFT).await?.abi)?)?;
    let editdraft = Name::from_str_const("editdraft");
    let type_name = abi
        .action_type(editdraft)
        .context("draft has editdraft")?
        .to_owned();
    let data = abi.encode(&type_name, &json!({
        "scope": DRAFT, "username": DRAFT, "registry_id": draft.registry_id, "title": title,
        "description": draft.description, "context": draft.context, "model": draft.model.to_string(),
    }))?;
    let info = api.get_info().await?;
    let expiration = u32::try_from(info.head_block_time.as_micros() / 1_000_000 + 120)?;
    let trx = Transaction::new(
        TimePointSec::from_secs(expiration),
        Tapos::from_block_id(&info.last_irreversible_block_id),
        vec![Action {
            account: DRAFT,
            name: editdraft,
            authorization: vec![PermissionLevel {
                actor: DRAFT,
                permission: Name::from_str_const("active"),
            }],
            data,
        }],
    );
    let signed = trx.sign(&ready.chain_id, [&key])?;
    api.push_transaction(&signed.to_packed()).await?;
    Ok(())
}

two_database_test!(
    documents_render_from_the_chain_draft_in_force_at_their_block,
    |urls: [String; 2]| async move {
        let devnet = devnet(Storage::Ephemeral, loopback()?, loopback()?).await?;
        let published = produce(&devnet, 2)?;
        let (builtin, example) = template(100);
        edit_draft(&devnet, &builtin, "Заявление о приёме в пайщики").await?;
        let edited = produce(&devnet, 1)?;
        let lib = produce(&devnet, 2)? - 1;

        let ready = devnet.ready();
        let mut config = ParserConfig::new(
            &ready.ship,
            &ready.http,
            Filter::new(&ready.contracts(), ready.coopname),
        );
        config.stop_after = Some(lib);
        let store = Store::open(&urls[0]).await?;
        let (_stop, shutdown) = watch::channel(false);
        let stopped = tokio::time::timeout(
            DEADLINE,
            follow(&store, &config, &Metrics::default(), shutdown),
        )
        .await
        .context("sync in time")??;
        ensure!(stopped == Stopped::Reached(lib), "{stopped:?}");

        ensure!(
            draft_at(&store, DRAFT, 100, 1).await?.is_none(),
            "nothing before genesis set-up"
        );
        let all = drafts_at(&store, DRAFT, published).await?;
        ensure!(
            all.len() == templates::BUILTIN.len(),
            "{} drafts",
            all.len()
        );
        let on_chain = draft_at(&store, DRAFT, 100, published)
            .await?
            .context("published at genesis")?;
        ensure!(
            on_chain == builtin,
            "the chain holds the project's draft unchanged"
        );

        // A document of the original block, then the draft is edited on chain.
        let factory = factory();
        let mut input = example.clone();
        input["meta"]["block_num"] = json!(published);
        let original = factory.render(&on_chain, &input)?;
        let later = draft_at(&store, DRAFT, 100, edited)
            .await?
            .context("still there")?;
        ensure!(
            later.title == "Заявление о приёме в пайщики",
            "{}",
            later.title
        );
        // Regeneration reads the draft as of the document's block, not the latest one.
        let block = u32::try_from(original.meta["block_num"].as_u64().context("block")?)?;
        let then = draft_at(&store, DRAFT, 100, block)
            .await?
            .context("in force then")?;
        let regenerated = factory.regenerate(&then, &original.meta, &data_of(&input))?;
        ensure!(regenerated.pdf == original.pdf && regenerated.document == original.document);
        ensure!(matches!(
            factory.regenerate(&later, &original.meta, &data_of(&input)),
            Err(Error::MetaMismatch)
        ));
        store.close().await;
        devnet.stop().await?;
        Ok(())
    }
);
