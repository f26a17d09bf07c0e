//! Decoding's attention as plain loops over the KV cache.
//!
//! One new token has one query row per head. Through candle that is a batched product with
//! the keys read transposed, which its f32 GEMM packs again on every call: on SmolLM2 the
//! packing and the product took a fifth of decoding (`perf`, 600 tokens after a short
//! prompt). Here each key/value head's queries are scored against its cached keys, softmaxed
//! and applied to its values in one pass, the heads split across rayon's threads.

use rayon::prelude::*;

/// Lanes summed side by side, so that dot products vectorise (a single float sum cannot be
/// reordered by the compiler).
const LANES: usize = 16;

/// `query` holds `heads` rows of `head_dim`; `keys` and `values` hold, per key/value head,
/// `capacity` rows of `head_dim` of which the first `total` are filled. Returns the heads'
/// outputs, row after row. The queries of one key/value head are consecutive rows.
pub(super) fn attend_one(
    query: &[f32],
    keys: &[f32],
    values: &[f32],
    (kv_heads, head_dim, capacity, total): (usize, usize, usize, usize),
) -> Vec<f32> {
    let heads = query.len() / head_dim;
    let group = heads / kv_heads;
    let mut output = vec![0f32; heads * head_dim];
    output
        .par_chunks_mut(group * head_dim)
        .enumerate()
        .for_each(|(kv_head, output)| {
            let keys = &keys[kv_head * capacity * head_dim..][..total * head_dim];
            let values = &values[kv_head * capacity * head_dim..][..total * head_dim];
            let mut scores = vec![0f32; total];
            for (index, output) in output.chunks_exact_mut(head_dim).enumerate() {
                let query = &query[(kv_head * group + index) * head_dim..][..head_dim];
                for (score, key) in scores.iter_mut().zip(keys.chunks_exact(head_dim)) {
                    *score = dot(query, key);
                }
                let largest = scores
                    .iter()
                    .fold(f32::NEG_INFINITY, |largest, &score| largest.max(score));
                let mut sum = 0f32;
                for score in scores.iter_mut() {
                    *score = (*score - largest).exp();
                    sum += *score;
                }
                let inverse = 1.0 / sum;
                for (&weight, value) in scores.iter().zip(values.chunks_exact(head_dim)) {
                    let weight = weight * inverse;
                    for (output, value) in output.iter_mut().zip(value) {
                        *output += weight * value;
                    }
                }
            }
        });
    output
}

fn dot(left: &[f32], right: &[f32]) -> f32 {
    let mut sums = [0f32; LANES];
    let (left_chunks, right_chunks) = (left.chunks_exact(LANES), right.chunks_exact(LANES));
    let tail: f32 = left_chunks
        .remainder()
        .iter()
        .zip(right_chunks.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (left, right) in left_chunks.zip(right_chunks) {
        for ((sum, a), b) in sums.iter_mut().zip(left).zip(right) {
            *sum += a * b;
        }
    }
    sums.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    /// The loops give candle's batched product and softmax, with rows past `total` ignored.
    #[test]
    fn decoding_attention_matches_candles() {
        let (heads, kv_heads, head_dim, capacity, total) = (6, 2, 40, 9, 7);
        let values = |count: usize, seed: usize| -> Vec<f32> {
            (0..count)
                .map(|index| ((index * 7919 + seed * 104729) % 1000) as f32 / 500.0 - 1.0)
                .collect()
        };
        let query = values(heads * head_dim, 1);
        let keys = values(kv_heads * capacity * head_dim, 2);
        let cached = values(kv_heads * capacity * head_dim, 3);
        let actual = attend_one(&query, &keys, &cached, (kv_heads, head_dim, capacity, total));

        let device = Device::Cpu;
        let tensor = |data: &[f32], shape: (usize, usize, usize)| Tensor::from_slice(data, shape, &device).unwrap();
        let group = heads / kv_heads;
        let query = tensor(&query, (kv_heads, group, head_dim));
        let keys = tensor(&keys, (kv_heads, capacity, head_dim))
            .narrow(1, 0, total)
            .unwrap();
        let cached = tensor(&cached, (kv_heads, capacity, head_dim))
            .narrow(1, 0, total)
            .unwrap();
        let scores = query.matmul(&keys.transpose(1, 2).unwrap()).unwrap();
        let probabilities = candle_nn::ops::softmax_last_dim(&scores).unwrap();
        let expected: Vec<f32> = probabilities
            .matmul(&cached.contiguous().unwrap())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(actual.len(), expected.len());
        for (actual, expected) in actual.iter().zip(&expected) {
            assert!((actual - expected).abs() < 1e-5, "{actual} against {expected}");
        }
    }
}
