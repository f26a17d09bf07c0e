//! Questions in, grounded and cited answers out.
//!
//! Retrieval first (the sources are sent to the caller at once), then a refusal check on
//! the evidence, then generation over the numbered passages, then citation clean-up: markers
//! that point nowhere are dropped, and an answer that cites nothing is attributed to the
//! passage it overlaps most, or refused as unsupported.

use std::time::Instant;

use llm::citations::{SentenceSupport, drop_dangling_markers, render_verified, split_sentences, verify_sentences};
use llm::prompt::{NOT_FOUND_MARKER, grounded_messages, is_chinese, not_found_message};
use llm::{GenerationEvent, GenerationRequest, GenerationStats};
use retrieval::Access;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc::UnboundedSender;

use super::{Engine, Hit};

/// A passage an answer cites.
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub answer: String,
    pub citations: Vec<Citation>,
    pub refused: bool,
    /// Why the answer was refused, if it was.
    pub refusal_reason: Option<String>,
    /// Each sentence of the answer with the passages it cites and whether they support it.
    pub sentences: Vec<SentenceSupport>,
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
    /// The answer is made of passage sentences, not generated (no generator was free).
    pub extractive: bool,
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
    /// Answers `question` from what `access` may read, streaming progress to `events`.
    pub async fn ask(
        &self,
        question: &str,
        access: &Access,
        actor: &str,
        events: Option<UnboundedSender<AnswerEvent>>,
    ) -> anyhow::Result<Answer> {
        self.ask_with_query(question, question, access, actor, events).await
    }

    /// Like [`Engine::ask`], retrieving with `retrieval_query` (a follow-up question
    /// joined with the one before it, so "and on weekends?" still finds its passages).
    pub async fn ask_with_query(
        &self,
        question: &str,
        retrieval_query: &str,
        access: &Access,
        actor: &str,
        events: Option<UnboundedSender<AnswerEvent>>,
    ) -> anyhow::Result<Answer> {
        let started = Instant::now();
        let send = |event: AnswerEvent| {
            if let Some(events) = &events {
                let _ = events.send(event);
            }
        };
        let (hits, evidence) = self.evidence(retrieval_query, access).await?;
        send(AnswerEvent::Sources(hits.clone()));

        let mut answer = Answer {
            answer: String::new(),
            citations: Vec::new(),
            refused: false,
            refusal_reason: None,
            sentences: Vec::new(),
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
        };
        let weak_evidence = hits.iter().all(|hit| {
            hit.keyword_rank.is_none() && hit.dense_score.unwrap_or(0.0) < self.settings.refuse_below_similarity
        });
        if hits.is_empty() || weak_evidence {
            answer.sources = hits;
            self.refuse(
                &mut answer,
                question,
                "the knowledge base has no passage close to the question",
            );
        } else if evidence < self.settings.refuse_below_evidence {
            answer.sources = hits;
            self.refuse(
                &mut answer,
                question,
                "no passage contains enough of the question's terms",
            );
        } else {
            self.generate(question, retrieval_query, hits, &mut answer, events.clone(), started)
                .await?;
        }
        answer.seconds = started.elapsed().as_secs_f64();
        let chunk_ids: Vec<u64> = answer.sources.iter().map(|hit| hit.chunk_id).collect();
        let cited: Vec<u64> = answer.citations.iter().map(|citation| citation.chunk_id).collect();
        let mut cited_documents: Vec<&str> = answer
            .citations
            .iter()
            .map(|citation| citation.document_id.as_str())
            .collect();
        cited_documents.dedup();
        crate::audit::append(
            &self.db,
            actor,
            "question",
            serde_json::json!({
                "question": question,
                "answer": answer.answer,
                "refused": answer.refused,
                "retrieved_chunks": chunk_ids,
                "cited_chunks": cited,
                "cited_documents": cited_documents,
                "seconds": answer.seconds,
                "evidence": answer.evidence,
                "model": answer.model,
                "prompt_sha256": answer.prompt_sha256,
                "system_prompt_version": answer.system_prompt_version,
                "system_prompt_sha256": answer.system_prompt_sha256,
            }),
        )
        .await?;
        Ok(answer)
    }

    /// The passages an answer to `query` would be based on, and the evidence they hold:
    /// the best passage's [`retrieval::KeywordIndex::coverage`] of the query.
    pub async fn evidence(&self, query: &str, access: &Access) -> anyhow::Result<(Vec<Hit>, f32)> {
        let hits = self.search(query, access, self.settings.answer_passages).await?;
        let keyword = self.keyword.clone();
        let owned_query = query.to_owned();
        let texts: Vec<String> = hits.iter().map(|hit| hit.text.clone()).collect();
        let evidence = tokio::task::spawn_blocking(move || {
            let passages: Vec<&str> = texts.iter().map(String::as_str).collect();
            keyword
                .coverage(&owned_query, &passages)
                .into_iter()
                .fold(0.0, f32::max)
        })
        .await?;
        Ok((hits, evidence))
    }

    fn refuse(&self, answer: &mut Answer, question: &str, reason: &str) {
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
    ) -> anyhow::Result<()> {
        let system_prompt = self.system_prompt().await?;
        answer.system_prompt_version = system_prompt.version;
        answer.system_prompt_sha256 = system_prompt.sha256;
        let system_text = system_prompt.text;
        let models = self.models.clone();
        let settings = self.settings.clone();
        let owned_question = question.to_owned();
        let wait_limit = std::time::Duration::from_secs(self.settings.generator_wait_seconds);
        let fallback_hits = hits.clone();
        let outcome = tokio::task::spawn_blocking(move || -> anyhow::Result<Generation> {
            let generator = match models.generator() {
                Ok(generator) => generator,
                Err(error) => {
                    tracing::warn!("answering by extraction: {error:#}");
                    return Ok(Generation::Unavailable("no answer generator is available"));
                }
            };
            // Keep the best passages that fit the prompt budget (at least one).
            let mut kept = Vec::new();
            let mut used = 0;
            for hit in hits {
                let tokens = generator.count_tokens(&hit.text);
                if !kept.is_empty() && used + tokens > settings.answer_passage_tokens {
                    break;
                }
                used += tokens;
                kept.push(hit);
            }
            let passages: Vec<&str> = kept.iter().map(|hit| hit.text.as_str()).collect();
            let messages = grounded_messages(&system_text, &owned_question, &passages);
            let prompt_text: String = messages.iter().map(|message| message.content.as_str()).collect();
            let prompt_sha256 = hex::encode(Sha256::digest(prompt_text.as_bytes()));
            let request = GenerationRequest {
                messages,
                max_tokens: settings.answer_max_tokens,
                stop: vec![NOT_FOUND_MARKER.to_owned()],
            };
            let mut raw = String::new();
            let mut first_token: Option<f64> = None;
            let queued_at = Instant::now();
            let (mut last_ahead, mut busy) = (None, false);
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
                    GenerationEvent::Started => AnswerEvent::Generating,
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
                return self
                    .extract(question, retrieval_query, fallback_hits, answer, reason)
                    .await;
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
        self.cite(question, trimmed, answer).await
    }

    /// Checks `text` sentence by sentence against the passages it cites and fills in the
    /// answer, its sentences and its citations; refuses when no sentence is supported.
    async fn cite(&self, question: &str, text: &str, answer: &mut Answer) -> anyhow::Result<()> {
        let passages: Vec<&str> = answer.sources.iter().map(|hit| hit.text.as_str()).collect();
        let cleaned = drop_dangling_markers(text, passages.len());
        let mut sentences = verify_sentences(&cleaned, &passages, SUPPORT_OVERLAP);
        self.check_paraphrases(&mut sentences, &passages).await?;
        if !sentences.iter().any(|sentence| sentence.supported) {
            answer.sentences = sentences;
            self.refuse(
                answer,
                question,
                "no sentence of the generated answer is supported by a passage",
            );
            return Ok(());
        }
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
        Ok(())
    }

    /// Second look at sentences whose words overlap their cited passage too little to count:
    /// a paraphrase close in meaning (e5 similarity) still counts as supported.
    async fn check_paraphrases(&self, sentences: &mut [SentenceSupport], passages: &[&str]) -> anyhow::Result<()> {
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
    /// cited and labelled as extracts, for when no generator can answer in time.
    async fn extract(
        &self,
        question: &str,
        retrieval_query: &str,
        hits: Vec<Hit>,
        answer: &mut Answer,
        reason: &str,
    ) -> anyhow::Result<()> {
        let keyword = self.keyword.clone();
        let query = retrieval_query.to_owned();
        let texts: Vec<String> = hits.iter().map(|hit| hit.text.clone()).collect();
        let extract = tokio::task::spawn_blocking(move || {
            let passages: Vec<&str> = texts.iter().map(String::as_str).collect();
            best_sentences(&keyword, &query, &passages)
        })
        .await?;
        answer.sources = hits;
        answer.extractive = true;
        answer.model = format!("extractive ({reason})");
        self.cite(question, &extract, answer).await?;
        if !answer.refused {
            answer.answer = format!("{}{}", extract_label(question), answer.answer);
        }
        Ok(())
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

/// Sentences shorter than this many characters (headings, list stubs) are never extracted.
const MIN_EXTRACT_CHARS: usize = 8;

/// Up to two sentences of `passages` with the best weighted coverage of `query`, each
/// followed by its passage's `[n]` marker, in passage order.
fn best_sentences(keyword: &retrieval::KeywordIndex, query: &str, passages: &[&str]) -> String {
    let candidates: Vec<(usize, String)> = passages
        .iter()
        .enumerate()
        .flat_map(|(index, passage)| {
            // PDF text breaks lines (and words, with a hyphen) where the page did.
            split_sentences(&passage.replace("-\n", "").replace('\n', " "))
                .into_iter()
                .filter(|sentence| sentence.chars().count() >= MIN_EXTRACT_CHARS)
                .map(move |sentence| (index + 1, sentence))
        })
        .collect();
    let sentences: Vec<&str> = candidates.iter().map(|(_, sentence)| sentence.as_str()).collect();
    let scores = keyword.coverage(query, &sentences);
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|left, right| scores[*right].total_cmp(&scores[*left]).then(left.cmp(right)));
    let best = order.first().map(|index| scores[*index]).unwrap_or(0.0);
    let mut chosen: Vec<usize> = order
        .into_iter()
        .filter(|index| scores[*index] > 0.0 && scores[*index] >= best * 0.6)
        .take(2)
        .collect();
    chosen.sort();
    let joiner = if is_chinese(query) { "" } else { " " };
    chosen
        .iter()
        .map(|index| {
            let (number, sentence) = &candidates[*index];
            format!("{} [{number}]", sentence.trim())
        })
        .collect::<Vec<_>>()
        .join(joiner)
}

/// The label an extracted answer starts with, in the question's language.
fn extract_label(question: &str) -> &'static str {
    if is_chinese(question) {
        "摘录（未经模型生成）："
    } else {
        "Extract (not generated): "
    }
}
