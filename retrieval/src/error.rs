//! The one error type of the `retrieval` crate.

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Failures of the keyword index or a vector store. All are internal (the caller's query
/// cannot cause them) except `InvalidVector`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The keyword index failed.
    #[error("keyword index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// The keyword index directory could not be opened.
    #[error("keyword index directory: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
    /// A vector store failed.
    #[error("vector store: {0}")]
    VectorStore(String),
    /// A vector has the wrong length for the store.
    #[error("vector has {actual} dimensions, the store expects {expected}")]
    InvalidVector { expected: usize, actual: usize },
    /// Another process holds this index (a running server). The keyword index can still be
    /// opened read-only beside it; qdrant-edge cannot be opened at all.
    #[error("the index is locked by another process (is a server running on this data directory?)")]
    Locked,
    /// A write to an index opened read-only.
    #[error("the index was opened read-only")]
    ReadOnly,
    /// Reading or writing the store's files failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
