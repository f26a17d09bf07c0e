//! Probes for load balancers and orchestrators: `/healthz` says the process answers,
//! `/readyz` that it can serve (database, indexes and embedder reachable), with the state
//! of each dependency; `/metrics` is for Prometheus ([`crate::metrics`]).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::AppState;
use crate::engine::Readiness;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Alive: the process answers requests. Touches nothing else.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, body = String)))]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// Ready to serve: 200 when every required dependency answers, 503 with the failing ones
/// otherwise.
#[utoipa::path(get, path = "/readyz", tag = "meta", responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let readiness = state.engine.readiness().await;
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness))
}

/// Counters, latency histograms and sizes in the Prometheus text format. Holds no document
/// text, query or user name.
#[utoipa::path(get, path = "/metrics", tag = "meta", responses((status = 200, body = String, content_type = "text/plain")))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<axum::response::Response, super::error::ApiError> {
    use axum::response::IntoResponse;
    let engine = &state.engine;
    let vectors = engine.vector_store();
    let vector_count = tokio::task::spawn_blocking(move || vectors.count().unwrap_or(0))
        .await
        .unwrap_or(0);
    let sizes = crate::metrics::Sizes {
        documents: engine.store().document_count().await?,
        chunks: engine.indexed_chunks().await.unwrap_or(0),
        vectors: vector_count as u64,
        audit_rows: crate::store::audit::head(engine.store()).await?.rows,
    };
    let text = crate::metrics::metrics().render(&sizes);
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// Counts every request by its route pattern (never the requested path: no user input in
/// labels), status class and latency.
pub(super) async fn record_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    crate::metrics::metrics().request(&route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}
