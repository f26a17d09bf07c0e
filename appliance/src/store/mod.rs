//! The store: the one owner of SQL. Documents and their chunks, ingest jobs, users and
//! sessions, API tokens, conversations, admin-edited texts and the audit log each have a
//! module here; handlers, commands and the engine call these functions and never write a
//! statement themselves.
//!
//! SQLite is the embedded default; PostgreSQL (`database_url = "postgres://..."`) lets
//! several appliance nodes share one database. Both run the same statements through
//! sqlx's `Any` driver: plain SQL with `$1` parameters (SQLite reads them too), integers
//! for flags, text for times. What the dialects spell differently (the current time, the
//! audit lock, snapshots) goes through [`Dialect`]. Each dialect has its migrations
//! (`migrations/` and `migrations/postgres/`), with the same versions.

pub mod audit;
mod audit_seal;
pub mod conversations;
pub mod documents;
pub mod index_meta;
pub mod jobs;
mod migrations;
pub mod site_texts;
pub mod snapshot;
pub mod users;

use std::path::Path;

use anyhow::{Context, bail};
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::{Executor, Row};

/// Which SQL engine a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The dialect of a database URL, or a message saying which URLs are understood.
    pub fn of_url(url: &str) -> anyhow::Result<Self> {
        match url.split_once(':').map(|(scheme, _)| scheme) {
            Some("sqlite") => Ok(Self::Sqlite),
            Some("postgres" | "postgresql") => Ok(Self::Postgres),
            _ => bail!(
                "database URL {:?}: expected sqlite://PATH or postgres://...",
                redact_url(url)
            ),
        }
    }

    /// The SQL expression of the current time as `created_at` columns hold it
    /// (`2026-12-02T21:47:54.123Z`).
    const fn now(self) -> &'static str {
        match self {
            Self::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            // Defined by the first PostgreSQL migration, the same format.
            Self::Postgres => "appliance_now()",
        }
    }
}

/// A database URL without its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// A handle on the database, cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    audit_key: audit::AuditKey,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies pending migrations;
    /// the audit key is `audit.key` beside it.
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        let key = path.with_file_name("audit.key");
        Self::open_with_audit_key(path, &key).await
    }

    /// Opens the SQLite database at `path`, sealing audit rows with the key at `audit_key`
    /// (created when missing).
    pub async fn open_with_audit_key(path: &Path, audit_key: &Path) -> anyhow::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        Self::connect(&format!("sqlite://{}?mode=rwc", path.display()), audit_key).await
    }

    /// Connects to the database at `url` (`sqlite://PATH` or `postgres://...`) and applies
    /// pending migrations, sealing audit rows with the key at `audit_key`.
    pub async fn connect(url: &str, audit_key: &Path) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of_url(url)?;
        let audit_key = audit::AuditKey::load_or_create(audit_key)?;
        let options = AnyPoolOptions::new().max_connections(match dialect {
            Dialect::Sqlite => 4,
            Dialect::Postgres => 8,
        });
        let options = match dialect {
            // What SqliteConnectOptions would set, per connection: the Any driver takes a URL.
            Dialect::Sqlite => options.after_connect(|connection, _| {
                Box::pin(async move {
                    connection
                        .execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                             PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                    Ok(())
                })
            }),
            Dialect::Postgres => options,
        };
        let pool = options
            .connect(url)
            .await
            .with_context(|| format!("opening database {}", redact_url(url)))?;
        let migrator = migrations::migrator(dialect).await?;
        refuse_newer_schema(&pool, &migrator).await?;
        migrator.run(&pool).await.context("migrating the database")?;
        Ok(Self {
            pool,
            dialect,
            audit_key,
        })
    }

    /// Which SQL engine this store talks to.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The SQL expression of the current time, in this store's dialect.
    fn now(&self) -> &'static str {
        self.dialect.now()
    }

    /// Closes every connection (a copy opened for a backup must be complete on disk).
    pub async fn close(self) {
        self.pool.close().await;
    }

    /// Number of documents.
    pub async fn document_count(&self) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM documents")
            .fetch_one(&self.pool)
            .await?)
    }
}

/// Stops a binary older than its database: the schema version (the newest migration
/// applied, recorded by the migrator) must be one this binary knows.
async fn refuse_newer_schema(pool: &AnyPool, migrator: &sqlx::migrate::Migrator) -> anyhow::Result<()> {
    // A new database has no migrations table yet: nothing to compare.
    let Ok(row) = sqlx::query("SELECT MAX(version) AS version FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
    else {
        return Ok(());
    };
    let database: Option<i64> = row.try_get("version")?;
    let known = migrator.iter().map(|migration| migration.version).max().unwrap_or(0);
    if let Some(database) = database.filter(|&version| version > known) {
        bail!(
            "this database has schema version {database}, written by a newer appliance; this binary knows versions up \
             to {known}: run the newer appliance, or restore a backup made with this one"
        );
    }
    Ok(())
}

/// A stored flag (an integer in both dialects) as a boolean.
fn flag(row: &sqlx::any::AnyRow, column: &str) -> bool {
    row.get::<i64, _>(column) != 0
}

/// A JSON array of names as stored in `groups_json` columns.
fn groups_from_json(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// The store suite's databases: every store test runs against each of them.
#[cfg(test)]
pub(crate) mod testing {
    use sqlx::Connection;

    use super::Store;

    /// Names a PostgreSQL server (any database on it) to run the store suite against too.
    pub const POSTGRES_URL_VARIABLE: &str = "APPLIANCE_TEST_POSTGRES_URL";

    /// A fresh, empty store and what reopens it.
    pub struct TestStore {
        pub dir: tempfile::TempDir,
        pub store: Store,
        pub url: String,
    }

    impl TestStore {
        /// The same database, opened again with the audit key at `audit_key`.
        pub async fn reopen(&self, audit_key: &std::path::Path) -> Store {
            Store::connect(&self.url, audit_key).await.unwrap()
        }
    }

    /// A new SQLite store, and a new PostgreSQL database when [`POSTGRES_URL_VARIABLE`] is
    /// set. Without it the PostgreSQL half does not run, and says so on stderr; CI sets it
    /// (`scripts/test.sh` starts a throwaway server), and `APPLIANCE_REQUIRE_POSTGRES=1`
    /// turns its absence into a failure.
    pub async fn stores() -> Vec<TestStore> {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("db.sqlite").display());
        let store = Store::connect(&url, &dir.path().join("audit.key")).await.unwrap();
        let mut stores = vec![TestStore { dir, store, url }];
        match std::env::var(POSTGRES_URL_VARIABLE) {
            Ok(server) => stores.push(postgres(&server).await),
            Err(_) if std::env::var("APPLIANCE_REQUIRE_POSTGRES").is_ok_and(|value| value == "1") => {
                panic!("APPLIANCE_REQUIRE_POSTGRES=1 but {POSTGRES_URL_VARIABLE} is not set")
            }
            Err(_) => eprintln!(
                "WARNING: the PostgreSQL half of this store test DID NOT RUN: set {POSTGRES_URL_VARIABLE} \
                 (scripts/test.sh does)"
            ),
        }
        stores
    }

    /// A new database on the server at `server`.
    async fn postgres(server: &str) -> TestStore {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        sqlx::any::install_default_drivers();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "appliance_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let mut admin = sqlx::AnyConnection::connect(server).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        let (base, query) = server
            .split_once('?')
            .map_or((server, ""), |(base, query)| (base, query));
        let (authority, _) = base
            .rsplit_once('/')
            .filter(|(authority, _)| authority.contains("//"))
            .unwrap_or((base, ""));
        let url = if query.is_empty() {
            format!("{authority}/{name}")
        } else {
            format!("{authority}/{name}?{query}")
        };
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&url, &dir.path().join("audit.key")).await.unwrap();
        TestStore { dir, store, url }
    }
}

#[cfg(test)]
mod tests {
    use super::{Dialect, Store, testing};

    #[tokio::test]
    async fn a_binary_older_than_its_database_refuses_to_open_it() {
        for test in testing::stores().await {
            let checksum = match test.store.dialect() {
                Dialect::Sqlite => "x'00'",
                Dialect::Postgres => "'\\x00'::bytea",
            };
            sqlx::query(&format!(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                 VALUES (99990101, 'from the future', TRUE, {checksum}, 0)"
            ))
            .execute(&test.store.pool)
            .await
            .unwrap();
            test.store.clone().close().await;
            let error = format!(
                "{:#}",
                Store::connect(&test.url, &test.dir.path().join("audit.key"))
                    .await
                    .unwrap_err()
            );
            assert!(
                error.contains("schema version 99990101") && error.contains("newer appliance"),
                "{error}"
            );
        }
    }

    #[test]
    fn database_urls_name_their_dialect_and_hide_their_password() {
        assert_eq!(Dialect::of_url("sqlite:///data/db.sqlite").unwrap(), Dialect::Sqlite);
        assert_eq!(
            Dialect::of_url("postgresql://node/appliance").unwrap(),
            Dialect::Postgres
        );
        let error = format!("{:#}", Dialect::of_url("mysql://root:secret@db/appliance").unwrap_err());
        assert!(!error.contains("secret") && error.contains("postgres://"), "{error}");
        assert_eq!(
            super::redact_url("postgres://app:secret@db:5432/appliance?sslmode=disable"),
            "postgres://app:***@db:5432/appliance?sslmode=disable"
        );
        assert_eq!(super::redact_url("postgres://db/appliance"), "postgres://db/appliance");
    }
}
