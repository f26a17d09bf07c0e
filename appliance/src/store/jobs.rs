//! Ingest jobs: one row per file, moving through [`JobState`]s, so an upload's fate is
//! visible to people and a crash resumes where it stopped.

use std::fmt;

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Dialect, Store, flag, groups_from_json};
use crate::acl::DocumentAccess;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Parsing,
    Embedding,
    Indexed,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Parsing => "parsing",
            JobState::Embedding => "embedding",
            JobState::Indexed => "indexed",
            JobState::Failed => "failed",
        }
    }

    fn parse(name: &str) -> Self {
        match name {
            "queued" => JobState::Queued,
            "parsing" => JobState::Parsing,
            "embedding" => JobState::Embedding,
            "indexed" => JobState::Indexed,
            // The column's CHECK constraint admits nothing else.
            _ => JobState::Failed,
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A job to add.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    /// A path, or the upload's name.
    pub source: &'a str,
    /// The upload's display name.
    pub name: Option<&'a str>,
    /// Where the upload's bytes are stored until the job is done.
    pub file_path: Option<&'a str>,
    pub state: JobState,
    pub access: &'a DocumentAccess,
    pub actor: &'a str,
    /// Parse again even if unchanged; the stored file belongs to the document.
    pub reindex: bool,
    /// The document this job makes a new version of (`None`: decided by `source`).
    pub target_document: Option<&'a str>,
    /// The node running it, for a job that starts running at once.
    pub claimed_by: Option<&'a str>,
}

/// A job taken off the queue.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub source: String,
    pub file_path: Option<String>,
    pub name: Option<String>,
    pub access: DocumentAccess,
    pub actor: String,
    pub reindex: bool,
    pub target_document: Option<String>,
}

/// A job as the admin pages show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobStatus {
    pub id: i64,
    pub name: String,
    pub status: JobState,
    pub error: Option<String>,
    pub detail: Option<String>,
    pub document_id: Option<String>,
    pub actor: String,
    pub created_at: String,
    pub updated_at: String,
}

pub async fn insert(store: &Store, job: &NewJob<'_>) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO jobs (source, name, file_path, status, groups_json, public, actor, reindex, target_document, \
         claimed_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(job.source)
    .bind(job.name)
    .bind(job.file_path)
    .bind(job.state.as_str())
    .bind(serde_json::to_string(&job.access.groups)?)
    .bind(i64::from(job.access.public))
    .bind(job.actor)
    .bind(i64::from(job.reindex))
    .bind(job.target_document)
    .bind(job.claimed_by)
    .fetch_one(&store.pool)
    .await?)
}

/// Takes the oldest queued job for `node`, marking it as parsing in the same statement: of
/// several workers (on several nodes) asking at once, exactly one gets each job. SQLite has
/// one writer at a time; PostgreSQL locks the row, and the others skip it.
pub async fn claim(store: &Store, node: &str) -> anyhow::Result<Option<Job>> {
    let now = store.now();
    let lock = match store.dialect {
        Dialect::Sqlite => "",
        Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE jobs SET status = 'parsing', claimed_by = $1, updated_at = {now} \
         WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1{lock}) \
         RETURNING id, source, file_path, name, groups_json, public, actor, reindex, target_document"
    );
    let row = sqlx::query(&sql).bind(node).fetch_optional(&store.pool).await?;
    Ok(row.map(|row| Job {
        id: row.get("id"),
        source: row.get("source"),
        file_path: row.get("file_path"),
        name: row.get("name"),
        access: DocumentAccess::new(groups_from_json(row.get("groups_json")), flag(&row, "public")),
        actor: row.get("actor"),
        reindex: flag(&row, "reindex"),
        target_document: row.get("target_document"),
    }))
}

/// Moves a running job on (`parsing` to `embedding`).
pub async fn set_state(store: &Store, id: i64, state: JobState) -> anyhow::Result<()> {
    let now = store.now();
    let sql = format!("UPDATE jobs SET status = $1, updated_at = {now} WHERE id = $2");
    sqlx::query(&sql)
        .bind(state.as_str())
        .bind(id)
        .execute(&store.pool)
        .await?;
    Ok(())
}

/// Marks a job done, with what became of it.
pub async fn finish(store: &Store, id: i64, document_id: &str, detail: &str) -> anyhow::Result<()> {
    let now = store.now();
    let sql = format!(
        "UPDATE jobs SET status = 'indexed', error = NULL, document_id = $1, detail = $2, updated_at = {now} WHERE id = $3"
    );
    sqlx::query(&sql)
        .bind(document_id)
        .bind(detail)
        .bind(id)
        .execute(&store.pool)
        .await?;
    Ok(())
}

/// Marks a job failed with the reason people will read.
pub async fn fail(store: &Store, id: i64, error: &str) -> anyhow::Result<()> {
    let now = store.now();
    let sql = format!("UPDATE jobs SET status = 'failed', error = $1, updated_at = {now} WHERE id = $2");
    sqlx::query(&sql).bind(error).bind(id).execute(&store.pool).await?;
    Ok(())
}

/// Marks a running job as alive (its heartbeat).
pub async fn touch(store: &Store, id: i64) -> anyhow::Result<()> {
    let now = store.now();
    let sql = format!("UPDATE jobs SET updated_at = {now} WHERE id = $1 AND status IN ('parsing', 'embedding')");
    sqlx::query(&sql).bind(id).execute(&store.pool).await?;
    Ok(())
}

/// Puts back on the queue the running jobs that were interrupted: those `node` had claimed
/// (it restarted, so none of them still runs), those no node claimed (older rows), and
/// those whose heartbeat stopped before `stale_before` (their node died; a timestamp in the
/// stored format). Returns how many.
pub async fn requeue_interrupted(store: &Store, node: &str, stale_before: &str) -> anyhow::Result<u64> {
    let now = store.now();
    let sql = format!(
        "UPDATE jobs SET status = 'queued', claimed_by = NULL, updated_at = {now} \
         WHERE status IN ('parsing', 'embedding') AND (claimed_by IS NULL OR claimed_by = $1 OR updated_at < $2)"
    );
    Ok(sqlx::query(&sql)
        .bind(node)
        .bind(stale_before)
        .execute(&store.pool)
        .await?
        .rows_affected())
}

fn status_from_row(row: &AnyRow) -> JobStatus {
    let source: String = row.get("source");
    let name: Option<String> = row.get("name");
    JobStatus {
        id: row.get("id"),
        name: name.unwrap_or_else(|| super::documents::file_name(&source)),
        status: JobState::parse(row.get("status")),
        error: row.get("error"),
        detail: row.get("detail"),
        document_id: row.get("document_id"),
        actor: row.get("actor"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

/// The most recent jobs, newest first.
pub async fn recent(store: &Store, limit: i64) -> anyhow::Result<Vec<JobStatus>> {
    let rows = sqlx::query("SELECT * FROM jobs ORDER BY id DESC LIMIT $1")
        .bind(limit)
        .fetch_all(&store.pool)
        .await?;
    Ok(rows.iter().map(status_from_row).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::stores;

    fn queued<'a>(source: &'a str, access: &'a DocumentAccess) -> NewJob<'a> {
        NewJob {
            source,
            name: None,
            file_path: None,
            state: JobState::Queued,
            access,
            actor: "editor",
            reindex: false,
            target_document: None,
            claimed_by: None,
        }
    }

    #[tokio::test]
    async fn workers_on_two_connections_claim_each_job_exactly_once() {
        for test in stores().await {
            let access = DocumentAccess::new(Vec::new(), true);
            let mut inserted = Vec::new();
            for index in 0..40 {
                let source = format!("file-{index}.txt");
                inserted.push(insert(&test.store, &queued(&source, &access)).await.unwrap());
            }
            // A second pool on the same database stands for a second node.
            let other = test.reopen(&test.dir.path().join("audit.key")).await;
            let worker = |store: Store| async move {
                let mut claimed = Vec::new();
                while let Some(job) = claim(&store, "node-a").await.unwrap() {
                    claimed.push(job.id);
                }
                claimed
            };
            let workers: Vec<_> = [test.store.clone(), test.store.clone(), other.clone(), other]
                .into_iter()
                .map(|store| tokio::spawn(worker(store)))
                .collect();
            let mut claimed = Vec::new();
            for worker in workers {
                claimed.extend(worker.await.unwrap());
            }
            claimed.sort_unstable();
            assert_eq!(
                claimed,
                inserted,
                "every job claimed, none twice ({:?})",
                test.store.dialect()
            );

            let statuses = recent(&test.store, 100).await.unwrap();
            assert!(statuses.iter().all(|job| job.status == JobState::Parsing));
            assert_eq!(requeue_interrupted(&test.store, "node-a", "").await.unwrap(), 40);
            fail(&test.store, inserted[0], "unreadable").await.unwrap();
            finish(&test.store, inserted[1], "doc", "3 pages").await.unwrap();
            let statuses = recent(&test.store, 100).await.unwrap();
            assert_eq!(statuses.last().unwrap().error.as_deref(), Some("unreadable"));
            assert_eq!(statuses[statuses.len() - 2].status, JobState::Indexed);
        }
    }

    /// Before: a node that started put back every running job, so a second node's start
    /// made the first one's job run twice.
    #[tokio::test]
    async fn a_starting_node_requeues_only_its_own_or_abandoned_jobs() {
        for test in stores().await {
            let access = DocumentAccess::new(Vec::new(), true);
            for source in ["a.txt", "b.txt"] {
                insert(&test.store, &queued(source, &access)).await.unwrap();
            }
            let first = claim(&test.store, "node-a").await.unwrap().unwrap();
            let second = claim(&test.store, "node-b").await.unwrap().unwrap();
            touch(&test.store, first.id).await.unwrap();
            let long_ago = "2000-01-01T00:00:00.000Z";
            assert_eq!(requeue_interrupted(&test.store, "node-c", long_ago).await.unwrap(), 0);
            assert_eq!(requeue_interrupted(&test.store, "node-b", long_ago).await.unwrap(), 1);
            assert_eq!(claim(&test.store, "node-c").await.unwrap().unwrap().id, second.id);
            // Node a stopped beating: once its heartbeat is older than the cut, anyone may.
            assert_eq!(requeue_interrupted(&test.store, "node-e", long_ago).await.unwrap(), 0);
            let future = "2999-01-01T00:00:00.000Z";
            assert_eq!(requeue_interrupted(&test.store, "node-d", future).await.unwrap(), 2);
        }
    }
}
