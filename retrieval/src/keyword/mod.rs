//! Keyword (BM25) retrieval behind one seam, [`KeywordStore`], with two implementations:
//!
//! - [`KeywordIndex`], tantivy in a directory of one node: the single-box default.
//! - [`QdrantKeywordStore`](crate::QdrantKeywordStore), each chunk's BM25 term weights as a
//!   sparse vector in a Qdrant server or cluster, which Qdrant scores with its IDF modifier:
//!   what several appliance nodes share, so a document indexed through one is found through
//!   every other.
//!
//! Both cut text with the same analyzer ([`crate::tokenizer`]: jieba, Traditional folded to
//! Simplified, Snowball stemming), both filter by access tokens inside the search, and both
//! pass [`conformance::run`].

mod index;

pub mod conformance;

pub use index::KeywordIndex;

use crate::{Access, Result, ScoredChunk};

/// A chunk as the keyword index sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordChunk {
    pub chunk_id: u64,
    pub document: String,
    pub title: String,
    pub text: String,
    pub access: Vec<String>,
}

/// Words that are not evidence: the words that make a sentence a question (passages rarely
/// contain them, so they say nothing about whether a passage answers it) and function words
/// that carry no topic ("在", "用", "有", "it"): a passage lacking them lacks nothing the
/// question asks for.
///
/// The analyzer folds Traditional forms to Simplified and stems English words, so each word
/// is listed once.
const QUESTION_WORDS: &str = "what which who whom whose when where why how does did do is are was were \
    can could would should will may might must the a an of in on at to for by with from i me my we our you your \
    please it its this that there be been have has had any if myself shouldn doesn don isn aren t s \
    什么 什么时候 时候 哪 哪个 哪些 哪里 哪儿 哪种 哪一年 谁 何时 多少 几 怎么 怎么做 怎样 如何 为什么 为何 什么样 是 的 了 吗 呢 \
    可以 能 能否 会 是否 我 我们 你 您 请 有 用 在 里 把 为 让 被 时 后 以后 之后 下 做 这个 那个 某个 某些 应该 该 要 分别 \
    和 与 或 及 都 也 就";

/// BM25 keyword search over chunks with the permission filter inside the search.
///
/// Writes replace by chunk id, so a retried write never duplicates. Scores are BM25 sums
/// over the query's terms (title and text scored as separate fields), higher is better.
pub trait KeywordStore: Send + Sync {
    /// Adds `chunks`, replacing any stored chunk with the same id.
    fn add_chunks(&self, chunks: &[KeywordChunk]) -> Result<()>;
    /// Removes the chunks with these ids (ids not stored are ignored).
    fn delete_chunks(&self, chunk_ids: &[u64]) -> Result<()>;
    /// Removes every chunk of `document`.
    fn delete_document(&self, document: &str) -> Result<()>;
    /// Switches to a new domain dictionary and replaces every stored chunk by `chunks`
    /// (read back from the database), analysed with it.
    fn rebuild(&self, extra_words: &[String], chunks: &[KeywordChunk]) -> Result<()>;
    /// Cuts queries and new chunks with the domain dictionary `extra_words` from now on,
    /// without re-indexing: another node sharing this index has rebuilt it.
    fn follow_dictionary(&self, extra_words: &[String]);
    /// Best `limit` chunks for `query` that `access` may see.
    fn search(&self, query: &str, limit: usize, access: &Access) -> Result<Vec<ScoredChunk>>;
    /// Number of chunks stored.
    fn count(&self) -> Result<u64>;
    /// The number of chunks stored and, for each of `terms` (analyser terms), the number of
    /// chunks whose text contains it.
    fn document_frequencies(&self, terms: &[String]) -> Result<(u64, Vec<u64>)>;
    /// The analyzer's tokens of `text` in order, under the dictionary in force.
    fn tokens(&self, text: &str) -> Vec<String>;
    /// Removes the whole index from a server shared with others (evaluation runs use a
    /// scratch one); a no-op for an index that lives in a directory removed with it.
    fn discard(&self) -> Result<()> {
        Ok(())
    }

    /// The analyzer's terms of `text` in order, without question and function words: the
    /// terms that say what a question is about.
    fn content_terms(&self, text: &str) -> Vec<String> {
        let question_words = self.tokens(QUESTION_WORDS);
        let mut terms = self.tokens(text);
        terms.retain(|term| !question_words.contains(term));
        terms
    }

    /// How much of `query` each passage covers, from 0 to 1: the share of the query's
    /// distinct terms found in the passage, each weighted by its inverse document frequency
    /// in this index, so "the", "是" or a topic word on every page count for little and the
    /// question's specific terms for much. The answer path uses it as the evidence that a
    /// passage can answer the question at all.
    fn coverage(&self, query: &str, passages: &[&str]) -> Result<Vec<f32>> {
        let mut terms = self.content_terms(query);
        terms.sort();
        terms.dedup();
        let (documents, frequencies) = self.document_frequencies(&terms)?;
        let documents = documents.max(1) as f32;
        let weights: Vec<f32> = frequencies
            .iter()
            .map(|&frequency| {
                let frequency = frequency as f32;
                (1.0 + (documents - frequency + 0.5) / (frequency + 0.5)).ln()
            })
            .collect();
        let total: f32 = weights.iter().sum();
        Ok(passages
            .iter()
            .map(|passage| {
                if total <= 0.0 {
                    return 0.0;
                }
                let present: std::collections::HashSet<String> = self.tokens(passage).into_iter().collect();
                let covered: f32 = terms
                    .iter()
                    .zip(&weights)
                    .filter(|(term, _)| present.contains(*term))
                    .map(|(_, weight)| weight)
                    .sum();
                covered / total
            })
            .collect())
    }
}
