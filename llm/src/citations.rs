//! Citation markers: `[n]` in an answer maps to the n-th passage of its prompt.
//!
//! Markers that point at no passage are dropped from the text. When a small model forgets
//! to cite, the answer is attributed to the passage it overlaps most, if it overlaps enough;
//! otherwise it stays uncited, which the caller treats as unsupported.

pub use crate::lines::unwrap_lines;

/// The 1-based passage numbers cited in `answer`, first appearance first, valid ones only.
pub fn cited_numbers(answer: &str, passage_count: usize) -> Vec<usize> {
    let mut numbers = Vec::new();
    for number in markers(answer).into_iter().map(|(_, number)| number) {
        if (1..=passage_count).contains(&number) && !numbers.contains(&number) {
            numbers.push(number);
        }
    }
    numbers
}

/// `(byte range, number)` of each `[n]` / `[n, m]` marker; a list yields one entry per number.
fn markers(text: &str) -> Vec<(std::ops::Range<usize>, usize)> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'['
            && let Some(length) = text[index + 1..].find(']')
        {
            let inner = &text[index + 1..index + 1 + length];
            let numbers: Option<Vec<usize>> = inner
                .split([',', '，', ' '])
                .filter(|part| !part.is_empty())
                .map(|part| part.parse().ok())
                .collect();
            if let Some(numbers) = numbers.filter(|numbers| !numbers.is_empty()) {
                let range = index..index + length + 2;
                for number in numbers {
                    found.push((range.clone(), number));
                }
                index += length + 2;
                continue;
            }
        }
        index += 1;
    }
    found
}

/// `answer` without markers that cite no existing passage.
pub fn drop_dangling_markers(answer: &str, passage_count: usize) -> String {
    let mut cleaned = String::with_capacity(answer.len());
    let mut last = 0;
    let mut previous_range: Option<std::ops::Range<usize>> = None;
    for (range, _) in markers(answer) {
        if previous_range.as_ref() == Some(&range) {
            continue;
        }
        previous_range = Some(range.clone());
        let inner = &answer[range.start + 1..range.end - 1];
        let valid: Vec<&str> = inner
            .split([',', '，', ' '])
            .filter(|part| {
                part.parse::<usize>()
                    .is_ok_and(|number| (1..=passage_count).contains(&number))
            })
            .collect();
        cleaned.push_str(&answer[last..range.start]);
        if !valid.is_empty() {
            cleaned.push_str(&format!("[{}]", valid.join(", ")));
        }
        last = range.end;
    }
    cleaned.push_str(&answer[last..]);
    cleaned
}

/// `text` with its `[n]` markers written with full-width brackets (`［n］`), so a passage's own
/// "[1], [2]" is shown as text and never read as a citation.
pub fn neutralize_markers(text: &str) -> String {
    let mut neutral = String::with_capacity(text.len());
    let mut last = 0;
    let mut previous: Option<std::ops::Range<usize>> = None;
    for (range, _) in markers(text) {
        if previous.as_ref() == Some(&range) {
            continue;
        }
        previous = Some(range.clone());
        neutral.push_str(&text[last..range.start]);
        neutral.push('［');
        neutral.push_str(&text[range.start + 1..range.end - 1]);
        neutral.push('］');
        last = range.end;
    }
    neutral.push_str(&text[last..]);
    neutral
}

/// `answer` with the runs of markers it copied from a passage's own text ("cites its sources
/// as [1], [2]") neutralized, so that clean-up only removes the markers the model wrote.
/// A run counts as copied when a passage holds it verbatim with at least one word before it.
pub fn keep_quoted_markers(answer: &str, passages: &[&str]) -> String {
    let mut kept = answer.to_owned();
    for passage in passages {
        let found = markers(passage);
        let mut index = 0;
        while index < found.len() {
            // A run: markers joined only by separators ("[1], [2]", "[1]、[2]").
            let start = found[index].0.start;
            let mut end = found[index].0.end;
            let mut next = index + 1;
            while next < found.len() {
                let between = &passage[end.min(found[next].0.start)..found[next].0.start];
                if found[next].0.start >= end && between.trim_matches([',', '，', '、', ' ']).is_empty() {
                    end = found[next].0.end;
                    next += 1;
                } else if found[next].0.start < end {
                    next += 1;
                } else {
                    break;
                }
            }
            let before: String = passage[..start]
                .chars()
                .rev()
                .take(12)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let words_before = before.trim_end();
            if !words_before.is_empty() {
                let run = format!("{words_before} {}", passage[start..end].trim());
                let quoted = format!("{words_before} {}", neutralize_markers(passage[start..end].trim()));
                kept = kept.replace(&run, &quoted);
                let tight = format!("{words_before}{}", passage[start..end].trim());
                kept = kept.replace(
                    &tight,
                    &format!("{words_before}{}", neutralize_markers(passage[start..end].trim())),
                );
            }
            index = next;
        }
    }
    kept
}

/// Lower-cased words and single CJK characters: the units of lexical overlap.
pub fn lexical_units(text: &str) -> Vec<String> {
    let mut units = Vec::new();
    let mut word = String::new();
    for character in text.chars() {
        let is_cjk = ('\u{4E00}'..='\u{9FFF}').contains(&character);
        if character.is_alphanumeric() && !is_cjk {
            word.extend(character.to_lowercase());
            continue;
        }
        if !word.is_empty() {
            units.push(std::mem::take(&mut word));
        }
        if is_cjk {
            units.push(character.to_string());
        }
    }
    if !word.is_empty() {
        units.push(word);
    }
    units
}

/// Share of `answer`'s lexical units that occur in `passage` (0 to 1).
pub fn overlap(answer: &str, passage: &str) -> f32 {
    let answer_units = lexical_units(answer);
    if answer_units.is_empty() {
        return 0.0;
    }
    let passage_units: std::collections::HashSet<String> = lexical_units(passage).into_iter().collect();
    let shared = answer_units.iter().filter(|unit| passage_units.contains(*unit)).count();
    shared as f32 / answer_units.len() as f32
}

/// The passage (1-based) an uncited answer overlaps most, if at least `minimum`.
pub fn best_supporting_passage(answer: &str, passages: &[&str], minimum: f32) -> Option<usize> {
    passages
        .iter()
        .enumerate()
        .map(|(index, passage)| (index + 1, overlap(answer, passage)))
        .filter(|(_, score)| *score >= minimum)
        .max_by(|left, right| left.1.total_cmp(&right.1))
        .map(|(number, _)| number)
}

/// One sentence of an answer and whether the passages it cites support it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SentenceSupport {
    pub text: String,
    /// Passage numbers the sentence cites (after repair).
    pub cited: Vec<usize>,
    /// Best lexical overlap with a cited passage (0 to 1).
    pub overlap: f32,
    /// Embedding similarity to the cited passage, computed only for sentences whose
    /// overlap is too low to count alone (paraphrases).
    pub similarity: Option<f32>,
    pub supported: bool,
    /// Why the sentence was not accepted although its words match (it contradicts its
    /// passage, restates the question, repeats the prompt, or lost its key word).
    pub problem: Option<String>,
}

impl SentenceSupport {
    /// A sentence quoted word for word from passage `passage`: supported by it in full.
    pub fn quoted(text: String, passage: usize) -> Self {
        Self {
            text,
            cited: vec![passage],
            overlap: 1.0,
            similarity: None,
            supported: true,
            problem: None,
        }
    }
}

/// Splits an answer into sentences; citation markers right after a sentence's full stop
/// belong to that sentence.
pub fn split_sentences(answer: &str) -> Vec<String> {
    let marker_ranges = markers(answer);
    let mut sentences = Vec::new();
    let mut start = 0;
    let mut characters = answer.char_indices().peekable();
    while let Some((index, character)) = characters.next() {
        if !matches!(character, '.' | '!' | '?' | '。' | '！' | '？' | '\n') {
            continue;
        }
        // Don't split inside "3.5" or "e.g." style tokens: an ASCII stop needs a space or the end after it.
        let next = characters.peek().map(|(_, next)| *next);
        if character.is_ascii() && character != '\n' && next.is_some_and(|next| !next.is_whitespace() && next != '[') {
            continue;
        }
        let mut end = index + character.len_utf8();
        // Swallow following markers (with the spaces before them) into this sentence.
        loop {
            let rest = &answer[end..];
            let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            match marker_ranges.iter().find(|(range, _)| range.start == end + skipped) {
                Some((range, _)) => end = range.end,
                None => break,
            }
        }
        while characters.peek().is_some_and(|(position, _)| *position < end) {
            characters.next();
        }
        sentences.push(answer[start..end].trim().to_owned());
        start = end;
    }
    sentences.push(answer[start..].trim().to_owned());
    sentences.retain(|sentence| !sentence.is_empty());
    sentences
}

/// The sentences of `answer` that hold words, each introduction that ends in a colon ("run
/// the following command:", "**安装 GnuPG**：") joined to the sentence after it: the command
/// or item it introduces is what it says. Checked apart, the introduction has lost its
/// object and the bare command only restates the question. Code fences ("```plaintext") are
/// dropped: their language tag is no word of the answer.
fn introduced_sentences(answer: &str) -> Vec<String> {
    let ends_in_colon = |sentence: &str| without_markers(sentence).trim_end().ends_with([':', '：']);
    let mut sentences: Vec<String> = Vec::new();
    for sentence in split_sentences(answer) {
        if sentence.starts_with("```") || lexical_units(&without_markers(&sentence)).is_empty() {
            continue;
        }
        match sentences.last_mut() {
            Some(introduction) if ends_in_colon(introduction) => {
                if !introduction.ends_with('：') {
                    introduction.push(' ');
                }
                introduction.push_str(&sentence);
            }
            _ => sentences.push(sentence),
        }
    }
    sentences
}

fn without_markers(sentence: &str) -> String {
    let mut text = sentence.to_owned();
    for (range, _) in markers(sentence).into_iter().rev() {
        if text.is_char_boundary(range.start) && range.end <= text.len() {
            text.replace_range(range, "");
        }
    }
    text
}

/// How much better another passage must support a sentence to take its citation over.
const RECITE_MARGIN: f32 = 0.1;

/// Checks every sentence against the passages it cites. A sentence whose citation does not
/// support it, or that another passage supports clearly better, is re-cited to that
/// passage (small models often pick the wrong number); `minimum` is the overlap that counts
/// as support.
pub fn verify_sentences(answer: &str, passages: &[&str], minimum: f32) -> Vec<SentenceSupport> {
    let mut result = Vec::new();
    // A small model repeats itself ("You can use latexmk as well: ..." twice): said once.
    let mut said = std::collections::HashSet::new();
    for sentence in introduced_sentences(answer) {
        let content = without_markers(&sentence);
        let units = lexical_units(&content);
        if !units.is_empty() && !said.insert(units) {
            continue;
        }
        let mut cited = cited_numbers(&sentence, passages.len());
        let best_cited = cited
            .iter()
            .map(|number| overlap(&content, passages[number - 1]))
            .fold(0.0f32, f32::max);
        let mut best = best_cited;
        if let Some(number) = best_supporting_passage(&content, passages, minimum) {
            let supported_elsewhere = overlap(&content, passages[number - 1]);
            if best_cited < minimum || supported_elsewhere >= best_cited + RECITE_MARGIN {
                cited = vec![number];
                best = supported_elsewhere;
            }
        }
        result.push(SentenceSupport {
            problem: None,
            similarity: None,
            text: content.trim().to_owned(),
            supported: best >= minimum && !cited.is_empty(),
            cited,
            overlap: best,
        });
    }
    result
}

/// The answer text rebuilt from verified sentences, each followed by its citations.
pub fn render_verified(sentences: &[SentenceSupport]) -> String {
    let mut rendered = String::new();
    for sentence in sentences {
        if !rendered.is_empty() && !is_cjk_text(&sentence.text) {
            rendered.push(' ');
        }
        let text = sentence.text.trim_end();
        let (body, stop) = match text.char_indices().last() {
            Some((index, '.' | '!' | '?' | '。' | '！' | '？')) => (&text[..index], &text[index..]),
            _ => (text, ""),
        };
        rendered.push_str(body.trim_end());
        if !sentence.cited.is_empty() {
            let numbers: Vec<String> = sentence.cited.iter().map(usize::to_string).collect();
            rendered.push_str(&format!(" [{}]", numbers.join(", ")));
        }
        rendered.push_str(stop);
    }
    rendered
}

fn is_cjk_text(text: &str) -> bool {
    text.chars()
        .next()
        .is_some_and(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_and_listed_markers() {
        assert_eq!(cited_numbers("A [2]. B [1, 3]. C [2].", 3), vec![2, 1, 3]);
        assert_eq!(cited_numbers("see [7] and [x]", 3), Vec::<usize>::new());
    }

    #[test]
    fn dangling_markers_are_removed() {
        assert_eq!(drop_dangling_markers("A [1]. B [9]. C [1, 9].", 2), "A [1]. B . C [1].");
    }

    #[test]
    fn regression_markers_quoted_from_a_passage_are_text() {
        let passage = "The answer cites its sources as [1], [2]; click a number to read the passage.";
        let answer = "The answer cites its sources as [1], [2] [3].";
        let kept = keep_quoted_markers(answer, &[passage]);
        assert_eq!(kept, "The answer cites its sources as ［1］, ［2］ [3].");
        assert_eq!(cited_numbers(&kept, 3), vec![3]);
        assert_eq!(neutralize_markers("用 [1]、[2] 标注"), "用 ［1］、［2］ 标注");
        assert_eq!(
            keep_quoted_markers("Copied [1].", &["Nothing to quote."]),
            "Copied [1]."
        );
    }

    #[test]
    fn sentences_keep_trailing_markers() {
        assert_eq!(
            split_sentences("It opens at 11:30 [2]. It closes at 14:00. [2] 食堂关门。[1]"),
            vec!["It opens at 11:30 [2].", "It closes at 14:00. [2]", "食堂关门。[1]"]
        );
    }

    /// Before: "you need to execute the following commands:" was left out as having lost
    /// its object, and the command after it as restating the question, so a right how-to
    /// answer fell back to an extract.
    #[test]
    fn regression_an_introduction_ending_in_a_colon_was_checked_without_what_it_introduces() {
        let passages = ["To compile with XeLaTeX, execute the following commands:\nxelatex thesis\nxelatex thesis"];
        let answer = "To compile it, you need to execute the following commands:\n```plaintext\nxelatex thesis [1]\n```\n**安装**：\nsudo apt install gnupg";
        let checked = verify_sentences(answer, &passages, 0.5);
        let texts: Vec<&str> = checked.iter().map(|sentence| sentence.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "To compile it, you need to execute the following commands: xelatex thesis",
                "**安装**：sudo apt install gnupg"
            ]
        );
        assert_eq!(checked[0].cited, vec![1]);
        assert!(checked[0].supported);
        // Nothing after it: the introduction stays alone, for the check to find it incomplete.
        assert_eq!(
            introduced_sentences("It opens at 11:30 [1]. Run this:"),
            vec!["It opens at 11:30 [1].", "Run this:"]
        );
    }

    #[test]
    fn wrong_citations_are_repaired_and_unsupported_sentences_flagged() {
        let passages = [
            "The Wi-Fi password is BlueHarbor42.",
            "食堂中午十一点半开门，下午两点关门。",
        ];
        let checked = verify_sentences("食堂下午两点关门 [1]。The moon is made of cheese [1].", &passages, 0.5);
        assert_eq!(checked.len(), 2);
        assert_eq!(checked[0].cited, vec![2], "re-cited to the passage that supports it");
        assert!(checked[0].supported);
        assert!(!checked[1].supported);
        assert_eq!(render_verified(&checked[..1]), "食堂下午两点关门 [2]。");
    }

    #[test]
    fn a_passage_that_supports_a_sentence_clearly_better_takes_its_citation() {
        let passages = [
            "The Panthers defense gave up 308 points and led the league in interceptions.",
            "Luke Kuechly led the team in tackles with 118 and forced two fumbles.",
        ];
        // Passage 1 shares "the", "led", "in" and "team"-like words; passage 2 holds the fact.
        let checked = verify_sentences("Luke Kuechly led the team in tackles with 118 [1].", &passages, 0.5);
        assert_eq!(checked[0].cited, vec![2]);
        // A citation about as good as the best stays where the model put it.
        let checked = verify_sentences("The defense gave up 308 points [1].", &passages, 0.5);
        assert_eq!(checked[0].cited, vec![1]);
    }

    #[test]
    fn overlap_counts_words_and_hanzi() {
        assert!(overlap("systemd starts services", "At boot systemd starts all services") > 0.99);
        assert!(overlap("重置密码", "如何重置密码") > 0.99);
        assert!(overlap("completely unrelated", "systemd starts services") < 0.01);
        assert_eq!(
            best_supporting_passage("重置密码", &["天气很好", "重置密码的步骤"], 0.5),
            Some(2)
        );
    }

    /// Before: a small model's answer said "You can use latexmk as well: latexmk -xelatex
    /// thesis" twice, and both were shown.
    #[test]
    fn regression_a_repeated_sentence_was_shown_twice() {
        let passages = ["You can use latexmk as well: latexmk -xelatex thesis"];
        let answer = "You can use latexmk as well: latexmk -xelatex thesis [1]. Compile it twice [1]. \
                      You can use latexmk as well: latexmk -xelatex thesis [1].";
        let texts: Vec<String> = verify_sentences(answer, &passages, 0.5)
            .into_iter()
            .map(|sentence| sentence.text)
            .collect();
        assert_eq!(
            texts,
            [
                "You can use latexmk as well: latexmk -xelatex thesis .",
                "Compile it twice ."
            ]
        );
    }
}
