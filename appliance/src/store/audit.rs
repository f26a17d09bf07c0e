//! The tamper-evident audit log: every row carries the SHA-256 of its content and of the
//! previous row, so editing or deleting any row breaks the chain from there on, and a seal
//! of that hash under a key kept outside the database, so the chain cannot be rewritten
//! consistently either ([`super::audit_seal`]).

use anyhow::bail;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

pub use super::audit_seal::{AuditKey, Head, append_checkpoint, read_checkpoints};
use super::{Dialect, Store};

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

/// Begins a transaction on `connection` that holds the audit log's write lock until it ends:
/// one writer at a time, whatever the number of nodes, so the newest hash read inside it is
/// still the newest when the row chained to it is committed.
async fn begin_locked(store: &Store, connection: &mut sqlx::AnyConnection) -> anyhow::Result<()> {
    match store.dialect {
        Dialect::Sqlite => {
            sqlx::query("BEGIN IMMEDIATE").execute(&mut *connection).await?;
        }
        Dialect::Postgres => {
            sqlx::query("BEGIN").execute(&mut *connection).await?;
            if let Err(error) = sqlx::query("LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *connection)
                .await
            {
                sqlx::query("ROLLBACK").execute(&mut *connection).await?;
                return Err(error.into());
            }
        }
    }
    Ok(())
}

/// Ends what [`begin_locked`] began: commits on success, rolls back on failure.
async fn end_locked<T>(connection: &mut sqlx::AnyConnection, result: anyhow::Result<T>) -> anyhow::Result<T> {
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    sqlx::query(end).execute(&mut *connection).await?;
    result
}

/// Appends one entry; appends are serialised by the audit log's lock.
pub async fn append(store: &Store, actor: &str, action: &str, detail: Value) -> anyhow::Result<()> {
    let detail = detail.to_string();
    let at = now();
    let mut connection = store.pool.acquire().await?;
    begin_locked(store, &mut connection).await?;
    let result = async {
        let previous: Option<String> = sqlx::query_scalar("SELECT hash FROM audit ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *connection)
            .await?;
        let previous = previous.unwrap_or_else(|| GENESIS.to_owned());
        let hash = row_hash(&previous, &at, actor, action, &detail);
        let seal = store.audit_key.seal(&hash);
        sqlx::query(
            "INSERT INTO audit (at, actor, action, detail, prev_hash, hash, seal) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&at)
        .bind(actor)
        .bind(action)
        .bind(&detail)
        .bind(&previous)
        .bind(&hash)
        .bind(&seal)
        .execute(&mut *connection)
        .await?;
        anyhow::Ok(())
    }
    .await;
    end_locked(&mut connection, result).await
}

/// What a purge removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Purged {
    pub rows: u64,
    /// The last purged row: the chain now starts after it.
    pub through_id: i64,
}

/// The seal of a purge marker: without the key, nobody can claim rows were purged.
fn purge_seal(key: &AuditKey, through_id: i64, through_hash: &str) -> String {
    key.seal(&format!("purge:{through_id}:{through_hash}"))
}

/// Deletes the rows written before `before` (seconds since the epoch, as rows record it),
/// always keeping the newest row, and leaves a sealed marker with the last purged row's id
/// and hash, from which [`verify`] checks the rest. `None` when nothing was old enough.
pub async fn purge_before(store: &Store, before: u64) -> anyhow::Result<Option<Purged>> {
    let mut connection = store.pool.acquire().await?;
    begin_locked(store, &mut connection).await?;
    let result = async {
        let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM audit")
            .fetch_one(&mut *connection)
            .await?;
        let Some(newest) = newest else {
            return anyhow::Ok(None);
        };
        // `at` is `SECONDS.MILLIS` with ten-digit seconds (until the year 2286): text order
        // is time order.
        let through: Option<(i64, String)> =
            sqlx::query_as("SELECT id, hash FROM audit WHERE at < $1 AND id < $2 ORDER BY id DESC LIMIT 1")
                .bind(format!("{before}.000"))
                .bind(newest)
                .fetch_optional(&mut *connection)
                .await?;
        let Some((through_id, through_hash)) = through else {
            return Ok(None);
        };
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit WHERE id <= $1")
            .bind(through_id)
            .fetch_one(&mut *connection)
            .await?;
        sqlx::query(
            "INSERT INTO audit_purges (through_id, through_hash, purged_rows, at, seal) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(through_id)
        .bind(&through_hash)
        .bind(rows)
        .bind(now())
        .bind(purge_seal(&store.audit_key, through_id, &through_hash))
        .execute(&mut *connection)
        .await?;
        sqlx::query("DELETE FROM audit WHERE id <= $1")
            .bind(through_id)
            .execute(&mut *connection)
            .await?;
        Ok(Some(Purged {
            rows: rows as u64,
            through_id,
        }))
    }
    .await;
    end_locked(&mut connection, result).await
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
         WHERE ($1 = '' OR actor = $2) AND ($3 = '' OR action LIKE $4 || '%') ORDER BY id DESC LIMIT $5",
    )
    .bind(actor)
    .bind(actor)
    .bind(action)
    .bind(action)
    .bind(limit)
    .fetch(&store.pool);
    let rows = collect_yielding(rows).await?;
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
    let rows = sqlx::query("SELECT at, detail FROM audit WHERE action = $1 ORDER BY id DESC LIMIT $2")
        .bind(action)
        .bind(limit)
        .fetch(&store.pool);
    let rows = collect_yielding(rows).await?;
    off_runtime(rows, |row| (row.get("at"), parse_detail(row))).await
}

/// Collects a query's rows, handing the runtime back every few rows: the `Any` driver
/// copies each row out of the database's own on the runtime thread, which for thousands of
/// rows with long answers would hold it for a tenth of a second.
async fn collect_yielding(
    mut rows: futures_util::stream::BoxStream<'_, Result<AnyRow, sqlx::Error>>,
) -> anyhow::Result<Vec<AnyRow>> {
    use futures_util::TryStreamExt;
    let mut collected = Vec::new();
    while let Some(row) = rows.try_next().await? {
        collected.push(row);
        if collected.len() % 64 == 0 {
            tokio::task::yield_now().await;
        }
    }
    Ok(collected)
}

/// A row's JSON detail, `null` where it is not JSON.
fn parse_detail(row: &AnyRow) -> Value {
    serde_json::from_str(row.get::<&str, _>("detail")).unwrap_or(Value::Null)
}

/// Reads `rows` on a blocking thread: the dashboard folds twenty thousand rows and an
/// export holds up to a hundred thousand, each with its JSON detail to parse.
async fn off_runtime<T: Send + 'static>(rows: Vec<AnyRow>, read: fn(&AnyRow) -> T) -> anyhow::Result<Vec<T>> {
    let read = tokio::task::spawn_blocking(move || rows.iter().map(read).collect()).await?;
    Ok(read)
}

/// What a successful check covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub rows: u64,
    /// Rows carrying a seal (the others were written before sealing began).
    pub sealed: u64,
    /// Checkpoints whose row is still there, unchanged (or purged, under a sealed marker).
    pub checkpoints: usize,
    /// The last row removed by a retention purge (0: none was).
    pub purged_through: i64,
}

/// The chain's head now.
pub async fn head(store: &Store) -> anyhow::Result<Head> {
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit")
        .fetch_one(&store.pool)
        .await?;
    let newest: Option<(i64, String, Option<String>)> =
        sqlx::query_as("SELECT id, hash, seal FROM audit ORDER BY id DESC LIMIT 1")
            .fetch_optional(&store.pool)
            .await?;
    let (id, hash, seal) = newest.unwrap_or_else(|| (0, GENESIS.to_owned(), None));
    Ok(Head {
        at: now(),
        rows: rows as u64,
        id,
        hash,
        seal,
    })
}

/// Appends the chain's head now to the checkpoint file at `path` (off the runtime); returns
/// it when it was written (not when the file already ends with it).
pub async fn checkpoint(store: &Store, path: std::path::PathBuf) -> anyhow::Result<Option<Head>> {
    let head = head(store).await?;
    tokio::task::spawn_blocking(move || Ok(append_checkpoint(&path, &head)?.then_some(head))).await?
}

/// Checks the whole chain, every seal, and each of `checkpoints` (heads recorded earlier,
/// outside the database): detects an edited, deleted, re-chained or cut row. Reading and
/// hashing run on a blocking thread: the log grows with every search.
pub async fn verify(store: &Store, checkpoints: &[Head]) -> anyhow::Result<Verified> {
    let rows = sqlx::query("SELECT id, at, actor, action, detail, prev_hash, hash, seal FROM audit ORDER BY id")
        .fetch(&store.pool);
    let rows = collect_yielding(rows).await?;
    let purge: Option<(i64, String, String)> =
        sqlx::query_as("SELECT through_id, through_hash, seal FROM audit_purges ORDER BY through_id DESC LIMIT 1")
            .fetch_optional(&store.pool)
            .await?;
    let key = store.audit_key.clone();
    let checkpoints = checkpoints.to_vec();
    tokio::task::spawn_blocking(move || verify_rows(&rows, &key, &checkpoints, purge)).await?
}

/// `purge` is the newest purge marker (last purged row's id and hash, seal): the chain
/// starts from its hash instead of the genesis hash.
fn verify_rows(
    rows: &[AnyRow],
    key: &AuditKey,
    checkpoints: &[Head],
    purge: Option<(i64, String, String)>,
) -> anyhow::Result<Verified> {
    let (purged_through, mut previous) = match purge {
        Some((through_id, through_hash, seal)) => {
            if seal != purge_seal(key, through_id, &through_hash) {
                bail!(
                    "the purge marker through audit row {through_id} is not sealed by this appliance's audit key: \
                     rows were deleted around the appliance"
                );
            }
            (through_id, through_hash)
        }
        None => (0, GENESIS.to_owned()),
    };
    let (mut count, mut sealed) = (0, 0);
    // Only the rows a checkpoint names are looked up again: keep just their hashes.
    let wanted: std::collections::HashSet<i64> = checkpoints.iter().map(|checkpoint| checkpoint.id).collect();
    let mut hashes = std::collections::HashMap::with_capacity(wanted.len());
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
        match row.get::<Option<&str>, _>("seal") {
            Some(seal) if seal != key.seal(&expected) => bail!(
                "audit row {id}: its seal does not match: the row was rewritten, or {key:?} is not the key that sealed it"
            ),
            Some(_) => sealed += 1,
            None if sealed > 0 => bail!("audit row {id} has no seal: it was written around the appliance"),
            None => {}
        }
        if wanted.contains(&id) {
            hashes.insert(id, expected.clone());
        }
        previous = expected;
        count += 1;
    }
    for checkpoint in checkpoints {
        // A purged row cannot be compared; its checkpoint's seal is still checked.
        let row = match hashes.get(&checkpoint.id) {
            None if checkpoint.id <= purged_through => Some(checkpoint.hash.as_str()),
            row => row.map(String::as_str),
        };
        super::audit_seal::check_checkpoint(key, checkpoint, row)?;
    }
    Ok(Verified {
        rows: count,
        sealed,
        checkpoints: checkpoints.len(),
        purged_through,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::store::testing::{TestStore, stores};

    /// Each store of the suite, holding `rows` rows.
    async fn logs_of(rows: usize) -> Vec<TestStore> {
        let tests = stores().await;
        for test in &tests {
            for index in 0..rows {
                append(&test.store, "alice", "search", serde_json::json!({ "query": index }))
                    .await
                    .unwrap();
            }
        }
        tests
    }

    async fn execute(store: &Store, statement: &str) {
        sqlx::query(statement).execute(&store.pool).await.unwrap();
    }

    fn error_of(result: anyhow::Result<Verified>) -> String {
        format!("{:#}", result.unwrap_err())
    }

    #[tokio::test]
    async fn edits_and_deletions_are_detected() {
        for test in logs_of(3).await {
            let store = test.store.clone();
            assert_eq!(verify(&store, &[]).await.unwrap().rows, 3);
            execute(&store, "UPDATE audit SET detail = '{\"query\":9}' WHERE id = 2").await;
            assert!(error_of(verify(&store, &[]).await).contains("row 2"));
            execute(&store, "UPDATE audit SET detail = '{\"query\":1}' WHERE id = 2").await;
            assert_eq!(verify(&store, &[]).await.unwrap().sealed, 3);
            execute(&store, "DELETE FROM audit WHERE id = 2").await;
            assert!(error_of(verify(&store, &[]).await).contains("row 3"));
        }
    }

    #[tokio::test]
    async fn a_consistently_rewritten_chain_is_detected_by_its_seals() {
        for test in logs_of(3).await {
            let store = test.store.clone();
            let checkpoint = head(&store).await.unwrap();
            // What someone with write access to the database alone can do: rewrite a row and
            // recompute every hash after it.
            let rows: Vec<(i64, String, String, String, String)> =
                sqlx::query_as("SELECT id, at, actor, action, detail FROM audit ORDER BY id")
                    .fetch_all(&store.pool)
                    .await
                    .unwrap();
            let mut previous = GENESIS.to_owned();
            for (id, at, actor, action, detail) in rows {
                let detail = if id == 2 {
                    "{\"query\":\"forged\"}".to_owned()
                } else {
                    detail
                };
                let hash = row_hash(&previous, &at, &actor, &action, &detail);
                sqlx::query("UPDATE audit SET detail = $1, prev_hash = $2, hash = $3 WHERE id = $4")
                    .bind(&detail)
                    .bind(&previous)
                    .bind(&hash)
                    .bind(id)
                    .execute(&store.pool)
                    .await
                    .unwrap();
                previous = hash;
            }
            assert!(error_of(verify(&store, &[]).await).contains("row 2: its seal does not match"));
            // Dropping every seal makes the rows look older than sealing: the chain alone then
            // verifies, and a checkpoint taken before the rewrite is what catches it.
            execute(&store, "UPDATE audit SET seal = NULL").await;
            assert_eq!(verify(&store, &[]).await.unwrap().sealed, 0);
            assert!(error_of(verify(&store, &[checkpoint]).await).contains("row 3 differs from the checkpoint"));
        }
    }

    #[tokio::test]
    async fn cutting_the_newest_rows_is_detected_by_a_checkpoint() {
        for test in logs_of(4).await {
            let store = test.store.clone();
            let checkpoints = test.dir.path().join("checkpoints.jsonl");
            assert!(append_checkpoint(&checkpoints, &head(&store).await.unwrap()).unwrap());
            assert!(
                !append_checkpoint(&checkpoints, &head(&store).await.unwrap()).unwrap(),
                "unchanged head"
            );
            append(&store, "bob", "search", serde_json::json!({})).await.unwrap();
            assert!(append_checkpoint(&checkpoints, &head(&store).await.unwrap()).unwrap());
            let recorded = read_checkpoints(&checkpoints).unwrap();
            assert_eq!(recorded.len(), 2);
            assert_eq!(verify(&store, &recorded).await.unwrap().checkpoints, 2);

            execute(&store, "DELETE FROM audit WHERE id >= 4").await;
            let error = error_of(verify(&store, &recorded).await);
            assert!(
                error.contains("row 4 is gone") && error.contains("truncated"),
                "{error}"
            );
            // Without the checkpoint, the shorter chain is consistent: this is what they are for.
            assert_eq!(verify(&store, &[]).await.unwrap().rows, 3);

            // New rows in place of the cut ones (the id sequence reset) do not match either.
            let reset = match store.dialect() {
                Dialect::Sqlite => "UPDATE sqlite_sequence SET seq = 3 WHERE name = 'audit'",
                Dialect::Postgres => "SELECT setval(pg_get_serial_sequence('audit', 'id'), 3)",
            };
            execute(&store, reset).await;
            append(&store, "mallory", "search", serde_json::json!({}))
                .await
                .unwrap();
            assert!(error_of(verify(&store, &recorded).await).contains("differs from the checkpoint"));
        }
    }

    #[tokio::test]
    async fn a_purge_keeps_the_rest_verifiable_and_cuts_after_it_are_detected() {
        for test in logs_of(5).await {
            let store = test.store.clone();
            let early = head(&store).await.unwrap();
            // Everything is older than a moment in the future; the newest row stays.
            let purged = purge_before(&store, 9_999_999_999).await.unwrap().unwrap();
            assert_eq!(purged, Purged { rows: 4, through_id: 4 });
            append(&store, "system", "audit.purge", serde_json::json!({}))
                .await
                .unwrap();
            let verified = verify(&store, &[early]).await.unwrap();
            assert_eq!(
                (verified.rows, verified.purged_through, verified.checkpoints),
                (2, 4, 1)
            );
            assert_eq!(purge_before(&store, 0).await.unwrap(), None, "nothing is that old");

            // Rows cut right after the purged range break the chain at the marker's hash.
            execute(&store, "DELETE FROM audit WHERE id = 5").await;
            assert!(error_of(verify(&store, &[]).await).contains("row 6: the chain is broken"));
        }
        for test in logs_of(3).await {
            let store = test.store.clone();
            purge_before(&store, 9_999_999_999).await.unwrap().unwrap();
            // A marker moved to cover more rows is not sealed by the key...
            execute(&store, "UPDATE audit_purges SET through_id = 3").await;
            assert!(error_of(verify(&store, &[]).await).contains("not sealed"));
            // ... and without any marker the chain does not start at the genesis hash.
            execute(&store, "DELETE FROM audit_purges").await;
            assert!(error_of(verify(&store, &[]).await).contains("row 3: the chain is broken"));
        }
    }

    #[tokio::test]
    async fn rows_written_before_sealing_are_accepted_only_before_the_first_sealed_row() {
        for test in logs_of(3).await {
            let store = test.store.clone();
            execute(&store, "UPDATE audit SET seal = NULL WHERE id = 1").await;
            assert_eq!(verify(&store, &[]).await.unwrap().sealed, 2);
            execute(&store, "UPDATE audit SET seal = NULL WHERE id = 3").await;
            assert!(error_of(verify(&store, &[]).await).contains("row 3 has no seal"));
        }
    }

    #[tokio::test]
    async fn another_key_does_not_verify_the_seals() {
        for test in logs_of(2).await {
            let store = test.store.clone();
            std::fs::remove_file(test.dir.path().join("audit.key")).unwrap();
            let reopened = test.reopen(&test.dir.path().join("audit.key")).await;
            assert!(error_of(verify(&reopened, &[]).await).contains("row 1: its seal does not match"));
            drop(store);
        }
    }
}
