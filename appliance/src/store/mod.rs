//! The store: the one owner of SQL. Documents and their chunks, ingest jobs, users and
//! sessions, API tokens, conversations, admin-edited texts and the audit log each have a
//! module here; handlers, commands and the engine call these functions and never write a
//! statement themselves.
//!
//! SQLite is the embedded default. The statements are plain SQL with `?` parameters and
//! the schema lives in `migrations/`, so a PostgreSQL implementation can sit next to this
//! one behind the same functions (sqlx speaks both).

pub mod audit;
mod audit_seal;
pub mod conversations;
pub mod documents;
pub mod index_meta;
pub mod jobs;
pub mod site_texts;
pub mod snapshot;
pub mod users;

use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, bail};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// A handle on the database, cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    audit_key: audit::AuditKey,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies pending migrations;
    /// the audit key is `audit.key` beside it.
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        let key = path.with_file_name("audit.key");
        Self::open_with_audit_key(path, &key).await
    }

    /// Opens the database at `path`, sealing audit rows with the key at `audit_key`
    /// (created when missing).
    pub async fn open_with_audit_key(path: &Path, audit_key: &Path) -> anyhow::Result<Self> {
        let audit_key = audit::AuditKey::load_or_create(audit_key)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .with_context(|| format!("opening database {}", path.display()))?;
        let migrator = sqlx::migrate!("./migrations");
        refuse_newer_schema(&pool, &migrator).await?;
        migrator.run(&pool).await.context("migrating the database")?;
        Ok(Self { pool, audit_key })
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
async fn refuse_newer_schema(pool: &SqlitePool, migrator: &sqlx::migrate::Migrator) -> anyhow::Result<()> {
    let recorded: bool =
        sqlx::query_scalar("SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
            .fetch_one(pool)
            .await?;
    if !recorded {
        return Ok(());
    }
    let database: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await?;
    let known = migrator.iter().map(|migration| migration.version).max().unwrap_or(0);
    if let Some(database) = database.filter(|&version| version > known) {
        bail!(
            "this database has schema version {database}, written by a newer appliance; this binary knows versions up \
             to {known}: run the newer appliance, or restore a backup made with this one"
        );
    }
    Ok(())
}

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The current time as SQLite writes it in `created_at` columns.
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// A JSON array of names as stored in `groups_json` columns.
fn groups_from_json(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_binary_older_than_its_database_refuses_to_open_it() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("db.sqlite");
        let store = super::Store::open(&path).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990101, 'from the future', TRUE, x'00', 0)",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        store.close().await;
        let error = format!("{:#}", super::Store::open(&path).await.unwrap_err());
        assert!(
            error.contains("schema version 99990101") && error.contains("newer appliance"),
            "{error}"
        );
    }
}
