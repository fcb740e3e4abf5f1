//! Registry projections (`registry_rows`): written with each commit from the pure projection in
//! `registry::projection`, read by the registries as of a block.
//!
//! Versions work as for deltas: a row version is in force at block N when
//! `block_num <= N < valid_to_block` (or no end). A commit's changes get their `valid_to_block`
//! from the commit itself; the version each changed row had before the commit is closed by one
//! seek per row. A removal only closes the row's version.

use sqlx::{PgConnection, QueryBuilder, SqliteConnection};

use super::codec::u32_from_db;
use super::insert::RowVersions;
use super::key_list::KeyList;
use super::{BlockBatch, Error, JsonText, Result, Store, dispatch};
use crate::registry::projection::{self, Contracts, RegistryRow, RowChange, Source};

/// Most bind parameters in one SQLite statement, below its limit of 32766.
const MAX_SQLITE_BINDS: usize = 30_000;
/// Columns bound per inserted row.
const COLUMNS: usize = 12;

const INSERT_ROWS: &str = "INSERT INTO registry_rows (source, row_key, block_num, \
     valid_to_block, coopname, username, status, kind, reference, created_at, amount, data) ";

/// [`INSERT_ROWS`] on PostgreSQL: one array per column, so the statement text is fixed and
/// prepared once per connection, as the events' inserts are.
const INSERT_ROWS_UNNEST: &str = "INSERT INTO registry_rows (source, row_key, block_num, \
     valid_to_block, coopname, username, status, kind, reference, created_at, amount, data) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::int8[], $5::text[], \
     $6::text[], $7::text[], $8::text[], $9::text[], $10::int8[], $11::int8[], $12::text[])";

/// Closes the latest version before block `$3` of row `($1, $2)`.
const CLOSE_PREVIOUS_ONE: &str = "UPDATE registry_rows SET valid_to_block = $3 \
     WHERE source = $1 AND row_key = $2 AND block_num = (SELECT MAX(block_num) \
     FROM registry_rows WHERE source = $1 AND row_key = $2 AND block_num < $3)";

/// [`CLOSE_PREVIOUS_ONE`] for many rows in one statement, on PostgreSQL.
const CLOSE_PREVIOUS_UNNEST: &str = "UPDATE registry_rows r SET valid_to_block = u.f \
     FROM (SELECT s, k, f, (SELECT MAX(p.block_num) FROM registry_rows p \
     WHERE p.source = s AND p.row_key = k AND p.block_num < f) AS previous \
     FROM UNNEST($1::text[], $2::text[], $3::int8[]) AS x(s, k, f)) AS u \
     WHERE r.source = u.s AND r.row_key = u.k AND r.block_num = u.previous";

/// Statements undoing the projections of the blocks above `$1`, run with the events' rollback.
pub(super) const ROLLBACK_STATEMENTS: [&str; 2] = [
    "DELETE FROM registry_rows WHERE block_num > $1",
    "UPDATE registry_rows SET valid_to_block = NULL WHERE valid_to_block > $1",
];

/// The registry row versions in force at block `$1`.
const IN_FORCE: &str = "block_num <= $1 AND (valid_to_block IS NULL OR valid_to_block > $1)";

const SELECT_ROW: &str = "SELECT source, row_key, block_num, valid_to_block, coopname, \
     username, status, kind, reference, created_at, amount, data FROM registry_rows";

type Row = (
    String,
    String,
    i64,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    String,
);

/// One stored registry row version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryVersion {
    /// What the row is projected from.
    pub source: Source,
    /// The row's key within its source.
    pub key: String,
    /// First block of the version.
    pub block_num: u32,
    /// First block at which it is no longer in force; `None` while it is.
    pub valid_to_block: Option<u32>,
    /// The columns and the row.
    pub row: RegistryRow,
}

/// Which registry rows to read, as of a block, in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowQuery {
    /// The source.
    pub source: Source,
    /// The cooperative.
    pub coopname: String,
    /// The block the rows are read as of.
    pub block_num: u32,
    /// Only rows about this account.
    pub username: Option<String>,
    /// Only rows with this status.
    pub status: Option<String>,
    /// Only rows of this kind.
    pub kind: Option<String>,
    /// Only rows with this reference.
    pub reference: Option<String>,
    /// Only rows whose key starts with this text.
    pub key_prefix: Option<String>,
    /// Only rows with one of these keys.
    pub keys: Option<Vec<String>>,
    /// Only rows with one of these references.
    pub references: Option<Vec<String>>,
    /// Only rows after this key (before it when `descending`): the page cursor.
    pub after: Option<String>,
    /// Keys from the largest down.
    pub descending: bool,
    /// Every version up to the block (by key, then block) instead of those in force at it.
    pub history: bool,
    /// At most this many rows.
    pub limit: u32,
}

impl RowQuery {
    /// The first `limit` rows of `source` in `coopname` as of `block_num`, unfiltered.
    pub fn new(source: Source, coopname: &str, block_num: u32, limit: u32) -> Self {
        Self {
            source,
            coopname: coopname.to_owned(),
            block_num,
            username: None,
            status: None,
            kind: None,
            reference: None,
            key_prefix: None,
            keys: None,
            references: None,
            after: None,
            descending: false,
            history: false,
            limit,
        }
    }

    /// Whether the rows are looked up by a list of keys or references, which reads few rows
    /// and orders them after reading.
    fn is_lookup(&self) -> bool {
        self.keys.is_some() || self.references.is_some()
    }
}

fn version_from_row(row: Row) -> Result<RegistryVersion> {
    let (source, key, block_num, valid_to, coopname, username, status, kind, reference) = (
        row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8,
    );
    let source = Source::parse(&source).ok_or_else(|| Error::CorruptSource {
        stored: source.clone(),
    })?;
    Ok(RegistryVersion {
        source,
        key,
        block_num: u32_from_db("block_num", block_num)?,
        valid_to_block: valid_to
            .map(|to| u32_from_db("valid_to_block", to))
            .transpose()?,
        row: RegistryRow {
            coopname,
            username,
            status,
            kind,
            reference,
            created_at: row.9,
            amount: row.10,
            data: JsonText::parse(row.11).map_err(|source| Error::CorruptJson {
                column: "data",
                source,
            })?,
        },
    })
}

/// The registry changes of a commit with each present version's `valid_to_block` (the block
/// of the same row's next change in the commit), and each changed row once with the first
/// block that changes it.
struct Versions<'a> {
    present: Vec<Present<'a>>,
    first_changes: Vec<(&'a RowChange, u32)>,
}

impl<'a> Versions<'a> {
    fn of(changes: &'a [RowChange]) -> Self {
        let records: Vec<(u32, &RowChange)> = changes
            .iter()
            .map(|change| (change.block_num, change))
            .collect();
        let versions = RowVersions::of(&records, |change: &'a RowChange| {
            (change.source, change.key.as_str())
        });
        let present = changes
            .iter()
            .zip(versions.valid_to)
            .filter_map(|(change, to)| change.row.as_ref().map(|row| (change, row, to)))
            .collect();
        Self {
            present,
            first_changes: versions.first_changes,
        }
    }
}

/// A present row version of a commit and its `valid_to_block`.
type Present<'a> = (&'a RowChange, &'a RegistryRow, Option<u32>);

/// One column of the present versions, for an `UNNEST` array.
fn column<'a, T>(present: &'a [Present<'a>], value: impl Fn(&'a Present<'a>) -> T) -> Vec<T> {
    present.iter().map(value).collect()
}

/// The registry changes of consecutive blocks, in block order.
pub(super) fn project_batches(contracts: &Contracts, batches: &[BlockBatch]) -> Vec<RowChange> {
    batches
        .iter()
        .flat_map(|batch| projection::project(contracts, batch))
        .collect()
}

/// Writes registry changes on PostgreSQL: their versions, and the end of the versions they
/// replace.
pub(super) async fn write_postgres(tx: &mut PgConnection, changes: &[RowChange]) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let versions = Versions::of(changes);
    let present = versions.present.as_slice();
    if !present.is_empty() {
        sqlx::query(INSERT_ROWS_UNNEST)
            .bind(column(present, |(change, _, _)| change.source.as_str()))
            .bind(column(present, |(change, _, _)| change.key.as_str()))
            .bind(column(present, |(change, _, _)| {
                i64::from(change.block_num)
            }))
            .bind(column(present, |(_, _, valid_to)| valid_to.map(i64::from)))
            .bind(column(present, |(_, row, _)| row.coopname.as_str()))
            .bind(column(present, |(_, row, _)| row.username.as_deref()))
            .bind(column(present, |(_, row, _)| row.status.as_deref()))
            .bind(column(present, |(_, row, _)| row.kind.as_deref()))
            .bind(column(present, |(_, row, _)| row.reference.as_deref()))
            .bind(column(present, |(_, row, _)| row.created_at))
            .bind(column(present, |(_, row, _)| row.amount))
            .bind(column(present, |(_, row, _)| row.data.as_str()))
            .execute(&mut *tx)
            .await?;
    }
    let rows = &versions.first_changes;
    sqlx::query(CLOSE_PREVIOUS_UNNEST)
        .bind(
            rows.iter()
                .map(|(change, _)| change.source.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|(change, _)| change.key.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|(_, block)| i64::from(*block))
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// [`write_postgres`] on SQLite.
pub(super) async fn write_sqlite(tx: &mut SqliteConnection, changes: &[RowChange]) -> Result<()> {
    let versions = Versions::of(changes);
    for chunk in versions.present.chunks(MAX_SQLITE_BINDS / COLUMNS) {
        let mut insert = QueryBuilder::<sqlx::Sqlite>::new(INSERT_ROWS);
        insert.push_values(chunk, |mut values, (change, row, valid_to)| {
            values
                .push_bind(change.source.as_str())
                .push_bind(change.key.as_str())
                .push_bind(i64::from(change.block_num))
                .push_bind(valid_to.map(i64::from))
                .push_bind(row.coopname.as_str())
                .push_bind(row.username.as_deref())
                .push_bind(row.status.as_deref())
                .push_bind(row.kind.as_deref())
                .push_bind(row.reference.as_deref())
                .push_bind(row.created_at)
                .push_bind(row.amount)
                .push_bind(row.data.as_str());
        });
        insert.build().persistent(false).execute(&mut *tx).await?;
    }
    for (change, first_change) in &versions.first_changes {
        sqlx::query(CLOSE_PREVIOUS_ONE)
            .bind(change.source.as_str())
            .bind(change.key.as_str())
            .bind(i64::from(*first_change))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Blocks read per step when projections are rebuilt from the events.
const REBUILD_PAGE_BLOCKS: u32 = 2_000;

impl Store {
    /// Rebuilds every registry projection from the stored events when the code that wrote
    /// them is not the running one (a new store, or an upgrade that changed a projection), in
    /// one transaction that also records the running version. Nothing happens when it is.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub(super) async fn ensure_projections(&self) -> Result<()> {
        if self.projection_version().await? == Some(projection::PROJECTION_VERSION) {
            return Ok(());
        }
        loop {
            let cursor = self.cursor().await?;
            let mut changes = Vec::new();
            if let Some(cursor) = cursor {
                let mut from = self.first_block_num().await?.unwrap_or(1);
                while from <= cursor.block_num {
                    let to = from
                        .saturating_add(REBUILD_PAGE_BLOCKS - 1)
                        .min(cursor.block_num);
                    changes.extend(project_batches(
                        &self.contracts,
                        &self.batches(from, to).await?,
                    ));
                    from = to.saturating_add(1);
                }
            }
            let written = dispatch!(&self.pool, db, {
                let mut tx = db.begin_with(BEGIN_WRITE).await?;
                // Taking the state row first makes a second process doing the same wait here,
                // then find the projections rebuilt.
                sqlx::query(
                    "INSERT INTO registry_state (id, projection_version) VALUES (1, -1) \
                     ON CONFLICT (id) DO UPDATE SET projection_version = \
                     registry_state.projection_version",
                )
                .execute(&mut *tx)
                .await?;
                let version: i64 = sqlx::query_scalar(
                    "SELECT projection_version FROM registry_state WHERE id = 1",
                )
                .fetch_one(&mut *tx)
                .await?;
                let now: Option<i64> =
                    sqlx::query_scalar("SELECT block_num FROM cursor WHERE id = 1")
                        .fetch_optional(&mut *tx)
                        .await?;
                if version == projection::PROJECTION_VERSION {
                    true
                } else if now != cursor.map(|cursor| i64::from(cursor.block_num)) {
                    // The follower committed meanwhile: read the events again.
                    false
                } else {
                    sqlx::query("DELETE FROM registry_rows")
                        .execute(&mut *tx)
                        .await?;
                    write_projections(&mut tx, &changes).await?;
                    sqlx::query("UPDATE registry_state SET projection_version = $1 WHERE id = 1")
                        .bind(projection::PROJECTION_VERSION)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    true
                }
            });
            if written {
                if !changes.is_empty() {
                    self.refresh_statistics().await?;
                }
                return Ok(());
            }
        }
    }

    async fn projection_version(&self) -> Result<Option<i64>> {
        Ok(dispatch!(&self.pool, db, {
            sqlx::query_scalar("SELECT projection_version FROM registry_state WHERE id = 1")
                .fetch_optional(db)
                .await?
        }))
    }

    /// The registry rows `query` selects, in key order.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn registry_rows(&self, query: &RowQuery) -> Result<Vec<RegistryVersion>> {
        let rows = dispatch!(&self.pool, db, {
            let mut select = QueryBuilder::<Db>::new(SELECT_ROW);
            select
                .push(" WHERE source = ")
                .push_bind(query.source.as_str())
                .push(" AND coopname = ")
                .push_bind(query.coopname.as_str())
                .push(" AND block_num <= ")
                .push_bind(i64::from(query.block_num));
            if !query.history {
                select
                    .push(" AND (valid_to_block IS NULL OR valid_to_block > ")
                    .push_bind(i64::from(query.block_num))
                    .push(")");
            }
            let columns = [
                ("username", &query.username),
                ("status", &query.status),
                ("kind", &query.kind),
                ("reference", &query.reference),
            ];
            for (column, value) in columns {
                if let Some(value) = value {
                    select
                        .push(format_args!(" AND {column} = "))
                        .push_bind(value.as_str());
                }
            }
            if let Some(prefix) = &query.key_prefix {
                // Keys are compared bytewise; every key with the prefix sorts between the prefix
                // and the prefix followed by the largest character.
                select
                    .push(" AND row_key >= ")
                    .push_bind(prefix.as_str())
                    .push(" AND row_key < ")
                    .push_bind(format!("{prefix}\u{10FFFF}"));
            }
            for (column, list) in [("row_key", &query.keys), ("reference", &query.references)] {
                if let Some(list) = list {
                    if list.is_empty() {
                        return Ok(Vec::new());
                    }
                    <Db as KeyList>::push_key_list(&mut select, column, list);
                }
            }
            let (comparison, order) = if query.descending {
                ("<", "DESC")
            } else {
                (">", "ASC")
            };
            if let Some(after) = &query.after {
                select
                    .push(format_args!(" AND row_key {comparison} "))
                    .push_bind(after.as_str());
            }
            if !query.is_lookup() {
                select
                    .push(format_args!(" ORDER BY row_key {order}, block_num LIMIT "))
                    .push_bind(i64::from(query.limit));
            }
            select.build_query_as::<Row>().fetch_all(db).await?
        });
        let mut versions = rows
            .into_iter()
            .map(version_from_row)
            .collect::<Result<Vec<_>>>()?;
        if query.is_lookup() {
            // A lookup by keys or references is ordered here: with no order to keep, the
            // planner takes the list into the index instead of walking it in key order.
            versions.sort_by(|a, b| {
                let by_key = if query.descending {
                    b.key.cmp(&a.key)
                } else {
                    a.key.cmp(&b.key)
                };
                by_key.then(a.block_num.cmp(&b.block_num))
            });
            versions.truncate(usize::try_from(query.limit).unwrap_or(usize::MAX));
        }
        Ok(versions)
    }

    /// Every version of row `key` of `source`, oldest first.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn registry_history(
        &self,
        source: Source,
        key: &str,
    ) -> Result<Vec<RegistryVersion>> {
        let rows = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
                "{SELECT_ROW} WHERE source = $1 AND row_key = $2 ORDER BY block_num"
            )))
            .bind(source.as_str())
            .bind(key)
            .fetch_all(db)
            .await?
        });
        rows.into_iter().map(version_from_row).collect()
    }

    /// The row versions of `source` in `coopname` that block `block_num` opened or closed, by
    /// key then block: what that block changed, for the registries' subscribers.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn registry_changes_in_block(
        &self,
        source: Source,
        coopname: &str,
        block_num: u32,
    ) -> Result<Vec<RegistryVersion>> {
        let rows = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
                "{SELECT_ROW} WHERE source = $1 AND coopname = $2 \
                 AND (block_num = $3 OR valid_to_block = $3) ORDER BY row_key, block_num"
            )))
            .bind(source.as_str())
            .bind(coopname)
            .bind(i64::from(block_num))
            .fetch_all(db)
            .await?
        });
        rows.into_iter().map(version_from_row).collect()
    }

    /// Sums of `amount` per account over the rows of `source` in `coopname` in force at
    /// `block_num` with status `status`, by account.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn registry_amounts(
        &self,
        source: Source,
        coopname: &str,
        status: &str,
        block_num: u32,
    ) -> Result<Vec<(String, i64)>> {
        Ok(dispatch!(&self.pool, db, {
            sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(format!(
                "SELECT username, CAST(SUM(amount) AS BIGINT) FROM registry_rows \
                 WHERE source = $2 AND coopname = $3 AND status = $4 AND username IS NOT NULL \
                 AND amount IS NOT NULL AND {IN_FORCE} GROUP BY username ORDER BY username"
            )))
            .bind(i64::from(block_num))
            .bind(source.as_str())
            .bind(coopname)
            .bind(status)
            .fetch_all(db)
            .await?
        }))
    }

    /// Every stored registry row version up to block `up_to` (all when `None`), ordered by
    /// source, key and block; `valid_to_block` beyond `up_to` reads as `None`.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn registry_versions(&self, up_to: Option<u32>) -> Result<Vec<RegistryVersion>> {
        let limit = up_to.map_or(i64::MAX, i64::from);
        let rows = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
                "{SELECT_ROW} WHERE block_num <= $1 ORDER BY source, row_key, block_num"
            )))
            .bind(limit)
            .fetch_all(db)
            .await?
        });
        rows.into_iter()
            .map(|row| {
                version_from_row(row).map(|mut version| {
                    version.valid_to_block =
                        version.valid_to_block.filter(|to| i64::from(*to) <= limit);
                    version
                })
            })
            .collect()
    }

    /// Every registry row version in force at `block_num`, of every source and cooperative,
    /// ordered by source and key.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn registry_in_force(&self, block_num: u32) -> Result<Vec<RegistryVersion>> {
        let rows = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
                "{SELECT_ROW} WHERE {IN_FORCE} ORDER BY source, row_key"
            )))
            .bind(i64::from(block_num))
            .fetch_all(db)
            .await?
        });
        rows.into_iter().map(version_from_row).collect()
    }
}
