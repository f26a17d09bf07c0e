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
        ..Default::default()
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

/// A copy bias steers decoding to the tokens of its texts: overwhelming, it keeps the
/// answer to them even against the passage that holds the answer.
#[test]
fn copy_bias_steers_decoding_to_the_copied_tokens() {
    let generator = LocalGenerator::load(&super::models_dir().join("qwen2.5-coder-0.5b-instruct.gguf")).unwrap();
    let passages: Vec<&str> =
        vec!["The office Wi-Fi password is changed every Monday. The current password is BlueHarbor42."];
    let copied = "The canteen opens at 11:30 [1].";
    let request = |copy_bias: f32| GenerationRequest {
        messages: grounded_messages(
            DEFAULT_SYSTEM_PROMPT,
            "What is the current office Wi-Fi password?",
            &passages,
        ),
        max_tokens: 16,
        copy_from: vec![copied.to_owned()],
        copy_bias,
        ..Default::default()
    };
    let (plain, _) = answer(&generator, &request(0.0));
    assert!(plain.contains("BlueHarbor42"), "{plain:?}");
    let (steered, _) = answer(&generator, &request(100.0));
    assert!(!steered.trim().is_empty());
    assert!(
        steered
            .chars()
            .all(|character| character.is_whitespace() || copied.contains(character)),
        "{steered:?}"
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

/// Runs `request` and returns the answer with its figures.
/// A request for `question` over `passages` with the default system prompt, greedy.
fn grounded(question: &str, passages: &[&str], max_tokens: usize) -> GenerationRequest {
    GenerationRequest {
        messages: grounded_messages(DEFAULT_SYSTEM_PROMPT, question, passages),
        max_tokens,
        stop: vec![],
        ..Default::default()
    }
}

fn answer(generator: &LocalGenerator, request: &GenerationRequest) -> (String, llm::GenerationStats) {
    let mut text = String::new();
    let stats = generator
        .generate(request, &mut |event| {
            if let GenerationEvent::Text(piece) = event {
                text.push_str(piece);
            }
            true
        })
        .unwrap();
    (text, stats)
}

#[test]
fn reused_system_prefix_gives_the_same_answer() {
    // A llama-architecture model: candle's qwen2 weights cannot be copied with their cache.
    let generator = LocalGenerator::load(&super::models_dir().join("SmolLM2-135M-Instruct.Q4_1.gguf"))
        .expect("SmolLM2 loads (run scripts/fetch-models.sh)");
    let passages: Vec<&str> = vec!["The canteen opens at 11:30 and closes at 14:00. It is closed on Sundays."];
    let request = |question: &str| grounded(question, &passages, 24);
    generator.set_reuse_system_prefix(false);
    let (cold, cold_stats) = answer(&generator, &request("When does the canteen close?"));
    assert_eq!(cold_stats.cached_prompt_tokens, 0);

    generator.set_reuse_system_prefix(true);
    // The first request computes and keeps the system turn; the next ones start after it.
    // (The system turn holds the answer instruction, which depends on the question's
    // language and on whether it asks yes or no: the priming question is of the same kind.)
    let (_, priming) = answer(&generator, &request("When does the canteen open?"));
    assert_eq!(priming.cached_prompt_tokens, 0);
    let (warm, warm_stats) = answer(&generator, &request("When does the canteen close?"));
    assert!(warm_stats.cached_prompt_tokens > 20, "{warm_stats:?}");
    assert_eq!(warm_stats.prompt_tokens, cold_stats.prompt_tokens);
    // Reading the prompt in two pieces changes float rounding, and this small 4-bit model's
    // greedy answer has drifted from the seventh word on; a wrong cache or position would
    // derail it from the first words.
    let words = |text: &str| text.split_whitespace().take(5).collect::<Vec<_>>().join(" ");
    assert_eq!(words(&warm), words(&cold), "cold {cold:?}, warm {warm:?}");

    // A changed system prompt is not answered from the old cache.
    let mut changed = request("When does the canteen close?");
    changed.messages[0].content.push_str(" Be brief.");
    let (_, changed_stats) = answer(&generator, &changed);
    assert_eq!(changed_stats.cached_prompt_tokens, 0);
}

/// The model file the fast qwen2 tests read, or none (said loudly) on a CPU without AVX2
/// or AVX-512 VNNI, where the fast qwen2 is never used.
fn fast_qwen2_model() -> Option<std::path::PathBuf> {
    if !llm::qwen2::supported() {
        eprintln!("NOT RUN: neither AVX2 nor AVX-512 VNNI here, so the fast qwen2 is not used");
        return None;
    }
    Some(super::models_dir().join("qwen2.5-coder-0.5b-instruct.gguf"))
}

/// The llama-architecture model (SmolLM2) on our decoder gives the logits candle's
/// `quantized_llama` gives, up to rounding: the same next token after a real prompt, and
/// the same greedy start of an answer.
#[test]
fn fast_llama_answers_like_candles() {
    if fast_qwen2_model().is_none() {
        return;
    }
    let path = super::models_dir().join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let fast = LocalGenerator::load_with(&path, llm::Kernels::Fastest).unwrap();
    let candle = LocalGenerator::load_with(&path, llm::Kernels::Candle).unwrap();
    let passages: Vec<&str> = vec!["The canteen opens at 11:30 and closes at 14:00. It is closed on Sundays."];
    let request = grounded("When does the canteen close?", &passages, 12);
    let (fast_answer, fast_stats) = answer(&fast, &request);
    let (candle_answer, _) = answer(&candle, &request);
    eprintln!("fast {fast_answer:?} / candle {candle_answer:?}");
    let start = |text: &str| text.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
    assert!(fast_stats.generated_tokens > 3);
    assert_eq!(start(&fast_answer), start(&candle_answer));
}

#[test]
fn fast_qwen2_answers_like_candles() {
    let Some(path) = fast_qwen2_model() else {
        return;
    };
    let fast = LocalGenerator::load_with(&path, llm::Kernels::Fastest).unwrap();
    let candle = LocalGenerator::load_with(&path, llm::Kernels::Candle).unwrap();
    let passages: Vec<&str> = vec![
        "The office Wi-Fi password is changed every Monday. The current password is BlueHarbor42.",
        "食堂中午十一点半开门，下午两点关门。周日不开放。",
    ];
    for (question, fact) in [
        ("What is the current office Wi-Fi password?", "BlueHarbor"),
        ("食堂几点关门？", "两点关门"),
    ] {
        let request = grounded(question, &passages, 20);
        let (fast_answer, fast_stats) = answer(&fast, &request);
        let (candle_answer, _) = answer(&candle, &request);
        eprintln!("fast {fast_answer:?} / candle {candle_answer:?}");
        // Our weights (Q8_0 or Q6_K, 8-bit activations) round differently from candle's
        // kernels on the file's Q5_0, and greedy answers drift apart after a few words (on
        // an AVX2 CPU candle's went on "十一点半关门", a wrong closing time, and ours "下午两
        // 点关门"): the answers agree at the start, and ours carries the passage's fact or,
        // where the small model misreads the passage whichever kernels run it (on an
        // AVX-512 CPU both said "十一点半关门"), is candle's answer word for word. A broken
        // layer would do neither.
        let start = |text: &str| text.chars().take(8).collect::<String>();
        assert_eq!(start(&fast_answer), start(&candle_answer));
        assert!(
            fast_answer.contains(fact) || fast_answer == candle_answer,
            "{fast_answer:?} lacks {fact:?} and is not candle's {candle_answer:?}"
        );
        assert!(fast_stats.generated_tokens > 3);
    }
    // The system turn's cache is reused by the fast model too (the last question was Chinese,
    // and the system turn's instruction is in the question's language).
    let request = grounded("食堂什么时候关门？", &passages, 4);
    let (_, stats) = answer(&fast, &request);
    assert!(stats.cached_prompt_tokens > 20, "{stats:?}");
}

#[test]
fn relevance_prefers_the_passage_that_answers() {
    let generator = LocalGenerator::load(&super::models_dir().join("qwen2.5-coder-0.5b-instruct.gguf")).unwrap();
    let question = "What is the current office Wi-Fi password?";
    let answering = generator
        .relevance(
            question,
            "The office Wi-Fi password is changed every Monday. The current password is BlueHarbor42.",
        )
        .unwrap()
        .expect("a local model scores relevance");
    let unrelated = generator
        .relevance(question, "The canteen opens at 11:30 and closes at 14:00.")
        .unwrap()
        .unwrap();
    eprintln!("answering {answering:.3}, unrelated {unrelated:.3}");
    assert!((0.0..=1.0).contains(&answering) && (0.0..=1.0).contains(&unrelated));
    // A 0.5B model is a lukewarm judge (about 0.37 against 0.22 here): the order is what
    // reranking uses.
    assert!(
        answering > unrelated + 0.1,
        "answering {answering}, unrelated {unrelated}"
    );
}

/// The fast qwen2 writes its KV cache in place: a copy taken after a prefix (the system
/// turn's snapshot) must not see the tokens read later by the original, and a cache that
/// grows past its first buffer must keep what it held. Both must give the logits of reading
/// the whole sequence at once.
#[test]
fn fast_qwen2_cache_copies_are_independent_and_survive_growth() {
    use candle_core::quantized::gguf_file;
    use llm::qwen2::{Session, Weights};
    let Some(path) = fast_qwen2_model() else {
        return;
    };
    let mut file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    let content = gguf_file::Content::read(&mut file).unwrap();
    let weights = std::sync::Arc::new(Weights::from_gguf(&content, &mut file).unwrap());
    // More tokens than the cache's first buffer holds (512), so the copy's tail grows it.
    let ids: Vec<u32> = (0..540u32).map(|index| 1_000 + index * 37 % 5_000).collect();
    let (prefix, tail) = ids.split_at(500);
    let logits = |session: &mut Session, tokens: &[u32], position: usize| -> Vec<f32> {
        let input = candle_core::Tensor::new(tokens, &candle_core::Device::Cpu).unwrap();
        session
            .forward(&input, position)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    };

    let mut original = Session::new(weights.clone());
    logits(&mut original, prefix, 0);
    let mut copy = original.try_clone().unwrap();
    let other: Vec<u32> = tail.iter().map(|id| id + 1).collect();
    logits(&mut original, &other, prefix.len());
    let mut continued = logits(&mut copy, &tail[..20], prefix.len());
    for (offset, &token) in tail[20..].iter().enumerate() {
        continued = logits(&mut copy, &[token], prefix.len() + 20 + offset);
    }
    let whole = logits(&mut Session::new(weights), &ids, 0);

    let argmax = |values: &[f32]| values.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    let largest = whole.iter().fold(0f32, |largest, value| largest.max(value.abs()));
    let difference = whole
        .iter()
        .zip(&continued)
        .fold(0f32, |largest, (a, b)| largest.max((a - b).abs()));
    assert_eq!(argmax(&whole), argmax(&continued));
    assert!(difference < 0.05 * largest, "{difference} of {largest}");
}
