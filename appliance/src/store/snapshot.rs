//! Copies of the whole database for backups, and the fix-up a restore into another data
//! directory needs.
//!
//! A backup always holds a SQLite file: SQLite's own copy of itself, or every table of a
//! PostgreSQL database copied row by row from one snapshot. The schemas are the same in both
//! dialects, so the same archive restores into either.

use anyhow::{Context, bail};
use futures_util::TryStreamExt;
use sqlx::{Row, ValueRef};

use super::{Dialect, Store};

/// Every table, parents before the tables that refer to them.
const TABLES: [&str; 14] = [
    "users",
    "sessions",
    "api_tokens",
    "documents",
    "chunks",
    "jobs",
    "conversations",
    "messages",
    "feedback",
    "site_texts",
    "id_sequences",
    "index_meta",
    "audit",
    "audit_purges",
];

/// Writes a consistent copy of the database to `path` (which must not exist) while others
/// keep reading and writing: SQLite's `VACUUM INTO` reads one snapshot; a PostgreSQL
/// database is read in one repeatable-read transaction into a new SQLite file.
pub async fn write_copy(store: &Store, path: &std::path::Path) -> anyhow::Result<()> {
    if store.dialect == Dialect::Postgres {
        let copy = Store::connect(&format!("sqlite://{}?mode=rwc", path.display()), store.audit_key.path()).await?;
        copy_tables(store, &copy).await?;
        copy.close().await;
        return Ok(());
    }
    sqlx::query("VACUUM INTO $1")
        .bind(path.to_string_lossy().into_owned())
        .execute(&store.pool)
        .await?;
    Ok(())
}

/// Points stored originals and waiting uploads that lived under `old` to the same files
/// under `new` (a restore into another data directory).
pub async fn move_file_paths(store: &Store, old: &str, new: &str) -> anyhow::Result<u64> {
    let mut moved = 0;
    for table in ["documents", "jobs"] {
        let statement = format!(
            "UPDATE {table} SET file_path = $1 || substr(file_path, length($2) + 1) \
             WHERE file_path IS NOT NULL AND substr(file_path, 1, length($3)) = $4"
        );
        moved += sqlx::query(&statement)
            .bind(new)
            .bind(old)
            .bind(old)
            .bind(old)
            .execute(&store.pool)
            .await?
            .rows_affected();
    }
    Ok(moved)
}

/// Whether the database holds nothing a restore could overwrite (no user, document,
/// conversation or audit row).
pub async fn is_empty(store: &Store) -> anyhow::Result<bool> {
    for table in ["users", "documents", "conversations", "audit"] {
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&store.pool)
            .await?;
        if count > 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Replaces every table of `to` with the rows of `from`, read from one snapshot and written
/// in one transaction.
pub async fn copy_tables(from: &Store, to: &Store) -> anyhow::Result<()> {
    let mut source = from.pool.acquire().await?;
    let begin = match from.dialect {
        Dialect::Sqlite => "BEGIN",
        Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    };
    sqlx::query(begin).execute(&mut *source).await?;
    let mut target = to.pool.begin().await?;
    for table in TABLES.iter().rev() {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *target)
            .await?;
    }
    for table in TABLES {
        let columns = integer_columns(to, table).await?;
        let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
        let placeholders: Vec<String> = (1..=names.len()).map(|index| format!("${index}")).collect();
        let insert = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            names.join(", "),
            placeholders.join(", ")
        );
        let select = format!("SELECT {} FROM {table}", names.join(", "));
        let mut rows = sqlx::query(&select).fetch(&mut *source);
        while let Some(row) = rows.try_next().await? {
            let mut query = sqlx::query(&insert);
            for (index, (name, integer)) in columns.iter().enumerate() {
                let null = row.try_get_raw(index)?.is_null();
                query = match (integer, null) {
                    (true, true) => query.bind(None::<i64>),
                    (true, false) => query.bind(row.try_get::<i64, _>(index)?),
                    (false, true) => query.bind(None::<String>),
                    (false, false) => query.bind(
                        row.try_get::<String, _>(index)
                            .with_context(|| format!("reading {table}.{name}"))?,
                    ),
                };
            }
            query
                .execute(&mut *target)
                .await
                .with_context(|| format!("copying a row of {table}"))?;
        }
        drop(rows);
        // Identity columns continue after the copied ids (SQLite's AUTOINCREMENT does).
        if to.dialect == Dialect::Postgres && columns.iter().any(|(name, integer)| name == "id" && *integer) {
            let statement = format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"
            );
            sqlx::query(&statement).execute(&mut *target).await?;
        }
    }
    target.commit().await?;
    sqlx::query("COMMIT").execute(&mut *source).await?;
    Ok(())
}

/// The columns of `table` in `store`'s schema, each with whether it holds integers.
async fn integer_columns(store: &Store, table: &str) -> anyhow::Result<Vec<(String, bool)>> {
    let query = match store.dialect {
        Dialect::Sqlite => "SELECT name, type AS kind FROM pragma_table_info($1) ORDER BY cid",
        Dialect::Postgres => {
            "SELECT column_name::text AS name, data_type::text AS kind FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
        }
    };
    let rows = sqlx::query(query).bind(table).fetch_all(&store.pool).await?;
    let columns: Vec<(String, bool)> = rows
        .iter()
        .map(|row| {
            let kind: String = row.get("kind");
            (row.get("name"), kind.to_ascii_uppercase().contains("INT"))
        })
        .collect();
    if columns.is_empty() {
        bail!("the database has no table {table}");
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::{DocumentAccess, Role};
    use crate::store::testing::stores;
    use crate::store::{audit, conversations, documents, users};

    async fn fill(store: &Store) {
        let alice = users::add(store, "alice", "password-1", Role::Employee, &["finance".to_owned()])
            .await
            .unwrap();
        let first = documents::reserve_chunk_ids(store, 2).await.unwrap();
        let chunk = |id: u64, text: &str| documents::NewChunk {
            id,
            page: 1,
            heading: String::new(),
            start: 0,
            end: text.len(),
            text: text.to_owned(),
            language: "zh",
        };
        let version = documents::NewVersion {
            document_id: "d1".to_owned(),
            source: "报销制度.pdf".to_owned(),
            title: "报销制度".to_owned(),
            format: "pdf".to_owned(),
            sha256: "abc".to_owned(),
            version: 1,
            access: DocumentAccess::new(vec!["finance".to_owned()], false),
            pages: 1,
            ocr_pages: 0,
            unreadable_pages: 0,
            size_bytes: 10,
            file_path: None,
            chunks: vec![
                chunk(first, "差旅费用须在三十天内报销。"),
                chunk(first + 1, "No receipts, no refund."),
            ],
        };
        documents::write_version(store, &version).await.unwrap();
        let conversation = conversations::create(store, alice.id, "报销期限？").await.unwrap();
        let answer = serde_json::json!({ "answer": "三十天内。", "refused": false });
        conversations::add_turn(store, &conversation, "报销期限？", &answer)
            .await
            .unwrap();
        for action in ["login", "question", "upload"] {
            audit::append(store, "alice", action, serde_json::json!({ "n": 1 }))
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn tables_copy_into_either_dialect_and_keep_working() {
        let sources = stores().await;
        let source = &sources[0].store;
        fill(source).await;
        let key = sources[0].dir.path().join("audit.key");
        for test in stores().await {
            // The archive carries the audit key with the database.
            let target = test.reopen(&key).await;
            assert!(is_empty(&target).await.unwrap());
            copy_tables(source, &target).await.unwrap();
            assert!(!is_empty(&target).await.unwrap());
            assert_eq!(audit::verify(&target, &[]).await.unwrap().rows, 3);
            assert!(
                users::authenticate(&target, "alice", "password-1")
                    .await
                    .unwrap()
                    .is_some()
            );
            let chunks = documents::indexed_chunks(&target, None).await.unwrap();
            assert_eq!(chunks.len(), 2);
            assert_eq!(chunks[0].access.groups, ["finance"]);
            // Ids continue after the copied ones.
            let next = documents::reserve_chunk_ids(&target, 1).await.unwrap();
            assert_eq!(next, chunks.iter().map(|chunk| chunk.chunk_id).max().unwrap() + 1);
            users::add(&target, "bob", "password-2", Role::Employee, &[])
                .await
                .unwrap();
            audit::append(&target, "bob", "login", serde_json::json!({}))
                .await
                .unwrap();
            assert_eq!(audit::verify(&target, &[]).await.unwrap().rows, 4);

            // And back out again, as a backup writes it.
            let path = test.dir.path().join("copy.sqlite");
            write_copy(&target, &path).await.unwrap();
            let copy = Store::open_with_audit_key(&path, &key).await.unwrap();
            assert_eq!(audit::verify(&copy, &[]).await.unwrap().rows, 4);
            assert_eq!(users::list(&copy).await.unwrap().len(), 2);
            assert_eq!(copy.document_count().await.unwrap(), 1);
        }
    }
}
