//! The HTTP API behind the admin pages: uploads and ingest jobs, documents and their
//! permissions, page previews, users, the audit log and the dashboard figures.
//!
//! Roles: an admin may do everything; an editor may upload and manage documents of the
//! groups they belong to; an employee may only read what their groups allow. A document
//! the caller may not read answers 404, exactly like one that does not exist, so ids
//! cannot be probed.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;

use crate::engine::IngestOptions;
use crate::server::{ApiError, AppState, CurrentUser};
use crate::site_texts::{self, Kind, SiteText};
use crate::users::{self, User};

const ROLES: [&str; 3] = ["admin", "editor", "employee"];

fn require_admin(user: &User) -> Result<(), ApiError> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

fn require_editor(user: &User) -> Result<(), ApiError> {
    if user.is_admin() || user.role == "editor" {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// Group names: trimmed, non-empty, at most 64 characters, no control characters.
fn clean_groups(groups: &[String]) -> Result<Vec<String>, ApiError> {
    let mut cleaned = Vec::new();
    for group in groups {
        let group = group.trim();
        if group.is_empty() {
            continue;
        }
        if group.chars().count() > 64 || group.chars().any(char::is_control) || group.contains(',') {
            return Err(ApiError::BadRequest(format!("invalid group name {group:?}")));
        }
        if !cleaned.iter().any(|existing: &String| existing == group) {
            cleaned.push(group.to_owned());
        }
    }
    Ok(cleaned)
}

/// An editor may only give documents to groups they belong to.
fn check_assignable(user: &User, groups: &[String]) -> Result<(), ApiError> {
    if user.is_admin() {
        return Ok(());
    }
    match groups.iter().find(|group| !user.groups.contains(group)) {
        Some(group) => Err(ApiError::BadRequest(format!("you are not a member of group {group:?}"))),
        None => Ok(()),
    }
}

/// Whether `user` may read a document with these permissions.
fn may_read(user: &User, groups: &[String], public: bool) -> bool {
    user.is_admin() || public || groups.iter().any(|group| user.groups.contains(group))
}

/// Whether `user` may change or delete it: admins always, editors for documents of
/// their groups.
fn may_manage(user: &User, groups: &[String]) -> bool {
    user.is_admin() || (user.role == "editor" && groups.iter().any(|group| user.groups.contains(group)))
}

#[derive(Deserialize)]
pub(crate) struct UploadQuery {
    name: String,
    #[serde(default)]
    groups: String,
    #[serde(default)]
    public: bool,
}

/// `POST /api/documents?name=..&groups=a,b&public=true`, the file as the request body.
pub(crate) async fn upload(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(query): Query<UploadQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_editor(&user)?;
    let name = ingest::display_name(&query.name);
    ingest::Format::from_file_name(&name).map_err(|error| ApiError::BadRequest(error.to_string()))?;
    if body.is_empty() {
        return Err(ApiError::BadRequest("the file is empty".into()));
    }
    let groups = clean_groups(&query.groups.split(',').map(str::to_owned).collect::<Vec<_>>())?;
    check_assignable(&user, &groups)?;
    if groups.is_empty() && !query.public {
        return Err(ApiError::BadRequest(
            "choose at least one group, or make the document readable by all employees".into(),
        ));
    }
    let options = IngestOptions {
        groups,
        public: query.public,
        actor: user.username.clone(),
    };
    let job = state.engine.enqueue_upload(&name, body.to_vec(), &options).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "job": job, "name": name }))).into_response())
}

/// `GET /api/jobs`: recent ingest jobs (editors see their own).
pub(crate) async fn jobs(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    require_editor(&user)?;
    let jobs: Vec<_> = state
        .engine
        .jobs(200)
        .await?
        .into_iter()
        .filter(|job| user.is_admin() || job.actor == user.username)
        .collect();
    Ok(Json(json!({ "jobs": jobs })))
}

/// `GET /api/documents`: the documents the caller may read, newest first.
pub(crate) async fn documents(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    let rows = sqlx::query(
        "SELECT id, source, title, format, version, groups_json, public, pages, ocr_pages, unreadable_pages, \
         size_bytes, chunks, created_at, updated_at FROM documents ORDER BY updated_at DESC",
    )
    .fetch_all(&state.engine.db)
    .await
    .map_err(anyhow::Error::from)?;
    let mut documents = Vec::new();
    for row in rows {
        let groups: Vec<String> = serde_json::from_str(row.get::<&str, _>("groups_json")).unwrap_or_default();
        let public: bool = row.get("public");
        if !may_read(&user, &groups, public) {
            continue;
        }
        let source: String = row.get("source");
        documents.push(json!({
            "id": row.get::<String, _>("id"),
            "name": std::path::Path::new(&source).file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or(source.clone()),
            "title": row.get::<String, _>("title"),
            "format": row.get::<String, _>("format"),
            "version": row.get::<i64, _>("version"),
            "groups": groups,
            "public": public,
            "pages": row.get::<i64, _>("pages"),
            "ocr_pages": row.get::<i64, _>("ocr_pages"),
            "unreadable_pages": row.get::<i64, _>("unreadable_pages"),
            "size_bytes": row.get::<i64, _>("size_bytes"),
            "chunks": row.get::<i64, _>("chunks"),
            "created_at": row.get::<String, _>("created_at"),
            "updated_at": row.get::<String, _>("updated_at"),
            "manageable": may_manage(&user, &groups),
        }));
    }
    Ok(Json(json!({ "documents": documents })))
}

/// The permissions of a document, or 404 when it does not exist or `user` may not read it.
async fn readable_document(state: &AppState, user: &User, id: &str) -> Result<(Vec<String>, bool), ApiError> {
    let row = sqlx::query("SELECT groups_json, public FROM documents WHERE id = ?")
        .bind(id)
        .fetch_optional(&state.engine.db)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or(ApiError::NotFound)?;
    let groups: Vec<String> = serde_json::from_str(row.get::<&str, _>("groups_json")).unwrap_or_default();
    let public: bool = row.get("public");
    if !may_read(user, &groups, public) {
        return Err(ApiError::NotFound);
    }
    Ok((groups, public))
}

/// `DELETE /api/documents/{id}`.
pub(crate) async fn delete_document(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_editor(&user)?;
    let (groups, _) = readable_document(&state, &user, &id).await?;
    if !may_manage(&user, &groups) {
        return Err(ApiError::Forbidden);
    }
    if !state.engine.delete_document(&id, &user.username).await? {
        return Err(ApiError::NotFound);
    }
    Ok(Json(json!({ "deleted": id })))
}

/// `POST /api/documents/{id}/reindex`: parse, chunk and embed the document again.
pub(crate) async fn reindex(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_editor(&user)?;
    let (groups, _) = readable_document(&state, &user, &id).await?;
    if !may_manage(&user, &groups) {
        return Err(ApiError::Forbidden);
    }
    let job = state
        .engine
        .enqueue_reindex(&id, &user.username)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "job": job }))).into_response())
}

#[derive(Deserialize)]
pub(crate) struct AccessRequest {
    groups: Vec<String>,
    public: bool,
}

/// `PUT /api/documents/{id}/access`: who may read the document.
pub(crate) async fn set_access(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Json(request): Json<AccessRequest>,
) -> Result<Json<Value>, ApiError> {
    require_editor(&user)?;
    let (current, _) = readable_document(&state, &user, &id).await?;
    if !may_manage(&user, &current) {
        return Err(ApiError::Forbidden);
    }
    let groups = clean_groups(&request.groups)?;
    check_assignable(&user, &groups)?;
    if groups.is_empty() && !request.public {
        return Err(ApiError::BadRequest(
            "choose at least one group, or make the document readable by all employees".into(),
        ));
    }
    state
        .engine
        .set_document_access(&id, &groups, request.public, &user.username)
        .await?;
    Ok(Json(json!({ "id": id, "groups": groups, "public": request.public })))
}

/// `GET /api/documents/{id}/pages/{page}`: the indexed text of one page, as passages, so
/// a citation can open the passage in its page.
pub(crate) async fn page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((id, page)): Path<(String, u32)>,
) -> Result<Json<Value>, ApiError> {
    readable_document(&state, &user, &id).await?;
    let document = sqlx::query("SELECT title, source, pages, version FROM documents WHERE id = ?")
        .bind(&id)
        .fetch_one(&state.engine.db)
        .await
        .map_err(anyhow::Error::from)?;
    let rows = sqlx::query(
        "SELECT id, heading, span_start, span_end, text FROM chunks WHERE document_id = ? AND page = ? ORDER BY span_start",
    )
    .bind(&id)
    .bind(page)
    .fetch_all(&state.engine.db)
    .await
    .map_err(anyhow::Error::from)?;
    let passages: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "chunk_id": row.get::<i64, _>("id"),
                "heading": row.get::<String, _>("heading"),
                "start": row.get::<i64, _>("span_start"),
                "end": row.get::<i64, _>("span_end"),
                "text": row.get::<String, _>("text"),
            })
        })
        .collect();
    crate::audit::append(
        &state.engine.db,
        &user.username,
        "preview",
        json!({ "document": id, "page": page }),
    )
    .await?;
    Ok(Json(json!({
        "id": id,
        "title": document.get::<String, _>("title"),
        "page": page,
        "pages": document.get::<i64, _>("pages"),
        "version": document.get::<i64, _>("version"),
        "passages": passages,
    })))
}

/// `GET /api/users` (admin).
pub(crate) async fn list_users(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    require_admin(&user)?;
    Ok(Json(json!({ "users": users::list(&state.engine.db).await? })))
}

#[derive(Deserialize)]
pub(crate) struct NewUser {
    username: String,
    role: String,
    #[serde(default)]
    groups: Vec<String>,
}

/// `POST /api/users` (admin): creates a user with a generated password, shown once.
pub(crate) async fn add_user(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(request): Json<NewUser>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&user)?;
    let username = request.username.trim();
    if username.is_empty()
        || username.chars().count() > 64
        || username.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(ApiError::BadRequest(
            "the user name must be 1 to 64 characters without spaces".into(),
        ));
    }
    if !ROLES.contains(&request.role.as_str()) {
        return Err(ApiError::BadRequest(
            "the role must be admin, editor or employee".into(),
        ));
    }
    let groups = clean_groups(&request.groups)?;
    let password = users::random_password();
    let created = users::add(&state.engine.db, username, &password, &request.role, &groups)
        .await
        .map_err(|error| ApiError::BadRequest(format!("{error:#}")))?;
    crate::audit::append(
        &state.engine.db,
        &user.username,
        "user.add",
        json!({ "user": created.username, "role": created.role, "groups": created.groups }),
    )
    .await?;
    Ok(Json(json!({ "user": created, "password": password })))
}

#[derive(Deserialize)]
pub(crate) struct UserChange {
    role: String,
    groups: Vec<String>,
    disabled: bool,
}

/// `PUT /api/users/{id}` (admin): role, groups, disabled. Disabling ends the sessions.
pub(crate) async fn update_user(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Json(request): Json<UserChange>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&user)?;
    if !ROLES.contains(&request.role.as_str()) {
        return Err(ApiError::BadRequest(
            "the role must be admin, editor or employee".into(),
        ));
    }
    if id == user.id && (request.disabled || request.role != "admin") {
        return Err(ApiError::BadRequest("you cannot disable or demote yourself".into()));
    }
    let groups = clean_groups(&request.groups)?;
    let updated = users::update(&state.engine.db, id, &request.role, &groups, request.disabled)
        .await?
        .ok_or(ApiError::NotFound)?;
    crate::audit::append(
        &state.engine.db,
        &user.username,
        "user.update",
        json!({ "user": updated.username, "role": updated.role, "groups": updated.groups, "disabled": updated.disabled }),
    )
    .await?;
    Ok(Json(json!({ "user": updated })))
}

#[derive(Deserialize)]
pub(crate) struct PasswordChange {
    current: String,
    new: String,
}

/// `POST /api/me/password`: change one's own password (ends every session).
pub(crate) async fn change_password(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(request): Json<PasswordChange>,
) -> Result<Response, ApiError> {
    let db = &state.engine.db;
    if users::authenticate(db, &user.username, &request.current)
        .await?
        .is_none()
    {
        return Err(ApiError::BadRequest("the current password is wrong".into()));
    }
    users::set_password(db, &user.username, &request.new)
        .await
        .map_err(|error| ApiError::BadRequest(format!("{error:#}")))?;
    crate::audit::append(db, &user.username, "password.change", json!({})).await?;
    Ok(Json(json!({ "ok": true, "message": "password changed; please log in again" })).into_response())
}

#[derive(Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    format: String,
    #[serde(default = "default_audit_limit")]
    limit: i64,
}

fn default_audit_limit() -> i64 {
    200
}

/// `GET /api/audit?actor=&action=&limit=&format=json|csv` (admin): newest first, with the
/// chain's verification result.
pub(crate) async fn audit(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(query): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    require_admin(&user)?;
    let db = &state.engine.db;
    let rows = sqlx::query(
        "SELECT id, at, actor, action, detail, hash FROM audit \
         WHERE (? = '' OR actor = ?) AND (? = '' OR action LIKE ? || '%') ORDER BY id DESC LIMIT ?",
    )
    .bind(&query.actor)
    .bind(&query.actor)
    .bind(&query.action)
    .bind(&query.action)
    .bind(query.limit.clamp(1, 100_000))
    .fetch_all(db)
    .await
    .map_err(anyhow::Error::from)?;
    crate::audit::append(
        db,
        &user.username,
        "audit.read",
        json!({ "actor": query.actor, "action": query.action, "format": query.format }),
    )
    .await?;
    let entries: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "id": row.get::<i64, _>("id"),
                "at": row.get::<String, _>("at"),
                "actor": row.get::<String, _>("actor"),
                "action": row.get::<String, _>("action"),
                "detail": serde_json::from_str::<Value>(row.get::<&str, _>("detail")).unwrap_or(Value::Null),
                "hash": row.get::<String, _>("hash"),
            })
        })
        .collect();
    if query.format == "csv" {
        let mut csv = String::from("id,at,actor,action,detail,hash\r\n");
        for entry in &entries {
            let fields = [
                entry["id"].to_string(),
                entry["at"].as_str().unwrap_or_default().to_owned(),
                entry["actor"].as_str().unwrap_or_default().to_owned(),
                entry["action"].as_str().unwrap_or_default().to_owned(),
                entry["detail"].to_string(),
                entry["hash"].as_str().unwrap_or_default().to_owned(),
            ];
            let escaped: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
            csv.push_str(&escaped.join(","));
            csv.push_str("\r\n");
        }
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"audit.csv\""),
            ],
            csv,
        )
            .into_response());
    }
    let verified = crate::audit::verify(db).await;
    Ok(Json(json!({
        "entries": entries,
        "chain": match verified {
            Ok(rows) => json!({ "intact": true, "rows": rows }),
            Err(error) => json!({ "intact": false, "error": format!("{error:#}") }),
        },
    }))
    .into_response())
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

/// `GET /api/stats` (admin): questions per day, answer latency, unanswered questions and
/// the most-cited documents, from the audit log.
pub(crate) async fn stats(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    require_admin(&user)?;
    let db = &state.engine.db;
    let rows = sqlx::query("SELECT at, detail FROM audit WHERE action = 'question' ORDER BY id DESC LIMIT 20000")
        .fetch_all(db)
        .await
        .map_err(anyhow::Error::from)?;
    let mut per_day: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let mut latencies = Vec::new();
    let mut unanswered = Vec::new();
    let mut cited: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for row in &rows {
        let at: String = row.get("at");
        let seconds: i64 = at.split('.').next().and_then(|secs| secs.parse().ok()).unwrap_or(0);
        let day = day_of(seconds);
        *per_day.entry(day).or_default() += 1;
        let detail: Value = serde_json::from_str(row.get::<&str, _>("detail")).unwrap_or(Value::Null);
        if let Some(seconds) = detail["seconds"].as_f64() {
            latencies.push(seconds);
        }
        if detail["refused"].as_bool() == Some(true) && unanswered.len() < 20 {
            unanswered.push(json!({ "at": at, "question": detail["question"] }));
        }
        for document in detail["cited_documents"].as_array().into_iter().flatten() {
            if let Some(document) = document.as_str() {
                *cited.entry(document.to_owned()).or_default() += 1;
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| -> Option<f64> {
        (!latencies.is_empty()).then(|| latencies[((latencies.len() - 1) as f64 * p).round() as usize])
    };
    let mut most_cited: Vec<(String, u64)> = cited.into_iter().collect();
    most_cited.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    most_cited.truncate(10);
    let mut top = Vec::new();
    for (document, count) in most_cited {
        let title: Option<String> = sqlx::query_scalar("SELECT title FROM documents WHERE id = ?")
            .bind(&document)
            .fetch_optional(db)
            .await
            .map_err(anyhow::Error::from)?;
        top.push(
            json!({ "document": document, "title": title.unwrap_or_else(|| "(deleted)".into()), "citations": count }),
        );
    }
    // The last 14 days, quiet days included, so the chart's axis is time.
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64
        / 86_400;
    let days: Vec<Value> = (today - 13..=today)
        .map(|day| {
            let day = day_of(day * 86_400);
            json!({ "day": day, "questions": per_day.get(&day).copied().unwrap_or(0) })
        })
        .collect();
    Ok(Json(json!({
        "questions": rows.len(),
        "questions_per_day": days,
        "latency_p50_s": percentile(0.5),
        "latency_p95_s": percentile(0.95),
        "unanswered": unanswered,
        "most_cited": top,
    })))
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
fn day_of(unix_seconds: i64) -> String {
    // Civil-from-days, proleptic Gregorian calendar.
    let days = unix_seconds.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: &str, groups: &[&str]) -> User {
        User {
            id: 1,
            username: "u".into(),
            role: role.into(),
            groups: groups.iter().map(|group| (*group).to_owned()).collect(),
            disabled: false,
        }
    }

    #[test]
    fn roles_and_groups_decide_reading_and_managing() {
        let finance = vec!["finance".to_owned()];
        assert!(may_read(&user("employee", &["finance"]), &finance, false));
        assert!(!may_read(&user("employee", &["hr"]), &finance, false));
        assert!(may_read(&user("employee", &[]), &[], true));
        assert!(may_read(&user("admin", &[]), &finance, false));
        assert!(!may_manage(&user("employee", &["finance"]), &finance));
        assert!(may_manage(&user("editor", &["finance"]), &finance));
        assert!(!may_manage(&user("editor", &["hr"]), &finance));
        assert!(check_assignable(&user("editor", &["hr"]), &finance).is_err());
    }

    #[test]
    fn group_names_are_checked() {
        assert_eq!(
            clean_groups(&[" a ".into(), "a".into(), String::new()]).unwrap(),
            vec!["a"]
        );
        assert!(clean_groups(&["bad\u{7}".into()]).is_err());
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("=HYPERLINK()"), "\"'=HYPERLINK()\"");
    }

    #[test]
    fn days_are_civil_dates() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_795_910_400), "2026-11-29");
    }
}

#[derive(Deserialize)]
pub(crate) struct SiteTextChange {
    text: String,
}

/// Longest system prompt an admin may save, in characters: it is read on every answer.
const SYSTEM_PROMPT_MAX_CHARS: usize = 4000;
const DICTIONARY_MAX_WORDS: usize = 20_000;

/// `GET /api/system-prompt` (admin): the prompt in force, with its version and sha256.
pub(crate) async fn system_prompt(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<SiteText>, ApiError> {
    require_admin(&user)?;
    Ok(Json(state.engine.system_prompt().await?))
}

/// `PUT /api/system-prompt` (admin): saves a new version; answers use it at once.
pub(crate) async fn set_system_prompt(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(change): Json<SiteTextChange>,
) -> Result<Json<SiteText>, ApiError> {
    require_admin(&user)?;
    let text = change.text.trim();
    if text.is_empty() || text.chars().count() > SYSTEM_PROMPT_MAX_CHARS {
        return Err(ApiError::BadRequest(format!(
            "the system prompt must be 1 to {SYSTEM_PROMPT_MAX_CHARS} characters"
        )));
    }
    let saved = site_texts::save(&state.engine.db, Kind::SystemPrompt, text, &user.username).await?;
    crate::audit::append(
        &state.engine.db,
        &user.username,
        "system_prompt.change",
        json!({ "version": saved.version, "sha256": saved.sha256 }),
    )
    .await?;
    Ok(Json(saved))
}

/// `GET /api/dictionary` (admin): the domain dictionary in force and its words.
pub(crate) async fn dictionary(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    require_admin(&user)?;
    let current = site_texts::current(&state.engine.db, Kind::DomainDictionary, "").await?;
    let words = site_texts::dictionary_words(&current.text);
    Ok(Json(json!({ "dictionary": current, "words": words })))
}

/// `PUT /api/dictionary` (admin): saves a new version (one term per line) and re-indexes
/// the keyword index with it in the background; the audit log records when that finished.
pub(crate) async fn set_dictionary(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(change): Json<SiteTextChange>,
) -> Result<Response, ApiError> {
    require_admin(&user)?;
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
        &state.engine.db,
        Kind::DomainDictionary,
        &words.join("\n"),
        &user.username,
    )
    .await?;
    crate::audit::append(
        &state.engine.db,
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
        if let Err(error) = crate::audit::append(&engine.db, &actor, "keyword_index.rebuild", detail).await {
            tracing::error!("auditing the keyword index rebuild: {error:#}");
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "dictionary": saved, "rebuilding": true })),
    )
        .into_response())
}
