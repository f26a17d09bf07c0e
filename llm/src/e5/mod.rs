//! multilingual-e5-small, run with candle straight from its `E5S1` file.
//!
//! candle ships no quantised BERT, so the encoder is written here (about a hundred lines)
//! on top of candle's tensors. The word-embedding matrix (250k x 384) stays 4-bit and only
//! the rows a text uses are dequantised. The layer matrices are held as [`E5Options::layers`]
//! says: converted block for block (exactly: same scales, each 4-bit value widened) from Q4_0
//! to Q8_0 for the 8-bit kernels ([`crate::padded`], the default where the CPU has them;
//! only the activations are then rounded to 8 bits), dequantised once to f32 for
//! candle's blocked GEMM, or kept 4-bit (`QMatMul` over Q4_0).

mod file;
mod ops;

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

/// Most rows (texts times their padded length) one forward pass encodes.
const BATCH_ROWS: usize = 512;

use crate::{Embedder, Error, Result};

/// How the encoder's layer matrices are held and multiplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum E5Layers {
    /// Dequantised once to f32, multiplied by candle's blocked f32 GEMM.
    F32,
    /// Widened exactly from Q4_0 to Q8_0 blocks for the 8-bit kernels ([`crate::padded`]:
    /// ours at the matrices' own width); only worth it where
    /// [`crate::padded::eight_bit_supported`].
    Q8,
    /// Kept as the file's Q4_0: the least memory, the slowest on long inputs.
    Q4,
}

impl E5Layers {
    /// Q8 where the CPU has the repacked 8-bit kernels' instructions, else f32.
    pub fn fastest() -> Self {
        if crate::padded::eight_bit_supported() {
            Self::Q8
        } else {
            Self::F32
        }
    }
}

/// How to hold the layer weights in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct E5Options {
    pub layers: E5Layers,
}

impl Default for E5Options {
    fn default() -> Self {
        Self {
            layers: E5Layers::fastest(),
        }
    }
}

enum Linear {
    Plain {
        weight: QMatMul,
        bias: Tensor,
    },
    /// f32 weights stored transposed, `[inputs, outputs]`: candle's GEMM then multiplies
    /// a few rows (a query) without repacking the whole matrix on every call, which for a
    /// 16-token query cost more than the product (2-2.5x slower on the square and
    /// narrowing matrices; the widening one is faster as it is, and stays `Plain`).
    Transposed {
        weight: Tensor,
        bias: Tensor,
    },
    Padded(crate::padded::Linear),
}

impl Linear {
    fn forward(&self, input: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::Plain { weight, bias } => weight.forward(input)?.broadcast_add(bias),
            Self::Transposed { weight, bias } => input.matmul(weight)?.broadcast_add(bias),
            Self::Padded(linear) => linear.forward(input),
        }
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
            let bias = f32_tensor(&format!("{prefix}.b"), &[rows])?;
            Ok(match options.layers {
                E5Layers::Q4 => Linear::Plain {
                    weight: QMatMul::from_qtensor(quantized)?,
                    bias,
                },
                E5Layers::F32 if rows <= columns => Linear::Transposed {
                    weight: quantized.dequantize(&device)?.t()?.contiguous()?,
                    bias,
                },
                E5Layers::F32 => Linear::Plain {
                    weight: QMatMul::Tensor(quantized.dequantize(&device)?),
                    bias,
                },
                E5Layers::Q8 => Linear::Padded(crate::padded::Linear::from_q4_0(
                    &quantized.data()?,
                    rows,
                    columns,
                    Some(bias),
                )?),
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

    /// Mean-pooled, L2-normalised embeddings of already-prefixed texts. Texts are encoded
    /// in batches of similar length (sorted by it), each padded to its batch's longest, so
    /// that every product has many rows and the work between products is paid once per
    /// batch rather than once per text; padding is masked out of attention and pooling.
    fn embed_prefixed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let ids: Vec<Vec<u32>> = texts.iter().map(|text| self.token_ids(text)).collect::<Result<_>>()?;
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&index| ids[index].len());
        let mut vectors = vec![Vec::new(); ids.len()];
        let mut start = 0;
        while start < order.len() {
            // Ascending lengths: a batch's last text is its longest.
            let mut end = start + 1;
            while end < order.len() && (end + 1 - start) * ids[order[end]].len() <= BATCH_ROWS {
                end += 1;
            }
            let batch: Vec<&[u32]> = order[start..end].iter().map(|&index| ids[index].as_slice()).collect();
            for (&index, vector) in order[start..end].iter().zip(self.encode(&batch)?) {
                vectors[index] = vector;
            }
            start = end;
        }
        Ok(vectors)
    }

    /// Encodes texts' token ids as one batch padded to its longest.
    fn encode(&self, batch: &[&[u32]]) -> candle_core::Result<Vec<Vec<f32>>> {
        let texts = batch.len();
        let length = batch.iter().map(|ids| ids.len()).max().unwrap_or(0);
        let mut padded = Vec::with_capacity(texts * length);
        let mut keep = Vec::with_capacity(texts * length);
        for ids in batch {
            padded.extend_from_slice(ids);
            padded.resize(padded.len() + length - ids.len(), self.eos);
            keep.extend((0..length).map(|position| if position < ids.len() { 1f32 } else { 0.0 }));
        }
        let rows = texts * length;
        let ids = Tensor::from_vec(padded, rows, &self.device)?;
        let words = self.word_embeddings.embedding(&ids)?;
        let positions = self.position_embeddings.narrow(0, 0, length)?.repeat((texts, 1))?;
        let embedded = (words + positions)?.broadcast_add(&self.token_type_embedding)?;
        let keep = Tensor::from_vec(keep, (texts, length), &self.device)?;
        let lengths: Vec<usize> = batch.iter().map(|ids| ids.len()).collect();
        let mut hidden = self.embedding_norm.forward(&embedded)?;
        // On one of rayon's threads, as the generator's decoding step (`crate::qwen2`): the
        // 8-bit products then share their work without waking the pool from outside.
        rayon::scope(|_| -> candle_core::Result<()> {
            for layer in &self.layers {
                hidden = self.layer_forward(layer, &hidden, &lengths)?;
            }
            Ok(())
        })?;
        let hidden = hidden.reshape((texts, length, self.config.hidden))?;
        let counts = keep.sum_keepdim(1)?;
        let pooled = hidden
            .broadcast_mul(&keep.unsqueeze(2)?)?
            .sum(1)?
            .broadcast_div(&counts)?;
        let norms = pooled.sqr()?.sum_keepdim(1)?.sqrt()?;
        pooled.broadcast_div(&norms)?.to_vec2::<f32>()
    }

    /// One encoder layer over texts of `lengths` tokens, each padded to the longest, their
    /// rows stacked. The products take all rows at once; attention is per text, over its
    /// own keys only, so padding needs no mask (padded rows attend too, but are never
    /// pooled). Per text, the score matrices stay small enough to reuse memory.
    fn layer_forward(&self, layer: &Layer, input: &Tensor, lengths: &[usize]) -> candle_core::Result<Tensor> {
        let (rows, hidden) = input.dims2()?;
        let texts = lengths.len();
        let length = rows / texts;
        let heads = self.config.heads;
        let head_dim = hidden / heads;
        let split_heads = |tensor: Tensor| -> candle_core::Result<Tensor> {
            tensor
                .reshape((texts, length, heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        // The scale on the queries, not on the (longer-by-a-factor-of-heads) scores.
        let scale = 1.0 / (head_dim as f64).sqrt();
        let query = split_heads((layer.query.forward(input)? * scale)?)?;
        let key = split_heads(layer.key.forward(input)?)?;
        let value = split_heads(layer.value.forward(input)?)?;
        let mut contexts = Vec::with_capacity(texts);
        for (text, &own) in lengths.iter().enumerate() {
            let key = key.get(text)?.narrow(1, 0, own)?;
            let value = value.get(text)?.narrow(1, 0, own)?;
            let scores = query.get(text)?.matmul(&key.t()?)?;
            let probabilities = ops::softmax_last_dim(&scores)?;
            contexts.push(probabilities.matmul(&value)?);
        }
        let context = Tensor::stack(&contexts, 0)?.transpose(1, 2)?.reshape((rows, hidden))?;
        let attended = layer.attention_output.forward(&context)?;
        let normed = layer.attention_norm.forward(&(attended + input)?)?;
        let expanded = ops::gelu_erf(&layer.feed_forward_in.forward(&normed)?)?;
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
        let prefixed: Vec<String> = texts.iter().map(|text| format!("passage: {text}")).collect();
        self.embed_prefixed(&prefixed)
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        Ok(self.embed_prefixed(&[format!("query: {text}")])?.remove(0))
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
