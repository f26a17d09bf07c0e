//! A Qwen2 decoder that keeps candle's fastest x86 kernels busy, and whose cache is a value.
//!
//! Qwen2.5-0.5B is 896 wide, so in candle's own qwen2 six of the seven matrices of every layer
//! miss candle's repacked 8-bit kernels, which want input widths that are multiples of 256,
//! and take a kernel 5-10x slower; prompt reading is where users wait. Here every matrix is a
//! [`crate::padded::Linear`]: our own 8-bit tiles at the matrix's width (AVX-512 VNNI), or
//! candle's Q6_K tiles with the input width zero-padded (AVX2).
//!
//! Decoding reads one token through every layer, so the work around the matrices counts
//! as much as the matrices: the query, key and value matrices are one product, the gate and
//! up matrices another, the attention scale is folded into the query weights, and the KV
//! cache is written in place into buffers with room to grow, whose keys the score product
//! reads transposed without copying them.
//!
//! Llama-architecture models (SmolLM2) take the same path: the same layers without the
//! query, key and value biases, rotated by adjacent pairs instead of halves.
//!
//! The KV cache is a value ([`Cache`]) that can be copied ([`Cache::try_clone`]), so the
//! cache after the system turn can be kept and reused by the next question.

mod decode;

use std::sync::Arc;

use candle_core::quantized::gguf_file;
use candle_core::{DType, Device, Tensor};

use crate::padded::Linear;
pub use crate::padded::{eight_bit_supported, supported};

/// Query rows per attention product when reading a prompt.
const QUERY_CHUNK: usize = 256;

#[derive(Debug)]
struct Layer {
    attention_norm: Tensor,
    /// Query (scaled by `1/sqrt(head_dim)`), key and value, stacked: one product.
    query_key_value: Linear,
    attention_output: Linear,
    feed_forward_norm: Tensor,
    /// Gate and up, stacked: one product.
    gate_up: Linear,
    down: Linear,
}

/// The weights; shared by every [`Cache`] through an `Arc`.
#[derive(Debug)]
pub struct Weights {
    embeddings: Tensor,
    layers: Vec<Layer>,
    norm: Tensor,
    output: Linear,
    cos: Tensor,
    sin: Tensor,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    feed_forward: usize,
    eps: f32,
    /// Rotary embedding by adjacent pairs (llama) rather than by halves (qwen2).
    interleaved: bool,
}

/// Positions a cache buffer holds at first; it doubles when full.
const CACHE_START: usize = 512;

/// Keys and values of the tokens read so far: per layer, buffers `[kv_heads, capacity,
/// head_dim]` whose first `len` positions are filled. Appending writes into them in place,
/// so a copy must own its buffers: there is no `Clone`, only [`Cache::try_clone`].
#[derive(Debug, Default)]
pub struct Cache {
    keys: Vec<Tensor>,
    values: Vec<Tensor>,
    len: usize,
}

impl Cache {
    /// Tokens held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A copy with buffers of its own.
    pub fn try_clone(&self) -> candle_core::Result<Self> {
        let copy = |tensors: &[Tensor]| {
            tensors
                .iter()
                .map(Tensor::copy)
                .collect::<candle_core::Result<Vec<_>>>()
        };
        Ok(Self {
            keys: copy(&self.keys)?,
            values: copy(&self.values)?,
            len: self.len,
        })
    }

    fn capacity(&self) -> usize {
        self.keys.first().map_or(0, |key| key.dims()[1])
    }

    /// Makes room for `needed` positions in every layer's buffers, keeping what they hold.
    fn reserve(&mut self, needed: usize, layers: usize, kv_heads: usize, head_dim: usize) -> candle_core::Result<()> {
        let capacity = self.capacity();
        if needed <= capacity {
            return Ok(());
        }
        let grown = needed.max(2 * capacity).max(CACHE_START);
        let len = self.len;
        let grow = |old: Option<&Tensor>| -> candle_core::Result<Tensor> {
            let buffer = Tensor::zeros((kv_heads, grown, head_dim), DType::F32, &Device::Cpu)?;
            if let Some(old) = old.filter(|_| len > 0) {
                buffer.slice_set(&old.narrow(1, 0, len)?.contiguous()?, 1, 0)?;
            }
            Ok(buffer)
        };
        self.keys = (0..layers)
            .map(|layer| grow(self.keys.get(layer)))
            .collect::<candle_core::Result<_>>()?;
        self.values = (0..layers)
            .map(|layer| grow(self.values.get(layer)))
            .collect::<candle_core::Result<_>>()?;
        Ok(())
    }
}

impl Weights {
    /// Loads a qwen2 or llama GGUF file, every matrix a [`crate::padded::Linear`].
    pub fn from_gguf<R: std::io::Read + std::io::Seek>(
        content: &gguf_file::Content,
        reader: &mut R,
    ) -> candle_core::Result<Self> {
        let device = Device::Cpu;
        let number = |key: &str| -> candle_core::Result<&gguf_file::Value> {
            content
                .metadata
                .get(key)
                .ok_or_else(|| candle_core::Error::Msg(format!("GGUF metadata lacks {key}")))
        };
        let architecture = number("general.architecture")?.to_string()?.clone();
        let interleaved = match architecture.as_str() {
            "qwen2" => false,
            // llama.cpp's converter permutes llama's query and key rows for rotation by
            // adjacent pairs (candle's `rope_i`); qwen2 rotates halves (`rope`).
            "llama" => true,
            other => candle_core::bail!("not a qwen2 or llama model: {other:?}"),
        };
        let number = |key: &str| number(&format!("{architecture}.{key}"));
        let heads = number("attention.head_count")?.to_u32()? as usize;
        let kv_heads = number("attention.head_count_kv")?.to_u32()? as usize;
        let width = number("embedding_length")?.to_u32()? as usize;
        let context = number("context_length")?.to_u32()? as usize;
        let blocks = number("block_count")?.to_u32()? as usize;
        let eps = number("attention.layer_norm_rms_epsilon")?.to_f32()?;
        let rope_base = number("rope.freq_base")
            .and_then(|value| value.to_f32())
            .unwrap_or(10_000.0);
        let head_dim = width / heads;

        let mut tensor =
            |name: &str| -> candle_core::Result<Tensor> { content.tensor(reader, name, &device)?.dequantize(&device) };
        // Scaling the queries is cheaper in the weights than in every product.
        let query_scale = 1.0 / (head_dim as f64).sqrt();
        let embeddings = tensor("token_embd.weight")?;
        let norm = tensor("output_norm.weight")?;
        let output = match tensor("output.weight") {
            Ok(weights) => Linear::new(&weights, None)?,
            Err(_) => Linear::new(&embeddings, None)?,
        };
        let mut layers = Vec::with_capacity(blocks);
        let mut feed_forward = 0;
        for index in 0..blocks {
            let mut weights = |name: &str| tensor(&format!("blk.{index}.{name}.weight"));
            let query_key_value = Tensor::cat(
                &[
                    (weights("attn_q")? * query_scale)?,
                    weights("attn_k")?,
                    weights("attn_v")?,
                ],
                0,
            )?;
            let gate = weights("ffn_gate")?;
            feed_forward = gate.dim(0)?;
            let gate_up = Tensor::cat(&[gate, weights("ffn_up")?], 0)?;
            let (attention_output, down) = (weights("attn_output")?, weights("ffn_down")?);
            // qwen2 has biases on query, key and value; llama has none.
            let query_key_value_bias = if content.tensor_infos.contains_key(&format!("blk.{index}.attn_q.bias")) {
                let mut bias = |name: &str| tensor(&format!("blk.{index}.{name}.bias"));
                Some(Tensor::cat(
                    &[(bias("attn_q")? * query_scale)?, bias("attn_k")?, bias("attn_v")?],
                    0,
                )?)
            } else {
                None
            };
            layers.push(Layer {
                attention_norm: tensor(&format!("blk.{index}.attn_norm.weight"))?,
                query_key_value: Linear::new(&query_key_value, query_key_value_bias)?,
                attention_output: Linear::new(&attention_output, None)?,
                feed_forward_norm: tensor(&format!("blk.{index}.ffn_norm.weight"))?,
                gate_up: Linear::new(&gate_up, None)?,
                down: Linear::new(&down, None)?,
            });
        }
        // Rotary embedding angles, position x frequency.
        let frequencies: Vec<f32> = (0..head_dim / 2)
            .map(|index| 1.0 / rope_base.powf(2.0 * index as f32 / head_dim as f32))
            .collect();
        let positions = Tensor::arange(0u32, context as u32, &device)?
            .to_dtype(DType::F32)?
            .reshape((context, 1))?;
        let angles = positions.matmul(&Tensor::from_vec(frequencies, (1, head_dim / 2), &device)?)?;
        Ok(Self {
            embeddings,
            layers,
            norm,
            output,
            cos: angles.cos()?,
            sin: angles.sin()?,
            heads,
            kv_heads,
            head_dim,
            feed_forward,
            eps,
            interleaved,
        })
    }

    /// Grouped-query attention of a prompt's `query` `[heads, count, head_dim]` (already
    /// scaled; one token goes to [`Weights::attend_one`]) over
    /// `key` and `value` `[kv_heads, total, head_dim]`, views into the cache whose rows per
    /// key/value head are contiguous; returns `[count, heads * head_dim]`.
    ///
    /// Each key/value head serves `heads / kv_heads` query heads, so their rows are stacked
    /// into one 2-D product per key/value head, and queries are taken [`QUERY_CHUNK`] at a
    /// time: score matrices of a 1,000-token prompt would otherwise be 60 MB per layer, and
    /// memory that large comes fresh from the kernel (page faults) on every allocation.
    fn attention(
        &self,
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
        mask: Option<&Tensor>,
        position: usize,
    ) -> candle_core::Result<Tensor> {
        let group = self.heads / self.kv_heads;
        let (count, total) = (query.dim(1)?, key.dim(1)?);
        let mut per_kv_head = Vec::with_capacity(self.kv_heads);
        for kv_head in 0..self.kv_heads {
            let queries = query.narrow(0, kv_head * group, group)?;
            // A transposed view: the product reads it with strides, nothing is copied.
            let keys_t = key.get(kv_head)?.t()?;
            let values = value.get(kv_head)?;
            let mut chunks = Vec::with_capacity(count.div_ceil(QUERY_CHUNK));
            let mut start = 0;
            while start < count {
                let length = QUERY_CHUNK.min(count - start);
                // Chunk rows see the cache and the prompt up to themselves.
                let visible = (position + start + length).min(total);
                let rows = queries
                    .narrow(1, start, length)?
                    .contiguous()?
                    .reshape((group * length, self.head_dim))?;
                let scores = rows.matmul(&keys_t.narrow(1, 0, visible)?)?;
                let scores = match mask {
                    Some(mask) => scores
                        .reshape((group, length, visible))?
                        .broadcast_add(&mask.narrow(0, start, length)?.narrow(1, 0, visible)?)?
                        .reshape((group * length, visible))?,
                    None => scores,
                };
                let probabilities = candle_nn::ops::softmax_last_dim(&scores)?;
                chunks.push(probabilities.matmul(&values.narrow(0, 0, visible)?)?.reshape((
                    group,
                    length,
                    self.head_dim,
                ))?);
                start += length;
            }
            per_kv_head.push(Tensor::cat(&chunks, 1)?);
        }
        Tensor::cat(&per_kv_head, 0)?
            .transpose(0, 1)?
            .reshape((count, self.heads * self.head_dim))
    }

    /// Decoding's attention ([`decode::attend_one`]) of `query` `[heads, 1, head_dim]` over
    /// the first `total` positions of a layer's cache buffers; returns `[1, heads * head_dim]`.
    fn attend_one(&self, query: &Tensor, keys: &Tensor, values: &Tensor, total: usize) -> candle_core::Result<Tensor> {
        let query = query.flatten_all()?.to_vec1::<f32>()?;
        let (keys, key_layout) = keys.storage_and_layout();
        let (values, value_layout) = values.storage_and_layout();
        let (candle_core::Storage::Cpu(keys), candle_core::Storage::Cpu(values)) = (&*keys, &*values) else {
            candle_core::bail!("the KV cache is not in CPU memory");
        };
        if !key_layout.is_contiguous() || !value_layout.is_contiguous() {
            candle_core::bail!("the KV cache buffers are not contiguous");
        }
        let capacity = key_layout.dims()[1];
        let keys = &keys.as_slice::<f32>()?[key_layout.start_offset()..];
        let values = &values.as_slice::<f32>()?[value_layout.start_offset()..];
        let shape = (self.kv_heads, self.head_dim, capacity, total);
        let output = decode::attend_one(&query, keys, values, shape);
        Tensor::from_vec(output, (1, self.heads * self.head_dim), &Device::Cpu)
    }

    /// An empty cache for this model.
    pub fn new_cache(&self) -> Cache {
        Cache::default()
    }

    /// Reads `tokens` after the `cache.len()` tokens already in the cache and returns the
    /// logits of the last one.
    pub fn forward(&self, tokens: &[u32], cache: &mut Cache) -> candle_core::Result<Tensor> {
        let device = Device::Cpu;
        let position = cache.len();
        let count = tokens.len();
        let total = position + count;
        let ids = Tensor::new(tokens, &device)?;
        let mut hidden = self.embeddings.index_select(&ids, 0)?;
        let cos = self.cos.narrow(0, position, count)?;
        let sin = self.sin.narrow(0, position, count)?;
        let mask = if count > 1 {
            // Token i sees cached tokens and itself and those before it.
            let values: Vec<f32> = (0..count)
                .flat_map(|row| {
                    (0..total).map(move |column| {
                        if column > position + row {
                            f32::NEG_INFINITY
                        } else {
                            0.0
                        }
                    })
                })
                .collect();
            Some(Tensor::from_vec(values, (count, total), &device)?)
        } else {
            None
        };
        cache.reserve(total, self.layers.len(), self.kv_heads, self.head_dim)?;
        let (query_width, kv_width) = (self.heads * self.head_dim, self.kv_heads * self.head_dim);
        for (index, layer) in self.layers.iter().enumerate() {
            let normed = candle_nn::ops::rms_norm(&hidden, &layer.attention_norm, self.eps)?;
            let split = |tensor: Tensor, heads: usize| -> candle_core::Result<Tensor> {
                tensor
                    .reshape((count, heads, self.head_dim))?
                    .transpose(0, 1)?
                    .contiguous()
            };
            let query_key_value = layer.query_key_value.forward(&normed)?;
            let query = split(query_key_value.narrow(1, 0, query_width)?, self.heads)?;
            let key = split(query_key_value.narrow(1, query_width, kv_width)?, self.kv_heads)?;
            let value = split(
                query_key_value.narrow(1, query_width + kv_width, kv_width)?,
                self.kv_heads,
            )?;
            let rotate = |tensor: &Tensor| -> candle_core::Result<Tensor> {
                let tensor = tensor.unsqueeze(0)?;
                if self.interleaved {
                    candle_nn::rotary_emb::rope_i(&tensor, &cos, &sin)?.squeeze(0)
                } else {
                    candle_nn::rotary_emb::rope(&tensor, &cos, &sin)?.squeeze(0)
                }
            };
            let (query, key) = (rotate(&query)?, rotate(&key)?);
            cache.keys[index].slice_set(&key, 1, position)?;
            cache.values[index].slice_set(&value, 1, position)?;
            let context = if count == 1 {
                self.attend_one(&query, &cache.keys[index], &cache.values[index], total)?
            } else {
                let key = cache.keys[index].narrow(1, 0, total)?;
                let value = cache.values[index].narrow(1, 0, total)?;
                self.attention(&query, &key, &value, mask.as_ref(), position)?
            };
            let attended = (layer.attention_output.forward(&context)? + &hidden)?;
            let normed = candle_nn::ops::rms_norm(&attended, &layer.feed_forward_norm, self.eps)?;
            let gate_up = layer.gate_up.forward(&normed)?;
            let gated = (candle_nn::ops::silu(&gate_up.narrow(1, 0, self.feed_forward)?)?
                * gate_up.narrow(1, self.feed_forward, self.feed_forward)?)?;
            hidden = (layer.down.forward(&gated)? + attended)?;
        }
        cache.len = total;
        let last = hidden.narrow(0, count - 1, 1)?;
        let normed = candle_nn::ops::rms_norm(&last, &self.norm, self.eps)?;
        self.output.forward(&normed)?.squeeze(0)
    }
}

/// A model and its cache as one value; a copy shares the weights and copies the cache.
#[derive(Debug)]
pub struct Session {
    pub weights: Arc<Weights>,
    pub cache: Cache,
}

impl Session {
    pub fn new(weights: Arc<Weights>) -> Self {
        let cache = weights.new_cache();
        Self { weights, cache }
    }

    /// A copy sharing the weights, with a cache of its own.
    pub fn try_clone(&self) -> candle_core::Result<Self> {
        Ok(Self {
            weights: self.weights.clone(),
            cache: self.cache.try_clone()?,
        })
    }

    /// Reads `tokens` at `position` (earlier tokens must be in the cache; 0 starts over).
    pub fn forward(&mut self, tokens: &Tensor, position: usize) -> candle_core::Result<Tensor> {
        if position == 0 || position < self.cache.len() {
            self.cache = self.weights.new_cache();
        }
        if position != self.cache.len() {
            candle_core::bail!(
                "position {position} does not follow the {} cached tokens",
                self.cache.len()
            );
        }
        let ids = tokens.flatten_all()?.to_vec1::<u32>()?;
        // On one of rayon's threads, so that each matrix product hands half its work to the
        // other thread instead of waking the pool from outside (measured: an 896 x 896
        // product of one row took 10 instead of 20 microseconds, and decoding runs about a
        // hundred of them per token).
        let Self { weights, cache } = self;
        rayon::scope(|_| weights.forward(&ids, cache))?.unsqueeze(0)
    }
}
