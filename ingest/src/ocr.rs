//! OCR with Tesseract for scanned pages and images, one page at a time with a deadline.
//!
//! Tesseract runs as a child process: it is a C++ library fed untrusted images, and a
//! process boundary keeps its crashes and hangs out of the worker. It is told to use one
//! thread; its OpenMP default spends most of two cores spinning (40 s a page instead of 4).

use std::process::Command;
use std::time::Duration;

use crate::{Error, Page, ParseOptions, Parsed, Parser, Result, process};

/// How OCR runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcrOptions {
    /// Tesseract language packs, `+`-separated.
    pub languages: String,
    /// Longest time one page may take.
    pub page_timeout: Duration,
    /// Resolution scanned PDF pages are rendered at.
    pub dpi: u32,
}

impl Default for OcrOptions {
    fn default() -> Self {
        Self {
            languages: "chi_sim+eng".to_owned(),
            page_timeout: Duration::from_secs(60),
            dpi: 200,
        }
    }
}

/// Whether the `tesseract` program can be run.
pub fn available() -> bool {
    Command::new("tesseract")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Text of every page of an image (a multi-page TIFF has several), read from its bytes.
pub(crate) fn image_pages(image: &[u8], options: &OcrOptions) -> Result<Vec<String>, String> {
    let mut command = Command::new("tesseract");
    command
        .args(["stdin", "stdout", "-l", &options.languages])
        .env("OMP_THREAD_LIMIT", "1");
    let output = process::run(command, Some(image.to_vec()), options.page_timeout)?;
    let text = String::from_utf8_lossy(&output);
    let mut pages: Vec<String> = text.split('\u{c}').map(tidy).collect();
    if pages.len() > 1 && pages.last().is_some_and(|last| last.trim().is_empty()) {
        pages.pop();
    }
    Ok(pages)
}

/// Renders page `number` of the PDF at `pdf_path` and reads it.
pub(crate) fn pdf_page(pdf_path: &std::path::Path, number: u32, options: &OcrOptions) -> Result<String, String> {
    let mut render = Command::new("pdftoppm");
    render
        .args(["-r", &options.dpi.to_string(), "-gray", "-png", "-singlefile"])
        .args(["-f", &number.to_string(), "-l", &number.to_string()])
        .arg(pdf_path);
    let image = process::run(render, None, options.page_timeout)?;
    let mut pages = image_pages(&image, options)?;
    Ok(if pages.is_empty() {
        String::new()
    } else {
        pages.swap_remove(0)
    })
}

/// Scanned images: PNG, JPEG, TIFF (one page per TIFF frame).
pub(crate) struct ImageParser;

impl Parser for ImageParser {
    fn parse(&self, bytes: &[u8], options: &ParseOptions) -> Result<Parsed> {
        let ocr = options.ocr.as_ref().ok_or(Error::Unreadable(1))?;
        let texts = image_pages(bytes, ocr).map_err(|reason| Error::Corrupt(format!("OCR failed: {reason}")))?;
        let pages: Vec<Page> = texts
            .into_iter()
            .enumerate()
            .map(|(index, text)| Page {
                number: index as u32 + 1,
                text,
            })
            .collect();
        let ocr_pages = pages.iter().map(|page| page.number).collect();
        Ok(Parsed {
            title: None,
            pages,
            unreadable_pages: Vec::new(),
            ocr_pages,
        })
    }
}

fn is_wide(character: char) -> bool {
    ('\u{2E80}'..='\u{9FFF}').contains(&character) || ('\u{FF00}'..='\u{FFEF}').contains(&character)
}

/// Tesseract separates Chinese characters with spaces; Chinese is written without them.
fn tidy(text: &str) -> String {
    let characters: Vec<char> = text.chars().collect();
    let mut result = String::with_capacity(text.len());
    for (index, character) in characters.iter().enumerate() {
        if *character == ' ' {
            let previous = characters[..index].iter().rev().find(|other| **other != ' ');
            let next = characters[index + 1..].iter().find(|other| **other != ' ');
            if previous.is_some_and(|other| is_wide(*other)) && next.is_some_and(|other| is_wide(*other)) {
                continue;
            }
        }
        result.push(*character);
    }
    result.trim_matches('\u{c}').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_between_chinese_characters_are_removed() {
        assert_eq!(tidy("安 装 程 序 uses TEMP 和 TMP"), "安装程序 uses TEMP 和 TMP");
        assert_eq!(tidy("第 一 章 ， 引 言"), "第一章，引言");
    }
}
