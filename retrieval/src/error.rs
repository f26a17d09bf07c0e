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
    /// Reading or writing the store's files failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
