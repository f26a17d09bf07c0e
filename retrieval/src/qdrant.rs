//! A Qdrant server or cluster as the vector store, through `qdrant-client` (gRPC), for
//! customers who outgrow one machine. The collection is created with a configurable
//! shard number and replication factor; the access filter is a payload condition inside
//! Qdrant's search, exactly as with the embedded store.
//!
//! `qdrant-client` is async while [`VectorStore`] is synchronous (callers run it on
//! blocking threads): the store owns a small runtime, and each call runs its request there
//! and waits for the answer on a channel, which is safe from any thread.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use qdrant_client::Qdrant;
use qdrant_client::qdrant::point_id::PointIdOptions;
use qdrant_client::qdrant::points_selector::PointsSelectorOneOf;
use qdrant_client::qdrant::vector_output::Vector;
use qdrant_client::qdrant::{
    Condition, CountPointsBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder, DeletePointsBuilder,
    Distance, FieldType, Filter, GetPointsBuilder, PointId, PointStruct, PointsIdsList, Query, QueryPointsBuilder,
    SetPayloadPointsBuilder, UpsertPointsBuilder, Value, VectorParamsBuilder,
};

use crate::{Access, Error, Result, ScoredChunk, VectorPoint, VectorStore};

pub(crate) const DOCUMENT_FIELD: &str = "document";
pub(crate) const ACCESS_FIELD: &str = "access";

/// Where and how to keep the vectors in Qdrant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QdrantConfig {
    /// gRPC address, e.g. `http://qdrant-0:6334`.
    pub url: String,
    pub api_key: Option<String>,
    pub collection: String,
    /// Shards of a new collection (spread over the cluster's nodes).
    pub shards: u32,
    /// Copies of each shard (survives the loss of `replication - 1` nodes).
    pub replication: u32,
}

/// A client with the runtime its requests run on, shared by the vector and keyword stores.
pub(crate) struct Connection {
    client: Arc<Qdrant>,
    /// Always `Some` until dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

/// A runtime's own drop waits for its threads, which panics when the store is dropped inside
/// an async task (the last engine handle going away at the end of an `async fn`); its
/// requests are all answered by then, so nothing is left to wait for.
impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Connection {
    pub(crate) fn open(config: &QdrantConfig) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("qdrant-client")
            .enable_all()
            .build()?;
        let mut builder = Qdrant::from_url(&config.url).skip_compatibility_check();
        if let Some(key) = &config.api_key {
            builder = builder.api_key(key.clone());
        }
        let client = {
            let _guard = runtime.enter();
            Arc::new(builder.build().map_err(qdrant_error)?)
        };
        Ok(Self {
            client,
            runtime: Some(runtime),
        })
    }

    /// Runs one request on the connection's runtime and waits for its result.
    pub(crate) fn run<T, F, Fut>(&self, request: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Qdrant>) -> Fut,
        Fut: Future<Output = std::result::Result<T, qdrant_client::QdrantError>> + Send + 'static,
    {
        let (sender, receiver) = std::sync::mpsc::channel();
        let future = request(self.client.clone());
        let runtime = self
            .runtime
            .as_ref()
            .expect("the runtime lives as long as the connection");
        runtime.spawn(async move {
            let _ = sender.send(future.await);
        });
        receiver
            .recv()
            .map_err(|_| qdrant_error("the request was dropped"))?
            .map_err(qdrant_error)
    }

    /// Creates `collection` with `create` unless it exists, then a keyword index on each
    /// of `fields`.
    pub(crate) fn ensure_collection(
        &self,
        collection: &str,
        create: CreateCollectionBuilder,
        fields: &'static [&'static str],
    ) -> Result<()> {
        let collection = collection.to_owned();
        self.run(move |client| async move {
            if client.collection_exists(&collection).await? {
                return Ok(());
            }
            client.create_collection(create).await?;
            for field in fields {
                client
                    .create_field_index(
                        CreateFieldIndexCollectionBuilder::new(&collection, *field, FieldType::Keyword).wait(true),
                    )
                    .await?;
            }
            Ok(())
        })
    }

    /// Inserts or replaces `points`, in requests of a bounded size.
    pub(crate) fn upsert(&self, collection: &str, points: Vec<PointStruct>) -> Result<()> {
        const BATCH: usize = 256;
        let mut points = points.into_iter().peekable();
        while points.peek().is_some() {
            let batch: Vec<PointStruct> = points.by_ref().take(BATCH).collect();
            let collection = collection.to_owned();
            self.run(move |client| async move {
                client
                    .upsert_points(UpsertPointsBuilder::new(&collection, batch).wait(true))
                    .await
                    .map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Deletes the points `selector` picks (ids or a filter).
    pub(crate) fn delete(&self, collection: &str, selector: impl Into<PointsSelectorOneOf>) -> Result<()> {
        let (collection, selector) = (collection.to_owned(), selector.into());
        self.run(move |client| async move {
            client
                .delete_points(DeletePointsBuilder::new(&collection).points(selector).wait(true))
                .await
                .map(|_| ())
        })
    }

    /// The exact number of points `filter` matches (all without one).
    pub(crate) fn count(&self, collection: &str, filter: Option<Filter>) -> Result<u64> {
        let mut request = CountPointsBuilder::new(collection).exact(true);
        if let Some(filter) = filter {
            request = request.filter(filter);
        }
        let response = self.run(move |client| async move { client.count(request).await })?;
        Ok(response.result.map_or(0, |result| result.count))
    }

    /// Deletes `collection` (tests, evaluation scratch indexes).
    pub(crate) fn drop_collection(&self, collection: &str) -> Result<()> {
        let collection = collection.to_owned();
        self.run(move |client| async move { client.delete_collection(&collection).await.map(|_| ()) })
    }
}

/// Vectors in a Qdrant server or cluster.
pub struct QdrantVectorStore {
    connection: Connection,
    collection: String,
    dimension: usize,
}

impl std::fmt::Debug for QdrantVectorStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("QdrantVectorStore")
            .field("collection", &self.collection)
            .field("dimension", &self.dimension)
            .finish()
    }
}

pub(crate) fn qdrant_error(error: impl std::fmt::Display) -> Error {
    Error::VectorStore(format!("qdrant: {error}"))
}

pub(crate) fn document_filter(document: &str) -> Filter {
    Filter::must([Condition::matches(DOCUMENT_FIELD, document.to_owned())])
}

impl QdrantVectorStore {
    /// Connects and creates the collection (cosine vectors of `dimension`, keyword
    /// indexes on the document and access fields) if it does not exist.
    pub fn connect(config: &QdrantConfig, dimension: usize) -> Result<Self> {
        let connection = Connection::open(config)?;
        connection.ensure_collection(
            &config.collection,
            CreateCollectionBuilder::new(&config.collection)
                .vectors_config(VectorParamsBuilder::new(dimension as u64, Distance::Cosine))
                .shard_number(config.shards)
                .replication_factor(config.replication),
            &[DOCUMENT_FIELD, ACCESS_FIELD],
        )?;
        Ok(Self {
            connection,
            collection: config.collection.clone(),
            dimension,
        })
    }

    fn run<T, F, Fut>(&self, request: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Qdrant>) -> Fut,
        Fut: Future<Output = std::result::Result<T, qdrant_client::QdrantError>> + Send + 'static,
    {
        self.connection.run(request)
    }

    fn check_dimension(&self, vector: &[f32]) -> Result<()> {
        crate::vector::check_dimension(self.dimension, vector)
    }

    /// Deletes the whole collection (tests and re-indexing).
    pub fn drop_collection(&self) -> Result<()> {
        self.connection.drop_collection(&self.collection)
    }
}

/// Runs a nearest-neighbour `request` for the best `limit` points that `access` allows
/// (the filter inside Qdrant's search), as scored chunks.
pub(crate) fn query(
    connection: &Connection,
    request: QueryPointsBuilder,
    limit: usize,
    access: &Access,
) -> Result<Vec<ScoredChunk>> {
    let filter = match access {
        Access::Everything => None,
        Access::Tokens(tokens) if tokens.is_empty() => return Ok(Vec::new()),
        Access::Tokens(tokens) => Some(Filter::must([Condition::matches(ACCESS_FIELD, tokens.clone())])),
    };
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut request = request.limit(limit as u64);
    if let Some(filter) = filter {
        request = request.filter(filter);
    }
    let response = connection.run(move |client| async move { client.query(request).await })?;
    Ok(response
        .result
        .into_iter()
        .filter_map(|point| match point.id?.point_id_options? {
            PointIdOptions::Num(chunk_id) => Some(ScoredChunk {
                chunk_id,
                score: point.score,
            }),
            PointIdOptions::Uuid(_) => None,
        })
        .collect())
}

pub(crate) fn point_ids(chunk_ids: &[u64]) -> PointsIdsList {
    PointsIdsList {
        ids: chunk_ids.iter().map(|id| PointId::from(*id)).collect(),
    }
}

pub(crate) fn access_payload(access: &[String]) -> HashMap<String, Value> {
    HashMap::from([(ACCESS_FIELD.to_owned(), Value::from(access.to_vec()))])
}

impl VectorStore for QdrantVectorStore {
    fn upsert(&self, points: Vec<VectorPoint>) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        let mut structs = Vec::with_capacity(points.len());
        for point in points {
            self.check_dimension(&point.vector)?;
            let mut payload = access_payload(&point.access);
            payload.insert(DOCUMENT_FIELD.to_owned(), Value::from(point.document));
            structs.push(PointStruct::new(point.chunk_id, point.vector, payload));
        }
        self.connection.upsert(&self.collection, structs)
    }

    fn delete_document(&self, document: &str) -> Result<()> {
        self.connection.delete(&self.collection, document_filter(document))
    }

    fn delete_chunks(&self, chunk_ids: &[u64]) -> Result<()> {
        if chunk_ids.is_empty() {
            return Ok(());
        }
        self.connection.delete(&self.collection, point_ids(chunk_ids))
    }

    fn set_document_access(&self, document: &str, access: &[String]) -> Result<()> {
        let (collection, filter, payload) = (
            self.collection.clone(),
            document_filter(document),
            access_payload(access),
        );
        self.run(move |client| async move {
            client
                .set_payload(
                    SetPayloadPointsBuilder::new(&collection, payload)
                        .points_selector(filter)
                        .wait(true),
                )
                .await
                .map(|_| ())
        })
    }

    fn search(&self, vector: &[f32], limit: usize, access: &Access) -> Result<Vec<ScoredChunk>> {
        self.check_dimension(vector)?;
        let request = QueryPointsBuilder::new(&self.collection).query(Query::new_nearest(vector.to_vec()));
        query(&self.connection, request, limit, access)
    }

    fn vectors(&self, chunk_ids: &[u64]) -> Result<Vec<(u64, Vec<f32>)>> {
        if chunk_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<PointId> = chunk_ids.iter().map(|id| PointId::from(*id)).collect();
        let request = GetPointsBuilder::new(&self.collection, ids)
            .with_vectors(true)
            .with_payload(false);
        let response = self.run(move |client| async move { client.get_points(request).await })?;
        Ok(response
            .result
            .into_iter()
            .filter_map(|point| {
                let Some(PointIdOptions::Num(id)) = point.id?.point_id_options else {
                    return None;
                };
                match point.vectors?.get_vector()? {
                    Vector::Dense(vector) => Some((id, vector.data)),
                    _ => None,
                }
            })
            .collect())
    }

    fn count(&self) -> Result<usize> {
        Ok(self.connection.count(&self.collection, None)? as usize)
    }

    fn discard(&self) -> Result<()> {
        self.drop_collection()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::conformance;

    /// Before: `eval retrieval` with both stores on Qdrant printed its report and then
    /// panicked ("Cannot drop a runtime in a context where blocking is not allowed") when its
    /// engine went away at the end of an async function. Opening connects lazily, so no
    /// server is needed.
    #[test]
    fn regression_dropping_a_connection_inside_async_code_panicked() {
        let config = QdrantConfig {
            url: "http://127.0.0.1:9".to_owned(),
            api_key: None,
            collection: "unused".to_owned(),
            shards: 1,
            replication: 1,
        };
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let connection = Connection::open(&config).unwrap();
            drop(connection);
        });
    }

    /// Runs the conformance suite against a real Qdrant when `QDRANT_URL` is set (its gRPC
    /// address, e.g. `http://127.0.0.1:6334`); otherwise there is nothing to run it on.
    #[test]
    fn qdrant_store_conforms() {
        let Ok(url) = std::env::var("QDRANT_URL") else {
            eprintln!(
                "WARNING: the Qdrant server conformance run DID NOT RUN: set QDRANT_URL to a Qdrant server's gRPC \
                 address (README, Scaling out)"
            );
            return;
        };
        let config = QdrantConfig {
            url,
            api_key: std::env::var("QDRANT_API_KEY").ok(),
            collection: format!("conformance-{}", std::process::id()),
            shards: 2,
            replication: 1,
        };
        let store = QdrantVectorStore::connect(&config, 16).unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| conformance::run(&store, 16)));
        store.drop_collection().unwrap();
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }
}
