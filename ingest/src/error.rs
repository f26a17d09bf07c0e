//! The one error type of the `ingest` crate.

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a document could not be turned into text. Every variant except `Io` is the
/// document's fault, not the appliance's: the message is shown to the uploader.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file type is not one we parse.
    #[error(
        "unsupported file type {0:?}: expected PDF, Word (.docx), PowerPoint (.pptx), Excel (.xlsx, .xls), \
         OpenDocument (.ods), CSV, HTML, Markdown, text, e-mail (.eml) or an image (.png, .jpg, .tiff)"
    )]
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
    /// The file is damaged, not what its name says, or over a safety limit.
    #[error("{0}")]
    Corrupt(String),
    /// Parsing succeeded but produced no text at all.
    #[error("no text could be extracted (a scanned document without a text layer?)")]
    NoText,
    /// No page could be read, neither from its text layer nor by OCR.
    #[error("none of the {0} pages could be read: no usable text layer, and OCR found no text")]
    Unreadable(usize),
    /// Reading the file failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
