//! The OpenAI-compatible API (`/v1/chat/completions`, `/v1/models`) that answers from the
//! knowledge base with the caller's permissions and returns the citations alongside, and
//! the OpenAPI document of the whole HTTP API.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_stream::wrappers::ReceiverStream;

use super::{ApiError, ApiJson, AppState, CurrentUser};
use crate::engine::{Question, StreamEvent};
use crate::store::conversations;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
}

/// The OpenAPI document of the HTTP API, generated from the handlers and their types.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", responses((status = 200, body = Object)))]
pub(super) async fn openapi() -> Response {
    Json(super::api_doc::document()).into_response()
}

/// The model name clients see.
const MODEL: &str = "appliance-rag";

/// The one model clients may ask for (OpenAI-compatible).
#[utoipa::path(get, path = "/v1/models", tag = "openai", responses((status = 200, body = Object), (status = 401)))]
pub(super) async fn models(CurrentUser(_): CurrentUser) -> Json<Value> {
    Json(json!({ "object": "list", "data": [{ "id": MODEL, "object": "model", "owned_by": "appliance" }] }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ChatMessage {
    role: String,
    content: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ChatRequest {
    messages: Vec<ChatMessage>,
    #[serde(default)]
    stream: bool,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

#[utoipa::path(post, path = "/v1/chat/completions", tag = "openai", request_body = ChatRequest,
    responses((status = 200, body = Object, description = "A chat.completion with `citations` and `refused`; with `stream`, server-sent chat.completion.chunk events"),
        (status = 400, body = super::error::ErrorBody), (status = 401)))]
/// `POST /v1/chat/completions`: the last user message is the question (a short follow-up
/// is retrieved together with the user message before it). The answer comes only from
/// passages the caller may read; `citations` lists them.
pub(super) async fn chat_completions(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(request): ApiJson<ChatRequest>,
) -> Result<Response, ApiError> {
    let user_messages: Vec<&str> = request
        .messages
        .iter()
        .filter(|message| message.role == "user")
        .map(|message| message.content.as_str())
        .collect();
    let Some(question) = user_messages.last().map(|question| question.trim().to_owned()) else {
        return Err(ApiError::BadRequest("no user message".into()));
    };
    if question.is_empty() || question.len() > 2000 {
        return Err(ApiError::BadRequest("the question must have 1 to 2000 bytes".into()));
    }
    let previous = user_messages.len().checked_sub(2).map(|index| user_messages[index]);
    let id = format!("chatcmpl-{}", hex::encode(rand::random::<[u8; 12]>()));
    let question = Question {
        retrieval_query: conversations::retrieval_query(&question, previous),
        text: question,
        acl: user.acl(),
        actor: user.username.clone(),
    };
    let mut events = state.engine.answer_stream(question);
    if !request.stream {
        let answer = loop {
            match events.recv().await {
                Some(StreamEvent::Done(answer)) => break answer,
                Some(StreamEvent::Failed(message)) => return Err(ApiError::Internal(anyhow::anyhow!(message))),
                Some(StreamEvent::Progress(_)) => {}
                None => return Err(ApiError::Internal(anyhow::anyhow!("the answer stream ended early"))),
            }
        };
        return Ok(Json(json!({
            "id": id,
            "object": "chat.completion",
            "created": unix_now(),
            "model": MODEL,
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": answer.answer }, "finish_reason": "stop" }],
            "usage": {
                "prompt_tokens": answer.prompt_tokens,
                "completion_tokens": answer.generated_tokens,
                "total_tokens": answer.prompt_tokens + answer.generated_tokens,
            },
            "citations": answer.citations,
            "refused": answer.refused,
        }))
        .into_response());
    }
    let created = unix_now();
    let chunk = move |delta: Value, finish: Option<&str>, extra: Option<Value>| {
        let mut value = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        });
        if let Some(extra) = extra {
            value["citations"] = extra["citations"].clone();
            value["refused"] = extra["refused"].clone();
        }
        Event::default().data(value.to_string())
    };
    let first = futures_util::stream::once(std::future::ready(vec![chunk(
        json!({ "role": "assistant" }),
        None,
        None,
    )]));
    // Generated tokens are not forwarded: the checked answer may differ from them (a
    // contradicted sentence removed, or an extract instead), and a client must only ever
    // read the checked text.
    let body = ReceiverStream::new(events).map(move |event| match event {
        StreamEvent::Progress(_) => Vec::new(),
        StreamEvent::Done(answer) => {
            let extra = json!({ "citations": answer.citations, "refused": answer.refused });
            vec![
                chunk(json!({ "content": answer.answer }), None, None),
                chunk(json!({}), Some("stop"), Some(extra)),
                Event::default().data("[DONE]"),
            ]
        }
        StreamEvent::Failed(message) => vec![
            Event::default().data(json!({ "error": { "message": message } }).to_string()),
            Event::default().data("[DONE]"),
        ],
    });
    let stream = first
        .chain(body)
        .flat_map(|events| futures_util::stream::iter(events.into_iter().map(Ok::<_, Infallible>)));
    Ok((StatusCode::OK, Sse::new(stream).keep_alive(KeepAlive::default())).into_response())
}
