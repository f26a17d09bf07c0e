//! The embedded default vector store: qdrant-edge, Qdrant's in-process engine, on disk.
//!
//! qdrant-edge 0.7 is synchronous, has no background optimiser and does not replay its
//! write-ahead log on load, so this wrapper serialises writes, flushes after every batch
//! (a batch that returned is durable) and leaves `optimize()` to the caller after ingest.
//! Nor does it truncate that log, so opening the store deletes what it would never read.
//! The access filter is a payload condition evaluated inside the engine's search.

use std::path::Path;
use std::sync::Mutex;

use qdrant_edge::external::serde_json::json;
use qdrant_edge::{
    Condition, CountRequest, CreateIndex, DEFAULT_VECTOR_NAME, Distance, EdgeConfig, EdgeShard, EdgeVectorParams,
    FieldCondition, FieldIndexOperations, Filter, JsonPath, Match, NamedQuery, Payload, PayloadFieldSchema, PayloadOps,
    PayloadSchemaType, PointId, PointInsertOperations, PointOperations, PointStruct, QueryEnum, QueryRequest,
    ScoringQuery, SetPayloadOp, UpdateOperation, VectorInternal, VectorStructInternal, WalOptions,
    WithPayloadInterface, WithVector,
};

use crate::{Access, Error, Result, ScoredChunk, VectorPoint, VectorStore};

const DOCUMENT_FIELD: &str = "document";
const ACCESS_FIELD: &str = "access";
/// qdrant-edge's default size of a write-ahead log segment.
const LOG_SEGMENT_BYTES: usize = 32 * 1024 * 1024;

/// qdrant-edge shard holding one dense vector per chunk.
pub struct EdgeVectorStore {
    shard: EdgeShard,
    dimension: usize,
    /// Serialises updates, flushes and optimisation (qdrant-edge's flush panics otherwise).
    write_lock: Mutex<()>,
    /// Opened beside another process that writes: every write fails.
    read_only: bool,
}

impl std::fmt::Debug for EdgeVectorStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("EdgeVectorStore")
            .field("dimension", &self.dimension)
            .finish()
    }
}

fn edge_error(error: impl std::fmt::Display) -> Error {
    Error::VectorStore(error.to_string())
}

/// Deletes the write-ahead log's closed segments but the newest. qdrant-edge 0.7 writes
/// every update to its log and never reads it back or truncates it (segments are flushed
/// instead), so the log grew by 2 GB per million chunks written, and opening the store mapped
/// all of it into memory. The newest closed segment stays: the log numbers its next entry
/// after it, and qdrant ignores updates numbered below a point's version. Nothing is
/// touched while another process holds the log.
fn trim_write_ahead_log(log: &Path) -> Result<()> {
    let Ok(handle) = std::fs::File::open(log) else {
        return Ok(());
    };
    if handle.try_lock().is_err() {
        return Ok(());
    }
    let mut closed: Vec<(u64, std::path::PathBuf)> = std::fs::read_dir(log)?
        .flatten()
        .filter_map(|entry| {
            let start = entry.file_name().to_str()?.strip_prefix("closed-")?.parse().ok()?;
            Some((start, entry.path()))
        })
        .collect();
    closed.sort_unstable();
    closed.pop();
    for (_, path) in closed {
        std::fs::remove_file(path)?;
    }
    Ok(())
}

fn json_path(path: &str) -> JsonPath {
    path.parse().expect("static JSON path is valid")
}

impl EdgeVectorStore {
    /// Opens the shard in `directory`, creating it with cosine vectors of `dimension`.
    pub fn open(directory: &Path, dimension: usize) -> Result<Self> {
        Self::load(directory, dimension, false, LOG_SEGMENT_BYTES)
    }

    /// Opens the store for searching only, beside a process that writes it (a running
    /// server): nothing is written, not even the payload indexes, so searches filter by
    /// scanning payloads. They see what the writer had flushed when this opened.
    pub fn open_read_only(directory: &Path, dimension: usize) -> Result<Self> {
        Self::load(directory, dimension, true, LOG_SEGMENT_BYTES)
    }

    fn load(directory: &Path, dimension: usize, read_only: bool, log_segment_bytes: usize) -> Result<Self> {
        std::fs::create_dir_all(directory)?;
        if !read_only {
            trim_write_ahead_log(&directory.join("wal"))?;
        }
        let config = EdgeConfig::builder()
            .vector(
                DEFAULT_VECTOR_NAME,
                EdgeVectorParams::builder(dimension, Distance::Cosine).build(),
            )
            .wal_options(WalOptions {
                segment_capacity: log_segment_bytes,
                ..WalOptions::default()
            })
            .build();
        let shard = EdgeShard::load(directory, Some(config)).map_err(|error| {
            // qdrant-edge locks its write-ahead log: another process has the store open.
            let message = error.to_string();
            if message.contains("WAL") && message.contains("WouldBlock") {
                Error::Locked
            } else {
                edge_error(error)
            }
        })?;
        let store = Self {
            shard,
            dimension,
            write_lock: Mutex::new(()),
            read_only,
        };
        if read_only {
            return Ok(store);
        }
        // Indexes are not persisted by qdrant-edge 0.7: declare them on every open.
        for field in [DOCUMENT_FIELD, ACCESS_FIELD] {
            store.update(UpdateOperation::FieldIndexOperation(FieldIndexOperations::CreateIndex(
                CreateIndex {
                    field_name: json_path(field),
                    field_schema: Some(PayloadFieldSchema::FieldType(PayloadSchemaType::Keyword)),
                },
            )))?;
        }
        Ok(store)
    }

    fn update(&self, operation: UpdateOperation) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        let _guard = self.write_lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.shard.update(operation).map_err(edge_error)?;
        self.shard.flush();
        Ok(())
    }

    fn check_dimension(&self, vector: &[f32]) -> Result<()> {
        crate::vector::check_dimension(self.dimension, vector)
    }
}

impl VectorStore for EdgeVectorStore {
    fn upsert(&self, points: Vec<VectorPoint>) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        let mut persisted = Vec::with_capacity(points.len());
        for point in points {
            self.check_dimension(&point.vector)?;
            let payload = json!({ DOCUMENT_FIELD: point.document, ACCESS_FIELD: point.access });
            persisted.push(PointStruct::new(point.chunk_id, point.vector, payload).into());
        }
        self.update(UpdateOperation::PointOperation(PointOperations::UpsertPoints(
            PointInsertOperations::PointsList(persisted),
        )))
    }

    fn delete_document(&self, document: &str) -> Result<()> {
        let filter = Filter::new_must(Condition::Field(FieldCondition::new_match(
            json_path(DOCUMENT_FIELD),
            Match::from(document.to_owned()),
        )));
        self.update(UpdateOperation::PointOperation(PointOperations::DeletePointsByFilter(
            filter,
        )))
    }

    fn delete_chunks(&self, chunk_ids: &[u64]) -> Result<()> {
        if chunk_ids.is_empty() {
            return Ok(());
        }
        self.update(UpdateOperation::PointOperation(PointOperations::DeletePoints {
            ids: chunk_ids.iter().map(|id| PointId::NumId(*id)).collect(),
        }))
    }

    fn set_document_access(&self, document: &str, access: &[String]) -> Result<()> {
        let payload: Payload = match json!({ ACCESS_FIELD: access }) {
            qdrant_edge::external::serde_json::Value::Object(map) => map.into(),
            _ => unreachable!("a JSON object literal"),
        };
        let filter = Filter::new_must(Condition::Field(FieldCondition::new_match(
            json_path(DOCUMENT_FIELD),
            Match::from(document.to_owned()),
        )));
        self.update(UpdateOperation::PayloadOperation(PayloadOps::SetPayload(
            SetPayloadOp {
                payload,
                points: None,
                filter: Some(filter),
                key: None,
            },
        )))
    }

    fn search(&self, vector: &[f32], limit: usize, access: &Access) -> Result<Vec<ScoredChunk>> {
        self.check_dimension(vector)?;
        let filter = match access {
            Access::Everything => None,
            Access::Tokens(tokens) if tokens.is_empty() => return Ok(Vec::new()),
            Access::Tokens(tokens) => Some(Filter::new_must(Condition::Field(FieldCondition::new_match(
                json_path(ACCESS_FIELD),
                Match::from(tokens.clone()),
            )))),
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let points = self
            .shard
            .query(QueryRequest {
                prefetches: vec![],
                query: Some(ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery::default_dense(
                    vector.to_vec(),
                )))),
                filter,
                score_threshold: None,
                limit,
                offset: 0,
                params: None,
                with_vector: WithVector::Bool(false),
                with_payload: WithPayloadInterface::Bool(false),
            })
            .map_err(edge_error)?;
        Ok(points
            .into_iter()
            .filter_map(|point| match point.id {
                PointId::NumId(chunk_id) => Some(ScoredChunk {
                    chunk_id,
                    score: point.score,
                }),
                PointId::Uuid(_) => None,
            })
            .collect())
    }

    fn count(&self) -> Result<usize> {
        self.shard
            .count(CountRequest {
                filter: None,
                exact: true,
            })
            .map_err(edge_error)
    }

    fn vectors(&self, chunk_ids: &[u64]) -> Result<Vec<(u64, Vec<f32>)>> {
        let ids: Vec<PointId> = chunk_ids.iter().map(|id| PointId::NumId(*id)).collect();
        let records = self
            .shard
            .retrieve(
                &ids,
                Some(WithPayloadInterface::Bool(false)),
                Some(WithVector::Bool(true)),
            )
            .map_err(edge_error)?;
        Ok(records
            .into_iter()
            .filter_map(|record| {
                let PointId::NumId(id) = record.id else { return None };
                let vector = match record.vector? {
                    VectorStructInternal::Single(vector) => vector,
                    VectorStructInternal::Named(mut named) => match named.remove(DEFAULT_VECTOR_NAME)? {
                        VectorInternal::Dense(vector) => vector,
                        _ => return None,
                    },
                    VectorStructInternal::MultiDense(_) => return None,
                };
                Some((id, vector))
            })
            .collect())
    }

    fn optimize(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        let _guard = self.write_lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.shard.optimize().map_err(edge_error)?;
        self.shard.flush();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::conformance;

    #[test]
    fn edge_store_conforms() {
        let directory = tempfile::tempdir().unwrap();
        let store = EdgeVectorStore::open(directory.path(), 16).unwrap();
        conformance::run(&store, 16);
    }

    #[test]
    fn regression_write_ahead_log_grew_without_bound() {
        let directory = tempfile::tempdir().unwrap();
        let log = directory.path().join("wal");
        let closed = || {
            std::fs::read_dir(&log)
                .unwrap()
                .flatten()
                .filter(|entry| entry.file_name().to_string_lossy().starts_with("closed-"))
                .count()
        };
        let point = |chunk_id: u64, value: f32| VectorPoint {
            chunk_id,
            document: format!("d{chunk_id}"),
            vector: (0..8).map(|index| if index == 0 { value } else { 0.1 }).collect(),
            access: vec!["public".into()],
        };
        // Small log segments, so that a few writes close several of them.
        let open = || EdgeVectorStore::load(directory.path(), 8, false, 64 * 1024).unwrap();
        {
            let store = open();
            for batch in 0..100 {
                store
                    .upsert((0..50).map(|id| point(batch * 50 + id, 1.0)).collect())
                    .unwrap();
            }
        }
        let files: Vec<_> = std::fs::read_dir(&log)
            .unwrap()
            .flatten()
            .map(|entry| (entry.file_name(), entry.metadata().unwrap().len()))
            .collect();
        assert!(
            closed() > 2,
            "the test wrote too little to close log segments: {files:?}"
        );
        {
            let store = open();
            assert_eq!(closed(), 1);
            assert_eq!(store.count().unwrap(), 5000);
            // Updates after the trim still win over what the points held.
            store.upsert(vec![point(7, -1.0)]).unwrap();
            store.delete_document("d8").unwrap();
        }
        let store = open();
        assert_eq!(store.count().unwrap(), 4999);
        let query: Vec<f32> = (0..8).map(|index| if index == 0 { -1.0 } else { 0.1 }).collect();
        let hits = store
            .search(&query, 1, &Access::member_of(&["public".to_owned()]))
            .unwrap();
        assert_eq!(hits[0].chunk_id, 7);
    }

    #[test]
    fn points_survive_reopen() {
        let directory = tempfile::tempdir().unwrap();
        {
            let store = EdgeVectorStore::open(directory.path(), 8).unwrap();
            store
                .upsert(vec![VectorPoint {
                    chunk_id: 9,
                    document: "d".into(),
                    vector: vec![1.0; 8],
                    access: vec!["public".into()],
                }])
                .unwrap();
        }
        let store = EdgeVectorStore::open(directory.path(), 8).unwrap();
        assert_eq!(store.count().unwrap(), 1);
        let hits = store.search(&[1.0; 8], 1, &Access::member_of(&[])).unwrap();
        assert_eq!(hits[0].chunk_id, 9);
    }
}
