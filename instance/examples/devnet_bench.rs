//! Devnet throughput: sustained pushed transactions per second over the Chain API, and blocks
//! streamed per second over SHiP.
//!
//! Run: `cargo run --release -p mono-instance --example devnet_bench -- [TRANSACTIONS] [PER_BLOCK]`
//! (defaults 2000 and 10). It starts an in-memory devnet in manual mode on loopback, signs
//! `TRANSACTIONS` cooperative transactions (`registrator::adduser`, each with its inline
//! actions and rows) up front, pushes them from 8 concurrent clients with a block produced
//! after every `PER_BLOCK`, then streams the whole chain over SHiP with blocks, traces and
//! deltas, acknowledging every result. Prints one JSON line with the rates.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::{SinkExt, StreamExt};
use mono_instance::antelope::abi::Abi;
use mono_instance::antelope::abi::def::AbiDef;
use mono_instance::antelope::binary;
use mono_instance::antelope::keys::PrivateKey;
use mono_instance::antelope::ship::{GetBlocksRequestV0, Request, ShipResult};
use mono_instance::antelope::time::{TimePoint, TimePointSec};
use mono_instance::antelope::transaction::{Action, PermissionLevel, Tapos, Transaction};
use mono_instance::devnet::{DevnetConfig, ProductionMode, Storage, start};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const CLIENTS: usize = 8;

async fn post(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: &Value,
) -> Result<(u16, Value)> {
    let response = client
        .post(format!("{base}{path}"))
        .json(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let n_transactions: usize = args
        .next()
        .map(|arg| arg.parse())
        .transpose()?
        .unwrap_or(2000);
    let per_block: usize = args
        .next()
        .map(|arg| arg.parse())
        .transpose()?
        .unwrap_or(10)
        .max(1);
    let _already_installed = rustls::crypto::ring::default_provider().install_default();

    let loopback: SocketAddr = "127.0.0.1:0".parse()?;
    let running = start(DevnetConfig {
        http: loopback,
        ship: loopback,
        storage: Storage::Ephemeral,
        production: ProductionMode::Manual,
        block_interval: Duration::from_millis(500),
        lib_lag: 1,
        bootstrap: None,
    })
    .await?;
    let ready = running.ready().clone();
    let base = ready.http.clone();
    let client = reqwest::Client::new();
    let coop = ready.coopname;
    let coop_key: PrivateKey = ready
        .accounts
        .iter()
        .find(|account| account.name == coop)
        .and_then(|account| account.private_key.clone())
        .context("cooperative key")?
        .parse()?;

    let (_, raw_abi) = post(
        &client,
        &base,
        "/v1/chain/get_raw_abi",
        &json!({"account_name": "registrator"}),
    )
    .await?;
    let abi = Abi::from_def(AbiDef::from_base64(
        raw_abi["abi"].as_str().context("abi")?,
    )?)?;
    let adduser_type = abi
        .action_type("adduser".parse()?)
        .context("adduser")?
        .to_owned();
    let (_, info) = post(&client, &base, "/v1/chain/get_info", &json!({})).await?;
    let lib_id = info["last_irreversible_block_id"]
        .as_str()
        .context("lib id")?
        .parse()?;
    let head_time: TimePoint = info["head_block_time"]
        .as_str()
        .context("head time")?
        .parse()?;
    let head_secs = u32::try_from(head_time.as_micros() / 1_000_000)?;
    let expiration = TimePointSec::from_secs(head_secs + 3000);
    let created_at = TimePointSec::from_secs(head_secs);

    let mut signed = Vec::with_capacity(n_transactions);
    for idx in 0..n_transactions {
        // Numbered far from the numbers fast mode gives its members.
        let setup = running
            .node()
            .bootstrap()
            .synthetic_member(u64::MAX / 2 + idx as u64, created_at);
        let action = Action {
            account: setup.contract,
            name: setup.action,
            authorization: vec![PermissionLevel {
                actor: setup.actor,
                permission: "active".parse()?,
            }],
            data: abi.encode(&adduser_type, &setup.data)?,
        };
        let trx = Transaction::new(expiration, Tapos::from_block_id(&lib_id), vec![action]);
        let packed = trx.sign(&ready.chain_id, [&coop_key])?.to_packed();
        signed.push(serde_json::to_value(packed)?);
    }

    let signed = Arc::new(signed);
    let started = Instant::now();
    for chunk_start in (0..n_transactions).step_by(per_block) {
        let chunk_end = (chunk_start + per_block).min(n_transactions);
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..CLIENTS {
            let (client, base, signed) = (client.clone(), base.clone(), Arc::clone(&signed));
            tasks.spawn(async move {
                for idx in (chunk_start + worker..chunk_end).step_by(CLIENTS) {
                    let (status, body) =
                        post(&client, &base, "/v1/chain/push_transaction", &signed[idx]).await?;
                    if status != 202 {
                        bail!("push {idx} answered {status}: {body}");
                    }
                }
                Ok(())
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined??;
        }
        post(&client, &base, "/v1/devnet/produce_block", &json!({})).await?;
    }
    let push_seconds = started.elapsed().as_secs_f64();

    let (_, info) = post(&client, &base, "/v1/chain/get_info", &json!({})).await?;
    let head = u32::try_from(info["head_block_num"].as_u64().context("head")?)?;

    let (mut socket, _) = tokio_tungstenite::connect_async(ready.ship.as_str()).await?;
    socket.next().await.context("abi frame")??;
    let started = Instant::now();
    let request = Request::GetBlocks(GetBlocksRequestV0 {
        start_block_num: 1,
        end_block_num: head + 1,
        max_messages_in_flight: 100,
        have_positions: Vec::new(),
        irreversible_only: false,
        fetch_block: true,
        fetch_traces: true,
        fetch_deltas: true,
    });
    socket
        .send(Message::Binary(binary::to_bytes(&request).into()))
        .await?;
    let mut received = 0_u32;
    let mut bytes_received = 0_usize;
    while received < head {
        let frame = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await?
            .context("closed")??;
        let Message::Binary(bytes) = frame else {
            continue;
        };
        bytes_received += bytes.len();
        if let ShipResult::Blocks(_) = binary::from_bytes::<ShipResult>(&bytes)? {
            received += 1;
            socket
                .send(Message::Binary(
                    binary::to_bytes(&Request::GetBlocksAck(1)).into(),
                ))
                .await?;
        }
    }
    let ship_seconds = started.elapsed().as_secs_f64();
    running.stop().await?;

    println!(
        "{}",
        json!({
            "transactions": n_transactions,
            "transactions_per_block": per_block,
            "push_seconds": push_seconds,
            "transactions_per_second": n_transactions as f64 / push_seconds,
            "blocks": head,
            "ship_seconds": ship_seconds,
            "ship_blocks_per_second": f64::from(head) / ship_seconds,
            "ship_megabytes": bytes_received as f64 / 1e6,
        })
    );
    Ok(())
}
