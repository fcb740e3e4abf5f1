//! The Chain API v1 of the devnet over HTTP, in nodeos' shapes: the same paths, request and
//! response fields, status codes (200, 202 for pushes) and `error_results` bodies.
//!
//! Also serves two devnet-only control calls under `/v1/devnet/` for tests and tools:
//! `produce_block` (the next block now, for the manual production mode) and `fork` (replace
//! the last blocks by another branch).
//!
//! Handlers parse the request, call the [`Node`] and render; all chain logic is elsewhere.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::{Map, Value, json};

use crate::antelope::abi::Abi;
use crate::antelope::abi::def::AbiDef;
use crate::antelope::checksum::Checksum256;
use crate::antelope::json::u64_to_json;
use crate::antelope::keys::PublicKey;
use crate::antelope::name::Name;
use crate::antelope::ship::{ActionTrace, TransactionTrace};
use crate::antelope::time::TimePointSec;
use crate::antelope::transaction::{Action, Compression, PackedTransaction, Tapos, Transaction};
use crate::devnet::block::{self, BlockHeader, TransactionReceipt};
use crate::devnet::chain::{BlockRecord, Chain, PushResult, SignedInput};
use crate::devnet::contracts::system;
use crate::devnet::error::{ChainError, ChainErrorKind};
use crate::devnet::node::Node;
use crate::devnet::state::{Account, Authority, SecondaryKey, State as ChainState};

/// `server_version_string` the devnet reports.
pub const SERVER_VERSION_STRING: &str = concat!("mono-devnet-v", env!("CARGO_PKG_VERSION"));

/// `server_version`: nodeos prints 8 hex digits of its build's commit; the devnet prints the
/// first 8 hex digits of the SHA-256 of [`SERVER_VERSION_STRING`].
fn server_version() -> String {
    block::sha256(SERVER_VERSION_STRING.as_bytes()).to_hex()[..8].to_owned()
}

/// The Chain API router over a shared node.
pub fn router(node: Arc<Node>) -> Router {
    Router::new()
        .route("/v1/chain/get_info", post(get_info).get(get_info))
        .route("/v1/chain/get_block", post(get_block).get(get_block))
        .route(
            "/v1/chain/get_block_info",
            post(get_block_info).get(get_block_info),
        )
        .route("/v1/chain/get_raw_abi", post(get_raw_abi).get(get_raw_abi))
        .route("/v1/chain/get_abi", post(get_abi).get(get_abi))
        .route("/v1/chain/get_account", post(get_account).get(get_account))
        .route(
            "/v1/chain/get_table_rows",
            post(get_table_rows).get(get_table_rows),
        )
        .route(
            "/v1/chain/get_required_keys",
            post(get_required_keys).get(get_required_keys),
        )
        .route("/v1/chain/push_transaction", post(push_transaction))
        .route("/v1/chain/send_transaction", post(push_transaction))
        .route("/v1/chain/send_transaction2", post(send_transaction2))
        .route("/v1/devnet/produce_block", post(produce_block))
        .route("/v1/devnet/fork", post(fork))
        .with_state(node)
}

/// A chain error rendered as nodeos' `error_results`.
#[derive(Debug)]
struct ApiError(ChainError);

impl From<ChainError> for ApiError {
    fn from(error: ChainError) -> Self {
        Self(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = self.0.kind();
        let (status, message) = kind.http_status();
        let body = json!({
            "code": status,
            "message": message,
            "error": {
                "code": kind.code(),
                "name": kind.name(),
                "what": kind.what(),
                "details": [{
                    "message": self.0.message(),
                    "file": "",
                    "line_number": 0,
                    "method": "",
                }],
            },
        });
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(body)).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

fn ok(body: Value) -> ApiResult {
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(ChainError::new(ChainErrorKind::Parse, message))
}

/// The request body as JSON; an empty body is `{}`.
fn body_json(body: &Bytes) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|error| {
        bad_request(format!(
            "Unable to parse valid input from POST body: {error}"
        ))
    })
}

fn field<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    body.get(name).filter(|value| !value.is_null())
}

fn name_field(body: &Value, name: &str) -> Result<Name, ApiError> {
    let text = field(body, name)
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request(format!("missing field {name}")))?;
    text.parse().map_err(|error| {
        ApiError(ChainError::new(
            ChainErrorKind::NameType,
            format!("Invalid name {text:?}: {error}"),
        ))
    })
}

fn u32_field(value: &Value) -> Option<u32> {
    match value {
        Value::Number(number) => number.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

fn bool_field(body: &Value, name: &str) -> bool {
    match field(body, name) {
        Some(Value::Bool(value)) => *value,
        Some(Value::String(text)) => text == "true" || text == "1",
        Some(Value::Number(number)) => number.as_u64() == Some(1),
        _ => false,
    }
}

fn block_time(header: &BlockHeader) -> Value {
    Value::String(header.timestamp.to_string())
}

async fn get_info(State(node): State<Arc<Node>>) -> ApiResult {
    ok(node.read(|chain| {
        let head = chain.head();
        let lib = chain.block(chain.lib_num()).unwrap_or(head);
        json!({
            "server_version": server_version(),
            "chain_id": chain.chain_id(),
            "head_block_num": head.block_num(),
            "last_irreversible_block_num": lib.block_num(),
            "last_irreversible_block_id": lib.id,
            "head_block_id": head.id,
            "head_block_time": head.block.header.timestamp.to_time_point(),
            "head_block_producer": head.block.header.producer,
            "virtual_block_cpu_limit": 200_000_000,
            "virtual_block_net_limit": 1_048_576_000,
            "block_cpu_limit": 200_000,
            "block_net_limit": 1_048_576,
            "server_version_string": SERVER_VERSION_STRING,
            "fork_db_head_block_num": head.block_num(),
            "fork_db_head_block_id": head.id,
            "server_full_version_string": SERVER_VERSION_STRING,
            "total_cpu_weight": 0,
            "total_net_weight": 0,
            "earliest_available_block_num": 1,
            "last_irreversible_block_time": lib.block.header.timestamp.to_time_point(),
        })
    }))
}

/// Finds a block by number or id, as `get_block` takes either.
fn find_block<'a>(chain: &'a Chain, value: Option<&Value>) -> Result<&'a BlockRecord, ApiError> {
    let Some(value) = value else {
        return Err(bad_request("missing field block_num_or_id"));
    };
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => return Err(bad_request("block_num_or_id must be a string or number")),
    };
    let found = if text.len() == 64 {
        text.parse::<Checksum256>()
            .ok()
            .and_then(|id| chain.block_by_id(&id))
    } else {
        text.parse::<u32>().ok().and_then(|num| chain.block(num))
    };
    found.ok_or_else(|| {
        ApiError(ChainError::new(
            ChainErrorKind::UnknownBlock,
            format!("Could not find block: {text}"),
        ))
    })
}

async fn get_block(State(node): State<Arc<Node>>, body: Bytes) -> ApiResult {
    let body = body_json(&body)?;
    node.read(|chain| {
        let record = find_block(chain, field(&body, "block_num_or_id"))?;
        ok(block_json(&AbiView::new(&node, chain.state()), record))
    })
}

fn header_json(record: &BlockRecord) -> Map<String, Value> {
    let header = &record.block.header;
    let mut object = Map::new();
    object.insert("timestamp".to_owned(), block_time(header));
    object.insert("producer".to_owned(), json!(header.producer));
    object.insert("confirmed".to_owned(), json!(header.confirmed));
    object.insert("previous".to_owned(), json!(header.previous));
    object.insert(
        "transaction_mroot".to_owned(),
        json!(header.transaction_mroot),
    );
    object.insert("action_mroot".to_owned(), json!(header.action_mroot));
    object.insert(
        "schedule_version".to_owned(),
        json!(header.schedule_version),
    );
    object
}

fn block_json(abis: &AbiView<'_>, record: &BlockRecord) -> Value {
    let mut object = header_json(record);
    object.insert("new_producers".to_owned(), Value::Null);
    object.insert("header_extensions".to_owned(), json!([]));
    object.insert(
        "producer_signature".to_owned(),
        json!(record.block.producer_signature),
    );
    let transactions: Vec<Value> = record
        .block
        .transactions
        .iter()
        .map(|receipt| receipt_json(abis, receipt))
        .collect();
    object.insert("transactions".to_owned(), Value::Array(transactions));
    object.insert("block_extensions".to_owned(), json!([]));
    object.insert("id".to_owned(), json!(record.id));
    object.insert("block_num".to_owned(), json!(record.block_num()));
    object.insert(
        "ref_block_prefix".to_owned(),
        json!(Tapos::from_block_id(&record.id).ref_block_prefix),
    );
    Value::Object(object)
}

fn receipt_json(abis: &AbiView<'_>, receipt: &TransactionReceipt) -> Value {
    let transaction = Transaction::unpack(&receipt.packed_trx)
        .map(|trx| transaction_json(abis, &trx))
        .unwrap_or(Value::Null);
    json!({
        "status": "executed",
        "cpu_usage_us": receipt.cpu_usage_us,
        "net_usage_words": receipt.net_usage_words,
        "trx": {
            "id": receipt.trx_id(),
            "signatures": receipt.signatures,
            "compression": "none",
            "packed_context_free_data": hex::encode(&receipt.packed_context_free_data),
            "context_free_data": [],
            "packed_trx": hex::encode(&receipt.packed_trx),
            "transaction": transaction,
        },
    })
}

fn transaction_json(abis: &AbiView<'_>, trx: &Transaction) -> Value {
    let actions: Vec<Value> = trx
        .actions
        .iter()
        .map(|action| action_json(abis, action))
        .collect();
    let context_free: Vec<Value> = trx
        .context_free_actions
        .iter()
        .map(|action| action_json(abis, action))
        .collect();
    json!({
        "expiration": trx.expiration,
        "ref_block_num": trx.ref_block_num,
        "ref_block_prefix": trx.ref_block_prefix,
        "max_net_usage_words": trx.max_net_usage_words,
        "max_cpu_usage_ms": trx.max_cpu_usage_ms,
        "delay_sec": trx.delay_sec,
        "context_free_actions": context_free,
        "actions": actions,
        "transaction_extensions": [],
    })
}

/// ABIs of the current state, loaded for the codec through the node's cache.
struct AbiView<'a> {
    node: &'a Node,
    state: &'a ChainState,
}

impl<'a> AbiView<'a> {
    fn new(node: &'a Node, state: &'a ChainState) -> Self {
        Self { node, state }
    }

    /// The account's current ABI, if it has one that loads.
    fn abi(&self, account: Name) -> Option<Arc<Abi>> {
        self.node.abi(self.state.account(account)?)
    }
}

/// An action as nodeos prints it: `data` decoded when the ABI knows it (else hex), and
/// `hex_data`.
fn action_json(abis: &AbiView<'_>, action: &Action) -> Value {
    let decoded = abis.abi(action.account).and_then(|abi| {
        let type_name = abi.action_type(action.name)?.to_owned();
        abi.decode(&type_name, &action.data).ok()
    });
    let hex_data = hex::encode(&action.data);
    json!({
        "account": action.account,
        "name": action.name,
        "authorization": action.authorization,
        "data": decoded.unwrap_or_else(|| Value::String(hex_data.clone())),
        "hex_data": hex_data,
    })
}

async fn get_block_info(State(node): State<Arc<Node>>, body: Bytes) -> ApiResult {
    let body = body_json(&body)?;
    let block_num = field(&body, "block_num")
        .and_then(u32_field)
        .ok_or_else(|| bad_request("missing field block_num"))?;
    node.read(|chain| {
        let record = chain.block(block_num).ok_or_else(|| {
            ApiError(ChainError::new(
                ChainErrorKind::UnknownBlock,
                format!("Could not find block: {block_num}"),
            ))
        })?;
        let mut object = Map::new();
        object.insert("block_num".to_owned(), json!(block_num));
        object.insert("ref_block_num".to_owned(), json!(block_num & 0xffff));
        object.insert("id".to_owned(), json!(record.id));
        object.extend(header_json(record));
        object.insert(
            "producer_signature".to_owned(),
            json!(record.block.producer_signature),
        );
        object.insert(
            "ref_block_prefix".to_owned(),
            json!(Tapos::from_block_id(&record.id).ref_block_prefix),
        );
        ok(Value::Object(object))
    })
}

fn existing_account(chain: &Chain, name: Name) -> Result<&Account, ApiError> {
    chain.state().account(name).ok_or_else(|| {
        ApiError(ChainError::new(
            ChainErrorKind::AccountQuery,
            format!("unknown key (eosio::chain::name): {name}"),
        ))
    })
}

async fn get_raw_abi(State(node): State<Arc<Node>>, body: Bytes) -> ApiResult {
    let body = body_json(&body)?;
    let name = name_field(&body, "account_name")?;
    let known_hash = field(&body, "abi_hash")
        .and_then(Value::as_str)
        .and_then(|text| text.parse::<Checksum256>().ok());
    node.read(|chain| {
        let account = existing_account(chain, name)?;
        let abi_hash = block::sha256(&account.abi);
        let mut object = json!({
            "account_name": name,
            "code_hash": account.code_hash,
            "abi_hash": abi_hash,
        });
        if known_hash != Some(abi_hash) {
            object["abi"] =
                Value::String(base64::engine::general_purpose::STANDARD.encode(&account.abi));
        }
        ok(object)
    })
}

async fn get_abi(State(node): State<Arc<Node>>, body: Bytes) -> ApiResult {
    let body = body_json(&body)?;
    let name = name_field(&body, "account_name")?;
    node.read(|chain| {
        let account = existing_account(chain, name)?;
        let mut object = json!({ "account_name": name });
        if !account.abi.is_empty()
            && let Ok(def) = AbiDef::from_bin(&account.abi)
        {
            object["abi"] = serde_json::to_value(def).unwrap_or(Value::Null);
        }
        ok(object)
    })
}

fn authority_json(auth: &Authority) -> Value {
    let keys: Vec<Value> = auth
        .keys
        .iter()
        .map(|kw| json!({"key": kw.key.to_legacy_string(), "weight": kw.weight}))
        .collect();
    let accounts: Vec<Value> = auth
        .accounts
        .iter()
        .map(|aw| json!({"permission": aw.permission, "weight": aw.weight}))
        .collect();
    let waits: Vec<Value> = auth
        .waits
        .iter()
        .map(|ww| json!({"wait_sec": ww.wait_sec, "weight": ww.weight}))
        .collect();
    json!({"threshold": auth.threshold, "keys": keys, "accounts": accounts, "waits": waits})
}

async fn get_account(State(node): State<Arc<Node>>, body: Bytes) -> ApiResult {
    let body = body_json(&body)?;
    let name = name_field(&body, "account_name")?;
    node.read(|chain| {
        let account = existing_account(chain, name)?;
        let permissions: Vec<Value> = account
            .permissions
            .iter()
            .map(|perm| {
                let parent = if perm.parent == Name::default() { String::new() } else { perm.parent.to_string() };
                json!({
                    "perm_name": perm.name,
                    "parent": parent,
                    "required_auth": authority_json(&perm.auth),
                    "linked_actions": [],
                })
            })
            .collect();
        let head_time = chain.head().block.header.timestamp.to_time_point();
        let limit = |used: u64, available: u64, max: u64| json!({"used": used, "available": available, "max": max, "last_usage_update_time": head_time, "current_used": used});
        let unlimited = json!({"used": 0, "available": -1, "max": -1, "last_usage_update_time": head_time, "current_used": 0});
        let now = TimePointSec::from_secs(u32::try_from(head_time.as_micros().div_euclid(1_000_000)).unwrap_or(u32::MAX));
        let (cpu_weight, net_weight, cpu_limit, net_limit) = match system::resources(chain.state(), name, now) {
            Some(res) => (
                json!(res.cpu_max_us),
                json!(res.net_max_bytes),
                limit(res.cpu_used_us, res.cpu_available_us(), res.cpu_max_us),
                limit(res.net_used_bytes, res.net_available_bytes(), res.net_max_bytes),
            ),
            None => (json!(-1), json!(-1), unlimited.clone(), unlimited),
        };
        ok(json!({
            "account_name": name,
            "head_block_num": chain.head_num(),
            "head_block_time": chain.head().block.header.timestamp.to_time_point(),
            "privileged": account.privileged,
            "last_code_update": account.last_code_update,
            "created": account.creation_date.to_time_point(),
            "ram_quota": -1,
            "net_weight": net_weight,
            "cpu_weight": cpu_weight,
            "net_limit": net_limit,
            "cpu_limit": cpu_limit,
            "ram_usage": 0,
            "permissions": permissions,
            "total_resources": null,
            "self_delegated_bandwidth": null,
            "refund_request": null,
            "voter_info": null,
            "rex_info": null,
            "subjective_cpu_bill_limit": null,
            "eosio_any_linked_actions": [],
        }))
    })
}

/// A key of the index being read, ordered as the index orders it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum IndexKey {
    U64(u64),
    U128(u128),
    Checksum256(Checksum256),
}

impl IndexKey {
    fn from_secondary(key: &SecondaryKey) -> Self {
        match key {
            SecondaryKey::U64(value) => Self::U64(*value),
            SecondaryKey::U128(value) => Self::U128(*value),
            SecondaryKey::Checksum256(value) => Self::Checksum256(*value),
        }
    }

    fn to_json_string(self, key_type: &str) -> String {
        match self {
            Self::U64(value) if key_type == "name" => Name::from_u64(value).to_string(),
            Self::U64(value) => value.to_string(),
            Self::U128(value) => value.to_string(),
            Self::Checksum256(value) => value.to_string(),
        }
    }
}

/// Parses a bound in the index's key type; empty means unbounded.
fn parse_bound(text: &str, key_type: &str) -> Result<Option<IndexKey>, ApiError> {
    if text.is_empty() {
        return Ok(None);
    }
    let invalid = || {
        ApiError(ChainError::new(
            ChainErrorKind::ContractTableQuery,
            format!("Invalid bound {text:?} for key type {key_type}"),
        ))
    };
    let key = match key_type {
        "sha256" | "i256" => IndexKey::Checksum256(text.parse().map_err(|_| invalid())?),
        "i128" => IndexKey::U128(text.parse().map_err(|_| invalid())?),
        "name" => IndexKey::U64(text.parse::<Name>().map_err(|_| invalid())?.as_u64()),
        _ => match text.parse::<u64>() {
            Ok(value) => IndexKey::U64(value),
            Err(_) => IndexKey::U64(text.parse::<Name>().map_err(|_| invalid())?.as_u64()),
        },
    };
    Ok(Some(key))
}

/// `index_position` as a 1-based index number (1 = primary).
fn index_number(position: &str) -> Option<usize> {
    const WORDS: [&str; 10] = [
        "primary",
        "secondary",
        "tertiary",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
    ];
    if position.is_empty() {
        return Some(1);
    }
    WORDS
        .iter()
        .position(|word| *word == position)
        .map(|idx| idx + 1)
        .or_else(|| position.parse().ok().filter(|n| (1..=10).contains(n)))
}

fn string_field(body: &Value, name: &str) -> String {
    match field(body, name) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        _ => String::new(),
    }
}

async fn get_table_rows(State(node): State<Arc<Node>>, body: Bytes) -> ApiResult {
    let body = body_json(&body)?;
    let code = name_field(&body, "code")?;
    let table = name_field(&body, "table")?;
    let scope_text = string_field(&body, "scope");
    let scope = match scope_text.parse::<Name>() {
        Ok(name) => name,
        Err(_) => Name::from_u64(
            scope_text
                .parse::<u64>()
                .map_err(|_| bad_request(format!("Invalid scope {scope_text:?}")))?,
        ),
    };
    let json_rows = bool_field(&body, "json");
    let reverse = bool_field(&body, "reverse");
    let show_payer = bool_field(&body, "show_payer");
    let limit = field(&body, "limit").and_then(u32_field).unwrap_or(10) as usize;
    let index = index_number(&string_field(&body, "index_position"))
        .ok_or_else(|| bad_request("Invalid index_position"))?;
    let key_type = match string_field(&body, "key_type") {
        text if text.is_empty() => "i64".to_owned(),
        text => text,
    };
    let lower = parse_bound(&string_field(&body, "lower_bound"), &key_type)?;
    let upper = parse_bound(&string_field(&body, "upper_bound"), &key_type)?;
    node.read(|chain| {
        let abi = AbiView::new(&node, chain.state()).abi(code);
        let row_type = abi
            .as_ref()
            .and_then(|abi| abi.table_type(table).map(str::to_owned));
        if json_rows && row_type.is_none() {
            return Err(ApiError(ChainError::new(
                ChainErrorKind::ContractTableQuery,
                format!("Table {table} is not specified in the ABI"),
            )));
        }
        let mut rows: Vec<(IndexKey, u64, &crate::devnet::state::Row)> = chain
            .state()
            .table_rows(code, scope, table)
            .filter_map(|(key, row)| {
                let index_key = if index == 1 {
                    IndexKey::U64(key.primary_key)
                } else {
                    IndexKey::from_secondary(row.secondary.get(index - 2)?)
                };
                Some((index_key, key.primary_key, row))
            })
            .filter(|(key, _, _)| {
                lower.is_none_or(|lower| *key >= lower) && upper.is_none_or(|upper| *key <= upper)
            })
            .collect();
        rows.sort_by_key(|(key, primary, _)| (*key, *primary));
        if reverse {
            rows.reverse();
        }
        let more = rows.len() > limit;
        let next_key = rows
            .get(limit)
            .map(|(key, _, _)| key.to_json_string(&key_type))
            .unwrap_or_default();
        let rendered: Vec<Value> = rows
            .iter()
            .take(limit)
            .map(|(_, _, row)| {
                let data = match (&abi, &row_type) {
                    (Some(abi), Some(row_type)) if json_rows => abi
                        .decode(row_type, &row.value)
                        .unwrap_or_else(|_| Value::String(hex::encode(&row.value))),
                    _ => Value::String(hex::encode(&row.value)),
                };
                if show_payer {
                    json!({"data": data, "payer": row.payer})
                } else {
                    data
                }
            })
            .collect();
        ok(json!({"rows": rendered, "more": more, "next_key": next_key}))
    })
}

/// Reads a transaction's JSON, encoding action `data` objects with the accounts' ABIs.
fn transaction_from_json(abis: &AbiView<'_>, value: &Value) -> Result<Transaction, ApiError> {
    Transaction::from_json(value, |account, name, data| {
        let abi = abis
            .abi(account)
            .ok_or_else(|| format!("no ABI for {account}"))?;
        let type_name = abi
            .action_type(name)
            .ok_or_else(|| format!("unknown action {account}::{name}"))?
            .to_owned();
        abi.encode(&type_name, data)
            .map_err(|error| error.to_string())
    })
    .map_err(|error| {
        ApiError(ChainError::new(
            ChainErrorKind::Parse,
            format!("Invalid transaction: {error}"),
        ))
    })
}

async fn get_required_keys(State(node): State<Arc<Node>>, body: Bytes) -> ApiResult {
    let body = body_json(&body)?;
    let available: Vec<PublicKey> = field(&body, "available_keys")
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter_map(Value::as_str)
                .filter_map(|key| key.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let trx_json =
        field(&body, "transaction").ok_or_else(|| bad_request("missing field transaction"))?;
    node.read(|chain| {
        let trx = transaction_from_json(&AbiView::new(&node, chain.state()), trx_json)?;
        let keys = chain.required_keys(&trx, &available)?;
        let keys: Vec<String> = keys.iter().map(PublicKey::to_legacy_string).collect();
        ok(json!({ "required_keys": keys }))
    })
}

/// Reads a `packed_transaction` JSON object (or `{signatures, transaction}`).
fn signed_input(node: &Node, value: &Value) -> Result<SignedInput, ApiError> {
    if field(value, "packed_trx").is_none()
        && let Some(trx_json) = field(value, "transaction")
    {
        let signatures = field(value, "signatures")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|error| bad_request(format!("Invalid signatures: {error}")))?
            .unwrap_or_default();
        let trx =
            node.read(|chain| transaction_from_json(&AbiView::new(node, chain.state()), trx_json))?;
        return Ok(SignedInput {
            signatures,
            packed_trx: trx.pack(),
        });
    }
    let packed: PackedTransaction = serde_json::from_value(value.clone())
        .map_err(|error| bad_request(format!("Invalid packed transaction: {error}")))?;
    let packed_trx = match packed.compression {
        Compression::None => packed.packed_trx,
        Compression::Zlib => inflate_packed_trx(&packed.packed_trx)?,
    };
    Ok(SignedInput {
        signatures: packed.signatures,
        packed_trx,
    })
}

/// nodeos' limit on a decompressed transaction, its protection against zip bombs.
const MAX_DECOMPRESSED_TRX_BYTES: usize = 1 << 20;

/// Inflates a `zlib` packed transaction, as nodeos does before reading it; clients such as
/// wharfkit compress by default. The transaction id and signatures cover the inflated bytes.
fn inflate_packed_trx(compressed: &[u8]) -> Result<Vec<u8>, ApiError> {
    miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(compressed, MAX_DECOMPRESSED_TRX_BYTES)
        .map_err(|error| {
            let message = match error.status {
                miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                    "Exceeded maximum decompressed transaction size"
                }
                _ => "Unable to decompress transaction",
            };
            ApiError(ChainError::new(ChainErrorKind::Parse, message))
        })
}

fn push_response(node: &Node, result: &PushResult) -> ApiResult {
    let processed =
        node.read(|chain| trace_json(&AbiView::new(node, chain.state()), &result.trace, result))?;
    let body = json!({"transaction_id": result.trace.id, "processed": processed});
    Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
}

async fn push_transaction(State(node): State<Arc<Node>>, body: Bytes) -> ApiResult {
    let body = body_json(&body)?;
    let input = signed_input(&node, &body)?;
    let result = node.push(&input)?;
    push_response(&node, &result)
}

async fn send_transaction2(State(node): State<Arc<Node>>, body: Bytes) -> ApiResult {
    let body = body_json(&body)?;
    let trx =
        field(&body, "transaction").ok_or_else(|| bad_request("missing field transaction"))?;
    let input = signed_input(&node, trx)?;
    // `return_failure_trace` defaults to true: a transaction that fails once decoded is
    // answered 202 with a trace carrying the exception, as nodeos does.
    let return_failure_trace = field(&body, "return_failure_trace")
        .is_none_or(|_| bool_field(&body, "return_failure_trace"));
    match node.push(&input) {
        Ok(result) => push_response(&node, &result),
        Err(error)
            if return_failure_trace
                && error.kind() != ChainErrorKind::Eof
                && error.kind() != ChainErrorKind::PackedTransactionType =>
        {
            let id = block::sha256(&input.packed_trx);
            let (block_num, block_time) = node.read(|chain| {
                let head = chain.head();
                (
                    head.block_num() + 1,
                    head.block.header.timestamp.to_time_point(),
                )
            });
            let processed = json!({
                "id": id,
                "block_num": block_num,
                "block_time": block_time,
                "producer_block_id": null,
                "receipt": null,
                "elapsed": 0,
                "net_usage": 0,
                "scheduled": false,
                "action_traces": [],
                "account_ram_delta": null,
                "except": exception_json(&error),
                "error_code": null,
            });
            let body = json!({"transaction_id": id, "processed": processed});
            Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
        }
        Err(error) => Err(ApiError(error)),
    }
}

/// An fc exception as nodeos renders it inside a trace's `except`.
fn exception_json(error: &ChainError) -> Value {
    let kind = error.kind();
    json!({
        "code": kind.code(),
        "name": kind.name(),
        "message": kind.what(),
        "stack": [{
            "context": {"level": "error", "file": "", "line": 0, "method": "", "hostname": "", "thread_name": "", "timestamp": null},
            "format": error.message(),
            "data": {},
        }],
    })
}

fn trace_json(
    abis: &AbiView<'_>,
    trace: &TransactionTrace,
    result: &PushResult,
) -> Result<Value, ApiError> {
    let block_time = result.block_time.to_time_point();
    let action_traces: Vec<Value> = trace
        .action_traces
        .iter()
        .map(|action| action_trace_json(abis, action, trace.id, result))
        .collect();
    Ok(json!({
        "id": trace.id,
        "block_num": result.block_num,
        "block_time": block_time,
        "producer_block_id": null,
        "receipt": {"status": "executed", "cpu_usage_us": trace.cpu_usage_us, "net_usage_words": trace.net_usage_words},
        "elapsed": trace.elapsed,
        "net_usage": u64_to_json(trace.net_usage),
        "scheduled": trace.scheduled,
        "action_traces": action_traces,
        "account_ram_delta": null,
        "except": null,
        "error_code": null,
    }))
}

fn action_trace_json(
    abis: &AbiView<'_>,
    action: &ActionTrace,
    trx_id: Checksum256,
    result: &PushResult,
) -> Value {
    let receipt = action.receipt.as_ref().map(|receipt| {
        let auth_sequence: Vec<Value> = receipt
            .auth_sequence
            .iter()
            .map(|(account, sequence)| json!([account, u64_to_json(*sequence)]))
            .collect();
        json!({
            "receiver": receipt.receiver,
            "act_digest": receipt.act_digest,
            "global_sequence": u64_to_json(receipt.global_sequence),
            "recv_sequence": u64_to_json(receipt.recv_sequence),
            "auth_sequence": auth_sequence,
            "code_sequence": receipt.code_sequence,
            "abi_sequence": receipt.abi_sequence,
        })
    });
    json!({
        "action_ordinal": action.action_ordinal,
        "creator_action_ordinal": action.creator_action_ordinal,
        "closest_unnotified_ancestor_action_ordinal": action.closest_unnotified_ancestor_action_ordinal,
        "receipt": receipt,
        "receiver": action.receiver,
        "act": action_json(abis, &action.act),
        "context_free": action.context_free,
        "elapsed": action.elapsed,
        "console": action.console,
        "trx_id": trx_id,
        "block_num": result.block_num,
        "block_time": result.block_time.to_time_point(),
        "producer_block_id": null,
        "account_ram_deltas": [],
        "except": null,
        "error_code": null,
        "return_value_hex_data": "",
    })
}

async fn produce_block(State(node): State<Arc<Node>>, body: Bytes) -> ApiResult {
    let body = body_json(&body)?;
    let count = field(&body, "count")
        .and_then(u32_field)
        .unwrap_or(1)
        .clamp(1, 10_000);
    let mut last = 0;
    for _ in 0..count {
        last = node.produce()?;
    }
    let id = node.read(|chain| chain.block(last).map(|record| record.id));
    ok(json!({"block_num": last, "id": id}))
}

async fn fork(State(node): State<Arc<Node>>, body: Bytes) -> ApiResult {
    let body = body_json(&body)?;
    let depth = field(&body, "depth")
        .and_then(u32_field)
        .ok_or_else(|| bad_request("missing field depth"))?;
    let fork_point = node.fork(depth)?;
    let (head, id) = node.read(|chain| (chain.head_num(), chain.head().id));
    ok(json!({"fork_point": fork_point, "head_block_num": head, "head_block_id": id}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devnet::bootstrap::Bootstrap;
    use crate::devnet::fixtures::{BANK, PUT, bank_action, chain, key, now, signed};

    /// Serves a chain holding rows 1..=5 of the fixture contract on a loopback port.
    async fn serve() -> (String, tokio::task::JoinHandle<()>) {
        let mut chain = chain();
        for value in 1..=5 {
            let input = signed(&chain, vec![bank_action(PUT, value)], &[&key(3)]);
            chain.push_transaction(&input, now(&chain)).expect("pushed");
        }
        chain.produce_block(now(&chain)).expect("block");
        let bootstrap = Bootstrap {
            chain_id: Some(*chain.chain_id()),
            genesis_time: chain.block(1).expect("genesis").block.header.timestamp,
            coopname: BANK,
            accounts: Vec::new(),
        };
        let node = Arc::new(Node::new(chain, None, bootstrap));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            axum::serve(listener, router(node)).await.expect("serves");
        });
        (format!("http://{addr}"), server)
    }

    /// A plain-HTTP client; the workspace builds rustls without a default crypto provider.
    fn http_client() -> reqwest::Client {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
    }

    async fn post(base: &str, path: &str, body: Value) -> (u16, Value) {
        let response = http_client()
            .post(format!("{base}{path}"))
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }

    fn rows_request(extra: Value) -> Value {
        let mut body = json!({"code": "bank", "scope": "bank", "table": "rows", "json": true});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        body
    }

    /// A transaction that expired at the epoch, so the chain refuses it.
    fn expired_transaction() -> Transaction {
        Transaction::new(
            crate::antelope::time::TimePointSec::from_secs(0),
            Tapos {
                ref_block_num: 0,
                ref_block_prefix: 0,
            },
            vec![bank_action(PUT, 1)],
        )
    }

    /// Sends the packed `expired` transaction with `send_transaction2` and asserts the
    /// accepted request with the failure trace nodeos returns for it.
    async fn assert_sent_and_expired(base: &str, packed: &Value, expired: &Transaction) {
        let (status, body) = post(
            base,
            "/v1/chain/send_transaction2",
            json!({"transaction": packed}),
        )
        .await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["transaction_id"], json!(expired.id()));
        assert_eq!(body["processed"]["except"]["name"], "expired_tx_exception");
    }

    #[tokio::test]
    async fn table_rows_page_by_primary_and_secondary_keys() {
        let (base, server) = serve().await;
        let cases = [
            (
                json!({"limit": 2}),
                json!([{"value": 1}, {"value": 2}]),
                true,
                "3",
            ),
            (
                json!({"limit": 2, "lower_bound": "3"}),
                json!([{"value": 3}, {"value": 4}]),
                true,
                "5",
            ),
            (
                json!({"limit": 2, "lower_bound": "5"}),
                json!([{"value": 5}]),
                false,
                "",
            ),
            (
                json!({"limit": 2, "reverse": true}),
                json!([{"value": 5}, {"value": 4}]),
                true,
                "3",
            ),
            (
                json!({"index_position": "secondary", "key_type": "i64", "lower_bound": "6", "upper_bound": "8"}),
                json!([{"value": 3}, {"value": 4}]),
                false,
                "",
            ),
            (
                json!({"index_position": "2", "limit": 1}),
                json!([{"value": 1}]),
                true,
                "4",
            ),
        ];
        for (extra, rows, more, next_key) in cases {
            let (status, body) = post(
                &base,
                "/v1/chain/get_table_rows",
                rows_request(extra.clone()),
            )
            .await;
            assert_eq!(status, 200, "{extra}");
            assert_eq!(body["rows"], rows, "{extra}");
            assert_eq!(body["more"], more, "{extra}");
            assert_eq!(body["next_key"], next_key, "{extra}");
        }
        let (_, body) = post(
            &base,
            "/v1/chain/get_table_rows",
            rows_request(json!({"limit": 1, "show_payer": true, "json": false})),
        )
        .await;
        assert_eq!(
            body["rows"],
            json!([{"data": "0100000000000000", "payer": "bank"}])
        );
        server.abort();
    }

    #[tokio::test]
    async fn errors_have_nodeos_bodies() {
        let (base, server) = serve().await;
        let (status, body) = post(
            &base,
            "/v1/chain/get_block",
            json!({"block_num_or_id": "99"}),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["message"], "Unknown Block");
        assert_eq!(body["error"]["code"], 3_100_002);
        assert_eq!(body["error"]["name"], "unknown_block_exception");
        let (status, body) = post(
            &base,
            "/v1/chain/push_transaction",
            json!({"signatures": [], "compression": "none", "packed_trx": "0011"}),
        )
        .await;
        assert_eq!(status, 422);
        assert_eq!(body["error"]["name"], "eof_exception");
        let (status, body) =
            post(&base, "/v1/chain/get_abi", json!({"account_name": "bank"})).await;
        assert_eq!(status, 200);
        assert_eq!(body["abi"]["tables"][0]["name"], "rows");

        let expired = expired_transaction();
        let packed = json!({"signatures": [], "compression": "none", "packed_trx": hex::encode(expired.pack())});
        assert_sent_and_expired(&base, &packed, &expired).await;
        let no_trace = json!({"return_failure_trace": false, "transaction": packed});
        let (status, body) = post(&base, "/v1/chain/send_transaction2", no_trace).await;
        assert_eq!(status, 500, "{body}");
        assert_eq!(body["error"]["name"], "expired_tx_exception");
        server.abort();
    }

    #[tokio::test]
    async fn zlib_packed_transactions_are_inflated() {
        let (base, server) = serve().await;
        let expired = expired_transaction();
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&expired.pack(), 6);
        // wharfkit sends the compression as a number.
        let packed =
            json!({"signatures": [], "compression": 1, "packed_trx": hex::encode(compressed)});
        assert_sent_and_expired(&base, &packed, &expired).await;

        let bomb = miniz_oxide::deflate::compress_to_vec_zlib(&vec![0; (1 << 20) + 1], 6);
        let cases = [
            (hex::encode([1, 2, 3]), "Unable to decompress transaction"),
            (
                hex::encode(bomb),
                "Exceeded maximum decompressed transaction size",
            ),
        ];
        for (packed_trx, message) in cases {
            let packed = json!({"signatures": [], "compression": "zlib", "packed_trx": packed_trx});
            let (status, body) = post(&base, "/v1/chain/push_transaction", packed).await;
            assert_eq!(status, 400, "{body}");
            assert_eq!(body["error"]["details"][0]["message"], message);
        }
        server.abort();
    }
}
