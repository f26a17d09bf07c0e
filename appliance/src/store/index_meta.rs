//! Facts about the indexes kept beside the data they index (`index_meta`).

use super::Store;

/// The value recorded under `key`, if any.
pub async fn get(store: &Store, key: &str) -> anyhow::Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT value FROM index_meta WHERE key = ?")
        .bind(key)
        .fetch_optional(&store.pool)
        .await?)
}

/// Records `value` under `key`, replacing what was there.
pub async fn set(store: &Store, key: &str, value: &str) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO index_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(&store.pool)
    .await?;
    Ok(())
}
