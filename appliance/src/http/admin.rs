//! The admin pages' API: users, passwords, the audit log, the dashboard figures, and the
//! admin-edited system prompt and domain dictionary.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::documents::clean_groups;
use super::{ApiError, ApiJson, AppState, CurrentUser, RequireAdmin};
use crate::acl::Role;
use crate::store::site_texts::{self, Kind, SiteText};
use crate::store::users::User;
use crate::store::{audit, users};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/users", get(list_users).post(add_user))
        .route("/api/users/{id}", put(update_user))
        .route("/api/me/password", post(change_password))
        .route("/api/audit", get(audit_log))
        .route("/api/system-prompt", get(system_prompt).put(set_system_prompt))
        .route("/api/dictionary", get(dictionary).put(set_dictionary))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Users {
    users: Vec<User>,
}

/// Every user (admin).
#[utoipa::path(get, path = "/api/users", tag = "admin", responses((status = 200, body = Users), (status = 403)))]
pub(super) async fn list_users(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
) -> Result<Json<Users>, ApiError> {
    Ok(Json(Users {
        users: users::list(state.engine.store()).await?,
    }))
}

fn parse_role(name: &str) -> Result<Role, ApiError> {
    name.parse()
        .map_err(|_| ApiError::BadRequest("the role must be admin, editor or employee".into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    username: String,
    role: String,
    #[serde(default)]
    groups: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedUser {
    user: User,
    /// Generated; shown this once.
    password: String,
}

/// Creates a user with a generated password, shown once (admin).
#[utoipa::path(post, path = "/api/users", tag = "admin", request_body = NewUser,
    responses((status = 200, body = CreatedUser), (status = 400, body = super::error::ErrorBody), (status = 403)))]
pub(super) async fn add_user(
    State(state): State<AppState>,
    RequireAdmin(user): RequireAdmin,
    ApiJson(request): ApiJson<NewUser>,
) -> Result<Json<CreatedUser>, ApiError> {
    let username = request.username.trim();
    if username.is_empty()
        || username.chars().count() > 64
        || username.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(ApiError::BadRequest(
            "the user name must be 1 to 64 characters without spaces".into(),
        ));
    }
    let role = parse_role(&request.role)?;
    let groups = clean_groups(&request.groups)?;
    let password = users::random_password();
    let created = users::add(state.engine.store(), username, &password, role, &groups)
        .await
        .map_err(|error| ApiError::BadRequest(format!("{error:#}")))?;
    audit::append(
        state.engine.store(),
        &user.username,
        "user.add",
        json!({ "user": created.username, "role": created.role, "groups": created.groups }),
    )
    .await?;
    Ok(Json(CreatedUser {
        user: created,
        password,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UserChange {
    role: String,
    groups: Vec<String>,
    disabled: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UpdatedUser {
    user: User,
}

/// Role, groups, disabled (admin). Disabling ends the user's sessions.
#[utoipa::path(put, path = "/api/users/{id}", tag = "admin", params(("id" = i64, Path)), request_body = UserChange,
    responses((status = 200, body = UpdatedUser), (status = 400, body = super::error::ErrorBody), (status = 403), (status = 404)))]
pub(super) async fn update_user(
    State(state): State<AppState>,
    RequireAdmin(user): RequireAdmin,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<UserChange>,
) -> Result<Json<UpdatedUser>, ApiError> {
    let role = parse_role(&request.role)?;
    if id == user.id && (request.disabled || role != Role::Admin) {
        return Err(ApiError::BadRequest("you cannot disable or demote yourself".into()));
    }
    let groups = clean_groups(&request.groups)?;
    let updated = users::update(state.engine.store(), id, role, &groups, request.disabled)
        .await?
        .ok_or(ApiError::NotFound)?;
    audit::append(
        state.engine.store(),
        &user.username,
        "user.update",
        json!({ "user": updated.username, "role": updated.role, "groups": updated.groups, "disabled": updated.disabled }),
    )
    .await?;
    Ok(Json(UpdatedUser { user: updated }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    current: String,
    new: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PasswordChanged {
    ok: bool,
    message: &'static str,
}

/// Changes one's own password (ends every session).
#[utoipa::path(post, path = "/api/me/password", tag = "auth", request_body = PasswordChange,
    responses((status = 200, body = PasswordChanged), (status = 400, body = super::error::ErrorBody)))]
pub(super) async fn change_password(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(request): ApiJson<PasswordChange>,
) -> Result<Json<PasswordChanged>, ApiError> {
    let store = state.engine.store();
    if users::authenticate(store, &user.username, &request.current)
        .await?
        .is_none()
    {
        return Err(ApiError::BadRequest("the current password is wrong".into()));
    }
    users::set_password(store, &user.username, &request.new)
        .await
        .map_err(|error| ApiError::BadRequest(format!("{error:#}")))?;
    audit::append(store, &user.username, "password.change", json!({})).await?;
    Ok(Json(PasswordChanged {
        ok: true,
        message: "password changed; please log in again",
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this actor's rows.
    #[serde(default)]
    actor: String,
    /// Only actions starting with this.
    #[serde(default)]
    action: String,
    /// `csv` for a spreadsheet export, else JSON.
    #[serde(default)]
    format: String,
    /// Newest rows returned (default 200).
    #[serde(default = "default_audit_limit")]
    limit: i64,
}

fn default_audit_limit() -> i64 {
    200
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditLog {
    entries: Vec<audit::Entry>,
    chain: ChainCheck,
}

/// Whether the hash chain verified, over how many rows, or where it broke.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ChainCheck {
    intact: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The audit log, newest first, with the chain's verification (admin); `format=csv` exports.
#[utoipa::path(get, path = "/api/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = AuditLog), (status = 200, content_type = "text/csv", description = "With format=csv"),
        (status = 403)))]
pub(super) async fn audit_log(
    State(state): State<AppState>,
    RequireAdmin(user): RequireAdmin,
    Query(query): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    let store = state.engine.store();
    let entries = audit::entries(store, &query.actor, &query.action, query.limit.clamp(1, 100_000)).await?;
    audit::append(
        store,
        &user.username,
        "audit.read",
        json!({ "actor": query.actor, "action": query.action, "format": query.format }),
    )
    .await?;
    if query.format == "csv" {
        // Up to a hundred thousand rows to write out: not on the async runtime.
        let csv = tokio::task::spawn_blocking(move || audit_csv(&entries))
            .await
            .map_err(anyhow::Error::from)?;
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"audit.csv\""),
            ],
            csv,
        )
            .into_response());
    }
    let checkpoints = audit::read_checkpoints(&state.engine.settings().audit_checkpoint_path());
    let verified = match checkpoints {
        Ok(checkpoints) => audit::verify(store, &checkpoints).await,
        Err(error) => Err(error),
    };
    let chain = match verified {
        Ok(verified) => ChainCheck {
            intact: true,
            rows: Some(verified.rows),
            error: None,
        },
        Err(error) => ChainCheck {
            intact: false,
            rows: None,
            error: Some(format!("{error:#}")),
        },
    };
    // An export of a hundred thousand rows is tens of megabytes of JSON to write.
    let body = tokio::task::spawn_blocking(move || serde_json::to_vec(&AuditLog { entries, chain }))
        .await
        .map_err(anyhow::Error::from)?
        .map_err(anyhow::Error::from)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The audit rows as a CSV file, a header line first.
fn audit_csv(entries: &[audit::Entry]) -> String {
    let mut csv = String::from("id,at,actor,action,detail,hash\r\n");
    for entry in entries {
        let fields = [
            entry.id.to_string(),
            entry.at.clone(),
            entry.actor.clone(),
            entry.action.clone(),
            entry.detail.to_string(),
            entry.hash.clone(),
        ];
        let escaped: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
        csv.push_str(&escaped.join(","));
        csv.push_str("\r\n");
    }
    csv
}

/// One CSV field, quoted; a leading formula character is defused for spreadsheet users.
fn csv_field(field: &str) -> String {
    let defused = if field.starts_with(['=', '+', '-', '@']) {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SiteTextChange {
    text: String,
}

/// Longest system prompt an admin may save, in characters: it is read on every answer.
const SYSTEM_PROMPT_MAX_CHARS: usize = 4000;
const DICTIONARY_MAX_WORDS: usize = 20_000;

/// The system prompt in force, with its version and sha256 (admin).
#[utoipa::path(get, path = "/api/system-prompt", tag = "admin", responses((status = 200, body = SiteText), (status = 403)))]
pub(super) async fn system_prompt(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
) -> Result<Json<SiteText>, ApiError> {
    Ok(Json(state.engine.system_prompt().await?))
}

/// Saves a new version of the system prompt; answers use it at once (admin).
#[utoipa::path(put, path = "/api/system-prompt", tag = "admin", request_body = SiteTextChange,
    responses((status = 200, body = SiteText), (status = 400, body = super::error::ErrorBody), (status = 403)))]
pub(super) async fn set_system_prompt(
    State(state): State<AppState>,
    RequireAdmin(user): RequireAdmin,
    ApiJson(change): ApiJson<SiteTextChange>,
) -> Result<Json<SiteText>, ApiError> {
    let text = change.text.trim();
    if text.is_empty() || text.chars().count() > SYSTEM_PROMPT_MAX_CHARS {
        return Err(ApiError::BadRequest(format!(
            "the system prompt must be 1 to {SYSTEM_PROMPT_MAX_CHARS} characters"
        )));
    }
    let saved = site_texts::save(state.engine.store(), Kind::SystemPrompt, text, &user.username).await?;
    audit::append(
        state.engine.store(),
        &user.username,
        "system_prompt.change",
        json!({ "version": saved.version, "sha256": saved.sha256 }),
    )
    .await?;
    Ok(Json(saved))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Dictionary {
    dictionary: SiteText,
    words: Vec<String>,
}

/// The domain dictionary in force and its words (admin).
#[utoipa::path(get, path = "/api/dictionary", tag = "admin", responses((status = 200, body = Dictionary), (status = 403)))]
pub(super) async fn dictionary(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
) -> Result<Json<Dictionary>, ApiError> {
    let dictionary = site_texts::current(state.engine.store(), Kind::DomainDictionary, "").await?;
    let words = site_texts::dictionary_words(&dictionary.text);
    Ok(Json(Dictionary { dictionary, words }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DictionarySaved {
    dictionary: SiteText,
    /// The keyword index is being rebuilt; the audit log says when it is done.
    rebuilding: bool,
}

/// Saves a new version of the dictionary (one term per line) and rebuilds the keyword index
/// with it in the background; the audit log records when that finished (admin).
#[utoipa::path(put, path = "/api/dictionary", tag = "admin", request_body = SiteTextChange,
    responses((status = 202, body = DictionarySaved), (status = 400, body = super::error::ErrorBody), (status = 403)))]
pub(super) async fn set_dictionary(
    State(state): State<AppState>,
    RequireAdmin(user): RequireAdmin,
    ApiJson(change): ApiJson<SiteTextChange>,
) -> Result<Response, ApiError> {
    let words = site_texts::dictionary_words(&change.text);
    if words.len() > DICTIONARY_MAX_WORDS {
        return Err(ApiError::BadRequest(format!(
            "the dictionary may hold at most {DICTIONARY_MAX_WORDS} terms"
        )));
    }
    if let Some(word) = words
        .iter()
        .find(|word| word.chars().count() > 64 || word.chars().any(char::is_whitespace))
    {
        return Err(ApiError::BadRequest(format!(
            "{word:?} is not a term: one term per line, without spaces, at most 64 characters"
        )));
    }
    let saved = site_texts::save(
        state.engine.store(),
        Kind::DomainDictionary,
        &words.join("\n"),
        &user.username,
    )
    .await?;
    audit::append(
        state.engine.store(),
        &user.username,
        "dictionary.change",
        json!({ "version": saved.version, "terms": words.len() }),
    )
    .await?;
    let engine = state.engine.clone();
    let (actor, version) = (user.username.clone(), saved.version);
    tokio::spawn(async move {
        let outcome = engine.rebuild_keyword_index(words).await;
        let detail = match &outcome {
            Ok(chunks) => json!({ "dictionary_version": version, "chunks": chunks }),
            Err(error) => json!({ "dictionary_version": version, "error": format!("{error:#}") }),
        };
        if let Err(error) = audit::append(engine.store(), &actor, "keyword_index.rebuild", detail).await {
            tracing::error!("auditing the keyword index rebuild: {error:#}");
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(DictionarySaved {
            dictionary: saved,
            rebuilding: true,
        }),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("=HYPERLINK()"), "\"'=HYPERLINK()\"");
    }
}
