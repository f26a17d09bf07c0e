//! Document parsing and chunking: bytes of an uploaded file in, page-exact text chunks out.
//!
//! This crate knows nothing of indexes or storage. [`parse`] turns a file into pages of
//! text; [`chunk::chunk_document`] cuts pages into passages sized by the embedding model's
//! tokeniser, each remembering its page, heading and character span, so an answer can cite
//! the page a passage came from.

pub mod chunk;
mod error;
mod html;
mod pdf;
pub mod quality;
mod text;

use std::path::Path;

use sha2::{Digest, Sha256};

pub use error::{Error, Result};

/// One page (or the whole text, for formats without pages) of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// 1-based page number.
    pub number: u32,
    pub text: String,
}

/// A parsed document: its title and its pages in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedDocument {
    pub title: String,
    pub format: Format,
    pub pages: Vec<Page>,
    /// Pages whose text layer is not language (left empty; they need OCR).
    pub unreadable_pages: Vec<u32>,
}

/// The formats this crate parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Html,
    Markdown,
    Text,
}

impl Format {
    /// The format a file name's extension announces.
    pub fn from_file_name(name: &str) -> Result<Self> {
        let extension = Path::new(name)
            .extension()
            .map(|extension| extension.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        match extension.as_str() {
            "pdf" => Ok(Self::Pdf),
            "html" | "htm" | "xhtml" => Ok(Self::Html),
            "md" | "markdown" => Ok(Self::Markdown),
            "txt" | "text" => Ok(Self::Text),
            other => Err(Error::UnsupportedFormat(other.to_owned())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Html => "html",
            Self::Markdown => "markdown",
            Self::Text => "text",
        }
    }
}

/// Upper bound on an uploaded file's size (bytes).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Parses `bytes`, named `file_name`, into pages of text.
pub fn parse(file_name: &str, bytes: &[u8]) -> Result<ParsedDocument> {
    let format = Format::from_file_name(file_name)?;
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    if bytes.len() as u64 > DEFAULT_MAX_FILE_BYTES {
        return Err(Error::TooLarge {
            size: bytes.len() as u64,
            limit: DEFAULT_MAX_FILE_BYTES,
        });
    }
    let fallback_title = Path::new(file_name)
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut unreadable_pages = Vec::new();
    let (title, pages) = match format {
        Format::Pdf => {
            let (pages, unreadable) = pdf::pages(bytes)?;
            unreadable_pages = unreadable;
            (None, pages)
        }
        Format::Html => html::parse(bytes)?,
        Format::Markdown => text::parse_markdown(bytes)?,
        Format::Text => (None, text::parse_plain(bytes)?),
    };
    if pages.iter().all(|page| page.text.trim().is_empty()) {
        if !unreadable_pages.is_empty() {
            return Err(Error::Unreadable(unreadable_pages.len()));
        }
        return Err(Error::NoText);
    }
    Ok(ParsedDocument {
        title: title.filter(|title| !title.trim().is_empty()).unwrap_or(fallback_title),
        format,
        pages,
        unreadable_pages,
    })
}

/// Hex SHA-256 of a file's bytes: the identity used for deduplication.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_extension() {
        assert_eq!(Format::from_file_name("a/B.PDF").unwrap(), Format::Pdf);
        assert_eq!(Format::from_file_name("x.md").unwrap(), Format::Markdown);
        assert!(matches!(
            Format::from_file_name("x.exe"),
            Err(Error::UnsupportedFormat(_))
        ));
    }

    #[test]
    fn empty_and_binary_files_fail_with_reasons() {
        assert!(matches!(parse("a.txt", b""), Err(Error::Empty)));
        assert!(matches!(
            parse("a.txt", b"\x00\x01\x02junk\xff"),
            Err(Error::NotText(_))
        ));
        assert!(matches!(parse("a.txt", b"   \n  "), Err(Error::NoText)));
    }

    #[test]
    fn markdown_title_comes_from_first_heading() {
        let document = parse("notes.md", "# 安装指南\n\n第一步。".as_bytes()).unwrap();
        assert_eq!(document.title, "安装指南");
        assert_eq!(document.pages.len(), 1);
    }
}
