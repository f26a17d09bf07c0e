//! `appliance eval retrieval`: index an evaluation corpus in a temporary data directory,
//! run its queries and print nDCG, recall, MRR and latency.
//!
//! Files follow the shared evaluation format: `corpus.jsonl` (`{"id","title","text"}`),
//! `queries.jsonl` (`{"id","text"}`), `qrels.tsv` (`query<TAB>doc<TAB>relevance`).

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use retrieval::Access;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Mode;
use crate::embed_cache::CachingEmbedder;
use crate::engine::{Engine, IngestOptions};
use crate::settings::Settings;

#[derive(Debug, Args)]
pub struct RetrievalArgs {
    /// corpus.jsonl
    #[arg(long)]
    corpus: PathBuf,
    /// queries.jsonl
    #[arg(long)]
    queries: PathBuf,
    /// qrels.tsv
    #[arg(long)]
    qrels: PathBuf,
    /// Retrieval mode.
    #[arg(long, value_enum, default_value_t = Mode::Hybrid)]
    mode: Mode,
    /// Cut-off of the metrics.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Evaluate only the first N queries that have judgements.
    #[arg(long)]
    limit: Option<usize>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Where embedded passages are cached between runs (default: DATA_DIR/eval-cache).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct CorpusRow {
    id: String,
    #[serde(default)]
    title: String,
    text: String,
}

#[derive(Debug, Deserialize)]
struct QueryRow {
    id: String,
    text: String,
}

fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<Vec<T>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut rows = Vec::new();
    for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        rows.push(serde_json::from_str(&line).with_context(|| format!("{} line {}", path.display(), number + 1))?);
    }
    Ok(rows)
}

/// query id -> (doc id -> graded relevance)
fn read_qrels(path: &Path) -> anyhow::Result<HashMap<String, HashMap<String, u32>>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("opening {}", path.display()))?;
    let mut qrels: HashMap<String, HashMap<String, u32>> = HashMap::new();
    for (number, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() < 3 {
            if line.trim().is_empty() {
                continue;
            }
            bail!(
                "{} line {}: expected query, doc and relevance",
                path.display(),
                number + 1
            );
        }
        let Ok(relevance) = fields[2].trim().parse::<u32>() else {
            continue; // a header line
        };
        if relevance > 0 {
            qrels
                .entry(fields[0].to_owned())
                .or_default()
                .insert(fields[1].to_owned(), relevance);
        }
    }
    Ok(qrels)
}

/// Per-query metrics at cut-off `k`.
pub fn score_ranking(ranked: &[String], relevant: &HashMap<String, u32>, k: usize) -> (f64, f64, f64) {
    let top = &ranked[..ranked.len().min(k)];
    let dcg: f64 = top
        .iter()
        .enumerate()
        .map(|(rank, doc)| {
            let gain = f64::from(*relevant.get(doc).unwrap_or(&0));
            (2f64.powf(gain) - 1.0) / (rank as f64 + 2.0).log2()
        })
        .sum();
    let mut ideal: Vec<u32> = relevant.values().copied().collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(rank, gain)| (2f64.powf(f64::from(*gain)) - 1.0) / (rank as f64 + 2.0).log2())
        .sum();
    let found = top.iter().filter(|doc| relevant.contains_key(*doc)).count();
    let recall = found as f64 / relevant.len().max(1) as f64;
    let reciprocal_rank = top
        .iter()
        .position(|doc| relevant.contains_key(doc))
        .map(|rank| 1.0 / (rank as f64 + 1.0))
        .unwrap_or(0.0);
    (if idcg > 0.0 { dcg / idcg } else { 0.0 }, recall, reciprocal_rank)
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index]
}

pub async fn retrieval(settings: Settings, args: RetrievalArgs) -> anyhow::Result<()> {
    let corpus: Vec<CorpusRow> = read_jsonl(&args.corpus)?;
    let queries: Vec<QueryRow> = read_jsonl(&args.queries)?;
    let qrels = read_qrels(&args.qrels)?;
    let mut judged: Vec<&QueryRow> = queries.iter().filter(|query| qrels.contains_key(&query.id)).collect();
    if let Some(limit) = args.limit {
        judged.truncate(limit);
    }
    if judged.is_empty() {
        bail!("no query has a relevance judgement in {}", args.qrels.display());
    }

    // Passage vectors are cached per corpus, model and chunking, outside the scratch index.
    let corpus_sha = hex::encode(Sha256::digest(std::fs::read(&args.corpus)?));
    let cache_path = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| settings.data_dir.join("eval-cache"))
        .join(format!(
            "{}-{}-{}.vectors",
            &corpus_sha[..16],
            settings.chunk_max_tokens,
            settings.chunk_overlap_tokens
        ));
    let scratch = std::env::temp_dir().join(format!("appliance-eval-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(scratch.clone());
    let eval_settings = Settings {
        data_dir: scratch,
        ..settings
    };
    let engine = Engine::open(eval_settings).await?;
    let models = engine.models.clone();
    let cache = tokio::task::spawn_blocking(move || -> anyhow::Result<Arc<CachingEmbedder>> {
        let cache = Arc::new(CachingEmbedder::open(models.embedder()?, &cache_path)?);
        models.install_embedder(cache.clone());
        Ok(cache)
    })
    .await??;
    let options = IngestOptions {
        groups: Vec::new(),
        public: true,
        actor: "eval".to_owned(),
    };
    let cached_before = cache.len();
    let index_started = Instant::now();
    for (number, row) in corpus.iter().enumerate() {
        let body = format!("{}\n\n{}", row.title, row.text).into_bytes();
        // The corpus id becomes the file stem, so hits map back to it.
        let source = format!("{}.txt", row.id);
        engine
            .ingest_bytes(&source, Ok(body), &options)
            .await
            .with_context(|| format!("indexing corpus document {}", row.id))?;
        if (number + 1) % 200 == 0 {
            cache.save()?; // an interrupted evaluation keeps what it embedded
        }
        if !args.json && (number + 1) % 100 == 0 {
            eprintln!("indexed {}/{} documents", number + 1, corpus.len());
        }
    }
    engine.optimize().await?;
    cache.save()?;
    let index_seconds = index_started.elapsed().as_secs_f64();

    let (mut ndcg, mut recall, mut mrr) = (0.0, 0.0, 0.0);
    let mut latencies = Vec::with_capacity(judged.len());
    for query in &judged {
        let started = Instant::now();
        let hits = engine
            .search_with(&query.text, &Access::Everything, args.k * 3, args.mode.into())
            .await?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        let mut seen = HashSet::new();
        let ranked: Vec<String> = hits
            .iter()
            .map(|hit| hit.document.trim_end_matches(".txt").to_owned())
            .filter(|doc| seen.insert(doc.clone()))
            .collect();
        let (query_ndcg, query_recall, query_rr) = score_ranking(&ranked, &qrels[&query.id], args.k);
        ndcg += query_ndcg;
        recall += query_recall;
        mrr += query_rr;
    }
    latencies.sort_by(f64::total_cmp);
    let count = judged.len() as f64;
    let k = args.k;
    let mode = match args.mode {
        Mode::Bm25 => "bm25",
        Mode::Dense => "dense",
        Mode::Hybrid => "hybrid",
    };
    let mut report = json!({
        "mode": mode,
        "queries": judged.len(),
        "documents": corpus.len(),
        "index_seconds": index_seconds,
        "cached_passages": cached_before,
        "p50_ms": percentile(&latencies, 0.5),
        "p95_ms": percentile(&latencies, 0.95),
    });
    report[format!("ndcg_at_{k}")] = json!(ndcg / count);
    report[format!("recall_at_{k}")] = json!(recall / count);
    report[format!("mrr_at_{k}")] = json!(mrr / count);
    if args.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_a_known_ranking() {
        let relevant: HashMap<String, u32> = [("b".to_owned(), 1)].into_iter().collect();
        let ranked: Vec<String> = ["a", "b", "c"].iter().map(|s| (*s).to_owned()).collect();
        let (ndcg, recall, rr) = score_ranking(&ranked, &relevant, 10);
        assert!((ndcg - 1.0 / 3f64.log2()).abs() < 1e-9);
        assert_eq!(recall, 1.0);
        assert_eq!(rr, 0.5);
        let (ndcg, recall, rr) = score_ranking(&ranked, &relevant, 1);
        assert_eq!((ndcg, recall, rr), (0.0, 0.0, 0.0));
    }
}
