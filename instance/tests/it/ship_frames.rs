//! SHiP frames that an independent Antelope library wrote, read as a real node's: the frames in
//! `tests/data/ship/` were encoded by `@wharfkit/antelope` (npm) from Leap 5's published SHiP ABI
//! (and Spring 1.x's additions) and the COOPOS contract ABIs, by `tests/interop/ship_fixtures.mjs`,
//! with what a Leap node puts in them: `partial` on every trace, a nested `failed_dtrx_trace`,
//! RAM deltas, `action_trace_v0` and `v1`, and a delta for every state table.
//!
//! The tests decode each frame and compare it with what wharfkit decoded, run the parser over
//! the blocks and compare the cooperative's actions and rows with wharfkit's decoding of them,
//! and finally replay the frames from a scripted SHiP server through the follower into both
//! store backends.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use futures::{SinkExt as _, StreamExt as _};
use mono_instance::antelope::binary;
use mono_instance::antelope::keys::PublicKey;
use mono_instance::antelope::ship::delta::decode_tables;
use mono_instance::antelope::ship::{
    GetBlocksResult, Protocol, ShipResult, TableDelta, TransactionTrace,
};
use mono_instance::chain::ship::{ShipAbi, check_abi};
use mono_instance::parser::{
    AbiSet, DEFAULT_CONTRACTS, Filter, Metrics, Mode, ParserConfig, Stopped, decode_block, follow,
};
use mono_instance::store::{BlockBatch, Store};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::support::two_database_test;

const DEADLINE: Duration = Duration::from_secs(60);
/// The fixtures' two generations of the protocol.
const FIXTURES: [&str; 2] = ["leap5", "spring1"];

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ship")
}

/// One fixture file: the ABI the server sends, its frames and what wharfkit decoded.
struct Fixture {
    name: &'static str,
    abi_text: String,
    frames: Value,
}

impl Fixture {
    fn load(name: &'static str) -> anyhow::Result<Self> {
        let frames: Value = serde_json::from_str(&std::fs::read_to_string(
            data_dir().join(format!("{name}.frames.json")),
        )?)?;
        let abi_file = frames["abi"]
            .as_str()
            .context("the fixture names its ABI")?;
        let abi_text = std::fs::read_to_string(data_dir().join(abi_file))?;
        Ok(Self {
            name,
            abi_text,
            frames,
        })
    }

    fn protocol(&self) -> anyhow::Result<Protocol> {
        Ok(check_abi(&ShipAbi::from_json_str(&self.abi_text)?)?)
    }

    fn hex(value: &Value) -> anyhow::Result<Vec<u8>> {
        Ok(hex::decode(value.as_str().context("a hex string")?)?)
    }

    fn status(&self) -> anyhow::Result<Vec<u8>> {
        Self::hex(&self.frames["status"])
    }

    fn blocks(&self) -> anyhow::Result<Vec<Vec<u8>>> {
        self.frames["blocks"]
            .as_array()
            .context("blocks")?
            .iter()
            .map(Self::hex)
            .collect()
    }

    fn expected(&self, list: &str) -> Vec<Value> {
        self.frames["expect"][list]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The decoded block results, in order.
    fn results(&self) -> anyhow::Result<Vec<GetBlocksResult>> {
        let protocol = self.protocol()?;
        self.blocks()?
            .iter()
            .map(|bytes| match protocol.decode_result(bytes)? {
                ShipResult::Blocks(result) => Ok(result),
                ShipResult::Status(_) => anyhow::bail!("a status where blocks were expected"),
            })
            .collect()
    }
}

fn filter(fixture: &Fixture) -> anyhow::Result<Filter> {
    let coopname = fixture.frames["coopname"]
        .as_str()
        .context("coopname")?
        .parse()?;
    Ok(Filter::new(&DEFAULT_CONTRACTS, coopname))
}

/// JSON equality across the two libraries' printing conventions, which denote the same value:
/// wharfkit prints 64-bit integers that fit in 32 bits as numbers and larger ones as strings,
/// where nodeos' form is chosen by type; it prints K1 public keys as `PUB_K1_…` where nodeos
/// prints the legacy `EOS…`; and it prints an absent binary extension (`type$`) as `null`,
/// where nodeos leaves the field out.
fn same_json(ours: &Value, theirs: &Value) -> bool {
    match (ours, theirs) {
        (Value::Number(a), Value::String(b)) | (Value::String(b), Value::Number(a)) => {
            a.to_string() == *b
        }
        (Value::String(a), Value::String(b)) if a != b => {
            match (a.parse::<PublicKey>(), b.parse::<PublicKey>()) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.iter()
                .all(|(key, value)| b.get(key).is_some_and(|other| same_json(value, other)))
                && b.iter()
                    .all(|(key, value)| a.contains_key(key) || value.is_null())
        }
        _ => ours == theirs,
    }
}

/// A value's JSON, cut for an error message.
fn shortened(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(400) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// The script that wrote the fixtures writes the same files today: they are what the
/// independent encoder produces, not something edited by hand.
#[test]
fn ship_fixtures_are_current() -> anyhow::Result<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/ship_fixtures.mjs");
    let output = Command::new("node")
        .arg(&script)
        .arg("--check")
        .output()
        .context("running node (scripts/install-test-deps.sh installs it)")?;
    ensure!(
        output.status.success(),
        "{} --check: {}{}",
        script.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

#[test]
fn every_frame_decodes_as_the_independent_encoder_wrote_it() -> anyhow::Result<()> {
    for name in FIXTURES {
        let fixture = Fixture::load(name)?;
        let protocol = fixture.protocol()?;
        ensure!(
            protocol.requests_v1_blocks() == (name == "spring1"),
            "{name}"
        );
        let numbering = if name == "spring1" {
            Protocol::spring1()
        } else {
            Protocol::leap5()
        };
        ensure!(
            protocol == numbering,
            "{name}: the published ABI numbers messages so"
        );
        let ShipResult::Status(status) = protocol.decode_result(&fixture.status()?)? else {
            anyhow::bail!("{name}: the status frame is a status");
        };
        ensure!(
            status.chain_id.map(|id| id.to_string())
                == fixture.frames["chain_id"].as_str().map(str::to_owned),
            "{name}: chain id"
        );
        ensure!(
            status.finality_data_blocks.is_some() == (name == "spring1"),
            "{name}: finality data blocks"
        );
        let expected_blocks = fixture.expected("blocks");
        let results = fixture.results()?;
        ensure!(
            results.len() == expected_blocks.len(),
            "{name}: block count"
        );
        for (result, expected) in results.iter().zip(&expected_blocks) {
            let this_block = result.this_block.context("this_block")?;
            ensure!(Value::from(this_block.block_num) == expected["block_num"]);
            ensure!(Value::from(this_block.block_id.to_string()) == expected["block_id"]);
            ensure!(result.finality_data.is_some() == (name == "spring1"));
            let traces: Vec<TransactionTrace> =
                binary::from_bytes(result.traces.as_deref().context("traces")?)?;
            let shape: Vec<Value> = traces
                .iter()
                .map(|trace| {
                    serde_json::json!({
                        "id": trace.id.to_string(),
                        "status": trace.status,
                        "partial_signatures": trace.partial.as_ref().map(|partial| {
                            partial
                                .signatures
                                .iter()
                                .map(|signature| signature.to_k1().map(|k1| k1.to_string()))
                                .collect::<Vec<_>>()
                        }),
                        "account_ram_delta": trace.account_ram_delta.map(|delta| {
                            serde_json::json!({
                                "account": delta.account.to_string(),
                                "delta": delta.delta,
                            })
                        }),
                        "failed_dtrx_trace_id": trace
                            .failed_dtrx_trace
                            .as_ref()
                            .map(|failed| failed.id.to_string()),
                        "actions": trace.action_traces.len(),
                    })
                })
                .collect();
            ensure!(
                Value::from(shape.clone()) == expected["traces"],
                "{name} block {}: traces {shape:?} != {}",
                this_block.block_num,
                expected["traces"]
            );
            let deltas_bytes = result.deltas.as_deref().context("deltas")?;
            let deltas: Vec<TableDelta> = binary::from_bytes(deltas_bytes)?;
            let shape: Vec<Value> = deltas
                .iter()
                .map(|delta| serde_json::json!({"name": delta.name, "rows": delta.rows.len()}))
                .collect();
            ensure!(
                Value::from(shape.clone()) == expected["deltas"],
                "{name} block {}: deltas {shape:?}",
                this_block.block_num
            );
            ensure!(decode_tables(deltas_bytes, &[])?.is_empty());
        }
    }
    Ok(())
}

/// The parser's batches for a fixture's blocks, each block in turn as the follower decodes it.
fn parse(fixture: &Fixture) -> anyhow::Result<Vec<BlockBatch>> {
    let filter = filter(fixture)?;
    let mut abis = AbiSet::default();
    fixture
        .results()?
        .iter()
        .map(|result| {
            Ok(decode_block(
                result,
                result.last_irreversible.block_num,
                &filter,
                &mut abis,
            )?)
        })
        .collect()
}

/// Checks batches against what wharfkit decoded: nothing undecodable, exactly the kept actions
/// and rows, with the same data.
fn check_batches(fixture: &Fixture, batches: &[BlockBatch]) -> anyhow::Result<()> {
    let name = fixture.name;
    for batch in batches {
        ensure!(
            batch.undecodable.is_empty(),
            "{name} block {}: undecodable {:?}",
            batch.block.block_num,
            batch.undecodable
        );
    }
    let kept = |list: &str| -> Vec<Value> {
        fixture
            .expected(list)
            .into_iter()
            .filter(|item| item["kept"] == true)
            .collect()
    };
    let actions: Vec<_> = batches
        .iter()
        .flat_map(|batch| batch.actions.iter().map(move |action| (batch, action)))
        .collect();
    let expected_actions = kept("actions");
    ensure!(
        actions.len() == expected_actions.len(),
        "{name}: {} actions kept, wharfkit's filter keeps {}",
        actions.len(),
        expected_actions.len()
    );
    for ((batch, action), expected) in actions.iter().zip(&expected_actions) {
        let ours = serde_json::json!({
            "block_num": batch.block.block_num,
            "global_sequence": action.global_sequence,
            "trx_id": hex::encode(action.trx_id),
            "action_ordinal": action.action_ordinal,
            "creator_action_ordinal": action.creator_action_ordinal,
            "receiver": action.receiver,
            "account": action.account,
            "name": action.name,
            "data_hex": hex::encode(&action.raw),
        });
        for (key, value) in ours.as_object().context("an object")? {
            ensure!(
                &expected[key] == value,
                "{name} action {}: {key} is {value}, wharfkit says {}",
                action.global_sequence,
                expected[key]
            );
        }
        let authorization: Value = serde_json::from_str(action.authorization.as_str())?;
        ensure!(authorization == expected["authorization"]);
        let data = action
            .data
            .as_ref()
            .context("kept actions decode")?
            .to_value()?;
        ensure!(
            expected["data"].is_null() || same_json(&data, &expected["data"]),
            "{name} action {}: data {} != wharfkit's {}",
            action.global_sequence,
            shortened(&data),
            shortened(&expected["data"])
        );
    }

    // Rows are compared in key order: a block's row order is not part of what the store keeps.
    let mut rows: Vec<_> = batches
        .iter()
        .flat_map(|batch| batch.deltas.iter().map(move |row| (batch, row)))
        .collect();
    rows.sort_by_key(|(batch, row)| {
        (
            u64::from(batch.block.block_num),
            Some(row.code.clone()),
            Some(row.scope.clone()),
            Some(row.table_name.clone()),
            Some(row.primary_key),
        )
    });
    let mut expected_rows = kept("rows");
    expected_rows.sort_by_key(|row| {
        (
            row["block_num"].as_u64().unwrap_or_default(),
            row["code"].as_str().map(str::to_owned),
            row["scope"].as_str().map(str::to_owned),
            row["table"].as_str().map(str::to_owned),
            row["primary_key"]
                .as_str()
                .and_then(|key| key.parse::<u64>().ok()),
        )
    });
    ensure!(
        rows.len() == expected_rows.len(),
        "{name}: {} rows kept, wharfkit's filter keeps {}",
        rows.len(),
        expected_rows.len()
    );
    for ((batch, row), expected) in rows.iter().zip(&expected_rows) {
        let ours = serde_json::json!({
            "block_num": batch.block.block_num,
            "code": row.code,
            "scope": row.scope,
            "table": row.table_name,
            "primary_key": row.primary_key.to_string(),
            "present": row.present,
            "payer": row.payer,
            "value_hex": hex::encode(&row.raw),
        });
        for (key, value) in ours.as_object().context("an object")? {
            ensure!(
                &expected[key] == value,
                "{name} row: {key} {value} != {}",
                expected[key]
            );
        }
        let value = row.value.as_ref().context("kept rows decode")?.to_value()?;
        ensure!(
            same_json(&value, &expected["value"]),
            "{name} row {}/{}: {} != wharfkit's {}",
            row.table_name,
            row.primary_key,
            shortened(&value),
            shortened(&expected["value"])
        );
    }

    let abis: Vec<Value> = batches
        .iter()
        .flat_map(|batch| {
            batch.abis.iter().map(move |abi| {
                serde_json::json!({"block_num": batch.block.block_num, "account": abi.account})
            })
        })
        .collect();
    ensure!(abis == fixture.expected("abis"), "{name}: ABIs {abis:?}");
    Ok(())
}

#[test]
fn the_parser_keeps_what_the_cooperative_owns() -> anyhow::Result<()> {
    for name in FIXTURES {
        let fixture = Fixture::load(name)?;
        check_batches(&fixture, &parse(&fixture)?)?;
    }
    Ok(())
}

/// Serves one fixture as a node would: the ABI frame, the status, then the blocks from the
/// requested start. Answers one connection; returns the request variant indices it received.
async fn scripted_ship(listener: TcpListener, fixture: &Fixture) -> anyhow::Result<Vec<u8>> {
    let (stream, _) = listener.accept().await?;
    let mut socket = tokio_tungstenite::accept_async(stream).await?;
    socket
        .send(Message::Text(fixture.abi_text.clone().into()))
        .await?;
    let blocks = fixture.blocks()?;
    let mut received = Vec::new();
    while let Some(message) = socket.next().await {
        let Message::Binary(request) = message? else {
            continue;
        };
        let index = *request.first().context("a request")?;
        received.push(index);
        match index {
            // get_status_request_v0
            0 => socket.send(Message::binary(fixture.status()?)).await?,
            // get_blocks_request_v0 (Leap 5) or _v1 (Spring): start_block_num follows the index.
            1 | 3 => {
                let start = u32::from_le_bytes(request.get(1..5).context("start")?.try_into()?);
                for frame in blocks
                    .iter()
                    .skip(usize::try_from(start.saturating_sub(1))?)
                {
                    socket.send(Message::binary(frame.clone())).await?;
                }
            }
            // get_blocks_ack_request_v0
            _ => {}
        }
    }
    Ok(received)
}

two_database_test!(
    the_follower_stores_frames_of_real_nodes,
    |urls: [String; 2]| async move {
        for (name, url) in FIXTURES.into_iter().zip(&urls) {
            let fixture = Fixture::load(name)?;
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let ship_url = format!("ws://{}", listener.local_addr()?);
            let (_stop, shutdown) = watch::channel(false);
            let store = Store::open(url).await?;
            let metrics = Metrics::default();
            // Nothing here needs the Chain API: the history starts at block 1 without forks.
            let mut config = ParserConfig::new(&ship_url, "http://127.0.0.1:9", filter(&fixture)?);
            config.mode = Mode::Irreversible;
            config.stop_after = Some(6);
            config.batch_blocks = 4;
            let (served, followed) = tokio::time::timeout(
                DEADLINE,
                futures::future::join(
                    scripted_ship(listener, &fixture),
                    follow(&store, &config, &metrics, shutdown),
                ),
            )
            .await
            .context("the follower finished in time")?;
            ensure!(followed? == Stopped::Reached(6), "{name}");
            let requests = served?;
            let blocks_request = if name == "spring1" { 3 } else { 1 };
            ensure!(
                requests.first() == Some(&0) && requests.get(1) == Some(&blocks_request),
                "{name}: requests {requests:?}"
            );
            let stored = store.batches(1, 6).await?;
            ensure!(stored.len() == 6, "{name}: {} blocks stored", stored.len());
            check_batches(&fixture, &stored)?;
            ensure!(store.counts(None).await?.undecodable == 0, "{name}");
            store.close().await;
        }
        Ok(())
    }
);
