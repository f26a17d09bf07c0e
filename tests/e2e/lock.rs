//! The command line beside a running server: read-only commands open the indexes
//! read-only and work; commands that must write say plainly that a server holds the data
//! directory instead of failing on tantivy's lock file.

use super::{appliance, appliance_unchecked, demo_docs, last_json_line, server};

#[test]
fn search_and_ask_work_beside_a_running_server_and_ingest_says_why_not() {
    let data = tempfile::tempdir().unwrap();
    let welcome = demo_docs().join("welcome.md");
    appliance(data.path(), &["ingest", welcome.to_str().unwrap(), "--json"]);
    let _server = server::start(data.path());

    // Before: "Failed to acquire Lockfile: LockBusy".
    let search = appliance(data.path(), &["search", "upload documents", "--mode", "bm25", "--json"]);
    let hits = last_json_line(&search)["hits"].as_array().unwrap().clone();
    assert!(!hits.is_empty(), "no hits beside the server");
    assert_eq!(hits[0]["document"], "welcome.md");
    let hybrid = appliance(data.path(), &["search", "Who can read an uploaded document?", "--json"]);
    assert!(!last_json_line(&hybrid)["hits"].as_array().unwrap().is_empty());
    let ask = appliance(data.path(), &["ask", "Who can read an uploaded document?", "--json"]);
    assert!(
        last_json_line(&ask)["answer"]
            .as_str()
            .is_some_and(|answer| !answer.is_empty())
    );

    let chinese = demo_docs().join("欢迎.md");
    let ingest = appliance_unchecked(data.path(), &["ingest", chinese.to_str().unwrap()]);
    assert!(!ingest.status.success(), "ingest beside a running server succeeded");
    let stderr = String::from_utf8_lossy(&ingest.stderr);
    assert!(
        stderr.contains("a server is running on this data directory"),
        "{stderr}"
    );
    assert!(!stderr.contains("LockBusy"), "{stderr}");
}
