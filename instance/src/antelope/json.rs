//! The JSON conventions of nodeos (fc's `stringify_large_ints_and_doubles`), as functions on
//! [`serde_json::Value`] for the ABI codec and as `#[serde(with = ...)]` modules for typed structs.
//!
//! - `uint64`/`int64` above `0xffffffff` are written as decimal strings, smaller ones as numbers
//!   (negative `int64` stay numbers, as Leap 5 prints them); both forms are read.
//! - 128-bit integers are always decimal strings; numbers are read too.
//! - `bytes` are lowercase hex, read in either case.
//! - Floating-point numbers are written as strings with 17 fixed decimals (`"1.50000000000000000"`),
//!   as fc formats doubles; numbers and numeric strings are read.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::Value;
use thiserror::Error;

/// The threshold above which 64-bit integers are written as strings.
pub const LARGE_INT_THRESHOLD: u64 = 0xffff_ffff;

/// Why a JSON value is not the expected number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// The value is neither a number nor a numeric string of the expected kind.
    #[error("expected {expected}, got {found}")]
    NotANumber {
        /// The kind of number expected.
        expected: &'static str,
        /// The JSON that was found.
        found: String,
    },
    /// The number does not fit the target type.
    #[error("{value} is out of range for {expected}")]
    OutOfRange {
        /// The target type.
        expected: &'static str,
        /// The number as written.
        value: String,
    },
}

/// The JSON form of a `uint64`: a number up to `0xffffffff`, a string above.
pub fn u64_to_json(value: u64) -> Value {
    if value > LARGE_INT_THRESHOLD {
        Value::String(value.to_string())
    } else {
        Value::from(value)
    }
}

/// The JSON form of an `int64`: a string above `0xffffffff`, a number otherwise.
pub fn i64_to_json(value: i64) -> Value {
    if value > LARGE_INT_THRESHOLD as i64 {
        Value::String(value.to_string())
    } else {
        Value::from(value)
    }
}

/// The JSON form of a 128-bit integer: always a decimal string.
pub fn int128_to_json(value: impl ToString) -> Value {
    Value::String(value.to_string())
}

/// The JSON form of a `float32` or `float64`, as fc prints doubles.
pub fn float_to_json(value: f64) -> Value {
    let text = if value.is_nan() {
        String::from("nan")
    } else if value.is_infinite() {
        String::from(if value > 0.0 { "inf" } else { "-inf" })
    } else {
        format!("{value:.17}")
    };
    Value::String(text)
}

/// Reads any integer type from a JSON number or decimal string.
pub fn int_from_json<T>(value: &Value, expected: &'static str) -> Result<T, Error>
where
    T: TryFrom<i128> + TryFrom<u128> + std::str::FromStr,
{
    let not_a_number = || Error::NotANumber {
        expected,
        found: value.to_string(),
    };
    let out_of_range = |text: String| Error::OutOfRange {
        expected,
        value: text,
    };
    match value {
        Value::Number(number) => {
            if let Some(unsigned) = number.as_u64() {
                T::try_from(u128::from(unsigned)).map_err(|_| out_of_range(number.to_string()))
            } else if let Some(signed) = number.as_i64() {
                T::try_from(i128::from(signed)).map_err(|_| out_of_range(number.to_string()))
            } else {
                Err(not_a_number())
            }
        }
        Value::String(text) => {
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(not_a_number());
            }
            text.parse::<T>().map_err(|_| out_of_range(text.clone()))
        }
        _ => Err(not_a_number()),
    }
}

/// Reads a float from a JSON number or a numeric string (`"1.5"`, `"inf"`, `"nan"`).
pub fn float_from_json(value: &Value) -> Result<f64, Error> {
    let not_a_number = || Error::NotANumber {
        expected: "floating-point number",
        found: value.to_string(),
    };
    match value {
        Value::Number(number) => number.as_f64().ok_or_else(not_a_number),
        Value::String(text) => text.trim().parse::<f64>().map_err(|_| not_a_number()),
        _ => Err(not_a_number()),
    }
}

/// Deserializes through a JSON value, then converts it with `convert`.
fn deserialize_with<'de, D, T>(
    deserializer: D,
    convert: impl FnOnce(&Value) -> Result<T, Error>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let value = Value::deserialize(deserializer)?;
    convert(&value).map_err(D::Error::custom)
}

/// `#[serde(with = "json::u64_str")]` for `u64` fields written the nodeos way.
pub mod u64_str {
    use super::*;

    /// Writes a number up to `0xffffffff`, a string above.
    pub fn serialize<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        if *value > LARGE_INT_THRESHOLD {
            serializer.collect_str(value)
        } else {
            serializer.serialize_u64(*value)
        }
    }

    /// Reads a number or a decimal string.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        deserialize_with(deserializer, |value| int_from_json(value, "uint64"))
    }
}

/// `#[serde(with = "json::i64_str")]` for `i64` fields written the nodeos way.
pub mod i64_str {
    use super::*;

    /// Writes a string above `0xffffffff`, a number otherwise.
    pub fn serialize<S: Serializer>(value: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        if *value > LARGE_INT_THRESHOLD as i64 {
            serializer.collect_str(value)
        } else {
            serializer.serialize_i64(*value)
        }
    }

    /// Reads a number or a decimal string.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        deserialize_with(deserializer, |value| int_from_json(value, "int64"))
    }
}

/// `#[serde(with = "json::u128_str")]` for `u128` fields: always a decimal string.
pub mod u128_str {
    use super::*;

    /// Writes a decimal string.
    pub fn serialize<S: Serializer>(value: &u128, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    /// Reads a number or a decimal string.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u128, D::Error> {
        deserialize_with(deserializer, |value| int_from_json(value, "uint128"))
    }
}

/// `#[serde(with = "json::i128_str")]` for `i128` fields: always a decimal string.
pub mod i128_str {
    use super::*;

    /// Writes a decimal string.
    pub fn serialize<S: Serializer>(value: &i128, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    /// Reads a number or a decimal string.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i128, D::Error> {
        deserialize_with(deserializer, |value| int_from_json(value, "int128"))
    }
}

/// `#[serde(with = "json::hex_bytes")]` for `Vec<u8>` fields written as lowercase hex, as nodeos
/// writes `bytes` (`data`, `packed_trx`); either case is read.
pub mod hex_bytes {
    use super::*;

    /// Writes lowercase hex.
    pub fn serialize<S: Serializer>(value: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(value))
    }

    /// Reads hex in either case.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        hex::decode(text.as_ref()).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Row {
        #[serde(with = "u64_str")]
        id: u64,
        #[serde(with = "i64_str")]
        delta: i64,
        #[serde(with = "u128_str")]
        big: u128,
        #[serde(with = "i128_str")]
        signed_big: i128,
    }

    fn check_output(value: Value, expected: &str) {
        assert_eq!(value.to_string(), expected);
    }

    fn check_u64(input: Value, expected: Result<u64, Error>) {
        assert_eq!(int_from_json::<u64>(&input, "uint64"), expected, "{input}");
    }

    fn check_i32(input: Value, expected: Result<i32, Error>) {
        assert_eq!(int_from_json::<i32>(&input, "int32"), expected, "{input}");
    }

    #[test]
    fn writes_large_integers_as_strings() {
        check_output(u64_to_json(0), "0");
        check_output(u64_to_json(0xffff_ffff), "4294967295");
        check_output(u64_to_json(0x1_0000_0000), "\"4294967296\"");
        check_output(u64_to_json(u64::MAX), "\"18446744073709551615\"");
        check_output(i64_to_json(-1), "-1");
        check_output(i64_to_json(i64::MIN), "-9223372036854775808");
        check_output(i64_to_json(0x1_0000_0000), "\"4294967296\"");
        check_output(int128_to_json(5u128), "\"5\"");
        check_output(int128_to_json(-5i128), "\"-5\"");
    }

    #[test]
    fn writes_floats_like_fc() {
        check_output(float_to_json(1.5), "\"1.50000000000000000\"");
        check_output(float_to_json(-0.25), "\"-0.25000000000000000\"");
        check_output(float_to_json(0.1), "\"0.10000000000000001\"");
        check_output(float_to_json(f64::INFINITY), "\"inf\"");
        check_output(float_to_json(f64::NEG_INFINITY), "\"-inf\"");
        check_output(float_to_json(f64::NAN), "\"nan\"");
    }

    #[test]
    fn reads_numbers_and_strings() {
        let not_a_number = |found: &str| Error::NotANumber {
            expected: "uint64",
            found: found.to_owned(),
        };
        check_u64(json!(7), Ok(7));
        check_u64(json!("18446744073709551615"), Ok(u64::MAX));
        check_u64(
            json!("18446744073709551616"),
            Err(Error::OutOfRange {
                expected: "uint64",
                value: "18446744073709551616".into(),
            }),
        );
        check_u64(
            json!(-1),
            Err(Error::OutOfRange {
                expected: "uint64",
                value: "-1".into(),
            }),
        );
        check_u64(
            json!("-1"),
            Err(Error::OutOfRange {
                expected: "uint64",
                value: "-1".into(),
            }),
        );
        check_u64(json!(1.5), Err(not_a_number("1.5")));
        check_u64(json!(""), Err(not_a_number("\"\"")));
        check_u64(json!("0x10"), Err(not_a_number("\"0x10\"")));
        check_u64(json!("+1"), Err(not_a_number("\"+1\"")));
        check_u64(json!(null), Err(not_a_number("null")));
        check_i32(json!(-2147483648), Ok(i32::MIN));
        check_i32(json!("-5"), Ok(-5));
        check_i32(
            json!(2147483648u64),
            Err(Error::OutOfRange {
                expected: "int32",
                value: "2147483648".into(),
            }),
        );
        assert_eq!(float_from_json(&json!("1.50000000000000000")), Ok(1.5));
        assert_eq!(float_from_json(&json!(2)), Ok(2.0));
        assert_eq!(float_from_json(&json!("-inf")), Ok(f64::NEG_INFINITY));
        assert!(float_from_json(&json!("x")).is_err());
    }

    #[test]
    fn serde_helpers() {
        let row = Row {
            id: 1 << 40,
            delta: 5,
            big: 7,
            signed_big: -7,
        };
        let text = serde_json::to_string(&row).expect("json");
        assert_eq!(
            text,
            r#"{"id":"1099511627776","delta":5,"big":"7","signed_big":"-7"}"#
        );
        assert_eq!(serde_json::from_str::<Row>(&text).expect("json"), row);
        let loose: Row = serde_json::from_str(r#"{"id":3,"delta":"-4","big":8,"signed_big":"9"}"#)
            .expect("json");
        assert_eq!(
            loose,
            Row {
                id: 3,
                delta: -4,
                big: 8,
                signed_big: 9
            }
        );
        assert!(
            serde_json::from_str::<Row>(r#"{"id":"x","delta":0,"big":0,"signed_big":0}"#).is_err()
        );
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Blob {
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    }

    #[test]
    fn hex_bytes_helper() {
        let blob: Blob = serde_json::from_str(r#"{"data":"00AbFF"}"#).expect("json");
        assert_eq!(blob.data, [0x00, 0xab, 0xff]);
        assert_eq!(
            serde_json::to_string(&blob).expect("json"),
            r#"{"data":"00abff"}"#
        );
        assert!(serde_json::from_str::<Blob>(r#"{"data":"abc"}"#).is_err());
        assert!(serde_json::from_str::<Blob>(r#"{"data":"zz"}"#).is_err());
    }

    proptest! {
        #[test]
        fn u64_round_trips(value: u64) {
            prop_assert_eq!(int_from_json::<u64>(&u64_to_json(value), "uint64"), Ok(value));
        }

        #[test]
        fn i64_round_trips(value: i64) {
            prop_assert_eq!(int_from_json::<i64>(&i64_to_json(value), "int64"), Ok(value));
        }

        #[test]
        fn i128_round_trips(value: i128) {
            prop_assert_eq!(int_from_json::<i128>(&int128_to_json(value), "int128"), Ok(value));
        }
    }
}
