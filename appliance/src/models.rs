//! The local models: where their files are, loading them once, and verifying them.
//!
//! Models load lazily (a `search` needs no generator) and at most once per process. The
//! manifest written by `scripts/fetch-models.sh` lists every file with its size and
//! sha256; `appliance models verify` re-checks them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use llm::e5::{E5Embedder, E5Options};
use llm::queue::QueuedGenerator;
use llm::remote::{RemoteConfig, RemoteGenerator};
use llm::{Embedder, Generator, LocalGenerator};
use serde::Deserialize;
use sha2::{Digest, Sha256};

pub const EMBEDDER_FILE: &str = "e5-small-q4.bin";
pub const GENERATOR_FILE: &str = "qwen2.5-coder-0.5b-instruct.gguf";
/// The generator re-quantised by `appliance models prepare` (preferred when present).
pub const PREPARED_GENERATOR_FILE: &str = "qwen2.5-coder-0.5b-instruct.q8.gguf";
const FIX_HINT: &str = "run `scripts/fetch-models.sh MODELS_DIR` (or copy a verified models directory)";

/// Lazily loaded models shared by the CLI and the server.
///
/// Every generator, local, remote or given, is served through one [`QueuedGenerator`]:
/// one generation at a time, waiting callers told their position.
pub struct Models {
    dir: PathBuf,
    embedder_options: E5Options,
    generator_file: Option<String>,
    remote: Option<RemoteConfig>,
    /// Given parts never fall back to loading files (tests, benchmarks).
    preloaded: bool,
    embedder: Mutex<Option<Arc<dyn Embedder>>>,
    generator: Mutex<Option<Arc<dyn Generator>>>,
}

impl Models {
    pub fn new(
        dir: &Path,
        embedder_options: E5Options,
        generator_file: Option<&str>,
        remote: Option<RemoteConfig>,
    ) -> Self {
        Self {
            dir: dir.to_owned(),
            embedder_options,
            generator_file: generator_file.map(str::to_owned),
            remote,
            preloaded: false,
            embedder: Mutex::new(None),
            generator: Mutex::new(None),
        }
    }

    /// Models given rather than loaded: `generator` `None` means there is none, so
    /// answers are extracts.
    pub fn preloaded(embedder: Arc<dyn Embedder>, generator: Option<Box<dyn Generator>>) -> Self {
        Self {
            dir: PathBuf::new(),
            embedder_options: E5Options::default(),
            generator_file: None,
            remote: None,
            preloaded: true,
            embedder: Mutex::new(Some(embedder)),
            generator: Mutex::new(generator.map(queued)),
        }
    }

    /// The embedder, loaded on first use (blocking: call from a blocking thread).
    pub fn embedder(&self) -> anyhow::Result<Arc<dyn Embedder>> {
        let mut slot = self.embedder.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(embedder) = slot.as_ref() {
            return Ok(embedder.clone());
        }
        if self.preloaded {
            bail!("no embedder was given");
        }
        let path = self.dir.join(EMBEDDER_FILE);
        let embedder: Arc<dyn Embedder> = Arc::new(
            E5Embedder::load(&path, self.embedder_options)
                .with_context(|| format!("loading the embedding model; {FIX_HINT}"))?,
        );
        *slot = Some(embedder.clone());
        Ok(embedder)
    }

    /// Replaces the embedder (for example with a caching wrapper around it).
    pub fn install_embedder(&self, embedder: Arc<dyn Embedder>) {
        *self.embedder.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(embedder);
    }

    /// The generator, loaded on first use (blocking: call from a blocking thread).
    pub fn generator(&self) -> anyhow::Result<Arc<dyn Generator>> {
        let mut slot = self.generator.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(generator) = slot.as_ref() {
            return Ok(generator.clone());
        }
        if self.preloaded {
            bail!("no answer generator is configured");
        }
        if let Some(remote) = &self.remote {
            let generator = queued(Box::new(RemoteGenerator::new(remote.clone())));
            *slot = Some(generator.clone());
            return Ok(generator);
        }
        let path = match &self.generator_file {
            Some(file) => self.dir.join(file),
            None if self.dir.join(PREPARED_GENERATOR_FILE).exists() => self.dir.join(PREPARED_GENERATOR_FILE),
            None => self.dir.join(GENERATOR_FILE),
        };
        let local = LocalGenerator::load(&path).with_context(|| format!("loading the generator; {FIX_HINT}"))?;
        let generator = queued(Box::new(local));
        *slot = Some(generator.clone());
        Ok(generator)
    }
}

/// The one way a generator reaches the engine: behind the fair queue.
fn queued(generator: Box<dyn Generator>) -> Arc<dyn Generator> {
    Arc::new(QueuedGenerator::boxed(generator))
}

#[derive(Debug, Deserialize, serde::Serialize)]
struct Manifest {
    #[serde(default = "manifest_format")]
    format: u32,
    models: Vec<ManifestEntry>,
}

fn manifest_format() -> u32 {
    1
}

#[derive(Debug, Deserialize, serde::Serialize)]
struct ManifestEntry {
    role: String,
    file: String,
    bytes: u64,
    sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
}

/// One verified file.
#[derive(Debug, serde::Serialize)]
pub struct VerifiedFile {
    pub role: String,
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Re-quantises the shipped generator to fast kernel types (once) and records the result
/// in the manifest, so `verify` covers it too.
pub fn prepare(dir: &Path) -> anyhow::Result<Option<llm::requantize::RequantizeReport>> {
    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("no model manifest at {}; {FIX_HINT}", manifest_path.display()))?;
    let mut manifest: Manifest = serde_json::from_str(&text)?;
    let prepared = dir.join(PREPARED_GENERATOR_FILE);
    if prepared.exists()
        && manifest
            .models
            .iter()
            .any(|entry| entry.file == PREPARED_GENERATOR_FILE)
    {
        return Ok(None);
    }
    let report = llm::requantize::requantize_gguf(&dir.join(GENERATOR_FILE), &prepared)
        .with_context(|| format!("re-quantising the generator; {FIX_HINT}"))?;
    manifest.models.retain(|entry| entry.file != PREPARED_GENERATOR_FILE);
    manifest.models.push(ManifestEntry {
        role: "generator".to_owned(),
        file: PREPARED_GENERATOR_FILE.to_owned(),
        bytes: std::fs::metadata(&prepared)?.len(),
        sha256: sha256_file(&prepared)?,
        name: Some("qwen2.5-coder-0.5b-instruct (Q8_0)".to_owned()),
        source: Some(format!("appliance models prepare, from {GENERATOR_FILE}")),
    });
    let partial = dir.join("manifest.json.part");
    std::fs::write(&partial, serde_json::to_string_pretty(&manifest)?)?;
    std::fs::rename(&partial, &manifest_path)?;
    Ok(Some(report))
}

/// Re-checks every file of the manifest in `dir` (size, then sha256).
pub fn verify(dir: &Path) -> anyhow::Result<Vec<VerifiedFile>> {
    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("no model manifest at {}; {FIX_HINT}", manifest_path.display()))?;
    let manifest: Manifest =
        serde_json::from_str(&text).with_context(|| format!("{} is not a valid manifest", manifest_path.display()))?;
    let mut verified = Vec::new();
    for entry in manifest.models {
        let path = dir.join(&entry.file);
        let metadata = std::fs::metadata(&path)
            .with_context(|| format!("model file {} is missing; {FIX_HINT}", path.display()))?;
        if metadata.len() != entry.bytes {
            bail!(
                "model file {} has {} bytes, the manifest says {}; {FIX_HINT}",
                path.display(),
                metadata.len(),
                entry.bytes
            );
        }
        let actual = sha256_file(&path)?;
        if actual != entry.sha256 {
            bail!(
                "model file {} is corrupt (sha256 {actual}, expected {}); {FIX_HINT}",
                path.display(),
                entry.sha256
            );
        }
        verified.push(VerifiedFile {
            role: entry.role,
            file: entry.file,
            bytes: entry.bytes,
            sha256: actual,
        });
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_detects_missing_and_corrupt_files() {
        let dir = tempfile::tempdir().unwrap();
        assert!(verify(dir.path()).unwrap_err().to_string().contains("fetch-models.sh"));
        std::fs::write(dir.path().join("m.bin"), b"hello").unwrap();
        let good = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        let manifest =
            |sha: &str| format!(r#"{{"models":[{{"role":"embedder","file":"m.bin","bytes":5,"sha256":"{sha}"}}]}}"#);
        std::fs::write(dir.path().join("manifest.json"), manifest(good)).unwrap();
        assert_eq!(verify(dir.path()).unwrap().len(), 1);
        std::fs::write(dir.path().join("manifest.json"), manifest(&"0".repeat(64))).unwrap();
        assert!(verify(dir.path()).unwrap_err().to_string().contains("corrupt"));
    }
}
