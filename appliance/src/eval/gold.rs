//! Whether an answer contains a gold answer, as the shared evaluation sets normalise them.

/// Answer normalisation of the shared evaluation sets: SQuAD-style for English (lower
/// case, no punctuation or articles), characters without punctuation and spaces for Chinese.
pub fn normalize_answer(text: &str) -> String {
    let chinese = text
        .chars()
        .any(|character| ('\u{4E00}'..='\u{9FFF}').contains(&character));
    let kept: String = text
        .chars()
        .map(|character| if character.is_alphanumeric() { character } else { ' ' })
        .collect::<String>()
        .to_lowercase();
    if chinese {
        return kept.chars().filter(|character| !character.is_whitespace()).collect();
    }
    kept.split_whitespace()
        .filter(|word| !matches!(*word, "a" | "an" | "the"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `answer` contains one of the gold answers after normalisation (whole words
/// for English, characters for Chinese). In a Chinese answer, which normalises without
/// spaces, a Latin gold answer ("/boot/grub/grub.cfg") is looked for without its spaces, and
/// not inside a longer Latin word or number.
pub fn contains_gold(answer: &str, gold: &[String]) -> bool {
    let answer = normalize_answer(&without_markers(answer));
    let padded = format!(" {answer} ");
    let squashed = !answer.contains(' ') && !answer.is_ascii();
    gold.iter()
        .map(|gold| normalize_answer(gold))
        .filter(|gold| !gold.is_empty())
        .any(|gold| {
            if squashed && gold.is_ascii() {
                let gold: String = gold.split_whitespace().collect();
                answer.match_indices(&gold).any(|(start, _)| {
                    let before = answer[..start].chars().next_back();
                    let after = answer[start + gold.len()..].chars().next();
                    !before.is_some_and(|character| character.is_ascii_alphanumeric())
                        && !after.is_some_and(|character| character.is_ascii_alphanumeric())
                })
            } else if gold.contains(' ') || gold.is_ascii() {
                padded.contains(&format!(" {gold} "))
            } else {
                answer.contains(&gold)
            }
        })
}

/// `text` without its citation markers (`[1]`, `[2, 3]`), whose digits are not the answer's.
fn without_markers(text: &str) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('[') {
        kept.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find(']') {
            Some(end)
                if !after[..end].is_empty()
                    && after[..end].chars().all(|c| c.is_ascii_digit() || c == ',' || c == ' ') =>
            {
                kept.push(' ');
                rest = &after[end + 1..];
            }
            _ => {
                kept.push('[');
                rest = after;
            }
        }
    }
    kept.push_str(rest);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_match_like_the_evaluation_sets() {
        assert_eq!(normalize_answer("The Denver Broncos!"), "denver broncos");
        assert_eq!(normalize_answer("丹佛 野马队。"), "丹佛野马队");
        assert!(contains_gold(
            "They were the Denver Broncos [1].",
            &["Denver Broncos".into()]
        ));
        assert!(
            !contains_gold("Denverite fans", &["Denver".into()]),
            "whole words in English"
        );
        assert!(contains_gold("冠军是丹佛野马队[1]。", &["丹佛野马队".into()]));
        assert!(!contains_gold("不知道", &["丹佛野马队".into(), String::new()]));
    }

    #[test]
    fn regression_latin_gold_in_a_chinese_answer() {
        let path = ["/boot/grub/grub.cfg".to_owned()];
        assert!(contains_gold(
            "GRUB2 菜单配置文件的路径是 `/boot/grub/grub.cfg` [4]。",
            &path
        ));
        assert!(
            !contains_gold("端口是 2022 [1]。", &["22".to_owned()]),
            "not inside a longer number"
        );
        assert!(contains_gold("端口是 22 [1]。", &["22".to_owned()]));
    }
}
