//! The ABI-driven decoder on hostile bytes: no input may panic, the decoded text must be exactly
//! what `serde_json` prints for the decoded value, and a decoded value must encode to bytes that
//! decode to the same value. (Bytes themselves may differ: a float NaN prints as
//! `"nan"` whatever its payload, as nodeos prints it.)

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mono_instance::antelope::abi::Abi;

/// One struct per kind of field the codec knows, plus nesting, variants and binary extensions.
const ABI: &str = r#"{
  "version": "eosio::abi/1.2",
  "types": [{"new_type_name": "account_name", "type": "name"}],
  "structs": [
    {"name": "ints", "base": "", "fields": [
      {"name": "a", "type": "bool"}, {"name": "b", "type": "int8"}, {"name": "c", "type": "uint16"},
      {"name": "d", "type": "int32"}, {"name": "e", "type": "uint64"}, {"name": "f", "type": "int128"},
      {"name": "g", "type": "varuint32"}, {"name": "h", "type": "varint32"},
      {"name": "i", "type": "float32"}, {"name": "j", "type": "float64"}, {"name": "k", "type": "float128"}]},
    {"name": "chain", "base": "", "fields": [
      {"name": "who", "type": "account_name"}, {"name": "when", "type": "time_point"},
      {"name": "sec", "type": "time_point_sec"}, {"name": "slot", "type": "block_timestamp_type"},
      {"name": "sym", "type": "symbol"}, {"name": "code", "type": "symbol_code"},
      {"name": "amount", "type": "asset"}, {"name": "ext", "type": "extended_asset"},
      {"name": "c160", "type": "checksum160"}, {"name": "c256", "type": "checksum256"},
      {"name": "c512", "type": "checksum512"}, {"name": "key", "type": "public_key"},
      {"name": "sig", "type": "signature"}, {"name": "blob", "type": "bytes"}, {"name": "text", "type": "string"}]},
    {"name": "node", "base": "", "fields": [
      {"name": "label", "type": "string"}, {"name": "children", "type": "node[]"},
      {"name": "choice", "type": "choice?"}]},
    {"name": "derived", "base": "chain", "fields": [
      {"name": "pair", "type": "uint8[2]"}, {"name": "later", "type": "string$"}, {"name": "last", "type": "ints$"}]}
  ],
  "variants": [{"name": "choice", "types": ["uint8", "string", "node", "ints"]}],
  "actions": [], "tables": [], "ricardian_clauses": [], "error_messages": [], "abi_extensions": []
}"#;

const TYPES: &[&str] = &["ints", "chain", "node", "derived", "choice", "node[]", "asset?", "string"];

static LOADED: LazyLock<Abi> = LazyLock::new(|| Abi::from_json_str(ABI).expect("the fuzz ABI loads"));

fuzz_target!(|bytes: &[u8]| {
    let Some((&selector, data)) = bytes.split_first() else {
        return;
    };
    let type_name = TYPES[usize::from(selector) % TYPES.len()];
    if let Ok(text) = LOADED.decode_to_text(type_name, data) {
        let value: serde_json::Value = serde_json::from_str(&text).expect("decoded text parses");
        assert_eq!(value.to_string(), text, "{type_name} text is not canonical");
        let encoded = LOADED.encode(type_name, &value).expect("decoded values encode");
        let again = LOADED.decode(type_name, &encoded).expect("encoded values decode");
        assert_eq!(again, value, "{type_name} did not round-trip");
    }
});
