//! Prints the text-quality measurements of the pages of a PDF that pdf-extract reads as
//! garbage, and what `ingest::parse` finally keeps:
//!   cargo run --example text_quality -- FILE.pdf
//! A tool for tuning `ingest::quality` on real documents.

use ingest::quality::TextQuality;

fn main() {
    let path = std::env::args().nth(1).expect("usage: text_quality FILE.pdf");
    let bytes = std::fs::read(&path).expect("readable file");
    let extracted = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem_by_pages(&bytes));
    if let Ok(Ok(pages)) = extracted {
        let flagged: Vec<(usize, &String, TextQuality)> = pages
            .iter()
            .enumerate()
            .map(|(index, text)| (index + 1, text, TextQuality::measure(text)))
            .filter(|(_, _, quality)| !quality.is_language())
            .collect();
        println!(
            "pdf-extract: {} of {} pages are not language",
            flagged.len(),
            pages.len()
        );
        if let Some(page) = std::env::args().nth(2).and_then(|number| number.parse::<usize>().ok()) {
            let text = &pages[page - 1];
            println!(
                "  page {page}: {:?}\n    {}",
                TextQuality::measure(text),
                text.chars().take(300).collect::<String>()
            );
        }
        for (number, text, quality) in flagged.iter().take(4) {
            let sample: String = text
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(100)
                .collect();
            println!("  page {number}: {quality:?}\n    {sample}");
        }
    }
    match ingest::parse(&path, &bytes) {
        Ok(document) => {
            println!(
                "kept {} pages; unreadable: {:?}",
                document.pages.len(),
                document.unreadable_pages
            );
            if let Some(page) = std::env::args().nth(2).and_then(|number| number.parse::<usize>().ok()) {
                println!(
                    "  kept page {page}: {}",
                    document.pages[page - 1].text.chars().take(200).collect::<String>()
                );
            }
        }
        Err(error) => println!("error: {error}"),
    }
}
