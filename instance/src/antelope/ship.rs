//! The State History (SHiP) protocol as Leap 5 and COOPOS speak it, with the additions of
//! Spring 1.x: the protocol's own ABI (sent as the first, text, websocket frame) and the typed
//! messages, traces and table deltas with their binary layouts.
//!
//! - [`messages`]: requests and results, and the [`Protocol`] that numbers them as a server's
//!   ABI does (Leap 5 and Spring number the `request` and `result` variants differently).
//! - [`trace`]: transaction and action traces, with what real nodes put in them (`partial`,
//!   nested `failed_dtrx_trace`, RAM deltas).
//! - [`delta`]: table deltas, read only for the state tables a caller names.
//!
//! The ABI here is Leap 5's, type for type (a test compares it with the published one), so any
//! client decoding with the ABI it received reads the devnet's messages, and the typed decoders
//! are checked against a server's ABI before its messages are read. Nothing here does I/O.

pub mod delta;
pub mod messages;
pub mod trace;

use serde_json::{Value, json};

use crate::antelope::binary::{self, Reader};

pub use delta::{ContractRow, DeltaRow, TableDelta};
pub use messages::{
    BlockPosition, GetBlocksRequestV0, GetBlocksResult, GetStatusResult, Protocol, Request,
    ShipResult,
};
pub use trace::{
    AccountDelta, ActionReceipt, ActionTrace, PartialTransaction, TransactionTrace, WireSignature,
};

/// `(field name, field type)`.
type FieldDef = (&'static str, &'static str);

/// `(struct name, base, fields)` of every struct in the SHiP ABI, in Leap 5's order.
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
        "code_v0",
        "",
        &[
            ("vm_type", "uint8"),
            ("vm_version", "uint8"),
            ("code_hash", "checksum256"),
            ("code", "bytes"),
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
        "contract_index_double_v0",
        "",
        &[
            ("code", "name"),
            ("scope", "name"),
            ("table", "name"),
            ("primary_key", "uint64"),
            ("payer", "name"),
            ("secondary_key", "float64"),
        ],
    ),
    (
        "contract_index_long_double_v0",
        "",
        &[
            ("code", "name"),
            ("scope", "name"),
            ("table", "name"),
            ("primary_key", "uint64"),
            ("payer", "name"),
            ("secondary_key", "float128"),
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
        "block_signing_authority_v0",
        "",
        &[("threshold", "uint32"), ("keys", "key_weight[]")],
    ),
    (
        "producer_authority",
        "",
        &[
            ("producer_name", "name"),
            ("authority", "block_signing_authority"),
        ],
    ),
    (
        "producer_authority_schedule",
        "",
        &[("version", "uint32"), ("producers", "producer_authority[]")],
    ),
    (
        "chain_config_v0",
        "",
        &[
            ("max_block_net_usage", "uint64"),
            ("target_block_net_usage_pct", "uint32"),
            ("max_transaction_net_usage", "uint32"),
            ("base_per_transaction_net_usage", "uint32"),
            ("net_usage_leeway", "uint32"),
            ("context_free_discount_net_usage_num", "uint32"),
            ("context_free_discount_net_usage_den", "uint32"),
            ("max_block_cpu_usage", "uint32"),
            ("target_block_cpu_usage_pct", "uint32"),
            ("max_transaction_cpu_usage", "uint32"),
            ("min_transaction_cpu_usage", "uint32"),
            ("max_transaction_lifetime", "uint32"),
            ("deferred_trx_expiration_window", "uint32"),
            ("max_transaction_delay", "uint32"),
            ("max_inline_action_size", "uint32"),
            ("max_inline_action_depth", "uint16"),
            ("max_authority_depth", "uint16"),
        ],
    ),
    (
        "chain_config_v1",
        "",
        &[
            ("max_block_net_usage", "uint64"),
            ("target_block_net_usage_pct", "uint32"),
            ("max_transaction_net_usage", "uint32"),
            ("base_per_transaction_net_usage", "uint32"),
            ("net_usage_leeway", "uint32"),
            ("context_free_discount_net_usage_num", "uint32"),
            ("context_free_discount_net_usage_den", "uint32"),
            ("max_block_cpu_usage", "uint32"),
            ("target_block_cpu_usage_pct", "uint32"),
            ("max_transaction_cpu_usage", "uint32"),
            ("min_transaction_cpu_usage", "uint32"),
            ("max_transaction_lifetime", "uint32"),
            ("deferred_trx_expiration_window", "uint32"),
            ("max_transaction_delay", "uint32"),
            ("max_inline_action_size", "uint32"),
            ("max_inline_action_depth", "uint16"),
            ("max_authority_depth", "uint16"),
            ("max_action_return_value_size", "uint32"),
        ],
    ),
    (
        "wasm_config_v0",
        "",
        &[
            ("max_mutable_global_bytes", "uint32"),
            ("max_table_elements", "uint32"),
            ("max_section_elements", "uint32"),
            ("max_linear_memory_init", "uint32"),
            ("max_func_local_bytes", "uint32"),
            ("max_nested_structures", "uint32"),
            ("max_symbol_bytes", "uint32"),
            ("max_module_bytes", "uint32"),
            ("max_code_bytes", "uint32"),
            ("max_pages", "uint32"),
            ("max_call_depth", "uint32"),
        ],
    ),
    (
        "global_property_v0",
        "",
        &[
            ("proposed_schedule_block_num", "uint32?"),
            ("proposed_schedule", "producer_schedule"),
            ("configuration", "chain_config"),
        ],
    ),
    (
        "global_property_v1",
        "",
        &[
            ("proposed_schedule_block_num", "uint32?"),
            ("proposed_schedule", "producer_authority_schedule"),
            ("configuration", "chain_config"),
            ("chain_id", "checksum256"),
            ("wasm_configuration", "wasm_config$"),
        ],
    ),
    (
        "generated_transaction_v0",
        "",
        &[
            ("sender", "name"),
            ("sender_id", "uint128"),
            ("payer", "name"),
            ("trx_id", "checksum256"),
            ("packed_trx", "bytes"),
        ],
    ),
    (
        "activated_protocol_feature_v0",
        "",
        &[
            ("feature_digest", "checksum256"),
            ("activation_block_num", "uint32"),
        ],
    ),
    (
        "protocol_state_v0",
        "",
        &[(
            "activated_protocol_features",
            "activated_protocol_feature[]",
        )],
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
    (
        "permission_link_v0",
        "",
        &[
            ("account", "name"),
            ("code", "name"),
            ("message_type", "name"),
            ("required_permission", "name"),
        ],
    ),
    (
        "resource_limits_v0",
        "",
        &[
            ("owner", "name"),
            ("net_weight", "int64"),
            ("cpu_weight", "int64"),
            ("ram_bytes", "int64"),
        ],
    ),
    (
        "usage_accumulator_v0",
        "",
        &[
            ("last_ordinal", "uint32"),
            ("value_ex", "uint64"),
            ("consumed", "uint64"),
        ],
    ),
    (
        "resource_usage_v0",
        "",
        &[
            ("owner", "name"),
            ("net_usage", "usage_accumulator"),
            ("cpu_usage", "usage_accumulator"),
            ("ram_usage", "uint64"),
        ],
    ),
    (
        "resource_limits_state_v0",
        "",
        &[
            ("average_block_net_usage", "usage_accumulator"),
            ("average_block_cpu_usage", "usage_accumulator"),
            ("total_net_weight", "uint64"),
            ("total_cpu_weight", "uint64"),
            ("total_ram_bytes", "uint64"),
            ("virtual_net_limit", "uint64"),
            ("virtual_cpu_limit", "uint64"),
        ],
    ),
    (
        "resource_limits_ratio_v0",
        "",
        &[("numerator", "uint64"), ("denominator", "uint64")],
    ),
    (
        "elastic_limit_parameters_v0",
        "",
        &[
            ("target", "uint64"),
            ("max", "uint64"),
            ("periods", "uint32"),
            ("max_multiplier", "uint32"),
            ("contract_rate", "resource_limits_ratio"),
            ("expand_rate", "resource_limits_ratio"),
        ],
    ),
    (
        "resource_limits_config_v0",
        "",
        &[
            ("cpu_limit_parameters", "elastic_limit_parameters"),
            ("net_limit_parameters", "elastic_limit_parameters"),
            ("account_cpu_usage_average_window", "uint32"),
            ("account_net_usage_average_window", "uint32"),
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
    ("action_trace", &["action_trace_v0", "action_trace_v1"]),
    (
        "transaction_variant",
        &["transaction_id", "packed_transaction"],
    ),
    ("chain_config", &["chain_config_v0", "chain_config_v1"]),
    (
        "global_property",
        &["global_property_v0", "global_property_v1"],
    ),
    ("action_receipt", &["action_receipt_v0"]),
    ("partial_transaction", &["partial_transaction_v0"]),
    ("transaction_trace", &["transaction_trace_v0"]),
    ("table_delta", &["table_delta_v0"]),
    ("account", &["account_v0"]),
    ("account_metadata", &["account_metadata_v0"]),
    ("code", &["code_v0"]),
    ("contract_table", &["contract_table_v0"]),
    ("contract_row", &["contract_row_v0"]),
    ("contract_index64", &["contract_index64_v0"]),
    ("contract_index128", &["contract_index128_v0"]),
    ("contract_index256", &["contract_index256_v0"]),
    ("contract_index_double", &["contract_index_double_v0"]),
    (
        "contract_index_long_double",
        &["contract_index_long_double_v0"],
    ),
    ("wasm_config", &["wasm_config_v0"]),
    ("generated_transaction", &["generated_transaction_v0"]),
    (
        "activated_protocol_feature",
        &["activated_protocol_feature_v0"],
    ),
    ("protocol_state", &["protocol_state_v0"]),
    ("permission", &["permission_v0"]),
    ("permission_link", &["permission_link_v0"]),
    ("resource_limits", &["resource_limits_v0"]),
    ("usage_accumulator", &["usage_accumulator_v0"]),
    ("resource_usage", &["resource_usage_v0"]),
    ("resource_limits_state", &["resource_limits_state_v0"]),
    ("resource_limits_ratio", &["resource_limits_ratio_v0"]),
    ("elastic_limit_parameters", &["elastic_limit_parameters_v0"]),
    ("resource_limits_config", &["resource_limits_config_v0"]),
    ("block_signing_authority", &["block_signing_authority_v0"]),
];

/// `(table name, key names)` of every state table, as nodeos lists them: the delta's `name` is
/// the table name, and the row type is the variant of the same name.
const TABLES: &[(&str, &[&str])] = &[
    ("account", &["name"]),
    ("account_metadata", &["name"]),
    ("code", &["vm_type", "vm_version", "code_hash"]),
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
    (
        "contract_index_double",
        &["code", "scope", "table", "primary_key"],
    ),
    (
        "contract_index_long_double",
        &["code", "scope", "table", "primary_key"],
    ),
    ("global_property", &[]),
    ("generated_transaction", &["sender", "sender_id"]),
    ("protocol_state", &[]),
    ("permission", &["owner", "name"]),
    ("permission_link", &["account", "code", "message_type"]),
    ("resource_limits", &["owner"]),
    ("resource_usage", &["owner"]),
    ("resource_limits_state", &[]),
    ("resource_limits_config", &[]),
];

/// The SHiP ABI as JSON, `eosio::abi/1.1` with variants.
///
/// Its `tables` list maps each delta name to its row type, as nodeos' does; clients look the
/// type of a `table_delta` up there. The table names are longer than an Antelope `name`
/// (`account_metadata`), so this is JSON text for SHiP clients, not a contract ABI.
/// Spring's additions are not in it: the devnet speaks as a Leap 5 node.
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

/// Reads a variant index and checks it is the one the typed decoder reads.
pub(crate) fn expect_variant(
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

/// The error for a variant index no typed decoder reads.
pub(crate) fn unknown_variant(
    type_name: &'static str,
    position: usize,
    index: u32,
) -> binary::Error {
    binary::Error::InvalidValue {
        type_name,
        position,
        source: format!("unknown variant index {index}").into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "float64",
            "float128",
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

    /// The devnet's ABI is the one Leap 5 publishes, struct for struct and variant for variant.
    #[test]
    fn abi_is_leap5s() {
        let published: Value =
            serde_json::from_str(include_str!("../../tests/data/ship/leap5-ship-abi.json"))
                .expect("the published ABI parses");
        let ours = abi_json();
        let by_name = |abi: &Value, list: &str| -> Vec<(String, Value)> {
            let mut items: Vec<(String, Value)> = abi[list]
                .as_array()
                .expect("a list")
                .iter()
                .map(|item| {
                    let mut item = item.clone();
                    if let Some(object) = item.as_object_mut()
                        && object.get("base").is_some_and(|base| base == "")
                    {
                        object.remove("base");
                    }
                    (item["name"].as_str().expect("named").to_owned(), item)
                })
                .collect();
            items.sort_by(|a, b| a.0.cmp(&b.0));
            items
        };
        for list in ["structs", "variants", "tables"] {
            assert_eq!(by_name(&ours, list), by_name(&published, list), "{list}");
        }
        assert_eq!(ours["types"], published["types"]);
    }
}
