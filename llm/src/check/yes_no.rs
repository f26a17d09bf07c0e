//! Yes/no questions: recognising them, reading the yes or no a reply leads with, and the yes
//! or no a supporting sentence gives.

use super::polarity::{antonym_flips, equally_matching_clauses, matching_clause, negation_count};
use super::{content_units, same_word};
use crate::prompt::is_chinese;

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

pub(super) fn strip_prefix_ignore_case<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
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
    let reading = |clause: &str| {
        let mut flips = negation_count(clause) + antonym_flips(&proposition, clause);
        if is_chinese(question) {
            flips += negation_count(&proposition);
        }
        flips.is_multiple_of(2)
    };
    let yes = reading(matched);
    // Clauses that match as well but read the other way make the answer uncertain: no
    // yes or no rather than a guess.
    if equally_matching_clauses(&proposition, statement)
        .into_iter()
        .any(|clause| reading(clause) != yes)
    {
        return None;
    }
    Some(yes)
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
    // "Do the answers show where they come from?": "where" is not part of the fact.
    const QUESTION_UNITS: [&str; 13] = [
        "what", "when", "where", "who", "whom", "whose", "which", "why", "how", "什", "哪", "谁", "誰",
    ];
    let units: Vec<String> = content_units(proposition)
        .into_iter()
        .filter(|unit| !QUESTION_UNITS.contains(&unit.as_str()))
        .collect();
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
