//! The HTTP server: the embedded web UI, a JSON API and server-sent events for answers.
//!
//! Authentication is a session cookie (HttpOnly, SameSite=Strict); state-changing routes
//! only accept JSON bodies, which a cross-site form cannot send. Errors become HTTP
//! responses in exactly one place, [`ApiError`]'s `IntoResponse`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use retrieval::Access;
use serde::Deserialize;
use serde_json::json;
use tokio_stream::wrappers::ReceiverStream;

use crate::engine::{AnswerEvent, Engine, IngestOptions};
use crate::settings::Settings;
use crate::throttle::LoginThrottle;
use crate::users::{self, User};

const SESSION_COOKIE: &str = "appliance_session";

#[derive(Clone)]
struct AppState {
    engine: Engine,
    throttle: Arc<LoginThrottle>,
}

/// Every error a handler can return.
#[derive(Debug)]
enum ApiError {
    Unauthorized,
    BadRequest(String),
    TooManyRequests(String),
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        Self::Internal(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "please log in".to_owned()),
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            ApiError::TooManyRequests(message) => (StatusCode::TOO_MANY_REQUESTS, message),
            ApiError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; see the server log".to_owned(),
                )
            }
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

/// The logged-in user, from the session cookie.
struct CurrentUser(User);

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = session_token(&parts.headers).ok_or(ApiError::Unauthorized)?;
        let user = users::session_user(&state.engine.db, &token).await?;
        user.map(CurrentUser).ok_or(ApiError::Unauthorized)
    }
}

fn access_of(user: &User) -> Access {
    if user.is_admin() {
        Access::Everything
    } else {
        Access::member_of(&user.groups)
    }
}

pub async fn serve(settings: Settings, listen: SocketAddr, ingest_paths: Vec<PathBuf>) -> anyhow::Result<()> {
    let engine = Engine::open(settings).await?;
    tokio::spawn(background_ingest(engine.clone(), ingest_paths));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "listening");
    println!("appliance listening on http://{address}/");
    axum::serve(listener, router(engine))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Finishes jobs a crash interrupted, then ingests `paths`, one document at a time.
async fn background_ingest(engine: Engine, paths: Vec<PathBuf>) {
    match engine.resume_jobs().await {
        Ok(resumed) => {
            for (source, outcome) in resumed {
                if let Err(error) = outcome {
                    tracing::warn!(source, error = format!("{error:#}"), "resumed ingest failed");
                }
            }
        }
        Err(error) => tracing::error!(error = format!("{error:#}"), "could not read the interrupted jobs"),
    }
    if paths.is_empty() {
        return;
    }
    let options = IngestOptions {
        groups: Vec::new(),
        public: true,
        actor: "serve".to_owned(),
    };
    let files = crate::commands::collect_files(&paths);
    for file in &files {
        match engine.ingest_file(file, &options).await {
            Ok(outcome) => {
                tracing::info!(file = %file.display(), status = outcome.status, chunks = outcome.chunks, "ingested")
            }
            Err(error) => tracing::warn!(file = %file.display(), error = format!("{error:#}"), "ingest failed"),
        }
    }
    if let Err(error) = engine.optimize().await {
        tracing::warn!(error = format!("{error:#}"), "optimising the vector index failed");
    }
    tracing::info!(files = files.len(), "background ingest finished");
}

fn router(engine: Engine) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/assets/app.js", get(app_js))
        .route("/assets/app.css", get(app_css))
        .route("/api/health", get(health))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/search", post(search))
        .route("/api/ask", post(ask))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(AppState {
            engine,
            throttle: Arc::new(LoginThrottle::default()),
        })
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

async fn app_js() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], web::APP_JS)
}

async fn app_css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], web::APP_CSS)
}

async fn health(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let documents: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents")
        .fetch_one(&state.engine.db)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(Json(
        json!({ "status": "ok", "documents": documents, "chunks": state.engine.keyword.count() }),
    ))
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

async fn login(State(state): State<AppState>, Json(request): Json<LoginRequest>) -> Result<Response, ApiError> {
    let db = &state.engine.db;
    let now = std::time::Instant::now();
    if let Some(remaining) = state.throttle.locked_for(&request.username, now) {
        crate::audit::append(db, &request.username, "login.locked", json!({})).await?;
        return Err(ApiError::TooManyRequests(format!(
            "too many failed logins; try again in {} minutes",
            remaining.as_secs().div_ceil(60)
        )));
    }
    let Some(user) = users::authenticate(db, &request.username, &request.password).await? else {
        let locked = state.throttle.failed(&request.username, now);
        crate::audit::append(db, &request.username, "login.failed", json!({ "locked": locked })).await?;
        return Err(ApiError::BadRequest("wrong user name or password".into()));
    };
    state.throttle.succeeded(&request.username);
    let token = users::create_session(db, &user).await?;
    crate::audit::append(db, &user.username, "login", json!({})).await?;
    let cookie = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        users::SESSION_SECONDS
    );
    Ok(([(header::SET_COOKIE, cookie)], Json(user)).into_response())
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        users::end_session(&state.engine.db, &token).await?;
    }
    let cookie = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Ok(([(header::SET_COOKIE, cookie)], Json(json!({ "ok": true }))).into_response())
}

async fn me(CurrentUser(user): CurrentUser) -> Json<User> {
    Json(user)
}

#[derive(Deserialize)]
struct SearchRequest {
    query: String,
    #[serde(default = "default_k")]
    k: usize,
}

fn default_k() -> usize {
    10
}

async fn search(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(request): Json<SearchRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if request.query.trim().is_empty() || request.query.len() > 2000 {
        return Err(ApiError::BadRequest("the query must have 1 to 2000 bytes".into()));
    }
    let engine = &state.engine;
    let hits = engine
        .search(&request.query, &access_of(&user), request.k.clamp(1, 50))
        .await?;
    let chunk_ids: Vec<u64> = hits.iter().map(|hit| hit.chunk_id).collect();
    crate::audit::append(
        &engine.db,
        &user.username,
        "search",
        json!({ "query": request.query, "chunks": chunk_ids }),
    )
    .await?;
    Ok(Json(json!({ "hits": hits })))
}

#[derive(Deserialize)]
struct AskRequest {
    question: String,
}

async fn ask(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(request): Json<AskRequest>,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, ApiError> {
    if request.question.trim().is_empty() || request.question.len() > 2000 {
        return Err(ApiError::BadRequest("the question must have 1 to 2000 bytes".into()));
    }
    let (event_sender, mut event_receiver) = tokio::sync::mpsc::unbounded_channel();
    let (stream_sender, stream_receiver) = tokio::sync::mpsc::channel::<Event>(64);
    let engine = state.engine.clone();
    let forward_sender = stream_sender.clone();
    // Forward progress; when the client goes away the send fails, this task ends, and the
    // generator sees its channel closed and stops.
    let forward = tokio::spawn(async move {
        while let Some(event) = event_receiver.recv().await {
            let event = match event {
                AnswerEvent::Sources(hits) => Event::default().event("sources").json_data(&hits),
                AnswerEvent::Generating => Ok(Event::default().event("generating").data("")),
                AnswerEvent::Queued { ahead } => Event::default().event("queued").json_data(ahead),
                AnswerEvent::Token(piece) => Event::default().event("token").json_data(&piece),
            };
            let Ok(event) = event else { continue };
            if forward_sender.send(event).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        let result = engine
            .ask(&request.question, &access_of(&user), &user.username, Some(event_sender))
            .await;
        let _ = forward.await;
        let final_event = match result {
            Ok(answer) => Event::default().event("done").json_data(&answer),
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "answering failed");
                Event::default()
                    .event("error")
                    .json_data(json!({ "error": format!("{error:#}") }))
            }
        };
        if let Ok(event) = final_event {
            let _ = stream_sender.send(event).await;
        }
    });
    let stream = ReceiverStream::new(stream_receiver).map(Ok);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; appliance_session=abc; b=2"),
        );
        assert_eq!(session_token(&headers).as_deref(), Some("abc"));
        assert_eq!(session_token(&HeaderMap::new()), None);
    }
}
