//! Antelope account, action, table and permission names: up to 13 characters of
//! `.12345abcdefghijklmnopqrstuvwxyz` packed base-32 into a `u64`.
//!
//! Parsing is strict, as nodeos is: a name must be normalized, so trailing dots are rejected and
//! only the first 16 symbols may appear as a 13th character. Every `u64` is a valid name value.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::antelope::binary::{self, Decode, Encode, Reader, Writer};

/// The longest name in characters.
pub const MAX_NAME_LEN: usize = 13;

const CHARMAP: &[u8; 32] = b".12345abcdefghijklmnopqrstuvwxyz";

/// An Antelope name such as `eosio.token`; `Ord` follows the `u64` value, as on chain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(u64);

/// Why a string is not a valid name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseNameError {
    /// More than 13 characters.
    #[error("name is {len} characters long, at most 13 are allowed")]
    TooLong {
        /// The length of the input in bytes.
        len: usize,
    },
    /// A character outside `.12345abcdefghijklmnopqrstuvwxyz`.
    #[error("name has invalid character {character:?} at position {position}")]
    InvalidCharacter {
        /// The offending character.
        character: char,
        /// Its byte offset.
        position: usize,
    },
    /// The 13th character only has 4 bits, so it must be one of `.12345abcdefghij`.
    #[error("13th character of a name must be one of .12345abcdefghij, got {character:?}")]
    InvalidThirteenthCharacter {
        /// The offending character.
        character: char,
    },
    /// Trailing dots: the name would print differently from how it was written.
    #[error("name is not normalized: it must not end with '.'")]
    NotNormalized,
}

impl Name {
    /// Twelve random letters `a`-`z`, as MONO names its users; the randomness is the caller's.
    pub fn random_user(rng: &mut impl rand_core::RngCore) -> Self {
        let mut value = 0_u64;
        for idx in 0..12 {
            // Letters `a`..`z` are 6..31 in the name alphabet, 5 bits each from the top.
            let letter = u64::from(rng.next_u32() % 26) + 6;
            value |= letter << (64 - 5 * (idx + 1));
        }
        Self::from_u64(value)
    }

    /// Wraps a raw `u64` name value; every value is a valid name.
    pub const fn from_u64(value: u64) -> Self {
        Self(value)
    }

    /// The raw `u64` value, as stored on chain.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// Parses a name in a `const` context, with the same rules as [`FromStr`].
    pub const fn parse_const(text: &str) -> Result<Self, ParseNameError> {
        let bytes = text.as_bytes();
        if bytes.len() > MAX_NAME_LEN {
            return Err(ParseNameError::TooLong { len: bytes.len() });
        }
        let mut value: u64 = 0;
        let mut idx = 0;
        while idx < bytes.len() {
            let byte = bytes[idx];
            let symbol = match byte {
                b'.' => 0,
                b'1'..=b'5' => (byte - b'1' + 1) as u64,
                b'a'..=b'z' => (byte - b'a' + 6) as u64,
                _ => {
                    return Err(ParseNameError::InvalidCharacter {
                        character: leading_char(bytes, idx),
                        position: idx,
                    });
                }
            };
            if idx < MAX_NAME_LEN - 1 {
                value |= symbol << (64 - 5 * (idx + 1));
            } else if symbol > 0x0f {
                return Err(ParseNameError::InvalidThirteenthCharacter {
                    character: byte as char,
                });
            } else {
                value |= symbol;
            }
            idx += 1;
        }
        if !bytes.is_empty() && bytes[bytes.len() - 1] == b'.' {
            return Err(ParseNameError::NotNormalized);
        }
        Ok(Self(value))
    }

    /// Builds a name from a literal, for constants such as `Name::from_str_const("eosio")`.
    ///
    /// # Panics
    ///
    /// Panics if `text` is not a valid name; used in a `const` item this is a compile error,
    /// so call it only with literals and use [`FromStr`] for input.
    pub const fn from_str_const(text: &str) -> Self {
        match Self::parse_const(text) {
            Ok(name) => name,
            Err(_) => panic!("invalid name literal"),
        }
    }

    /// The normalized text form, at most 13 characters.
    fn to_chars(self) -> ([u8; MAX_NAME_LEN], usize) {
        let mut chars = [b'.'; MAX_NAME_LEN];
        let mut rest = self.0;
        for idx in 0..MAX_NAME_LEN {
            let (mask, shift) = if idx == 0 { (0x0f, 4) } else { (0x1f, 5) };
            chars[MAX_NAME_LEN - 1 - idx] = CHARMAP[(rest & mask) as usize];
            rest >>= shift;
        }
        let len = chars
            .iter()
            .rposition(|&c| c != b'.')
            .map_or(0, |last| last + 1);
        (chars, len)
    }
}

/// The character starting at byte `idx`; names are ASCII, so anything else is reported as the
/// Unicode replacement character when it is not a single byte.
const fn leading_char(bytes: &[u8], idx: usize) -> char {
    let byte = bytes[idx];
    if byte.is_ascii() {
        byte as char
    } else {
        char::REPLACEMENT_CHARACTER
    }
}

impl FromStr for Name {
    type Err = ParseNameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse_const(text).map_err(|err| match err {
            ParseNameError::InvalidCharacter { position, .. } => ParseNameError::InvalidCharacter {
                character: text[position..]
                    .chars()
                    .next()
                    .unwrap_or(char::REPLACEMENT_CHARACTER),
                position,
            },
            other => other,
        })
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (chars, len) = self.to_chars();
        // The characters come from the ASCII alphabet, so this never fails; one `pad` call is
        // much cheaper than one write per character and honours width and alignment.
        let text = std::str::from_utf8(&chars[..len]).map_err(|_| fmt::Error)?;
        f.pad(text)
    }
}

impl From<Name> for u64 {
    fn from(name: Name) -> Self {
        name.0
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Encode for Name {
    fn encode(&self, writer: &mut Writer) {
        writer.write_u64(self.0);
    }
}

impl Decode for Name {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        reader.read_u64().map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EOSIO: Name = Name::from_str_const("eosio");

    fn check(text: &str, value: u64, wire_hex: &str) {
        let name: Name = text.parse().expect(text);
        assert_eq!(name.as_u64(), value, "{text}");
        assert_eq!(name.to_string(), text);
        assert_eq!(hex::encode(binary::to_bytes(&name)), wire_hex, "{text}");
        assert_eq!(
            binary::from_bytes::<Name>(&hex::decode(wire_hex).expect("hex")).expect("decode"),
            name
        );
    }

    fn check_wire(text: &str, wire_hex: &str) {
        let name: Name = text.parse().expect(text);
        assert_eq!(hex::encode(binary::to_bytes(&name)), wire_hex, "{text}");
        assert_eq!(Name::from_u64(name.as_u64()).to_string(), text);
    }

    fn check_error(text: &str, expected: ParseNameError) {
        assert_eq!(text.parse::<Name>(), Err(expected), "{text:?}");
    }

    #[test]
    fn published_vectors() {
        check("foobar", 6712742083569909760, "000000005c73285d");
        check("", 0, "0000000000000000");
        check_wire("eosio.token", "00a6823403ea3055");
        check_wire("transfer", "000000572d3ccdcd");
        check_wire("active", "00000000a8ed3232");
        check_wire("eosio", "0000000000ea3055");
    }

    #[test]
    fn coopos_names() {
        check_wire("soviet", "0000000064e536c5");
        check_wire("registrator", "002ecde666ec98ba");
        check_wire("wallet", "000000006415a3e1");
        check_wire("gateway", "000000c01baeb261");
        check_wire("voskhod", "00000020d10631dd");
        check_wire("reguser", "000000e02aac99ba");
        check_wire("votefor", "000000e0d2a532dd");
        check_wire("newsubmitted", "9054ce4e1e8db99a");
    }

    #[test]
    fn thirteen_characters() {
        check("zzzzzzzzzzzzj", u64::MAX, "ffffffffffffffff");
        check("............1", 1, "0100000000000000");
    }

    #[test]
    fn const_constructor() {
        assert_eq!(EOSIO.to_string(), "eosio");
        assert_eq!(Name::parse_const("eosio"), Ok(EOSIO));
    }

    #[test]
    fn invalid_names() {
        check_error("abcdefghijklmn", ParseNameError::TooLong { len: 14 });
        check_error(
            "Alice",
            ParseNameError::InvalidCharacter {
                character: 'A',
                position: 0,
            },
        );
        check_error(
            "ali6e",
            ParseNameError::InvalidCharacter {
                character: '6',
                position: 3,
            },
        );
        check_error(
            "al é",
            ParseNameError::InvalidCharacter {
                character: ' ',
                position: 2,
            },
        );
        check_error(
            "alé",
            ParseNameError::InvalidCharacter {
                character: 'é',
                position: 2,
            },
        );
        check_error(
            "zzzzzzzzzzzzk",
            ParseNameError::InvalidThirteenthCharacter { character: 'k' },
        );
        check_error("alice.", ParseNameError::NotNormalized);
        check_error(".", ParseNameError::NotNormalized);
        check_error("zzzzzzzzzzzz.", ParseNameError::NotNormalized);
    }

    #[test]
    fn serde_uses_the_string_form() {
        let name: Name = serde_json::from_str("\"eosio.token\"").expect("json");
        assert_eq!(
            serde_json::to_string(&name).expect("json"),
            "\"eosio.token\""
        );
        assert!(serde_json::from_str::<Name>("\"Bad\"").is_err());
        assert!(serde_json::from_str::<Name>("5").is_err());
    }

    proptest! {
        #[test]
        fn any_value_round_trips_through_text(value: u64) {
            let name = Name::from_u64(value);
            prop_assert_eq!(name.to_string().parse::<Name>(), Ok(name));
        }

        #[test]
        fn valid_text_round_trips(text in "[a-z1-5.]{0,11}[a-z1-5]") {
            let name: Name = text.parse().expect("generated name");
            prop_assert_eq!(name.to_string(), text);
        }

        #[test]
        fn arbitrary_text_never_panics(text: String) {
            let _ = text.parse::<Name>();
        }
    }
}
