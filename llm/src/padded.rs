//! Matrix products on the fastest kernel this CPU has, for matrices of any input width.
//!
//! Where the CPU has AVX-512 VNNI, a [`Linear`] holds its matrix once as our own 8-bit
//! [`Tiles`] (`crate::tiles`), at its own width. Elsewhere it uses candle 0.11's repacked
//! kernels, which want input widths that are multiples of 256: the matrix is stored in
//! [`format`] (on a CPU with only AVX2 the repacked 6-bit Q6_K tiles are the fastest format
//! that does not lose precision against the 5- and 8-bit files we read) with the input width
//! zero-padded to the next multiple of 256, and inputs are padded to match: the padding
//! multiplies zeros, the results are those of the unpadded product. Measured on 2 cores,
//! 896x896 matrix, 256 rows / one row, with candle's kernels: AVX-512 VNNI, Q8_0 38 -> 381 /
//! 50 -> 217 GOP/s; AVX2 only (AMD EPYC), Q5_0 8.2 / 8.2, Q8_0 14.9 / 14.8, Q6_K padded to
//! 1024 54.1 / 21.3 GOP/s (`examples/kernel_probe.rs`). There f32 reaches 61.7 GOP/s on 256
//! rows but 15.8 on one, with four times the memory. `crate::tiles` says what our own
//! kernel gains over candle's where both run.

use std::borrow::Cow;

use candle_core::quantized::{GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{D, Device, Module, Tensor};

use crate::tiles::{self, Input, Tiles};

/// Input widths candle's repacked kernels accept are multiples of this.
const REPACKED_WIDTH: usize = 256;

/// A linear layer on the fastest product this CPU has: our own 8-bit [`Tiles`] at the
/// matrix's own width where the CPU has AVX-512 VNNI, else candle's repacked kernels in
/// [`format`] with the input width padded to a multiple of 256.
#[derive(Debug)]
pub(crate) struct Linear {
    product: Product,
    bias: Option<Tensor>,
}

#[derive(Debug)]
enum Product {
    Tiles(Tiles),
    Padded { weights: QMatMul, padding: usize },
}

impl Linear {
    pub(crate) fn new(weights: &Tensor, bias: Option<Tensor>) -> candle_core::Result<Self> {
        let (rows, inputs) = weights.dims2()?;
        if eight_bit_supported() && inputs.is_multiple_of(tiles::BLOCK) {
            let quantized = QTensor::quantize(weights, GgmlDType::Q8_0)?;
            let tiles = Tiles::from_q8_0(&quantized.data()?, rows, inputs).map_err(candle_core::Error::Msg)?;
            return Ok(Self {
                product: Product::Tiles(tiles),
                bias,
            });
        }
        let padding = inputs.next_multiple_of(REPACKED_WIDTH) - inputs;
        let padded = if padding == 0 {
            weights.clone()
        } else {
            weights.pad_with_zeros(D::Minus1, 0, padding)?
        };
        Ok(Self {
            product: Product::Padded {
                weights: QMatMul::from_qtensor(QTensor::quantize(&padded, format())?)?,
                padding,
            },
            bias,
        })
    }

    /// A matrix of `rows` x `columns` held as ggml Q4_0 blocks, with its bias. The blocks
    /// become Q8_0 blocks exactly (the same scale, each 4-bit value -8..7 as a byte), not by
    /// re-quantising dequantised values, which would round every weight a second time.
    pub(crate) fn from_q4_0(
        blocks: &[u8],
        rows: usize,
        columns: usize,
        bias: Option<Tensor>,
    ) -> candle_core::Result<Self> {
        const VALUES: usize = 32;
        const Q4_BYTES: usize = 2 + VALUES / 2;
        const Q8_BYTES: usize = 2 + VALUES;
        if !columns.is_multiple_of(VALUES) || blocks.len() != rows * columns / VALUES * Q4_BYTES {
            candle_core::bail!("{} bytes are not {rows} x {columns} Q4_0 values", blocks.len());
        }
        let tiled = eight_bit_supported();
        let padded_columns = if tiled {
            columns
        } else {
            columns.next_multiple_of(REPACKED_WIDTH)
        };
        let row_blocks = columns / VALUES;
        // Padding blocks are zero: scale 0, values 0.
        let mut converted = vec![0u8; rows * padded_columns / VALUES * Q8_BYTES];
        for (row, source) in converted
            .chunks_exact_mut(padded_columns / VALUES * Q8_BYTES)
            .zip(blocks.chunks_exact(row_blocks * Q4_BYTES))
        {
            for (target, block) in row.chunks_exact_mut(Q8_BYTES).zip(source.chunks_exact(Q4_BYTES)) {
                target[..2].copy_from_slice(&block[..2]);
                for (index, &pair) in block[2..].iter().enumerate() {
                    target[2 + index] = ((pair & 0x0F) as i8 - 8) as u8;
                    target[2 + VALUES / 2 + index] = ((pair >> 4) as i8 - 8) as u8;
                }
            }
        }
        let product = if tiled {
            Product::Tiles(Tiles::from_q8_0(&converted, rows, columns).map_err(candle_core::Error::Msg)?)
        } else {
            let storage = QStorage::from_data(Cow::Owned(converted), &Device::Cpu, GgmlDType::Q8_0)?;
            Product::Padded {
                weights: QMatMul::from_qtensor(QTensor::new(storage, (rows, padded_columns))?)?,
                padding: padded_columns - columns,
            }
        };
        Ok(Self { product, bias })
    }

    /// `input` is `[..., inputs]`; the result is `[..., outputs]`.
    pub(crate) fn forward(&self, input: &Tensor) -> candle_core::Result<Tensor> {
        let output = match &self.product {
            Product::Tiles(tiles) => {
                let mut shape = input.dims().to_vec();
                let columns = shape.last().copied().unwrap_or(0);
                if columns != tiles.columns() {
                    candle_core::bail!("input width {columns}, matrix width {}", tiles.columns());
                }
                let values = input.flatten_all()?.to_vec1::<f32>()?;
                let product = tiles.multiply(&Input::quantize(&values, columns));
                if let Some(last) = shape.last_mut() {
                    *last = tiles.rows();
                }
                Tensor::from_vec(product, shape, &Device::Cpu)?
            }
            Product::Padded { weights, padding: 0 } => weights.forward(input)?,
            Product::Padded { weights, padding } => {
                weights.forward(&input.pad_with_zeros(D::Minus1, 0, *padding)?)?
            }
        };
        match &self.bias {
            Some(bias) => output.broadcast_add(bias),
            None => Ok(output),
        }
    }
}

/// Whether this CPU has the instructions of the 8-bit kernels, ours and candle's (AVX-512 VNNI).
pub fn eight_bit_supported() -> bool {
    tiles::vnni_supported()
}

/// Whether this CPU runs any of candle's repacked kernels (AVX2 and FMA at least); without
/// them padding only costs work, and unpadded products are the better choice.
pub fn supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        eight_bit_supported()
            || (std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The format [`Linear::new`] stores weights in: Q8_0 where the 8-bit tiles run, else Q6_K.
pub fn format() -> GgmlDType {
    if eight_bit_supported() || !supported() {
        GgmlDType::Q8_0
    } else {
        GgmlDType::Q6K
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact conversion multiplies like the 4-bit matrix itself (dequantised to f32).
    #[test]
    fn q4_0_blocks_convert_to_the_same_products() {
        let device = Device::Cpu;
        let (rows, columns) = (8, 384);
        let weights = Tensor::randn(0f32, 1.0, (rows, columns), &device).unwrap();
        let q4 = QTensor::quantize(&weights, GgmlDType::Q4_0).unwrap();
        let blocks = q4.data().unwrap();
        let linear = Linear::from_q4_0(&blocks, rows, columns, None).unwrap();
        let input = Tensor::randn(0f32, 1.0, (3, columns), &device).unwrap();
        let expected = input.matmul(&q4.dequantize(&device).unwrap().t().unwrap()).unwrap();
        let actual = linear.forward(&input).unwrap();
        let error = (actual - &expected)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let scale = expected.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        // Only the input is rounded to 8 bits (about 1/254 of each block's largest value).
        assert!(error < scale * 0.02, "largest error {error} of {scale}");
        assert!(Linear::from_q4_0(&blocks[1..], rows, columns, None).is_err());
    }
}
