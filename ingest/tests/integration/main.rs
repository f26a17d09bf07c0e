//! Integration tests of the parsers on real files: office documents written by the
//! libraries real software uses, PDFs written here byte by byte, scans read by Tesseract,
//! and a corpus of hostile files that must each fail alone with a clear message.

mod formats;
mod hostile;
mod ocr;
mod support;
