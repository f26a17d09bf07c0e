//! Word (DOCX) and PowerPoint (PPTX) text. Both are Office Open XML: paragraphs (`p`) of
//! text runs (`t`), tables of rows (`tr`) of cells (`tc`). The text keeps the structure the
//! chunker cuts on: headings as Markdown `#` lines, list items as `- ` lines, a table row
//! per line with ` | ` between cells, a blank line after every paragraph.
//!
//! DOCX pages follow the page breaks Word recorded when it last laid the document out
//! (`lastRenderedPageBreak`), or explicit page breaks when it recorded none, so a citation's
//! page matches what the reader sees. PPTX pages are slides, speaker notes included.

use std::collections::HashMap;

use crate::archive::{self, Archive};
use crate::xml::{Node, walk};
use crate::{Error, Page, ParseOptions, Parsed, Parser, Result};

/// Accumulates structured text from paragraph, run and table events.
#[derive(Default)]
struct TextBuilder {
    pages: Vec<String>,
    page: String,
    paragraph: String,
    paragraph_depth: usize,
    in_text: bool,
    /// Heading level of the current paragraph (0: body text).
    heading: usize,
    list_item: bool,
    cells: Vec<String>,
    table_depth: usize,
    first_heading: Option<String>,
}

impl TextBuilder {
    fn start_paragraph(&mut self) {
        self.paragraph_depth += 1;
        if self.paragraph_depth == 1 {
            self.paragraph.clear();
            self.heading = 0;
            self.list_item = false;
        }
    }

    fn end_paragraph(&mut self) {
        self.paragraph_depth = self.paragraph_depth.saturating_sub(1);
        if self.paragraph_depth > 0 {
            self.paragraph.push(' ');
            return;
        }
        let text = self.paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
        self.paragraph.clear();
        if text.is_empty() {
            return;
        }
        if self.table_depth > 0 {
            if let Some(cell) = self.cells.last_mut() {
                if !cell.is_empty() {
                    cell.push(' ');
                }
                cell.push_str(&text);
            }
            return;
        }
        if self.heading > 0 {
            self.first_heading.get_or_insert_with(|| text.clone());
            self.page.push_str(&"#".repeat(self.heading.min(6)));
            self.page.push(' ');
        } else if self.list_item {
            self.page.push_str("- ");
        }
        self.page.push_str(&text);
        self.page.push_str("\n\n");
    }

    /// Closes what the end of element `name` closes (the same names in DOCX and PPTX).
    fn end_element(&mut self, name: &str) {
        match name {
            "p" => self.end_paragraph(),
            "t" => self.in_text = false,
            "tbl" => self.end_table(),
            "tr" => self.end_row(),
            _ => {}
        }
    }

    fn text(&mut self, text: &str) {
        if self.in_text {
            self.paragraph.push_str(text);
        }
    }

    fn start_table(&mut self) {
        self.table_depth += 1;
    }

    fn end_table(&mut self) {
        self.table_depth = self.table_depth.saturating_sub(1);
        if self.table_depth == 0 && !self.page.ends_with("\n\n") && !self.page.is_empty() {
            self.page.push('\n');
        }
    }

    fn start_cell(&mut self) {
        if self.table_depth == 1 {
            self.cells.push(String::new());
        }
    }

    fn end_row(&mut self) {
        if self.table_depth != 1 {
            return;
        }
        let cells: Vec<String> = std::mem::take(&mut self.cells);
        if cells.iter().any(|cell| !cell.trim().is_empty()) {
            self.page.push_str(cells.join(" | ").trim());
            self.page.push('\n');
        }
    }

    /// Ends the current page: text of an unfinished paragraph stays on it.
    fn page_break(&mut self) {
        if self.paragraph_depth > 0 && !self.paragraph.trim().is_empty() && self.table_depth == 0 {
            let text = self.paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
            self.page.push_str(&text);
            self.page.push_str("\n\n");
            self.paragraph.clear();
        }
        self.pages.push(std::mem::take(&mut self.page));
    }

    fn finish(mut self) -> (Vec<String>, Option<String>) {
        self.pages.push(std::mem::take(&mut self.page));
        (self.pages, self.first_heading)
    }
}

fn numbered(texts: Vec<String>) -> Vec<Page> {
    texts
        .into_iter()
        .enumerate()
        .map(|(index, text)| Page {
            number: index as u32 + 1,
            text: text.trim_end().to_owned(),
        })
        .collect()
}

/// `dc:title` from `docProps/core.xml`, when set.
fn core_title(archive: &mut Archive<'_>) -> Result<Option<String>> {
    let Some(xml) = archive::read_text(archive, "docProps/core.xml")? else {
        return Ok(None);
    };
    let (mut inside, mut title) = (false, String::new());
    walk(&xml, "docProps/core.xml", |node| match node {
        Node::Start(element) if element.name == "title" => inside = true,
        Node::End("title") => inside = false,
        Node::Text(text) if inside => title.push_str(text),
        _ => {}
    })?;
    let title = title.trim().to_owned();
    Ok((!title.is_empty()).then_some(title))
}

/// Marks list styles in the style map (headings use 1 to 9).
const LIST_STYLE: usize = usize::MAX;

/// Word documents.
pub(crate) struct DocxParser;

/// What a paragraph style makes of its paragraphs: a heading level (0: none), or a list.
/// Localised Word writes style ids such as "1" for 标题 1, but the style's name is always
/// "heading 1"; list styles are named "List Bullet", "List Number" and so on.
fn paragraph_styles(archive: &mut Archive<'_>) -> Result<HashMap<String, usize>> {
    let mut levels = HashMap::new();
    let Some(xml) = archive::read_text(archive, "word/styles.xml")? else {
        return Ok(levels);
    };
    let mut style_id = None;
    walk(&xml, "word/styles.xml", |node| match node {
        Node::Start(element) if element.name == "style" => style_id = element.attribute("styleId"),
        Node::Start(element) if element.name == "name" => {
            let name = element.attribute("val").unwrap_or_default().to_lowercase();
            let level = if name == "title" {
                Some(1)
            } else if name.starts_with("list") {
                Some(LIST_STYLE)
            } else {
                name.strip_prefix("heading ")
                    .and_then(|level| level.trim().parse::<usize>().ok())
            };
            if let (Some(id), Some(level)) = (&style_id, level) {
                levels.insert(id.clone(), level);
            }
        }
        _ => {}
    })?;
    Ok(levels)
}

impl Parser for DocxParser {
    fn parse(&self, bytes: &[u8], _options: &ParseOptions) -> Result<Parsed> {
        let mut archive = archive::open(bytes, "Word (.docx)")?;
        let xml = archive::read_text(&mut archive, "word/document.xml")?
            .ok_or_else(|| Error::Corrupt("not a Word document: word/document.xml is missing".into()))?;
        let styles = paragraph_styles(&mut archive)?;
        let rendered_breaks = xml.contains("lastRenderedPageBreak");
        let mut builder = TextBuilder::default();
        walk(&xml, "word/document.xml", |node| match node {
            Node::Start(element) => match element.name.as_str() {
                "p" => builder.start_paragraph(),
                "pStyle" => {
                    let style = element.attribute("val").unwrap_or_default();
                    match styles
                        .get(&style)
                        .copied()
                        .or_else(|| style.strip_prefix("Heading").and_then(|level| level.parse().ok()))
                    {
                        Some(LIST_STYLE) => builder.list_item = true,
                        Some(level) => builder.heading = level,
                        None => {}
                    }
                }
                "outlineLvl" if builder.heading == 0 => {
                    if let Some(level) = element.attribute("val").and_then(|level| level.parse::<usize>().ok())
                        && level < 9
                    {
                        builder.heading = level + 1;
                    }
                }
                "numPr" => builder.list_item = true,
                "t" => builder.in_text = true,
                "tab" if builder.in_text || builder.paragraph_depth > 0 => builder.paragraph.push('\t'),
                "br" => {
                    if element.attribute("type").as_deref() == Some("page") && !rendered_breaks {
                        builder.page_break();
                    } else if element.attribute("type").is_none() {
                        builder.paragraph.push('\n');
                    }
                }
                "lastRenderedPageBreak" => builder.page_break(),
                "tbl" => builder.start_table(),
                "tc" => builder.start_cell(),
                _ => {}
            },
            Node::End(name) => builder.end_element(name),
            Node::Text(text) => builder.text(text),
        })?;
        let (pages, first_heading) = builder.finish();
        Ok(Parsed {
            title: core_title(&mut archive)?.or(first_heading),
            pages: numbered(pages),
            ..Parsed::default()
        })
    }
}

/// PowerPoint presentations: one page per slide.
pub(crate) struct PptxParser;

/// The slide number in `ppt/slides/slideN.xml`.
fn slide_number(name: &str) -> Option<u32> {
    name.strip_prefix("ppt/slides/slide")?
        .strip_suffix(".xml")?
        .parse()
        .ok()
}

/// Text of one slide or notes part; titles become headings; slide-number and slide-image
/// placeholders are skipped.
fn slide_text(xml: &str, part: &str) -> Result<String> {
    let mut builder = TextBuilder::default();
    let mut shape_title = false;
    let mut shape_skipped = false;
    walk(xml, part, |node| match node {
        Node::Start(element) => match element.name.as_str() {
            "sp" => (shape_title, shape_skipped) = (false, false),
            "ph" => {
                let kind = element.attribute("type").unwrap_or_default();
                shape_title = matches!(kind.as_str(), "title" | "ctrTitle");
                shape_skipped = matches!(kind.as_str(), "sldNum" | "sldImg" | "dt" | "ftr" | "hdr");
            }
            "p" => {
                builder.start_paragraph();
                if shape_title {
                    builder.heading = 1;
                }
            }
            "buChar" | "buAutoNum" => builder.list_item = true,
            "t" => builder.in_text = !shape_skipped,
            "br" => builder.paragraph.push('\n'),
            "tbl" => builder.start_table(),
            "tc" => builder.start_cell(),
            _ => {}
        },
        Node::End(name) => builder.end_element(name),
        Node::Text(text) => builder.text(text),
    })?;
    let (pages, _) = builder.finish();
    Ok(pages.concat().trim_end().to_owned())
}

impl Parser for PptxParser {
    fn parse(&self, bytes: &[u8], _options: &ParseOptions) -> Result<Parsed> {
        let mut archive = archive::open(bytes, "PowerPoint (.pptx)")?;
        let mut slides: Vec<(u32, String)> = archive::names(&archive)
            .into_iter()
            .filter_map(|name| slide_number(&name).map(|number| (number, name)))
            .collect();
        if slides.is_empty() {
            return Err(Error::Corrupt("not a PowerPoint presentation: it has no slides".into()));
        }
        slides.sort();
        let mut pages = Vec::with_capacity(slides.len());
        let mut first_heading = None;
        for (number, name) in slides {
            let xml = archive::read_text(&mut archive, &name)?.unwrap_or_default();
            let mut text = slide_text(&xml, &name)?;
            if first_heading.is_none() {
                first_heading = text.lines().find_map(|line| line.strip_prefix("# ").map(str::to_owned));
            }
            let relations = archive::read_text(&mut archive, &format!("ppt/slides/_rels/slide{number}.xml.rels"))?;
            if let Some(notes) = relations.as_deref().and_then(notes_part) {
                let notes_xml = archive::read_text(&mut archive, &notes)?.unwrap_or_default();
                let notes_text = slide_text(&notes_xml, &notes)?;
                if !notes_text.trim().is_empty() {
                    text.push_str("\n\nNotes:\n");
                    text.push_str(&notes_text);
                }
            }
            pages.push(text);
        }
        Ok(Parsed {
            title: core_title(&mut archive)?.or(first_heading),
            pages: numbered(pages),
            ..Parsed::default()
        })
    }
}

/// The notes part a slide's relationships point at (`../notesSlides/notesSlideN.xml`).
fn notes_part(relations: &str) -> Option<String> {
    let start = relations.find("notesSlides/notesSlide")?;
    let rest = &relations[start..];
    let end = rest.find(".xml")? + 4;
    Some(format!("ppt/{}", &rest[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slide_numbers_and_notes_parts() {
        assert_eq!(slide_number("ppt/slides/slide12.xml"), Some(12));
        assert_eq!(slide_number("ppt/slides/_rels/slide1.xml.rels"), None);
        assert_eq!(
            notes_part(r#"<Relationship Target="../notesSlides/notesSlide3.xml"/>"#).as_deref(),
            Some("ppt/notesSlides/notesSlide3.xml")
        );
    }
}
