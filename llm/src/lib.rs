//! Local inference for the appliance: the e5 embedder, GGUF generators, the grounded prompt
//! and citation handling.
//!
//! Everything runs in-process with candle on the CPU; nothing here opens a network
//! connection. The [`Embedder`] and [`Generator`] traits are the seams the appliance holds
//! as `Arc<dyn ...>`, so a remote inference server can replace the local models.

pub mod check;
pub mod citations;
pub mod e5;
mod error;
mod generator;
mod gguf_reader;
mod gguf_tokenizer;
pub mod lines;
mod padded;
pub mod prompt;
pub mod queue;
pub mod qwen2;
pub mod remote;
pub mod requantize;
mod tiles;

pub use error::{Error, Result};
pub use generator::{
    ChatMessage, GenerationEvent, GenerationRequest, GenerationStats, Generator, Kernels, LocalGenerator, Role,
};

/// Turns text into vectors for the vector store.
pub trait Embedder: Send + Sync {
    /// Length of every vector.
    fn dimension(&self) -> usize;
    /// Embeds document passages (the model's passage mode).
    fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
    /// Embeds a search query (the model's query mode).
    fn embed_query(&self, text: &str) -> Result<Vec<f32>>;
    /// Tokens `text` takes in the model's vocabulary, for sizing chunks.
    fn count_tokens(&self, text: &str) -> usize;
    /// The most tokens one input may have.
    fn max_tokens(&self) -> usize;
    /// A stable name, recorded with every stored vector.
    fn model_id(&self) -> &str;
}

/// The environment variable candle reads for the thread count of its matrix products.
pub const THREADS_VARIABLE: &str = "RAYON_NUM_THREADS";

/// The thread count candle gives its matrix products: `RAYON_NUM_THREADS`, else the
/// physical cores. Without the variable candle reads and parses /proc/cpuinfo again before
/// every f32 product (about a fifth of a query embedding's time on 2 cores), so a process
/// should set it, to this value, before it starts any thread.
pub fn product_threads() -> usize {
    candle_core::utils::get_num_threads()
}
