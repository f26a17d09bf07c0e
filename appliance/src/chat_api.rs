//! Conversations, feedback and review, API tokens, the OpenAPI document, and the
//! OpenAI-compatible `/v1/chat/completions` that answers from the knowledge base with the
//! caller's permissions and returns the citations alongside.

use std::convert::Infallible;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_stream::wrappers::ReceiverStream;

use crate::conversations;
use crate::engine::AnswerEvent;
use crate::server::{ApiError, AppState, CurrentUser, access_of};
use crate::users;

/// `GET /api/conversations`: the caller's conversations, newest first.
pub(crate) async fn list_conversations(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    let list = conversations::list(&state.engine.db, user.id).await?;
    Ok(Json(json!({ "conversations": list })))
}

/// `GET /api/conversations/{id}`: its turns; another user's conversation is 404.
pub(crate) async fn conversation(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let turns = conversations::turns(&state.engine.db, user.id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(json!({ "id": id, "turns": turns })))
}

pub(crate) async fn delete_conversation(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !conversations::delete(&state.engine.db, user.id, &id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(Json(json!({ "deleted": id })))
}

#[derive(Deserialize)]
pub(crate) struct Feedback {
    /// 1 (helpful) or -1 (not helpful).
    rating: i64,
    #[serde(default)]
    comment: String,
}

/// `POST /api/messages/{id}/feedback`: 👍/👎 with an optional comment on one's own answer.
pub(crate) async fn feedback(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(message): Path<i64>,
    Json(request): Json<Feedback>,
) -> Result<Json<Value>, ApiError> {
    if !matches!(request.rating, -1 | 1) || request.comment.chars().count() > 2000 {
        return Err(ApiError::BadRequest(
            "rating must be 1 or -1, comment at most 2000 characters".into(),
        ));
    }
    let db = &state.engine.db;
    if !conversations::rate(db, user.id, message, request.rating, request.comment.trim()).await? {
        return Err(ApiError::NotFound);
    }
    crate::audit::append(
        db,
        &user.username,
        "feedback",
        json!({ "message": message, "rating": request.rating, "comment": request.comment.trim() }),
    )
    .await?;
    Ok(Json(json!({ "ok": true })))
}

/// `GET /api/review` (admin): answers rated down or with unsupported sentences.
pub(crate) async fn review_queue(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    if !user.is_admin() {
        return Err(ApiError::Forbidden);
    }
    Ok(Json(
        json!({ "items": conversations::review_queue(&state.engine.db).await? }),
    ))
}

/// `POST /api/review/{message}` (admin): marks a flagged answer as reviewed.
pub(crate) async fn mark_reviewed(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(message): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    if !user.is_admin() {
        return Err(ApiError::Forbidden);
    }
    let db = &state.engine.db;
    if !conversations::mark_reviewed(db, message).await? {
        return Err(ApiError::NotFound);
    }
    crate::audit::append(db, &user.username, "review", json!({ "message": message })).await?;
    Ok(Json(json!({ "ok": true })))
}

#[derive(Deserialize)]
pub(crate) struct NewToken {
    name: String,
}

pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({ "tokens": users::list_tokens(&state.engine.db, &user).await? }),
    ))
}

/// `POST /api/tokens`: a new API token for the caller, shown once.
pub(crate) async fn create_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(request): Json<NewToken>,
) -> Result<Json<Value>, ApiError> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::BadRequest(
            "the token name must have 1 to 100 characters".into(),
        ));
    }
    let db = &state.engine.db;
    let (id, token) = users::create_token(db, &user, name).await?;
    crate::audit::append(db, &user.username, "token.create", json!({ "id": id, "name": name })).await?;
    Ok(Json(json!({ "id": id, "name": name, "token": token })))
}

pub(crate) async fn delete_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let db = &state.engine.db;
    if !users::delete_token(db, &user, id).await? {
        return Err(ApiError::NotFound);
    }
    crate::audit::append(db, &user.username, "token.delete", json!({ "id": id })).await?;
    Ok(Json(json!({ "deleted": id })))
}

/// The OpenAPI document of the HTTP API.
const OPENAPI: &str = include_str!("openapi.json");

pub(crate) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// The model name clients see.
const MODEL: &str = "appliance-rag";

pub(crate) async fn models(CurrentUser(_): CurrentUser) -> Json<Value> {
    Json(json!({ "object": "list", "data": [{ "id": MODEL, "object": "model", "owned_by": "appliance" }] }))
}

#[derive(Deserialize)]
pub(crate) struct ChatMessage {
    role: String,
    content: String,
}

#[derive(Deserialize)]
pub(crate) struct ChatRequest {
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

/// `POST /v1/chat/completions`: the last user message is the question (a short follow-up
/// is retrieved together with the user message before it). The answer comes only from
/// passages the caller may read; `citations` lists them.
pub(crate) async fn chat_completions(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(request): Json<ChatRequest>,
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
    let retrieval_query = conversations::retrieval_query(&question, previous);
    let id = format!("chatcmpl-{}", hex::encode(rand::random::<[u8; 12]>()));
    let engine = state.engine.clone();
    let access = access_of(&user);
    if !request.stream {
        let answer = engine
            .ask_with_query(&question, &retrieval_query, &access, &user.username, None)
            .await?;
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
    let (event_sender, mut event_receiver) = tokio::sync::mpsc::unbounded_channel();
    let (stream_sender, stream_receiver) = tokio::sync::mpsc::channel::<Event>(64);
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
    let forward_sender = stream_sender.clone();
    let forward_chunk = chunk.clone();
    let forward = tokio::spawn(async move {
        let _ = forward_sender
            .send(forward_chunk(json!({ "role": "assistant" }), None, None))
            .await;
        let mut streamed = false;
        while let Some(event) = event_receiver.recv().await {
            if let AnswerEvent::Token(piece) = event {
                streamed = true;
                if forward_sender
                    .send(forward_chunk(json!({ "content": piece }), None, None))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }
        streamed
    });
    tokio::spawn(async move {
        let result = engine
            .ask_with_query(&question, &retrieval_query, &access, &user.username, Some(event_sender))
            .await;
        let streamed = forward.await.unwrap_or(false);
        match result {
            Ok(answer) => {
                if !streamed {
                    let _ = stream_sender
                        .send(chunk(json!({ "content": answer.answer }), None, None))
                        .await;
                }
                let extra = json!({ "citations": answer.citations, "refused": answer.refused });
                let _ = stream_sender.send(chunk(json!({}), Some("stop"), Some(extra))).await;
            }
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "chat completion failed");
                let _ = stream_sender
                    .send(Event::default().data(json!({ "error": { "message": "answering failed" } }).to_string()))
                    .await;
            }
        }
        let _ = stream_sender.send(Event::default().data("[DONE]")).await;
    });
    let stream = ReceiverStream::new(stream_receiver).map(Ok::<_, Infallible>);
    Ok((StatusCode::OK, Sse::new(stream).keep_alive(KeepAlive::default())).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route the server declares is in the OpenAPI document, and the reverse.
    #[test]
    fn openapi_documents_every_route() {
        let document: Value = serde_json::from_str(OPENAPI).expect("valid JSON");
        let documented: Vec<&str> = document["paths"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let source = include_str!("server.rs");
        let declared: Vec<&str> = source
            .split(".route(")
            .skip(1)
            .filter_map(|rest| rest.trim_start().strip_prefix('"')?.split('"').next())
            .filter(|path| path.starts_with("/api/") || path.starts_with("/v1/"))
            .collect();
        assert!(declared.len() > 20, "{declared:?}");
        for path in &declared {
            assert!(documented.contains(path), "{path} is not in openapi.json");
        }
        for path in &documented {
            assert!(
                declared.contains(path),
                "openapi.json lists {path}, which the server does not serve"
            );
        }
    }
}
