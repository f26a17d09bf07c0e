//! The tamper-evident audit log: every row carries the SHA-256 of its content and of the
//! previous row, so editing or deleting any row breaks the chain from there on.

use anyhow::bail;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::Store;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn row_hash(previous: &str, at: &str, actor: &str, action: &str, detail: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [previous, at, actor, action, detail] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

pub(crate) fn now() -> String {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:03}", since_epoch.as_secs(), since_epoch.subsec_millis())
}

/// Appends one entry; appends are serialised by an immediate transaction.
pub async fn append(store: &Store, actor: &str, action: &str, detail: Value) -> anyhow::Result<()> {
    let detail = detail.to_string();
    let at = now();
    let mut connection = store.pool.acquire().await?;
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *connection).await?;
    let result = async {
        let previous: Option<String> = sqlx::query_scalar("SELECT hash FROM audit ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *connection)
            .await?;
        let previous = previous.unwrap_or_else(|| GENESIS.to_owned());
        let hash = row_hash(&previous, &at, actor, action, &detail);
        sqlx::query("INSERT INTO audit (at, actor, action, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(&at)
            .bind(actor)
            .bind(action)
            .bind(&detail)
            .bind(&previous)
            .bind(&hash)
            .execute(&mut *connection)
            .await?;
        anyhow::Ok(())
    }
    .await;
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    sqlx::query(end).execute(&mut *connection).await?;
    result
}

/// One audit row as the admin pages show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Entry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    #[schema(value_type = Object)]
    pub detail: Value,
    pub hash: String,
}

/// The newest `limit` rows, filtered by exact actor and action prefix (empty: any).
pub async fn entries(store: &Store, actor: &str, action: &str, limit: i64) -> anyhow::Result<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT id, at, actor, action, detail, hash FROM audit \
         WHERE (? = '' OR actor = ?) AND (? = '' OR action LIKE ? || '%') ORDER BY id DESC LIMIT ?",
    )
    .bind(actor)
    .bind(actor)
    .bind(action)
    .bind(action)
    .bind(limit)
    .fetch_all(&store.pool)
    .await?;
    off_runtime(rows, |row| Entry {
        id: row.get("id"),
        at: row.get("at"),
        actor: row.get("actor"),
        action: row.get("action"),
        detail: parse_detail(row),
        hash: row.get("hash"),
    })
    .await
}

/// The time and detail of the newest `limit` rows of one action, newest first.
pub async fn details_of(store: &Store, action: &str, limit: i64) -> anyhow::Result<Vec<(String, Value)>> {
    let rows = sqlx::query("SELECT at, detail FROM audit WHERE action = ? ORDER BY id DESC LIMIT ?")
        .bind(action)
        .bind(limit)
        .fetch_all(&store.pool)
        .await?;
    off_runtime(rows, |row| (row.get("at"), parse_detail(row))).await
}

/// A row's JSON detail, `null` where it is not JSON.
fn parse_detail(row: &SqliteRow) -> Value {
    serde_json::from_str(row.get::<&str, _>("detail")).unwrap_or(Value::Null)
}

/// Reads `rows` on a blocking thread: the dashboard folds twenty thousand rows and an
/// export holds up to a hundred thousand, each with its JSON detail to parse.
async fn off_runtime<T: Send + 'static>(rows: Vec<SqliteRow>, read: fn(&SqliteRow) -> T) -> anyhow::Result<Vec<T>> {
    let read = tokio::task::spawn_blocking(move || rows.iter().map(read).collect()).await?;
    Ok(read)
}

/// Checks the whole chain; returns the number of rows verified. Reading and hashing run on
/// a blocking thread: the log grows with every search.
pub async fn verify(store: &Store) -> anyhow::Result<u64> {
    let rows = sqlx::query("SELECT id, at, actor, action, detail, prev_hash, hash FROM audit ORDER BY id")
        .fetch_all(&store.pool)
        .await?;
    tokio::task::spawn_blocking(move || verify_rows(&rows)).await?
}

fn verify_rows(rows: &[SqliteRow]) -> anyhow::Result<u64> {
    let mut previous = GENESIS.to_owned();
    let mut count = 0;
    for row in rows {
        let id: i64 = row.get("id");
        let prev_hash: &str = row.get("prev_hash");
        if prev_hash != previous {
            bail!("audit row {id}: the chain is broken (a row before it was deleted or edited)");
        }
        let expected = row_hash(
            prev_hash,
            row.get("at"),
            row.get("actor"),
            row.get("action"),
            row.get("detail"),
        );
        if row.get::<&str, _>("hash") != expected {
            bail!("audit row {id}: its content was edited");
        }
        previous = expected;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn edits_and_deletions_are_detected() {
        let dir = tempfile::tempdir().unwrap();
        let pool = crate::store::Store::open(&dir.path().join("db.sqlite")).await.unwrap();
        for index in 0..3 {
            append(&pool, "alice", "search", serde_json::json!({ "query": index }))
                .await
                .unwrap();
        }
        assert_eq!(verify(&pool).await.unwrap(), 3);
        sqlx::query("UPDATE audit SET detail = '{\"query\":9}' WHERE id = 2")
            .execute(&pool.pool)
            .await
            .unwrap();
        assert!(verify(&pool).await.unwrap_err().to_string().contains("row 2"));
        sqlx::query("UPDATE audit SET detail = '{\"query\":1}' WHERE id = 2")
            .execute(&pool.pool)
            .await
            .unwrap();
        assert_eq!(verify(&pool).await.unwrap(), 3);
        sqlx::query("DELETE FROM audit WHERE id = 2")
            .execute(&pool.pool)
            .await
            .unwrap();
        assert!(verify(&pool).await.unwrap_err().to_string().contains("row 3"));
    }
}
