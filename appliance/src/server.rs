//! The HTTP server: the embedded web UI, a JSON API and server-sent events for answers.
//!
//! Authentication is a session cookie (HttpOnly, SameSite=Strict, Secure behind TLS).
//! Every state-changing request must carry the `X-Appliance-Request` header, which a
//! cross-site form or image cannot send and which a cross-origin script could only send
//! after a CORS preflight this server never approves; a mismatching `Origin` is refused
//! too. Errors become HTTP responses in exactly one place, [`ApiError`]'s `IntoResponse`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::extract::{FromRequestParts, State};
use axum::http::Method;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post, put};
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
use crate::{admin_api, chat_api, conversations};

const SESSION_COOKIE: &str = "appliance_session";

/// The header every state-changing request must carry (CSRF defence).
pub(crate) const REQUEST_HEADER: &str = "x-appliance-request";

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) engine: Engine,
    throttle: Arc<LoginThrottle>,
}

/// Every error a handler can return.
#[derive(Debug)]
pub(crate) enum ApiError {
    Unauthorized,
    Forbidden,
    NotFound,
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
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "you are not allowed to do this".to_owned()),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not found".to_owned()),
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
pub(crate) struct CurrentUser(pub(crate) User);

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

/// The token of an `Authorization: Bearer` header (API clients).
fn bearer_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| token.trim().to_owned())
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(token) = bearer_token(&parts.headers) {
            let user = users::token_user(&state.engine.db, &token).await?;
            return user.map(CurrentUser).ok_or(ApiError::Unauthorized);
        }
        let token = session_token(&parts.headers).ok_or(ApiError::Unauthorized)?;
        let user = users::session_user(&state.engine.db, &token).await?;
        user.map(CurrentUser).ok_or(ApiError::Unauthorized)
    }
}

pub(crate) fn access_of(user: &User) -> Access {
    if user.is_admin() {
        Access::Everything
    } else {
        Access::member_of(&user.groups)
    }
}

pub async fn serve(settings: Settings, listen: SocketAddr, ingest_paths: Vec<PathBuf>) -> anyhow::Result<()> {
    let engine = Engine::open(settings).await?.isolate_parsing();
    engine.requeue_interrupted().await?;
    engine.spawn_ingest_workers(engine.settings.ingest_workers);
    if !ingest_paths.is_empty() {
        let options = IngestOptions {
            groups: Vec::new(),
            public: true,
            actor: "serve".to_owned(),
        };
        for file in crate::commands::collect_files(&ingest_paths) {
            engine.enqueue_path(&file, &options).await?;
        }
    }
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

/// Refuses state-changing requests without the request header or from another origin.
async fn csrf_guard(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = request.method();
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let headers = request.headers();
    // A bearer token is not ambient authority a browser adds by itself: no CSRF risk.
    if bearer_token(headers).is_some() && session_token(headers).is_none() {
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
            Json(json!({ "error": "cross-site request refused (missing request header or foreign origin)" })),
        )
            .into_response();
    }
    next.run(request).await
}

fn router(engine: Engine) -> Router {
    let max_upload_bytes = (engine.settings.max_file_mb * 1024 * 1024) as usize;
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
        .route(
            "/api/documents",
            get(admin_api::documents)
                .post(admin_api::upload)
                .layer(DefaultBodyLimit::max(max_upload_bytes)),
        )
        .route("/api/documents/{id}", delete(admin_api::delete_document))
        .route("/api/documents/{id}/access", put(admin_api::set_access))
        .route("/api/documents/{id}/reindex", post(admin_api::reindex))
        .route("/api/documents/{id}/pages/{page}", get(admin_api::page))
        .route("/api/jobs", get(admin_api::jobs))
        .route("/api/users", get(admin_api::list_users).post(admin_api::add_user))
        .route("/api/users/{id}", put(admin_api::update_user))
        .route("/api/me/password", post(admin_api::change_password))
        .route("/api/audit", get(admin_api::audit))
        .route(
            "/api/system-prompt",
            get(admin_api::system_prompt).put(admin_api::set_system_prompt),
        )
        .route(
            "/api/dictionary",
            get(admin_api::dictionary).put(admin_api::set_dictionary),
        )
        .route("/api/stats", get(admin_api::stats))
        .route("/api/conversations", get(chat_api::list_conversations))
        .route(
            "/api/conversations/{id}",
            get(chat_api::conversation).delete(chat_api::delete_conversation),
        )
        .route("/api/messages/{id}/feedback", post(chat_api::feedback))
        .route("/api/review", get(chat_api::review_queue))
        .route("/api/review/{id}", post(chat_api::mark_reviewed))
        .route("/api/tokens", get(chat_api::list_tokens).post(chat_api::create_token))
        .route("/api/tokens/{id}", delete(chat_api::delete_token))
        .route("/api/openapi.json", get(chat_api::openapi))
        .route("/v1/chat/completions", post(chat_api::chat_completions))
        .route("/v1/models", get(chat_api::models))
        .layer(axum::middleware::from_fn(csrf_guard))
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

/// `; Secure` when the browser reached us over TLS (a terminating proxy says so with
/// `X-Forwarded-Proto: https`) or the settings force it.
fn secure_flag(state: &AppState, headers: &HeaderMap) -> &'static str {
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    if state.engine.settings.secure_cookies || forwarded_https {
        "; Secure"
    } else {
        ""
    }
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(request): Json<LoginRequest>,
) -> Result<Response, ApiError> {
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
    // Always a fresh token: a cookie planted before login never becomes a session.
    let cookie = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        users::SESSION_SECONDS,
        secure_flag(&state, &headers)
    );
    Ok(([(header::SET_COOKIE, cookie)], Json(user)).into_response())
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        users::end_session(&state.engine.db, &token).await?;
    }
    let cookie = format!(
        "{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        secure_flag(&state, &headers)
    );
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
    let terms = engine.keyword.tokens(&request.query);
    Ok(Json(json!({ "hits": hits, "terms": terms })))
}

#[derive(Deserialize)]
struct AskRequest {
    question: String,
    /// Continue this conversation (one of the caller's); a new one is started without it.
    conversation_id: Option<String>,
}

async fn ask(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(request): Json<AskRequest>,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, ApiError> {
    if request.question.trim().is_empty() || request.question.len() > 2000 {
        return Err(ApiError::BadRequest("the question must have 1 to 2000 bytes".into()));
    }
    let db = &state.engine.db;
    let (conversation, previous) = match &request.conversation_id {
        Some(id) => {
            if !conversations::owned(db, user.id, id).await? {
                return Err(ApiError::NotFound);
            }
            (id.clone(), conversations::last_question(db, id).await?)
        }
        None => (conversations::create(db, user.id, &request.question).await?, None),
    };
    let retrieval_query = conversations::retrieval_query(&request.question, previous.as_deref());
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
            .ask_with_query(
                &request.question,
                &retrieval_query,
                &access_of(&user),
                &user.username,
                Some(event_sender),
            )
            .await;
        let _ = forward.await;
        let result = match result {
            Ok(answer) => {
                let mut value = serde_json::to_value(&answer).unwrap_or_default();
                match conversations::add_turn(&engine.db, &conversation, &request.question, &value).await {
                    Ok(message) => {
                        value["conversation_id"] = json!(conversation);
                        value["message_id"] = json!(message);
                        Ok(value)
                    }
                    Err(error) => Err(error),
                }
            }
            Err(error) => Err(error),
        };
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
