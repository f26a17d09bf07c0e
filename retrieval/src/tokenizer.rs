//! The tantivy tokenizer for mixed Chinese and English text.
//!
//! jieba segments Chinese (in search mode, so 清华大学 also yields 清华 and 大学); English
//! words pass through it whole and are stemmed afterwards by tantivy's Snowball filter.
//! Tokens without a letter or digit (whitespace, punctuation) are dropped.

use std::sync::{Arc, Mutex, OnceLock};

use jieba_rs::{Jieba, TokenizeMode};
use tantivy::tokenizer::{Language, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer};

use crate::normalize::normalize;

/// Name under which the analyzer is registered in the index.
pub const ANALYZER_NAME: &str = "zh_en";

/// Which analysis built an index: bumped whenever normalisation or cutting changes, so
/// that an index built by an older binary is analysed again (2: Taiwanese computing words
/// folded to the mainland ones).
pub const ANALYZER_VERSION: &str = "zh_en-2";

fn default_jieba() -> Arc<Jieba> {
    static JIEBA: OnceLock<Arc<Jieba>> = OnceLock::new();
    JIEBA.get_or_init(|| Arc::new(Jieba::new())).clone()
}

/// jieba-based tokenizer over normalised text.
#[derive(Clone)]
pub struct ChineseEnglishTokenizer {
    jieba: Arc<Jieba>,
}

impl ChineseEnglishTokenizer {
    /// With jieba's default dictionary plus `extra_words` (a domain dictionary).
    pub fn new(extra_words: &[String]) -> Self {
        if extra_words.is_empty() {
            return Self { jieba: default_jieba() };
        }
        let mut jieba = Jieba::new();
        for word in extra_words {
            jieba.add_word(word, None, None);
        }
        Self { jieba: Arc::new(jieba) }
    }
}

/// The full analyzer: segmentation, then English stemming.
pub fn analyzer(extra_words: &[String]) -> TextAnalyzer {
    TextAnalyzer::builder(ChineseEnglishTokenizer::new(extra_words))
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The analyzer behind a lock, for the keyword stores: they cut queries (and, for stores
/// that analyse outside tantivy, chunks) with it, and swap it when the domain dictionary
/// changes.
pub struct SharedAnalyzer(Mutex<TextAnalyzer>);

impl SharedAnalyzer {
    pub fn new(extra_words: &[String]) -> Self {
        Self(Mutex::new(analyzer(extra_words)))
    }

    /// The tokens of `text`, in order, repeats kept.
    pub fn tokens(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        token_texts(&mut analyzer, text)
    }

    /// Cuts with a new domain dictionary from now on.
    pub fn replace(&self, extra_words: &[String]) {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = analyzer(extra_words);
    }
}

/// Tokens collected up front: jieba returns them all at once anyway.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.index < self.tokens.len() {
            self.index += 1;
            true
        } else {
            false
        }
    }
    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}

impl Tokenizer for ChineseEnglishTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let normalized = normalize(text);
        // jieba reports character offsets; tantivy wants byte offsets into the original.
        let byte_offsets: Vec<usize> = text
            .char_indices()
            .map(|(offset, _)| offset)
            .chain(std::iter::once(text.len()))
            .collect();
        let mut tokens = Vec::new();
        for token in self.jieba.tokenize(&normalized, TokenizeMode::Search, true) {
            if !token.word.chars().any(char::is_alphanumeric) {
                continue;
            }
            tokens.push(Token {
                offset_from: byte_offsets[token.start.min(byte_offsets.len() - 1)],
                offset_to: byte_offsets[token.end.min(byte_offsets.len() - 1)],
                position: tokens.len(),
                text: token.word.to_owned(),
                position_length: 1,
            });
        }
        VecTokenStream { tokens, index: 0 }
    }
}

/// The token texts `analyzer` produces for `text` (used for queries and tests).
pub fn token_texts(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut texts = Vec::new();
    while stream.advance() {
        texts.push(stream.token().text.clone());
    }
    texts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_chinese_and_stems_english() {
        let mut analyzer = analyzer(&[]);
        let tokens = token_texts(&mut analyzer, "我在清华大学 Running servers，快！");
        for expected in ["清华", "大学", "清华大学", "run", "server"] {
            assert!(
                tokens.contains(&expected.to_owned()),
                "{expected} missing from {tokens:?}"
            );
        }
        assert!(
            !tokens
                .iter()
                .any(|token| token.trim().is_empty() || token == "，" || token == "！")
        );
    }

    #[test]
    fn traditional_and_simplified_share_tokens() {
        let mut analyzer = analyzer(&[]);
        let traditional = token_texts(&mut analyzer, "網絡設定");
        let simplified = token_texts(&mut analyzer, "网络设定");
        assert_eq!(traditional, simplified);
    }

    #[test]
    fn full_width_is_folded() {
        let mut analyzer = analyzer(&[]);
        assert_eq!(token_texts(&mut analyzer, "ＬＩＮＵＸ"), vec!["linux"]);
    }

    #[test]
    fn domain_dictionary_keeps_company_terms_whole() {
        let mut plain = analyzer(&[]);
        let mut custom = analyzer(&["蓝港云盘".to_owned()]);
        assert!(!token_texts(&mut plain, "蓝港云盘").contains(&"蓝港云盘".to_owned()));
        assert!(token_texts(&mut custom, "蓝港云盘").contains(&"蓝港云盘".to_owned()));
    }
}
