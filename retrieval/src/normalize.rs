//! Text normalisation for indexing and querying: full-width forms folded to ASCII,
//! ideographic spaces to spaces, lower case. One character in, one character out, so
//! offsets in the normalised text are offsets in the original.

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
    text.chars().map(fold_char).collect()
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
}
