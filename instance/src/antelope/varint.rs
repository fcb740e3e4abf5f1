//! Variable-length integers of the Antelope wire format: `varuint32` (unsigned LEB128) and
//! `varint32` (zig-zag, then LEB128).
//!
//! Decoding is strict: it rejects values that do not fit in 32 bits and overlong encodings
//! (a final zero byte after the first), so every value has exactly one accepted encoding.
//! Nothing here allocates beyond the caller's buffer or panics on bad input.

use thiserror::Error;

/// The largest number of bytes a `varuint32` can take.
pub const MAX_VARUINT32_LEN: usize = 5;

/// Why a `varuint32` or `varint32` could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// The input ended while the continuation bit was still set.
    #[error("varuint32 is truncated after {read} bytes")]
    Truncated {
        /// Bytes read before the input ended.
        read: usize,
    },
    /// The encoded value does not fit in 32 bits.
    #[error("varuint32 does not fit in 32 bits")]
    Overflow,
    /// The value has a shorter encoding; nodeos never writes this form.
    #[error("varuint32 is not minimally encoded")]
    Overlong,
}

/// Appends the `varuint32` encoding of `value` to `out`.
pub fn encode_varuint32(value: u32, out: &mut Vec<u8>) {
    let mut rest = value;
    loop {
        let low = (rest & 0x7f) as u8;
        rest >>= 7;
        if rest == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// Appends the `varint32` (zig-zag) encoding of `value` to `out`.
pub fn encode_varint32(value: i32, out: &mut Vec<u8>) {
    encode_varuint32(zigzag_encode(value), out);
}

/// Decodes a `varuint32` at the start of `input`, returning the value and the bytes it took.
pub fn decode_varuint32(input: &[u8]) -> Result<(u32, usize), Error> {
    let mut value: u32 = 0;
    for (idx, &byte) in input.iter().take(MAX_VARUINT32_LEN).enumerate() {
        let bits = u32::from(byte & 0x7f);
        if idx == MAX_VARUINT32_LEN - 1 && byte > 0x0f {
            return Err(Error::Overflow);
        }
        value |= bits << (7 * idx);
        if byte & 0x80 == 0 {
            if idx > 0 && byte == 0 {
                return Err(Error::Overlong);
            }
            return Ok((value, idx + 1));
        }
    }
    Err(Error::Truncated {
        read: input.len().min(MAX_VARUINT32_LEN),
    })
}

/// Decodes a `varint32` (zig-zag) at the start of `input`, returning the value and its length.
pub fn decode_varint32(input: &[u8]) -> Result<(i32, usize), Error> {
    let (raw, len) = decode_varuint32(input)?;
    Ok((zigzag_decode(raw), len))
}

/// Maps signed to unsigned so small magnitudes get short encodings: 0→0, -1→1, 1→2, -2→3.
pub const fn zigzag_encode(value: i32) -> u32 {
    ((value << 1) ^ (value >> 31)) as u32
}

/// Inverse of [`zigzag_encode`].
pub const fn zigzag_decode(raw: u32) -> i32 {
    ((raw >> 1) as i32) ^ -((raw & 1) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_unsigned(value: u32, hex: &str) {
        let mut out = Vec::new();
        encode_varuint32(value, &mut out);
        assert_eq!(hex::encode(&out), hex, "encoding {value}");
        let bytes = hex::decode(hex).expect("test hex");
        assert_eq!(
            decode_varuint32(&bytes),
            Ok((value, bytes.len())),
            "decoding {hex}"
        );
    }

    fn check_signed(value: i32, hex: &str) {
        let mut out = Vec::new();
        encode_varint32(value, &mut out);
        assert_eq!(hex::encode(&out), hex, "encoding {value}");
        let bytes = hex::decode(hex).expect("test hex");
        assert_eq!(
            decode_varint32(&bytes),
            Ok((value, bytes.len())),
            "decoding {hex}"
        );
    }

    fn check_error(hex: &str, expected: Error) {
        let bytes = hex::decode(hex).expect("test hex");
        assert_eq!(decode_varuint32(&bytes), Err(expected), "decoding {hex}");
    }

    #[test]
    fn varuint32_vectors() {
        check_unsigned(0, "00");
        check_unsigned(1, "01");
        check_unsigned(127, "7f");
        check_unsigned(128, "8001");
        check_unsigned(300, "ac02");
        check_unsigned(16_383, "ff7f");
        check_unsigned(16_384, "808001");
        check_unsigned(u32::MAX, "ffffffff0f");
    }

    #[test]
    fn varint32_vectors() {
        check_signed(0, "00");
        check_signed(-1, "01");
        check_signed(1, "02");
        check_signed(-2, "03");
        check_signed(-64, "7f");
        check_signed(64, "8001");
        check_signed(i32::MAX, "feffffff0f");
        check_signed(i32::MIN, "ffffffff0f");
    }

    #[test]
    fn varuint32_rejects_bad_input() {
        check_error("", Error::Truncated { read: 0 });
        check_error("80", Error::Truncated { read: 1 });
        check_error("ffffffff", Error::Truncated { read: 4 });
        check_error("ffffffff10", Error::Overflow);
        check_error("ffffffff8f", Error::Overflow);
        check_error("8000", Error::Overlong);
        check_error("ff8000", Error::Overlong);
    }

    #[test]
    fn decoding_stops_after_the_value() {
        assert_eq!(decode_varuint32(&[0xac, 0x02, 0xff]), Ok((300, 2)));
    }

    proptest! {
        #[test]
        fn varuint32_round_trips(value: u32, tail: Vec<u8>) {
            let mut out = Vec::new();
            encode_varuint32(value, &mut out);
            let len = out.len();
            out.extend_from_slice(&tail);
            prop_assert_eq!(decode_varuint32(&out), Ok((value, len)));
        }

        #[test]
        fn varint32_round_trips(value: i32) {
            let mut out = Vec::new();
            encode_varint32(value, &mut out);
            prop_assert_eq!(decode_varint32(&out), Ok((value, out.len())));
        }
    }
}
