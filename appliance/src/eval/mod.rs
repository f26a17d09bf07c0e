//! `appliance eval retrieval` and `appliance eval answers`: index an evaluation corpus in a
//! temporary data directory, run its queries, and print retrieval metrics (nDCG, recall,
//! MRR, latency) or answer metrics (answers containing the gold answer, citation precision,
//! refusals, time to first token, decode speed).
//!
//! Files follow the shared evaluation format: `corpus.jsonl` (`{"id","title","text"}`),
//! `queries.jsonl` (`{"id","text"}`), `qrels.tsv` (`query<TAB>doc<TAB>relevance`).
//! `appliance eval trust` (the `trust` module) grades answers to our own questions on real
//! documents instead.

mod calibrate;
mod gold;
mod trust;

pub use gold::{contains_gold, normalize_answer};

use calibrate::calibrate;

pub use trust::{TrustArgs, trust};

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::acl::{Acl, DocumentAccess};
use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::cli::Mode;
use crate::embed_cache::CachingEmbedder;
use crate::engine::{Engine, IngestOptions};
use crate::settings::{Fusion, Settings};

/// The files of an evaluation set, and the cache of its embedded passages.
#[derive(Debug, Args)]
pub struct EvalSet {
    /// corpus.jsonl
    #[arg(long)]
    corpus: PathBuf,
    /// queries.jsonl
    #[arg(long)]
    queries: PathBuf,
    /// qrels.tsv
    #[arg(long)]
    qrels: PathBuf,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Where embedded passages are cached between runs (default: DATA_DIR/eval-cache).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RetrievalArgs {
    #[command(flatten)]
    set: EvalSet,
    /// Retrieval mode.
    #[arg(long, value_enum, default_value_t = Mode::Hybrid)]
    mode: Mode,
    /// Cut-off of the metrics.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Evaluate only the first N queries that have judgements.
    #[arg(long)]
    limit: Option<usize>,
    /// With hybrid mode, also score each of these fusions over the same index, as
    /// `FUSION:DENSE_WEIGHT` pairs (for example `rrf:1,rrf:1.5,score:0.7`); the results are
    /// listed under `sweep` in the JSON. This is how the default fusion was chosen.
    #[arg(long, value_delimiter = ',')]
    sweep: Vec<String>,
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
    #[serde(default)]
    answers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AnswersArgs {
    #[command(flatten)]
    set: EvalSet,
    /// Evaluate only the first N queries that have judgements and answers.
    #[arg(long)]
    limit: Option<usize>,
    /// Index the corpus without the gold documents of the evaluated queries: the right
    /// behaviour is then to refuse.
    #[arg(long)]
    drop_gold: bool,
    /// Only retrieve: print how the evidence score (the best passage's weighted coverage
    /// of the question) is distributed, and what share of questions each candidate
    /// `refuse_below_evidence` threshold would refuse. Run with and without --drop-gold.
    #[arg(long)]
    calibrate: bool,
    /// Answer with the system prompt in this file instead of the built-in one (to try a
    /// prompt before saving it on the Assistant page).
    #[arg(long, value_name = "FILE")]
    system_prompt: Option<PathBuf>,
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
    let corpus: Vec<CorpusRow> = read_jsonl(&args.set.corpus)?;
    let queries: Vec<QueryRow> = read_jsonl(&args.set.queries)?;
    let qrels = read_qrels(&args.set.qrels)?;
    let mut judged: Vec<&QueryRow> = queries.iter().filter(|query| qrels.contains_key(&query.id)).collect();
    if let Some(limit) = args.limit {
        judged.truncate(limit);
    }
    if judged.is_empty() {
        bail!("no query has a relevance judgement in {}", args.set.qrels.display());
    }

    let rows: Vec<&CorpusRow> = corpus.iter().collect();
    let dense = args.mode != Mode::Bm25 || !args.sweep.is_empty();
    let indexed = index_corpus(&settings, &args.set, &rows, dense).await?;
    let (engine, cached_before, index_seconds) = (&indexed.engine, indexed.cached_before, indexed.index_seconds);

    let scores = score_queries(engine, &judged, &qrels, &args).await?;
    let k = args.k;
    let mode = match args.mode {
        Mode::Bm25 => "bm25",
        Mode::Dense => "dense",
        Mode::Hybrid => "hybrid",
    };
    let mut report = json!({
        "mode": mode,
        "keyword_store": settings.keyword_store,
        "vector_store": settings.vector_store,
        "queries": judged.len(),
        "documents": corpus.len(),
        "index_seconds": index_seconds,
        "cached_passages": cached_before,
        "p50_ms": scores.p50_ms,
        "p95_ms": scores.p95_ms,
    });
    if args.mode == Mode::Hybrid {
        report["fusion"] = json!(fusion_name(settings.fusion));
        report["dense_weight"] = json!(settings.dense_weight);
        report["rerank_top"] = json!(settings.rerank_top);
    }
    report[format!("ndcg_at_{k}")] = json!(scores.ndcg);
    report[format!("recall_at_{k}")] = json!(scores.recall);
    report[format!("mrr_at_{k}")] = json!(scores.mrr);
    if args.mode == Mode::Hybrid && !args.sweep.is_empty() {
        let mut sweep = Vec::new();
        for pair in &args.sweep {
            let (fusion, weight) = pair
                .split_once(':')
                .with_context(|| format!("--sweep entries are FUSION:DENSE_WEIGHT, not {pair:?}"))?;
            let mut variant_settings = engine.settings().clone();
            variant_settings.fusion = match fusion {
                "rrf" => Fusion::ReciprocalRank,
                "score" => Fusion::Score,
                other => bail!("unknown fusion {other:?} (rrf or score)"),
            };
            variant_settings.dense_weight = weight.parse().with_context(|| format!("dense weight in {pair:?}"))?;
            let variant = engine.with_settings(variant_settings);
            let scores = score_queries(&variant, &judged, &qrels, &args).await?;
            let mut entry = json!({ "fusion": fusion, "dense_weight": variant.settings().dense_weight });
            entry[format!("ndcg_at_{k}")] = json!(scores.ndcg);
            entry[format!("recall_at_{k}")] = json!(scores.recall);
            entry[format!("mrr_at_{k}")] = json!(scores.mrr);
            sweep.push(entry);
        }
        report["sweep"] = json!(sweep);
    }
    if args.set.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

fn fusion_name(fusion: Fusion) -> &'static str {
    match fusion {
        Fusion::ReciprocalRank => "rrf",
        Fusion::Score => "score",
    }
}

/// Mean metrics of one ranking configuration over the judged queries.
struct Scores {
    ndcg: f64,
    recall: f64,
    mrr: f64,
    p50_ms: f64,
    p95_ms: f64,
}

async fn score_queries(
    engine: &Engine,
    judged: &[&QueryRow],
    qrels: &HashMap<String, HashMap<String, u32>>,
    args: &RetrievalArgs,
) -> anyhow::Result<Scores> {
    let (mut ndcg, mut recall, mut mrr) = (0.0, 0.0, 0.0);
    let mut latencies = Vec::with_capacity(judged.len());
    for query in judged {
        let started = Instant::now();
        let hits = engine
            .search_with(&query.text, &Acl::operator(), args.k * 3, args.mode.into())
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
    Ok(Scores {
        ndcg: ndcg / count,
        recall: recall / count,
        mrr: mrr / count,
        p50_ms: percentile(&latencies, 0.5),
        p95_ms: percentile(&latencies, 0.95),
    })
}

/// A corpus indexed in a scratch data directory (removed on drop).
struct IndexedCorpus {
    engine: Engine,
    cached_before: usize,
    index_seconds: f64,
    _scratch: Scratch,
}

/// Indexes `corpus` (rows of the set's corpus file) in a scratch directory, with
/// passage vectors cached per corpus file, model and chunking outside it. Without `dense`
/// (a keyword-only evaluation) no passage is embedded: chunks are cut as always, with
/// placeholder vectors no search reads.
async fn index_corpus(
    settings: &Settings,
    set: &EvalSet,
    corpus: &[&CorpusRow],
    dense: bool,
) -> anyhow::Result<IndexedCorpus> {
    let (corpus_path, cache_dir, quiet) = (&set.corpus, set.cache_dir.clone(), set.json);
    let corpus_sha = hex::encode(Sha256::digest(std::fs::read(corpus_path)?));
    let cache_path = cache_dir
        .unwrap_or_else(|| settings.data_dir.join("eval-cache"))
        .join(format!(
            "{}-{}-{}.vectors",
            &corpus_sha[..16],
            settings.chunk_max_tokens,
            settings.chunk_overlap_tokens
        ));
    let (mut scratch, eval_settings) = Scratch::new(settings, "eval");
    let engine = scratch.open(eval_settings).await?;
    let models = engine.models().clone();
    let cache = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<Arc<CachingEmbedder>>> {
        if !dense {
            models.install_embedder(Arc::new(KeywordsOnly(models.embedder()?)));
            return Ok(None);
        }
        let cache = Arc::new(CachingEmbedder::open(models.embedder()?, &cache_path)?);
        models.install_embedder(cache.clone());
        Ok(Some(cache))
    })
    .await??;
    let save = || cache.as_ref().map_or(Ok(()), |cache| cache.save());
    let options = IngestOptions {
        access: DocumentAccess::new(Vec::new(), true),
        actor: "eval".to_owned(),
    };
    let cached_before = cache.as_ref().map_or(0, |cache| cache.len());
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
            save()?; // an interrupted evaluation keeps what it embedded
        }
        if !quiet && (number + 1) % 100 == 0 {
            eprintln!("indexed {}/{} documents", number + 1, corpus.len());
        }
    }
    engine.optimize().await?;
    save()?;
    Ok(IndexedCorpus {
        engine,
        cached_before,
        index_seconds: index_started.elapsed().as_secs_f64(),
        _scratch: scratch,
    })
}

pub async fn answers(settings: Settings, args: AnswersArgs) -> anyhow::Result<()> {
    let corpus: Vec<CorpusRow> = read_jsonl(&args.set.corpus)?;
    let queries: Vec<QueryRow> = read_jsonl(&args.set.queries)?;
    let qrels = read_qrels(&args.set.qrels)?;
    let mut judged: Vec<&QueryRow> = queries
        .iter()
        .filter(|query| qrels.contains_key(&query.id) && !query.answers.is_empty())
        .collect();
    if let Some(limit) = args.limit {
        judged.truncate(limit);
    }
    if judged.is_empty() {
        bail!("no query has both answers and a relevance judgement");
    }
    let gold_documents: HashSet<&str> = judged
        .iter()
        .flat_map(|query| qrels[&query.id].keys().map(String::as_str))
        .collect();
    let kept: Vec<&CorpusRow> = corpus
        .iter()
        .filter(|row| !args.drop_gold || !gold_documents.contains(row.id.as_str()))
        .collect();
    let indexed = index_corpus(&settings, &args.set, &kept, true).await?;
    let engine = &indexed.engine;
    if args.calibrate {
        return calibrate(engine, &judged, &args, kept.len()).await;
    }
    if let Some(path) = &args.system_prompt {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        crate::store::site_texts::save(
            engine.store(),
            crate::store::site_texts::Kind::SystemPrompt,
            text.trim(),
            "eval",
        )
        .await?;
    }

    let (mut contains, mut refused, mut cited, mut cited_gold) = (0usize, 0usize, 0usize, 0usize);
    let (mut first_token_ms, mut decode_rates) = (Vec::new(), Vec::new());
    let mut refusal_reasons: HashMap<String, usize> = HashMap::new();
    for (number, query) in judged.iter().enumerate() {
        let answer = engine.ask(&query.text, &Acl::operator(), "eval", None).await?;
        let gold = &qrels[&query.id];
        if answer.refused {
            refused += 1;
            let reason = answer.refusal_reason.clone().unwrap_or_default();
            *refusal_reasons.entry(reason).or_insert(0usize) += 1;
        } else {
            if contains_gold(&answer.answer, &query.answers) {
                contains += 1;
            }
            for citation in &answer.citations {
                cited += 1;
                if gold.contains_key(citation.document.trim_end_matches(".txt")) {
                    cited_gold += 1;
                }
            }
        }
        if answer.generated_tokens > 0 {
            first_token_ms.push(answer.seconds_to_first_token * 1000.0);
            decode_rates.push(answer.decode_tokens_per_second);
        }
        if !args.set.json {
            eprintln!(
                "[{}/{}] {} {:?} -> {:?} (gold {:?})",
                number + 1,
                judged.len(),
                answer.refusal_reason.as_deref().unwrap_or("answered"),
                query.text,
                answer.answer,
                query.answers
            );
        }
    }
    first_token_ms.sort_by(f64::total_cmp);
    let count = judged.len() as f64;
    let report = json!({
        "queries": judged.len(),
        "drop_gold": args.drop_gold,
        "documents": kept.len(),
        "answer_contains_gold": contains as f64 / count,
        "citation_precision": if cited == 0 { 0.0 } else { cited_gold as f64 / cited as f64 },
        "citations": cited,
        "refused": refused as f64 / count,
        "refusal_reasons": refusal_reasons,
        "ttft_p50_ms": percentile(&first_token_ms, 0.5),
        "decode_tokens_per_s": if decode_rates.is_empty() { 0.0 } else { decode_rates.iter().sum::<f64>() / decode_rates.len() as f64 },
        "index_seconds": indexed.index_seconds,
    });
    if args.set.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

/// The embedder of a keyword-only evaluation: the real one's tokenizer (so chunks are cut
/// exactly as usual) and one placeholder vector for every passage, which a keyword search
/// never reads; asked to embed a query, it panics (a bug: bm25 mode embeds none).
struct KeywordsOnly(Arc<dyn llm::Embedder>);

impl llm::Embedder for KeywordsOnly {
    fn dimension(&self) -> usize {
        self.0.dimension()
    }
    fn embed_passages(&self, texts: &[&str]) -> llm::Result<Vec<Vec<f32>>> {
        let mut placeholder = vec![0.0; self.dimension()];
        placeholder[0] = 1.0;
        Ok(vec![placeholder; texts.len()])
    }
    fn embed_query(&self, _: &str) -> llm::Result<Vec<f32>> {
        panic!("a keyword-only evaluation embeds no query: its mode is bm25");
    }
    fn count_tokens(&self, text: &str) -> usize {
        self.0.count_tokens(text)
    }
    fn max_tokens(&self) -> usize {
        self.0.max_tokens()
    }
    fn model_id(&self) -> &str {
        self.0.model_id()
    }
}

/// What an evaluation indexes into, removed when it ends: a data directory and, when the
/// indexes live on a Qdrant server, collections of its own there (never the appliance's).
struct Scratch {
    directory: PathBuf,
    engine: Option<Engine>,
}

impl Scratch {
    /// A scratch place named `name`, and `settings` pointed at it.
    fn new(settings: &Settings, name: &str) -> (Self, Settings) {
        let directory = std::env::temp_dir().join(format!("appliance-{name}-{}", std::process::id()));
        let settings = Settings {
            data_dir: directory.clone(),
            qdrant_collection: format!("appliance_{name}_{}", std::process::id()),
            ..settings.clone()
        };
        (
            Self {
                directory,
                engine: None,
            },
            settings,
        )
    }

    /// Opens the engine over the scratch settings; its shared indexes go on drop.
    async fn open(&mut self, settings: Settings) -> anyhow::Result<Engine> {
        let engine = Engine::open(settings).await?;
        self.engine = Some(engine.clone());
        Ok(engine)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(engine) = self.engine.take()
            && let Err(error) = engine.discard_shared_indexes()
        {
            eprintln!("warning: the evaluation's Qdrant collections were not removed: {error:#}");
        }
        let _ = std::fs::remove_dir_all(&self.directory);
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
