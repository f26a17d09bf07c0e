//! Hybrid search: BM25 and dense retrieval each over the whole (permission-filtered)
//! index, fused (by score or reciprocal rank), then resolved to passages from the store,
//! where access is checked once more.

use std::collections::HashMap;

use retrieval::ScoredChunk;
use retrieval::fusion::{RRF_K, weighted_reciprocal_rank_fusion, weighted_score_fusion};
use serde::Serialize;

use super::Engine;
use crate::Result;
use crate::acl::Acl;
use crate::settings::Fusion;
use crate::store::documents;

/// One search result: a passage with where it comes from.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Hit {
    pub chunk_id: u64,
    /// The document's file name.
    pub document: String,
    pub document_id: String,
    pub version: i64,
    pub title: String,
    pub page: u32,
    pub heading: String,
    pub snippet: String,
    /// The document's format (`pdf`, `docx`, ...), groups, public flag and last update,
    /// for the search page's filters.
    pub format: String,
    pub groups: Vec<String>,
    pub public: bool,
    pub updated_at: String,
    /// Fused score (higher is better).
    pub score: f32,
    /// Cosine similarity to the query, when the dense retriever found this chunk.
    pub dense_score: Option<f32>,
    /// Rank in the BM25 list (0-based), when the keyword retriever found it.
    pub keyword_rank: Option<usize>,
    #[serde(skip)]
    pub text: String,
}

/// Which retrievers to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    Keyword,
    Dense,
    Hybrid,
}

const SNIPPET_CHARS: usize = 180;

impl Engine {
    /// The best `limit` passages for `query` that `acl` may read.
    pub async fn search(&self, query: &str, acl: &Acl, limit: usize) -> Result<Vec<Hit>> {
        self.search_with(query, acl, limit, SearchMode::Hybrid).await
    }

    /// Like [`Engine::search`] with only one retriever, or both.
    pub async fn search_with(&self, query: &str, acl: &Acl, limit: usize, mode: SearchMode) -> Result<Vec<Hit>> {
        let started = std::time::Instant::now();
        let hits = self.search_unmeasured(query, acl, limit, mode).await;
        crate::metrics::metrics()
            .search_seconds
            .observe(started.elapsed().as_secs_f64());
        hits
    }

    async fn search_unmeasured(&self, query: &str, acl: &Acl, limit: usize, mode: SearchMode) -> Result<Vec<Hit>> {
        let candidates = self.settings.retrieve_candidates.max(limit);
        let keyword = self.keyword.clone();
        let vectors = self.vectors.clone();
        let models = self.models.clone();
        let owned_query = query.to_owned();
        let owned_access = acl.retrieval_access();
        let (keyword_hits, dense_hits, tokens) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let keyword_hits = if mode == SearchMode::Dense {
                Vec::new()
            } else {
                keyword.search(&owned_query, candidates, &owned_access)?
            };
            let dense_hits = if mode == SearchMode::Keyword {
                Vec::new()
            } else {
                let vector = models.embedder()?.embed_query(&owned_query)?;
                vectors.search(&vector, candidates, &owned_access)?
            };
            Ok((keyword_hits, dense_hits, keyword.tokens(&owned_query)))
        })
        .await??;
        let fused: Vec<ScoredChunk> = match mode {
            SearchMode::Keyword => keyword_hits.iter().take(limit).copied().collect(),
            SearchMode::Dense => dense_hits.iter().take(limit).copied().collect(),
            SearchMode::Hybrid => {
                let lists = [
                    (keyword_hits.as_slice(), 1.0),
                    (dense_hits.as_slice(), self.settings.dense_weight),
                ];
                match self.settings.fusion {
                    Fusion::ReciprocalRank => weighted_reciprocal_rank_fusion(&lists, RRF_K, limit),
                    Fusion::Score => weighted_score_fusion(&lists, limit),
                }
            }
        };
        let dense_scores: HashMap<u64, f32> = dense_hits.iter().map(|hit| (hit.chunk_id, hit.score)).collect();
        let keyword_ranks: HashMap<u64, usize> = keyword_hits
            .iter()
            .enumerate()
            .map(|(rank, hit)| (hit.chunk_id, rank))
            .collect();
        let mut hits = self.resolve(&fused, acl, &tokens).await?;
        for hit in &mut hits {
            hit.dense_score = dense_scores.get(&hit.chunk_id).copied();
            hit.keyword_rank = keyword_ranks.get(&hit.chunk_id).copied();
        }
        if mode == SearchMode::Hybrid && self.settings.rerank_top > 0 {
            hits = self.rerank(query, hits).await?;
        }
        Ok(hits)
    }

    /// Reorders the first `rerank_top` hits by the generator's judgement of whether each
    /// passage answers `query` (off by default: on two cores it costs a prompt reading per
    /// passage). Hits it cannot score keep their place.
    async fn rerank(&self, query: &str, mut hits: Vec<Hit>) -> Result<Vec<Hit>> {
        let count = self.settings.rerank_top.min(hits.len());
        let passages: Vec<String> = hits[..count].iter().map(|hit| hit.text.clone()).collect();
        let models = self.models.clone();
        let owned_query = query.to_owned();
        let scores = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Option<f32>>> {
            let generator = models.generator()?;
            passages
                .iter()
                .map(|passage| Ok(generator.relevance(&owned_query, passage)?))
                .collect()
        })
        .await??;
        if scores.iter().any(Option::is_none) {
            return Ok(hits);
        }
        let mut head: Vec<(f32, Hit)> = scores.into_iter().flatten().zip(hits.drain(..count)).collect();
        // Stable: equally relevant passages keep their fused order.
        head.sort_by(|left, right| right.0.total_cmp(&left.0));
        let mut reranked: Vec<Hit> = head.into_iter().map(|(_, hit)| hit).collect();
        reranked.extend(hits);
        Ok(reranked)
    }

    /// Loads the passages of `scored` chunks, in order, re-checking access against the store.
    async fn resolve(&self, scored: &[ScoredChunk], acl: &Acl, tokens: &[String]) -> Result<Vec<Hit>> {
        let ids: Vec<u64> = scored.iter().map(|hit| hit.chunk_id).collect();
        let mut by_id = HashMap::with_capacity(ids.len());
        for chunk in documents::resolve_chunks(&self.store, &ids).await? {
            if !acl.may_read(&chunk.document.access) {
                tracing::error!(chunk = chunk.chunk_id, "index returned a chunk the caller may not read");
                continue;
            }
            by_id.insert(
                chunk.chunk_id,
                Hit {
                    chunk_id: chunk.chunk_id,
                    document: chunk.document.name(),
                    document_id: chunk.document.id,
                    version: chunk.version,
                    title: chunk.document.title,
                    page: chunk.page,
                    heading: chunk.heading,
                    snippet: snippet(&chunk.text, tokens),
                    format: chunk.document.format,
                    groups: chunk.document.access.groups,
                    public: chunk.document.access.public,
                    updated_at: chunk.document.updated_at,
                    score: 0.0,
                    dense_score: None,
                    keyword_rank: None,
                    text: chunk.text,
                },
            );
        }
        Ok(scored
            .iter()
            .filter_map(|scored_chunk| {
                by_id.remove(&scored_chunk.chunk_id).map(|mut hit| {
                    hit.score = scored_chunk.score;
                    hit
                })
            })
            .collect())
    }
}

/// About [`SNIPPET_CHARS`] characters around the first query term found in `text`.
pub fn snippet(text: &str, tokens: &[String]) -> String {
    let flattened: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let lower = flattened.to_lowercase();
    let first_match = tokens
        .iter()
        .filter(|token| !token.is_empty())
        .filter_map(|token| lower.find(token.as_str()))
        .min()
        .filter(|index| flattened.is_char_boundary(*index));
    let characters: Vec<char> = flattened.chars().collect();
    let center = first_match.map(|index| flattened[..index].chars().count()).unwrap_or(0);
    let start = center.saturating_sub(SNIPPET_CHARS / 3);
    let end = (start + SNIPPET_CHARS).min(characters.len());
    let mut result = String::new();
    if start > 0 {
        result.push('…');
    }
    result.extend(&characters[start..end]);
    if end < characters.len() {
        result.push('…');
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_centres_on_the_first_match() {
        let text = format!("{} systemd starts units {}", "lorem ".repeat(60), "ipsum ".repeat(60));
        let result = snippet(&text, &["systemd".to_owned()]);
        assert!(result.starts_with('…') && result.ends_with('…'));
        assert!(result.contains("systemd starts units"));
        assert!(result.chars().count() <= SNIPPET_CHARS + 2);
        assert_eq!(snippet("短文本", &[]), "短文本");
    }
}
