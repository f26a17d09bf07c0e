//! Plain text and Markdown in UTF-8, UTF-16, GBK/GB18030 or Big5. Chinese offices still
//! save text and CSV files in GBK or Big5; the encoding is detected (chardetng) when the
//! bytes are not UTF-8. Markdown stays as written: its headings are text a reader
//! understands, and the chunker uses them as heading paths.

use crate::quality::looks_like_language;
use crate::{Error, Page, ParseOptions, Parsed, Parser, Result};

/// Share of control characters above which decoded bytes are taken for binary.
const MAX_CONTROL_SHARE: f64 = 0.01;

fn control_share(text: &str) -> f64 {
    let (mut total, mut control) = (0usize, 0usize);
    for character in text.chars() {
        total += 1;
        if character.is_control() && !matches!(character, '\n' | '\r' | '\t' | '\u{c}') || character == '\u{FFFD}' {
            control += 1;
        }
    }
    control as f64 / total.max(1) as f64
}

/// Decodes text in a detected encoding, refusing binary content.
pub(crate) fn decode(bytes: &[u8]) -> Result<String> {
    let (text, encoding) = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        (String::from_utf8_lossy(rest).into_owned(), "UTF-8")
    } else if let Some((encoding, _)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = encoding.decode_with_bom_removal(bytes);
        (text.into_owned(), encoding.name())
    } else if bytes.contains(&0) {
        return Err(Error::NotText("it contains NUL bytes (a binary file?)".into()));
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        (text.to_owned(), "UTF-8")
    } else {
        let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
        detector.feed(bytes, true);
        let encoding = detector.guess(None, chardetng::Utf8Detection::Deny);
        let (text, _, _) = encoding.decode(bytes);
        let text = text.into_owned();
        if !looks_like_language(&text) {
            return Err(Error::NotText(format!(
                "it is neither UTF-8 nor readable as {} (a binary file?)",
                encoding.name()
            )));
        }
        (text, encoding.name())
    };
    if control_share(&text) > MAX_CONTROL_SHARE {
        return Err(Error::NotText(format!(
            "decoded as {encoding} it is full of control characters (a binary file?)"
        )));
    }
    Ok(text.replace("\r\n", "\n"))
}

/// Plain text: one page.
pub(crate) struct PlainTextParser;

impl Parser for PlainTextParser {
    fn parse(&self, bytes: &[u8], _options: &ParseOptions) -> Result<Parsed> {
        Ok(Parsed {
            pages: vec![Page {
                number: 1,
                text: decode(bytes)?,
            }],
            ..Parsed::default()
        })
    }
}

/// Markdown: one page, titled by its first `# ` heading.
pub(crate) struct MarkdownParser;

impl Parser for MarkdownParser {
    fn parse(&self, bytes: &[u8], _options: &ParseOptions) -> Result<Parsed> {
        let text = decode(bytes)?;
        let title = text
            .lines()
            .find_map(|line| line.strip_prefix("# "))
            .map(|title| title.trim().to_owned());
        Ok(Parsed {
            title,
            pages: vec![Page { number: 1, text }],
            ..Parsed::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHINESE: &str = "第一章 总则。为了规范公司信息安全管理，保护公司和客户的数据，根据国家有关法律法规，制定本制度。本制度适用于公司全体员工。";

    #[test]
    fn gbk_gb18030_and_big5_are_detected() {
        for encoding in [encoding_rs::GBK, encoding_rs::GB18030] {
            let (bytes, _, _) = encoding.encode(CHINESE);
            assert_eq!(decode(&bytes).unwrap(), CHINESE, "{}", encoding.name());
        }
        let traditional = "第一章 總則。為了規範公司資訊安全管理，保護公司和客戶的資料，根據國家有關法律法規，制定本制度。本制度適用於公司全體員工。";
        let (bytes, _, _) = encoding_rs::BIG5.encode(traditional);
        assert_eq!(decode(&bytes).unwrap(), traditional);
    }

    #[test]
    fn utf16_with_bom_is_decoded() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "安装 guide".encode_utf16() {
            bytes.extend(unit.to_le_bytes());
        }
        assert_eq!(decode(&bytes).unwrap(), "安装 guide");
    }

    #[test]
    fn binary_junk_is_refused() {
        let junk: Vec<u8> = (0..4096u32)
            .map(|index| (index.wrapping_mul(2_654_435_761) >> 13) as u8 | 1)
            .collect();
        assert!(
            matches!(decode(&junk), Err(Error::NotText(_))),
            "{:?}",
            decode(&junk).map(|text| text.len())
        );
        assert!(matches!(decode(b"abc\x00def"), Err(Error::NotText(_))));
    }
}
