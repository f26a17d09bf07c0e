//! Conversations, answer feedback and the review queue of flagged answers, API tokens.

use axum::extract::{Path, State};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ApiError, ApiJson, AppState, CurrentUser, RequireAdmin};
use crate::store::conversations::{ConversationSummary, Turn};
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

#[derive(Serialize, utoipa::ToSchema)]
pub struct Conversations {
    conversations: Vec<ConversationSummary>,
}

/// The caller's conversations, newest first.
#[utoipa::path(get, path = "/api/conversations", tag = "answers", responses((status = 200, body = Conversations)))]
pub(super) async fn list_conversations(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Conversations>, ApiError> {
    let conversations = conversations::list(state.engine.store(), user.id).await?;
    Ok(Json(Conversations { conversations }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Conversation {
    id: String,
    turns: Vec<Turn>,
}

/// A conversation's turns; another user's conversation is 404.
#[utoipa::path(get, path = "/api/conversations/{id}", tag = "answers", params(("id" = String, Path)),
    responses((status = 200, body = Conversation), (status = 404)))]
pub(super) async fn conversation(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Conversation>, ApiError> {
    let turns = conversations::turns(state.engine.store(), user.id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(Conversation { id, turns }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Deleted<T: utoipa::ToSchema> {
    deleted: T,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Done {
    ok: bool,
}

/// Deletes one of the caller's conversations.
#[utoipa::path(delete, path = "/api/conversations/{id}", tag = "answers", params(("id" = String, Path)),
    responses((status = 200, body = Deleted<String>), (status = 404)))]
pub(super) async fn delete_conversation(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Deleted<String>>, ApiError> {
    if !conversations::delete(state.engine.store(), user.id, &id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(Json(Deleted { deleted: id }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Feedback {
    /// 1 (helpful) or -1 (not helpful).
    rating: i64,
    #[serde(default)]
    comment: String,
}

/// 👍/👎 with an optional comment on one's own answer.
#[utoipa::path(post, path = "/api/messages/{id}/feedback", tag = "answers", params(("id" = i64, Path)),
    request_body = Feedback, responses((status = 200, body = Done), (status = 400, body = super::error::ErrorBody), (status = 404)))]
pub(super) async fn feedback(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(message): Path<i64>,
    ApiJson(request): ApiJson<Feedback>,
) -> Result<Json<Done>, ApiError> {
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
    Ok(Json(Done { ok: true }))
}

/// Answers rated down or with unsupported sentences, for people to review (admin).
#[utoipa::path(get, path = "/api/review", tag = "admin",
    responses((status = 200, body = ReviewQueue), (status = 403)))]
pub(super) async fn review_queue(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
) -> Result<Json<ReviewQueue>, ApiError> {
    let items = conversations::review_queue(state.engine.store()).await?;
    Ok(Json(ReviewQueue { items }))
}

/// The flagged answers, newest first (at most 200).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReviewQueue {
    items: Vec<conversations::ReviewItem>,
}

/// Marks a flagged answer as reviewed (admin).
#[utoipa::path(post, path = "/api/review/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = Done), (status = 403), (status = 404)))]
pub(super) async fn mark_reviewed(
    State(state): State<AppState>,
    RequireAdmin(user): RequireAdmin,
    Path(message): Path<i64>,
) -> Result<Json<Done>, ApiError> {
    let store = state.engine.store();
    if !conversations::mark_reviewed(store, message).await? {
        return Err(ApiError::NotFound);
    }
    audit::append(store, &user.username, "review", json!({ "message": message })).await?;
    Ok(Json(Done { ok: true }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    name: String,
}

/// The caller's API tokens (names and dates; the tokens themselves are never stored).
#[utoipa::path(get, path = "/api/tokens", tag = "auth", responses((status = 200, body = Tokens)))]
pub(super) async fn list_tokens(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Tokens>, ApiError> {
    let tokens = users::list_tokens(state.engine.store(), &user).await?;
    Ok(Json(Tokens { tokens }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Tokens {
    tokens: Vec<users::TokenInfo>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    id: i64,
    name: String,
    /// Shown this once; send it as `Authorization: Bearer ...`.
    token: String,
}

/// A new API token for the caller, shown once.
#[utoipa::path(post, path = "/api/tokens", tag = "auth", request_body = NewToken,
    responses((status = 200, body = CreatedToken), (status = 400, body = super::error::ErrorBody)))]
pub(super) async fn create_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(request): ApiJson<NewToken>,
) -> Result<Json<CreatedToken>, ApiError> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::BadRequest(
            "the token name must have 1 to 100 characters".into(),
        ));
    }
    let store = state.engine.store();
    let (id, token) = users::create_token(store, &user, name).await?;
    audit::append(store, &user.username, "token.create", json!({ "id": id, "name": name })).await?;
    Ok(Json(CreatedToken {
        id,
        name: name.to_owned(),
        token,
    }))
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "auth", params(("id" = i64, Path)),
    responses((status = 200, body = Deleted<i64>), (status = 404)))]
pub(super) async fn delete_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Deleted<i64>>, ApiError> {
    let store = state.engine.store();
    if !users::delete_token(store, &user, id).await? {
        return Err(ApiError::NotFound);
    }
    audit::append(store, &user.username, "token.delete", json!({ "id": id })).await?;
    Ok(Json(Deleted { deleted: id }))
}
