//! Facts about the indexes kept beside the data they index (`index_meta`).

use super::Store;

/// The value recorded under `key`, if any.
pub async fn get(store: &Store, key: &str) -> anyhow::Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT value FROM index_meta WHERE key = $1")
        .bind(key)
        .fetch_optional(&store.pool)
        .await?)
}

/// Records `value` under `key`, replacing what was there.
pub async fn set(store: &Store, key: &str, value: &str) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO index_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(&store.pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_value_is_replaced_not_duplicated() {
        for test in crate::store::testing::stores().await {
            assert_eq!(super::get(&test.store, "model").await.unwrap(), None);
            super::set(&test.store, "model", "e5-small").await.unwrap();
            super::set(&test.store, "model", "e5-base").await.unwrap();
            assert_eq!(
                super::get(&test.store, "model").await.unwrap().as_deref(),
                Some("e5-base")
            );
        }
    }
}
