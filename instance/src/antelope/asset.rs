//! Token amounts: [`Asset`] (`"1.2345 FOO"`, an `i64` count of the smallest unit plus a
//! [`Symbol`]) and [`ExtendedAsset`] (an asset with its token contract).
//!
//! The text form always carries exactly the symbol's precision: contracts compare symbols, so
//! `"100 RUB"` and `"100.0000 RUB"` are different assets. Amounts are limited to magnitudes below
//! 2^62, as nodeos enforces.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::antelope::binary::{self, Decode, Encode, Reader, Writer};
use crate::antelope::name::Name;
use crate::antelope::symbol::{ParseSymbolError, Symbol, SymbolCode};

/// The largest amount magnitude an asset may have: 2^62 - 1.
pub const MAX_AMOUNT: i64 = (1 << 62) - 1;

/// An amount of a token: `amount / 10^precision` units of `symbol`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Asset {
    amount: i64,
    symbol: Symbol,
}

/// An [`Asset`] together with the account of the token contract that issues it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExtendedAsset {
    /// The amount and symbol.
    pub quantity: Asset,
    /// The token contract.
    pub contract: Name,
}

/// Why text or a value is not an asset.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseAssetError {
    /// The text is not `AMOUNT SYMBOL` with one space.
    #[error("asset {text:?} is not of the form AMOUNT CODE, e.g. \"1.0000 RUB\"")]
    Format {
        /// The rejected text.
        text: String,
    },
    /// The amount's magnitude is 2^62 or more.
    #[error("asset amount in {text:?} is out of range: magnitude must be below 2^62")]
    AmountOutOfRange {
        /// The rejected text or amount.
        text: String,
    },
    /// The symbol part is invalid.
    #[error("asset symbol is invalid")]
    Symbol(#[from] ParseSymbolError),
}

impl Asset {
    /// An asset of `amount` smallest units of `symbol`.
    pub fn new(amount: i64, symbol: Symbol) -> Result<Self, ParseAssetError> {
        if amount.unsigned_abs() > MAX_AMOUNT as u64 {
            return Err(ParseAssetError::AmountOutOfRange {
                text: amount.to_string(),
            });
        }
        Ok(Self { amount, symbol })
    }

    /// The amount in the smallest unit (`12345` for `"1.2345 FOO"`).
    pub const fn amount(&self) -> i64 {
        self.amount
    }

    /// The symbol.
    pub const fn symbol(&self) -> Symbol {
        self.symbol
    }
}

impl FromStr for Asset {
    type Err = ParseAssetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let format_error = || ParseAssetError::Format {
            text: text.to_owned(),
        };
        let range_error = || ParseAssetError::AmountOutOfRange {
            text: text.to_owned(),
        };
        let (number, code) = text.split_once(' ').ok_or_else(format_error)?;
        let code: SymbolCode = code.parse()?;
        let (negative, digits) = match number.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, number),
        };
        let (integer, fraction) = match digits.split_once('.') {
            Some((integer, fraction)) if !fraction.is_empty() => (integer, fraction),
            Some(_) => return Err(format_error()),
            None => (digits, ""),
        };
        let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if integer.is_empty() || !all_digits(integer) || !all_digits(fraction) {
            return Err(format_error());
        }
        let precision =
            u8::try_from(fraction.len()).map_err(|_| ParseSymbolError::PrecisionTooLarge {
                precision: fraction.len() as u64,
            })?;
        let symbol = Symbol::new(precision, code)?;
        let magnitude = format!("{integer}{fraction}")
            .parse::<i64>()
            .map_err(|_| range_error())?;
        let amount = if negative { -magnitude } else { magnitude };
        Self::new(amount, symbol).map_err(|_| range_error())
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = u32::from(self.symbol.precision());
        let sign = if self.amount < 0 { "-" } else { "" };
        let magnitude = self.amount.unsigned_abs();
        let scale = 10u64.pow(precision);
        write!(f, "{sign}{}", magnitude / scale)?;
        if precision > 0 {
            write!(
                f,
                ".{:0width$}",
                magnitude % scale,
                width = precision as usize
            )?;
        }
        write!(f, " {}", self.symbol.code())
    }
}

impl Serialize for Asset {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Asset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Encode for Asset {
    fn encode(&self, writer: &mut Writer) {
        writer.write_i64(self.amount);
        self.symbol.encode(writer);
    }
}

impl Decode for Asset {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        let position = reader.position();
        let amount = reader.read_i64()?;
        let symbol = Symbol::decode(reader)?;
        Self::new(amount, symbol).map_err(|source| binary::Error::InvalidValue {
            type_name: "asset",
            position,
            source: Box::new(source),
        })
    }
}

impl Encode for ExtendedAsset {
    fn encode(&self, writer: &mut Writer) {
        self.quantity.encode(writer);
        self.contract.encode(writer);
    }
}

impl Decode for ExtendedAsset {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        Ok(Self {
            quantity: Asset::decode(reader)?,
            contract: Name::decode(reader)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(text: &str, wire_hex: &str) {
        let asset: Asset = text.parse().expect(text);
        assert_eq!(asset.to_string(), text);
        assert_eq!(hex::encode(binary::to_bytes(&asset)), wire_hex, "{text}");
        let bytes = hex::decode(wire_hex).expect("hex");
        assert_eq!(binary::from_bytes::<Asset>(&bytes).expect("decode"), asset);
    }

    fn check_error(text: &str, expected: ParseAssetError) {
        assert_eq!(text.parse::<Asset>(), Err(expected), "{text:?}");
    }

    #[test]
    fn published_vectors() {
        check("1.2345 FOO", "393000000000000004464f4f00000000");
        check("0 ", "00000000000000000000000000000000");
        check("42.0 GMZ", "a40100000000000001474d5a00000000");
    }

    #[test]
    fn amounts_keep_their_precision() {
        check("100.0000 RUB", "40420f00000000000452554200000000");
        check("-1.2345 FOO", "c7cfffffffffffff04464f4f00000000");
        check("0.0001 RUB", "01000000000000000452554200000000");
        check("-0.0001 RUB", "ffffffffffffffff0452554200000000");
        check("7 AXON", "07000000000000000041584f4e000000");
        check(
            "4611686018427387903 MAX",
            "ffffffffffffff3f004d415800000000",
        );
        check(
            "-4.611686018427387903 MIN",
            "01000000000000c0124d494e00000000",
        );
        let asset: Asset = "100.0000 RUB".parse().expect("asset");
        assert_eq!(asset.amount(), 1_000_000);
        assert_eq!(asset.symbol().to_string(), "4,RUB");
    }

    #[test]
    fn invalid_assets() {
        let format = |text: &str| ParseAssetError::Format {
            text: text.to_owned(),
        };
        let range = |text: &str| ParseAssetError::AmountOutOfRange {
            text: text.to_owned(),
        };
        for text in [
            "",
            "1.0000",
            "1.0000  RUB",
            "1. RUB",
            ".5 RUB",
            "+1 RUB",
            "1,0 RUB",
            "--1 RUB",
            "- RUB",
        ] {
            let expected = match text {
                "1.0000  RUB" => {
                    ParseAssetError::Symbol(ParseSymbolError::InvalidCharacter { character: ' ' })
                }
                _ => format(text),
            };
            check_error(text, expected);
        }
        check_error("4611686018427387904 RUB", range("4611686018427387904 RUB"));
        check_error(
            "99999999999999999999 RUB",
            range("99999999999999999999 RUB"),
        );
        check_error(
            "1.0000 rub",
            ParseAssetError::Symbol(ParseSymbolError::InvalidCharacter { character: 'r' }),
        );
        check_error(
            "1.0000000000000000000 RUB",
            ParseAssetError::Symbol(ParseSymbolError::PrecisionTooLarge { precision: 19 }),
        );
        let too_large = hex::decode("00000000000000400452554200000000").expect("hex");
        assert!(binary::from_bytes::<Asset>(&too_large).is_err());
    }

    #[test]
    fn extended_asset() {
        let json = r#"{"quantity":"1.0000 RUB","contract":"eosio.token"}"#;
        let value: ExtendedAsset = serde_json::from_str(json).expect("json");
        assert_eq!(serde_json::to_string(&value).expect("json"), json);
        assert_eq!(
            hex::encode(binary::to_bytes(&value)),
            "1027000000000000045255420000000000a6823403ea3055"
        );
        let bytes = binary::to_bytes(&value);
        assert_eq!(
            binary::from_bytes::<ExtendedAsset>(&bytes).expect("decode"),
            value
        );
    }

    proptest! {
        #[test]
        fn text_round_trips(amount in -MAX_AMOUNT..=MAX_AMOUNT, precision in 0u8..=18, code in "[A-Z]{1,7}") {
            let symbol = Symbol::new(precision, code.parse().expect("code")).expect("symbol");
            let asset = Asset::new(amount, symbol).expect("asset");
            prop_assert_eq!(asset.to_string().parse::<Asset>(), Ok(asset));
            prop_assert_eq!(binary::from_bytes::<Asset>(&binary::to_bytes(&asset)).expect("decode"), asset);
        }

        #[test]
        fn arbitrary_text_never_panics(text: String) {
            let _ = text.parse::<Asset>();
        }
    }
}
