//! Plain values the store writes and reads: one block's events as a [`BlockBatch`], the cursor,
//! ABI versions and table rows.
//!
//! These types carry no protocol logic; the parser converts its protocol values into them.
//! Records inside a batch have no block number of their own: they belong to the batch's block,
//! so a batch cannot mix events of different blocks.
//!
//! Batches serialize to JSON (ids, hashes and bytes as lowercase hex, JSON text as a string
//! holding it exactly) for the export bundle.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::antelope::json::hex_bytes;

/// Compact JSON text, kept as text from the decoder to the database and back, so events are
/// stored exactly as decoded (field order included) without building a value tree per event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonText(String);

impl JsonText {
    /// Checks that `text` is one JSON value and keeps it as it is.
    ///
    /// # Errors
    /// When `text` is not valid JSON.
    pub fn parse(text: String) -> Result<Self, serde_json::Error> {
        serde_json::from_str::<serde::de::IgnoredAny>(&text)?;
        Ok(Self(text))
    }

    /// The compact text of `value`.
    pub fn from_value(value: &Value) -> Self {
        Self(value.to_string())
    }

    /// Text its writer guarantees is valid JSON (the ABI decoder's output), kept unchecked.
    pub(crate) fn new_unchecked(text: String) -> Self {
        Self(text)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value the text holds.
    ///
    /// # Errors
    /// Never for text made by this type's constructors; the error comes from `serde_json`.
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(&self.0)
    }
}

impl Serialize for JsonText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for JsonText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl From<Value> for JsonText {
    fn from(value: Value) -> Self {
        Self::from_value(&value)
    }
}

impl std::fmt::Display for JsonText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A block header as stored: number, id, the id of the previous block and the block time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRecord {
    /// Block number.
    pub block_num: u32,
    /// Block id (checksum256).
    #[serde(with = "hex32")]
    pub block_id: [u8; 32],
    /// Id of the block this one extends; the store checks it against the cursor.
    #[serde(with = "hex32")]
    pub previous: [u8; 32],
    /// Block time in milliseconds since the Unix epoch (UTC).
    pub timestamp_ms: i64,
}

/// One action trace, keyed by its `global_sequence`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// Chain-wide unique sequence number of the action's receipt; the natural key.
    pub global_sequence: u64,
    /// Id of the transaction that carried the action.
    #[serde(with = "hex32")]
    pub trx_id: [u8; 32],
    /// Ordinal of the action inside its transaction trace (1-based).
    pub action_ordinal: u32,
    /// Ordinal of the action that created this one inline, 0 for a top-level action.
    pub creator_action_ordinal: u32,
    /// Account whose code ran the action (differs from `account` for notifications).
    pub receiver: String,
    /// Contract account of the action.
    pub account: String,
    /// Action name.
    pub name: String,
    /// Authorization list as JSON (`[{"actor": …, "permission": …}]`).
    pub authorization: JsonText,
    /// Action data decoded with the ABI in force at the block, `None` when it could not be decoded.
    pub data: Option<JsonText>,
    /// The action data exactly as it was on the chain, so it can be decoded again later.
    #[serde(with = "hex_bytes")]
    pub raw: Vec<u8>,
    /// Hash of the ABI that decoded `data` (see [`AbiRecord::abi_hash`]), `None` when undecoded.
    #[serde(with = "hex32_option")]
    pub abi_hash: Option<[u8; 32]>,
}

/// One contract table row change, keyed by `(code, scope, table_name, primary_key, block_num)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeltaRecord {
    /// Contract account owning the table.
    pub code: String,
    /// Table scope.
    pub scope: String,
    /// Table name.
    pub table_name: String,
    /// Primary key of the row.
    pub primary_key: u64,
    /// `true` when the row exists after the block, `false` when the block removed it.
    pub present: bool,
    /// Account paying for the row's RAM.
    pub payer: String,
    /// Row value decoded with the ABI in force at the block, `None` when it could not be decoded.
    pub value: Option<JsonText>,
    /// The row bytes exactly as they were on the chain.
    #[serde(with = "hex_bytes")]
    pub raw: Vec<u8>,
    /// Hash of the ABI that decoded `value`, `None` when undecoded.
    #[serde(with = "hex32_option")]
    pub abi_hash: Option<[u8; 32]>,
}

/// An ABI set on `account` in the batch's block; it is in force from that block on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbiRecord {
    /// Contract account the ABI belongs to.
    pub account: String,
    /// The binary ABI as set on the chain (empty when the ABI was cleared).
    #[serde(with = "hex_bytes")]
    pub abi: Vec<u8>,
}

impl AbiRecord {
    /// SHA-256 of the binary ABI: the version every decoded event refers to.
    pub fn abi_hash(&self) -> [u8; 32] {
        Sha256::digest(&self.abi).into()
    }
}

/// What part of a block could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UndecodableKind {
    /// The block message itself.
    Block,
    /// A transaction trace.
    Transaction,
    /// An action trace.
    Action,
    /// A table delta.
    Delta,
    /// An ABI set on the chain.
    Abi,
}

impl UndecodableKind {
    /// The spelling stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Transaction => "transaction",
            Self::Action => "action",
            Self::Delta => "delta",
            Self::Abi => "abi",
        }
    }

    /// Parses the stored spelling back; `None` for anything else.
    pub fn from_stored(text: &str) -> Option<Self> {
        [
            Self::Block,
            Self::Transaction,
            Self::Action,
            Self::Delta,
            Self::Abi,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

/// Input that could not be decoded, kept with its raw bytes and the reason.
///
/// `(block_num, kind, locator)` is the natural key: `locator` says where in the block the bytes
/// came from (for example `trx 3 action 2` or `soviet/decisions/5`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndecodableRecord {
    /// What could not be decoded.
    pub kind: UndecodableKind,
    /// Where in the block it was.
    pub locator: String,
    /// The bytes as received.
    #[serde(with = "hex_bytes")]
    pub raw: Vec<u8>,
    /// Why decoding failed.
    pub reason: String,
}

/// Everything one block contributes to the store, committed atomically with the cursor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockBatch {
    /// The block header.
    pub block: BlockRecord,
    /// Last irreversible block known when this block was read; stored in the cursor.
    pub lib: u32,
    /// The cooperative's actions in the block.
    pub actions: Vec<ActionRecord>,
    /// The cooperative's table deltas in the block.
    pub deltas: Vec<DeltaRecord>,
    /// ABIs set in the block; when an account's ABI is set twice, the later one is kept.
    pub abis: Vec<AbiRecord>,
    /// Parts of the block that could not be decoded.
    pub undecodable: Vec<UndecodableRecord>,
}

impl BlockBatch {
    /// A batch holding only the block header, to which events are then added.
    pub fn new(block: BlockRecord, lib: u32) -> Self {
        Self {
            block,
            lib,
            actions: Vec::new(),
            deltas: Vec::new(),
            abis: Vec::new(),
            undecodable: Vec::new(),
        }
    }
}

/// The last committed block: where following resumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Number of the last committed block.
    pub block_num: u32,
    /// Id of the last committed block.
    #[serde(with = "hex32")]
    pub block_id: [u8; 32],
    /// Last irreversible block known at that commit (never above `block_num` after a rollback).
    pub lib: u32,
}

/// An ABI version as stored, returned by [`Store::abi_at`](super::Store::abi_at).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbiVersion {
    /// Contract account.
    pub account: String,
    /// Block from which this ABI is in force.
    pub block_num: u32,
    /// SHA-256 of `abi`.
    pub abi_hash: [u8; 32],
    /// The binary ABI.
    pub abi: Vec<u8>,
}

/// An event read back from the store together with the block it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored<T> {
    /// Block the event was committed with.
    pub block_num: u32,
    /// The event as it was written.
    pub record: T,
}

/// Number of stored events, optionally only up to a block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCounts {
    /// Stored blocks.
    pub blocks: u64,
    /// Stored actions.
    pub actions: u64,
    /// Stored table deltas.
    pub deltas: u64,
    /// Stored ABI versions.
    pub abis: u64,
    /// Stored undecodable records.
    pub undecodable: u64,
}

/// `#[serde(with = "hex32")]`: a 32-byte id as lowercase hex.
pub(crate) mod hex32 {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        id: &[u8; 32],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(id))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<[u8; 32], D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let mut id = [0; 32];
        hex::decode_to_slice(text.as_ref(), &mut id).map_err(serde::de::Error::custom)?;
        Ok(id)
    }
}

/// `#[serde(with = "hex32_option")]`: an optional 32-byte hash as lowercase hex or `null`.
mod hex32_option {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Hex(#[serde(with = "hex32")] [u8; 32]);

    pub(super) fn serialize<S: Serializer>(
        hash: &Option<[u8; 32]>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        hash.map(Hex).serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<[u8; 32]>, D::Error> {
        Ok(Option::<Hex>::deserialize(deserializer)?.map(|Hex(hash)| hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_text_keeps_valid_text_exactly_and_rejects_the_rest() {
        let text = r#"{"b":1,  "a":[true,null]}"#;
        let kept = JsonText::parse(text.to_owned()).expect("valid JSON");
        assert_eq!(kept.as_str(), text);
        assert_eq!(
            kept.to_value().ok(),
            Some(serde_json::json!({"b": 1, "a": [true, null]}))
        );
        for bad in ["", "{", r#"{"a":1} x"#, "nan", "'a'"] {
            assert!(JsonText::parse(bad.to_owned()).is_err(), "{bad:?}");
        }
        let from_value = JsonText::from(serde_json::json!({"z": "\u{0}", "a": 1}));
        assert_eq!(from_value.as_str(), r#"{"z":"\u0000","a":1}"#);
    }

    #[test]
    fn undecodable_kind_round_trips_its_stored_spelling() {
        for kind in [
            UndecodableKind::Block,
            UndecodableKind::Transaction,
            UndecodableKind::Action,
            UndecodableKind::Delta,
            UndecodableKind::Abi,
        ] {
            assert_eq!(UndecodableKind::from_stored(kind.as_str()), Some(kind));
        }
        assert_eq!(UndecodableKind::from_stored("row"), None);
    }

    #[test]
    fn abi_hash_is_sha256_of_the_binary_abi() {
        let abi = AbiRecord {
            account: "soviet".into(),
            abi: Vec::new(),
        };
        assert_eq!(
            hex::encode(abi.abi_hash()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
