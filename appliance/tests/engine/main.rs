//! The engine's own test suite: a fake embedder, a scripted generator, the in-memory
//! vector store and a temporary database drive the ingest and answer paths in seconds,
//! without model files. The end-to-end tests in `tests/` keep the real models.

mod answers;
mod blocking;
mod fakes;
mod http_permissions;
mod ingest;
mod permissions;
mod probes;

use std::sync::Arc;

use appliance::acl::{Acl, DocumentAccess, Role};
use appliance::engine::{Engine, IngestOptions, IngestOutcome, Parts};
use appliance::models::Models;
use appliance::settings::Settings;
use appliance::store::Store;
use appliance::store::audit::{self, Entry};
use fakes::{FakeEmbedder, HeldVectorStore, Script, ScriptedGenerator};
use retrieval::KeywordIndex;

/// An engine over fakes, in a temporary data directory.
pub struct TestEngine {
    pub engine: Engine,
    pub vectors: Arc<HeldVectorStore>,
    pub generator: Option<ScriptedGenerator>,
    _directory: tempfile::TempDir,
}

/// Settings every test starts from: the defaults, in `directory`.
pub fn settings(directory: &std::path::Path) -> Settings {
    Settings::new(directory.join("data"), directory.join("models")).expect("default settings")
}

impl TestEngine {
    /// With a generator that plays `scripts` (`None`: no generator at all).
    pub async fn new(scripts: Option<Vec<Script>>) -> Self {
        Self::with_settings(scripts, |_| {}).await
    }

    pub async fn with_settings(scripts: Option<Vec<Script>>, change: impl FnOnce(&mut Settings)) -> Self {
        let directory = tempfile::tempdir().unwrap();
        let mut settings = settings(directory.path());
        change(&mut settings);
        let store = Store::open(&settings.database_path()).await.unwrap();
        let vectors = Arc::new(HeldVectorStore::new());
        let generator = scripts.map(ScriptedGenerator::new);
        let models = Models::preloaded(
            Arc::new(FakeEmbedder),
            generator
                .clone()
                .map(|generator| Box::new(generator) as Box<dyn llm::Generator>),
        );
        let engine = Engine::from_parts(Parts {
            settings,
            store,
            keyword: Arc::new(KeywordIndex::in_memory(&[]).unwrap()),
            vectors: vectors.clone(),
            models,
        });
        Self {
            engine,
            vectors,
            generator,
            _directory: directory,
        }
    }

    /// Ingests `text` as a markdown file named `source`, readable by `groups` (public when
    /// empty), as the operator.
    pub async fn ingest(&self, source: &str, text: &str, groups: &[&str]) -> IngestOutcome {
        let options = options(groups, "cli");
        self.engine
            .ingest_bytes(source, Ok(text.as_bytes().to_vec()), &options)
            .await
            .unwrap_or_else(|error| panic!("ingesting {source}: {error:#}"))
    }

    /// The texts of the passages `reader` finds for `query`, best first.
    pub async fn texts(&self, query: &str, reader: &Acl) -> Vec<String> {
        self.engine
            .search(query, reader, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|hit| hit.text)
            .collect()
    }

    /// The audit rows of `action`, oldest first.
    pub async fn audit(&self, action: &str) -> Vec<Entry> {
        let mut entries = audit::entries(self.engine.store(), "", action, 10_000).await.unwrap();
        entries.retain(|entry| entry.action == action);
        entries.reverse();
        entries
    }
}

pub fn options(groups: &[&str], actor: &str) -> IngestOptions {
    let groups: Vec<String> = groups.iter().map(|group| (*group).to_owned()).collect();
    IngestOptions {
        access: DocumentAccess::new(groups.clone(), groups.is_empty()),
        actor: actor.to_owned(),
    }
}

pub fn acl(role: Role, groups: &[&str]) -> Acl {
    let groups: Vec<String> = groups.iter().map(|group| (*group).to_owned()).collect();
    Acl::new(role, &groups)
}
