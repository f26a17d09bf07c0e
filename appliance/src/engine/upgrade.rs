//! What an upgrade must not get wrong about the indexes: vectors of two embedding models
//! cannot be compared, so vectors built by another model than the one in use are rebuilt,
//! never mixed with new ones; and a keyword index cut by an older analysis would miss the
//! words queries are now cut into, so it is analysed again.

use super::Engine;
use crate::Result;
use crate::store::{documents, index_meta, site_texts};

/// `index_meta` key of the embedding model that built the vectors.
pub const EMBEDDING_MODEL: &str = "embedding_model";

/// `index_meta` key of the analysis ([`retrieval::tokenizer::ANALYZER_VERSION`]) that cut
/// the keyword index.
pub const KEYWORD_ANALYZER: &str = "keyword_analyzer";

impl Engine {
    /// The embedding model in use (loads it).
    pub async fn embedding_model(&self) -> Result<String> {
        let models = self.models.clone();
        Ok(
            tokio::task::spawn_blocking(move || models.embedder().map(|embedder| embedder.model_id().to_owned()))
                .await??,
        )
    }

    /// Checks that the vectors were built by the embedding model in use: records it when
    /// nothing is recorded yet, and embeds every chunk again when another model built them.
    /// Returns how many chunks were embedded again; skipped (with a warning) when no
    /// embedder can be loaded.
    pub async fn check_embedding_model(&self) -> Result<usize> {
        if documents::chunk_count(&self.store).await? == 0 {
            return Ok(0);
        }
        let current = match self.embedding_model().await {
            Ok(current) => current,
            // Without an embedder nothing is embedded or compared: the check waits for one.
            Err(error) => {
                tracing::warn!("cannot check which model built the vectors: {error:#}");
                return Ok(0);
            }
        };
        let recorded = index_meta::get(&self.store, EMBEDDING_MODEL).await?;
        let mut rebuilt = 0;
        if let Some(previous) = recorded.filter(|previous| *previous != current) {
            tracing::warn!(%previous, %current, "the vectors were built by another embedding model: embedding every chunk again");
            let ids: Vec<String> = documents::list(&self.store)
                .await?
                .into_iter()
                .map(|document| document.id)
                .collect();
            let vectors = self.vectors.clone();
            tokio::task::spawn_blocking(move || ids.iter().try_for_each(|id| vectors.delete_document(id))).await??;
            rebuilt = self.restore_vectors(std::collections::HashMap::new()).await?;
            tracing::info!(chunks = rebuilt, "vectors rebuilt with {current}");
        }
        index_meta::set(&self.store, EMBEDDING_MODEL, &current).await?;
        Ok(rebuilt)
    }

    /// Checks that the keyword index was cut by this binary's analysis: analyses every
    /// chunk again when another one (or, before it was recorded, the first one) cut it.
    /// Returns how many chunks were indexed again.
    pub async fn check_keyword_analyzer(&self) -> Result<usize> {
        let current = retrieval::tokenizer::ANALYZER_VERSION;
        let recorded = index_meta::get(&self.store, KEYWORD_ANALYZER).await?;
        let mut rebuilt = 0;
        if recorded.as_deref() != Some(current) && documents::chunk_count(&self.store).await? > 0 {
            tracing::warn!(previous = ?recorded, current, "the keyword index was cut by another analysis: indexing every chunk again");
            let dictionary = site_texts::current(&self.store, site_texts::Kind::DomainDictionary, "").await?;
            rebuilt = self
                .rebuild_keyword_index(site_texts::dictionary_words(&dictionary.text))
                .await?;
            tracing::info!(chunks = rebuilt, "keyword index analysed again");
        }
        index_meta::set(&self.store, KEYWORD_ANALYZER, current).await?;
        Ok(rebuilt)
    }
}
