//! Conversations, answer feedback and the review queue of flagged answers, API tokens.

use axum::extract::{Path, State};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiJson, AppState, CurrentUser, RequireAdmin};
use crate::store::{audit, conversations, users};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/conversations", get(list_conversations))
        .route("/api/conversations/{id}", get(conversation).delete(delete_conversation))
        .route("/api/messages/{id}/feedback", post(feedback))
        .route("/api/review", get(review_queue))
        .route("/api/review/{id}", post(mark_reviewed))
        .route("/api/tokens", get(list_tokens).post(create_token))
        .route("/api/tokens/{id}", delete(delete_token))
}

/// `GET /api/conversations`: the caller's conversations, newest first.
async fn list_conversations(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    let list = conversations::list(state.engine.store(), user.id).await?;
    Ok(Json(json!({ "conversations": list })))
}

/// `GET /api/conversations/{id}`: its turns; another user's conversation is 404.
async fn conversation(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let turns = conversations::turns(state.engine.store(), user.id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(json!({ "id": id, "turns": turns })))
}

async fn delete_conversation(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !conversations::delete(state.engine.store(), user.id, &id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(Json(json!({ "deleted": id })))
}

#[derive(Deserialize)]
pub struct Feedback {
    /// 1 (helpful) or -1 (not helpful).
    rating: i64,
    #[serde(default)]
    comment: String,
}

/// `POST /api/messages/{id}/feedback`: 👍/👎 with an optional comment on one's own answer.
async fn feedback(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(message): Path<i64>,
    ApiJson(request): ApiJson<Feedback>,
) -> Result<Json<Value>, ApiError> {
    if !matches!(request.rating, -1 | 1) || request.comment.chars().count() > 2000 {
        return Err(ApiError::BadRequest(
            "rating must be 1 or -1, comment at most 2000 characters".into(),
        ));
    }
    let store = state.engine.store();
    if !conversations::rate(store, user.id, message, request.rating, request.comment.trim()).await? {
        return Err(ApiError::NotFound);
    }
    audit::append(
        store,
        &user.username,
        "feedback",
        json!({ "message": message, "rating": request.rating, "comment": request.comment.trim() }),
    )
    .await?;
    Ok(Json(json!({ "ok": true })))
}

/// `GET /api/review` (admin): answers rated down or with unsupported sentences.
async fn review_queue(State(state): State<AppState>, RequireAdmin(_): RequireAdmin) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({ "items": conversations::review_queue(state.engine.store()).await? }),
    ))
}

/// `POST /api/review/{message}` (admin): marks a flagged answer as reviewed.
async fn mark_reviewed(
    State(state): State<AppState>,
    RequireAdmin(user): RequireAdmin,
    Path(message): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let store = state.engine.store();
    if !conversations::mark_reviewed(store, message).await? {
        return Err(ApiError::NotFound);
    }
    audit::append(store, &user.username, "review", json!({ "message": message })).await?;
    Ok(Json(json!({ "ok": true })))
}

#[derive(Deserialize)]
pub struct NewToken {
    name: String,
}

async fn list_tokens(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({ "tokens": users::list_tokens(state.engine.store(), &user).await? }),
    ))
}

/// `POST /api/tokens`: a new API token for the caller, shown once.
async fn create_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(request): ApiJson<NewToken>,
) -> Result<Json<Value>, ApiError> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::BadRequest(
            "the token name must have 1 to 100 characters".into(),
        ));
    }
    let store = state.engine.store();
    let (id, token) = users::create_token(store, &user, name).await?;
    audit::append(store, &user.username, "token.create", json!({ "id": id, "name": name })).await?;
    Ok(Json(json!({ "id": id, "name": name, "token": token })))
}

async fn delete_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let store = state.engine.store();
    if !users::delete_token(store, &user, id).await? {
        return Err(ApiError::NotFound);
    }
    audit::append(store, &user.username, "token.delete", json!({ "id": id })).await?;
    Ok(Json(json!({ "deleted": id })))
}
