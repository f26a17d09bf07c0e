//! Documents over HTTP: uploads and new versions, ingest jobs, the documents list, their
//! permissions, re-indexing, deletion and page previews. Every permission question is
//! the engine's (through the caller's `Acl`); a document the caller may not read answers
//! 404 exactly like one that does not exist, so ids cannot be probed.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiJson, AppState, CurrentUser, RequireEditor};
use crate::acl::DocumentAccess;
use crate::engine::{IngestOptions, QueuedUpload};
use crate::store::documents::{Document, PagePassage};
use crate::store::jobs::JobStatus;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/documents", get(documents).post(upload))
        .route("/api/documents/{id}", axum::routing::delete(delete_document))
        .route("/api/documents/{id}/versions", post(upload_version))
        .route("/api/documents/{id}/access", put(set_access))
        .route("/api/documents/{id}/reindex", post(reindex))
        .route("/api/documents/{id}/pages/{page}", get(page))
        .route("/api/jobs", get(jobs))
}

/// Group names: trimmed, non-empty, at most 64 characters, no control characters.
pub(super) fn clean_groups(groups: &[String]) -> Result<Vec<String>, ApiError> {
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

/// The file name of an upload, made safe, in a format we can parse.
fn upload_name(name: &str, body: &Bytes) -> Result<String, ApiError> {
    let name = ingest::display_name(name);
    ingest::Format::from_file_name(&name).map_err(|error| ApiError::BadRequest(error.to_string()))?;
    if body.is_empty() {
        return Err(ApiError::BadRequest("the file is empty".into()));
    }
    Ok(name)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// File name (decides the format).
    name: String,
    /// Comma-separated groups allowed to read it.
    #[serde(default)]
    groups: String,
    /// Readable by all employees.
    #[serde(default)]
    public: bool,
}

/// `POST /api/documents?name=..&groups=a,b&public=true`, the file as the request body. A
/// name matching a document the caller manages makes a new version of it; otherwise a
/// new document.
#[utoipa::path(post, path = "/api/documents", tag = "documents", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 202, body = QueuedUpload), (status = 400, body = super::error::ErrorBody),
        (status = 403, description = "Not an editor or admin"),
        (status = 409, body = super::error::ErrorBody, description = "Several documents of this name are the caller's: use .../versions"),
        (status = 413, description = "Over the size limit")))]
pub(super) async fn upload(
    State(state): State<AppState>,
    RequireEditor(user): RequireEditor,
    Query(query): Query<UploadQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let name = upload_name(&query.name, &body)?;
    let groups = clean_groups(&query.groups.split(',').map(str::to_owned).collect::<Vec<_>>())?;
    let options = IngestOptions {
        access: DocumentAccess::new(groups, query.public),
        actor: user.username.clone(),
    };
    let queued = state
        .engine
        .enqueue_upload(&user.acl(), &name, body.to_vec(), &options)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(queued)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// File name (decides the format).
    name: String,
}

/// `POST /api/documents/{id}/versions?name=..`, the file as the request body: a new
/// version of a document the caller manages, keeping its permissions.
#[utoipa::path(post, path = "/api/documents/{id}/versions", tag = "documents",
    params(("id" = String, Path, description = "Document id"), VersionQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 202, body = QueuedUpload), (status = 400, body = super::error::ErrorBody),
        (status = 403, description = "The caller may read but not manage it"),
        (status = 404, description = "No such document, or one the caller may not read"),
        (status = 413, description = "Over the size limit")))]
pub(super) async fn upload_version(
    State(state): State<AppState>,
    RequireEditor(user): RequireEditor,
    Path(id): Path<String>,
    Query(query): Query<VersionQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let name = upload_name(&query.name, &body)?;
    let queued = state
        .engine
        .enqueue_new_version(&user.acl(), &id, &name, body.to_vec(), &user.username)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(queued)).into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Jobs {
    jobs: Vec<JobStatus>,
}

/// Recent ingest jobs (editors see their own).
#[utoipa::path(get, path = "/api/jobs", tag = "documents", responses((status = 200, body = Jobs), (status = 403)))]
pub(super) async fn jobs(
    State(state): State<AppState>,
    RequireEditor(user): RequireEditor,
) -> Result<Json<Jobs>, ApiError> {
    let jobs = state
        .engine
        .jobs(200)
        .await?
        .into_iter()
        .filter(|job| user.is_admin() || job.actor == user.username)
        .collect();
    Ok(Json(Jobs { jobs }))
}

/// A document as the documents page shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DocumentView {
    id: String,
    name: String,
    title: String,
    format: String,
    version: i64,
    groups: Vec<String>,
    public: bool,
    pages: i64,
    ocr_pages: i64,
    unreadable_pages: i64,
    size_bytes: i64,
    chunks: i64,
    created_at: String,
    updated_at: String,
    /// The caller may upload a new version, re-index, re-permission or delete it.
    manageable: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Documents {
    documents: Vec<DocumentView>,
}

/// The documents the caller may read, newest first.
#[utoipa::path(get, path = "/api/documents", tag = "documents", responses((status = 200, body = Documents)))]
pub(super) async fn documents(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Documents>, ApiError> {
    let acl = user.acl();
    let documents = state
        .engine
        .documents(&acl)
        .await?
        .into_iter()
        .map(|document: Document| DocumentView {
            name: document.name(),
            manageable: acl.may_manage(&document.access),
            id: document.id,
            title: document.title,
            format: document.format,
            version: document.version,
            groups: document.access.groups,
            public: document.access.public,
            pages: document.pages,
            ocr_pages: document.ocr_pages,
            unreadable_pages: document.unreadable_pages,
            size_bytes: document.size_bytes,
            chunks: document.chunks,
            created_at: document.created_at,
            updated_at: document.updated_at,
        })
        .collect();
    Ok(Json(Documents { documents }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Deleted {
    deleted: String,
}

/// Deletes a document the caller manages.
#[utoipa::path(delete, path = "/api/documents/{id}", tag = "documents", params(("id" = String, Path)),
    responses((status = 200, body = Deleted), (status = 403), (status = 404)))]
pub(super) async fn delete_document(
    State(state): State<AppState>,
    RequireEditor(user): RequireEditor,
    Path(id): Path<String>,
) -> Result<Json<Deleted>, ApiError> {
    state.engine.delete_document(&user.acl(), &id, &user.username).await?;
    Ok(Json(Deleted { deleted: id }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QueuedJob {
    job: i64,
}

/// Parses, chunks and embeds a document the caller manages again.
#[utoipa::path(post, path = "/api/documents/{id}/reindex", tag = "documents", params(("id" = String, Path)),
    responses((status = 202, body = QueuedJob), (status = 403), (status = 404)))]
pub(super) async fn reindex(
    State(state): State<AppState>,
    RequireEditor(user): RequireEditor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let job = state.engine.enqueue_reindex(&user.acl(), &id, &user.username).await?;
    Ok((StatusCode::ACCEPTED, Json(QueuedJob { job })).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AccessRequest {
    groups: Vec<String>,
    public: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccessView {
    id: String,
    groups: Vec<String>,
    public: bool,
}

/// Who may read a document the caller manages.
#[utoipa::path(put, path = "/api/documents/{id}/access", tag = "documents", params(("id" = String, Path)),
    request_body = AccessRequest,
    responses((status = 200, body = AccessView), (status = 400, body = super::error::ErrorBody), (status = 403), (status = 404)))]
pub(super) async fn set_access(
    State(state): State<AppState>,
    RequireEditor(user): RequireEditor,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<AccessRequest>,
) -> Result<Json<AccessView>, ApiError> {
    let access = DocumentAccess::new(clean_groups(&request.groups)?, request.public);
    state
        .engine
        .set_document_access(&user.acl(), &id, &access, &user.username)
        .await?;
    Ok(Json(AccessView {
        id,
        groups: access.groups,
        public: access.public,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PageView {
    id: String,
    title: String,
    page: u32,
    pages: i64,
    version: i64,
    passages: Vec<PagePassage>,
}

/// The indexed text of one page, as passages, so a citation can open the passage in its page.
#[utoipa::path(get, path = "/api/documents/{id}/pages/{page}", tag = "documents",
    params(("id" = String, Path), ("page" = u32, Path)),
    responses((status = 200, body = PageView), (status = 404)))]
pub(super) async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, page)): Path<(String, u32)>,
) -> Result<Json<PageView>, ApiError> {
    let (document, passages) = state.engine.page(&user.acl(), &id, page, &user.0.username).await?;
    Ok(Json(PageView {
        id,
        title: document.title,
        page,
        pages: document.pages,
        version: document.version,
        passages,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_are_checked() {
        assert_eq!(
            clean_groups(&[" a ".into(), "a".into(), String::new()]).unwrap(),
            vec!["a"]
        );
        assert!(clean_groups(&["bad\u{7}".into()]).is_err());
    }
}
