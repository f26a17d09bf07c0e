//! The engine: the store, both indexes and the models wired together. The command line and
//! the HTTP server both drive it; neither knows how documents become chunks or how answers
//! are grounded.
//!
//! Its parts are handed in ([`Parts`]): a store, a keyword index, a vector store and the
//! models as trait objects, so tests drive it with a fake embedder, a scripted generator
//! and the in-memory vector store. [`Engine::open`] builds the real ones from settings.
//!
//! Split by use case: `jobs` (the ingest queue), `indexing` (a version into both indexes),
//! `documents` (uploads, deletion, permissions), `search`, `answer`, `citing` and `stream`
//! (the answer events every front end reads).
//! Blocking work (parsing, hashing, embedding, index writes, generation) runs on blocking
//! threads so the async runtime stays responsive.

mod answer;
mod citing;
mod documents;
mod extract;
mod indexing;
mod jobs;
mod quote_checks;
mod readiness;
mod redraft;
mod script;
mod search;
mod stream;
mod upgrade;

use std::sync::Arc;

use anyhow::Context;
use llm::prompt::DEFAULT_SYSTEM_PROMPT;
use retrieval::{
    EdgeVectorStore, KeywordIndex, KeywordStore, QdrantConfig, QdrantKeywordStore, QdrantVectorStore, VectorStore,
};

pub use answer::{Answer, AnswerEvent, Citation};
pub use documents::QueuedUpload;
pub use indexing::{IngestOptions, IngestOutcome, IngestStatus};
pub use readiness::{Check, Readiness};
pub use search::{Hit, SearchMode, snippet};
pub use stream::{Question, StreamEvent};
pub use upgrade::{EMBEDDING_MODEL as EMBEDDING_MODEL_KEY, KEYWORD_ANALYZER as KEYWORD_ANALYZER_KEY};

use crate::models::Models;
use crate::settings::Settings;
use crate::store::Store;
use crate::store::site_texts::{Kind, SiteText};
use crate::{Error, Result};

/// What an engine is made of.
pub struct Parts {
    pub settings: Settings,
    pub store: Store,
    pub keyword: Arc<dyn KeywordStore>,
    pub vectors: Arc<dyn VectorStore>,
    pub models: Models,
}

/// Everything a request needs, cheap to clone.
#[derive(Clone)]
pub struct Engine {
    settings: Arc<Settings>,
    store: Store,
    keyword: Arc<dyn KeywordStore>,
    vectors: Arc<dyn VectorStore>,
    models: Arc<Models>,
    /// Parse untrusted files in a limited child process (`None`: in this process).
    child_parser: Option<crate::isolate::ChildParser>,
    /// Wakes the ingest workers when a job is queued.
    jobs_queued: Arc<tokio::sync::Notify>,
    /// This node's name in the shared job queue.
    node: Arc<str>,
    /// The domain dictionary version the keyword analyzer cuts with (-1: not known yet).
    dictionary_version: Arc<std::sync::atomic::AtomicI64>,
}

/// How a command opens a data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Owns the indexes: fails with [`Error::DataDirectoryBusy`] while a server runs.
    Write,
    /// Searches and answers only; works beside a running server.
    ReadOnly,
}

impl Engine {
    /// An engine over the given parts.
    pub fn from_parts(parts: Parts) -> Self {
        let node = jobs::node_id(&parts.settings.data_dir).into();
        Self {
            settings: Arc::new(parts.settings),
            store: parts.store,
            keyword: parts.keyword,
            vectors: parts.vectors,
            models: Arc::new(parts.models),
            child_parser: None,
            jobs_queued: Arc::new(tokio::sync::Notify::new()),
            node,
            dictionary_version: Arc::new(std::sync::atomic::AtomicI64::new(-1)),
        }
    }

    /// Opens the data directory for writing: database, keyword index and vector store.
    pub async fn open(settings: Settings) -> Result<Self> {
        Self::open_with(settings, OpenMode::Write).await
    }

    /// Opens the data directory; [`OpenMode::ReadOnly`] leaves the indexes to the process
    /// that writes them (the audit log is still appended to: SQLite takes turns).
    pub async fn open_with(settings: Settings, mode: OpenMode) -> Result<Self> {
        settings
            .check_endpoints()
            .map_err(|error| crate::Error::BadRequest(format!("{error:#}")))?;
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating data directory {}", settings.data_dir.display()))?;
        let store = settings.open_store().await?;
        let keyword_dir = settings.keyword_dir();
        let vector_dir = settings.vector_dir();
        let qdrant_config = || -> anyhow::Result<QdrantConfig> {
            Ok(QdrantConfig {
                url: settings
                    .qdrant_url
                    .clone()
                    .context("vector_store or keyword_store is qdrant but qdrant_url is not set")?,
                api_key: settings.qdrant_api_key.as_ref().map(|key| key.0.clone()),
                collection: settings.qdrant_collection.clone(),
                shards: settings.qdrant_shards,
                replication: settings.qdrant_replication,
            })
        };
        let qdrant = (settings.vector_store == "qdrant").then(qdrant_config).transpose()?;
        let qdrant_keywords = (settings.keyword_store == "qdrant").then(qdrant_config).transpose()?;
        let dictionary = crate::store::site_texts::current(&store, Kind::DomainDictionary, "").await?;
        let dictionary_version = dictionary.version;
        let words = crate::store::site_texts::dictionary_words(&dictionary.text);
        let data_dir = settings.data_dir.display().to_string();
        let (keyword, vectors) = tokio::task::spawn_blocking(move || -> Result<_> {
            let keyword: Arc<dyn KeywordStore> = match (qdrant_keywords, mode) {
                (Some(config), _) => Arc::new(
                    QdrantKeywordStore::connect(&config, &words)
                        .with_context(|| format!("connecting to Qdrant at {} for keyword search", config.url))?,
                ),
                (None, OpenMode::Write) => match KeywordIndex::open(&keyword_dir, &words) {
                    Err(retrieval::Error::Locked) => return Err(Error::DataDirectoryBusy(data_dir)),
                    other => Arc::new(other.context("opening the keyword index")?),
                },
                (None, OpenMode::ReadOnly) => Arc::new(
                    KeywordIndex::open_read_only(&keyword_dir, &words)
                        .context("opening the keyword index read-only")?,
                ),
            };
            let read_only = mode == OpenMode::ReadOnly;
            let vectors: Arc<dyn VectorStore> = match qdrant {
                Some(config) => Arc::new(
                    QdrantVectorStore::connect(&config, EMBEDDING_DIMENSION)
                        .with_context(|| format!("connecting to Qdrant at {}", config.url))?,
                ),
                None if read_only => match EdgeVectorStore::open_read_only(&vector_dir, EMBEDDING_DIMENSION) {
                    Ok(store) => Arc::new(store),
                    Err(retrieval::Error::Locked) => {
                        tracing::warn!(
                            "a server is running on this data directory and holds the vector index: \
                             searching by keywords only"
                        );
                        Arc::new(HeldElsewhere)
                    }
                    Err(error) => {
                        return Err(anyhow::Error::from(error)
                            .context("opening the vector store read-only")
                            .into());
                    }
                },
                None => Arc::new(
                    EdgeVectorStore::open(&vector_dir, EMBEDDING_DIMENSION).context("opening the vector store")?,
                ),
            };
            Ok((keyword, vectors))
        })
        .await??;
        let models = Models::new(
            &settings.models_dir,
            settings.embedder_options(),
            settings.generator_file.as_deref(),
            settings.generator_url.as_ref().map(|url| llm::remote::RemoteConfig {
                base_url: url.clone(),
                model: settings.generator_model.clone(),
                api_key: settings.generator_api_key.as_ref().map(|key| key.0.clone()),
                timeout: std::time::Duration::from_secs(300),
            }),
        );
        let engine = Self::from_parts(Parts {
            settings,
            store,
            keyword,
            vectors,
            models,
        });
        engine
            .dictionary_version
            .store(dictionary_version, std::sync::atomic::Ordering::Relaxed);
        if matches!(mode, OpenMode::Write) {
            engine.check_keyword_analyzer().await?;
            engine.check_embedding_model().await?;
        }
        Ok(engine)
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The same engine with other settings (evaluation sweeps).
    pub fn with_settings(&self, settings: Settings) -> Self {
        Self {
            settings: Arc::new(settings),
            ..self.clone()
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn vector_store(&self) -> Arc<dyn VectorStore> {
        self.vectors.clone()
    }

    pub fn models(&self) -> &Arc<Models> {
        &self.models
    }

    /// The terms the keyword index makes of `query` (for highlighting).
    pub fn query_terms(&self, query: &str) -> Vec<String> {
        self.keyword.tokens(query)
    }

    /// Chunks in the keyword index.
    pub async fn indexed_chunks(&self) -> Result<u64> {
        let keyword = self.keyword.clone();
        Ok(tokio::task::spawn_blocking(move || keyword.count()).await??)
    }

    /// Removes this engine's indexes from a Qdrant server shared with others (evaluation
    /// runs index into scratch collections); indexes in the data directory go with it.
    /// Blocks on the network: for the end of a command, not for a request.
    pub fn discard_shared_indexes(&self) -> Result<()> {
        self.keyword.discard()?;
        self.vectors.discard()?;
        Ok(())
    }

    /// The system prompt in force (the built-in one until an admin saves another).
    pub async fn system_prompt(&self) -> Result<SiteText> {
        Ok(crate::store::site_texts::current(&self.store, Kind::SystemPrompt, DEFAULT_SYSTEM_PROMPT).await?)
    }

    /// Parses uploads in a child process with memory and CPU limits from now on.
    pub fn isolate_parsing(mut self) -> Self {
        self.child_parser = crate::isolate::ChildParser::for_current_exe(&self.settings);
        self
    }
}

/// The vector store of a data directory whose server holds it: qdrant-edge cannot be
/// opened beside its owner, so searches find nothing densely (hybrid search becomes
/// keyword search) and writes fail.
struct HeldElsewhere;

impl VectorStore for HeldElsewhere {
    fn upsert(&self, _: Vec<retrieval::VectorPoint>) -> retrieval::Result<()> {
        Err(retrieval::Error::ReadOnly)
    }

    fn delete_document(&self, _: &str) -> retrieval::Result<()> {
        Err(retrieval::Error::ReadOnly)
    }

    fn delete_chunks(&self, _: &[u64]) -> retrieval::Result<()> {
        Err(retrieval::Error::ReadOnly)
    }

    fn set_document_access(&self, _: &str, _: &[String]) -> retrieval::Result<()> {
        Err(retrieval::Error::ReadOnly)
    }

    fn search(&self, _: &[f32], _: usize, _: &retrieval::Access) -> retrieval::Result<Vec<retrieval::ScoredChunk>> {
        Ok(Vec::new())
    }

    fn count(&self) -> retrieval::Result<usize> {
        Ok(0)
    }

    fn vectors(&self, _: &[u64]) -> retrieval::Result<Vec<(u64, Vec<f32>)>> {
        Err(retrieval::Error::ReadOnly)
    }

    fn optimize(&self) -> retrieval::Result<()> {
        Err(retrieval::Error::ReadOnly)
    }
}

/// multilingual-e5-small's vector length.
pub const EMBEDDING_DIMENSION: usize = 384;
