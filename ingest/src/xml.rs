//! A small event walk over Office Open XML parts, the one place that knows quick-xml:
//! element starts and ends by local name (namespace prefixes vary between producers),
//! and text with entity references resolved.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::{Error, Result};

/// One step through an XML part.
pub(crate) enum Node<'a, 'e> {
    Start(&'a Element<'e>),
    End(&'a str),
    Text(&'a str),
}

/// An element start: its local name and attributes.
pub(crate) struct Element<'e> {
    pub(crate) name: String,
    start: BytesStart<'e>,
}

impl Element<'_> {
    /// The value of the attribute whose local name is `name`.
    pub(crate) fn attribute(&self, name: &str) -> Option<String> {
        self.start.attributes().flatten().find_map(|attribute| {
            (local_str(attribute.key.as_ref()) == name)
                .then(|| {
                    attribute
                        .normalized_value(XmlVersion::Implicit1_0)
                        .ok()
                        .map(|value| value.into_owned())
                })
                .flatten()
        })
    }
}

/// The name without its namespace prefix.
fn local_str(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((_, local)) => local.to_owned(),
        None => name.to_owned(),
    }
}

/// Calls `visit` for every element start, end and piece of text in `xml`.
pub(crate) fn walk(xml: &str, part: &str, mut visit: impl FnMut(Node<'_, '_>)) -> Result<()> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().expand_empty_elements = true;
    loop {
        let event = reader
            .read_event()
            .map_err(|error| Error::Corrupt(format!("{part} is not well-formed XML: {error}")))?;
        match event {
            Event::Start(start) => {
                let element = Element {
                    name: local_str(start.name().as_ref()),
                    start,
                };
                visit(Node::Start(&element));
            }
            Event::End(end) => visit(Node::End(&local_str(end.name().as_ref()))),
            Event::Text(text) => visit(Node::Text(&text.xml10_content())),
            Event::CData(data) => visit(Node::Text(&data)),
            Event::GeneralRef(reference) => {
                if let Ok(Some(character)) = reference.resolve_char_ref() {
                    visit(Node::Text(character.encode_utf8(&mut [0; 4])));
                } else if let Some(text) = resolve_predefined_entity(&reference) {
                    visit(Node::Text(text));
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_entities_and_prefixed_names() {
        let mut seen = Vec::new();
        walk(
            r#"<w:p><w:t xml:space="preserve">A &amp; B &#x4E2D;</w:t><w:br w:type="page"/></w:p>"#,
            "test",
            |node| match node {
                Node::Start(element) => seen.push(format!(
                    "<{}{}>",
                    element.name,
                    element
                        .attribute("type")
                        .map(|kind| format!(" {kind}"))
                        .unwrap_or_default()
                )),
                Node::End(name) => seen.push(format!("</{name}>")),
                Node::Text(text) => seen.push(text.to_owned()),
            },
        )
        .unwrap();
        assert_eq!(seen.concat(), "<p><t>A & B 中</t><br page></br></p>");
        assert!(walk("<a><b></a>", "test", |_| {}).is_err());
    }
}
