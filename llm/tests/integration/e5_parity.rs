//! The candle e5 embedder reproduces the reference engine's vectors.

use llm::Embedder;
use llm::e5::{E5Embedder, E5Options, cosine};
use serde_json::Value;

fn reference() -> Vec<(String, String, Vec<f32>)> {
    let text = include_str!("../fixtures/e5_reference.jsonl");
    text.lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).expect("fixture line is JSON");
            let vector = value["embedding"]
                .as_array()
                .expect("embedding array")
                .iter()
                .map(|number| number.as_f64().expect("number") as f32)
                .collect();
            (
                value["mode"].as_str().expect("mode").to_owned(),
                value["text"].as_str().expect("text").to_owned(),
                vector,
            )
        })
        .collect()
}

fn check(options: E5Options) {
    let embedder = E5Embedder::load(&super::models_dir().join("e5-small-q4.bin"), options)
        .expect("e5 model loads (run scripts/fetch-models.sh)");
    let cases = reference();
    assert_eq!(cases.len(), 10);
    for (mode, text, expected) in cases {
        let actual = match mode.as_str() {
            "query" => embedder.embed_query(&text).unwrap(),
            _ => embedder.embed_passages(&[&text]).unwrap().remove(0),
        };
        assert_eq!(actual.len(), 384);
        let similarity = cosine(&actual, &expected);
        assert!(similarity >= 0.999, "{mode} {text:?}: cosine {similarity}");
    }
}

#[test]
fn f32_layers_match_reference_vectors() {
    check(E5Options { quantized: false });
}

#[test]
fn quantized_layers_match_reference_vectors() {
    check(E5Options { quantized: true });
}

#[test]
fn related_texts_score_higher_than_unrelated() {
    let embedder = E5Embedder::load(&super::models_dir().join("e5-small-q4.bin"), E5Options::default()).unwrap();
    let query = embedder.embed_query("如何重置我的密码？").unwrap();
    let passages = embedder
        .embed_passages(&[
            "修改账户密码的步骤：登录后进入个人设置。",
            "The weather in Paris is mild in spring.",
        ])
        .unwrap();
    assert!(cosine(&query, &passages[0]) > cosine(&query, &passages[1]));
    assert!(embedder.count_tokens("hello world") >= 2);
}

/// The scale behind the answer path's paraphrase check (`PARAPHRASE_SIMILARITY`, 0.88):
/// an answer sentence that restates its passage scores above it, a sentence on the same
/// topic that the passage does not say scores below.
#[test]
fn paraphrases_score_above_the_support_threshold_and_other_claims_below() {
    let embedder = E5Embedder::load(&super::models_dir().join("e5-small-q4.bin"), E5Options::default()).unwrap();
    let passage = "The Panthers defense gave up just 308 points, ranking sixth in the league, while also \
                   leading the NFL in interceptions with 24.";
    let cases = [
        (
            "Carolina's defense allowed only 308 points and had the most interceptions in the NFL, 24.",
            true,
        ),
        (
            "The Panthers defense intercepted 24 passes, more than any other team.",
            true,
        ),
        ("The Panthers offense scored 500 points and won the Super Bowl.", false),
        (
            "Peyton Manning was 39 years old when he played in Super Bowl 50.",
            false,
        ),
        ("食堂中午十一点半开门。", false),
    ];
    let mut texts = vec![passage];
    texts.extend(cases.iter().map(|(sentence, _)| *sentence));
    let vectors = embedder.embed_passages(&texts).unwrap();
    for ((sentence, supported), vector) in cases.iter().zip(&vectors[1..]) {
        let similarity = cosine(vector, &vectors[0]);
        eprintln!("{similarity:.3} {sentence}");
        assert_eq!(similarity >= 0.88, *supported, "{similarity} for {sentence:?}");
    }
}
