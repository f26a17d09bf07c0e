//! Scans: images and PDFs without a text layer are read by Tesseract.

use ingest::{Error, ParseOptions, parse, parse_with};

use crate::support::{image_pdf, render, text_pdf};

const LINES: [&str; 2] = ["The backup server is in room 4B.", "Call extension 8123 for help."];

#[test]
fn scanned_pdf_pages_are_read_by_ocr() {
    let scan = image_pdf(&render(&text_pdf(&LINES), "jpeg"), 1275, 1650);
    let document = parse("scan.pdf", &scan).unwrap();
    assert_eq!(document.ocr_pages, vec![1]);
    let text = &document.pages[0].text;
    assert!(text.contains("backup server") && text.contains("8123"), "{text:?}");
}

#[test]
fn images_are_read_by_ocr() {
    let png = render(&text_pdf(&LINES), "png");
    let document = parse("whiteboard.png", &png).unwrap();
    assert!(document.pages[0].text.contains("room 4B"), "{:?}", document.pages);
}

#[test]
fn without_ocr_a_scan_is_reported_not_indexed() {
    let scan = image_pdf(&render(&text_pdf(&LINES), "jpeg"), 1275, 1650);
    let result = parse_with("scan.pdf", &scan, &ParseOptions::new(1 << 26, None));
    assert!(matches!(result, Err(Error::NoText)), "{result:?}");
}
