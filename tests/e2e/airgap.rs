//! Proof that the appliance talks to nothing but itself: ingest, search, questions on the
//! command line and through the HTTP server, all run in a network namespace that has only
//! loopback (`unshare -n`), under `strace -f -e trace=connect`, which records every
//! connection attempt of every process. Any address that is not loopback fails the test.
//!
//! Where no namespace can be made (a container without the privilege), the same run
//! happens on the host network, and the test says so: the trace is the measurement, the
//! namespace only the fence.

use std::process::Command;

use super::{binary, demo_docs, models_dir};

/// Runs inside the namespace (or not): the appliance's commands, then the server with a
/// client in Python asking it over HTTP.
const SCRIPT: &str = r#"
set -eu
[ "${IN_NAMESPACE:-0}" = 1 ] && ip link set lo up
A="$APPLIANCE --data-dir $DATA --models-dir $MODELS"
$A ingest "$DOCS/welcome.md" "$DOCS/欢迎.md" --json > /dev/null
$A search "internet connection" --json > /dev/null
$A ask "Does the appliance connect to the internet?" --json > "$DATA/ask.json"
echo 'airgap-password-1' | $A user add auditor --role admin --password-stdin > /dev/null
$A serve --listen 127.0.0.1:18471 > "$DATA/serve.log" 2>&1 &
SERVER=$!
python3 - <<'PY'
import http.cookiejar, json, time, urllib.request
base = "http://127.0.0.1:18471"
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
for _ in range(240):
    try:
        if opener.open(base + "/readyz", timeout=5).status == 200:
            break
    except Exception:
        time.sleep(0.5)
else:
    raise SystemExit("the server never became ready")
def post(path, body):
    request = urllib.request.Request(base + path, json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "X-Appliance-Request": "1"})
    return opener.open(request, timeout=300).read().decode()
post("/api/login", {"username": "auditor", "password": "airgap-password-1"})
assert "welcome.md" in post("/api/search", {"query": "internet connection"})
events = post("/api/ask", {"question": "数据会离开服务器吗？"})
assert "event: done" in events or '"done"' in events, events[-500:]
PY
kill $SERVER
wait $SERVER || true
$A audit verify > /dev/null
"#;

/// Connection attempts in an strace log that leave the machine: anything but Unix sockets,
/// netlink and loopback addresses.
fn outside_connections(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| line.contains("connect("))
        .filter(|line| {
            let local = line.contains("AF_UNIX")
                || line.contains("AF_NETLINK")
                || line.contains("inet_addr(\"127.")
                || line.contains("inet_pton(AF_INET6, \"::1\"")
                || line.contains("AF_UNSPEC");
            !local
        })
        .collect()
}

fn namespace_available() -> bool {
    Command::new("unshare")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|status| status.success())
}

#[test]
fn the_appliance_connects_to_nothing_outside_the_machine() {
    let data = tempfile::tempdir().unwrap();
    let script = data.path().join("airgap.sh");
    std::fs::write(&script, SCRIPT).unwrap();
    let trace = data.path().join("connect.trace");
    let in_namespace = namespace_available();
    if !in_namespace {
        eprintln!(
            "AIR-GAP TEST: NO NETWORK NAMESPACE could be made here (unshare -n failed); running on the \
             host network with every connection attempt traced"
        );
    }
    let strace = [
        "strace",
        "-f",
        // Stop only at connect(), not at every system call.
        "--seccomp-bpf",
        "-qq",
        "-e",
        "trace=connect",
        "-o",
        trace.to_str().unwrap(),
        "bash",
        script.to_str().unwrap(),
    ];
    let mut command = if in_namespace {
        let mut command = Command::new("unshare");
        command.arg("-n").args(strace);
        command
    } else {
        let mut command = Command::new(strace[0]);
        command.args(&strace[1..]);
        command
    };
    let output = command
        .env("IN_NAMESPACE", if in_namespace { "1" } else { "0" })
        // One malloc arena: each thread's arena grows and shrinks by mprotect tens of
        // thousands of times per command, which costs next to nothing normally and made a
        // traced session take 8 minutes instead of 1. Where memory comes from has no
        // bearing on what the session connects to.
        .env("MALLOC_ARENA_MAX", "1")
        .env("APPLIANCE", binary())
        .env("DATA", data.path().join("data"))
        .env("MODELS", models_dir())
        .env("DOCS", demo_docs())
        .output()
        .expect("strace runs (scripts/install-deps.sh installs it)");
    let log = std::fs::read_to_string(&trace).unwrap_or_default();
    assert!(
        output.status.success(),
        "the air-gapped session failed:\n{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(data.path().join("data/serve.log")).unwrap_or_default()
    );
    // The trace must have seen the session's own loopback traffic, or it traced nothing.
    assert!(
        log.contains("inet_addr(\"127.0.0.1\")"),
        "no loopback connection traced:\n{log}"
    );
    let outside = outside_connections(&log);
    assert!(
        outside.is_empty(),
        "connection attempts leaving the machine:\n{}",
        outside.join("\n")
    );
    let answer: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(data.path().join("data/ask.json"))
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(answer["refused"], false, "{answer}");
}

/// The log parser itself: a non-loopback attempt is caught, loopback and Unix sockets pass.
#[test]
fn the_trace_reading_catches_every_outside_address() {
    let log = "12 connect(3, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr(\"10.0.0.2\")}, 16) = -1\n\
               13 connect(4, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = 0\n\
               14 connect(5, {sa_family=AF_UNIX, sun_path=\"/var/run/nscd/socket\"}, 110) = -1\n\
               15 connect(6, {sa_family=AF_INET6, sin6_port=htons(443), inet_pton(AF_INET6, \"2001:db8::1\", &sin6_addr)}, 28) = -1";
    let outside = outside_connections(log);
    assert_eq!(outside.len(), 2, "{outside:?}");
}
