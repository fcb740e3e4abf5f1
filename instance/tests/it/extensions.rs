//! Extensions on SQLite and PostgreSQL: installing applies an extension's own migrations once,
//! a configuration is checked field by field and nothing is written when it is refused,
//! enabling and disabling take effect at once through the API, secrets are never returned,
//! and block hooks run only for enabled extensions with their failures counted; `powerup`
//! tops the cooperative's resources up on the devnet within its daily cap.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use anyhow::{Context as _, ensure};
use mono_instance::antelope::name::Name;
use mono_instance::chain::api::{ApiOptions, ChainApi};
use mono_instance::chain::push::{JsonAction, Pusher};
use mono_instance::devnet::Storage;
use mono_instance::extensions::hooks::{HookLabels, HookMetrics, run_block};
use mono_instance::extensions::{
    self, Catalog, DesktopItem, Extension, HookContext, HookError, qrpay,
};
use mono_instance::store::Store;
use serde_json::{Value, json};

use crate::api::{Api, SERVICE_TOKEN, bootstrap_key, error_code, sync_to};
use crate::crash::{devnet, loopback, produce};
use crate::support::two_database_test;

/// Valid `qrpay` requisites.
pub(crate) fn bank() -> Value {
    json!({"name": "ПК «Восход»", "personal_acc": "40702810138250123017",
           "bank_name": "ПАО Сбербанк", "bic": "044525225",
           "corresp_acc": "30101810400000000225", "payee_inn": "7707083893"})
}

/// An extension counting the blocks its hook saw, failing on demand.
struct Counting {
    name: &'static str,
    calls: Arc<AtomicU32>,
    fails: bool,
}

#[async_trait::async_trait]
impl Extension for Counting {
    fn name(&self) -> &'static str {
        self.name
    }
    fn version(&self) -> &'static str {
        "0.1.0"
    }
    fn title(&self) -> &'static str {
        "Counting"
    }
    fn description(&self) -> &'static str {
        "Counts blocks."
    }
    fn config_schema(&self) -> Value {
        json!({"type": "object", "properties": {"token": {"type": "string", "writeOnly": true}}})
    }
    fn desktop(&self) -> &'static [DesktopItem] {
        &[]
    }
    async fn on_block(
        &self,
        _ctx: &HookContext,
        _block_num: u32,
        config: &Value,
    ) -> Result<(), HookError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.fails {
            return Err("the counter broke".into());
        }
        if config["token"] != "s3cret" {
            return Err("the hook did not get its secret".into());
        }
        Ok(())
    }
}

two_database_test!(
    installing_applies_migrations_once_and_refuses_bad_configurations,
    |urls: [String; 2]| async move {
        let store = Store::open(&urls[0]).await?;
        let catalog = Catalog::builtin();
        let mut wrong = bank();
        wrong["bic"] = json!("04452522");
        wrong["payee_inn"] = json!("7707083894");
        let refused = extensions::install(&store, &catalog, "qrpay", true, Some(wrong), 10).await;
        let Err(extensions::Error::InvalidConfig { fields, .. }) = refused else {
            anyhow::bail!("a wrong BIC is refused: {refused:?}");
        };
        ensure!(fields.iter().any(|err| err.field == "bic"), "{fields:?}");
        ensure!(store.installed_extensions().await?.is_empty());
        ensure!(store.extension_migrations("qrpay").await?.is_empty());

        let installed =
            extensions::install(&store, &catalog, "qrpay", false, Some(bank()), 10).await?;
        ensure!(!installed.enabled && installed.version == qrpay::Qrpay.version());
        ensure!(store.extension_migrations("qrpay").await? == [1]);
        let again = extensions::install(&store, &catalog, "qrpay", false, Some(bank()), 11).await;
        ensure!(
            matches!(again, Err(extensions::Error::AlreadyInstalled { .. })),
            "{again:?}"
        );
        // The migration made its table: the instructions issued are kept there.
        store
            .put_qrpay_issued(&mono_instance::store::QrpayIssued {
                payment_hash: "ab".repeat(32),
                kind: "income".to_owned(),
                username: "alice".to_owned(),
                sum_kopecks: 150_000,
                purpose: "Взнос".to_owned(),
                issued_at: 12,
            })
            .await?;

        // Uninstalling keeps the extension's data; reinstalling applies no migration twice.
        extensions::uninstall(&store, &catalog, "qrpay").await?;
        ensure!(extensions::enabled_config(&store, "qrpay").await?.is_none());
        extensions::install(&store, &catalog, "qrpay", true, Some(bank()), 20).await?;
        ensure!(store.extension_migrations("qrpay").await? == [1]);
        let kept = store
            .qrpay_issued(&"ab".repeat(32))
            .await?
            .context("kept")?;
        ensure!(kept.sum_kopecks == 150_000 && kept.username == "alice");
        ensure!(extensions::enabled_config(&store, "qrpay").await? == Some(bank()));

        let unknown = extensions::install(&store, &catalog, "nosuch", true, None, 30).await;
        ensure!(matches!(unknown, Err(extensions::Error::Unknown { .. })));
        store.close().await;
        Ok(())
    }
);

two_database_test!(
    hooks_run_for_enabled_extensions_and_failures_are_counted,
    |urls: [String; 2]| async move {
        let store = Store::open(&urls[0]).await?;
        let counted = Arc::new(AtomicU32::new(0));
        let broken = Arc::new(AtomicU32::new(0));
        let catalog = Catalog::new(vec![
            Arc::new(Counting {
                name: "counting",
                calls: counted.clone(),
                fails: false,
            }),
            Arc::new(Counting {
                name: "broken",
                calls: broken.clone(),
                fails: true,
            }),
        ]);
        let secret = Some(json!({"token": "s3cret"}));
        extensions::install(&store, &catalog, "counting", true, secret.clone(), 1).await?;
        extensions::install(&store, &catalog, "broken", true, secret, 1).await?;
        let ctx = HookContext {
            store: store.clone(),
            coopname: Name::from_str_const("voskhod"),
            cooperative: None,
            clock: Arc::new(|| 1),
        };
        let metrics = HookMetrics::default();
        run_block(&ctx, &catalog, &metrics, 5).await;
        run_block(&ctx, &catalog, &metrics, 6).await;
        ensure!(counted.load(Ordering::SeqCst) == 2);
        ensure!(broken.load(Ordering::SeqCst) == 2);
        let failures = |name: &str| {
            metrics
                .failures
                .get_or_create(&mono_instance::extensions::hooks::HookLabels {
                    extension: name.to_owned(),
                })
                .get()
        };
        ensure!(failures("broken") == 2 && failures("counting") == 0);

        // Disabled at run time: the next block does not call it.
        extensions::update(&store, &catalog, "counting", Some(false), None, 2).await?;
        run_block(&ctx, &catalog, &metrics, 7).await;
        ensure!(counted.load(Ordering::SeqCst) == 2);
        // A configuration update that leaves the secret out keeps it.
        extensions::update(&store, &catalog, "counting", Some(true), Some(json!({})), 3).await?;
        run_block(&ctx, &catalog, &metrics, 8).await;
        ensure!(counted.load(Ordering::SeqCst) == 3 && failures("counting") == 0);
        store.close().await;
        Ok(())
    }
);

two_database_test!(extensions_through_the_api, |urls: [String; 2]| async move {
    let store = Store::open(&urls[0]).await?;
    let api = Api::start_with(store.clone(), Name::from_str_const("voskhod"), None).await?;
    let list = "{ getExtensions { name installed enabled config secrets_set schema \
                    desktop { kind id roles } } }";
    let anonymous = api.data(None, list, json!({})).await?;
    let qrpay = &anonymous["getExtensions"][0];
    ensure!(
        qrpay["name"] == "qrpay" && qrpay["installed"] == false && qrpay["config"].is_null(),
        "{anonymous}"
    );
    ensure!(qrpay["schema"]["properties"]["bic"]["pattern"] == "^[0-9]{9}$");
    ensure!(qrpay["desktop"][0]["kind"] == "WIDGET", "{anonymous}");

    let install = "mutation($c: JSON) { installExtension(data: {name: \"qrpay\", enabled: true, config: $c}) { name enabled config } }";
    let mut wrong = bank();
    wrong["personal_acc"] = json!("40702810138250123018");
    wrong["kpp"] = json!("12");
    let refused = api
        .call(Some(SERVICE_TOKEN), install, json!({"c": wrong}))
        .await?;
    ensure!(error_code(&refused) == Some("BAD_USER_INPUT"), "{refused}");
    let fields: Vec<&str> = refused["errors"][0]["extensions"]["fields"]
        .as_array()
        .context("fields")?
        .iter()
        .filter_map(|field| field["field"].as_str())
        .collect();
    ensure!(fields == ["kpp"], "{refused}");
    ensure!(store.installed_extensions().await?.is_empty());
    let anonymous_install = api.call(None, install, json!({"c": bank()})).await?;
    ensure!(
        error_code(&anonymous_install) == Some("UNAUTHENTICATED"),
        "{anonymous_install}"
    );

    let installed = api
        .data(Some(SERVICE_TOKEN), install, json!({"c": bank()}))
        .await?;
    ensure!(
        installed["installExtension"]["config"]["bic"] == "044525225",
        "{installed}"
    );
    let listed = api.data(None, list, json!({})).await?;
    ensure!(
        listed["getExtensions"][0]["enabled"] == true
            && listed["getExtensions"][0]["config"].is_null(),
        "{listed}"
    );
    let as_service = api.data(Some(SERVICE_TOKEN), list, json!({})).await?;
    ensure!(
        as_service["getExtensions"][0]["config"] == bank(),
        "{as_service}"
    );

    // Instructions are the payer's or the council's; the service pays nothing.
    let instructions = "{ qrpayPaymentInstructions(data: {username: \"alice\", kind: INCOME, hash: \"%H\"}) { payload } }"
            .replace("%H", &"ab".repeat(32));
    let service = api
        .call(Some(SERVICE_TOKEN), &instructions, json!({}))
        .await?;
    ensure!(error_code(&service) == Some("FORBIDDEN"), "{service}");
    let update = "mutation($e: Boolean) { updateExtension(data: {name: \"qrpay\", enabled: $e}) { enabled } }";
    let disabled = api
        .data(Some(SERVICE_TOKEN), update, json!({"e": false}))
        .await?;
    ensure!(disabled["updateExtension"]["enabled"] == false);
    ensure!(extensions::enabled_config(&store, "qrpay").await?.is_none());
    let uninstall = "mutation { uninstallExtension(data: {name: \"qrpay\"}) }";
    ensure!(
        api.data(Some(SERVICE_TOKEN), uninstall, json!({})).await?["uninstallExtension"] == true
    );
    let twice = api.call(Some(SERVICE_TOKEN), uninstall, json!({})).await?;
    ensure!(error_code(&twice) == Some("NOT_FOUND"), "{twice}");
    store.close().await;
    Ok(())
});

two_database_test!(
    powerup_tops_up_the_cooperative_within_its_daily_cap,
    |urls: [String; 2]| async move {
        let devnet = devnet(Storage::Ephemeral, loopback()?, loopback()?).await?;
        let ready = devnet.ready();
        let coopname = ready.coopname;
        let chain = ChainApi::new(&ready.http, ApiOptions::default())?;
        let key = bootstrap_key(&devnet, "voskhod")?;
        let pusher = Pusher::new(chain.clone(), coopname, key.clone());
        let eosio = Name::from_str_const("eosio");
        // The chairman rents for the cooperative once: an account that never rented is
        // unlimited and is never topped up. 0.1000 AXON rents 100 000 µs of CPU on the devnet.
        let chairman = Name::from_str_const("chairman");
        let rent = json!({"payer": chairman, "receiver": coopname, "days": 1,
                          "payment": "0.1000 AXON", "transfer": true});
        Pusher::new(chain.clone(), chairman, bootstrap_key(&devnet, "chairman")?)
            .push(&[JsonAction::new(
                eosio,
                Name::from_str_const("powerup"),
                rent,
            )])
            .await?;
        // Each transaction the cooperative pays for uses CPU: a new permission will do.
        let auth = json!({"threshold": 1, "keys": [{"key": key.public_key().to_string(), "weight": 1}],
                          "accounts": [], "waits": []});
        let new_permission = json!({"account": coopname, "permission": "extra",
                                    "parent": "active", "auth": auth});
        let updateauth = Name::from_str_const("updateauth");
        let cpu = async || -> anyhow::Result<(i64, i64)> {
            let limit = chain.get_account(coopname).await?.cpu_limit;
            Ok((limit.available, limit.max))
        };
        ensure!(cpu().await? == (100_000, 100_000), "{:?}", cpu().await?);

        let now = Arc::new(AtomicI64::new(86_400 * 20_000 + 3_600));
        let clock_now = now.clone();
        let open = async |url: &str| -> anyhow::Result<HookContext> {
            let clock_now = clock_now.clone();
            Ok(HookContext {
                store: Store::open(url).await?,
                coopname,
                cooperative: Some(pusher.clone()),
                clock: Arc::new(move || clock_now.load(Ordering::SeqCst)),
            })
        };
        let ctx = open(&urls[0]).await?;
        let catalog = Catalog::builtin();
        let metrics = HookMetrics::default();
        // Below all of its CPU left, pay 0.1000 AXON; at most 0.2000 AXON a day.
        let config = json!({"every_blocks": 1, "cpu": {"percent": 100}, "net": {"percent": 0},
                            "payment": "0.1000 AXON", "days": 1, "daily_cap": "0.2000 AXON"});
        extensions::install(&ctx.store, &catalog, "powerup", true, Some(config), 1).await?;
        let mut block = 0;
        let mut run = async |ctx: &HookContext| -> anyhow::Result<()> {
            block = produce(&devnet, 1)?;
            run_block(ctx, &catalog, &metrics, block).await;
            let failures = metrics
                .failures
                .get_or_create(&HookLabels {
                    extension: "powerup".to_owned(),
                })
                .get();
            ensure!(failures == 0, "the hook failed");
            Ok(())
        };

        // Enabled, with all of its CPU left: nothing to do.
        run(&ctx).await?;
        ensure!(cpu().await? == (100_000, 100_000));
        ensure!(ctx.store.powerup_topups(10).await?.is_empty());

        // Low, but disabled: nothing happens.
        extensions::update(&ctx.store, &catalog, "powerup", Some(false), None, 2).await?;
        pusher
            .push(&[JsonAction::new(eosio, updateauth, new_permission)])
            .await?;
        ensure!(cpu().await? == (99_900, 100_000));
        run(&ctx).await?;
        ensure!(cpu().await? == (99_900, 100_000));
        ensure!(ctx.store.powerup_topups(10).await?.is_empty());

        // Enabled: topped up (the top-up itself is billed 100 µs, so it stays low).
        extensions::update(&ctx.store, &catalog, "powerup", Some(true), None, 3).await?;
        run(&ctx).await?;
        ensure!(cpu().await? == (199_800, 200_000), "{:?}", cpu().await?);
        let topups = ctx.store.powerup_topups(10).await?;
        ensure!(topups.len() == 1, "{topups:?}");
        ensure!(topups[0].amount == "0.1000 AXON" && topups[0].amount_units == 1_000);
        ensure!(topups[0].transaction_id.len() == 64 && topups[0].block_num > 0);

        // The second top-up reaches the cap, so the third waits.
        run(&ctx).await?;
        ensure!(cpu().await? == (299_700, 300_000), "{:?}", cpu().await?);
        run(&ctx).await?;
        ensure!(cpu().await? == (299_700, 300_000), "{:?}", cpu().await?);
        ensure!(ctx.store.powerup_spent_since(0).await? == 2_000);

        // A restart keeps the day's spending.
        ctx.store.close().await;
        let ctx = open(&urls[0]).await?;
        run(&ctx).await?;
        ensure!(cpu().await? == (299_700, 300_000), "{:?}", cpu().await?);
        ensure!(ctx.store.powerup_topups(10).await?.len() == 2);

        // The council sees the same through the API.
        let lib = produce(&devnet, 2)? - 1;
        sync_to(&devnet, &ctx.store, lib).await?;
        let api = Api::start_with(ctx.store.clone(), coopname, Some(pusher.clone())).await?;
        let (chairman_token, _, _) = api
            .login("chairman", &bootstrap_key(&devnet, "chairman")?)
            .await?;
        let status = api
            .data(
                Some(&chairman_token),
                "{ powerupStatus { daily_cap cpu { used available max } topups { amount } } }",
                json!({}),
            )
            .await?;
        let status = &status["powerupStatus"];
        ensure!(
            status["cpu"] == json!({"used": 300, "available": 299_700, "max": 300_000}),
            "{status}"
        );
        ensure!(status["daily_cap"] == "0.2000 AXON", "{status}");
        ensure!(status["topups"][1]["amount"] == "0.1000 AXON", "{status}");

        // The next day the cap starts afresh.
        now.fetch_add(86_400, Ordering::SeqCst);
        run(&ctx).await?;
        ensure!(cpu().await? == (399_600, 400_000), "{:?}", cpu().await?);
        ensure!(ctx.store.powerup_topups(10).await?.len() == 3);
        ctx.store.close().await;
        Ok(())
    }
);

/// The payer of the pending income `hash` gets its bank transfer as an ST00012 QR code once the
/// chairman enables `qrpay`: the PNG, read by an independent decoder, carries the payload, and
/// the payload asks for the income's amount in kopecks. Before that, the field does not answer.
pub(crate) async fn pay_by_qr(
    api: &Api,
    chairman: &str,
    payer_token: &str,
    payer: &str,
    hash: &str,
) -> anyhow::Result<()> {
    let query = "query($u: String!, $h: String!) { qrpayPaymentInstructions(data: {username: $u, kind: INCOME, hash: $h}) { sum_kopecks purpose payload png svg bic } }";
    let vars = json!({"u": payer, "h": hash});
    let before = api.call(Some(payer_token), query, vars.clone()).await?;
    ensure!(error_code(&before) == Some("UNAVAILABLE"), "{before}");
    api.data(
        Some(chairman),
        "mutation($c: JSON) { installExtension(data: {name: \"qrpay\", enabled: true, config: $c}) { name } }",
        json!({"c": bank()}),
    )
    .await?;
    let other = api
        .call(Some(payer_token), query, json!({"u": "member2", "h": hash}))
        .await?;
    ensure!(error_code(&other) == Some("FORBIDDEN"), "{other}");

    let answer = api.data(Some(payer_token), query, vars).await?;
    let made = &answer["qrpayPaymentInstructions"];
    let payload = made["payload"].as_str().context("a payload")?;
    let png = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        made["png"].as_str().context("a PNG")?,
    )?;
    ensure!(
        decode_qr(&png)? == payload,
        "the QR code carries the payload"
    );
    ensure!(
        made["svg"]
            .as_str()
            .is_some_and(|svg| svg.starts_with("<?xml") || svg.starts_with("<svg"))
    );

    // The amount, read from the income's row independently of qrpay's arithmetic.
    let payments = api
        .data(
            Some(chairman),
            "query($u: String!) { getPayments(filter: {username: $u, status: \"pending\"}) { items { hash row } } }",
            json!({"u": payer}),
        )
        .await?;
    let quantity = payments["getPayments"]["items"]
        .as_array()
        .context("payments")?
        .iter()
        .find(|item| item["hash"] == hash)
        .and_then(|item| item["row"]["quantity"].as_str())
        .context("the income's quantity")?
        .to_owned();
    let (whole, rest) = quantity
        .strip_suffix(" RUB")
        .and_then(|number| number.split_once('.'))
        .context("rubles with a fraction")?;
    let kopecks: u64 = format!("{whole}{}", &rest[..2]).parse()?;
    ensure!(rest[2..].chars().all(|digit| digit == '0'), "{quantity}");
    ensure!(made["sum_kopecks"] == kopecks, "{made} vs {quantity}");
    let expected_start = "ST00012|Name=ПК «Восход»|PersonalAcc=40702810138250123017|BankName=ПАО Сбербанк|BIC=044525225|CorrespAcc=30101810400000000225|PayeeINN=7707083893|Sum=";
    ensure!(payload.starts_with(expected_start), "{payload}");
    ensure!(
        payload.contains(&format!("|Sum={kopecks}|Purpose=Вступительный и минимальный паевой взносы, пайщик {payer}, платёж {}", &hash[..16])),
        "{payload}"
    );
    api.data(
        Some(chairman),
        "mutation { updateExtension(data: {name: \"qrpay\", enabled: false}) { enabled } }",
        json!({}),
    )
    .await?;
    let after = api
        .call(Some(payer_token), query, json!({"u": payer, "h": hash}))
        .await?;
    ensure!(error_code(&after) == Some("UNAVAILABLE"), "{after}");
    Ok(())
}

/// What qrpay draws is what an independent decoder reads, Cyrillic included.
#[test]
fn the_png_decodes_to_the_payload_and_the_svg_is_a_document() -> anyhow::Result<()> {
    let details = qrpay::bank_details(&bank())?;
    let made = qrpay::instructions(&details, 2_500_000, "Паевой взнос, пайщик alice");
    let png = qrpay::png(&made.payload)?;
    ensure!(png.starts_with(b"\x89PNG"));
    ensure!(decode_qr(&png)? == made.payload);
    let svg = qrpay::svg(&made.payload)?;
    ensure!(svg.contains("<svg") && svg.contains("</svg>"));
    Ok(())
}

/// The text of the one QR code in a PNG, read by `rqrr`.
fn decode_qr(png_bytes: &[u8]) -> anyhow::Result<String> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info()?;
    let mut pixels = vec![0; reader.output_buffer_size().context("a size")?];
    let frame = reader.next_frame(&mut pixels)?;
    ensure!(frame.color_type == png::ColorType::Grayscale, "grey pixels");
    let (width, height) = (frame.width as usize, frame.height as usize);
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| pixels[y * width + x]);
    let grids = image.detect_grids();
    ensure!(grids.len() == 1, "one QR code, found {}", grids.len());
    let (_meta, content) = grids[0].decode()?;
    Ok(content)
}
