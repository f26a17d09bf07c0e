//! HTML: the readable text of the body, without scripts, styles or navigation.

use scraper::{ElementRef, Html, Node, Selector};

use crate::text::decode;
use crate::{Page, ParseOptions, Parsed, Parser, Result};

/// Web pages: the main text.
pub(crate) struct HtmlParser;

impl Parser for HtmlParser {
    fn parse(&self, bytes: &[u8], _options: &ParseOptions) -> Result<Parsed> {
        let (title, pages) = parse(bytes)?;
        Ok(Parsed {
            title,
            pages,
            ..Parsed::default()
        })
    }
}

/// Elements whose content is never document text.
const SKIPPED: [&str; 9] = [
    "script", "style", "noscript", "nav", "template", "svg", "head", "iframe", "button",
];
/// Elements that start a new line of text.
const BLOCKS: [&str; 24] = [
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "table",
    "tr",
    "section",
    "article",
    "header",
    "footer",
    "blockquote",
    "dt",
    "dd",
    "hr",
    "main",
];
/// Deeper nesting than this is ignored (hostile input must not exhaust the stack).
const MAX_DEPTH: usize = 200;

pub(crate) fn parse(bytes: &[u8]) -> Result<(Option<String>, Vec<Page>)> {
    let source = decode(bytes)?;
    let document = Html::parse_document(&source);
    let title_selector = Selector::parse("title").expect("valid selector");
    let title = document.select(&title_selector).next().map(|title| {
        title
            .text()
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    });
    let mut text = String::new();
    walk(document.root_element(), 0, &mut text);
    Ok((
        title,
        vec![Page {
            number: 1,
            text: tidy(&text),
        }],
    ))
}

fn walk(element: ElementRef<'_>, depth: usize, out: &mut String) {
    if depth > MAX_DEPTH {
        return;
    }
    let name = element.value().name();
    if SKIPPED.contains(&name) {
        return;
    }
    let is_block = BLOCKS.contains(&name);
    let heading_level = match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        _ => None,
    };
    if is_block {
        out.push('\n');
    }
    if let Some(level) = heading_level {
        out.push('\n');
        out.push_str(&"#".repeat(level));
        out.push(' ');
    }
    for child in element.children() {
        match child.value() {
            Node::Text(text) => {
                if name == "pre" {
                    out.push_str(text);
                } else {
                    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
                    if text.starts_with(char::is_whitespace) && !out.ends_with(char::is_whitespace) {
                        out.push(' ');
                    }
                    out.push_str(&collapsed);
                    if text.ends_with(char::is_whitespace) && !collapsed.is_empty() {
                        out.push(' ');
                    }
                }
            }
            Node::Element(_) => {
                if let Some(child_element) = ElementRef::wrap(child) {
                    walk(child_element, depth + 1, out);
                }
            }
            _ => {}
        }
    }
    if is_block || heading_level.is_some() {
        out.push('\n');
    }
}

/// Trims lines and collapses runs of blank lines into one paragraph break.
fn tidy(text: &str) -> String {
    let mut result = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !result.is_empty() {
            result.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        result.push_str(line);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_text_drops_scripts_and_navigation() {
        let html = b"<html><head><title>Guide  One</title><style>p{}</style></head><body>\
            <nav>Home | Next</nav><h1>Intro</h1><p>First <b>bold</b> para.</p>\
            <script>alert(1)</script><p>Second.</p></body></html>";
        let (title, pages) = parse(html).unwrap();
        assert_eq!(title.as_deref(), Some("Guide One"));
        let text = &pages[0].text;
        assert!(text.contains("# Intro"), "{text}");
        assert!(text.contains("First bold para."), "{text}");
        assert!(text.contains("Second."));
        assert!(!text.contains("alert") && !text.contains("Home"), "{text}");
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let html = format!("{}deep{}", "<div>".repeat(5000), "</div>".repeat(5000));
        assert!(parse(html.as_bytes()).is_ok());
    }
}
