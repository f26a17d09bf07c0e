//! Citing and checking: each sentence of an answer is checked against the passages it
//! cites, re-cited to the passage that supports it best, and the answer refused when no
//! sentence holds; the extractive fallback builds an answer from the passages' own
//! sentences when no generator can answer in time.

use llm::citations::{SentenceSupport, drop_dangling_markers, render_verified, split_sentences, verify_sentences};
use llm::prompt::is_chinese;

use super::answer::{Answer, Citation};
use super::{Engine, Hit};
use crate::Result;

/// Share of a sentence's words (or Chinese characters) that must occur in a passage for the
/// passage to count as supporting it.
const SUPPORT_OVERLAP: f32 = 0.5;
/// Sentences below [`SUPPORT_OVERLAP`] but at least this share of words in their passage are
/// checked for meaning instead.
const PARAPHRASE_MIN_OVERLAP: f32 = 0.25;
/// e5 similarity from which a paraphrase counts as supported. e5-small's scores are
/// compressed (unrelated text scores about 0.7-0.8, a false claim on the same topic 0.86,
/// restatements 0.89-0.92: `llm/tests/integration/e5_parity.rs`); set on those cases, not
/// calibrated on a labelled set.
const PARAPHRASE_SIMILARITY: f32 = 0.88;

impl Engine {
    /// Checks `text` sentence by sentence against the passages it cites and fills in the
    /// answer, its sentences and its citations; refuses when no sentence is supported.
    pub(super) async fn cite(&self, question: &str, text: &str, answer: &mut Answer) -> Result<()> {
        let passages: Vec<&str> = answer.sources.iter().map(|hit| hit.text.as_str()).collect();
        let cleaned = drop_dangling_markers(text, passages.len());
        let mut sentences = verify_sentences(&cleaned, &passages, SUPPORT_OVERLAP);
        self.check_paraphrases(&mut sentences, &passages).await?;
        if !sentences.iter().any(|sentence| sentence.supported) {
            answer.sentences = sentences;
            self.refuse(
                answer,
                question,
                "no sentence of the generated answer is supported by a passage",
            );
            return Ok(());
        }
        let mut numbers: Vec<usize> = Vec::new();
        for number in sentences.iter().flat_map(|sentence| sentence.cited.iter()) {
            if !numbers.contains(number) {
                numbers.push(*number);
            }
        }
        answer.answer = render_verified(&sentences);
        answer.sentences = sentences;
        answer.citations = numbers
            .into_iter()
            .map(|number| {
                let hit = &answer.sources[number - 1];
                Citation {
                    n: number,
                    document: hit.document.clone(),
                    document_id: hit.document_id.clone(),
                    version: hit.version,
                    title: hit.title.clone(),
                    page: hit.page,
                    passage: hit.text.clone(),
                    chunk_id: hit.chunk_id,
                }
            })
            .collect();
        Ok(())
    }

    /// Second look at sentences whose words overlap their cited passage too little to count:
    /// a paraphrase close in meaning (e5 similarity) still counts as supported.
    async fn check_paraphrases(&self, sentences: &mut [SentenceSupport], passages: &[&str]) -> Result<()> {
        let pairs: Vec<(usize, String, String)> = sentences
            .iter()
            .enumerate()
            .filter(|(_, sentence)| {
                !sentence.supported && !sentence.cited.is_empty() && sentence.overlap >= PARAPHRASE_MIN_OVERLAP
            })
            .map(|(index, sentence)| (index, sentence.text.clone(), passages[sentence.cited[0] - 1].to_owned()))
            .collect();
        if pairs.is_empty() {
            return Ok(());
        }
        let models = self.models.clone();
        let similarities = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<(usize, f32)>> {
            let embedder = models.embedder()?;
            pairs
                .iter()
                .map(|(index, sentence, passage)| {
                    let vectors = embedder.embed_passages(&[sentence.as_str(), passage.as_str()])?;
                    Ok((*index, llm::e5::cosine(&vectors[0], &vectors[1])))
                })
                .collect()
        })
        .await??;
        for (index, similarity) in similarities {
            sentences[index].similarity = Some(similarity);
            sentences[index].supported = similarity >= PARAPHRASE_SIMILARITY;
        }
        Ok(())
    }

    /// The extractive fallback: the passages' sentences that cover most of the question,
    /// cited and labelled as extracts, for when no generator can answer in time.
    pub(super) async fn extract(
        &self,
        question: &str,
        retrieval_query: &str,
        hits: Vec<Hit>,
        answer: &mut Answer,
        reason: &str,
    ) -> Result<()> {
        let keyword = self.keyword.clone();
        let query = retrieval_query.to_owned();
        let texts: Vec<String> = hits.iter().map(|hit| hit.text.clone()).collect();
        let extract = tokio::task::spawn_blocking(move || {
            let passages: Vec<&str> = texts.iter().map(String::as_str).collect();
            best_sentences(&keyword, &query, &passages)
        })
        .await?;
        answer.sources = hits;
        answer.extractive = true;
        answer.model = format!("extractive ({reason})");
        self.cite(question, &extract, answer).await?;
        if !answer.refused {
            answer.answer = format!("{}{}", extract_label(question), answer.answer);
        }
        Ok(())
    }
}

/// Sentences shorter than this many characters (headings, list stubs) are never extracted.
const MIN_EXTRACT_CHARS: usize = 8;

/// Up to two sentences of `passages` with the best weighted coverage of `query`, each
/// followed by its passage's `[n]` marker, in passage order.
fn best_sentences(keyword: &retrieval::KeywordIndex, query: &str, passages: &[&str]) -> String {
    let candidates: Vec<(usize, String)> = passages
        .iter()
        .enumerate()
        .flat_map(|(index, passage)| {
            // PDF text breaks lines (and words, with a hyphen) where the page did.
            split_sentences(&passage.replace("-\n", "").replace('\n', " "))
                .into_iter()
                .filter(|sentence| sentence.chars().count() >= MIN_EXTRACT_CHARS)
                .map(move |sentence| (index + 1, sentence))
        })
        .collect();
    let sentences: Vec<&str> = candidates.iter().map(|(_, sentence)| sentence.as_str()).collect();
    let scores = keyword.coverage(query, &sentences);
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|left, right| scores[*right].total_cmp(&scores[*left]).then(left.cmp(right)));
    let best = order.first().map(|index| scores[*index]).unwrap_or(0.0);
    let mut chosen: Vec<usize> = order
        .into_iter()
        .filter(|index| scores[*index] > 0.0 && scores[*index] >= best * 0.6)
        .take(2)
        .collect();
    chosen.sort();
    let joiner = if is_chinese(query) { "" } else { " " };
    chosen
        .iter()
        .map(|index| {
            let (number, sentence) = &candidates[*index];
            format!("{} [{number}]", sentence.trim())
        })
        .collect::<Vec<_>>()
        .join(joiner)
}

/// The label an extracted answer starts with, in the question's language.
fn extract_label(question: &str) -> &'static str {
    if is_chinese(question) {
        "摘录（未经模型生成）："
    } else {
        "Extract (not generated): "
    }
}
