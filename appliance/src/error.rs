//! The one error type of the appliance's core. Its variants say whose fault a failure is:
//! the caller's (bad input, a missing or forbidden document, a conflict, a data directory
//! another process holds) or ours (everything in [`Error::Internal`]). The HTTP layer
//! turns the first kind into 4xx answers with their message and the second into a 500
//! whose detail only the server log sees.

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or asks for something impossible; the message says why.
    #[error("{0}")]
    BadRequest(String),
    /// No such thing, or one the caller may not see (the two are never told apart).
    #[error("not found")]
    NotFound,
    /// The caller may see it but not do this to it.
    #[error("you are not allowed to do this")]
    Forbidden,
    /// The request clashes with the current state; the message says how to proceed.
    #[error("{0}")]
    Conflict(String),
    /// Another process (a running server) writes this data directory.
    #[error("a server is running on this data directory ({0}); use its web page or HTTP API, or stop it first")]
    DataDirectoryBusy(String),
    /// Our failure: a database, index, model or file system error.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// Whether the caller caused it (an HTTP 4xx), rather than the appliance.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, Error::Internal(_))
    }
}

macro_rules! internal_from {
    ($($source:ty),* $(,)?) => {
        $(impl From<$source> for Error {
            fn from(error: $source) -> Self {
                Error::Internal(anyhow::Error::from(error))
            }
        })*
    };
}

/// A document that cannot be parsed is the uploader's problem (the message says why); a
/// failure to read it from disk is ours.
impl From<ingest::Error> for Error {
    fn from(error: ingest::Error) -> Self {
        match error {
            ingest::Error::Io(_) => Error::Internal(anyhow::Error::from(error)),
            other => Error::BadRequest(other.to_string()),
        }
    }
}

internal_from!(
    retrieval::Error,
    llm::Error,
    std::io::Error,
    serde_json::Error,
    tokio::task::JoinError,
);
