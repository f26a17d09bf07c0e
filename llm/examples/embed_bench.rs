//! Embedding throughput of the candle e5 encoder, f32 layers against 4-bit layers:
//!   cargo run --example embed_bench -- MODELS_DIR CORPUS.jsonl [PASSAGES]
//! Prints passages/s, tokens/s, the achieved GFLOP/s and a short query's latency.

use std::time::Instant;

use llm::Embedder;
use llm::e5::{E5Embedder, E5Options};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let models = std::path::PathBuf::from(args.next().expect("MODELS_DIR"));
    let corpus = args.next().expect("CORPUS.jsonl");
    let count: usize = args.next().map(|value| value.parse()).transpose()?.unwrap_or(64);
    let texts: Vec<String> = std::fs::read_to_string(corpus)?
        .lines()
        .take(count)
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            format!(
                "{} {}",
                value["title"].as_str().unwrap_or(""),
                value["text"].as_str().unwrap_or("")
            )
        })
        .collect();
    for quantized in [false, true] {
        let embedder = E5Embedder::load(&models.join("e5-small-q4.bin"), E5Options { quantized })?;
        let tokens: usize = texts.iter().map(|text| embedder.count_tokens(text).min(510) + 2).sum();
        let references: Vec<&str> = texts.iter().map(String::as_str).collect();
        embedder.embed_passages(&references[..1])?; // warm up
        let started = Instant::now();
        embedder.embed_passages(&references)?;
        let seconds = started.elapsed().as_secs_f64();
        // Per token per layer: 4 h^2 (attention projections) + 2 h f (FFN), 2 flops each;
        // attention scores add 2 * 2 * n * h per token.
        let (hidden, ffn, layers) = (384.0, 1536.0, 12.0);
        let average_length = tokens as f64 / texts.len() as f64;
        let flops =
            tokens as f64 * layers * 2.0 * (4.0 * hidden * hidden + 2.0 * hidden * ffn + 2.0 * average_length * hidden);
        let query_started = Instant::now();
        for _ in 0..10 {
            embedder.embed_query("how does the init system start services at boot")?;
        }
        let query_ms = query_started.elapsed().as_secs_f64() * 100.0;
        println!(
            "{}: {} passages ({:.0} tokens avg) in {seconds:.2}s = {:.2} passages/s, {:.0} tokens/s, {:.1} GFLOP/s; query {query_ms:.1} ms",
            if quantized { "q4_0 layers" } else { "f32 layers " },
            texts.len(),
            average_length,
            texts.len() as f64 / seconds,
            tokens as f64 / seconds,
            flops / seconds / 1e9
        );
    }
    Ok(())
}
