//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations and the
//! request and response types, so it cannot drift from the code. Served at
//! `/api/openapi.json`; a test checks that it lists exactly the routes the router serves.

use utoipa::OpenApi;

use super::{admin, answers, auth, chat, documents, openai, probes, stats};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Knowledge appliance API",
        description = "Search and grounded, cited answers over the company's documents. \
            Authenticate with the session cookie from /api/login, or an API token from \
            /api/tokens as `Authorization: Bearer ...`. State-changing requests with a cookie \
            must carry the header `X-Appliance-Request: 1`. Errors are `{\"error\": \"...\"}`."
    ),
    paths(
        super::health,
        probes::healthz,
        probes::readyz,
        probes::metrics,
        auth::login,
        auth::logout,
        auth::me,
        answers::search,
        answers::ask,
        documents::upload,
        documents::upload_version,
        documents::jobs,
        documents::documents,
        documents::delete_document,
        documents::reindex,
        documents::set_access,
        documents::page,
        admin::list_users,
        admin::add_user,
        admin::update_user,
        admin::change_password,
        admin::audit_log,
        stats::stats,
        admin::system_prompt,
        admin::set_system_prompt,
        admin::dictionary,
        admin::set_dictionary,
        chat::list_conversations,
        chat::conversation,
        chat::delete_conversation,
        chat::feedback,
        chat::review_queue,
        chat::mark_reviewed,
        chat::list_tokens,
        chat::create_token,
        chat::delete_token,
        openai::openapi,
        openai::models,
        openai::chat_completions,
    ),
    tags(
        (name = "auth", description = "Login, sessions, passwords and API tokens"),
        (name = "search", description = "Hybrid keyword and semantic search"),
        (name = "answers", description = "Grounded answers, conversations and feedback"),
        (name = "documents", description = "Uploads, versions, permissions and ingest jobs"),
        (name = "admin", description = "Users, audit log, dashboard, review and assistant settings"),
        (name = "openai", description = "OpenAI-compatible chat completions over the knowledge base"),
        (name = "meta", description = "Health and this document"),
    )
)]
struct ApiDoc;

/// The document as served.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

#[cfg(test)]
mod tests {

    /// Every route the server declares is in the OpenAPI document, and the reverse.
    #[test]
    fn openapi_documents_every_route() {
        let document = serde_json::to_value(super::document()).unwrap();
        let documented: Vec<&str> = document["paths"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let source = [
            include_str!("mod.rs"),
            include_str!("answers.rs"),
            include_str!("documents.rs"),
            include_str!("admin.rs"),
            include_str!("chat.rs"),
            include_str!("openai.rs"),
            include_str!("stats.rs"),
            include_str!("probes.rs"),
        ]
        .concat();
        let declared: Vec<&str> = source
            .split(".route(")
            .skip(1)
            .filter_map(|rest| rest.trim_start().strip_prefix('"')?.split('"').next())
            .filter(|path| {
                path.starts_with("/api/")
                    || path.starts_with("/v1/")
                    || matches!(*path, "/healthz" | "/readyz" | "/metrics")
            })
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
