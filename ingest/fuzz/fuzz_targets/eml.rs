//! Fuzzes the parser behind `a.eml`: any input must give `Ok` or `Err`, never a panic
//! past the crate's `catch_unwind`, a hang or unbounded memory. OCR is off.
//!
//!     cargo +nightly fuzz run eml -- -max_len=1048576 -rss_limit_mb=2048 -timeout=20

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = ingest::ParseOptions::new(16 * 1024 * 1024, None);
    let _ = ingest::parse_with("a.eml", data, &options);
});
