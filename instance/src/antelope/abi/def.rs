//! The `abi_def` model of ABI versions `eosio::abi/1.0` to `1.2`, read and written both as JSON
//! (`get_abi`, `.abi` files) and as the binary `abi_def` (`get_raw_abi`, `setabi`).
//!
//! This is the data as published, unvalidated; [`crate::antelope::abi::Abi`] resolves and checks
//! it. The binary form ends with two binary extensions, `variants` and `action_results`, which
//! older ABIs leave out; they are always written.

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::antelope::binary::{self, Decode, Encode, Reader, Writer};
use crate::antelope::json;
use crate::antelope::name::Name;

/// A contract ABI as published.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbiDef {
    /// `eosio::abi/1.x`.
    pub version: String,
    /// Type aliases.
    #[serde(default)]
    pub types: Vec<TypeDef>,
    /// Struct layouts.
    #[serde(default)]
    pub structs: Vec<StructDef>,
    /// Actions and the struct their data is.
    #[serde(default)]
    pub actions: Vec<ActionDef>,
    /// Tables and the struct their rows are.
    #[serde(default)]
    pub tables: Vec<TableDef>,
    /// Ricardian clauses.
    #[serde(default)]
    pub ricardian_clauses: Vec<ClausePair>,
    /// Error codes a contract may report.
    #[serde(default)]
    pub error_messages: Vec<ErrorMessage>,
    /// Extensions as `(tag, data)` pairs.
    #[serde(default)]
    pub abi_extensions: Vec<AbiExtension>,
    /// Variant (tagged union) types; a binary extension.
    #[serde(default)]
    pub variants: Vec<VariantDef>,
    /// The types actions return; a binary extension.
    #[serde(default)]
    pub action_results: Vec<ActionResultDef>,
}

/// An alias: `new_type_name` means `type`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeDef {
    /// The alias.
    pub new_type_name: String,
    /// The type it stands for.
    #[serde(rename = "type")]
    pub type_name: String,
}

/// A struct: its base's fields, then its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StructDef {
    /// The struct's type name.
    pub name: String,
    /// The base struct, or empty.
    #[serde(default)]
    pub base: String,
    /// Fields in wire order.
    #[serde(default)]
    pub fields: Vec<FieldDef>,
}

/// One struct field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    /// The field's JSON key.
    pub name: String,
    /// Its type, with any `[]`, `?`, `$` or `[N]` suffix.
    #[serde(rename = "type")]
    pub type_name: String,
}

/// An action and the type of its data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionDef {
    /// The action name.
    pub name: Name,
    /// The type of its data.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The Ricardian contract text.
    #[serde(default)]
    pub ricardian_contract: String,
}

/// A table and the type of its rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDef {
    /// The table name.
    pub name: Name,
    /// The primary index type, usually `i64`.
    #[serde(default)]
    pub index_type: String,
    /// Names of the keys.
    #[serde(default)]
    pub key_names: Vec<String>,
    /// Types of the keys.
    #[serde(default)]
    pub key_types: Vec<String>,
    /// The type of its rows.
    #[serde(rename = "type")]
    pub type_name: String,
}

/// A Ricardian clause.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClausePair {
    /// The clause id.
    pub id: String,
    /// The clause text.
    pub body: String,
}

/// An error code and its message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMessage {
    /// The code.
    #[serde(with = "json::u64_str")]
    pub error_code: u64,
    /// The message.
    pub error_msg: String,
}

/// An ABI extension: a tag and opaque data, JSON `[tag, "hex"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AbiExtension {
    /// The extension tag.
    pub tag: u16,
    /// The extension data.
    pub data: Vec<u8>,
}

/// A variant: a value of one of `types`, tagged by its index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantDef {
    /// The variant's type name.
    pub name: String,
    /// The alternatives, in tag order.
    #[serde(default)]
    pub types: Vec<String>,
}

/// The type an action returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionResultDef {
    /// The action name.
    pub name: Name,
    /// The type of its return value.
    pub result_type: String,
}

impl AbiDef {
    /// Parses the JSON form (an `.abi` file or the `abi` of `get_abi`).
    pub fn from_json_str(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Reads the binary `abi_def`; every byte must belong to it.
    pub fn from_bin(bytes: &[u8]) -> binary::Result<Self> {
        binary::from_bytes(bytes)
    }

    /// Reads the base64 of a binary `abi_def`, as `get_raw_abi` returns it.
    pub fn from_base64(text: &str) -> Result<Self, FromBase64Error> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(text.trim())?;
        Ok(Self::from_bin(&bytes)?)
    }

    /// Writes the binary `abi_def`, always including `variants` and `action_results`.
    pub fn to_bin(&self) -> Vec<u8> {
        binary::to_bytes(self)
    }
}

/// Why a base64 `abi_def` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FromBase64Error {
    /// The text is not base64.
    #[error("ABI is not valid base64")]
    Base64(#[from] base64::DecodeError),
    /// The bytes are not an `abi_def`.
    #[error("ABI bytes are not a valid abi_def")]
    Binary(#[from] binary::Error),
}

impl Serialize for AbiExtension {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.tag, hex::encode(&self.data)).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for AbiExtension {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (tag, data) = <(u16, String)>::deserialize(deserializer)?;
        let data = hex::decode(data).map_err(serde::de::Error::custom)?;
        Ok(Self { tag, data })
    }
}

impl Encode for AbiDef {
    fn encode(&self, writer: &mut Writer) {
        self.version.encode(writer);
        self.types.encode(writer);
        self.structs.encode(writer);
        self.actions.encode(writer);
        self.tables.encode(writer);
        self.ricardian_clauses.encode(writer);
        self.error_messages.encode(writer);
        self.abi_extensions.encode(writer);
        self.variants.encode(writer);
        self.action_results.encode(writer);
    }
}

impl Decode for AbiDef {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        let version = String::decode(reader)?;
        let types = Vec::decode(reader)?;
        let structs = Vec::decode(reader)?;
        let actions = Vec::decode(reader)?;
        let tables = Vec::decode(reader)?;
        let ricardian_clauses = Vec::decode(reader)?;
        let error_messages = Vec::decode(reader)?;
        let abi_extensions = Vec::decode(reader)?;
        let variants = decode_extension(reader)?;
        let action_results = decode_extension(reader)?;
        Ok(Self {
            version,
            types,
            structs,
            actions,
            tables,
            ricardian_clauses,
            error_messages,
            abi_extensions,
            variants,
            action_results,
        })
    }
}

/// A trailing binary-extension list: empty when the stream has ended.
fn decode_extension<T: Decode>(reader: &mut Reader<'_>) -> binary::Result<Vec<T>> {
    if reader.is_at_end() {
        Ok(Vec::new())
    } else {
        Vec::decode(reader)
    }
}

/// Implements [`Encode`] and [`Decode`] for a struct as its fields in order.
macro_rules! impl_fields_codec {
    ($($ty:ty { $($field:ident),* })*) => {$(
        impl Encode for $ty {
            fn encode(&self, writer: &mut Writer) {
                $(self.$field.encode(writer);)*
            }
        }

        impl Decode for $ty {
            fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
                Ok(Self { $($field: Decode::decode(reader)?),* })
            }
        }
    )*};
}

impl_fields_codec! {
    TypeDef { new_type_name, type_name }
    StructDef { name, base, fields }
    FieldDef { name, type_name }
    ActionDef { name, type_name, ricardian_contract }
    TableDef { name, index_type, key_names, key_types, type_name }
    ClausePair { id, body }
    ErrorMessage { error_code, error_msg }
    AbiExtension { tag, data }
    VariantDef { name, types }
    ActionResultDef { name, result_type }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOKEN_ABI: &str = r#"{
        "version": "eosio::abi/1.1",
        "types": [{"new_type_name": "account_name", "type": "name"}],
        "structs": [{"name": "transfer", "base": "", "fields": [
            {"name": "from", "type": "account_name"}, {"name": "to", "type": "name"},
            {"name": "quantity", "type": "asset"}, {"name": "memo", "type": "string"}]}],
        "actions": [{"name": "transfer", "type": "transfer", "ricardian_contract": ""}],
        "tables": [{"name": "accounts", "index_type": "i64", "key_names": ["currency"],
                    "key_types": ["uint64"], "type": "account"}],
        "ricardian_clauses": [{"id": "c1", "body": "text"}],
        "error_messages": [{"error_code": "5000000000", "error_msg": "boom"}],
        "abi_extensions": [[1, "beef"]]
    }"#;

    fn token_def() -> AbiDef {
        AbiDef::from_json_str(TOKEN_ABI).expect("token ABI")
    }

    #[test]
    fn json_fields() {
        let def = token_def();
        assert_eq!(def.types[0].type_name, "name");
        assert_eq!(def.actions[0].name.to_string(), "transfer");
        assert_eq!(def.tables[0].key_types, ["uint64"]);
        assert_eq!(def.error_messages[0].error_code, 5_000_000_000);
        assert_eq!(
            def.abi_extensions[0],
            AbiExtension {
                tag: 1,
                data: vec![0xbe, 0xef]
            }
        );
        assert!(def.variants.is_empty());
        let text = serde_json::to_string(&def).expect("json");
        assert!(text.contains(r#""abi_extensions":[[1,"beef"]]"#), "{text}");
        assert!(text.contains(r#""error_code":"5000000000""#), "{text}");
        assert_eq!(AbiDef::from_json_str(&text).expect("reparse"), def);
    }

    #[test]
    fn binary_layout() {
        let def = AbiDef {
            version: "eosio::abi/1.0".into(),
            types: vec![TypeDef {
                new_type_name: "a".into(),
                type_name: "name".into(),
            }],
            ..AbiDef::default()
        };
        let expected = concat!(
            "0e",
            "656f73696f3a3a6162692f312e30",
            "01",
            "0161",
            "046e616d65",
            "00",
            "00",
            "00",
            "00",
            "00",
            "00",
            "00",
            "00",
        );
        assert_eq!(hex::encode(def.to_bin()), expected);
        assert_eq!(
            AbiDef::from_bin(&hex::decode(expected).expect("hex")).expect("decode"),
            def
        );
    }

    #[test]
    fn binary_extensions_may_be_absent() {
        let def = token_def();
        let bytes = def.to_bin();
        let without_extensions = &bytes[..bytes.len() - 2];
        assert_eq!(AbiDef::from_bin(without_extensions).expect("decode"), def);
        let without_results = &bytes[..bytes.len() - 1];
        assert_eq!(AbiDef::from_bin(without_results).expect("decode"), def);
        assert!(AbiDef::from_bin(&bytes[..bytes.len() - 3]).is_err());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(AbiDef::from_bin(&trailing).is_err());
    }

    #[test]
    fn base64() {
        let def = token_def();
        let text = base64::engine::general_purpose::STANDARD.encode(def.to_bin());
        assert_eq!(AbiDef::from_base64(&text).expect("base64"), def);
        assert!(matches!(
            AbiDef::from_base64("!!"),
            Err(FromBase64Error::Base64(_))
        ));
        assert!(matches!(
            AbiDef::from_base64("AAAA"),
            Err(FromBase64Error::Binary(_))
        ));
    }

    fn arb_ident() -> impl Strategy<Value = String> {
        "[a-z_]{0,8}(\\[\\]|\\?|\\$)?"
    }

    fn arb_name() -> impl Strategy<Value = Name> {
        any::<u64>().prop_map(Name::from_u64)
    }

    prop_compose! {
        fn arb_def()(
            version in "eosio::abi/1\\.[0-2]",
            types in prop::collection::vec((arb_ident(), arb_ident()), 0..3),
            structs in prop::collection::vec((arb_ident(), arb_ident(), prop::collection::vec((arb_ident(), arb_ident()), 0..3)), 0..3),
            actions in prop::collection::vec((arb_name(), arb_ident(), ".{0,5}"), 0..3),
            tables in prop::collection::vec((arb_name(), arb_ident(), prop::collection::vec(arb_ident(), 0..2), arb_ident()), 0..2),
            error_messages in prop::collection::vec((any::<u64>(), ".{0,5}"), 0..2),
            abi_extensions in prop::collection::vec((any::<u16>(), prop::collection::vec(any::<u8>(), 0..4)), 0..2),
            variants in prop::collection::vec((arb_ident(), prop::collection::vec(arb_ident(), 0..3)), 0..2),
            action_results in prop::collection::vec((arb_name(), arb_ident()), 0..2),
        ) -> AbiDef {
            AbiDef {
                version,
                types: types.into_iter().map(|(new_type_name, type_name)| TypeDef { new_type_name, type_name }).collect(),
                structs: structs.into_iter().map(|(name, base, fields)| StructDef {
                    name,
                    base,
                    fields: fields.into_iter().map(|(name, type_name)| FieldDef { name, type_name }).collect(),
                }).collect(),
                actions: actions.into_iter().map(|(name, type_name, ricardian_contract)| ActionDef { name, type_name, ricardian_contract }).collect(),
                tables: tables.into_iter().map(|(name, index_type, key_names, type_name)| TableDef {
                    name,
                    index_type,
                    key_types: key_names.iter().map(|_| String::from("uint64")).collect(),
                    key_names,
                    type_name,
                }).collect(),
                ricardian_clauses: vec![ClausePair { id: "id".into(), body: "body".into() }],
                error_messages: error_messages.into_iter().map(|(error_code, error_msg)| ErrorMessage { error_code, error_msg }).collect(),
                abi_extensions: abi_extensions.into_iter().map(|(tag, data)| AbiExtension { tag, data }).collect(),
                variants: variants.into_iter().map(|(name, types)| VariantDef { name, types }).collect(),
                action_results: action_results.into_iter().map(|(name, result_type)| ActionResultDef { name, result_type }).collect(),
            }
        }
    }

    proptest! {
        #[test]
        fn binary_round_trips(def in arb_def()) {
            prop_assert_eq!(AbiDef::from_bin(&def.to_bin()).expect("decode"), def);
        }

        #[test]
        fn json_round_trips(def in arb_def()) {
            let text = serde_json::to_string(&def).expect("json");
            prop_assert_eq!(AbiDef::from_json_str(&text).expect("parse"), def);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = AbiDef::from_bin(&bytes);
        }
    }
}
