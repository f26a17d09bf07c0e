//! Plain text and Markdown. Markdown stays as written: its headings are text a reader
//! understands, and the chunker uses them as heading paths.

use crate::{Error, Page, Result};

/// Decodes UTF-8 text, refusing binary content.
pub(crate) fn decode(bytes: &[u8]) -> Result<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.contains(&0) {
        return Err(Error::NotText("it contains NUL bytes (a binary file?)".into()));
    }
    String::from_utf8(bytes.to_vec())
        .map_err(|error| Error::NotText(format!("invalid UTF-8 at byte {}", error.utf8_error().valid_up_to())))
}

pub(crate) fn parse_plain(bytes: &[u8]) -> Result<Vec<Page>> {
    Ok(vec![Page {
        number: 1,
        text: decode(bytes)?.replace("\r\n", "\n"),
    }])
}

pub(crate) fn parse_markdown(bytes: &[u8]) -> Result<(Option<String>, Vec<Page>)> {
    let pages = parse_plain(bytes)?;
    let title = pages[0]
        .text
        .lines()
        .find_map(|line| line.strip_prefix("# "))
        .map(|title| title.trim().to_owned());
    Ok((title, pages))
}
