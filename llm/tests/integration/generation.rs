//! The local Qwen generator streams a grounded, cited answer.

use llm::prompt::{DEFAULT_SYSTEM_PROMPT, grounded_messages};
use llm::{GenerationEvent, GenerationRequest, Generator, LocalGenerator};

#[test]
fn qwen_answers_from_passage_with_citation() {
    let generator = LocalGenerator::load(&super::models_dir().join("qwen2.5-coder-0.5b-instruct.gguf"))
        .expect("qwen model loads (run scripts/fetch-models.sh)");
    assert!(generator.count_tokens("你好") >= 1);
    let passages: Vec<&str> = vec![
        "The office Wi-Fi password is changed every Monday. The current password is BlueHarbor42.",
        "The canteen opens at 11:30 and closes at 14:00.",
    ];
    let request = GenerationRequest {
        messages: grounded_messages(
            DEFAULT_SYSTEM_PROMPT,
            "What is the current office Wi-Fi password?",
            &passages,
        ),
        max_tokens: 48,
        stop: vec![],
    };
    let mut streamed = Vec::new();
    let stats = generator
        .generate(&request, &mut |event| {
            if let GenerationEvent::Text(piece) = event {
                streamed.push(piece.to_owned());
            }
            true
        })
        .unwrap();
    let answer = streamed.concat();
    assert!(streamed.len() > 1, "answer arrived in one piece: {answer:?}");
    assert!(answer.contains("BlueHarbor42"), "{answer:?}");
    assert!(stats.prompt_tokens > 50 && stats.generated_tokens > 0);
    eprintln!(
        "prefill {:.1} tok/s, decode {:.1} tok/s: {answer}",
        stats.prefill_tokens_per_second(),
        stats.decode_tokens_per_second()
    );
}

#[test]
fn tokenizer_matches_known_ids() {
    let generator = LocalGenerator::load(&super::models_dir().join("qwen2.5-coder-0.5b-instruct.gguf")).unwrap();
    // Checks from MODELS.md: <|im_start|> = 151644, user = 872, "\n" = 198, 你好 = 108386.
    assert_eq!(
        generator.encode("<|im_start|>user\n你好").unwrap(),
        vec![151644, 872, 198, 108386]
    );
}
