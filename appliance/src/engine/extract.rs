//! The extract: the passages' own sentences that cover a question best, quoted and cited
//! when no generated answer holds (see `citing`). Kept apart from the checks so that what
//! counts as covering a question is defined once, for extracts and answers alike.

use std::collections::HashSet;

use llm::check;
use llm::citations::{split_sentences, unwrap_lines};
use llm::prompt::is_chinese;

/// Sentences shorter than this many characters (headings, list stubs) are never extracted.
const MIN_EXTRACT_CHARS: usize = 8;

/// Weighted coverage of the question a sentence needs to be extracted: below it, no
/// sentence answers and the question is refused. A choice (about half the question's
/// weight, a third for short sentences' partial matches), not fitted to a set.
pub(super) const MIN_EXTRACT_COVERAGE: f32 = 0.34;

/// The sentences of `passages` that could be quoted, each as (passage number, the sentence
/// under its heading, the sentence). Paragraph by paragraph: a heading is not extracted but
/// counts for the sentences under it ("## Asking questions" over "Type a question in the Ask
/// tab."). PDF text breaks lines (and words, with a hyphen) where the page did.
pub(super) fn candidate_sentences(passages: &[&str]) -> Vec<(usize, String, String)> {
    passages
        .iter()
        .enumerate()
        .flat_map(|(index, passage)| {
            let mut heading = String::new();
            let mut sentences = Vec::new();
            for paragraph in passage.split("\n\n") {
                let paragraph = paragraph.trim();
                if let Some(title) = paragraph.strip_prefix('#') {
                    heading = title.trim_start_matches('#').trim().to_owned();
                    continue;
                }
                for sentence in split_sentences(&unwrap_lines(paragraph)) {
                    if sentence.chars().count() >= MIN_EXTRACT_CHARS {
                        sentences.push((index + 1, format!("{heading} {sentence}"), sentence.trim().to_owned()));
                    }
                }
            }
            sentences
        })
        .collect()
}

/// Up to two sentences of `passages` with the best weighted coverage of `query`, each with
/// its passage's number, in passage order; none when no sentence covers enough.
pub(super) fn best_sentences(
    keyword: &dyn retrieval::KeywordStore,
    query: &str,
    passages: &[&str],
) -> retrieval::Result<Vec<(usize, String)>> {
    let candidates = candidate_sentences(passages);
    let scored: Vec<&str> = candidates.iter().map(|(_, scored, _)| scored.as_str()).collect();
    let scores = keyword.coverage(query, &scored)?;
    // The question's words each sentence (with its heading) holds, "read" and "readable"
    // alike, which the keyword stemmer tells apart: the tie-break between equal scores.
    let held: Vec<HashSet<String>> = scored
        .iter()
        .map(|text| check::question_units_in(query, text).1.into_iter().collect())
        .collect();
    let candidates: Vec<(usize, String)> = candidates
        .into_iter()
        .map(|(number, _, sentence)| (number, sentence))
        .collect();
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|left, right| {
        scores[*right]
            .total_cmp(&scores[*left])
            .then(held[*right].len().cmp(&held[*left].len()))
            .then(left.cmp(right))
    });
    let best = order.first().map(|index| scores[*index]).unwrap_or(0.0);
    if best < MIN_EXTRACT_COVERAGE {
        return Ok(Vec::new());
    }
    // The same sentence from two copies of a document (its PDF and HTML) is taken once, and
    // an English sentence holding only part of the question's words a chosen one holds adds
    // nothing. Not in Chinese: its units are characters, where "可以" in the question is
    // held by "可以上传" but not by "可见" (visible to), which answers "谁可以阅读".
    let english = !is_chinese(query);
    let mut seen = HashSet::new();
    let mut chosen: Vec<usize> = Vec::new();
    for index in order {
        if chosen.len() == 2 || scores[index] < best * 0.8 {
            break;
        }
        let padding = english
            && chosen
                .iter()
                .any(|other| held[index].len() < held[*other].len() && held[index].is_subset(&held[*other]));
        if !padding && seen.insert(llm::citations::lexical_units(&candidates[index].1)) {
            chosen.push(index);
        }
    }
    chosen.sort();
    Ok(chosen.into_iter().map(|index| candidates[index].clone()).collect())
}

/// The label an extracted answer starts with, in the question's language.
pub(super) fn extract_label(question: &str) -> &'static str {
    if is_chinese(question) {
        "摘录（未经模型生成）："
    } else {
        "Extract (not generated): "
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Before: "Who can read an uploaded document?" was answered by two sentences, the
    /// first only about uploading; both scored alike because the stemmer keeps "readable"
    /// apart from "read" and the heading "Uploading documents" counts for both.
    #[test]
    fn regression_an_extract_was_padded_with_a_sentence_that_adds_nothing() {
        let keyword = retrieval::KeywordIndex::in_memory(&[]).unwrap();
        let passage = "## Uploading documents\n\nAdministrators upload PDF, HTML, Markdown and text files. \
                       Each document is readable by the\ngroups it is assigned to, or by every employee when it is \
                       public.\n\n## Asking questions\n\nType a question in the Ask tab.";
        let chosen = best_sentences(&keyword, "Who can read an uploaded document?", &[passage]).unwrap();
        let sentences: Vec<&str> = chosen.iter().map(|(_, sentence)| sentence.as_str()).collect();
        assert_eq!(
            sentences,
            ["Each document is readable by the groups it is assigned to, or by every employee when it is public."]
        );
        // In Chinese, held characters mislead ("可以" of "可以上传"): the answer ("可见")
        // must stay.
        let 上传 = "## 上传文档\n\n管理员可以上传 PDF、HTML、Markdown 和文本文件。每份文档只对指定的用户组可见，或设为全体员工可见。";
        let chosen = best_sentences(&keyword, "文档上传后谁可以阅读？", &[上传]).unwrap();
        assert!(
            chosen.iter().any(|(_, sentence)| sentence.contains("可见")),
            "{chosen:?}"
        );
        // Two sentences holding the same words of the question both stay: either may be the
        // one with the answer.
        let canteen = "The canteen opens for all staff. The canteen opens at 11:30 on weekdays.";
        let chosen = best_sentences(&keyword, "When does the canteen open?", &[canteen]).unwrap();
        assert_eq!(chosen.len(), 2, "{chosen:?}");
    }
}
