//! Text normalisation for indexing and querying: full-width forms folded to ASCII,
//! ideographic spaces to spaces, lower case, and Traditional Chinese characters mapped to
//! Simplified (so a Simplified query finds Traditional documents and the reverse). One
//! character in, one character out, so offsets in the normalised text are offsets in the
//! original; the original text is what is stored and shown.

/// Folds one character.
pub fn fold_char(character: char) -> char {
    let folded = match character {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(character as u32 - 0xFEE0).unwrap_or(character),
        '\u{3000}' => ' ',
        other => other,
    };
    let mut lower = folded.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(single), None) => single,
        _ => folded,
    }
}

/// Folds a whole string (same number of characters as the input).
pub fn normalize(text: &str) -> String {
    let folded: String = text.chars().map(fold_char).collect();
    fast2s::convert(&folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_width_and_case_keeping_length() {
        let input = "ＡＢＣ１２３　Linux，中文";
        let output = normalize(input);
        assert_eq!(output, "abc123 linux,中文");
        assert_eq!(input.chars().count(), output.chars().count());
    }

    #[test]
    fn traditional_becomes_simplified() {
        let input = "系統管理員可以設定使用者群組與文件權限";
        let output = normalize(input);
        assert_eq!(output, "系统管理员可以设定使用者群组与文件权限");
        assert_eq!(input.chars().count(), output.chars().count());
    }
}
