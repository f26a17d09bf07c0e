//! PDF text per page: pdf-extract first, poppler's `pdftotext` when pdf-extract fails or
//! its text is not language.
//!
//! pdf-extract panics rather than erring on some real PDFs (predefined CJK CMaps such as
//! UniGB-UCS2-H), so it runs under `catch_unwind`; a panic becomes this document's fallback,
//! never a crashed worker. Fonts without a usable text map make pdf-extract return mojibake
//! that poppler often decodes; a page that is garbage in both is left empty and reported.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::{Command, Stdio};

use crate::quality::looks_like_language;
use crate::{Error, Page, Result};

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
    let primary = match primary {
        Ok(texts) if texts.iter().all(|text| looks_like_language(text)) => return Ok((number(texts), Vec::new())),
        Ok(texts) => {
            tracing::debug!("pdf-extract returned pages that are not language, trying pdftotext");
            Some(texts)
        }
        Err(reason) => {
            tracing::debug!(%reason, "falling back to pdftotext");
            match pdftotext(bytes) {
                Ok(texts) => return Ok(readable(texts, None)),
                Err(second_error) => return Err(Error::Pdf(format!("{reason}; {second_error}"))),
            }
        }
    };
    match pdftotext(bytes) {
        Ok(texts) => Ok(readable(texts, primary)),
        Err(error) => {
            tracing::debug!(%error, "pdftotext failed too");
            Ok(readable(primary.unwrap_or_default(), None))
        }
    }
}

/// Per page, the first readable text of `texts` and `alternative`; unreadable pages are
/// emptied and listed.
fn readable(texts: Vec<String>, alternative: Option<Vec<String>>) -> (Vec<Page>, Vec<u32>) {
    let alternative = alternative.unwrap_or_default();
    let mut unreadable = Vec::new();
    let mut chosen = Vec::with_capacity(texts.len());
    for (index, text) in texts.into_iter().enumerate() {
        if looks_like_language(&text) {
            chosen.push(text);
        } else if let Some(other) = alternative.get(index).filter(|other| looks_like_language(other)) {
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
    let mut child = Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => "pdftotext is not installed (apt-get install poppler-utils)".to_owned(),
            _ => format!("pdftotext did not start: {error}"),
        })?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child
        .wait_with_output()
        .map_err(|error| format!("pdftotext failed: {error}"))?;
    let _ = writer.join();
    if !output.status.success() {
        let message = String::from_utf8_lossy(&output.stderr);
        return Err(format!("pdftotext: {}", message.trim()));
    }
    let text = String::from_utf8_lossy(&output.stdout);
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
    fn truncated_pdf_fails_without_panicking() {
        let result = pages(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog");
        assert!(matches!(result, Err(Error::Pdf(_))), "{result:?}");
    }
}
