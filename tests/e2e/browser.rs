//! The web UI in a real headless Chromium, driven over WebDriver (chromedriver): login,
//! a streamed answer with a clicked citation, search, upload, the admin pages, in Chinese
//! and in English. Screenshots of every page land in `target/screenshots/`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use super::server::{add_user, start};
use super::{appliance, workspace_root};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session.
struct Browser {
    driver: Child,
    url: String,
    agent: ureq::Agent,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.url).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Browser {
    fn start(language: &str) -> Self {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (apt-get install chromium-driver)");
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                         format!("--lang={language}")],
                "prefs": { "intl.accept_languages": language },
            },
        }}});
        let mut response = agent.post(&format!("{base}/session")).send_json(capabilities).unwrap();
        let body: Value = response.body_mut().read_json().unwrap();
        let session = body["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {body}"))
            .to_owned();
        Self {
            driver,
            url: format!("{base}/session/{session}"),
            agent,
        }
    }

    fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.url);
        let mut response = match method {
            "GET" => self.agent.get(&url).call(),
            _ => self.agent.post(&url).send_json(body),
        }
        .unwrap();
        let value: Value = response.body_mut().read_json().unwrap();
        assert!(value["value"]["error"].is_null(), "{method} {path}: {value}");
        value["value"].clone()
    }

    fn go(&self, url: &str) {
        self.command("POST", "/url", json!({ "url": url }));
    }

    /// The first element matching `css`, waiting up to `seconds` for it to exist.
    fn find(&self, css: &str, seconds: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let url = format!("{}/element", self.url);
            let mut response = self
                .agent
                .post(&url)
                .send_json(json!({ "using": "css selector", "value": css }))
                .unwrap();
            let value: Value = response.body_mut().read_json().unwrap();
            if let Some(id) = value["value"][ELEMENT_KEY].as_str() {
                return id.to_owned();
            }
            assert!(Instant::now() < deadline, "no element {css}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn click(&self, css: &str) {
        let element = self.find(css, 10);
        self.command("POST", &format!("/element/{element}/click"), json!({}));
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css, 10);
        self.command("POST", &format!("/element/{element}/clear"), json!({}));
        self.command("POST", &format!("/element/{element}/value"), json!({ "text": text }));
    }

    fn script(&self, script: &str) -> Value {
        self.command("POST", "/execute/sync", json!({ "script": script, "args": [] }))
    }

    fn text(&self, css: &str) -> String {
        let element = self.find(css, 10);
        self.command("GET", &format!("/element/{element}/text"), Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until the script returns true.
    fn wait_until(&self, what: &str, script: &str, seconds: u64) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        while self.script(script) != Value::Bool(true) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn screenshot(&self, name: &str) {
        let data = self.command("GET", "/screenshot", Value::Null);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        let directory = screenshots_dir();
        std::fs::create_dir_all(&directory).unwrap();
        std::fs::write(directory.join(format!("{name}.png")), png).unwrap();
    }
}

fn screenshots_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("screenshots")
}

fn log_in(browser: &Browser, base: &str, user: &str, password: &str) {
    browser.go(&format!("{base}/"));
    browser.type_into("#username", user);
    browser.type_into("#password", password);
    browser.click("#login-form button[type=submit]");
    browser.wait_until("the app view", "return !document.getElementById('app-view').hidden", 10);
}

#[test]
fn employee_and_admin_journeys_in_both_languages() {
    let data = tempfile::tempdir().unwrap();
    let docs = data.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    std::fs::write(
        docs.join("vpn.md"),
        "# 远程办公\n\n公司 VPN 网关的地址是 vpn.harbor.internal，首次登录需要向 IT 服务台申请令牌。\n\n\
         # Remote work\n\nThe company VPN gateway address is vpn.harbor.internal.\n",
    )
    .unwrap();
    // A title that tries to inject markup must show as text.
    std::fs::write(
        docs.join("xss.md"),
        "# <img src=x onerror=alert(1)>Leave policy\n\nAnnual leave is 15 days per year.\n",
    )
    .unwrap();
    appliance(data.path(), &["ingest", docs.to_str().unwrap()]);
    let admin_password = add_user(data.path(), "admin", "admin", &[]);
    let server = start(data.path());
    let base = server.base.clone();

    // Chinese browser: Chinese UI by default.
    let browser = Browser::start("zh-CN");
    browser.go(&format!("{base}/"));
    assert_eq!(browser.text("#login-form h2"), "登录");
    browser.screenshot("zh-login");
    log_in(&browser, &base, "admin", &admin_password);
    // Nothing to rate or copy before the first answer: the actions' `display: flex` once
    // overrode their `hidden`, and "Helpful / Not helpful / Copy" stood under an empty chat.
    assert_eq!(
        browser.script("return getComputedStyle(document.getElementById('answer-actions')).display"),
        json!("none")
    );

    // Chat: sources appear first, the answer streams, a citation opens its page.
    browser.type_into("#question", "VPN 网关的地址是什么？");
    browser.click("#ask-form button[type=submit]");
    browser.wait_until(
        "the sources",
        "return document.querySelectorAll('#sources li').length > 0",
        60,
    );
    browser.wait_until(
        "the answer",
        "return document.getElementById('status').textContent.startsWith('完成')",
        240,
    );
    assert!(
        browser.text("#answer").contains("vpn.harbor.internal"),
        "{}",
        browser.text("#answer")
    );
    // The streamed draft, marked as not yet checked, is replaced by the checked answer.
    assert_eq!(
        browser.script("return document.querySelector('#answer .draft, #answer .draft-label') === null"),
        json!(true),
        "{}",
        browser.text("#answer")
    );
    browser.screenshot("zh-chat");
    browser.click("#answer .cite");
    browser.wait_until(
        "the cited passage",
        "return document.querySelector('#passage-text p.cited') !== null",
        10,
    );
    assert!(browser.text("#passage-text p.cited").contains("vpn.harbor.internal"));
    browser.screenshot("zh-citation");
    browser.click("#passage-dialog form button");

    // Feedback, then a follow-up in the same conversation: the first turn moves up.
    browser.click("#thumbs-up");
    browser.wait_until(
        "the feedback",
        "return document.getElementById('feedback-status').textContent.includes('谢谢')",
        10,
    );
    browser.type_into("#question", "首次登录需要什么？");
    browser.click("#ask-form button[type=submit]");
    browser.wait_until(
        "the follow-up answer",
        "return document.getElementById('status').textContent.startsWith('完成')",
        240,
    );
    assert_eq!(
        browser.script("return document.querySelectorAll('#thread .turn').length"),
        json!(1)
    );
    assert!(browser.text("#answer").contains("令牌"), "{}", browser.text("#answer"));
    assert_eq!(
        browser.script("return document.getElementById('conversation-select').options.length"),
        json!(2),
        "the conversation is listed"
    );
    browser.screenshot("zh-conversation");

    // Search: highlighted snippets; markup in a title stays text.
    browser.click(".tab[data-tab=search]");
    browser.type_into("#query", "leave policy annual");
    browser.click("#search-form button[type=submit]");
    browser.wait_until(
        "results",
        "return document.querySelectorAll('#results li mark').length > 0",
        20,
    );
    assert!(
        browser.text("#results").contains("<img src=x onerror=alert(1)>"),
        "{}",
        browser.text("#results")
    );
    assert_eq!(
        browser.script("return document.querySelectorAll('#results img').length"),
        json!(0)
    );
    browser.screenshot("zh-search");

    // Upload through the file input; the job turns indexed.
    browser.click(".tab[data-tab=documents]");
    browser.click("#upload-public");
    let upload = docs.join("canteen.md");
    std::fs::write(&upload, "# 食堂\n\n食堂午餐时间是十一点半到一点。\n").unwrap();
    let input = browser.find("#file-input", 10);
    browser.command(
        "POST",
        &format!("/element/{input}/value"),
        json!({ "text": upload.to_str().unwrap() }),
    );
    browser.wait_until(
        "the upload to be indexed",
        "return [...document.querySelectorAll('#jobs-table tbody tr')].some(r => r.dataset.status === 'indexed' && r.textContent.includes('canteen.md'))",
        120,
    );
    browser.wait_until(
        "the documents table",
        "return document.getElementById('documents-table').textContent.includes('食堂')",
        20,
    );
    browser.screenshot("zh-documents");

    // "Upload new version" on that document: same id, version 2, the new text.
    let document_id = browser.script(
        "return [...document.querySelectorAll('#documents-table tbody tr')].find(r => r.textContent.includes('食堂'))\
         .querySelector('.upload-version').dataset.document",
    );
    let document_id = document_id
        .as_str()
        .expect("an upload-version button on the document")
        .to_owned();
    let revised = docs.join("canteen-2027.md");
    std::fs::write(&revised, "# 食堂\n\n从一月起，食堂午餐时间是十二点到两点。\n").unwrap();
    let version_input = browser.find(&format!(".upload-version-input[data-document='{document_id}']"), 10);
    browser.command(
        "POST",
        &format!("/element/{version_input}/value"),
        json!({ "text": revised.to_str().unwrap() }),
    );
    browser.wait_until(
        "the new version to be indexed",
        &format!(
            "return [...document.querySelectorAll('#documents-table tbody tr')].some(r => \
             r.querySelector('.upload-version[data-document=\"{document_id}\"]') && r.children[2].textContent === '2')"
        ),
        120,
    );

    // A file name carrying markup is shown as text in the jobs and documents tables.
    let hostile_name = docs.join("<img src=x onerror=alert(1)>.md");
    std::fs::write(&hostile_name, "# Parking\n\nVisitors park on level B2.\n").unwrap();
    browser.command(
        "POST",
        &format!("/element/{input}/value"),
        json!({ "text": hostile_name.to_str().unwrap() }),
    );
    browser.wait_until(
        "the hostile upload to be indexed",
        "return [...document.querySelectorAll('#jobs-table tbody tr')].some(r => r.dataset.status === 'indexed' && r.textContent.includes('<img src=x onerror=alert(1)>.md'))",
        120,
    );
    assert_eq!(
        browser.script("return document.querySelectorAll('#jobs-table img, #documents-table img').length"),
        json!(0)
    );

    browser.click(".tab[data-tab=users]");
    browser.type_into("#new-username", "lily");
    browser.click("#user-form button[type=submit]");
    browser.wait_until(
        "the new password",
        "return document.getElementById('user-message').textContent.includes('lily')",
        20,
    );
    browser.screenshot("zh-users");

    browser.click(".tab[data-tab=audit]");
    browser.wait_until(
        "the chain check",
        "return document.getElementById('audit-chain').textContent.includes('审计链完整')",
        20,
    );
    browser.screenshot("zh-audit");

    browser.click(".tab[data-tab=account]");
    browser.type_into("#token-name", "wiki");
    browser.click("#token-form button[type=submit]");
    browser.wait_until(
        "the new token",
        "return document.getElementById('token-message').textContent.includes('apl_')",
        20,
    );
    browser.screenshot("zh-account");

    browser.click(".tab[data-tab=dashboard]");
    browser.wait_until(
        "the chart",
        "return document.querySelectorAll('#chart svg rect').length > 0",
        20,
    );
    browser.screenshot("zh-dashboard");

    // The assistant settings: the built-in prompt is shown; a dictionary saves as version 1.
    browser.click(".tab[data-tab=settings]");
    browser.wait_until(
        "the system prompt",
        "return document.getElementById('prompt-text').value.includes('passages')",
        20,
    );
    browser.type_into("#dictionary-text", "蓝港云盘");
    browser.click("#dictionary-form button[type=submit]");
    browser.wait_until(
        "the saved dictionary",
        "return document.getElementById('dictionary-message').textContent.includes('第 1 版')",
        20,
    );
    browser.screenshot("zh-settings");

    // Switch to English: every label follows.
    browser.click("#lang");
    assert_eq!(browser.text(".tab[data-tab=chat]"), "Ask");
    assert_eq!(browser.text(".tab[data-tab=documents]"), "Documents");
    browser.screenshot("en-dashboard");
    browser.click(".tab[data-tab=chat]");
    browser.type_into("#question", "What is the address of the VPN gateway?");
    browser.click("#ask-form button[type=submit]");
    browser.wait_until(
        "the answer",
        "return document.getElementById('status').textContent.startsWith('Done')",
        240,
    );
    assert!(
        browser.text("#answer").contains("vpn.harbor.internal"),
        "{}",
        browser.text("#answer")
    );
    browser.screenshot("en-chat");
    drop(browser);

    // An English browser starts in English; an employee sees no admin tabs.
    let employee_password = add_user(data.path(), "eve", "employee", &[]);
    let browser = Browser::start("en-US");
    log_in(&browser, &base, "eve", &employee_password);
    assert_eq!(browser.text(".tab[data-tab=search]"), "Search");
    assert_eq!(
        browser.script("return [...document.querySelectorAll('.tab[data-role]')].every(t => t.hidden)"),
        json!(true)
    );
    browser.screenshot("en-employee");
}
