//! `appliance bench load`: many employees at once against one node, while an editor
//! uploads. A bounded load generator: it starts its own server on loopback over a fresh
//! data directory (`DATA_DIR/bench-load`, emptied first), runs for a set time, waits for the answers in flight, stops, and prints
//! one JSON report: server errors, search latency percentiles (overall and while an upload
//! is being ingested), whether every chat was answered or told its place in the queue,
//! queue waits, time to first token, and the process's peak memory (server and load
//! generator together: they share the process).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use serde_json::{Value, json};

use crate::acl::{DocumentAccess, Role};
use crate::commands::peak_rss_mb;
use crate::engine::{Engine, IngestOptions};
use crate::settings::Settings;
use crate::store::users;

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Employees searching at once (each searches, reads for up to a second, searches again).
    #[arg(long, default_value_t = 50)]
    searchers: usize,
    /// Longest pause between one employee's searches, in milliseconds (each pause is between
    /// a fifth of this and all of it: reading the results).
    #[arg(long, default_value_t = 5000)]
    think_ms: u64,
    /// Employees asking questions at once.
    #[arg(long, default_value_t = 5)]
    chatters: usize,
    /// How long new requests are started, in seconds.
    #[arg(long, default_value_t = 120)]
    seconds: u64,
    /// Documents indexed before the run (files or folders).
    #[arg(long = "base", default_value = "demo/documents/debian-reference-ch03.en.html")]
    base: Vec<PathBuf>,
    /// Files the editor uploads one after another during the run.
    #[arg(
        long = "upload",
        default_values = ["demo/documents/debian-reference-ch03.zh-cn.html", "demo/documents/debian-reference-10.3-data-security.en.docx", "demo/documents/fduthesis-en.pdf"]
    )]
    uploads: Vec<PathBuf>,
}

const SEARCHES: [&str; 10] = [
    "How do I change the default target?",
    "systemd boot process",
    "What does the init program do?",
    "如何配置网络？",
    "内核模块如何加载？",
    "journalctl log",
    "Does udev need root?",
    "hostname configuration",
    "启动时运行哪个程序？",
    "mount file systems at boot",
];
const QUESTIONS: [&str; 5] = [
    "What is the default path of the init program?",
    "How do I see the system log?",
    "系统启动时首先运行什么程序？",
    "Which program manages devices?",
    "如何设置主机名？",
];

#[derive(Default)]
struct Results {
    searches: Vec<(f64, bool)>,
    server_errors: Vec<String>,
    chats: Vec<Value>,
    uploads: Vec<Value>,
}

pub async fn run(settings: Settings, args: LoadArgs) -> anyhow::Result<()> {
    // A fresh data directory of its own, kept after the run: the engine's indexes are
    // still flushed as the process ends.
    let data_dir = settings.data_dir.join("bench-load");
    if data_dir.exists() {
        std::fs::remove_dir_all(&data_dir).with_context(|| format!("emptying {}", data_dir.display()))?;
    }
    let settings = Settings {
        data_dir,
        audit_checkpoint_seconds: 0,
        ..settings
    };
    let engine = Engine::open(settings).await?.isolate_parsing();
    let operator = IngestOptions {
        access: DocumentAccess::new(Vec::new(), true),
        actor: "bench".to_owned(),
    };
    for file in crate::commands::collect_files(&args.base) {
        engine
            .ingest_file(&file, &operator)
            .await
            .with_context(|| format!("indexing {}", file.display()))?;
    }
    let password = "load-test-password-1";
    users::add(engine.store(), "editor", password, Role::Editor, &[]).await?;
    for index in 0..args.searchers.max(args.chatters) {
        users::add(
            engine.store(),
            &format!("employee{index}"),
            password,
            Role::Employee,
            &[],
        )
        .await?;
    }
    engine.spawn_ingest_workers(1);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(axum::serve(listener, crate::http::router(engine.clone())).into_future());

    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let results = Arc::new(Mutex::new(Results::default()));
    let ingesting = Arc::new(AtomicBool::new(false));
    let report = tokio::task::spawn_blocking(move || -> anyhow::Result<Value> {
        let mut threads = Vec::new();
        for index in 0..args.searchers {
            let (base, results, ingesting) = (base.clone(), results.clone(), ingesting.clone());
            let think = Duration::from_millis(args.think_ms);
            threads.push(std::thread::spawn(move || {
                searcher(&base, index, deadline, think, &results, &ingesting)
            }));
        }
        for index in 0..args.chatters {
            let (base, results) = (base.clone(), results.clone());
            threads.push(std::thread::spawn(move || chatter(&base, index, deadline, &results)));
        }
        {
            let (base, results, ingesting) = (base.clone(), results.clone(), ingesting.clone());
            let uploads = args.uploads.clone();
            threads.push(std::thread::spawn(move || {
                editor(&base, &uploads, deadline, &results, &ingesting)
            }));
        }
        for thread in threads {
            let _ = thread.join();
        }
        let results = results.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(summary(&results, started.elapsed().as_secs_f64(), &args))
    })
    .await??;
    server.abort();
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into()
}

fn login(agent: &ureq::Agent, base: &str, user: &str) -> Option<String> {
    let response = agent
        .post(&format!("{base}/api/login"))
        .header("X-Appliance-Request", "1")
        .send_json(json!({ "username": user, "password": "load-test-password-1" }))
        .ok()?;
    let cookie = response.headers().get("set-cookie")?.to_str().ok()?;
    Some(cookie.split(';').next()?.to_owned())
}

fn record_error(results: &Mutex<Results>, what: String) {
    results
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .server_errors
        .push(what);
}

fn searcher(
    base: &str,
    index: usize,
    deadline: Instant,
    think: Duration,
    results: &Mutex<Results>,
    ingesting: &AtomicBool,
) {
    let agent = agent();
    let Some(cookie) = login(&agent, base, &format!("employee{index}")) else {
        return record_error(results, format!("employee{index} could not log in"));
    };
    let mut turn = index;
    while Instant::now() < deadline {
        let query = SEARCHES[turn % SEARCHES.len()];
        turn += 1;
        let during_ingest = ingesting.load(Ordering::SeqCst);
        let sent = Instant::now();
        let response = agent
            .post(&format!("{base}/api/search"))
            .header("X-Appliance-Request", "1")
            .header("Cookie", &cookie)
            .send_json(json!({ "query": query }));
        let seconds = sent.elapsed().as_secs_f64();
        match response {
            Ok(response) if response.status().is_server_error() => {
                record_error(results, format!("search: {}", response.status()))
            }
            Ok(_) => results
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .searches
                .push((seconds, during_ingest || ingesting.load(Ordering::SeqCst))),
            Err(error) => record_error(results, format!("search: {error}")),
        }
        // Reading the results, for a fifth of `think` to all of it (spread over the users).
        let fifth = think / 5;
        let spread = (turn as u32 * 7919) % 1000;
        std::thread::sleep(fifth + (think - fifth) * spread / 1000);
    }
}

fn chatter(base: &str, index: usize, deadline: Instant, results: &Mutex<Results>) {
    let agent = agent();
    let Some(cookie) = login(&agent, base, &format!("employee{index}")) else {
        return record_error(results, format!("employee{index} could not log in"));
    };
    let mut turn = index;
    while Instant::now() < deadline {
        let question = QUESTIONS[turn % QUESTIONS.len()];
        turn += 1;
        let sent = Instant::now();
        let response = agent
            .post(&format!("{base}/api/ask"))
            .header("X-Appliance-Request", "1")
            .header("Cookie", &cookie)
            .send_json(json!({ "question": question }));
        let mut response = match response {
            Ok(response) if response.status().is_server_error() => {
                record_error(results, format!("ask: {}", response.status()));
                continue;
            }
            Ok(response) => response,
            Err(error) => {
                record_error(results, format!("ask: {error}"));
                continue;
            }
        };
        let (mut event, mut first_token, mut queued_at, mut ahead_max, mut outcome) =
            (String::new(), None, None, 0u64, "unfinished");
        let mut queue_seconds = 0.0;
        let reader = BufReader::new(response.body_mut().as_reader());
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if let Some(name) = line.strip_prefix("event:") {
                event = name.trim().to_owned();
                // "generating" carries no data line.
                if event == "generating"
                    && let Some(at) = queued_at
                {
                    queue_seconds = sent.elapsed().as_secs_f64() - at;
                }
            } else if let Some(data) = line.strip_prefix("data:").map(str::trim_start) {
                match event.as_str() {
                    "queued" => {
                        queued_at.get_or_insert(sent.elapsed().as_secs_f64());
                        ahead_max = ahead_max.max(data.trim().parse().unwrap_or(0));
                    }
                    "token" => {
                        first_token.get_or_insert(sent.elapsed().as_secs_f64());
                    }
                    "done" => {
                        let answer: Value = serde_json::from_str(data).unwrap_or(Value::Null);
                        outcome = if answer["refused"] == true {
                            "refused"
                        } else if answer["extractive"] == true {
                            "extract"
                        } else {
                            "generated"
                        };
                    }
                    "error" => outcome = "error",
                    _ => {}
                }
            }
        }
        if outcome == "error" || outcome == "unfinished" {
            record_error(results, format!("ask: {outcome}"));
        }
        results
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .chats
            .push(json!({
                "outcome": outcome,
                "seconds": sent.elapsed().as_secs_f64(),
                "first_token_seconds": first_token,
                "told_queue_position": queued_at.is_some(),
                "most_ahead": ahead_max,
                "queue_seconds": queue_seconds,
            }));
    }
}

fn editor(base: &str, files: &[PathBuf], deadline: Instant, results: &Mutex<Results>, ingesting: &AtomicBool) {
    let agent = agent();
    let Some(cookie) = login(&agent, base, "editor") else {
        return record_error(results, "the editor could not log in".to_owned());
    };
    let mut uploaded = 0;
    for file in files {
        if Instant::now() >= deadline {
            break;
        }
        let Ok(bytes) = std::fs::read(file) else {
            return record_error(results, format!("cannot read {}", file.display()));
        };
        let name = file.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let sent = Instant::now();
        ingesting.store(true, Ordering::SeqCst);
        let response = agent
            .post(&format!("{base}/api/documents?name={}&public=true", encode(&name)))
            .header("X-Appliance-Request", "1")
            .header("Cookie", &cookie)
            .content_type("application/octet-stream")
            .send(&bytes[..]);
        match response {
            Ok(response) if response.status().is_server_error() => {
                record_error(results, format!("upload: {}", response.status()))
            }
            Ok(_) => {
                uploaded += 1;
                let finished = wait_for_jobs(&agent, base, &cookie, uploaded);
                results
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .uploads
                    .push(json!({
                        "file": name,
                        "bytes": bytes.len(),
                        "seconds": sent.elapsed().as_secs_f64(),
                        "state": finished,
                    }));
            }
            Err(error) => record_error(results, format!("upload: {error}")),
        }
        ingesting.store(false, Ordering::SeqCst);
    }
}

/// Waits until `count` jobs exist and none is queued or running; returns the last one's state.
fn wait_for_jobs(agent: &ureq::Agent, base: &str, cookie: &str, count: usize) -> String {
    let limit = Instant::now() + Duration::from_secs(900);
    while Instant::now() < limit {
        if let Ok(mut response) = agent.get(&format!("{base}/api/jobs")).header("Cookie", cookie).call()
            && let Ok(body) = response.body_mut().read_json::<Value>()
        {
            let jobs = body["jobs"].as_array().cloned().unwrap_or_default();
            let busy = jobs
                .iter()
                .any(|job| matches!(job["status"].as_str(), Some("queued" | "parsing" | "embedding")));
            if jobs.len() >= count && !busy {
                return jobs
                    .first()
                    .and_then(|job| job["status"].as_str())
                    .unwrap_or("unknown")
                    .to_owned();
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    "timed out".to_owned()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn percentiles(mut values: Vec<f64>) -> Value {
    values.sort_by(f64::total_cmp);
    let at = |share: f64| {
        values
            .get(((values.len() as f64 * share).ceil() as usize).saturating_sub(1))
            .map(|seconds| (seconds * 1000.0).round())
    };
    json!({ "count": values.len(), "p50_ms": at(0.5), "p95_ms": at(0.95), "p99_ms": at(0.99) })
}

fn summary(results: &Results, seconds: f64, args: &LoadArgs) -> Value {
    let searches = percentiles(results.searches.iter().map(|(seconds, _)| *seconds).collect());
    let during = percentiles(
        results
            .searches
            .iter()
            .filter(|(_, ingesting)| *ingesting)
            .map(|(seconds, _)| *seconds)
            .collect(),
    );
    let first_tokens = percentiles(
        results
            .chats
            .iter()
            .filter_map(|chat| chat["first_token_seconds"].as_f64())
            .collect(),
    );
    let queue_waits = percentiles(
        results
            .chats
            .iter()
            .filter_map(|chat| chat["queue_seconds"].as_f64())
            .collect(),
    );
    let count = |outcome: &str| results.chats.iter().filter(|chat| chat["outcome"] == outcome).count();
    let unanswered_untold = results
        .chats
        .iter()
        .filter(|chat| {
            !matches!(chat["outcome"].as_str(), Some("generated" | "extract" | "refused"))
                && chat["told_queue_position"] != true
        })
        .count();
    json!({
        "searchers": args.searchers,
        "think_ms": args.think_ms,
        "chatters": args.chatters,
        "seconds": (seconds * 10.0).round() / 10.0,
        "server_errors": results.server_errors.len(),
        "server_error_samples": results.server_errors.iter().take(5).collect::<Vec<_>>(),
        "search": searches,
        "search_during_ingest": during,
        "chats": {
            "asked": results.chats.len(),
            "generated": count("generated"),
            "extract": count("extract"),
            "refused": count("refused"),
            "neither_answered_nor_told_position": unanswered_untold,
            "told_queue_position": results.chats.iter().filter(|chat| chat["told_queue_position"] == true).count(),
            "most_ahead": results.chats.iter().filter_map(|chat| chat["most_ahead"].as_u64()).max(),
            "first_token": first_tokens,
            "queue_wait": queue_waits,
        },
        "uploads": results.uploads,
        "peak_rss_mb": peak_rss_mb(),
    })
}
