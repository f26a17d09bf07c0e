//! What each weight format reaches in candle's matrix products on this CPU:
//!   cargo run --example kernel_probe -p llm
//! Prints GOP/s (multiply-adds count two) for one row (decoding), 16 rows (a query) and 256
//! rows (a prompt or a passage batch), on the shapes of Qwen2.5-0.5B (896 wide, padded to
//! 1024) and multilingual-e5-small (384 wide, padded to 512). Which format is fastest
//! depends on the instructions the CPU has (see `llm/src/padded.rs`), so run it on the
//! server before choosing. Set `RAYON_NUM_THREADS` to the core count: without it candle
//! re-reads /proc/cpuinfo before every f32 product, which the f32 rows would include.

use std::time::Instant;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};

/// About this many operations per measurement.
const WORK: usize = 2_000_000_000;

fn main() -> anyhow::Result<()> {
    let device = Device::Cpu;
    let shapes = [
        (896, 896),
        (1024, 1024),
        (4864, 1024),
        (384, 384),
        (384, 512),
        (1536, 512),
    ];
    let formats = [
        GgmlDType::Q8_0,
        GgmlDType::Q6K,
        GgmlDType::Q4K,
        GgmlDType::Q5_0,
        GgmlDType::F32,
    ];
    for (outputs, inputs) in shapes {
        let weights = Tensor::randn(0f32, 1.0, (outputs, inputs), &device)?;
        for format in formats {
            // k-quants need input widths that are multiples of 256.
            if matches!(format, GgmlDType::Q6K | GgmlDType::Q4K) && !inputs.is_multiple_of(256) {
                continue;
            }
            let product = match format {
                GgmlDType::F32 => QMatMul::Tensor(weights.clone()),
                _ => QMatMul::from_qtensor(QTensor::quantize(&weights, format)?)?,
            };
            let mut line = format!("{outputs}x{inputs} {format:?}:");
            for rows in [1, 16, 256] {
                let input = Tensor::randn(0f32, 1.0, (rows, inputs), &device)?;
                product.forward(&input)?; // packs the weights where the kernel wants them packed
                let operations = 2 * rows * outputs * inputs;
                let repeats = (WORK / operations).clamp(3, 2_000);
                let started = Instant::now();
                for _ in 0..repeats {
                    product.forward(&input)?;
                }
                let seconds = started.elapsed().as_secs_f64() / repeats as f64;
                line += &format!(
                    "  {rows} rows: {:.1} GOP/s ({:.3} ms)",
                    operations as f64 / seconds / 1e9,
                    seconds * 1e3
                );
            }
            println!("{line}");
        }
    }
    Ok(())
}
