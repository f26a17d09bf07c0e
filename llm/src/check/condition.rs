//! The part of a question that asks, apart from the condition it is asked under.
//!
//! "文档上传后谁可以阅读？" asks who may read; the upload is only its condition. A small model
//! answered it with the sentence about uploading, true and cited but not an answer. Telling
//! the two parts apart lets the caller notice an answer that speaks only of the condition.

/// Words that end a Chinese condition ("上传后", "登录以后", "上傳後") when they stand alone,
/// not as part of another word ("最后", "后台", "然后").
const CHINESE_MARKERS: [&str; 6] = ["以后", "之后", "以後", "之後", "后", "後"];
/// Characters that make "后" part of a word when they come before it or after it.
const CHINESE_BEFORE: [char; 11] = ['最', '然', '之', '以', '此', '随', '隨', '今', '落', '背', '前'];
const CHINESE_AFTER: [char; 7] = ['台', '果', '来', '面', '续', '端', '者'];
/// English words that open a condition.
const ENGLISH_MARKERS: [&str; 4] = ["after", "once", "when", "before"];

/// `(asked, condition)` when `question` states a condition: "文档上传后谁可以阅读？" gives
/// ("谁可以阅读？", "文档上传"); "After uploading, who can read it?" and "Who can read a
/// document after it is uploaded?" give the reading part and the uploading part.
pub fn asked_and_condition(question: &str) -> Option<(String, String)> {
    let question = question.trim();
    if crate::prompt::is_chinese(question) {
        return chinese(question);
    }
    english(question)
}

fn chinese(question: &str) -> Option<(String, String)> {
    for marker in CHINESE_MARKERS {
        for (index, _) in question.match_indices(marker) {
            let (condition, rest) = (&question[..index], &question[index + marker.len()..]);
            if (marker == "后" || marker == "後")
                && (condition.chars().last().is_some_and(|c| CHINESE_BEFORE.contains(&c))
                    || rest.chars().next().is_some_and(|c| CHINESE_AFTER.contains(&c)))
            {
                continue;
            }
            let ideographs = |text: &str| text.chars().filter(|c| ('\u{4E00}'..='\u{9FFF}').contains(c)).count();
            let asked = rest.trim_start_matches(['，', ',', ' ']);
            if ideographs(condition) >= 2 && ideographs(asked) >= 2 {
                return Some((asked.to_owned(), condition.to_owned()));
            }
        }
    }
    None
}

fn english(question: &str) -> Option<(String, String)> {
    let lower = question.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    // "After uploading, who can read it?": the condition comes first, up to its comma.
    if words.first().is_some_and(|first| ENGLISH_MARKERS.contains(first))
        && let Some(comma) = question.find(", ")
    {
        return Some((question[comma + 2..].to_owned(), question[..comma].to_owned()));
    }
    // "Who can read a document after it is uploaded?": it comes last, after three words.
    let mut offset = 0;
    for (position, word) in question.split_inclusive(char::is_whitespace).enumerate() {
        let bare = word.trim().to_lowercase();
        if position >= 3 && ENGLISH_MARKERS.contains(&bare.as_str()) {
            return Some((
                question[..offset].trim().to_owned(),
                question[offset + word.len()..].to_owned(),
            ));
        }
        offset += word.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_are_told_from_what_is_asked() {
        let pair = |asked: &str, condition: &str| Some((asked.to_owned(), condition.to_owned()));
        assert_eq!(
            asked_and_condition("文档上传后谁可以阅读？"),
            pair("谁可以阅读？", "文档上传")
        );
        assert_eq!(
            asked_and_condition("文件上傳後誰可以閱讀？"),
            pair("誰可以閱讀？", "文件上傳"),
            "Traditional"
        );
        assert_eq!(
            asked_and_condition("登录以后，怎么修改密码？"),
            pair("怎么修改密码？", "登录")
        );
        assert_eq!(
            asked_and_condition("After uploading, who can read a document?"),
            pair("who can read a document?", "After uploading")
        );
        assert_eq!(
            asked_and_condition("Who can read a document after it is uploaded?"),
            pair("Who can read a document", "it is uploaded?")
        );
    }

    #[test]
    fn words_that_only_contain_a_marker_are_not_conditions() {
        for question in [
            "最后一步是什么？",
            "后台在哪里设置？",
            "然后怎么办？",
            "最後一步是什麼？",
            "後台在哪裡設定？",
            "How do I ask a question?",
            "When does the canteen open?",
        ] {
            assert_eq!(asked_and_condition(question), None, "{question}");
        }
    }
}
