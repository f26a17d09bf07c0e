//! `appliance eval retrieval` on a small slice of an evaluation set: the harness runs,
//! prints the documented JSON, finds the relevant paragraphs, and its vector cache makes the
//! second run embed nothing. The slices are committed in `tests/fixtures/eval/` (see its
//! README for their provenance and licence).

use std::collections::HashSet;

use super::{appliance, eval_fixtures, last_json_line};

/// The first `documents` documents of a committed set and up to `judgements` of its dev
/// judgements on them, written to a scratch directory.
struct Slice {
    work: tempfile::TempDir,
    corpus: std::path::PathBuf,
    queries: std::path::PathBuf,
    qrels: std::path::PathBuf,
    judgements: usize,
}

fn slice(set: &str, documents: usize, judgements: usize) -> Slice {
    let set = eval_fixtures().join(set);
    let corpus = std::fs::read_to_string(set.join("corpus.jsonl")).unwrap();
    let kept: Vec<&str> = corpus.lines().take(documents).collect();
    assert_eq!(kept.len(), documents, "{} has fewer documents", set.display());
    let kept_ids: HashSet<String> = kept
        .iter()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let qrels = std::fs::read_to_string(set.join("dev/qrels.tsv")).unwrap();
    let kept_qrels: Vec<&str> = qrels
        .lines()
        .filter(|line| line.split('\t').nth(1).is_some_and(|doc| kept_ids.contains(doc)))
        .take(judgements)
        .collect();
    let work = tempfile::tempdir().unwrap();
    let corpus_path = work.path().join("corpus.jsonl");
    std::fs::write(&corpus_path, kept.join("\n") + "\n").unwrap();
    let qrels_path = work.path().join("qrels.tsv");
    std::fs::write(&qrels_path, kept_qrels.join("\n") + "\n").unwrap();
    Slice {
        work,
        corpus: corpus_path,
        queries: set.join("dev/queries.jsonl"),
        qrels: qrels_path,
        judgements: kept_qrels.len(),
    }
}

#[test]
fn eval_retrieval_on_a_slice_with_cache() {
    let slice = slice("zh_xquad", 25, 30);
    assert!(slice.judgements >= 10, "slice too small");
    let data = slice.work.path().join("data");
    let args = [
        "eval",
        "retrieval",
        "--corpus",
        slice.corpus.to_str().unwrap(),
        "--queries",
        slice.queries.to_str().unwrap(),
        "--qrels",
        slice.qrels.to_str().unwrap(),
        "--mode",
        "hybrid",
        "--k",
        "5",
        "--json",
    ];
    let first = last_json_line(&appliance(&data, &args));
    eprintln!("first run: {first}");
    assert_eq!(first["mode"], "hybrid");
    assert_eq!(first["queries"], slice.judgements);
    for key in ["ndcg_at_5", "recall_at_5", "mrr_at_5", "p50_ms", "p95_ms"] {
        assert!(first[key].is_number(), "{key} missing: {first}");
    }
    assert!(first["recall_at_5"].as_f64().unwrap() > 0.8, "{first}");

    let cache_dir = data.join("eval-cache");
    let cache_size = |dir: &std::path::Path| -> u64 {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().metadata().unwrap().len())
            .sum()
    };
    let size_after_first = cache_size(&cache_dir);
    assert!(size_after_first > 0);
    let second = last_json_line(&appliance(&data, &args));
    assert_eq!(
        cache_size(&cache_dir),
        size_after_first,
        "the second run embedded passages again"
    );
    assert_eq!(second["recall_at_5"], first["recall_at_5"]);
}

/// `appliance eval answers` on a few questions: the documented JSON, with and without the
/// gold documents; without them every answer must be a refusal or cite nothing of the gold.
#[test]
fn eval_answers_on_a_slice_with_and_without_gold() {
    let slice = slice("en_xquad", 12, 3);
    let data = slice.work.path().join("data");
    let run = |extra: Option<&str>| {
        let mut args = vec![
            "eval",
            "answers",
            "--corpus",
            slice.corpus.to_str().unwrap(),
            "--queries",
            slice.queries.to_str().unwrap(),
            "--qrels",
            slice.qrels.to_str().unwrap(),
            "--json",
        ];
        args.extend(extra);
        last_json_line(&appliance(&data, &args))
    };
    let with_gold = run(None);
    eprintln!("with gold: {with_gold}");
    assert_eq!(with_gold["queries"], 3);
    for key in [
        "answer_contains_gold",
        "citation_precision",
        "refused",
        "ttft_p50_ms",
        "decode_tokens_per_s",
    ] {
        assert!(with_gold[key].is_number(), "{key} missing: {with_gold}");
    }
    let without_gold = run(Some("--drop-gold"));
    eprintln!("without gold: {without_gold}");
    assert!(without_gold["documents"].as_u64().unwrap() < 12, "{without_gold}");
    assert_eq!(without_gold["answer_contains_gold"], 0.0, "{without_gold}");
    assert_eq!(without_gold["citation_precision"], 0.0, "{without_gold}");
}
