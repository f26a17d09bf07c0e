//! Tries the grounded prompt on a few questions: `cargo run --example prompt_probe -- MODEL.gguf`.

use llm::prompt::{DEFAULT_SYSTEM_PROMPT, grounded_messages};
use llm::{GenerationEvent, GenerationRequest, Generator, LocalGenerator};

fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).expect("usage: prompt_probe MODEL.gguf");
    let generator = LocalGenerator::load(std::path::Path::new(&path))?;
    let passages: Vec<&str> = vec![
        "The office Wi-Fi password is changed every Monday. The current password is BlueHarbor42.",
        "The canteen opens at 11:30 and closes at 14:00. 食堂中午十一点半开门，下午两点关门。",
    ];
    for question in [
        "What is the current office Wi-Fi password?",
        "When does the canteen close?",
        "食堂几点关门？",
        "Who won the 1998 football world cup?",
    ] {
        let request = GenerationRequest {
            messages: grounded_messages(DEFAULT_SYSTEM_PROMPT, question, &passages),
            max_tokens: 60,
            stop: vec![],
            ..Default::default()
        };
        let mut answer = String::new();
        let stats = generator.generate(&request, &mut |event| {
            if let GenerationEvent::Text(piece) = event {
                answer.push_str(piece);
            }
            true
        })?;
        println!(
            "{question}\n  -> {answer:?}\n  ({} prompt tokens, prefill {:.1} tok/s, decode {:.1} tok/s)",
            stats.prompt_tokens,
            stats.prefill_tokens_per_second(),
            stats.decode_tokens_per_second()
        );
    }
    Ok(())
}
