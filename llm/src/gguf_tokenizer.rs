//! Builds a Hugging Face `Tokenizer` from the metadata inside a GGUF file.
//!
//! The GGUF files we ship carry no `tokenizer.json`; their vocabulary, merges and token
//! types are in the metadata. For `gpt2`-style models (Qwen2, SmolLM2 and most chat models)
//! that is a byte-level BPE with a model-specific pre-tokenisation regex and NFC.

use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::normalizers::NFC;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

/// Qwen2's pre-tokenisation regex (from its `tokenizer.json`).
const QWEN2_PATTERN: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// GGUF token types that are special (control) or user-defined added tokens.
const TOKEN_TYPE_CONTROL: i32 = 3;
const TOKEN_TYPE_USER_DEFINED: i32 = 4;

fn metadata<'a>(content: &'a Content, key: &str) -> Result<&'a Value, String> {
    content
        .metadata
        .get(key)
        .ok_or_else(|| format!("GGUF metadata has no {key}"))
}

fn strings(value: &Value) -> Result<Vec<String>, String> {
    let values = value.to_vec().map_err(|error| error.to_string())?;
    values
        .iter()
        .map(|item| item.to_string().cloned().map_err(|error| error.to_string()))
        .collect()
}

/// The tokenizer described by `content`'s metadata, plus the ids of its end-of-turn tokens.
pub fn tokenizer_from_gguf(content: &Content) -> Result<(Tokenizer, Vec<u32>), String> {
    let model = metadata(content, "tokenizer.ggml.model")?
        .to_string()
        .map_err(|error| error.to_string())?;
    if model != "gpt2" {
        return Err(format!(
            "GGUF tokenizer model {model:?} is not supported (only byte-level BPE, \"gpt2\")"
        ));
    }
    let tokens = strings(metadata(content, "tokenizer.ggml.tokens")?)?;
    let merges = strings(metadata(content, "tokenizer.ggml.merges")?)?;
    let token_types: Vec<i32> = match content.metadata.get("tokenizer.ggml.token_type") {
        Some(value) => value
            .to_vec()
            .map_err(|error| error.to_string())?
            .iter()
            .map(|item| item.to_i32().map_err(|error| error.to_string()))
            .collect::<Result<_, _>>()?,
        None => vec![1; tokens.len()],
    };
    let pre = content
        .metadata
        .get("tokenizer.ggml.pre")
        .and_then(|value| value.to_string().ok())
        .cloned()
        .unwrap_or_default();

    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(id, token)| (token.clone(), id as u32))
        .collect();
    let merges: Vec<(String, String)> = merges
        .iter()
        .filter_map(|merge| {
            let (left, right) = merge.split_once(' ')?;
            Some((left.to_owned(), right.to_owned()))
        })
        .collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|error| error.to_string())?;

    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer
        .with_normalizer(Some(NFC))
        .map_err(|error| error.to_string())?;
    if pre == "qwen2" {
        let split = Split::new(
            SplitPattern::Regex(QWEN2_PATTERN.into()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|error| error.to_string())?;
        tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![
            split.into(),
            ByteLevel::new(false, false, false).into(),
        ])));
    } else {
        tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    }
    tokenizer.with_decoder(Some(ByteLevel::default()));

    let special: Vec<AddedToken> = tokens
        .iter()
        .zip(&token_types)
        .filter(|(_, kind)| **kind == TOKEN_TYPE_CONTROL || **kind == TOKEN_TYPE_USER_DEFINED)
        .map(|(token, kind)| AddedToken::from(token.clone(), *kind == TOKEN_TYPE_CONTROL))
        .collect();
    tokenizer
        .add_special_tokens(special)
        .map_err(|error| error.to_string())?;

    let mut stop_ids = Vec::new();
    for name in ["<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>"] {
        if let Some(id) = tokenizer.token_to_id(name) {
            stop_ids.push(id);
        }
    }
    if let Some(eos) = content
        .metadata
        .get("tokenizer.ggml.eos_token_id")
        .and_then(|value| value.to_u32().ok())
        && !stop_ids.contains(&eos)
    {
        stop_ids.push(eos);
    }
    Ok((tokenizer, stop_ids))
}
