//! Citation markers: `[n]` in an answer maps to the n-th passage of its prompt.
//!
//! Markers that point at no passage are dropped from the text. When a small model forgets
//! to cite, the answer is attributed to the passage it overlaps most, if it overlaps enough;
//! otherwise it stays uncited, which the caller treats as unsupported.

/// The 1-based passage numbers cited in `answer`, first appearance first, valid ones only.
pub fn cited_numbers(answer: &str, passage_count: usize) -> Vec<usize> {
    let mut numbers = Vec::new();
    for number in markers(answer).into_iter().map(|(_, number)| number) {
        if (1..=passage_count).contains(&number) && !numbers.contains(&number) {
            numbers.push(number);
        }
    }
    numbers
}

/// `(byte range, number)` of each `[n]` / `[n, m]` marker; a list yields one entry per number.
fn markers(text: &str) -> Vec<(std::ops::Range<usize>, usize)> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'['
            && let Some(length) = text[index + 1..].find(']')
        {
            let inner = &text[index + 1..index + 1 + length];
            let numbers: Option<Vec<usize>> = inner
                .split([',', '，', ' '])
                .filter(|part| !part.is_empty())
                .map(|part| part.parse().ok())
                .collect();
            if let Some(numbers) = numbers.filter(|numbers| !numbers.is_empty()) {
                let range = index..index + length + 2;
                for number in numbers {
                    found.push((range.clone(), number));
                }
                index += length + 2;
                continue;
            }
        }
        index += 1;
    }
    found
}

/// `answer` without markers that cite no existing passage.
pub fn drop_dangling_markers(answer: &str, passage_count: usize) -> String {
    let mut cleaned = String::with_capacity(answer.len());
    let mut last = 0;
    let mut previous_range: Option<std::ops::Range<usize>> = None;
    for (range, _) in markers(answer) {
        if previous_range.as_ref() == Some(&range) {
            continue;
        }
        previous_range = Some(range.clone());
        let inner = &answer[range.start + 1..range.end - 1];
        let valid: Vec<&str> = inner
            .split([',', '，', ' '])
            .filter(|part| {
                part.parse::<usize>()
                    .is_ok_and(|number| (1..=passage_count).contains(&number))
            })
            .collect();
        cleaned.push_str(&answer[last..range.start]);
        if !valid.is_empty() {
            cleaned.push_str(&format!("[{}]", valid.join(", ")));
        }
        last = range.end;
    }
    cleaned.push_str(&answer[last..]);
    cleaned
}

/// Lower-cased words and single CJK characters: the units of lexical overlap.
pub fn lexical_units(text: &str) -> Vec<String> {
    let mut units = Vec::new();
    let mut word = String::new();
    for character in text.chars() {
        let is_cjk = ('\u{4E00}'..='\u{9FFF}').contains(&character);
        if character.is_alphanumeric() && !is_cjk {
            word.extend(character.to_lowercase());
            continue;
        }
        if !word.is_empty() {
            units.push(std::mem::take(&mut word));
        }
        if is_cjk {
            units.push(character.to_string());
        }
    }
    if !word.is_empty() {
        units.push(word);
    }
    units
}

/// Share of `answer`'s lexical units that occur in `passage` (0 to 1).
pub fn overlap(answer: &str, passage: &str) -> f32 {
    let answer_units = lexical_units(answer);
    if answer_units.is_empty() {
        return 0.0;
    }
    let passage_units: std::collections::HashSet<String> = lexical_units(passage).into_iter().collect();
    let shared = answer_units.iter().filter(|unit| passage_units.contains(*unit)).count();
    shared as f32 / answer_units.len() as f32
}

/// The passage (1-based) an uncited answer overlaps most, if at least `minimum`.
pub fn best_supporting_passage(answer: &str, passages: &[&str], minimum: f32) -> Option<usize> {
    passages
        .iter()
        .enumerate()
        .map(|(index, passage)| (index + 1, overlap(answer, passage)))
        .filter(|(_, score)| *score >= minimum)
        .max_by(|left, right| left.1.total_cmp(&right.1))
        .map(|(number, _)| number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_and_listed_markers() {
        assert_eq!(cited_numbers("A [2]. B [1, 3]. C [2].", 3), vec![2, 1, 3]);
        assert_eq!(cited_numbers("see [7] and [x]", 3), Vec::<usize>::new());
    }

    #[test]
    fn dangling_markers_are_removed() {
        assert_eq!(drop_dangling_markers("A [1]. B [9]. C [1, 9].", 2), "A [1]. B . C [1].");
    }

    #[test]
    fn overlap_counts_words_and_hanzi() {
        assert!(overlap("systemd starts services", "At boot systemd starts all services") > 0.99);
        assert!(overlap("重置密码", "如何重置密码") > 0.99);
        assert!(overlap("completely unrelated", "systemd starts services") < 0.01);
        assert_eq!(
            best_supporting_passage("重置密码", &["天气很好", "重置密码的步骤"], 0.5),
            Some(2)
        );
    }
}
