//! Languages named in a sentence, as values only one of which holds.
//!
//! A bilingual company's documents say which parts come in which language, and employees ask
//! ("Is the cover in English too?"). A sentence that puts the passage's subject in another
//! language shares every other word with it, and has no "not" to catch: asked "If I use the
//! English class, is the thesis cover in English too?", a model answered "Yes, the thesis
//! cover is in English", citing "Thesis cover, instructors list and declaration page are
//! still printed in Chinese." So a language, like a number, must be the one the passage
//! gives for the same subject.

use std::collections::HashSet;

use super::content_units;
use crate::citations::split_sentences;

/// Words that name a language, with the language they name. English words are matched
/// whole; Chinese ones as they stand, except where a neighbouring word owns their first
/// character (see [`FALSE_CHINESE_STARTS`]). "日文", "法文" and "德文" are left out: they
/// also end "今日文件" and "语法文件".
const LANGUAGES: [(&str, &str); 20] = [
    ("english", "en"),
    ("chinese", "zh"),
    ("mandarin", "zh"),
    ("japanese", "ja"),
    ("korean", "ko"),
    ("german", "de"),
    ("french", "fr"),
    ("spanish", "es"),
    ("russian", "ru"),
    ("英文", "en"),
    ("英语", "en"),
    ("英語", "en"),
    ("中文", "zh"),
    ("汉语", "zh"),
    ("漢語", "zh"),
    ("日语", "ja"),
    ("日語", "ja"),
    ("韩语", "ko"),
    ("韓語", "ko"),
    ("德语", "de"),
];

/// Characters before "中文" that make it part of another word: "其中文档" is "among them,
/// the documents".
const FALSE_CHINESE_STARTS: [char; 4] = ['其', '之', '集', '空'];

/// What [`languages`] finds in a text.
struct Named {
    /// The languages named.
    languages: HashSet<&'static str>,
    /// The first name, as found (lower-cased).
    first: Option<&'static str>,
    /// The text with the names taken out, so that sharing the word "English" does not make
    /// two sentences speak of the same thing.
    rest: String,
}

/// The languages `text` names.
fn languages(text: &str) -> Named {
    let lower = text.to_lowercase();
    let mut named = Named {
        languages: HashSet::new(),
        first: None,
        rest: String::with_capacity(lower.len()),
    };
    let mut index = 0;
    'scan: while index < lower.len() {
        let tail = &lower[index..];
        let before = lower[..index].chars().next_back();
        for (name, language) in LANGUAGES {
            if !tail.starts_with(name) {
                continue;
            }
            let whole = if name.is_ascii() {
                before.is_none_or(|before| !before.is_alphanumeric())
                    && !tail[name.len()..].starts_with(char::is_alphanumeric)
            } else {
                !before.is_some_and(|before| FALSE_CHINESE_STARTS.contains(&before))
            };
            if whole {
                named.languages.insert(language);
                named.first.get_or_insert(name);
                named.rest.push(' ');
                index += name.len();
                continue 'scan;
            }
        }
        let character = tail.chars().next().unwrap_or(' ');
        named.rest.push(character);
        index += character.len_utf8();
    }
    named
}

/// A language `sentence` gives where `passage` gives another for the same subject: the
/// passage sentences sharing the most of `sentence`'s other words (at least two) name
/// languages, none of them one `sentence` names. A passage sentence that names the same
/// language as well ("English and Chinese") agrees. `passage` has its lines unwrapped.
pub(super) fn other_language(sentence: &str, passage: &str) -> Option<String> {
    let said = languages(sentence);
    let first = said.first?;
    let units: HashSet<String> = content_units(&said.rest).into_iter().collect();
    let mut best_shared = 2;
    let mut best: Vec<HashSet<&str>> = Vec::new();
    for candidate in split_sentences(passage) {
        let named = languages(&candidate);
        let shared = content_units(&named.rest)
            .into_iter()
            .collect::<HashSet<_>>()
            .intersection(&units)
            .count();
        if shared > best_shared {
            best_shared = shared;
            best.clear();
        }
        if shared == best_shared {
            best.push(named.languages);
        }
    }
    let contrasts = !best.is_empty()
        && best
            .iter()
            .all(|named| !named.is_empty() && named.is_disjoint(&said.languages));
    if !contrasts {
        return None;
    }
    // As a reader writes it: "English", "中文".
    let mut characters = first.chars();
    let initial = characters.next()?;
    Some(initial.to_uppercase().chain(characters).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::citations::unwrap_lines;

    fn other_language(sentence: &str, passage: &str) -> Option<String> {
        super::other_language(sentence, &unwrap_lines(passage))
    }

    /// The passage of fduthesis-en's manual, as the PDF gives it.
    const COVER: &str = "The differences between English and Chinese version only live in the main body. \
                         Thesis cover,\ninstructors list and declaration page are still printed in Chinese.\n";

    #[test]
    fn regression_a_cover_printed_in_chinese_was_said_to_be_in_english() {
        assert_eq!(
            crate::check::conflict("the thesis cover is in English.", COVER),
            Some(crate::check::Conflict::Language("English".to_owned()))
        );
        assert!(other_language("The thesis cover is still printed in Chinese.", COVER).is_none());
        // The sentence naming both languages is about the versions, not the cover.
        assert!(other_language("The English version differs only in the main body.", COVER).is_none());
    }

    #[test]
    fn a_chinese_sentence_gives_the_passages_language() {
        let passage = "论文封面、导师名单和声明页仍以中文印刷。正文可以用英文撰写。";
        assert_eq!(other_language("论文封面以英文印刷。", passage).as_deref(), Some("英文"));
        assert!(other_language("论文封面以中文印刷。", passage).is_none());
        assert!(other_language("正文可以用英语撰写。", passage).is_none());
    }

    #[test]
    fn a_passage_sentence_naming_the_same_language_agrees() {
        let passage = "The Chinese version uses the fduthesis class. The English version uses the fduthesis-en class.";
        assert!(other_language("The English version uses the fduthesis-en class.", passage).is_none());
        assert!(other_language("The English version uses the fduthesis class.", passage).is_none());
        let both = "Manuals are published in English and Chinese.";
        assert!(other_language("Manuals are published in English.", both).is_none());
    }

    #[test]
    fn words_that_only_contain_a_language_name_are_not_one() {
        assert!(languages("其中文档都可以搜索").languages.is_empty());
        assert!(languages("Englishman").languages.is_empty());
        assert_eq!(languages("支持中文和英文").languages, HashSet::from(["zh", "en"]));
    }

    #[test]
    fn a_sentence_sharing_too_little_with_the_passage_is_not_judged() {
        assert!(other_language("It is in English.", COVER).is_none());
    }
}
