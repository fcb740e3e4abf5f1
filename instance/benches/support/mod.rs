//! What the benchmarks share: a PostgreSQL database of their own, created fresh and dropped.

use anyhow::Context as _;
use rand_core::{OsRng, RngCore as _};
use sqlx::Connection as _;

/// The local server's default URL, when no other is configured.
const LOCAL_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh PostgreSQL database on the server of `MONO_BENCH_DATABASE_URL`, else
/// `MONO_TEST_DATABASE_URL`, else the local default; [`TempPostgres::drop`] removes it.
pub struct TempPostgres {
    admin: sqlx::PgConnection,
    name: String,
    /// The database's URL.
    pub url: String,
}

impl TempPostgres {
    /// Creates the database.
    pub async fn create() -> anyhow::Result<Self> {
        let admin_url = std::env::var("MONO_BENCH_DATABASE_URL")
            .or_else(|_| std::env::var("MONO_TEST_DATABASE_URL"))
            .unwrap_or_else(|_| LOCAL_POSTGRES.to_owned());
        let name = format!("mono_bench_{:016x}", OsRng.next_u64());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .context("connecting to PostgreSQL")?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        let server = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(server, _)| server);
        let url = format!("{server}/{name}");
        Ok(Self { admin, name, url })
    }

    /// Drops the database.
    pub async fn drop(mut self) -> anyhow::Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut self.admin)
        .await?;
        self.admin.close().await?;
        Ok(())
    }
}
