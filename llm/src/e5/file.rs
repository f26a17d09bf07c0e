//! Reader for the `E5S1` single-file format that carries multilingual-e5-small.
//!
//! The layout (little-endian) is documented in MODELS.md: a header with the BERT
//! hyper-parameters, the SentencePiece unigram vocabulary, an optional normalisation map we
//! skip (NFKC is a faithful substitute), then a table of tensors with absolute offsets.

use std::collections::HashMap;
use std::path::Path;

use crate::{Error, Result};

/// BERT hyper-parameters from the header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct E5Config {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub layer_norm_eps: f64,
}

/// Special token ids of the vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialIds {
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
}

/// Storage type of one tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    F32,
    Q4_0,
}

/// Where a tensor's bytes live in the file.
#[derive(Debug, Clone)]
pub struct TensorEntry {
    pub kind: TensorType,
    pub elements: usize,
    pub offset: usize,
    pub length: usize,
}

/// The whole file, parsed; tensor bytes are borrowed from `bytes` on demand.
#[derive(Debug)]
pub struct E5File {
    pub config: E5Config,
    pub special: SpecialIds,
    /// Unigram pieces with their log-probability scores, in id order.
    pub pieces: Vec<(String, f64)>,
    pub tensors: HashMap<String, TensorEntry>,
    pub bytes: Vec<u8>,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, count: usize) -> std::result::Result<&'a [u8], String> {
        let end = self
            .position
            .checked_add(count)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| format!("truncated at byte {}", self.position))?;
        let slice = &self.bytes[self.position..end];
        self.position = end;
        Ok(slice)
    }
    fn u8(&mut self) -> std::result::Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> std::result::Result<u16, String> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }
    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn i32(&mut self) -> std::result::Result<i32, String> {
        Ok(i32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn usize_from_i32(&mut self) -> std::result::Result<usize, String> {
        let value = self.i32()?;
        usize::try_from(value).map_err(|_| format!("negative size {value}"))
    }
    fn u64(&mut self) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn f32(&mut self) -> std::result::Result<f32, String> {
        Ok(f32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
}

impl E5File {
    /// Reads and parses the file at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(Error::MissingModel { path: path.into() });
        }
        let bytes = std::fs::read(path)?;
        Self::parse(bytes).map_err(|reason| Error::MalformedModel {
            path: path.into(),
            reason,
        })
    }

    fn parse(bytes: Vec<u8>) -> std::result::Result<Self, String> {
        let mut cursor = Cursor {
            bytes: &bytes,
            position: 0,
        };
        if cursor.take(4)? != b"E5S1" {
            return Err("not an E5S1 file (bad magic)".into());
        }
        let version = cursor.u32()?;
        if version != 1 {
            return Err(format!("unsupported format version {version}"));
        }
        let hidden = cursor.usize_from_i32()?;
        let layers = cursor.usize_from_i32()?;
        let heads = cursor.usize_from_i32()?;
        let ffn = cursor.usize_from_i32()?;
        let vocab = cursor.usize_from_i32()?;
        let max_positions = cursor.usize_from_i32()?;
        let type_vocab = cursor.usize_from_i32()?;
        let layer_norm_eps = f64::from(cursor.f32()?);
        let block_size = cursor.i32()?;
        if block_size != 32 {
            return Err(format!("unsupported quantisation block size {block_size}"));
        }
        let piece_count = cursor.usize_from_i32()?;
        let mut special_ids = [0u32; 4];
        for id in &mut special_ids {
            *id = u32::try_from(cursor.i32()?).map_err(|_| "negative special id")?;
        }
        let [bos, eos, pad, unk] = special_ids;
        let blob_length = usize::try_from(cursor.u64()?).map_err(|_| "blob too large")?;
        let mut offsets = Vec::with_capacity(piece_count + 1);
        for _ in 0..=piece_count {
            offsets.push(cursor.u32()? as usize);
        }
        let mut scores = Vec::with_capacity(piece_count);
        for _ in 0..piece_count {
            scores.push(f64::from(cursor.f32()?));
        }
        let blob = cursor.take(blob_length)?;
        let mut pieces = Vec::with_capacity(piece_count);
        for (index, score) in scores.into_iter().enumerate() {
            let (start, end) = (offsets[index], offsets[index + 1]);
            let raw = blob
                .get(start..end)
                .ok_or_else(|| format!("piece {index} out of range"))?;
            let piece = std::str::from_utf8(raw).map_err(|_| format!("piece {index} is not UTF-8"))?;
            pieces.push((piece.to_owned(), score));
        }
        let _normalisation_entries = cursor.i32()?;
        let normalisation_length = cursor.u32()? as usize;
        cursor.take(normalisation_length)?;

        let tensor_count = cursor.usize_from_i32()?;
        let mut tensors = HashMap::with_capacity(tensor_count);
        for _ in 0..tensor_count {
            let name_length = usize::from(cursor.u16()?);
            let name = String::from_utf8(cursor.take(name_length)?.to_vec()).map_err(|_| "tensor name is not UTF-8")?;
            let kind = match cursor.u8()? {
                0 => TensorType::F32,
                1 => TensorType::Q4_0,
                other => return Err(format!("tensor {name} has unknown dtype {other}")),
            };
            let elements = cursor.u32()? as usize;
            let offset = usize::try_from(cursor.u64()?).map_err(|_| "offset too large")?;
            let length = usize::try_from(cursor.u64()?).map_err(|_| "length too large")?;
            let expected = match kind {
                TensorType::F32 => elements * 4,
                TensorType::Q4_0 => elements / 32 * 18,
            };
            if length != expected || offset.checked_add(length).is_none_or(|end| end > bytes.len()) {
                return Err(format!("tensor {name} has inconsistent size or offset"));
            }
            tensors.insert(
                name,
                TensorEntry {
                    kind,
                    elements,
                    offset,
                    length,
                },
            );
        }
        Ok(Self {
            config: E5Config {
                hidden,
                layers,
                heads,
                ffn,
                vocab,
                max_positions,
                type_vocab,
                layer_norm_eps,
            },
            special: SpecialIds { bos, eos, pad, unk },
            pieces,
            tensors,
            bytes,
        })
    }

    /// The entry and raw bytes of tensor `name`.
    pub fn tensor(&self, name: &str) -> std::result::Result<(&TensorEntry, &[u8]), String> {
        let entry = self
            .tensors
            .get(name)
            .ok_or_else(|| format!("tensor {name} is missing"))?;
        Ok((entry, &self.bytes[entry.offset..entry.offset + entry.length]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_wrong_magic_and_truncation() {
        assert!(
            E5File::parse(b"GGUF\x01\x00\x00\x00".to_vec())
                .unwrap_err()
                .contains("magic")
        );
        let error = E5File::parse(b"E5S1\x01\x00\x00\x00\x80".to_vec()).unwrap_err();
        assert!(error.contains("truncated"), "{error}");
    }
}
