//! End-to-end tests: the real `appliance` binary, the real models, real documents.
//!
//! The binary is `$APPLIANCE_BIN`, else `target/debug/appliance` (build the workspace
//! first: `.ci/run` does). Models come from `$APPLIANCE_MODELS_DIR`, else `models/`. The
//! documents and evaluation data are committed: the demo knowledge base in `demo/` (see
//! `demo/LICENSES.md`) and evaluation-set slices in `tests/fixtures/eval/`.

mod admin;
mod airgap;
mod assistant;
mod backup;
mod browser;
mod cli;
mod eval;
mod lock;
mod logs;
mod nodes;
mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn binary() -> PathBuf {
    let path = match std::env::var_os("APPLIANCE_BIN") {
        Some(path) => PathBuf::from(path),
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace_root().join("target"));
            target.join("debug/appliance")
        }
    };
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` first",
        path.display()
    );
    path
}

pub fn models_dir() -> PathBuf {
    std::env::var_os("APPLIANCE_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("models"))
}

/// The demo knowledge base, `demo/documents/`: real documents whose content the tests know.
pub fn demo_docs() -> PathBuf {
    workspace_root().join("demo/documents")
}

/// Slices of the evaluation sets, `tests/fixtures/eval/<set>/` (see its README).
pub fn eval_fixtures() -> PathBuf {
    workspace_root().join("tests/fixtures/eval")
}

/// Runs the binary with `args` on `data_dir`, failing the test on a non-zero exit.
pub fn appliance(data_dir: &Path, args: &[&str]) -> Output {
    appliance_with(data_dir, &[], args)
}

/// Runs the binary with `args` on `data_dir` and `env` added (settings as `APPLIANCE__`
/// variables), failing the test on a non-zero exit.
pub fn appliance_with(data_dir: &Path, env: &[(String, String)], args: &[&str]) -> Output {
    let output = run_appliance(data_dir, env, args);
    assert!(
        output.status.success(),
        "appliance {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub fn appliance_unchecked(data_dir: &Path, args: &[&str]) -> Output {
    run_appliance(data_dir, &[], args)
}

fn run_appliance(data_dir: &Path, env: &[(String, String)], args: &[&str]) -> Output {
    Command::new(binary())
        .envs(env.iter().map(|(name, value)| (name, value)))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--models-dir")
        .arg(models_dir())
        .args(args)
        .output()
        .expect("the appliance binary runs")
}

/// The JSON object on the last line of stdout.
pub fn last_json_line(output: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|error| panic!("last line is not JSON ({error}): {stdout}"))
}

/// A new, empty database on the PostgreSQL server `APPLIANCE_TEST_POSTGRES_URL` names
/// (`scripts/test.sh` starts one); `None`, said loudly, without one.
pub fn new_postgres_database(name: &str) -> Option<String> {
    let Ok(server) = std::env::var("APPLIANCE_TEST_POSTGRES_URL") else {
        if std::env::var("APPLIANCE_REQUIRE_POSTGRES").is_ok_and(|value| value == "1") {
            panic!("APPLIANCE_REQUIRE_POSTGRES=1 but APPLIANCE_TEST_POSTGRES_URL is not set");
        }
        eprintln!("WARNING: the PostgreSQL half of this test DID NOT RUN: set APPLIANCE_TEST_POSTGRES_URL");
        return None;
    };
    let name = format!("{name}_{}", std::process::id());
    let created = Command::new("psql")
        .args([
            server.as_str(),
            "-q",
            "-c",
            &format!("DROP DATABASE IF EXISTS {name}"),
            "-c",
        ])
        .arg(format!("CREATE DATABASE {name}"))
        .status()
        .expect("psql runs");
    assert!(created.success(), "cannot create the database {name}");
    let (base, _) = server.rsplit_once('/').expect("a database URL ends with /DATABASE");
    Some(format!("{base}/{name}"))
}
