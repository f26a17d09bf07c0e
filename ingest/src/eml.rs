//! E-mail (.eml): the headers a reader needs (subject, from, to, cc, date), the body, and
//! every attachment the appliance can read, each parsed by its own format's parser and
//! appended as further pages headed by its file name.

use mail_parser::{Address, MessageParser, MimeHeaders};

use crate::{Error, Format, Page, ParseOptions, Parsed, Parser, Result};

pub(crate) struct EmlParser;

fn addresses(address: Option<&Address<'_>>) -> Option<String> {
    let list: Vec<String> = address?
        .iter()
        .map(|addr| match (addr.name(), addr.address()) {
            (Some(name), Some(address)) => format!("{name} <{address}>"),
            (Some(name), None) => name.to_owned(),
            (None, Some(address)) => address.to_owned(),
            (None, None) => String::new(),
        })
        .filter(|entry| !entry.is_empty())
        .collect();
    (!list.is_empty()).then(|| list.join(", "))
}

impl Parser for EmlParser {
    fn parse(&self, bytes: &[u8], options: &ParseOptions) -> Result<Parsed> {
        let message = MessageParser::default()
            .parse(bytes)
            .filter(|message| {
                message.from().is_some()
                    || message.subject().is_some()
                    || message.date().is_some()
                    || message.to().is_some()
            })
            .ok_or_else(|| Error::Corrupt("not an e-mail message (no headers found)".into()))?;
        let subject = message.subject().map(str::trim).filter(|subject| !subject.is_empty());
        let mut text = String::new();
        if let Some(subject) = subject {
            text.push_str(&format!("# {subject}\n\n"));
        }
        for (label, value) in [
            ("From", addresses(message.from())),
            ("To", addresses(message.to())),
            ("Cc", addresses(message.cc())),
            ("Date", message.date().map(|date| date.to_rfc3339())),
        ] {
            if let Some(value) = value {
                text.push_str(&format!("{label}: {value}\n"));
            }
        }
        for index in 0..message.text_body_count() {
            if let Some(body) = message.body_text(index) {
                text.push('\n');
                text.push_str(body.replace("\r\n", "\n").trim());
                text.push('\n');
            }
        }
        let mut pages = vec![Page { number: 1, text }];
        let mut unreadable_pages = Vec::new();
        for attachment in message.attachments() {
            let name = attachment.attachment_name().unwrap_or("attachment").to_owned();
            let parsed = match Format::from_file_name(&name) {
                Ok(format) if options.depth < 2 => {
                    let nested = ParseOptions {
                        depth: options.depth + 1,
                        ..options.clone()
                    };
                    crate::parser_for(format).parse(attachment.contents(), &nested)
                }
                _ if attachment.is_text() => Ok(Parsed {
                    pages: vec![Page {
                        number: 1,
                        text: attachment.text_contents().unwrap_or_default().to_owned(),
                    }],
                    ..Parsed::default()
                }),
                _ => continue,
            };
            match parsed {
                Ok(parsed) => {
                    for page in parsed.pages {
                        let number = pages.len() as u32 + 1;
                        if parsed.unreadable_pages.contains(&page.number) {
                            unreadable_pages.push(number);
                        }
                        pages.push(Page {
                            number,
                            text: format!("# {name}\n\n{}", page.text),
                        });
                    }
                }
                Err(error) => tracing::warn!(attachment = name, %error, "e-mail attachment left out"),
            }
        }
        Ok(Parsed {
            title: subject.map(str::to_owned),
            pages,
            unreadable_pages,
            ..Parsed::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_body_and_text_attachment() {
        let message = "From: 张三 <zhang@example.com>\r\nTo: it@example.com\r\nSubject: =?UTF-8?B?5pyN5Yqh5Zmo57u05oqk?=\r\n\
Date: Mon, 2 Nov 2026 09:00:00 +0800\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n机房将于周六停电维护。\r\n\
--b\r\nContent-Type: text/csv; name=\"list.csv\"\r\nContent-Disposition: attachment; filename=\"list.csv\"\r\n\r\n\
server,room\r\nweb-01,A3\r\n--b--\r\n";
        let parsed = EmlParser.parse(message.as_bytes(), &ParseOptions::default()).unwrap();
        assert_eq!(parsed.title.as_deref(), Some("服务器维护"));
        let first = &parsed.pages[0].text;
        assert!(
            first.contains("From: 张三 <zhang@example.com>") && first.contains("停电维护"),
            "{first}"
        );
        assert_eq!(parsed.pages.len(), 2);
        assert!(
            parsed.pages[1].text.contains("server: web-01; room: A3"),
            "{:?}",
            parsed.pages[1]
        );
    }

    #[test]
    fn junk_is_not_a_message() {
        assert!(EmlParser.parse(b"\n\n\n", &ParseOptions::default()).is_err());
    }
}
