//! Citing and checking: each sentence of an answer is checked against the passages it
//! cites, re-cited to the passage that supports it best, and then read for meaning
//! ([`llm::check`]): a sentence that contradicts its passage discards the answer, one that
//! only restates the question or repeats the prompt is dropped. A yes/no question gets the
//! yes or no its supporting sentence gives. When nothing generated holds, the answer is an
//! extract: the passages' own sentences, quoted, cited and labelled; it is refused only when
//! no passage sentence covers the question. The extract is also the answer when no
//! generator is free in time.

use std::collections::HashSet;

use llm::check;
use llm::citations::{
    SentenceSupport, drop_dangling_markers, keep_quoted_markers, neutralize_markers, render_verified, verify_sentences,
};
use llm::prompt::{DEFAULT_SYSTEM_PROMPT, answer_instruction, is_chinese};

use super::Engine;
use super::answer::{Answer, Citation, Fallback};
use super::extract::{best_sentences, extract_label};
use super::quote_checks::{
    ScoredPassages, copies_a_table, covers_like_a_quote, judged_sentences, names_from_weaker_sentences,
    quotes_a_weaker_command,
};
use super::script::{all_simplified, in_script};
use crate::Result;

/// Why an answer falls back when it holds up sentence by sentence but answers something else.
const NOT_WHAT_IS_ASKED: &str = "the generated answer does not speak of what the question asks";

/// Share of a sentence's words (or Chinese characters) that must occur in a passage for the
/// passage to count as supporting it.
const SUPPORT_OVERLAP: f32 = 0.5;
/// Sentences below [`SUPPORT_OVERLAP`] but at least this share of words in their passage are
/// checked for meaning instead.
const PARAPHRASE_MIN_OVERLAP: f32 = 0.25;
/// e5 similarity from which a paraphrase counts as supported. e5-small's scores are
/// compressed (unrelated text scores about 0.7-0.8, a false claim on the same topic 0.86,
/// restatements 0.89-0.92: `llm/tests/integration/e5_parity.rs`); set on those cases, not
/// calibrated on a labelled set.
const PARAPHRASE_SIMILARITY: f32 = 0.88;

impl Engine {
    /// Checks the generated `text` sentence by sentence against the passages it cites and
    /// fills in the answer, its sentences and its citations. When a sentence contradicts its
    /// passage, or none is supported, or the answer does not answer what is asked, the
    /// answer is left unfilled and the reason returned: the caller falls back to a second
    /// draft or to a cited extract of the passages ([`Engine::extract`]).
    pub(super) async fn cite(
        &self,
        question: &str,
        retrieval_query: &str,
        text: &str,
        answer: &mut Answer,
    ) -> Result<Option<Fallback>> {
        let passages: Vec<String> = answer.sources.iter().map(|hit| hit.text.clone()).collect();
        let passages: Vec<&str> = passages.iter().map(String::as_str).collect();
        // The question too is read in the passages' script: "數據會離開伺服器嗎？" is answered
        // no by "所有数据都留在本服务器上" only once its 離開 is the 离开 that 留在 contradicts.
        let simplified = all_simplified(&passages);
        let question = &*in_script(question, simplified);
        let text = in_script(text, simplified);
        let cleaned = drop_dangling_markers(&keep_quoted_markers(&text, &passages), passages.len());
        let yes_no = check::is_yes_no_question(question);
        let (lead, body) = if yes_no {
            check::split_yes_no(&cleaned)
        } else {
            (None, cleaned.as_str())
        };
        let mut sentences = verify_sentences(body, &passages, SUPPORT_OVERLAP);
        self.check_paraphrases(&mut sentences, &passages).await?;
        let contradiction = review(question, &mut sentences, &passages);
        let (accepted, rejected): (Vec<SentenceSupport>, Vec<SentenceSupport>) =
            sentences.into_iter().partition(|sentence| sentence.supported);
        answer.rejected = rejected;
        if let Some((conflict, sentence)) = contradiction {
            let lead = contradicted_lead(question, &conflict, &sentence).or(lead);
            let reason = conflict.to_string();
            set_aside(answer, &accepted, &reason);
            let contradicted = matches!(conflict, check::Conflict::Polarity(_));
            return Ok(Some(Fallback {
                reason,
                lead,
                contradicted,
            }));
        }
        if accepted.is_empty() {
            let reason = "no sentence of the generated answer is supported by a passage";
            return Ok(Some(Fallback::new(reason, lead)));
        }
        if !yes_no && self.only_answers_condition(question, &accepted) {
            let reason = "the generated answer speaks of the question's condition, not of what it asks";
            set_aside(answer, &accepted, reason);
            return Ok(Some(Fallback::new(reason, lead)));
        }
        if !yes_no {
            let judged = judged_sentences(question, &accepted, &passages);
            let said: Vec<&str> = judged.iter().map(|sentence| sentence.text.as_str()).collect();
            let reason = if check::speaks_of_question(&said.join(" "), question) {
                self.coverage_problem(retrieval_query, &judged, answer).await?
            } else {
                Some(NOT_WHAT_IS_ASKED)
            };
            if let Some(reason) = reason {
                set_aside(answer, &accepted, reason);
                return Ok(Some(Fallback::new(reason, lead)));
            }
        }
        let mut accepted = accepted;
        let mut checked_lead = None;
        if yes_no {
            let says = accepted
                .iter()
                .find_map(|sentence| check::answers_yes(question, &sentence.text));
            match (lead, says) {
                (Some(model), Some(checked)) if model != checked => {
                    let reason = "the generated yes or no contradicts its own sentence";
                    set_aside(answer, &accepted, reason);
                    return Ok(Some(Fallback::new(reason, lead)));
                }
                (_, Some(checked)) => {
                    let first = &mut accepted[0];
                    let mut characters = first.text.chars();
                    first.text = characters
                        .next()
                        .map(|initial| initial.to_uppercase().chain(characters).collect())
                        .unwrap_or_default();
                    checked_lead = Some(checked);
                }
                // The model's yes or no is kept out when its sentences cannot confirm it.
                (_, None) => {}
            }
        }
        self.fill(answer, accepted);
        if let Some(yes) = checked_lead {
            set_lead(question, answer, yes);
        }
        Ok(None)
    }

    /// Whether `sentences` speak of the event `question` is conditioned on (the upload of
    /// "文档上传后谁可以阅读？": its condition's last term) and hold no term of what it asks.
    /// The condition's other terms name the question's topic ("文档"), which a right answer
    /// shares; an answer sharing no term with either part (a bare "11:30") is not judged.
    fn only_answers_condition(&self, question: &str, sentences: &[SentenceSupport]) -> bool {
        let Some((asked, condition)) = check::asked_and_condition(question) else {
            return false;
        };
        let Some(event) = self.keyword.content_terms(&condition).pop() else {
            return false;
        };
        let said: HashSet<String> = sentences
            .iter()
            .flat_map(|sentence| self.keyword.tokens(&sentence.text))
            .collect();
        said.contains(&event)
            && !self
                .keyword
                .content_terms(&asked)
                .iter()
                .any(|term| said.contains(term))
    }

    /// Why the `accepted` sentences do not answer the question as a quote would, if they do
    /// not. Each sentence, with the heading it stands under, must cover the question's
    /// weighted terms as a quote must ([`covers_like_a_quote`]): copied table rows holding
    /// the question's common words ("file", "size") but none of its rare ones ("maximum",
    /// "upload") do not answer "What is the maximum file size I can upload?". And a command
    /// must come from the passage's line that answers best ([`quotes_a_weaker_command`]), a
    /// name it gives from a sentence that answers as well as the best
    /// ([`names_from_weaker_sentences`]), and an answer may not be a copy of the table it was
    /// drawn from ([`copies_a_table`]).
    async fn coverage_problem(
        &self,
        query: &str,
        accepted: &[SentenceSupport],
        answer: &Answer,
    ) -> Result<Option<&'static str>> {
        let sentences: Vec<(usize, String)> = accepted
            .iter()
            .flat_map(|sentence| sentence.cited.iter().map(|&number| (number, sentence.text.clone())))
            .collect();
        let passages: Vec<String> = answer.sources.iter().map(|hit| hit.text.clone()).collect();
        let headings: Vec<String> = answer.sources.iter().map(|hit| hit.heading.clone()).collect();
        let keyword = self.keyword.clone();
        let query = query.to_owned();
        let problem = tokio::task::spawn_blocking(move || {
            let sentences: Vec<(usize, &str)> = sentences
                .iter()
                .map(|(number, text)| (*number, text.as_str()))
                .collect();
            let passages: Vec<&str> = passages.iter().map(String::as_str).collect();
            let headings: Vec<&str> = headings.iter().map(String::as_str).collect();
            let scored = ScoredPassages::new(keyword.as_ref(), &query, &passages)?;
            if !covers_like_a_quote(keyword.as_ref(), &query, &scored, &sentences, &headings)? {
                return Ok(Some(NOT_WHAT_IS_ASKED));
            }
            if quotes_a_weaker_command(&scored, &sentences) {
                return Ok(Some(
                    "the generated answer quotes a command from a line that answers less of the question",
                ));
            }
            if names_from_weaker_sentences(&query, &scored, &sentences) {
                return Ok(Some(
                    "the generated answer names what a passage sentence that answers less of the question says",
                ));
            }
            Ok::<_, retrieval::Error>(
                copies_a_table(&scored, &sentences)
                    .then_some("the generated answer copies rows of a table that answer less of the question"),
            )
        })
        .await??;
        Ok(problem)
    }

    /// Sets the answer's text, sentences and citations from checked `sentences`.
    fn fill(&self, answer: &mut Answer, sentences: Vec<SentenceSupport>) {
        let mut numbers: Vec<usize> = Vec::new();
        for number in sentences.iter().flat_map(|sentence| sentence.cited.iter()) {
            if !numbers.contains(number) {
                numbers.push(*number);
            }
        }
        answer.answer = render_verified(&sentences);
        answer.sentences = sentences;
        answer.citations = numbers
            .into_iter()
            .map(|number| {
                let hit = &answer.sources[number - 1];
                Citation {
                    n: number,
                    document: hit.document.clone(),
                    document_id: hit.document_id.clone(),
                    version: hit.version,
                    title: hit.title.clone(),
                    page: hit.page,
                    passage: hit.text.clone(),
                    chunk_id: hit.chunk_id,
                }
            })
            .collect();
    }

    /// Second look at sentences whose words overlap their cited passage too little to count:
    /// a paraphrase close in meaning (e5 similarity) still counts as supported.
    async fn check_paraphrases(&self, sentences: &mut [SentenceSupport], passages: &[&str]) -> Result<()> {
        let pairs: Vec<(usize, String, String)> = sentences
            .iter()
            .enumerate()
            .filter(|(_, sentence)| {
                !sentence.supported && !sentence.cited.is_empty() && sentence.overlap >= PARAPHRASE_MIN_OVERLAP
            })
            .map(|(index, sentence)| (index, sentence.text.clone(), passages[sentence.cited[0] - 1].to_owned()))
            .collect();
        if pairs.is_empty() {
            return Ok(());
        }
        let models = self.models.clone();
        let similarities = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<(usize, f32)>> {
            let embedder = models.embedder()?;
            pairs
                .iter()
                .map(|(index, sentence, passage)| {
                    let vectors = embedder.embed_passages(&[sentence.as_str(), passage.as_str()])?;
                    Ok((*index, llm::e5::cosine(&vectors[0], &vectors[1])))
                })
                .collect()
        })
        .await??;
        for (index, similarity) in similarities {
            sentences[index].similarity = Some(similarity);
            sentences[index].supported = similarity >= PARAPHRASE_SIMILARITY;
        }
        Ok(())
    }

    /// The extractive fallback: the passages' sentences that cover most of the question,
    /// quoted, cited and labelled as an extract; a refusal when no sentence covers enough
    /// of it. Used when no generator answers in time and when the generated answer fails
    /// its check (`reason`).
    ///
    /// A yes/no question's extract leads with a yes or no when an extracted sentence gives
    /// that answer and the model's own `model_lead` does not say otherwise ([`extract_lead`]).
    pub(super) async fn extract(
        &self,
        question: &str,
        retrieval_query: &str,
        answer: &mut Answer,
        reason: &str,
        model_lead: Option<bool>,
    ) -> Result<()> {
        let keyword = self.keyword.clone();
        let query = retrieval_query.to_owned();
        let texts: Vec<String> = answer.sources.iter().map(|hit| hit.text.clone()).collect();
        let passages: Vec<&str> = texts.iter().map(String::as_str).collect();
        let question = &*in_script(question, all_simplified(&passages));
        let chosen = tokio::task::spawn_blocking(move || {
            let passages: Vec<&str> = texts.iter().map(String::as_str).collect();
            best_sentences(keyword.as_ref(), &query, &passages)
        })
        .await??;
        answer.extractive = true;
        answer.extract_reason = Some(reason.to_owned());
        if chosen.is_empty() {
            self.refuse(answer, question, "no passage sentence covers enough of the question");
            return Ok(());
        }
        let sentences = chosen
            .into_iter()
            .map(|(number, sentence)| SentenceSupport::quoted(neutralize_markers(&sentence), number))
            .collect();
        self.fill(answer, sentences);
        let label = extract_label(question);
        answer.answer = format!("{label}{}", answer.answer);
        answer.extract_label = Some(label.trim_end().to_owned());
        if check::is_yes_no_question(question) {
            // A draft the quote contradicts says the opposite of the passage, whatever yes or
            // no the model put in front of it.
            let model_lead = contradicted_by_quote(question, &answer.rejected, &answer.sentences).or(model_lead);
            if let Some(yes) = extract_lead(question, &answer.sentences, model_lead) {
                set_lead(question, answer, yes);
            }
        }
        Ok(())
    }
}

/// Share of a yes/no question's words an extracted sentence must hold for its "no" to lead
/// the extract when the model said no too: two readings, made independently, that agree.
/// The same share checks a generated sentence's yes or no.
const AGREED_NO_COVERAGE: f32 = 0.5;

/// The yes or no an extract of a yes/no question leads with. The first extracted sentence
/// that holds every word of the question gives it, unless the model said the opposite. One
/// that holds only half of them may give a "no" the model also gave, and only a "no": its
/// own negation says it ("no internet connection is used"), whereas a missing word can turn
/// a plain sentence into a false "yes" ("Enable draft mode" for "Is draft mode on by
/// default?", "rsyslogd may be uninstalled" for "Is rsyslogd required?").
fn extract_lead(question: &str, sentences: &[SentenceSupport], model_lead: Option<bool>) -> Option<bool> {
    let reading = |minimum: f32| {
        sentences
            .iter()
            .find_map(|sentence| check::answers_yes_covering(question, &sentence.text, minimum))
    };
    match (reading(1.0), model_lead) {
        (Some(yes), None) => Some(yes),
        (Some(yes), Some(model)) => (yes == model).then_some(yes),
        (None, Some(false)) if check::negation_count(question) == 0 => reading(AGREED_NO_COVERAGE).filter(|&yes| !yes),
        (None, _) => None,
    }
}

/// The answer a yes/no question gets from a generated sentence its passage contradicts: the
/// opposite of what that sentence says. "Does the appliance connect to the internet?"
/// drafted "The appliance connects to the internet.", which "no internet connection is
/// used" contradicts, so the passage says no, whatever yes or no the model put in front.
/// The extract still leads with it only if its own sentence reads the same way
/// ([`extract_lead`]).
fn contradicted_lead(question: &str, conflict: &check::Conflict, sentence: &str) -> Option<bool> {
    // A wrong number or name says nothing about the opposite being true.
    let check::Conflict::Polarity(_) = conflict else {
        return None;
    };
    check::answers_yes(question, sentence).map(|says| !says)
}

/// The yes or no a left-out draft sentence implies by contradicting a quoted one
/// ([`contradicted_lead`]). A draft that restates the question ("Yes, the twoside option
/// makes the printer print on both sides of the paper.") cites nothing, so it is checked
/// against the passage whose words it shares most, often not the one that answers; here it
/// meets the sentence that does ("The option twoside does not tell the printer to actually
/// make a two-sided printout").
fn contradicted_by_quote(question: &str, drafts: &[SentenceSupport], quoted: &[SentenceSupport]) -> Option<bool> {
    drafts.iter().find_map(|draft| {
        quoted.iter().find_map(|quote| {
            let conflict = check::conflict(&draft.text, &quote.text)?;
            contradicted_lead(question, &conflict, &draft.text)
        })
    })
}

/// Adds the sentences that held up one by one to the answer's rejected ones, with the
/// reason the answer as a whole did not, when it falls back: a reviewer sees the whole
/// draft, not only the sentences that failed alone.
pub(super) fn set_aside(answer: &mut Answer, accepted: &[SentenceSupport], reason: &str) {
    answer.rejected.extend(accepted.iter().map(|sentence| SentenceSupport {
        supported: false,
        problem: Some(format!("the answer as a whole: {reason}")),
        ..sentence.clone()
    }));
}

/// Puts the checked yes or no in front of the answer (and in `lead`, for the chat page).
fn set_lead(question: &str, answer: &mut Answer, yes: bool) {
    let lead = check::yes_no_lead(question, yes);
    let joiner = if is_chinese(question) { "" } else { " " };
    answer.answer = format!("{lead}{joiner}{}", answer.answer);
    answer.yes_no = Some(yes);
    answer.lead = Some(lead);
}

/// Marks the sentences that match their passage's words but not its meaning: they
/// contradict it (polarity, a number, a name), restate the question, repeat the prompt, or
/// lost their key word. Returns the first contradiction and its sentence: it discards the
/// whole answer.
fn review(question: &str, sentences: &mut [SentenceSupport], passages: &[&str]) -> Option<(check::Conflict, String)> {
    let instruction = answer_instruction(question);
    let instructions = [instruction.as_str(), DEFAULT_SYSTEM_PROMPT];
    // "Yes. Administrators can upload PDF files." restates the question, and rightly.
    let yes_no = check::is_yes_no_question(question);
    let mut contradiction = None;
    for sentence in sentences.iter_mut() {
        let stripped = check::without_lead_in(&sentence.text);
        if stripped.len() != sentence.text.len() {
            sentence.text = stripped.replace(['"', '“', '”'], "");
        }
        // A contradiction first: it discards the whole answer, whatever else is wrong.
        let conflict = sentence
            .cited
            .iter()
            .find_map(|number| check::conflict(&sentence.text, passages[number - 1]));
        let problem = if let Some(conflict) = conflict {
            let problem = conflict.to_string();
            contradiction.get_or_insert_with(|| (conflict, sentence.text.clone()));
            Some(problem)
        } else if let Some(blank) = check::unfilled_blank(&sentence.text, passages) {
            Some(format!("leaves a blank, {blank}, that no passage fills"))
        } else if check::echoes_instructions(&sentence.text, &instructions) {
            Some("repeats the prompt's instruction".to_owned())
        } else if check::is_incomplete(&sentence.text) {
            Some("lost the word it is about".to_owned())
        } else if !yes_no && !check::adds_to_question(&sentence.text, question) {
            Some("only restates the question".to_owned())
        } else if let Some(word) = yes_no
            .then(|| missing_word(&sentence.text, &sentence.cited, passages))
            .flatten()
        {
            Some(format!("says \"{word}\", which its passage does not"))
        } else if !sentence.cited.is_empty()
            && !sentence
                .cited
                .iter()
                .any(|number| check::keeps_subject(&sentence.text, question, passages[number - 1]))
        {
            Some("its passage is not about what it says".to_owned())
        } else {
            None
        };
        if problem.is_some() {
            sentence.supported = false;
            sentence.problem = problem;
        }
    }
    contradiction
}

/// A word of `sentence` that none of the passages it cites has. A yes or no restates the
/// question, so every word of it must be in a passage.
fn missing_word(sentence: &str, cited: &[usize], passages: &[&str]) -> Option<String> {
    let mut first = None;
    for number in cited {
        match check::words_not_in(sentence, passages[number - 1]).into_iter().next() {
            None => return None,
            Some(word) => {
                first.get_or_insert(word);
            }
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(text: &str) -> Vec<SentenceSupport> {
        vec![SentenceSupport::quoted(text.to_owned(), 1)]
    }

    /// Before: "Does the twoside option make the printer print on both sides of the paper?"
    /// got a bare extract of the sentence that says it does not. The model's restatement of
    /// the question, citing nothing, had been checked against another passage.
    #[test]
    fn regression_a_restated_question_was_not_checked_against_the_quoted_sentence() {
        let question = "Does the twoside option make the printer print on both sides of the paper?";
        let quote = quoted("The option twoside does not tell the printer to actually make a two-sided printout.");
        let draft = quoted("the twoside option makes the printer print on both sides of the paper.");
        let lead = contradicted_by_quote(question, &draft, &quote);
        assert_eq!(lead, Some(false));
        assert_eq!(extract_lead(question, &quote, lead), Some(false));
        // The model's "Yes" in front of the draft is what the quote contradicts.
        assert_eq!(extract_lead(question, &quote, Some(true)), None, "before");
        let agreeing = quoted("the twoside option does not make the printer print on both sides of the paper.");
        assert_eq!(
            contradicted_by_quote(question, &agreeing, &quote),
            None,
            "no contradiction"
        );
        assert_eq!(
            extract_lead(question, &quote, None),
            None,
            "the quote alone is not enough"
        );
    }

    /// Before: "Does the assistant need an internet connection?" got a bare extract, though
    /// the model said "No" and the quoted sentence says no connection is used.
    #[test]
    fn an_extract_leads_with_the_yes_or_no_its_sentence_and_the_model_agree_on() {
        let question = "Does the assistant need an internet connection?";
        let sentences = quoted("Nothing leaves this server: no internet connection is used.");
        assert_eq!(extract_lead(question, &sentences, Some(false)), Some(false));
        assert_eq!(extract_lead(question, &sentences, Some(true)), None, "they disagree");
        assert_eq!(
            extract_lead(question, &sentences, None),
            None,
            "half the question is not enough alone"
        );
    }

    /// Before: these extracts led with the model's "Yes", which their sentences, missing
    /// the question's key word, seemed to confirm.
    #[test]
    fn a_partial_sentence_never_confirms_a_yes() {
        for (question, sentence) in [
            ("Is draft mode on by default in fduthesis?", "Enable draft mode."),
            (
                "Is rsyslogd required on a systemd system?",
                "Under systemd, the system logging utility rsyslogd(8) may be uninstalled.",
            ),
        ] {
            assert_eq!(
                extract_lead(question, &quoted(sentence), Some(true)),
                None,
                "{question}"
            );
        }
    }

    /// Before: "Does the appliance connect to the internet?" got a bare extract: the draft
    /// "The appliance connects to the internet." was rightly rejected, but the extract's
    /// sentence lacks "appliance", so it could not give the "No" alone.
    #[test]
    fn regression_a_contradicted_yes_or_no_draft_gives_the_opposite_lead() {
        for (question, draft, passage, extracted) in [
            (
                "Does the appliance connect to the internet?",
                "The appliance connects to the internet.",
                "Nothing leaves this server: no internet connection is used.",
                "Nothing leaves this server: no internet connection is used.",
            ),
            (
                "数据会离开服务器吗？",
                "数据会离开服务器。",
                "所有数据都留在本服务器上，不连接互联网。",
                "所有数据都留在本服务器上，不连接互联网。",
            ),
        ] {
            let conflict = check::conflict(draft, passage).expect(question);
            let lead = contradicted_lead(question, &conflict, draft);
            assert_eq!(lead, Some(false), "{question}");
            assert_eq!(
                extract_lead(question, &quoted(extracted), lead),
                Some(false),
                "{question}"
            );
        }
        let wrong_number = check::Conflict::Number("8 GB".to_owned());
        assert_eq!(
            contradicted_lead("Does it need 4 GB?", &wrong_number, "It needs 8 GB."),
            None,
            "a wrong number does not make the opposite true"
        );
    }

    #[test]
    fn an_extract_holding_the_whole_question_leads_unless_the_model_disagrees() {
        let question = "Can the init program path be changed by a kernel boot parameter?";
        let sentences = quoted(
            "The default path of the init program is /sbin/init but it can be changed by the kernel boot parameter.",
        );
        assert_eq!(extract_lead(question, &sentences, None), Some(true));
        assert_eq!(extract_lead(question, &sentences, Some(true)), Some(true));
        assert_eq!(extract_lead(question, &sentences, Some(false)), None);
    }
}
