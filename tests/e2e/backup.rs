//! Backup and restore with the real binary: an archive written while the server runs (an
//! uploaded original included) and one written after it stopped both rebuild, in an empty
//! data directory, an appliance that finds and answers the same, with the same audit chain;
//! a damaged archive, one of a newer format and a non-empty target are refused. An archive
//! also moves an appliance from SQLite into PostgreSQL and back.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use super::admin::{upload, wait_for_jobs};
use super::server::{add_user, agent, login, start};
use super::{appliance, appliance_unchecked, appliance_with, binary, demo_docs, last_json_line, new_postgres_database};

const QUESTION: &str = "Who can read an uploaded document?";

/// Search hits (document, chunk, score) and the answer with its citations: what must not
/// change through a backup.
fn fingerprint(data: &std::path::Path) -> (Vec<(String, u64, String)>, Value, Value) {
    fingerprint_of(|args| appliance(data, args))
}

/// [`fingerprint`] of the appliance that `run` runs commands of.
fn fingerprint_of(run: impl Fn(&[&str]) -> Output) -> (Vec<(String, u64, String)>, Value, Value) {
    let hits = last_json_line(&run(&["search", "who may read a document", "--json"]));
    let hits = hits["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| {
            (
                hit["document"].as_str().unwrap().to_owned(),
                hit["chunk_id"].as_u64().unwrap(),
                format!("{:.4}", hit["score"].as_f64().unwrap()),
            )
        })
        .collect();
    let answer = last_json_line(&run(&["ask", QUESTION, "--json"]));
    (hits, answer["answer"].clone(), answer["citations"].clone())
}

#[test]
fn a_backup_restores_the_same_appliance_and_a_damaged_one_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let source = root.path().join("source");
    appliance(
        &source,
        &["ingest", demo_docs().join("welcome.md").to_str().unwrap(), "--json"],
    );
    let password = add_user(&source, "keeper", "admin", &[]);
    let live_archive = root.path().join("live.tar");
    {
        let server = start(&source);
        let client = agent();
        let cookie = login(&client, &server.base, "keeper", &password);
        let chinese = std::fs::read(demo_docs().join("欢迎.md")).unwrap();
        let (status, body) = upload(&client, &server.base, &cookie, "欢迎.md", "public=true", &chinese);
        assert!(status < 300, "{status} {body}");
        wait_for_jobs(&client, &server.base, &cookie, 1);
        // Beside the running server: the vector index is the server's, so the archive holds
        // no vectors and says so; everything else is there.
        let output = appliance(&source, &["backup", live_archive.to_str().unwrap(), "--json"]);
        assert!(String::from_utf8_lossy(&output.stderr).contains("no vectors"));
        let manifest = last_json_line(&output);
        assert_eq!(manifest["documents"], 2, "{manifest}");
        assert_eq!(manifest["vectors"], 0, "{manifest}");
        let files = manifest["files"].as_object().unwrap();
        assert!(files.keys().any(|name| name.starts_with("uploads/")), "{manifest}");
        assert!(
            files.contains_key("audit.key") && files.contains_key("audit-checkpoints.jsonl"),
            "{manifest}"
        );
    }
    let before = fingerprint(&source);
    let archive = root.path().join("backup.tar");
    let manifest = last_json_line(&appliance(&source, &["backup", archive.to_str().unwrap(), "--json"]));
    assert_eq!(manifest["vectors"], manifest["chunks"], "{manifest}");

    for (name, archive, embedded) in [("offline", &archive, false), ("live", &live_archive, true)] {
        let target = root.path().join(name);
        let restored = last_json_line(&appliance(&target, &["restore", archive.to_str().unwrap(), "--json"]));
        assert_eq!(restored["embedded_again"].as_u64().unwrap() > 0, embedded, "{restored}");
        assert_eq!(
            fingerprint(&target),
            before,
            "{name}: search or answer differ after the restore"
        );
        // The restored chain holds the source's rows up to the backup, unchanged.
        let head = root.path().join(format!("{name}-head.jsonl"));
        std::fs::write(&head, format!("{}\n", restored["manifest"]["audit_head"])).unwrap();
        appliance(&target, &["audit", "verify", "--head", head.to_str().unwrap()]);
        // The uploaded original is there, under the new data directory.
        assert!(std::fs::read_dir(target.join("uploads")).unwrap().count() == 1);
    }

    let bytes = std::fs::read(&archive).unwrap();
    let refused = |doctored: Vec<u8>, expected: &str| {
        let file = root.path().join("doctored.tar");
        std::fs::write(&file, doctored).unwrap();
        let target = root.path().join("doctored-target");
        let _ = std::fs::remove_dir_all(&target);
        let output = appliance_unchecked(&target, &["restore", file.to_str().unwrap()]);
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success() && error.contains(expected), "{error}");
    };
    let mut damaged = bytes.clone();
    let vectors = find(&damaged, b"APVEC001");
    damaged[vectors + 40] ^= 0x55;
    refused(damaged, "does not match its checksum");
    let mut newer = bytes.clone();
    let format = find(&newer, b"\"format\": 1");
    newer[format + 10] = b'9';
    refused(newer, "newer than this appliance");
    let output = appliance_unchecked(&source, &["restore", archive.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("not empty"));
}

/// Runs the appliance on `data` with its database in PostgreSQL at `database`.
fn on_postgres(data: &Path, database: &str, args: &[&str]) -> Output {
    appliance_with(
        data,
        &[("APPLIANCE__DATABASE_URL".to_owned(), database.to_owned())],
        args,
    )
}

#[test]
fn an_archive_moves_an_appliance_from_sqlite_to_postgresql_and_back() {
    let Some(database) = new_postgres_database("appliance_restore") else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let source = root.path().join("sqlite");
    appliance(
        &source,
        &["ingest", demo_docs().join("welcome.md").to_str().unwrap(), "--json"],
    );
    let before = fingerprint(&source);
    let archive = root.path().join("sqlite.tar");
    appliance(&source, &["backup", archive.to_str().unwrap(), "--json"]);

    let postgres = root.path().join("postgres");
    let restored = last_json_line(&on_postgres(
        &postgres,
        &database,
        &["restore", archive.to_str().unwrap(), "--json"],
    ));
    assert!(
        !postgres.join("appliance.sqlite").exists(),
        "the tables went into PostgreSQL, not a local file"
    );
    let on_it = |args: &[&str]| on_postgres(&postgres, &database, args);
    assert_eq!(fingerprint_of(on_it), before, "search or answer differ on PostgreSQL");
    let head = root.path().join("head.jsonl");
    std::fs::write(&head, format!("{}\n", restored["manifest"]["audit_head"])).unwrap();
    on_postgres(
        &postgres,
        &database,
        &["audit", "verify", "--head", head.to_str().unwrap()],
    );
    // A second restore into the same, no longer empty, database is refused.
    let again = Command::new(binary())
        .env("APPLIANCE__DATABASE_URL", &database)
        .args(["--data-dir", root.path().join("again").to_str().unwrap(), "restore"])
        .arg(&archive)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    // A backup of the PostgreSQL appliance restores into an embedded one.
    let back = root.path().join("postgres.tar");
    on_postgres(&postgres, &database, &["backup", back.to_str().unwrap(), "--json"]);
    let sqlite = root.path().join("sqlite-again");
    appliance(&sqlite, &["restore", back.to_str().unwrap(), "--json"]);
    assert_eq!(fingerprint(&sqlite), before, "search or answer differ back on SQLite");
    appliance(&sqlite, &["audit", "verify"]);
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
        .expect("present in the archive")
}
