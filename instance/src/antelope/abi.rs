//! Contract ABIs: the published [`def::AbiDef`] model and, on top of it, [`Abi`], a resolved and
//! validated view that drives the binary <-> JSON codec for action data and table rows.
//!
//! Loading resolves aliases, flattens struct bases and checks every type reference, so encoding and
//! decoding never meet an unknown type. JSON follows nodeos: fields in ABI order, 64-bit integers
//! above `0xffffffff` as strings, lowercase hex, legacy `EOS…` keys, exact asset precision.
//!
//! Architecture invariant: no I/O; hostile ABIs and bytes produce errors, never panics, unbounded
//! recursion, or allocations out of proportion to the input.

pub mod def;

mod codec;

use std::collections::HashMap;

use thiserror::Error;

use crate::antelope::binary;
use crate::antelope::name::Name;

use def::AbiDef;

/// The deepest nesting of structs, arrays, optionals and variants the codec follows.
pub const MAX_NESTING: usize = 32;

/// The deepest nesting a type expression may have after aliases are expanded.
const MAX_TYPE_NESTING: usize = 64;

/// A loaded, validated ABI, ready to encode and decode values.
#[derive(Debug, Clone)]
pub struct Abi {
    def: AbiDef,
    named: HashMap<String, NamedType>,
    structs: Vec<StructInfo>,
    variants: Vec<VariantInfo>,
    actions: HashMap<Name, String>,
    tables: HashMap<Name, String>,
    action_results: HashMap<Name, String>,
}

/// Why an ABI could not be loaded, or a value not encoded or decoded.
#[derive(Debug, Error)]
pub enum Error {
    /// The JSON is not an ABI.
    #[error("ABI JSON is invalid")]
    Json(#[source] serde_json::Error),
    /// The version is not `eosio::abi/1.x`.
    #[error("unsupported ABI version {version:?}, expected eosio::abi/1.x")]
    UnsupportedVersion {
        /// The version found.
        version: String,
    },
    /// A type, action, table or action result is defined twice, or redefines a built-in type.
    #[error("ABI defines {name:?} more than once")]
    DuplicateDefinition {
        /// The duplicated name.
        name: String,
    },
    /// A type name that is neither built in nor defined by the ABI.
    #[error("unknown type {type_name:?} in {context}")]
    UnknownType {
        /// The unknown name.
        type_name: String,
        /// Where it was used.
        context: String,
    },
    /// An alias that expands to itself.
    #[error("type {type_name:?} is defined in terms of itself")]
    CircularType {
        /// The alias.
        type_name: String,
    },
    /// A struct that is its own base, directly or not.
    #[error("struct {struct_name:?} inherits from itself")]
    CircularBase {
        /// The struct.
        struct_name: String,
    },
    /// A base that is not a struct.
    #[error("base {base:?} of struct {struct_name:?} is not a struct")]
    BaseNotStruct {
        /// The struct.
        struct_name: String,
        /// Its base.
        base: String,
    },
    /// A plain field after a binary extension field, which no decoder could place.
    #[error("field {field:?} of struct {struct_name:?} follows a binary extension but is not one")]
    ExtensionNotLast {
        /// The struct.
        struct_name: String,
        /// The plain field.
        field: String,
    },
    /// A type expression with a misplaced suffix or bad array size.
    #[error("type {type_name:?} is malformed: {reason}")]
    MalformedType {
        /// The expression.
        type_name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A type expression nesting deeper than the codec allows.
    #[error("type {type_name:?} nests too deeply")]
    TypeTooDeep {
        /// The expression.
        type_name: String,
    },
    /// A JSON value of the wrong kind.
    #[error("at {path}: expected {expected}, found {found}")]
    Mismatch {
        /// Where in the value.
        path: String,
        /// What the type needs.
        expected: &'static str,
        /// What was given.
        found: &'static str,
    },
    /// A JSON value of the right kind that does not parse as the type.
    #[error("at {path}: invalid {type_name}")]
    InvalidValue {
        /// Where in the value.
        path: String,
        /// The ABI type.
        type_name: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A struct field missing from the JSON object.
    #[error("at {path}: missing field {field:?}")]
    MissingField {
        /// The struct's place in the value.
        path: String,
        /// The field.
        field: String,
    },
    /// A binary extension field given after one that was left out.
    #[error("at {path}: extension field {field:?} is present after an absent one")]
    ExtensionGap {
        /// The struct's place in the value.
        path: String,
        /// The field.
        field: String,
    },
    /// A variant value naming a type the variant does not have.
    #[error("at {path}: {type_name:?} is not one of the types of variant {variant:?}")]
    UnknownVariantType {
        /// Where in the value.
        path: String,
        /// The variant.
        variant: String,
        /// The type given.
        type_name: String,
    },
    /// A variant tag beyond the variant's types.
    #[error("at {path}: index {index} is out of range for variant {variant:?}")]
    VariantIndex {
        /// Where in the value.
        path: String,
        /// The variant.
        variant: String,
        /// The tag read.
        index: u32,
    },
    /// A fixed-size array with the wrong number of items.
    #[error("at {path}: fixed array needs {expected} items, found {found}")]
    FixedArrayLength {
        /// Where in the value.
        path: String,
        /// Items the type has.
        expected: usize,
        /// Items given.
        found: usize,
    },
    /// The value nests deeper than [`MAX_NESTING`].
    #[error("at {path}: value nests deeper than {MAX_NESTING} levels")]
    TooDeep {
        /// Where the limit was hit.
        path: String,
    },
    /// The bytes are malformed for the type.
    #[error("at {path}: malformed binary")]
    Binary {
        /// Where in the value.
        path: String,
        /// The byte-level error.
        #[source]
        source: binary::Error,
    },
    /// The decoded value could not be written as JSON text or read back from it; a defect of
    /// the codec, never of the input.
    #[error("at {path}: the decoded value does not form valid JSON text")]
    DecodedJson {
        /// Where in the value.
        path: String,
        /// The JSON error, when there is one.
        #[source]
        source: Option<serde_json::Error>,
    },
}

/// Result of ABI loading and coding.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A built-in ABI type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builtin {
    Bool,
    Int8,
    Uint8,
    Int16,
    Uint16,
    Int32,
    Uint32,
    Int64,
    Uint64,
    Int128,
    Uint128,
    Varint32,
    Varuint32,
    Float32,
    Float64,
    Float128,
    TimePoint,
    TimePointSec,
    BlockTimestamp,
    Name,
    Bytes,
    String,
    Checksum160,
    Checksum256,
    Checksum512,
    PublicKey,
    Signature,
    Symbol,
    SymbolCode,
    Asset,
    ExtendedAsset,
}

/// A resolved type: aliases expanded, structs and variants by index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ty {
    Builtin(Builtin),
    Array(Box<Ty>),
    FixedArray(Box<Ty>, usize),
    Optional(Box<Ty>),
    Struct(usize),
    Variant(usize),
}

/// What a non-built-in type name stands for.
#[derive(Debug, Clone)]
enum NamedType {
    Alias(String),
    Struct(usize),
    Variant(usize),
}

/// A struct with its base's fields flattened in front of its own.
#[derive(Debug, Clone)]
struct StructInfo {
    fields: Vec<FieldInfo>,
    min_size: usize,
}

#[derive(Debug, Clone)]
struct FieldInfo {
    name: String,
    ty: Ty,
    extension: bool,
}

#[derive(Debug, Clone)]
struct VariantInfo {
    name: String,
    alternatives: Vec<(String, Ty)>,
}

impl Abi {
    /// Parses and loads an ABI from its JSON form.
    pub fn from_json_str(text: &str) -> Result<Self> {
        Self::from_def(AbiDef::from_json_str(text).map_err(Error::Json)?)
    }

    /// Loads an ABI, resolving aliases and bases and checking every type reference.
    pub fn from_def(def: AbiDef) -> Result<Self> {
        if !def.version.starts_with("eosio::abi/1.") {
            return Err(Error::UnsupportedVersion {
                version: def.version,
            });
        }
        let named = collect_named_types(&def)?;
        let mut abi = Self {
            def,
            named,
            structs: Vec::new(),
            variants: Vec::new(),
            actions: HashMap::new(),
            tables: HashMap::new(),
            action_results: HashMap::new(),
        };
        for type_def in &abi.def.types {
            abi.resolve(
                &type_def.type_name,
                &format!("alias {}", type_def.new_type_name),
            )?;
        }
        abi.structs = abi
            .def
            .structs
            .iter()
            .map(|struct_def| abi.resolve_struct(&struct_def.name))
            .collect::<Result<_>>()?;
        abi.variants = abi
            .def
            .variants
            .iter()
            .map(|variant| {
                let context = format!("variant {}", variant.name);
                let alternatives = variant
                    .types
                    .iter()
                    .map(|name| Ok((name.clone(), abi.resolve(name, &context)?)))
                    .collect::<Result<_>>()?;
                Ok(VariantInfo {
                    name: variant.name.clone(),
                    alternatives,
                })
            })
            .collect::<Result<_>>()?;
        abi.compute_min_sizes();
        let actions = abi.def.actions.iter().map(|a| (a.name, &a.type_name));
        abi.actions = abi.index_by_name(actions, "action")?;
        let tables = abi.def.tables.iter().map(|t| (t.name, &t.type_name));
        abi.tables = abi.index_by_name(tables, "table")?;
        let results = abi
            .def
            .action_results
            .iter()
            .map(|r| (r.name, &r.result_type));
        abi.action_results = abi.index_by_name(results, "action result")?;
        Ok(abi)
    }

    /// The definition this ABI was loaded from.
    pub fn def(&self) -> &AbiDef {
        &self.def
    }

    /// The type of an action's data, if the ABI has the action.
    pub fn action_type(&self, action: Name) -> Option<&str> {
        self.actions.get(&action).map(String::as_str)
    }

    /// The type of a table's rows, if the ABI has the table.
    pub fn table_type(&self, table: Name) -> Option<&str> {
        self.tables.get(&table).map(String::as_str)
    }

    /// The type an action returns, if the ABI declares one.
    pub fn action_result_type(&self, action: Name) -> Option<&str> {
        self.action_results.get(&action).map(String::as_str)
    }

    /// Encodes a JSON value as `type_name` (any type expression, e.g. `transfer` or `name[]`).
    pub fn encode(&self, type_name: &str, value: &serde_json::Value) -> Result<Vec<u8>> {
        let ty = self.resolve(type_name, "the requested type")?;
        codec::encode(self, type_name, &ty, value)
    }

    /// Decodes `bytes` as `type_name` into nodeos-style JSON; every byte must be used.
    pub fn decode(&self, type_name: &str, bytes: &[u8]) -> Result<serde_json::Value> {
        let text = self.decode_to_text(type_name, bytes)?;
        serde_json::from_str(&text).map_err(|source| Error::DecodedJson {
            path: type_name.to_owned(),
            source: Some(source),
        })
    }

    /// Decodes `bytes` as `type_name` into the compact text of nodeos-style JSON, the same text
    /// `serde_json` prints for [`Abi::decode`]'s value; every byte must be used.
    pub fn decode_to_text(&self, type_name: &str, bytes: &[u8]) -> Result<String> {
        let ty = self.resolve(type_name, "the requested type")?;
        let mut text = Vec::with_capacity(bytes.len().saturating_mul(2).saturating_add(16));
        codec::decode(self, type_name, &ty, bytes, &mut text)?;
        String::from_utf8(text).map_err(|_| Error::DecodedJson {
            path: type_name.to_owned(),
            source: None,
        })
    }

    /// Maps names to types, checking each type and rejecting duplicate names.
    fn index_by_name<'a>(
        &self,
        entries: impl Iterator<Item = (Name, &'a String)>,
        kind: &str,
    ) -> Result<HashMap<Name, String>> {
        let mut index = HashMap::new();
        for (name, type_name) in entries {
            self.resolve(type_name, &format!("{kind} {name}"))?;
            if index.insert(name, type_name.clone()).is_some() {
                return Err(Error::DuplicateDefinition {
                    name: name.to_string(),
                });
            }
        }
        Ok(index)
    }

    /// Resolves a type expression; `$` is not allowed here, only on struct fields.
    fn resolve(&self, type_name: &str, context: &str) -> Result<Ty> {
        let mut aliases = Vec::new();
        self.resolve_nested(type_name, context, &mut aliases, 0)
    }

    fn resolve_nested(
        &self,
        type_name: &str,
        context: &str,
        aliases: &mut Vec<String>,
        nesting: usize,
    ) -> Result<Ty> {
        let malformed = |reason| Error::MalformedType {
            type_name: type_name.to_owned(),
            reason,
        };
        if nesting > MAX_TYPE_NESTING {
            return Err(Error::TypeTooDeep {
                type_name: type_name.to_owned(),
            });
        }
        if type_name.ends_with('$') {
            return Err(malformed(
                "'$' is only allowed at the end of a struct field's type",
            ));
        }
        if let Some(inner) = type_name.strip_suffix("[]") {
            let inner = self.resolve_nested(inner, context, aliases, nesting + 1)?;
            return Ok(Ty::Array(Box::new(inner)));
        }
        if let Some(inner) = type_name.strip_suffix('?') {
            let inner = self.resolve_nested(inner, context, aliases, nesting + 1)?;
            return Ok(Ty::Optional(Box::new(inner)));
        }
        if let Some(head) = type_name.strip_suffix(']') {
            let (inner, size) = head
                .rsplit_once('[')
                .ok_or_else(|| malformed("unbalanced ']'"))?;
            let size = size
                .parse::<u32>()
                .map_err(|_| malformed("fixed array size is not a number"))?;
            let inner = self.resolve_nested(inner, context, aliases, nesting + 1)?;
            return Ok(Ty::FixedArray(Box::new(inner), size as usize));
        }
        if let Some(builtin) = Builtin::from_name(type_name) {
            return Ok(Ty::Builtin(builtin));
        }
        match self.named.get(type_name) {
            Some(NamedType::Struct(idx)) => Ok(Ty::Struct(*idx)),
            Some(NamedType::Variant(idx)) => Ok(Ty::Variant(*idx)),
            Some(NamedType::Alias(target)) => {
                if aliases.iter().any(|seen| seen == type_name) {
                    return Err(Error::CircularType {
                        type_name: type_name.to_owned(),
                    });
                }
                aliases.push(type_name.to_owned());
                let ty = self.resolve_nested(target, context, aliases, nesting + 1);
                aliases.pop();
                ty
            }
            None => Err(Error::UnknownType {
                type_name: type_name.to_owned(),
                context: context.to_owned(),
            }),
        }
    }

    /// Resolves a struct's base chain and field types into one flat field list.
    fn resolve_struct(&self, struct_name: &str) -> Result<StructInfo> {
        let mut chain = Vec::new();
        let mut current = self.struct_def(struct_name, struct_name)?;
        loop {
            if chain
                .iter()
                .any(|seen: &&def::StructDef| seen.name == current.name)
            {
                return Err(Error::CircularBase {
                    struct_name: struct_name.to_owned(),
                });
            }
            chain.push(current);
            if current.base.is_empty() {
                break;
            }
            current = self.struct_def(&current.base, &current.name)?;
        }
        let mut fields: Vec<FieldInfo> = Vec::new();
        for struct_def in chain.iter().rev() {
            for field in &struct_def.fields {
                let context = format!("field {} of struct {}", field.name, struct_def.name);
                let (type_name, extension) = match field.type_name.strip_suffix('$') {
                    Some(inner) => (inner, true),
                    None => (field.type_name.as_str(), false),
                };
                let ty = self.resolve(type_name, &context)?;
                if !extension && fields.last().is_some_and(|prev| prev.extension) {
                    return Err(Error::ExtensionNotLast {
                        struct_name: struct_name.to_owned(),
                        field: field.name.clone(),
                    });
                }
                fields.push(FieldInfo {
                    name: field.name.clone(),
                    ty,
                    extension,
                });
            }
        }
        Ok(StructInfo {
            fields,
            min_size: 0,
        })
    }

    /// The definition of struct `name`, following aliases, as the base of `user`.
    fn struct_def(&self, name: &str, user: &str) -> Result<&def::StructDef> {
        match self.resolve(name, &format!("base of struct {user}"))? {
            Ty::Struct(idx) => Ok(&self.def.structs[idx]),
            _ => Err(Error::BaseNotStruct {
                struct_name: user.to_owned(),
                base: name.to_owned(),
            }),
        }
    }

    /// Computes each struct's smallest encoded size, a lower bound used to reject array lengths
    /// that the remaining bytes cannot hold. Self-containing structs converge to a finite bound
    /// because the passes are capped.
    fn compute_min_sizes(&mut self) {
        for _ in 0..=self.structs.len().min(MAX_NESTING) {
            let mut changed = false;
            for idx in 0..self.structs.len() {
                let size = self.structs[idx]
                    .fields
                    .iter()
                    .filter(|field| !field.extension)
                    .fold(0usize, |acc, field| {
                        acc.saturating_add(self.min_size(&field.ty))
                    });
                if size != self.structs[idx].min_size {
                    self.structs[idx].min_size = size;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// The smallest number of bytes a value of `ty` takes.
    fn min_size(&self, ty: &Ty) -> usize {
        match ty {
            Ty::Builtin(builtin) => builtin.min_size(),
            Ty::Array(_) | Ty::Optional(_) => 1,
            Ty::FixedArray(inner, len) => self.min_size(inner).saturating_mul(*len),
            Ty::Struct(idx) => self.structs.get(*idx).map_or(0, |s| s.min_size),
            Ty::Variant(idx) => {
                let smallest = self.variants.get(*idx).and_then(|variant| {
                    variant
                        .alternatives
                        .iter()
                        .map(|(_, alt)| self.min_size(alt))
                        .min()
                });
                1 + smallest.unwrap_or(0)
            }
        }
    }
}

/// Indexes aliases, structs and variants by name, rejecting clashes with each other and with
/// built-in types.
fn collect_named_types(def: &AbiDef) -> Result<HashMap<String, NamedType>> {
    let structs = def
        .structs
        .iter()
        .enumerate()
        .map(|(idx, s)| (&s.name, NamedType::Struct(idx)));
    let variants = def
        .variants
        .iter()
        .enumerate()
        .map(|(idx, v)| (&v.name, NamedType::Variant(idx)));
    let aliases = def
        .types
        .iter()
        .map(|t| (&t.new_type_name, NamedType::Alias(t.type_name.clone())));
    let mut named = HashMap::new();
    for (name, named_type) in structs.chain(variants).chain(aliases) {
        if Builtin::from_name(name).is_some() || named.insert(name.clone(), named_type).is_some() {
            return Err(Error::DuplicateDefinition { name: name.clone() });
        }
    }
    Ok(named)
}

impl Builtin {
    const ALL: [(&'static str, Builtin); 31] = [
        ("bool", Builtin::Bool),
        ("int8", Builtin::Int8),
        ("uint8", Builtin::Uint8),
        ("int16", Builtin::Int16),
        ("uint16", Builtin::Uint16),
        ("int32", Builtin::Int32),
        ("uint32", Builtin::Uint32),
        ("int64", Builtin::Int64),
        ("uint64", Builtin::Uint64),
        ("int128", Builtin::Int128),
        ("uint128", Builtin::Uint128),
        ("varint32", Builtin::Varint32),
        ("varuint32", Builtin::Varuint32),
        ("float32", Builtin::Float32),
        ("float64", Builtin::Float64),
        ("float128", Builtin::Float128),
        ("time_point", Builtin::TimePoint),
        ("time_point_sec", Builtin::TimePointSec),
        ("block_timestamp_type", Builtin::BlockTimestamp),
        ("name", Builtin::Name),
        ("bytes", Builtin::Bytes),
        ("string", Builtin::String),
        ("checksum160", Builtin::Checksum160),
        ("checksum256", Builtin::Checksum256),
        ("checksum512", Builtin::Checksum512),
        ("public_key", Builtin::PublicKey),
        ("signature", Builtin::Signature),
        ("symbol", Builtin::Symbol),
        ("symbol_code", Builtin::SymbolCode),
        ("asset", Builtin::Asset),
        ("extended_asset", Builtin::ExtendedAsset),
    ];

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(builtin_name, _)| *builtin_name == name)
            .map(|(_, builtin)| *builtin)
    }

    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, builtin)| *builtin == self)
            .map_or("", |(name, _)| name)
    }

    fn min_size(self) -> usize {
        match self {
            Builtin::Bool | Builtin::Int8 | Builtin::Uint8 => 1,
            Builtin::Varint32 | Builtin::Varuint32 | Builtin::Bytes | Builtin::String => 1,
            Builtin::Int16 | Builtin::Uint16 => 2,
            Builtin::Int32 | Builtin::Uint32 | Builtin::Float32 => 4,
            Builtin::TimePointSec | Builtin::BlockTimestamp => 4,
            Builtin::Int64 | Builtin::Uint64 | Builtin::Float64 | Builtin::TimePoint => 8,
            Builtin::Name | Builtin::Symbol | Builtin::SymbolCode => 8,
            Builtin::Int128 | Builtin::Uint128 | Builtin::Float128 | Builtin::Asset => 16,
            Builtin::Checksum160 => 20,
            Builtin::ExtendedAsset => 24,
            Builtin::Checksum256 => 32,
            Builtin::PublicKey => 34,
            Builtin::Checksum512 => 64,
            Builtin::Signature => 66,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    const PUBLIC_KEY_PUB: &str = "PUB_K1_5AHoNnWetuDhKWSDx3WUf8W7Dg5xjHCMc4yHmmSiaJCFvvAgnB";
    const PUBLIC_KEY_EOS: &str = "EOS5AHoNnWetuDhKWSDx3WUf8W7Dg5xjHCMc4yHmmSiaJCFwFS6uM";
    const PUBLIC_KEY_HEX: &str =
        "000223e0ae8aacb41b06dc74af1a56b2eb69133f07f7f75bd1d5e53316bff195edf4";
    const SIGNATURE: &str = "SIG_K1_KfPLgpw35iX8nfDzhbcmSBCr7nEGNEYXgmmempQspDJYBCKuAEs5rm3s4ZuLJY428Ca8ZhvR2Dkwu118y3NAoMDxhicRj9";
    const SIGNATURE_HEX: &str = "00205150a67288c3b393fdba9061b05019c54b12bdac295fc83bebad7cd63c7bb67d5cb8cc220564da006240a58419f64d06a5c6e1fc62889816a6c3dfdd231ed389";

    /// A small ABI exercising bases, optionals, aliases, variants, extensions and recursion.
    const TEST_ABI: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/antelope/abi/codec_test.abi"
    ));

    fn test_abi() -> Abi {
        Abi::from_json_str(TEST_ABI).expect("test ABI")
    }

    /// Encodes `json` and expects `hex`; decodes `hex` and expects `json` back, in field order.
    fn check(abi: &Abi, type_name: &str, json: &str, hex: &str) {
        check_normalized(abi, type_name, json, hex, json);
    }

    /// Like [`check`] for input that nodeos prints differently (`output`).
    fn check_normalized(abi: &Abi, type_name: &str, input: &str, hex: &str, output: &str) {
        let input: Value = serde_json::from_str(input).expect("test JSON");
        let encoded = abi.encode(type_name, &input).expect(type_name);
        assert_eq!(hex::encode(&encoded), hex, "encoding {type_name} {input}");
        let decoded = abi.decode(type_name, &encoded).expect(type_name);
        let output: Value = serde_json::from_str(output).expect("test JSON");
        assert_eq!(
            decoded.to_string(),
            output.to_string(),
            "decoding {type_name} {hex}"
        );
    }

    fn encode_error(abi: &Abi, type_name: &str, input: Value) -> Error {
        abi.encode(type_name, &input)
            .expect_err(&format!("encoding {type_name} {input} must fail"))
    }

    fn decode_error(abi: &Abi, type_name: &str, hex: &str) -> Error {
        let bytes = hex::decode(hex).expect("test hex");
        abi.decode(type_name, &bytes)
            .expect_err(&format!("decoding {type_name} {hex} must fail"))
    }

    fn load_error(abi_json: Value) -> Error {
        let mut full = json!({"version": "eosio::abi/1.1"});
        if let (Some(full), Some(parts)) = (full.as_object_mut(), abi_json.as_object()) {
            full.extend(parts.clone());
        }
        Abi::from_json_str(&full.to_string()).expect_err(&format!("{full} must not load"))
    }

    #[test]
    fn published_vectors() {
        let abi = test_abi();
        check(&abi, "name", r#""foobar""#, "000000005c73285d");
        check(
            &abi,
            "asset",
            r#""1.2345 FOO""#,
            "393000000000000004464f4f00000000",
        );
        check(&abi, "asset", r#""0 ""#, "00000000000000000000000000000000");
        check(&abi, "symbol", r#""4,FOO""#, "04464f4f00000000");
        check(
            &abi,
            "string",
            r#""hello world""#,
            "0b68656c6c6f20776f726c64",
        );
        check(
            &abi,
            "string[]",
            r#"["foo","bar","baz"]"#,
            "0303666f6f036261720362617a",
        );
        let eos_key = format!("\"{PUBLIC_KEY_EOS}\"");
        check_normalized(
            &abi,
            "public_key",
            &format!("\"{PUBLIC_KEY_PUB}\""),
            PUBLIC_KEY_HEX,
            &eos_key,
        );
        check(&abi, "public_key", &eos_key, PUBLIC_KEY_HEX);
        check(
            &abi,
            "signature",
            &format!("\"{SIGNATURE}\""),
            SIGNATURE_HEX,
        );
        check(
            &abi,
            "time_point",
            r#""2009-02-13T23:31:30.123""#,
            "f8b88a3cd5620400",
        );
        check(
            &abi,
            "time_point_sec",
            r#""2009-02-13T23:31:30""#,
            "d2029649",
        );
        check(
            &abi,
            "bar",
            r#"{"one":"one","two":2,"three":"two","four":["f","o","u","r"]}"#,
            "036f6e65020100000000000028cf01040166016f01750172",
        );
        check(
            &abi,
            "transfer",
            r#"{"from":"alice","to":"bob","quantity":"42.0 GMZ","memo":"for you"}"#,
            "0000000000855c340000000000000e3da40100000000000001474d5a0000000007666f7220796f75",
        );
    }

    #[test]
    fn integers_follow_nodeos_json() {
        let abi = test_abi();
        check(&abi, "uint64", "4294967295", "ffffffff00000000");
        check(&abi, "uint64", r#""4294967296""#, "0000000001000000");
        check_normalized(&abi, "uint64", r#""17""#, "1100000000000000", "17");
        check(&abi, "int64", "-9223372036854775808", "0000000000000080");
        check(
            &abi,
            "int64",
            r#""9223372036854775807""#,
            "ffffffffffffff7f",
        );
        check(
            &abi,
            "uint128",
            r#""340282366920938463463374607431768211455""#,
            &"ff".repeat(16),
        );
        check_normalized(&abi, "int128", "-1", &"ff".repeat(16), r#""-1""#);
        check(&abi, "int8", "-128", "80");
        check(&abi, "uint16", "65535", "ffff");
        check(&abi, "int32", "-2", "feffffff");
        check(&abi, "varuint32", "300", "ac02");
        check(&abi, "varint32", "-1", "01");
        check(&abi, "bool", "true", "01");
        check(
            &abi,
            "float64",
            r#""1.50000000000000000""#,
            "000000000000f83f",
        );
        check_normalized(
            &abi,
            "float32",
            "1.5",
            "0000c03f",
            r#""1.50000000000000000""#,
        );
        check(
            &abi,
            "float128",
            &format!("\"0x{}\"", "01".repeat(16)),
            &"01".repeat(16),
        );
    }

    #[test]
    fn text_like_builtins() {
        let abi = test_abi();
        check(&abi, "bytes", r#""00ff""#, "0200ff");
        check_normalized(&abi, "bytes", r#""00FF""#, "0200ff", r#""00ff""#);
        check(
            &abi,
            "checksum160",
            &format!("\"{}\"", "ab".repeat(20)),
            &"ab".repeat(20),
        );
        check_normalized(
            &abi,
            "checksum256",
            &format!("\"{}\"", "AB".repeat(32)),
            &"ab".repeat(32),
            &format!("\"{}\"", "ab".repeat(32)),
        );
        check(
            &abi,
            "checksum512",
            &format!("\"{}\"", "0f".repeat(64)),
            &"0f".repeat(64),
        );
        check(
            &abi,
            "block_timestamp_type",
            r#""2000-01-01T00:00:00.500""#,
            "01000000",
        );
        check(&abi, "symbol_code", r#""RUB""#, "5255420000000000");
        check(
            &abi,
            "asset",
            r#""-1.0000 RUB""#,
            "f0d8ffffffffffff0452554200000000",
        );
        check(
            &abi,
            "extended_asset",
            r#"{"quantity":"1.0000 RUB","contract":"eosio.token"}"#,
            "1027000000000000045255420000000000a6823403ea3055",
        );
        check(&abi, "string", r#""привет""#, "0cd0bfd180d0b8d0b2d0b5d182");
    }

    #[test]
    fn containers_aliases_and_fixed_arrays() {
        let abi = test_abi();
        check(&abi, "account_name", r#""alice""#, "0000000000855c34");
        check(
            &abi,
            "nested_alias",
            r#"["a","b"]"#,
            "0200000000000000300000000000000038",
        );
        check(&abi, "name?", "null", "00");
        check(&abi, "name[]?", "[]", "0100");
        check(&abi, "name?[]", r#"[null,"a"]"#, "0200010000000000000030");
        check(&abi, "uint8[2]", "[1,2]", "0102");
        check(&abi, "uint8[0]", "[]", "");
        check(
            &abi,
            "grid",
            r#"{"cells":[1,2,3],"rows":["a"]}"#,
            "010002000300010000000000000030",
        );
        check(
            &abi,
            "node",
            r#"{"value":1,"next":{"value":2,"next":null}}"#,
            "01010200",
        );
        check_normalized(
            &abi,
            "bar",
            r#"["one",2,null,null]"#,
            "036f6e65020000",
            r#"{"one":"one","two":2,"three":null,"four":null}"#,
        );
        check_normalized(
            &abi,
            "bar",
            r#"{"one":"one","two":2}"#,
            "036f6e65020000",
            r#"{"one":"one","two":2,"three":null,"four":null}"#,
        );
        check_normalized(
            &abi,
            "struct",
            r#"{"field1":true,"extra":1}"#,
            "01",
            r#"{"field1":true}"#,
        );
    }

    #[test]
    fn variants() {
        let abi = test_abi();
        check(&abi, "foo_variant", r#"["uint8",255]"#, "00ff");
        check(&abi, "foo_variant", r#"["string[]",["a"]]"#, "01010161");
        check(
            &abi,
            "foo_variant",
            r#"["struct",{"field1":false}]"#,
            "0200",
        );
        check(
            &abi,
            "foo_variant",
            r#"["struct?",{"field1":true}]"#,
            "030101",
        );
        check(&abi, "foo_variant", r#"["struct?",null]"#, "0300");
        assert!(matches!(
            decode_error(&abi, "foo_variant", "04ff"),
            Error::VariantIndex { index: 4, .. }
        ));
        assert!(matches!(
            encode_error(&abi, "foo_variant", json!(255)),
            Error::Mismatch {
                expected: "[type, value] pair",
                found: "number",
                ..
            }
        ));
        assert!(matches!(
            encode_error(&abi, "foo_variant", json!(["uint64", 1])),
            Error::UnknownVariantType { .. }
        ));
        assert!(matches!(
            encode_error(&abi, "foo_variant", json!([1, 1])),
            Error::Mismatch { .. }
        ));
    }

    #[test]
    fn binary_extensions() {
        let abi = test_abi();
        check(&abi, "many_extensions", r#"{"name":"foo"}"#, "03666f6f");
        check(
            &abi,
            "many_extensions",
            r#"{"name":"foo","info":[]}"#,
            "03666f6f00",
        );
        check(
            &abi,
            "many_extensions",
            r#"{"name":"foo","info":[{"key":"k","value":"beef"}],"single_info":{"key":"","value":""}}"#,
            "03666f6f01016b02beef0000",
        );
        check(
            &abi,
            "many_extensions",
            r#"{"name":"","info":[],"single_info":{"key":"","value":""},"uint32":7,"jazz":["string","hi"],"maybe_jazz":["uint8",22]}"#,
            "00 00 0000 07000000 01026869 010016"
                .replace(' ', "")
                .as_str(),
        );
        check(
            &abi,
            "many_extensions",
            r#"{"name":"","info":[],"single_info":{"key":"","value":""},"uint32":7,"jazz":["uint8",1],"maybe_jazz":null}"#,
            "00 00 0000 07000000 0001 00".replace(' ', "").as_str(),
        );
        check_normalized(
            &abi,
            "many_extensions",
            r#"{"name":"","info":[],"single_info":{"key":"","value":""},"uint32":7,"jazz":null}"#,
            "0000000007000000",
            r#"{"name":"","info":[],"single_info":{"key":"","value":""},"uint32":7}"#,
        );
        check_normalized(
            &abi,
            "many_extensions",
            r#"{"name":"foo","info":null}"#,
            "03666f6f",
            r#"{"name":"foo"}"#,
        );
        assert!(matches!(
            encode_error(&abi, "many_extensions", json!({"name": "foo", "uint32": 1})),
            Error::ExtensionGap { ref field, .. } if field == "uint32"
        ));
        assert!(matches!(
            decode_error(&abi, "many_extensions", "03666f6f01"),
            Error::Binary { .. }
        ));
    }

    #[test]
    fn lookups() {
        let abi = test_abi();
        let transfer: Name = "transfer".parse().expect("name");
        assert_eq!(abi.action_type(transfer), Some("transfer"));
        assert_eq!(abi.action_result_type(transfer), Some("uint64"));
        assert_eq!(abi.table_type("nodes".parse().expect("name")), Some("node"));
        assert_eq!(abi.table_type(transfer), None);
        assert_eq!(abi.action_type("nodes".parse().expect("name")), None);
        assert_eq!(abi.def().version, "eosio::abi/1.2");
    }

    #[test]
    fn malformed_values_are_errors() {
        let abi = test_abi();
        let mismatch = |error: Error, expected_kind: &str| match error {
            Error::Mismatch { expected, .. } => assert_eq!(expected, expected_kind),
            other => panic!("expected a mismatch, got {other:?}"),
        };
        mismatch(encode_error(&abi, "bool", json!(1)), "boolean");
        mismatch(encode_error(&abi, "string", json!(1)), "string");
        mismatch(encode_error(&abi, "transfer", json!("x")), "object");
        mismatch(encode_error(&abi, "string[]", json!("x")), "array");
        let invalid = |error: Error, type_name: &str| match error {
            Error::InvalidValue {
                type_name: found, ..
            } => assert_eq!(found, type_name),
            other => panic!("expected an invalid {type_name}, got {other:?}"),
        };
        invalid(encode_error(&abi, "name", json!("Alice")), "name");
        invalid(encode_error(&abi, "uint8", json!(256)), "uint8");
        invalid(encode_error(&abi, "int8", json!("-129")), "int8");
        invalid(encode_error(&abi, "asset", json!("1.0 rub")), "asset");
        invalid(encode_error(&abi, "bytes", json!("abc")), "bytes");
        invalid(
            encode_error(&abi, "checksum256", json!("00")),
            "checksum256",
        );
        invalid(
            encode_error(&abi, "public_key", json!("EOS1")),
            "public_key",
        );
        invalid(
            encode_error(&abi, "signature", json!("SIG_K1_1")),
            "signature",
        );
        invalid(encode_error(&abi, "time_point", json!("now")), "time_point");
        invalid(encode_error(&abi, "float128", json!("0x00")), "float128");
        invalid(
            encode_error(&abi, "extended_asset", json!({"quantity": "1 RUB"})),
            "extended_asset",
        );
        assert!(matches!(
            encode_error(&abi, "transfer", json!({"from": "a", "to": "b", "quantity": "1 A"})),
            Error::MissingField { ref field, ref path } if field == "memo" && path == "transfer"
        ));
        assert!(matches!(
            encode_error(&abi, "uint8[2]", json!([1])),
            Error::FixedArrayLength {
                expected: 2,
                found: 1,
                ..
            }
        ));
        let error = encode_error(&abi, "bar", json!({"one": "x", "two": 1, "four": ["a", 5]}));
        assert!(
            matches!(error, Error::Mismatch { ref path, .. } if path == "bar.four[1]"),
            "{error:?}"
        );
        assert!(matches!(
            encode_error(&abi, "nothing", json!(1)),
            Error::UnknownType { .. }
        ));
        assert!(matches!(
            encode_error(&abi, "name$", json!("a")),
            Error::MalformedType { .. }
        ));
    }

    #[test]
    fn malformed_bytes_are_errors() {
        let abi = test_abi();
        let binary = |error: Error| match error {
            Error::Binary { source, .. } => source,
            other => panic!("expected a binary error, got {other:?}"),
        };
        assert!(matches!(
            binary(decode_error(&abi, "transfer", "0000000000855c34")),
            binary::Error::UnexpectedEnd { .. }
        ));
        assert!(matches!(
            binary(decode_error(&abi, "name", "000000005c73285d00")),
            binary::Error::TrailingBytes { remaining: 1, .. }
        ));
        assert!(matches!(
            binary(decode_error(&abi, "string", "02c328")),
            binary::Error::InvalidUtf8 { .. }
        ));
        assert!(matches!(
            binary(decode_error(&abi, "bool", "02")),
            binary::Error::InvalidBool { .. }
        ));
        assert!(matches!(
            binary(decode_error(&abi, "name?", "02")),
            binary::Error::InvalidOptionalFlag { .. }
        ));
        assert!(matches!(
            binary(decode_error(&abi, "name[]", "ffffffff0f")),
            binary::Error::LengthTooLarge {
                length: u32::MAX,
                ..
            }
        ));
        assert!(matches!(
            binary(decode_error(&abi, "name[]", "020000000000000000")),
            binary::Error::LengthTooLarge { length: 2, .. }
        ));
        assert!(matches!(
            binary(decode_error(&abi, "symbol", "0461000000000000")),
            binary::Error::InvalidValue { .. }
        ));
        assert!(matches!(
            binary(decode_error(
                &abi,
                "public_key",
                &format!("05{}", "00".repeat(33))
            )),
            binary::Error::InvalidValue { .. }
        ));
        assert!(matches!(
            binary(decode_error(&abi, "uint64[4294967295]", "00")),
            binary::Error::LengthTooLarge {
                length: u32::MAX,
                ..
            }
        ));
        assert!(matches!(
            decode_error(&abi, "unknown_type", "00"),
            Error::UnknownType { .. }
        ));
    }

    #[test]
    fn nesting_is_limited() {
        let abi = test_abi();
        let mut deep = json!(null);
        for value in 0..MAX_NESTING {
            deep = json!({"value": value % 256, "next": deep});
        }
        assert!(matches!(
            encode_error(&abi, "node", deep),
            Error::TooDeep { .. }
        ));
        let hostile = "0101".repeat(MAX_NESTING) + "0100";
        assert!(matches!(
            decode_error(&abi, "node", &hostile),
            Error::TooDeep { .. }
        ));
        let allowed = "0101".repeat(MAX_NESTING / 2 - 1) + "0100";
        assert!(
            abi.decode("node", &hex::decode(allowed).expect("hex"))
                .is_ok()
        );
        let nested_type = format!("uint8{}", "[]".repeat(MAX_TYPE_NESTING + 1));
        assert!(matches!(
            encode_error(&abi, &nested_type, json!([])),
            Error::TypeTooDeep { .. }
        ));
    }

    #[test]
    fn invalid_abis_are_rejected() {
        let error = Abi::from_json_str(r#"{"version": "eosio::abi/2.0"}"#).expect_err("version");
        assert!(matches!(error, Error::UnsupportedVersion { .. }));
        assert!(matches!(
            Abi::from_json_str("{").expect_err("json"),
            Error::Json(_)
        ));
        let field = |name: &str, ty: &str| json!({"name": name, "type": ty});
        let structure = |name: &str, base: &str, fields: Vec<Value>| json!({"name": name, "base": base, "fields": fields});
        let cases = [
            (
                json!({"structs": [structure("a", "", vec![field("x", "nope")])]}),
                "UnknownType",
            ),
            (
                json!({"types": [{"new_type_name": "a", "type": "b"}, {"new_type_name": "b", "type": "a"}]}),
                "CircularType",
            ),
            (
                json!({"types": [{"new_type_name": "a", "type": "a[]"}]}),
                "CircularType",
            ),
            (
                json!({"structs": [structure("a", "b", vec![]), structure("b", "a", vec![])]}),
                "CircularBase",
            ),
            (
                json!({"structs": [structure("a", "a", vec![])]}),
                "CircularBase",
            ),
            (
                json!({"structs": [structure("a", "name", vec![])]}),
                "BaseNotStruct",
            ),
            (
                json!({"structs": [structure("a", "missing", vec![])]}),
                "UnknownType",
            ),
            (
                json!({"structs": [structure("a", "", vec![]), structure("a", "", vec![])]}),
                "DuplicateDefinition",
            ),
            (
                json!({"types": [{"new_type_name": "name", "type": "string"}]}),
                "DuplicateDefinition",
            ),
            (
                json!({"structs": [structure("a", "", vec![field("x", "uint8$"), field("y", "uint8")])]}),
                "ExtensionNotLast",
            ),
            (
                json!({"structs": [structure("a", "", vec![field("x", "uint8$$")])]}),
                "MalformedType",
            ),
            (
                json!({"structs": [structure("a", "", vec![field("x", "uint8[x]")])]}),
                "MalformedType",
            ),
            (
                json!({"structs": [structure("a", "", vec![field("x", "uint8]")])]}),
                "MalformedType",
            ),
            (
                json!({"actions": [{"name": "a", "type": "missing"}]}),
                "UnknownType",
            ),
            (
                json!({"tables": [{"name": "a", "type": "missing"}]}),
                "UnknownType",
            ),
            (
                json!({"variants": [{"name": "v", "types": ["missing"]}]}),
                "UnknownType",
            ),
            (
                json!({"action_results": [{"name": "a", "result_type": "missing"}]}),
                "UnknownType",
            ),
            (
                json!({"actions": [{"name": "a", "type": "bool"}, {"name": "a", "type": "bool"}]}),
                "DuplicateDefinition",
            ),
        ];
        for (abi_json, expected) in cases {
            let error = load_error(abi_json.clone());
            let kind = format!("{error:?}");
            assert!(
                kind.starts_with(expected),
                "{abi_json}: expected {expected}, got {kind}"
            );
        }
    }

    /// Reads every real COOPOS ABI in place.
    fn coopos_abis() -> Vec<(String, String)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/coopos-abi");
        let mut abis: Vec<(String, String)> = std::fs::read_dir(dir)
            .expect("COOPOS ABI directory")
            .map(|entry| entry.expect("directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "abi"))
            .map(|path| {
                let text = std::fs::read_to_string(&path).expect("ABI file");
                (path.display().to_string(), text)
            })
            .collect();
        abis.sort();
        assert!(
            abis.len() >= 10,
            "expected the COOPOS ABIs, found {}",
            abis.len()
        );
        abis
    }

    /// A deterministic sample of a built-in type in nodeos JSON form; `seed` picks among edge cases.
    fn sample_builtin(builtin: Builtin, seed: usize) -> Value {
        let pick = |values: Vec<Value>| values[seed % values.len()].clone();
        match builtin {
            Builtin::Bool => json!(seed.is_multiple_of(2)),
            Builtin::Int8 => pick(vec![json!(-128), json!(0), json!(127)]),
            Builtin::Uint8 => pick(vec![json!(255), json!(0), json!(7)]),
            Builtin::Int16 => pick(vec![json!(-32768), json!(1), json!(32767)]),
            Builtin::Uint16 => pick(vec![json!(65535), json!(0), json!(1)]),
            Builtin::Int32 => pick(vec![json!(i32::MIN), json!(-1), json!(i32::MAX)]),
            Builtin::Uint32 => pick(vec![json!(u32::MAX), json!(0), json!(1)]),
            Builtin::Int64 => pick(vec![
                json!(i64::MIN),
                json!(-1),
                json!(i64::MAX.to_string()),
            ]),
            Builtin::Uint64 => pick(vec![
                json!(0),
                json!(0xffff_ffffu32),
                json!(u64::MAX.to_string()),
            ]),
            Builtin::Int128 => pick(vec![json!(i128::MIN.to_string()), json!("0")]),
            Builtin::Uint128 => pick(vec![json!(u128::MAX.to_string()), json!("1")]),
            Builtin::Varint32 => pick(vec![json!(-5), json!(0), json!(i32::MAX)]),
            Builtin::Varuint32 => pick(vec![json!(300), json!(0), json!(u32::MAX)]),
            Builtin::Float32 => pick(vec![
                json!("1.50000000000000000"),
                json!("-0.25000000000000000"),
            ]),
            Builtin::Float64 => pick(vec![
                json!("-1024.12500000000000000"),
                json!("0.00000000000000000"),
            ]),
            Builtin::Float128 => json!(format!("0x{}", "0f".repeat(16))),
            Builtin::TimePoint => pick(vec![
                json!("2009-02-13T23:31:30.123"),
                json!("1970-01-01T00:00:00.000"),
            ]),
            Builtin::TimePointSec => pick(vec![
                json!("2009-02-13T23:31:30"),
                json!("2106-02-07T06:28:15"),
            ]),
            Builtin::BlockTimestamp => pick(vec![
                json!("2000-01-01T00:00:00.500"),
                json!("2024-05-01T12:00:00.000"),
            ]),
            Builtin::Name => pick(vec![
                json!("eosio.token"),
                json!(""),
                json!("zzzzzzzzzzzzj"),
            ]),
            Builtin::Bytes => pick(vec![json!("00ff"), json!("")]),
            Builtin::String => pick(vec![json!("привет"), json!(""), json!("hello")]),
            Builtin::Checksum160 => json!("ab".repeat(20)),
            Builtin::Checksum256 => pick(vec![json!("0f".repeat(32)), json!("00".repeat(32))]),
            Builtin::Checksum512 => json!("cd".repeat(64)),
            Builtin::PublicKey => json!(PUBLIC_KEY_EOS),
            Builtin::Signature => json!(SIGNATURE),
            Builtin::Symbol => pick(vec![json!("4,RUB"), json!("0,AXON")]),
            Builtin::SymbolCode => pick(vec![json!("RUB"), json!("AXON")]),
            Builtin::Asset => pick(vec![json!("1.2345 FOO"), json!("-0.0001 RUB"), json!("0 ")]),
            Builtin::ExtendedAsset => {
                json!({"quantity": "100.0000 RUB", "contract": "eosio.token"})
            }
        }
    }

    /// A deterministic valid value of `ty`, as the decoder would print it.
    fn sample(abi: &Abi, ty: &Ty, seed: usize, depth: usize) -> Value {
        let shallow = depth < 6;
        match ty {
            Ty::Builtin(builtin) => sample_builtin(*builtin, seed),
            Ty::Optional(inner) if shallow && seed.is_multiple_of(2) => {
                sample(abi, inner, seed / 2, depth + 1)
            }
            Ty::Optional(_) => Value::Null,
            Ty::Array(inner) => {
                let len = if shallow { seed % 3 } else { 0 };
                Value::Array(
                    (0..len)
                        .map(|idx| sample(abi, inner, seed + idx, depth + 1))
                        .collect(),
                )
            }
            Ty::FixedArray(inner, len) => Value::Array(
                (0..*len)
                    .map(|idx| sample(abi, inner, seed + idx, depth + 1))
                    .collect(),
            ),
            Ty::Struct(idx) => {
                let mut object = serde_json::Map::new();
                for (field_idx, field) in abi.structs[*idx].fields.iter().enumerate() {
                    let value = sample(abi, &field.ty, seed + field_idx, depth + 1);
                    if field.extension && seed % 3 == 2 {
                        break;
                    }
                    object.insert(field.name.clone(), value);
                }
                Value::Object(object)
            }
            Ty::Variant(idx) => {
                let alternatives = &abi.variants[*idx].alternatives;
                let (name, alt_ty) = &alternatives[seed % alternatives.len()];
                json!([name, sample(abi, alt_ty, seed, depth + 1)])
            }
        }
    }

    fn check_round_trip(abi: &Abi, type_name: &str, value: &Value) {
        let bytes = abi
            .encode(type_name, value)
            .unwrap_or_else(|err| panic!("encoding {type_name} {value}: {err}"));
        let decoded = abi
            .decode(type_name, &bytes)
            .unwrap_or_else(|err| panic!("decoding {type_name} {}: {err}", hex::encode(&bytes)));
        assert_eq!(decoded.to_string(), value.to_string(), "{type_name}");
    }

    #[test]
    fn every_coopos_struct_round_trips() {
        let mut n_structs = 0;
        for (path, text) in coopos_abis() {
            let abi = Abi::from_json_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"));
            for (idx, struct_def) in abi.def.structs.iter().enumerate() {
                for seed in 0..6 {
                    let value = sample(&abi, &Ty::Struct(idx), seed, 0);
                    check_round_trip(&abi, &struct_def.name, &value);
                }
                n_structs += 1;
            }
            for action in &abi.def.actions {
                let type_name = abi.action_type(action.name).expect("declared action");
                let ty = abi.resolve(type_name, "test").expect("action type");
                check_round_trip(&abi, type_name, &sample(&abi, &ty, 1, 0));
            }
        }
        assert!(n_structs > 100, "only {n_structs} structs walked");
    }

    #[test]
    fn truncated_coopos_values_fail_or_round_trip() {
        for (path, text) in coopos_abis() {
            let abi = Abi::from_json_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"));
            for (idx, struct_def) in abi.def.structs.iter().enumerate() {
                let value = sample(&abi, &Ty::Struct(idx), 0, 0);
                let bytes = abi
                    .encode(&struct_def.name, &value)
                    .expect("sample encodes");
                for cut in 0..bytes.len() {
                    let prefix = &bytes[..cut];
                    if let Ok(decoded) = abi.decode(&struct_def.name, prefix) {
                        let again = abi.encode(&struct_def.name, &decoded).expect("re-encode");
                        assert_eq!(again, prefix, "{path}: {} cut at {cut}", struct_def.name);
                    }
                }
            }
        }
    }

    #[test]
    fn every_coopos_abi_converts_to_binary_and_back() {
        for (path, text) in coopos_abis() {
            let def = AbiDef::from_json_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"));
            let bytes = def.to_bin();
            let back = AbiDef::from_bin(&bytes).unwrap_or_else(|err| panic!("{path}: {err}"));
            assert_eq!(back, def, "{path}");
            assert_eq!(back.to_bin(), bytes, "{path}");
            let from_json = serde_json::to_string(&back).expect("json");
            assert_eq!(
                AbiDef::from_json_str(&from_json).expect("reparse"),
                def,
                "{path}"
            );
            Abi::from_def(back).unwrap_or_else(|err| panic!("{path}: {err}"));
        }
    }

    /// Compares `actual` with the golden file `name`, or rewrites it when `UPDATE_EXPECT=1`.
    fn check_golden(name: &str, actual: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/antelope/abi")
            .join(name);
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            std::fs::write(&path, actual).expect("golden file written");
        }
        let expected =
            std::fs::read_to_string(&path).expect("golden file; run with UPDATE_EXPECT=1");
        assert_eq!(
            actual,
            expected,
            "{} is stale; run with UPDATE_EXPECT=1",
            path.display()
        );
    }

    #[test]
    fn test_abi_binary_matches_golden() {
        let def = AbiDef::from_json_str(TEST_ABI).expect("test ABI");
        let bytes = def.to_bin();
        check_golden(
            "codec_test.abi.bin.hex",
            &format!("{}\n", hex::encode(&bytes)),
        );
        assert_eq!(AbiDef::from_bin(&bytes).expect("decode"), def);
    }

    #[test]
    fn every_builtin_has_a_name() {
        for (name, builtin) in Builtin::ALL {
            assert_eq!(builtin.name(), name);
            assert_eq!(Builtin::from_name(name), Some(builtin));
            assert!(builtin.min_size() > 0);
        }
    }

    fn arb_builtin() -> impl Strategy<Value = Builtin> {
        (0..Builtin::ALL.len()).prop_map(|idx| Builtin::ALL[idx].1)
    }

    fn arb_builtin_json() -> impl Strategy<Value = (Builtin, Value)> {
        let names = "[a-z1-5]{1,12}";
        prop_oneof![
            any::<u64>().prop_map(|v| (Builtin::Uint64, crate::antelope::json::u64_to_json(v))),
            any::<i64>().prop_map(|v| (Builtin::Int64, crate::antelope::json::i64_to_json(v))),
            any::<u128>().prop_map(|v| (Builtin::Uint128, json!(v.to_string()))),
            any::<i128>().prop_map(|v| (Builtin::Int128, json!(v.to_string()))),
            any::<i32>().prop_map(|v| (Builtin::Varint32, json!(v))),
            any::<u32>().prop_map(|v| (Builtin::Varuint32, json!(v))),
            any::<i16>().prop_map(|v| (Builtin::Int16, json!(v))),
            (-1_000_000i64..1_000_000).prop_map(|v| (
                Builtin::Float64,
                crate::antelope::json::float_to_json(v as f64 / 4.0)
            )),
            names.prop_map(|v| (Builtin::Name, json!(v))),
            any::<String>().prop_map(|v| (Builtin::String, json!(v))),
            prop::collection::vec(any::<u8>(), 0..40)
                .prop_map(|v| (Builtin::Bytes, json!(hex::encode(v)))),
            any::<[u8; 32]>().prop_map(|v| (Builtin::Checksum256, json!(hex::encode(v)))),
            any::<u32>().prop_map(|v| (
                Builtin::TimePointSec,
                json!(crate::antelope::time::TimePointSec::from_secs(v).to_string())
            )),
            any::<u32>().prop_map(|v| (
                Builtin::BlockTimestamp,
                json!(crate::antelope::time::BlockTimestamp::from_slot(v).to_string())
            )),
            (0i64..4_000_000_000_000).prop_map(|ms| (
                Builtin::TimePoint,
                json!(crate::antelope::time::TimePoint::from_micros(ms * 1000).to_string())
            )),
            (
                -4_611_686_018_427_387_903i64..=4_611_686_018_427_387_903,
                0u8..=18,
                "[A-Z]{1,7}"
            )
                .prop_map(|(amount, precision, code)| {
                    let symbol = crate::antelope::symbol::Symbol::new(
                        precision,
                        code.parse().expect("code"),
                    )
                    .expect("symbol");
                    let asset = crate::antelope::asset::Asset::new(amount, symbol).expect("asset");
                    (Builtin::Asset, json!(asset.to_string()))
                }),
        ]
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[a-z0-9 .,]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-z_]{1,6}", inner), 0..4)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn builtin_json_round_trips((builtin, value) in arb_builtin_json()) {
            let abi = test_abi();
            let name = builtin.name();
            let bytes = abi.encode(name, &value).expect("encode");
            prop_assert_eq!(abi.decode(name, &bytes).expect("decode"), value.clone());
            prop_assert_eq!(abi.decode_to_text(name, &bytes).expect("decode"), value.to_string());
            let wrapped = json!([value.clone(), null]);
            let array_type = format!("{name}?[]");
            let bytes = abi.encode(&array_type, &wrapped).expect("encode array");
            prop_assert_eq!(abi.decode_to_text(&array_type, &bytes).expect("decode"), wrapped.to_string());
            prop_assert_eq!(abi.decode(&array_type, &bytes).expect("decode array"), wrapped);
        }

        #[test]
        fn builtin_samples_round_trip(builtin in arb_builtin(), seed in 0usize..6, len in 0usize..3) {
            let abi = test_abi();
            let value = sample_builtin(builtin, seed);
            check_round_trip(&abi, builtin.name(), &value);
            let items = Value::Array((0..len).map(|idx| sample_builtin(builtin, seed + idx)).collect());
            check_round_trip(&abi, &format!("{}[]", builtin.name()), &items);
            check_round_trip(&abi, &format!("{}[{len}]", builtin.name()), &items);
        }

        #[test]
        fn arbitrary_json_never_panics(builtin in arb_builtin(), value in arb_json()) {
            let abi = test_abi();
            for type_name in [builtin.name(), "many_extensions", "node", "foo_variant[]", "bar", "grid"] {
                if let Ok(bytes) = abi.encode(type_name, &value) {
                    let text = abi.decode_to_text(type_name, &bytes);
                    prop_assert!(text.is_ok(), "{} {}", type_name, value);
                    // The text is exactly what serde_json prints for the decoded value.
                    let text = text.unwrap_or_default();
                    let parsed: Value = serde_json::from_str(&text).expect("decoded text parses");
                    prop_assert_eq!(parsed.to_string(), text);
                }
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(builtin in arb_builtin(), bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            let abi = test_abi();
            if let Ok(text) = abi.decode_to_text(builtin.name(), &bytes) {
                let parsed: Value = serde_json::from_str(&text).expect("decoded text parses");
                prop_assert_eq!(parsed.to_string(), text);
            }
            let _ = abi.decode(builtin.name(), &bytes);
            let _ = abi.decode("many_extensions", &bytes);
            let _ = abi.decode("node", &bytes);
            let _ = abi.decode("foo_variant[]", &bytes);
        }
    }
}
