//! The extensions installed in this instance (`extensions`) and the extensions' own migrations
//! applied so far (`extension_migrations`); see [`crate::extensions`].
//!
//! Installing writes the row and applies the extension's pending migrations in one
//! transaction, so an extension is never installed without its tables nor its tables half
//! made. Times are seconds since 1970, given by the caller.

use super::{Result, Store, dispatch};

/// One of an extension's own schema changes, applied once per database when the extension is
/// installed, in `version` order. The SQL text of each backend may hold several statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionMigration {
    /// Its number, unique within the extension; never reused or edited once released.
    pub version: u32,
    /// What it changes.
    pub description: &'static str,
    /// Its SQL on PostgreSQL.
    pub postgres: &'static str,
    /// Its SQL on SQLite.
    pub sqlite: &'static str,
}

/// An installed extension as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledExtension {
    /// The extension's name.
    pub name: String,
    /// The version installed (or last updated to).
    pub version: String,
    /// Whether it runs.
    pub enabled: bool,
    /// Its configuration, secrets included.
    pub config: serde_json::Value,
    /// When it was installed.
    pub installed_at: i64,
    /// When it was last changed.
    pub updated_at: i64,
}

type ExtensionRow = (String, String, bool, String, i64, i64);

fn extension_from_row(
    (name, version, enabled, config, installed_at, updated_at): ExtensionRow,
) -> Result<InstalledExtension> {
    let config = serde_json::from_str(&config).map_err(|source| super::Error::CorruptJson {
        column: "config",
        source,
    })?;
    Ok(InstalledExtension {
        name,
        version,
        enabled,
        config,
        installed_at,
        updated_at,
    })
}

/// Inserts `$extension`'s row as given (times included) and applies those of `$migrations`
/// not applied yet, inside the open transaction `$conn`; evaluates to `false`, having written
/// nothing, when an extension of that name is installed. `Db` must name the backend at the call
/// site, as [`dispatch!`] and the private import's transaction do. A macro because the two
/// backends' connections share no executor type.
macro_rules! install_in_transaction {
    ($conn:expr, $extension:expr, $migrations:expr) => {{
        let extension: &$crate::store::InstalledExtension = $extension;
        let migrations: &[$crate::store::ExtensionMigration] = $migrations;
        let config = extension.config.to_string();
        let inserted = sqlx::query(
            "INSERT INTO extensions \
             (name, version, enabled, config, installed_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
        )
        .bind(extension.name.as_str())
        .bind(extension.version.as_str())
        .bind(extension.enabled)
        .bind(config.as_str())
        .bind(extension.installed_at)
        .bind(extension.updated_at)
        .execute(&mut *$conn)
        .await?
        .rows_affected();
        if inserted > 0 {
            let applied: Vec<i64> =
                sqlx::query_scalar("SELECT version FROM extension_migrations WHERE extension = $1")
                    .bind(extension.name.as_str())
                    .fetch_all(&mut *$conn)
                    .await?;
            let mut pending: Vec<&$crate::store::ExtensionMigration> = migrations
                .iter()
                .filter(|migration| !applied.contains(&i64::from(migration.version)))
                .collect();
            pending.sort_by_key(|migration| migration.version);
            for migration in pending {
                let sql =
                    if <Db as sqlx::Database>::NAME == <sqlx::Postgres as sqlx::Database>::NAME {
                        migration.postgres
                    } else {
                        migration.sqlite
                    };
                sqlx::raw_sql(sql).execute(&mut *$conn).await?;
                sqlx::query(
                    "INSERT INTO extension_migrations \
                     (extension, version, description, applied_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(extension.name.as_str())
                .bind(i64::from(migration.version))
                .bind(migration.description)
                .bind(extension.installed_at)
                .execute(&mut *$conn)
                .await?;
            }
        }
        inserted > 0
    }};
}
pub(super) use install_in_transaction;

impl Store {
    /// Every installed extension, by name.
    ///
    /// # Errors
    /// [`super::Error::Database`] or [`super::Error::CorruptJson`].
    pub async fn installed_extensions(&self) -> Result<Vec<InstalledExtension>> {
        let rows = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, ExtensionRow>(
                "SELECT name, version, enabled, config, installed_at, updated_at \
                 FROM extensions ORDER BY name",
            )
            .fetch_all(db)
            .await?
        });
        rows.into_iter().map(extension_from_row).collect()
    }

    /// The installed extension `name`, if it is installed.
    ///
    /// # Errors
    /// As [`Store::installed_extensions`].
    pub async fn installed_extension(&self, name: &str) -> Result<Option<InstalledExtension>> {
        let row = dispatch!(&self.pool, db, {
            sqlx::query_as::<_, ExtensionRow>(
                "SELECT name, version, enabled, config, installed_at, updated_at \
                 FROM extensions WHERE name = $1",
            )
            .bind(name)
            .fetch_optional(db)
            .await?
        });
        row.map(extension_from_row).transpose()
    }

    /// Installs `extension` and applies those of `migrations` not applied yet, in one
    /// transaction; returns `false` (and writes nothing) when an extension of that name is
    /// already installed.
    ///
    /// # Errors
    /// [`super::Error::Database`] when a migration or the write fails; nothing is written then.
    pub async fn install_extension(
        &self,
        extension: &InstalledExtension,
        migrations: &[ExtensionMigration],
    ) -> Result<bool> {
        dispatch!(&self.pool, db, {
            let mut tx = db.begin_with(BEGIN_WRITE).await?;
            if !install_in_transaction!(&mut *tx, extension, migrations) {
                return Ok(false);
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// The numbers of `extension`'s migrations applied in this database, in order.
    ///
    /// # Errors
    /// [`super::Error::Database`] or [`super::Error::CorruptValue`].
    pub async fn extension_migrations(&self, extension: &str) -> Result<Vec<u32>> {
        let versions: Vec<i64> = dispatch!(&self.pool, db, {
            sqlx::query_scalar(
                "SELECT version FROM extension_migrations WHERE extension = $1 ORDER BY version",
            )
            .bind(extension)
            .fetch_all(db)
            .await?
        });
        versions
            .into_iter()
            .map(|version| super::codec::u32_from_db("version", version))
            .collect()
    }

    /// Sets whether the installed extension `name` runs and its configuration; returns `false`
    /// when it is not installed.
    ///
    /// # Errors
    /// [`super::Error::Database`].
    pub async fn update_extension(
        &self,
        name: &str,
        enabled: bool,
        config: &serde_json::Value,
        updated_at: i64,
    ) -> Result<bool> {
        let config = config.to_string();
        let updated = dispatch!(&self.pool, db, {
            sqlx::query(
                "UPDATE extensions SET enabled = $2, config = $3, updated_at = $4 \
                 WHERE name = $1",
            )
            .bind(name)
            .bind(enabled)
            .bind(config.as_str())
            .bind(updated_at)
            .execute(db)
            .await?
            .rows_affected()
        });
        Ok(updated > 0)
    }

    /// Uninstalls the extension `name`; returns `false` when it was not installed. The tables
    /// its migrations made stay, with their data, for a later reinstall.
    ///
    /// # Errors
    /// [`super::Error::Database`].
    pub async fn uninstall_extension(&self, name: &str) -> Result<bool> {
        let removed = dispatch!(&self.pool, db, {
            sqlx::query("DELETE FROM extensions WHERE name = $1")
                .bind(name)
                .execute(db)
                .await?
                .rows_affected()
        });
        Ok(removed > 0)
    }
}
