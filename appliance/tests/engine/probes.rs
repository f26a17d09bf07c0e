//! `/healthz` and `/readyz`: alive whatever happens; ready only while every required
//! dependency answers, with the state of each.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use super::TestEngine;

async fn get(test: &TestEngine, path: &str) -> (StatusCode, String) {
    let response = appliance::http::router(test.engine.clone())
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn check<'a>(readiness: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    readiness["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {readiness}"))
}

#[tokio::test]
async fn ready_while_its_dependencies_answer_and_alive_regardless() {
    // No generator: questions are answered by extract, so the node is still ready.
    let test = TestEngine::new(None).await;
    test.ingest("/docs/canteen.md", "# Canteen\n\nThe canteen opens at seven.\n", &[])
        .await;
    let (status, body) = get(&test, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let readiness: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(readiness["ready"], true, "{readiness}");
    assert_eq!(check(&readiness, "database")["detail"], "1 documents");
    assert_eq!(check(&readiness, "vector_store")["ok"], true);
    let generator = check(&readiness, "generator");
    assert!(
        generator["ok"] == false && generator["required"] == false,
        "{readiness}"
    );

    test.vectors
        .unreachable
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (status, body) = get(&test, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let readiness: serde_json::Value = serde_json::from_str(&body).unwrap();
    let vectors = check(&readiness, "vector_store");
    assert!(
        vectors["ok"] == false && vectors["detail"].as_str().unwrap().contains("connection refused"),
        "{readiness}"
    );
    assert_eq!(get(&test, "/healthz").await, (StatusCode::OK, "ok".to_owned()));
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_report_sizes() {
    let test = TestEngine::new(None).await;
    test.ingest("/docs/canteen.md", "# Canteen\n\nThe canteen opens at seven.\n", &[])
        .await;
    for _ in 0..3 {
        get(&test, "/healthz").await;
    }
    get(&test, "/api/documents/secret-looking-id/pages/1").await;
    let (status, text) = get(&test, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let count = |prefix: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    // Counters are process-wide (other tests run in this process too): at least ours.
    assert!(count("appliance_http_requests_total{route=\"/healthz\",status=\"2xx\"}") >= 3.0);
    assert_eq!(count("appliance_documents "), 1.0);
    assert_eq!(count("appliance_chunks "), 1.0);
    assert!(count("appliance_audit_rows ") >= 1.0);
    // Routes are patterns, never the requested path.
    assert!(text.contains("route=\"/api/documents/{id}/pages/{page}\""), "{text}");
    assert!(!text.contains("secret-looking-id"), "{text}");
}
