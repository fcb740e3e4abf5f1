//! Conversions between Rust values and the column types both backends share.
//!
//! Both PostgreSQL and SQLite have only signed 64-bit integers, so `u64` keys are stored with
//! their top bit flipped: `stored = value - 2^63`. The mapping is a bijection over the whole
//! `u64` range and keeps the order, so `ORDER BY` and range conditions on stored keys follow the
//! unsigned order. JSON is bound as text, so PostgreSQL's `json` column keeps the decoder's exact
//! text (field order included) and SQLite's `TEXT` column holds the same bytes.

use super::{Error, JsonText, Result};

/// Maps a `u64` onto the `i64` stored in the database, keeping the order.
pub(crate) fn u64_to_db(value: u64) -> i64 {
    (value ^ (1 << 63)).cast_signed()
}

/// Inverse of [`u64_to_db`].
pub(crate) fn u64_from_db(stored: i64) -> u64 {
    stored.cast_unsigned() ^ (1 << 63)
}

/// Reads a block number or ordinal stored as a 64-bit integer.
pub(crate) fn u32_from_db(column: &'static str, stored: i64) -> Result<u32> {
    u32::try_from(stored).map_err(|_| Error::CorruptValue { column, stored })
}

/// Reads a 32-byte id stored as a blob.
pub(crate) fn id_from_db(column: &'static str, stored: &[u8]) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(stored).map_err(|_| Error::CorruptId {
        column,
        len: stored.len(),
    })
}

/// Checks JSON text read from the database.
pub(crate) fn json_from_db(
    column: &'static str,
    stored: Option<String>,
) -> Result<Option<JsonText>> {
    stored
        .map(JsonText::parse)
        .transpose()
        .map_err(|source| Error::CorruptJson { column, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_mapping_is_a_bijection_at_the_extremes() {
        for value in [0, 1, (1 << 63) - 1, 1 << 63, u64::MAX - 1, u64::MAX] {
            assert_eq!(u64_from_db(u64_to_db(value)), value);
        }
        assert_eq!(u64_to_db(0), i64::MIN);
        assert_eq!(u64_to_db(u64::MAX), i64::MAX);
        assert_eq!(u64_to_db(1 << 63), 0);
    }

    #[test]
    fn u64_mapping_keeps_the_order() {
        let values = [0, 5, (1 << 63) - 1, 1 << 63, (1 << 63) + 7, u64::MAX];
        for pair in values.windows(2) {
            assert!(u64_to_db(pair[0]) < u64_to_db(pair[1]), "{pair:?}");
        }
    }

    #[test]
    fn out_of_range_block_numbers_are_reported() {
        assert_eq!(u32_from_db("block_num", 7).ok(), Some(7));
        assert!(matches!(
            u32_from_db("block_num", -1),
            Err(Error::CorruptValue {
                column: "block_num",
                stored: -1
            })
        ));
        assert!(u32_from_db("block_num", i64::from(u32::MAX) + 1).is_err());
    }

    #[test]
    fn ids_must_have_32_bytes() {
        assert_eq!(id_from_db("block_id", &[7; 32]).ok(), Some([7; 32]));
        assert!(matches!(
            id_from_db("block_id", &[7; 31]),
            Err(Error::CorruptId {
                column: "block_id",
                len: 31
            })
        ));
    }
}
