//! A read-only view of the store frozen at one moment, so an export reads one consistent state
//! while the follower and the API keep writing.
//!
//! The view is a [`Store`] whose pool holds one connection inside one read transaction:
//! `REPEATABLE READ READ ONLY` on PostgreSQL, a read transaction on SQLite (whose WAL journal
//! lets writers go on meanwhile). Every read method of [`Store`] works on it unchanged (the
//! registry digest included), and every one sees the state of the moment the view was taken;
//! writes fail. Should its connection ever close, no new one is opened, since it would see
//! another state: the reads fail instead.
//!
//! A long-lived view holds back PostgreSQL's vacuum and SQLite's WAL checkpoints until it is
//! closed, so a view lives only as long as one export.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::future::BoxFuture;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::SqlitePoolOptions;
use tokio::sync::broadcast;

use super::{Error, Pool, Result, Store};

/// Opens the PostgreSQL view's transaction; its first statement fixes the snapshot.
const BEGIN_POSTGRES: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1";
/// Opens the SQLite view's transaction; SQLite fixes a read transaction's state at its first
/// read, so one is made at once.
const BEGIN_SQLITE: &str = "PRAGMA query_only = ON; BEGIN; SELECT COUNT(*) FROM cursor";

impl Store {
    /// A read-only view of the store as it is now; see the [module documentation](self).
    /// Close it ([`Store::close`]) when done.
    ///
    /// # Errors
    /// [`Error::SnapshotInMemory`] for an in-memory SQLite store, which a second connection
    /// cannot read consistently; [`Error::Connect`] when the view's connection cannot be
    /// opened.
    pub async fn snapshot(&self) -> Result<Self> {
        let opened = Arc::new(AtomicBool::new(false));
        let pool = match &self.pool {
            Pool::Postgres(pool) => {
                let begin = transaction_opener(opened, BEGIN_POSTGRES);
                let view = PgPoolOptions::new()
                    .max_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .after_connect(move |conn, _| begin(conn))
                    .connect_with((*pool.connect_options()).clone())
                    .await
                    .map_err(|source| Error::Connect { source })?;
                Pool::Postgres(view)
            }
            Pool::Sqlite(pool) => {
                let file: String =
                    sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                        .fetch_one(pool)
                        .await?;
                // SQLite names no file for an in-memory database.
                if file.is_empty() {
                    return Err(Error::SnapshotInMemory);
                }
                let begin = transaction_opener(opened, BEGIN_SQLITE);
                let view = SqlitePoolOptions::new()
                    .max_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .after_connect(move |conn, _| begin(conn))
                    .connect_with((*pool.connect_options()).clone())
                    .await
                    .map_err(|source| Error::Connect { source })?;
                Pool::Sqlite(view)
            }
        };
        Ok(Self {
            pool,
            contracts: self.contracts,
            // Nothing is committed through a view, so nobody hears from it.
            registry_events: broadcast::channel(1).0,
        })
    }
}

/// The view's `after_connect` hook: opens the read transaction on the first connection and
/// refuses any later one.
fn transaction_opener<C>(
    opened: Arc<AtomicBool>,
    begin: &'static str,
) -> impl for<'c> Fn(&'c mut C) -> BoxFuture<'c, Result<(), sqlx::Error>> + Send + Sync + 'static
where
    C: Send,
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    move |conn| {
        let again = opened.swap(true, Ordering::SeqCst);
        Box::pin(async move {
            if again {
                return Err(sqlx::Error::Configuration(
                    "the snapshot's connection closed; another would see another state".into(),
                ));
            }
            sqlx::raw_sql(begin).execute(conn).await?;
            Ok(())
        })
    }
}
