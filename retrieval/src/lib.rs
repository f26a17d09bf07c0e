//! Retrieval: the BM25 keyword stores, the vector stores and their fusion.
//!
//! Both indexes filter by access tokens *inside* the search (see [`access`]), so a caller
//! can never receive, or be answered from, a chunk they may not read. The crate knows
//! nothing of models: callers embed queries and hand vectors in.

pub mod access;
mod edge;
mod error;
pub mod fusion;
pub mod keyword;
pub mod normalize;
mod qdrant;
mod sparse;
pub mod tokenizer;
pub mod vector;

pub use access::Access;
pub use edge::EdgeVectorStore;
pub use error::{Error, Result};
pub use keyword::{KeywordChunk, KeywordIndex, KeywordStore};
pub use qdrant::{QdrantConfig, QdrantVectorStore};
pub use sparse::QdrantKeywordStore;
pub use vector::{MemoryVectorStore, VectorPoint, VectorStore};

/// A chunk id with a score from one retriever (higher is better).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredChunk {
    pub chunk_id: u64,
    pub score: f32,
}
