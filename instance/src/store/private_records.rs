//! Versioned personal data (`private_records`): each record, named by a kind (`individual`,
//! `organization`, `payment_method`, …) and a key, is a chain of versions valid from one block
//! up to (not including) another. Writing closes the open version and adds the next; deleting
//! only closes it; history is never rewritten. The state as of block N is the version with
//! `valid_from_block <= N < valid_to_block` (or no end).

use super::codec::u32_from_db;
use super::key_list::KeyList;
use super::{Error, JsonText, Result, Store, dispatch};

/// One version of a private record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateVersion {
    /// The record's key within its kind (a username, a payment method id, …).
    pub key: String,
    /// 1 for the first version, then one more per change.
    pub version: u64,
    /// First block at which this version is the record's state.
    pub valid_from_block: u32,
    /// First block at which it no longer is; `None` while it is current.
    pub valid_to_block: Option<u32>,
    /// The record.
    pub data: JsonText,
}

type VersionRow = (String, i64, i64, Option<i64>, String);

const SELECT_VERSION: &str = "SELECT record_key, version, valid_from_block, valid_to_block, \
     CAST(data AS TEXT) FROM private_records";

fn version_from_row((key, version, from, to, data): VersionRow) -> Result<PrivateVersion> {
    Ok(PrivateVersion {
        key,
        version: u64::try_from(version).map_err(|_| Error::CorruptValue {
            column: "version",
            stored: version,
        })?,
        valid_from_block: u32_from_db("valid_from_block", from)?,
        valid_to_block: to.map(|to| u32_from_db("valid_to_block", to)).transpose()?,
        data: JsonText::from_value(&serde_json::from_str(&data).map_err(|source| {
            Error::CorruptJson {
                column: "data",
                source,
            }
        })?),
    })
}

/// Closes the open version of `(kind, key)` at `block_num` inside the transaction `$tx`;
/// evaluates to whether one was open. A macro, as the transaction's type differs by backend.
macro_rules! close_open_version {
    ($tx:expr, $kind:expr, $key:expr, $block_num:expr) => {{
        let open: Option<i64> = sqlx::query_scalar(
            "SELECT valid_from_block FROM private_records \
             WHERE kind = $1 AND record_key = $2 AND valid_to_block IS NULL",
        )
        .bind($kind)
        .bind($key)
        .fetch_optional(&mut *$tx)
        .await?;
        match open {
            None => false,
            Some(from) if i64::from($block_num) < from => {
                return Err(Error::PrivateRecordBehind {
                    kind: $kind.to_owned(),
                    key: $key.to_owned(),
                    block_num: $block_num,
                    valid_from_block: u32_from_db("valid_from_block", from)?,
                });
            }
            Some(_) => {
                sqlx::query(
                    "UPDATE private_records SET valid_to_block = $3 \
                     WHERE kind = $1 AND record_key = $2 AND valid_to_block IS NULL",
                )
                .bind($kind)
                .bind($key)
                .bind(i64::from($block_num))
                .execute(&mut *$tx)
                .await?;
                true
            }
        }
    }};
}

/// Adds the next version of `(kind, key)` holding `$data` from `$block_num` inside the
/// transaction `$tx`, closing the open one; evaluates to the new version's number.
macro_rules! add_version {
    ($tx:expr, $kind:expr, $key:expr, $block_num:expr, $data:expr, $expected:expr) => {{
        // Locks the open version, so a concurrent writer of the record waits here and then
        // reads the version this one writes (SQLite's write transactions already exclude
        // each other).
        sqlx::query(
            "UPDATE private_records SET valid_to_block = NULL \
             WHERE kind = $1 AND record_key = $2 AND valid_to_block IS NULL",
        )
        .bind($kind)
        .bind($key)
        .execute(&mut *$tx)
        .await?;
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(version) FROM private_records WHERE kind = $1 AND record_key = $2",
        )
        .bind($kind)
        .bind($key)
        .fetch_one(&mut *$tx)
        .await?;
        let expected: Option<u64> = $expected;
        if let Some(expected) = expected {
            let found = match last {
                None => 0,
                Some(stored) => u64::try_from(stored).map_err(|_| Error::CorruptValue {
                    column: "version",
                    stored,
                })?,
            };
            if found != expected {
                return Err(Error::VersionConflict {
                    kind: $kind.to_owned(),
                    key: $key.to_owned(),
                    expected,
                    found,
                });
            }
        }
        close_open_version!($tx, $kind, $key, $block_num);
        let version = last.unwrap_or(0) + 1;
        sqlx::query(
            "INSERT INTO private_records \
             (kind, record_key, version, valid_from_block, valid_to_block, data) \
             VALUES ($1, $2, $3, $4, NULL, $5)",
        )
        .bind($kind)
        .bind($key)
        .bind(version)
        .bind(i64::from($block_num))
        .bind($data.as_str())
        .execute(&mut *$tx)
        .await?;
        version
    }};
}

/// The block a write takes effect from.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// This block.
    Block(u32),
    /// The block after the cursor's.
    AfterCursor,
}

/// The block a write inside the transaction `$tx` takes effect from. The cursor is read after
/// `$lock` (or inside SQLite's write lock), which a commit of blocks also needs to move it,
/// so no block can be committed between this read and the write's commit: a block already
/// committed never gets a change it did not have.
macro_rules! start_block {
    ($tx:expr, $start:expr, $lock:expr) => {{
        match $start {
            Start::Block(block_num) => block_num,
            Start::AfterCursor => {
                if let Some(lock) = $lock {
                    sqlx::query(lock).execute(&mut *$tx).await?;
                }
                let synced: Option<i64> =
                    sqlx::query_scalar("SELECT block_num FROM cursor WHERE id = 1")
                        .fetch_optional(&mut *$tx)
                        .await?;
                synced
                    .map(|block_num| u32_from_db("block_num", block_num))
                    .transpose()?
                    .unwrap_or(0)
                    .saturating_add(1)
            }
        }
    }};
}

impl Store {
    /// Makes `data` the state of record `(kind, key)` from block `block_num` on, closing the
    /// version in force; returns the new version's number. A second write in the same block
    /// replaces the first for every later reader, and both stay in the history.
    ///
    /// # Errors
    /// [`Error::PrivateRecordBehind`] when `block_num` is before the start of the version in
    /// force (history only moves forward); [`Error::Database`].
    pub async fn put_private(
        &self,
        kind: &str,
        key: &str,
        data: &JsonText,
        block_num: u32,
    ) -> Result<u64> {
        let (version, _) = self
            .write_private(kind, key, data, Start::Block(block_num), None)
            .await?;
        Ok(version)
    }

    /// As [`Store::put_private`] from the block after the cursor's, chosen in the writing
    /// transaction so that a concurrent commit of blocks cannot make it a committed block;
    /// returns the new version's number and that block.
    ///
    /// # Errors
    /// As [`Store::put_private`].
    pub async fn put_private_next(
        &self,
        kind: &str,
        key: &str,
        data: &JsonText,
    ) -> Result<(u64, u32)> {
        self.write_private(kind, key, data, Start::AfterCursor, None)
            .await
    }

    /// As [`Store::put_private_next`] when the record's last version is still `expected` (0:
    /// no version yet): a read-modify-write that a concurrent writer of the same record makes
    /// fail rather than lose.
    ///
    /// # Errors
    /// [`Error::VersionConflict`] when another version was written since, and nothing is;
    /// otherwise as [`Store::put_private`].
    pub async fn put_private_next_if(
        &self,
        kind: &str,
        key: &str,
        data: &JsonText,
        expected: u64,
    ) -> Result<(u64, u32)> {
        self.write_private(kind, key, data, Start::AfterCursor, Some(expected))
            .await
    }

    async fn write_private(
        &self,
        kind: &str,
        key: &str,
        data: &JsonText,
        start: Start,
        expected: Option<u64>,
    ) -> Result<(u64, u32)> {
        dispatch!(&self.pool, db, {
            let mut tx = db.begin_with(BEGIN_WRITE).await?;
            let block_num = start_block!(tx, start, LOCK_CURSOR);
            let version = add_version!(tx, kind, key, block_num, data, expected);
            tx.commit().await?;
            Ok((u64::try_from(version).unwrap_or_default(), block_num))
        })
    }

    /// Writes every record of `records` (`(kind, key, data)`) in one transaction from the
    /// block after the cursor's, chosen as [`Store::put_private_next`] chooses it: all of them
    /// or none. A record whose version in force already holds `data` is left as it is, so
    /// writing the same records again changes nothing. Returns that block and how many records
    /// got a new version.
    ///
    /// # Errors
    /// As [`Store::put_private`].
    pub async fn put_private_all_next(
        &self,
        records: &[(&str, &str, JsonText)],
    ) -> Result<(u32, usize)> {
        dispatch!(&self.pool, db, {
            let mut tx = db.begin_with(BEGIN_WRITE).await?;
            let block_num = start_block!(tx, Start::AfterCursor, LOCK_CURSOR);
            let mut changed = 0;
            for (kind, key, data) in records {
                let current: Option<String> = sqlx::query_scalar(
                    "SELECT CAST(data AS TEXT) FROM private_records \
                     WHERE kind = $1 AND record_key = $2 AND valid_to_block IS NULL",
                )
                .bind(*kind)
                .bind(*key)
                .fetch_optional(&mut *tx)
                .await?;
                // Compared as JSON values: PostgreSQL's jsonb prints keys in its own order.
                let unchanged = current.is_some_and(|text| {
                    serde_json::from_str::<serde_json::Value>(&text).ok()
                        == serde_json::from_str::<serde_json::Value>(data.as_str()).ok()
                });
                if !unchanged {
                    add_version!(tx, *kind, *key, block_num, data, None);
                    changed += 1;
                }
            }
            tx.commit().await?;
            Ok((block_num, changed))
        })
    }

    /// Ends record `(kind, key)` at block `block_num`: its open version closes, nothing
    /// replaces it. Returns whether a version was open.
    ///
    /// # Errors
    /// As [`Store::put_private`].
    pub async fn delete_private(&self, kind: &str, key: &str, block_num: u32) -> Result<bool> {
        self.end_private(kind, key, Start::Block(block_num)).await
    }

    /// As [`Store::delete_private`] at the block after the cursor's, chosen as
    /// [`Store::put_private_next`] chooses it.
    ///
    /// # Errors
    /// As [`Store::put_private`].
    pub async fn delete_private_next(&self, kind: &str, key: &str) -> Result<bool> {
        self.end_private(kind, key, Start::AfterCursor).await
    }

    async fn end_private(&self, kind: &str, key: &str, start: Start) -> Result<bool> {
        dispatch!(&self.pool, db, {
            let mut tx = db.begin_with(BEGIN_WRITE).await?;
            let block_num = start_block!(tx, start, LOCK_CURSOR);
            let closed = close_open_version!(tx, kind, key, block_num);
            tx.commit().await?;
            Ok(closed)
        })
    }

    /// Record `(kind, key)` as it was at block `block_num`.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn private_at(
        &self,
        kind: &str,
        key: &str,
        block_num: u32,
    ) -> Result<Option<PrivateVersion>> {
        let row = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, VersionRow>(sqlx::AssertSqlSafe(format!(
                "{SELECT_VERSION} WHERE kind = $1 AND record_key = $2 AND valid_from_block <= $3 \
                 AND (valid_to_block IS NULL OR valid_to_block > $3)"
            )))
            .bind(kind)
            .bind(key)
            .bind(i64::from(block_num))
            .fetch_optional(db)
            .await?
        });
        row.map(version_from_row).transpose()
    }

    /// Records `(kind, key)` for each of `keys` as they were at block `block_num`, by key;
    /// keys without a record then are left out.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn private_many_at(
        &self,
        kind: &str,
        keys: &[String],
        block_num: u32,
    ) -> Result<Vec<PrivateVersion>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let rows = dispatch!(&self.pool, db, {
            let mut select = sqlx::QueryBuilder::<Db>::new(SELECT_VERSION);
            select
                .push(" WHERE kind = ")
                .push_bind(kind)
                .push(" AND valid_from_block <= ")
                .push_bind(i64::from(block_num))
                .push(" AND (valid_to_block IS NULL OR valid_to_block > ")
                .push_bind(i64::from(block_num))
                .push(")");
            <Db as KeyList>::push_key_list(&mut select, "record_key", keys);
            select.build_query_as::<VersionRow>().fetch_all(db).await?
        });
        let mut versions = rows
            .into_iter()
            .map(version_from_row)
            .collect::<Result<Vec<_>>>()?;
        // Ordered here, so that the planner takes the keys into the index (see `KeyList`).
        versions.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(versions)
    }

    /// Records of `kind` as they were at block `block_num`, by key, the `limit` first after
    /// `after` (a page cursor: the last key of the previous page).
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn private_list_at(
        &self,
        kind: &str,
        block_num: u32,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<PrivateVersion>> {
        let rows = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, VersionRow>(sqlx::AssertSqlSafe(format!(
                "{SELECT_VERSION} WHERE kind = $1 AND record_key > $2 AND valid_from_block <= $3 \
                 AND (valid_to_block IS NULL OR valid_to_block > $3) \
                 ORDER BY record_key LIMIT $4"
            )))
            .bind(kind)
            .bind(after.unwrap_or(""))
            .bind(i64::from(block_num))
            .bind(i64::from(limit))
            .fetch_all(db)
            .await?
        });
        rows.into_iter().map(version_from_row).collect()
    }

    /// Every version of record `(kind, key)`, oldest first.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn private_history(&self, kind: &str, key: &str) -> Result<Vec<PrivateVersion>> {
        let rows = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, VersionRow>(sqlx::AssertSqlSafe(format!(
                "{SELECT_VERSION} WHERE kind = $1 AND record_key = $2 ORDER BY version"
            )))
            .bind(kind)
            .bind(key)
            .fetch_all(db)
            .await?
        });
        rows.into_iter().map(version_from_row).collect()
    }

    /// Private records as they were at block `block_num`, of every kind, as `(kind, version)`
    /// ordered by kind and key: the first `limit` after `(kind, key)` `after` (from the first
    /// when `None`). Paged, as kept documents with their PDF make the records large.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn private_page_at(
        &self,
        block_num: u32,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<(String, PrivateVersion)>> {
        // No record has an empty kind, so this key is before every stored one.
        let (kind, key) = after.unwrap_or(("", ""));
        let rows = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, (String, String, i64, i64, Option<i64>, String)>(
                "SELECT kind, record_key, version, valid_from_block, valid_to_block, \
                 CAST(data AS TEXT) FROM private_records WHERE valid_from_block <= $1 \
                 AND (valid_to_block IS NULL OR valid_to_block > $1) \
                 AND (kind, record_key) > ($2, $3) ORDER BY kind, record_key LIMIT $4",
            )
            .bind(i64::from(block_num))
            .bind(kind)
            .bind(key)
            .bind(i64::from(limit))
            .fetch_all(db)
            .await?
        });
        rows.into_iter()
            .map(|(kind, key, version, from, to, data)| {
                version_from_row((key, version, from, to, data)).map(|version| (kind, version))
            })
            .collect()
    }

    /// Every version of every private record, as `(kind, version)` ordered by kind, key and
    /// version.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn private_versions(&self) -> Result<Vec<(String, PrivateVersion)>> {
        let mut all: Vec<(String, PrivateVersion)> = Vec::new();
        loop {
            let after = all
                .last()
                .map(|(kind, version)| (kind.as_str(), version.key.as_str(), version.version));
            let page = self.private_versions_page(after, PAGE_VERSIONS).await?;
            let last_page = page.len() < PAGE_VERSIONS as usize;
            all.extend(page);
            if last_page {
                return Ok(all);
            }
        }
    }

    /// How many versions of private records the store holds.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn private_version_count(&self) -> Result<u64> {
        let count: i64 = dispatch!(&self.pool, db, {
            sqlx::query_scalar("SELECT COUNT(*) FROM private_records")
                .fetch_one(db)
                .await?
        });
        u64::try_from(count).map_err(|_| Error::CorruptValue {
            column: "count",
            stored: count,
        })
    }

    /// The first `limit` versions of private records after `(kind, key, version)` `after`
    /// (from the first when `None`), in the order of [`Store::private_versions`]: how an export
    /// reads them without holding them all.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn private_versions_page(
        &self,
        after: Option<(&str, &str, u64)>,
        limit: u32,
    ) -> Result<Vec<(String, PrivateVersion)>> {
        // Versions start at 1, so this key is before every stored one.
        let (kind, key, version) = after.unwrap_or(("", "", 0));
        let version = i64::try_from(version).unwrap_or(i64::MAX);
        let rows = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, (String, String, i64, i64, Option<i64>, String)>(
                "SELECT kind, record_key, version, valid_from_block, valid_to_block, \
                 CAST(data AS TEXT) FROM private_records \
                 WHERE (kind, record_key, version) > ($1, $2, $3) \
                 ORDER BY kind, record_key, version LIMIT $4",
            )
            .bind(kind)
            .bind(key)
            .bind(version)
            .bind(i64::from(limit))
            .fetch_all(db)
            .await?
        });
        rows.into_iter()
            .map(|(kind, key, version, from, to, data)| {
                version_from_row((key, version, from, to, data)).map(|version| (kind, version))
            })
            .collect()
    }
}

/// Versions read at a time by [`Store::private_versions`].
const PAGE_VERSIONS: u32 = 1_000;
