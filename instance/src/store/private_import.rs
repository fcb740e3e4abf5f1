//! Writing an export's private records, refresh tokens and extensions into a store in one
//! transaction, chunk by chunk as the bundle is read, so no bundle is held in memory whole and an import
//! that fails halfway leaves nothing of them behind.

use sqlx::{Postgres, QueryBuilder, Sqlite, Transaction};

use super::extensions::install_in_transaction;
use super::{
    ExtensionMigration, InstalledExtension, Pool, PrivateVersion, RefreshTokenRow, Result, Store,
};

/// Rows per insert statement: 7 columns at most, below SQLite's bind limit of 32766.
const ROWS_PER_STATEMENT: usize = 1_000;

/// An open transaction writing exported private records and refresh tokens exactly as they
/// were; nothing is visible until [`PrivateImport::commit`], and dropping it rolls back.
pub struct PrivateImport {
    tx: ImportTx,
}

enum ImportTx {
    Postgres(Transaction<'static, Postgres>),
    Sqlite(Transaction<'static, Sqlite>),
}

/// Runs `$body` with `$conn` bound to the transaction's connection, once per backend, with
/// `Db` naming the backend, so the body is written once.
macro_rules! on_tx {
    ($tx:expr, $conn:ident, $body:block) => {
        match $tx {
            ImportTx::Postgres($conn) => {
                #[allow(dead_code, reason = "not every body names the backend")]
                type Db = Postgres;
                $body
            }
            ImportTx::Sqlite($conn) => {
                #[allow(dead_code, reason = "not every body names the backend")]
                type Db = Sqlite;
                $body
            }
        }
    };
}

impl Store {
    /// Starts writing exported private records and refresh tokens.
    ///
    /// # Errors
    /// [`super::Error::Database`] when no write transaction can be opened.
    pub async fn begin_private_import(&self) -> Result<PrivateImport> {
        let tx = match &self.pool {
            Pool::Postgres(pool) => ImportTx::Postgres(pool.begin().await?),
            // Takes the write lock at once, as every writing transaction of the store does.
            Pool::Sqlite(pool) => ImportTx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
        };
        Ok(PrivateImport { tx })
    }
}

impl PrivateImport {
    /// Adds private record versions, exactly as they were exported.
    ///
    /// # Errors
    /// [`super::Error::DuplicateEvent`] when a version is already stored,
    /// [`super::Error::Database`].
    pub async fn private_versions(&mut self, versions: &[(String, PrivateVersion)]) -> Result<()> {
        for chunk in versions.chunks(ROWS_PER_STATEMENT) {
            on_tx!(&mut self.tx, conn, {
                let mut insert = QueryBuilder::<Db>::new(
                    "INSERT INTO private_records \
                     (kind, record_key, version, valid_from_block, valid_to_block, data) ",
                );
                insert.push_values(chunk, |mut row, (kind, version)| {
                    row.push_bind(kind.as_str())
                        .push_bind(version.key.as_str())
                        .push_bind(i64::try_from(version.version).unwrap_or(i64::MAX))
                        .push_bind(i64::from(version.valid_from_block))
                        .push_bind(version.valid_to_block.map(i64::from))
                        .push_bind(version.data.as_str());
                });
                insert
                    .build()
                    .persistent(false)
                    .execute(&mut **conn)
                    .await?;
            });
        }
        Ok(())
    }

    /// Adds refresh tokens with their state, exactly as they were exported.
    ///
    /// # Errors
    /// [`super::Error::DuplicateEvent`] when a token is already stored,
    /// [`super::Error::Database`].
    pub async fn refresh_tokens(&mut self, tokens: &[RefreshTokenRow]) -> Result<()> {
        for chunk in tokens.chunks(ROWS_PER_STATEMENT) {
            on_tx!(&mut self.tx, conn, {
                let mut insert = QueryBuilder::<Db>::new(
                    "INSERT INTO refresh_tokens \
                     (token_hash, family, username, issued_at, expires_at, spent, revoked) ",
                );
                insert.push_values(chunk, |mut row, stored| {
                    row.push_bind(stored.token.token_hash.as_slice())
                        .push_bind(stored.token.family.as_slice())
                        .push_bind(stored.token.username.as_str())
                        .push_bind(stored.token.issued_at)
                        .push_bind(stored.token.expires_at)
                        .push_bind(stored.spent)
                        .push_bind(stored.revoked);
                });
                insert
                    .build()
                    .persistent(false)
                    .execute(&mut **conn)
                    .await?;
            });
        }
        Ok(())
    }

    /// Installs an exported extension with its configuration and times exactly as they were,
    /// applying its `migrations` (this build's) so its tables exist; returns `false`, having
    /// written nothing, when an extension of that name is installed.
    ///
    /// # Errors
    /// [`super::Error::Database`].
    pub async fn extension(
        &mut self,
        extension: &InstalledExtension,
        migrations: &[ExtensionMigration],
    ) -> Result<bool> {
        Ok(on_tx!(&mut self.tx, conn, {
            install_in_transaction!(&mut **conn, extension, migrations)
        }))
    }

    /// Makes everything added visible at once.
    ///
    /// # Errors
    /// [`super::Error::Database`].
    pub async fn commit(self) -> Result<()> {
        on_tx!(self.tx, tx, { tx.commit().await? });
        Ok(())
    }
}
