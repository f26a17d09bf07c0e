//! Ingest jobs: one row per file, moving through [`JobState`]s, so an upload's fate is
//! visible to people and a crash resumes where it stopped.

use std::fmt;

use serde::Serialize;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{NOW, Store, groups_from_json};
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
    Ok(sqlx::query(
        "INSERT INTO jobs (source, name, file_path, status, groups_json, public, actor, reindex, target_document) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(job.source)
    .bind(job.name)
    .bind(job.file_path)
    .bind(job.state.as_str())
    .bind(serde_json::to_string(&job.access.groups)?)
    .bind(job.access.public)
    .bind(job.actor)
    .bind(job.reindex)
    .bind(job.target_document)
    .execute(&store.pool)
    .await?
    .last_insert_rowid())
}

/// Takes the oldest queued job, marking it as parsing in the same statement.
pub async fn claim(store: &Store) -> anyhow::Result<Option<Job>> {
    let sql = format!(
        "UPDATE jobs SET status = 'parsing', updated_at = {NOW} \
         WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1) \
         RETURNING id, source, file_path, name, groups_json, public, actor, reindex, target_document"
    );
    let row = sqlx::query(&sql).fetch_optional(&store.pool).await?;
    Ok(row.map(|row| Job {
        id: row.get("id"),
        source: row.get("source"),
        file_path: row.get("file_path"),
        name: row.get("name"),
        access: DocumentAccess::new(groups_from_json(row.get("groups_json")), row.get("public")),
        actor: row.get("actor"),
        reindex: row.get("reindex"),
        target_document: row.get("target_document"),
    }))
}

/// Moves a running job on (`parsing` to `embedding`).
pub async fn set_state(store: &Store, id: i64, state: JobState) -> anyhow::Result<()> {
    let sql = format!("UPDATE jobs SET status = ?, updated_at = {NOW} WHERE id = ?");
    sqlx::query(&sql)
        .bind(state.as_str())
        .bind(id)
        .execute(&store.pool)
        .await?;
    Ok(())
}

/// Marks a job done, with what became of it.
pub async fn finish(store: &Store, id: i64, document_id: &str, detail: &str) -> anyhow::Result<()> {
    let sql = format!(
        "UPDATE jobs SET status = 'indexed', error = NULL, document_id = ?, detail = ?, updated_at = {NOW} WHERE id = ?"
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
    let sql = format!("UPDATE jobs SET status = 'failed', error = ?, updated_at = {NOW} WHERE id = ?");
    sqlx::query(&sql).bind(error).bind(id).execute(&store.pool).await?;
    Ok(())
}

/// Puts jobs a crash or kill interrupted back on the queue; returns how many.
pub async fn requeue_interrupted(store: &Store) -> anyhow::Result<u64> {
    let sql = format!("UPDATE jobs SET status = 'queued', updated_at = {NOW} WHERE status IN ('parsing', 'embedding')");
    Ok(sqlx::query(&sql).execute(&store.pool).await?.rows_affected())
}

fn status_from_row(row: &SqliteRow) -> JobStatus {
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
    let rows = sqlx::query("SELECT * FROM jobs ORDER BY id DESC LIMIT ?")
        .bind(limit)
        .fetch_all(&store.pool)
        .await?;
    Ok(rows.iter().map(status_from_row).collect())
}
