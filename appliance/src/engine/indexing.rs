//! One file in: parse, chunk, embed, then a new version into both indexes and the store.
//!
//! A new version replaces the old one without a window in which search sees both or
//! neither, and without holding the database's write lock while anything slow runs:
//! chunk ids are reserved first, the new chunks go into both indexes under them (no row
//! resolves them yet: search keeps only hits whose row exists), then one short
//! transaction swaps the rows, and only then are the old ids removed from the indexes.

use std::fmt;
use std::time::Instant;

use anyhow::Context;
use retrieval::{KeywordChunk, VectorPoint};
use serde::Serialize;

use super::Engine;
use super::jobs::{new_document_id, remove_stored};
use crate::acl::DocumentAccess;
use crate::store::documents::{self, Document, NewChunk, NewVersion};
use crate::store::jobs::{self, Job, JobState};
use crate::store::site_texts::{self, Kind};
use crate::{Error, Result};

/// Who may read an ingested document, and who asked.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    pub access: DocumentAccess,
    /// Who asked, for the audit log.
    pub actor: String,
}

/// What became of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IngestStatus {
    /// A new document.
    Indexed,
    /// A new version of an existing document.
    Updated,
    /// The same content as the document's current version: nothing to do.
    Unchanged,
    /// The same content as another document readable by the same people.
    Duplicate,
}

impl fmt::Display for IngestStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            IngestStatus::Indexed => "indexed",
            IngestStatus::Updated => "updated",
            IngestStatus::Unchanged => "unchanged",
            IngestStatus::Duplicate => "duplicate",
        })
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Serialize)]
pub struct IngestOutcome {
    pub source: String,
    pub document_id: String,
    pub status: IngestStatus,
    pub version: i64,
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
    /// The job's detail line, for people.
    pub fn detail(&self) -> String {
        match self.status {
            IngestStatus::Unchanged => "unchanged (same content as the indexed version)".to_owned(),
            IngestStatus::Duplicate => format!("duplicate of document {}", self.document_id),
            IngestStatus::Indexed | IngestStatus::Updated => {
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

/// The name a parser sees: the upload's name, else the last component of the source path.
fn file_name_of(job: &Job) -> String {
    job.name.clone().unwrap_or_else(|| documents::file_name(&job.source))
}

impl Engine {
    /// The document a job makes a new version of: the one it targets (an upload of a new
    /// version, a re-index), or for a path, the document ingested from that path. An
    /// upload without a target is always a new document.
    async fn existing_document(&self, job: &Job) -> Result<Option<Document>> {
        if let Some(target) = &job.target_document {
            return match documents::get(&self.store, target).await? {
                Some(document) => Ok(Some(document)),
                None => Err(Error::NotFound),
            };
        }
        if job.file_path.is_some() {
            return Ok(None);
        }
        Ok(documents::with_source(&self.store, &job.source)
            .await?
            .into_iter()
            .next())
    }

    /// Parses in the limited child process when configured, else on a blocking thread.
    async fn parse_document(&self, file_name: &str, bytes: Vec<u8>) -> Result<ingest::ParsedDocument> {
        if let Some(child) = &self.child_parser {
            return Ok(child.parse(file_name, bytes).await?);
        }
        let options = self.settings.parse_options();
        let name = file_name.to_owned();
        Ok(tokio::task::spawn_blocking(move || ingest::parse_with(&name, &bytes, &options)).await??)
    }

    pub(super) async fn ingest_job(&self, job: &Job, bytes: Vec<u8>) -> Result<IngestOutcome> {
        let started = Instant::now();
        let source = job.source.as_str();
        let existing = self.existing_document(job).await?;
        let skipped = |document_id: String, status: IngestStatus, version: i64| IngestOutcome {
            source: source.to_owned(),
            document_id,
            status,
            version,
            pages: 0,
            unreadable_pages: 0,
            ocr_pages: 0,
            chunks: 0,
            embed_seconds: 0.0,
            seconds: started.elapsed().as_secs_f64(),
        };
        // Hashing a large upload takes a while: not on the async runtime.
        let (sha256, bytes) = tokio::task::spawn_blocking(move || (ingest::content_hash(&bytes), bytes)).await?;
        let size_bytes = bytes.len() as i64;
        if let Some(document) = &existing
            && document.sha256 == sha256
            && !job.reindex
        {
            return Ok(skipped(document.id.clone(), IngestStatus::Unchanged, document.version));
        }
        // Indexing identical content twice helps nobody, but only when the same people
        // read both: an editor of another group must get a document of their own.
        let existing_id = existing.as_ref().map(|document| document.id.as_str());
        if let Some(other) = documents::with_content(&self.store, &sha256, existing_id)
            .await?
            .into_iter()
            .find(|other| other.access == job.access)
        {
            return Ok(skipped(other.id, IngestStatus::Duplicate, other.version));
        }

        let document = self.parse_document(&file_name_of(job), bytes).await?;
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
            return Err(Error::BadRequest("no text could be extracted".to_owned()));
        }

        jobs::set_state(&self.store, job.id, JobState::Embedding).await?;
        tracing::debug!(job = job.id, source, chunks = chunks.len(), "embedding");
        let texts: Vec<String> = chunks
            .iter()
            .map(|chunk| embedding_text(&document.title, &chunk.heading, &chunk.text))
            .collect();
        let embed_started = Instant::now();
        let models = self.models.clone();
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

        // A new version of an existing document keeps its id.
        let (document_id, version) = match &existing {
            Some(existing) => (existing.id.clone(), existing.version + 1),
            None => (new_document_id(), 1),
        };
        let first_id = documents::reserve_chunk_ids(&self.store, chunks.len() as u64).await?;
        let new_chunks: Vec<NewChunk> = chunks
            .iter()
            .enumerate()
            .map(|(index, chunk)| NewChunk {
                id: first_id + index as u64,
                page: chunk.page,
                heading: chunk.heading.clone(),
                start: chunk.start,
                end: chunk.end,
                text: chunk.text.clone(),
                language: chunk.language,
            })
            .collect();
        let tokens = job.access.index_tokens();
        let keyword_chunks: Vec<KeywordChunk> = new_chunks
            .iter()
            .map(|chunk| KeywordChunk {
                chunk_id: chunk.id,
                document: document_id.clone(),
                title: document.title.clone(),
                text: chunk.text.clone(),
                access: tokens.clone(),
            })
            .collect();
        let points: Vec<VectorPoint> = new_chunks
            .iter()
            .zip(vectors)
            .map(|(chunk, vector)| VectorPoint {
                chunk_id: chunk.id,
                document: document_id.clone(),
                vector,
                access: tokens.clone(),
            })
            .collect();
        let new_ids: Vec<u64> = new_chunks.iter().map(|chunk| chunk.id).collect();
        // New ids into both indexes, outside any transaction: invisible until the rows exist.
        self.index_chunks(keyword_chunks, points).await?;
        let new_version = NewVersion {
            document_id: document_id.clone(),
            source: source.to_owned(),
            title: document.title.clone(),
            format: document.format.as_str().to_owned(),
            sha256: sha256.clone(),
            version,
            access: job.access.clone(),
            pages: document.pages.len() as i64,
            ocr_pages: document.ocr_pages.len() as i64,
            unreadable_pages: document.unreadable_pages.len() as i64,
            size_bytes,
            file_path: job.file_path.clone(),
            chunks: new_chunks,
        };
        let old_chunks = match documents::write_version(&self.store, &new_version).await {
            Ok(old_chunks) => old_chunks,
            Err(error) => {
                // Nothing resolves the new ids; take them out again, best effort.
                if let Err(cleanup) = self.unindex_chunks(new_ids).await {
                    tracing::warn!("removing the chunks of a failed version: {cleanup:#}");
                }
                return Err(error.into());
            }
        };
        // The swap happened; the old ids no longer resolve to rows and can go.
        self.unindex_chunks(old_chunks).await?;
        if let Some(existing) = &existing
            && existing.file_path.is_some()
            && existing.file_path != job.file_path
        {
            remove_stored(existing.file_path.as_deref()).await;
        }
        crate::store::audit::append(
            &self.store,
            &job.actor,
            "upload",
            serde_json::json!({ "document": document_id, "source": source, "version": version, "sha256": sha256 }),
        )
        .await?;
        Ok(IngestOutcome {
            source: source.to_owned(),
            document_id,
            status: if version > 1 {
                IngestStatus::Updated
            } else {
                IngestStatus::Indexed
            },
            version,
            pages: document.pages.len(),
            unreadable_pages: document.unreadable_pages.len(),
            ocr_pages: document.ocr_pages.len(),
            chunks: chunks.len(),
            embed_seconds,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    async fn index_chunks(&self, keyword_chunks: Vec<KeywordChunk>, points: Vec<VectorPoint>) -> Result<()> {
        let (keyword, vector_store) = (self.keyword.clone(), self.vectors.clone());
        tokio::task::spawn_blocking(move || -> Result<()> {
            keyword.add_chunks(&keyword_chunks)?;
            vector_store.upsert(points)?;
            Ok(())
        })
        .await?
    }

    pub(super) async fn unindex_chunks(&self, chunk_ids: Vec<u64>) -> Result<()> {
        if chunk_ids.is_empty() {
            return Ok(());
        }
        let (keyword, vector_store) = (self.keyword.clone(), self.vectors.clone());
        tokio::task::spawn_blocking(move || -> Result<()> {
            keyword.delete_chunks(&chunk_ids)?;
            vector_store.delete_chunks(&chunk_ids)?;
            Ok(())
        })
        .await?
    }

    /// Builds the vector index after a batch of ingests (searches are brute force before).
    pub async fn optimize(&self) -> Result<()> {
        let vectors = self.vectors.clone();
        tokio::task::spawn_blocking(move || vectors.optimize()).await??;
        Ok(())
    }

    /// Puts the vector of every chunk in the database into the vector store: from
    /// `vectors` (a backup's) where it has one, embedded again where not, from the same text
    /// as at ingest (so to the same vector). Returns how many were embedded.
    pub async fn restore_vectors(&self, mut vectors: std::collections::HashMap<u64, Vec<f32>>) -> Result<usize> {
        let chunks = documents::indexed_chunks(&self.store, None).await?;
        let models = self.models.clone();
        let store = self.vectors.clone();
        let embedded = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
            let mut embedded = 0;
            for batch in chunks.chunks(64) {
                let missing: Vec<String> = batch
                    .iter()
                    .filter(|chunk| !vectors.contains_key(&chunk.chunk_id))
                    .map(|chunk| embedding_text(&chunk.title, &chunk.heading, &chunk.text))
                    .collect();
                let mut fresh = if missing.is_empty() {
                    Vec::new()
                } else {
                    let texts: Vec<&str> = missing.iter().map(String::as_str).collect();
                    models.embedder()?.embed_passages(&texts)?
                }
                .into_iter();
                embedded += missing.len();
                let points = batch
                    .iter()
                    .map(|chunk| -> anyhow::Result<retrieval::VectorPoint> {
                        let vector = match vectors.remove(&chunk.chunk_id) {
                            Some(vector) => vector,
                            None => fresh.next().context("the embedder returned too few vectors")?,
                        };
                        Ok(retrieval::VectorPoint {
                            chunk_id: chunk.chunk_id,
                            document: chunk.document_id.clone(),
                            vector,
                            access: chunk.access.index_tokens(),
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                store.upsert(points)?;
            }
            store.optimize()?;
            Ok(embedded)
        })
        .await??;
        Ok(embedded)
    }

    /// Re-analyses every chunk in the keyword index with the domain dictionary `words`
    /// (after an admin changed it). Returns the number of chunks indexed. Vectors are
    /// untouched: the dictionary only changes how text is cut into words.
    pub async fn rebuild_keyword_index(&self, words: Vec<String>) -> Result<usize> {
        let chunks: Vec<KeywordChunk> = documents::indexed_chunks(&self.store, None)
            .await?
            .into_iter()
            .map(|chunk| {
                let tokens = chunk.access.index_tokens();
                chunk.into_keyword_chunk(tokens)
            })
            .collect();
        let count = chunks.len();
        let keyword = self.keyword.clone();
        tokio::task::spawn_blocking(move || keyword.rebuild(&words, &chunks))
            .await?
            .context("rebuilding the keyword index")?;
        Ok(count)
    }

    /// Switches the keyword analyzer to the domain dictionary in the database when another
    /// node (or this one) saved a newer one: nodes sharing a keyword index must cut queries
    /// the way its chunks were cut. Returns whether it switched.
    pub async fn follow_dictionary(&self) -> Result<bool> {
        use std::sync::atomic::Ordering;
        let dictionary = site_texts::current(&self.store, Kind::DomainDictionary, "").await?;
        if self.dictionary_version.swap(dictionary.version, Ordering::Relaxed) == dictionary.version {
            return Ok(false);
        }
        let words = site_texts::dictionary_words(&dictionary.text);
        let keyword = self.keyword.clone();
        tokio::task::spawn_blocking(move || keyword.follow_dictionary(&words)).await?;
        tracing::info!(
            version = dictionary.version,
            "keyword analysis follows the domain dictionary"
        );
        Ok(true)
    }
}

/// What the embedder reads for a chunk: its document's title and its section heading in
/// front of its text, so that a passage under "Backups" is found for "backup" questions.
fn embedding_text(title: &str, heading: &str, text: &str) -> String {
    if heading.is_empty() || text.contains(heading) {
        format!("{title}\n{text}")
    } else {
        format!("{title} > {heading}\n{text}")
    }
}
