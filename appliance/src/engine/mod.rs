//! The engine: storage, indexes and models wired together. The CLI and the HTTP server
//! both drive it; neither knows how documents become chunks or how answers are grounded.
//!
//! Blocking work (parsing, embedding, index writes, generation) runs on blocking threads so
//! the async runtime stays responsive.

mod answer;
mod ingest;
mod search;

use std::sync::Arc;

use anyhow::Context;
use llm::e5::E5Options;
use llm::prompt::DEFAULT_SYSTEM_PROMPT;
use retrieval::KeywordChunk;
use retrieval::access::chunk_tokens;
use retrieval::{EdgeVectorStore, KeywordIndex, QdrantConfig, QdrantVectorStore, VectorStore};
use sqlx::{Row, SqlitePool};

pub use answer::AnswerEvent;
pub use ingest::IngestOptions;
pub use search::{Hit, SearchMode};

use crate::models::Models;
use crate::settings::Settings;
use crate::site_texts::{Kind, SiteText};

/// Everything a request needs, cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub settings: Arc<Settings>,
    pub db: SqlitePool,
    pub keyword: Arc<KeywordIndex>,
    pub vectors: Arc<dyn VectorStore>,
    pub models: Arc<Models>,
    /// Parse untrusted files in a limited child process (`None`: in this process).
    pub child_parser: Option<crate::isolate::ChildParser>,
    /// Wakes the ingest workers when a job is queued.
    pub jobs_queued: Arc<tokio::sync::Notify>,
}

impl Engine {
    /// Opens the data directory: database, keyword index and vector store.
    pub async fn open(settings: Settings) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating data directory {}", settings.data_dir.display()))?;
        let db = crate::db::open(&settings.database_path()).await?;
        let keyword_dir = settings.keyword_dir();
        let vector_dir = settings.vector_dir();
        let qdrant = match settings.vector_store.as_str() {
            "qdrant" => Some(QdrantConfig {
                url: settings
                    .qdrant_url
                    .clone()
                    .context("vector_store is qdrant but qdrant_url is not set")?,
                api_key: settings.qdrant_api_key.as_ref().map(|key| key.0.clone()),
                collection: settings.qdrant_collection.clone(),
                shards: settings.qdrant_shards,
                replication: settings.qdrant_replication,
            }),
            _ => None,
        };
        let dictionary = crate::site_texts::current(&db, Kind::DomainDictionary, "").await?;
        let words = crate::site_texts::dictionary_words(&dictionary.text);
        let (keyword, vectors) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let keyword = KeywordIndex::open(&keyword_dir, &words).context("opening the keyword index")?;
            let vectors: Arc<dyn VectorStore> = match qdrant {
                Some(config) => Arc::new(
                    QdrantVectorStore::connect(&config, EMBEDDING_DIMENSION)
                        .with_context(|| format!("connecting to Qdrant at {}", config.url))?,
                ),
                None => Arc::new(
                    EdgeVectorStore::open(&vector_dir, EMBEDDING_DIMENSION).context("opening the vector store")?,
                ),
            };
            Ok((keyword, vectors))
        })
        .await??;
        let models = Models::new(
            &settings.models_dir,
            E5Options {
                quantized: settings.embedder_quantized,
            },
            settings.generator_file.as_deref(),
            settings.generator_url.as_ref().map(|url| llm::remote::RemoteConfig {
                base_url: url.clone(),
                model: settings.generator_model.clone(),
                api_key: settings.generator_api_key.as_ref().map(|key| key.0.clone()),
                timeout: std::time::Duration::from_secs(300),
            }),
        );
        Ok(Self {
            settings: Arc::new(settings),
            db,
            keyword: Arc::new(keyword),
            vectors,
            models: Arc::new(models),
            child_parser: None,
            jobs_queued: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// The system prompt in force (the built-in one until an admin saves another).
    pub async fn system_prompt(&self) -> anyhow::Result<SiteText> {
        crate::site_texts::current(&self.db, Kind::SystemPrompt, DEFAULT_SYSTEM_PROMPT).await
    }

    /// Re-analyses every chunk in the keyword index with the domain dictionary `words`
    /// (after an admin changed it). Returns the number of chunks indexed. Vectors are
    /// untouched: the dictionary only changes how text is cut into words.
    pub async fn rebuild_keyword_index(&self, words: Vec<String>) -> anyhow::Result<usize> {
        let rows = sqlx::query(
            "SELECT chunks.id, chunks.text, chunks.document_id, documents.title, documents.groups_json,              documents.public FROM chunks JOIN documents ON documents.id = chunks.document_id",
        )
        .fetch_all(&self.db)
        .await?;
        let chunks: Vec<KeywordChunk> = rows
            .iter()
            .map(|row| {
                let groups: Vec<String> = serde_json::from_str(row.get::<&str, _>("groups_json")).unwrap_or_default();
                KeywordChunk {
                    chunk_id: row.get::<i64, _>("id") as u64,
                    document: row.get("document_id"),
                    title: row.get("title"),
                    text: row.get("text"),
                    access: chunk_tokens(&groups, row.get("public")),
                }
            })
            .collect();
        let count = chunks.len();
        let keyword = self.keyword.clone();
        tokio::task::spawn_blocking(move || keyword.rebuild(&words, &chunks)).await??;
        Ok(count)
    }

    /// Parses uploads in a child process with memory and CPU limits from now on.
    pub fn isolate_parsing(mut self) -> Self {
        self.child_parser = crate::isolate::ChildParser::for_current_exe(&self.settings);
        self
    }
}

/// multilingual-e5-small's vector length.
pub const EMBEDDING_DIMENSION: usize = 384;
