//! The assistant settings: the system prompt and the domain dictionary are admin-only,
//! versioned, and take effect (the dictionary by rebuilding the keyword index).

use std::time::{Duration, Instant};

use serde_json::json;

use super::admin::{get, search_documents, send_json, upload, wait_for_jobs};
use super::server::{add_user, agent, login, start};

#[test]
fn system_prompt_and_dictionary_are_admin_only_versioned_and_applied() {
    let data = tempfile::tempdir().unwrap();
    let admin_password = add_user(data.path(), "admin", "admin", &[]);
    let employee_password = add_user(data.path(), "erin", "employee", &["staff"]);
    let server = start(data.path());
    let base = server.base.clone();
    let client = agent();
    let admin = login(&client, &base, "admin", &admin_password);
    let employee = login(&client, &base, "erin", &employee_password);
    let document = "# 存储\n\n蓝港云盘为每位员工提供二十GB共享空间。其他云盘需要单独申请。\n";
    let (status, body) = upload(&client, &base, &admin, "存储.md", "groups=staff", document.as_bytes());
    assert_eq!(status, 202, "{body}");
    wait_for_jobs(&client, &base, &admin, 1);

    for path in ["/api/system-prompt", "/api/dictionary"] {
        assert_eq!(get(&client, &format!("{base}{path}"), &employee).0, 403, "{path}");
        let (status, _) = send_json(
            &client,
            "PUT",
            &format!("{base}{path}"),
            &employee,
            json!({ "text": "x" }),
        );
        assert_eq!(status, 403, "{path}");
    }

    // The system prompt: built-in until saved, then numbered versions with their sha256.
    let (_, built_in) = get(&client, &format!("{base}/api/system-prompt"), &admin);
    assert_eq!(built_in["version"], 0, "{built_in}");
    assert!(built_in["text"].as_str().unwrap().contains("only the passages"));
    let (status, _) = send_json(
        &client,
        "PUT",
        &format!("{base}/api/system-prompt"),
        &admin,
        json!({ "text": "  " }),
    );
    assert_eq!(status, 400);
    let prompt = "Answer staff questions from the passages only, and cite them like [1].";
    let (status, saved) = send_json(
        &client,
        "PUT",
        &format!("{base}/api/system-prompt"),
        &admin,
        json!({ "text": prompt }),
    );
    assert_eq!((status, saved["version"].as_i64()), (200, Some(1)), "{saved}");
    let (_, current) = get(&client, &format!("{base}/api/system-prompt"), &admin);
    assert_eq!(
        (current["text"].as_str(), current["created_by"].as_str()),
        (Some(prompt), Some("admin"))
    );
    assert_ne!(current["sha256"], built_in["sha256"]);

    // The dictionary: a line with a space is refused; a saved one rebuilds the keyword index.
    let url = format!("{base}/api/dictionary");
    let (status, body) = send_json(&client, "PUT", &url, &admin, json!({ "text": "蓝港 云盘" }));
    assert_eq!(status, 400, "{body}");
    let (status, body) = send_json(&client, "PUT", &url, &admin, json!({ "text": "# 产品\n蓝港云盘\n" }));
    assert_eq!(status, 202, "{body}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let rebuild = loop {
        let (_, audit) = get(&client, &format!("{base}/api/audit?action=keyword_index"), &admin);
        if let Some(entry) = audit["entries"].as_array().and_then(|entries| entries.first()).cloned() {
            break entry;
        }
        assert!(Instant::now() < deadline, "the keyword index was not rebuilt");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(rebuild["detail"]["chunks"], 1, "{rebuild}");
    assert_eq!(rebuild["detail"]["dictionary_version"], 1, "{rebuild}");
    let (_, dictionary) = get(&client, &url, &admin);
    assert_eq!(dictionary["words"], json!(["蓝港云盘"]));
    assert_eq!(search_documents(&client, &base, &employee, "蓝港云盘")[0], "存储.md");
    let (_, audit) = get(&client, &format!("{base}/api/audit"), &admin);
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"system_prompt.change") && actions.contains(&"dictionary.change"),
        "{actions:?}"
    );
}
