//! The three protocol time types and their nodeos JSON form.
//!
//! - [`TimePoint`]: `time_point`, microseconds since 1970 as `i64`; JSON `"2009-02-13T23:31:30.123"`
//!   (nodeos prints milliseconds).
//! - [`TimePointSec`]: `time_point_sec`, seconds since 1970 as `u32`; JSON `"2009-02-13T23:31:30"`.
//! - [`BlockTimestamp`]: `block_timestamp_type`, a `u32` count of 500 ms slots since 2000-01-01;
//!   JSON like `time_point`.
//!
//! All times are UTC and printed without a zone suffix; input may carry a trailing `Z` and a
//! fraction of up to six digits. The calendar arithmetic is the proleptic Gregorian
//! days-from-civil algorithm, with no clock or time zone database involved.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::antelope::binary::{self, Decode, Encode, Reader, Writer};

/// Milliseconds from 1970-01-01 to 2000-01-01, the epoch of block timestamps.
pub const BLOCK_TIMESTAMP_EPOCH_MS: i64 = 946_684_800_000;
/// Length of a block slot in milliseconds.
pub const BLOCK_INTERVAL_MS: i64 = 500;

const MICROS_PER_SEC: i64 = 1_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// A `time_point`: microseconds since 1970-01-01T00:00:00 UTC.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimePoint(i64);

/// A `time_point_sec`: whole seconds since 1970-01-01T00:00:00 UTC.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimePointSec(u32);

/// A `block_timestamp_type`: the number of 500 ms slots since 2000-01-01T00:00:00 UTC.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockTimestamp(u32);

/// Why a time string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseTimeError {
    /// The text is not `YYYY-MM-DDTHH:MM:SS[.ffffff][Z]`.
    #[error("time {text:?} is not in the form YYYY-MM-DDTHH:MM:SS[.fff]")]
    Format {
        /// The rejected text.
        text: String,
    },
    /// A field is out of its calendar range (month 13, hour 24, February 30, ...).
    #[error("time {text:?} is not a valid calendar date and time")]
    InvalidDate {
        /// The rejected text.
        text: String,
    },
    /// The time is valid but the type cannot represent it.
    #[error("time {text:?} is out of range for {type_name}")]
    OutOfRange {
        /// The rejected text.
        text: String,
        /// The protocol type.
        type_name: &'static str,
    },
}

impl TimePoint {
    /// From microseconds since 1970.
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// Microseconds since 1970.
    pub const fn as_micros(self) -> i64 {
        self.0
    }
}

impl TimePointSec {
    /// From seconds since 1970.
    pub const fn from_secs(secs: u32) -> Self {
        Self(secs)
    }

    /// Seconds since 1970.
    pub const fn as_secs(self) -> u32 {
        self.0
    }

    /// The same instant as a [`TimePoint`].
    pub const fn to_time_point(self) -> TimePoint {
        TimePoint(self.0 as i64 * MICROS_PER_SEC)
    }
}

impl BlockTimestamp {
    /// From a slot number.
    pub const fn from_slot(slot: u32) -> Self {
        Self(slot)
    }

    /// The slot number.
    pub const fn slot(self) -> u32 {
        self.0
    }

    /// The start of the slot as a [`TimePoint`].
    pub const fn to_time_point(self) -> TimePoint {
        TimePoint((BLOCK_TIMESTAMP_EPOCH_MS + self.0 as i64 * BLOCK_INTERVAL_MS) * 1000)
    }

    /// The slot containing `time`, or `None` before 2000-01-01 or after the last slot.
    pub fn from_time_point(time: TimePoint) -> Option<Self> {
        let ms = time.0.div_euclid(1000) - BLOCK_TIMESTAMP_EPOCH_MS;
        if ms < 0 {
            return None;
        }
        u32::try_from(ms / BLOCK_INTERVAL_MS).ok().map(Self)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days-from-civil).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = i64::from((month + 9) % 12);
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day count since 1970-01-01, inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Writes `YYYY-MM-DDTHH:MM:SS` for whole seconds since 1970. A `time_point` spans about
/// 292,000 years either way, so a year may have more than four digits or a leading `-`.
fn write_date_time(f: &mut fmt::Formatter<'_>, secs: i64) -> fmt::Result {
    let (year, month, day) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
    let in_day = secs.rem_euclid(SECS_PER_DAY);
    let sign = if year < 0 { "-" } else { "" };
    write!(
        f,
        "{sign}{:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        year.unsigned_abs(),
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.f{1,6}][Z]` into microseconds since 1970; the year may be
/// longer than four digits and negative, as [`write_date_time`] writes it.
fn parse_micros(text: &str) -> Result<i64, ParseTimeError> {
    let format_error = || ParseTimeError::Format {
        text: text.to_owned(),
    };
    if !text.is_ascii() {
        return Err(format_error());
    }
    let body = text.strip_suffix('Z').unwrap_or(text);
    let (date_time, fraction) = match body.split_once('.') {
        Some((date_time, fraction)) => (date_time, Some(fraction)),
        None => (body, None),
    };
    let (negative, unsigned) = match date_time.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, date_time),
    };
    // Everything after the year has a fixed width: `-MM-DDTHH:MM:SS`.
    let year_digits = unsigned.len().checked_sub(15).ok_or_else(format_error)?;
    let year_text = &unsigned[..year_digits];
    let date_time = &unsigned[year_digits..];
    let bytes = date_time.as_bytes();
    if !(4..=6).contains(&year_digits)
        || !year_text.bytes().all(|b| b.is_ascii_digit())
        || bytes[0] != b'-'
        || bytes[3] != b'-'
        || bytes[6] != b'T'
        || bytes[9] != b':'
        || bytes[12] != b':'
    {
        return Err(format_error());
    }
    let field = |range: std::ops::Range<usize>| -> Result<u32, ParseTimeError> {
        let digits = &date_time[range];
        if digits.bytes().all(|b| b.is_ascii_digit()) {
            digits.parse().map_err(|_| format_error())
        } else {
            Err(format_error())
        }
    };
    let year: i64 = year_text.parse().map_err(|_| format_error())?;
    let year = if negative { -year } else { year };
    let (month, day) = (field(1..3)?, field(4..6)?);
    let (hour, minute, second) = (field(7..9)?, field(10..12)?, field(13..15)?);
    let micros_fraction = match fraction {
        None => 0,
        Some(digits)
            if (1..=6).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            let value: i64 = digits.parse().map_err(|_| format_error())?;
            value * 10_i64.pow(6 - digits.len() as u32)
        }
        Some(_) => return Err(format_error()),
    };
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(ParseTimeError::InvalidDate {
            text: text.to_owned(),
        });
    }
    let secs = days_from_civil(year, month, day) * SECS_PER_DAY
        + i64::from(hour * 3600 + minute * 60 + second);
    // In i128: the whole seconds alone may lie below i64's range when the fraction brings the
    // total back in (the earliest time points).
    let micros = i128::from(secs) * i128::from(MICROS_PER_SEC) + i128::from(micros_fraction);
    i64::try_from(micros).map_err(|_| ParseTimeError::InvalidDate {
        text: text.to_owned(),
    })
}

impl FromStr for TimePoint {
    type Err = ParseTimeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_micros(text).map(Self)
    }
}

impl FromStr for TimePointSec {
    type Err = ParseTimeError;

    /// A fraction is accepted and truncated, as nodeos converts a `time_point` to seconds.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let micros = parse_micros(text)?;
        u32::try_from(micros.div_euclid(MICROS_PER_SEC))
            .map(Self)
            .map_err(|_| ParseTimeError::OutOfRange {
                text: text.to_owned(),
                type_name: "time_point_sec",
            })
    }
}

impl FromStr for BlockTimestamp {
    type Err = ParseTimeError;

    /// A time inside a slot maps to the slot's start, as nodeos rounds down.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let time = TimePoint(parse_micros(text)?);
        Self::from_time_point(time).ok_or_else(|| ParseTimeError::OutOfRange {
            text: text.to_owned(),
            type_name: "block_timestamp_type",
        })
    }
}

impl fmt::Display for TimePoint {
    /// Milliseconds are printed and sub-millisecond digits dropped, as nodeos does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_date_time(f, self.0.div_euclid(MICROS_PER_SEC))?;
        write!(f, ".{:03}", self.0.rem_euclid(MICROS_PER_SEC) / 1000)
    }
}

impl fmt::Display for TimePointSec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_date_time(f, i64::from(self.0))
    }
}

impl fmt::Display for BlockTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_time_point().fmt(f)
    }
}

macro_rules! impl_time_codecs {
    ($($time:ty => $write:ident, $read:ident;)*) => {$(
        impl Serialize for $time {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $time {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl Encode for $time {
            fn encode(&self, writer: &mut Writer) {
                writer.$write(self.0);
            }
        }

        impl Decode for $time {
            fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
                reader.$read().map(Self)
            }
        }
    )*};
}

impl_time_codecs! {
    TimePoint => write_i64, read_i64;
    TimePointSec => write_u32, read_u32;
    BlockTimestamp => write_u32, read_u32;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check<T>(value: T, text: &str, wire_hex: &str)
    where
        T: FromStr<Err = ParseTimeError>
            + fmt::Display
            + Encode
            + Decode
            + PartialEq
            + fmt::Debug
            + Copy,
    {
        assert_eq!(value.to_string(), text);
        assert_eq!(text.parse::<T>(), Ok(value), "{text}");
        assert_eq!(hex::encode(binary::to_bytes(&value)), wire_hex);
        let bytes = hex::decode(wire_hex).expect("hex");
        assert_eq!(binary::from_bytes::<T>(&bytes).expect("decode"), value);
    }

    fn check_parse<T>(text: &str, expected: Result<T, ParseTimeError>)
    where
        T: FromStr<Err = ParseTimeError> + PartialEq + fmt::Debug,
    {
        assert_eq!(text.parse::<T>(), expected, "{text:?}");
    }

    #[test]
    fn published_vectors() {
        check(
            TimePoint::from_micros(1_234_567_890_123_000),
            "2009-02-13T23:31:30.123",
            "f8b88a3cd5620400",
        );
        check(
            TimePointSec::from_secs(1_234_567_890),
            "2009-02-13T23:31:30",
            "d2029649",
        );
    }

    #[test]
    fn block_timestamps() {
        check(
            BlockTimestamp::from_slot(0),
            "2000-01-01T00:00:00.000",
            "00000000",
        );
        check(
            BlockTimestamp::from_slot(1),
            "2000-01-01T00:00:00.500",
            "01000000",
        );
        check(
            BlockTimestamp::from_slot(u32::MAX),
            "2068-01-19T03:14:07.500",
            "ffffffff",
        );
        check_parse("2000-01-01T00:00:00.999", Ok(BlockTimestamp::from_slot(1)));
        assert_eq!(
            BlockTimestamp::from_slot(1).to_time_point(),
            TimePoint::from_micros(BLOCK_TIMESTAMP_EPOCH_MS * 1000 + 500_000)
        );
    }

    #[test]
    fn calendar_edges() {
        check(
            TimePoint::from_micros(0),
            "1970-01-01T00:00:00.000",
            "0000000000000000",
        );
        check(
            TimePoint::from_micros(-1000),
            "1969-12-31T23:59:59.999",
            "18fcffffffffffff",
        );
        check(
            TimePointSec::from_secs(951_782_400),
            "2000-02-29T00:00:00",
            "000cbb38",
        );
        check(
            TimePointSec::from_secs(u32::MAX),
            "2106-02-07T06:28:15",
            "ffffffff",
        );
        check_parse(
            "2020-06-05T17:22:47.5",
            Ok(TimePoint::from_micros(1_591_377_767_500_000)),
        );
        check_parse(
            "2020-06-05T17:22:47.500001Z",
            Ok(TimePoint::from_micros(1_591_377_767_500_001)),
        );
        check_parse(
            "2009-02-13T23:31:30Z",
            Ok(TimePointSec::from_secs(1_234_567_890)),
        );
        check_parse(
            "2009-02-13T23:31:30.999",
            Ok(TimePointSec::from_secs(1_234_567_890)),
        );
    }

    #[test]
    fn invalid_times() {
        let format = |text: &str| ParseTimeError::Format {
            text: text.to_owned(),
        };
        let date = |text: &str| ParseTimeError::InvalidDate {
            text: text.to_owned(),
        };
        for text in [
            "",
            "2009-02-13",
            "2009-02-13 23:31:30",
            "2009-02-13T23:31:30.",
            "2009-02-13T23:31:30.1234567",
            "2009-02-13T23:31:3a",
            "+009-02-13T23:31:30",
            "2009-02-13T23:31:30+01:00",
            "2009-02-13T23:31:30ZZ",
        ] {
            check_parse::<TimePoint>(text, Err(format(text)));
        }
        for text in [
            "2009-13-01T00:00:00",
            "2009-02-29T00:00:00",
            "2009-02-13T24:00:00",
            "2009-00-10T00:00:00",
        ] {
            check_parse::<TimePoint>(text, Err(date(text)));
        }
        check_parse::<TimePointSec>(
            "1969-12-31T23:59:59",
            Err(ParseTimeError::OutOfRange {
                text: "1969-12-31T23:59:59".into(),
                type_name: "time_point_sec",
            }),
        );
        check_parse::<BlockTimestamp>(
            "1999-12-31T23:59:59",
            Err(ParseTimeError::OutOfRange {
                text: "1999-12-31T23:59:59".into(),
                type_name: "block_timestamp_type",
            }),
        );
    }

    #[test]
    fn serde_is_the_iso_string() {
        let time: TimePointSec = serde_json::from_str("\"2009-02-13T23:31:30\"").expect("json");
        assert_eq!(
            serde_json::to_string(&time).expect("json"),
            "\"2009-02-13T23:31:30\""
        );
        assert!(serde_json::from_str::<TimePoint>("\"yesterday\"").is_err());
    }

    /// Found by the `abi_decode` fuzz target: a year past 9999 printed as six digits did not
    /// parse back.
    #[test]
    fn years_beyond_four_digits_round_trip() {
        for text in [
            "196060-03-05T09:48:32.246",
            "-0001-12-31T23:59:59.999",
            "-196060-03-05T09:48:32.000",
            "0000-01-01T00:00:00.000",
        ] {
            let time: TimePoint = text.parse().expect(text);
            assert_eq!(time.to_string(), text);
        }
        for extreme in [i64::MIN, i64::MAX] {
            let time = TimePoint::from_micros(extreme / 1000 * 1000);
            assert_eq!(time.to_string().parse::<TimePoint>(), Ok(time));
        }
        for bad in [
            "196060-3-05T09:48:32",
            "1960600-03-05T09:48:32",
            "-96-03-05T09:48:32",
            "+1970-01-01T00:00:00",
        ] {
            assert!(bad.parse::<TimePoint>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn days_round_trip(days in -1_000_000i64..3_000_000) {
            let (year, month, day) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(year, month, day), days);
        }

        #[test]
        fn time_point_millis_round_trip(ms in 0i64..253_402_300_800_000) {
            let time = TimePoint::from_micros(ms * 1000);
            prop_assert_eq!(time.to_string().parse::<TimePoint>(), Ok(time));
        }

        /// Over the whole range of a `time_point`, about 292,000 years either way of 1970.
        #[test]
        fn every_time_point_millisecond_round_trips(ms in (i64::MIN / 1000)..=(i64::MAX / 1000)) {
            let time = TimePoint::from_micros(ms * 1000);
            prop_assert_eq!(time.to_string().parse::<TimePoint>(), Ok(time));
        }

        #[test]
        fn time_point_sec_round_trips(secs: u32) {
            let time = TimePointSec::from_secs(secs);
            prop_assert_eq!(time.to_string().parse::<TimePointSec>(), Ok(time));
        }

        #[test]
        fn block_timestamp_round_trips(slot: u32) {
            let time = BlockTimestamp::from_slot(slot);
            prop_assert_eq!(time.to_string().parse::<BlockTimestamp>(), Ok(time));
        }

        #[test]
        fn arbitrary_text_never_panics(text: String) {
            let _ = text.parse::<TimePoint>();
        }
    }
}
