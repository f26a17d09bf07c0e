//! Backup and restore: one archive holds everything an appliance needs to be rebuilt in an
//! empty data directory.
//!
//! The archive is a tar file whose first member, `manifest.json`, names its format and the
//! sha256 of every other member: the database (a consistent copy taken with SQLite's
//! `VACUUM INTO` while the server keeps working), the vector of every chunk in that copy
//! (`vectors.bin`), the stored originals of uploads, the audit key and checkpoints, the
//! configuration file when there is one and, on request, the model files. The keyword index
//! is not copied: it is a function of the chunks in the database and is rebuilt, with the
//! domain dictionary, on restore. A chunk whose vector is missing (deleted between the copy
//! and the export, or a vector store that is held by a running server) is embedded again.
//!
//! A restore refuses an archive whose member does not match its checksum, whose format is
//! newer than this binary's, or a data directory that is not empty; it ends by verifying the
//! audit chain against the restored checkpoints.
//!
//! With PostgreSQL (`database_url`) the database copy is still a SQLite file, written from
//! one repeatable-read snapshot, and a restore copies its tables into an empty PostgreSQL
//! database: an archive moves an appliance between the two as well.
//!
//! The archive holds every document, password hashes and the audit key: keep it like the
//! server itself.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use crate::engine::{EMBEDDING_DIMENSION, Engine};
use crate::settings::Settings;
use crate::store::{Store, audit, documents, site_texts, snapshot};

/// The archive format this binary writes, and the newest it reads.
pub const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";
const DATABASE: &str = "appliance.sqlite";
const VECTORS: &str = "vectors.bin";
const AUDIT_KEY: &str = "audit.key";
const CHECKPOINTS: &str = "audit-checkpoints.jsonl";
const CONFIG: &str = "appliance.toml";
const UPLOADS: &str = "uploads";
const MODELS: &str = "models";
const VECTORS_MAGIC: &[u8; 8] = b"APVEC001";

/// What an archive holds; its first member.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub appliance_version: String,
    /// Seconds since the epoch.
    pub created_at: String,
    pub embedding_dimension: usize,
    /// Where the stored originals lived (the database names them by path).
    pub uploads_dir: String,
    pub documents: i64,
    pub chunks: usize,
    pub vectors: usize,
    /// The embedding model that built the vectors (they are embedded again on restore when
    /// the restoring appliance uses another).
    #[serde(default)]
    pub embedding_model: Option<String>,
    /// The audit chain's head in the copied database.
    pub audit_head: audit::Head,
    /// Every other member and its sha256.
    pub files: BTreeMap<String, String>,
}

/// What a restore did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Restored {
    pub manifest: Manifest,
    /// Chunks whose vector was not in the archive and were embedded again.
    pub embedded_again: usize,
    pub audit_rows: u64,
}

impl Engine {
    /// Writes a backup archive of this appliance to `file` (`models`: with the model files).
    /// Runs beside searches, questions and ingest.
    pub async fn backup(&self, file: &Path, config: Option<&Path>, models: bool) -> anyhow::Result<Manifest> {
        let settings = self.settings();
        let parent = file
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let staging = tempfile::tempdir_in(parent).with_context(|| format!("writing in {}", parent.display()))?;
        let database = staging.path().join(DATABASE);
        snapshot::write_copy(self.store(), &database)
            .await
            .context("copying the database")?;
        let copy = Store::open_with_audit_key(&database, &settings.audit_key_path()).await?;
        let chunk_ids: Vec<u64> = documents::indexed_chunks(&copy, None)
            .await?
            .into_iter()
            .map(|chunk| chunk.chunk_id)
            .collect();
        let (documents, audit_head) = (copy.document_count().await?, audit::head(&copy).await?);
        let embedding_model = crate::store::index_meta::get(&copy, crate::engine::EMBEDDING_MODEL_KEY).await?;
        copy.close().await;

        let mut members: Vec<(String, PathBuf)> = vec![(DATABASE.to_owned(), database)];
        let vectors_path = staging.path().join(VECTORS);
        let store = self.vector_store();
        let ids = chunk_ids.clone();
        let vectors_file = vectors_path.clone();
        let exported =
            tokio::task::spawn_blocking(move || write_vectors(&vectors_file, store.as_ref(), &ids)).await??;
        members.push((VECTORS.to_owned(), vectors_path));
        for (name, path) in [
            (AUDIT_KEY, settings.audit_key_path()),
            (CHECKPOINTS, settings.audit_checkpoint_path()),
        ] {
            if path.exists() {
                members.push((name.to_owned(), path));
            }
        }
        if let Some(config) = config {
            members.push((CONFIG.to_owned(), config.to_owned()));
        }
        members.extend(files_under(&settings.uploads_dir(), UPLOADS)?);
        if models {
            members.extend(files_under(&settings.models_dir, MODELS)?);
        }
        let mut manifest = Manifest {
            format: FORMAT,
            appliance_version: env!("CARGO_PKG_VERSION").to_owned(),
            created_at: audit::now(),
            embedding_dimension: EMBEDDING_DIMENSION,
            uploads_dir: settings.uploads_dir().to_string_lossy().into_owned(),
            documents,
            chunks: chunk_ids.len(),
            vectors: exported,
            embedding_model,
            audit_head,
            files: BTreeMap::new(),
        };
        let file = file.to_owned();
        let manifest = tokio::task::spawn_blocking(move || -> anyhow::Result<Manifest> {
            for (name, path) in &members {
                manifest.files.insert(name.clone(), sha256_of(path)?);
            }
            let partial = file.with_extension("partial");
            write_archive(&partial, &manifest, &members)?;
            std::fs::rename(&partial, &file).with_context(|| format!("writing {}", file.display()))?;
            drop(staging);
            Ok(manifest)
        })
        .await??;
        audit::append(
            self.store(),
            "cli",
            "backup",
            serde_json::json!({ "documents": manifest.documents, "chunks": manifest.chunks, "vectors": manifest.vectors }),
        )
        .await?;
        Ok(manifest)
    }
}

/// The vectors of `chunk_ids` that `store` has, written to `path`; returns how many. A
/// store that cannot export (held by a running server) gives none, and the restore embeds.
fn write_vectors(path: &Path, store: &dyn retrieval::VectorStore, chunk_ids: &[u64]) -> anyhow::Result<usize> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(VECTORS_MAGIC)?;
    out.write_all(&(EMBEDDING_DIMENSION as u32).to_le_bytes())?;
    let mut written = 0;
    for batch in chunk_ids.chunks(512) {
        let vectors = match store.vectors(batch) {
            Ok(vectors) => vectors,
            Err(retrieval::Error::ReadOnly) => {
                tracing::warn!("the vector index is held by a running server: the backup holds no vectors");
                break;
            }
            Err(error) => return Err(error).context("reading vectors"),
        };
        for (id, vector) in vectors {
            out.write_all(&id.to_le_bytes())?;
            for value in vector {
                out.write_all(&value.to_le_bytes())?;
            }
            written += 1;
        }
    }
    out.flush()?;
    Ok(written)
}

fn read_vectors(path: &Path) -> anyhow::Result<std::collections::HashMap<u64, Vec<f32>>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut bytes)?;
    if bytes.len() < 12 || &bytes[..8] != VECTORS_MAGIC {
        bail!("{VECTORS} is not a vector file of this format");
    }
    let dimension = u32::from_le_bytes(bytes[8..12].try_into()?) as usize;
    if dimension != EMBEDDING_DIMENSION {
        bail!("the archive's vectors have {dimension} dimensions, this appliance's embedder {EMBEDDING_DIMENSION}");
    }
    let record = 8 + 4 * dimension;
    let body = &bytes[12..];
    if body.len() % record != 0 {
        bail!("{VECTORS} is truncated");
    }
    Ok(body
        .chunks(record)
        .map(|chunk| {
            let id = u64::from_le_bytes(chunk[..8].try_into().expect("8 bytes"));
            let vector = chunk[8..]
                .chunks(4)
                .map(|value| f32::from_le_bytes(value.try_into().expect("4 bytes")))
                .collect();
            (id, vector)
        })
        .collect())
}

/// Every file under `directory` (none when it does not exist), named `prefix/relative`.
fn files_under(directory: &Path, prefix: &str) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    let mut pending = vec![directory.to_owned()];
    while let Some(current) = pending.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error).with_context(|| format!("reading {}", current.display())),
        };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.is_file() {
                let relative = path.strip_prefix(directory)?.to_string_lossy().into_owned();
                found.push((format!("{prefix}/{relative}"), path));
            }
        }
    }
    found.sort();
    Ok(found)
}

fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let mut file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

fn write_archive(path: &Path, manifest: &Manifest, members: &[(String, PathBuf)]) -> anyhow::Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut archive = tar::Builder::new(std::io::BufWriter::new(file));
    let manifest_bytes = serde_json::to_vec_pretty(manifest)?;
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest_bytes.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    archive.append_data(&mut header, MANIFEST, manifest_bytes.as_slice())?;
    for (name, source) in members {
        let mut file = std::fs::File::open(source).with_context(|| format!("reading {}", source.display()))?;
        archive.append_file(name, &mut file)?;
    }
    archive
        .into_inner()?
        .into_inner()
        .map_err(|error| error.into_error())?
        .sync_all()?;
    Ok(())
}

/// Rebuilds the appliance of `archive` in the empty data directory of `settings`.
/// With `database_url` set, the archive's tables go into that PostgreSQL database, which
/// must hold no users, documents, conversations or audit rows yet.
pub async fn restore(archive: &Path, settings: &Settings) -> anyhow::Result<Restored> {
    let data_dir = &settings.data_dir;
    if std::fs::read_dir(data_dir).is_ok_and(|mut entries| entries.next().is_some()) {
        bail!(
            "{} is not empty: restore only into an empty data directory",
            data_dir.display()
        );
    }
    if let Some(url) = &settings.database_url {
        // The archive's audit key is not in place yet: look with a throwaway one.
        let scratch = tempfile::tempdir()?;
        let store = Store::connect(&url.0, &scratch.path().join("audit.key")).await?;
        let empty = snapshot::is_empty(&store).await?;
        store.close().await;
        if !empty {
            bail!("the database at database_url is not empty: restore only into an empty database");
        }
    }
    std::fs::create_dir_all(data_dir)?;
    let staging = data_dir.join(".restoring");
    let unpacked = {
        let (archive, staging) = (archive.to_owned(), staging.clone());
        tokio::task::spawn_blocking(move || unpack(&archive, &staging)).await?
    };
    let manifest = match unpacked {
        Ok(manifest) => manifest,
        Err(error) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(error);
        }
    };
    place(&staging, settings)?;
    let vectors = read_vectors(&staging.join(VECTORS))?;
    let store = settings.open_store().await?;
    if settings.database_url.is_some() {
        let copy = Store::open_with_audit_key(&staging.join(DATABASE), &settings.audit_key_path()).await?;
        snapshot::copy_tables(&copy, &store)
            .await
            .context("copying the archive's tables into PostgreSQL")?;
        copy.close().await;
    }
    snapshot::move_file_paths(&store, &manifest.uploads_dir, &settings.uploads_dir().to_string_lossy()).await?;
    store.close().await;

    let engine = Engine::open(settings.clone()).await?;
    let dictionary = site_texts::current(engine.store(), site_texts::Kind::DomainDictionary, "").await?;
    engine
        .rebuild_keyword_index(site_texts::dictionary_words(&dictionary.text))
        .await?;
    // Vectors of another embedding model than this appliance's cannot be mixed in.
    let current = engine.embedding_model().await?;
    let vectors = if manifest.embedding_model.as_ref().is_none_or(|model| *model == current) {
        vectors
    } else {
        std::collections::HashMap::new()
    };
    let embedded_again = engine.restore_vectors(vectors).await?;
    crate::store::index_meta::set(engine.store(), crate::engine::EMBEDDING_MODEL_KEY, &current).await?;
    crate::store::index_meta::set(
        engine.store(),
        crate::engine::KEYWORD_ANALYZER_KEY,
        retrieval::tokenizer::ANALYZER_VERSION,
    )
    .await?;
    let checkpoints = audit::read_checkpoints(&settings.audit_checkpoint_path())?;
    let verified = audit::verify(engine.store(), &checkpoints)
        .await
        .context("the restored audit log does not verify")?;
    std::fs::remove_dir_all(&staging)?;
    audit::append(
        engine.store(),
        "cli",
        "restore",
        serde_json::json!({ "backup_created_at": manifest.created_at, "embedded_again": embedded_again }),
    )
    .await?;
    Ok(Restored {
        manifest,
        embedded_again,
        audit_rows: verified.rows,
    })
}

/// Unpacks `archive` into `staging`, checking the manifest's format and every checksum.
fn unpack(archive: &Path, staging: &Path) -> anyhow::Result<Manifest> {
    let file = std::fs::File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    let mut entries = tar::Archive::new(std::io::BufReader::new(file));
    let mut entries = entries.entries().context("reading the archive")?;
    let mut first = entries
        .next()
        .context("the archive is empty")?
        .context("reading the archive")?;
    if first.path()?.as_ref() != Path::new(MANIFEST) {
        bail!("not an appliance backup: its first member is not {MANIFEST}");
    }
    let mut text = String::new();
    first.read_to_string(&mut text)?;
    let manifest: Manifest = serde_json::from_str(&text).context("the backup's manifest is unreadable")?;
    if manifest.format > FORMAT {
        bail!(
            "the backup's format {} is newer than this appliance's ({FORMAT}): restore it with version {} or later",
            manifest.format,
            manifest.appliance_version
        );
    }
    let mut seen = BTreeMap::new();
    for entry in entries {
        let mut entry = entry.context("reading the archive")?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let relative = Path::new(&name);
        if !relative
            .components()
            .all(|component| matches!(component, Component::Normal(_)))
        {
            bail!("the archive holds an unsafe path {name:?}");
        }
        let Some(expected) = manifest.files.get(&name) else {
            bail!("the archive holds {name}, which its manifest does not list");
        };
        let target = staging.join(relative);
        std::fs::create_dir_all(target.parent().unwrap_or(staging))?;
        let mut out = std::fs::File::create(&target)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0; 1 << 16];
        loop {
            let read = entry.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            out.write_all(&buffer[..read])?;
        }
        let actual = hex::encode(hasher.finalize());
        if actual != *expected {
            bail!("{name} does not match its checksum in the manifest: the archive is damaged");
        }
        seen.insert(name, actual);
    }
    if let Some(missing) = manifest.files.keys().find(|name| !seen.contains_key(*name)) {
        bail!("the archive lacks {missing}, which its manifest lists: it is incomplete");
    }
    Ok(manifest)
}

/// Moves the unpacked files where `settings` wants them.
fn place(staging: &Path, settings: &Settings) -> anyhow::Result<()> {
    // With PostgreSQL configured, the archive's SQLite file is read from the staging
    // directory instead.
    let database = settings
        .database_url
        .is_none()
        .then(|| (DATABASE, settings.database_path()));
    let moves = database.into_iter().chain([
        (AUDIT_KEY, settings.audit_key_path()),
        (CHECKPOINTS, settings.audit_checkpoint_path()),
        (CONFIG, settings.data_dir.join(CONFIG)),
    ]);
    for (name, target) in moves {
        let source = staging.join(name);
        if !source.exists() {
            continue;
        }
        if target.exists() && std::fs::read(&target)? != std::fs::read(&source)? {
            bail!("{} exists and differs from the backup's {name}", target.display());
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(&source, &target).with_context(|| format!("writing {}", target.display()))?;
    }
    for (prefix, directory) in [(UPLOADS, settings.uploads_dir()), (MODELS, settings.models_dir.clone())] {
        for (name, source) in files_under(&staging.join(prefix), prefix)? {
            let target = directory.join(name.trim_start_matches(prefix).trim_start_matches('/'));
            if target.exists() {
                continue;
            }
            std::fs::create_dir_all(target.parent().unwrap_or(&directory))?;
            std::fs::copy(&source, &target)?;
        }
    }
    Ok(())
}
