//! The HTTP server: the embedded web UI, a JSON API and server-sent events for answers.
//!
//! One sub-router per area (`auth`, `answers`, `documents`, `admin`, `chat`, `openai`);
//! authentication and roles are extractors (`CurrentUser`, `RequireEditor`,
//! `RequireAdmin`); errors become responses only in [`error::ApiError`]. Every
//! state-changing request must carry the `X-Appliance-Request` header, which a cross-site
//! form or image cannot send and which a cross-origin script could only send after a CORS
//! preflight this server never approves; a mismatching `Origin` is refused too.
//!
//! Requests are traced with a request id (`x-request-id`, returned to the client), time
//! out after [`REQUEST_TIMEOUT`] (answers stream, so they are not cut), and the server
//! shuts down gracefully on SIGTERM as well as Ctrl-C.

pub mod admin;
pub mod answers;
pub mod api_doc;
pub mod auth;
pub mod chat;
pub mod documents;
pub mod error;
pub mod openai;
pub mod probes;
pub mod stats;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use auth::{CurrentUser, RequireAdmin, RequireEditor};
pub use error::{ApiError, ApiJson};

use crate::acl::DocumentAccess;
use crate::engine::{Engine, IngestOptions};
use crate::settings::Settings;
use crate::throttle::LoginThrottle;

/// The header every state-changing request must carry (CSRF defence).
pub const REQUEST_HEADER: &str = "x-appliance-request";

/// Longest time a request may take before it is answered 408; an answer's stream starts
/// at once, so only its first response counts.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    throttle: Arc<LoginThrottle>,
}

/// Serves until SIGTERM or Ctrl-C, after the requests in flight are answered.
pub async fn serve(settings: Settings, listen: SocketAddr, ingest_paths: Vec<PathBuf>) -> crate::Result<()> {
    let engine = Engine::open(settings).await?.isolate_parsing();
    engine.requeue_interrupted().await?;
    engine.spawn_ingest_workers(engine.settings().ingest_workers);
    if !ingest_paths.is_empty() {
        let options = IngestOptions {
            access: DocumentAccess::new(Vec::new(), true),
            actor: "serve".to_owned(),
        };
        for file in crate::commands::collect_files(&ingest_paths) {
            engine.enqueue_path(&file, &options).await?;
        }
    }
    let checkpoints = tokio::spawn(keep_audit_checkpoints(engine.clone()));
    let dictionary = tokio::spawn(follow_dictionary(engine.clone()));
    let retention = tokio::spawn(crate::retention::keep_purging(
        engine.settings().clone(),
        engine.store().clone(),
    ));
    // Load the models now, not on the first question; `/readyz` answers 200 once done.
    let warming = engine.clone();
    tokio::spawn(async move {
        let readiness = warming.readiness().await;
        for check in readiness.checks.iter().filter(|check| !check.ok) {
            tracing::warn!(
                dependency = check.name,
                required = check.required,
                "not available: {}",
                check.detail
            );
        }
        tracing::info!(ready = readiness.ready, "dependencies checked");
    });
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "listening");
    println!("appliance listening on http://{address}/");
    axum::serve(listener, router(engine.clone()))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    checkpoints.abort();
    dictionary.abort();
    retention.abort();
    audit_checkpoint(&engine).await;
    tracing::info!("stopped");
    Ok(())
}

/// Records the audit chain's head outside the database at start, every
/// `audit_checkpoint_seconds`, and (from [`serve`]) at stop, so cut rows are detected.
async fn keep_audit_checkpoints(engine: Engine) {
    let seconds = engine.settings().audit_checkpoint_seconds;
    loop {
        audit_checkpoint(&engine).await;
        if seconds == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
    }
}

/// How often a node looks for a domain dictionary saved through another node.
const DICTIONARY_POLL: std::time::Duration = std::time::Duration::from_secs(30);

/// Keeps the keyword analyzer on the dictionary in the database: with several nodes, the
/// one that saved it rebuilt the shared index, and the others must cut queries the same way.
async fn follow_dictionary(engine: Engine) {
    loop {
        tokio::time::sleep(DICTIONARY_POLL).await;
        if let Err(error) = engine.follow_dictionary().await {
            tracing::warn!("cannot read the domain dictionary: {error:#}");
        }
    }
}

async fn audit_checkpoint(engine: &Engine) {
    let path = engine.settings().audit_checkpoint_path();
    match crate::store::audit::checkpoint(engine.store(), path).await {
        Ok(Some(head)) => {
            tracing::info!(target: "audit", id = head.id, hash = %head.hash, rows = head.rows, "audit checkpoint")
        }
        Ok(None) => {}
        Err(error) => tracing::error!("cannot write the audit checkpoint: {error:#}"),
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!("cannot listen for SIGTERM: {error}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => tracing::info!("interrupted; shutting down"),
        () = terminate => tracing::info!("terminated; shutting down"),
    }
}

/// Refuses state-changing requests without the request header or from another origin.
async fn csrf_guard(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = request.method();
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let headers = request.headers();
    // A bearer token is not ambient authority a browser adds by itself: no CSRF risk.
    if auth::bearer_token(headers).is_some() && auth::session_token(headers).is_none() {
        return next.run(request).await;
    }
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok());
    let origin_matches = match headers.get(header::ORIGIN).and_then(|value| value.to_str().ok()) {
        None => true,
        Some(origin) => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            host.is_some_and(|host| host.eq_ignore_ascii_case(origin_host))
        }
    };
    if !headers.contains_key(REQUEST_HEADER) || !origin_matches {
        return (
            StatusCode::FORBIDDEN,
            Json(error::ErrorBody {
                error: "cross-site request refused (missing request header or foreign origin)".to_owned(),
            }),
        )
            .into_response();
    }
    next.run(request).await
}

/// The whole application: every area's routes, the UI, and the layers around them.
pub fn router(engine: Engine) -> Router {
    let max_upload_bytes = (engine.settings().max_file_mb * 1024 * 1024) as usize;
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .route("/", get(index))
        .route("/assets/{*path}", get(asset))
        .route("/api/health", get(health))
        .merge(probes::routes())
        .merge(auth_routes())
        .merge(answers::routes())
        .merge(documents::routes().layer(DefaultBodyLimit::max(max_upload_bytes)))
        .merge(admin::routes())
        .merge(stats::routes())
        .merge(chat::routes())
        .merge(openai::routes())
        .route_layer(axum::middleware::from_fn(probes::record_request))
        .layer(axum::middleware::from_fn(csrf_guard))
        .layer(axum::middleware::map_response(security_headers))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), id)
            }),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(AppState {
            engine,
            throttle: Arc::new(LoginThrottle::default()),
        })
}

fn auth_routes() -> Router<AppState> {
    use axum::routing::post;
    Router::new()
        .route("/api/login", post(auth::login))
        .route("/api/logout", post(auth::logout))
        .route("/api/me", get(auth::me))
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn index() -> Html<&'static str> {
    Html(web::INDEX_HTML)
}

/// An embedded script or style sheet; never cached across upgrades.
async fn asset(uri: Uri) -> Response {
    match web::asset(uri.path()) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            asset.body,
        )
            .into_response(),
        None => ApiError::NotFound.into_response(),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    status: &'static str,
    documents: i64,
    chunks: u64,
}

/// Whether the server is up, and how much it holds.
#[utoipa::path(get, path = "/api/health", tag = "meta", responses((status = 200, body = Health)))]
pub(crate) async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    Ok(Json(Health {
        status: "ok",
        documents: state.engine.store().document_count().await?,
        chunks: state.engine.indexed_chunks().await?,
    }))
}
