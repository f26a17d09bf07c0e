//! Polarity: negations counted per clause (double negatives cancel), antonym pairs, and the
//! clause of a passage that states what a sentence does.

use std::collections::HashSet;

use super::{content_units, coverage};
use crate::citations::lexical_units;

pub(super) const ENGLISH_NEGATIONS: [&str; 12] = [
    "not", "no", "never", "without", "none", "nothing", "nobody", "neither", "nor", "nowhere", "cannot", "unable",
];

/// Negating characters of Chinese, Simplified and Traditional.
pub(super) const CHINESE_NEGATIONS: [char; 12] =
    ['不', '没', '沒', '无', '無', '未', '非', '别', '別', '勿', '否', '莫'];

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
        // A Markdown heading names a topic and states nothing.
        .filter(|clause| !clause.starts_with('#') && !lexical_units(clause).is_empty())
        .collect()
}

/// Every clause of `passage` that covers as much of `clause` as the best one does (several
/// when a sentence's subject and its predicate fall into different clauses: "while in
/// fduthesis-en, there is no abstract* environment").
pub fn equally_matching_clauses<'p>(clause: &str, passage: &'p str) -> Vec<&'p str> {
    let units = content_units(clause);
    let scored: Vec<(&str, f32)> = clauses(passage)
        .into_iter()
        .map(|candidate| {
            let candidate_set: HashSet<String> = content_units(candidate).into_iter().collect();
            (candidate, coverage(&units, &candidate_set))
        })
        .filter(|(_, forward)| *forward > 0.0)
        .collect();
    let best = scored.iter().map(|(_, forward)| *forward).fold(0.0f32, f32::max);
    scored
        .into_iter()
        .filter(|(_, forward)| *forward >= best)
        .map(|(candidate, _)| candidate)
        .collect()
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
pub(super) fn antonym_flips(left: &str, right: &str) -> usize {
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
pub(super) fn same_polarity(statement: &str, clause: &str) -> bool {
    (negation_count(statement) + negation_count(clause) + antonym_flips(statement, clause)).is_multiple_of(2)
}
