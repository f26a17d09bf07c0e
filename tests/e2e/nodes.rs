//! Two appliance nodes over one PostgreSQL database and one Qdrant server, keyword search
//! included (BM25 as Qdrant sparse vectors): a document uploaded through one node is found
//! and answered through the other, a session opened on one works on the other, every
//! upload is ingested by exactly one worker, and the shared audit chain stays intact.
//!
//! Needs `QDRANT_URL` (a Qdrant server's gRPC address) and the throwaway PostgreSQL that
//! `scripts/test.sh` starts; without them it says loudly that it did not run.

use std::io::Read;
use std::path::Path;

use serde_json::{Value, json};

use super::admin::{get, search_documents, send_json, upload, wait_for_jobs};
use super::server::{agent, final_answer, login, post, start_with};
use super::{appliance_with, new_postgres_database};

/// Runs the appliance CLI on `data` with `env`; its standard output.
fn cli(data: &Path, env: &[(String, String)], args: &[&str]) -> String {
    String::from_utf8_lossy(&appliance_with(data, env, args).stdout).into_owned()
}

fn add_user(data: &Path, env: &[(String, String)], name: &str, role: &str, groups: &[&str]) -> String {
    let mut args = vec!["user", "add", name, "--role", role];
    for group in groups {
        args.extend(["--group", group]);
    }
    cli(data, env, &args)
        .lines()
        .find_map(|line| line.strip_prefix("password: "))
        .expect("generated password printed")
        .to_owned()
}

/// The final answer of a streamed `/api/ask`.
fn ask(client: &ureq::Agent, base: &str, cookie: &str, question: &str) -> Value {
    let mut response = post(client, base, "/api/ask", cookie, json!({ "question": question }));
    assert_eq!(response.status(), 200);
    let mut stream = String::new();
    response.body_mut().as_reader().read_to_string(&mut stream).unwrap();
    final_answer(&stream)
}

#[test]
fn two_nodes_serve_the_same_documents_sessions_and_jobs() {
    let Ok(qdrant) = std::env::var("QDRANT_URL") else {
        eprintln!(
            "WARNING: the two-node test DID NOT RUN: set QDRANT_URL to a Qdrant server's gRPC address (README, \
             Scaling out)"
        );
        return;
    };
    let Some(database) = new_postgres_database("appliance_nodes") else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let shared = root.path().join("shared");
    let collection = format!("nodes_{}", std::process::id());
    let env: Vec<(String, String)> = [
        ("DATABASE_URL", database),
        ("VECTOR_STORE", "qdrant".to_owned()),
        ("KEYWORD_STORE", "qdrant".to_owned()),
        ("QDRANT_URL", qdrant),
        ("QDRANT_COLLECTION", collection.clone()),
        ("QDRANT_SHARDS", "2".to_owned()),
        ("UPLOADS_DIR", shared.join("uploads").display().to_string()),
        ("AUDIT_KEY_FILE", shared.join("audit.key").display().to_string()),
    ]
    .into_iter()
    .map(|(name, value)| (format!("APPLIANCE__{name}"), value))
    .collect();
    let (data_a, data_b) = (root.path().join("node-a"), root.path().join("node-b"));
    let admin_password = add_user(&data_a, &env, "admin", "admin", &[]);
    let finance_password = add_user(&data_a, &env, "frank", "employee", &["finance"]);
    let sales_password = add_user(&data_a, &env, "sam", "employee", &["sales"]);
    let node_a = start_with(&data_a, &env);
    let node_b = start_with(&data_b, &env);
    let (a, b) = (node_a.base.as_str(), node_b.base.as_str());
    let client = agent();

    // A session opened on one node works on the other.
    let admin = login(&client, a, "admin", &admin_password);
    let (status, me) = get(&client, &format!("{b}/api/me"), &admin);
    assert_eq!((status, me["username"].as_str()), (200, Some("admin")), "{me}");
    let sales = login(&client, b, "sam", &sales_password);
    let finance = login(&client, a, "frank", &finance_password);

    // Uploads through both nodes; either node's worker may ingest any of them.
    let documents = [
        (
            a,
            "parking.md",
            "public=true",
            "# Parking\n\nVisitors park in garage P3; the gate code is ZX-PARK-4411.\n",
        ),
        (
            a,
            "budget.md",
            "groups=finance",
            "# Budget 2027\n\nThe finance travel budget is 83,500 yuan (ZX-BUDGET-7731).\n",
        ),
        (
            b,
            "食堂.md",
            "public=true",
            "# 食堂\n\n员工食堂每天十一点半开门，周末不开放。\n",
        ),
        (
            b,
            "printers.md",
            "public=true",
            "# Printers\n\nThe colour printer on floor 2 is named Kestrel.\n",
        ),
        (
            a,
            "badges.md",
            "public=true",
            "# Badges\n\nLost badges are replaced at reception within one day.\n",
        ),
        (
            b,
            "vpn.md",
            "public=true",
            "# VPN\n\nThe VPN gateway is vpn.harbor.internal, port 4433.\n",
        ),
    ];
    for (node, name, query, text) in documents {
        let (status, body) = upload(&client, node, &admin, name, query, text.as_bytes());
        assert_eq!(status, 202, "{name}: {body}");
    }
    let jobs = wait_for_jobs(&client, b, &admin, documents.len());
    assert_eq!(jobs.len(), documents.len(), "one job per upload: {jobs:?}");
    assert!(jobs.iter().all(|job| job["status"] == "indexed"), "{jobs:?}");
    let (_, listed) = get(&client, &format!("{a}/api/documents"), &admin);
    let listed = listed["documents"].as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), documents.len(), "each upload indexed once: {listed:?}");

    // Found and answered through the other node, with permissions, by keywords too.
    assert_eq!(
        search_documents(&client, b, &sales, "ZX-PARK-4411")
            .first()
            .map(String::as_str),
        Some("parking.md")
    );
    assert!(!search_documents(&client, b, &sales, "ZX-BUDGET-7731").contains(&"budget.md".to_owned()));
    assert_eq!(
        search_documents(&client, b, &finance, "ZX-BUDGET-7731")
            .first()
            .map(String::as_str),
        Some("budget.md")
    );
    let mut response = post(&client, a, "/api/search", &sales, json!({ "query": "食堂几点开门" }));
    let body: Value = response.body_mut().read_json().unwrap();
    assert_eq!(body["hits"][0]["document"], "食堂.md", "{body}");
    assert_eq!(body["hits"][0]["keyword_rank"], 0, "the keyword list found it: {body}");
    let answer = ask(&client, b, &sales, "Which garage do visitors park in?");
    assert_eq!(answer["refused"], false, "{answer}");
    let text = answer["answer"].as_str().unwrap_or_default();
    assert!(text.contains("P3"), "{answer}");
    assert_eq!(answer["citations"][0]["document"], "parking.md", "{answer}");

    // Both nodes count the same chunks; a deletion through one is gone from the other.
    let chunks = |base: &str| get(&client, &format!("{base}/api/health"), &admin).1["chunks"].clone();
    assert_eq!(chunks(a), chunks(b));
    let parking = listed
        .iter()
        .find(|document| document["name"] == "parking.md")
        .and_then(|document| document["id"].as_str())
        .expect("parking.md listed")
        .to_owned();
    let (status, _) = send_json(
        &client,
        "DELETE",
        &format!("{b}/api/documents/{parking}"),
        &admin,
        json!({}),
    );
    assert_eq!(status, 200);
    assert!(!search_documents(&client, a, &sales, "ZX-PARK-4411").contains(&"parking.md".to_owned()));

    // Two nodes appended to one audit chain; it verifies whole.
    drop((node_a, node_b));
    let verified = cli(&data_a, &env, &["audit", "verify"]);
    assert!(verified.contains("intact"), "{verified}");
    drop_collections(&env, &collection);
}

/// Removes the test's collections through Qdrant's REST port (beside the gRPC one), so a
/// long-lived test server does not fill up; a failure only warns.
fn drop_collections(env: &[(String, String)], collection: &str) {
    let grpc = env
        .iter()
        .find(|(name, _)| name == "APPLIANCE__QDRANT_URL")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let rest = std::env::var("QDRANT_REST_URL").unwrap_or_else(|_| grpc.replace(":6334", ":6333"));
    for name in [collection.to_owned(), format!("{collection}_bm25")] {
        let request = ureq::http::Request::builder()
            .method("DELETE")
            .uri(format!("{rest}/collections/{name}"))
            .body(String::new())
            .unwrap();
        if let Err(error) = agent().run(request) {
            eprintln!("warning: could not remove the Qdrant collection {name}: {error}");
        }
    }
}
