//! Documents in: parse, chunk, embed, then write SQLite, tantivy and the vector store.

use std::path::Path;
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
    pub status: &'static str,
    pub pages: usize,
    /// Pages whose text layer was unreadable and was left out.
    pub unreadable_pages: usize,
    pub chunks: usize,
    pub embed_seconds: f64,
    pub seconds: f64,
}

fn new_document_id() -> String {
    hex::encode(rand::rng().random::<[u8; 8]>())
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

impl Engine {
    /// Ingests one file as a persistent job; the job row records failure reasons.
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
    /// the parser). A read error is recorded on the job like any other failure.
    pub async fn ingest_bytes(
        &self,
        source: &str,
        bytes: anyhow::Result<Vec<u8>>,
        options: &IngestOptions,
    ) -> anyhow::Result<IngestOutcome> {
        let job =
            sqlx::query("INSERT INTO jobs (source, status, groups_json, public, actor) VALUES (?, 'queued', ?, ?, ?)")
                .bind(source)
                .bind(serde_json::to_string(&options.groups)?)
                .bind(options.public)
                .bind(&options.actor)
                .execute(&self.db)
                .await?
                .last_insert_rowid();
        self.run_job(job, source, bytes, options).await
    }

    async fn run_job(
        &self,
        job: i64,
        source: &str,
        bytes: anyhow::Result<Vec<u8>>,
        options: &IngestOptions,
    ) -> anyhow::Result<IngestOutcome> {
        let result = match bytes {
            Ok(bytes) => self.ingest_job(job, bytes, source, options).await,
            Err(error) => Err(error),
        };
        match &result {
            Ok(outcome) => set_job(self, job, "indexed", None, Some(&outcome.document_id)).await?,
            Err(error) => set_job(self, job, "failed", Some(&format!("{error:#}")), None).await?,
        }
        result
    }

    /// Re-runs the jobs a crash or kill interrupted (queued, parsing or embedding), in
    /// order. Indexes are rewritten per document, so a half-written one is replaced whole.
    pub async fn resume_jobs(&self) -> anyhow::Result<Vec<(String, anyhow::Result<IngestOutcome>)>> {
        let rows = sqlx::query(
            "SELECT id, source, groups_json, public, actor FROM jobs \
             WHERE status IN ('queued', 'parsing', 'embedding') ORDER BY id",
        )
        .fetch_all(&self.db)
        .await?;
        let mut resumed = Vec::with_capacity(rows.len());
        for row in rows {
            let source: String = row.get("source");
            let options = IngestOptions {
                groups: serde_json::from_str(row.get::<&str, _>("groups_json")).unwrap_or_default(),
                public: row.get("public"),
                actor: row.get("actor"),
            };
            let bytes = tokio::fs::read(&source)
                .await
                .with_context(|| format!("reading {source} to resume its interrupted ingest"));
            tracing::info!(job = row.get::<i64, _>("id"), source, "resuming interrupted ingest");
            let outcome = self.run_job(row.get("id"), &source, bytes, &options).await;
            resumed.push((source, outcome));
        }
        Ok(resumed)
    }

    async fn ingest_job(
        &self,
        job: i64,
        bytes: Vec<u8>,
        source: &str,
        options: &IngestOptions,
    ) -> anyhow::Result<IngestOutcome> {
        let started = Instant::now();
        set_job(self, job, "parsing", None, None).await?;
        let sha256 = ingest::content_hash(&bytes);
        let existing = sqlx::query("SELECT id, sha256, version FROM documents WHERE source = ?")
            .bind(source)
            .fetch_optional(&self.db)
            .await?;
        if let Some(row) = &existing
            && row.get::<String, _>("sha256") == sha256
        {
            let document_id: String = row.get("id");
            return Ok(IngestOutcome {
                source: source.to_owned(),
                document_id,
                status: "unchanged",
                pages: 0,
                unreadable_pages: 0,
                chunks: 0,
                embed_seconds: 0.0,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
        let file_name = Path::new(source)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let models = self.models.clone();
        let chunker = self.settings.chunker();
        let parse_name = file_name.clone();
        let parsed = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let document = ingest::parse(&parse_name, &bytes)?;
            let embedder = models.embedder()?;
            let chunks = ingest::chunk::chunk_document(&document, chunker, &|text| embedder.count_tokens(text));
            Ok((document, chunks))
        })
        .await??;
        let (document, chunks) = parsed;
        if !document.unreadable_pages.is_empty() {
            tracing::warn!(source, pages = ?document.unreadable_pages, "pages with an unreadable text layer were left out");
        }
        if chunks.is_empty() {
            anyhow::bail!("no text could be extracted");
        }

        set_job(self, job, "embedding", None, None).await?;
        tracing::info!(job, source, chunks = chunks.len(), "embedding");
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

        // New version of an existing source keeps its id; SQLite commits last so a crash
        // before it leaves the old version authoritative.
        let (document_id, version) = match &existing {
            Some(row) => (row.get::<String, _>("id"), row.get::<i64, _>("version") + 1),
            None => (new_document_id(), 1),
        };
        let access = chunk_tokens(&options.groups, options.public);
        let mut transaction = self.db.begin().await?;
        sqlx::query(
            "INSERT INTO documents (id, source, title, format, sha256, version, groups_json, public, pages) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET title = excluded.title, \
             format = excluded.format, sha256 = excluded.sha256, version = excluded.version, \
             groups_json = excluded.groups_json, public = excluded.public, pages = excluded.pages, \
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
        .execute(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM chunks WHERE document_id = ?")
            .bind(&document_id)
            .execute(&mut *transaction)
            .await?;
        let mut keyword_chunks = Vec::with_capacity(chunks.len());
        let mut points = Vec::with_capacity(chunks.len());
        for (chunk, vector) in chunks.iter().zip(vectors) {
            let chunk_id = sqlx::query(
                "INSERT INTO chunks (document_id, version, page, heading, span_start, span_end, text) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&document_id)
            .bind(version)
            .bind(chunk.page)
            .bind(&chunk.heading)
            .bind(chunk.start as i64)
            .bind(chunk.end as i64)
            .bind(&chunk.text)
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
        let keyword = self.keyword.clone();
        let vectors = self.vectors.clone();
        let index_document = document_id.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            keyword.replace_document(&index_document, &keyword_chunks)?;
            vectors.delete_document(&index_document)?;
            vectors.upsert(points)?;
            Ok(())
        })
        .await??;
        transaction.commit().await?;
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
            chunks: chunks.len(),
            embed_seconds,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Builds the vector index after a batch of ingests (searches are brute force before).
    pub async fn optimize(&self) -> anyhow::Result<()> {
        let vectors = self.vectors.clone();
        tokio::task::spawn_blocking(move || vectors.optimize()).await??;
        Ok(())
    }
}
