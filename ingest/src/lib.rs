//! Document parsing and chunking: bytes of an uploaded file in, page-exact text chunks out.
//!
//! This crate knows nothing of indexes or storage. [`parse`] turns a file into pages of
//! text; [`chunk::chunk_document`] cuts pages into passages sized by the embedding model's
//! tokeniser, each remembering its page, heading and character span, so an answer can cite
//! the page a passage came from.

mod archive;
pub mod chunk;
mod eml;
mod error;
mod html;
pub mod ocr;
mod office;
mod pdf;
mod process;
pub mod quality;
mod sheet;
mod text;
mod xml;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use error::{Error, Result};
pub use ocr::OcrOptions;

/// One page (or slide, or sheet; the whole text for formats without pages) of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// 1-based page number.
    pub number: u32,
    pub text: String,
}

/// A parsed document: its title and its pages in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedDocument {
    pub title: String,
    pub format: Format,
    pub pages: Vec<Page>,
    /// Pages whose text could not be read, neither from a text layer nor by OCR (left empty).
    pub unreadable_pages: Vec<u32>,
    /// Pages whose text came from OCR.
    pub ocr_pages: Vec<u32>,
}

/// What one format's parser produces; [`parse_with`] adds the format and a fallback title.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub title: Option<String>,
    pub pages: Vec<Page>,
    pub unreadable_pages: Vec<u32>,
    pub ocr_pages: Vec<u32>,
}

/// The seam every format sits behind: bytes in, pages of text out.
pub trait Parser: Send + Sync {
    fn parse(&self, bytes: &[u8], options: &ParseOptions) -> Result<Parsed>;
}

/// Limits and OCR settings for one parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Larger files are refused.
    pub max_file_bytes: u64,
    /// OCR for scanned pages and images; `None` reports such pages as unreadable.
    pub ocr: Option<OcrOptions>,
    /// Nesting level (e-mail attachments are parsed one level down, at most twice).
    depth: u8,
}

impl ParseOptions {
    pub fn new(max_file_bytes: u64, ocr: Option<OcrOptions>) -> Self {
        Self {
            max_file_bytes,
            ocr,
            depth: 0,
        }
    }
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            ocr: Some(OcrOptions::default()),
            depth: 0,
        }
    }
}

/// The formats this crate parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Pdf,
    Docx,
    Pptx,
    Spreadsheet,
    Csv,
    Html,
    Markdown,
    Text,
    Email,
    Image,
}

/// File extensions the appliance reads, for upload forms and directory walks.
pub const EXTENSIONS: [&str; 22] = [
    "pdf", "docx", "pptx", "xlsx", "xlsm", "xlsb", "xls", "ods", "csv", "tsv", "html", "htm", "xhtml", "md",
    "markdown", "txt", "text", "eml", "png", "jpg", "jpeg", "tiff",
];

impl Format {
    /// The format a file name's extension announces.
    pub fn from_file_name(name: &str) -> Result<Self> {
        let extension = Path::new(name)
            .extension()
            .map(|extension| extension.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        match extension.as_str() {
            "pdf" => Ok(Self::Pdf),
            "docx" => Ok(Self::Docx),
            "pptx" => Ok(Self::Pptx),
            "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => Ok(Self::Spreadsheet),
            "csv" | "tsv" => Ok(Self::Csv),
            "html" | "htm" | "xhtml" => Ok(Self::Html),
            "md" | "markdown" => Ok(Self::Markdown),
            "txt" | "text" => Ok(Self::Text),
            "eml" => Ok(Self::Email),
            "png" | "jpg" | "jpeg" | "tif" | "tiff" => Ok(Self::Image),
            "doc" | "ppt" => Err(Error::UnsupportedFormat(format!(
                "{extension} (the old binary Office format: save it as .{extension}x and upload that)"
            ))),
            other => Err(Error::UnsupportedFormat(other.to_owned())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Docx => "docx",
            Self::Pptx => "pptx",
            Self::Spreadsheet => "spreadsheet",
            Self::Csv => "csv",
            Self::Html => "html",
            Self::Markdown => "markdown",
            Self::Text => "text",
            Self::Email => "email",
            Self::Image => "image",
        }
    }
}

/// The parser for `format`.
pub fn parser_for(format: Format) -> &'static dyn Parser {
    match format {
        Format::Pdf => &pdf::PdfParser,
        Format::Docx => &office::DocxParser,
        Format::Pptx => &office::PptxParser,
        Format::Spreadsheet => &sheet::WorkbookParser,
        Format::Csv => &sheet::CsvParser,
        Format::Html => &html::HtmlParser,
        Format::Markdown => &text::MarkdownParser,
        Format::Text => &text::PlainTextParser,
        Format::Email => &eml::EmlParser,
        Format::Image => &ocr::ImageParser,
    }
}

/// Upper bound on an uploaded file's size (bytes).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Parses `bytes`, named `file_name`, into pages of text with the default options.
pub fn parse(file_name: &str, bytes: &[u8]) -> Result<ParsedDocument> {
    parse_with(file_name, bytes, &ParseOptions::default())
}

/// Parses `bytes`, named `file_name`, into pages of text. A parser that panics (some
/// libraries do on hostile input) fails this document only.
pub fn parse_with(file_name: &str, bytes: &[u8], options: &ParseOptions) -> Result<ParsedDocument> {
    let format = Format::from_file_name(file_name)?;
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    if bytes.len() as u64 > options.max_file_bytes {
        return Err(Error::TooLarge {
            size: bytes.len() as u64,
            limit: options.max_file_bytes,
        });
    }
    let fallback_title = Path::new(file_name)
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parsed = catch_unwind(AssertUnwindSafe(|| parser_for(format).parse(bytes, options))).map_err(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|message| (*message).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Error::Corrupt(format!("the {} parser failed on this file: {message}", format.as_str()))
    })??;
    if parsed.pages.iter().all(|page| page.text.trim().is_empty()) {
        if !parsed.unreadable_pages.is_empty() {
            return Err(Error::Unreadable(parsed.unreadable_pages.len()));
        }
        return Err(Error::NoText);
    }
    Ok(ParsedDocument {
        title: parsed
            .title
            .filter(|title| !title.trim().is_empty())
            .unwrap_or(fallback_title),
        format,
        pages: parsed.pages,
        unreadable_pages: parsed.unreadable_pages,
        ocr_pages: parsed.ocr_pages,
    })
}

/// A file name safe to show and store: its last path component, without control or
/// bidirectional-override characters, without leading dots, at most 200 characters.
pub fn display_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|character| {
            !character.is_control()
                && !matches!(character, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
        })
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        "upload".to_owned()
    } else {
        cleaned.to_owned()
    }
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
        assert_eq!(Format::from_file_name("表.XLSX").unwrap(), Format::Spreadsheet);
        assert!(matches!(
            Format::from_file_name("x.exe"),
            Err(Error::UnsupportedFormat(_))
        ));
        for extension in EXTENSIONS {
            assert!(Format::from_file_name(&format!("a.{extension}")).is_ok(), "{extension}");
        }
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
    fn display_names_lose_paths_and_control_characters() {
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(display_name("a\u{0007}b\u{202E}fdp.exe\n"), "abfdp.exe");
        assert_eq!(display_name("..."), "upload");
        assert_eq!(display_name("报告.pdf"), "报告.pdf");
    }

    #[test]
    fn markdown_title_comes_from_first_heading() {
        let document = parse("notes.md", "# 安装指南\n\n第一步。".as_bytes()).unwrap();
        assert_eq!(document.title, "安装指南");
        assert_eq!(document.pages.len(), 1);
    }
}
