//! Probes for load balancers and orchestrators: `/healthz` says the process answers,
//! `/readyz` that it can serve (database, indexes and embedder reachable), with the state
//! of each dependency.

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
