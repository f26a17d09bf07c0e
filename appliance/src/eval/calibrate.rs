//! `eval answers --calibrate`: how the refusal thresholds would treat a set's questions,
//! without generating anything.

use serde_json::{Value, json};

use super::{AnswersArgs, QueryRow, percentile};
use crate::acl::Acl;
use crate::engine::Engine;

/// The evidence scores of `judged` questions, for choosing `refuse_below_evidence`, how
/// many questions each pair of evidence and dense-similarity thresholds would refuse when a
/// question is refused only if both are below theirs (`refuse_below_evidence`,
/// `answer_above_similarity`), and how many each `answer_above_sentence_similarity` would
/// refuse with the other two thresholds in force.
pub(super) async fn calibrate(
    engine: &Engine,
    judged: &[&QueryRow],
    args: &AnswersArgs,
    documents: usize,
) -> anyhow::Result<()> {
    let mut scores = Vec::with_capacity(judged.len());
    let mut pairs = Vec::with_capacity(judged.len());
    // Each question's best sentence similarity, and whether its passage similarity is
    // below its threshold.
    let mut sentences = Vec::with_capacity(judged.len());
    for query in judged {
        let (hits, evidence) = engine.evidence(&query.text, &Acl::operator()).await?;
        let dense = hits.iter().filter_map(|hit| hit.dense_score).fold(0.0f32, f32::max);
        scores.push(evidence as f64);
        pairs.push((evidence as f64, dense as f64));
        let thresholds = engine.settings().refusal_thresholds(&query.text);
        let sentence = engine.sentence_similarity(&query.text, &hits).await?;
        sentences.push((sentence as f64, dense < thresholds.passage_similarity));
    }
    // With the passage similarity threshold in force, the share each pair of sentence
    // similarity and evidence thresholds would refuse.
    let refused_below_sentence: serde_json::Map<String, Value> = (86..=96)
        .map(|step| {
            let sentence_threshold = step as f64 / 100.0;
            let row: serde_json::Map<String, Value> = (8..=16)
                .map(|evidence_step| {
                    let threshold = evidence_step as f64 * 0.05;
                    let refused = pairs
                        .iter()
                        .zip(&sentences)
                        .filter(|((evidence, _), (sentence, thin))| {
                            *evidence < threshold && *thin && *sentence < sentence_threshold
                        })
                        .count();
                    (format!("{threshold:.2}"), json!(refused as f64 / pairs.len() as f64))
                })
                .collect();
            (format!("{sentence_threshold:.2}"), Value::Object(row))
        })
        .collect();
    scores.sort_by(f64::total_cmp);
    let refused_below: serde_json::Map<String, Value> = (2..=16)
        .map(|step| {
            let threshold = step as f64 * 0.05;
            let share = scores.iter().filter(|&&score| score < threshold).count() as f64 / scores.len() as f64;
            (format!("{threshold:.2}"), json!(share))
        })
        .collect();
    let with_dense: serde_json::Map<String, Value> = (80..=95)
        .map(|dense_step| {
            let dense_threshold = dense_step as f64 / 100.0;
            let row: serde_json::Map<String, Value> = (4..=12)
                .map(|step| {
                    let threshold = step as f64 * 0.05;
                    let refused = pairs
                        .iter()
                        .filter(|(evidence, dense)| *evidence < threshold && *dense < dense_threshold)
                        .count();
                    (format!("{threshold:.2}"), json!(refused as f64 / pairs.len() as f64))
                })
                .collect();
            (format!("{dense_threshold:.2}"), Value::Object(row))
        })
        .collect();
    let mut dense_scores: Vec<f64> = pairs.iter().map(|(_, dense)| *dense).collect();
    dense_scores.sort_by(f64::total_cmp);
    let report = json!({
        "queries": judged.len(),
        "drop_gold": args.drop_gold,
        "documents": documents,
        "evidence_p05": percentile(&scores, 0.05),
        "evidence_p10": percentile(&scores, 0.10),
        "evidence_p50": percentile(&scores, 0.5),
        "evidence_p90": percentile(&scores, 0.9),
        "dense_p10": percentile(&dense_scores, 0.10),
        "dense_p50": percentile(&dense_scores, 0.5),
        "dense_p90": percentile(&dense_scores, 0.9),
        "refused_below": refused_below,
        "refused_below_both": with_dense,
        "refused_below_sentence": refused_below_sentence,
    });
    println!("{report}");
    Ok(())
}
