//! Fixed-size digests as the protocol carries them: `checksum160` (RIPEMD-160), `checksum256`
//! (SHA-256: transaction and block ids, document hashes) and `checksum512`.
//!
//! On the wire they are raw bytes; in JSON they are hex strings, written in lowercase and read in
//! either case.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::antelope::binary::{self, Decode, Encode, Reader, Writer};

/// `N` raw digest bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Checksum<const N: usize>([u8; N]);

/// A 20-byte `checksum160`.
pub type Checksum160 = Checksum<20>;
/// A 32-byte `checksum256`.
pub type Checksum256 = Checksum<32>;
/// A 64-byte `checksum512`.
pub type Checksum512 = Checksum<64>;

/// Why text or bytes are not a checksum.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ParseChecksumError {
    /// The input had the wrong number of bytes (or hex digits / 2).
    #[error("checksum must be {expected} bytes, got {actual}")]
    WrongLength {
        /// Bytes the checksum has.
        expected: usize,
        /// Bytes (or hex characters / 2) given.
        actual: usize,
    },
    /// The text was not hex.
    #[error("checksum is not valid hex")]
    InvalidHex(#[source] hex::FromHexError),
}

impl<const N: usize> Checksum<N> {
    /// Wraps raw digest bytes.
    pub const fn new(bytes: [u8; N]) -> Self {
        Self(bytes)
    }

    /// Copies digest bytes from a slice of exactly `N` bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ParseChecksumError> {
        <[u8; N]>::try_from(bytes)
            .map(Self)
            .map_err(|_| ParseChecksumError::WrongLength {
                expected: N,
                actual: bytes.len(),
            })
    }

    /// The raw digest bytes.
    pub const fn as_bytes(&self) -> &[u8; N] {
        &self.0
    }

    /// Lowercase hex, as nodeos prints it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl<const N: usize> Default for Checksum<N> {
    fn default() -> Self {
        Self([0; N])
    }
}

impl<const N: usize> FromStr for Checksum<N> {
    type Err = ParseChecksumError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != 2 * N {
            return Err(ParseChecksumError::WrongLength {
                expected: N,
                actual: text.len() / 2,
            });
        }
        let mut bytes = [0u8; N];
        hex::decode_to_slice(text, &mut bytes).map_err(ParseChecksumError::InvalidHex)?;
        Ok(Self(bytes))
    }
}

impl<const N: usize> fmt::Display for Checksum<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl<const N: usize> fmt::Debug for Checksum<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checksum{}({})", N * 8, self.to_hex())
    }
}

impl<const N: usize> AsRef<[u8]> for Checksum<N> {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl<const N: usize> From<[u8; N]> for Checksum<N> {
    fn from(bytes: [u8; N]) -> Self {
        Self(bytes)
    }
}

impl<const N: usize> Serialize for Checksum<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de, const N: usize> Deserialize<'de> for Checksum<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl<const N: usize> Encode for Checksum<N> {
    fn encode(&self, writer: &mut Writer) {
        writer.write_raw(&self.0);
    }
}

impl<const N: usize> Decode for Checksum<N> {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        reader.read_array().map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: &str = "076b4b0e9309c81151c94439c761743fbca23a59a7f71b56ef0f2801f13348b5";

    fn check_text<const N: usize>(input: &str, expected: Result<&str, ParseChecksumError>) {
        let parsed = input.parse::<Checksum<N>>().map(|sum| sum.to_string());
        assert_eq!(
            parsed.as_deref().map_err(Clone::clone),
            expected,
            "{input:?}"
        );
    }

    #[test]
    fn parses_either_case_and_prints_lowercase() {
        check_text::<32>(ID, Ok(ID));
        check_text::<32>(&ID.to_uppercase(), Ok(ID));
        check_text::<20>(&"aB".repeat(20), Ok(&"ab".repeat(20)));
        check_text::<64>(&"00".repeat(64), Ok(&"00".repeat(64)));
        check_text::<32>(
            "abcd",
            Err(ParseChecksumError::WrongLength {
                expected: 32,
                actual: 2,
            }),
        );
        check_text::<20>(
            &"zz".repeat(20),
            Err(ParseChecksumError::InvalidHex(
                hex::FromHexError::InvalidHexCharacter { c: 'z', index: 0 },
            )),
        );
    }

    #[test]
    fn bytes_and_wire() {
        let sum: Checksum256 = ID.parse().expect("id");
        assert_eq!(Checksum256::from_bytes(sum.as_bytes()), Ok(sum));
        assert_eq!(binary::to_bytes(&sum), sum.as_bytes().to_vec());
        assert_eq!(
            binary::from_bytes::<Checksum256>(sum.as_bytes()).expect("decode"),
            sum
        );
        assert!(binary::from_bytes::<Checksum256>(&sum.as_bytes()[..31]).is_err());
        assert_eq!(
            Checksum160::from_bytes(&[0; 19]),
            Err(ParseChecksumError::WrongLength {
                expected: 20,
                actual: 19
            })
        );
    }

    #[test]
    fn serde_is_hex() {
        let sum: Checksum256 =
            serde_json::from_str(&format!("\"{}\"", ID.to_uppercase())).expect("json");
        assert_eq!(
            serde_json::to_string(&sum).expect("json"),
            format!("\"{ID}\"")
        );
        assert!(serde_json::from_str::<Checksum256>("\"00\"").is_err());
    }

    proptest! {
        #[test]
        fn hex_round_trips(bytes: [u8; 32]) {
            let sum = Checksum256::new(bytes);
            prop_assert_eq!(sum.to_string().parse::<Checksum256>(), Ok(sum));
        }
    }
}
