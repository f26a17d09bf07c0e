//! The one error type of the `ingest` crate.

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a document could not be turned into text. Every variant except `Io` is the
/// document's fault, not the appliance's: the message is shown to the uploader.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file type is not one we parse.
    #[error("unsupported file type {0:?}: expected .pdf, .html, .htm, .md, .markdown or .txt")]
    UnsupportedFormat(String),
    /// The file is empty.
    #[error("the file is empty")]
    Empty,
    /// The file is larger than the configured limit.
    #[error("the file is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    /// The bytes are not text in a supported encoding.
    #[error("the file is not readable text: {0}")]
    NotText(String),
    /// The PDF could not be read.
    #[error("the PDF could not be read: {0}")]
    Pdf(String),
    /// Parsing succeeded but produced no text at all.
    #[error("no text could be extracted (a scanned document without a text layer?)")]
    NoText,
    /// Every page's text layer is extraction garbage (fonts without a text map).
    #[error("the text of all {0} pages is unreadable (fonts without a text map); OCR is not available yet")]
    Unreadable(usize),
    /// Reading the file failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
