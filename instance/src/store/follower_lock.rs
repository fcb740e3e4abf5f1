//! One follower per database: the right to follow the chain into a store is a PostgreSQL
//! session advisory lock, held on a connection of its own for the follower's life.
//!
//! Several `mono serve` replicas may share one database; each serves the API, and only the one
//! holding the lock follows. When the holder dies, even by SIGKILL, its connection closes and
//! PostgreSQL releases the lock, so a waiting replica takes it at its next attempt. A SQLite
//! store belongs to one process, which is always the holder.
//!
//! Architecture invariant: the lock's connection is taken out of the pool and never returned,
//! so no other query ever runs on it and it closes only when the lock is given up.

use std::time::Duration;

use sqlx::{Connection as _, PgConnection};

use super::{Pool, Store};

/// Key of the follower's advisory lock ("monofoll"); advisory locks are per database, so each
/// cooperative's database has its own.
const FOLLOWER_LOCK_KEY: i64 = 0x6d6f_6e6f_666f_6c6c;

/// Why the follower lock could not be taken or was lost.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No connection for the lock could be opened.
    #[error("opening a connection for the follower lock")]
    Connect {
        /// Connection failure.
        #[source]
        source: sqlx::Error,
    },
    /// Asking for the lock failed.
    #[error("asking for the follower lock")]
    Query {
        /// Query failure.
        #[source]
        source: sqlx::Error,
    },
    /// The lock's connection stopped answering; another replica may hold the lock by now.
    #[error("the connection holding the follower lock stopped answering")]
    Lost {
        /// Why the connection failed.
        #[source]
        source: sqlx::Error,
    },
}

/// The right to follow the chain into one database, held until [`FollowerLock::release`] or
/// the end of the process.
#[derive(Debug)]
pub struct FollowerLock {
    /// The connection holding the advisory lock; `None` for SQLite.
    connection: Option<PgConnection>,
}

impl Store {
    /// Takes the database's follower lock when no other process holds it; `None` when one
    /// does. On SQLite the lock is always taken.
    ///
    /// # Errors
    /// [`Error::Connect`] or [`Error::Query`] when PostgreSQL cannot be asked.
    pub async fn try_follower_lock(&self) -> Result<Option<FollowerLock>, Error> {
        let pool = match &self.pool {
            Pool::Sqlite(_) => return Ok(Some(FollowerLock { connection: None })),
            Pool::Postgres(pool) => pool,
        };
        let mut connection = pool
            .acquire()
            .await
            .map_err(|source| Error::Connect { source })?
            .detach();
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(FOLLOWER_LOCK_KEY)
            .fetch_one(&mut connection)
            .await
            .map_err(|source| Error::Query { source })?;
        if taken {
            return Ok(Some(FollowerLock {
                connection: Some(connection),
            }));
        }
        // Closing the connection cannot give up a lock it never had.
        let _closed = connection.close().await;
        Ok(None)
    }
}

impl FollowerLock {
    /// Resolves once the lock's connection stops answering, checked every `interval`; never
    /// on SQLite.
    pub async fn lost(&mut self, interval: Duration) -> Error {
        let Some(connection) = &mut self.connection else {
            return std::future::pending().await;
        };
        loop {
            tokio::time::sleep(interval).await;
            if let Err(source) = connection.ping().await {
                return Error::Lost { source };
            }
        }
    }

    /// Gives the lock up, so another replica can take it at once.
    pub async fn release(self) {
        if let Some(mut connection) = self.connection {
            // Closing the session releases its advisory locks whatever the unlock answers.
            let _unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(FOLLOWER_LOCK_KEY)
                .execute(&mut connection)
                .await;
            let _closed = connection.close().await;
        }
    }
}
