//! Run-time settings: where data and models live, and the knobs of ingest and answering.
//!
//! Layered: compiled-in defaults, then a TOML file (`--config FILE` or `APPLIANCE_CONFIG`,
//! one `key = value` per setting, named as below), then `APPLIANCE__KEY` environment
//! variables (for example `APPLIANCE__ANSWER_PASSAGES=3`). Every value is validated once at
//! start; unknown keys in either place are an error, so a typo never silently does nothing.
//! The fields of [`Settings`] are the one list of settings, with their documentation.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// How hybrid search fuses its two result lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fusion {
    ReciprocalRank,
    Score,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub models_dir: PathBuf,
    /// Most embedding-model tokens in one chunk.
    pub chunk_max_tokens: usize,
    /// Tokens repeated between consecutive chunks.
    pub chunk_overlap_tokens: usize,
    /// Candidates each retriever returns before fusion.
    pub retrieve_candidates: usize,
    /// Weight of the dense list in fusion (the keyword list weighs 1).
    pub dense_weight: f32,
    /// How the keyword and dense lists are fused: `score` (weighted sum of min-max normalised
    /// scores, the default: it beat rank fusion on every question set, see ARCHITECTURE.md)
    /// or `rrf` (reciprocal rank).
    pub fusion: Fusion,
    /// Hits of a hybrid search re-ordered by the generator's relevance judgement (0: off).
    pub rerank_top: usize,
    /// Passages given to the generator.
    pub answer_passages: usize,
    /// Generator-token budget for all passages of a prompt.
    pub answer_passage_tokens: usize,
    /// Sentences shown on each side of a passage's best-matching sentences in the prompt
    /// (0: whole passages).
    pub answer_focus_sentences: usize,
    /// Added to the logits of the passages' tokens while an answer is generated, so that
    /// of near-equal words the model writes the passage's own (0: plain greedy decoding).
    pub answer_copy_bias: f32,
    /// When the generated answer fails its check, ask the model once more, shown only the
    /// passage sentences an extract would quote, before falling back to that extract. On by
    /// default: 15 more right answers of 240 on the trust set, none wrong (README, Trust);
    /// off saves the second generation's time when a first draft fails.
    pub answer_redraft: bool,
    /// Most tokens an answer may have.
    pub answer_max_tokens: usize,
    /// Below this best dense similarity, with no keyword match, the question is refused
    /// before generation (e5 scores unrelated text around 0.7-0.8).
    pub refuse_below_similarity: f32,
    /// Below this evidence (the share of the question's weighted terms the best passage
    /// contains, see `KeywordIndex::coverage`) the question is refused before generation.
    /// Calibrated with `eval answers --calibrate` on the shared question sets.
    pub refuse_below_evidence: f32,
    /// `refuse_below_evidence` for Chinese questions (their terms are jieba words, and a
    /// paraphrase shares fewer of them).
    pub refuse_below_evidence_zh: f32,
    /// A question below its evidence threshold is still answered when its best passage's
    /// dense similarity reaches this: a paraphrase that shares few words but means the same.
    pub answer_above_similarity: f32,
    /// `answer_above_similarity` for Chinese questions (e5 scores Chinese pairs higher).
    pub answer_above_similarity_zh: f32,
    /// A question below its evidence threshold is also answered when one sentence of its
    /// best passages reaches this dense similarity: the answer is one sentence of a longer
    /// passage, whose vector says much else.
    pub answer_above_sentence_similarity: f32,
    /// `answer_above_sentence_similarity` for Chinese questions.
    pub answer_above_sentence_similarity_zh: f32,
    /// Longest wait in the generator's queue, in seconds, before a question is answered by
    /// extraction instead (passage sentences, labelled as such).
    pub generator_wait_seconds: u64,
    /// Keep e5's layer weights 4-bit (what `embedder_layers` "q4" does).
    pub embedder_quantized: bool,
    /// How e5's layer matrices are held: `q8` (8-bit, for the 8-bit kernels), `f32`
    /// or `q4`; unset, q8 where the CPU has AVX-512 VNNI and f32 elsewhere.
    pub embedder_layers: Option<llm::e5::E5Layers>,
    /// The generator's GGUF file name inside the models directory (default: the prepared
    /// re-quantised file if present, else the shipped one).
    pub generator_file: Option<String>,
    /// An OpenAI-compatible inference server to use instead of the local generator.
    pub generator_url: Option<String>,
    /// The model name to ask that server for.
    pub generator_model: String,
    /// Bearer token for that server.
    pub generator_api_key: Option<Secret>,
    /// Largest file accepted for ingest, in MiB.
    pub max_file_mb: u64,
    /// Address-space limit of the parser child process, in MiB.
    pub parse_memory_mb: u64,
    /// CPU-time limit of the parser child process, in seconds (OCR runs in its own processes).
    pub parse_cpu_seconds: u64,
    /// Wall-clock limit for parsing one file, OCR included, in seconds.
    pub parse_timeout_seconds: u64,
    /// Tesseract languages for scanned pages (`chi_sim+eng`; add `chi_tra` for Traditional scans).
    pub ocr_languages: String,
    /// Longest OCR time for one page, in seconds.
    pub ocr_page_seconds: u64,
    /// `edge` (embedded qdrant-edge, the default) or `qdrant` (a Qdrant server or cluster).
    pub vector_store: String,
    /// `tantivy` (an index in the data directory, the default) or `qdrant` (BM25 as sparse
    /// vectors in the Qdrant server or cluster of `qdrant_url`, in the collection
    /// `{qdrant_collection}_bm25`): what several appliance nodes share.
    pub keyword_store: String,
    /// Where uploads wait for ingest and their originals are kept (default
    /// `DATA_DIR/uploads`). Nodes that share a database must share this directory too (a
    /// shared volume): any node's worker may ingest an upload another node received.
    pub uploads_dir: Option<PathBuf>,
    /// The Qdrant server's gRPC address, e.g. `http://qdrant:6334`.
    pub qdrant_url: Option<String>,
    pub qdrant_api_key: Option<Secret>,
    pub qdrant_collection: String,
    /// Shards and replication factor of a new collection.
    pub qdrant_shards: u32,
    pub qdrant_replication: u32,
    /// Always mark session cookies `Secure` (set when TLS terminates in front of the
    /// appliance without an `X-Forwarded-Proto` header).
    pub secure_cookies: bool,
    /// Ingest jobs the server runs at once (embedding uses every core, so one is usually best).
    pub ingest_workers: usize,
    /// The key that seals audit rows (default `DATA_DIR/audit.key`). Keep it where those who
    /// administer the database cannot write, and back it up apart from the database.
    pub audit_key_file: Option<PathBuf>,
    /// Where the server appends the audit chain's head (default
    /// `DATA_DIR/audit-checkpoints.jsonl`): ship it to write-once storage.
    pub audit_checkpoint_file: Option<PathBuf>,
    /// Seconds between audit checkpoints (0: only at start and stop).
    pub audit_checkpoint_seconds: u64,
    /// Days audit rows are kept (0: for ever). A purge leaves the rest verifiable.
    pub audit_retention_days: u64,
    /// Days a conversation is kept after its last question (0: for ever).
    pub conversation_retention_days: u64,
    /// A PostgreSQL database (`postgres://user:password@host/db`) instead of the embedded
    /// SQLite file; several appliance nodes can share one.
    pub database_url: Option<Secret>,
    /// Let remote endpoints (generator, Qdrant, PostgreSQL) have public addresses; off, the appliance
    /// refuses to start with one.
    pub allow_public_endpoints: bool,
    /// `text` (the default) or `json`: one JSON object per log line, with the request id of
    /// the request it belongs to (read from the environment only, before settings load).
    pub log_format: String,
}

/// A value that never appears in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Secret(..)")
    }
}

/// What a question must reach, in its language, not to be refused for thin evidence: any
/// one of the three.
#[derive(Debug, Clone, Copy)]
pub struct RefusalThresholds {
    /// `refuse_below_evidence[_zh]`.
    pub evidence: f32,
    /// `answer_above_similarity[_zh]`.
    pub passage_similarity: f32,
    /// `answer_above_sentence_similarity[_zh]`.
    pub sentence_similarity: f32,
}

impl Settings {
    /// The defaults overridden by `APPLIANCE__` environment variables.
    pub fn new(data_dir: PathBuf, models_dir: PathBuf) -> anyhow::Result<Self> {
        Self::load(data_dir, models_dir, None)
    }

    /// The defaults, overridden by the TOML file at `config` (when given), then by
    /// `APPLIANCE__` environment variables.
    pub fn load(data_dir: PathBuf, models_dir: PathBuf, config: Option<&Path>) -> anyhow::Result<Self> {
        let mut settings = Self::defaults(data_dir, models_dir);
        if let Some(path) = config {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the configuration file {}", path.display()))?;
            settings
                .apply_toml(&text)
                .with_context(|| format!("in the configuration file {}", path.display()))?;
        }
        for (key, value) in std::env::vars() {
            let Some(name) = key.strip_prefix("APPLIANCE__") else {
                continue;
            };
            settings
                .set(&name.to_lowercase(), &value)
                .with_context(|| format!("environment variable {key}"))?;
        }
        Ok(settings)
    }

    /// Applies every `key = value` of a TOML document; nested tables are not settings.
    fn apply_toml(&mut self, text: &str) -> anyhow::Result<()> {
        let table: toml::Table = text.parse().context("not valid TOML")?;
        for (key, value) in table {
            let value = match value {
                toml::Value::String(text) => text,
                toml::Value::Integer(number) => number.to_string(),
                toml::Value::Float(number) => number.to_string(),
                toml::Value::Boolean(flag) => flag.to_string(),
                other => bail!(
                    "setting {key:?} must be a string, number or boolean, not {}",
                    other.type_str()
                ),
            };
            self.set(&key, &value).with_context(|| format!("setting {key:?}"))?;
        }
        Ok(())
    }

    fn defaults(data_dir: PathBuf, models_dir: PathBuf) -> Self {
        Self {
            data_dir,
            models_dir,
            chunk_max_tokens: 200,
            chunk_overlap_tokens: 32,
            retrieve_candidates: 50,
            dense_weight: 1.0,
            fusion: Fusion::Score,
            rerank_top: 0,
            answer_passages: 4,
            answer_passage_tokens: 900,
            answer_focus_sentences: 0,
            answer_copy_bias: 0.0,
            answer_redraft: true,
            answer_max_tokens: 256,
            refuse_below_similarity: 0.78,
            // Chosen together with `eval answers --calibrate --limit 200` on the dev queries of
            // en_xquad / zh_cmrc2018: a question is refused early when its evidence, its best
            // passage's and its best sentence's dense similarity are all below these, which
            // refuses 3% / 0.5% of answerable questions and 96.5% / 94% of those whose gold
            // passage was removed (README, Refusals).
            refuse_below_evidence: 0.50,
            refuse_below_evidence_zh: 0.60,
            answer_above_similarity: 0.83,
            answer_above_similarity_zh: 0.90,
            answer_above_sentence_similarity: 0.86,
            answer_above_sentence_similarity_zh: 0.90,
            generator_wait_seconds: 60,
            embedder_quantized: false,
            embedder_layers: None,
            generator_file: None,
            generator_url: None,
            generator_model: "default".to_owned(),
            generator_api_key: None,
            max_file_mb: 64,
            parse_memory_mb: 2048,
            parse_cpu_seconds: 600,
            parse_timeout_seconds: 3600,
            ocr_languages: "chi_sim+eng".to_owned(),
            ocr_page_seconds: 60,
            ingest_workers: 1,
            secure_cookies: false,
            vector_store: "edge".to_owned(),
            keyword_store: "tantivy".to_owned(),
            uploads_dir: None,
            qdrant_url: None,
            qdrant_api_key: None,
            qdrant_collection: "chunks".to_owned(),
            qdrant_shards: 1,
            qdrant_replication: 1,
            audit_key_file: None,
            audit_checkpoint_file: None,
            audit_checkpoint_seconds: 300,
            audit_retention_days: 0,
            conversation_retention_days: 0,
            database_url: None,
            allow_public_endpoints: false,
            log_format: "text".to_owned(),
        }
    }

    fn set(&mut self, name: &str, value: &str) -> anyhow::Result<()> {
        fn number<T: std::str::FromStr>(value: &str) -> anyhow::Result<T> {
            value
                .parse()
                .ok()
                .with_context(|| format!("{value:?} is not a valid number"))
        }
        fn flag(value: &str) -> anyhow::Result<bool> {
            match value {
                "1" | "true" | "yes" => Ok(true),
                "0" | "false" | "no" => Ok(false),
                other => bail!("{other:?} is not true or false"),
            }
        }
        match name {
            "chunk_max_tokens" => self.chunk_max_tokens = number(value)?,
            "chunk_overlap_tokens" => self.chunk_overlap_tokens = number(value)?,
            "retrieve_candidates" => self.retrieve_candidates = number(value)?,
            "answer_passages" => self.answer_passages = number(value)?,
            "dense_weight" => self.dense_weight = number(value)?,
            "rerank_top" => self.rerank_top = number(value)?,
            "fusion" => {
                self.fusion = match value {
                    "rrf" => Fusion::ReciprocalRank,
                    "score" => Fusion::Score,
                    other => bail!("fusion must be rrf or score, not {other:?}"),
                }
            }
            "answer_passage_tokens" => self.answer_passage_tokens = number(value)?,
            "answer_focus_sentences" => self.answer_focus_sentences = number(value)?,
            "answer_copy_bias" => self.answer_copy_bias = number(value)?,
            "answer_redraft" => self.answer_redraft = flag(value)?,
            "answer_max_tokens" => self.answer_max_tokens = number(value)?,
            "refuse_below_similarity" => self.refuse_below_similarity = number(value)?,
            "refuse_below_evidence" => self.refuse_below_evidence = number(value)?,
            "refuse_below_evidence_zh" => self.refuse_below_evidence_zh = number(value)?,
            "answer_above_similarity" => self.answer_above_similarity = number(value)?,
            "answer_above_similarity_zh" => self.answer_above_similarity_zh = number(value)?,
            "answer_above_sentence_similarity" => self.answer_above_sentence_similarity = number(value)?,
            "answer_above_sentence_similarity_zh" => self.answer_above_sentence_similarity_zh = number(value)?,
            "generator_wait_seconds" => self.generator_wait_seconds = number(value)?,
            "embedder_quantized" => self.embedder_quantized = flag(value)?,
            "embedder_layers" => {
                self.embedder_layers = Some(match value {
                    "q8" => llm::e5::E5Layers::Q8,
                    "f32" => llm::e5::E5Layers::F32,
                    "q4" => llm::e5::E5Layers::Q4,
                    other => bail!("embedder_layers must be q8, f32 or q4, not {other:?}"),
                })
            }
            "generator_file" => self.generator_file = Some(value.to_owned()),
            "generator_url" => self.generator_url = Some(value.to_owned()),
            "generator_model" => self.generator_model = value.to_owned(),
            "generator_api_key" => self.generator_api_key = Some(Secret(value.to_owned())),
            "max_file_mb" => self.max_file_mb = number(value)?,
            "parse_memory_mb" => self.parse_memory_mb = number(value)?,
            "parse_cpu_seconds" => self.parse_cpu_seconds = number(value)?,
            "parse_timeout_seconds" => self.parse_timeout_seconds = number(value)?,
            "ocr_languages" => self.ocr_languages = value.to_owned(),
            "ocr_page_seconds" => self.ocr_page_seconds = number(value)?,
            "vector_store" => match value {
                "edge" | "qdrant" => self.vector_store = value.to_owned(),
                other => bail!("vector_store must be edge or qdrant, not {other:?}"),
            },
            "keyword_store" => match value {
                "tantivy" | "qdrant" => self.keyword_store = value.to_owned(),
                other => bail!("keyword_store must be tantivy or qdrant, not {other:?}"),
            },
            "uploads_dir" => self.uploads_dir = Some(PathBuf::from(value)),
            "qdrant_url" => self.qdrant_url = Some(value.to_owned()),
            "qdrant_api_key" => self.qdrant_api_key = Some(Secret(value.to_owned())),
            "qdrant_collection" => self.qdrant_collection = value.to_owned(),
            "qdrant_shards" => self.qdrant_shards = number(value)?,
            "qdrant_replication" => self.qdrant_replication = number(value)?,
            "secure_cookies" => self.secure_cookies = flag(value)?,
            "ingest_workers" => self.ingest_workers = number::<usize>(value)?.max(1),
            "audit_key_file" => self.audit_key_file = Some(PathBuf::from(value)),
            "audit_checkpoint_file" => self.audit_checkpoint_file = Some(PathBuf::from(value)),
            "audit_checkpoint_seconds" => self.audit_checkpoint_seconds = number(value)?,
            "audit_retention_days" => self.audit_retention_days = number(value)?,
            "conversation_retention_days" => self.conversation_retention_days = number(value)?,
            "database_url" => {
                if !value.starts_with("postgres://") && !value.starts_with("postgresql://") {
                    bail!("database_url must be a postgres:// URL (SQLite is the default and needs none)");
                }
                self.database_url = Some(Secret(value.to_owned()));
            }
            "allow_public_endpoints" => self.allow_public_endpoints = flag(value)?,
            "log_format" => match value {
                "text" | "json" => self.log_format = value.to_owned(),
                other => bail!("log_format must be text or json, not {other:?}"),
            },
            other => bail!("unknown setting {other:?}"),
        }
        if self.chunk_max_tokens == 0 || self.chunk_overlap_tokens >= self.chunk_max_tokens {
            bail!("chunk_overlap_tokens must be smaller than chunk_max_tokens, which must be positive");
        }
        Ok(())
    }

    /// How e5's layer matrices are held, from `embedder_layers` and `embedder_quantized`.
    pub fn embedder_options(&self) -> llm::e5::E5Options {
        let layers = match (self.embedder_layers, self.embedder_quantized) {
            (Some(layers), _) => layers,
            (None, true) => llm::e5::E5Layers::Q4,
            (None, false) => llm::e5::E5Layers::fastest(),
        };
        llm::e5::E5Options { layers }
    }

    /// The refusal thresholds for a question in its language.
    pub fn refusal_thresholds(&self, question: &str) -> RefusalThresholds {
        if llm::prompt::is_chinese(question) {
            RefusalThresholds {
                evidence: self.refuse_below_evidence_zh,
                passage_similarity: self.answer_above_similarity_zh,
                sentence_similarity: self.answer_above_sentence_similarity_zh,
            }
        } else {
            RefusalThresholds {
                evidence: self.refuse_below_evidence,
                passage_similarity: self.answer_above_similarity,
                sentence_similarity: self.answer_above_sentence_similarity,
            }
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("appliance.sqlite")
    }
    /// Refuses remote endpoints with public addresses unless `allow_public_endpoints`.
    pub fn check_endpoints(&self) -> anyhow::Result<()> {
        if self.allow_public_endpoints {
            return Ok(());
        }
        let database_url = self.database_url.as_ref().map(|url| url.0.clone());
        for (setting, url) in [
            ("generator_url", &self.generator_url),
            ("qdrant_url", &self.qdrant_url),
            ("database_url", &database_url),
        ] {
            if let Some(url) = url {
                crate::endpoints::check_private(setting, url)?;
            }
        }
        Ok(())
    }
    pub fn audit_key_path(&self) -> PathBuf {
        self.audit_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit.key"))
    }
    pub fn audit_checkpoint_path(&self) -> PathBuf {
        self.audit_checkpoint_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-checkpoints.jsonl"))
    }
    /// Opens the configured database (PostgreSQL when `database_url` is set, else the
    /// SQLite file in the data directory) with the configured audit key.
    pub async fn open_store(&self) -> anyhow::Result<crate::store::Store> {
        match &self.database_url {
            Some(url) => crate::store::Store::connect(&url.0, &self.audit_key_path()).await,
            None => crate::store::Store::open_with_audit_key(&self.database_path(), &self.audit_key_path()).await,
        }
    }
    pub fn keyword_dir(&self) -> PathBuf {
        self.data_dir.join("keyword")
    }
    pub fn vector_dir(&self) -> PathBuf {
        self.data_dir.join("vectors")
    }
    pub fn parse_options(&self) -> ingest::ParseOptions {
        ingest::ParseOptions::new(
            self.max_file_mb * 1024 * 1024,
            Some(ingest::OcrOptions {
                languages: self.ocr_languages.clone(),
                page_timeout: std::time::Duration::from_secs(self.ocr_page_seconds),
                ..ingest::OcrOptions::default()
            }),
        )
    }
    pub fn uploads_dir(&self) -> PathBuf {
        self.uploads_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("uploads"))
    }
    pub fn chunker(&self) -> ingest::chunk::ChunkerConfig {
        ingest::chunk::ChunkerConfig {
            max_tokens: self.chunk_max_tokens,
            overlap_tokens: self.chunk_overlap_tokens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_bad_numbers_are_errors_and_secrets_stay_hidden() {
        let mut settings = Settings::new("d".into(), "m".into()).unwrap();
        assert!(settings.set("answer_passages", "3").is_ok());
        assert_eq!(settings.answer_passages, 3);
        assert!(
            settings
                .set("answer_pasages", "3")
                .unwrap_err()
                .to_string()
                .contains("unknown setting")
        );
        assert!(settings.set("answer_passages", "three").is_err());
        settings.set("generator_api_key", "hunter2").unwrap();
        assert!(!format!("{settings:?}").contains("hunter2"));
        assert!(settings.set("secure_cookies", "maybe").is_err());
    }

    /// `appliance.example.toml` lists every setting `set` knows, each with a valid default.
    #[test]
    fn the_example_configuration_documents_every_setting() {
        let example = include_str!("../../appliance.example.toml");
        let source = include_str!("settings.rs");
        // The arms of `set`'s match, one setting each, at its indentation.
        let known: Vec<&str> = source
            .lines()
            .filter_map(|line| {
                line.strip_prefix("            \"")?
                    .split_once("\" =>")
                    .map(|(name, _)| name)
            })
            .collect();
        assert!(known.len() > 25, "{known:?}");
        let mut settings = Settings::new("d".into(), "m".into()).unwrap();
        let mut documented = Vec::new();
        for line in example.lines() {
            let Some((name, value)) = line.strip_prefix("# ").and_then(|line| line.split_once(" = ")) else {
                continue;
            };
            documented.push(name);
            if !value.contains("unset by default") {
                settings
                    .apply_toml(&format!("{name} = {value}"))
                    .unwrap_or_else(|error| panic!("{name}: {error:#}"));
            }
        }
        for name in &known {
            assert!(documented.contains(name), "{name} is not in appliance.example.toml");
        }
        assert_eq!(documented.len(), known.len(), "{documented:?}");
    }

    #[test]
    fn a_configuration_file_sets_values_and_rejects_unknown_keys() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("appliance.toml");
        std::fs::write(&path, "answer_passages = 3\nfusion = \"rrf\"\nsecure_cookies = true\n").unwrap();
        let settings = Settings::load("d".into(), "m".into(), Some(&path)).unwrap();
        assert_eq!((settings.answer_passages, settings.fusion), (3, Fusion::ReciprocalRank));
        assert!(settings.secure_cookies);
        std::fs::write(&path, "answer_pasages = 3\n").unwrap();
        let error = format!("{:#}", Settings::load("d".into(), "m".into(), Some(&path)).unwrap_err());
        assert!(
            error.contains("unknown setting") && error.contains("appliance.toml"),
            "{error}"
        );
        std::fs::write(&path, "answer_passages = [3]\n").unwrap();
        assert!(Settings::load("d".into(), "m".into(), Some(&path)).is_err());
        std::fs::write(&path, "answer_passages = \n").unwrap();
        assert!(Settings::load("d".into(), "m".into(), Some(&path)).is_err());
    }
}
