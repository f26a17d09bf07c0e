//! The BM25 keyword index on tantivy, with the permission filter inside the query.
//!
//! Each chunk is one tantivy document: its id, its document id, its text and title
//! (analysed by the Chinese/English analyzer) and its access tokens. A search is
//! `text-match AND access-match`, where the access clause scores zero, so filtering happens
//! inside the index before ranking and never changes scores.

use std::path::Path;
use std::sync::Mutex;

use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::tokenizer::{ANALYZER_NAME, analyzer, token_texts};
use crate::{Access, Error, Result, ScoredChunk};

/// A chunk as the keyword index sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordChunk {
    pub chunk_id: u64,
    pub document: String,
    pub title: String,
    pub text: String,
    pub access: Vec<String>,
}

struct Fields {
    chunk_id: Field,
    document: Field,
    title: Field,
    text: Field,
    access: Field,
}

/// The on-disk keyword index.
pub struct KeywordIndex {
    index: Index,
    reader: IndexReader,
    /// `None` when opened read-only, beside a process that holds the writer.
    writer: Mutex<Option<IndexWriter>>,
    fields: Fields,
    analyzer: Mutex<TextAnalyzer>,
}

impl std::fmt::Debug for KeywordIndex {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("KeywordIndex").finish_non_exhaustive()
    }
}

const WRITER_MEMORY_BYTES: usize = 64 * 1024 * 1024;

/// Words that are not evidence: the words that make a sentence a question (passages rarely
/// contain them, so they say nothing about whether a passage answers it) and function words
/// that carry no topic ("在", "用", "有", "it"): a passage lacking them lacks nothing the
/// question asks for.
///
/// The analyzer folds Traditional forms to Simplified and stems English words, so each word
/// is listed once.
const QUESTION_WORDS: &str = "what which who whom whose when where why how does did do is are was were \
    can could would should will may might must the a an of in on at to for by with from i me my we our you your \
    please it its this that there be been have has had any if myself shouldn doesn don isn aren t s \
    什么 什么时候 时候 哪 哪个 哪些 哪里 哪儿 哪种 哪一年 谁 何时 多少 几 怎么 怎么做 怎样 如何 为什么 为何 什么样 是 的 了 吗 呢 \
    可以 能 能否 会 是否 我 我们 你 您 请 有 用 在 里 把 为 让 被 时 后 以后 之后 下 做 这个 那个 某个 某些 应该 该 要 分别 \
    和 与 或 及 都 也 就";

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let analysed = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER_NAME)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        chunk_id: builder.add_u64_field("chunk_id", INDEXED | STORED | FAST),
        document: builder.add_text_field("document", STRING | STORED),
        title: builder.add_text_field("title", analysed.clone()),
        text: builder.add_text_field("text", analysed),
        access: builder.add_text_field("access", STRING),
    };
    (builder.build(), fields)
}

impl KeywordIndex {
    /// Opens (or creates) the index in `directory`; `extra_words` is the domain dictionary.
    ///
    /// Only one process may write an index: when another holds it (a running server),
    /// this fails with [`Error::Locked`] and [`KeywordIndex::open_read_only`] still works.
    pub fn open(directory: &Path, extra_words: &[String]) -> Result<Self> {
        std::fs::create_dir_all(directory)?;
        let (schema, fields) = schema();
        let index = Index::open_or_create(MmapDirectory::open(directory)?, schema)?;
        Self::from_index(index, fields, extra_words, true)
    }

    /// Opens the index in `directory` for searching only; writes fail with
    /// [`Error::ReadOnly`]. Searches see what the writer had committed when this opened.
    pub fn open_read_only(directory: &Path, extra_words: &[String]) -> Result<Self> {
        std::fs::create_dir_all(directory)?;
        let (schema, fields) = schema();
        let index = Index::open_or_create(MmapDirectory::open(directory)?, schema)?;
        Self::from_index(index, fields, extra_words, false)
    }

    /// A throw-away index in memory (tests, evaluation).
    pub fn in_memory(extra_words: &[String]) -> Result<Self> {
        let (schema, fields) = schema();
        Self::from_index(Index::create_in_ram(schema), fields, extra_words, true)
    }

    fn from_index(index: Index, fields: Fields, extra_words: &[String], writable: bool) -> Result<Self> {
        index.tokenizers().register(ANALYZER_NAME, analyzer(extra_words));
        let writer = if writable {
            match index.writer_with_num_threads(1, WRITER_MEMORY_BYTES) {
                Ok(writer) => Some(writer),
                Err(tantivy::TantivyError::LockFailure(tantivy::directory::error::LockError::LockBusy, _)) => {
                    return Err(Error::Locked);
                }
                Err(error) => return Err(error.into()),
            }
        } else {
            None
        };
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Self {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            analyzer: Mutex::new(analyzer(extra_words)),
        })
    }

    /// Replaces all chunks of `document` with `chunks` in one commit: a searcher sees
    /// either the old chunks or the new ones, never both or neither.
    pub fn replace_document(&self, document: &str, chunks: &[KeywordChunk]) -> Result<()> {
        let mut guard = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let writer = guard.as_mut().ok_or(Error::ReadOnly)?;
        writer.delete_term(Term::from_field_text(self.fields.document, document));
        for chunk in chunks {
            writer.add_document(self.tantivy_document(chunk))?;
        }
        writer.commit()?;
        drop(guard);
        self.reader.reload()?;
        Ok(())
    }

    /// Adds `chunks`, first removing any stored chunk with the same id (so a retried write
    /// never duplicates), in one commit.
    pub fn add_chunks(&self, chunks: &[KeywordChunk]) -> Result<()> {
        let mut guard = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let writer = guard.as_mut().ok_or(Error::ReadOnly)?;
        for chunk in chunks {
            writer.delete_term(Term::from_field_u64(self.fields.chunk_id, chunk.chunk_id));
            writer.add_document(self.tantivy_document(chunk))?;
        }
        writer.commit()?;
        drop(guard);
        self.reader.reload()?;
        Ok(())
    }

    /// Switches to a new domain dictionary and re-analyses every chunk with it: all stored
    /// chunks are replaced by `chunks` (read back from the database) in one commit, so a
    /// searcher sees either the old index or the new one. Queries use the new dictionary
    /// from the moment the commit is visible.
    pub fn rebuild(&self, extra_words: &[String], chunks: &[KeywordChunk]) -> Result<()> {
        let mut guard = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let writer = guard.as_mut().ok_or(Error::ReadOnly)?;
        writer.commit()?;
        // Segment writers take the analyzer from the index's registry when they start,
        // which happens after the commit above.
        self.index.tokenizers().register(ANALYZER_NAME, analyzer(extra_words));
        writer.delete_all_documents()?;
        for chunk in chunks {
            writer.add_document(self.tantivy_document(chunk))?;
        }
        writer.commit()?;
        drop(guard);
        self.reader.reload()?;
        *self.analyzer.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = analyzer(extra_words);
        Ok(())
    }

    /// Removes the chunks with these ids, in one commit.
    pub fn delete_chunks(&self, chunk_ids: &[u64]) -> Result<()> {
        let mut guard = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let writer = guard.as_mut().ok_or(Error::ReadOnly)?;
        for chunk_id in chunk_ids {
            writer.delete_term(Term::from_field_u64(self.fields.chunk_id, *chunk_id));
        }
        writer.commit()?;
        drop(guard);
        self.reader.reload()?;
        Ok(())
    }

    fn tantivy_document(&self, chunk: &KeywordChunk) -> TantivyDocument {
        let mut tantivy_document = TantivyDocument::default();
        tantivy_document.add_u64(self.fields.chunk_id, chunk.chunk_id);
        tantivy_document.add_text(self.fields.document, &chunk.document);
        tantivy_document.add_text(self.fields.title, &chunk.title);
        tantivy_document.add_text(self.fields.text, &chunk.text);
        for token in &chunk.access {
            tantivy_document.add_text(self.fields.access, token);
        }
        tantivy_document
    }

    /// Removes every chunk of `document`.
    pub fn delete_document(&self, document: &str) -> Result<()> {
        self.replace_document(document, &[])
    }

    /// Best `limit` chunks for `query` that `access` may see, by BM25.
    pub fn search(&self, query: &str, limit: usize, access: &Access) -> Result<Vec<ScoredChunk>> {
        let tokens = {
            let mut analyzer = self.analyzer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            token_texts(&mut analyzer, query)
        };
        if tokens.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut text_clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for token in &tokens {
            for field in [self.fields.text, self.fields.title] {
                let term = Term::from_field_text(field, token);
                text_clauses.push((
                    Occur::Should,
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
                ));
            }
        }
        let text_query: Box<dyn Query> = Box::new(BooleanQuery::new(text_clauses));
        let query: Box<dyn Query> = match access {
            Access::Everything => text_query,
            Access::Tokens(tokens) => {
                let access_clauses: Vec<(Occur, Box<dyn Query>)> = tokens
                    .iter()
                    .map(|token| {
                        let term = Term::from_field_text(self.fields.access, token);
                        let query: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::Basic));
                        (Occur::Should, query)
                    })
                    .collect();
                if access_clauses.is_empty() {
                    return Ok(Vec::new());
                }
                let access_query = ConstScoreQuery::new(Box::new(BooleanQuery::new(access_clauses)), 0.0);
                Box::new(BooleanQuery::new(vec![
                    (Occur::Must, text_query),
                    (Occur::Must, Box::new(access_query) as Box<dyn Query>),
                ]))
            }
        };
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let document: TantivyDocument = searcher.doc(address)?;
            let chunk_id = document
                .get_first(self.fields.chunk_id)
                .and_then(|value| value.as_u64())
                .unwrap_or_default();
            hits.push(ScoredChunk { chunk_id, score });
        }
        Ok(hits)
    }

    /// How much of `query` each passage covers, from 0 to 1: the share of the query's
    /// distinct terms found in the passage, each weighted by its inverse document frequency
    /// in this index, so "the", "是" or a topic word on every page count for little and the
    /// question's specific terms for much. The answer path uses it as the evidence that a
    /// passage can answer the question at all.
    pub fn coverage(&self, query: &str, passages: &[&str]) -> Vec<f32> {
        let mut terms = self.content_terms(query);
        let mut analyzer = self.analyzer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        terms.sort();
        terms.dedup();
        let searcher = self.reader.searcher();
        let documents = searcher.num_docs().max(1) as f32;
        let weights: Vec<f32> = terms
            .iter()
            .map(|term| {
                let frequency = searcher
                    .doc_freq(&Term::from_field_text(self.fields.text, term))
                    .unwrap_or(0) as f32;
                (1.0 + (documents - frequency + 0.5) / (frequency + 0.5)).ln()
            })
            .collect();
        let total: f32 = weights.iter().sum();
        passages
            .iter()
            .map(|passage| {
                if total <= 0.0 {
                    return 0.0;
                }
                let present: std::collections::HashSet<String> =
                    token_texts(&mut analyzer, passage).into_iter().collect();
                let covered: f32 = terms
                    .iter()
                    .zip(&weights)
                    .filter(|(term, _)| present.contains(*term))
                    .map(|(_, weight)| weight)
                    .sum();
                covered / total
            })
            .collect()
    }

    /// The analyzer's terms of `text` in order, without question and function words: the
    /// terms that say what a question is about.
    pub fn content_terms(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.analyzer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let question_words = token_texts(&mut analyzer, QUESTION_WORDS);
        let mut terms = token_texts(&mut analyzer, text);
        terms.retain(|term| !question_words.contains(term));
        terms
    }

    /// Number of chunks in the index.
    pub fn count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The analyzer's tokens for `text`, for debugging and tests.
    pub fn tokens(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.analyzer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        token_texts(&mut analyzer, text)
    }

    #[doc(hidden)]
    pub fn index(&self) -> &Index {
        &self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::chunk_tokens;

    fn chunk(chunk_id: u64, document: &str, text: &str, groups: &[&str]) -> KeywordChunk {
        let groups: Vec<String> = groups.iter().map(|group| (*group).to_owned()).collect();
        KeywordChunk {
            chunk_id,
            document: document.to_owned(),
            title: String::new(),
            text: text.to_owned(),
            access: chunk_tokens(&groups, groups.is_empty()),
        }
    }

    fn ids(index: &KeywordIndex, query: &str, access: &Access) -> Vec<u64> {
        let mut ids: Vec<u64> = index
            .search(query, 10, access)
            .unwrap()
            .iter()
            .map(|hit| hit.chunk_id)
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn a_second_writer_is_refused_but_a_reader_opens_beside_it() {
        let directory = tempfile::tempdir().unwrap();
        let writer = KeywordIndex::open(directory.path(), &[]).unwrap();
        writer
            .add_chunks(&[chunk(1, "d", "systemd starts units", &[])])
            .unwrap();
        assert!(matches!(KeywordIndex::open(directory.path(), &[]), Err(Error::Locked)));
        let reader = KeywordIndex::open_read_only(directory.path(), &[]).unwrap();
        assert_eq!(ids(&reader, "systemd", &Access::Everything), vec![1]);
        assert!(matches!(reader.delete_chunks(&[1]), Err(Error::ReadOnly)));
    }

    #[test]
    fn coverage_weighs_rare_question_terms_over_common_ones() {
        let index = KeywordIndex::in_memory(&[]).unwrap();
        let chunks: Vec<KeywordChunk> = (0..20)
            .map(|id| chunk(id, "d", &format!("the office report number {id}"), &["staff"]))
            .chain([chunk(99, "e", "the canteen closes at 14:00", &["staff"])])
            .collect();
        index.add_chunks(&chunks).unwrap();
        let coverage = index.coverage(
            "when does the canteen close",
            &["the canteen closes at 14:00", "the office report", "nothing relevant"],
        );
        assert!(coverage[0] > 0.6, "{coverage:?}");
        assert!(coverage[1] < 0.1, "{coverage:?}");
        assert_eq!(coverage[2], 0.0);
        assert!(index.coverage("", &["x"])[0] == 0.0);
    }

    /// Before: "有", "用" and "在" counted as terms of "paperkey 有什么用？", so the passage
    /// that explains paperkey held too little of the question and it was refused.
    #[test]
    fn function_words_of_a_chinese_question_are_not_evidence() {
        let index = KeywordIndex::in_memory(&[]).unwrap();
        let chunks: Vec<KeywordChunk> = (0..20)
            .map(|id| chunk(id, "d", &format!("第 {id} 章 内核模块 的 说明"), &["staff"]))
            .chain([chunk(
                99,
                "e",
                "paperkey(1) 把 OpenPGP 密钥导出 为 可打印 的 纸质 备份",
                &["staff"],
            )])
            .collect();
        index.add_chunks(&chunks).unwrap();
        let passage = "paperkey(1) 把 OpenPGP 密钥导出为可打印的纸质备份";
        for question in [
            "paperkey 有什么用？",
            "paperkey 是做什么用的？",
            "在什么时候用 paperkey？",
        ] {
            let coverage = index.coverage(question, &[passage])[0];
            assert!(coverage > 0.99, "{question}: {coverage}");
        }
    }

    #[test]
    fn rebuild_applies_a_new_domain_dictionary_to_stored_chunks() {
        let directory = tempfile::tempdir().unwrap();
        let chunks = vec![
            chunk(1, "a", "蓝港云盘的共享空间每人二十GB", &["staff"]),
            chunk(2, "b", "云盘以外的存储需要申请", &["staff"]),
        ];
        let access = Access::member_of(&["staff".to_owned()]);
        {
            let index = KeywordIndex::open(directory.path(), &[]).unwrap();
            index.add_chunks(&chunks).unwrap();
        }
        let words = vec!["蓝港云盘".to_owned()];
        let indexed = |index: &KeywordIndex, word: &str| {
            let term = Term::from_field_text(index.fields.text, word);
            index.reader.searcher().doc_freq(&term).unwrap() > 0
        };
        // Opened with the dictionary but not rebuilt: queries know the term, the stored
        // chunks were cut without it.
        let index = KeywordIndex::open(directory.path(), &words).unwrap();
        assert!(index.tokens("蓝港云盘").contains(&"蓝港云盘".to_owned()));
        assert!(!indexed(&index, "蓝港云盘"));
        index.rebuild(&words, &chunks).unwrap();
        assert!(indexed(&index, "蓝港云盘"));
        assert_eq!(ids(&index, "蓝港云盘", &access)[0], 1);
        assert_eq!(index.count(), 2);
        // And back: without the dictionary the term is cut again, and still found.
        index.rebuild(&[], &chunks).unwrap();
        assert!(!indexed(&index, "蓝港云盘"));
        assert!(ids(&index, "蓝港云盘", &access).contains(&1));
    }

    #[test]
    fn added_chunks_replace_same_ids_and_delete_by_id() {
        let index = KeywordIndex::in_memory(&[]).unwrap();
        index
            .add_chunks(&[
                chunk(1, "d", "服务器机房停电", &[]),
                chunk(2, "d", "服务器维护", &["it"]),
            ])
            .unwrap();
        index.add_chunks(&[chunk(1, "d", "服务器机房停电", &[])]).unwrap();
        assert_eq!(index.count(), 2, "a retried write must not duplicate");
        assert_eq!(ids(&index, "服务器", &Access::Everything), vec![1, 2]);
        assert_eq!(
            ids(&index, "服务器", &Access::member_of(&[])),
            vec![1],
            "group chunk hidden"
        );
        index.delete_chunks(&[1]).unwrap();
        assert_eq!(ids(&index, "服务器", &Access::Everything), vec![2]);
    }
}
