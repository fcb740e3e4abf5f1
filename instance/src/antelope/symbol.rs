//! Token symbols: [`SymbolCode`] (`RUB`, up to seven uppercase letters) and [`Symbol`]
//! (a code plus decimal precision, written `4,RUB`).
//!
//! On the wire a code is a `u64` holding its ASCII letters with the first in the lowest byte; a
//! symbol shifts the code up one byte and keeps the precision in the lowest byte.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::antelope::binary::{self, Decode, Encode, Reader, Writer};

/// The longest symbol code in characters.
pub const MAX_SYMBOL_CODE_LEN: usize = 7;
/// The largest decimal precision a symbol may have.
pub const MAX_PRECISION: u8 = 18;

/// A symbol code such as `RUB`: zero to seven letters `A`-`Z`.
///
/// The empty code is valid, as in nodeos, where it appears in the zero asset `"0 "`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SymbolCode(u64);

/// A symbol: a [`SymbolCode`] and the number of decimals its amounts carry, e.g. `4,RUB`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Symbol(u64);

/// Why text or a raw value is not a symbol or symbol code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseSymbolError {
    /// More than seven characters.
    #[error("symbol code is {len} characters long, at most 7 are allowed")]
    TooLong {
        /// Length of the code in bytes.
        len: usize,
    },
    /// A character other than `A`-`Z`.
    #[error("symbol code has invalid character {character:?}")]
    InvalidCharacter {
        /// The offending character.
        character: char,
    },
    /// A raw code with a letter after a zero byte or a byte that is not `A`-`Z`.
    #[error("raw symbol code {raw:#018x} is not a valid code")]
    InvalidRaw {
        /// The raw value.
        raw: u64,
    },
    /// The symbol is not of the form `precision,CODE`.
    #[error("symbol {text:?} is not of the form PRECISION,CODE")]
    Format {
        /// The rejected text.
        text: String,
    },
    /// The precision is above 18.
    #[error("symbol precision {precision} is above the maximum of 18")]
    PrecisionTooLarge {
        /// The rejected precision.
        precision: u64,
    },
}

impl SymbolCode {
    /// Checks and wraps a raw `u64` code.
    pub fn from_raw(raw: u64) -> Result<Self, ParseSymbolError> {
        let bytes = raw.to_le_bytes();
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        let letters_ok = bytes[..len].iter().all(u8::is_ascii_uppercase);
        let rest_zero = bytes[len..].iter().all(|&b| b == 0);
        if letters_ok && rest_zero && len <= MAX_SYMBOL_CODE_LEN {
            Ok(Self(raw))
        } else {
            Err(ParseSymbolError::InvalidRaw { raw })
        }
    }

    /// The raw `u64` value.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// Number of letters.
    fn len(self) -> usize {
        self.0.to_le_bytes().iter().take_while(|&&b| b != 0).count()
    }
}

impl Symbol {
    /// A symbol from a precision and code.
    pub fn new(precision: u8, code: SymbolCode) -> Result<Self, ParseSymbolError> {
        if precision > MAX_PRECISION {
            return Err(ParseSymbolError::PrecisionTooLarge {
                precision: u64::from(precision),
            });
        }
        Ok(Self(code.0 << 8 | u64::from(precision)))
    }

    /// Checks and wraps a raw `u64` symbol.
    pub fn from_raw(raw: u64) -> Result<Self, ParseSymbolError> {
        let code = SymbolCode::from_raw(raw >> 8)?;
        Self::new((raw & 0xff) as u8, code)
    }

    /// The raw `u64` value.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// Number of decimals.
    pub const fn precision(self) -> u8 {
        (self.0 & 0xff) as u8
    }

    /// The code without precision.
    pub const fn code(self) -> SymbolCode {
        SymbolCode(self.0 >> 8)
    }
}

impl FromStr for SymbolCode {
    type Err = ParseSymbolError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(character) = text.chars().find(|c| !c.is_ascii_uppercase()) {
            return Err(ParseSymbolError::InvalidCharacter { character });
        }
        if text.len() > MAX_SYMBOL_CODE_LEN {
            return Err(ParseSymbolError::TooLong { len: text.len() });
        }
        let raw = text
            .bytes()
            .rev()
            .fold(0u64, |acc, byte| acc << 8 | u64::from(byte));
        Ok(Self(raw))
    }
}

impl FromStr for Symbol {
    type Err = ParseSymbolError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let format_error = || ParseSymbolError::Format {
            text: text.to_owned(),
        };
        let (precision, code) = text.split_once(',').ok_or_else(format_error)?;
        if precision.is_empty() || !precision.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format_error());
        }
        let precision: u64 = precision.parse().map_err(|_| format_error())?;
        let precision = u8::try_from(precision)
            .ok()
            .filter(|&p| p <= MAX_PRECISION)
            .ok_or(ParseSymbolError::PrecisionTooLarge { precision })?;
        Self::new(precision, code.parse()?)
    }
}

impl fmt::Display for SymbolCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &byte in &self.0.to_le_bytes()[..self.len()] {
            fmt::Write::write_char(f, char::from(byte))?;
        }
        Ok(())
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.precision(), self.code())
    }
}

macro_rules! impl_symbol_codecs {
    ($($symbol:ty => $type_name:literal;)*) => {$(
        impl Serialize for $symbol {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $symbol {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl Encode for $symbol {
            fn encode(&self, writer: &mut Writer) {
                writer.write_u64(self.0);
            }
        }

        impl Decode for $symbol {
            fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
                let position = reader.position();
                let raw = reader.read_u64()?;
                Self::from_raw(raw).map_err(|source| binary::Error::InvalidValue {
                    type_name: $type_name,
                    position,
                    source: Box::new(source),
                })
            }
        }
    )*};
}

impl_symbol_codecs! {
    SymbolCode => "symbol_code";
    Symbol => "symbol";
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(text: &str, wire_hex: &str) {
        let symbol: Symbol = text.parse().expect(text);
        assert_eq!(symbol.to_string(), text);
        assert_eq!(hex::encode(binary::to_bytes(&symbol)), wire_hex);
        let bytes = hex::decode(wire_hex).expect("hex");
        assert_eq!(
            binary::from_bytes::<Symbol>(&bytes).expect("decode"),
            symbol
        );
    }

    fn check_error(text: &str, expected: ParseSymbolError) {
        assert_eq!(text.parse::<Symbol>(), Err(expected), "{text:?}");
    }

    #[test]
    fn vectors() {
        check("4,FOO", "04464f4f00000000");
        check("4,RUB", "0452554200000000");
        check("4,AXON", "0441584f4e000000");
        check("0,", "0000000000000000");
        check("18,ABCDEFG", "1241424344454647");
    }

    #[test]
    fn codes() {
        let code: SymbolCode = "RUB".parse().expect("code");
        assert_eq!(code.as_u64(), 0x0042_5552);
        assert_eq!(code.to_string(), "RUB");
        assert_eq!(Symbol::new(4, code).expect("symbol").code(), code);
        assert_eq!(hex::encode(binary::to_bytes(&code)), "5255420000000000");
    }

    #[test]
    fn invalid_symbols() {
        let format = |text: &str| ParseSymbolError::Format {
            text: text.to_owned(),
        };
        check_error("RUB", format("RUB"));
        check_error(",RUB", format(",RUB"));
        check_error("-1,RUB", format("-1,RUB"));
        check_error(
            "19,RUB",
            ParseSymbolError::PrecisionTooLarge { precision: 19 },
        );
        check_error(
            "300,RUB",
            ParseSymbolError::PrecisionTooLarge { precision: 300 },
        );
        check_error(
            "4,rub",
            ParseSymbolError::InvalidCharacter { character: 'r' },
        );
        check_error(
            "4,RU B",
            ParseSymbolError::InvalidCharacter { character: ' ' },
        );
        check_error("4,ABCDEFGH", ParseSymbolError::TooLong { len: 8 });
    }

    #[test]
    fn invalid_raw_values() {
        for hex in [
            "0461004200000000",
            "0452005500000000",
            "1352554200000000",
            "ff52554200000000",
        ] {
            let bytes = hex::decode(hex).expect("hex");
            assert!(binary::from_bytes::<Symbol>(&bytes).is_err(), "{hex}");
        }
    }

    #[test]
    fn serde_is_text() {
        let symbol: Symbol = serde_json::from_str("\"4,RUB\"").expect("json");
        assert_eq!(serde_json::to_string(&symbol).expect("json"), "\"4,RUB\"");
    }

    proptest! {
        #[test]
        fn text_round_trips(precision in 0u8..=18, code in "[A-Z]{0,7}") {
            let text = format!("{precision},{code}");
            let symbol: Symbol = text.parse().expect("generated symbol");
            prop_assert_eq!(symbol.to_string(), text);
            prop_assert_eq!(Symbol::from_raw(symbol.as_u64()), Ok(symbol));
        }
    }
}
