//! Search and questions: `POST /api/search` and `POST /api/ask` (server-sent events).

use std::convert::Infallible;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::post;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_stream::wrappers::ReceiverStream;

use super::{ApiError, ApiJson, AppState, CurrentUser};
use crate::engine::{AnswerEvent, Hit, Question, StreamEvent};
use crate::store::{audit, conversations};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/search", post(search))
        .route("/api/ask", post(ask))
}

/// Longest query or question, in bytes.
const MAX_QUESTION_BYTES: usize = 2000;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SearchRequest {
    query: String,
    #[serde(default = "default_k")]
    k: usize,
}

fn default_k() -> usize {
    10
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SearchResponse {
    hits: Vec<Hit>,
    /// The query's terms as the keyword index cuts them (for highlighting).
    terms: Vec<String>,
}

/// Hybrid search over what the caller may read.
#[utoipa::path(post, path = "/api/search", tag = "search", request_body = SearchRequest,
    responses((status = 200, body = SearchResponse), (status = 400, body = super::error::ErrorBody)))]
pub(super) async fn search(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<SearchRequest>,
) -> Result<axum::Json<SearchResponse>, ApiError> {
    if request.query.trim().is_empty() || request.query.len() > MAX_QUESTION_BYTES {
        return Err(ApiError::BadRequest("the query must have 1 to 2000 bytes".into()));
    }
    let engine = &state.engine;
    let hits = engine
        .search(&request.query, &user.acl(), request.k.clamp(1, 50))
        .await?;
    let chunk_ids: Vec<u64> = hits.iter().map(|hit| hit.chunk_id).collect();
    audit::append(
        engine.store(),
        &user.0.username,
        "search",
        json!({ "query": request.query, "chunks": chunk_ids }),
    )
    .await?;
    let terms = engine.query_terms(&request.query);
    Ok(axum::Json(SearchResponse { hits, terms }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AskRequest {
    question: String,
    /// Continue this conversation (one of the caller's); a new one is started without it.
    conversation_id: Option<String>,
}

/// A question answered from what the caller may read, as server-sent events: `sources`
/// (the passages), `queued` (questions ahead), `generating`, `token` (pieces of text), then
/// `done` (the answer with its citations, `conversation_id` and `message_id`) or `error`.
#[utoipa::path(post, path = "/api/ask", tag = "answers", request_body = AskRequest,
    responses((status = 200, content_type = "text/event-stream", description = "The answer's events"),
        (status = 400, body = super::error::ErrorBody), (status = 404, description = "Not the caller's conversation")))]
pub(super) async fn ask(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<AskRequest>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    if request.question.trim().is_empty() || request.question.len() > MAX_QUESTION_BYTES {
        return Err(ApiError::BadRequest("the question must have 1 to 2000 bytes".into()));
    }
    let store = state.engine.store().clone();
    let CurrentUser(user) = user;
    let (conversation, previous) = match &request.conversation_id {
        Some(id) => {
            if !conversations::owned(&store, user.id, id).await? {
                return Err(ApiError::NotFound);
            }
            (id.clone(), conversations::last_question(&store, id).await?)
        }
        None => (conversations::create(&store, user.id, &request.question).await?, None),
    };
    let question = Question {
        retrieval_query: conversations::retrieval_query(&request.question, previous.as_deref()),
        text: request.question,
        acl: user.acl(),
        actor: user.username.clone(),
    };
    // Shared by every event of the stream: one token is one event, so no copies per event.
    let turn = std::sync::Arc::new((store, conversation, question.text.clone()));
    let events = state.engine.answer_stream(question);
    let stream = ReceiverStream::new(events).then(move |event| {
        let turn = turn.clone();
        async move {
            let (store, conversation, question) = &*turn;
            Ok(sse_event(event, store, conversation, question).await)
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// One answer event as the browser reads it; the final answer joins the conversation.
async fn sse_event(event: StreamEvent, store: &crate::store::Store, conversation: &str, question: &str) -> Event {
    let event = match event {
        StreamEvent::Progress(AnswerEvent::Sources(hits)) => Event::default().event("sources").json_data(&hits),
        StreamEvent::Progress(AnswerEvent::Generating) => Ok(Event::default().event("generating").data("")),
        StreamEvent::Progress(AnswerEvent::Queued { ahead }) => Event::default().event("queued").json_data(ahead),
        StreamEvent::Progress(AnswerEvent::Token(piece)) => Event::default().event("token").json_data(&piece),
        StreamEvent::Done(answer) => {
            let mut value = serde_json::to_value(&*answer).unwrap_or_default();
            match conversations::add_turn(store, conversation, question, &value).await {
                Ok(message) => {
                    value["conversation_id"] = json!(conversation);
                    value["message_id"] = json!(message);
                    Event::default().event("done").json_data(&value)
                }
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "saving the conversation turn");
                    Event::default()
                        .event("error")
                        .json_data(json!({ "error": "saving the answer failed; see the server log" }))
                }
            }
        }
        StreamEvent::Failed(message) => Event::default().event("error").json_data(json!({ "error": message })),
    };
    event.unwrap_or_else(|_| Event::default().event("error").data("{}"))
}
