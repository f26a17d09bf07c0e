//! Yes/no questions: recognising them, reading the yes or no a reply leads with, and the yes
//! or no a supporting sentence gives.

use super::polarity::{antonym_flips, equally_matching_clauses, matching_clause, negation_count};
use super::question_units_in;
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
    // A lead must stand alone (punctuation after it), so "不" never takes "不需要，".
    // Chinese verb leads ("不需要，", "会。") are those `yes_no_lead` writes.
    const LEADS: [(&str, bool); 10] = [
        ("yes", true),
        ("no", false),
        ("是的", true),
        ("对", true),
        ("對", true),
        ("不是", false),
        ("没", false),
        ("否", false),
        ("不", false),
        ("不用", false),
    ];
    let verb_leads = CHINESE_VERBS
        .iter()
        .flat_map(|(_, affirmative, negative)| [(*affirmative, true), (*negative, false)]);
    for (lead, value) in LEADS.into_iter().chain(verb_leads) {
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
    let (units, found) = question_units_in(proposition, statement);
    let covered = found.len();
    Some((matched, covered as f32 / units.len().max(1) as f32))
}

/// The yes or no an answer leads with, in the question's language. A Chinese question is
/// answered with its own verb, as a person would: "数据会离开服务器吗？" "不会。", "能上传吗？"
/// "能。", "有没有...？" "没有。"; "是的。" or "不是。" when it has none of them.
pub fn yes_no_lead(question: &str, yes: bool) -> String {
    if !is_chinese(question) {
        return if yes { "Yes." } else { "No." }.to_owned();
    }
    // "数据不会离开吗？" "是的。" agrees with the negation; "会。" would not.
    let negated = negation_count(&without_a_not_a(question)) > 0;
    let verb = if negated { None } else { chinese_verb(question) };
    let (affirmative, negative) = verb.unwrap_or(("是的", "不是"));
    format!("{}。", if yes { affirmative } else { negative })
}

/// The modal verbs a Chinese yes/no question turns on: the form in the question, and the
/// yes and the no that answer it. Earlier entries win.
const CHINESE_VERBS: [(&str, &str, &str); 19] = [
    ("有没有", "有", "没有"),
    ("有沒有", "有", "沒有"),
    ("是否有", "有", "没有"),
    ("能否", "能", "不能"),
    ("可否", "可以", "不可以"),
    ("需要", "需要", "不需要"),
    ("可以", "可以", "不可以"),
    ("能够", "能", "不能"),
    ("能夠", "能", "不能"),
    ("允许", "允许", "不允许"),
    ("允許", "允許", "不允許"),
    ("应该", "应该", "不应该"),
    ("應該", "應該", "不應該"),
    ("必须", "必须", "不必"),
    ("必須", "必須", "不必"),
    ("能", "能", "不能"),
    ("会", "会", "不会"),
    ("會", "會", "不會"),
    ("要", "要", "不要"),
];

/// The modal verb a Chinese yes/no question turns on, as its yes and no forms. Earlier
/// entries win ("会议室能预约吗" turns on 能, not the 会 of 会议); a character that only
/// starts a noun (会议, 能力, 要求) is not a verb.
fn chinese_verb(question: &str) -> Option<(&'static str, &'static str)> {
    const NOUN_STARTS: [&str; 14] = [
        "会议", "会員", "会员", "会计", "会场", "會議", "會員", "會計", "能力", "能源", "能量", "要求", "要点", "要點",
    ];
    CHINESE_VERBS.iter().find_map(|(form, affirmative, negative)| {
        question
            .match_indices(form)
            .any(|(at, _)| !NOUN_STARTS.iter().any(|noun| question[at..].starts_with(noun)))
            .then_some((*affirmative, *negative))
    })
}

/// `text` with the "A不A" of a question ("能不能", "需不需要", "有没有") cut to its "A".
fn without_a_not_a(text: &str) -> String {
    let characters: Vec<char> = text.chars().collect();
    let mut kept = String::new();
    let mut index = 0;
    while index < characters.len() {
        let a_not_a = index + 2 < characters.len()
            && matches!(characters[index + 1], '不' | '没' | '沒')
            && characters[index] == characters[index + 2];
        if a_not_a {
            index += 2;
            continue;
        }
        kept.push(characters[index]);
        index += 1;
    }
    kept
}
