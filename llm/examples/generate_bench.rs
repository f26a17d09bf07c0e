//! Generation speed of the local candle path on a realistic RAG prompt:
//!   cargo run --example generate_bench -- MODEL.gguf CORPUS.jsonl PROMPT_OUT [RUNS] [NEW_TOKENS] [candle]
//!
//! Builds the grounded prompt the appliance would send (system turn, numbered passages from
//! CORPUS.jsonl up to about 1,000 tokens, a question), writes it to PROMPT_OUT so another
//! engine can be timed on exactly the same text (`scripts/bench-generation.sh` does), then
//! prints one JSON line: medians over RUNS of a bare greedy run (prompt from an empty cache,
//! NEW_TOKENS decoding steps) and the time to first token when the system turn's KV cache is
//! reused, as the appliance does between questions.

use std::time::Instant;

use llm::prompt::{DEFAULT_SYSTEM_PROMPT, grounded_messages};
use llm::{GenerationEvent, GenerationRequest, Generator, Kernels, LocalGenerator};

const PASSAGE_TOKENS: usize = 900;
const QUESTION: &str = "Which team's defense led the league in interceptions, and how many did it have?";

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: generate_bench MODEL.gguf CORPUS.jsonl PROMPT_OUT [RUNS] [NEW_TOKENS]";
    let model = std::path::PathBuf::from(args.next().expect(usage));
    let corpus = args.next().expect(usage);
    let prompt_out = args.next().expect(usage);
    let runs: usize = args.next().map(|value| value.parse()).transpose()?.unwrap_or(3);
    let new_tokens: usize = args.next().map(|value| value.parse()).transpose()?.unwrap_or(128);
    let kernels = match args.next().as_deref() {
        Some("candle") => Kernels::Candle,
        _ => Kernels::Fastest,
    };

    let generator = LocalGenerator::load_with(&model, kernels)?;
    let engine = if kernels == Kernels::Candle || !llm::qwen2::supported() {
        "candle's own model"
    } else {
        "ours (llm::qwen2)"
    };
    let mut passages = Vec::new();
    let mut used = 0;
    for line in std::fs::read_to_string(&corpus)?.lines() {
        let row: serde_json::Value = serde_json::from_str(line)?;
        let text = row["text"].as_str().unwrap_or_default().to_owned();
        let tokens = generator.count_tokens(&text);
        if used + tokens > PASSAGE_TOKENS {
            break;
        }
        used += tokens;
        passages.push(text);
    }
    let passage_refs: Vec<&str> = passages.iter().map(String::as_str).collect();
    let messages = grounded_messages(DEFAULT_SYSTEM_PROMPT, QUESTION, &passage_refs);
    let prompt = generator.render(&messages);
    std::fs::write(&prompt_out, &prompt)?;

    let (mut prefill, mut decode, mut first_token) = (Vec::new(), Vec::new(), Vec::new());
    let mut prompt_tokens = 0;
    for _ in 0..runs {
        let stats = generator.time_greedy(&prompt, new_tokens)?;
        prompt_tokens = stats.prompt_tokens;
        prefill.push(stats.prefill_tokens_per_second());
        decode.push(stats.decode_tokens_per_second());
        first_token.push(stats.prefill_seconds);
    }

    // The appliance's own path: generate() with the system turn's cache kept from the
    // previous question (the first call fills it).
    let request = GenerationRequest {
        messages,
        max_tokens: 1,
        stop: Vec::new(),
        ..Default::default()
    };
    let mut reused_first_token = Vec::new();
    let mut cached_tokens = 0;
    for run in 0..=runs {
        let started = Instant::now();
        let mut first: Option<f64> = None;
        let stats = generator.generate(&request, &mut |event| {
            if let GenerationEvent::Text(_) = event {
                first.get_or_insert_with(|| started.elapsed().as_secs_f64());
            }
            true
        })?;
        if run > 0 {
            cached_tokens = stats.cached_prompt_tokens;
            reused_first_token.push(first.unwrap_or(stats.prefill_seconds));
        }
    }

    println!(
        "{}",
        serde_json::json!({
            "engine": engine,
            "model": model.file_name().map(|name| name.to_string_lossy().into_owned()),
            "threads": std::thread::available_parallelism().map(usize::from).unwrap_or(1),
            "prompt_tokens": prompt_tokens,
            "new_tokens": new_tokens,
            "runs": runs,
            "prefill_tokens_per_s": median(prefill),
            "decode_tokens_per_s": median(decode),
            "ttft_s": median(first_token),
            "ttft_system_prefix_reused_s": median(reused_first_token),
            "system_prefix_tokens": cached_tokens,
        })
    );
    Ok(())
}
