//! Hostile input: every file fails alone, quickly, with a message that says why.

use std::io::Write;

use ingest::{Error, ParseOptions, parse, parse_with};

use crate::support::{assemble_pdf, text_pdf};

fn message(result: Result<ingest::ParsedDocument, Error>) -> String {
    match result {
        Ok(document) => panic!("expected an error, parsed {} pages", document.pages.len()),
        Err(error) => error.to_string(),
    }
}

/// A zip archive whose one entry inflates to `size` zero bytes.
fn zip_bomb(entry: &str, size: usize) -> Vec<u8> {
    let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    archive
        .start_file(entry, zip::write::SimpleFileOptions::default())
        .unwrap();
    let block = vec![0u8; 1 << 20];
    for _ in 0..size >> 20 {
        archive.write_all(&block).unwrap();
    }
    archive.finish().unwrap().into_inner()
}

#[test]
fn zip_bombs_disguised_as_office_files_are_refused() {
    let bomb = zip_bomb("word/document.xml", 300 << 20);
    assert!(bomb.len() < 1 << 20, "the bomb is small: {}", bomb.len());
    for name in ["report.docx", "sheet.xlsx", "slides.pptx"] {
        let error = message(parse(name, &bomb));
        assert!(error.contains("zip bomb"), "{name}: {error}");
    }
}

#[test]
fn broken_and_mislabelled_files_say_why() {
    let pdf = text_pdf(&["Hello"]);
    let truncated = message(parse("cut.pdf", &pdf[..pdf.len() / 2]));
    assert!(truncated.contains("PDF"), "{truncated}");
    assert!(message(parse("empty.docx", b"")).contains("empty"));
    assert!(message(parse("not.docx", b"plain text, not a zip")).contains("zip"));
    assert!(message(parse("not.xlsx", b"PK\x03\x04 broken")).contains("zip"));
    assert!(message(parse("not.pptx", &zip_bomb("hello.txt", 0))).contains("no slides"));
    assert!(message(parse("not.eml", b"\x00\x01\x02")).contains("e-mail"));
    let junk: Vec<u8> = (0..100_000u32)
        .map(|index| (index.wrapping_mul(2_654_435_761) >> 11) as u8 | 1)
        .collect();
    assert!(message(parse("junk.txt", &junk)).contains("binary"));
    assert!(message(parse("program.exe", b"MZ")).contains("unsupported"));
    assert!(message(parse("old.doc", b"\xD0\xCF\x11\xE0")).contains(".docx"));
}

#[test]
fn encrypted_pdf_is_an_error_or_clean_text_never_garbage() {
    let objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>".to_vec(),
        b"<< /Length 20 >>\nstream\n\x8f\x12\xa0\x33\x91\x00\x7f\x44\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0\xc0\nendstream".to_vec(),
        b"<< /Filter /Standard /V 2 /R 3 /Length 128 /P -4 /O <00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff> /U <00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff> >>".to_vec(),
    ];
    let encrypted = assemble_pdf(&objects, "/Encrypt 5 0 R /ID [<0011> <0011>]");
    match parse_with("secret.pdf", &encrypted, &ParseOptions::new(1 << 26, None)) {
        Err(error) => assert!(!error.to_string().is_empty()),
        Ok(document) => panic!("an encrypted PDF with no readable text was indexed: {document:?}"),
    }
}

#[test]
fn files_over_the_limit_are_refused_before_parsing() {
    let error = message(parse_with("big.txt", &vec![b'a'; 2048], &ParseOptions::new(1024, None)));
    assert!(error.contains("over the limit"), "{error}");
}

#[test]
fn enormous_lines_and_deep_html_parse() {
    let line = "word ".repeat(2_000_000);
    let started = std::time::Instant::now();
    let document = parse("one-line.txt", line.as_bytes()).unwrap();
    assert_eq!(document.pages[0].text.len(), line.len());
    eprintln!("10 MB line: {:?}", started.elapsed());
    // Text nested deeper than the parser follows is dropped, never a stack overflow.
    let html = format!(
        "<p>shallow text</p>{}deep text{}",
        "<div>".repeat(20_000),
        "</div>".repeat(20_000)
    );
    let started = std::time::Instant::now();
    let document = parse("deep.html", html.as_bytes()).unwrap();
    eprintln!("deep HTML: {:?}", started.elapsed());
    assert!(document.pages[0].text.contains("shallow text"), "{:?}", document.pages);
}
