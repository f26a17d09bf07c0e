//! Documents in: parse, chunk, embed, then write SQLite, tantivy and the vector store.
//!
//! Every file is a persistent job (queued, parsing, embedding, indexed or failed with its
//! reason). The command line runs its jobs inline; the server queues uploads and runs them
//! on a small pool of workers. A job interrupted by a crash is queued again on restart.
//!
//! A new version replaces the old one without a window in which search sees both or
//! neither: the new chunks are written to both indexes under new ids, then one SQLite
//! transaction swaps the chunk rows (search keeps only hits whose row exists), and only
//! then are the old ids removed from the indexes.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use rand::Rng;
use retrieval::access::chunk_tokens;
use retrieval::{KeywordChunk, VectorPoint};
use serde::Serialize;
use sqlx::Row;

use super::Engine;

/// Who may read an ingested document.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    pub groups: Vec<String>,
    /// Readable by every employee (the default for the command line).
    pub public: bool,
    /// Who asked, for the audit log.
    pub actor: String,
}

/// What happened to one file.
#[derive(Debug, Clone, Serialize)]
pub struct IngestOutcome {
    pub source: String,
    pub document_id: String,
    /// `indexed`, `updated`, `unchanged` or `duplicate`.
    pub status: &'static str,
    pub pages: usize,
    /// Pages whose text could not be read at all and were left out.
    pub unreadable_pages: usize,
    /// Pages read by OCR.
    pub ocr_pages: usize,
    pub chunks: usize,
    pub embed_seconds: f64,
    pub seconds: f64,
}

impl IngestOutcome {
    fn detail(&self) -> String {
        match self.status {
            "unchanged" => "unchanged (same content as the indexed version)".to_owned(),
            "duplicate" => format!("duplicate of document {}", self.document_id),
            _ => {
                let mut detail = format!("{} pages, {} chunks", self.pages, self.chunks);
                if self.ocr_pages > 0 {
                    detail.push_str(&format!(", {} pages by OCR", self.ocr_pages));
                }
                if self.unreadable_pages > 0 {
                    detail.push_str(&format!(", {} unreadable pages left out", self.unreadable_pages));
                }
                detail
            }
        }
    }
}

/// A job as the admin UI shows it.
#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub error: Option<String>,
    pub detail: Option<String>,
    pub document_id: Option<String>,
    pub actor: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A job taken off the queue.
struct ClaimedJob {
    id: i64,
    source: String,
    file_path: Option<String>,
    name: Option<String>,
    options: IngestOptions,
    /// Parse again even if unchanged; the stored file belongs to the document.
    reindex: bool,
}

fn new_document_id() -> String {
    hex::encode(rand::rng().random::<[u8; 8]>())
}

/// The name a parser sees: the upload's name, else the last component of the source path.
fn file_name_of(source: &str, name: Option<&str>) -> String {
    name.map(str::to_owned).unwrap_or_else(|| {
        Path::new(source)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    })
}

async fn set_job(
    engine: &Engine,
    job: i64,
    status: &str,
    error: Option<&str>,
    document: Option<&str>,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE jobs SET status = ?, error = ?, document_id = COALESCE(?, document_id), \
         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
    )
    .bind(status)
    .bind(error)
    .bind(document)
    .bind(job)
    .execute(&engine.db)
    .await?;
    Ok(())
}

fn job_status(row: &sqlx::sqlite::SqliteRow) -> JobStatus {
    let source: String = row.get("source");
    let name: Option<String> = row.get("name");
    JobStatus {
        id: row.get("id"),
        name: file_name_of(&source, name.as_deref()),
        status: row.get("status"),
        error: row.get("error"),
        detail: row.get("detail"),
        document_id: row.get("document_id"),
        actor: row.get("actor"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

impl Engine {
    /// Ingests one file as a persistent job, now; the job row records failure reasons.
    pub async fn ingest_file(&self, path: &Path, options: &IngestOptions) -> anyhow::Result<IngestOutcome> {
        let source = path
            .canonicalize()
            .unwrap_or_else(|_| path.to_owned())
            .to_string_lossy()
            .into_owned();
        let bytes = tokio::fs::read(path)
            .await
            .with_context(|| format!("reading {}", path.display()));
        self.ingest_bytes(&source, bytes, options).await
    }

    /// Ingests `bytes` known as `source` (a path or an upload name; its extension decides
    /// the parser) now. A read error is recorded on the job like any other failure.
    pub async fn ingest_bytes(
        &self,
        source: &str,
        bytes: anyhow::Result<Vec<u8>>,
        options: &IngestOptions,
    ) -> anyhow::Result<IngestOutcome> {
        let job = self.insert_job(source, None, None, "parsing", options).await?;
        let claimed = ClaimedJob {
            id: job,
            source: source.to_owned(),
            file_path: None,
            name: None,
            options: options.clone(),
            reindex: false,
        };
        self.run_job(claimed, bytes).await
    }

    async fn insert_job(
        &self,
        source: &str,
        name: Option<&str>,
        file_path: Option<&str>,
        status: &str,
        options: &IngestOptions,
    ) -> anyhow::Result<i64> {
        Ok(sqlx::query(
            "INSERT INTO jobs (source, name, file_path, status, groups_json, public, actor) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(source)
        .bind(name)
        .bind(file_path)
        .bind(status)
        .bind(serde_json::to_string(&options.groups)?)
        .bind(options.public)
        .bind(&options.actor)
        .execute(&self.db)
        .await?
        .last_insert_rowid())
    }

    /// Queues a job for a file on disk (the server's `--ingest`); a worker ingests it.
    pub async fn enqueue_path(&self, path: &Path, options: &IngestOptions) -> anyhow::Result<i64> {
        let source = path
            .canonicalize()
            .unwrap_or_else(|_| path.to_owned())
            .to_string_lossy()
            .into_owned();
        let job = self.insert_job(&source, None, None, "queued", options).await?;
        self.jobs_queued.notify_one();
        Ok(job)
    }

    /// Queues a document to be parsed, chunked and embedded again from its stored file (or
    /// its source path), with its current permissions. `None` when there is no such document.
    pub async fn enqueue_reindex(&self, document_id: &str, actor: &str) -> anyhow::Result<Option<i64>> {
        let Some(row) = sqlx::query("SELECT source, file_path, groups_json, public FROM documents WHERE id = ?")
            .bind(document_id)
            .fetch_optional(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let source: String = row.get("source");
        let file_path: Option<String> = row.get("file_path");
        let options = IngestOptions {
            groups: serde_json::from_str(row.get::<&str, _>("groups_json")).unwrap_or_default(),
            public: row.get("public"),
            actor: actor.to_owned(),
        };
        let name = file_path.as_ref().map(|_| source.clone());
        let job = self
            .insert_job(&source, name.as_deref(), file_path.as_deref(), "queued", &options)
            .await?;
        sqlx::query("UPDATE jobs SET reindex = 1 WHERE id = ?")
            .bind(job)
            .execute(&self.db)
            .await?;
        crate::audit::append(
            &self.db,
            actor,
            "reindex",
            serde_json::json!({ "document": document_id, "job": job }),
        )
        .await?;
        self.jobs_queued.notify_one();
        Ok(Some(job))
    }

    /// Stores an upload and queues its job; a worker ingests it. `name` must already be
    /// a safe display name (see [`ingest::display_name`]).
    pub async fn enqueue_upload(&self, name: &str, bytes: Vec<u8>, options: &IngestOptions) -> anyhow::Result<i64> {
        let directory = self.settings.uploads_dir();
        tokio::fs::create_dir_all(&directory).await?;
        let extension = Path::new(name)
            .extension()
            .map(|extension| extension.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        // The stored name is ours, never the user's: no path tricks reach the disk.
        let path = directory.join(format!("{}.{extension}", new_document_id()));
        tokio::fs::write(&path, &bytes)
            .await
            .with_context(|| format!("storing the upload in {}", path.display()))?;
        let path = path.to_string_lossy().into_owned();
        let job = self
            .insert_job(name, Some(name), Some(&path), "queued", options)
            .await?;
        self.jobs_queued.notify_one();
        Ok(job)
    }

    /// Starts `count` workers that run queued jobs until the process ends.
    pub fn spawn_ingest_workers(&self, count: usize) {
        for worker in 0..count {
            let engine = self.clone();
            tokio::spawn(async move {
                loop {
                    match engine.claim_job().await {
                        Ok(Some(job)) => {
                            let bytes = engine.job_bytes(&job).await;
                            let name = job.name.clone().unwrap_or_else(|| job.source.clone());
                            match engine.run_job(job, bytes).await {
                                Ok(outcome) => tracing::info!(worker, name, status = outcome.status, "ingested"),
                                Err(error) => tracing::warn!(worker, name, "ingest failed: {error:#}"),
                            }
                            if let Err(error) = engine.optimize().await {
                                tracing::warn!("optimising the vector index: {error:#}");
                            }
                        }
                        Ok(None) => {
                            let _ =
                                tokio::time::timeout(std::time::Duration::from_secs(5), engine.jobs_queued.notified())
                                    .await;
                        }
                        Err(error) => {
                            tracing::error!("reading the job queue: {error:#}");
                            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                        }
                    }
                }
            });
        }
    }

    /// Takes the oldest queued job, marking it as parsing in the same statement.
    async fn claim_job(&self) -> anyhow::Result<Option<ClaimedJob>> {
        let row = sqlx::query(
            "UPDATE jobs SET status = 'parsing', updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
             WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1) \
             RETURNING id, source, file_path, name, groups_json, public, actor, reindex",
        )
        .fetch_optional(&self.db)
        .await?;
        Ok(row.map(|row| ClaimedJob {
            id: row.get("id"),
            source: row.get("source"),
            file_path: row.get("file_path"),
            name: row.get("name"),
            options: IngestOptions {
                groups: serde_json::from_str(row.get::<&str, _>("groups_json")).unwrap_or_default(),
                public: row.get("public"),
                actor: row.get("actor"),
            },
            reindex: row.get("reindex"),
        }))
    }

    async fn job_bytes(&self, job: &ClaimedJob) -> anyhow::Result<Vec<u8>> {
        let path = job.file_path.as_deref().unwrap_or(&job.source);
        tokio::fs::read(path)
            .await
            .with_context(|| format!("reading the stored file {path}"))
    }

    /// Puts jobs a crash or kill interrupted back on the queue (server start).
    pub async fn requeue_interrupted(&self) -> anyhow::Result<u64> {
        let requeued = sqlx::query(
            "UPDATE jobs SET status = 'queued', updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
             WHERE status IN ('parsing', 'embedding')",
        )
        .execute(&self.db)
        .await?
        .rows_affected();
        if requeued > 0 {
            tracing::info!(requeued, "interrupted ingest jobs queued again");
            self.jobs_queued.notify_waiters();
        }
        Ok(requeued)
    }

    /// Runs, inline and in order, every job a crash or kill interrupted and every queued
    /// job (the command line). Indexes are written per document, so a half-written
    /// document is replaced whole.
    pub async fn resume_jobs(&self) -> anyhow::Result<Vec<(String, anyhow::Result<IngestOutcome>)>> {
        sqlx::query("UPDATE jobs SET status = 'queued' WHERE status IN ('parsing', 'embedding')")
            .execute(&self.db)
            .await?;
        let mut resumed = Vec::new();
        while let Some(job) = self.claim_job().await? {
            tracing::info!(job = job.id, source = job.source, "resuming interrupted ingest");
            let bytes = self.job_bytes(&job).await;
            let source = job.name.clone().unwrap_or_else(|| job.source.clone());
            let outcome = self.run_job(job, bytes).await;
            resumed.push((source, outcome));
        }
        Ok(resumed)
    }

    /// The most recent jobs, newest first.
    pub async fn jobs(&self, limit: i64) -> anyhow::Result<Vec<JobStatus>> {
        let rows = sqlx::query("SELECT * FROM jobs ORDER BY id DESC LIMIT ?")
            .bind(limit)
            .fetch_all(&self.db)
            .await?;
        Ok(rows.iter().map(job_status).collect())
    }

    async fn run_job(&self, job: ClaimedJob, bytes: anyhow::Result<Vec<u8>>) -> anyhow::Result<IngestOutcome> {
        let result = match bytes {
            Ok(bytes) => self.ingest_job(&job, bytes).await,
            Err(error) => Err(error),
        };
        match &result {
            Ok(outcome) => {
                set_job(self, job.id, "indexed", None, Some(&outcome.document_id)).await?;
                sqlx::query("UPDATE jobs SET detail = ? WHERE id = ?")
                    .bind(outcome.detail())
                    .bind(job.id)
                    .execute(&self.db)
                    .await?;
                if matches!(outcome.status, "unchanged" | "duplicate") && !job.reindex {
                    remove_stored(job.file_path.as_deref()).await;
                }
            }
            Err(error) => {
                set_job(self, job.id, "failed", Some(&format!("{error:#}")), None).await?;
                if !job.reindex {
                    remove_stored(job.file_path.as_deref()).await;
                }
            }
        }
        result
    }

    /// Parses in the limited child process when configured, else on a blocking thread.
    async fn parse_document(&self, file_name: &str, bytes: Vec<u8>) -> anyhow::Result<ingest::ParsedDocument> {
        if let Some(child) = &self.child_parser {
            return child.parse(file_name, bytes).await;
        }
        let options = self.settings.parse_options();
        let name = file_name.to_owned();
        Ok(tokio::task::spawn_blocking(move || ingest::parse_with(&name, &bytes, &options)).await??)
    }

    async fn ingest_job(&self, job: &ClaimedJob, bytes: Vec<u8>) -> anyhow::Result<IngestOutcome> {
        let started = Instant::now();
        let source = job.source.as_str();
        let options = &job.options;
        let unchanged = |document_id: String, status: &'static str| IngestOutcome {
            source: source.to_owned(),
            document_id,
            status,
            pages: 0,
            unreadable_pages: 0,
            ocr_pages: 0,
            chunks: 0,
            embed_seconds: 0.0,
            seconds: started.elapsed().as_secs_f64(),
        };
        let sha256 = ingest::content_hash(&bytes);
        let size_bytes = bytes.len() as i64;
        let existing = sqlx::query("SELECT id, sha256, version, file_path FROM documents WHERE source = ?")
            .bind(source)
            .fetch_optional(&self.db)
            .await?;
        if let Some(row) = &existing
            && row.get::<String, _>("sha256") == sha256
            && !job.reindex
        {
            return Ok(unchanged(row.get("id"), "unchanged"));
        }
        if let Some(row) = sqlx::query("SELECT id FROM documents WHERE sha256 = ? AND source != ? LIMIT 1")
            .bind(&sha256)
            .bind(source)
            .fetch_optional(&self.db)
            .await?
        {
            return Ok(unchanged(row.get("id"), "duplicate"));
        }

        let file_name = file_name_of(source, job.name.as_deref());
        let document = self.parse_document(&file_name, bytes).await?;
        if !document.unreadable_pages.is_empty() {
            tracing::warn!(source, pages = ?document.unreadable_pages, "pages that could not be read were left out");
        }
        let models = self.models.clone();
        let chunker = self.settings.chunker();
        let (document, chunks) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let embedder = models.embedder()?;
            let chunks = ingest::chunk::chunk_document(&document, chunker, &|text| embedder.count_tokens(text));
            Ok((document, chunks))
        })
        .await??;
        if chunks.is_empty() {
            anyhow::bail!("no text could be extracted");
        }

        set_job(self, job.id, "embedding", None, None).await?;
        tracing::debug!(job = job.id, source, chunks = chunks.len(), "embedding");
        let models = self.models.clone();
        let texts: Vec<String> = chunks
            .iter()
            .map(|chunk| {
                if chunk.heading.is_empty() || chunk.text.contains(&chunk.heading) {
                    format!("{}\n{}", document.title, chunk.text)
                } else {
                    format!("{} > {}\n{}", document.title, chunk.heading, chunk.text)
                }
            })
            .collect();
        let embed_started = Instant::now();
        let vectors = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Vec<f32>>> {
            let embedder = models.embedder()?;
            let mut vectors = Vec::with_capacity(texts.len());
            for batch in texts.chunks(16) {
                let batch: Vec<&str> = batch.iter().map(String::as_str).collect();
                vectors.extend(embedder.embed_passages(&batch)?);
            }
            Ok(vectors)
        })
        .await??;
        let embed_seconds = embed_started.elapsed().as_secs_f64();

        // A new version of an existing source keeps its id.
        let (document_id, version) = match &existing {
            Some(row) => (row.get::<String, _>("id"), row.get::<i64, _>("version") + 1),
            None => (new_document_id(), 1),
        };
        let access = chunk_tokens(&options.groups, options.public);
        let mut transaction = self.db.begin().await?;
        sqlx::query(
            "INSERT INTO documents (id, source, title, format, sha256, version, groups_json, public, pages, \
             ocr_pages, unreadable_pages, size_bytes, chunks, file_path) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET title = excluded.title, \
             format = excluded.format, sha256 = excluded.sha256, version = excluded.version, \
             groups_json = excluded.groups_json, public = excluded.public, pages = excluded.pages, \
             ocr_pages = excluded.ocr_pages, unreadable_pages = excluded.unreadable_pages, \
             size_bytes = excluded.size_bytes, chunks = excluded.chunks, file_path = excluded.file_path, \
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        )
        .bind(&document_id)
        .bind(source)
        .bind(&document.title)
        .bind(document.format.as_str())
        .bind(&sha256)
        .bind(version)
        .bind(serde_json::to_string(&options.groups)?)
        .bind(options.public)
        .bind(document.pages.len() as i64)
        .bind(document.ocr_pages.len() as i64)
        .bind(document.unreadable_pages.len() as i64)
        .bind(size_bytes)
        .bind(chunks.len() as i64)
        .bind(&job.file_path)
        .execute(&mut *transaction)
        .await?;
        let old_chunks: Vec<u64> = sqlx::query_scalar::<_, i64>("SELECT id FROM chunks WHERE document_id = ?")
            .bind(&document_id)
            .fetch_all(&mut *transaction)
            .await?
            .into_iter()
            .map(|id| id as u64)
            .collect();
        sqlx::query("DELETE FROM chunks WHERE document_id = ?")
            .bind(&document_id)
            .execute(&mut *transaction)
            .await?;
        let mut keyword_chunks = Vec::with_capacity(chunks.len());
        let mut points = Vec::with_capacity(chunks.len());
        for (chunk, vector) in chunks.iter().zip(vectors) {
            let chunk_id = sqlx::query(
                "INSERT INTO chunks (document_id, version, page, heading, span_start, span_end, text, language) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&document_id)
            .bind(version)
            .bind(chunk.page)
            .bind(&chunk.heading)
            .bind(chunk.start as i64)
            .bind(chunk.end as i64)
            .bind(&chunk.text)
            .bind(chunk.language)
            .execute(&mut *transaction)
            .await?
            .last_insert_rowid() as u64;
            keyword_chunks.push(KeywordChunk {
                chunk_id,
                document: document_id.clone(),
                title: document.title.clone(),
                text: chunk.text.clone(),
                access: access.clone(),
            });
            points.push(VectorPoint {
                chunk_id,
                document: document_id.clone(),
                vector,
                access: access.clone(),
            });
        }
        // New ids into both indexes: invisible until the rows commit.
        let (keyword, vector_store) = (self.keyword.clone(), self.vectors.clone());
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            keyword.add_chunks(&keyword_chunks)?;
            vector_store.upsert(points)?;
            Ok(())
        })
        .await??;
        transaction.commit().await?;
        // The swap happened; the old ids no longer resolve to rows and can go.
        let (keyword, vector_store) = (self.keyword.clone(), self.vectors.clone());
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            keyword.delete_chunks(&old_chunks)?;
            vector_store.delete_chunks(&old_chunks)?;
            Ok(())
        })
        .await??;
        if let Some(row) = &existing {
            let old_file: Option<String> = row.get("file_path");
            if old_file.is_some() && old_file != job.file_path {
                remove_stored(old_file.as_deref()).await;
            }
        }
        crate::audit::append(
            &self.db,
            &options.actor,
            "upload",
            serde_json::json!({ "document": document_id, "source": source, "version": version, "sha256": sha256 }),
        )
        .await?;
        Ok(IngestOutcome {
            source: source.to_owned(),
            document_id,
            status: if version > 1 { "updated" } else { "indexed" },
            pages: document.pages.len(),
            unreadable_pages: document.unreadable_pages.len(),
            ocr_pages: document.ocr_pages.len(),
            chunks: chunks.len(),
            embed_seconds,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Deletes a document from SQLite (search stops returning it at that commit), then from
    /// both indexes and the disk. Returns false when there is no such document.
    pub async fn delete_document(&self, document_id: &str, actor: &str) -> anyhow::Result<bool> {
        let mut transaction = self.db.begin().await?;
        let Some(row) = sqlx::query("SELECT source, title, version, file_path FROM documents WHERE id = ?")
            .bind(document_id)
            .fetch_optional(&mut *transaction)
            .await?
        else {
            return Ok(false);
        };
        sqlx::query("DELETE FROM chunks WHERE document_id = ?")
            .bind(document_id)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("DELETE FROM documents WHERE id = ?")
            .bind(document_id)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        let (keyword, vector_store, id) = (self.keyword.clone(), self.vectors.clone(), document_id.to_owned());
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            keyword.delete_document(&id)?;
            vector_store.delete_document(&id)?;
            Ok(())
        })
        .await??;
        remove_stored(row.get::<Option<String>, _>("file_path").as_deref()).await;
        crate::audit::append(
            &self.db,
            actor,
            "delete",
            serde_json::json!({
                "document": document_id,
                "source": row.get::<String, _>("source"),
                "title": row.get::<String, _>("title"),
                "version": row.get::<i64, _>("version"),
            }),
        )
        .await?;
        Ok(true)
    }

    /// Changes who may read a document: SQLite first (search re-checks it on every hit),
    /// then the access tokens inside both indexes.
    pub async fn set_document_access(
        &self,
        document_id: &str,
        groups: &[String],
        public: bool,
        actor: &str,
    ) -> anyhow::Result<bool> {
        let updated = sqlx::query(
            "UPDATE documents SET groups_json = ?, public = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
             WHERE id = ?",
        )
        .bind(serde_json::to_string(groups)?)
        .bind(public)
        .bind(document_id)
        .execute(&self.db)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        let access = chunk_tokens(groups, public);
        let rows = sqlx::query(
            "SELECT chunks.id, chunks.text, documents.title FROM chunks JOIN documents ON documents.id = chunks.document_id \
             WHERE chunks.document_id = ?",
        )
        .bind(document_id)
        .fetch_all(&self.db)
        .await?;
        let keyword_chunks: Vec<KeywordChunk> = rows
            .iter()
            .map(|row| KeywordChunk {
                chunk_id: row.get::<i64, _>("id") as u64,
                document: document_id.to_owned(),
                title: row.get("title"),
                text: row.get("text"),
                access: access.clone(),
            })
            .collect();
        let (keyword, vector_store, id) = (self.keyword.clone(), self.vectors.clone(), document_id.to_owned());
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            keyword.add_chunks(&keyword_chunks)?;
            vector_store.set_document_access(&id, &access)?;
            Ok(())
        })
        .await??;
        crate::audit::append(
            &self.db,
            actor,
            "permission_change",
            serde_json::json!({ "document": document_id, "groups": groups, "public": public }),
        )
        .await?;
        Ok(true)
    }

    /// Builds the vector index after a batch of ingests (searches are brute force before).
    pub async fn optimize(&self) -> anyhow::Result<()> {
        let vectors = self.vectors.clone();
        tokio::task::spawn_blocking(move || vectors.optimize()).await??;
        Ok(())
    }
}

/// Removes a stored upload; a file already gone is fine.
async fn remove_stored(path: Option<&str>) {
    if let Some(path) = path
        && let Err(error) = tokio::fs::remove_file(PathBuf::from(path)).await
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path, "removing a stored upload: {error}");
    }
}
