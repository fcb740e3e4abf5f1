//! The ABI-driven codec: JSON values to Antelope binary and back, walking the resolved types of
//! an [`Abi`].
//!
//! Both directions track the path into the value for error messages and stop at
//! [`MAX_NESTING`] levels, so a hostile value or byte string cannot exhaust the stack. Decoding
//! checks array lengths against the bytes that remain before allocating: every element is taken
//! to need at least one byte, so arrays of empty structs are the one shape it refuses.
//!
//! Decoding writes compact JSON text straight into a buffer, without building a
//! [`serde_json::Value`] tree: the text is what the event store keeps, and building it directly
//! is several times cheaper. It is exactly the text `serde_json` prints for the same value.

use std::str::FromStr;

use serde_json::Value;

use crate::antelope::abi::{Abi, Builtin, Error, MAX_NESTING, Result, StructInfo, Ty};
use crate::antelope::asset::{Asset, ExtendedAsset};
use crate::antelope::binary::{self, Decode, Encode, Reader, Writer};
use crate::antelope::checksum::{Checksum160, Checksum256, Checksum512};
use crate::antelope::json;
use crate::antelope::keys::PublicKey;
use crate::antelope::name::Name;
use crate::antelope::signature::Signature;
use crate::antelope::symbol::{Symbol, SymbolCode};
use crate::antelope::time::{BlockTimestamp, TimePoint, TimePointSec};

/// Encodes `value` as `ty`, which was resolved from `type_name`.
pub(super) fn encode(abi: &Abi, type_name: &str, ty: &Ty, value: &Value) -> Result<Vec<u8>> {
    let mut walker = Walker::new(abi, type_name);
    let mut writer = Writer::new();
    walker.encode(ty, value, &mut writer)?;
    Ok(writer.into_bytes())
}

/// Decodes all of `bytes` as `ty`, which was resolved from `type_name`, into compact JSON text
/// appended to `out`. On error `out` is left as it was.
pub(super) fn decode(
    abi: &Abi,
    type_name: &str,
    ty: &Ty,
    bytes: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    let start = out.len();
    let mut walker = Walker::new(abi, type_name);
    let mut reader = Reader::new(bytes);
    let result = walker.decode(ty, &mut reader, out).and_then(|()| {
        reader
            .finish()
            .map_err(|source| walker.binary_error(source))
    });
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// One step of the path into a value.
#[derive(Debug, Clone, Copy)]
enum Segment<'a> {
    Field(&'a str),
    Index(usize),
}

/// The state of one encode or decode: the ABI, the path and the nesting depth.
struct Walker<'a> {
    abi: &'a Abi,
    root: &'a str,
    path: Vec<Segment<'a>>,
    depth: usize,
    /// Reused for the text of names, checksums and the like while decoding.
    scratch: String,
}

impl<'a> Walker<'a> {
    fn new(abi: &'a Abi, root: &'a str) -> Self {
        Self {
            abi,
            root,
            path: Vec::new(),
            depth: 0,
            scratch: String::new(),
        }
    }

    /// The path as `transfer.actions[0].data`.
    fn path(&self) -> String {
        let mut text = String::from(self.root);
        for segment in &self.path {
            match segment {
                Segment::Field(name) => {
                    text.push('.');
                    text.push_str(name);
                }
                Segment::Index(idx) => text.push_str(&format!("[{idx}]")),
            }
        }
        text
    }

    fn binary_error(&self, source: binary::Error) -> Error {
        Error::Binary {
            path: self.path(),
            source,
        }
    }

    fn mismatch(&self, expected: &'static str, found: &Value) -> Error {
        Error::Mismatch {
            path: self.path(),
            expected,
            found: json_kind(found),
        }
    }

    fn invalid(
        &self,
        builtin: Builtin,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::InvalidValue {
            path: self.path(),
            type_name: builtin.name(),
            source: source.into(),
        }
    }

    /// Runs `body` one nesting level deeper, failing past [`MAX_NESTING`].
    fn nested<T>(&mut self, body: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.depth >= MAX_NESTING {
            return Err(Error::TooDeep { path: self.path() });
        }
        self.depth += 1;
        let result = body(self);
        self.depth -= 1;
        result
    }

    /// Runs `body` with `segment` appended to the path.
    fn at<T>(
        &mut self,
        segment: Segment<'a>,
        body: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        self.path.push(segment);
        let result = body(self);
        self.path.pop();
        result
    }

    fn encode(&mut self, ty: &Ty, value: &Value, writer: &mut Writer) -> Result<()> {
        match ty {
            Ty::Builtin(builtin) => self.encode_builtin(*builtin, value, writer),
            Ty::Optional(inner) => {
                if value.is_null() {
                    writer.write_u8(0);
                    Ok(())
                } else {
                    writer.write_u8(1);
                    self.nested(|this| this.encode(inner, value, writer))
                }
            }
            Ty::Array(inner) => {
                let items = value
                    .as_array()
                    .ok_or_else(|| self.mismatch("array", value))?;
                writer.write_length(items.len());
                self.encode_items(inner, items, writer)
            }
            Ty::FixedArray(inner, len) => {
                let items = value
                    .as_array()
                    .ok_or_else(|| self.mismatch("array", value))?;
                if items.len() != *len {
                    return Err(Error::FixedArrayLength {
                        path: self.path(),
                        expected: *len,
                        found: items.len(),
                    });
                }
                self.encode_items(inner, items, writer)
            }
            Ty::Struct(idx) => {
                let abi = self.abi;
                self.nested(|this| this.encode_struct(&abi.structs[*idx], value, writer))
            }
            Ty::Variant(idx) => {
                let variant = &self.abi.variants[*idx];
                let pair = value
                    .as_array()
                    .filter(|pair| pair.len() == 2)
                    .ok_or_else(|| self.mismatch("[type, value] pair", value))?;
                let chosen = pair[0]
                    .as_str()
                    .ok_or_else(|| self.mismatch("type name string", &pair[0]))?;
                let (tag, (_, alt_ty)) = variant
                    .alternatives
                    .iter()
                    .enumerate()
                    .find(|(_, (name, _))| name == chosen)
                    .ok_or_else(|| Error::UnknownVariantType {
                        path: self.path(),
                        variant: variant.name.clone(),
                        type_name: chosen.to_owned(),
                    })?;
                writer.write_length(tag);
                self.nested(|this| this.encode(alt_ty, &pair[1], writer))
            }
        }
    }

    fn encode_items(&mut self, item_ty: &Ty, items: &[Value], writer: &mut Writer) -> Result<()> {
        self.nested(|this| {
            for (idx, item) in items.iter().enumerate() {
                this.at(Segment::Index(idx), |this| {
                    this.encode(item_ty, item, writer)
                })?;
            }
            Ok(())
        })
    }

    /// Encodes a struct from a JSON object (fields by name) or array (fields in order).
    fn encode_struct(
        &mut self,
        info: &'a StructInfo,
        value: &Value,
        writer: &mut Writer,
    ) -> Result<()> {
        if !value.is_object() && !value.is_array() {
            return Err(self.mismatch("object", value));
        }
        let lookup = |idx: usize, name: &str| match value {
            Value::Object(object) => object.get(name),
            _ => value.get(idx),
        };
        let mut absent_extension = false;
        for (idx, field) in info.fields.iter().enumerate() {
            // A null extension is left out, unless null is a value of its (optional) type.
            let omitted =
                |v: &Value| field.extension && v.is_null() && !matches!(field.ty, Ty::Optional(_));
            let given = lookup(idx, &field.name).filter(|v| !omitted(v));
            match given {
                Some(field_value) => {
                    if absent_extension {
                        return Err(Error::ExtensionGap {
                            path: self.path(),
                            field: field.name.clone(),
                        });
                    }
                    self.at(Segment::Field(&field.name), |this| {
                        this.encode(&field.ty, field_value, writer)
                    })?;
                }
                None if field.extension => absent_extension = true,
                None if matches!(field.ty, Ty::Optional(_)) => writer.write_u8(0),
                None => {
                    return Err(Error::MissingField {
                        path: self.path(),
                        field: field.name.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    fn encode_builtin(
        &mut self,
        builtin: Builtin,
        value: &Value,
        writer: &mut Writer,
    ) -> Result<()> {
        let int_error = |this: &Self, err| this.invalid(builtin, err);
        match builtin {
            Builtin::Bool => {
                let flag = value
                    .as_bool()
                    .ok_or_else(|| self.mismatch("boolean", value))?;
                writer.write_bool(flag);
            }
            Builtin::Int8 => self.encode_int::<i8>(builtin, value, writer)?,
            Builtin::Uint8 => self.encode_int::<u8>(builtin, value, writer)?,
            Builtin::Int16 => self.encode_int::<i16>(builtin, value, writer)?,
            Builtin::Uint16 => self.encode_int::<u16>(builtin, value, writer)?,
            Builtin::Int32 => self.encode_int::<i32>(builtin, value, writer)?,
            Builtin::Uint32 => self.encode_int::<u32>(builtin, value, writer)?,
            Builtin::Int64 => self.encode_int::<i64>(builtin, value, writer)?,
            Builtin::Uint64 => self.encode_int::<u64>(builtin, value, writer)?,
            Builtin::Int128 => self.encode_int::<i128>(builtin, value, writer)?,
            Builtin::Uint128 => self.encode_int::<u128>(builtin, value, writer)?,
            Builtin::Varint32 => {
                let number = json::int_from_json::<i32>(value, "varint32")
                    .map_err(|err| int_error(self, err))?;
                writer.write_varint32(number);
            }
            Builtin::Varuint32 => {
                let number = json::int_from_json::<u32>(value, "varuint32")
                    .map_err(|err| int_error(self, err))?;
                writer.write_varuint32(number);
            }
            Builtin::Float32 => {
                let number = json::float_from_json(value).map_err(|err| int_error(self, err))?;
                (number as f32).encode(writer);
            }
            Builtin::Float64 => {
                let number = json::float_from_json(value).map_err(|err| int_error(self, err))?;
                number.encode(writer);
            }
            Builtin::Float128 => {
                let text = self.expect_str(value)?;
                let digits = text.strip_prefix("0x").unwrap_or(text);
                let mut bytes = [0u8; 16];
                hex::decode_to_slice(digits, &mut bytes)
                    .map_err(|err| self.invalid(builtin, err))?;
                writer.write_raw(&bytes);
            }
            Builtin::Bytes => {
                let bytes = hex::decode(self.expect_str(value)?)
                    .map_err(|err| self.invalid(builtin, err))?;
                writer.write_bytes(&bytes);
            }
            Builtin::String => writer.write_str(self.expect_str(value)?),
            Builtin::TimePoint => self.encode_parsed::<TimePoint>(builtin, value, writer)?,
            Builtin::TimePointSec => self.encode_parsed::<TimePointSec>(builtin, value, writer)?,
            Builtin::BlockTimestamp => {
                self.encode_parsed::<BlockTimestamp>(builtin, value, writer)?;
            }
            Builtin::Name => self.encode_parsed::<Name>(builtin, value, writer)?,
            Builtin::Checksum160 => self.encode_parsed::<Checksum160>(builtin, value, writer)?,
            Builtin::Checksum256 => self.encode_parsed::<Checksum256>(builtin, value, writer)?,
            Builtin::Checksum512 => self.encode_parsed::<Checksum512>(builtin, value, writer)?,
            Builtin::PublicKey => self.encode_parsed::<PublicKey>(builtin, value, writer)?,
            Builtin::Signature => self.encode_parsed::<Signature>(builtin, value, writer)?,
            Builtin::Symbol => self.encode_parsed::<Symbol>(builtin, value, writer)?,
            Builtin::SymbolCode => self.encode_parsed::<SymbolCode>(builtin, value, writer)?,
            Builtin::Asset => self.encode_parsed::<Asset>(builtin, value, writer)?,
            Builtin::ExtendedAsset => {
                if !value.is_object() {
                    return Err(self.mismatch("object", value));
                }
                let extended: ExtendedAsset = serde_json::from_value(value.clone())
                    .map_err(|err| self.invalid(builtin, err))?;
                extended.encode(writer);
            }
        }
        Ok(())
    }

    fn expect_str<'v>(&self, value: &'v Value) -> Result<&'v str> {
        value.as_str().ok_or_else(|| self.mismatch("string", value))
    }

    fn encode_int<T>(&self, builtin: Builtin, value: &Value, writer: &mut Writer) -> Result<()>
    where
        T: TryFrom<i128> + TryFrom<u128> + FromStr + Encode,
    {
        let number = json::int_from_json::<T>(value, builtin.name())
            .map_err(|err| self.invalid(builtin, err))?;
        number.encode(writer);
        Ok(())
    }

    fn encode_parsed<T>(&self, builtin: Builtin, value: &Value, writer: &mut Writer) -> Result<()>
    where
        T: FromStr + Encode,
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        let parsed: T = self
            .expect_str(value)?
            .parse()
            .map_err(|err| self.invalid(builtin, err))?;
        parsed.encode(writer);
        Ok(())
    }

    fn decode(&mut self, ty: &Ty, reader: &mut Reader<'_>, out: &mut Vec<u8>) -> Result<()> {
        match ty {
            Ty::Builtin(builtin) => self.decode_builtin(*builtin, reader, out),
            Ty::Optional(inner) => {
                let present = reader
                    .read_optional_flag()
                    .map_err(|source| self.binary_error(source))?;
                if present {
                    self.nested(|this| this.decode(inner, reader, out))
                } else {
                    out.extend_from_slice(b"null");
                    Ok(())
                }
            }
            Ty::Array(inner) => {
                let min_size = self.abi.min_size(inner).max(1);
                let len = reader
                    .read_length(min_size)
                    .map_err(|source| self.binary_error(source))?;
                self.decode_items(inner, len, reader, out)
            }
            Ty::FixedArray(inner, len) => {
                let min_size = self.abi.min_size(inner).max(1);
                if len.saturating_mul(min_size) > reader.remaining() {
                    return Err(self.binary_error(binary::Error::LengthTooLarge {
                        position: reader.position(),
                        length: u32::try_from(*len).unwrap_or(u32::MAX),
                        remaining: reader.remaining(),
                    }));
                }
                self.decode_items(inner, *len, reader, out)
            }
            Ty::Struct(idx) => {
                let abi = self.abi;
                self.nested(|this| this.decode_struct(&abi.structs[*idx], reader, out))
            }
            Ty::Variant(idx) => {
                let variant = &self.abi.variants[*idx];
                let tag = reader
                    .read_varuint32()
                    .map_err(|source| self.binary_error(source))?;
                let (alt_name, alt_ty) =
                    variant
                        .alternatives
                        .get(tag as usize)
                        .ok_or_else(|| Error::VariantIndex {
                            path: self.path(),
                            variant: variant.name.clone(),
                            index: tag,
                        })?;
                out.push(b'[');
                self.write_json(alt_name.as_str(), out)?;
                out.push(b',');
                self.nested(|this| this.decode(alt_ty, reader, out))?;
                out.push(b']');
                Ok(())
            }
        }
    }

    fn decode_items(
        &mut self,
        item_ty: &Ty,
        len: usize,
        reader: &mut Reader<'_>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        self.nested(|this| {
            out.push(b'[');
            for idx in 0..len {
                if idx > 0 {
                    out.push(b',');
                }
                this.at(Segment::Index(idx), |this| {
                    this.decode(item_ty, reader, out)
                })?;
            }
            out.push(b']');
            Ok(())
        })
    }

    fn decode_struct(
        &mut self,
        info: &'a StructInfo,
        reader: &mut Reader<'_>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        out.push(b'{');
        for (idx, field) in info.fields.iter().enumerate() {
            if field.extension && reader.is_at_end() {
                break;
            }
            if idx > 0 {
                out.push(b',');
            }
            self.write_json(field.name.as_str(), out)?;
            out.push(b':');
            self.at(Segment::Field(&field.name), |this| {
                this.decode(&field.ty, reader, out)
            })?;
        }
        out.push(b'}');
        Ok(())
    }

    fn decode_builtin(
        &mut self,
        builtin: Builtin,
        reader: &mut Reader<'_>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        match builtin {
            Builtin::Bool => {
                let flag = self.read(reader, Reader::read_bool)?;
                self.write_json(&flag, out)
            }
            Builtin::Int8 => self.decode_number::<i8>(reader, out),
            Builtin::Uint8 => self.decode_number::<u8>(reader, out),
            Builtin::Int16 => self.decode_number::<i16>(reader, out),
            Builtin::Uint16 => self.decode_number::<u16>(reader, out),
            Builtin::Int32 => self.decode_number::<i32>(reader, out),
            Builtin::Uint32 => self.decode_number::<u32>(reader, out),
            Builtin::Int64 => {
                let number = self.read_decode::<i64>(reader)?;
                self.write_json(&json::i64_to_json(number), out)
            }
            Builtin::Uint64 => {
                let number = self.read_decode::<u64>(reader)?;
                self.write_json(&json::u64_to_json(number), out)
            }
            Builtin::Int128 => self.decode_display::<i128>(reader, out),
            Builtin::Uint128 => self.decode_display::<u128>(reader, out),
            Builtin::Varint32 => {
                let number = self.read(reader, Reader::read_varint32)?;
                self.write_json(&number, out)
            }
            Builtin::Varuint32 => {
                let number = self.read(reader, Reader::read_varuint32)?;
                self.write_json(&number, out)
            }
            Builtin::Float32 => {
                let number = f64::from(self.read_decode::<f32>(reader)?);
                self.write_json(&json::float_to_json(number), out)
            }
            Builtin::Float64 => {
                let number = self.read_decode::<f64>(reader)?;
                self.write_json(&json::float_to_json(number), out)
            }
            Builtin::Float128 => {
                let bytes = self.read_decode::<[u8; 16]>(reader)?;
                self.write_json(&format!("0x{}", hex::encode(bytes)), out)
            }
            Builtin::Bytes => {
                let bytes = self.read(reader, Reader::read_bytes)?;
                self.write_json(&hex::encode(bytes), out)
            }
            Builtin::String => {
                let text = self.read(reader, Reader::read_str)?;
                self.write_json(text, out)
            }
            Builtin::TimePoint => self.decode_display::<TimePoint>(reader, out),
            Builtin::TimePointSec => self.decode_display::<TimePointSec>(reader, out),
            Builtin::BlockTimestamp => self.decode_display::<BlockTimestamp>(reader, out),
            Builtin::Name => self.decode_display::<Name>(reader, out),
            Builtin::Checksum160 => self.decode_display::<Checksum160>(reader, out),
            Builtin::Checksum256 => self.decode_display::<Checksum256>(reader, out),
            Builtin::Checksum512 => self.decode_display::<Checksum512>(reader, out),
            Builtin::PublicKey => {
                let key = self.read_decode::<PublicKey>(reader)?;
                self.write_json(&key.to_legacy_string(), out)
            }
            Builtin::Signature => self.decode_display::<Signature>(reader, out),
            Builtin::Symbol => self.decode_display::<Symbol>(reader, out),
            Builtin::SymbolCode => self.decode_display::<SymbolCode>(reader, out),
            Builtin::Asset => self.decode_display::<Asset>(reader, out),
            Builtin::ExtendedAsset => {
                let extended = self.read_decode::<ExtendedAsset>(reader)?;
                out.extend_from_slice(b"{\"quantity\":");
                self.write_display(&extended.quantity, out)?;
                out.extend_from_slice(b",\"contract\":");
                self.write_display(&extended.contract, out)?;
                out.push(b'}');
                Ok(())
            }
        }
    }

    fn read<'r, T>(
        &self,
        reader: &mut Reader<'r>,
        read: impl FnOnce(&mut Reader<'r>) -> binary::Result<T>,
    ) -> Result<T> {
        read(reader).map_err(|source| self.binary_error(source))
    }

    fn read_decode<T: Decode>(&self, reader: &mut Reader<'_>) -> Result<T> {
        self.read(reader, T::decode)
    }

    /// Decodes a number that JSON holds exactly (up to 32 bits) and writes it as a number.
    fn decode_number<T: Decode + serde::Serialize>(
        &self,
        reader: &mut Reader<'_>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let number = self.read_decode::<T>(reader)?;
        self.write_json(&number, out)
    }

    /// Decodes a value written as the string of its text form.
    fn decode_display<T: Decode + std::fmt::Display>(
        &mut self,
        reader: &mut Reader<'_>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let value = self.read_decode::<T>(reader)?;
        self.write_display(&value, out)
    }

    /// Writes `value`'s text form as a JSON string, through a scratch buffer kept across values.
    fn write_display(&mut self, value: &impl std::fmt::Display, out: &mut Vec<u8>) -> Result<()> {
        use std::fmt::Write as _;
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let written = write!(scratch, "{value}");
        let result = match written {
            Ok(()) => self.write_json(scratch.as_str(), out),
            Err(_) => Err(Error::DecodedJson {
                path: self.path(),
                source: None,
            }),
        };
        self.scratch = scratch;
        result
    }

    /// Appends `value` as compact JSON, escaped as `serde_json` escapes.
    fn write_json<T: serde::Serialize + ?Sized>(&self, value: &T, out: &mut Vec<u8>) -> Result<()> {
        serde_json::to_writer(out, value).map_err(|source| Error::DecodedJson {
            path: self.path(),
            source: Some(source),
        })
    }
}

/// The JSON kind of a value, for error messages.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
