//! Traditional and Simplified Chinese. A question in Traditional characters over documents
//! in Simplified ones (or the model's answer to it) shares few characters and few e5
//! features with them: "系統主機名稱儲存在哪個檔案？" was refused against a mainland page that
//! answers it, and the model's Traditional answer failed the word checks against its own
//! passage. Folding to Simplified where the documents are Simplified keeps both working;
//! Traditional documents (DRCD) are left as they are.

use std::borrow::Cow;

use retrieval::normalize::to_mainland;

/// Share of a text's ideographs that may change under [`to_mainland`] while it still counts
/// as Simplified: a few characters of a Simplified text have a second reading
/// (著, 乾) that the folding changes.
const TRADITIONAL_SHARE: f32 = 0.02;

/// Whether `text` is written in Simplified characters (or has no Chinese at all).
pub(super) fn is_simplified(text: &str) -> bool {
    let folded = to_mainland(text);
    if folded == text {
        return true;
    }
    let ideographs = text.chars().filter(|character| is_ideograph(*character)).count();
    let changed = text
        .chars()
        .zip(folded.chars())
        .filter(|(before, after)| before != after)
        .count();
    (changed as f32) <= TRADITIONAL_SHARE * ideographs as f32
}

/// Whether every one of `passages` is Simplified: then the question and the answer are
/// checked against them, and the answer shown, in their script ([`in_script`]).
pub(super) fn all_simplified(passages: &[&str]) -> bool {
    passages.iter().all(|passage| is_simplified(passage))
}

/// `text` in Simplified characters when `simplified` (the passages are, see
/// [`all_simplified`]), else as it is.
pub(super) fn in_script(text: &str, simplified: bool) -> Cow<'_, str> {
    if !simplified || is_simplified(text) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(to_mainland(text))
}

fn is_ideograph(character: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&character)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_told_apart() {
        assert!(is_simplified("系统主机名称保存在 /etc/hostname 文件中。"));
        assert!(is_simplified("The hostname is kept in /etc/hostname."));
        assert!(!is_simplified("系統主機名稱儲存在哪個檔案？"));
    }

    /// Before: the model's "資料不會離開伺服器" against "所有数据都留在本服务器上" shared
    /// almost no characters, and the answer was rejected as unsupported.
    #[test]
    fn regression_a_traditional_answer_over_simplified_passages_was_unsupported() {
        let simplified = ["所有数据都留在本服务器上，不连接互联网。"];
        assert_eq!(
            in_script("數據不會離開伺服器。", all_simplified(&simplified)),
            "数据不会离开服务器。"
        );
        let traditional = ["所有資料都留在本伺服器上。"];
        assert_eq!(
            in_script("數據不會離開伺服器。", all_simplified(&traditional)),
            "數據不會離開伺服器。",
            "Traditional passages keep a Traditional answer"
        );
    }
}
