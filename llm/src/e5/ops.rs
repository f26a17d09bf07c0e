//! The encoder's two elementwise hot spots, softmax and GELU, without libm.
//!
//! candle computes both one element at a time through libm's `expf` and `erff`, GELU on one
//! thread. Over a 400-token passage that is 23 million exponentials in the attention
//! softmaxes and 7 million error functions in the feed-forward layers: with the products on
//! the repacked 8-bit kernels, about as long as all the products together. Here both use a
//! polynomial exponential written so the compiler vectorises it, on every core, in safe code.
//! Both stay within a few parts in ten million of libm's results (see the tests).

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
use rayon::prelude::*;

/// Elements per parallel task: small tensors (a short query) are not worth a thread.
const TASK_ELEMENTS: usize = 16 * 1024;

/// `e^x` to about 2 ulp for `x` in `[-87, 88]`, clamped outside it (so `e^-1e9`, a masked
/// score, is 1.6e-38): `2^n * e^r` with `r` in `[-ln2/2, ln2/2]` and `e^r` by its degree-6
/// Taylor polynomial. Written without branches, integer casts or `f32::round`, so that loops
/// over it compile to vector instructions.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in a part exact in f32 and the rest, so `x - n ln2` loses nothing.
    const LN2_HIGH: f32 = 0.693_145_75;
    const LN2_LOW: f32 = 1.428_606_8e-6;
    // Adding 1.5 * 2^23 rounds to an integer, which then sits in the low mantissa bits.
    const ROUNDER: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    let r = (x - n * LN2_HIGH) - n * LN2_LOW;
    let polynomial =
        1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // 2^n: the exponent field n + 127, from the integer in the mantissa bits.
    let scale = f32::from_bits(shifted.to_bits().wrapping_add(127) << 23);
    polynomial * scale
}

/// `erf(x)` to about 1.5e-7 (Abramowitz and Stegun 7.1.26).
#[inline(always)]
fn erf(x: f32) -> f32 {
    let magnitude = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * magnitude);
    let polynomial = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152_1 + t * 1.061_405_4))));
    (1.0 - polynomial * exp(-magnitude * magnitude)).copysign(x)
}

/// Lanes the reductions below keep apart, so that they compile to vector instructions.
const LANES: usize = 16;

/// The largest of `values` (`-inf` for none).
fn max_of(values: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, &value) in lanes.iter_mut().zip(chunk) {
            *lane = lane.max(value);
        }
    }
    rest.iter().chain(&lanes).copied().fold(f32::NEG_INFINITY, f32::max)
}

/// The sum of `values`.
fn sum_of(values: &[f32]) -> f32 {
    let mut lanes = [0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, &value) in lanes.iter_mut().zip(chunk) {
            *lane += value;
        }
    }
    rest.iter().chain(&lanes).sum()
}

fn contiguous<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(values) = storage else {
        candle_core::bail!("{op} takes f32 tensors");
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&values[start..end]),
        None => candle_core::bail!("{op} takes contiguous tensors"),
    }
}

/// `x * (1 + erf(x / sqrt 2)) / 2`, the exact GELU BERT models use.
struct GeluErf;

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "e5-gelu-erf"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let input = contiguous(storage, layout, self.name())?;
        let mut output = vec![0f32; input.len()];
        output
            .par_chunks_mut(TASK_ELEMENTS)
            .zip(input.par_chunks(TASK_ELEMENTS))
            .for_each(|(output, input)| {
                for (out, &x) in output.iter_mut().zip(input) {
                    *out = 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
                }
            });
        Ok((CpuStorage::F32(output), layout.shape().clone()))
    }
}

/// Softmax over the last dimension.
struct SoftmaxLastDim;

impl CustomOp1 for SoftmaxLastDim {
    fn name(&self) -> &'static str {
        "e5-softmax-last-dim"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let input = contiguous(storage, layout, self.name())?;
        let width = layout.shape().dims().last().copied().unwrap_or(1).max(1);
        let rows_per_task = (TASK_ELEMENTS / width).max(1);
        let mut output = vec![0f32; input.len()];
        output
            .par_chunks_mut(rows_per_task * width)
            .zip(input.par_chunks(rows_per_task * width))
            .for_each(|(output, input)| {
                for (output, input) in output.chunks_mut(width).zip(input.chunks(width)) {
                    let max = max_of(input);
                    for (out, &x) in output.iter_mut().zip(input) {
                        *out = exp(x - max);
                    }
                    let inverse = 1.0 / sum_of(output);
                    output.iter_mut().for_each(|out| *out *= inverse);
                }
            });
        Ok((CpuStorage::F32(output), layout.shape().clone()))
    }
}

/// GELU (the erf form) of every element of an f32 tensor.
pub(super) fn gelu_erf(input: &Tensor) -> candle_core::Result<Tensor> {
    input.contiguous()?.apply_op1_no_bwd(&GeluErf)
}

/// Softmax over the last dimension of an f32 tensor.
pub(super) fn softmax_last_dim(input: &Tensor) -> candle_core::Result<Tensor> {
    input.contiguous()?.apply_op1_no_bwd(&SoftmaxLastDim)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn exp_matches_libm_across_the_range_softmax_uses() {
        let mut worst: f32 = 0.0;
        for step in -8_700..8_800 {
            let x = step as f32 / 100.0 + 0.003;
            let expected = x.exp();
            let relative = ((exp(x) - expected) / expected.max(f32::MIN_POSITIVE)).abs();
            worst = worst.max(relative);
        }
        assert!(worst < 1e-6, "worst relative error {worst}");
        assert!(exp(-1e9) < 1e-37);
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn erf_matches_a_high_precision_reference() {
        // erf values from the series sum(k) (-1)^k x^(2k+1) / (k! (2k+1)) * 2/sqrt(pi), in f64.
        let reference = |x: f64| -> f64 {
            let (mut term, mut sum) = (x, x);
            for k in 1..200 {
                term *= -x * x / k as f64;
                sum += term / (2 * k + 1) as f64;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        };
        for step in -400..=400 {
            let x = step as f64 / 100.0;
            let error = (erf(x as f32) as f64 - reference(x)).abs();
            assert!(error < 5e-7, "erf({x}): off by {error}");
        }
    }

    #[test]
    fn ops_match_candles_own() {
        let device = Device::Cpu;
        let input = Tensor::randn(0f32, 3.0, (3, 7, 129), &device).unwrap();
        let pairs = [
            (gelu_erf(&input).unwrap(), input.gelu_erf().unwrap()),
            (
                softmax_last_dim(&input).unwrap(),
                candle_nn::ops::softmax_last_dim(&input).unwrap(),
            ),
        ];
        for (ours, candles) in pairs {
            let difference = (ours - candles)
                .unwrap()
                .abs()
                .unwrap()
                .flatten_all()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(difference < 1e-5, "largest difference {difference}");
        }
    }
}
