//! multilingual-e5-small, run with candle straight from its `E5S1` file.
//!
//! candle ships no quantised BERT, so the encoder is written here (about a hundred lines)
//! on top of candle's tensors. The word-embedding matrix (250k x 384) stays 4-bit and only
//! the rows a text uses are dequantised; the layer matrices are either kept 4-bit
//! (`QMatMul` over Q4_0) or dequantised once to f32 at load time, whichever
//! [`E5Options::quantized`] says: f32 uses candle's blocked GEMM, which wins on the long
//! sequences of passages.

mod file;

use std::borrow::Cow;
use std::path::Path;

use candle_core::quantized::{GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{Device, Module, Tensor};
use candle_nn::LayerNorm;
use tokenizers::Tokenizer;
use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::replace::ReplacePattern;
use tokenizers::normalizers::{NFKC, Replace, Sequence};
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};

pub use file::{E5Config, E5File};

use crate::{Embedder, Error, Result};

/// How to hold the layer weights in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct E5Options {
    /// Keep layer matrices 4-bit (smaller, slower on long inputs) instead of f32.
    pub quantized: bool,
}

struct Linear {
    weight: QMatMul,
    bias: Tensor,
}

impl Linear {
    fn forward(&self, input: &Tensor) -> candle_core::Result<Tensor> {
        self.weight.forward(input)?.broadcast_add(&self.bias)
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_output: Linear,
    attention_norm: LayerNorm,
    feed_forward_in: Linear,
    feed_forward_out: Linear,
    output_norm: LayerNorm,
}

/// The e5 encoder with its tokeniser; implements [`Embedder`].
pub struct E5Embedder {
    config: E5Config,
    bos: u32,
    eos: u32,
    tokenizer: Tokenizer,
    word_embeddings: QTensor,
    position_embeddings: Tensor,
    token_type_embedding: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    device: Device,
}

impl std::fmt::Debug for E5Embedder {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("E5Embedder")
            .field("config", &self.config)
            .finish()
    }
}

fn malformed(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::MalformedModel {
        path: path.into(),
        reason: reason.to_string(),
    }
}

impl E5Embedder {
    /// Loads the model from an `E5S1` file.
    pub fn load(path: &Path, options: E5Options) -> Result<Self> {
        let file = E5File::open(path)?;
        let device = Device::Cpu;
        let config = file.config;
        let hidden = config.hidden;
        let f32_tensor = |name: &str, shape: &[usize]| -> Result<Tensor> {
            let (entry, bytes) = file.tensor(name).map_err(|reason| malformed(path, reason))?;
            if entry.kind != file::TensorType::F32 || entry.elements != shape.iter().product::<usize>() {
                return Err(malformed(path, format!("tensor {name} has an unexpected type or size")));
            }
            let values: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|chunk| f32::from_le_bytes(chunk.try_into().expect("4 bytes")))
                .collect();
            Ok(Tensor::from_vec(values, shape, &device)?)
        };
        let q4_tensor = |name: &str, rows: usize, columns: usize| -> Result<QTensor> {
            let (entry, bytes) = file.tensor(name).map_err(|reason| malformed(path, reason))?;
            if entry.kind != file::TensorType::Q4_0 || entry.elements != rows * columns {
                return Err(malformed(path, format!("tensor {name} has an unexpected type or size")));
            }
            let storage = QStorage::from_data(Cow::Borrowed(bytes), &device, GgmlDType::Q4_0)?;
            Ok(QTensor::new(storage, (rows, columns))?)
        };
        let linear = |prefix: &str, rows: usize, columns: usize| -> Result<Linear> {
            let quantized = q4_tensor(&format!("{prefix}.w"), rows, columns)?;
            let weight = if options.quantized {
                QMatMul::from_qtensor(quantized)?
            } else {
                QMatMul::Tensor(quantized.dequantize(&device)?)
            };
            Ok(Linear {
                weight,
                bias: f32_tensor(&format!("{prefix}.b"), &[rows])?,
            })
        };
        let layer_norm = |prefix: &str| -> Result<LayerNorm> {
            Ok(LayerNorm::new(
                f32_tensor(&format!("{prefix}.w"), &[hidden])?,
                f32_tensor(&format!("{prefix}.b"), &[hidden])?,
                config.layer_norm_eps,
            ))
        };
        let mut layers = Vec::with_capacity(config.layers);
        for index in 0..config.layers {
            let prefix = format!("l{index}");
            layers.push(Layer {
                query: linear(&format!("{prefix}.q"), hidden, hidden)?,
                key: linear(&format!("{prefix}.k"), hidden, hidden)?,
                value: linear(&format!("{prefix}.v"), hidden, hidden)?,
                attention_output: linear(&format!("{prefix}.ao"), hidden, hidden)?,
                attention_norm: layer_norm(&format!("{prefix}.aln"))?,
                feed_forward_in: linear(&format!("{prefix}.fi"), config.ffn, hidden)?,
                feed_forward_out: linear(&format!("{prefix}.fo"), hidden, config.ffn)?,
                output_norm: layer_norm(&format!("{prefix}.oln"))?,
            });
        }
        let token_type_embeddings = f32_tensor("emb.type", &[config.type_vocab, hidden])?;
        let tokenizer = build_tokenizer(&file).map_err(|reason| malformed(path, reason))?;
        Ok(Self {
            config,
            bos: file.special.bos,
            eos: file.special.eos,
            tokenizer,
            word_embeddings: q4_tensor("emb.word", config.vocab, hidden)?,
            position_embeddings: f32_tensor("emb.pos", &[config.max_positions, hidden])?,
            token_type_embedding: token_type_embeddings.get(0)?,
            embedding_norm: layer_norm("emb.ln")?,
            layers,
            device,
        })
    }

    /// Token ids with `<s>` and `</s>`, truncated to the model's positions.
    fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self.tokenizer.encode(text, false).map_err(Error::tokenizer)?;
        let budget = self.config.max_positions - 2;
        let mut ids = Vec::with_capacity(encoding.len().min(budget) + 2);
        ids.push(self.bos);
        ids.extend(encoding.get_ids().iter().take(budget));
        ids.push(self.eos);
        Ok(ids)
    }

    /// Mean-pooled, L2-normalised embedding of one already-prefixed text.
    fn embed_one(&self, text: &str) -> Result<Vec<f32>> {
        let ids = self.token_ids(text)?;
        let length = ids.len();
        let ids = Tensor::new(ids.as_slice(), &self.device)?;
        let words = self.word_embeddings.embedding(&ids)?;
        let positions = self.position_embeddings.narrow(0, 0, length)?;
        let embedded = (words + positions)?.broadcast_add(&self.token_type_embedding)?;
        let mut hidden = self.embedding_norm.forward(&embedded)?;
        for layer in &self.layers {
            hidden = self.layer_forward(layer, &hidden)?;
        }
        let pooled = hidden.mean(0)?;
        let norm = pooled.sqr()?.sum_all()?.sqrt()?;
        let normalised = pooled.broadcast_div(&norm)?;
        Ok(normalised.to_vec1::<f32>()?)
    }

    fn layer_forward(&self, layer: &Layer, input: &Tensor) -> candle_core::Result<Tensor> {
        let (length, hidden) = input.dims2()?;
        let heads = self.config.heads;
        let head_dim = hidden / heads;
        let split_heads = |tensor: Tensor| -> candle_core::Result<Tensor> {
            tensor.reshape((length, heads, head_dim))?.transpose(0, 1)?.contiguous()
        };
        let query = split_heads(layer.query.forward(input)?)?;
        let key = split_heads(layer.key.forward(input)?)?;
        let value = split_heads(layer.value.forward(input)?)?;
        let scale = 1.0 / (head_dim as f64).sqrt();
        let scores = (query.matmul(&key.t()?)? * scale)?;
        let probabilities = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = probabilities
            .matmul(&value)?
            .transpose(0, 1)?
            .reshape((length, hidden))?;
        let attended = layer.attention_output.forward(&context)?;
        let normed = layer.attention_norm.forward(&(attended + input)?)?;
        let expanded = layer.feed_forward_in.forward(&normed)?.gelu_erf()?;
        let contracted = layer.feed_forward_out.forward(&expanded)?;
        layer.output_norm.forward(&(contracted + normed)?)
    }
}

/// Unigram over the file's pieces, NFKC with space runs collapsed, Metaspace splitting.
fn build_tokenizer(file: &E5File) -> std::result::Result<Tokenizer, String> {
    let model = Unigram::from(file.pieces.clone(), Some(file.special.unk as usize), false)
        .map_err(|error| error.to_string())?;
    let mut tokenizer = Tokenizer::new(model);
    let collapse_spaces =
        Replace::new(ReplacePattern::Regex(" {2,}".into()), " ").map_err(|error| error.to_string())?;
    tokenizer
        .with_normalizer(Some(Sequence::new(vec![NFKC.into(), collapse_spaces.into()])))
        .map_err(|error| error.to_string())?;
    tokenizer.with_pre_tokenizer(Some(Metaspace::new('▁', PrependScheme::Always, true)));
    Ok(tokenizer)
}

impl Embedder for E5Embedder {
    fn dimension(&self) -> usize {
        self.config.hidden
    }

    fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        texts
            .iter()
            .map(|text| self.embed_one(&format!("passage: {text}")))
            .collect()
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        self.embed_one(&format!("query: {text}"))
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.tokenizer
            .encode(text, false)
            .map(|encoding| encoding.len())
            .unwrap_or(text.chars().count())
    }

    fn max_tokens(&self) -> usize {
        self.config.max_positions - 2
    }

    fn model_id(&self) -> &str {
        "multilingual-e5-small-q4"
    }
}

/// Cosine similarity of two equally long vectors.
pub fn cosine(left: &[f32], right: &[f32]) -> f32 {
    let dot: f32 = left.iter().zip(right).map(|(a, b)| a * b).sum();
    let left_norm: f32 = left.iter().map(|a| a * a).sum::<f32>().sqrt();
    let right_norm: f32 = right.iter().map(|b| b * b).sum::<f32>().sqrt();
    dot / (left_norm * right_norm).max(f32::EPSILON)
}
