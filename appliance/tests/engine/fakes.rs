//! Stand-ins for the models and a vector store that can be held still, so the engine's
//! paths run in milliseconds and their timing is under the test's control.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};

use llm::{Embedder, GenerationEvent, GenerationRequest, GenerationStats, Generator};
use retrieval::{Access, MemoryVectorStore, ScoredChunk, VectorPoint, VectorStore};

/// Vectors from hashed words: texts sharing words are close, others far apart.
pub struct FakeEmbedder;

pub const DIMENSION: usize = 384;

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect()
}

fn vector(text: &str) -> Vec<f32> {
    let mut vector = vec![0.0f32; DIMENSION];
    for word in words(text) {
        let hash = word.bytes().fold(1469598103934665603u64, |hash, byte| {
            (hash ^ byte as u64).wrapping_mul(1099511628211)
        });
        vector[(hash % DIMENSION as u64) as usize] += 1.0;
    }
    let norm = vector.iter().map(|value| value * value).sum::<f32>().sqrt().max(1e-6);
    vector.iter().map(|value| value / norm).collect()
}

impl Embedder for FakeEmbedder {
    fn dimension(&self) -> usize {
        DIMENSION
    }

    fn embed_passages(&self, texts: &[&str]) -> llm::Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|text| vector(text)).collect())
    }

    fn embed_query(&self, text: &str) -> llm::Result<Vec<f32>> {
        Ok(vector(text))
    }

    fn count_tokens(&self, text: &str) -> usize {
        words(text).len()
    }

    fn max_tokens(&self) -> usize {
        512
    }

    fn model_id(&self) -> &str {
        "fake-embedder"
    }
}

/// What a scripted generation does.
#[derive(Debug, Clone)]
pub enum Script {
    /// Streams this text, word by word.
    Say(String),
    /// Fails with an internal error.
    Fail,
    /// Waits until [`Gate::open`] is called, then streams this text.
    WaitThenSay(Gate, String),
}

/// A latch a test opens to let a held generation go on.
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub fn open(&self) {
        let (open, changed) = &*self.0;
        *open.lock().unwrap() = true;
        changed.notify_all();
    }

    fn wait(&self) {
        let (open, changed) = &*self.0;
        let mut guard = open.lock().unwrap();
        while !*guard {
            guard = changed.wait(guard).unwrap();
        }
    }
}

/// A generator that plays its scripts in order; with none left it says "I do not know.".
#[derive(Default, Clone)]
pub struct ScriptedGenerator {
    scripts: Arc<Mutex<VecDeque<Script>>>,
    /// The prompts it was given, in order.
    pub prompts: Arc<Mutex<Vec<GenerationRequest>>>,
}

impl ScriptedGenerator {
    pub fn new(scripts: Vec<Script>) -> Self {
        Self {
            scripts: Arc::new(Mutex::new(scripts.into())),
            prompts: Arc::default(),
        }
    }
}

impl ScriptedGenerator {
    /// Adds a script to play after those already queued.
    pub fn push(&self, script: Script) {
        self.scripts.lock().unwrap().push_back(script);
    }

    /// How many generations have started.
    pub fn calls(&self) -> usize {
        self.prompts.lock().unwrap().len()
    }
}

impl Generator for ScriptedGenerator {
    fn generate(
        &self,
        request: &GenerationRequest,
        on_event: &mut dyn FnMut(GenerationEvent<'_>) -> bool,
    ) -> llm::Result<GenerationStats> {
        self.prompts.lock().unwrap().push(request.clone());
        let script = self
            .scripts
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Script::Say("I do not know.".to_owned()));
        if !on_event(GenerationEvent::Started) {
            return Err(llm::Error::Cancelled);
        }
        let text = match script {
            Script::Say(text) => text,
            Script::Fail => return Err(llm::Error::Remote("the scripted generator failed".to_owned())),
            Script::WaitThenSay(gate, text) => {
                gate.wait();
                text
            }
        };
        let mut generated = 0;
        for piece in text.split_inclusive(' ') {
            generated += 1;
            if !on_event(GenerationEvent::Text(piece)) {
                return Err(llm::Error::Cancelled);
            }
        }
        Ok(GenerationStats {
            prompt_tokens: 100,
            generated_tokens: generated,
            prefill_seconds: 0.01,
            decode_seconds: 0.01,
            hit_stop_string: false,
            cached_prompt_tokens: 0,
        })
    }

    fn count_tokens(&self, text: &str) -> usize {
        words(text).len()
    }

    fn model_id(&self) -> &str {
        "scripted"
    }
}

/// The in-memory vector store, whose upserts can be held at a [`Gate`] to stand for a
/// slow index write.
pub struct HeldVectorStore {
    inner: MemoryVectorStore,
    /// `Some`: the next upsert signals `entered`, then waits for the gate.
    pub hold: Mutex<Option<(Gate, std::sync::mpsc::Sender<()>)>>,
    /// Set: the store answers nothing, like a Qdrant cluster out of reach.
    pub unreachable: std::sync::atomic::AtomicBool,
}

impl HeldVectorStore {
    pub fn new() -> Self {
        Self {
            inner: MemoryVectorStore::new(DIMENSION),
            hold: Mutex::new(None),
            unreachable: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl VectorStore for HeldVectorStore {
    fn upsert(&self, points: Vec<VectorPoint>) -> retrieval::Result<()> {
        let hold = self.hold.lock().unwrap().take();
        if let Some((gate, entered)) = hold {
            let _ = entered.send(());
            gate.wait();
        }
        self.inner.upsert(points)
    }

    fn delete_document(&self, document: &str) -> retrieval::Result<()> {
        self.inner.delete_document(document)
    }

    fn delete_chunks(&self, chunk_ids: &[u64]) -> retrieval::Result<()> {
        self.inner.delete_chunks(chunk_ids)
    }

    fn set_document_access(&self, document: &str, access: &[String]) -> retrieval::Result<()> {
        self.inner.set_document_access(document, access)
    }

    fn search(&self, vector: &[f32], limit: usize, access: &Access) -> retrieval::Result<Vec<ScoredChunk>> {
        self.inner.search(vector, limit, access)
    }

    fn count(&self) -> retrieval::Result<usize> {
        if self.unreachable.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(retrieval::Error::VectorStore("connection refused".to_owned()));
        }
        self.inner.count()
    }

    fn vectors(&self, chunk_ids: &[u64]) -> retrieval::Result<Vec<(u64, Vec<f32>)>> {
        self.inner.vectors(chunk_ids)
    }

    fn optimize(&self) -> retrieval::Result<()> {
        self.inner.optimize()
    }
}
