//! The `Generator` seam and its local implementation on candle's quantised GGUF models.
//!
//! One model instance holds a KV cache, so generations are serialised through a mutex
//! (callers queue fairly in front of it, see [`crate::queue`]).

use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::{quantized_gemma3, quantized_llama, quantized_qwen2};
use tokenizers::Tokenizer;

use crate::gguf_reader::GgufReader;
use crate::gguf_tokenizer::tokenizer_from_gguf;
use crate::{Error, Result};

/// A chat turn handed to a generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

/// Who speaks a [`ChatMessage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, Default)]
pub struct GenerationRequest {
    pub messages: Vec<ChatMessage>,
    pub max_tokens: usize,
    /// Generation stops before any of these strings.
    pub stop: Vec<String>,
    /// Texts whose tokens decoding favours (the passages an answer should quote), and by
    /// how much: [`Self::copy_bias`] is added to their logits, so that of two near-equal
    /// choices the passage's own word wins. Generators without access to logits (a remote
    /// server) ignore it.
    pub copy_from: Vec<String>,
    /// Added to the logits of the tokens of [`Self::copy_from`] (and the end of the turn);
    /// 0 leaves greedy decoding as it is.
    pub copy_bias: f32,
}

/// Measured figures of one generation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GenerationStats {
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prefill_seconds: f64,
    pub decode_seconds: f64,
    /// Generation ended on one of the request's stop strings.
    pub hit_stop_string: bool,
    /// Leading prompt tokens whose KV cache was reused instead of computed.
    pub cached_prompt_tokens: usize,
}

impl GenerationStats {
    /// Prompt tokens computed per second (reused ones excluded).
    pub fn prefill_tokens_per_second(&self) -> f64 {
        self.prompt_tokens.saturating_sub(self.cached_prompt_tokens) as f64 / self.prefill_seconds.max(1e-9)
    }
    pub fn decode_tokens_per_second(&self) -> f64 {
        self.generated_tokens.saturating_sub(1) as f64 / self.decode_seconds.max(1e-9)
    }
}

/// What a generator reports while it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenerationEvent<'a> {
    /// Waiting for the model: this many callers are ahead.
    Queued { ahead: usize },
    /// The model started reading the prompt.
    Started,
    /// A piece of the answer.
    Text(&'a str),
}

/// A text generator: local weights or a remote server.
pub trait Generator: Send + Sync {
    /// Streams the answer to `on_event`; returning `false` from it cancels the generation.
    fn generate(
        &self,
        request: &GenerationRequest,
        on_event: &mut dyn FnMut(GenerationEvent<'_>) -> bool,
    ) -> Result<GenerationStats>;
    /// How likely `passage` answers `question`, from 0 to 1, for reranking search results;
    /// `None` when this generator cannot score (a remote server gives no token scores).
    fn relevance(&self, question: &str, passage: &str) -> Result<Option<f32>> {
        let _ = (question, passage);
        Ok(None)
    }
    /// Number of tokens `text` takes in this generator's vocabulary.
    fn count_tokens(&self, text: &str) -> usize;
    /// A stable name for the audit log.
    fn model_id(&self) -> &str;
}

enum Architecture {
    /// Our qwen2 on 8-bit kernels (see [`crate::qwen2`]), where the CPU has them.
    FastQwen2(crate::qwen2::Session),
    Qwen2(quantized_qwen2::ModelWeights),
    Llama(quantized_llama::ModelWeights),
    Gemma3(quantized_gemma3::ModelWeights),
}

impl Architecture {
    fn forward(&mut self, input: &Tensor, position: usize) -> candle_core::Result<Tensor> {
        match self {
            Architecture::FastQwen2(session) => session.forward(input, position),
            Architecture::Qwen2(model) => model.forward(input, position),
            Architecture::Llama(model) => model.forward(input, position),
            Architecture::Gemma3(model) => model.forward(input, position),
        }
    }

    /// A copy sharing the weights, with the KV cache as it is now. candle 0.11's qwen2
    /// weights are not `Clone` (a missing derive upstream), so qwen2 models have none.
    fn snapshot(&self) -> Option<Architecture> {
        match self {
            Architecture::Qwen2(_) => None,
            // A copy that fails (out of memory) only costs reading the system turn again.
            Architecture::FastQwen2(session) => session.try_clone().ok().map(Architecture::FastQwen2),
            Architecture::Llama(model) => Some(Architecture::Llama(model.clone())),
            Architecture::Gemma3(model) => Some(Architecture::Gemma3(model.clone())),
        }
    }

    fn snapshot_supported(&self) -> bool {
        !matches!(self, Architecture::Qwen2(_))
    }

    fn clear_kv_cache(&mut self) {
        match self {
            Architecture::Qwen2(model) => model.clear_kv_cache(),
            Architecture::FastQwen2(session) => session.cache = session.weights.new_cache(),
            // These two reset their cache when `forward` starts again at position 0.
            Architecture::Llama(_) | Architecture::Gemma3(_) => {}
        }
    }
}

/// The model with its KV cache, and a copy of it holding only the system turn's cache.
struct ModelState {
    working: Architecture,
    /// The token ids of the last system turn and the model right after reading them: the
    /// candle models' caches are copy-on-write tensors, so restoring one costs nothing; the
    /// fast qwen2's is copied (a few megabytes).
    system_prefix: Option<(Vec<u32>, Architecture)>,
}

/// A GGUF model run on the CPU with candle.
pub struct LocalGenerator {
    model: Mutex<ModelState>,
    /// Reuse the system turn's KV cache across requests (on by default).
    reuse_system_prefix: std::sync::atomic::AtomicBool,
    tokenizer: Tokenizer,
    stop_ids: Vec<u32>,
    chat_template: ChatTemplate,
    model_id: String,
}

impl std::fmt::Debug for LocalGenerator {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LocalGenerator")
            .field("model_id", &self.model_id)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChatTemplate {
    ChatMl,
    Gemma,
}

/// Which implementation runs a qwen2 or llama model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernels {
    /// Ours where the CPU has AVX2 or AVX-512 VNNI ([`crate::qwen2`]), else candle's.
    Fastest,
    /// candle's `quantized_qwen2` or `quantized_llama` (for comparisons).
    Candle,
}

impl LocalGenerator {
    /// Loads a GGUF file of a supported architecture (qwen2, llama, gemma3).
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_with(path, Kernels::Fastest)
    }

    /// Like [`LocalGenerator::load`], choosing the qwen2 or llama implementation.
    pub fn load_with(path: &Path, kernels: Kernels) -> Result<Self> {
        if !path.exists() {
            return Err(Error::MissingModel { path: path.into() });
        }
        let malformed = |reason: String| Error::MalformedModel {
            path: path.into(),
            reason,
        };
        let mut file = GgufReader::open(path)?;
        let content = gguf_file::Content::read(&mut file).map_err(|error| malformed(error.to_string()))?;
        let architecture = content
            .metadata
            .get("general.architecture")
            .and_then(|value| value.to_string().ok())
            .cloned()
            .unwrap_or_default();
        let (tokenizer, stop_ids) = tokenizer_from_gguf(&content).map_err(malformed)?;
        let device = Device::Cpu;
        let (model, chat_template) = match architecture.as_str() {
            "qwen2" | "llama" if kernels == Kernels::Fastest && crate::qwen2::supported() => (
                Architecture::FastQwen2(crate::qwen2::Session::new(std::sync::Arc::new(
                    crate::qwen2::Weights::from_gguf(&content, &mut file)?,
                ))),
                ChatTemplate::ChatMl,
            ),
            "qwen2" => (
                Architecture::Qwen2(quantized_qwen2::ModelWeights::from_gguf(content, &mut file, &device)?),
                ChatTemplate::ChatMl,
            ),
            "llama" => (
                Architecture::Llama(quantized_llama::ModelWeights::from_gguf(content, &mut file, &device)?),
                ChatTemplate::ChatMl,
            ),
            "gemma3" => (
                Architecture::Gemma3(quantized_gemma3::ModelWeights::from_gguf(content, &mut file, &device)?),
                ChatTemplate::Gemma,
            ),
            other => return Err(malformed(format!("unsupported architecture {other:?}"))),
        };
        let model_id = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Self {
            model: Mutex::new(ModelState {
                working: model,
                system_prefix: None,
            }),
            reuse_system_prefix: std::sync::atomic::AtomicBool::new(true),
            tokenizer,
            stop_ids,
            chat_template,
            model_id,
        })
    }

    /// The prompt text for `messages` in the model's chat format, ending where the
    /// assistant's answer begins.
    pub fn render(&self, messages: &[ChatMessage]) -> String {
        let mut prompt = String::new();
        match self.chat_template {
            ChatTemplate::ChatMl => {
                for message in messages {
                    prompt.push_str(&format!(
                        "<|im_start|>{}\n{}<|im_end|>\n",
                        message.role.as_str(),
                        message.content
                    ));
                }
                prompt.push_str("<|im_start|>assistant\n");
            }
            ChatTemplate::Gemma => {
                let mut pending_system = String::new();
                for message in messages {
                    match message.role {
                        Role::System => pending_system = format!("{}\n\n", message.content),
                        Role::User => prompt.push_str(&format!(
                            "<start_of_turn>user\n{}{}<end_of_turn>\n",
                            std::mem::take(&mut pending_system),
                            message.content
                        )),
                        Role::Assistant => {
                            prompt.push_str(&format!("<start_of_turn>model\n{}<end_of_turn>\n", message.content))
                        }
                    }
                }
                prompt.push_str("<start_of_turn>model\n");
            }
        }
        prompt
    }

    /// Turns the reuse of the system turn's KV cache on or off (benchmarks compare both).
    pub fn set_reuse_system_prefix(&self, reuse: bool) {
        self.reuse_system_prefix
            .store(reuse, std::sync::atomic::Ordering::Relaxed);
    }

    /// The rendered system turn that starts every prompt of `messages`, when the chat
    /// format gives it a turn of its own (Gemma folds it into the first user turn).
    fn system_turn(&self, messages: &[ChatMessage]) -> Option<String> {
        match (self.chat_template, messages.first()) {
            (ChatTemplate::ChatMl, Some(first)) if first.role == Role::System => Some(self.render(&messages[..1])),
            _ => None,
        }
        .map(|rendered| rendered.trim_end_matches("<|im_start|>assistant\n").to_owned())
    }

    /// Times a bare greedy run, as llama.cpp's own benchmarks do: `prompt` read from an
    /// empty cache, then exactly `new_tokens` decoding steps with no stop and no penalty.
    pub fn time_greedy(&self, prompt: &str, new_tokens: usize) -> Result<GenerationStats> {
        let prompt_ids = self.encode(prompt)?;
        let mut state = self.model.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let model = &mut state.working;
        model.clear_kv_cache();
        let device = Device::Cpu;
        let mut sampler = LogitsProcessor::from_sampling(0, Sampling::ArgMax);
        let started = Instant::now();
        let input = Tensor::new(prompt_ids.as_slice(), &device)?.unsqueeze(0)?;
        let mut next = sampler.sample(&model.forward(&input, 0)?.squeeze(0)?)?;
        let prefill_seconds = started.elapsed().as_secs_f64();
        let decode_started = Instant::now();
        for step in 0..new_tokens.saturating_sub(1) {
            let input = Tensor::new(&[next], &device)?.unsqueeze(0)?;
            next = sampler.sample(&model.forward(&input, prompt_ids.len() + step)?.squeeze(0)?)?;
        }
        Ok(GenerationStats {
            prompt_tokens: prompt_ids.len(),
            generated_tokens: new_tokens,
            prefill_seconds,
            decode_seconds: decode_started.elapsed().as_secs_f64(),
            ..GenerationStats::default()
        })
    }

    /// The logit bias of `request`'s [`GenerationRequest::copy_from`] over a vocabulary of
    /// `vocabulary` logits: its tokens' ids and the end-of-turn ids (an answer must still be
    /// free to end) get [`GenerationRequest::copy_bias`]. `None` when there is none.
    fn copy_bias(&self, request: &GenerationRequest, vocabulary: usize) -> Result<Option<Tensor>> {
        if request.copy_bias == 0.0 || request.copy_from.is_empty() {
            return Ok(None);
        }
        let mut bias = vec![0f32; vocabulary];
        let mut favour = |id: u32| {
            if let Some(slot) = bias.get_mut(id as usize) {
                *slot = request.copy_bias;
            }
        };
        for text in &request.copy_from {
            self.encode(text)?.into_iter().for_each(&mut favour);
        }
        self.stop_ids.iter().copied().for_each(favour);
        Ok(Some(Tensor::from_vec(bias, vocabulary, &Device::Cpu)?))
    }

    /// The id of `text` when the vocabulary has it as one token.
    fn single_token(&self, text: &str) -> Option<u32> {
        match self.encode(text).ok()?.as_slice() {
            [id] => Some(*id),
            _ => None,
        }
    }

    /// Token ids of `text`, special tokens recognised.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self.tokenizer.encode(text, false).map_err(Error::tokenizer)?;
        Ok(encoding.get_ids().to_vec())
    }
}

/// The instruction for [`Generator::relevance`].
const RELEVANCE_PROMPT: &str =
    "You judge search results. Reply yes if the passage contains the answer to the question, otherwise no.";

/// Greedy decoding with a mild repetition penalty: grounded answers should be
/// reproducible, and a 0.5B model loops without the penalty.
const REPEAT_PENALTY: f32 = 1.1;
const REPEAT_WINDOW: usize = 64;

impl<G: Generator + ?Sized> Generator for Box<G> {
    fn generate(
        &self,
        request: &GenerationRequest,
        on_event: &mut dyn FnMut(GenerationEvent<'_>) -> bool,
    ) -> Result<GenerationStats> {
        (**self).generate(request, on_event)
    }

    fn relevance(&self, question: &str, passage: &str) -> Result<Option<f32>> {
        (**self).relevance(question, passage)
    }

    fn count_tokens(&self, text: &str) -> usize {
        (**self).count_tokens(text)
    }

    fn model_id(&self) -> &str {
        (**self).model_id()
    }
}

impl Generator for LocalGenerator {
    fn generate(
        &self,
        request: &GenerationRequest,
        on_event: &mut dyn FnMut(GenerationEvent<'_>) -> bool,
    ) -> Result<GenerationStats> {
        let prompt = self.render(&request.messages);
        let prompt_ids = self.encode(&prompt)?;
        let system_ids = match self.system_turn(&request.messages) {
            Some(turn) if self.reuse_system_prefix.load(std::sync::atomic::Ordering::Relaxed) => self.encode(&turn)?,
            _ => Vec::new(),
        };
        let mut state = self.model.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !on_event(GenerationEvent::Started) {
            return Err(Error::Cancelled);
        }
        let device = Device::Cpu;
        let mut sampler = LogitsProcessor::from_sampling(0, Sampling::ArgMax);
        let mut stats = GenerationStats {
            prompt_tokens: prompt_ids.len(),
            ..GenerationStats::default()
        };

        let started = Instant::now();
        // The system turn tokenises the same alone as at the head of the prompt (it ends in a
        // special token); checked anyway, since a mismatch would corrupt the answer.
        let reuse = !system_ids.is_empty()
            && prompt_ids.len() > system_ids.len()
            && prompt_ids.starts_with(&system_ids)
            && state.working.snapshot_supported();
        let first_new = if reuse {
            let restored = match &state.system_prefix {
                Some((ids, snapshot)) if *ids == system_ids => snapshot.snapshot(),
                _ => None,
            };
            match restored {
                Some(model) => {
                    state.working = model;
                    stats.cached_prompt_tokens = system_ids.len();
                }
                None => {
                    state.working.clear_kv_cache();
                    let input = Tensor::new(system_ids.as_slice(), &device)?.unsqueeze(0)?;
                    state.working.forward(&input, 0)?;
                    state.system_prefix = state.working.snapshot().map(|snapshot| (system_ids.clone(), snapshot));
                }
            }
            system_ids.len()
        } else {
            state.working.clear_kv_cache();
            0
        };
        let model = &mut state.working;
        let input = Tensor::new(&prompt_ids[first_new..], &device)?.unsqueeze(0)?;
        let mut logits = model.forward(&input, first_new)?.squeeze(0)?;
        stats.prefill_seconds = started.elapsed().as_secs_f64();
        let copy_bias = self.copy_bias(request, logits.dim(0)?)?;

        let decode_started = Instant::now();
        let mut generated: Vec<u32> = Vec::new();
        let mut emitted_bytes = 0usize;
        let mut position = prompt_ids.len();
        while generated.len() < request.max_tokens {
            let window_start = generated.len().saturating_sub(REPEAT_WINDOW);
            let mut penalised =
                candle_transformers::utils::apply_repeat_penalty(&logits, REPEAT_PENALTY, &generated[window_start..])?;
            if let Some(bias) = &copy_bias {
                penalised = (penalised + bias)?;
            }
            let next = sampler.sample(&penalised)?;
            if self.stop_ids.contains(&next) {
                break;
            }
            generated.push(next);
            let text = self.tokenizer.decode(&generated, true).map_err(Error::tokenizer)?;
            // Hold back text that could still become a stop string or an incomplete character.
            let mut visible = text.len();
            let mut stopped = false;
            for stop in &request.stop {
                if let Some(index) = text.find(stop.as_str()) {
                    visible = visible.min(index);
                    stopped = true;
                }
            }
            if text.ends_with('\u{FFFD}') && !stopped {
                visible = visible.min(text.len() - '\u{FFFD}'.len_utf8());
            }
            if visible > emitted_bytes && text.is_char_boundary(visible) && text.is_char_boundary(emitted_bytes) {
                if !on_event(GenerationEvent::Text(&text[emitted_bytes..visible])) {
                    return Err(Error::Cancelled);
                }
                emitted_bytes = visible;
            }
            if stopped {
                stats.hit_stop_string = true;
                break;
            }
            let input = Tensor::new(&[next], &device)?.unsqueeze(0)?;
            logits = model.forward(&input, position)?.squeeze(0)?;
            position += 1;
        }
        stats.generated_tokens = generated.len();
        stats.decode_seconds = decode_started.elapsed().as_secs_f64();
        Ok(stats)
    }

    fn relevance(&self, question: &str, passage: &str) -> Result<Option<f32>> {
        let answers: Option<Vec<u32>> = ["Yes", "yes", "No", "no"]
            .iter()
            .map(|word| self.single_token(word))
            .collect();
        let Some(answers) = answers else {
            return Ok(None);
        };
        let messages = [
            ChatMessage {
                role: Role::System,
                content: RELEVANCE_PROMPT.to_owned(),
            },
            ChatMessage {
                role: Role::User,
                content: format!(
                    "<passage>\n{}\n</passage>\n\nQuestion: {}\nDoes the passage answer the question? Reply yes or no.",
                    crate::prompt::sanitize(passage.trim()),
                    crate::prompt::sanitize(question.trim())
                ),
            },
        ];
        let ids = self.encode(&self.render(&messages))?;
        let mut state = self.model.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.working.clear_kv_cache();
        let input = Tensor::new(ids.as_slice(), &Device::Cpu)?.unsqueeze(0)?;
        let logits: Vec<f32> = state.working.forward(&input, 0)?.squeeze(0)?.to_vec1()?;
        // Softmax over the four ways to begin the reply: the share of "yes".
        let top = answers
            .iter()
            .map(|id| logits[*id as usize])
            .fold(f32::NEG_INFINITY, f32::max);
        let weights: Vec<f32> = answers.iter().map(|id| (logits[*id as usize] - top).exp()).collect();
        Ok(Some((weights[0] + weights[1]) / weights.iter().sum::<f32>()))
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.encode(text).map(|ids| ids.len()).unwrap_or(text.len() / 3)
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }
}
