//! The permission suite over HTTP: over a thousand seeded requests from users of different
//! groups and roles, across every route that can return document text or metadata,
//! against documents of different groups (public and not, replaced versions, a deleted
//! one). No response may carry the title, text or id of a document its caller may not
//! read, and no one changes a document they may not manage. A failure prints the seed and
//! request number, so it replays.

use std::collections::HashMap;

use appliance::acl::{Acl, DocumentAccess, Role};
use appliance::engine::IngestOptions;
use appliance::store::users;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tower::ServiceExt;

use super::TestEngine;

const SEED: u64 = 20_261_201;
const REQUESTS: usize = 1_200;

struct Caller {
    name: &'static str,
    token: String,
    acl: Acl,
}

struct Doc {
    id: String,
    marker: String,
    topic: String,
    access: DocumentAccess,
}

/// A document's text: `marker` must never reach anyone who may not read it; `topic` is
/// what questions ask for (and may echo back).
fn text(marker: &str, topic: &str) -> String {
    format!(
        "# Handbook {marker}\n\nThe handbook section on {topic} ({marker}) explains travel expenses, parking \
         permits and canteen hours for staff.\n"
    )
}

async fn ingest(
    test: &TestEngine,
    source: &str,
    (marker, topic): (&str, &str),
    groups: &[&str],
    public: bool,
) -> String {
    let options = IngestOptions {
        access: DocumentAccess::new(groups.iter().map(|group| (*group).to_owned()).collect(), public),
        actor: "cli".to_owned(),
    };
    test.engine
        .ingest_bytes(source, Ok(text(marker, topic).into_bytes()), &options)
        .await
        .unwrap()
        .document_id
}

async fn send(
    app: &axum::Router,
    caller: &Caller,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, String) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", caller.token));
    let body = match body {
        Some(json) => {
            request = request.header("content-type", "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    let response = app.clone().oneshot(request.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn no_response_carries_a_document_its_caller_may_not_read() {
    let test = TestEngine::new(None).await;
    let store = test.engine.store();
    let mut callers = Vec::new();
    for (name, role, groups) in [
        ("admin", Role::Admin, vec![]),
        ("editor1", Role::Editor, vec!["g1"]),
        ("editor2", Role::Editor, vec!["g2"]),
        ("employee1", Role::Employee, vec!["g1"]),
        ("employee2", Role::Employee, vec!["g2"]),
        ("employee12", Role::Employee, vec!["g1", "g2"]),
        ("nobody", Role::Employee, vec![]),
    ] {
        let groups: Vec<String> = groups.into_iter().map(str::to_owned).collect();
        let user = users::add(store, name, "password-123", role, &groups).await.unwrap();
        let (_, token) = users::create_token(store, &user, "suite").await.unwrap();
        callers.push(Caller {
            name,
            token,
            acl: Acl::new(role, &groups),
        });
    }
    let mut docs = Vec::new();
    for (index, (groups, public)) in [
        (vec!["g1"], false),
        (vec!["g2"], false),
        (vec!["g1", "g2"], false),
        (vec![], true),
        (vec!["g3"], false),
        (vec!["g2"], true),
    ]
    .into_iter()
    .enumerate()
    {
        let marker = format!("zq{index}marker");
        let topic = format!("topic{index}");
        let id = ingest(&test, &format!("/kb/doc{index}.md"), (&marker, &topic), &groups, public).await;
        let access = DocumentAccess::new(groups.iter().map(|group| (*group).to_owned()).collect(), public);
        docs.push(Doc {
            id,
            marker,
            topic,
            access,
        });
    }
    // Text nobody may ever see again: a replaced version and a deleted document.
    let replaced = ingest(&test, "/kb/versioned.md", ("zqoldversion", "topic7"), &["g1"], false).await;
    let versioned = ingest(&test, "/kb/versioned.md", ("zqnewversion", "topic7"), &["g1"], false).await;
    assert_eq!(replaced, versioned);
    docs.push(Doc {
        id: versioned,
        marker: "zqnewversion".to_owned(),
        topic: "topic7".to_owned(),
        access: DocumentAccess::new(vec!["g1".to_owned()], false),
    });
    let deleted = ingest(&test, "/kb/deleted.md", ("zqdeleted", "topic8"), &["g2"], false).await;
    test.engine
        .delete_document(&Acl::operator(), &deleted, "cli")
        .await
        .unwrap();
    let never_shown = ["zqoldversion", "zqdeleted", deleted.as_str()];

    let app = appliance::http::router(test.engine.clone());
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut conversations: Vec<(String, &'static str)> = Vec::new();
    let mut counts: HashMap<&'static str, usize> = HashMap::new();
    for number in 0..REQUESTS {
        let caller = &callers[rng.random_range(0..callers.len())];
        let doc = &docs[rng.random_range(0..docs.len())];
        let query = match rng.random_range(0..3) {
            0 => "handbook travel expenses".to_owned(),
            1 => format!("What does the section on {} explain about parking?", doc.topic),
            _ => format!("{} canteen hours", doc.topic),
        };
        let route = rng.random_range(0..14);
        let (name, method, path, body) = match route {
            0 => (
                "search",
                Method::POST,
                "/api/search".to_owned(),
                Some(serde_json::json!({ "query": query })),
            ),
            1 => (
                "ask",
                Method::POST,
                "/api/ask".to_owned(),
                Some(serde_json::json!({ "question": query })),
            ),
            2 | 3 => {
                let stream = route == 3;
                let body = serde_json::json!({ "messages": [{ "role": "user", "content": query }], "stream": stream });
                (
                    "chat_completions",
                    Method::POST,
                    "/v1/chat/completions".to_owned(),
                    Some(body),
                )
            }
            4 => ("documents", Method::GET, "/api/documents".to_owned(), None),
            5 => ("page", Method::GET, format!("/api/documents/{}/pages/1", doc.id), None),
            6 => ("jobs", Method::GET, "/api/jobs".to_owned(), None),
            7 => ("conversations", Method::GET, "/api/conversations".to_owned(), None),
            8 => match conversations.get(rng.random_range(0..conversations.len().max(1))) {
                Some((id, _)) => ("conversation", Method::GET, format!("/api/conversations/{id}"), None),
                None => ("conversations", Method::GET, "/api/conversations".to_owned(), None),
            },
            9 => ("review", Method::GET, "/api/review".to_owned(), None),
            10 => {
                let format = if rng.random_bool(0.5) { "csv" } else { "json" };
                ("audit", Method::GET, format!("/api/audit?format={format}"), None)
            }
            11 => {
                let body = serde_json::json!({ "groups": ["g1", "g2"], "public": true });
                (
                    "set_access",
                    Method::PUT,
                    format!("/api/documents/{}/access", doc.id),
                    Some(body),
                )
            }
            12 => (
                "reindex",
                Method::POST,
                format!("/api/documents/{}/reindex", doc.id),
                None,
            ),
            _ => ("delete", Method::DELETE, format!("/api/documents/{}", doc.id), None),
        };
        let mutates = matches!(name, "set_access" | "reindex" | "delete");
        if mutates && caller.acl.may_manage(&doc.access) {
            // Changes by those allowed are tested elsewhere; here the oracle stays fixed.
            continue;
        }
        *counts.entry(name).or_default() += 1;
        let (status, body) = send(&app, caller, method, &path, body).await;
        let context = format!(
            "seed {SEED}, request {number}: {} {name} {path} -> {status}",
            caller.name
        );
        assert!(!status.is_server_error(), "{context}: {body}");
        let lower = body.to_lowercase();
        for hidden in docs.iter().filter(|doc| !caller.acl.may_read(&doc.access)) {
            assert!(
                !lower.contains(&hidden.marker),
                "{context}: leaks {}: {body}",
                hidden.marker
            );
            assert!(
                !body.contains(&hidden.id),
                "{context}: leaks the id of {}: {body}",
                hidden.marker
            );
        }
        // An admin's history pages (jobs, audit log) rightly remember what was deleted.
        let history = caller.acl.is_admin() && matches!(name, "jobs" | "audit");
        for text in never_shown.iter().filter(|_| !history) {
            assert!(!body.contains(text), "{context}: shows {text}: {body}");
        }
        if mutates {
            let expected = if caller.acl.may_read(&doc.access) {
                [StatusCode::FORBIDDEN, StatusCode::FORBIDDEN]
            } else {
                [StatusCode::NOT_FOUND, StatusCode::FORBIDDEN]
            };
            assert!(expected.contains(&status), "{context}: {body}");
        }
        if name == "page" && !caller.acl.may_read(&doc.access) {
            assert_eq!(status, StatusCode::NOT_FOUND, "{context}");
        }
        if matches!(name, "review" | "audit") && !caller.acl.is_admin() {
            assert_eq!(status, StatusCode::FORBIDDEN, "{context}");
        }
        if name == "conversation" {
            let owner = conversations
                .iter()
                .find(|(id, _)| path.ends_with(id.as_str()))
                .unwrap()
                .1;
            let expected = if owner == caller.name {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(status, expected, "{context}");
        }
        if name == "ask"
            && let Some(start) = body.find("\"conversation_id\":\"")
        {
            let rest = &body[start + 19..];
            conversations.push((rest[..rest.find('"').unwrap()].to_owned(), caller.name));
        }
    }
    assert!(counts.values().sum::<usize>() >= 1_000, "{counts:?}");
    assert!(counts.len() >= 12, "every kind of route is exercised: {counts:?}");
    // Nothing that was refused changed a document.
    for doc in &docs {
        let stored = test.engine.readable_document(&Acl::operator(), &doc.id).await.unwrap();
        assert_eq!(stored.access, doc.access, "{} was re-permissioned", doc.marker);
        assert!(stored.version <= 2, "{} was re-indexed", doc.marker);
    }
    assert_eq!(
        test.engine
            .jobs(1_000)
            .await
            .unwrap()
            .iter()
            .filter(|job| job.actor != "cli")
            .count(),
        0
    );
}
