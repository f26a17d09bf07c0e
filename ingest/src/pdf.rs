//! PDF text per page: pdf-extract first, poppler's `pdftotext` when pdf-extract fails.
//!
//! pdf-extract panics rather than erring on some real PDFs (predefined CJK CMaps such as
//! UniGB-UCS2-H), so it runs under `catch_unwind`; a panic becomes this document's fallback,
//! never a crashed worker.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::{Command, Stdio};

use crate::{Error, Page, Result};

pub(crate) fn pages(bytes: &[u8]) -> Result<Vec<Page>> {
    if !bytes.starts_with(b"%PDF") {
        return Err(Error::Pdf("the file does not start with a PDF header".into()));
    }
    let extracted = catch_unwind(AssertUnwindSafe(|| pdf_extract::extract_text_from_mem_by_pages(bytes)));
    let first_error = match extracted {
        Ok(Ok(texts)) if texts.iter().any(|text| !text.trim().is_empty()) => return Ok(number(texts)),
        Ok(Ok(_)) => "pdf-extract found no text".to_owned(),
        Ok(Err(error)) => format!("pdf-extract: {error}"),
        Err(_) => "pdf-extract panicked".to_owned(),
    };
    tracing::debug!(reason = %first_error, "falling back to pdftotext");
    match pdftotext(bytes) {
        Ok(texts) => Ok(number(texts)),
        Err(second_error) => Err(Error::Pdf(format!("{first_error}; {second_error}"))),
    }
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
