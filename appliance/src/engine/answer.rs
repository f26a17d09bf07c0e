//! Questions in, grounded and cited answers out.
//!
//! Retrieval first (the sources are sent to the caller at once), then a refusal check on
//! the evidence, then generation over the numbered passages, then the check of every
//! sentence against its passage (`citing`). An answer that fails it falls back to an
//! extract, or, with `answer_redraft` on (the default), first to a second draft from the
//! passages' best sentences (`redraft`), checked the same way.

use std::time::Instant;

use llm::citations::SentenceSupport;
use llm::prompt::{NOT_FOUND_MARKER, copy_sources, grounded_messages, not_found_message};
use llm::{GenerationEvent, GenerationRequest, GenerationStats};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc::UnboundedSender;

use super::extract::focused_passage;
use super::{Engine, Hit};
use crate::acl::Acl;
use crate::{Error, Result};

/// Passages whose sentences [`Engine::sentence_similarity`] compares with a question.
const SENTENCE_PASSAGES: usize = 3;

/// Most sentences embedded for one question (they are short, a few milliseconds each).
const MAX_SIMILARITY_SENTENCES: usize = 60;

/// A passage an answer cites.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Citation {
    /// The marker number in the answer text.
    pub n: usize,
    pub document: String,
    pub document_id: String,
    pub version: i64,
    pub title: String,
    pub page: u32,
    pub passage: String,
    pub chunk_id: u64,
}

/// The final answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Answer {
    pub answer: String,
    pub citations: Vec<Citation>,
    pub refused: bool,
    /// Why the answer was refused, if it was.
    pub refusal_reason: Option<String>,
    /// Each sentence of the answer with the passages it cites and whether they support it.
    #[schema(value_type = Vec<Object>)]
    pub sentences: Vec<SentenceSupport>,
    /// Generated sentences left out of the answer, each with why (`problem`, or no support);
    /// when the answer as a whole fell back, also those that held up alone.
    #[schema(value_type = Vec<Object>)]
    pub rejected: Vec<SentenceSupport>,
    /// The passages the model saw, numbered from 1.
    pub sources: Vec<Hit>,
    pub model: String,
    pub prompt_sha256: String,
    /// The admin-edited system prompt the model was given (0: the built-in one).
    pub system_prompt_version: i64,
    pub system_prompt_sha256: String,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prefill_tokens_per_second: f64,
    pub decode_tokens_per_second: f64,
    pub seconds_to_first_token: f64,
    pub seconds: f64,
    /// How much of the question the best passage covers (0 to 1, rare terms weigh more).
    pub evidence: f32,
    /// The answer is made of passage sentences, not generated.
    pub extractive: bool,
    /// Why the answer is an extract: no generator was free, or the generated answer failed
    /// its check.
    pub extract_reason: Option<String>,
    /// For a yes/no question, the checked yes (true) or no the answer leads with.
    pub yes_no: Option<bool>,
    /// That yes or no as the answer text starts with it ("No.", "不是。"); the sentences
    /// follow it.
    pub lead: Option<String>,
    /// For an extract, the label the answer text starts with after `lead`, in the
    /// question's language.
    pub extract_label: Option<String>,
    /// Why the first generated answer was set aside, when the answer is a second draft
    /// written from the passages' best sentences alone.
    pub redraft_reason: Option<String>,
}

/// What a caller sees while an answer is produced.
#[derive(Debug, Clone)]
pub enum AnswerEvent {
    /// Retrieval finished: the passages the answer will be based on.
    Sources(Vec<Hit>),
    /// Waiting for the generator: this many questions are ahead.
    Queued { ahead: usize },
    /// Generation started (the model is loaded and the prompt is being read).
    Generating,
    /// A piece of generated text.
    Token(String),
}

impl Answer {
    /// An answer not yet produced, for `evidence`.
    pub(crate) fn pending(evidence: f32) -> Self {
        Self {
            answer: String::new(),
            citations: Vec::new(),
            refused: false,
            refusal_reason: None,
            sentences: Vec::new(),
            rejected: Vec::new(),
            sources: Vec::new(),
            model: String::new(),
            prompt_sha256: String::new(),
            system_prompt_version: 0,
            system_prompt_sha256: String::new(),
            prompt_tokens: 0,
            generated_tokens: 0,
            prefill_tokens_per_second: 0.0,
            decode_tokens_per_second: 0.0,
            seconds_to_first_token: 0.0,
            seconds: 0.0,
            evidence,
            extractive: false,
            extract_reason: None,
            yes_no: None,
            lead: None,
            extract_label: None,
            redraft_reason: None,
        }
    }

    /// The documents the answer cites, each once, in order of first citation.
    pub fn cited_documents(&self) -> Vec<&str> {
        let mut documents: Vec<&str> = Vec::new();
        for citation in &self.citations {
            if !documents.contains(&citation.document_id.as_str()) {
                documents.push(&citation.document_id);
            }
        }
        documents
    }
}

impl Engine {
    /// Answers `question` from what `acl` may read, streaming progress to `events`.
    pub async fn ask(
        &self,
        question: &str,
        acl: &Acl,
        actor: &str,
        events: Option<UnboundedSender<AnswerEvent>>,
    ) -> Result<Answer> {
        self.ask_with_query(question, question, acl, actor, events).await
    }

    /// Like [`Engine::ask`], retrieving with `retrieval_query` (a follow-up question
    /// joined with the one before it, so "and on weekends?" still finds its passages).
    ///
    /// Every question is audited, also one whose generation failed or was cancelled after
    /// its sources were already sent.
    pub async fn ask_with_query(
        &self,
        question: &str,
        retrieval_query: &str,
        acl: &Acl,
        actor: &str,
        events: Option<UnboundedSender<AnswerEvent>>,
    ) -> Result<Answer> {
        let started = Instant::now();
        let mut answer = Answer::pending(0.0);
        let result = self
            .answer_into(question, retrieval_query, acl, events, started, &mut answer)
            .await;
        answer.seconds = started.elapsed().as_secs_f64();
        if result.is_ok() {
            crate::metrics::metrics().answer(&answer);
        }
        let chunk_ids: Vec<u64> = answer.sources.iter().map(|hit| hit.chunk_id).collect();
        let cited: Vec<u64> = answer.citations.iter().map(|citation| citation.chunk_id).collect();
        let mut detail = serde_json::json!({
            "question": question,
            "answer": answer.answer,
            "refused": answer.refused,
            "retrieved_chunks": chunk_ids,
            "cited_chunks": cited,
            "cited_documents": answer.cited_documents(),
            "seconds": answer.seconds,
            "evidence": answer.evidence,
            "model": answer.model,
            "prompt_sha256": answer.prompt_sha256,
            "system_prompt_version": answer.system_prompt_version,
            "system_prompt_sha256": answer.system_prompt_sha256,
        });
        if let Err(error) = &result {
            let cancelled = matches!(error, Error::Internal(inner)
                if matches!(inner.downcast_ref::<llm::Error>(), Some(llm::Error::Cancelled)));
            detail["answer"] = serde_json::Value::Null;
            detail["failed"] = serde_json::json!(if cancelled { "cancelled" } else { "error" });
            if !cancelled {
                detail["error"] = serde_json::json!(format!("{error:#}"));
            }
        }
        crate::store::audit::append(&self.store, actor, "question", detail).await?;
        result.map(|()| answer)
    }

    async fn answer_into(
        &self,
        question: &str,
        retrieval_query: &str,
        acl: &Acl,
        events: Option<UnboundedSender<AnswerEvent>>,
        started: Instant,
        answer: &mut Answer,
    ) -> Result<()> {
        let (hits, evidence) = self.evidence(retrieval_query, acl).await?;
        if let Some(events) = &events {
            let _ = events.send(AnswerEvent::Sources(hits.clone()));
        }
        answer.evidence = evidence;
        let weak_evidence = hits.iter().all(|hit| {
            hit.keyword_rank.is_none() && hit.dense_score.unwrap_or(0.0) < self.settings.refuse_below_similarity
        });
        if hits.is_empty() || weak_evidence {
            answer.sources = hits;
            self.refuse(
                answer,
                question,
                "the knowledge base has no passage close to the question",
            );
        } else if self.thin_evidence(question, evidence, &hits).await? {
            answer.sources = hits;
            self.refuse(answer, question, "no passage contains enough of the question's terms");
        } else {
            answer.sources = hits.clone();
            self.generate(question, retrieval_query, hits, answer, events, started)
                .await?;
        }
        Ok(())
    }

    /// The passages an answer to `query` would be based on, and the evidence they hold:
    /// the best passage's [`retrieval::KeywordStore::coverage`] of the query.
    pub async fn evidence(&self, query: &str, acl: &Acl) -> Result<(Vec<Hit>, f32)> {
        let hits = self.search(query, acl, self.settings.answer_passages).await?;
        let keyword = self.keyword.clone();
        let owned_query = query.to_owned();
        let texts: Vec<String> = hits.iter().map(|hit| hit.text.clone()).collect();
        let evidence = tokio::task::spawn_blocking(move || {
            let passages: Vec<&str> = texts.iter().map(String::as_str).collect();
            keyword
                .coverage(&owned_query, &passages)
                .map(|coverage| coverage.into_iter().fold(0.0, f32::max))
        })
        .await??;
        Ok((hits, evidence))
    }

    /// Whether the passages hold too little of the question to answer it: below the evidence
    /// threshold of the question's language, and not close enough in meaning either, neither
    /// as a whole passage nor in any one sentence.
    async fn thin_evidence(&self, question: &str, evidence: f32, hits: &[Hit]) -> Result<bool> {
        let thresholds = self.settings.refusal_thresholds(question);
        let dense = hits.iter().filter_map(|hit| hit.dense_score).fold(0.0f32, f32::max);
        if evidence >= thresholds.evidence || dense >= thresholds.passage_similarity {
            return Ok(false);
        }
        Ok(self.sentence_similarity(question, hits).await? < thresholds.sentence_similarity)
    }

    /// How close in meaning `query` is to the closest single sentence (under its heading) of
    /// the first [`SENTENCE_PASSAGES`] hits. A short question answered by one sentence of a
    /// long passage ("who can read" by "visible only to the groups it is assigned to") shares
    /// few words with it, and the passage's own vector is diluted by everything else it says.
    pub async fn sentence_similarity(&self, query: &str, hits: &[Hit]) -> Result<f32> {
        let texts: Vec<String> = hits
            .iter()
            .take(SENTENCE_PASSAGES)
            .map(|hit| hit.text.clone())
            .collect();
        let models = self.models.clone();
        let owned_query = query.to_owned();
        let similarity = tokio::task::spawn_blocking(move || -> anyhow::Result<f32> {
            let passages: Vec<&str> = texts.iter().map(String::as_str).collect();
            let candidates = super::extract::candidate_sentences(&passages);
            let under_headings: Vec<String> = candidates
                .iter()
                .take(MAX_SIMILARITY_SENTENCES)
                .map(super::extract::Candidate::under_heading)
                .collect();
            let sentences: Vec<&str> = under_headings.iter().map(String::as_str).collect();
            if sentences.is_empty() {
                return Ok(0.0);
            }
            let embedder = models.embedder()?;
            let question = embedder.embed_query(&owned_query)?;
            // A question in Traditional characters is compared with Simplified sentences in
            // Simplified ("系統主機名稱儲存在哪個檔案？" with "/etc/hostname" in a mainland
            // document): e5 reads the two scripts as different words.
            let mainland = retrieval::normalize::to_mainland(&owned_query);
            let mainland_question = if mainland == owned_query {
                None
            } else {
                Some(embedder.embed_query(&mainland)?)
            };
            let vectors = embedder.embed_passages(&sentences)?;
            Ok(vectors
                .iter()
                .zip(&sentences)
                .map(|(vector, sentence)| match &mainland_question {
                    Some(mainland_question) if super::script::is_simplified(sentence) => {
                        llm::e5::cosine(vector, mainland_question)
                    }
                    _ => llm::e5::cosine(vector, &question),
                })
                .fold(0.0, f32::max))
        })
        .await??;
        Ok(similarity)
    }

    pub(super) fn refuse(&self, answer: &mut Answer, question: &str, reason: &str) {
        answer.answer = not_found_message(question).to_owned();
        answer.citations.clear();
        answer.refused = true;
        answer.refusal_reason = Some(reason.to_owned());
    }

    async fn generate(
        &self,
        question: &str,
        retrieval_query: &str,
        hits: Vec<Hit>,
        answer: &mut Answer,
        events: Option<UnboundedSender<AnswerEvent>>,
        started: Instant,
    ) -> Result<()> {
        let system_prompt = self.system_prompt().await?;
        answer.system_prompt_version = system_prompt.version;
        answer.system_prompt_sha256 = system_prompt.sha256;
        let system_text = system_prompt.text;
        let models = self.models.clone();
        let settings = self.settings.clone();
        let owned_question = question.to_owned();
        let owned_query = retrieval_query.to_owned();
        let keyword = self.keyword.clone();
        let wait_limit = std::time::Duration::from_secs(self.settings.generator_wait_seconds);
        let asker = events.clone();
        let outcome = tokio::task::spawn_blocking(move || -> anyhow::Result<Generation> {
            let generator = match models.generator() {
                Ok(generator) => generator,
                Err(error) => {
                    tracing::warn!("answering by extraction: {error:#}");
                    return Ok(Generation::Unavailable("no answer generator is available"));
                }
            };
            // Keep the best passages, each focused on its best sentences, that fit the prompt
            // budget (at least one). Their whole text stays what the answer is checked against.
            let mut kept = Vec::new();
            let mut shown = Vec::new();
            let mut used = 0;
            for hit in hits {
                let text = focused_passage(
                    keyword.as_ref(),
                    &owned_query,
                    &hit.text,
                    settings.answer_focus_sentences,
                )?;
                let tokens = generator.count_tokens(&text);
                if !kept.is_empty() && used + tokens > settings.answer_passage_tokens {
                    break;
                }
                used += tokens;
                kept.push(hit);
                shown.push(text);
            }
            let passages: Vec<&str> = shown.iter().map(String::as_str).collect();
            let messages = grounded_messages(&system_text, &owned_question, &passages);
            let prompt_text: String = messages.iter().map(|message| message.content.as_str()).collect();
            let prompt_sha256 = hex::encode(Sha256::digest(prompt_text.as_bytes()));
            let request = GenerationRequest {
                messages,
                max_tokens: settings.answer_max_tokens,
                stop: vec![NOT_FOUND_MARKER.to_owned()],
                copy_from: copy_sources(&owned_question, &passages),
                copy_bias: settings.answer_copy_bias,
            };
            let mut raw = String::new();
            let mut first_token: Option<f64> = None;
            let queued_at = Instant::now();
            let (mut last_ahead, mut busy) = (None, false);
            let metrics = crate::metrics::metrics();
            let waiting = crate::metrics::Waiting::start(metrics);
            let generated = generator.generate(&request, &mut |event| {
                let event = match event {
                    GenerationEvent::Queued { ahead } => {
                        if queued_at.elapsed() > wait_limit {
                            busy = true;
                            return false;
                        }
                        if last_ahead == Some(ahead) {
                            return true;
                        }
                        last_ahead = Some(ahead);
                        AnswerEvent::Queued { ahead }
                    }
                    GenerationEvent::Started => {
                        metrics
                            .generator_queue_seconds
                            .observe(queued_at.elapsed().as_secs_f64());
                        waiting.done();
                        AnswerEvent::Generating
                    }
                    GenerationEvent::Text(piece) => {
                        first_token.get_or_insert_with(|| started.elapsed().as_secs_f64());
                        raw.push_str(piece);
                        AnswerEvent::Token(piece.to_owned())
                    }
                };
                match &events {
                    Some(events) => events.send(event).is_ok(),
                    None => true,
                }
            });
            let stats: GenerationStats = match generated {
                Err(llm::Error::Cancelled) if busy => {
                    return Ok(Generation::Unavailable("the answer generator is busy"));
                }
                other => other?,
            };
            // The stop string is held back from the stream; keep it for the refusal check.
            if stats.hit_stop_string {
                raw.push_str(NOT_FOUND_MARKER);
            }
            Ok(Generation::Done {
                kept,
                raw,
                stats,
                model: generator.model_id().to_owned(),
                prompt_sha256,
                first_token,
            })
        })
        .await??;
        let (hits, raw, stats, model, prompt_sha256, first_token) = match outcome {
            Generation::Done {
                kept,
                raw,
                stats,
                model,
                prompt_sha256,
                first_token,
            } => (kept, raw, stats, model, prompt_sha256, first_token),
            Generation::Unavailable(reason) => {
                answer.model = format!("extractive ({reason})");
                return self.extract(question, retrieval_query, answer, reason, None).await;
            }
        };

        answer.model = model;
        answer.prompt_sha256 = prompt_sha256;
        answer.prompt_tokens = stats.prompt_tokens;
        answer.generated_tokens = stats.generated_tokens;
        answer.prefill_tokens_per_second = stats.prefill_tokens_per_second();
        answer.decode_tokens_per_second = stats.decode_tokens_per_second();
        answer.seconds_to_first_token = first_token.unwrap_or(started.elapsed().as_secs_f64());
        answer.sources = hits;

        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.contains(NOT_FOUND_MARKER) {
            self.refuse(answer, question, "the model found no answer in the passages");
            return Ok(());
        }
        let Some(fallback) = self.cite(question, retrieval_query, trimmed, answer).await? else {
            return Ok(());
        };
        // A draft that contradicted its passage misread it, and shown the same sentences the
        // model misreads them again: "Why shouldn't I make the thesis cover with \makecoveri
        // myself?" got the second draft "The thesis cover should be made with \makecoveri, not
        // \makecover [1].", from a page that says such commands cannot guarantee the page
        // numbers. The extract quotes the page, led by the yes or no the contradiction gives.
        if self.settings.answer_redraft
            && !fallback.contradicted
            && self
                .redraft(question, retrieval_query, answer, &fallback, asker.as_ref())
                .await?
        {
            return Ok(());
        }
        self.extract(question, retrieval_query, answer, &fallback.reason, fallback.lead)
            .await
    }
}

/// Why a generated answer did not hold up, and the yes or no its draft implies for the
/// extract that replaces it (see [`Engine::extract`]).
#[derive(Debug)]
pub(super) struct Fallback {
    pub reason: String,
    pub lead: Option<bool>,
    /// The draft said "not" where its passage does not, or the other way round.
    pub contradicted: bool,
}

impl Fallback {
    pub(super) fn new(reason: &str, lead: Option<bool>) -> Self {
        Self {
            reason: reason.to_owned(),
            lead,
            contradicted: false,
        }
    }
}

/// What [`Engine::generate`]'s blocking part produced.
enum Generation {
    Done {
        kept: Vec<Hit>,
        raw: String,
        stats: GenerationStats,
        model: String,
        prompt_sha256: String,
        first_token: Option<f64>,
    },
    /// No generator, or it stayed busy past `generator_wait_seconds`.
    Unavailable(&'static str),
}
