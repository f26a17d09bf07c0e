//! The one error type of the `llm` crate.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model file is missing: the operator has to run the setup.
    #[error("model file {path} is missing: run `scripts/fetch-models.sh` (or copy a models directory) first")]
    MissingModel { path: PathBuf },
    /// A model file exists but its contents are not what we expect.
    #[error("model file {path} is malformed: {reason}; re-run `scripts/fetch-models.sh` to restore it")]
    MalformedModel { path: PathBuf, reason: String },
    /// The tokenizer could not be built or failed on an input.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// Tensor arithmetic failed inside candle.
    #[error("inference: {0}")]
    Candle(#[from] candle_core::Error),
    /// Reading a model file failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A remote inference server failed or could not be reached.
    #[error("remote generator: {0}")]
    Remote(String),
    /// The caller went away or asked to stop.
    #[error("generation cancelled")]
    Cancelled,
}

impl Error {
    pub(crate) fn tokenizer(error: impl std::fmt::Display) -> Self {
        Self::Tokenizer(error.to_string())
    }
}
