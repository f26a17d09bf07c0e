//! The ingest queue: every file is a persistent job (queued, parsing, embedding, indexed or
//! failed with its reason). The command line runs its jobs inline; the server queues
//! uploads and runs them on a small pool of workers. Several nodes may share the queue:
//! each running job names its node and beats while it runs, so a node that restarts
//! queues again only its own interrupted jobs, and any node queues again a job whose node
//! stopped beating for [`JOB_LEASE`].

use std::path::Path;

use anyhow::Context;
use rand::Rng;

use super::{Engine, IngestOptions, IngestOutcome, IngestStatus};
use crate::Result;
use crate::store::jobs::{self, Job, JobState, JobStatus, NewJob};

pub(super) fn new_document_id() -> String {
    hex::encode(rand::rng().random::<[u8; 8]>())
}

/// How often a running job's heartbeat is written.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(30);
/// How long a running job may go without a heartbeat before another node takes it over.
pub const JOB_LEASE: std::time::Duration = std::time::Duration::from_secs(600);

/// This node's name in the job queue: kept in the data directory (`node-id`), so a
/// restarted node knows its own interrupted jobs. A data directory that cannot hold it
/// gets a name for this process only (its interrupted jobs wait for the lease instead).
pub(super) fn node_id(data_dir: &Path) -> String {
    let path = data_dir.join("node-id");
    if let Ok(id) = std::fs::read_to_string(&path)
        && !id.trim().is_empty()
    {
        return id.trim().to_owned();
    }
    let id = hex::encode(rand::rng().random::<[u8; 8]>());
    if let Err(error) = std::fs::create_dir_all(data_dir).and_then(|()| std::fs::write(&path, &id)) {
        tracing::warn!("cannot keep the node id in {}: {error}", path.display());
    }
    id
}

/// Stops a background task when dropped (a job's heartbeat ends with the job, even when it
/// panics).
struct StopOnDrop(tokio::task::JoinHandle<()>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Timestamps before this are stale heartbeats (in the stored format).
fn stale_before() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    crate::retention::iso_time(now.saturating_sub(JOB_LEASE).as_secs())
}

/// A path as jobs and documents record it.
pub(super) fn source_of(path: &Path) -> String {
    path.canonicalize()
        .unwrap_or_else(|_| path.to_owned())
        .to_string_lossy()
        .into_owned()
}

impl Engine {
    /// Ingests one file as a persistent job, now; the job row records failure reasons.
    pub async fn ingest_file(&self, path: &Path, options: &IngestOptions) -> Result<IngestOutcome> {
        let source = source_of(path);
        let bytes = tokio::fs::read(path)
            .await
            .with_context(|| format!("reading {}", path.display()));
        self.ingest_bytes(&source, bytes, options).await
    }

    /// Ingests `bytes` known as `source` (a path; its extension decides the parser) now.
    /// A read error is recorded on the job like any other failure.
    pub async fn ingest_bytes(
        &self,
        source: &str,
        bytes: anyhow::Result<Vec<u8>>,
        options: &IngestOptions,
    ) -> Result<IngestOutcome> {
        let id = self
            .insert_job(source, None, None, JobState::Parsing, options, None)
            .await?;
        let job = Job {
            id,
            source: source.to_owned(),
            file_path: None,
            name: None,
            access: options.access.clone(),
            actor: options.actor.clone(),
            reindex: false,
            target_document: None,
        };
        self.run_job(job, bytes).await
    }

    pub(super) async fn insert_job(
        &self,
        source: &str,
        name: Option<&str>,
        file_path: Option<&str>,
        state: JobState,
        options: &IngestOptions,
        target_document: Option<&str>,
    ) -> Result<i64> {
        let job = NewJob {
            source,
            name,
            file_path,
            state,
            access: &options.access,
            actor: &options.actor,
            reindex: false,
            target_document,
            claimed_by: (state != JobState::Queued).then_some(&*self.node),
        };
        Ok(jobs::insert(&self.store, &job).await?)
    }

    /// Queues a job for a file on disk (the server's `--ingest`); a worker ingests it.
    pub async fn enqueue_path(&self, path: &Path, options: &IngestOptions) -> Result<i64> {
        let job = self
            .insert_job(&source_of(path), None, None, JobState::Queued, options, None)
            .await?;
        self.jobs_queued.notify_one();
        Ok(job)
    }

    /// Starts `count` workers that run queued jobs until the process ends.
    pub fn spawn_ingest_workers(&self, count: usize) {
        for worker in 0..count {
            let engine = self.clone();
            tokio::spawn(async move {
                // Abandoned jobs are looked for once a heartbeat period, not on every idle
                // wake-up: each look is a write over the job table.
                let mut looked = std::time::Instant::now();
                loop {
                    match jobs::claim(&engine.store, &engine.node).await {
                        Ok(Some(job)) => {
                            let bytes = job_bytes(&job).await;
                            let name = job.name.clone().unwrap_or_else(|| job.source.clone());
                            match engine.run_job(job, bytes).await {
                                Ok(outcome) => tracing::info!(worker, name, status = %outcome.status, "ingested"),
                                Err(error) => tracing::warn!(worker, name, "ingest failed: {error:#}"),
                            }
                            if let Err(error) = engine.optimize().await {
                                tracing::warn!("optimising the vector index: {error:#}");
                            }
                        }
                        Ok(None) => {
                            if looked.elapsed() >= HEARTBEAT {
                                looked = std::time::Instant::now();
                                if let Err(error) = engine.requeue_interrupted().await {
                                    tracing::warn!("looking for abandoned ingest jobs: {error:#}");
                                }
                            }
                            let _ =
                                tokio::time::timeout(std::time::Duration::from_secs(5), engine.jobs_queued.notified())
                                    .await;
                        }
                        Err(error) => {
                            tracing::error!("reading the job queue: {error:#}");
                            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                        }
                    }
                }
            });
        }
    }

    /// Puts back on the queue the jobs a crash or kill of this node interrupted, and those
    /// of other nodes that stopped beating (server start, and idle workers).
    pub async fn requeue_interrupted(&self) -> Result<u64> {
        let requeued = jobs::requeue_interrupted(&self.store, &self.node, &stale_before()).await?;
        if requeued > 0 {
            tracing::info!(requeued, "interrupted ingest jobs queued again");
            self.jobs_queued.notify_waiters();
        }
        Ok(requeued)
    }

    /// Runs, inline and in order, every job a crash or kill interrupted and every queued
    /// job (the command line). Indexes are written per document, so a half-written
    /// document is replaced whole.
    pub async fn resume_jobs(&self) -> Result<Vec<(String, Result<IngestOutcome>)>> {
        jobs::requeue_interrupted(&self.store, &self.node, &stale_before()).await?;
        let mut resumed = Vec::new();
        while let Some(job) = jobs::claim(&self.store, &self.node).await? {
            tracing::info!(job = job.id, source = job.source, "resuming interrupted ingest");
            let bytes = job_bytes(&job).await;
            let source = job.name.clone().unwrap_or_else(|| job.source.clone());
            let outcome = self.run_job(job, bytes).await;
            resumed.push((source, outcome));
        }
        Ok(resumed)
    }

    /// The most recent jobs, newest first.
    pub async fn jobs(&self, limit: i64) -> Result<Vec<JobStatus>> {
        Ok(jobs::recent(&self.store, limit).await?)
    }

    /// Runs a claimed job and records its outcome on the job row.
    pub(super) async fn run_job(&self, job: Job, bytes: anyhow::Result<Vec<u8>>) -> Result<IngestOutcome> {
        let (store, id) = (self.store.clone(), job.id);
        let _heartbeat = StopOnDrop(tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT).await;
                if let Err(error) = jobs::touch(&store, id).await {
                    tracing::warn!(job = id, "writing the job's heartbeat: {error:#}");
                }
            }
        }));
        let result = match bytes {
            Ok(bytes) => self.ingest_job(&job, bytes).await,
            Err(error) => Err(error.into()),
        };
        let metrics = crate::metrics::metrics();
        match &result {
            Ok(outcome) => {
                if matches!(outcome.status, IngestStatus::Indexed | IngestStatus::Updated) {
                    metrics
                        .ingested_documents
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    metrics
                        .ingested_pages
                        .fetch_add(outcome.pages as u64, std::sync::atomic::Ordering::Relaxed);
                    metrics
                        .ingest_micros
                        .fetch_add((outcome.seconds * 1e6) as u64, std::sync::atomic::Ordering::Relaxed);
                }
                jobs::finish(&self.store, job.id, &outcome.document_id, &outcome.detail()).await?;
                if matches!(outcome.status, IngestStatus::Unchanged | IngestStatus::Duplicate) && !job.reindex {
                    remove_stored(job.file_path.as_deref()).await;
                }
            }
            Err(error) => {
                metrics
                    .ingest_failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                jobs::fail(&self.store, job.id, &format!("{error:#}")).await?;
                if !job.reindex {
                    remove_stored(job.file_path.as_deref()).await;
                }
            }
        }
        result
    }
}

async fn job_bytes(job: &Job) -> anyhow::Result<Vec<u8>> {
    let path = job.file_path.as_deref().unwrap_or(&job.source);
    tokio::fs::read(path)
        .await
        .with_context(|| format!("reading the stored file {path}"))
}

/// Removes a stored upload; a file already gone is fine.
pub(super) async fn remove_stored(path: Option<&str>) {
    if let Some(path) = path
        && let Err(error) = tokio::fs::remove_file(path).await
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path, "removing a stored upload: {error}");
    }
}
