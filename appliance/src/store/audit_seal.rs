//! What makes the audit log survive someone who can write its database: a key outside the
//! database that seals every row, and checkpoints of the chain's head kept outside it too.
//!
//! The hash chain alone detects an edit or a deleted row, but whoever can write the
//! database can rewrite the whole chain consistently, or cut its newest rows. A row's seal
//! is the HMAC-SHA256 of its hash under the appliance's audit key (a file, by default in the
//! data directory, `audit_key_file` to keep it elsewhere): a rewritten row cannot carry a
//! valid seal without the key. A checkpoint is the chain's head (last row id, hash, seal) at
//! a moment; the server appends one to a file every few minutes (`audit_checkpoint_file`,
//! to ship to write-once storage) and `appliance audit head` prints one. Verification checks
//! each checkpoint's row is still there with the same hash, so cutting rows is detected,
//! back to the last checkpoint taken before the cut.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The secret that seals audit rows. Never logged.
#[derive(Clone)]
pub struct AuditKey {
    bytes: [u8; 32],
    path: PathBuf,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "AuditKey({})", self.path.display())
    }
}

impl AuditKey {
    /// Reads the key at `path`, creating it (random, readable by its owner only) when there
    /// is none yet.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let decoded = hex::decode(text.trim())
                    .ok()
                    .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                    .with_context(|| format!("the audit key {} is not 64 hexadecimal digits", path.display()))?;
                Ok(Self {
                    bytes: decoded,
                    path: path.to_owned(),
                })
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Self::create(path),
            Err(error) => Err(error).with_context(|| format!("reading the audit key {}", path.display())),
        }
    }

    fn create(path: &Path) -> anyhow::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let bytes: [u8; 32] = rand::random();
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("creating the audit key {}", path.display()))?;
        writeln!(file, "{}", hex::encode(bytes))?;
        file.sync_all()?;
        tracing::info!(path = %path.display(), "created the audit key; back it up apart from the database");
        Ok(Self {
            bytes,
            path: path.to_owned(),
        })
    }

    /// Where the key is kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The seal of a row's hash.
    pub fn seal(&self, hash: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.bytes).expect("HMAC takes keys of any length");
        mac.update(hash.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// The chain's head at a moment: enough to prove later that no row up to it was cut or
/// rewritten.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Head {
    /// When the head was read (seconds since the epoch, as audit rows write it).
    pub at: String,
    /// Rows in the log then.
    pub rows: u64,
    /// The newest row's id and hash (0 and the genesis hash for an empty log).
    pub id: i64,
    pub hash: String,
    /// The newest row's seal; `None` for an empty log or a row older than sealing.
    pub seal: Option<String>,
}

/// The checkpoints in `path`, oldest first; none when the file does not exist.
pub fn read_checkpoints(path: &Path) -> anyhow::Result<Vec<Head>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| {
            serde_json::from_str(line)
                .with_context(|| format!("{} line {}: not an audit checkpoint", path.display(), number + 1))
        })
        .collect()
}

/// Appends `head` to the checkpoint file at `path` unless its last checkpoint already has
/// this head; returns whether it wrote.
pub fn append_checkpoint(path: &Path, head: &Head) -> anyhow::Result<bool> {
    if read_checkpoints(path)?
        .last()
        .is_some_and(|last| last.id == head.id && last.hash == head.hash)
    {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(file, "{}", serde_json::to_string(head)?)?;
    file.sync_all()?;
    Ok(true)
}

/// Checks a checkpoint against the row the log now has at its id (`None`: no such row).
pub fn check_checkpoint(key: &AuditKey, checkpoint: &Head, row_hash: Option<&str>) -> anyhow::Result<()> {
    if checkpoint.id == 0 {
        return Ok(());
    }
    if let Some(seal) = &checkpoint.seal
        && *seal != key.seal(&checkpoint.hash)
    {
        bail!(
            "the checkpoint of row {} (taken at {}) is not sealed by this appliance's audit key",
            checkpoint.id,
            checkpoint.at
        );
    }
    match row_hash {
        None => bail!(
            "audit row {} is gone, but the checkpoint taken at {} recorded it: the log was truncated",
            checkpoint.id,
            checkpoint.at
        ),
        Some(hash) if hash != checkpoint.hash => bail!(
            "audit row {} differs from the checkpoint taken at {}: the log was rewritten",
            checkpoint.id,
            checkpoint.at
        ),
        Some(_) => Ok(()),
    }
}
