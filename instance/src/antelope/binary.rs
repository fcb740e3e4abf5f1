//! The Antelope binary wire format: a byte [`Writer`], a bounds-checked [`Reader`], and the
//! [`Encode`] / [`Decode`] traits every fixed-layout protocol type implements.
//!
//! All integers are little-endian; lengths are `varuint32`. The reader never panics and never
//! allocates more than the input could hold: a length prefix larger than the bytes that remain is
//! an error before any allocation.

use thiserror::Error;

use crate::antelope::varint;

/// Why bytes could not be decoded.
#[derive(Debug, Error)]
pub enum Error {
    /// The input ended before a value was complete.
    #[error("unexpected end of input at byte {position}: needed {needed} bytes, {remaining} left")]
    UnexpectedEnd {
        /// Offset where the value started.
        position: usize,
        /// Bytes the value needed.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A `varuint32` or `varint32` was malformed.
    #[error("bad varuint32 at byte {position}")]
    Varint {
        /// Offset where the integer started.
        position: usize,
        /// What was wrong with it.
        #[source]
        source: varint::Error,
    },
    /// A length prefix claims more items than bytes remain, so the input cannot be valid.
    #[error("length {length} at byte {position} exceeds the {remaining} bytes left")]
    LengthTooLarge {
        /// Offset of the length prefix.
        position: usize,
        /// The declared length.
        length: u32,
        /// Bytes left after the prefix.
        remaining: usize,
    },
    /// A `bool` byte was neither 0 nor 1.
    #[error("invalid bool byte {value:#04x} at byte {position}")]
    InvalidBool {
        /// Offset of the byte.
        position: usize,
        /// The byte read.
        value: u8,
    },
    /// An optional's presence byte was neither 0 nor 1.
    #[error("invalid optional flag {value:#04x} at byte {position}")]
    InvalidOptionalFlag {
        /// Offset of the byte.
        position: usize,
        /// The byte read.
        value: u8,
    },
    /// A `string` was not valid UTF-8.
    #[error("string at byte {position} is not valid UTF-8")]
    InvalidUtf8 {
        /// Offset of the string's bytes.
        position: usize,
        /// The UTF-8 error.
        #[source]
        source: std::str::Utf8Error,
    },
    /// Bytes were left after the value; a decoder must consume its whole input.
    #[error("{remaining} trailing bytes after the value at byte {position}")]
    TrailingBytes {
        /// Offset where the trailing bytes start.
        position: usize,
        /// How many bytes were left.
        remaining: usize,
    },
    /// The bytes were well-formed but do not make a valid value of the type.
    #[error("invalid {type_name} at byte {position}")]
    InvalidValue {
        /// The protocol type being decoded.
        type_name: &'static str,
        /// Offset where the value started.
        position: usize,
        /// Why the value is invalid.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Result of decoding.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A growable byte buffer that writes Antelope primitives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Writer {
    buf: Vec<u8>,
}

/// A cursor over borrowed bytes that reads Antelope primitives with bounds checks.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    position: usize,
}

/// A type with one fixed Antelope binary layout.
pub trait Encode {
    /// Appends the binary form of `self` to `writer`.
    fn encode(&self, writer: &mut Writer);
}

/// A type that can be read back from its Antelope binary layout.
pub trait Decode: Sized {
    /// Reads one value from `reader`, advancing it past the value.
    fn decode(reader: &mut Reader<'_>) -> Result<Self>;
}

/// Encodes `value` into a fresh byte vector.
pub fn to_bytes<T: Encode + ?Sized>(value: &T) -> Vec<u8> {
    let mut writer = Writer::new();
    value.encode(&mut writer);
    writer.into_bytes()
}

/// Decodes one `T` from `bytes`, failing if any byte is left over.
pub fn from_bytes<T: Decode>(bytes: &[u8]) -> Result<T> {
    let mut reader = Reader::new(bytes);
    let value = T::decode(&mut reader)?;
    reader.finish()?;
    Ok(value)
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// How many bytes were written.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Gives up the buffer.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Appends raw bytes with no length prefix.
    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Appends one byte.
    pub fn write_u8(&mut self, value: u8) {
        self.buf.push(value);
    }

    /// Appends a `bool` as one byte 0 or 1.
    pub fn write_bool(&mut self, value: bool) {
        self.buf.push(u8::from(value));
    }

    /// Appends a `u16` little-endian.
    pub fn write_u16(&mut self, value: u16) {
        self.write_raw(&value.to_le_bytes());
    }

    /// Appends a `u32` little-endian.
    pub fn write_u32(&mut self, value: u32) {
        self.write_raw(&value.to_le_bytes());
    }

    /// Appends a `u64` little-endian.
    pub fn write_u64(&mut self, value: u64) {
        self.write_raw(&value.to_le_bytes());
    }

    /// Appends an `i64` little-endian.
    pub fn write_i64(&mut self, value: i64) {
        self.write_raw(&value.to_le_bytes());
    }

    /// Appends a `varuint32`.
    pub fn write_varuint32(&mut self, value: u32) {
        varint::encode_varuint32(value, &mut self.buf);
    }

    /// Appends a `varint32` (zig-zag).
    pub fn write_varint32(&mut self, value: i32) {
        varint::encode_varint32(value, &mut self.buf);
    }

    /// Appends a collection length as `varuint32`.
    ///
    /// Lengths above `u32::MAX` cannot be represented on the wire; such a collection could not
    /// exist in memory on any supported target for the protocol's types, so it saturates.
    pub fn write_length(&mut self, length: usize) {
        self.write_varuint32(u32::try_from(length).unwrap_or(u32::MAX));
    }

    /// Appends `bytes` with a `varuint32` length prefix (the ABI `bytes` type).
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        self.write_length(bytes.len());
        self.write_raw(bytes);
    }

    /// Appends a UTF-8 string with a `varuint32` length prefix (the ABI `string` type).
    pub fn write_str(&mut self, value: &str) {
        self.write_bytes(value.as_bytes());
    }
}

impl<'a> Reader<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, position: 0 }
    }

    /// Offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.position
    }

    /// Whether every byte was read.
    pub fn is_at_end(&self) -> bool {
        self.remaining() == 0
    }

    /// Succeeds only if every byte was read.
    pub fn finish(&self) -> Result<()> {
        if self.is_at_end() {
            Ok(())
        } else {
            Err(Error::TrailingBytes {
                position: self.position,
                remaining: self.remaining(),
            })
        }
    }

    /// Reads `len` raw bytes.
    pub fn read_slice(&mut self, len: usize) -> Result<&'a [u8]> {
        let rest = &self.data[self.position..];
        let slice = rest.get(..len).ok_or(Error::UnexpectedEnd {
            position: self.position,
            needed: len,
            remaining: rest.len(),
        })?;
        self.position += len;
        Ok(slice)
    }

    /// Reads exactly `N` raw bytes into an array.
    pub fn read_array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.read_slice(N)?);
        Ok(out)
    }

    /// Reads one byte.
    pub fn read_u8(&mut self) -> Result<u8> {
        Ok(self.read_array::<1>()?[0])
    }

    /// Reads a `bool`; bytes other than 0 and 1 are an error.
    pub fn read_bool(&mut self) -> Result<bool> {
        let position = self.position;
        match self.read_u8()? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(Error::InvalidBool { position, value }),
        }
    }

    /// Reads an optional's presence byte; bytes other than 0 and 1 are an error.
    pub fn read_optional_flag(&mut self) -> Result<bool> {
        let position = self.position;
        match self.read_u8()? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(Error::InvalidOptionalFlag { position, value }),
        }
    }

    /// Reads a little-endian `u16`.
    pub fn read_u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.read_array()?))
    }

    /// Reads a little-endian `u32`.
    pub fn read_u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.read_array()?))
    }

    /// Reads a little-endian `u64`.
    pub fn read_u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.read_array()?))
    }

    /// Reads a little-endian `i64`.
    pub fn read_i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.read_array()?))
    }

    /// Reads a strict `varuint32` (no overflow, no overlong form).
    pub fn read_varuint32(&mut self) -> Result<u32> {
        let position = self.position;
        let (value, len) = varint::decode_varuint32(&self.data[position..])
            .map_err(|source| Error::Varint { position, source })?;
        self.position += len;
        Ok(value)
    }

    /// Reads a strict `varint32` (zig-zag).
    pub fn read_varint32(&mut self) -> Result<i32> {
        Ok(varint::zigzag_decode(self.read_varuint32()?))
    }

    /// Reads a collection length and checks that at least `length * min_item_size` bytes remain,
    /// so a hostile length is rejected before anything is allocated.
    pub fn read_length(&mut self, min_item_size: usize) -> Result<usize> {
        let position = self.position;
        let length = self.read_varuint32()?;
        let needed = (length as usize).saturating_mul(min_item_size);
        if needed > self.remaining() {
            return Err(Error::LengthTooLarge {
                position,
                length,
                remaining: self.remaining(),
            });
        }
        Ok(length as usize)
    }

    /// Reads length-prefixed raw bytes (the ABI `bytes` type).
    pub fn read_bytes(&mut self) -> Result<&'a [u8]> {
        let len = self.read_length(1)?;
        self.read_slice(len)
    }

    /// Reads a length-prefixed UTF-8 string (the ABI `string` type).
    pub fn read_str(&mut self) -> Result<&'a str> {
        let bytes = self.read_bytes()?;
        let position = self.position - bytes.len();
        std::str::from_utf8(bytes).map_err(|source| Error::InvalidUtf8 { position, source })
    }
}

macro_rules! impl_fixed_int {
    ($($int:ty),*) => {$(
        impl Encode for $int {
            fn encode(&self, writer: &mut Writer) {
                writer.write_raw(&self.to_le_bytes());
            }
        }

        impl Decode for $int {
            fn decode(reader: &mut Reader<'_>) -> Result<Self> {
                Ok(<$int>::from_le_bytes(reader.read_array()?))
            }
        }
    )*};
}

impl_fixed_int!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128, f32, f64);

impl Encode for bool {
    fn encode(&self, writer: &mut Writer) {
        writer.write_bool(*self);
    }
}

impl Decode for bool {
    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        reader.read_bool()
    }
}

impl Encode for str {
    fn encode(&self, writer: &mut Writer) {
        writer.write_str(self);
    }
}

impl Encode for String {
    fn encode(&self, writer: &mut Writer) {
        writer.write_str(self);
    }
}

impl Decode for String {
    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        reader.read_str().map(str::to_owned)
    }
}

impl<T: Encode> Encode for [T] {
    fn encode(&self, writer: &mut Writer) {
        writer.write_length(self.len());
        for item in self {
            item.encode(writer);
        }
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, writer: &mut Writer) {
        self.as_slice().encode(writer);
    }
}

/// Every element is assumed to take at least one byte, which holds for all protocol types, so
/// a count above the remaining byte count is rejected up front.
impl<T: Decode> Decode for Vec<T> {
    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        let len = reader.read_length(1)?;
        let mut items = Vec::with_capacity(len);
        for _ in 0..len {
            items.push(T::decode(reader)?);
        }
        Ok(items)
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, writer: &mut Writer) {
        match self {
            Some(value) => {
                writer.write_u8(1);
                value.encode(writer);
            }
            None => writer.write_u8(0),
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        if reader.read_optional_flag()? {
            T::decode(reader).map(Some)
        } else {
            Ok(None)
        }
    }
}

impl<const N: usize> Encode for [u8; N] {
    fn encode(&self, writer: &mut Writer) {
        writer.write_raw(self);
    }
}

impl<const N: usize> Decode for [u8; N] {
    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        reader.read_array()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_encode<T: Encode + ?Sized>(value: &T, hex: &str) {
        assert_eq!(hex::encode(to_bytes(value)), hex);
    }

    fn check_round_trip<T: Encode + Decode + PartialEq + std::fmt::Debug>(value: T, hex: &str) {
        check_encode(&value, hex);
        let bytes = hex::decode(hex).expect("test hex");
        assert_eq!(from_bytes::<T>(&bytes).expect(hex), value);
    }

    fn decode_error<T: Decode + std::fmt::Debug>(hex: &str) -> Error {
        let bytes = hex::decode(hex).expect("test hex");
        from_bytes::<T>(&bytes).expect_err(hex)
    }

    #[test]
    fn primitives_round_trip() {
        check_round_trip(true, "01");
        check_round_trip(false, "00");
        check_round_trip(0x1234u16, "3412");
        check_round_trip(-2i32, "feffffff");
        check_round_trip(6712742083569909760u64, "000000005c73285d");
        check_round_trip(1u128, "01000000000000000000000000000000");
        check_round_trip(1.5f64, "000000000000f83f");
        check_round_trip(String::from("hello world"), "0b68656c6c6f20776f726c64");
        check_round_trip(String::new(), "00");
        check_round_trip(Some(7u8), "0107");
        check_round_trip(None::<u8>, "00");
        check_round_trip([1u8, 2, 3], "010203");
    }

    #[test]
    fn string_array_vector_s6() {
        let value: Vec<String> = ["foo", "bar", "baz"].map(String::from).to_vec();
        check_round_trip(value, "0303666f6f036261720362617a");
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            decode_error::<u32>("0102"),
            Error::UnexpectedEnd {
                needed: 4,
                remaining: 2,
                ..
            }
        ));
        assert!(matches!(
            decode_error::<u8>("0102"),
            Error::TrailingBytes {
                position: 1,
                remaining: 1
            }
        ));
        assert!(matches!(
            decode_error::<bool>("02"),
            Error::InvalidBool { value: 2, .. }
        ));
        assert!(matches!(
            decode_error::<Option<u8>>("0207"),
            Error::InvalidOptionalFlag { value: 2, .. }
        ));
        assert!(matches!(
            decode_error::<String>("02c328"),
            Error::InvalidUtf8 { position: 1, .. }
        ));
        assert!(matches!(
            decode_error::<String>("0561"),
            Error::LengthTooLarge { length: 5, .. }
        ));
        assert!(matches!(
            decode_error::<Vec<u64>>("ffffffff0f"),
            Error::LengthTooLarge {
                length: u32::MAX,
                remaining: 0,
                ..
            }
        ));
        assert!(matches!(
            decode_error::<Vec<u8>>("8000"),
            Error::Varint { position: 0, .. }
        ));
    }

    #[test]
    fn reader_tracks_position() {
        let mut reader = Reader::new(&[0x03, 0x61, 0x62, 0x63, 0x01]);
        assert_eq!(reader.read_str().expect("string"), "abc");
        assert_eq!(reader.position(), 4);
        assert_eq!(reader.remaining(), 1);
        assert!(reader.finish().is_err());
        assert!(reader.read_bool().expect("bool"));
        assert!(reader.finish().is_ok());
        assert!(reader.read_u8().is_err());
    }

    #[test]
    fn read_length_checks_item_size() {
        let mut reader = Reader::new(&[0x02, 0, 0, 0]);
        assert!(matches!(
            reader.read_length(2),
            Err(Error::LengthTooLarge { length: 2, .. })
        ));
        let mut reader = Reader::new(&[0x02, 0, 0, 0, 0]);
        assert_eq!(reader.read_length(2).expect("length"), 2);
    }

    proptest! {
        #[test]
        fn strings_round_trip(value: String) {
            prop_assert_eq!(from_bytes::<String>(&to_bytes(&value)).expect("decode"), value);
        }

        #[test]
        fn vectors_round_trip(value: Vec<Option<i64>>) {
            prop_assert_eq!(from_bytes::<Vec<Option<i64>>>(&to_bytes(&value)).expect("decode"), value);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes: Vec<u8>) {
            let _ = from_bytes::<Vec<String>>(&bytes);
            let _ = from_bytes::<Option<Vec<u32>>>(&bytes);
        }
    }
}
