//! Our own 8-bit matrix products: the one module of the workspace with `unsafe`.
//!
//! Decoding multiplies one row by every matrix of the model, so each token streams all the
//! weights from memory once; on 2 cores that stream is the time per token. candle 0.11's
//! fastest 8-bit kernel wants input widths that are multiples of 256, so Qwen2.5's 896-wide
//! matrices were padded to 1024 (11% more bytes on every token, e5's 384 to 512: 25%), and
//! candle keeps its repacked tiles beside the plain blocks, two copies in memory.
//!
//! A [`Tiles`] holds a Q8_0 matrix once, at its own width (any multiple of 32), in tiles of
//! 16 rows by one 32-value block: for each group of 4 values, 4 bytes of each of the 16 rows,
//! so one AVX-512 VNNI `vpdpbusd` multiplies 16 rows by 4 input values. The instruction
//! multiplies unsigned bytes by signed ones, so weights are stored plus 128 and each input
//! block's sum times 128 is taken off afterwards. Inputs are quantised to 8 bits per
//! 32-value block ([`Input`]), as llama.cpp does for Q8_0. The layout follows candle's
//! repacked Q8_0 tiles; the code is ours.
//!
//! [`tile_reference`] is the scalar reference the SIMD kernel is tested against; it also
//! runs where the CPU lacks the instructions (callers use `Tiles` only where it has them).
//! Work is split across rayon's threads: by tiles for a few input rows (decoding: one tile
//! at a time, a single stream from memory), by groups of input rows for many (a prompt, a
//! batch of passages), each group taking two tiles by [`MAX_ROWS`] rows per pass, so every
//! input value loaded serves 32 matrix rows. Measured with `tests::probe` on 2 AMD Zen 4
//! cores, one run: the 151,936 x 896 output matrix times one row, 4.5-5.5 ms (27-32 GB/s)
//! against candle's 6.7-7.6 ms padded; 256 rows of a prompt, 310-465 GOP/s on Qwen's shapes
//! against candle's 265-367.
#![allow(unsafe_code)]

use rayon::prelude::*;

/// Rows of the matrix per tile.
pub(crate) const TILE_ROWS: usize = 16;
/// Values per quantisation block (one scale each).
pub(crate) const BLOCK: usize = 32;
/// Bytes of a ggml Q8_0 block: an f16 scale and 32 signed bytes.
pub(crate) const Q8_0_BYTES: usize = 2 + BLOCK;
/// Input rows multiplied by a tile per pass.
pub(crate) const MAX_ROWS: usize = 4;
/// Input rows per task at most when there are many: a tile read stays in cache for them.
const ROW_GROUP: usize = 64;
/// Tiles per pass when many input rows share them.
const PAIR: usize = 2;
/// 64-byte lines per tile block: 16 rows x 32 values.
const LINES: usize = TILE_ROWS * BLOCK / 64;

/// One cache line of weights, aligned so a tile block is 8 aligned loads.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub(crate) struct Line([u8; 64]);

/// A `rows` x `columns` matrix of 8-bit weights in 16-row tiles.
pub(crate) struct Tiles {
    rows: usize,
    blocks: usize,
    /// Per tile, per block: 8 lines; line `g` holds values `4g..4g+4` of the block for each
    /// of the 16 rows (4 bytes a row), each weight plus 128.
    quants: Vec<Line>,
    /// Per tile, per block: the 16 rows' f16 scales, as bits.
    scales: Vec<u16>,
    vnni: bool,
}

impl std::fmt::Debug for Tiles {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "Tiles({} x {})", self.rows, self.blocks * BLOCK)
    }
}

/// Whether this CPU has the instructions of the SIMD kernel.
pub(crate) fn vnni_supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

impl Tiles {
    /// A matrix from ggml Q8_0 blocks, row after row; `columns` must be a multiple of 32.
    pub(crate) fn from_q8_0(bytes: &[u8], rows: usize, columns: usize) -> Result<Self, String> {
        if !columns.is_multiple_of(BLOCK) || bytes.len() != rows * columns / BLOCK * Q8_0_BYTES {
            return Err(format!("{} bytes are not {rows} x {columns} Q8_0 values", bytes.len()));
        }
        let blocks = columns / BLOCK;
        let tiles = rows.div_ceil(TILE_ROWS);
        // Rows past the end are zeros: scale 0, every weight 0 (stored as 128).
        let mut quants = vec![Line([128; 64]); tiles * blocks * LINES];
        let mut scales = vec![0u16; tiles * blocks * TILE_ROWS];
        for (row, source) in bytes.chunks_exact(blocks * Q8_0_BYTES).enumerate() {
            let (tile, within) = (row / TILE_ROWS, row % TILE_ROWS);
            for (block, values) in source.chunks_exact(Q8_0_BYTES).enumerate() {
                let at = tile * blocks + block;
                scales[at * TILE_ROWS + within] = u16::from_le_bytes([values[0], values[1]]);
                for (index, &value) in values[2..].iter().enumerate() {
                    let line = &mut quants[at * LINES + index / 4].0;
                    line[within * 4 + index % 4] = (value as i8 as i16 + 128) as u8;
                }
            }
        }
        Ok(Self {
            rows,
            blocks,
            quants,
            scales,
            vnni: vnni_supported(),
        })
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn columns(&self) -> usize {
        self.blocks * BLOCK
    }

    fn tiles(&self) -> usize {
        self.rows.div_ceil(TILE_ROWS)
    }

    /// Tile `tile`'s weights and scales.
    fn tile(&self, tile: usize) -> (&[Line], &[u16]) {
        let (lines, scales) = (self.blocks * LINES, self.blocks * TILE_ROWS);
        (
            &self.quants[tile * lines..(tile + 1) * lines],
            &self.scales[tile * scales..(tile + 1) * scales],
        )
    }

    /// `input` rows times this matrix transposed: `input.rows()` x `self.rows()`, row-major.
    pub(crate) fn multiply(&self, input: &Input) -> Vec<f32> {
        assert_eq!(input.blocks, self.blocks, "input width differs from the matrix's");
        let (tiles, width) = (self.tiles(), self.tiles() * TILE_ROWS);
        let rows: Vec<Row<'_>> = (0..input.rows).map(|row| input.row(row)).collect();
        let mut output = vec![0f32; input.rows * width];
        // An even number of tiles per task, so that tiles go through the kernel in pairs.
        let per_task = tiles.div_ceil(rayon::current_num_threads().max(1) * 8).max(1) * 2;
        if input.rows <= MAX_ROWS {
            // A few rows (decoding is one): every thread takes a share of the tiles. For one
            // row the results of consecutive tiles are consecutive in the output.
            let mut by_tile = if input.rows == 1 {
                Vec::new()
            } else {
                vec![[0f32; TILE_ROWS]; tiles * input.rows]
            };
            let target = if input.rows == 1 {
                output.as_chunks_mut::<TILE_ROWS>().0
            } else {
                &mut by_tile[..]
            };
            target
                .par_chunks_mut(per_task * input.rows)
                .enumerate()
                .for_each(|(task, chunk)| {
                    // One row streams the weights from memory: one tile at a time reads one
                    // stream (measured faster); a few rows reuse each value, in pairs.
                    let pair = if input.rows == 1 { 1 } else { PAIR };
                    for (index, out) in chunk.chunks_mut(pair * input.rows).enumerate() {
                        self.multiply_tiles(task * per_task + pair * index, &rows, out);
                    }
                });
            for (tile, out) in by_tile.chunks_exact(input.rows).enumerate() {
                for (row, values) in out.iter().enumerate() {
                    output[row * width + tile * TILE_ROWS..][..TILE_ROWS].copy_from_slice(values);
                }
            }
        } else {
            // Many rows: every thread takes groups of rows and reads each tile once per group;
            // at least two groups a thread, so that a query's few rows are shared too.
            let threads = rayon::current_num_threads().max(1);
            let group_size = input
                .rows
                .div_ceil(2 * threads)
                .next_multiple_of(MAX_ROWS)
                .min(ROW_GROUP);
            output
                .par_chunks_mut(group_size * width)
                .enumerate()
                .for_each(|(group, chunk)| {
                    let first = group * group_size;
                    let group_rows = chunk.len() / width;
                    let mut out = [[0f32; TILE_ROWS]; 2 * MAX_ROWS];
                    for tile in (0..tiles).step_by(PAIR) {
                        let pair = PAIR.min(tiles - tile);
                        for start in (0..group_rows).step_by(MAX_ROWS) {
                            let count = MAX_ROWS.min(group_rows - start);
                            let out = &mut out[..pair * count];
                            self.multiply_tiles(tile, &rows[first + start..][..count], out);
                            for (index, values) in out.iter().enumerate() {
                                let (tile, row) = (tile + index / count, start + index % count);
                                chunk[row * width + tile * TILE_ROWS..][..TILE_ROWS].copy_from_slice(values);
                            }
                        }
                    }
                });
        }
        if width != self.rows {
            output = output
                .chunks_exact(width)
                .flat_map(|row| &row[..self.rows])
                .copied()
                .collect();
        }
        output
    }

    /// Tiles `first` and on (one or two: `out.len() / rows.len()`) times `rows` (at most
    /// [`MAX_ROWS`]); `out[tile * rows.len() + row]` takes each product.
    fn multiply_tiles(&self, first: usize, rows: &[Row<'_>], out: &mut [[f32; TILE_ROWS]]) {
        let count = rows.len();
        let pair = out.len() / count.max(1);
        assert!((1..=MAX_ROWS).contains(&count) && (1..=2).contains(&pair) && out.len() == pair * count);
        let (quants, scales) = self.tile(first);
        #[cfg(target_arch = "x86_64")]
        if self.vnni {
            let (next_quants, next_scales) = if pair == 2 {
                self.tile(first + 1)
            } else {
                (quants, scales)
            };
            let (quants, scales) = ([quants, next_quants], [scales, next_scales]);
            // SAFETY: `vnni` is true only where `vnni_supported` found the instructions; the
            // slices have the lengths `vnni::tiles` requires: tiles of `self.blocks` blocks
            // (`Tiles::tile`), input rows of the same width (asserted in `multiply`), and
            // `pair * count` outputs (asserted above).
            unsafe {
                match (pair, count) {
                    (1, 1) => vnni::tiles::<1, 1>(quants, scales, rows, out),
                    (1, 2) => vnni::tiles::<1, 2>(quants, scales, rows, out),
                    (1, 3) => vnni::tiles::<1, 3>(quants, scales, rows, out),
                    (1, _) => vnni::tiles::<1, 4>(quants, scales, rows, out),
                    (_, 1) => vnni::tiles::<2, 1>(quants, scales, rows, out),
                    (_, 2) => vnni::tiles::<2, 2>(quants, scales, rows, out),
                    (_, 3) => vnni::tiles::<2, 3>(quants, scales, rows, out),
                    (_, _) => vnni::tiles::<2, 4>(quants, scales, rows, out),
                }
            }
            return;
        }
        tile_reference(quants, scales, rows, &mut out[..count]);
        if pair == 2 {
            let (quants, scales) = self.tile(first + 1);
            tile_reference(quants, scales, rows, &mut out[count..]);
        }
    }
}

/// Rows of 32-value blocks quantised to 8 bits, each block with its scale.
pub(crate) struct Input {
    rows: usize,
    blocks: usize,
    values: Vec<i8>,
    scales: Vec<f32>,
    /// 128 times the sum of each block's values, times its scale: what the stored +128
    /// adds to a product with the block.
    offsets: Vec<f32>,
}

/// One quantised input row.
#[derive(Clone, Copy)]
struct Row<'a> {
    values: &'a [i8],
    scales: &'a [f32],
    offsets: &'a [f32],
}

impl Input {
    /// `data` is `rows` x `columns`, row-major; `columns` must be a multiple of 32.
    pub(crate) fn quantize(data: &[f32], columns: usize) -> Self {
        assert!(columns.is_multiple_of(BLOCK) && data.len().is_multiple_of(columns));
        let (rows, blocks) = (data.len() / columns, columns / BLOCK);
        let mut values = vec![0i8; data.len()];
        let mut scales = vec![0f32; rows * blocks];
        let mut offsets = vec![0f32; rows * blocks];
        let quantize = |((source, target), (scale, offset)): (_, (&mut f32, &mut f32))| {
            (*scale, *offset) = quantize_any(source, target);
        };
        if rows > MAX_ROWS {
            data.par_chunks(BLOCK)
                .zip(values.par_chunks_mut(BLOCK))
                .zip(scales.par_iter_mut().zip(offsets.par_iter_mut()))
                .with_min_len(1024)
                .for_each(quantize);
        } else {
            // A row or a few: not worth waking other threads.
            data.chunks(BLOCK)
                .zip(values.chunks_mut(BLOCK))
                .zip(scales.iter_mut().zip(offsets.iter_mut()))
                .for_each(quantize);
        }
        Self {
            rows,
            blocks,
            values,
            scales,
            offsets,
        }
    }

    fn row(&self, row: usize) -> Row<'_> {
        let blocks = self.blocks;
        Row {
            values: &self.values[row * blocks * BLOCK..(row + 1) * blocks * BLOCK],
            scales: &self.scales[row * blocks..(row + 1) * blocks],
            offsets: &self.offsets[row * blocks..(row + 1) * blocks],
        }
    }
}

/// [`quantize_block`], with AVX-512 where the CPU has it.
fn quantize_any(source: &[f32], target: &mut [i8]) -> (f32, f32) {
    #[cfg(target_arch = "x86_64")]
    if vnni_supported() {
        // SAFETY: `vnni_supported` found AVX-512 F and BW; `quantize_block` checks the
        // lengths.
        return unsafe { vnni::quantize_block(source, target) };
    }
    quantize_block(source, target)
}

/// One block of `source` as bytes in `target`; returns its scale and offset (see [`Input`]).
fn quantize_block(source: &[f32], target: &mut [i8]) -> (f32, f32) {
    let largest = source.iter().fold(0f32, |largest, value| largest.max(value.abs()));
    let scale = largest / 127.0;
    let inverse = if largest > 0.0 { 127.0 / largest } else { 0.0 };
    let mut sum = 0i32;
    for (value, target) in source.iter().zip(target.iter_mut()) {
        *target = (value * inverse).round() as i8;
        sum += i32::from(*target);
    }
    (scale, 128.0 * sum as f32 * scale)
}

/// The scalar reference of [`vnni::tile`]: the same integer products and the same order of
/// scaling, one multiply-add at a time.
fn tile_reference(quants: &[Line], scales: &[u16], rows: &[Row<'_>], out: &mut [[f32; TILE_ROWS]]) {
    let blocks = scales.len() / TILE_ROWS;
    for (row, out) in rows.iter().zip(out.iter_mut()) {
        for (within, sum) in out.iter_mut().enumerate() {
            *sum = 0.0;
            for block in 0..blocks {
                let values = &row.values[block * BLOCK..][..BLOCK];
                let mut dot = 0i32;
                for (index, &value) in values.iter().enumerate() {
                    let weight = quants[block * LINES + index / 4].0[within * 4 + index % 4];
                    dot += weight as i32 * value as i32;
                }
                let weight_scale = f16_to_f32(scales[block * TILE_ROWS + within]);
                *sum += (dot as f32 * row.scales[block] - row.offsets[block]) * weight_scale;
            }
        }
    }
}

/// An IEEE half-precision value's bits as an f32 (exact).
fn f16_to_f32(bits: u16) -> f32 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1F);
    let fraction = f32::from(bits & 0x3FF);
    sign * match exponent {
        0 => fraction * 2f32.powi(-24),
        31 if fraction == 0.0 => f32::INFINITY,
        31 => f32::NAN,
        _ => (1.0 + fraction / 1024.0) * 2f32.powi(exponent - 15),
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use std::arch::x86_64::*;

    use super::{BLOCK, LINES, Line, Row, TILE_ROWS};

    /// [`super::quantize_block`] with AVX-512: the same scale and offset; values round
    /// half to even where the reference rounds half away from zero.
    ///
    /// # Safety
    ///
    /// The CPU must have AVX-512 F and BW; `source` and `target` must hold 32 values.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) unsafe fn quantize_block(source: &[f32], target: &mut [i8]) -> (f32, f32) {
        assert!(source.len() == BLOCK && target.len() == BLOCK);
        // SAFETY: 32 f32s are two unaligned 16-lane loads.
        let (low, high) = unsafe {
            (
                _mm512_loadu_ps(source.as_ptr()),
                _mm512_loadu_ps(source.as_ptr().add(16)),
            )
        };
        let largest = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(low), _mm512_abs_ps(high)));
        let scale = largest / 127.0;
        let inverse = _mm512_set1_ps(if largest > 0.0 { 127.0 / largest } else { 0.0 });
        let low = _mm512_cvtps_epi32(_mm512_mul_ps(low, inverse));
        let high = _mm512_cvtps_epi32(_mm512_mul_ps(high, inverse));
        let sum = _mm512_reduce_add_epi32(_mm512_add_epi32(low, high));
        // SAFETY: each half narrows to 16 bytes, stored unaligned inside `target`'s 32.
        unsafe {
            _mm_storeu_si128(target.as_mut_ptr() as *mut __m128i, _mm512_cvtepi32_epi8(low));
            _mm_storeu_si128(target.as_mut_ptr().add(16) as *mut __m128i, _mm512_cvtepi32_epi8(high));
        }
        (scale, 128.0 * sum as f32 * scale)
    }

    /// `T` tiles (16 matrix rows each, all blocks) times `M` input rows; `out[t * M + m]`
    /// takes tile `t` times row `m`. With `T = 2` every input value loaded is multiplied by
    /// 32 matrix rows, and `T * M` independent chains of products keep `vpdpbusd` busy.
    ///
    /// # Safety
    ///
    /// The CPU must have AVX-512 F, BW and VNNI. The first `T` entries of `quants` must hold
    /// `LINES` lines and of `scales` 16 values per block, and every row `BLOCK` values, one
    /// scale and one offset per block, for the same number of blocks; `rows` must hold `M`
    /// entries and `out` `T * M`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn tiles<const T: usize, const M: usize>(
        quants: [&[Line]; 2],
        scales: [&[u16]; 2],
        rows: &[Row<'_>],
        out: &mut [[f32; TILE_ROWS]],
    ) {
        let blocks = scales[0].len() / TILE_ROWS;
        debug_assert!(quants[..T].iter().all(|quants| quants.len() == blocks * LINES));
        debug_assert!(scales[..T].iter().all(|scales| scales.len() == blocks * TILE_ROWS));
        debug_assert!(rows.len() == M && out.len() == T * M);
        debug_assert!(rows.iter().all(|row| row.values.len() == blocks * BLOCK
            && row.scales.len() == blocks
            && row.offsets.len() == blocks));
        // A bound the compiler cannot see: fully unrolled, the loop over groups had every
        // load of a block hoisted to its start and spilled to the stack.
        let groups = std::hint::black_box(LINES).min(LINES);
        let mut sums = [[_mm512_setzero_ps(); M]; T];
        for block in 0..blocks {
            // SAFETY: lines `block * LINES..(block + 1) * LINES` are inside each tile's
            // quants, and a `Line` is 64 aligned bytes, one `__m512i`.
            let lines: [*const __m512i; T] =
                std::array::from_fn(|tile| unsafe { quants[tile].as_ptr().add(block * LINES) } as *const __m512i);
            let values: [*const i8; M] = std::array::from_fn(|row| rows[row].values[block * BLOCK..][..BLOCK].as_ptr());
            // One tile times one row is a single chain of products, each waiting on the
            // last: split it in two (even and odd groups of values), added at the end.
            let chains = if T * M == 1 { 2 } else { 1 };
            let mut dots = [[[_mm512_setzero_si512(); 2]; M]; T];
            for group in 0..groups {
                // SAFETY: `group` is below `LINES`.
                let weights: [__m512i; T] =
                    std::array::from_fn(|tile| unsafe { _mm512_load_si512(lines[tile].add(group)) });
                for (row, values) in values.iter().enumerate() {
                    // SAFETY: bytes `4 * group..4 * group + 4` are inside the 32 of this
                    // block; the load needs no alignment.
                    let value = _mm512_broadcastd_epi32(unsafe { _mm_loadu_si32(values.add(4 * group) as *const u8) });
                    for tile in 0..T {
                        let dot = &mut dots[tile][row][group % chains];
                        *dot = _mm512_dpbusd_epi32(*dot, weights[tile], value);
                    }
                }
            }
            for tile in 0..T {
                let weight_scales = &scales[tile][block * TILE_ROWS..][..TILE_ROWS];
                // SAFETY: the 16 scales of this block are inside the tile's scales.
                let weight_scales =
                    _mm512_cvtph_ps(unsafe { _mm256_loadu_si256(weight_scales.as_ptr() as *const __m256i) });
                for (row, input) in rows.iter().enumerate() {
                    // (dot - offset) * input scale * weight scale, as (dot * input scale -
                    // offset * input scale) * weight scale: two roundings fewer than
                    // the reference, one instruction fewer per block.
                    let dot = _mm512_cvtepi32_ps(_mm512_add_epi32(dots[tile][row][0], dots[tile][row][1]));
                    let scaled = _mm512_fmsub_ps(
                        dot,
                        _mm512_set1_ps(input.scales[block]),
                        _mm512_set1_ps(input.offsets[block]),
                    );
                    sums[tile][row] = _mm512_fmadd_ps(scaled, weight_scales, sums[tile][row]);
                }
            }
        }
        for (index, out) in out.iter_mut().enumerate() {
            // SAFETY: `out` is 16 f32s.
            unsafe { _mm512_storeu_ps(out.as_mut_ptr(), sums[index / M][index % M]) };
        }
    }
}

#[cfg(test)]
mod tests;
