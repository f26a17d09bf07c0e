//! Whether this node can serve: what a load balancer or orchestrator asks before sending it
//! traffic. Liveness needs nothing; readiness needs the database, both indexes and the
//! embedder. The generator is reported but not required: without it questions are
//! answered by labelled extracts.

use super::Engine;

/// One dependency's state.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// What is wrong, or what was found ("1234 chunks").
    pub detail: String,
    /// Whether the node is unready without it.
    pub required: bool,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub ready: bool,
    pub checks: Vec<Check>,
}

impl Engine {
    /// Checks every dependency; loads the models when they are not loaded yet (the server
    /// loads them at start, so a probe after that finds them loaded).
    pub async fn readiness(&self) -> Readiness {
        let mut checks = Vec::new();
        let outcome = |name, required, result: anyhow::Result<String>| match result {
            Ok(detail) => Check {
                name,
                ok: true,
                detail,
                required,
            },
            Err(error) => Check {
                name,
                ok: false,
                detail: format!("{error:#}"),
                required,
            },
        };
        let database = self
            .store
            .document_count()
            .await
            .map(|count| format!("{count} documents"));
        checks.push(outcome("database", true, database));
        let keyword = self.keyword.clone();
        let counted = tokio::task::spawn_blocking(move || keyword.count())
            .await
            .map_err(anyhow::Error::from)
            .and_then(|count| Ok(format!("{} chunks", count?)));
        checks.push(outcome("keyword_index", true, counted));
        let vectors = self.vectors.clone();
        let counted = tokio::task::spawn_blocking(move || vectors.count())
            .await
            .map_err(anyhow::Error::from)
            .and_then(|count| Ok(format!("{} vectors", count?)));
        checks.push(outcome("vector_store", true, counted));
        let models = self.models.clone();
        let (embedder, generator) = tokio::task::spawn_blocking(move || {
            (
                models.embedder().map(|_| "loaded".to_owned()),
                models.generator().map(|_| "loaded".to_owned()),
            )
        })
        .await
        .unwrap_or_else(|error| (Err(error.into()), Err(anyhow::anyhow!("the model check stopped"))));
        checks.push(outcome("embedder", true, embedder));
        checks.push(outcome("generator", false, generator));
        Readiness {
            ready: checks.iter().all(|check| check.ok || !check.required),
            checks,
        }
    }
}
