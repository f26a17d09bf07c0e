//! The checks that hold a generated answer to the passage sentences that answer its question
//! best. Each is a way a small model was seen to answer from the right passage but the wrong
//! part of it: true, cited words that cover the question less than a quote would, a command
//! or a name from the row beside the answer, a whole table copied. Any of them sends the
//! answer back to the extract (see `citing`), so each must hold what the best quote says. A
//! bare fragment ("11 digits.") is judged as the passage sentence it comes from.

use std::collections::HashSet;

use llm::check;
use llm::citations::{SentenceSupport, lexical_units};
use llm::lines::{ends_with_stop, is_list_item};

use super::extract::{Candidate, MIN_EXTRACT_COVERAGE, NEAR_BEST, candidate_sentences, scored_candidates};

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

/// The sentences an answer is judged by as an answer to `question`: its own, or, when
/// they do not speak of the question (a bare "11 digits." for "How many digits does a
/// Fudan student ID have?"), the passage sentences they are fragments of ("In Fudan
/// University, student ID has 11 digits."), which must then answer it as a quote would.
pub(super) fn judged_sentences(
    question: &str,
    accepted: &[SentenceSupport],
    passages: &[&str],
) -> Vec<SentenceSupport> {
    let said: Vec<&str> = accepted.iter().map(|sentence| sentence.text.as_str()).collect();
    if check::speaks_of_question(&said.join(" "), question) {
        return accepted.to_vec();
    }
    let candidates = candidate_sentences(passages);
    accepted
        .iter()
        .map(|sentence| {
            if !carries_an_answer(&sentence.text, question) {
                return sentence.clone();
            }
            let quoted = candidates
                .iter()
                .enumerate()
                .filter(|(_, candidate)| {
                    sentence.cited.contains(&candidate.passage)
                        && check::words_not_in(&sentence.text, &candidate.sentence).is_empty()
                })
                .max_by_key(|(index, candidate)| {
                    // The first of those holding the most of the question's words.
                    let (_, found) = check::question_units_in(question, &candidate.under_heading());
                    (found.len(), std::cmp::Reverse(*index))
                })
                .map(|(_, candidate)| candidate);
            match quoted {
                Some(candidate) => SentenceSupport {
                    text: candidate.sentence.clone(),
                    cited: vec![candidate.passage],
                    ..sentence.clone()
                },
                None => sentence.clone(),
            }
        })
        .collect()
}

/// Whether a bare `fragment` says enough of its own to be an answer to `question`: a
/// number ("11 digits", "rfc1321"), or two words the question does not hold (a Chinese
/// character counts half). "GNOME system" for "Which GUI tool manages passwords on
/// GNOME?" is the question's own word and a common one, cut from the sentence that names
/// the tool.
fn carries_an_answer(fragment: &str, question: &str) -> bool {
    let new = check::words_not_in(fragment, question);
    let weight: f32 = new.iter().map(|unit| if unit.is_ascii() { 1.0 } else { 0.5 }).sum();
    weight >= 2.0
        || new
            .iter()
            .any(|unit| unit.chars().any(|character| character.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn said(text: &str) -> Vec<SentenceSupport> {
        vec![SentenceSupport::quoted(text.to_owned(), 1)]
    }

    /// Before: the 1.5B model answered "How many digits does a Fudan student ID have?" with
    /// "11 digits [1].", right and cited, and it fell back to an extract because two words
    /// hold too little of the question.
    #[test]
    fn regression_a_bare_right_fragment_was_not_what_the_question_asks() {
        let question = "How many digits does a Fudan student ID have?";
        let passage = "# info/student-id\n\nYour student ID. In Fudan University, student ID has 11 digits.";
        let judged = judged_sentences(question, &said("11 digits."), &[passage]);
        assert_eq!(judged[0].text, "In Fudan University, student ID has 11 digits.");
        assert!(check::speaks_of_question(&judged[0].text, question));

        // A fragment of a sentence about something else is judged by that sentence.
        let canteen = "# Canteen\n\nThe canteen has 11 digits on its door code.";
        let judged = judged_sentences(question, &said("11 digits."), &["Nothing here.", canteen]);
        assert_eq!(judged[0].text, "11 digits.", "only the cited passage counts");
        let judged = judged_sentences(question, &said("11 digits."), &[canteen]);
        assert!(!check::speaks_of_question(&judged[0].text, question), "{judged:?}");

        // A fragment that carries no answer of its own is judged as it is.
        let question = "Which GUI tool manages passwords on GNOME?";
        let passage = "On GNOME system, the GUI tool seahorse(1) manages passwords.";
        assert_eq!(
            judged_sentences(question, &said("GNOME system."), &[passage])[0].text,
            "GNOME system."
        );
        assert_eq!(
            judged_sentences(question, &said("seahorse(1)."), &[passage])[0].text,
            passage
        );

        // An answer that speaks of the question is judged as it is.
        let question = "How many digits does a Fudan student ID have?";
        let whole = "A Fudan student ID has 11 digits.";
        assert_eq!(judged_sentences(question, &said(whole), &[passage])[0].text, whole);
    }
}
