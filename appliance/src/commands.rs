//! The command-line subcommands other than `serve` and `eval`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use serde_json::json;

use crate::acl::{Acl, DocumentAccess, Role};
use crate::engine::{AnswerEvent, Engine, IngestOptions, OpenMode, Question, SearchMode, StreamEvent};
use crate::settings::Settings;

/// The operator on the command line acts with full access.
const CLI_ACTOR: &str = "cli";

/// Files under `paths` with an extension the parsers know, sorted; unknown files given
/// explicitly are kept so their error is reported.
pub fn collect_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut stack = vec![path.clone()];
            while let Some(directory) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&directory) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let entry_path = entry.path();
                    if entry_path.is_dir() {
                        stack.push(entry_path);
                    } else if ingest::Format::from_file_name(&entry_path.to_string_lossy()).is_ok() {
                        files.push(entry_path);
                    }
                }
            }
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files
}

/// Peak resident memory of this process, in MiB (Linux).
pub fn peak_rss_mb() -> f64 {
    memory_mb("VmHWM")
}

/// One memory figure of this process from `/proc/self/status` (`VmHWM`, the peak resident
/// memory; `VmRSS`, the resident memory now), in MiB; 0 where there is no such file.
pub fn memory_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kilobytes| (kilobytes / 1024.0 * 10.0).round() / 10.0)
        .unwrap_or(0.0)
}

/// Where a command-line ingest stands, drawn as one line on a terminal.
struct Progress {
    done: usize,
    total: usize,
    pages: usize,
    chunks: usize,
    failed: usize,
    seconds: f64,
}

impl Progress {
    fn line(&self) -> String {
        const WIDTH: usize = 24;
        let filled = WIDTH * self.done / self.total.max(1);
        let rate = self.pages as f64 / self.seconds.max(1e-9);
        let eta = if self.done > 0 && self.done < self.total {
            let left = self.seconds / self.done as f64 * (self.total - self.done) as f64;
            format!(" · ETA {}m{:02}s", left as u64 / 60, left as u64 % 60)
        } else {
            String::new()
        };
        format!(
            "[{}{}] {}/{} documents · {} pages · {} chunks · {:.1} pages/s{}{}",
            "#".repeat(filled),
            "-".repeat(WIDTH - filled),
            self.done,
            self.total,
            self.pages,
            self.chunks,
            rate,
            if self.failed > 0 {
                format!(" · {} failed", self.failed)
            } else {
                String::new()
            },
            eta
        )
    }
}

pub async fn ingest(
    settings: Settings,
    paths: &[PathBuf],
    groups: Vec<String>,
    json_output: bool,
) -> anyhow::Result<()> {
    let engine = Engine::open(settings).await?.isolate_parsing();
    for (source, outcome) in engine.resume_jobs().await? {
        match outcome {
            Ok(outcome) => eprintln!("resumed {source}: {}", outcome.status),
            Err(error) => eprintln!("resumed {source}: failed: {error:#}"),
        }
    }
    let files = collect_files(paths);
    if files.is_empty() {
        bail!("no supported files found under the given paths");
    }
    let options = IngestOptions {
        access: DocumentAccess::new(groups.clone(), groups.is_empty()),
        actor: CLI_ACTOR.to_owned(),
    };
    let started = std::time::Instant::now();
    let (mut documents, mut pages, mut chunks, mut embed_seconds) = (0usize, 0usize, 0usize, 0.0f64);
    let mut errors = Vec::new();
    let bar = !json_output && std::io::IsTerminal::is_terminal(&std::io::stderr());
    for (index, file) in files.iter().enumerate() {
        if bar {
            let progress = Progress {
                done: index,
                total: files.len(),
                pages,
                chunks,
                failed: errors.len(),
                seconds: started.elapsed().as_secs_f64(),
            };
            eprint!(
                "\r\x1b[2K{} {}",
                progress.line(),
                file.file_name().unwrap_or_default().to_string_lossy()
            );
        }
        match engine.ingest_file(file, &options).await {
            Ok(outcome) => {
                documents += 1;
                pages += outcome.pages;
                chunks += outcome.chunks;
                embed_seconds += outcome.embed_seconds;
                if !json_output && !bar {
                    eprintln!(
                        "[{}/{}] {} {}: {} pages ({} unreadable), {} chunks in {:.1}s ({:.1} pages/s overall)",
                        index + 1,
                        files.len(),
                        outcome.status,
                        file.display(),
                        outcome.pages,
                        outcome.unreadable_pages,
                        outcome.chunks,
                        outcome.seconds,
                        pages as f64 / started.elapsed().as_secs_f64().max(1e-9)
                    );
                }
            }
            Err(error) => {
                if !json_output {
                    if bar {
                        eprint!("\r\x1b[2K");
                    }
                    eprintln!("[{}/{}] failed {}: {error:#}", index + 1, files.len(), file.display());
                }
                errors.push(json!({ "path": file.display().to_string(), "error": format!("{error:#}") }));
            }
        }
    }
    if bar {
        let progress = Progress {
            done: files.len(),
            total: files.len(),
            pages,
            chunks,
            failed: errors.len(),
            seconds: started.elapsed().as_secs_f64(),
        };
        eprintln!("\r\x1b[2K{}", progress.line());
    }
    engine.optimize().await?;
    let seconds = started.elapsed().as_secs_f64();
    if json_output {
        println!(
            "{}",
            json!({
                "documents": documents,
                "failed": errors.len(),
                "pages": pages,
                "chunks": chunks,
                "seconds": seconds,
                "embed_seconds": embed_seconds,
                "peak_rss_mb": peak_rss_mb(),
                "errors": errors,
            })
        );
    } else {
        eprintln!(
            "{documents} documents, {pages} pages, {chunks} chunks in {seconds:.1}s ({embed_seconds:.1}s embedding), {} failed",
            errors.len()
        );
    }
    if documents == 0 {
        bail!("no document could be ingested");
    }
    Ok(())
}

pub async fn search(
    settings: Settings,
    query: &str,
    k: usize,
    mode: SearchMode,
    json_output: bool,
) -> anyhow::Result<()> {
    let engine = Engine::open_with(settings, OpenMode::ReadOnly).await?;
    let hits = engine.search_with(query, &Acl::operator(), k, mode).await?;
    crate::store::audit::append(
        engine.store(),
        CLI_ACTOR,
        "search",
        json!({ "query": query, "hits": hits.len() }),
    )
    .await?;
    if json_output {
        let hits: Vec<_> = hits
            .iter()
            .map(|hit| {
                json!({
                    "document": hit.document,
                    "title": hit.title,
                    "page": hit.page,
                    "snippet": hit.snippet,
                    "score": hit.score,
                    "document_id": hit.document_id,
                    "chunk_id": hit.chunk_id,
                })
            })
            .collect();
        println!("{}", json!({ "hits": hits }));
        return Ok(());
    }
    if hits.is_empty() {
        println!("no results");
    }
    for (rank, hit) in hits.iter().enumerate() {
        println!(
            "{}. {} — {} (page {}), score {:.4}",
            rank + 1,
            hit.title,
            hit.document,
            hit.page,
            hit.score
        );
        println!("   {}", hit.snippet);
    }
    Ok(())
}

pub async fn ask(settings: Settings, question: &str, json_output: bool) -> anyhow::Result<()> {
    let engine = Engine::open_with(settings, OpenMode::ReadOnly).await?;
    let mut events = engine.answer_stream(Question::new(question, Acl::operator(), CLI_ACTOR));
    // The draft goes to stderr, marked: the check may drop any of it. Stdout gets only the
    // checked answer.
    let mut stderr = std::io::stderr();
    let mut drafting = false;
    let answer = loop {
        match events.recv().await {
            Some(StreamEvent::Progress(AnswerEvent::Sources(hits))) => {
                eprintln!("retrieved {} passages; generating…", hits.len());
            }
            Some(StreamEvent::Progress(AnswerEvent::Generating)) => {}
            Some(StreamEvent::Progress(AnswerEvent::Queued { ahead })) => {
                eprintln!("waiting for the model: {ahead} questions ahead");
            }
            Some(StreamEvent::Progress(AnswerEvent::Token(piece))) => {
                if !drafting {
                    drafting = true;
                    let _ = write!(stderr, "draft, not yet checked: ");
                }
                let _ = write!(stderr, "{piece}");
                let _ = stderr.flush();
            }
            Some(StreamEvent::Done(answer)) => break answer,
            Some(StreamEvent::Failed(message)) => bail!("{message}"),
            None => bail!("the answer stream ended early"),
        }
    };
    if drafting {
        eprintln!();
    }
    if json_output {
        let citations: Vec<_> = answer
            .citations
            .iter()
            .map(|citation| {
                json!({
                    "n": citation.n,
                    "document": citation.document,
                    "title": citation.title,
                    "page": citation.page,
                    "passage": citation.passage,
                    "document_id": citation.document_id,
                    "version": citation.version,
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "answer": answer.answer,
                "citations": citations,
                "refused": answer.refused,
                "refusal_reason": answer.refusal_reason,
                "extractive": answer.extractive,
                "extract_reason": answer.extract_reason,
                "redraft_reason": answer.redraft_reason,
                "yes_no": answer.yes_no,
                "evidence": answer.evidence,
                "sentences": answer.sentences,
                "rejected": answer.rejected,
                "system_prompt_version": answer.system_prompt_version,
                "model": answer.model,
                "prompt_tokens": answer.prompt_tokens,
                "generated_tokens": answer.generated_tokens,
                "prefill_tokens_per_second": answer.prefill_tokens_per_second,
                "decode_tokens_per_second": answer.decode_tokens_per_second,
                "seconds_to_first_token": answer.seconds_to_first_token,
                "seconds": answer.seconds,
            })
        );
        return Ok(());
    }
    println!("Answer: {}", answer.answer);
    for citation in &answer.citations {
        println!(
            "[{}] {} — {} (page {})",
            citation.n, citation.title, citation.document, citation.page
        );
    }
    if answer.refused {
        println!("(refused: {})", answer.refusal_reason.unwrap_or_default());
    }
    Ok(())
}

pub fn verify_models(settings: &Settings) -> anyhow::Result<()> {
    for file in crate::models::verify(&settings.models_dir)? {
        println!(
            "ok {} {} ({} bytes, sha256 {})",
            file.role, file.file, file.bytes, file.sha256
        );
    }
    Ok(())
}

pub fn prepare_models(settings: &Settings) -> anyhow::Result<()> {
    match crate::models::prepare(&settings.models_dir)? {
        Some(report) => println!(
            "re-quantised {} of {} tensors: {} -> {} bytes ({})",
            report.converted,
            report.tensors,
            report.bytes_before,
            report.bytes_after,
            crate::models::PREPARED_GENERATOR_FILE
        ),
        None => println!("{} is ready", crate::models::PREPARED_GENERATOR_FILE),
    }
    Ok(())
}

fn read_password_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

pub async fn user_add(
    settings: Settings,
    username: &str,
    role: &str,
    groups: &[String],
    password_stdin: bool,
) -> anyhow::Result<()> {
    let role: Role = role.parse()?;
    let pool = settings.open_store().await?;
    let (password, generated) = if password_stdin {
        (read_password_line()?, false)
    } else {
        (crate::store::users::random_password(), true)
    };
    let user = crate::store::users::add(&pool, username, &password, role, groups).await?;
    crate::store::audit::append(
        &pool,
        CLI_ACTOR,
        "user.add",
        json!({ "user": username, "role": role.as_str(), "groups": groups }),
    )
    .await?;
    println!("added {} ({})", user.username, user.role);
    if generated {
        println!("password: {password}");
    }
    Ok(())
}

pub async fn user_list(settings: Settings) -> anyhow::Result<()> {
    let pool = settings.open_store().await?;
    for user in crate::store::users::list(&pool).await? {
        println!(
            "{}\t{}\t{}\t{}",
            user.username,
            user.role,
            user.groups.join(","),
            if user.disabled { "disabled" } else { "active" }
        );
    }
    Ok(())
}

pub async fn user_passwd(settings: Settings, username: &str) -> anyhow::Result<()> {
    let pool = settings.open_store().await?;
    crate::store::users::set_password(&pool, username, &read_password_line()?).await?;
    crate::store::audit::append(&pool, CLI_ACTOR, "user.passwd", json!({ "user": username })).await?;
    println!("password changed for {username}");
    Ok(())
}

pub async fn audit_verify(settings: Settings, heads: &[PathBuf]) -> anyhow::Result<()> {
    let store = settings.open_store().await?;
    let mut checkpoints = crate::store::audit::read_checkpoints(&settings.audit_checkpoint_path())?;
    for file in heads {
        if !file.exists() {
            anyhow::bail!("no head file {}", file.display());
        }
        checkpoints.extend(crate::store::audit::read_checkpoints(file)?);
    }
    let verified = crate::store::audit::verify(&store, &checkpoints).await?;
    println!(
        "audit log intact: {} rows verified ({} sealed), {} checkpoints matched",
        verified.rows, verified.sealed, verified.checkpoints
    );
    if verified.purged_through > 0 {
        println!(
            "rows up to {} were purged by retention; the chain verifies from there",
            verified.purged_through
        );
    }
    Ok(())
}

pub async fn purge(settings: Settings) -> anyhow::Result<()> {
    let store = settings.open_store().await?;
    let report = crate::retention::purge(&settings, &store).await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

pub async fn audit_head(settings: Settings) -> anyhow::Result<()> {
    let store = settings.open_store().await?;
    println!("{}", serde_json::to_string(&crate::store::audit::head(&store).await?)?);
    Ok(())
}

pub async fn backup(
    settings: Settings,
    file: &std::path::Path,
    config: Option<&std::path::Path>,
    models: bool,
    json_output: bool,
) -> anyhow::Result<()> {
    // Beside a running server the vector index cannot be read: the archive then holds no
    // vectors and a restore embeds every chunk again.
    let engine = match Engine::open(settings.clone()).await {
        Err(crate::Error::DataDirectoryBusy(_)) => {
            eprintln!(
                "warning: a server holds this data directory, so its vector index cannot be read: the backup holds \
                 no vectors, and a restore will embed every chunk again"
            );
            Engine::open_with(settings, OpenMode::ReadOnly).await?
        }
        other => other?,
    };
    let manifest = engine.backup(file, config, models).await?;
    if json_output {
        println!("{}", serde_json::to_string(&manifest)?);
    } else {
        println!(
            "backup written to {}: {} documents, {} chunks, {} vectors, {} audit rows, {} files",
            file.display(),
            manifest.documents,
            manifest.chunks,
            manifest.vectors,
            manifest.audit_head.rows,
            manifest.files.len()
        );
    }
    Ok(())
}

pub async fn restore(settings: Settings, file: &std::path::Path, json_output: bool) -> anyhow::Result<()> {
    let restored = crate::backup::restore(file, &settings).await?;
    if json_output {
        println!("{}", serde_json::to_string(&restored)?);
    } else {
        println!(
            "restored {} documents and {} chunks into {} ({} embedded again); audit log intact: {} rows",
            restored.manifest.documents,
            restored.manifest.chunks,
            settings.data_dir.display(),
            restored.embedded_again,
            restored.audit_rows
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_line_shows_counts_rate_and_eta() {
        let progress = Progress {
            done: 1,
            total: 4,
            pages: 30,
            chunks: 90,
            failed: 1,
            seconds: 10.0,
        };
        assert_eq!(
            progress.line(),
            "[######------------------] 1/4 documents · 30 pages · 90 chunks · 3.0 pages/s · 1 failed · ETA 0m30s"
        );
    }

    #[test]
    fn collects_supported_files_recursively() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        for name in ["a.md", "sub/b.PDF", "sub/c.exe", "d.txt"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let files = collect_files(&[dir.path().to_owned()]);
        let names: Vec<String> = files
            .iter()
            .map(|file| file.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, vec!["a.md", "d.txt", "sub/b.PDF"]);
        let resident = memory_mb("VmRSS");
        assert!(resident > 0.0 && resident <= peak_rss_mb(), "{resident}");
    }
}
