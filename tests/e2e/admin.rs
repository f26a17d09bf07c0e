//! The admin API against the real server: uploads through the worker queue (a hostile
//! file fails alone), permissions and their changes, IDOR, CSRF, role checks, deletion
//! from every index, and the audit trail of all of it.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::server::{add_user, agent, login, start};
use super::{appliance, last_json_line};

const HEADER: (&str, &str) = ("X-Appliance-Request", "1");

pub(super) fn upload(
    agent: &ureq::Agent,
    base: &str,
    cookie: &str,
    name: &str,
    query: &str,
    body: &[u8],
) -> (u16, Value) {
    let url = format!("{base}/api/documents?name={}&{query}", urlencode(name));
    // A refused upload is answered before its body is read, and the server then drops the
    // connection; without `close` the agent could reuse it for the next request and read
    // "Peer disconnected" (seen once in CI on the request after a 403 upload).
    let mut response = agent
        .post(&url)
        .header("Connection", "close")
        .header("Cookie", cookie)
        .header(HEADER.0, HEADER.1)
        .content_type("application/octet-stream")
        .send(body)
        .unwrap();
    (
        response.status().as_u16(),
        response.body_mut().read_json().unwrap_or(Value::Null),
    )
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

pub(super) fn get(agent: &ureq::Agent, url: &str, cookie: &str) -> (u16, Value) {
    // A GET is safe to repeat: once, when the pooled keep-alive connection it went out on
    // was already closed ("Peer disconnected", seen once in CI right after polling jobs).
    let mut response = agent
        .get(url)
        .header("Cookie", cookie)
        .call()
        .or_else(|error| match error {
            ureq::Error::Io(_) => agent.get(url).header("Cookie", cookie).call(),
            other => Err(other),
        })
        .unwrap();
    (
        response.status().as_u16(),
        response.body_mut().read_json().unwrap_or(Value::Null),
    )
}

fn send(agent: &ureq::Agent, method: &str, url: &str, cookie: &str, body: Value) -> u16 {
    send_json(agent, method, url, cookie, body).0
}

/// Sends a JSON body with `method` and returns the status and the JSON answer.
pub(super) fn send_json(agent: &ureq::Agent, method: &str, url: &str, cookie: &str, body: Value) -> (u16, Value) {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("Cookie", cookie)
        .header(HEADER.0, HEADER.1)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .unwrap();
    let mut response = agent.run(request).unwrap();
    (
        response.status().as_u16(),
        response.body_mut().read_json().unwrap_or(Value::Null),
    )
}

pub(super) fn search_documents(agent: &ureq::Agent, base: &str, cookie: &str, query: &str) -> Vec<String> {
    let mut response = agent
        .post(&format!("{base}/api/search"))
        .header("Cookie", cookie)
        .header(HEADER.0, HEADER.1)
        .send_json(json!({ "query": query }))
        .unwrap();
    let body: Value = response.body_mut().read_json().unwrap();
    body["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|hit| hit["document"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until no job is queued or running; returns the jobs.
pub(super) fn wait_for_jobs(agent: &ureq::Agent, base: &str, cookie: &str, expected: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (_, body) = get(agent, &format!("{base}/api/jobs"), cookie);
        let jobs = body["jobs"].as_array().cloned().unwrap_or_default();
        let finished = jobs
            .iter()
            .filter(|job| matches!(job["status"].as_str(), Some("indexed" | "failed")))
            .count();
        if jobs.len() >= expected && finished == jobs.len() {
            return jobs;
        }
        assert!(Instant::now() < deadline, "jobs did not finish: {jobs:?}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn uploads_permissions_deletion_and_attacks() {
    let data = tempfile::tempdir().unwrap();
    let admin_password = add_user(data.path(), "admin", "admin", &[]);
    let editor_password = add_user(data.path(), "fiona", "editor", &["finance"]);
    let finance_password = add_user(data.path(), "frank", "employee", &["finance"]);
    let sales_password = add_user(data.path(), "sam", "employee", &["sales"]);
    let server = start(data.path());
    let base = server.base.clone();
    let client = agent();
    let admin = login(&client, &base, "admin", &admin_password);
    let editor = login(&client, &base, "fiona", &editor_password);
    let finance = login(&client, &base, "frank", &finance_password);
    let sales = login(&client, &base, "sam", &sales_password);

    // CSRF: no request header, or a foreign Origin, is refused before any handler runs.
    let response = client
        .post(&format!("{base}/api/search"))
        .header("Cookie", &sales)
        .send_json(json!({ "query": "x" }))
        .unwrap();
    assert_eq!(response.status(), 403);
    let response = client
        .post(&format!("{base}/api/search"))
        .header("Cookie", &sales)
        .header(HEADER.0, HEADER.1)
        .header("Origin", "http://evil.example")
        .send_json(json!({ "query": "x" }))
        .unwrap();
    assert_eq!(response.status(), 403);

    // Employees upload nothing and reach no admin route.
    let (status, _) = upload(&client, &base, &sales, "a.md", "public=true", b"# A\n\ntext");
    assert_eq!(status, 403);
    for path in ["/api/users", "/api/audit", "/api/stats", "/api/jobs"] {
        assert_eq!(get(&client, &format!("{base}{path}"), &sales).0, 403, "{path}");
    }
    // An editor may not hand documents to a group they are not in.
    let (status, body) = upload(&client, &base, &editor, "x.md", "groups=hr", b"# X\n\ntext");
    assert_eq!(status, 400, "{body}");

    let budget = "# Budget 2027\n\nThe travel budget of the finance team for 2027 is 83,500 yuan (ZX-BUDGET-7731).\n";
    let (status, body) = upload(
        &client,
        &base,
        &editor,
        "budget.md",
        "groups=finance",
        budget.as_bytes(),
    );
    assert_eq!(status, 202, "{body}");
    let hostile = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 1 0 R >>\nendobj\ntrailer << /Root 1 0 R >>\n";
    let (status, _) = upload(
        &client,
        &base,
        &admin,
        "../../etc/\u{7}loop.pdf",
        "public=true",
        hostile,
    );
    assert_eq!(status, 202);
    let notice = "# 通知\n\n下周一全体员工在三楼会议室开会。\n";
    let (status, _) = upload(&client, &base, &admin, "通知.md", "public=true", notice.as_bytes());
    assert_eq!(status, 202);

    let jobs = wait_for_jobs(&client, &base, &admin, 3);
    let failed: Vec<&Value> = jobs.iter().filter(|job| job["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{jobs:?}");
    assert_eq!(
        failed[0]["name"], "loop.pdf",
        "path and control characters stripped: {jobs:?}"
    );
    assert!(!failed[0]["error"].as_str().unwrap_or_default().is_empty(), "{jobs:?}");

    // Permissions inside retrieval, and no IDOR on page previews.
    assert!(search_documents(&client, &base, &finance, "ZX-BUDGET-7731 travel budget").contains(&"budget.md".into()));
    assert!(!search_documents(&client, &base, &sales, "ZX-BUDGET-7731 travel budget").contains(&"budget.md".into()));
    assert!(search_documents(&client, &base, &sales, "三楼会议室开会").contains(&"通知.md".into()));
    let (_, documents) = get(&client, &format!("{base}/api/documents"), &admin);
    let budget_id = documents["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|document| document["name"] == "budget.md")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let document_url = format!("{base}/api/documents/{budget_id}");
    let empty_request = |method: &str, url: &str, cookie: &str| send(&client, method, url, cookie, json!({}));
    let page_url = format!("{base}/api/documents/{budget_id}/pages/1");
    let (status, page) = get(&client, &page_url, &finance);
    assert_eq!(status, 200);
    assert!(
        page["passages"][0]["text"].as_str().unwrap().contains("83,500"),
        "{page}"
    );
    let (status, page) = get(&client, &page_url, &sales);
    assert_eq!(status, 404, "an unreadable document looks like a missing one: {page}");
    assert_eq!(
        get(&client, &format!("{base}/api/documents/nope/pages/1"), &sales).0,
        404
    );
    let (_, listed) = get(&client, &format!("{base}/api/documents"), &sales);
    assert!(!listed.to_string().contains("budget.md"), "{listed}");
    assert_eq!(empty_request("DELETE", &document_url, &sales), 403);
    assert_eq!(empty_request("DELETE", &document_url, &finance), 403);

    // Permission change: the sales team may read it now.
    let access_url = format!("{base}/api/documents/{budget_id}/access");
    assert_eq!(
        send(
            &client,
            "PUT",
            &access_url,
            &admin,
            json!({ "groups": ["finance", "sales"], "public": false })
        ),
        200
    );
    assert!(search_documents(&client, &base, &sales, "ZX-BUDGET-7731 travel budget").contains(&"budget.md".into()));

    // Re-index from the stored original: a new version, same id, still readable by sales.
    assert_eq!(empty_request("POST", &format!("{document_url}/reindex"), &sales), 403);
    assert_eq!(empty_request("POST", &format!("{document_url}/reindex"), &editor), 202);
    let jobs = wait_for_jobs(&client, &base, &admin, 4);
    assert_eq!(jobs[0]["status"], "indexed", "{jobs:?}");
    let (_, documents) = get(&client, &format!("{base}/api/documents"), &admin);
    let budget = documents["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|document| document["id"] == budget_id.as_str())
        .cloned();
    assert_eq!(budget.unwrap()["version"], 2, "{documents}");
    assert!(search_documents(&client, &base, &sales, "ZX-BUDGET-7731 travel budget").contains(&"budget.md".into()));

    // Deletion: gone for everybody, at once.
    assert_eq!(empty_request("DELETE", &document_url, &editor), 200);
    assert!(!search_documents(&client, &base, &admin, "ZX-BUDGET-7731 travel budget").contains(&"budget.md".into()));
    assert_eq!(get(&client, &page_url, &admin).0, 404);

    // The audit log has it all, and its chain is intact.
    let (status, audit) = get(&client, &format!("{base}/api/audit?limit=1000"), &admin);
    assert_eq!(status, 200);
    assert_eq!(audit["chain"]["intact"], true, "{}", audit["chain"]);
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["action"].as_str())
        .collect();
    for action in [
        "login",
        "upload",
        "search",
        "preview",
        "permission_change",
        "reindex",
        "delete",
    ] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
    let csv = client
        .get(&format!("{base}/api/audit?format=csv"))
        .header("Cookie", &admin)
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(
        csv.starts_with("id,at,actor,action,detail,hash") && csv.contains("\"delete\""),
        "{csv}"
    );
    drop(server);

    // Neither index holds anything of the deleted document.
    for mode in ["bm25", "dense"] {
        let output = appliance(
            data.path(),
            &[
                "search",
                "ZX-BUDGET-7731 travel budget 83,500",
                "--mode",
                mode,
                "--json",
            ],
        );
        let hits = last_json_line(&output);
        assert!(!hits.to_string().contains("budget.md"), "{mode}: {hits}");
    }
    appliance(data.path(), &["audit", "verify"]);
}

/// Reads a server-sent-event body into its `data:` payloads.
fn sse_data(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn tokens_openai_api_conversations_and_session_security() {
    let data = tempfile::tempdir().unwrap();
    let docs = data.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    std::fs::write(
        docs.join("canteen.md"),
        "# Canteen\n\nThe canteen serves lunch from 11:30 to 13:00 on weekdays.\n",
    )
    .unwrap();
    std::fs::write(
        docs.join("bonus.md"),
        "# Bonus 2026\n\nThe 2026 bonus pool of the board is 7.7 million (QX-BONUS-5521).\n",
    )
    .unwrap();
    appliance(data.path(), &["ingest", docs.join("canteen.md").to_str().unwrap()]);
    appliance(
        data.path(),
        &["ingest", docs.join("bonus.md").to_str().unwrap(), "--group", "board"],
    );
    let eve_password = add_user(data.path(), "eve", "employee", &[]);
    let mallory_password = add_user(data.path(), "mallory", "employee", &[]);
    let server = start(data.path());
    let base = server.base.clone();
    let client = agent();

    // Session fixation: a cookie planted before login is never honoured or reused.
    let planted = "appliance_session=attacker-chosen-value";
    assert_eq!(get(&client, &format!("{base}/api/me"), planted).0, 401);
    let response = client
        .post(&format!("{base}/api/login"))
        .header("Cookie", planted)
        .header(HEADER.0, HEADER.1)
        .header("X-Forwarded-Proto", "https")
        .send_json(json!({ "username": "eve", "password": eve_password }))
        .unwrap();
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!set_cookie.contains("attacker-chosen-value"), "{set_cookie}");
    assert!(
        set_cookie.contains("; Secure"),
        "Secure behind a TLS proxy: {set_cookie}"
    );
    assert_eq!(get(&client, &format!("{base}/api/me"), planted).0, 401);
    let eve = login(&client, &base, "eve", &eve_password);
    let mallory = login(&client, &base, "mallory", &mallory_password);

    // A conversation and feedback belong to their user only.
    let mut response = client
        .post(&format!("{base}/api/ask"))
        .header("Cookie", &eve)
        .header(HEADER.0, HEADER.1)
        .send_json(json!({ "question": "When does the canteen serve lunch?" }))
        .unwrap();
    let stream = response.body_mut().read_to_string().unwrap();
    let done: Value = serde_json::from_str(
        stream
            .split("event: done\ndata: ")
            .nth(1)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let conversation = done["conversation_id"].as_str().unwrap().to_owned();
    let message = done["message_id"].as_i64().unwrap();
    let (status, turns) = get(&client, &format!("{base}/api/conversations/{conversation}"), &eve);
    assert_eq!(status, 200);
    assert_eq!(turns["turns"][0]["question"], "When does the canteen serve lunch?");
    assert_eq!(
        get(&client, &format!("{base}/api/conversations/{conversation}"), &mallory).0,
        404
    );
    let feedback_url = format!("{base}/api/messages/{message}/feedback");
    assert_eq!(
        send(&client, "POST", &feedback_url, &mallory, json!({ "rating": -1 })),
        404
    );
    assert_eq!(
        send(
            &client,
            "POST",
            &feedback_url,
            &eve,
            json!({ "rating": -1, "comment": "too vague" })
        ),
        200
    );
    assert_eq!(
        send(
            &client,
            "DELETE",
            &format!("{base}/api/conversations/{conversation}"),
            &mallory,
            json!({})
        ),
        404
    );

    // API tokens: hashed at rest, usable as bearer, revocable; the OpenAI-compatible
    // endpoint answers with the token owner's permissions.
    let mut response = client
        .post(&format!("{base}/api/tokens"))
        .header("Cookie", &eve)
        .header(HEADER.0, HEADER.1)
        .send_json(json!({ "name": "wiki bot" }))
        .unwrap();
    let created: Value = response.body_mut().read_json().unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    let stored: Vec<u8> = std::fs::read(data.path().join("appliance.sqlite")).unwrap();
    assert!(
        !stored.windows(token.len()).any(|window| window == token.as_bytes()),
        "token stored in clear"
    );
    let bearer = format!("Bearer {token}");
    let mut response = client
        .post(&format!("{base}/v1/chat/completions"))
        .header("Authorization", &bearer)
        .send_json(json!({ "model": "any", "messages": [{ "role": "user", "content": "What is the 2026 bonus pool of the board (QX-BONUS-5521)?" }] }))
        .unwrap();
    assert_eq!(response.status(), 200);
    let completion: Value = response.body_mut().read_json().unwrap();
    assert_eq!(completion["object"], "chat.completion");
    assert!(
        !completion.to_string().contains("7.7"),
        "answered from a document eve cannot read: {completion}"
    );
    let mut response = client
        .post(&format!("{base}/v1/chat/completions"))
        .header("Authorization", &bearer)
        .send_json(json!({ "stream": true, "messages": [{ "role": "user", "content": "When does the canteen serve lunch?" }] }))
        .unwrap();
    let events = sse_data(&response.body_mut().read_to_string().unwrap());
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"), "{events:?}");
    let chunks: Vec<Value> = events
        .iter()
        .filter_map(|event| serde_json::from_str(event).ok())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert!(text.contains("11:30"), "{text}");
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert_eq!(last["citations"][0]["document"], "canteen.md", "{last}");
    assert_eq!(
        send(
            &client,
            "DELETE",
            &format!("{base}/api/tokens/{}", created["id"]),
            &eve,
            json!({})
        ),
        200
    );
    let response = client
        .post(&format!("{base}/v1/chat/completions"))
        .header("Authorization", &bearer)
        .send_json(json!({ "messages": [{ "role": "user", "content": "hello" }] }))
        .unwrap();
    assert_eq!(response.status(), 401, "a revoked token is refused");

    let (status, openapi) = get(&client, &format!("{base}/api/openapi.json"), "");
    assert_eq!(status, 200);
    assert!(openapi["paths"]["/v1/chat/completions"].is_object());
}

#[test]
fn an_upload_interrupted_by_a_crash_finishes_after_restart() {
    let data = tempfile::tempdir().unwrap();
    let admin_password = add_user(data.path(), "admin", "admin", &[]);
    let thesis = std::fs::read(super::demo_docs().join("fduthesis-en.pdf")).unwrap();
    let server = start(data.path());
    let client = agent();
    let admin = login(&client, &server.base, "admin", &admin_password);
    let (status, _) = upload(
        &client,
        &server.base,
        &admin,
        "fduthesis-en.pdf",
        "public=true",
        &thesis,
    );
    assert_eq!(status, 202);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, body) = get(&client, &format!("{}/api/jobs", server.base), &admin);
        if body["jobs"][0]["status"] == "embedding" {
            break;
        }
        assert!(
            Instant::now() < deadline && body["jobs"][0]["status"] != "indexed",
            "{body}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server); // SIGKILL in the middle of embedding

    let server = start(data.path());
    let admin = login(&client, &server.base, "admin", &admin_password);
    let jobs = wait_for_jobs(&client, &server.base, &admin, 1);
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["status"], "indexed", "{jobs:?}");
    let (_, documents) = get(&client, &format!("{}/api/documents", server.base), &admin);
    assert_eq!(documents["documents"].as_array().unwrap().len(), 1, "{documents}");
    assert!(search_documents(&client, &server.base, &admin, "thesis template").contains(&"fduthesis-en.pdf".into()));
}
