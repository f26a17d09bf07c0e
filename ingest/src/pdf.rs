//! PDF text per page: pdf-extract first, poppler's `pdftotext` as a cross-check, and OCR
//! for pages neither can read.
//!
//! pdf-extract panics rather than erring on some real PDFs (predefined CJK CMaps such as
//! UniGB-UCS2-H), so it runs under `catch_unwind`; a panic becomes this document's fallback,
//! never a crashed worker. Fonts without a usable text map make pdf-extract return mojibake
//! that poppler often decodes; a page that is garbage in both, or has no text at all (a
//! scan), is rendered and read by Tesseract; what OCR cannot read either is left empty and
//! reported, never indexed as garbage.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::Command;
use std::time::Duration;

use crate::quality::looks_like_language;
use crate::{Error, Page, ParseOptions, Parsed, Parser, Result, ocr, process};

/// Pages with fewer visible characters than this are treated as scans and sent to OCR.
const SCANNED_PAGE_CHARACTERS: usize = 20;

/// How long poppler may take over a whole document.
const PDFTOTEXT_TIMEOUT: Duration = Duration::from_secs(300);

pub(crate) struct PdfParser;

impl Parser for PdfParser {
    fn parse(&self, bytes: &[u8], options: &ParseOptions) -> Result<Parsed> {
        let (mut pages, mut unreadable) = pages(bytes)?;
        let mut ocr_pages = Vec::new();
        if let Some(ocr_options) = &options.ocr {
            let candidates: Vec<u32> = pages
                .iter()
                .filter(|page| {
                    unreadable.contains(&page.number) || visible_characters(&page.text) < SCANNED_PAGE_CHARACTERS
                })
                .map(|page| page.number)
                .collect();
            if !candidates.is_empty() {
                let recognised = ocr_pages_of(bytes, &candidates, ocr_options)?;
                for (number, text) in recognised {
                    let page = &mut pages[number as usize - 1];
                    if visible_characters(&text) > visible_characters(&page.text) && looks_like_language(&text) {
                        page.text = text;
                        unreadable.retain(|other| *other != number);
                        ocr_pages.push(number);
                    }
                }
            }
        }
        Ok(Parsed {
            title: None,
            pages,
            unreadable_pages: unreadable,
            ocr_pages,
        })
    }
}

/// OCR text of the `numbers` pages; stops at the first failure that would repeat on every
/// page (Tesseract missing), skips pages that fail alone.
fn ocr_pages_of(bytes: &[u8], numbers: &[u32], options: &ocr::OcrOptions) -> Result<Vec<(u32, String)>> {
    let mut file = tempfile::Builder::new().suffix(".pdf").tempfile()?;
    file.write_all(bytes)?;
    file.flush()?;
    let mut recognised = Vec::new();
    for &number in numbers {
        match ocr::pdf_page(file.path(), number, options) {
            Ok(text) => recognised.push((number, text)),
            Err(reason) if reason.contains("not installed") => {
                tracing::warn!(%reason, "OCR is unavailable; scanned pages stay unreadable");
                break;
            }
            Err(reason) => tracing::warn!(page = number, %reason, "OCR failed on a page"),
        }
    }
    Ok(recognised)
}

/// Pages of text, and the numbers of pages whose text layer was unreadable (left empty).
pub(crate) fn pages(bytes: &[u8]) -> Result<(Vec<Page>, Vec<u32>)> {
    if !bytes.starts_with(b"%PDF") {
        return Err(Error::Pdf("the file does not start with a PDF header".into()));
    }
    let extracted = catch_unwind(AssertUnwindSafe(|| pdf_extract::extract_text_from_mem_by_pages(bytes)));
    let primary = match extracted {
        Ok(Ok(texts)) if texts.iter().any(|text| !text.trim().is_empty()) => Ok(texts),
        Ok(Ok(_)) => Err("pdf-extract found no text".to_owned()),
        Ok(Err(error)) => Err(format!("pdf-extract: {error}")),
        Err(_) => Err("pdf-extract panicked".to_owned()),
    };
    // poppler reads fonts that pdf-extract cannot (it drops or garbles their text), and it
    // is fast next to embedding: it cross-checks every page.
    let secondary = pdftotext(bytes);
    match (primary, secondary) {
        (Ok(primary), Ok(secondary)) if primary.len() == secondary.len() => Ok(choose_pages(primary, secondary)),
        (Ok(primary), _) => Ok(choose_pages(primary, Vec::new())),
        (Err(reason), Ok(secondary)) => {
            tracing::debug!(%reason, "using pdftotext");
            Ok(choose_pages(secondary, Vec::new()))
        }
        (Err(first), Err(second)) => Err(Error::Pdf(format!("{first}; {second}"))),
    }
}

fn visible_characters(text: &str) -> usize {
    text.chars().filter(|character| !character.is_whitespace()).count()
}

/// Per page, the primary text if it is language and not much shorter than the alternative,
/// else the alternative if that is language; pages readable in neither are emptied and listed.
fn choose_pages(primary: Vec<String>, alternative: Vec<String>) -> (Vec<Page>, Vec<u32>) {
    let mut unreadable = Vec::new();
    let mut chosen = Vec::with_capacity(primary.len());
    for (index, text) in primary.into_iter().enumerate() {
        let other = alternative.get(index).filter(|other| looks_like_language(other));
        let primary_ok = looks_like_language(&text);
        let other_has_more = other.is_some_and(|other| visible_characters(other) * 10 > visible_characters(&text) * 13);
        if primary_ok && !other_has_more {
            chosen.push(text);
        } else if let Some(other) = other {
            chosen.push(other.clone());
        } else {
            unreadable.push(index as u32 + 1);
            chosen.push(String::new());
        }
    }
    (number(chosen), unreadable)
}

fn number(texts: Vec<String>) -> Vec<Page> {
    texts
        .into_iter()
        .enumerate()
        .map(|(index, text)| Page {
            number: index as u32 + 1,
            text: text.replace("\r\n", "\n"),
        })
        .collect()
}

/// Runs `pdftotext - -` and splits its output at form feeds (one per page).
fn pdftotext(bytes: &[u8]) -> std::result::Result<Vec<String>, String> {
    let mut command = Command::new("pdftotext");
    command.args(["-enc", "UTF-8", "-", "-"]);
    let output = process::run(command, Some(bytes.to_vec()), PDFTOTEXT_TIMEOUT).map_err(|error| {
        error.replace(
            "pdftotext is not installed",
            "pdftotext is not installed (apt-get install poppler-utils)",
        )
    })?;
    let text = String::from_utf8_lossy(&output);
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    if pages.last().is_some_and(|last| last.trim().is_empty()) {
        pages.pop();
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_pdf_bytes_are_rejected() {
        assert!(matches!(pages(b"hello"), Err(Error::Pdf(_))));
    }

    #[test]
    fn pages_missing_text_take_the_alternative_and_garbage_is_dropped() {
        let english = "The init program is executed as the first program with PID=1 to start the system.";
        let (pages, unreadable) = choose_pages(
            vec![english.into(), "1 WINDOWS 10 9 1.1.3 Windows , TEX Live 2022 . TEMP TMP . cmd".into(), "\u{E000}".repeat(60)],
            vec![
                english.into(),
                "1 在 WINDOWS 10 上安装 9 1.1.3 在 Windows 系统中，TEX Live 2022 的安装程序会用到临时目录 TEMP 和 TMP，请在 cmd 中设置。".into(),
                "\u{E000}".repeat(60),
            ],
        );
        assert_eq!(pages[0].text, english);
        assert!(pages[1].text.contains("安装程序"), "the fuller text wins");
        assert_eq!((pages[2].text.as_str(), unreadable), ("", vec![3]));
    }

    #[test]
    fn truncated_pdf_fails_without_panicking() {
        let result = pages(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog");
        assert!(matches!(result, Err(Error::Pdf(_))), "{result:?}");
    }
}
