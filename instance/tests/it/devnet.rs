//! The devnet driven only through its Chain API and SHiP websocket, as a nodeos client would.

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use mono_instance::antelope::abi::Abi;
use mono_instance::antelope::binary::{self, Encode, Writer};
use mono_instance::antelope::keys::PrivateKey;
use mono_instance::antelope::name::Name;
use mono_instance::antelope::ship::{BlockPosition, GetBlocksRequestV0, Request};
use mono_instance::antelope::signature::Signature;
use mono_instance::antelope::time::{TimePoint, TimePointSec};
use mono_instance::antelope::transaction::{Action, PermissionLevel, Tapos, Transaction};
use mono_instance::devnet::state::Authority;
use mono_instance::devnet::{DevnetConfig, ProductionMode, RunningDevnet, Storage, start};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const TIMEOUT: Duration = Duration::from_secs(20);

struct Devnet {
    running: RunningDevnet,
    client: reqwest::Client,
}

/// A plain-HTTP client; the workspace builds rustls without a default crypto provider.
fn http_client() -> reqwest::Client {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn config(storage: Storage, lib_lag: u32) -> DevnetConfig {
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("address");
    DevnetConfig {
        http: loopback,
        ship: loopback,
        storage,
        production: ProductionMode::Manual,
        block_interval: Duration::from_millis(500),
        lib_lag,
        bootstrap: None,
    }
}

impl Devnet {
    async fn start(storage: Storage, lib_lag: u32) -> Self {
        let running = start(config(storage, lib_lag))
            .await
            .expect("devnet starts");
        Self {
            running,
            client: http_client(),
        }
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let url = format!("{}{path}", self.running.ready().http);
        let response = self
            .client
            .post(url)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }

    async fn produce(&self, count: u32) -> u32 {
        let (status, body) = self
            .post("/v1/devnet/produce_block", json!({"count": count}))
            .await;
        assert_eq!(status, 200, "{body}");
        u32::try_from(body["block_num"].as_u64().expect("block_num")).expect("u32")
    }

    fn key(&self, account: &str) -> PrivateKey {
        self.running
            .ready()
            .accounts
            .iter()
            .find(|candidate| candidate.name.to_string() == account)
            .and_then(|candidate| candidate.private_key.as_deref())
            .expect("bootstrap account with key")
            .parse()
            .expect("private key")
    }

    /// A transaction with wharfkit's header: TaPoS on LIB, expiration head time + 120 s.
    async fn transaction(&self, actions: Vec<Action>) -> Transaction {
        let (_, info) = self.post("/v1/chain/get_info", json!({})).await;
        let lib_id = info["last_irreversible_block_id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("checksum");
        let head_time: TimePoint = info["head_block_time"]
            .as_str()
            .expect("time")
            .parse()
            .expect("time point");
        let expiration =
            u32::try_from(head_time.as_micros() / 1_000_000 + 120).expect("u32 seconds");
        Transaction::new(
            TimePointSec::from_secs(expiration),
            Tapos::from_block_id(&lib_id),
            actions,
        )
    }

    async fn chain_id(&self) -> mono_instance::antelope::checksum::Checksum256 {
        self.running.ready().chain_id
    }

    async fn push(&self, trx: Transaction, keys: &[&PrivateKey]) -> (u16, Value) {
        let signed = trx
            .sign(&self.chain_id().await, keys.iter().copied())
            .expect("signs");
        let packed = serde_json::to_value(signed.to_packed()).expect("packed json");
        self.post("/v1/chain/push_transaction", packed).await
    }
}

fn level(actor: &str) -> PermissionLevel {
    PermissionLevel {
        actor: actor.parse().expect("name"),
        permission: Name::from_str_const("active"),
    }
}

fn newaccount(creator: &str, name: &str, key: &PrivateKey) -> Action {
    let mut data = Writer::new();
    creator.parse::<Name>().expect("name").encode(&mut data);
    name.parse::<Name>().expect("name").encode(&mut data);
    Authority::single_key(key.public_key()).encode(&mut data);
    Authority::single_key(key.public_key()).encode(&mut data);
    Action {
        account: Name::from_str_const("eosio"),
        name: Name::from_str_const("newaccount"),
        authorization: vec![level(creator)],
        data: data.into_bytes(),
    }
}

fn new_key(byte: u8) -> PrivateKey {
    PrivateKey::from_bytes(&[byte; 32]).expect("valid scalar")
}

fn error_name(body: &Value) -> &str {
    body["error"]["name"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn get_info_reports_the_bootstrapped_chain() {
    let devnet = Devnet::start(Storage::Ephemeral, 1).await;
    let (_, before) = devnet.post("/v1/chain/get_info", json!({})).await;
    let head = devnet.produce(3).await;
    assert_eq!(
        u64::from(head),
        before["head_block_num"].as_u64().expect("head") + 3
    );
    let (status, info) = devnet.post("/v1/chain/get_info", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(info["chain_id"], json!(devnet.running.ready().chain_id));
    assert_eq!(info["head_block_num"], head);
    assert_eq!(info["last_irreversible_block_num"], head - 1);
    assert_eq!(info["head_block_producer"], "eosio");
    let head_id = info["head_block_id"].as_str().expect("id");
    assert!(
        head_id.starts_with(&format!("{head:08x}")),
        "block number in the id: {head_id}"
    );
    let (status, account) = devnet
        .post("/v1/chain/get_account", json!({"account_name": "voskhod"}))
        .await;
    assert_eq!(status, 200);
    let key = account["permissions"][1]["required_auth"]["keys"][0]["key"]
        .as_str()
        .expect("key");
    assert!(key.starts_with("EOS"), "legacy key form: {key}");
    assert_eq!(account["permissions"][1]["parent"], "owner");
    devnet.running.stop().await.expect("stops");
}

#[tokio::test]
async fn bootstrap_sets_up_the_demo_cooperative_and_its_council() {
    let devnet = Devnet::start(Storage::Ephemeral, 1).await;
    let ready = devnet.running.ready();
    assert_eq!(ready.coopname.to_string(), "voskhod");
    let chairman = ready
        .accounts
        .iter()
        .find(|account| serde_json::to_value(account.role).expect("role") == "chairman")
        .expect("a chairman");
    let (status, account) = devnet
        .post(
            "/v1/chain/get_account",
            json!({"account_name": chairman.name}),
        )
        .await;
    assert_eq!(status, 200, "{account}");
    let active = account["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .find(|perm| perm["perm_name"] == "active")
        .expect("active");
    assert_eq!(
        active["required_auth"]["keys"][0]["key"],
        chairman.public_key.to_legacy_string()
    );
    let (status, boards) = devnet
        .post(
            "/v1/chain/get_table_rows",
            json!({"code": "soviet", "scope": "voskhod", "table": "boards", "json": true}),
        )
        .await;
    assert_eq!(status, 200, "{boards}");
    let members = boards["rows"][0]["members"]
        .as_array()
        .expect("board members");
    assert_eq!(members.len(), 3);
    assert_eq!(members[0]["username"], json!(chairman.name));
    let (status, abi) = devnet
        .post("/v1/chain/get_raw_abi", json!({"account_name": "soviet"}))
        .await;
    assert_eq!(status, 200);
    let (_, unchanged) = devnet
        .post(
            "/v1/chain/get_raw_abi",
            json!({"account_name": "soviet", "abi_hash": abi["abi_hash"]}),
        )
        .await;
    assert!(abi["abi"].is_string());
    assert!(unchanged.get("abi").is_none(), "{unchanged}");
    devnet.running.stop().await.expect("stops");
}

#[tokio::test]
async fn pushed_transaction_lands_in_a_block_and_is_rejected_twice() {
    let devnet = Devnet::start(Storage::Ephemeral, 1).await;
    let dave = new_key(5);
    let trx = devnet
        .transaction(vec![newaccount("eosio", "dave", &dave)])
        .await;
    let (status, pushed) = devnet.push(trx.clone(), &[&devnet.key("eosio")]).await;
    assert_eq!(status, 202, "{pushed}");
    let trx_id = pushed["transaction_id"].as_str().expect("id").to_owned();
    assert_eq!(trx_id, trx.id().to_string());
    let trace = &pushed["processed"]["action_traces"][0];
    assert_eq!(trace["receiver"], "eosio");
    assert_eq!(trace["act"]["data"]["name"], "dave");
    assert_eq!(trace["receipt"]["receiver"], "eosio");
    assert_eq!(trace["receipt"]["auth_sequence"][0][0], "eosio");

    let block_num = devnet.produce(1).await;
    let (status, block) = devnet
        .post(
            "/v1/chain/get_block",
            json!({"block_num_or_id": block_num.to_string()}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(block["block_num"], block_num);
    let receipt = &block["transactions"][0];
    assert_eq!(receipt["status"], "executed");
    assert_eq!(receipt["trx"]["id"], trx_id);
    assert_eq!(receipt["trx"]["packed_trx"], hex::encode(trx.pack()));
    let action = &receipt["trx"]["transaction"]["actions"][0];
    assert_eq!(action["data"]["creator"], "eosio");
    assert!(
        action["hex_data"]
            .as_str()
            .is_some_and(|hex| !hex.is_empty())
    );
    let (_, by_id) = devnet
        .post(
            "/v1/chain/get_block",
            json!({"block_num_or_id": block["id"]}),
        )
        .await;
    assert_eq!(by_id["block_num"], block_num);
    let (status, info) = devnet
        .post("/v1/chain/get_block_info", json!({"block_num": block_num}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(info["ref_block_prefix"], block["ref_block_prefix"]);

    let (status, duplicate) = devnet.push(trx, &[&devnet.key("eosio")]).await;
    assert_eq!(status, 409);
    assert_eq!(duplicate["message"], "Conflict");
    assert_eq!(error_name(&duplicate), "tx_duplicate");
    assert_eq!(duplicate["error"]["code"], 3_040_008);
    let (status, account) = devnet
        .post("/v1/chain/get_account", json!({"account_name": "dave"}))
        .await;
    assert_eq!(status, 200, "{account}");
    devnet.running.stop().await.expect("stops");
}

#[tokio::test]
async fn invalid_transactions_get_nodeos_errors() {
    let devnet = Devnet::start(Storage::Ephemeral, 1).await;
    devnet.produce(2).await;
    let eosio = devnet.key("eosio");

    let mut expired = devnet
        .transaction(vec![newaccount("eosio", "erin", &new_key(6))])
        .await;
    expired.expiration = TimePointSec::from_secs(expired.expiration.as_secs() - 3600);
    let (status, body) = devnet.push(expired, &[&eosio]).await;
    assert_eq!(
        (status, error_name(&body)),
        (500, "expired_tx_exception"),
        "{body}"
    );
    assert_eq!(body["error"]["code"], 3_040_005);

    let mut bad_tapos = devnet
        .transaction(vec![newaccount("eosio", "erin", &new_key(6))])
        .await;
    bad_tapos.ref_block_prefix ^= 1;
    let (status, body) = devnet.push(bad_tapos, &[&eosio]).await;
    assert_eq!(
        (status, error_name(&body)),
        (500, "invalid_ref_block_exception"),
        "{body}"
    );
    assert_eq!(body["error"]["code"], 3_040_007);

    let wrong_key = devnet
        .transaction(vec![newaccount("eosio", "erin", &new_key(6))])
        .await;
    let (status, body) = devnet.push(wrong_key, &[&devnet.key("voskhod")]).await;
    assert_eq!(
        (status, error_name(&body)),
        (401, "unsatisfied_authorization"),
        "{body}"
    );
    assert_eq!(body["error"]["code"], 3_090_003);

    let trx = devnet
        .transaction(vec![newaccount("eosio", "erin", &new_key(6))])
        .await;
    let signed = trx.sign(&devnet.chain_id().await, [&eosio]).expect("signs");
    let mut compact = *signed.signatures[0].compact();
    compact[1] |= 0x80;
    let mut packed = serde_json::to_value(signed.to_packed()).expect("json");
    packed["signatures"] = json!([Signature::from_compact(compact)]);
    let (status, body) = devnet.post("/v1/chain/push_transaction", packed).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(
        body["error"]["details"][0]["message"],
        "signature is not canonical"
    );
    devnet.running.stop().await.expect("stops");
}

struct ShipClient {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    abi: Abi,
}

impl ShipClient {
    async fn connect(devnet: &Devnet) -> Self {
        let (mut socket, _) =
            tokio_tungstenite::connect_async(devnet.running.ready().ship.as_str())
                .await
                .expect("connects");
        let first = tokio::time::timeout(TIMEOUT, socket.next())
            .await
            .expect("abi in time")
            .expect("frame")
            .expect("ok");
        let Message::Text(text) = first else {
            panic!("first frame must be text, got {first:?}")
        };
        // The `tables` list names state tables longer than an Antelope `name`, as nodeos'
        // does; decoding needs only the structs and variants.
        let mut json: Value = serde_json::from_str(text.as_str()).expect("the SHiP ABI is JSON");
        json["tables"] = json!([]);
        let abi = Abi::from_json_str(&json.to_string()).expect("the SHiP ABI loads");
        Self { socket, abi }
    }

    async fn send(&mut self, request: &Request) {
        self.socket
            .send(Message::Binary(binary::to_bytes(request).into()))
            .await
            .expect("sent");
    }

    /// The next `result`, decoded with the ABI the server sent: `[variant, value]`.
    async fn result(&mut self) -> Value {
        let frame = tokio::time::timeout(TIMEOUT, self.socket.next())
            .await
            .expect("result in time")
            .expect("frame")
            .expect("ok");
        let Message::Binary(bytes) = frame else {
            panic!("results are binary, got {frame:?}")
        };
        self.abi
            .decode("result", &bytes)
            .expect("decodes with the sent ABI")
    }

    fn decode_field(&self, result: &Value, field: &str, type_name: &str) -> Value {
        let hex_bytes = result[1][field].as_str().expect("bytes present");
        self.abi
            .decode(type_name, &hex::decode(hex_bytes).expect("hex"))
            .expect("decodes")
    }
}

fn blocks_request(start_block_num: u32, max_messages_in_flight: u32) -> Request {
    Request::GetBlocks(GetBlocksRequestV0 {
        start_block_num,
        end_block_num: u32::MAX,
        max_messages_in_flight,
        have_positions: Vec::<BlockPosition>::new(),
        irreversible_only: false,
        fetch_block: true,
        fetch_traces: true,
        fetch_deltas: true,
    })
}

fn this_block_num(result: &Value) -> u64 {
    result[1]["this_block"]["block_num"]
        .as_u64()
        .expect("this_block")
}

#[tokio::test]
async fn ship_streams_blocks_with_traces_and_deltas_under_acks() {
    let devnet = Devnet::start(Storage::Ephemeral, 1).await;
    let trx = devnet
        .transaction(vec![newaccount("eosio", "dave", &new_key(5))])
        .await;
    let (status, _) = devnet.push(trx, &[&devnet.key("eosio")]).await;
    assert_eq!(status, 202);
    let with_trx = devnet.produce(1).await;
    devnet.produce(2).await;

    let mut ship = ShipClient::connect(&devnet).await;
    ship.send(&Request::GetStatus).await;
    let status = ship.result().await;
    assert_eq!(status[0], "get_status_result_v0");
    assert_eq!(status[1]["head"]["block_num"], with_trx + 2);
    assert_eq!(
        status[1]["chain_id"],
        json!(devnet.running.ready().chain_id)
    );

    ship.send(&blocks_request(with_trx, 2)).await;
    let first = ship.result().await;
    assert_eq!(first[0], "get_blocks_result_v0");
    assert_eq!(this_block_num(&first), u64::from(with_trx));
    let traces = ship.decode_field(&first, "traces", "transaction_trace[]");
    // As on Leap: the implicit onblock first, its partial unsigned; then the input transaction.
    let onblock = &traces[0][1];
    assert_eq!(onblock["action_traces"][0][1]["act"]["name"], "onblock");
    assert_eq!(onblock["partial"][1]["signatures"], json!([]));
    let action = &traces[1][1]["action_traces"][0][1];
    assert_eq!(action["receiver"], "eosio");
    assert_eq!(action["act"]["name"], "newaccount");
    let partial = &traces[1][1]["partial"][1];
    assert_eq!(partial["signatures"].as_array().map(Vec::len), Some(1));
    let deltas = ship.decode_field(&first, "deltas", "table_delta[]");
    let names: Vec<&str> = deltas
        .as_array()
        .expect("deltas")
        .iter()
        .filter_map(|delta| delta[1]["name"].as_str())
        .collect();
    assert!(names.contains(&"account"), "{names:?}");
    let block = ship.decode_field(&first, "block", "signed_block");
    assert_eq!(block["producer"], "eosio");
    assert_eq!(
        this_block_num(&ship.result().await),
        u64::from(with_trx + 1)
    );

    // Two results are in flight; the third waits for an acknowledgement.
    ship.send(&Request::GetBlocksAck(1)).await;
    assert_eq!(
        this_block_num(&ship.result().await),
        u64::from(with_trx + 2)
    );
    // Live streaming: with a credit back, a new block is sent once it is produced.
    ship.send(&Request::GetBlocksAck(1)).await;
    let live = devnet.produce(1).await;
    assert_eq!(this_block_num(&ship.result().await), u64::from(live));
    devnet.running.stop().await.expect("stops");
}

#[tokio::test]
async fn ship_resends_from_the_fork_point() {
    let devnet = Devnet::start(Storage::Ephemeral, 5).await;
    let head = devnet.produce(8).await;
    let mut ship = ShipClient::connect(&devnet).await;
    ship.send(&blocks_request(1, 1000)).await;
    let mut old_ids = Vec::new();
    for expected in 1..=head {
        let result = ship.result().await;
        assert_eq!(this_block_num(&result), u64::from(expected));
        old_ids.push(result[1]["this_block"]["block_id"].clone());
    }
    let (status, forked) = devnet.post("/v1/devnet/fork", json!({"depth": 2})).await;
    assert_eq!(status, 200, "{forked}");
    assert_eq!(forked["fork_point"], head - 2);
    let resent = ship.result().await;
    assert_eq!(this_block_num(&resent), u64::from(head - 1));
    assert_ne!(
        resent[1]["this_block"]["block_id"],
        old_ids[usize::try_from(head - 2).expect("index")]
    );
    assert_eq!(
        resent[1]["prev_block"]["block_id"],
        old_ids[usize::try_from(head - 3).expect("index")]
    );
    devnet.running.stop().await.expect("stops");
}

#[tokio::test]
async fn restart_from_the_data_directory_resumes_the_chain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = Storage::Directory(dir.path().to_owned());
    let devnet = Devnet::start(storage.clone(), 1).await;
    let trx = devnet
        .transaction(vec![newaccount("eosio", "dave", &new_key(5))])
        .await;
    let (status, _) = devnet.push(trx, &[&devnet.key("eosio")]).await;
    assert_eq!(status, 202);
    devnet.produce(3).await;
    let (_, before) = devnet.post("/v1/chain/get_info", json!({})).await;
    let eosio_key = devnet.key("eosio").to_string();
    devnet.running.stop().await.expect("stops");

    let again = Devnet::start(storage, 1).await;
    let (_, after) = again.post("/v1/chain/get_info", json!({})).await;
    assert_eq!(after["chain_id"], before["chain_id"]);
    assert_eq!(after["head_block_num"], before["head_block_num"]);
    assert_eq!(after["head_block_id"], before["head_block_id"]);
    assert_eq!(again.key("eosio").to_string(), eosio_key);
    let (status, _) = again
        .post("/v1/chain/get_account", json!({"account_name": "dave"}))
        .await;
    assert_eq!(status, 200);
    let next = again.produce(1).await;
    assert_eq!(
        u64::from(next),
        before["head_block_num"].as_u64().expect("num") + 1
    );
    again.running.stop().await.expect("stops");
}

#[tokio::test]
async fn fast_mode_builds_history_with_cooperative_traffic() {
    let mut fast = config(Storage::Ephemeral, 1);
    fast.production = ProductionMode::Fast;
    let running = start(fast).await.expect("devnet starts");
    let devnet = Devnet {
        running,
        client: http_client(),
    };
    let mut head = 0;
    for _ in 0..2000 {
        let (_, info) = devnet.post("/v1/chain/get_info", json!({})).await;
        head = info["head_block_num"].as_u64().expect("head");
        if head >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(head >= 20, "fast mode reached block {head}");
    let (status, block) = devnet
        .post("/v1/chain/get_block", json!({"block_num_or_id": 10}))
        .await;
    assert_eq!(status, 200);
    let transactions = block["transactions"].as_array().expect("transactions");
    assert!(!transactions.is_empty(), "synthetic traffic in block 10");
    assert_eq!(
        transactions[0]["trx"]["transaction"]["actions"][0]["name"],
        "adduser"
    );
    devnet.running.stop().await.expect("stops");
}
