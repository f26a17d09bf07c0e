use proptest::prelude::*;

use super::*;

/// ggml Q8_0 blocks of `rows` x `columns` values drawn from `seed`, and the same matrix as
/// f32 (dequantised: what the blocks mean).
fn matrix(rows: usize, columns: usize, seed: u64) -> (Vec<u8>, Vec<f32>) {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let mut bytes = Vec::new();
    let mut values = Vec::new();
    for _ in 0..rows * columns / BLOCK {
        // Scales from tiny (subnormal f16) to large, values over the whole signed range.
        let scale_bits = match next() % 8 {
            0 => 0x0001 + (next() % 0x3FF) as u16,
            1 => 0,
            _ => 0x1000 + (next() % 0x3000) as u16,
        };
        bytes.extend_from_slice(&scale_bits.to_le_bytes());
        for _ in 0..BLOCK {
            let value = (next() % 256) as u8 as i8;
            bytes.push(value as u8);
            values.push(f16_to_f32(scale_bits) * value as f32);
        }
    }
    (bytes, values)
}

fn inputs(rows: usize, columns: usize, seed: u64) -> Vec<f32> {
    (0..rows * columns)
        .map(|index| (((index as u64 * 2654435761 + seed * 97) % 1000) as f32 / 250.0 - 2.0).powi(3))
        .collect()
}

/// The product of f32 `input` (`rows` x `columns`) and `weights` transposed.
fn exact(input: &[f32], weights: &[f32], columns: usize) -> Vec<f32> {
    input
        .chunks_exact(columns)
        .flat_map(|row| {
            weights
                .chunks_exact(columns)
                .map(move |weights| row.iter().zip(weights).map(|(a, b)| a * b).sum::<f32>())
        })
        .collect()
}

#[test]
fn half_precision_bits_read_exactly() {
    assert_eq!(f16_to_f32(0x3C00), 1.0);
    assert_eq!(f16_to_f32(0xC000), -2.0);
    assert_eq!(f16_to_f32(0x7BFF), 65504.0);
    assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    assert_eq!(f16_to_f32(0x3555), 0.33325195);
    assert_eq!(f16_to_f32(0x0000), 0.0);
    assert!(f16_to_f32(0x7E00).is_nan());
}

/// The AVX-512 quantisation gives the reference's scales, and its values differ only where a
/// value falls exactly halfway (rounded to even there, away from zero in the reference).
#[test]
fn simd_quantisation_matches_the_reference() {
    if !vnni_supported() {
        eprintln!("NOT RUN: this CPU lacks AVX-512, so only the reference quantises");
        return;
    }
    let mut data = inputs(6, 96, 11);
    // A block whose largest value is 127: 2.5 and -0.5 fall halfway between two steps.
    data[..4].copy_from_slice(&[127.0, 2.5, -0.5, 3.0]);
    data[32..64].fill(0.0);
    for block in data.chunks(BLOCK) {
        let (mut expected, mut actual) = ([0i8; BLOCK], [0i8; BLOCK]);
        let (scale, offset) = quantize_block(block, &mut expected);
        let (simd_scale, simd_offset) = quantize_any(block, &mut actual);
        assert_eq!(scale, simd_scale);
        for ((value, expected), actual) in block.iter().zip(expected).zip(actual) {
            let halfway = (value / scale).fract().abs() == 0.5;
            assert!(
                expected == actual || halfway && (expected - actual).abs() == 1,
                "{value}: {expected} against {actual}"
            );
        }
        let sum: i32 = actual.iter().map(|&value| i32::from(value)).sum();
        assert_eq!(simd_offset, 128.0 * sum as f32 * scale);
        assert!((offset - simd_offset).abs() <= 128.0 * scale * BLOCK as f32);
    }
}

#[test]
fn malformed_blocks_are_refused() {
    let (bytes, _) = matrix(3, 64, 1);
    assert!(Tiles::from_q8_0(&bytes[1..], 3, 64).is_err());
    assert!(Tiles::from_q8_0(&bytes, 3, 48).is_err());
    assert!(Tiles::from_q8_0(&bytes, 6, 32).is_ok());
}

/// The reference multiplies like the f32 matrix, up to rounding the input to 8 bits.
#[test]
fn the_reference_multiplies_like_the_dequantised_matrix() {
    let (rows, columns) = (37, 96);
    let (bytes, weights) = matrix(rows, columns, 7);
    let mut tiles = Tiles::from_q8_0(&bytes, rows, columns).unwrap();
    tiles.vnni = false;
    for input_rows in [1, 3, 9] {
        let data = inputs(input_rows, columns, 3);
        let expected = exact(&data, &weights, columns);
        let actual = tiles.multiply(&Input::quantize(&data, columns));
        assert_eq!(actual.len(), input_rows * rows);
        for (row, (actual, expected)) in actual.chunks(rows).zip(expected.chunks(rows)).enumerate() {
            // Each input value moves at most half a step, 1/254 of its block's largest.
            let input = &data[row * columns..][..columns];
            for (matrix_row, (actual, expected)) in actual.iter().zip(expected).enumerate() {
                let bound: f32 = input
                    .chunks(BLOCK)
                    .zip(weights[matrix_row * columns..][..columns].chunks(BLOCK))
                    .map(|(values, weights)| {
                        let largest = values.iter().fold(0f32, |a, b| a.max(b.abs()));
                        largest / 254.0 * weights.iter().map(|w| w.abs()).sum::<f32>()
                    })
                    .sum();
                assert!(
                    (actual - expected).abs() <= bound * 1.01 + 1e-3,
                    "row {row}, {matrix_row}: {actual} against {expected}, bound {bound}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The SIMD kernel gives the reference's results, for every shape and row count (both the
    /// few-rows and the many-rows splits, partial tiles and partial row passes).
    #[test]
    fn the_simd_kernel_matches_the_reference(
        rows in 1usize..70,
        blocks in 1usize..8,
        input_rows in 1usize..80,
        seed in 0u64..1_000,
    ) {
        if !vnni_supported() {
            eprintln!("NOT RUN: this CPU lacks AVX-512 VNNI, so only the reference was tested");
            return Ok(());
        }
        let columns = blocks * BLOCK;
        let (bytes, _) = matrix(rows, columns, seed);
        let mut tiles = Tiles::from_q8_0(&bytes, rows, columns).unwrap();
        let input = Input::quantize(&inputs(input_rows, columns, seed), columns);
        let simd = tiles.multiply(&input);
        tiles.vnni = false;
        let reference = tiles.multiply(&input);
        prop_assert_eq!(simd.len(), reference.len());
        // The same integer products; only the f32 rounding of the sums over blocks differs.
        let largest = reference.iter().fold(1f32, |a, b| a.max(b.abs()));
        for (simd, reference) in simd.iter().zip(&reference) {
            prop_assert!((simd - reference).abs() <= 1e-5 * largest, "{} against {}", simd, reference);
        }
    }
}

/// GOP/s of these products beside candle's repacked kernel, in one run, after checking that
/// both give the same products (up to their different rounding of the input).
///   cargo test -p llm --lib tiles::tests::probe -- --ignored --nocapture
#[test]
#[ignore]
fn probe() {
    use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
    use candle_core::{Device, Module, Tensor};
    for (outputs, inputs) in [(1152, 896), (896, 896), (9728, 896), (896, 4864), (151936, 896)] {
        let weights = Tensor::randn(0f32, 1.0, (outputs, inputs), &Device::Cpu).unwrap();
        let quantized = QTensor::quantize(&weights, GgmlDType::Q8_0).unwrap();
        let tiles = Tiles::from_q8_0(&quantized.data().unwrap(), outputs, inputs).unwrap();
        let padded = inputs.next_multiple_of(256);
        let candle = QMatMul::from_qtensor(
            QTensor::quantize(&weights.pad_with_zeros(1, 0, padded - inputs).unwrap(), GgmlDType::Q8_0).unwrap(),
        )
        .unwrap();
        for rows in [1, 256] {
            let data = Tensor::randn(0f32, 1.0, (rows, inputs), &Device::Cpu).unwrap();
            let data_padded = data.pad_with_zeros(1, 0, padded - inputs).unwrap();
            let theirs_product: Vec<f32> = candle
                .forward(&data_padded)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let values = data.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let ours_product = tiles.multiply(&Input::quantize(&values, inputs));
            let largest = theirs_product.iter().fold(1f32, |a, b| a.max(b.abs()));
            let difference = ours_product
                .iter()
                .zip(&theirs_product)
                .fold(0f32, |a, (x, y)| a.max((x - y).abs()));
            assert!(
                difference < 0.02 * largest,
                "{outputs}x{inputs}: {difference} of {largest}"
            );
            let operations = 2.0 * (rows * outputs * inputs) as f64;
            let repeats = ((4e9 / operations) as usize).clamp(3, 2000);
            let time = |run: &dyn Fn()| {
                let started = std::time::Instant::now();
                for _ in 0..repeats {
                    run();
                }
                started.elapsed().as_secs_f64() / repeats as f64
            };
            let ours = time(&|| {
                tiles.multiply(&Input::quantize(&values, inputs));
            });
            let quantized = Input::quantize(&values, inputs);
            let only_quantize = time(&|| {
                Input::quantize(&values, inputs);
            });
            let only_multiply = time(&|| {
                tiles.multiply(&quantized);
            });
            let pooled = rayon::scope(|_| {
                time(&|| {
                    tiles.multiply(&quantized);
                })
            });
            println!(
                "  quantize {:.3} ms, multiply {:.3} ms, multiply inside the pool {:.3} ms",
                only_quantize * 1e3,
                only_multiply * 1e3,
                pooled * 1e3
            );
            let theirs = time(&|| {
                candle.forward(&data_padded).unwrap();
            });
            println!(
                "{outputs}x{inputs} rows {rows}: ours {:.1} GOP/s {:.3} ms ({:.1} GB/s), candle padded {:.1} GOP/s {:.3} ms",
                operations / ours / 1e9,
                ours * 1e3,
                (outputs * inputs) as f64 * 34.0 / 32.0 / ours / 1e9,
                operations / theirs / 1e9,
                theirs * 1e3
            );
        }
    }
}
