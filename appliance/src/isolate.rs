//! Parsing untrusted files in a child process under resource limits.
//!
//! Parser libraries cannot all be trusted with hostile input: one may loop, one may
//! allocate without bound (a zip bomb inflated by a library we do not control), one may
//! abort the process. The appliance therefore parses each upload by running itself
//! (`appliance parse`) under `prlimit` (address space and CPU time) with a wall-clock
//! deadline. A child that is stopped fails that one document, with a message saying why;
//! the worker and every other job carry on.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::AsyncWriteExt;

use crate::settings::Settings;

/// How to run the parser child.
#[derive(Debug, Clone)]
pub struct ChildParser {
    pub exe: PathBuf,
    pub memory_mb: u64,
    pub cpu_seconds: u64,
    pub timeout: Duration,
}

impl ChildParser {
    /// The parser child for this binary, when it can be located.
    pub fn for_current_exe(settings: &Settings) -> Option<Self> {
        let exe = std::env::current_exe().ok()?;
        Some(Self {
            exe,
            memory_mb: settings.parse_memory_mb,
            cpu_seconds: settings.parse_cpu_seconds,
            timeout: Duration::from_secs(settings.parse_timeout_seconds),
        })
    }

    /// Parses `bytes` named `file_name` in a limited child process.
    pub async fn parse(&self, file_name: &str, bytes: Vec<u8>) -> anyhow::Result<ingest::ParsedDocument> {
        let mut command = if prlimit_available() {
            let mut command = tokio::process::Command::new("prlimit");
            command
                .arg(format!("--as={}", self.memory_mb * 1024 * 1024))
                .arg(format!("--cpu={}", self.cpu_seconds))
                .arg("--")
                .arg(&self.exe);
            command
        } else {
            tracing::warn!("prlimit is missing (util-linux): parsing without memory and CPU limits");
            tokio::process::Command::new(&self.exe)
        };
        command
            .args(["parse", "--json", "--name", file_name, "-"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().context("starting the parser process")?;
        let mut stdin = child.stdin.take().context("parser stdin")?;
        let writer = tokio::spawn(async move {
            let _ = stdin.write_all(&bytes).await;
        });
        let output = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(output) => output.context("waiting for the parser process")?,
            Err(_) => bail!(
                "parsing took longer than {} s and was stopped (a hostile or very large file?)",
                self.timeout.as_secs()
            ),
        };
        let _ = writer.await;
        if output.status.success() {
            let stdout = String::from_utf8_lossy(&output.stdout);
            let last = stdout.lines().last().unwrap_or_default();
            return serde_json::from_str(last).context("reading the parser's output");
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("out of memory") || stderr.contains("memory allocation of") {
            bail!(
                "parsing needs more than {} MB of memory (the limit `parse_memory_mb`): a hostile or very large file?",
                self.memory_mb
            );
        }
        if let Some(message) = stderr.lines().rev().find_map(|line| line.strip_prefix("error: ")) {
            bail!("{message}");
        }
        use std::os::unix::process::ExitStatusExt;
        match output.status.signal() {
            Some(signal) => bail!(
                "the parser was stopped (signal {signal}): the file needs more than {} MB of memory or {} s of CPU \
                 (a hostile or broken file?)",
                self.memory_mb,
                self.cpu_seconds
            ),
            None => bail!(
                "the parser failed ({}): {}",
                output.status,
                stderr.lines().last().unwrap_or("no message")
            ),
        }
    }
}

fn prlimit_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        std::process::Command::new("prlimit")
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success())
    })
}

/// `appliance parse`: parse one file (or standard input) and print its pages.
pub fn parse_command(
    settings: &Settings,
    path: &std::path::Path,
    name: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let bytes = if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).context("reading standard input")?;
        bytes
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
    };
    let file_name = name
        .map(str::to_owned)
        .unwrap_or_else(|| path.to_string_lossy().into_owned());
    let document = ingest::parse_with(&file_name, &bytes, &settings.parse_options())?;
    if json {
        println!("{}", serde_json::to_string(&document)?);
    } else {
        println!(
            "{} ({}), {} pages",
            document.title,
            document.format.as_str(),
            document.pages.len()
        );
        if !document.ocr_pages.is_empty() {
            println!("read by OCR: pages {:?}", document.ocr_pages);
        }
        if !document.unreadable_pages.is_empty() {
            println!("unreadable: pages {:?}", document.unreadable_pages);
        }
        for page in &document.pages {
            println!("\n--- page {} ---\n{}", page.number, page.text);
        }
    }
    Ok(())
}
