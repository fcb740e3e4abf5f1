//! The event store: chain events and the follower's cursor in PostgreSQL or SQLite.
//!
//! [`Store::open`] takes a database URL (`postgres://…`, `postgresql://…`, `sqlite://PATH`,
//! `sqlite::memory:`) and runs the embedded migrations of that backend
//! (`migrations/postgres`, `migrations/sqlite`). Both backends run the same SQL text; only the
//! migrations and the transaction start differ.
//!
//! Architecture invariant: this is the only module that knows SQL. Events are append-only; the
//! only deletions are [`Store::rollback_to`], which removes whole blocks above a fork point, and
//! [`Store::reset`], which removes every block and the cursor to rebuild from scratch. Registry
//! projections are written, rolled back and reset together with the events of their blocks.
//!
//! # Schema
//!
//! | table         | natural key                                           | holds                                      |
//! |---------------|-------------------------------------------------------|--------------------------------------------|
//! | `blocks`      | `block_num`                                           | `block_id`, `previous`, `timestamp_ms`     |
//! | `actions`     | `global_sequence`                                     | trace fields, `authorization`, `data`, `raw`, `abi_hash` |
//! | `deltas`      | `(code, scope, table_name, primary_key, block_num)`   | `present`, `payer`, `value`, `raw`, `abi_hash` |
//! | `abis`        | `(account, block_num)`                                | `abi_hash` (SHA-256 of `abi`), binary `abi`|
//! | `undecodable` | `(block_num, kind, locator)`                          | `raw` bytes and `reason`                   |
//! | `cursor`      | single row                                            | `block_num`, `block_id`, `lib`             |
//! | `private_records` | `(kind, record_key, version)`                     | `valid_from_block`, `valid_to_block`, `data` |
//! | `registry_rows` | `(source, row_key, block_num)`                      | `valid_to_block`, filter columns, `data` (see [`crate::registry::projection`]) |
//! | `registry_state` | single row                                         | the projection version that wrote `registry_rows` |
//! | `auth_challenges` | `challenge`                                       | `username`, `expires_at` (see [`sessions`]) |
//! | `refresh_tokens` | `token_hash` (SHA-256 of the token)                | `family`, `username`, expiry, `spent`, `revoked` |
//! | `key_resets`  | `token_hash` (SHA-256 of the token)                   | `username`, expiry, `used_at` (see [`key_resets`]) |
//! | `extensions`  | `name`                                                | `version`, `enabled`, `config` (see [`extensions`]) |
//! | `extension_migrations` | `(extension, version)`                       | the extensions' own migrations applied     |
//!
//! Ids and hashes are 32-byte blobs. `u64` keys (`global_sequence`, `primary_key`) are stored as
//! 64-bit integers with the top bit flipped (`value - 2^63`), a bijection that keeps the order.
//! JSON is stored as the exact compact text written (`json` in PostgreSQL, `TEXT` in SQLite).
//! Names compare bytewise on both backends (`COLLATE "C"` in PostgreSQL).
//! The ABI in force for an account at block N is its `abis` row with the greatest
//! `block_num <= N`.
//!
//! # Commit and cursor
//!
//! [`Store::commit_blocks`] writes the blocks, their events and the cursor in one transaction.
//! A block already stored with the same id is skipped, so a re-sent block is a no-op; a block
//! with another id at a stored height is a [`Error::BlockConflict`]; a new block must be the
//! cursor's successor and name the cursor's block as its `previous`.
//! [`Store::batches`] reads stored blocks back as the batches that committed them, which is how
//! export bundles carry a store to another database; [`Store::snapshot`] gives a read-only view
//! frozen at one moment, so an export reads one state while the instance keeps writing.
//!
//! # Events digest
//!
//! [`Store::events_digest`] is the lowercase hex SHA-256 of a canonical dump: one line per
//! event, fields separated by a tab, each line ended by `\n`, first all blocks by `block_num`,
//! then all actions by `global_sequence`, then all deltas by
//! `(code, scope, table_name, primary_key, block_num)` (names bytewise, numbers unsigned):
//!
//! ```text
//! B  block_num  block_id  previous  timestamp_ms
//! A  global_sequence  block_num  trx_id  action_ordinal  creator_action_ordinal  receiver  account  name  authorization  data  raw  abi_hash
//! D  code  scope  table_name  primary_key  block_num  present  payer  value  raw  abi_hash
//! ```
//!
//! Numbers are decimal, ids, hashes and raw bytes lowercase hex, `present` is `1` or `0`,
//! JSON is the stored compact text, and an absent value (`data`, `value`, `abi_hash`) is `-`.
//! With a block limit only events of blocks up to it are dumped, so two stores can be compared
//! at the same height whatever their backend.

mod account_keys;
mod codec;
mod extensions;
pub mod follower_lock;
mod insert;
mod key_list;
mod key_resets;
mod powerup;
mod private_import;
mod private_records;
mod qrpay;
mod records;
mod registry_relay;
mod registry_rows;
mod sessions;
mod snapshot;
mod usage;

pub use account_keys::KeyAction;
pub use extensions::{ExtensionMigration, InstalledExtension};
pub use key_resets::KeyReset;
pub use powerup::{POWERUP_MIGRATIONS, PowerupTopUp};
pub use private_import::PrivateImport;
pub use private_records::PrivateVersion;
pub use qrpay::{QRPAY_MIGRATIONS, QrpayIssued};
pub(crate) use records::hex32;
pub use records::{
    AbiRecord, AbiVersion, ActionRecord, BlockBatch, BlockRecord, Cursor, DeltaRecord, EventCounts,
    JsonText, Stored, UndecodableKind, UndecodableRecord,
};
pub use registry_rows::{RegistryVersion, RowQuery};
pub use sessions::{NewRefreshToken, RefreshTokenRow, Rotation};

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use tokio::sync::broadcast;

use crate::registry::projection::{self, Contracts, RegistryEvent};
use codec::{id_from_db, json_from_db, u32_from_db, u64_from_db, u64_to_db};

/// Result of store operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL names no supported backend.
    #[error(
        "unsupported database URL scheme {scheme:?}: expected postgres://, postgresql:// or sqlite:"
    )]
    UnsupportedUrl {
        /// Text before the first `:` (never the whole URL, which may hold a password).
        scheme: String,
    },
    /// The URL has a supported scheme but cannot be parsed.
    #[error("invalid database URL")]
    InvalidUrl {
        /// Parse failure.
        #[source]
        source: sqlx::Error,
    },
    /// The database could not be reached or opened.
    #[error("connecting to the database")]
    Connect {
        /// Connection failure.
        #[source]
        source: sqlx::Error,
    },
    /// The embedded migrations could not be applied.
    #[error("migrating the database schema")]
    Migration {
        /// Migration failure.
        #[source]
        source: MigrateError,
    },
    /// A block does not follow the cursor.
    #[error("block {got} does not follow the cursor: expected block {expected}")]
    OutOfOrder {
        /// The only new block number accepted next.
        expected: u32,
        /// The block number received.
        got: u32,
    },
    /// A block at a stored height has another id: the fork was not rolled back first.
    #[error("block {block_num} is stored with id {stored}, received id {got}")]
    BlockConflict {
        /// Height of the conflict.
        block_num: u32,
        /// Hex id stored.
        stored: String,
        /// Hex id received.
        got: String,
    },
    /// A new block does not extend the cursor's block.
    #[error("block {block_num} names previous {got}, but the cursor's block is {expected}")]
    BrokenChain {
        /// The new block.
        block_num: u32,
        /// Hex id of the cursor's block.
        expected: String,
        /// Hex previous id named by the new block.
        got: String,
    },
    /// An event's natural key is already stored or repeated inside the batch; nothing was written.
    #[error("an event's natural key is already stored or repeated in the batch")]
    DuplicateEvent {
        /// The unique violation.
        #[source]
        source: sqlx::Error,
    },
    /// A rollback target is above the cursor.
    #[error("cannot roll back to block {block_num}: the cursor is at block {cursor}")]
    RollbackAhead {
        /// Requested fork point.
        block_num: u32,
        /// Current cursor height.
        cursor: u32,
    },
    /// A rollback was requested on a store with no committed block.
    #[error("cannot roll back to block {block_num}: no block has been committed")]
    NothingCommitted {
        /// Requested fork point.
        block_num: u32,
    },
    /// The fork point is not a stored block with the given id.
    #[error("fork point block {block_num} with id {block_id} is not stored")]
    UnknownForkPoint {
        /// Requested fork point.
        block_num: u32,
        /// Hex id requested.
        block_id: String,
    },
    /// A stored number is out of range for its column.
    #[error("stored {column} value {stored} is out of range")]
    CorruptValue {
        /// Column read.
        column: &'static str,
        /// Value found.
        stored: i64,
    },
    /// A stored id does not have 32 bytes.
    #[error("stored {column} has {len} bytes, expected 32")]
    CorruptId {
        /// Column read.
        column: &'static str,
        /// Length found.
        len: usize,
    },
    /// A stored event belongs to a block that is not stored.
    #[error("an event of block {block_num} is stored, but the block is not")]
    OrphanEvent {
        /// The event's block.
        block_num: u32,
    },
    /// Stored JSON text does not parse.
    #[error("stored {column} is not valid JSON")]
    CorruptJson {
        /// Column read.
        column: &'static str,
        /// Parse failure.
        #[source]
        source: serde_json::Error,
    },
    /// A stored registry source is unknown.
    #[error("stored registry source {stored:?} is unknown")]
    CorruptSource {
        /// Text found.
        stored: String,
    },
    /// A stored undecodable-record kind is unknown.
    #[error("stored undecodable kind {kind:?} is unknown")]
    CorruptKind {
        /// Text found.
        kind: String,
    },
    /// A private record was written at a block before the start of its version in force.
    #[error(
        "{kind} {key:?} cannot change at block {block_num}: its current version starts at block {valid_from_block}"
    )]
    PrivateRecordBehind {
        /// The record's kind.
        kind: String,
        /// The record's key.
        key: String,
        /// The block of the refused change.
        block_num: u32,
        /// Where the version in force starts.
        valid_from_block: u32,
    },
    /// A versioned write found another version than the one it was based on.
    #[error("{kind} {key:?} is at version {found}, not {expected}: it changed meanwhile")]
    VersionConflict {
        /// The record's kind.
        kind: String,
        /// The record's key.
        key: String,
        /// The version the write was based on.
        expected: u64,
        /// The version found.
        found: u64,
    },
    /// An in-memory SQLite store cannot be read through a snapshot.
    #[error("an in-memory SQLite database cannot be read through a snapshot; use a file")]
    SnapshotInMemory,
    /// Any other database failure.
    #[error("database operation failed")]
    Database {
        /// Driver or server failure.
        #[source]
        source: sqlx::Error,
    },
}

impl From<sqlx::Error> for Error {
    fn from(source: sqlx::Error) -> Self {
        let unique = source
            .as_database_error()
            .is_some_and(|db_error| db_error.is_unique_violation());
        if unique {
            Self::DuplicateEvent { source }
        } else {
            Self::Database { source }
        }
    }
}

impl From<MigrateError> for Error {
    fn from(source: MigrateError) -> Self {
        Self::Migration { source }
    }
}

/// Handle to one cooperative's event store; cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    /// The contracts whose rows the registry projections read.
    contracts: Contracts,
    /// Tells subscribers what each commit and rollback changed in the registries.
    registry_events: broadcast::Sender<RegistryEvent>,
}

/// Registry events kept for a subscriber that has not read them yet; a slower subscriber
/// learns that it lagged and reads the registries afresh.
const REGISTRY_EVENTS_BUFFER: usize = 4_096;

#[derive(Clone, Debug)]
enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");
static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// Rows per page when the digest walks a table.
const DIGEST_PAGE_ROWS: usize = 5_000;
const DIGEST_PAGE: i64 = DIGEST_PAGE_ROWS as i64;

/// Statements removing every event above a fork point (`$1`), run by [`Store::rollback_to`].
/// Every table whose rows belong to a block is listed here.
const ROLLBACK_STATEMENTS: [&str; 6] = [
    "DELETE FROM actions WHERE block_num > $1",
    "DELETE FROM deltas WHERE block_num > $1",
    // The row versions the removed blocks had replaced are the latest again.
    "UPDATE deltas SET valid_to_block = NULL WHERE valid_to_block > $1",
    "DELETE FROM abis WHERE block_num > $1",
    "DELETE FROM undecodable WHERE block_num > $1",
    "DELETE FROM blocks WHERE block_num > $1",
];

/// Counts the row versions whose `valid_to_block` is not the block of the row's next version.
const COUNT_WRONG_ROW_VERSIONS: &str = "SELECT COUNT(*) FROM (SELECT valid_to_block, \
     LEAD(block_num) OVER (PARTITION BY code, scope, table_name, primary_key \
     ORDER BY block_num) AS next_block FROM deltas) AS versions \
     WHERE valid_to_block IS DISTINCT FROM next_block";

/// The columns of a row version, as [`DeltaRow`] reads them.
const SELECT_DELTA_COLUMNS: &str = "SELECT code, scope, table_name, primary_key, block_num, \
     present, payer, CAST(value AS TEXT), raw, abi_hash FROM deltas";

/// The row versions in force at block `$4` that left their row present.
const AS_OF_BLOCK: &str = "block_num <= $4 AND (valid_to_block IS NULL OR valid_to_block > $4) \
     AND present";

/// Statements removing every chain event and the cursor, run by [`Store::reset`].
/// Every table written by [`Store::commit_blocks`] is listed here.
const RESET_STATEMENTS: [&str; 7] = [
    "DELETE FROM registry_rows",
    "DELETE FROM actions",
    "DELETE FROM deltas",
    "DELETE FROM abis",
    "DELETE FROM undecodable",
    "DELETE FROM blocks",
    "DELETE FROM cursor",
];

const SELECT_CURSOR: &str = "SELECT block_num, block_id, lib FROM cursor WHERE id = 1";

const UPSERT_CURSOR: &str = "INSERT INTO cursor (id, block_num, block_id, lib) VALUES (1, $1, $2, $3) \
     ON CONFLICT (id) DO UPDATE SET block_num = excluded.block_num, \
     block_id = excluded.block_id, lib = excluded.lib";

const SELECT_ACTION_COLUMNS: &str = "SELECT global_sequence, block_num, trx_id, action_ordinal, \
     creator_action_ordinal, receiver, account, name, CAST(\"authorization\" AS TEXT), \
     CAST(data AS TEXT), raw, abi_hash FROM actions";

/// Runs `$body` with `$db` bound to the backend's pool, once per backend, so the body (its SQL
/// included) is written once. Inside the body, `Db` names the backend and `BEGIN_WRITE` is the
/// statement opening a write transaction (`BEGIN IMMEDIATE` takes SQLite's write lock up front,
/// so a concurrent writer waits for the busy timeout instead of failing on lock upgrade),
/// `LOCK_CURSOR` the statement that keeps the cursor from moving until the transaction ends
/// (none on SQLite, whose write transactions already exclude each other),
/// `insert_events` is the backend's bulk insert (see [`insert`]) and `write_projections` writes
/// registry changes (see [`registry_rows`]).
macro_rules! dispatch {
    ($pool:expr, $db:ident, $body:block) => {
        match $pool {
            $crate::store::Pool::Postgres($db) => {
                #[allow(dead_code, reason = "not every body names the backend")]
                type Db = sqlx::Postgres;
                #[allow(dead_code, reason = "only writing bodies open a transaction")]
                const BEGIN_WRITE: &str = "BEGIN";
                // SHARE conflicts with the ROW EXCLUSIVE lock of every write to the cursor,
                // not with itself, so such writers wait only for commits of blocks.
                #[allow(dead_code, reason = "only writes as of the cursor lock it")]
                const LOCK_CURSOR: Option<&str> = Some("LOCK TABLE cursor IN SHARE MODE");
                #[allow(unused_imports, reason = "only committing bodies insert events")]
                use $crate::store::insert::postgres as insert_events;
                #[allow(unused_imports, reason = "only committing bodies write projections")]
                use $crate::store::registry_rows::write_postgres as write_projections;
                $body
            }
            $crate::store::Pool::Sqlite($db) => {
                #[allow(dead_code, reason = "not every body names the backend")]
                type Db = sqlx::Sqlite;
                #[allow(dead_code, reason = "only writing bodies open a transaction")]
                const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
                #[allow(dead_code, reason = "only writes as of the cursor lock it")]
                const LOCK_CURSOR: Option<&str> = None;
                #[allow(unused_imports, reason = "only committing bodies insert events")]
                use $crate::store::insert::sqlite as insert_events;
                #[allow(unused_imports, reason = "only committing bodies write projections")]
                use $crate::store::registry_rows::write_sqlite as write_projections;
                $body
            }
        }
    };
}

pub(crate) use dispatch;

type CursorRow = (i64, Vec<u8>, i64);
type BlockRow = (i64, Vec<u8>, Vec<u8>, i64);
type ActionRow = (
    i64,
    i64,
    Vec<u8>,
    i64,
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Vec<u8>,
    Option<Vec<u8>>,
);
type DeltaRow = (
    String,
    String,
    String,
    i64,
    i64,
    bool,
    String,
    Option<String>,
    Vec<u8>,
    Option<Vec<u8>>,
);

impl Store {
    /// Opens the store at `url` and applies the backend's pending migrations.
    ///
    /// A SQLite file is created when missing and opened in WAL mode with foreign keys on and a
    /// busy timeout; `sqlite::memory:` opens a private in-memory database on one connection.
    ///
    /// # Errors
    /// [`Error::UnsupportedUrl`] or [`Error::InvalidUrl`] for a bad URL, [`Error::Connect`] when
    /// the database cannot be reached, [`Error::Migration`] when the schema cannot be migrated.
    pub async fn open(url: &str) -> Result<Self> {
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options =
                PgConnectOptions::from_str(url).map_err(|source| Error::InvalidUrl { source })?;
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await
                .map_err(|source| Error::Connect { source })?;
            POSTGRES_MIGRATOR.run(&pool).await?;
            Pool::Postgres(pool)
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|source| Error::InvalidUrl { source })?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30));
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let pool_options = if in_memory {
                // An in-memory database lives as long as its connection: keep exactly one.
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
            } else {
                SqlitePoolOptions::new().max_connections(4)
            };
            let pool = connect_sqlite(&pool_options, &options).await?;
            migrate_sqlite(&pool).await?;
            Pool::Sqlite(pool)
        } else {
            let scheme = url.split(':').next().unwrap_or_default().to_owned();
            return Err(Error::UnsupportedUrl { scheme });
        };
        let store = Self {
            pool,
            contracts: Contracts::default(),
            registry_events: broadcast::channel(REGISTRY_EVENTS_BUFFER).0,
        };
        store.ensure_projections().await?;
        Ok(store)
    }

    /// Gathers the planner's statistics now, after a bulk load (an import, a projection
    /// rebuild), instead of leaving the first queries to plans made for an empty table until
    /// autovacuum gets to it.
    ///
    /// PostgreSQL analyzes every table; SQLite plans these queries from its indexes alone and
    /// keeps no statistics to refresh.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn refresh_statistics(&self) -> Result<()> {
        if let Pool::Postgres(db) = &self.pool {
            sqlx::query("ANALYZE").execute(db).await?;
        }
        Ok(())
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        dispatch!(&self.pool, db, { db.close().await })
    }

    /// The last committed block, `None` before the first commit.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant when the stored row is out of range.
    pub async fn cursor(&self) -> Result<Option<Cursor>> {
        let row = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, CursorRow>(SELECT_CURSOR)
                .fetch_optional(db)
                .await?
        });
        row.map(cursor_from_row).transpose()
    }

    /// Commits one block with its events and moves the cursor to it, atomically.
    ///
    /// # Errors
    /// As [`Store::commit_blocks`].
    pub async fn commit_block(&self, batch: &BlockBatch) -> Result<()> {
        self.commit_blocks(std::slice::from_ref(batch)).await
    }

    /// Commits consecutive blocks with their events in one transaction; the cursor ends on the
    /// last block. Leading blocks already stored with the same id are skipped.
    ///
    /// # Errors
    /// [`Error::OutOfOrder`] when a new block is not the cursor's successor,
    /// [`Error::BrokenChain`] when its `previous` is not the cursor's block,
    /// [`Error::BlockConflict`] when a stored height has another id, [`Error::DuplicateEvent`]
    /// when an event key repeats. On any error nothing is written.
    pub async fn commit_blocks(&self, batches: &[BlockBatch]) -> Result<()> {
        let (Some(first), Some(last)) = (batches.first(), batches.last()) else {
            return Ok(());
        };
        dispatch!(&self.pool, db, {
            let mut tx = db.begin_with(BEGIN_WRITE).await?;
            let cursor = sqlx::query_as::<_, CursorRow>(SELECT_CURSOR)
                .fetch_optional(&mut *tx)
                .await?
                .map(cursor_from_row)
                .transpose()?;
            let mut stored_ids = HashMap::new();
            if let Some(cursor) = cursor.filter(|c| first.block.block_num <= c.block_num) {
                let rows = sqlx::query_as::<_, (i64, Vec<u8>)>(
                    "SELECT block_num, block_id FROM blocks WHERE block_num >= $1 AND block_num <= $2",
                )
                .bind(i64::from(first.block.block_num))
                .bind(i64::from(cursor.block_num.min(last.block.block_num)))
                .fetch_all(&mut *tx)
                .await?;
                for (block_num, block_id) in rows {
                    stored_ids.insert(
                        u32_from_db("block_num", block_num)?,
                        id_from_db("block_id", &block_id)?,
                    );
                }
            }
            let new = new_blocks(cursor, &stored_ids, batches)?;
            let Some(head) = new.last() else {
                return Ok(());
            };

            insert_events(&mut tx, new).await?;
            let changes = registry_rows::project_batches(&self.contracts, new);
            write_projections(&mut tx, &changes).await?;

            sqlx::query(UPSERT_CURSOR)
                .bind(i64::from(head.block.block_num))
                .bind(&head.block.block_id[..])
                .bind(i64::from(head.lib))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            let blocks: Vec<u32> = new.iter().map(|batch| batch.block.block_num).collect();
            for event in projection::events(&blocks, &changes) {
                // No subscriber is not an error.
                let _ = self.registry_events.send(event);
            }
        });
        Ok(())
    }

    /// Subscribes to what each later commit and rollback changes in the registries, sent once
    /// the transaction is committed.
    pub fn subscribe_registry(&self) -> broadcast::Receiver<RegistryEvent> {
        self.registry_events.subscribe()
    }

    /// Removes every event of the blocks after `block_num` and moves the cursor back to it, in
    /// one transaction. `block_id` must be the stored id of that block (the fork point). The
    /// cursor's LIB is lowered to `block_num` if it was above.
    ///
    /// # Errors
    /// [`Error::NothingCommitted`] on an empty store, [`Error::RollbackAhead`] when `block_num`
    /// is above the cursor, [`Error::UnknownForkPoint`] when no stored block has that number and id.
    pub async fn rollback_to(&self, block_num: u32, block_id: &[u8; 32]) -> Result<()> {
        dispatch!(&self.pool, db, {
            let mut tx = db.begin_with(BEGIN_WRITE).await?;
            let cursor = sqlx::query_as::<_, CursorRow>(SELECT_CURSOR)
                .fetch_optional(&mut *tx)
                .await?
                .map(cursor_from_row)
                .transpose()?
                .ok_or(Error::NothingCommitted { block_num })?;
            if block_num > cursor.block_num {
                return Err(Error::RollbackAhead {
                    block_num,
                    cursor: cursor.block_num,
                });
            }
            let stored: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT block_id FROM blocks WHERE block_num = $1")
                    .bind(i64::from(block_num))
                    .fetch_optional(&mut *tx)
                    .await?;
            if stored.as_deref() != Some(&block_id[..]) {
                return Err(Error::UnknownForkPoint {
                    block_num,
                    block_id: hex::encode(block_id),
                });
            }
            for statement in ROLLBACK_STATEMENTS
                .iter()
                .chain(&registry_rows::ROLLBACK_STATEMENTS)
                .copied()
            {
                sqlx::query(statement)
                    .bind(i64::from(block_num))
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(UPSERT_CURSOR)
                .bind(i64::from(block_num))
                .bind(&block_id[..])
                .bind(i64::from(cursor.lib.min(block_num)))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        let _ = self
            .registry_events
            .send(RegistryEvent::RolledBack { block_num });
        Ok(())
    }

    /// Removes every stored block, event, ABI version, undecodable record, registry projection
    /// and the cursor in one transaction, so following starts again from an empty store.
    /// Private data is not touched.
    ///
    /// # Errors
    /// [`Error::Database`]; on error nothing is removed.
    pub async fn reset(&self) -> Result<()> {
        dispatch!(&self.pool, db, {
            let mut tx = db.begin_with(BEGIN_WRITE).await?;
            for statement in RESET_STATEMENTS {
                sqlx::query(statement).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        let _ = self
            .registry_events
            .send(RegistryEvent::RolledBack { block_num: 0 });
        Ok(())
    }

    /// The ABI in force for `account` at `block_num`: the latest one set at or before it.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn abi_at(&self, account: &str, block_num: u32) -> Result<Option<AbiVersion>> {
        let row = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, (String, i64, Vec<u8>, Vec<u8>)>(
                "SELECT account, block_num, abi_hash, abi FROM abis \
                 WHERE account = $1 AND block_num <= $2 ORDER BY block_num DESC LIMIT 1",
            )
            .bind(account)
            .bind(i64::from(block_num))
            .fetch_optional(db)
            .await?
        });
        row.map(|(account, block_num, abi_hash, abi)| {
            Ok(AbiVersion {
                account,
                block_num: u32_from_db("block_num", block_num)?,
                abi_hash: id_from_db("abi_hash", &abi_hash)?,
                abi,
            })
        })
        .transpose()
    }

    /// Number of the lowest stored block, `None` when no block is stored.
    ///
    /// # Errors
    /// [`Error::Database`] or [`Error::CorruptValue`].
    pub async fn first_block_num(&self) -> Result<Option<u32>> {
        let first: Option<i64> = dispatch!(&self.pool, db, {
            sqlx::query_scalar("SELECT MIN(block_num) FROM blocks")
                .fetch_one(db)
                .await?
        });
        first
            .map(|block_num| u32_from_db("block_num", block_num))
            .transpose()
    }

    /// The stored header of `block_num`.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn block(&self, block_num: u32) -> Result<Option<BlockRecord>> {
        let row = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, BlockRow>(
                "SELECT block_num, block_id, previous, timestamp_ms FROM blocks \
                 WHERE block_num = $1",
            )
            .bind(i64::from(block_num))
            .fetch_optional(db)
            .await?
        });
        row.map(block_from_row).transpose()
    }

    /// The stored action with `global_sequence`.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn action(&self, global_sequence: u64) -> Result<Option<Stored<ActionRecord>>> {
        let row = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, ActionRow>(sqlx::AssertSqlSafe(format!(
                "{SELECT_ACTION_COLUMNS} WHERE global_sequence = $1"
            )))
            .bind(u64_to_db(global_sequence))
            .fetch_optional(db)
            .await?
        });
        row.map(action_from_row).transpose()
    }

    /// Undecodable records of `block_num`, ordered by kind and locator.
    ///
    /// # Errors
    /// [`Error::Database`] or [`Error::CorruptKind`].
    pub async fn undecodable_in_block(&self, block_num: u32) -> Result<Vec<UndecodableRecord>> {
        let rows = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, (String, String, Vec<u8>, String)>(
                "SELECT kind, locator, raw, reason FROM undecodable WHERE block_num = $1 \
                 ORDER BY kind, locator",
            )
            .bind(i64::from(block_num))
            .fetch_all(db)
            .await?
        });
        rows.into_iter().map(undecodable_from_row).collect()
    }

    /// The stored blocks `from..=to` with all their events, as the batches that committed
    /// them; each batch's `lib` is the cursor's LIB, capped at its block. Actions come in
    /// `global_sequence` order; deltas, ABIs and undecodable records in key order.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn batches(&self, from: u32, to: u32) -> Result<Vec<BlockBatch>> {
        let lib = self.cursor().await?.map_or(0, |cursor| cursor.lib);
        let (from, to) = (i64::from(from), i64::from(to));
        let (blocks, actions, deltas, abis, undecodable) = dispatch!(&self.pool, db, {
            let blocks = sqlx::query_as::<_, BlockRow>(
                "SELECT block_num, block_id, previous, timestamp_ms FROM blocks \
                 WHERE block_num >= $1 AND block_num <= $2 ORDER BY block_num",
            )
            .bind(from)
            .bind(to)
            .fetch_all(db)
            .await?;
            let actions = sqlx::query_as::<_, ActionRow>(sqlx::AssertSqlSafe(format!(
                "{SELECT_ACTION_COLUMNS} WHERE block_num >= $1 AND block_num <= $2 \
                 ORDER BY global_sequence"
            )))
            .bind(from)
            .bind(to)
            .fetch_all(db)
            .await?;
            let deltas = sqlx::query_as::<_, DeltaRow>(
                "SELECT code, scope, table_name, primary_key, block_num, present, payer, \
                 CAST(value AS TEXT), raw, abi_hash FROM deltas \
                 WHERE block_num >= $1 AND block_num <= $2 \
                 ORDER BY block_num, code, scope, table_name, primary_key",
            )
            .bind(from)
            .bind(to)
            .fetch_all(db)
            .await?;
            let abis = sqlx::query_as::<_, (i64, String, Vec<u8>)>(
                "SELECT block_num, account, abi FROM abis \
                 WHERE block_num >= $1 AND block_num <= $2 ORDER BY block_num, account",
            )
            .bind(from)
            .bind(to)
            .fetch_all(db)
            .await?;
            let undecodable = sqlx::query_as::<_, (i64, String, String, Vec<u8>, String)>(
                "SELECT block_num, kind, locator, raw, reason FROM undecodable \
                 WHERE block_num >= $1 AND block_num <= $2 ORDER BY block_num, kind, locator",
            )
            .bind(from)
            .bind(to)
            .fetch_all(db)
            .await?;
            (blocks, actions, deltas, abis, undecodable)
        });

        let mut batches = Vec::with_capacity(blocks.len());
        let mut index = HashMap::with_capacity(blocks.len());
        for row in blocks {
            let block = block_from_row(row)?;
            index.insert(block.block_num, batches.len());
            let lib = lib.min(block.block_num);
            batches.push(BlockBatch::new(block, lib));
        }
        let batch_of = |block_num: u32| {
            index
                .get(&block_num)
                .copied()
                .ok_or(Error::OrphanEvent { block_num })
        };
        for row in actions {
            let action = action_from_row(row)?;
            let at = batch_of(action.block_num)?;
            batches[at].actions.push(action.record);
        }
        for row in deltas {
            let delta = delta_from_row(row)?;
            let at = batch_of(delta.block_num)?;
            batches[at].deltas.push(delta.record);
        }
        for (block_num, account, abi) in abis {
            let at = batch_of(u32_from_db("block_num", block_num)?)?;
            batches[at].abis.push(AbiRecord { account, abi });
        }
        for (block_num, kind, locator, raw, reason) in undecodable {
            let at = batch_of(u32_from_db("block_num", block_num)?)?;
            batches[at]
                .undecodable
                .push(undecodable_from_row((kind, locator, raw, reason))?);
        }
        Ok(batches)
    }

    /// Rows of table `(code, scope, table_name)` as of `block_num`: the row versions stored
    /// at or before that block and not yet replaced at it, that left the row present. Ordered
    /// by primary key (unsigned).
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn table_rows_at(
        &self,
        code: &str,
        scope: &str,
        table_name: &str,
        block_num: u32,
    ) -> Result<Vec<Stored<DeltaRecord>>> {
        let rows = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, DeltaRow>(sqlx::AssertSqlSafe(format!(
                "{SELECT_DELTA_COLUMNS} WHERE code = $1 AND scope = $2 AND table_name = $3 \
                 AND {AS_OF_BLOCK} ORDER BY primary_key"
            )))
            .bind(code)
            .bind(scope)
            .bind(table_name)
            .bind(i64::from(block_num))
            .fetch_all(db)
            .await?
        });
        rows.into_iter().map(delta_from_row).collect()
    }

    /// Row `primary_key` of table `(code, scope, table_name)` as of `block_num`, when it was
    /// present then.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn table_row_at(
        &self,
        code: &str,
        scope: &str,
        table_name: &str,
        primary_key: u64,
        block_num: u32,
    ) -> Result<Option<Stored<DeltaRecord>>> {
        let row = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, DeltaRow>(sqlx::AssertSqlSafe(format!(
                "{SELECT_DELTA_COLUMNS} WHERE code = $1 AND scope = $2 AND table_name = $3 \
                 AND primary_key = $5 AND {AS_OF_BLOCK}"
            )))
            .bind(code)
            .bind(scope)
            .bind(table_name)
            .bind(i64::from(block_num))
            .bind(u64_to_db(primary_key))
            .fetch_optional(db)
            .await?
        });
        row.map(delta_from_row).transpose()
    }

    /// How many stored row versions have a `valid_to_block` other than the block of their
    /// row's next version: 0 in a consistent store, whatever stopped it.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn wrong_row_versions(&self) -> Result<u64> {
        let wrong: i64 = dispatch!(&self.pool, db, {
            sqlx::query_scalar(COUNT_WRONG_ROW_VERSIONS)
                .fetch_one(db)
                .await?
        });
        u64::try_from(wrong).map_err(|_| Error::CorruptValue {
            column: "count",
            stored: wrong,
        })
    }

    /// Numbers of stored blocks, actions, deltas, ABI versions and undecodable records, all or
    /// only up to block `up_to`.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn counts(&self, up_to: Option<u32>) -> Result<EventCounts> {
        let limit = up_to.map_or(i64::MAX, i64::from);
        let (blocks, actions, deltas, abis, undecodable) = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, (i64, i64, i64, i64, i64)>(
                "SELECT (SELECT COUNT(*) FROM blocks WHERE block_num <= $1), \
                 (SELECT COUNT(*) FROM actions WHERE block_num <= $1), \
                 (SELECT COUNT(*) FROM deltas WHERE block_num <= $1), \
                 (SELECT COUNT(*) FROM abis WHERE block_num <= $1), \
                 (SELECT COUNT(*) FROM undecodable WHERE block_num <= $1)",
            )
            .bind(limit)
            .fetch_one(db)
            .await?
        });
        let count = |column, stored: i64| {
            u64::try_from(stored).map_err(|_| Error::CorruptValue { column, stored })
        };
        Ok(EventCounts {
            blocks: count("blocks", blocks)?,
            actions: count("actions", actions)?,
            deltas: count("deltas", deltas)?,
            abis: count("abis", abis)?,
            undecodable: count("undecodable", undecodable)?,
        })
    }

    /// Lowercase hex SHA-256 of the canonical dump of blocks, actions and deltas (see the
    /// module documentation), all or only up to block `up_to`. Equal events give equal
    /// digests on both backends.
    ///
    /// # Errors
    /// [`Error::Database`] or a `Corrupt…` variant.
    pub async fn events_digest(&self, up_to: Option<u32>) -> Result<String> {
        let limit = up_to.map_or(i64::MAX, i64::from);
        let mut hasher = Sha256::new();
        dispatch!(&self.pool, db, {
            // Keyset pagination: each page starts at the smallest key after the previous page.
            let mut from = Some(0);
            while let Some(start) = from {
                let page = sqlx::query_as::<_, BlockRow>(
                    "SELECT block_num, block_id, previous, timestamp_ms FROM blocks \
                     WHERE block_num >= $1 AND block_num <= $2 ORDER BY block_num LIMIT $3",
                )
                .bind(start)
                .bind(limit)
                .bind(DIGEST_PAGE)
                .fetch_all(db)
                .await?;
                from = next_page_start(&page, |row| row.0);
                for row in page {
                    hasher.update(block_line(&block_from_row(row)?));
                }
            }

            let mut from = Some(i64::MIN);
            while let Some(start) = from {
                let page = sqlx::query_as::<_, ActionRow>(sqlx::AssertSqlSafe(format!(
                    "{SELECT_ACTION_COLUMNS} WHERE global_sequence >= $1 AND block_num <= $2 \
                     ORDER BY global_sequence LIMIT $3"
                )))
                .bind(start)
                .bind(limit)
                .bind(DIGEST_PAGE)
                .fetch_all(db)
                .await?;
                from = next_page_start(&page, |row| row.0);
                for row in page {
                    hasher.update(action_line(&action_from_row(row)?));
                }
            }

            // No delta has this key (block numbers are never negative), so `>` it starts at the
            // first delta.
            let mut after = Some((
                String::new(),
                String::new(),
                String::new(),
                i64::MIN,
                i64::MIN,
            ));
            while let Some(key) = after {
                let page = sqlx::query_as::<_, DeltaRow>(
                    "SELECT code, scope, table_name, primary_key, block_num, present, payer, \
                     CAST(value AS TEXT), raw, abi_hash FROM deltas \
                     WHERE (code, scope, table_name, primary_key, block_num) \
                     > ($1, $2, $3, $4, $5) AND block_num <= $6 \
                     ORDER BY code, scope, table_name, primary_key, block_num LIMIT $7",
                )
                .bind(key.0)
                .bind(key.1)
                .bind(key.2)
                .bind(key.3)
                .bind(key.4)
                .bind(limit)
                .bind(DIGEST_PAGE)
                .fetch_all(db)
                .await?;
                after = match page.last() {
                    Some(row) if page.len() == DIGEST_PAGE_ROWS => {
                        Some((row.0.clone(), row.1.clone(), row.2.clone(), row.3, row.4))
                    }
                    _ => None,
                };
                for row in page {
                    hasher.update(delta_line(&delta_from_row(row)?));
                }
            }
        });
        Ok(hex::encode(hasher.finalize()))
    }
}

/// Runs the SQLite migrations. SQLite has no advisory lock, so two processes opening a new
/// file at once may both apply a migration; the later one fails on the tables the earlier one
/// created, after waiting for its commit. Running the migrator again then finds that migration
/// applied, so each failed run gets at least one migration further: one run per migration,
/// plus the first, is enough however the two interleave.
/// Attempts at opening an SQLite database another connection is setting up.
const SQLITE_CONNECT_ATTEMPTS: u32 = 10;

/// Connects, again after a pause while SQLite answers "database is locked": two processes
/// opening a new file at once both switch it to WAL, and SQLite refuses one of them at once
/// rather than waiting out its busy timeout.
async fn connect_sqlite(
    pool_options: &SqlitePoolOptions,
    options: &SqliteConnectOptions,
) -> Result<SqlitePool> {
    let mut attempt = 1;
    loop {
        match pool_options.clone().connect_with(options.clone()).await {
            Ok(pool) => return Ok(pool),
            Err(sqlx::Error::Database(err))
                if attempt < SQLITE_CONNECT_ATTEMPTS && err.code().as_deref() == Some("5") =>
            {
                tracing::debug!(attempt, "SQLite database locked while connecting, retrying");
                tokio::time::sleep(Duration::from_millis(50) * attempt).await;
                attempt += 1;
            }
            Err(source) => return Err(Error::Connect { source }),
        }
    }
}

async fn migrate_sqlite(pool: &SqlitePool) -> Result<()> {
    let attempts = SQLITE_MIGRATOR.iter().count() + 1;
    let mut attempt = 1;
    loop {
        match SQLITE_MIGRATOR.run(pool).await {
            Ok(()) => return Ok(()),
            Err(err) if attempt < attempts => {
                tracing::debug!(attempt, error = %err, "SQLite migration raced, retrying");
                attempt += 1;
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// The batches to write: leading batches already stored with the same id are skipped; every
/// other batch must extend the previous one, starting from the cursor.
fn new_blocks<'a>(
    cursor: Option<Cursor>,
    stored_ids: &HashMap<u32, [u8; 32]>,
    batches: &'a [BlockBatch],
) -> Result<&'a [BlockBatch]> {
    let mut first_new = batches.len();
    for (idx, batch) in batches.iter().enumerate() {
        let block_num = batch.block.block_num;
        match cursor {
            Some(cursor) if block_num <= cursor.block_num => {
                let stored = stored_ids.get(&block_num).ok_or(Error::OutOfOrder {
                    expected: cursor.block_num.saturating_add(1),
                    got: block_num,
                })?;
                if stored != &batch.block.block_id {
                    return Err(Error::BlockConflict {
                        block_num,
                        stored: hex::encode(stored),
                        got: hex::encode(batch.block.block_id),
                    });
                }
            }
            _ => {
                first_new = idx;
                break;
            }
        }
    }
    let new = &batches[first_new..];
    let mut head = cursor.map(|cursor| (cursor.block_num, cursor.block_id));
    for batch in new {
        let block = &batch.block;
        if let Some((head_num, head_id)) = head {
            let expected = head_num.saturating_add(1);
            if block.block_num != expected {
                return Err(Error::OutOfOrder {
                    expected,
                    got: block.block_num,
                });
            }
            if block.previous != head_id {
                return Err(Error::BrokenChain {
                    block_num: block.block_num,
                    expected: hex::encode(head_id),
                    got: hex::encode(block.previous),
                });
            }
        }
        head = Some((block.block_num, block.block_id));
    }
    Ok(new)
}

fn cursor_from_row((block_num, block_id, lib): CursorRow) -> Result<Cursor> {
    Ok(Cursor {
        block_num: u32_from_db("cursor.block_num", block_num)?,
        block_id: id_from_db("cursor.block_id", &block_id)?,
        lib: u32_from_db("cursor.lib", lib)?,
    })
}

fn block_from_row((block_num, block_id, previous, timestamp_ms): BlockRow) -> Result<BlockRecord> {
    Ok(BlockRecord {
        block_num: u32_from_db("block_num", block_num)?,
        block_id: id_from_db("block_id", &block_id)?,
        previous: id_from_db("previous", &previous)?,
        timestamp_ms,
    })
}

fn action_from_row(row: ActionRow) -> Result<Stored<ActionRecord>> {
    let (global_sequence, block_num, trx_id, action_ordinal, creator_action_ordinal) =
        (row.0, row.1, row.2, row.3, row.4);
    let (receiver, account, name, authorization, data, raw, abi_hash) =
        (row.5, row.6, row.7, row.8, row.9, row.10, row.11);
    Ok(Stored {
        block_num: u32_from_db("block_num", block_num)?,
        record: ActionRecord {
            global_sequence: u64_from_db(global_sequence),
            trx_id: id_from_db("trx_id", &trx_id)?,
            action_ordinal: u32_from_db("action_ordinal", action_ordinal)?,
            creator_action_ordinal: u32_from_db("creator_action_ordinal", creator_action_ordinal)?,
            receiver,
            account,
            name,
            authorization: JsonText::parse(authorization).map_err(|source| Error::CorruptJson {
                column: "authorization",
                source,
            })?,
            data: json_from_db("data", data)?,
            raw,
            abi_hash: abi_hash
                .map(|hash| id_from_db("abi_hash", &hash))
                .transpose()?,
        },
    })
}

fn undecodable_from_row(
    (kind, locator, raw, reason): (String, String, Vec<u8>, String),
) -> Result<UndecodableRecord> {
    Ok(UndecodableRecord {
        kind: UndecodableKind::from_stored(&kind).ok_or(Error::CorruptKind { kind })?,
        locator,
        raw,
        reason,
    })
}

fn delta_from_row(row: DeltaRow) -> Result<Stored<DeltaRecord>> {
    let (code, scope, table_name, primary_key, block_num, present, payer, value, raw, abi_hash) =
        row;
    Ok(Stored {
        block_num: u32_from_db("block_num", block_num)?,
        record: DeltaRecord {
            code,
            scope,
            table_name,
            primary_key: u64_from_db(primary_key),
            present,
            payer,
            value: json_from_db("value", value)?,
            raw,
            abi_hash: abi_hash
                .map(|hash| id_from_db("abi_hash", &hash))
                .transpose()?,
        },
    })
}

/// Start of the page after `page`, `None` when `page` was the last one.
fn next_page_start<T>(page: &[T], key: impl Fn(&T) -> i64) -> Option<i64> {
    if page.len() < DIGEST_PAGE_ROWS {
        return None;
    }
    page.last().and_then(|row| key(row).checked_add(1))
}

/// Canonical text of an optional JSON value: its compact text, or `-`.
fn json_field(value: Option<&JsonText>) -> &str {
    value.map_or("-", JsonText::as_str)
}

/// Canonical text of an optional hash: lowercase hex, or `-`.
fn hash_field(hash: Option<&[u8; 32]>) -> String {
    hash.map_or_else(|| "-".to_owned(), hex::encode)
}

fn block_line(block: &BlockRecord) -> String {
    format!(
        "B\t{}\t{}\t{}\t{}\n",
        block.block_num,
        hex::encode(block.block_id),
        hex::encode(block.previous),
        block.timestamp_ms
    )
}

fn action_line(action: &Stored<ActionRecord>) -> String {
    let record = &action.record;
    format!(
        "A\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
        record.global_sequence,
        action.block_num,
        hex::encode(record.trx_id),
        record.action_ordinal,
        record.creator_action_ordinal,
        record.receiver,
        record.account,
        record.name,
        record.authorization,
        json_field(record.data.as_ref()),
        hex::encode(&record.raw),
        hash_field(record.abi_hash.as_ref())
    )
}

fn delta_line(delta: &Stored<DeltaRecord>) -> String {
    let record = &delta.record;
    format!(
        "D\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
        record.code,
        record.scope,
        record.table_name,
        record.primary_key,
        delta.block_num,
        u8::from(record.present),
        record.payer,
        json_field(record.value.as_ref()),
        hex::encode(&record.raw),
        hash_field(record.abi_hash.as_ref())
    )
}
