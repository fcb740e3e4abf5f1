//! Support shared by the integration tests: fresh, empty databases of either backend, removed
//! after the test body whatever its outcome.
//!
//! SQLite databases are files in the temporary directory. PostgreSQL databases are created on
//! the server named by `MONO_TEST_DATABASE_URL`; without it the local default server is used,
//! and when `CI` is set the test fails instead, so a CI run never passes without PostgreSQL.

use std::future::Future;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use mono_instance::store::Store;
use rand_core::{OsRng, RngCore as _};
use sqlx::Connection as _;

/// The server used when `MONO_TEST_DATABASE_URL` is not set and `CI` is not set.
const LOCAL_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Generates a `sqlite` and a `postgres` test, on a two-thread runtime, each running `$body`
/// (a closure taking `[String; 2]`) with the URLs of two fresh databases of that backend.
macro_rules! two_database_test {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() -> anyhow::Result<()> {
                $crate::support::with_databases(
                    $crate::support::Backend::Sqlite,
                    |dbs: [$crate::support::TestDb; 2]| $body(dbs.map(|db| db.url)),
                )
                .await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() -> anyhow::Result<()> {
                $crate::support::with_databases(
                    $crate::support::Backend::Postgres,
                    |dbs: [$crate::support::TestDb; 2]| $body(dbs.map(|db| db.url)),
                )
                .await
            }
        }
    };
}
pub(crate) use two_database_test;

/// A store backend.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database of one backend.
#[derive(Clone, Debug)]
pub struct TestDb {
    /// The URL `Store::open` and `mono --database` take.
    pub url: String,
    backend: Backend,
    cleanup: Cleanup,
}

#[derive(Clone, Debug)]
enum Cleanup {
    SqliteFile(PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

impl TestDb {
    /// Creates an empty database with a random name.
    pub async fn create(backend: Backend) -> anyhow::Result<Self> {
        let name = format!("mono_test_{:016x}", OsRng.next_u64());
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                Ok(Self {
                    url: format!("sqlite://{}", path.display()),
                    backend,
                    cleanup: Cleanup::SqliteFile(path),
                })
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url()?;
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .with_context(|| format!("connecting to PostgreSQL at {admin_url}"))?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .with_context(|| format!("creating database {name}"))?;
                admin.close().await?;
                Ok(Self {
                    url: url_with_database_name(&admin_url, &name),
                    backend,
                    cleanup: Cleanup::PostgresDatabase { admin_url, name },
                })
            }
        }
    }

    /// The backend of this database.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Opens the store in this database (running the migrations).
    pub async fn open(&self) -> anyhow::Result<Store> {
        Store::open(&self.url)
            .await
            .with_context(|| format!("opening store {}", self.url))
    }

    /// Removes the database.
    pub async fn destroy(self) -> anyhow::Result<()> {
        match self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let file = PathBuf::from(file);
                    if file.exists() {
                        std::fs::remove_file(&file)
                            .with_context(|| format!("removing {}", file.display()))?;
                    }
                }
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await
                .with_context(|| format!("dropping database {name}"))?;
                admin.close().await?;
            }
        }
        Ok(())
    }
}

/// Runs `body` against a fresh database, then removes the database even if `body` panicked.
pub async fn with_database<F, Fut>(backend: Backend, body: F) -> anyhow::Result<()>
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    with_databases(backend, |[db]: [TestDb; 1]| body(db)).await
}

/// Runs `body` against `N` fresh databases, then removes them even if `body` panicked.
pub async fn with_databases<const N: usize, F, Fut>(backend: Backend, body: F) -> anyhow::Result<()>
where
    F: FnOnce([TestDb; N]) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let mut created = Vec::with_capacity(N);
    for _ in 0..N {
        match TestDb::create(backend).await {
            Ok(db) => created.push(db),
            Err(error) => {
                for db in created {
                    db.destroy().await?;
                }
                return Err(error);
            }
        }
    }
    let dbs: [TestDb; N] = created
        .clone()
        .try_into()
        .map_err(|_| anyhow::anyhow!("created {N} databases"))?;
    let outcome = tokio::spawn(body(dbs)).await;
    for db in created {
        db.destroy().await?;
    }
    match outcome {
        Ok(result) => result,
        Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
    }
}

/// The PostgreSQL server for tests; see the module documentation.
fn postgres_admin_url() -> anyhow::Result<String> {
    match std::env::var("MONO_TEST_DATABASE_URL") {
        Ok(url) => Ok(url),
        Err(_) if std::env::var_os("CI").is_some() => bail!(
            "MONO_TEST_DATABASE_URL is not set: CI must provide PostgreSQL for the store tests"
        ),
        Err(_) => Ok(LOCAL_POSTGRES.to_owned()),
    }
}

/// `url` with its database name replaced by `name`.
fn url_with_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |idx| idx + 3);
    let server = match base[scheme_end..].find('/') {
        Some(idx) => &base[..scheme_end + idx],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

#[test]
fn test_database_urls_keep_server_and_options() {
    assert_eq!(
        url_with_database_name("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
        "postgres://postgres@127.0.0.1:5432/t1"
    );
    assert_eq!(
        url_with_database_name("postgres://u:p@db:5432/x?sslmode=disable", "t2"),
        "postgres://u:p@db:5432/t2?sslmode=disable"
    );
    assert_eq!(
        url_with_database_name("postgres://db", "t3"),
        "postgres://db/t3"
    );
}
