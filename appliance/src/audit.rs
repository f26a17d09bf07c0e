//! The tamper-evident audit log: every row carries the SHA-256 of its content and of the
//! previous row, so editing or deleting any row breaks the chain from there on.

use anyhow::bail;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{Row, SqlitePool};

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
pub async fn append(pool: &SqlitePool, actor: &str, action: &str, detail: Value) -> anyhow::Result<()> {
    let detail = detail.to_string();
    let at = now();
    let mut connection = pool.acquire().await?;
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

/// Checks the whole chain; returns the number of rows verified.
pub async fn verify(pool: &SqlitePool) -> anyhow::Result<u64> {
    let rows = sqlx::query("SELECT id, at, actor, action, detail, prev_hash, hash FROM audit ORDER BY id")
        .fetch_all(pool)
        .await?;
    let mut previous = GENESIS.to_owned();
    let mut count = 0;
    for row in rows {
        let id: i64 = row.get("id");
        let prev_hash: String = row.get("prev_hash");
        let hash: String = row.get("hash");
        if prev_hash != previous {
            bail!("audit row {id}: the chain is broken (a row before it was deleted or edited)");
        }
        let expected = row_hash(
            &prev_hash,
            row.get("at"),
            row.get("actor"),
            row.get("action"),
            row.get("detail"),
        );
        if hash != expected {
            bail!("audit row {id}: its content was edited");
        }
        previous = hash;
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
        let pool = crate::db::open(&dir.path().join("db.sqlite")).await.unwrap();
        for index in 0..3 {
            append(&pool, "alice", "search", serde_json::json!({ "query": index }))
                .await
                .unwrap();
        }
        assert_eq!(verify(&pool).await.unwrap(), 3);
        sqlx::query("UPDATE audit SET detail = '{\"query\":9}' WHERE id = 2")
            .execute(&pool)
            .await
            .unwrap();
        assert!(verify(&pool).await.unwrap_err().to_string().contains("row 2"));
        sqlx::query("UPDATE audit SET detail = '{\"query\":1}' WHERE id = 2")
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(verify(&pool).await.unwrap(), 3);
        sqlx::query("DELETE FROM audit WHERE id = 2")
            .execute(&pool)
            .await
            .unwrap();
        assert!(verify(&pool).await.unwrap_err().to_string().contains("row 3"));
    }
}
