//! The candle e5 embedder reproduces the reference engine's vectors.

use llm::Embedder;
use llm::e5::{E5Embedder, E5Layers, E5Options, cosine};
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
    check(E5Options { layers: E5Layers::F32 });
}

#[test]
fn eight_bit_layers_match_reference_vectors() {
    if !llm::qwen2::eight_bit_supported() {
        eprintln!("NOT RUN: this CPU lacks AVX-512 VNNI, which the 8-bit layers are for");
        return;
    }
    check(E5Options { layers: E5Layers::Q8 });
}

#[test]
fn quantized_layers_match_reference_vectors() {
    check(E5Options { layers: E5Layers::Q4 });
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

/// Passages are encoded in padded batches: a passage's vector must not depend on the
/// passages it was batched with (padding is masked out of attention and pooling), whatever
/// the layers.
#[test]
fn batched_passages_match_passages_embedded_alone() {
    let texts = [
        "短句。",
        "The appliance answers questions from the company's own documents and cites the page.",
        "每份文档只对指定的用户组可见，或设为全体员工可见。管理员可以上传 PDF、HTML、Markdown 和文本文件。",
        "ok",
    ];
    let mut layers = vec![E5Layers::F32, E5Layers::Q4];
    if llm::qwen2::supported() {
        layers.push(E5Layers::Q8);
    }
    for layers in layers {
        let embedder = E5Embedder::load(&super::models_dir().join("e5-small-q4.bin"), E5Options { layers }).unwrap();
        let together = embedder.embed_passages(&texts).unwrap();
        assert_eq!(together.len(), texts.len());
        for (text, batched) in texts.iter().zip(&together) {
            let alone = embedder.embed_passages(&[text]).unwrap().remove(0);
            let similarity = cosine(&alone, batched);
            // candle's 8-bit products round slightly differently with the number of rows they
            // multiply at once, which moves a vector by up to about 5e-4 with its batch:
            // within the bar the reference vectors are held to.
            let bar = if layers == E5Layers::Q8 { 0.999 } else { 0.9999 };
            assert!(similarity >= bar, "{layers:?} {text:?}: cosine {similarity}");
        }
    }
}
