//! What a cooperative's store holds, for usage metering: the database's size on disk and the
//! number of documents the cooperative's actions carried.

use super::{Result, Store, dispatch};

/// Size of the whole database in bytes (PostgreSQL), or of the SQLite file's pages.
const POSTGRES_SIZE: &str = "SELECT pg_database_size(current_database())";
const SQLITE_SIZE: &str =
    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()";

/// Documents carried by actions, one per document hash (a row key is `hash:global_sequence`,
/// the hash 64 hexadecimal digits in either case).
const DOCUMENTS: &str = "SELECT COUNT(DISTINCT lower(substr(row_key, 1, 64))) \
     FROM registry_rows WHERE source = 'document'";

impl Store {
    /// Bytes the database takes: the whole PostgreSQL database, or the SQLite file's pages.
    ///
    /// # Errors
    /// [`super::Error::Database`] when the database cannot be asked.
    pub async fn database_bytes(&self) -> Result<u64> {
        let bytes: i64 = match &self.pool {
            super::Pool::Postgres(db) => sqlx::query_scalar(POSTGRES_SIZE).fetch_one(db).await?,
            super::Pool::Sqlite(db) => sqlx::query_scalar(SQLITE_SIZE).fetch_one(db).await?,
        };
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    /// Distinct documents the cooperative's actions carried, as far as the store has followed.
    ///
    /// # Errors
    /// [`super::Error::Database`] when the database cannot be asked.
    pub async fn document_count(&self) -> Result<u64> {
        let count: i64 = dispatch!(&self.pool, db, {
            sqlx::query_scalar(DOCUMENTS).fetch_one(db).await?
        });
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
