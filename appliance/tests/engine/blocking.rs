//! Work that must stay off the async runtime: hashing uploads, verifying the audit chain and
//! folding the audit rows into the dashboard's figures. Each test runs on a one-thread
//! runtime beside a watchdog task that sleeps a millisecond at a time; were the work done on
//! the runtime, the watchdog would be kept waiting for most of it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use appliance::acl::Role;
use appliance::store::{audit, users};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use tower::ServiceExt;

use super::{TestEngine, options};

/// Runs `test` on a runtime with a single thread, so anything that blocks it blocks the
/// watchdog too.
fn on_one_thread(test: impl Future<Output = ()>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(test);
}

/// Runs `work` beside a watchdog; returns its output, the watchdog's longest wait for the
/// runtime, and how long `work` took.
async fn watched<T>(work: impl Future<Output = T>) -> (T, Duration, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let watching = stop.clone();
    let watchdog = tokio::spawn(async move {
        let mut worst = Duration::ZERO;
        while !watching.load(Ordering::Relaxed) {
            let before = Instant::now();
            tokio::time::sleep(Duration::from_millis(1)).await;
            worst = worst.max(before.elapsed());
        }
        worst
    });
    tokio::task::yield_now().await;
    let started = Instant::now();
    let output = work.await;
    let total = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let worst = watchdog.await.unwrap();
    (output, worst, total)
}

/// Done off the runtime, the watchdog waits a few milliseconds at worst; done on it, a
/// third or more of the whole (measured when these tests were written).
fn assert_not_stalled(what: &str, worst: Duration, total: Duration) {
    eprintln!("{what}: longest stall {worst:?} of {total:?}");
    assert!(
        worst < total / 5,
        "{what}: the runtime stalled for {worst:?} of the {total:?} it took"
    );
}

/// Questions in the audit log of [`admin_page_watched`], each with a long answer.
const QUESTIONS: usize = 3_000;

/// An admin's GET of `path`, through the real router on a one-thread runtime beside the
/// watchdog, over an audit log of [`QUESTIONS`] long questions. The response body is read
/// whole; returns its status and size, the longest stall and the time the request took.
fn admin_page_watched(path: &'static str) -> (StatusCode, usize, Duration, Duration) {
    let mut measured = None;
    on_one_thread(async {
        let test = TestEngine::new(None).await;
        let store = test.engine.store();
        let answer = "The canteen opens at seven in the morning and closes at eight. ".repeat(250);
        for number in 0..QUESTIONS {
            let detail = json!({
                "question": format!("when does the canteen open? ({number})"),
                "answer": answer,
                "seconds": 1.5,
                "refused": number % 7 == 0,
                "cited_documents": ["doc-a", "doc-b"],
            });
            audit::append(store, "alice", "question", detail).await.unwrap();
        }
        let admin = users::add(store, "root", "password-123", Role::Admin, &[])
            .await
            .unwrap();
        let (_, token) = users::create_token(store, &admin, "watchdog").await.unwrap();
        let request = Request::get(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let get = async {
            let response = appliance::http::router(test.engine.clone())
                .oneshot(request)
                .await
                .unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
            (status, body.len())
        };
        let ((status, bytes), worst, total) = watched(get).await;
        measured = Some((status, bytes, worst, total));
    });
    measured.expect("the request ran")
}

/// Before: the upload's SHA-256 was computed on the async runtime, so a large upload
/// stalled every other request on that thread for as long as the hashing took. Here a
/// 192 MiB upload is hashed (and then refused as too large).
#[test]
fn hashing_a_large_upload_does_not_stall_the_runtime() {
    on_one_thread(async {
        let test = TestEngine::new(None).await;
        let bytes = vec![b'x'; 192 << 20];
        let public = options(&[], "cli");
        let upload = test.engine.ingest_bytes("/docs/huge.md", Ok(bytes), &public);
        let (result, worst, total) = watched(upload).await;
        assert!(result.is_err(), "a 192 MiB file is over the 64 MiB limit");
        assert_not_stalled("hashing", worst, total);
    });
}

/// Before: every view of the audit page, however few rows it showed, hashed the whole chain
/// on the async runtime.
#[test]
fn verifying_a_long_audit_chain_does_not_stall_the_runtime() {
    let (status, _, worst, total) = admin_page_watched("/api/audit?limit=1");
    assert_eq!(status, StatusCode::OK);
    assert_not_stalled("the audit page", worst, total);
}

/// Before: an export's rows (up to a hundred thousand) were parsed, and written out as CSV or
/// JSON, on the async runtime.
#[test]
fn exporting_a_long_audit_log_does_not_stall_the_runtime() {
    for path in ["/api/audit?limit=100000&format=csv", "/api/audit?limit=100000"] {
        let (status, bytes, worst, total) = admin_page_watched(path);
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(bytes > QUESTIONS * 15_000, "{path}: every row came back: {bytes} bytes");
        assert_not_stalled(path, worst, total);
    }
}

/// Before: the dashboard parsed and folded up to twenty thousand question rows on the
/// async runtime.
#[test]
fn dashboard_statistics_do_not_stall_the_runtime() {
    let (status, _, worst, total) = admin_page_watched("/api/stats");
    assert_eq!(status, StatusCode::OK);
    assert_not_stalled("the dashboard", worst, total);
}
