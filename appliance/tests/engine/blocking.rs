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

/// A long audit log: `rows` questions, each with a long answer and two cited documents.
async fn seed_questions(test: &TestEngine, rows: usize) {
    let answer = "The canteen opens at seven in the morning and closes at eight. ".repeat(250);
    for number in 0..rows {
        let detail = json!({
            "question": format!("when does the canteen open? ({number})"),
            "answer": answer,
            "seconds": 1.5,
            "refused": number % 7 == 0,
            "cited_documents": ["doc-a", "doc-b"],
        });
        audit::append(test.engine.store(), "alice", "question", detail)
            .await
            .unwrap();
    }
}

/// An admin's GET of `path` through the real router; the response body is read whole.
async fn admin_get(test: &TestEngine, path: &str) -> (StatusCode, usize) {
    let store = test.engine.store();
    let admin = users::add(store, "root", "password-123", Role::Admin, &[])
        .await
        .unwrap();
    let (_, token) = users::create_token(store, &admin, "watchdog").await.unwrap();
    let request = Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = appliance::http::router(test.engine.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, body.len())
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

/// Before: every view of the audit page hashed the whole chain on the async runtime, and
/// the page's rows (up to a hundred thousand in an export) were parsed there too.
#[test]
fn verifying_a_long_audit_chain_does_not_stall_the_runtime() {
    on_one_thread(async {
        let test = TestEngine::new(None).await;
        seed_questions(&test, 3_000).await;
        let ((status, bytes), worst, total) = watched(admin_get(&test, "/api/audit?limit=100000")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(bytes > 3_000 * 15_000, "every row came back: {bytes} bytes");
        assert_not_stalled("the audit page", worst, total);
    });
}

/// Before: the dashboard parsed and folded up to twenty thousand question rows on the
/// async runtime.
#[test]
fn dashboard_statistics_do_not_stall_the_runtime() {
    on_one_thread(async {
        let test = TestEngine::new(None).await;
        seed_questions(&test, 3_000).await;
        let ((status, _), worst, total) = watched(admin_get(&test, "/api/stats")).await;
        assert_eq!(status, StatusCode::OK);
        assert_not_stalled("the dashboard", worst, total);
    });
}
