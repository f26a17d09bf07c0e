//! Structure-aware chunking: pages -> paragraphs -> sentences -> passages within a token budget.
//!
//! A chunk never crosses a page, so its page number is exact, and its text is always the
//! slice `page.text[start..end]`, so the span points at exactly the text that was indexed.
//! Sizes are measured with the embedding model's tokeniser, passed in as a closure so this
//! crate stays independent of the model.

use crate::ParsedDocument;

/// How big chunks may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkerConfig {
    /// Most tokens in one chunk.
    pub max_tokens: usize,
    /// Tokens of the previous chunk repeated at the start of the next (whole sentences).
    pub overlap_tokens: usize,
}

impl Default for ChunkerConfig {
    fn default() -> Self {
        Self {
            max_tokens: 200,
            overlap_tokens: 32,
        }
    }
}

/// One passage of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// 1-based page number.
    pub page: u32,
    /// The Markdown-style heading path in force where the chunk starts, outermost first,
    /// joined by " > " (empty if none).
    pub heading: String,
    /// Byte span in the page's text.
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// `zh` or `en` (or `und` when the chunk has no letters).
    pub language: &'static str,
}

/// A piece of page text that is never split further unless it alone is over budget.
#[derive(Debug, Clone, Copy)]
struct Unit {
    start: usize,
    end: usize,
    tokens: usize,
}

/// Cuts every page of `document` into chunks.
pub fn chunk_document(
    document: &ParsedDocument,
    config: ChunkerConfig,
    count_tokens: &dyn Fn(&str) -> usize,
) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut heading = String::new();
    let mut heading_stack = Vec::new();
    for page in &document.pages {
        let units = units(&page.text, config.max_tokens, count_tokens);
        let headings = heading_starts(&page.text, &mut heading_stack);
        let mut index = 0;
        while index < units.len() {
            let mut end_index = index;
            let mut tokens = units[index].tokens;
            while end_index + 1 < units.len() && tokens + units[end_index + 1].tokens <= config.max_tokens {
                end_index += 1;
                tokens += units[end_index].tokens;
            }
            let (start, end) = (units[index].start, units[end_index].end);
            if let Some((_, text)) = headings.iter().rev().find(|(offset, _)| *offset <= start) {
                heading.clone_from(text);
            }
            chunks.push(Chunk {
                page: page.number,
                heading: heading.clone(),
                start,
                end,
                text: page.text[start..end].to_owned(),
                language: crate::quality::language(&page.text[start..end]),
            });
            if end_index + 1 >= units.len() {
                break;
            }
            // Step back over whole units to repeat up to `overlap_tokens`, always moving forward.
            let mut next = end_index + 1;
            let mut overlap = 0;
            while next - 1 > index && overlap + units[next - 1].tokens <= config.overlap_tokens {
                next -= 1;
                overlap += units[next].tokens;
            }
            index = next;
        }
        if let Some((_, text)) = headings.last() {
            heading.clone_from(text);
        }
    }
    chunks
}

/// Offsets of Markdown headings (`# ...`) in a page, each with the heading path it opens.
/// `stack` holds the open headings (level, title) and carries over to the next page.
fn heading_starts(text: &str, stack: &mut Vec<(usize, String)>) -> Vec<(usize, String)> {
    let mut headings = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            let level = trimmed.chars().take_while(|character| *character == '#').count();
            let title = trimmed.trim_start_matches('#').trim();
            if !title.is_empty() && level <= 6 {
                stack.retain(|(open, _)| *open < level);
                stack.push((level, title.to_owned()));
                let path: Vec<&str> = stack.iter().map(|(_, title)| title.as_str()).collect();
                headings.push((offset, path.join(" > ")));
            }
        }
        offset += line.len();
    }
    headings
}

/// Paragraphs, split into sentences and then into character windows only when too long.
fn units(text: &str, max_tokens: usize, count_tokens: &dyn Fn(&str) -> usize) -> Vec<Unit> {
    let mut result = Vec::new();
    for (start, end) in paragraphs(text) {
        let tokens = count_tokens(&text[start..end]);
        if tokens <= max_tokens {
            result.push(Unit { start, end, tokens });
            continue;
        }
        for (sentence_start, sentence_end) in sentences(text, start, end) {
            let tokens = count_tokens(&text[sentence_start..sentence_end]);
            if tokens <= max_tokens {
                result.push(Unit {
                    start: sentence_start,
                    end: sentence_end,
                    tokens,
                });
            } else {
                split_long(
                    text,
                    sentence_start,
                    sentence_end,
                    max_tokens,
                    count_tokens,
                    &mut result,
                );
            }
        }
    }
    result
}

/// Non-blank paragraphs separated by blank lines, as trimmed byte ranges.
fn paragraphs(text: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut paragraph_start: Option<usize> = None;
    let mut paragraph_end = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end();
        if content.trim().is_empty() {
            if let Some(start) = paragraph_start.take() {
                ranges.push((start, paragraph_end));
            }
        } else {
            let leading = content.len() - content.trim_start().len();
            if paragraph_start.is_none() {
                paragraph_start = Some(offset + leading);
            }
            paragraph_end = offset + content.len();
        }
        offset += line.len();
    }
    if let Some(start) = paragraph_start {
        ranges.push((start, paragraph_end));
    }
    ranges
}

/// Sentence ranges within `text[start..end]`: after `.!?` followed by whitespace, and after
/// the Chinese terminators `。！？；` (and their full-width variants) anywhere.
fn sentences(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let slice = &text[start..end];
    let mut ranges = Vec::new();
    let mut sentence_start = 0;
    let mut characters = slice.char_indices().peekable();
    while let Some((index, character)) = characters.next() {
        let next_is_space = characters.peek().is_none_or(|(_, next)| next.is_whitespace());
        let boundary = matches!(character, '。' | '！' | '？' | '；' | '\n')
            || (matches!(character, '.' | '!' | '?' | ';') && next_is_space);
        if boundary {
            let sentence_end = index + character.len_utf8();
            push_trimmed(slice, sentence_start, sentence_end, start, &mut ranges);
            sentence_start = sentence_end;
        }
    }
    push_trimmed(slice, sentence_start, slice.len(), start, &mut ranges);
    ranges
}

fn push_trimmed(slice: &str, from: usize, to: usize, base: usize, ranges: &mut Vec<(usize, usize)>) {
    let piece = &slice[from..to];
    let trimmed = piece.trim();
    if trimmed.is_empty() {
        return;
    }
    let leading = piece.len() - piece.trim_start().len();
    ranges.push((base + from + leading, base + from + leading + trimmed.len()));
}

/// Splits an over-long sentence into windows that fit the budget (binary search on length).
fn split_long(
    text: &str,
    start: usize,
    end: usize,
    max_tokens: usize,
    count_tokens: &dyn Fn(&str) -> usize,
    out: &mut Vec<Unit>,
) {
    let boundaries: Vec<usize> = text[start..end]
        .char_indices()
        .map(|(index, _)| start + index)
        .chain(std::iter::once(end))
        .collect();
    let mut first = 0;
    while first + 1 < boundaries.len() {
        // Largest `last` such that text[boundaries[first]..boundaries[last]] fits.
        let (mut low, mut high) = (first + 1, boundaries.len() - 1);
        while low < high {
            let middle = (low + high).div_ceil(2);
            if count_tokens(&text[boundaries[first]..boundaries[middle]]) <= max_tokens {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        let (piece_start, piece_end) = (boundaries[first], boundaries[low]);
        out.push(Unit {
            start: piece_start,
            end: piece_end,
            tokens: count_tokens(&text[piece_start..piece_end]),
        });
        first = low;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{Format, Page};

    fn words(text: &str) -> usize {
        text.split_whitespace().count() + text.chars().filter(|c| !c.is_ascii()).count()
    }

    fn document(pages: &[&str]) -> ParsedDocument {
        ParsedDocument {
            title: "t".into(),
            format: Format::Text,
            unreadable_pages: Vec::new(),
            ocr_pages: Vec::new(),
            pages: pages
                .iter()
                .enumerate()
                .map(|(index, text)| Page {
                    number: index as u32 + 1,
                    text: (*text).to_owned(),
                })
                .collect(),
        }
    }

    #[test]
    fn chunks_keep_pages_headings_and_spans() {
        let doc = document(&[
            "# Setup\n\nInstall it. Then run it.\n\n## Usage\n\nCall the tool.",
            "第二页。内容。",
        ]);
        let config = ChunkerConfig {
            max_tokens: 5,
            overlap_tokens: 0,
        };
        let chunks = chunk_document(&doc, config, &words);
        for chunk in &chunks {
            let page = &doc.pages[chunk.page as usize - 1].text;
            assert_eq!(&page[chunk.start..chunk.end], chunk.text);
        }
        assert_eq!(chunks.first().unwrap().heading, "Setup");
        let usage = chunks
            .iter()
            .find(|chunk| chunk.text.contains("Call the tool"))
            .unwrap();
        assert_eq!(usage.heading, "Setup > Usage");
        assert_eq!(usage.language, "en");
        let chinese = chunks.iter().find(|chunk| chunk.text.contains("第二页")).unwrap();
        assert_eq!(chinese.page, 2);
        assert_eq!(chinese.heading, "Setup > Usage", "headings carry over to the next page");
        assert_eq!(chinese.language, "zh");
        assert_eq!(chinese.text, "第二页。", "Chinese sentence boundary");
    }

    #[test]
    fn overlap_repeats_the_previous_sentence() {
        let doc = document(&["One two. Three four. Five six. Seven eight."]);
        let config = ChunkerConfig {
            max_tokens: 4,
            overlap_tokens: 2,
        };
        let texts: Vec<String> = chunk_document(&doc, config, &words)
            .into_iter()
            .map(|c| c.text)
            .collect();
        assert_eq!(
            texts,
            vec![
                "One two. Three four.",
                "Three four. Five six.",
                "Five six. Seven eight."
            ]
        );
    }

    proptest! {
        #[test]
        fn no_text_lost_no_chunk_over_budget(
            text in "[a-z 。.\n中文]{0,400}",
            max_tokens in 1usize..40,
            overlap_tokens in 0usize..10,
        ) {
            let doc = document(&[&text]);
            let config = ChunkerConfig { max_tokens, overlap_tokens };
            let chunks = chunk_document(&doc, config, &words);
            let mut covered = vec![false; text.len()];
            for chunk in &chunks {
                prop_assert_eq!(&text[chunk.start..chunk.end], chunk.text.as_str());
                let tokens = words(&chunk.text);
                prop_assert!(tokens <= max_tokens || chunk.text.chars().count() == 1, "{} tokens", tokens);
                for flag in &mut covered[chunk.start..chunk.end] { *flag = true; }
            }
            for (index, character) in text.char_indices() {
                if !character.is_whitespace() {
                    prop_assert!(covered[index], "byte {} ({:?}) lost", index, character);
                }
            }
        }
    }
}
