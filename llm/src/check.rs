//! Reading a sentence against the passage it cites for meaning, not only shared words.
//!
//! Word overlap cannot tell "no internet connection is used" from "the appliance connects to
//! the internet": a sentence that drops a "not" shares almost every word with its passage.
//! So a cited sentence must also agree with its passage on polarity (negations, counted per
//! clause so that a double negative cancels out, and a few antonym pairs such as
//! leave/stay), on every number, and on every name it mentions. A sentence that fails one of
//! these is a [`Conflict`]: the caller removes it and falls back to a quoted extract.
//!
//! The same clause alignment answers yes/no questions: the question's statement is compared
//! with the sentence that supports it.

use std::collections::HashSet;

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
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Conflict::Polarity(clause) => write!(formatter, "contradicts the passage: \"{clause}\""),
            Conflict::Number(number) => write!(formatter, "the passage does not give {number}"),
            Conflict::Name(name) => write!(formatter, "the passage does not mention {name}"),
        }
    }
}

const ENGLISH_NEGATIONS: [&str; 12] = [
    "not", "no", "never", "without", "none", "nothing", "nobody", "neither", "nor", "nowhere", "cannot", "unable",
];

/// Negating characters of Chinese, Simplified and Traditional.
const CHINESE_NEGATIONS: [char; 12] = ['不', '没', '沒', '无', '無', '未', '非', '别', '別', '勿', '否', '莫'];

/// Words that contain a negating character without negating anything.
const CHINESE_NON_NEGATIONS: [&str; 52] = [
    "非常",
    "无论",
    "無論",
    "不论",
    "不論",
    "不仅",
    "不僅",
    "不但",
    "不断",
    "不斷",
    "不同",
    "别人",
    "別人",
    "别的",
    "別的",
    "否则",
    "否則",
    "未来",
    "未來",
    "无线",
    "無線",
    "是否",
    "能否",
    "可否",
    "与否",
    "與否",
    "不管",
    "除非",
    "不过",
    "不過",
    "不久",
    "差不多",
    "区别",
    "區別",
    "分别",
    "分別",
    "类别",
    "類別",
    "级别",
    "級別",
    "识别",
    "識別",
    "特别",
    "特別",
    "个别",
    "個別",
    "别名",
    "別名",
    "不少",
    "无数",
    "無數",
    "莫过",
];

/// Pairs of words that state opposites; a clause with one matched to a clause with the other
/// has its polarity flipped.
const ANTONYMS: [(&str, &str); 29] = [
    ("leave", "stay"),
    ("leaves", "stays"),
    ("离开", "留"),
    ("離開", "留"),
    ("need", "optional"),
    ("needs", "optional"),
    ("required", "optional"),
    ("需要", "可选"),
    ("需要", "可選"),
    ("必须", "可选"),
    ("必須", "可選"),
    ("allow", "forbid"),
    ("allowed", "forbidden"),
    ("允许", "禁止"),
    ("允許", "禁止"),
    ("public", "private"),
    ("公开", "私有"),
    ("enabled", "disabled"),
    ("启用", "禁用"),
    ("啟用", "禁用"),
    ("secure", "insecure"),
    ("安全", "不安全"),
    ("always", "never"),
    ("总是", "从不"),
    ("on", "off"),
    ("enable", "disable"),
    ("more", "less"),
    ("更多", "更少"),
    ("required", "uninstalled"),
];

/// How many negations `text` holds; two in one clause cancel out.
pub fn negation_count(text: &str) -> usize {
    let lower = text.to_lowercase();
    let english = lower
        .split(|character: char| !(character.is_alphanumeric() || character == '\'' || character == '’'))
        .filter(|word| ENGLISH_NEGATIONS.contains(word) || word.ends_with("n't") || word.ends_with("n’t"))
        .count();
    // "not only" adds rather than negates.
    let not_only = lower.matches("not only").count();
    english - not_only.min(english) + chinese_negations(text)
}

fn chinese_negations(text: &str) -> usize {
    let characters: Vec<char> = text.chars().collect();
    let mut masked = vec![false; characters.len()];
    for word in CHINESE_NON_NEGATIONS {
        let pattern: Vec<char> = word.chars().collect();
        for start in 0..characters.len().saturating_sub(pattern.len() - 1) {
            if characters[start..start + pattern.len()] == pattern[..] {
                masked[start..start + pattern.len()].fill(true);
            }
        }
    }
    (0..characters.len())
        .filter(|&index| !masked[index] && CHINESE_NEGATIONS.contains(&characters[index]))
        // "是不是", "有没有", "能不能": the A-not-A question form asks, it does not negate.
        .filter(|&index| !(index > 0 && index + 1 < characters.len() && characters[index - 1] == characters[index + 1]))
        .count()
}

/// The clauses of `text`: split at sentence stops, commas, colons and semicolons.
pub fn clauses(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut start = 0;
    let mut characters = text.char_indices().peekable();
    while let Some((index, character)) = characters.next() {
        let next = characters.peek().map(|(_, next)| *next);
        // An ASCII stop ends a clause only before a space or the end: ".bib", "3.5" stay whole.
        let ends = match character {
            '.' | '!' | '?' => next.is_none_or(char::is_whitespace),
            ',' | ';' | ':' | '，' | '；' | '：' | '。' | '！' | '？' | '\n' | '(' | ')' | '（' | '）' => true,
            _ => false,
        };
        if ends {
            found.push(&text[start..index]);
            start = index + character.len_utf8();
        }
    }
    found.push(&text[start..]);
    found
        .into_iter()
        .map(str::trim)
        .filter(|clause| !lexical_units(clause).is_empty())
        .collect()
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

const CHINESE_PARTICLES: [char; 22] = [
    '的', '了', '是', '在', '和', '与', '與', '吗', '嗎', '呢', '吧', '也', '都', '就', '而', '及', '或', '把', '被',
    '对', '對', '么',
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

/// Share of `left`'s content units found in `right`.
fn coverage(left: &[String], right: &HashSet<String>) -> f32 {
    if left.is_empty() {
        return 0.0;
    }
    left.iter().filter(|unit| right.contains(*unit)).count() as f32 / left.len() as f32
}

/// The clause of `passage` that states what `clause` does, and how much of `clause` it covers.
pub fn matching_clause<'p>(clause: &str, passage: &'p str) -> Option<(&'p str, f32)> {
    let units = content_units(clause);
    let mut best: Option<(&str, f32, f32)> = None;
    for candidate in clauses(passage) {
        let candidate_units = content_units(candidate);
        let candidate_set: HashSet<String> = candidate_units.iter().cloned().collect();
        let forward = coverage(&units, &candidate_set);
        let backward = coverage(&candidate_units, &units.iter().cloned().collect());
        if forward <= 0.0 {
            continue;
        }
        if best.is_none_or(|(_, best_forward, best_backward)| {
            forward > best_forward || (forward == best_forward && backward > best_backward)
        }) {
            best = Some((candidate, forward, backward));
        }
    }
    best.map(|(candidate, forward, _)| (candidate, forward))
}

/// Antonym pairs split between `left` and `right` (one side in each).
fn antonym_flips(left: &str, right: &str) -> usize {
    let (left, right) = (left.to_lowercase(), right.to_lowercase());
    let has = |text: &str, word: &str| {
        if word.is_ascii() {
            text.split(|character: char| !character.is_alphanumeric())
                .any(|token| token == word)
        } else {
            text.contains(word)
        }
    };
    ANTONYMS
        .iter()
        .filter(|(one, other)| {
            (has(&left, one) && !has(&left, other) && has(&right, other) && !has(&right, one))
                || (has(&left, other) && !has(&left, one) && has(&right, one) && !has(&right, other))
        })
        .count()
        .min(1)
}

/// Whether `statement` and the passage clause that matches it point the same way: false
/// when one negates (or states the antonym of) what the other affirms.
fn same_polarity(statement: &str, clause: &str) -> bool {
    (negation_count(statement) + negation_count(clause) + antonym_flips(statement, clause)).is_multiple_of(2)
}

/// Numbers of `text`, normalised: digits with their separators ("3.5", "11:30", "2026-12-01"),
/// thousands separators dropped, full-width digits folded, and Chinese numerals converted
/// ("十一" is "11"). A lone "一" is not counted ("一个" is usually just "a").
pub fn numbers(text: &str) -> Vec<String> {
    let folded: String = text
        .chars()
        .map(|character| match character {
            '０'..='９' => char::from_u32(character as u32 - '０' as u32 + '0' as u32).unwrap_or(character),
            _ => character,
        })
        .collect();
    let characters: Vec<char> = folded.chars().collect();
    let mut found = Vec::new();
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        // Digits glued to a word ("MD5", "bcrypt2", "v1.2") belong to a name.
        if character.is_ascii_digit() && index > 0 && characters[index - 1].is_ascii_alphabetic() {
            while index < characters.len() && (characters[index].is_ascii_alphanumeric() || characters[index] == '.') {
                index += 1;
            }
            continue;
        }
        if character.is_ascii_digit() {
            let start = index;
            while index < characters.len()
                && (characters[index].is_ascii_digit()
                    || (matches!(characters[index], '.' | ':' | '-' | '/' | ',')
                        && characters.get(index + 1).is_some_and(char::is_ascii_digit)
                        && characters[index - 1].is_ascii_digit()))
            {
                index += 1;
            }
            let token: String = characters[start..index].iter().collect();
            found.push(drop_thousands_separators(&token));
            continue;
        }
        if chinese_digit(character).is_some() {
            let start = index;
            while index < characters.len() && chinese_digit(characters[index]).is_some() {
                index += 1;
            }
            let run: String = characters[start..index].iter().collect();
            let ordinal = start > 0 && characters[start - 1] == '第';
            if let Some(value) = chinese_value(&run)
                && (value != 1 || ordinal)
                && (run.chars().count() > 1 || ordinal || followed_by_measure(&characters, index))
            {
                found.push(value.to_string());
            }
            continue;
        }
        index += 1;
    }
    found
}

fn drop_thousands_separators(token: &str) -> String {
    let groups: Vec<&str> = token.split(',').collect();
    let grouped = groups.len() > 1
        && groups[0].len() <= 3
        && groups[1..]
            .iter()
            .all(|group| group.len() == 3 && group.bytes().all(|byte| byte.is_ascii_digit()));
    if grouped { groups.concat() } else { token.to_owned() }
}

fn chinese_digit(character: char) -> Option<u64> {
    Some(match character {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' | '兩' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        '十' => 10,
        '百' => 100,
        '千' => 1000,
        '万' | '萬' => 10_000,
        _ => return None,
    })
}

/// A measure word or unit after a numeral makes it a number ("三个", "五天").
fn followed_by_measure(characters: &[char], index: usize) -> bool {
    characters.get(index).is_some_and(|next| {
        "个個种種天年月日号號点點次条條项項页頁章节節步名位份周週岁歲元倍层層行列块塊分秒小".contains(*next)
    })
}

/// The value of a run of Chinese numerals ("三百二十" is 320, "二〇二六" is 2026).
fn chinese_value(run: &str) -> Option<u64> {
    let digits: Vec<u64> = run.chars().map(chinese_digit).collect::<Option<_>>()?;
    if digits.iter().all(|&digit| digit < 10) {
        return Some(digits.iter().fold(0, |value, digit| value * 10 + digit));
    }
    let (mut total, mut section, mut current) = (0u64, 0u64, 0u64);
    for digit in digits {
        match digit {
            10_000 => {
                total += (section + current).max(1) * 10_000;
                (section, current) = (0, 0);
            }
            10 | 100 | 1000 => {
                section += current.max(1) * digit;
                current = 0;
            }
            _ => current = current * 10 + digit,
        }
    }
    Some(total + section + current)
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
        let was_first = std::mem::replace(&mut first, false);
        if !word.chars().any(|character| character.is_ascii_alphabetic()) {
            continue;
        }
        let capitalised_inside = !was_first && word.chars().any(|character| character.is_ascii_uppercase());
        let technical = word.chars().any(|character| character.is_ascii_digit())
            || word
                .chars()
                .skip(1)
                .any(|character| matches!(character, '/' | '_' | '.' | '+'))
            || word.starts_with('/');
        if chinese || capitalised_inside || technical {
            found.push(word.to_owned());
        }
    }
    found
}

/// What `sentence` states that `passage` (the passage it cites) contradicts, if anything.
pub fn conflict(sentence: &str, passage: &str) -> Option<Conflict> {
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
        if technical {
            !passage.contains(name.as_str())
        } else {
            !lower_passage.contains(&name.to_lowercase())
        }
    }) {
        return Some(Conflict::Name(name));
    }
    for clause in clauses(sentence) {
        if let Some((matched, _)) = matching_clause(clause, passage)
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

/// True for a question answered by yes or no: "Does ...?", "Is ...?", "...吗？", "是否...".
/// A question offering alternatives ("A or B", "还是") is not one.
pub fn is_yes_no_question(question: &str) -> bool {
    let trimmed = question.trim();
    if is_chinese(trimmed) {
        if trimmed.contains("还是") || trimmed.contains("還是") {
            return false;
        }
        let body = trimmed.trim_end_matches(['?', '？', ' ']);
        if body.ends_with('吗') || body.ends_with('嗎') {
            return true;
        }
        if ["是否", "能否", "可否", "有没有", "有沒有"]
            .iter()
            .any(|form| body.contains(form))
        {
            return true;
        }
        let characters: Vec<char> = body.chars().collect();
        return characters
            .windows(3)
            .any(|window| matches!(window[1], '不' | '没' | '沒') && window[0] == window[2]);
    }
    let lower = trimmed.to_lowercase();
    let first = lower.split_whitespace().next().unwrap_or("");
    const AUXILIARIES: [&str; 26] = [
        "is", "are", "was", "were", "am", "do", "does", "did", "can", "could", "will", "would", "should", "shall",
        "may", "might", "must", "has", "have", "had", "isn't", "aren't", "doesn't", "don't", "can't", "won't",
    ];
    AUXILIARIES.contains(&first) && !lower.split_whitespace().any(|word| word == "or")
}

/// The yes or no a reply starts with, and the rest of it: "No, it does not." gives
/// `(Some(false), "it does not.")`.
pub fn split_yes_no(reply: &str) -> (Option<bool>, &str) {
    let trimmed = reply.trim_start();
    const LEADS: [(&str, bool); 15] = [
        ("yes", true),
        ("no", false),
        ("是的", true),
        ("对", true),
        ("對", true),
        ("可以", true),
        ("不是", false),
        ("不会", false),
        ("不會", false),
        ("不能", false),
        ("不可以", false),
        ("没有", false),
        ("沒有", false),
        ("否", false),
        ("不", false),
    ];
    for (lead, value) in LEADS {
        let Some(rest) = strip_prefix_ignore_case(trimmed, lead) else {
            continue;
        };
        // The lead must stand alone: "No," or "不会。", not "Nothing" or "不会离开".
        let mut characters = rest.chars();
        if let Some(next) = characters.next()
            && matches!(next, ',' | '.' | '!' | ';' | '，' | '。' | '！' | '；' | '、')
        {
            return (Some(value), characters.as_str().trim_start());
        }
    }
    (None, reply)
}

fn strip_prefix_ignore_case<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// Whether `statement` (a sentence that supports the answer) says yes to `question`. `None`
/// when the statement does not match the question well enough to tell.
///
/// English answers a negative question by the positive fact ("Doesn't it need X?" "No, it
/// does not."); Chinese agrees or disagrees with the question as asked.
pub fn answers_yes(question: &str, statement: &str) -> Option<bool> {
    answers_yes_covering(question, statement, 0.5)
}

/// Like [`answers_yes`], but only when the matching clause of `statement` holds at least
/// `minimum` of the question's words: an extract, which no model restated, needs all of
/// them (1.0) before a yes or no is put in front of it.
pub fn answers_yes_covering(question: &str, statement: &str, minimum: f32) -> Option<bool> {
    let proposition = question_proposition(question);
    let (matched, covered) = best_statement_clause(&proposition, statement)?;
    if covered < minimum {
        return None;
    }
    let mut flips = negation_count(matched) + antonym_flips(&proposition, matched);
    if is_chinese(question) {
        flips += negation_count(&proposition);
    }
    Some(flips.is_multiple_of(2))
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

/// The statement a yes/no question asks about, its question form removed.
fn question_proposition(question: &str) -> String {
    let mut text = question.trim().trim_end_matches(['?', '？', ' ']).to_owned();
    for form in ["是否", "能否", "可否", "是不是", "有没有", "有沒有"] {
        text = text.replace(form, "");
    }
    text.trim_end_matches(['吗', '嗎', '呢']).to_owned()
}

/// The clause of `statement` that matches `proposition`, and the share of the
/// proposition's words the whole statement holds.
fn best_statement_clause<'s>(proposition: &str, statement: &'s str) -> Option<(&'s str, f32)> {
    let (matched, _) = matching_clause(proposition, statement)?;
    let units = content_units(proposition);
    let statement_units = content_units(statement);
    let covered = units
        .iter()
        .filter(|unit| statement_units.iter().any(|other| same_word(unit, other)))
        .count();
    Some((matched, covered as f32 / units.len().max(1) as f32))
}

/// The yes or no an answer leads with, in the question's language.
pub fn yes_no_lead(question: &str, yes: bool) -> &'static str {
    match (is_chinese(question), yes) {
        (true, true) => "是的。",
        (true, false) => "不是。",
        (false, true) => "Yes.",
        (false, false) => "No.",
    }
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
    let units = content_units(sentence);
    let closest = crate::citations::split_sentences(passage)
        .into_iter()
        .map(|candidate| {
            let candidate_units = content_units(&candidate);
            let shared = units
                .iter()
                .filter(|unit| candidate_units.iter().any(|other| same_word(unit, other)))
                .count();
            (shared, candidate_units)
        })
        .max_by_key(|(shared, _)| *shared)
        .map(|(_, candidate_units)| candidate_units)
        .unwrap_or_default();
    let present = subject
        .iter()
        .filter(|unit| closest.iter().any(|other| same_word(unit, other)))
        .count();
    present * 2 >= subject.len()
}

/// Two stemmed units name the same word: equal, or (English) one a prefix of the other of
/// at least four letters ("connect", "connection"; "read", "readabl").
fn same_word(left: &str, right: &str) -> bool {
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
    sentence
}

/// Whether `sentence` has lost the very word it was about: "The package that provides X
/// is." or "第 阶段" (its number gone).
pub fn is_incomplete(sentence: &str) -> bool {
    let body = sentence.trim().trim_end_matches(['.', '!', '?', '。', '！', '？', ' ']);
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
    let characters: Vec<char> = body.chars().collect();
    characters.iter().enumerate().any(|(index, &character)| {
        character == '第'
            && characters[index + 1..]
                .iter()
                .find(|next| !next.is_whitespace())
                .is_none_or(|next| !next.is_ascii_digit() && chinese_digit(*next).is_none())
    })
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
#[path = "check_tests.rs"]
mod tests;
