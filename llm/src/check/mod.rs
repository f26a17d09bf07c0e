//! Reading a sentence against the passage it cites for meaning, not only shared words.
//!
//! Word overlap cannot tell "no internet connection is used" from "the appliance connects to
//! the internet": a sentence that drops a "not" shares almost every word with its passage.
//! So a cited sentence must also agree with its passage on polarity (negations, counted per
//! clause so that a double negative cancels out, and a few antonym pairs such as
//! leave/stay), on every number, on every name it mentions, on the language it says a
//! thing is in, and on what an instruction is for. A sentence that fails one of these is a
//! [`Conflict`]: the caller removes it and falls back to a quoted extract.
//!
//! The same clause alignment answers yes/no questions: the question's statement is compared
//! with the sentence that supports it.

mod blank;
mod condition;
mod languages;
mod numbers;
mod polarity;
mod purpose;
mod yes_no;

use std::collections::HashSet;

pub use blank::unfilled_blank;
pub use condition::asked_and_condition;
use numbers::chinese_digit;
pub use numbers::numbers;
use polarity::{CHINESE_NEGATIONS, ENGLISH_NEGATIONS, antonym_flips, same_polarity};
pub use polarity::{clauses, equally_matching_clauses, matching_clause, negation_count};
use yes_no::strip_prefix_ignore_case;
pub use yes_no::{answers_yes, answers_yes_covering, is_yes_no_question, split_yes_no, yes_no_lead};

use crate::citations::lexical_units;
use crate::prompt::is_chinese;

/// Why a sentence contradicts the passage it cites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// One says "not" where the other does not: the clause of the passage it matches.
    Polarity(String),
    /// A number, date, version or unit the passage does not have.
    Number(String),
    /// A name or identifier the passage does not have.
    Name(String),
    /// A language the passage does not give for the same subject (it gives another).
    Language(String),
    /// An instruction the passage gives for another purpose: the passage's sentence.
    Purpose(String),
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Conflict::Polarity(clause) => write!(formatter, "contradicts the passage: \"{clause}\""),
            Conflict::Number(number) => write!(formatter, "the passage does not give {number}"),
            Conflict::Name(name) => write!(formatter, "the passage does not mention {name}"),
            Conflict::Language(language) => {
                write!(formatter, "the passage gives another language than {language} for it")
            }
            Conflict::Purpose(sentence) => {
                write!(formatter, "the passage gives it for another purpose: \"{sentence}\"")
            }
        }
    }
}

const ENGLISH_STOPWORDS: [&str; 64] = [
    "a", "an", "the", "of", "to", "in", "on", "at", "for", "by", "with", "from", "and", "or", "is", "are", "was",
    "were", "be", "been", "it", "its", "this", "that", "these", "those", "as", "their", "there", "i", "you", "your",
    "we", "our", "they", "do", "does", "did", "can", "will", "would", "should", "may", "has", "have", "had", "each",
    "so", // What is left of "doesn't" and "it's" once the apostrophe splits them.
    "t", "s", "doesn", "don", "isn", "aren", "wasn", "weren", "didn", "hasn", "haven", "won", "shouldn", "couldn",
    "wouldn", "mustn",
];

/// Words that name no one in particular: "the users may read it" does not answer "who".
const GENERIC_REFERENTS: [&str; 8] = ["user", "users", "people", "person", "someone", "anyone", "用户", "用戶"];

/// Grammatical characters that carry no fact of their own: 将 marks the object as 把 does
/// (or the future), 之 links as 的 does. A restatement may use one where its passage has
/// another ("能从命令行将密码存到钥匙环" of "能够从命令行存储密码到钥匙环").
const CHINESE_PARTICLES: [char; 25] = [
    '的', '了', '是', '在', '和', '与', '與', '吗', '嗎', '呢', '吧', '也', '都', '就', '而', '及', '或', '把', '被',
    '对', '對', '么', '将', '將', '之',
];

/// Lexical units that carry meaning: words and hanzi without function words and negations.
pub fn content_units(text: &str) -> Vec<String> {
    lexical_units(text)
        .into_iter()
        .filter(|unit| {
            let mut characters = unit.chars();
            let single = characters.next().filter(|_| characters.next().is_none());
            match single {
                Some(character) if CHINESE_PARTICLES.contains(&character) => false,
                Some(character) if CHINESE_NEGATIONS.contains(&character) => false,
                _ => !ENGLISH_STOPWORDS.contains(&unit.as_str()) && !ENGLISH_NEGATIONS.contains(&unit.as_str()),
            }
        })
        .map(|unit| stem(&unit))
        .collect()
}

/// A crude English stem, so "connects", "connected" and "connecting" meet, and so do
/// "use", "used" and "uses".
fn stem(word: &str) -> String {
    if !word.is_ascii() {
        return word.to_owned();
    }
    let mut stemmed = word;
    for suffix in ["ing", "ed", "es", "s"] {
        if let Some(stripped) = word.strip_suffix(suffix)
            && stripped.len() >= 3
        {
            stemmed = stripped;
            break;
        }
    }
    match stemmed.strip_suffix('e') {
        Some(stripped) if stripped.len() >= 2 => stripped.to_owned(),
        _ => stemmed.to_owned(),
    }
}

/// Question words, which are not part of the fact asked about: "Do the answers show where
/// they come from?" asks nothing about a "where".
const QUESTION_UNITS: [&str; 20] = [
    "what", "when", "where", "who", "whom", "whose", "which", "why", "how", "什", "哪", "谁", "誰", "如", "何", "怎",
    "样", "樣", "几", "幾",
];

/// The question's content units (question words left out), and which of them `text` holds,
/// counting "read" and "readable" as one word ([`same_word`]).
pub fn question_units_in(question: &str, text: &str) -> (Vec<String>, Vec<String>) {
    let units: Vec<String> = content_units(question)
        .into_iter()
        .filter(|unit| !QUESTION_UNITS.contains(&unit.as_str()))
        .collect();
    let held = content_units(text);
    let found = units
        .iter()
        .filter(|unit| held.iter().any(|other| same_word(unit, other)))
        .cloned()
        .collect();
    (units, found)
}

/// Share of `left`'s content units found in `right`.
pub(crate) fn coverage(left: &[String], right: &HashSet<String>) -> f32 {
    if left.is_empty() {
        return 0.0;
    }
    left.iter().filter(|unit| right.contains(*unit)).count() as f32 / left.len() as f32
}

/// Names and identifiers in `sentence`: words with capitals after the first word, with digits
/// or inner dots, slashes, underscores or hyphens, and any Latin word in a Chinese sentence.
pub fn names(sentence: &str) -> Vec<String> {
    let chinese = is_chinese(sentence);
    let mut found = Vec::new();
    let mut first = true;
    for raw in sentence.split(|character: char| character.is_whitespace() || !character.is_ascii()) {
        // Quotes and brackets around a name, then the full stop after it, until stable:
        // `"init=/sbin/init".` is `init=/sbin/init`.
        let mut word = raw;
        loop {
            let trimmed = word
                .trim_matches(|character: char| {
                    !(character.is_ascii_alphanumeric() || matches!(character, '/' | '_' | '-' | '.' | '+'))
                })
                .trim_end_matches(['.', '-']);
            if trimmed.len() == word.len() {
                break;
            }
            word = trimmed;
        }
        if word.is_empty() {
            continue;
        }
        // A quoted sentence starts anew: 'The question "Who can read it?"' names no "Who".
        let was_first = std::mem::replace(&mut first, false) || raw.starts_with(['"', '“', '\'', '‘', '「']);
        if !word.chars().any(|character| character.is_ascii_alphabetic()) {
            continue;
        }
        let capitalised_inside = !was_first && word.chars().any(|character| character.is_ascii_uppercase());
        let technical = word.chars().any(|character| character.is_ascii_digit())
            || word
                .chars()
                .skip(1)
                .any(|character| matches!(character, '/' | '_' | '.' | '+'))
            || word.starts_with('/')
            || is_option(word);
        if chinese || capitalised_inside || technical {
            found.push(word.to_owned());
        }
    }
    found
}

/// The command-line options `sentence` names (`-b`, `--user`), each once, in order: what
/// tells one row of a table of commands from its neighbours.
pub fn options(sentence: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for name in names(sentence) {
        if is_option(&name) && !found.contains(&name) {
            found.push(name);
        }
    }
    found
}

/// The identifiers `sentence` names ([`names`] with digits, inner dots, slashes,
/// underscores or plus signs, or a leading slash: `swap.target`, `5.10.0-6-amd64`,
/// `/etc/fstab`), lower-cased, each once: the facts a which-question is answered with.
pub fn identifiers(sentence: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for name in names(sentence) {
        let technical = name.chars().any(|character| character.is_ascii_digit())
            || name.starts_with('/')
            || name
                .chars()
                .skip(1)
                .any(|character| matches!(character, '/' | '_' | '.' | '+'));
        let name = name.to_lowercase();
        if technical && !is_option(&name) && !found.contains(&name) {
            found.push(name);
        }
    }
    found
}

/// Whether `text` has every one of `options` as a whole option ([`options`]).
pub fn holds_options(text: &str, options: &[String]) -> bool {
    options.iter().all(|option| has_option(text, option))
}

/// A command-line option: `-v`, `--verify`.
fn is_option(word: &str) -> bool {
    word.starts_with('-')
        && word
            .trim_start_matches('-')
            .starts_with(|character: char| character.is_ascii_alphabetic())
}

/// Whether `passage` has `option` as a whole option: `-v` is not in `--verify` or `-vv`.
fn has_option(passage: &str, option: &str) -> bool {
    let part_of_option = |character: char| character.is_ascii_alphanumeric() || character == '-';
    passage.match_indices(option).any(|(start, _)| {
        let before = passage[..start].chars().next_back();
        let after = passage[start + option.len()..].chars().next();
        !before.is_some_and(part_of_option) && !after.is_some_and(part_of_option)
    })
}

/// What `sentence` states that `passage` (the passage it cites) contradicts, if anything.
pub fn conflict(sentence: &str, passage: &str) -> Option<Conflict> {
    let passage = &*crate::citations::unwrap_lines(passage);
    let passage_numbers: HashSet<String> = numbers(passage).into_iter().collect();
    if let Some(number) = numbers(sentence)
        .into_iter()
        .find(|number| !passage_numbers.contains(number))
    {
        return Some(Conflict::Number(number));
    }
    // Identifiers (with digits, dots, slashes) exactly as written: "VPN.harbor.internal" is
    // not the passage's "vpn.harbor.internal". Capitalised words in any case.
    let lower_passage = passage.to_lowercase();
    if let Some(name) = names(sentence).into_iter().find(|name| {
        let technical = name
            .chars()
            .any(|character| character.is_ascii_digit() || matches!(character, '.' | '/' | '_'));
        if is_option(name) {
            !has_option(passage, name)
        } else if technical {
            !passage.contains(name.as_str())
        } else {
            !lower_passage.contains(&name.to_lowercase())
        }
    }) {
        return Some(Conflict::Name(name));
    }
    if let Some(language) = languages::other_language(sentence, passage) {
        return Some(Conflict::Language(language));
    }
    if let Some(sentence) = purpose::other_purpose(sentence, passage) {
        return Some(Conflict::Purpose(sentence));
    }
    for clause in clauses(sentence) {
        if let Some((matched, _)) = matching_clause(clause, passage)
            && states_the_same(clause, matched)
            && !same_polarity(clause, matched)
        {
            return Some(Conflict::Polarity(matched.to_owned()));
        }
        // An antonym in any clause on the same subject: "Draft mode is on by default"
        // against "Enable draft mode. Default off."
        let units = content_units(clause);
        for other in clauses(passage) {
            let shares = content_units(other).iter().any(|unit| units.contains(unit));
            if shares
                && antonym_flips(clause, other) == 1
                && (negation_count(clause) + negation_count(other)).is_multiple_of(2)
            {
                return Some(Conflict::Polarity(other.to_owned()));
            }
        }
    }
    None
}

/// Whether the passage clause `matched` speaks of the same thing as `clause`, so that an
/// opposite polarity contradicts it: it shares two of its words ("connects" and
/// "connection" alike), or the one there is. "My question is not logged" shares only
/// "question" with "Type a question in the Ask tab", and says nothing against it.
fn states_the_same(clause: &str, matched: &str) -> bool {
    let units = content_units(clause);
    let present = content_units(matched);
    let shared = units
        .iter()
        .filter(|unit| present.iter().any(|other| same_word(unit, other)))
        .count();
    shared >= units.len().min(2)
}

/// The content words of `sentence` that `passage` does not have (stems, and English words
/// sharing a long prefix, count as the same).
pub fn words_not_in(sentence: &str, passage: &str) -> Vec<String> {
    let present = content_units(passage);
    let mut missing: Vec<String> = content_units(sentence)
        .into_iter()
        .filter(|unit| !present.iter().any(|other| same_word(unit, other)))
        .collect();
    missing.dedup();
    missing
}

/// Whether `sentence` says something the question does not: a sentence made only of the
/// question's own words (restating it) carries no answer.
pub fn adds_to_question(sentence: &str, question: &str) -> bool {
    let mut asked: HashSet<String> = content_units(question).into_iter().collect();
    for referent in GENERIC_REFERENTS {
        asked.extend(content_units(referent));
    }
    let new = content_units(sentence)
        .into_iter()
        .filter(|unit| !asked.contains(unit))
        .count();
    let chinese = is_chinese(sentence);
    new >= if chinese { 2 } else { 1 }
}

/// Share of the question's words an answer must hold to be about the question.
const ANSWER_QUESTION_SHARE: f32 = 0.3;

/// Whether `answer` (all its sentences) speaks of what `question` asks: it holds at least
/// [`ANSWER_QUESTION_SHARE`] of the question's words (question words left out). "Nothing
/// leaves this server" is true and cited but no answer to "What does the knowledge assistant
/// do?"; a copied table row about ISO9660 none to "What is the maximum file size I can
/// upload?". A choice (about a third), not fitted to a labelled set.
pub fn speaks_of_question(answer: &str, question: &str) -> bool {
    let (units, found) = question_units_in(question, answer);
    units.is_empty() || found.len() as f32 >= ANSWER_QUESTION_SHARE * units.len() as f32
}

/// Whether the passage `sentence` cites is about what the sentence says of the question's
/// subject: the words the sentence shares with the question ("the appliance connects to the
/// internet", "administrators can read") must mostly occur in the passage sentence closest
/// to it, or the sentence borrowed a citation, or a word of the question, that its passage
/// does not give.
pub fn keeps_subject(sentence: &str, question: &str, passage: &str) -> bool {
    let asked = content_units(question);
    let mut subject: Vec<String> = content_units(sentence)
        .into_iter()
        .filter(|unit| asked.iter().any(|asked| same_word(asked, unit)))
        .collect();
    subject.sort();
    subject.dedup();
    if subject.is_empty() {
        return true;
    }
    let closest = closest_sentence(sentence, passage)
        .map(|closest| content_units(&closest))
        .unwrap_or_default();
    let present = subject
        .iter()
        .filter(|unit| closest.iter().any(|other| same_word(unit, other)))
        .count();
    present * 2 >= subject.len()
}

/// The sentence of `passage` that shares the most content words with `sentence`.
fn closest_sentence(sentence: &str, passage: &str) -> Option<String> {
    let units = content_units(sentence);
    crate::citations::split_sentences(&crate::citations::unwrap_lines(passage))
        .into_iter()
        .max_by_key(|candidate| {
            let candidate_units = content_units(candidate);
            units
                .iter()
                .filter(|unit| candidate_units.iter().any(|other| same_word(unit, other)))
                .count()
        })
}

/// Two stemmed units name the same word: equal, or (English) one a prefix of the other of
/// at least four letters ("connect", "connection"; "read", "readabl").
pub(crate) fn same_word(left: &str, right: &str) -> bool {
    if left == right {
        return true;
    }
    let shorter = left.len().min(right.len());
    left.is_ascii() && right.is_ascii() && shorter >= 4 && (left.starts_with(right) || right.starts_with(left))
}

/// `sentence` without a lead-in that only says where it comes from ("According to the
/// passage, ...", "The passage states that ...", "根据段落，...").
pub fn without_lead_in(sentence: &str) -> &str {
    const LEAD_INS: [&str; 9] = [
        "according to the passages,",
        "according to the passage,",
        "the passage states that",
        "the passage says that",
        "the passages state that",
        "根据段落，",
        "根据以上段落，",
        "根据文档，",
        "段落中提到，",
    ];
    let trimmed = sentence.trim_start();
    for lead in LEAD_INS {
        if let Some(rest) = strip_prefix_ignore_case(trimmed, lead) {
            return rest.trim_start().trim_start_matches(['"', '“']);
        }
    }
    // "根据用户提供的段落，", "根據以上文檔，": a short clause naming where it reads from.
    if let Some(rest) = trimmed.strip_prefix("根据").or_else(|| trimmed.strip_prefix("根據"))
        && let Some((source, after)) = rest.split_once(['，', ','])
        && source.chars().count() <= 10
        && ["段落", "文档", "文檔", "内容", "內容", "资料", "資料"]
            .iter()
            .any(|word| source.ends_with(word))
    {
        return after.trim_start();
    }
    sentence
}

/// Whether `sentence` has lost the very word it was about: "The package that provides X
/// is." or "第 阶段" (its number gone), or has nothing outside brackets ("[/2]", a marker
/// gone wrong).
pub fn is_incomplete(sentence: &str) -> bool {
    let body = sentence.trim().trim_end_matches(['.', '!', '?', '。', '！', '？', ' ']);
    if lexical_units(&outside_brackets(body)).is_empty() {
        return true;
    }
    let last_word = body
        .rsplit(|character: char| character.is_whitespace())
        .next()
        .unwrap_or("")
        .to_lowercase();
    const DANGLING: [&str; 13] = [
        "is", "are", "was", "were", "the", "a", "an", "of", "to", "by", "as", "called", "named",
    ];
    if DANGLING.contains(&last_word.as_str()) || body.ends_with([':', '：', ',', '，', '是', '为', '為']) {
        return true;
    }
    // A word gone from the middle: "In , the program BibTeX is required".
    const BEFORE_A_WORD: [&str; 12] = [
        "in", "on", "at", "for", "with", "by", "of", "to", "from", "the", "a", "an",
    ];
    let words: Vec<String> = body.split_whitespace().map(str::to_lowercase).collect();
    if words
        .windows(2)
        .any(|pair| BEFORE_A_WORD.contains(&pair[0].as_str()) && pair[1].starts_with([',', ';', ':', '，', '；', '：']))
    {
        return true;
    }
    let characters: Vec<char> = body.chars().collect();
    characters.iter().enumerate().any(|(index, &character)| {
        character == '第'
            && characters[index + 1..]
                .iter()
                .find(|next| !next.is_whitespace())
                .is_none_or(|next| !next.is_ascii_digit() && chinese_digit(*next).is_none())
    })
}

/// `text` without what stands between square brackets (ASCII or full-width).
fn outside_brackets(text: &str) -> String {
    let mut depth = 0usize;
    text.chars()
        .filter(|&character| {
            match character {
                '[' | '［' => depth += 1,
                ']' | '］' => depth = depth.saturating_sub(1),
                _ => return depth == 0,
            }
            false
        })
        .collect()
}

/// Whether `sentence` repeats the prompt's `instructions` instead of answering: nearly all
/// of its words (at least five) are theirs.
pub fn echoes_instructions(sentence: &str, instructions: &[&str]) -> bool {
    let units = lexical_units(sentence);
    if units.len() < 5 {
        return false;
    }
    let instruction_units: HashSet<String> = instructions.iter().flat_map(|text| lexical_units(text)).collect();
    let shared = units.iter().filter(|unit| instruction_units.contains(*unit)).count();
    shared as f32 >= 0.8 * units.len() as f32
}

#[cfg(test)]
mod tests;
