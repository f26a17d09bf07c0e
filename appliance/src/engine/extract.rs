//! The extract: the passages' own sentences that cover a question best, quoted and cited
//! when no generated answer holds (see `citing`). Kept apart from the checks so that what
//! counts as covering a question is defined once, for extracts and answers alike.

use std::collections::HashSet;

use llm::check;
use llm::citations::{lexical_units, split_sentences};
use llm::lines::{ends_with_stop, is_list_item, unwrap_lines_within, widest};
use llm::prompt::is_chinese;

/// Sentences shorter than this many characters (headings, list stubs) are never extracted.
const MIN_EXTRACT_CHARS: usize = 8;

/// Weighted coverage of the question a sentence needs to be extracted: below it, no
/// sentence answers and the question is refused. A choice (about half the question's
/// weight, a third for short sentences' partial matches), not fitted to a set.
const MIN_EXTRACT_COVERAGE: f32 = 0.34;

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
fn scored_candidates(
    keyword: &dyn retrieval::KeywordStore,
    query: &str,
    passages: &[&str],
) -> retrieval::Result<(Vec<Candidate>, Vec<String>, Vec<f32>)> {
    let candidates = candidate_sentences(passages);
    let scored: Vec<String> = candidates.iter().map(Candidate::under_heading).collect();
    let scores = keyword.coverage(query, &scored.iter().map(String::as_str).collect::<Vec<_>>())?;
    Ok((candidates, scored, scores))
}

/// The candidate sentences of the passages an answer cites from, scored against its
/// question once for every check on the generated answer.
pub(super) struct ScoredPassages {
    candidates: Vec<Candidate>,
    scores: Vec<f32>,
}

impl ScoredPassages {
    pub fn new(keyword: &dyn retrieval::KeywordStore, query: &str, passages: &[&str]) -> retrieval::Result<Self> {
        let (candidates, _, scores) = scored_candidates(keyword, query, passages)?;
        Ok(Self { candidates, scores })
    }

    /// The best sentence's coverage of the question (0 when there is none).
    fn best(&self) -> f32 {
        self.scores.iter().copied().fold(0.0, f32::max)
    }

    /// The best coverage among the sentences `holds` accepts, if any does.
    fn best_where(&self, holds: impl Fn(&Candidate) -> bool) -> Option<f32> {
        self.candidates
            .iter()
            .zip(&self.scores)
            .filter(|(candidate, _)| holds(candidate))
            .map(|(_, score)| *score)
            .reduce(f32::max)
    }
}

/// Share of the best sentence's coverage of a question that another sentence must reach to
/// be quoted beside it, and that a generated answer must reach to stand instead of the
/// quote. A choice, not fitted to a set.
const NEAR_BEST: f32 = 0.8;

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
    let mut seen = HashSet::new();
    let mut chosen: Vec<usize> = Vec::new();
    for index in order {
        if chosen.len() == 2 || scores[index] < best * NEAR_BEST {
            break;
        }
        let padding = english
            && chosen
                .iter()
                .any(|other| held[index].len() < held[*other].len() && held[index].is_subset(&held[*other]));
        if !padding && seen.insert(lexical_units(&candidates[index].1)) {
            chosen.push(index);
        }
    }
    chosen.sort();
    Ok(chosen.into_iter().map(|index| candidates[index].clone()).collect())
}

/// Whether generated `sentences`, each with the number of the passage it cites, cover
/// `query` as a quote must: at least [`MIN_EXTRACT_COVERAGE`], and at least [`NEAR_BEST`] of
/// what the best passage sentence covers. Each sentence counts with the heading of the
/// section it was drawn from (the passage sentence sharing most words with it), or with
/// `headings[passage]`, the heading where the passage starts. Held to the best quote,
/// "The appliance searches your company's documents and answers questions" is no answer to
/// "How do I ask a question?" when "Type a question in the Ask tab" stands under "Asking
/// questions", though both hold the word "question".
pub(super) fn covers_like_a_quote(
    keyword: &dyn retrieval::KeywordStore,
    query: &str,
    scored: &ScoredPassages,
    sentences: &[(usize, &str)],
    headings: &[&str],
) -> retrieval::Result<bool> {
    let candidates = &scored.candidates;
    let best = scored.best();
    let said: Vec<String> = sentences
        .iter()
        .map(|&(number, sentence)| {
            let units: HashSet<String> = lexical_units(sentence).into_iter().collect();
            let drawn_from = candidates
                .iter()
                .filter(|candidate| candidate.passage == number)
                .max_by_key(|candidate| {
                    lexical_units(&candidate.sentence)
                        .iter()
                        .filter(|unit| units.contains(*unit))
                        .count()
                });
            let heading = match drawn_from {
                Some(candidate) if !candidate.heading.is_empty() => candidate.heading.as_str(),
                _ => headings.get(number - 1).copied().unwrap_or(""),
            };
            format!("{heading} {sentence}")
        })
        .collect();
    let covered = keyword.coverage(query, &[said.join(" ").as_str()])?;
    Ok(covered
        .first()
        .is_none_or(|&covered| covered >= MIN_EXTRACT_COVERAGE && covered >= NEAR_BEST * best))
}

/// Whether a generated sentence quotes a command (by its options: `journalctl -b --user`)
/// from a line of its cited passage that covers `query` less than another line holding a
/// command does, in any of the passages. Tables of commands list near neighbours a row apart
/// ("View log for services of the current user from the last boot: journalctl -b --user"
/// above "View job log of $unit from the last boot: journalctl -b -u $unit"), and a chunk
/// may end between the two; asked for the log of one unit, a small model copied the first,
/// whose every option its passage holds. An answer that also gives the best line's command
/// ("latexmk -xelatex thesis", then the "-lualatex" alternative beside it) holds; a sentence
/// whose options no single line holds is left to the other checks.
pub(super) fn quotes_a_weaker_command(scored: &ScoredPassages, sentences: &[(usize, &str)]) -> bool {
    let quoted: Vec<(usize, Vec<String>)> = sentences
        .iter()
        .map(|&(number, sentence)| (number, check::options(sentence)))
        .filter(|(_, options)| !options.is_empty())
        .collect();
    if quoted.is_empty() {
        return false;
    }
    let best_command = scored
        .best_where(|line| !check::options(&line.sentence).is_empty())
        .unwrap_or(0.0);
    let mut weaker = false;
    for (number, options) in quoted {
        let holding =
            scored.best_where(|line| line.passage == number && check::holds_options(&line.sentence, &options));
        match holding {
            Some(holding) if holding >= best_command => return false,
            Some(_) => weaker = true,
            None => {}
        }
    }
    weaker
}

/// Whether every identifier the generated `sentences` give that `query` does not
/// (`swap.target`, a version, a path: [`check::identifiers`]) stands only in passage
/// sentences that cover the question less than [`NEAR_BEST`] of the best one does. Asked
/// "default.target 通常链接到哪个 target？", a small model answered "swap.target" from the
/// sentence after the one that says "graphical.target", in the same passage: the name was
/// in the passage, so the sentence checks held. Judged only where the best sentences name
/// something the answer does not: a value on the line below its key ("logo-size", then
/// "0.5\textwidth") is what answers. Identifiers no passage sentence holds are left to the
/// other checks.
pub(super) fn names_from_weaker_sentences(query: &str, scored: &ScoredPassages, sentences: &[(usize, &str)]) -> bool {
    let asked = check::identifiers(query);
    let given: HashSet<String> = sentences
        .iter()
        .flat_map(|(_, sentence)| check::identifiers(sentence))
        .filter(|name| !asked.contains(name))
        .collect();
    if given.is_empty() {
        return false;
    }
    let best = scored.best();
    let near_best = |score: f32| score >= NEAR_BEST * best;
    let named: Vec<Vec<String>> = scored
        .candidates
        .iter()
        .map(|candidate| check::identifiers(&candidate.sentence))
        .collect();
    // Only where the best sentences name something else the answer could have given.
    let offered = named
        .iter()
        .zip(&scored.scores)
        .filter(|(_, score)| near_best(**score))
        .flat_map(|(names, _)| names)
        .any(|name| !asked.contains(name) && !given.contains(name));
    if !offered {
        return false;
    }
    let mut weaker = false;
    for name in &given {
        let holding = named
            .iter()
            .zip(&scored.scores)
            .filter(|(names, _)| names.contains(name))
            .map(|(_, score)| *score)
            .reduce(f32::max);
        match holding {
            Some(holding) if near_best(holding) => return false,
            Some(_) => weaker = true,
            None => {}
        }
    }
    weaker
}

/// Rows of a table an answer may copy whole before it is the table rather than an answer.
const MAX_COPIED_ROWS: usize = 2;

/// Share of the best sentence's coverage of a question below which a copied row answers
/// less than the best: rows holding the same words of the question tie.
const TIED_WITH_BEST: f32 = 0.95;

/// Whether generated `sentences` copy a table rather than answer from it: more than
/// [`MAX_COPIED_ROWS`] whole rows (passage lines with no stop and no list marker), most of
/// them covering the question less than the best passage sentence does. Asked "How do I
/// reset a failed unit?", a small model gave ten rows of systemd's command table in one
/// run-on sentence: the right row was among them, so every sentence check held. Asked for
/// what a whole table lists, its rows tie, and the copy is the answer; steps of a list
/// ("1. Open the Upload tab") are not rows.
pub(super) fn copies_a_table(scored: &ScoredPassages, sentences: &[(usize, &str)]) -> bool {
    let said: Vec<String> = sentences
        .iter()
        .flat_map(|(_, sentence)| lexical_units(sentence))
        .collect();
    let best = scored.best();
    let mut seen = HashSet::new();
    let (mut copied, mut weaker) = (0, 0);
    for (candidate, score) in scored.candidates.iter().zip(&scored.scores) {
        let row = candidate.sentence.trim();
        if is_list_item(row) || ends_with_stop(row) {
            continue;
        }
        let units = lexical_units(row);
        let copies = units.len() >= 3 && said.windows(units.len()).any(|window| window == units.as_slice());
        if copies && seen.insert(units) {
            copied += 1;
            if *score < TIED_WITH_BEST * best {
                weaker += 1;
            }
        }
    }
    copied > MAX_COPIED_ROWS && 2 * weaker > copied
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

    /// Before: with a Debian chapter beside the welcome page, "How do I ask a question?" was
    /// answered by two true, cited sentences that hold "question" but say nothing of how to
    /// ask one; "Type a question in the Ask tab" under "Asking questions" was left out.
    #[test]
    fn regression_a_how_to_answer_held_a_word_of_the_question_but_not_the_way() {
        let keyword = retrieval::KeywordIndex::in_memory(&[]).unwrap();
        let welcome = include_str!("../../../demo/documents/welcome.md");
        let 欢迎 = include_str!("../../../demo/documents/欢迎.md");
        let covers = |query: &str, passage: &str, sentences: &[&str]| {
            let sentences: Vec<(usize, &str)> = sentences.iter().map(|sentence| (1, *sentence)).collect();
            let scored = ScoredPassages::new(&keyword, query, &[passage]).unwrap();
            covers_like_a_quote(&keyword, query, &scored, &sentences, &["Welcome"]).unwrap()
        };
        let off_point = [
            "The appliance searches your company's documents and answers questions from them, citing the page \
             each answer comes from.",
            "Nothing leaves this server: no internet connection is used.",
        ];
        assert!(!covers("How do I ask a question?", welcome, &off_point));
        assert!(covers(
            "How do I ask a question?",
            welcome,
            &["Type a question in the Ask tab."]
        ));
        assert!(covers(
            "Who can read an uploaded document?",
            welcome,
            &["Each document is readable by the groups it is assigned to, or by every employee when it is public."]
        ));
        assert!(!covers(
            "如何提问？",
            欢迎,
            &["本设备检索公司内部文档，并根据文档回答问题，每个回答都注明出处页码。"]
        ));
        assert!(covers("如何提问？", 欢迎, &["在“问答”页输入问题。"]));
    }

    /// Before: asked with only Debian's chapter 3 indexed, "How do I view the log of one unit
    /// since the last boot?" was answered "you can use the `journalctl -b --user` command",
    /// the row above the right one, and every option of it is in the passage.
    #[test]
    fn regression_a_command_was_copied_from_the_row_above_the_answer() {
        let keyword = retrieval::KeywordIndex::in_memory(&[]).unwrap();
        // As `appliance parse` gives the HTML table: a row to a paragraph.
        let table = "Operation Command snippets\n\n\
                     View log for system services and kernel from the last boot \"journalctl -b --system\"\n\n\
                     View log for services of the current user from the last boot \"journalctl -b --user\"\n\n\
                     View job log of \"$unit\" from the last boot \"journalctl -b -u $unit\"\n\n\
                     View job log of \"$unit\" (\"tail -f\" style) from the last boot \"journalctl -b -u $unit -f\"";
        let query = "How do I view the log of one unit since the last boot?";
        let whole = ScoredPassages::new(&keyword, query, &[table]).unwrap();
        let weaker = |sentence: &str| quotes_a_weaker_command(&whole, &[(1, sentence)]);
        assert!(weaker(
            "To view the log of one unit since the last boot, you can use the `journalctl -b --user` command [1]."
        ));
        assert!(!weaker("Use `journalctl -b -u $unit` [1]."));
        assert!(
            !weaker("Run journalctl with the unit's name [1]."),
            "no option, not judged"
        );
        assert!(
            !weaker("Use `journalctl -b -x` [1]."),
            "no line holds it: the name check's case"
        );
        // The chunk ended after the wrong row, and the right one opened the next passage.
        let (first, second) = table.split_at(table.find("View job log").unwrap());
        let halves = ScoredPassages::new(&keyword, query, &[first, second]).unwrap();
        let split = |sentence: &str| quotes_a_weaker_command(&halves, &[(1, sentence)]);
        assert!(split("You can use the `journalctl -b --user` command [1]."));
        assert!(!split("Use `journalctl -b -u $unit` [2]."));
        // The best line's command with a weaker alternative beside it still answers.
        let both = [
            (2, "Use `journalctl -b -u $unit` [2]."),
            (1, "For your own services, `journalctl -b --user` [1]."),
        ];
        assert!(!quotes_a_weaker_command(&halves, &both));
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

    /// Before: "default.target 通常链接到哪个 target？" was answered "swap.target", named in
    /// the sentence after the one that gives "graphical.target".
    #[test]
    fn regression_an_answer_named_a_target_from_the_sentence_after_the_answer() {
        let keyword = retrieval::KeywordIndex::in_memory(&[]).unwrap();
        let passage = "系统启动时（即，init），systemd 进程会尝试启动\u{201d}/lib/systemd/system/default.target（通常是到\
                       \u{201d}graphical.target\u{201d}的符号链接）。首先，一些特殊的 target 单元（参见 systemd.special(7)），\
                       比如\u{201d}local-fs.target\u{201d}、\u{201d}swap.target\u{201d}和\u{201d}cryptsetup.target\u{201d} \
                       会被引入以挂载文件系统。";
        let query = "default.target 通常链接到哪个 target？";
        let scored = ScoredPassages::new(&keyword, query, &[passage]).unwrap();
        let weaker = |sentence: &str| names_from_weaker_sentences(query, &scored, &[(1, sentence)]);
        assert!(weaker("default.target 通常链接到 swap.target [1]。"));
        assert!(!weaker("default.target 通常链接到 graphical.target [1]。"));
        assert!(!weaker("它通常是一个符号链接 [1]。"), "no name given: not judged");
        assert!(
            !weaker("default.target 通常链接到 multi-user.target [1]。"),
            "no sentence holds it: the name check's case"
        );
        // A value below its key: the best lines name nothing else.
        let option = "logo-size = {width}\n\nThe width of the logo in the thesis cover.\n\nDefault: 0.5\\textwidth";
        let query = "What is the default width of the cover logo?";
        let scored = ScoredPassages::new(&keyword, query, &[option]).unwrap();
        assert!(!names_from_weaker_sentences(
            query,
            &scored,
            &[(1, "The default width of the cover logo is 0.5\\textwidth [1].")]
        ));
    }

    /// Before: "How do I reset a failed unit?" was answered with ten rows of the command
    /// table in one run-on sentence, the right one among them.
    #[test]
    fn regression_an_answer_copied_ten_rows_of_a_table() {
        let keyword = retrieval::KeywordIndex::in_memory(&[]).unwrap();
        let table = "Operation Command snippets\n\
                     Send kill signal to \u{201d}$unit\u{201d} \u{201d}systemctl kill $unit\u{201d}\n\
                     Check if \u{201d}$unit\u{201d} service is active \u{201d}systemctl is-active $unit\u{201d}\n\
                     Check status of \u{201d}$unit|$PID|device\u{201d} \u{201d}systemctl status $unit|$PID|$device\u{201d}\n\
                     Reset failed \u{201d}$unit\u{201d} \u{201d}systemctl reset-failed $unit\u{201d}\n\
                     Switch to \u{201d}rescue\u{201d} (single user CLI system) \u{201d}systemctl isolate rescue\u{201d}";
        let scored = ScoredPassages::new(&keyword, "How do I reset a failed unit?", &[table]).unwrap();
        let copied = "Check status of \"$unit|$PID|device\" \"systemctl status $unit|$PID|$device\" [1] Reset failed \
                      \"$unit\" \"systemctl reset-failed $unit\" [1] Switch to \"rescue\" (single user CLI system) \
                      \"systemctl isolate rescue\" [1] Send kill signal to \"$unit\" \"systemctl kill $unit\" [1]";
        assert!(copies_a_table(&scored, &[(1, copied)]));
        let answer = "To reset a failed unit, run `systemctl reset-failed $unit` [1].";
        assert!(!copies_a_table(&scored, &[(1, answer)]));
        let quoted = "Reset failed \"$unit\" \"systemctl reset-failed $unit\" [1]";
        assert!(!copies_a_table(&scored, &[(1, quoted)]), "one row is an answer");
        // Rows a paragraph each, as the HTML parse gives them: two tie as the best, and the
        // copy holds three more that answer less.
        let journal = "View log for system services and kernel from the last boot \"journalctl -b --system\"\n\n\
                       View log for services of the current user from the last boot \"journalctl -b --user\"\n\n\
                       View job log of \"$unit\" from the last boot \"journalctl -b -u $unit\"\n\n\
                       View job log of \"$unit\" (\"tail -f\" style) from the last boot \"journalctl -b -u $unit -f\"\n\n\
                       Table 3.5: List of typical journalctl command snippets";
        let query = "How do I view the log of one unit since the last boot?";
        let scored = ScoredPassages::new(&keyword, query, &[journal]).unwrap();
        assert!(copies_a_table(&scored, &[(1, journal)]));
        // The steps of a list are not rows.
        let steps = "1. Open the Upload tab\n2. Choose the file to upload\n3. Pick the groups that may read it";
        let scored = ScoredPassages::new(&keyword, "How do I upload a document?", &[steps]).unwrap();
        assert!(!copies_a_table(&scored, &[(1, steps)]));
        // Asked for the whole table, the rows are the answer: they answer alike.
        let scored = ScoredPassages::new(&keyword, "Which systemctl commands are there?", &[table]).unwrap();
        assert!(!copies_a_table(&scored, &[(1, table)]));
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
