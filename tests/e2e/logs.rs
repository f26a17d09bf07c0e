//! The server's logs in JSON (`APPLIANCE__LOG_FORMAT=json`, debug level): one object per
//! line, and nothing an operator's log shipper must not see. A
//! full session (login, a failed login, an API token, an upload, searches and questions
//! by cookie and by token, logout) must leave no password, session, token or document text
//! in them.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::admin::{upload, wait_for_jobs};
use super::server::{add_user, agent, login, post};
use super::{binary, models_dir};

const MARKER: &str = "ZQX-7781";
const DOCUMENT: &str = "# Stores\n\nThe quartermaster keeps the storm lanterns (ZQX-7781) in cellar four.\n";

#[test]
fn json_logs_of_a_whole_session_hold_no_secret_and_no_document_text() {
    let data = tempfile::tempdir().unwrap();
    let password = add_user(data.path(), "keeper", "admin", &[]);
    let log = data.path().join("server.log");
    let child = Command::new(binary())
        .arg("--data-dir")
        .arg(data.path())
        .arg("--models-dir")
        .arg(models_dir())
        .args(["serve", "--listen", "127.0.0.1:18473"])
        .env("APPLIANCE__LOG_FORMAT", "json")
        // `tower=info` would also silence `tower_http`, whose request events carry the id.
        .env(
            "RUST_LOG",
            "debug,tantivy=info,hyper=info,h2=info,tower=info,tower_http=debug,sqlx=info",
        )
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // Stopped however the test ends.
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Stop(child);
    let base = "http://127.0.0.1:18473";
    let client = agent();
    let deadline = Instant::now() + Duration::from_secs(120);
    while client.get(&format!("{base}/healthz")).call().is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
    let wrong = client
        .post(&format!("{base}/api/login"))
        .header("X-Appliance-Request", "1")
        .send_json(json!({ "username": "keeper", "password": "a-wrong-guess-4471" }))
        .unwrap();
    assert!(wrong.status().is_client_error(), "{}", wrong.status());
    let cookie = login(&client, base, "keeper", &password);
    let (status, body) = upload(&client, base, &cookie, "stores.md", "public=true", DOCUMENT.as_bytes());
    assert!(status < 300, "{status} {body}");
    wait_for_jobs(&client, base, &cookie, 1);
    let created: Value = post(&client, base, "/api/tokens", &cookie, json!({ "name": "script" }))
        .body_mut()
        .read_json()
        .unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    let hits = post(
        &client,
        base,
        "/api/search",
        &cookie,
        json!({ "query": "storm lanterns" }),
    )
    .body_mut()
    .read_to_string()
    .unwrap();
    assert!(hits.contains(MARKER), "{hits}");
    let mut response = client
        .post(&format!("{base}/api/ask"))
        .header("Authorization", &format!("Bearer {token}"))
        .send_json(json!({ "question": "Who keeps the storm lanterns?" }))
        .unwrap();
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .expect("the response carries its request id")
        .to_owned();
    let answer = response.body_mut().read_to_string().unwrap();
    assert!(answer.contains("quartermaster"), "{answer}");
    post(&client, base, "/api/logout", &cookie, json!({}));
    let _ = child.0.kill();
    let _ = child.0.wait();

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(
        lines.len() >= 3 && lines.iter().all(|line| line["level"].is_string()),
        "{text}"
    );
    // The id the client was given finds the request's lines in the log.
    let traced = lines
        .iter()
        .filter(|line| line["span"]["id"] == request_id.as_str())
        .collect::<Vec<_>>();
    assert!(
        traced.iter().any(|line| line["span"]["path"] == "/api/ask"),
        "no log line carries the request id {request_id}:\n{text}"
    );
    let session = cookie.split_once('=').unwrap().1;
    for (what, secret) in [
        ("the password", password.as_str()),
        ("a wrong password", "a-wrong-guess-4471"),
        ("the session", session),
        ("the API token", token.as_str()),
        ("document text", MARKER),
        ("document text", "quartermaster"),
    ] {
        assert!(!text.contains(secret), "{what} ({secret}) is in the log:\n{text}");
    }
}
