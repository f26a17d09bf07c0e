//! BM25 in a Qdrant server or cluster: the [`KeywordStore`] that several appliance nodes
//! share, so keyword search (and with it hybrid search) runs inside the cluster and a
//! document indexed through one node is found through every other.
//!
//! Each chunk is one point of the `COLLECTION_bm25` collection with one sparse vector,
//! `bm25`. Its dimensions are its terms, cut by the same analyzer as the tantivy index
//! (jieba, folding, stemming) and hashed to 32 bits (FNV-1a), one dimension per field and
//! term so that title and text are scored as separate fields, as tantivy does. Each value
//! is BM25's term-frequency part, `tf·(k1+1) / (tf + k1·(1 − b + b·len/avglen))`; the
//! collection's IDF modifier makes Qdrant multiply it by the term's inverse document
//! frequency at query time, so the query vector only counts its terms. The
//! one difference from tantivy: the field-length normaliser uses a fixed average length
//! (a corpus statistic measured once, see [`TEXT_AVERAGE_TOKENS`]) where tantivy keeps the
//! running average of its own index.
//!
//! The payload holds the document id, the access tokens (filtered inside the search, as
//! everywhere) and the chunk's distinct text terms, whose keyword index gives the document
//! frequencies that answer evidence ([`KeywordStore::coverage`]) is weighed with.

use std::collections::{BTreeMap, HashMap};

use qdrant_client::qdrant::{
    Condition, CreateCollectionBuilder, Filter, Modifier, NamedVectors, PointStruct, Query, QueryPointsBuilder,
    SparseVectorParamsBuilder, SparseVectorsConfigBuilder, Value, Vector, VectorInput,
};

use crate::keyword::{KeywordChunk, KeywordStore};
use crate::qdrant::{ACCESS_FIELD, Connection, DOCUMENT_FIELD, access_payload, document_filter, point_ids, query};
use crate::tokenizer::SharedAnalyzer;
use crate::{Access, QdrantConfig, Result, ScoredChunk};

const SPARSE_VECTOR: &str = "bm25";
const TERMS_FIELD: &str = "terms";
/// BM25's saturation and length-normalisation parameters (tantivy's).
const K1: f32 = 1.2;
const B: f32 = 0.75;
/// Average analyser tokens in a chunk's text: the mean over the chunks of the shared
/// evaluation corpora (SciFact, CMRC 2018, DRCD, XQuAD) at the default chunk size.
pub const TEXT_AVERAGE_TOKENS: f32 = 150.0;
/// Average analyser tokens in a title.
pub const TITLE_AVERAGE_TOKENS: f32 = 6.0;

#[derive(Clone, Copy)]
enum Field {
    Text,
    Title,
}

/// The sparse dimension of `term` in `field`: FNV-1a over a field tag and the term, so
/// every node maps a term to the same dimension without a shared vocabulary.
fn dimension(field: Field, term: &str) -> u32 {
    let tag = match field {
        Field::Text => b't',
        Field::Title => b'h',
    };
    let mut hash: u32 = 0x811c_9dc5;
    for byte in std::iter::once(tag).chain(term.bytes()) {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// Adds `field`'s BM25 term-frequency weights of `tokens` to `weights`.
fn add_field(weights: &mut BTreeMap<u32, f32>, field: Field, tokens: &[String], average: f32) {
    let mut frequencies: HashMap<&str, f32> = HashMap::new();
    for token in tokens {
        *frequencies.entry(token).or_default() += 1.0;
    }
    let norm = K1 * (1.0 - B + B * tokens.len() as f32 / average);
    for (term, frequency) in frequencies {
        *weights.entry(dimension(field, term)).or_default() += frequency * (K1 + 1.0) / (frequency + norm);
    }
}

fn sparse(weights: BTreeMap<u32, f32>) -> (Vec<u32>, Vec<f32>) {
    weights.into_iter().unzip()
}

/// BM25 as sparse vectors in Qdrant.
pub struct QdrantKeywordStore {
    connection: Connection,
    collection: String,
    analyzer: SharedAnalyzer,
}

impl std::fmt::Debug for QdrantKeywordStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("QdrantKeywordStore")
            .field("collection", &self.collection)
            .finish_non_exhaustive()
    }
}

impl QdrantKeywordStore {
    /// Connects and creates the `{config.collection}_bm25` collection (a sparse vector with
    /// the IDF modifier, keyword indexes on document, access and terms) if it does not
    /// exist; `extra_words` is the domain dictionary.
    pub fn connect(config: &QdrantConfig, extra_words: &[String]) -> Result<Self> {
        let connection = Connection::open(config)?;
        let collection = format!("{}_bm25", config.collection);
        let mut sparse_config = SparseVectorsConfigBuilder::default();
        sparse_config.add_named_vector_params(
            SPARSE_VECTOR,
            SparseVectorParamsBuilder::default().modifier(Modifier::Idf),
        );
        connection.ensure_collection(
            &collection,
            CreateCollectionBuilder::new(&collection)
                .sparse_vectors_config(sparse_config)
                .shard_number(config.shards)
                .replication_factor(config.replication),
            &[DOCUMENT_FIELD, ACCESS_FIELD, TERMS_FIELD],
        )?;
        Ok(Self {
            connection,
            collection,
            analyzer: SharedAnalyzer::new(extra_words),
        })
    }

    fn point(&self, chunk: &KeywordChunk) -> PointStruct {
        let text = self.analyzer.tokens(&chunk.text);
        let title = self.analyzer.tokens(&chunk.title);
        let mut weights = BTreeMap::new();
        add_field(&mut weights, Field::Text, &text, TEXT_AVERAGE_TOKENS);
        add_field(&mut weights, Field::Title, &title, TITLE_AVERAGE_TOKENS);
        let (indices, values) = sparse(weights);
        let mut terms = text;
        terms.sort();
        terms.dedup();
        let mut payload = access_payload(&chunk.access);
        payload.insert(DOCUMENT_FIELD.to_owned(), Value::from(chunk.document.clone()));
        payload.insert(TERMS_FIELD.to_owned(), Value::from(terms));
        let vectors = NamedVectors::default().add_vector(SPARSE_VECTOR, Vector::new_sparse(indices, values));
        PointStruct::new(chunk.chunk_id, vectors, payload)
    }
}

impl KeywordStore for QdrantKeywordStore {
    fn add_chunks(&self, chunks: &[KeywordChunk]) -> Result<()> {
        let points = chunks.iter().map(|chunk| self.point(chunk)).collect();
        self.connection.upsert(&self.collection, points)
    }

    fn delete_chunks(&self, chunk_ids: &[u64]) -> Result<()> {
        if chunk_ids.is_empty() {
            return Ok(());
        }
        self.connection.delete(&self.collection, point_ids(chunk_ids))
    }

    fn delete_document(&self, document: &str) -> Result<()> {
        self.connection.delete(&self.collection, document_filter(document))
    }

    /// Not one atomic step across the cluster: a search during the rebuild sees part of
    /// the chunks. Other nodes cut queries with the new dictionary once they restart.
    fn rebuild(&self, extra_words: &[String], chunks: &[KeywordChunk]) -> Result<()> {
        self.analyzer.replace(extra_words);
        self.connection.delete(&self.collection, Filter::default())?;
        self.add_chunks(chunks)
    }

    fn follow_dictionary(&self, extra_words: &[String]) {
        self.analyzer.replace(extra_words);
    }

    fn search(&self, query_text: &str, limit: usize, access: &Access) -> Result<Vec<ScoredChunk>> {
        let tokens = self.analyzer.tokens(query_text);
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        // Each query term counts once per occurrence in each field, like tantivy's clauses.
        let mut weights: BTreeMap<u32, f32> = BTreeMap::new();
        for token in &tokens {
            for field in [Field::Text, Field::Title] {
                *weights.entry(dimension(field, token)).or_default() += 1.0;
            }
        }
        let (indices, values) = sparse(weights);
        let request = QueryPointsBuilder::new(&self.collection)
            .query(Query::new_nearest(VectorInput::new_sparse(indices, values)))
            .using(SPARSE_VECTOR);
        let mut hits = query(&self.connection, request, limit, access)?;
        hits.retain(|hit| hit.score > 0.0);
        Ok(hits)
    }

    fn count(&self) -> Result<u64> {
        self.connection.count(&self.collection, None)
    }

    fn document_frequencies(&self, terms: &[String]) -> Result<(u64, Vec<u64>)> {
        let total = self.connection.count(&self.collection, None)?;
        let frequencies = terms
            .iter()
            .map(|term| {
                let filter = Filter::must([Condition::matches(TERMS_FIELD, term.clone())]);
                self.connection.count(&self.collection, Some(filter))
            })
            .collect::<Result<Vec<u64>>>()?;
        Ok((total, frequencies))
    }

    fn tokens(&self, text: &str) -> Vec<String> {
        self.analyzer.tokens(text)
    }

    fn discard(&self) -> Result<()> {
        self.connection.drop_collection(&self.collection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyword::conformance;

    #[test]
    fn dimensions_are_stable_and_separate_fields() {
        // Pinned: every node and every version must map a term to the same dimension.
        assert_ne!(dimension(Field::Text, "canteen"), dimension(Field::Text, "canteens"));
        assert_ne!(dimension(Field::Text, "canteen"), dimension(Field::Title, "canteen"));
        assert_eq!(dimension(Field::Text, ""), 0xf10c_3da3);
    }

    #[test]
    fn term_weights_saturate_and_favour_short_fields() {
        let tokens = |words: &str| words.split(' ').map(str::to_owned).collect::<Vec<_>>();
        let weight = |words: &str, term: &str| {
            let mut weights = BTreeMap::new();
            add_field(&mut weights, Field::Text, &tokens(words), 4.0);
            weights[&dimension(Field::Text, term)]
        };
        assert!(weight("tea tea tea tea", "tea") > weight("tea a b c", "tea"));
        assert!(weight("tea tea tea tea", "tea") < 3.0 * weight("tea a b c", "tea"));
        assert!(weight("tea a", "tea") > weight("tea a b c d e f g", "tea"));
        assert!(weight("tea a b c d e f g", "tea") <= K1 + 1.0);
    }

    /// Runs the conformance suite against a real Qdrant when `QDRANT_URL` is set;
    /// otherwise says loudly that it did not run.
    #[test]
    fn qdrant_keyword_store_conforms() {
        let Ok(url) = std::env::var("QDRANT_URL") else {
            eprintln!(
                "WARNING: the Qdrant keyword store conformance run DID NOT RUN: set QDRANT_URL to a Qdrant \
                 server's gRPC address (README, Scaling out)"
            );
            return;
        };
        let config = QdrantConfig {
            url,
            api_key: std::env::var("QDRANT_API_KEY").ok(),
            collection: format!("conformance-keywords-{}", std::process::id()),
            shards: 2,
            replication: 1,
        };
        let store = QdrantKeywordStore::connect(&config, &[]).unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| conformance::run(&store)));
        store.discard().unwrap();
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }
}
