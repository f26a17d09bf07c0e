//! Blanks. Asked for a value the passages do not give, the small model sometimes writes a
//! placeholder in brackets built from the passage's own words ("disk.img 的 LUKS 密码是
//! [LUKS passphrase for disk.img]", where the passage only stores a password under that
//! label). Every word of it is in the passage, so the overlap check passes it; the brackets
//! give it away. Citation markers are brackets too, and a passage may bracket text itself
//! ("[Install]"), so only brackets that are neither count.

/// The first bracketed text of `sentence` that is not a citation marker ("[1]", "[1, 2]")
/// and that no passage brackets the same way.
pub fn unfilled_blank(sentence: &str, passages: &[&str]) -> Option<String> {
    let mut rest = sentence;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(']') else {
            break;
        };
        let inside = &after[..close];
        if inside.contains('[') {
            // "[ note [1]": the bracket that closes is the inner one's.
            rest = after;
            continue;
        }
        let marker = inside
            .chars()
            .all(|character| character.is_ascii_digit() || matches!(character, ',' | '，' | ' ' | '-' | '–'));
        let bracketed = format!("[{inside}]");
        if !marker && !passages.iter().any(|passage| passage.contains(&bracketed)) {
            return Some(bracketed);
        }
        rest = &after[close + 1..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Before: "disk.img 的 LUKS 密码是什么？", which no document answers, got a cited "answer"
    /// whose value was the label the passage stores the password under, in brackets.
    #[test]
    fn regression_a_bracketed_placeholder_passed_as_the_asked_value() {
        let passage = "$ secret-tool store --label='LUKS passphrase for disk.img' LUKS my_disk.img";
        assert_eq!(
            unfilled_blank("disk.img 的 LUKS 密码是 [LUKS passphrase for disk.img]", &[passage]),
            Some("[LUKS passphrase for disk.img]".to_owned())
        );
        assert_eq!(
            unfilled_blank("The password is [your password] [1].", &[passage]),
            Some("[your password]".to_owned())
        );
    }

    #[test]
    fn citation_markers_and_the_passages_own_brackets_are_no_blank() {
        let passage = "Add WantedBy=multi-user.target to the [Install] section.";
        for sentence in [
            "Add it to the [Install] section [1].",
            "It is set in two places [1, 2].",
            "见第 [1，2] 段",
            "Unclosed [ bracket [3]",
        ] {
            assert_eq!(unfilled_blank(sentence, &[passage]), None, "{sentence}");
        }
    }
}
