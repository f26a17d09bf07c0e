//! The HTTP server: login, permission-filtered search, a streamed answer over server-sent
//! events, and refusal of unauthenticated callers.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use super::{appliance, binary, models_dir};

pub struct Server {
    child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(data_dir: &std::path::Path) -> Server {
    start_with(data_dir, &[])
}

/// Starts a server on `data_dir` with `env` (settings as `APPLIANCE__` variables) added,
/// and without `RAYON_NUM_THREADS`, which the binary sets for itself.
pub fn start_with(data_dir: &std::path::Path, env: &[(String, String)]) -> Server {
    let mut child = Command::new(binary())
        .env_remove("RAYON_NUM_THREADS")
        .envs(env.iter().map(|(name, value)| (name, value)))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--models-dir")
        .arg(models_dir())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("appliance listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    Server { child, base }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// Logs in and returns the session cookie (`name=value`), checking its flags.
pub fn login(agent: &ureq::Agent, base: &str, user: &str, password: &str) -> String {
    let response = agent
        .post(&format!("{base}/api/login"))
        .header("X-Appliance-Request", "1")
        .send_json(json!({ "username": user, "password": password }))
        .unwrap();
    assert_eq!(response.status(), 200, "login of {user}");
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    set_cookie.split(';').next().unwrap().to_owned()
}

pub fn post(
    agent: &ureq::Agent,
    base: &str,
    path: &str,
    cookie: &str,
    body: Value,
) -> ureq::http::Response<ureq::Body> {
    agent
        .post(&format!("{base}{path}"))
        .header("X-Appliance-Request", "1")
        .header("Cookie", cookie)
        .send_json(body)
        .unwrap()
}

/// The final answer of an `/api/ask` event stream (its `done` event).
pub fn final_answer(stream: &str) -> Value {
    let done = stream
        .split("event: done\n")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .and_then(|line| line.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("no final answer: {stream}"));
    serde_json::from_str(done).unwrap()
}

pub fn add_user(data: &std::path::Path, name: &str, role: &str, groups: &[&str]) -> String {
    let mut args = vec!["user", "add", name, "--role", role];
    for group in groups {
        args.extend(["--group", group]);
    }
    let output = appliance(data, &args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("password: "))
        .expect("generated password printed")
        .to_owned()
}

#[test]
fn login_search_and_streamed_answer_with_permissions() {
    let data = tempfile::tempdir().unwrap();
    let docs = data.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    std::fs::write(
        docs.join("wifi.md"),
        "# Office network\n\nThe guest Wi-Fi network is called HarborGuest. Its password changes every Monday.\n",
    )
    .unwrap();
    std::fs::write(
        docs.join("salaries.md"),
        "# Salary bands 2026\n\nThe salary band for senior engineers is 48,000 to 61,000 euros.\n",
    )
    .unwrap();
    appliance(data.path(), &["ingest", docs.join("wifi.md").to_str().unwrap()]);
    appliance(
        data.path(),
        &["ingest", docs.join("salaries.md").to_str().unwrap(), "--group", "hr"],
    );
    let admin_password = add_user(data.path(), "root", "admin", &[]);
    let target_password = add_user(data.path(), "target", "employee", &[]);
    let employee_password = add_user(data.path(), "emma", "employee", &["sales"]);

    let server = start(data.path());
    let anonymous = agent();
    let response = anonymous
        .post(&format!("{}/api/search", server.base))
        .header("X-Appliance-Request", "1")
        .send_json(json!({ "query": "Wi-Fi" }))
        .unwrap();
    assert_eq!(response.status(), 401);

    let page = anonymous.get(&format!("{}/", server.base)).call().unwrap();
    let csp = page
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");

    // The employee is not in "hr": the salary document never appears.
    let client = agent();
    let wrong = client
        .post(&format!("{}/api/login", server.base))
        .header("X-Appliance-Request", "1")
        .send_json(json!({ "username": "emma", "password": "not her password" }))
        .unwrap();
    assert_eq!(wrong.status(), 400);
    let employee = login(&client, &server.base, "emma", &employee_password);
    let query = json!({ "query": "salary band senior engineers" });
    let mut response = post(&client, &server.base, "/api/search", &employee, query.clone());
    let body: Value = response.body_mut().read_json().unwrap();
    let hits = body["hits"].as_array().unwrap_or_else(|| panic!("{body}"));
    assert!(hits.iter().all(|hit| hit["document"] != "salaries.md"), "leak: {body}");

    // Brute force: after five wrong passwords even the right one is refused for a while.
    for _ in 0..5 {
        let response = client
            .post(&format!("{}/api/login", server.base))
            .header("X-Appliance-Request", "1")
            .send_json(json!({ "username": "target", "password": "guess-guess" }))
            .unwrap();
        assert_eq!(response.status(), 400);
    }
    let locked = client
        .post(&format!("{}/api/login", server.base))
        .header("X-Appliance-Request", "1")
        .send_json(json!({ "username": "target", "password": target_password }))
        .unwrap();
    assert_eq!(locked.status(), 429);

    let admin = login(&client, &server.base, "root", &admin_password);
    let mut response = post(&client, &server.base, "/api/search", &admin, query);
    let body: Value = response.body_mut().read_json().unwrap();
    assert_eq!(body["hits"][0]["document"], "salaries.md", "{body}");

    // A streamed answer: sources first, then tokens, then the final answer with citations.
    let question = json!({ "question": "What is the name of the guest Wi-Fi network?" });
    let mut response = post(&client, &server.base, "/api/ask", &employee, question);
    assert_eq!(response.status(), 200);
    let mut stream = String::new();
    response.body_mut().as_reader().read_to_string(&mut stream).unwrap();
    let events: Vec<&str> = stream.lines().filter_map(|line| line.strip_prefix("event: ")).collect();
    assert_eq!(events.first(), Some(&"sources"), "{stream}");
    assert!(
        events.iter().filter(|event| **event == "token").count() > 1,
        "not streamed: {stream}"
    );
    assert_eq!(events.last(), Some(&"done"), "{stream}");
    let answer = final_answer(&stream);
    assert_eq!(answer["refused"], false, "{answer}");
    assert!(answer["answer"].as_str().unwrap().contains("HarborGuest"), "{answer}");
    assert_eq!(answer["citations"][0]["document"], "wifi.md", "{answer}");
    assert!(
        !stream.contains("48,000"),
        "the employee was answered from a document they cannot read"
    );
}

/// Without `RAYON_NUM_THREADS`, candle read and parsed /proc/cpuinfo again before every f32
/// product, about a fifth of a query embedding's time on 2 cores. The binary now sets it for
/// itself by re-executing, so the serving process (the same process id) carries it.
#[cfg(target_os = "linux")]
#[test]
fn regression_candle_reread_cpuinfo_before_every_product() {
    let data = tempfile::tempdir().unwrap();
    let server = start(data.path());
    let environment = std::fs::read(format!("/proc/{}/environ", server.child.id())).unwrap();
    let threads: Vec<usize> = environment
        .split(|&byte| byte == 0)
        .filter_map(|entry| entry.strip_prefix(b"RAYON_NUM_THREADS="))
        .map(|value| String::from_utf8_lossy(value).parse().unwrap())
        .collect();
    assert_eq!(threads.len(), 1, "the server's environment lacks RAYON_NUM_THREADS");
    assert!(threads[0] >= 1);
}
