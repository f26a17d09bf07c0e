//! What an instruction is for. "To print out the current hostname run hostname(1) without
//! an argument." and "To change the hostname, run hostname(1) without an argument." share
//! every word but the one that says what the command does: asked "How can I change the
//! hostname?", a small model copies the instruction and swaps its purpose for the
//! question's. Only English purpose clauses that open a sentence ("To ...", "In order to
//! ...") are read: Chinese manuals put the purpose after the command ("不带参数运行
//! hostname(1) 命令可以打印出当前的主机名"), with no marker that sets it apart.

use super::{closest_sentence, content_units, same_word};

/// The stemmed verb of the purpose clause that opens `sentence` ("print" of "To print out
/// the current hostname ..."), if it opens with one.
fn purpose_verb(sentence: &str) -> Option<String> {
    let opening = sentence
        .trim_start()
        .trim_start_matches(['"', '“', '*', '`'])
        .to_lowercase();
    let rest = opening
        .strip_prefix("to ")
        .or_else(|| opening.strip_prefix("in order to "))?;
    let verb: String = rest
        .chars()
        .take_while(|character| character.is_ascii_alphabetic())
        .collect();
    content_units(&verb).into_iter().next()
}

/// The passage sentence closest to `sentence` when that one gives the same instruction for
/// another purpose: both open with a purpose clause, and the passage's neither has the
/// sentence's verb nor uses it anywhere else.
pub(super) fn other_purpose(sentence: &str, passage: &str) -> Option<String> {
    let verb = purpose_verb(sentence)?;
    let closest = closest_sentence(sentence, passage)?;
    let theirs = purpose_verb(&closest)?;
    let differs = !same_word(&verb, &theirs) && !content_units(&closest).iter().any(|unit| same_word(unit, &verb));
    differs.then_some(closest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTNAME: &str = "This file should contain only the system hostname, not a fully qualified domain \
                            name. To print out the current hostname run hostname(1) without an argument.";

    /// Before: "How can I change the hostname?" was answered with the instruction for
    /// printing it, cited.
    #[test]
    fn an_instruction_given_for_another_purpose_conflicts() {
        let answer = "To change the hostname, you can use the `hostname(1)` command without an argument [3].";
        assert_eq!(
            other_purpose(answer, HOSTNAME).as_deref(),
            Some("To print out the current hostname run hostname(1) without an argument.")
        );
        assert_eq!(
            super::super::conflict(answer.trim_end_matches(" [3]."), HOSTNAME),
            Some(super::super::Conflict::Purpose(
                "To print out the current hostname run hostname(1) without an argument.".to_owned()
            ))
        );
    }

    #[test]
    fn the_same_purpose_in_other_forms_holds() {
        for answer in [
            "To print the current hostname, run hostname(1) without an argument.",
            "To print out the hostname run `hostname` without arguments.",
            "In order to print the current hostname, run hostname(1).",
        ] {
            assert_eq!(other_purpose(answer, HOSTNAME), None, "{answer}");
        }
    }

    #[test]
    fn a_sentence_or_passage_without_a_purpose_clause_is_not_judged() {
        let passage = "systemctl status $unit shows the status of a unit.";
        assert_eq!(
            other_purpose("To check a service, run systemctl status $unit.", passage),
            None
        );
        assert_eq!(other_purpose("Run hostname(1) without an argument.", HOSTNAME), None);
        // "To do so" has no verb of its own to compare.
        assert_eq!(
            other_purpose("To do so, run hostname(1) without an argument.", HOSTNAME),
            None
        );
    }

    /// A verb the passage sentence uses elsewhere is not a swapped purpose.
    #[test]
    fn a_verb_the_passage_sentence_uses_elsewhere_holds() {
        let passage = "To see which units failed, list them with systemctl --failed.";
        assert_eq!(
            other_purpose("To list the failed units, run systemctl --failed.", passage),
            None
        );
    }
}
