//! The State History (SHiP) protocol, v0 as Leap 5 and COOPOS speak it: the protocol's own ABI
//! (sent as the first, text, websocket frame) and the typed messages, traces and table deltas
//! with their binary layouts.
//!
//! The ABI lists every type a SHiP server of this crate may send, in the shape nodeos defines
//! them, so any client decoding with the ABI it received reads our messages. Nothing here does
//! I/O.

use serde_json::{Value, json};

use crate::antelope::binary::{self, Decode, Encode, Reader, Writer};
use crate::antelope::checksum::Checksum256;
use crate::antelope::name::Name;
use crate::antelope::transaction::Action;

/// `(field name, field type)`.
type FieldDef = (&'static str, &'static str);

/// `(struct name, base, fields)` of every struct in the SHiP ABI.
const STRUCTS: &[(&str, &str, &[FieldDef])] = &[
    ("get_status_request_v0", "", &[]),
    (
        "block_position",
        "",
        &[("block_num", "uint32"), ("block_id", "checksum256")],
    ),
    (
        "get_status_result_v0",
        "",
        &[
            ("head", "block_position"),
            ("last_irreversible", "block_position"),
            ("trace_begin_block", "uint32"),
            ("trace_end_block", "uint32"),
            ("chain_state_begin_block", "uint32"),
            ("chain_state_end_block", "uint32"),
            ("chain_id", "checksum256$"),
        ],
    ),
    (
        "get_blocks_request_v0",
        "",
        &[
            ("start_block_num", "uint32"),
            ("end_block_num", "uint32"),
            ("max_messages_in_flight", "uint32"),
            ("have_positions", "block_position[]"),
            ("irreversible_only", "bool"),
            ("fetch_block", "bool"),
            ("fetch_traces", "bool"),
            ("fetch_deltas", "bool"),
        ],
    ),
    (
        "get_blocks_ack_request_v0",
        "",
        &[("num_messages", "uint32")],
    ),
    (
        "get_blocks_result_v0",
        "",
        &[
            ("head", "block_position"),
            ("last_irreversible", "block_position"),
            ("this_block", "block_position?"),
            ("prev_block", "block_position?"),
            ("block", "bytes?"),
            ("traces", "bytes?"),
            ("deltas", "bytes?"),
        ],
    ),
    ("row", "", &[("present", "bool"), ("data", "bytes")]),
    (
        "table_delta_v0",
        "",
        &[("name", "string"), ("rows", "row[]")],
    ),
    (
        "action",
        "",
        &[
            ("account", "name"),
            ("name", "name"),
            ("authorization", "permission_level[]"),
            ("data", "bytes"),
        ],
    ),
    (
        "account_auth_sequence",
        "",
        &[("account", "name"), ("sequence", "uint64")],
    ),
    (
        "action_receipt_v0",
        "",
        &[
            ("receiver", "name"),
            ("act_digest", "checksum256"),
            ("global_sequence", "uint64"),
            ("recv_sequence", "uint64"),
            ("auth_sequence", "account_auth_sequence[]"),
            ("code_sequence", "varuint32"),
            ("abi_sequence", "varuint32"),
        ],
    ),
    (
        "account_delta",
        "",
        &[("account", "name"), ("delta", "int64")],
    ),
    (
        "action_trace_v0",
        "",
        &[
            ("action_ordinal", "varuint32"),
            ("creator_action_ordinal", "varuint32"),
            ("receipt", "action_receipt?"),
            ("receiver", "name"),
            ("act", "action"),
            ("context_free", "bool"),
            ("elapsed", "int64"),
            ("console", "string"),
            ("account_ram_deltas", "account_delta[]"),
            ("except", "string?"),
            ("error_code", "uint64?"),
        ],
    ),
    (
        "action_trace_v1",
        "",
        &[
            ("action_ordinal", "varuint32"),
            ("creator_action_ordinal", "varuint32"),
            ("receipt", "action_receipt?"),
            ("receiver", "name"),
            ("act", "action"),
            ("context_free", "bool"),
            ("elapsed", "int64"),
            ("console", "string"),
            ("account_ram_deltas", "account_delta[]"),
            ("except", "string?"),
            ("error_code", "uint64?"),
            ("return_value", "bytes"),
        ],
    ),
    (
        "partial_transaction_v0",
        "",
        &[
            ("expiration", "time_point_sec"),
            ("ref_block_num", "uint16"),
            ("ref_block_prefix", "uint32"),
            ("max_net_usage_words", "varuint32"),
            ("max_cpu_usage_ms", "uint8"),
            ("delay_sec", "varuint32"),
            ("transaction_extensions", "extension[]"),
            ("signatures", "signature[]"),
            ("context_free_data", "bytes[]"),
        ],
    ),
    (
        "transaction_trace_v0",
        "",
        &[
            ("id", "checksum256"),
            ("status", "uint8"),
            ("cpu_usage_us", "uint32"),
            ("net_usage_words", "varuint32"),
            ("elapsed", "int64"),
            ("net_usage", "uint64"),
            ("scheduled", "bool"),
            ("action_traces", "action_trace[]"),
            ("account_ram_delta", "account_delta?"),
            ("except", "string?"),
            ("error_code", "uint64?"),
            ("failed_dtrx_trace", "transaction_trace?"),
            ("partial", "partial_transaction?"),
        ],
    ),
    (
        "packed_transaction",
        "",
        &[
            ("signatures", "signature[]"),
            ("compression", "uint8"),
            ("packed_context_free_data", "bytes"),
            ("packed_trx", "bytes"),
        ],
    ),
    (
        "transaction_receipt_header",
        "",
        &[
            ("status", "uint8"),
            ("cpu_usage_us", "uint32"),
            ("net_usage_words", "varuint32"),
        ],
    ),
    (
        "transaction_receipt",
        "transaction_receipt_header",
        &[("trx", "transaction_variant")],
    ),
    ("extension", "", &[("type", "uint16"), ("data", "bytes")]),
    (
        "block_header",
        "",
        &[
            ("timestamp", "block_timestamp_type"),
            ("producer", "name"),
            ("confirmed", "uint16"),
            ("previous", "checksum256"),
            ("transaction_mroot", "checksum256"),
            ("action_mroot", "checksum256"),
            ("schedule_version", "uint32"),
            ("new_producers", "producer_schedule?"),
            ("header_extensions", "extension[]"),
        ],
    ),
    (
        "signed_block_header",
        "block_header",
        &[("producer_signature", "signature")],
    ),
    (
        "signed_block",
        "signed_block_header",
        &[
            ("transactions", "transaction_receipt[]"),
            ("block_extensions", "extension[]"),
        ],
    ),
    (
        "transaction_header",
        "",
        &[
            ("expiration", "time_point_sec"),
            ("ref_block_num", "uint16"),
            ("ref_block_prefix", "uint32"),
            ("max_net_usage_words", "varuint32"),
            ("max_cpu_usage_ms", "uint8"),
            ("delay_sec", "varuint32"),
        ],
    ),
    (
        "transaction",
        "transaction_header",
        &[
            ("context_free_actions", "action[]"),
            ("actions", "action[]"),
            ("transaction_extensions", "extension[]"),
        ],
    ),
    (
        "code_id",
        "",
        &[
            ("vm_type", "uint8"),
            ("vm_version", "uint8"),
            ("code_hash", "checksum256"),
        ],
    ),
    (
        "account_v0",
        "",
        &[
            ("name", "name"),
            ("creation_date", "block_timestamp_type"),
            ("abi", "bytes"),
        ],
    ),
    (
        "account_metadata_v0",
        "",
        &[
            ("name", "name"),
            ("privileged", "bool"),
            ("last_code_update", "time_point"),
            ("code", "code_id?"),
        ],
    ),
    (
        "contract_table_v0",
        "",
        &[
            ("code", "name"),
            ("scope", "name"),
            ("table", "name"),
            ("payer", "name"),
        ],
    ),
    (
        "contract_row_v0",
        "",
        &[
            ("code", "name"),
            ("scope", "name"),
            ("table", "name"),
            ("primary_key", "uint64"),
            ("payer", "name"),
            ("value", "bytes"),
        ],
    ),
    (
        "contract_index64_v0",
        "",
        &[
            ("code", "name"),
            ("scope", "name"),
            ("table", "name"),
            ("primary_key", "uint64"),
            ("payer", "name"),
            ("secondary_key", "uint64"),
        ],
    ),
    (
        "contract_index128_v0",
        "",
        &[
            ("code", "name"),
            ("scope", "name"),
            ("table", "name"),
            ("primary_key", "uint64"),
            ("payer", "name"),
            ("secondary_key", "uint128"),
        ],
    ),
    (
        "contract_index256_v0",
        "",
        &[
            ("code", "name"),
            ("scope", "name"),
            ("table", "name"),
            ("primary_key", "uint64"),
            ("payer", "name"),
            ("secondary_key", "checksum256"),
        ],
    ),
    (
        "producer_key",
        "",
        &[
            ("producer_name", "name"),
            ("block_signing_key", "public_key"),
        ],
    ),
    (
        "producer_schedule",
        "",
        &[("version", "uint32"), ("producers", "producer_key[]")],
    ),
    (
        "key_weight",
        "",
        &[("key", "public_key"), ("weight", "uint16")],
    ),
    (
        "permission_level",
        "",
        &[("actor", "name"), ("permission", "name")],
    ),
    (
        "permission_level_weight",
        "",
        &[("permission", "permission_level"), ("weight", "uint16")],
    ),
    (
        "wait_weight",
        "",
        &[("wait_sec", "uint32"), ("weight", "uint16")],
    ),
    (
        "authority",
        "",
        &[
            ("threshold", "uint32"),
            ("keys", "key_weight[]"),
            ("accounts", "permission_level_weight[]"),
            ("waits", "wait_weight[]"),
        ],
    ),
    (
        "permission_v0",
        "",
        &[
            ("owner", "name"),
            ("name", "name"),
            ("parent", "name"),
            ("last_updated", "time_point"),
            ("auth", "authority"),
        ],
    ),
];

/// `(variant name, [alternatives])` of every variant in the SHiP ABI.
const VARIANTS: &[(&str, &[&str])] = &[
    (
        "request",
        &[
            "get_status_request_v0",
            "get_blocks_request_v0",
            "get_blocks_ack_request_v0",
        ],
    ),
    ("result", &["get_status_result_v0", "get_blocks_result_v0"]),
    ("action_receipt", &["action_receipt_v0"]),
    ("action_trace", &["action_trace_v0", "action_trace_v1"]),
    ("partial_transaction", &["partial_transaction_v0"]),
    ("transaction_trace", &["transaction_trace_v0"]),
    (
        "transaction_variant",
        &["transaction_id", "packed_transaction"],
    ),
    ("table_delta", &["table_delta_v0"]),
    ("account", &["account_v0"]),
    ("account_metadata", &["account_metadata_v0"]),
    ("contract_table", &["contract_table_v0"]),
    ("contract_row", &["contract_row_v0"]),
    ("contract_index64", &["contract_index64_v0"]),
    ("contract_index128", &["contract_index128_v0"]),
    ("contract_index256", &["contract_index256_v0"]),
    ("permission", &["permission_v0"]),
];

/// `(table name, key names)` of every state table whose deltas this crate's servers send, as
/// nodeos lists them: the delta's `name` is the table name, and the row type is the variant of
/// the same name.
const TABLES: &[(&str, &[&str])] = &[
    ("account", &["name"]),
    ("account_metadata", &["name"]),
    ("contract_table", &["code", "scope", "table"]),
    ("contract_row", &["code", "scope", "table", "primary_key"]),
    (
        "contract_index64",
        &["code", "scope", "table", "primary_key"],
    ),
    (
        "contract_index128",
        &["code", "scope", "table", "primary_key"],
    ),
    (
        "contract_index256",
        &["code", "scope", "table", "primary_key"],
    ),
    ("permission", &["owner", "name"]),
];

/// The SHiP ABI as JSON, `eosio::abi/1.1` with variants.
///
/// Its `tables` list maps each delta name to its row type, as nodeos' does; clients look the
/// type of a `table_delta` up there. The table names are longer than an Antelope `name`
/// (`account_metadata`), so this is JSON text for SHiP clients, not a contract ABI.
pub fn abi_json() -> Value {
    let structs: Vec<Value> = STRUCTS
        .iter()
        .map(|(name, base, fields)| {
            let fields: Vec<Value> = fields
                .iter()
                .map(|(name, type_)| json!({"name": name, "type": type_}))
                .collect();
            json!({"name": name, "base": base, "fields": fields})
        })
        .collect();
    let variants: Vec<Value> = VARIANTS
        .iter()
        .map(|(name, types)| json!({"name": name, "types": types}))
        .collect();
    let tables: Vec<Value> = TABLES
        .iter()
        .map(|(name, key_names)| json!({"name": name, "type": name, "key_names": key_names}))
        .collect();
    json!({
        "version": "eosio::abi/1.1",
        "types": [{"new_type_name": "transaction_id", "type": "checksum256"}],
        "structs": structs,
        "actions": [],
        "tables": tables,
        "ricardian_clauses": [],
        "error_messages": [],
        "abi_extensions": [],
        "variants": variants,
    })
}

/// The text of the first websocket frame: [`abi_json`] serialized.
pub fn abi_text() -> String {
    abi_json().to_string()
}

/// A block's number and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockPosition {
    /// Block number.
    pub block_num: u32,
    /// Block id.
    pub block_id: Checksum256,
}

/// `get_blocks_request_v0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetBlocksRequestV0 {
    /// First block to send.
    pub start_block_num: u32,
    /// One past the last block to send.
    pub end_block_num: u32,
    /// How many results may be unacknowledged at once.
    pub max_messages_in_flight: u32,
    /// Blocks the client already has; the server resumes at the first whose id differs.
    pub have_positions: Vec<BlockPosition>,
    /// Send only irreversible blocks.
    pub irreversible_only: bool,
    /// Include the signed block.
    pub fetch_block: bool,
    /// Include transaction traces.
    pub fetch_traces: bool,
    /// Include table deltas.
    pub fetch_deltas: bool,
}

/// The `request` variant a client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `get_status_request_v0`.
    GetStatus,
    /// `get_blocks_request_v0`.
    GetBlocks(GetBlocksRequestV0),
    /// `get_blocks_ack_request_v0 { num_messages }`.
    GetBlocksAck(u32),
}

/// `get_status_result_v0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetStatusResultV0 {
    /// Head block.
    pub head: BlockPosition,
    /// Last irreversible block.
    pub last_irreversible: BlockPosition,
    /// First block with traces.
    pub trace_begin_block: u32,
    /// One past the last block with traces.
    pub trace_end_block: u32,
    /// First block with state deltas.
    pub chain_state_begin_block: u32,
    /// One past the last block with state deltas.
    pub chain_state_end_block: u32,
    /// The chain id.
    pub chain_id: Option<Checksum256>,
}

/// `get_blocks_result_v0`; `block`, `traces` and `deltas` are already serialized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetBlocksResultV0 {
    /// Head block.
    pub head: BlockPosition,
    /// Last irreversible block.
    pub last_irreversible: BlockPosition,
    /// The block this result carries.
    pub this_block: Option<BlockPosition>,
    /// Its predecessor.
    pub prev_block: Option<BlockPosition>,
    /// Serialized `signed_block`.
    pub block: Option<Vec<u8>>,
    /// Serialized `transaction_trace[]`.
    pub traces: Option<Vec<u8>>,
    /// Serialized `table_delta[]`.
    pub deltas: Option<Vec<u8>>,
}

/// The `result` variant a server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShipResult {
    /// `get_status_result_v0`.
    Status(GetStatusResultV0),
    /// `get_blocks_result_v0`.
    Blocks(GetBlocksResultV0),
}

/// `action_receipt_v0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionReceipt {
    /// Account whose code ran.
    pub receiver: Name,
    /// Digest of the action (and its return value).
    pub act_digest: Checksum256,
    /// Chain-wide action counter.
    pub global_sequence: u64,
    /// Per-receiver counter.
    pub recv_sequence: u64,
    /// Per-authorizer counters.
    pub auth_sequence: Vec<(Name, u64)>,
    /// Code version of the action's account.
    pub code_sequence: u32,
    /// ABI version of the action's account.
    pub abi_sequence: u32,
}

/// `action_trace_v1`: one execution of an action at one receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionTrace {
    /// 1-based position in the transaction's trace, in order of scheduling.
    pub action_ordinal: u32,
    /// Ordinal of the action that sent or forwarded this one; 0 for top-level actions.
    pub creator_action_ordinal: u32,
    /// Ordinal of the nearest ancestor that was not a notification; 0 for top-level actions.
    /// Not on the SHiP wire, reported by the Chain API.
    pub closest_unnotified_ancestor_action_ordinal: u32,
    /// Receipt; absent when the action failed.
    pub receipt: Option<ActionReceipt>,
    /// Account whose code ran.
    pub receiver: Name,
    /// The action.
    pub act: Action,
    /// Whether it was context-free.
    pub context_free: bool,
    /// Microseconds spent.
    pub elapsed: i64,
    /// Console output.
    pub console: String,
    /// Error text when it failed.
    pub except: Option<String>,
    /// Error code when it failed.
    pub error_code: Option<u64>,
    /// Action return value.
    pub return_value: Vec<u8>,
}

/// `transaction_trace_v0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionTrace {
    /// Transaction id.
    pub id: Checksum256,
    /// Receipt status: 0 executed.
    pub status: u8,
    /// Billed CPU.
    pub cpu_usage_us: u32,
    /// Billed NET in 8-byte words.
    pub net_usage_words: u32,
    /// Microseconds spent.
    pub elapsed: i64,
    /// Billed NET in bytes.
    pub net_usage: u64,
    /// Whether it was a deferred transaction.
    pub scheduled: bool,
    /// Action traces in ordinal order.
    pub action_traces: Vec<ActionTrace>,
    /// Error text when it failed.
    pub except: Option<String>,
    /// Error code when it failed.
    pub error_code: Option<u64>,
}

/// One `row` of a table delta: present (new value) or removed (old value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaRow {
    /// `false` when the row was removed.
    pub present: bool,
    /// The serialized state object, a variant of the table's type.
    pub data: Vec<u8>,
}

/// `table_delta_v0`: the rows of one state table that a block changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDelta {
    /// State table name (`contract_row`, `account`, …).
    pub name: String,
    /// Changed rows.
    pub rows: Vec<DeltaRow>,
}

/// `contract_row_v0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractRow {
    /// Contract.
    pub code: Name,
    /// Scope.
    pub scope: Name,
    /// Table.
    pub table: Name,
    /// Primary key.
    pub primary_key: u64,
    /// RAM payer.
    pub payer: Name,
    /// Row bytes.
    pub value: Vec<u8>,
}

impl Encode for BlockPosition {
    fn encode(&self, writer: &mut Writer) {
        writer.write_u32(self.block_num);
        self.block_id.encode(writer);
    }
}

impl Decode for BlockPosition {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        Ok(Self {
            block_num: reader.read_u32()?,
            block_id: Checksum256::decode(reader)?,
        })
    }
}

impl Encode for Request {
    fn encode(&self, writer: &mut Writer) {
        match self {
            Self::GetStatus => writer.write_varuint32(0),
            Self::GetBlocks(request) => {
                writer.write_varuint32(1);
                writer.write_u32(request.start_block_num);
                writer.write_u32(request.end_block_num);
                writer.write_u32(request.max_messages_in_flight);
                request.have_positions.encode(writer);
                writer.write_bool(request.irreversible_only);
                writer.write_bool(request.fetch_block);
                writer.write_bool(request.fetch_traces);
                writer.write_bool(request.fetch_deltas);
            }
            Self::GetBlocksAck(num_messages) => {
                writer.write_varuint32(2);
                writer.write_u32(*num_messages);
            }
        }
    }
}

impl Decode for Request {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        let position = reader.position();
        match reader.read_varuint32()? {
            0 => Ok(Self::GetStatus),
            1 => Ok(Self::GetBlocks(GetBlocksRequestV0 {
                start_block_num: reader.read_u32()?,
                end_block_num: reader.read_u32()?,
                max_messages_in_flight: reader.read_u32()?,
                have_positions: Vec::decode(reader)?,
                irreversible_only: reader.read_bool()?,
                fetch_block: reader.read_bool()?,
                fetch_traces: reader.read_bool()?,
                fetch_deltas: reader.read_bool()?,
            })),
            2 => Ok(Self::GetBlocksAck(reader.read_u32()?)),
            index => Err(unknown_variant("request", position, index)),
        }
    }
}

impl Encode for ShipResult {
    fn encode(&self, writer: &mut Writer) {
        match self {
            Self::Status(status) => {
                writer.write_varuint32(0);
                status.head.encode(writer);
                status.last_irreversible.encode(writer);
                writer.write_u32(status.trace_begin_block);
                writer.write_u32(status.trace_end_block);
                writer.write_u32(status.chain_state_begin_block);
                writer.write_u32(status.chain_state_end_block);
                // A binary extension: written only when present.
                if let Some(chain_id) = &status.chain_id {
                    chain_id.encode(writer);
                }
            }
            Self::Blocks(result) => {
                writer.write_varuint32(1);
                result.head.encode(writer);
                result.last_irreversible.encode(writer);
                result.this_block.encode(writer);
                result.prev_block.encode(writer);
                for bytes in [&result.block, &result.traces, &result.deltas] {
                    match bytes {
                        Some(bytes) => {
                            writer.write_u8(1);
                            writer.write_bytes(bytes);
                        }
                        None => writer.write_u8(0),
                    }
                }
            }
        }
    }
}

impl Decode for ShipResult {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        let position = reader.position();
        match reader.read_varuint32()? {
            0 => Ok(Self::Status(GetStatusResultV0 {
                head: BlockPosition::decode(reader)?,
                last_irreversible: BlockPosition::decode(reader)?,
                trace_begin_block: reader.read_u32()?,
                trace_end_block: reader.read_u32()?,
                chain_state_begin_block: reader.read_u32()?,
                chain_state_end_block: reader.read_u32()?,
                chain_id: if reader.is_at_end() {
                    None
                } else {
                    Some(Checksum256::decode(reader)?)
                },
            })),
            1 => {
                let head = BlockPosition::decode(reader)?;
                let last_irreversible = BlockPosition::decode(reader)?;
                let this_block = Option::decode(reader)?;
                let prev_block = Option::decode(reader)?;
                let mut optional_bytes = || -> binary::Result<Option<Vec<u8>>> {
                    if reader.read_optional_flag()? {
                        Ok(Some(reader.read_bytes()?.to_vec()))
                    } else {
                        Ok(None)
                    }
                };
                Ok(Self::Blocks(GetBlocksResultV0 {
                    head,
                    last_irreversible,
                    this_block,
                    prev_block,
                    block: optional_bytes()?,
                    traces: optional_bytes()?,
                    deltas: optional_bytes()?,
                }))
            }
            index => Err(unknown_variant("result", position, index)),
        }
    }
}

impl Encode for ActionReceipt {
    fn encode(&self, writer: &mut Writer) {
        writer.write_varuint32(0);
        self.receiver.encode(writer);
        self.act_digest.encode(writer);
        writer.write_u64(self.global_sequence);
        writer.write_u64(self.recv_sequence);
        writer.write_length(self.auth_sequence.len());
        for (account, sequence) in &self.auth_sequence {
            account.encode(writer);
            writer.write_u64(*sequence);
        }
        writer.write_varuint32(self.code_sequence);
        writer.write_varuint32(self.abi_sequence);
    }
}

impl Decode for ActionReceipt {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        expect_variant(reader, "action_receipt", 0)?;
        let receiver = Name::decode(reader)?;
        let act_digest = Checksum256::decode(reader)?;
        let global_sequence = reader.read_u64()?;
        let recv_sequence = reader.read_u64()?;
        let count = reader.read_length(16)?;
        let mut auth_sequence = Vec::with_capacity(count);
        for _ in 0..count {
            auth_sequence.push((Name::decode(reader)?, reader.read_u64()?));
        }
        Ok(Self {
            receiver,
            act_digest,
            global_sequence,
            recv_sequence,
            auth_sequence,
            code_sequence: reader.read_varuint32()?,
            abi_sequence: reader.read_varuint32()?,
        })
    }
}

impl Encode for ActionTrace {
    /// Written as `action_trace_v1` (variant index 1), as Leap 5 does.
    fn encode(&self, writer: &mut Writer) {
        writer.write_varuint32(1);
        writer.write_varuint32(self.action_ordinal);
        writer.write_varuint32(self.creator_action_ordinal);
        self.receipt.encode(writer);
        self.receiver.encode(writer);
        self.act.encode(writer);
        writer.write_bool(self.context_free);
        writer.write_i64(self.elapsed);
        writer.write_str(&self.console);
        writer.write_length(0);
        self.except.encode(writer);
        self.error_code.encode(writer);
        writer.write_bytes(&self.return_value);
    }
}

impl Decode for ActionTrace {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        let position = reader.position();
        let version = reader.read_varuint32()?;
        if version > 1 {
            return Err(unknown_variant("action_trace", position, version));
        }
        let action_ordinal = reader.read_varuint32()?;
        let creator_action_ordinal = reader.read_varuint32()?;
        let receipt = Option::decode(reader)?;
        let receiver = Name::decode(reader)?;
        let act = Action::decode(reader)?;
        let context_free = reader.read_bool()?;
        let elapsed = reader.read_i64()?;
        let console = String::decode(reader)?;
        let n_ram_deltas = reader.read_length(16)?;
        for _ in 0..n_ram_deltas {
            Name::decode(reader)?;
            reader.read_i64()?;
        }
        let except = Option::decode(reader)?;
        let error_code = Option::decode(reader)?;
        let return_value = if version == 1 {
            reader.read_bytes()?.to_vec()
        } else {
            Vec::new()
        };
        Ok(Self {
            action_ordinal,
            creator_action_ordinal,
            closest_unnotified_ancestor_action_ordinal: 0,
            receipt,
            receiver,
            act,
            context_free,
            elapsed,
            console,
            except,
            error_code,
            return_value,
        })
    }
}

impl Encode for TransactionTrace {
    fn encode(&self, writer: &mut Writer) {
        writer.write_varuint32(0);
        self.id.encode(writer);
        writer.write_u8(self.status);
        writer.write_u32(self.cpu_usage_us);
        writer.write_varuint32(self.net_usage_words);
        writer.write_i64(self.elapsed);
        writer.write_u64(self.net_usage);
        writer.write_bool(self.scheduled);
        self.action_traces.encode(writer);
        // account_ram_delta
        writer.write_u8(0);
        self.except.encode(writer);
        self.error_code.encode(writer);
        // failed_dtrx_trace, partial
        writer.write_u8(0);
        writer.write_u8(0);
    }
}

impl Decode for TransactionTrace {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        expect_variant(reader, "transaction_trace", 0)?;
        let id = Checksum256::decode(reader)?;
        let status = reader.read_u8()?;
        let cpu_usage_us = reader.read_u32()?;
        let net_usage_words = reader.read_varuint32()?;
        let elapsed = reader.read_i64()?;
        let net_usage = reader.read_u64()?;
        let scheduled = reader.read_bool()?;
        let action_traces = Vec::decode(reader)?;
        if reader.read_optional_flag()? {
            Name::decode(reader)?;
            reader.read_i64()?;
        }
        let except = Option::decode(reader)?;
        let error_code = Option::decode(reader)?;
        let position = reader.position();
        if reader.read_optional_flag()? || reader.read_optional_flag()? {
            return Err(binary::Error::InvalidValue {
                type_name: "transaction_trace",
                position,
                source: "deferred transaction traces are not supported".into(),
            });
        }
        Ok(Self {
            id,
            status,
            cpu_usage_us,
            net_usage_words,
            elapsed,
            net_usage,
            scheduled,
            action_traces,
            except,
            error_code,
        })
    }
}

impl Encode for DeltaRow {
    fn encode(&self, writer: &mut Writer) {
        writer.write_bool(self.present);
        writer.write_bytes(&self.data);
    }
}

impl Decode for DeltaRow {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        Ok(Self {
            present: reader.read_bool()?,
            data: reader.read_bytes()?.to_vec(),
        })
    }
}

impl Encode for TableDelta {
    fn encode(&self, writer: &mut Writer) {
        writer.write_varuint32(0);
        writer.write_str(&self.name);
        self.rows.encode(writer);
    }
}

impl Decode for TableDelta {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        expect_variant(reader, "table_delta", 0)?;
        Ok(Self {
            name: String::decode(reader)?,
            rows: Vec::decode(reader)?,
        })
    }
}

impl Encode for ContractRow {
    fn encode(&self, writer: &mut Writer) {
        writer.write_varuint32(0);
        self.code.encode(writer);
        self.scope.encode(writer);
        self.table.encode(writer);
        writer.write_u64(self.primary_key);
        self.payer.encode(writer);
        writer.write_bytes(&self.value);
    }
}

impl Decode for ContractRow {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        expect_variant(reader, "contract_row", 0)?;
        Ok(Self {
            code: Name::decode(reader)?,
            scope: Name::decode(reader)?,
            table: Name::decode(reader)?,
            primary_key: reader.read_u64()?,
            payer: Name::decode(reader)?,
            value: reader.read_bytes()?.to_vec(),
        })
    }
}

fn expect_variant(
    reader: &mut Reader<'_>,
    type_name: &'static str,
    expected: u32,
) -> binary::Result<()> {
    let position = reader.position();
    let index = reader.read_varuint32()?;
    if index == expected {
        Ok(())
    } else {
        Err(unknown_variant(type_name, position, index))
    }
}

fn unknown_variant(type_name: &'static str, position: usize, index: u32) -> binary::Error {
    binary::Error::InvalidValue {
        type_name,
        position,
        source: format!("unknown variant index {index}").into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(block_num: u32) -> BlockPosition {
        BlockPosition {
            block_num,
            block_id: Checksum256::new([block_num as u8; 32]),
        }
    }

    #[test]
    fn abi_names_every_type_it_uses() {
        let abi = abi_json();
        let mut known: Vec<String> = [
            "bool",
            "uint8",
            "uint16",
            "uint32",
            "uint64",
            "uint128",
            "int64",
            "varuint32",
            "name",
            "string",
            "bytes",
            "checksum256",
            "public_key",
            "signature",
            "time_point",
            "time_point_sec",
            "block_timestamp_type",
            "transaction_id",
        ]
        .iter()
        .map(|name| (*name).to_owned())
        .collect();
        known.extend(STRUCTS.iter().map(|(name, _, _)| (*name).to_owned()));
        known.extend(VARIANTS.iter().map(|(name, _)| (*name).to_owned()));
        for (_, base, fields) in STRUCTS {
            assert!(
                base.is_empty() || known.iter().any(|k| k == base),
                "base {base}"
            );
            for (field, type_) in *fields {
                let bare = type_.trim_end_matches(['?', '$']).trim_end_matches("[]");
                assert!(known.iter().any(|k| k == bare), "{field}: {type_}");
            }
        }
        for (name, types) in VARIANTS {
            for type_ in *types {
                assert!(known.iter().any(|k| k == type_), "{name}: {type_}");
            }
        }
        assert_eq!(abi["variants"][0]["name"], "request");
        assert!(abi_text().starts_with('{'));
        for (table, key_names) in TABLES {
            let row_type = VARIANTS
                .iter()
                .find(|(name, _)| name == table)
                .and_then(|(_, types)| types.first())
                .unwrap_or_else(|| panic!("table {table} has a row variant"));
            let fields: &[FieldDef] = STRUCTS
                .iter()
                .find(|(name, _, _)| name == row_type)
                .map(|(_, _, fields)| *fields)
                .unwrap_or_else(|| panic!("row type {row_type}"));
            for key in *key_names {
                assert!(
                    fields.iter().any(|(field, _)| field == key),
                    "{table}: key {key}"
                );
            }
        }
        assert_eq!(abi["tables"][1]["name"], "account_metadata");
        assert_eq!(abi["tables"][1]["type"], "account_metadata");
    }

    #[test]
    fn requests_round_trip() {
        let requests = [
            Request::GetStatus,
            Request::GetBlocks(GetBlocksRequestV0 {
                start_block_num: 2,
                end_block_num: u32::MAX,
                max_messages_in_flight: 10,
                have_positions: vec![position(1)],
                irreversible_only: false,
                fetch_block: true,
                fetch_traces: true,
                fetch_deltas: false,
            }),
            Request::GetBlocksAck(1),
        ];
        for request in requests {
            let bytes = binary::to_bytes(&request);
            assert_eq!(
                binary::from_bytes::<Request>(&bytes).expect("decodes"),
                request
            );
        }
        assert_eq!(
            binary::to_bytes(&Request::GetBlocksAck(1)),
            vec![2, 1, 0, 0, 0]
        );
    }

    #[test]
    fn results_round_trip() {
        let results = [
            ShipResult::Status(GetStatusResultV0 {
                head: position(5),
                last_irreversible: position(4),
                trace_begin_block: 1,
                trace_end_block: 6,
                chain_state_begin_block: 1,
                chain_state_end_block: 6,
                chain_id: Some(Checksum256::new([7; 32])),
            }),
            ShipResult::Blocks(GetBlocksResultV0 {
                head: position(5),
                last_irreversible: position(4),
                this_block: Some(position(3)),
                prev_block: None,
                block: Some(vec![1, 2, 3]),
                traces: None,
                deltas: Some(Vec::new()),
            }),
        ];
        for result in results {
            let bytes = binary::to_bytes(&result);
            assert_eq!(
                binary::from_bytes::<ShipResult>(&bytes).expect("decodes"),
                result
            );
        }
    }

    #[test]
    fn deltas_round_trip() {
        let row = ContractRow {
            code: Name::from_str_const("soviet"),
            scope: Name::from_str_const("voskhod"),
            table: Name::from_str_const("decisions"),
            primary_key: 1,
            payer: Name::from_str_const("voskhod"),
            value: vec![9, 9],
        };
        let delta = TableDelta {
            name: "contract_row".to_owned(),
            rows: vec![DeltaRow {
                present: true,
                data: binary::to_bytes(&row),
            }],
        };
        let decoded: Vec<TableDelta> =
            binary::from_bytes(&binary::to_bytes(&vec![delta.clone()])).expect("decodes");
        assert_eq!(decoded, vec![delta]);
        let back: ContractRow = binary::from_bytes(&decoded[0].rows[0].data).expect("row");
        assert_eq!(back, row);
    }
}
