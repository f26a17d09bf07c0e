//! `appliance bench search`: search latency at scale, query embedding included.
//!
//! Embedding 100,000 real chunks takes hours on two cores, so the stored vectors are
//! synthetic: real e5 vectors of a few hundred corpus passages, each reused with a small
//! deterministic perturbation per chunk, so the vector index holds 100,000 distinct points
//! with the geometry of real text. Chunk text comes from the evaluation corpora, the
//! keyword index is built as in production, and every query is embedded for real. The
//! index is kept in `--index-dir`, so a second run only measures: the resident memory it
//! reports is then that of a process serving the index, not of one that built it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::acl::{Acl, DocumentAccess, Role};
use anyhow::{Context, bail};
use clap::Args;
use llm::Embedder;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::engine::{Engine, IngestOptions, SearchMode};
use crate::settings::Settings;

#[derive(Debug, Args)]
pub struct SearchBenchArgs {
    /// Corpus files (JSON lines with `title` and `text`) whose passages fill the index, in
    /// turn, as often as needed.
    #[arg(long = "corpus", required = true)]
    corpora: Vec<PathBuf>,
    /// Questions (JSON lines with `text`) to time.
    #[arg(long)]
    queries: PathBuf,
    /// Chunks to index.
    #[arg(long, default_value_t = 100_000)]
    chunks: usize,
    /// Passages embedded for real, whose vectors the synthetic ones are perturbed from.
    #[arg(long, default_value_t = 256)]
    real_vectors: usize,
    /// Where the index lives; reused when it already holds enough chunks.
    #[arg(long, default_value = "data/bench-search")]
    index_dir: PathBuf,
    /// Queries to time (at most the file's).
    #[arg(long, default_value_t = 200)]
    limit: usize,
}

#[derive(Deserialize)]
struct Row {
    #[serde(default)]
    title: String,
    text: String,
}

/// Corpus rows per indexed document: fewer, larger documents index faster.
const ROWS_PER_DOCUMENT: usize = 40;
/// Spread of the per-chunk perturbation, per dimension, before re-normalising.
const NOISE: f32 = 0.02;

/// Real vectors for queries; perturbed copies of a few real vectors for passages.
struct SyntheticEmbedder {
    real: Arc<dyn Embedder>,
    pool: Vec<Vec<f32>>,
}

impl SyntheticEmbedder {
    fn vector(&self, text: &str) -> Vec<f32> {
        let digest = Sha256::digest(text.as_bytes());
        let mut state = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes")) | 1;
        let base = &self.pool[(state % self.pool.len() as u64) as usize];
        let mut vector: Vec<f32> = base
            .iter()
            .map(|value| {
                // xorshift: cheap, deterministic noise per text.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let uniform = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                value + uniform * 2.0 * NOISE
            })
            .collect();
        let norm = vector.iter().map(|value| value * value).sum::<f32>().sqrt().max(1e-12);
        vector.iter_mut().for_each(|value| *value /= norm);
        vector
    }
}

impl Embedder for SyntheticEmbedder {
    fn dimension(&self) -> usize {
        self.real.dimension()
    }
    fn embed_passages(&self, texts: &[&str]) -> llm::Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|text| self.vector(text)).collect())
    }
    fn embed_query(&self, text: &str) -> llm::Result<Vec<f32>> {
        self.real.embed_query(text)
    }
    fn count_tokens(&self, text: &str) -> usize {
        self.real.count_tokens(text)
    }
    fn max_tokens(&self) -> usize {
        self.real.max_tokens()
    }
    fn model_id(&self) -> &str {
        "synthetic"
    }
}

fn read_rows<T: for<'de> Deserialize<'de>>(path: &std::path::Path) -> anyhow::Result<Vec<T>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(number, line)| {
            serde_json::from_str(line).with_context(|| format!("{} line {}", path.display(), number + 1))
        })
        .collect()
}

fn percentile(sorted: &[f64], share: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * share).round() as usize]
}

/// Bytes of the files under `path`, all the way down.
fn disk_bytes(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => disk_bytes(&entry.path()),
            Ok(_) => entry.metadata().map(|metadata| metadata.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

async fn chunk_count(engine: &Engine) -> anyhow::Result<usize> {
    Ok(crate::store::documents::chunk_count(engine.store()).await? as usize)
}

pub async fn search(settings: Settings, args: SearchBenchArgs) -> anyhow::Result<()> {
    let mut rows: Vec<Row> = Vec::new();
    for corpus in &args.corpora {
        rows.extend(read_rows::<Row>(corpus)?);
    }
    let queries: Vec<Row> = read_rows(&args.queries)?;
    if rows.is_empty() || queries.is_empty() {
        bail!("the corpus and the queries must not be empty");
    }
    let engine = Engine::open(Settings {
        data_dir: args.index_dir.clone(),
        ..settings
    })
    .await?;
    let real = {
        let models = engine.models().clone();
        tokio::task::spawn_blocking(move || models.embedder()).await??
    };

    let mut index_seconds = 0.0;
    let mut chunks = chunk_count(&engine).await?;
    if chunks < args.chunks {
        let started = Instant::now();
        let sample: Vec<String> = rows
            .iter()
            .take(args.real_vectors.max(1))
            .map(|row| row.text.clone())
            .collect();
        eprintln!("embedding {} passages for real...", sample.len());
        let pool = {
            let real = real.clone();
            tokio::task::spawn_blocking(move || {
                let texts: Vec<&str> = sample.iter().map(String::as_str).collect();
                real.embed_passages(&texts)
            })
            .await??
        };
        engine.models().install_embedder(Arc::new(SyntheticEmbedder {
            real: real.clone(),
            pool,
        }));
        let options = IngestOptions {
            access: DocumentAccess::new(vec!["bench".to_owned()], false),
            actor: "bench".to_owned(),
        };
        let mut document = 0usize;
        while chunks < args.chunks {
            let cycle = document * ROWS_PER_DOCUMENT / rows.len();
            let body: String = (0..ROWS_PER_DOCUMENT)
                .map(|offset| {
                    let row = &rows[(document * ROWS_PER_DOCUMENT + offset) % rows.len()];
                    format!("## {} ({cycle})\n\n{}\n\n", row.title, row.text)
                })
                .collect();
            let source = format!("bench-{document:06}.md");
            let report = engine
                .ingest_bytes(
                    &source,
                    Ok(format!("# Part {document}\n\n{body}").into_bytes()),
                    &options,
                )
                .await?;
            chunks += report.chunks;
            document += 1;
            if document.is_multiple_of(50) {
                eprintln!("indexed {chunks} chunks in {document} documents");
            }
        }
        engine.optimize().await?;
        index_seconds = started.elapsed().as_secs_f64();
        engine.models().install_embedder(real.clone());
    }

    // The caller is in the documents' group: the permission filter runs as in production.
    let access = Acl::new(Role::Employee, &["bench".to_owned()]);
    let mut totals = Vec::new();
    let mut embeddings = Vec::new();
    for query in queries.iter().take(args.limit) {
        let started = Instant::now();
        let hits = engine.search_with(&query.text, &access, 10, SearchMode::Hybrid).await?;
        totals.push(started.elapsed().as_secs_f64() * 1000.0);
        if hits.is_empty() {
            bail!("no hit for {:?}: the index is not what it should be", query.text);
        }
        let real = real.clone();
        let text = query.text.clone();
        let started = Instant::now();
        tokio::task::spawn_blocking(move || real.embed_query(&text)).await??;
        embeddings.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    totals.sort_by(f64::total_cmp);
    embeddings.sort_by(f64::total_cmp);
    println!(
        "{}",
        json!({
            "chunks": chunks,
            "index_seconds": index_seconds,
            "queries": totals.len(),
            "p50_ms": percentile(&totals, 0.5),
            "p95_ms": percentile(&totals, 0.95),
            "p99_ms": percentile(&totals, 0.99),
            "embed_query_p50_ms": percentile(&embeddings, 0.5),
            "embed_query_p95_ms": percentile(&embeddings, 0.95),
            "built_here": index_seconds > 0.0,
            "resident_mb": crate::commands::memory_mb("VmRSS"),
            "peak_resident_mb": crate::commands::peak_rss_mb(),
            "disk_mb": disk_bytes(&args.index_dir) as f64 / (1024.0 * 1024.0),
        })
    );
    Ok(())
}
