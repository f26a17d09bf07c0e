//! The BM25 keyword index on tantivy, with the permission filter inside the query: the
//! single-box [`KeywordStore`].
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
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::{KeywordChunk, KeywordStore};
use crate::tokenizer::{ANALYZER_NAME, SharedAnalyzer, analyzer};
use crate::{Access, Error, Result, ScoredChunk};

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
    analyzer: SharedAnalyzer,
}

impl std::fmt::Debug for KeywordIndex {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("KeywordIndex").finish_non_exhaustive()
    }
}

const WRITER_MEMORY_BYTES: usize = 64 * 1024 * 1024;

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
            analyzer: SharedAnalyzer::new(extra_words),
        })
    }

    /// Replaces all chunks of `document` with `chunks` in one commit: a searcher sees
    /// either the old chunks or the new ones, never both or neither.
    pub fn replace_document(&self, document: &str, chunks: &[KeywordChunk]) -> Result<()> {
        self.write(|writer, fields| {
            writer.delete_term(Term::from_field_text(fields.document, document));
            for chunk in chunks {
                writer.add_document(tantivy_document(fields, chunk))?;
            }
            Ok(())
        })
    }

    /// Runs `change` on the writer and commits it, then shows it to searchers.
    fn write(&self, change: impl FnOnce(&mut IndexWriter, &Fields) -> Result<()>) -> Result<()> {
        let mut guard = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let writer = guard.as_mut().ok_or(Error::ReadOnly)?;
        change(writer, &self.fields)?;
        writer.commit()?;
        drop(guard);
        self.reader.reload()?;
        Ok(())
    }

    #[doc(hidden)]
    pub fn index(&self) -> &Index {
        &self.index
    }
}

fn tantivy_document(fields: &Fields, chunk: &KeywordChunk) -> TantivyDocument {
    let mut tantivy_document = TantivyDocument::default();
    tantivy_document.add_u64(fields.chunk_id, chunk.chunk_id);
    tantivy_document.add_text(fields.document, &chunk.document);
    tantivy_document.add_text(fields.title, &chunk.title);
    tantivy_document.add_text(fields.text, &chunk.text);
    for token in &chunk.access {
        tantivy_document.add_text(fields.access, token);
    }
    tantivy_document
}

impl KeywordStore for KeywordIndex {
    /// One commit: a retried write never duplicates.
    fn add_chunks(&self, chunks: &[KeywordChunk]) -> Result<()> {
        self.write(|writer, fields| {
            for chunk in chunks {
                writer.delete_term(Term::from_field_u64(fields.chunk_id, chunk.chunk_id));
                writer.add_document(tantivy_document(fields, chunk))?;
            }
            Ok(())
        })
    }

    /// All stored chunks are replaced in one commit, so a searcher sees either the old
    /// index or the new one. Queries use the new dictionary from the moment the commit is
    /// visible.
    fn rebuild(&self, extra_words: &[String], chunks: &[KeywordChunk]) -> Result<()> {
        let mut guard = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let writer = guard.as_mut().ok_or(Error::ReadOnly)?;
        writer.commit()?;
        // Segment writers take the analyzer from the index's registry when they start,
        // which happens after the commit above.
        self.index.tokenizers().register(ANALYZER_NAME, analyzer(extra_words));
        writer.delete_all_documents()?;
        for chunk in chunks {
            writer.add_document(tantivy_document(&self.fields, chunk))?;
        }
        writer.commit()?;
        drop(guard);
        self.reader.reload()?;
        self.analyzer.replace(extra_words);
        Ok(())
    }

    fn follow_dictionary(&self, extra_words: &[String]) {
        self.index.tokenizers().register(ANALYZER_NAME, analyzer(extra_words));
        self.analyzer.replace(extra_words);
    }

    fn delete_chunks(&self, chunk_ids: &[u64]) -> Result<()> {
        self.write(|writer, fields| {
            for chunk_id in chunk_ids {
                writer.delete_term(Term::from_field_u64(fields.chunk_id, *chunk_id));
            }
            Ok(())
        })
    }

    fn delete_document(&self, document: &str) -> Result<()> {
        self.replace_document(document, &[])
    }

    fn search(&self, query: &str, limit: usize, access: &Access) -> Result<Vec<ScoredChunk>> {
        let tokens = self.analyzer.tokens(query);
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

    fn count(&self) -> Result<u64> {
        Ok(self.reader.searcher().num_docs())
    }

    fn document_frequencies(&self, terms: &[String]) -> Result<(u64, Vec<u64>)> {
        let searcher = self.reader.searcher();
        let frequencies = terms
            .iter()
            .map(|term| searcher.doc_freq(&Term::from_field_text(self.fields.text, term)))
            .collect::<tantivy::Result<Vec<u64>>>()?;
        Ok((searcher.num_docs(), frequencies))
    }

    fn tokens(&self, text: &str) -> Vec<String> {
        self.analyzer.tokens(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyword::conformance::{self, chunk, ids};

    #[test]
    fn tantivy_index_conforms() {
        conformance::run(&KeywordIndex::in_memory(&[]).unwrap());
        let directory = tempfile::tempdir().unwrap();
        conformance::run(&KeywordIndex::open(directory.path(), &[]).unwrap());
    }

    #[test]
    fn a_second_writer_is_refused_but_a_reader_opens_beside_it() {
        let directory = tempfile::tempdir().unwrap();
        let writer = KeywordIndex::open(directory.path(), &[]).unwrap();
        writer
            .add_chunks(&[chunk(1, "d", "", "systemd starts units", &[])])
            .unwrap();
        assert!(matches!(KeywordIndex::open(directory.path(), &[]), Err(Error::Locked)));
        let reader = KeywordIndex::open_read_only(directory.path(), &[]).unwrap();
        assert_eq!(ids(&reader, "systemd", &Access::Everything), vec![1]);
        assert!(matches!(reader.delete_chunks(&[1]), Err(Error::ReadOnly)));
    }
}
