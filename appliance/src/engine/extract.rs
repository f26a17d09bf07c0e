//! The extract: the passages' own sentences that cover a question best, quoted and cited
//! when no generated answer holds (see `citing`). What counts as covering a question is
//! defined here once, for extracts and for the checks on answers (`quote_checks`) alike.

use std::collections::HashSet;

use llm::check;
use llm::citations::{lexical_units, split_sentences};
use llm::lines::{unwrap_lines_within, widest};
use llm::prompt::is_chinese;

/// Sentences shorter than this many characters (headings, list stubs) are never extracted.
const MIN_EXTRACT_CHARS: usize = 8;

/// Weighted coverage of the question a sentence needs to be extracted: below it, no
/// sentence answers and the question is refused. A choice (about half the question's
/// weight, a third for short sentences' partial matches), not fitted to a set.
pub(super) const MIN_EXTRACT_COVERAGE: f32 = 0.34;

/// A sentence of a passage that could be quoted.
pub(super) struct Candidate {
    /// The passage's number, from 1.
    pub passage: usize,
    /// The heading in force in the passage where the sentence stands ("" before the first).
    pub heading: String,
    pub sentence: String,
}

impl Candidate {
    /// The sentence under its heading, as it is scored against a question.
    pub fn under_heading(&self) -> String {
        format!("{} {}", self.heading, self.sentence)
    }
}

/// The sentences of `passages` that could be quoted (see [`sentences_under_headings`]);
/// headings and stubs shorter than [`MIN_EXTRACT_CHARS`] are not.
pub(super) fn candidate_sentences(passages: &[&str]) -> Vec<Candidate> {
    passages
        .iter()
        .enumerate()
        .flat_map(|(index, passage)| {
            sentences_under_headings(passage)
                .into_iter()
                .filter(|(_, sentence)| sentence.chars().count() >= MIN_EXTRACT_CHARS)
                .map(move |(heading, sentence)| Candidate {
                    passage: index + 1,
                    heading,
                    sentence,
                })
        })
        .collect()
}

/// Every sentence of `passage` with the heading in force where it stands ("" before the
/// first). Paragraph by paragraph: a heading is not a sentence but counts for the sentences
/// under it ("## Asking questions" over "Type a question in the Ask tab."). PDF text breaks
/// lines (and words, with a hyphen) where the page did, and gives a table one row per line:
/// each row is a sentence of its own.
fn sentences_under_headings(passage: &str) -> Vec<(String, String)> {
    let widest = widest(passage);
    let mut heading = String::new();
    let mut sentences = Vec::new();
    for paragraph in passage.split("\n\n") {
        let paragraph = paragraph.trim();
        if let Some(title) = paragraph.strip_prefix('#') {
            heading = title.trim_start_matches('#').trim().to_owned();
            continue;
        }
        for sentence in split_sentences(&unwrap_lines_within(paragraph, widest)) {
            let sentence = sentence.trim();
            if !sentence.is_empty() {
                sentences.push((heading.clone(), sentence.to_owned()));
            }
        }
    }
    sentences
}

/// The candidate sentences of `passages`, each under its heading, with its weighted
/// coverage of `query`: what extracts are chosen by and answers are measured against.
pub(super) fn scored_candidates(
    keyword: &dyn retrieval::KeywordStore,
    query: &str,
    passages: &[&str],
) -> retrieval::Result<(Vec<Candidate>, Vec<String>, Vec<f32>)> {
    let candidates = candidate_sentences(passages);
    let scored: Vec<String> = candidates.iter().map(Candidate::under_heading).collect();
    let scores = keyword.coverage(query, &scored.iter().map(String::as_str).collect::<Vec<_>>())?;
    Ok((candidates, scored, scores))
}

/// Share of the best sentence's coverage of a question that another sentence must reach to
/// be quoted beside it, and that a generated answer must reach to stand instead of the
/// quote. A choice, not fitted to a set.
pub(super) const NEAR_BEST: f32 = 0.8;

/// Up to two sentences of `passages` with the best weighted coverage of `query`, each with
/// its passage's number, in passage order; none when no sentence covers enough.
pub(super) fn best_sentences(
    keyword: &dyn retrieval::KeywordStore,
    query: &str,
    passages: &[&str],
) -> retrieval::Result<Vec<(usize, String)>> {
    let (candidates, scored, scores) = scored_candidates(keyword, query, passages)?;
    // The question's words each sentence (with its heading) holds, "read" and "readable"
    // alike, which the keyword stemmer tells apart: the tie-break between equal scores.
    let held: Vec<HashSet<String>> = scored
        .iter()
        .map(|text| check::question_units_in(query, text).1.into_iter().collect())
        .collect();
    let candidates: Vec<(usize, String)> = candidates
        .into_iter()
        .map(|candidate| (candidate.passage, candidate.sentence))
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
    // An introduction quoted without what it introduces ("... are loaded from a set of paths
    // as follows:") says nothing: any other sentence near the best comes first, and it is
    // quoted only alone.
    let introduction = |index: usize| candidates[index].1.trim_end().ends_with([':', '：']);
    order.retain(|index| scores[*index] >= best * NEAR_BEST);
    order.sort_by_key(|index| introduction(*index));
    let mut seen = HashSet::new();
    let mut chosen: Vec<usize> = Vec::new();
    for index in order {
        if chosen.len() == 2 {
            break;
        }
        let padding = english
            && chosen
                .iter()
                .any(|other| held[index].len() < held[*other].len() && held[index].is_subset(&held[*other]));
        let beside_another = introduction(index) && !chosen.is_empty();
        if !padding && !beside_another && seen.insert(lexical_units(&candidates[index].1)) {
            chosen.push(index);
        }
    }
    chosen.sort();
    Ok(chosen.into_iter().map(|index| candidates[index].clone()).collect())
}

/// The part of `passage` the generator is shown for `query`: the sentences within `window`
/// of its best-covering ones (at most two, each at least [`NEAR_BEST`] of the best), under
/// the heading of the first, lines unwrapped; the whole passage when `window` is 0 or it is
/// short anyway. Fewer tokens to read means a sooner first token on a small CPU, and less
/// beside the answer for a small model to copy instead. A passage sharing no term with the
/// query (found by meaning alone) is shown from its start.
pub(super) fn focused_passage(
    keyword: &dyn retrieval::KeywordStore,
    query: &str,
    passage: &str,
    window: usize,
) -> retrieval::Result<String> {
    if window == 0 {
        return Ok(passage.to_owned());
    }
    let sentences = sentences_under_headings(passage);
    if sentences.len() <= 2 * window + 1 {
        return Ok(passage.to_owned());
    }
    let scored: Vec<String> = sentences
        .iter()
        .map(|(heading, sentence)| format!("{heading} {sentence}"))
        .collect();
    let scores = keyword.coverage(query, &scored.iter().map(String::as_str).collect::<Vec<_>>())?;
    let best = scores.iter().copied().fold(0.0, f32::max);
    let mut order: Vec<usize> = (0..sentences.len()).collect();
    order.sort_by(|left, right| scores[*right].total_cmp(&scores[*left]).then(left.cmp(right)));
    let centres: Vec<usize> = if best > 0.0 {
        order
            .into_iter()
            .take(2)
            .filter(|index| scores[*index] >= best * NEAR_BEST)
            .collect()
    } else {
        vec![window]
    };
    let mut shown: Vec<usize> = centres
        .iter()
        .flat_map(|centre| centre.saturating_sub(window)..=(centre + window).min(sentences.len() - 1))
        .collect();
    shown.sort_unstable();
    shown.dedup();
    let mut focused = String::new();
    let mut previous: Option<usize> = None;
    for index in shown {
        let (heading, sentence) = &sentences[index];
        let same_heading = previous.is_some_and(|previous| sentences[previous].0 == *heading);
        if previous.is_some_and(|previous| previous + 1 == index) && same_heading {
            // Chinese sentences end in full-width stops and join without a space.
            if focused.ends_with(|character: char| character.is_ascii()) {
                focused.push(' ');
            }
        } else {
            if !focused.is_empty() {
                focused.push_str("\n\n");
            }
            if !heading.is_empty() && !same_heading {
                focused.push_str(&format!("## {heading}\n\n"));
            }
        }
        focused.push_str(sentence);
        previous = Some(index);
    }
    Ok(focused)
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
    use super::super::quote_checks::{ScoredPassages, quotes_a_weaker_command};
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

    /// Before: "Does Debian use systemd as init?" was answered by the sentence that says so
    /// and, beside it, "The unit configuration files are loaded from a set of paths (see
    /// systemd-system.conf(5)) as follows:", quoted without the paths it introduces.
    #[test]
    fn regression_an_extract_quoted_an_introduction_without_what_it_introduces() {
        let keyword = retrieval::KeywordIndex::in_memory(&[]).unwrap();
        let passage = "The canteen opens at 11:30 on weekdays. On holidays the canteen opens as follows:\n\n\
                       - Christmas: closed";
        let chosen = best_sentences(&keyword, "When does the canteen open?", &[passage]).unwrap();
        let sentences: Vec<&str> = chosen.iter().map(|(_, sentence)| sentence.as_str()).collect();
        assert_eq!(sentences, ["The canteen opens at 11:30 on weekdays."]);
        // Nor when it covers the question as well as the answer does, and comes first.
        let passage = "The canteen opens as follows:\n\n- Christmas: closed\n\n\
                       The canteen opens at 11:30 on weekdays.";
        let chosen = best_sentences(&keyword, "When does the canteen open?", &[passage]).unwrap();
        let sentences: Vec<&str> = chosen.iter().map(|(_, sentence)| sentence.as_str()).collect();
        assert_eq!(sentences, ["The canteen opens at 11:30 on weekdays."]);
        // Alone, it is still the best there is.
        let introduction = "On holidays the canteen opens as follows:";
        let chosen = best_sentences(&keyword, "When does the canteen open?", &[introduction]).unwrap();
        assert_eq!(chosen[0].1, introduction);
    }

    /// Before: with the Debian chapter 3 PDF indexed, "How do I list the failed units?" was
    /// answered by an extract of a whole table, its rows quoted as one sentence, because the
    /// PDF gives a row to a line and no blank line between rows.
    #[test]
    fn regression_a_pdf_table_was_extracted_whole() {
        let keyword = retrieval::KeywordIndex::in_memory(&[]).unwrap();
        let table = "Operation Command snippets\n\
                     Start \u{201d}$unit\u{201d} \u{201d}systemctl start $unit\u{201d}\n\
                     Check if \u{201d}$unit\u{201d} service is active \u{201d}systemctl is-active $unit\u{201d}\n\
                     Reset failed \u{201d}$unit\u{201d} \u{201d}systemctl reset-failed $unit\u{201d}\n\
                     List unit files installed on the system \u{201d}systemctl list-unit-files\u{201d}\n\
                     Mask \u{201d}$unit\u{201d} (add symlink to\n\
                     \u{201d}/dev/null\u{201d}) \u{201d}systemctl mask $unit\u{201d}";
        let chosen = best_sentences(&keyword, "How do I reset a failed unit?", &[table]).unwrap();
        let sentences: Vec<&str> = chosen.iter().map(|(_, sentence)| sentence.as_str()).collect();
        assert_eq!(
            sentences,
            ["Reset failed \u{201d}$unit\u{201d} \u{201d}systemctl reset-failed $unit\u{201d}"]
        );
        // A row is a line of its own for the command check too.
        let listing = "List all target unit configuration \u{201d}systemctl list-units --type=target\u{201d}\n\
                       List all service unit configuration \u{201d}systemctl list-units --type=service\u{201d}\n\
                       List dependency of all unit services \u{201d}systemctl list-dependencies --all\u{201d}";
        let query = "How do I list the service units?";
        let scored = ScoredPassages::new(&keyword, query, &[listing]).unwrap();
        let weaker = |sentence: &str| quotes_a_weaker_command(&scored, &[(1, sentence)]);
        assert!(weaker("Run `systemctl list-units --type=target` [1]."));
        assert!(!weaker("Run `systemctl list-units --type=service` [1]."));
    }

    #[test]
    fn a_passage_is_focused_on_the_sentences_around_its_best_match() {
        let keyword = retrieval::KeywordIndex::in_memory(&[]).unwrap();
        let passage = "## Canteen\n\nThe canteen is on the ground floor. It serves hot meals.\nSalads are \
                       fresh daily. The canteen opens at 11:30 on weekdays. It closes at 14:00.\n\n## Parking\n\n\
                       Parking is free. Bicycles go in the yard. Cars need a permit.";
        let focused = focused_passage(&keyword, "When does the canteen open?", passage, 1).unwrap();
        assert_eq!(
            focused,
            "## Canteen\n\nSalads are fresh daily. The canteen opens at 11:30 on weekdays. It closes at 14:00."
        );
        assert_eq!(
            focused_passage(&keyword, "When does the canteen open?", passage, 0).unwrap(),
            passage
        );
        assert_eq!(
            focused_passage(&keyword, "Where do I park?", "Parking is free.", 1).unwrap(),
            "Parking is free."
        );
        // Found by meaning alone: shown from its start.
        let unrelated = focused_passage(&keyword, "lunch hours", passage, 1).unwrap();
        assert!(
            unrelated.starts_with("## Canteen\n\nThe canteen is on the ground floor."),
            "{unrelated}"
        );
        let 食堂 = "## 食堂\n\n食堂在一楼。供应热餐。沙拉每天新鲜。食堂工作日十一点半开门。下午两点关门。停车免费。";
        assert_eq!(
            focused_passage(&keyword, "食堂几点开门？", 食堂, 1).unwrap(),
            "## 食堂\n\n沙拉每天新鲜。食堂工作日十一点半开门。下午两点关门。"
        );
    }
}
