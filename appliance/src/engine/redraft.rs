//! The second draft (`answer_redraft`, on by default: README, Trust). When the generated
//! answer fails its check but passage sentences cover the question, the model is asked
//! again, shown only those sentences (the ones an extract would quote, under their headings
//! and with their passages' own numbers). Given whole passages, the small model often
//! answers from the row next to the one that answers, restates the question, or answers a
//! neighbouring question; given the sentence that answers, it mostly says what that
//! sentence says. The draft goes through the same check against the whole passages
//! (`citing`); when it fails too, the answer is the extract, as without a second draft.
//! A first draft that contradicted its passage gets none (`answer`): the model misread the
//! passage, and shown the same sentences it misreads them again.

use std::collections::HashSet;
use std::time::Instant;

use llm::check;
use llm::prompt::{NOT_FOUND_MARKER, numbered_copy_sources, numbered_messages};
use llm::{GenerationEvent, GenerationRequest};
use retrieval::KeywordStore;

use tokio::sync::mpsc::UnboundedSender;

use super::Engine;
use super::answer::{Answer, AnswerEvent, Fallback};
use super::citing::set_aside;
use super::extract::{best_sentences, candidate_sentences};
use crate::Result;

impl Engine {
    /// Asks the generator again over the sentences an extract would quote and checks its
    /// draft as the first one was. Returns whether `answer` now holds that checked draft.
    /// When it does not, `answer` is as the first check left it, the second draft's
    /// sentences added to the rejected ones, ready for [`Engine::extract`].
    pub(super) async fn redraft(
        &self,
        question: &str,
        retrieval_query: &str,
        answer: &mut Answer,
        first: &Fallback,
        asker: Option<&UnboundedSender<AnswerEvent>>,
    ) -> Result<bool> {
        let texts: Vec<String> = answer.sources.iter().map(|hit| hit.text.clone()).collect();
        let keyword = self.keyword.clone();
        let query = retrieval_query.to_owned();
        let asked = question.to_owned();
        let shown = tokio::task::spawn_blocking(move || -> retrieval::Result<_> {
            let passages: Vec<&str> = texts.iter().map(String::as_str).collect();
            let shown = under_headings(&passages, best_sentences(keyword.as_ref(), &query, &passages)?);
            let text = shown
                .iter()
                .map(|(_, text)| text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let worth_asking = !shown.is_empty() && shows_what_is_asked(keyword.as_ref(), &asked, &text);
            Ok(worth_asking.then_some((shown, text)))
        })
        .await??;
        let Some((shown, shown_text)) = shown else {
            return Ok(false);
        };
        let system_text = self.system_prompt().await?.text;
        let models = self.models.clone();
        let settings = self.settings.clone();
        let owned_question = question.to_owned();
        let wait_limit = std::time::Duration::from_secs(settings.generator_wait_seconds);
        // The second draft streams nothing, but stops when the asker has left, as the first does.
        let asker = asker.cloned();
        let drafted = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<(String, usize)>> {
            let Ok(generator) = models.generator() else {
                return Ok(None);
            };
            let passages: Vec<(usize, &str)> = shown.iter().map(|(number, text)| (*number, text.as_str())).collect();
            let request = GenerationRequest {
                messages: numbered_messages(&system_text, &owned_question, &passages),
                max_tokens: settings.answer_max_tokens,
                stop: vec![NOT_FOUND_MARKER.to_owned()],
                copy_from: numbered_copy_sources(&owned_question, &passages),
                copy_bias: settings.answer_copy_bias,
            };
            let queued_at = Instant::now();
            let (mut raw, mut busy) = (String::new(), false);
            let generated = generator.generate(&request, &mut |event| match event {
                _ if asker.as_ref().is_some_and(UnboundedSender::is_closed) => false,
                GenerationEvent::Queued { .. } if queued_at.elapsed() > wait_limit => {
                    busy = true;
                    false
                }
                GenerationEvent::Text(piece) => {
                    raw.push_str(piece);
                    true
                }
                _ => true,
            });
            match generated {
                Err(llm::Error::Cancelled) if busy => Ok(None),
                Err(error) => Err(error.into()),
                Ok(stats) if stats.hit_stop_string => Ok(None),
                Ok(stats) => Ok(Some((raw, stats.generated_tokens))),
            }
        })
        .await??;
        let Some((raw, generated_tokens)) = drafted else {
            return Ok(false);
        };
        answer.generated_tokens += generated_tokens;
        let draft = raw.trim();
        if draft.is_empty() || draft.contains(NOT_FOUND_MARKER) {
            return Ok(false);
        }
        let before = answer.clone();
        let held = self.cite(question, retrieval_query, draft, answer).await?.is_none();
        let problem = if !held {
            None
        } else if is_fragment(answer) {
            // A bare fragment of the one sentence shown ("1 [2]" for "journald 的日志会保存多久？",
            // which no document answers) passes the first check, which judges a fragment as
            // the sentence it comes from; that sentence, quoted whole, is the better answer.
            Some("the second draft is a fragment of the sentences shown")
        } else if adds_to_what_it_was_shown(answer, &shown_text, question) {
            // "The knowledge assistant uploads documents to the assistant via a web
            // interface [1]." holds enough of its passage's words to pass, and says what
            // neither the sentence shown nor the question does.
            Some("the second draft says what the sentences shown do not")
        } else {
            answer.redraft_reason = Some(first.reason.clone());
            answer.rejected.splice(0..0, before.rejected);
            return Ok(true);
        };
        let second = std::mem::replace(answer, before);
        answer.rejected.extend(second.rejected);
        if let Some(problem) = problem {
            set_aside(answer, &second.sentences, problem);
        }
        Ok(false)
    }
}

/// Whether the sentences shown hold a keyword term of what the question asks, apart from
/// the condition it is asked under. Shown only "管理员可以上传 …" and "每份文档只对指定的用户组
/// 可见 …" for "文档上传后谁可以阅读？", which name the upload but not the reading, the model
/// answered "文档上传后，管理员可以阅读 [1]。": the question's own predicate given the subject
/// of the sentence about the condition. Every word of it stands in the question or the
/// sentences shown, so no check of the draft tells it from a restatement; the extract shows
/// those sentences as what they are.
fn shows_what_is_asked(keyword: &dyn KeywordStore, question: &str, shown: &str) -> bool {
    let Some((asked, _)) = check::asked_and_condition(question) else {
        return true;
    };
    let terms = keyword.content_terms(&asked);
    let said: HashSet<String> = keyword.tokens(shown).into_iter().collect();
    terms.is_empty() || terms.iter().any(|term| said.contains(term))
}

/// Fewest content words (a Chinese character counts as one) that a second draft must hold
/// to be a sentence rather than a fragment of the one it was shown.
const MIN_REDRAFT_WORDS: usize = 3;

/// Whether the checked answer is too short to be more than a fragment.
fn is_fragment(answer: &Answer) -> bool {
    let words: usize = answer
        .sentences
        .iter()
        .map(|sentence| check::content_units(&sentence.text).len())
        .sum();
    words < MIN_REDRAFT_WORDS
}

/// Most content words (a Chinese character counts as one) that a sentence of a second
/// draft may hold that neither the sentences shown nor the question has: a rephrasing
/// ("as an argument to the kernel" for "to the kernel boot parameter") needs one.
const MAX_NEW_WORDS: usize = 1;

/// Whether a sentence of the checked answer says more than the model was shown and asked.
fn adds_to_what_it_was_shown(answer: &Answer, shown: &str, question: &str) -> bool {
    let given = format!("{shown} {question}");
    answer
        .sentences
        .iter()
        .any(|sentence| check::words_not_in(&sentence.text, &given).len() > MAX_NEW_WORDS)
}

/// The `chosen` sentences grouped by passage, in order, each passage's under the heading
/// the first of them stands under: what the second draft is shown.
fn under_headings(passages: &[&str], chosen: Vec<(usize, String)>) -> Vec<(usize, String)> {
    let candidates = candidate_sentences(passages);
    let mut shown: Vec<(usize, String)> = Vec::new();
    for (number, sentence) in chosen {
        match shown.last_mut() {
            Some((last, text)) if *last == number => {
                text.push(' ');
                text.push_str(&sentence);
            }
            _ => {
                let heading = candidates
                    .iter()
                    .find(|candidate| candidate.passage == number && candidate.sentence == sentence)
                    .map(|candidate| candidate.heading.as_str())
                    .unwrap_or_default();
                let text = if heading.is_empty() {
                    sentence
                } else {
                    format!("{heading}\n{sentence}")
                };
                shown.push((number, text));
            }
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use llm::citations::SentenceSupport;

    use super::*;

    fn answer_saying(sentences: &[&str]) -> Answer {
        let mut answer = Answer::pending(1.0);
        answer.sentences = sentences
            .iter()
            .map(|text| SentenceSupport::quoted((*text).to_owned(), 1))
            .collect();
        answer
    }

    /// Before: "Who uploads documents to the assistant?", shown the welcome page's first
    /// sentence, was answered "The knowledge assistant uploads documents to the assistant via
    /// a web interface [1].": enough of the passage's words to pass, and wrong.
    #[test]
    fn regression_a_second_draft_said_what_it_was_not_shown() {
        let shown = "This appliance searches your company's documents and answers questions from them, \
                     citing the page each answer comes from.";
        let question = "Who uploads documents to the assistant?";
        let invented =
            answer_saying(&["The knowledge assistant uploads documents to the assistant via a web interface."]);
        assert!(adds_to_what_it_was_shown(&invented, shown, question));
        let said = answer_saying(&["This appliance searches your company's documents."]);
        assert!(!adds_to_what_it_was_shown(&said, shown, question));
        // One word of rephrasing is allowed.
        let shown = "You can interrupt this part of the boot process to gain root shell by providing \
                     \"break=init\" etc. to the kernel boot parameter.";
        let question = "How do I get a root shell during the initramfs stage of booting?";
        let rephrased = answer_saying(&[
            "To get a root shell during the initramfs stage of booting, you can provide \"break=init\" as an \
             argument to the kernel.",
        ]);
        assert!(!adds_to_what_it_was_shown(&rephrased, shown, question));
        // Chinese counts characters: "数字" is in neither the row shown nor the question.
        let shown = "- | 没有所有者信任签名/没有计算e | 信任计算失败q | 没有足够的信息用于计算n | 从不信任这个键m";
        let invented = answer_saying(&["GnuPG 信任码 n 是用于计算签名的数字。"]);
        assert!(adds_to_what_it_was_shown(
            &invented,
            shown,
            "GnuPG 信任码 n 是什么意思？"
        ));
    }

    #[test]
    fn a_second_draft_of_fewer_than_three_words_is_a_fragment() {
        assert!(is_fragment(&answer_saying(&["1"])));
        assert!(is_fragment(&answer_saying(&["11 digits"])));
        assert!(!is_fragment(&answer_saying(&["Debian 8 Jessie was released in 2015."])));
        assert!(!is_fragment(&answer_saying(&["在“问答”页输入问题。"])));
    }

    #[test]
    fn the_second_draft_sees_each_sentence_under_its_heading_with_its_passage_number() {
        let passages = [
            "Unrelated.",
            "# Asking questions\n\nType a question in the Ask tab. The answer cites its sources.",
        ];
        let shown = under_headings(
            &passages,
            vec![
                (2, "Type a question in the Ask tab.".to_owned()),
                (2, "The answer cites its sources.".to_owned()),
            ],
        );
        assert_eq!(
            shown,
            vec![(
                2,
                "Asking questions\nType a question in the Ask tab. The answer cites its sources.".to_owned()
            )]
        );
        let shown = under_headings(&passages, vec![(1, "Unrelated.".to_owned())]);
        assert_eq!(shown, vec![(1, "Unrelated.".to_owned())]);
    }
}
