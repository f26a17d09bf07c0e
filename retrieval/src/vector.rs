//! The `VectorStore` seam, its in-memory implementation and the conformance suite every
//! implementation must pass.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::{Access, Error, Result, ScoredChunk};

/// One embedded chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorPoint {
    pub chunk_id: u64,
    pub document: String,
    pub vector: Vec<f32>,
    /// Access tokens, see [`crate::access`].
    pub access: Vec<String>,
}

/// Nearest-neighbour search over chunk vectors with the permission filter inside.
///
/// Scores are cosine similarities (higher is closer). Implementations must apply `access`
/// before ranking: a search returns the `limit` best chunks the caller may see.
pub trait VectorStore: Send + Sync {
    /// Inserts or replaces points.
    fn upsert(&self, points: Vec<VectorPoint>) -> Result<()>;
    /// Removes every point of `document`.
    fn delete_document(&self, document: &str) -> Result<()>;
    /// Removes the points with these chunk ids (ids not stored are ignored).
    fn delete_chunks(&self, chunk_ids: &[u64]) -> Result<()>;
    /// Replaces the access tokens of every point of `document`.
    fn set_document_access(&self, document: &str, access: &[String]) -> Result<()>;
    /// The `limit` nearest points to `vector` that `access` allows.
    fn search(&self, vector: &[f32], limit: usize, access: &Access) -> Result<Vec<ScoredChunk>>;
    /// Number of points stored.
    fn count(&self) -> Result<usize>;
    /// The stored vectors of those of `chunk_ids` that exist, in no particular order: what
    /// a backup keeps so that a restore need not embed everything again.
    fn vectors(&self, chunk_ids: &[u64]) -> Result<Vec<(u64, Vec<f32>)>>;
    /// Builds search structures after a batch of writes (a no-op where not needed).
    fn optimize(&self) -> Result<()> {
        Ok(())
    }
    /// Removes the whole store from a server shared with others (evaluation runs use a
    /// scratch one); a no-op for a store that lives in a directory removed with it.
    fn discard(&self) -> Result<()> {
        Ok(())
    }
}

/// `InvalidVector` unless `vector` has `expected` dimensions.
pub(crate) fn check_dimension(expected: usize, vector: &[f32]) -> Result<()> {
    if vector.len() != expected {
        return Err(Error::InvalidVector {
            expected,
            actual: vector.len(),
        });
    }
    Ok(())
}

/// Brute-force store in memory: for unit tests and as the reference implementation.
#[derive(Debug)]
pub struct MemoryVectorStore {
    dimension: usize,
    points: RwLock<HashMap<u64, VectorPoint>>,
}

impl MemoryVectorStore {
    pub fn new(dimension: usize) -> Self {
        Self {
            dimension,
            points: RwLock::new(HashMap::new()),
        }
    }
}

fn cosine(left: &[f32], right: &[f32]) -> f32 {
    let dot: f32 = left.iter().zip(right).map(|(a, b)| a * b).sum();
    let norms = left.iter().map(|a| a * a).sum::<f32>().sqrt() * right.iter().map(|b| b * b).sum::<f32>().sqrt();
    dot / norms.max(f32::EPSILON)
}

impl VectorStore for MemoryVectorStore {
    fn upsert(&self, points: Vec<VectorPoint>) -> Result<()> {
        for point in &points {
            check_dimension(self.dimension, &point.vector)?;
        }
        let mut stored = self.points.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        for point in points {
            stored.insert(point.chunk_id, point);
        }
        Ok(())
    }

    fn delete_document(&self, document: &str) -> Result<()> {
        let mut stored = self.points.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        stored.retain(|_, point| point.document != document);
        Ok(())
    }

    fn delete_chunks(&self, chunk_ids: &[u64]) -> Result<()> {
        let mut stored = self.points.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        for chunk_id in chunk_ids {
            stored.remove(chunk_id);
        }
        Ok(())
    }

    fn set_document_access(&self, document: &str, access: &[String]) -> Result<()> {
        let mut stored = self.points.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        for point in stored.values_mut().filter(|point| point.document == document) {
            point.access = access.to_vec();
        }
        Ok(())
    }

    fn search(&self, vector: &[f32], limit: usize, access: &Access) -> Result<Vec<ScoredChunk>> {
        if vector.len() != self.dimension {
            return Err(Error::InvalidVector {
                expected: self.dimension,
                actual: vector.len(),
            });
        }
        let stored = self.points.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut hits: Vec<ScoredChunk> = stored
            .values()
            .filter(|point| access.allows(&point.access))
            .map(|point| ScoredChunk {
                chunk_id: point.chunk_id,
                score: cosine(vector, &point.vector),
            })
            .collect();
        hits.sort_by(|left, right| {
            right
                .score
                .total_cmp(&left.score)
                .then(left.chunk_id.cmp(&right.chunk_id))
        });
        hits.truncate(limit);
        Ok(hits)
    }

    fn count(&self) -> Result<usize> {
        Ok(self
            .points
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len())
    }

    fn vectors(&self, chunk_ids: &[u64]) -> Result<Vec<(u64, Vec<f32>)>> {
        let stored = self.points.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(chunk_ids
            .iter()
            .filter_map(|id| stored.get(id).map(|point| (*id, point.vector.clone())))
            .collect())
    }
}

/// The behaviour every [`VectorStore`] must show. `store` must be empty and use `dimension`.
pub mod conformance {
    use super::*;
    use crate::access::{chunk_tokens, group_token};

    fn unit(dimension: usize, hot: usize) -> Vec<f32> {
        let mut vector = vec![0.01; dimension];
        vector[hot % dimension] = 1.0;
        vector
    }

    fn point(id: u64, document: &str, vector: Vec<f32>, groups: &[&str], public: bool) -> VectorPoint {
        let groups: Vec<String> = groups.iter().map(|group| (*group).to_owned()).collect();
        VectorPoint {
            chunk_id: id,
            document: document.to_owned(),
            vector,
            access: chunk_tokens(&groups, public),
        }
    }

    /// Runs every check against `store`; panics with a message on the first failure.
    pub fn run(store: &dyn VectorStore, dimension: usize) {
        assert!(dimension >= 8, "the suite needs at least 8 dimensions");
        assert_eq!(store.count().unwrap(), 0, "store must start empty");
        store
            .upsert(vec![
                point(1, "doc-a", unit(dimension, 0), &[], true),
                point(2, "doc-a", unit(dimension, 1), &[], true),
                point(3, "doc-b", unit(dimension, 2), &["finance"], false),
                point(4, "doc-c", unit(dimension, 3), &["hr"], false),
                point(5, "doc-d", unit(dimension, 4), &[], false),
            ])
            .unwrap();
        store.optimize().unwrap();
        assert_eq!(store.count().unwrap(), 5);

        // Vectors come back as stored (a cosine store may keep them normalised), for
        // backups; unknown ids are left out.
        let mut exported = store.vectors(&[4, 1, 404]).unwrap();
        exported.sort_by_key(|(id, _)| *id);
        assert_eq!(exported.iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![1, 4]);
        for ((_, vector), hot) in exported.iter().zip([0, 3]) {
            assert!(cosine(vector, &unit(dimension, hot)) > 0.9999, "{vector:?}");
        }

        // Nearest first, exact match scores highest.
        let hits = store.search(&unit(dimension, 1), 3, &Access::Everything).unwrap();
        assert_eq!(hits[0].chunk_id, 2, "{hits:?}");
        assert!(hits.windows(2).all(|pair| pair[0].score >= pair[1].score), "{hits:?}");
        assert!(hits.len() <= 3);

        // The filter applies before ranking: the caller still gets `limit` allowed hits.
        let finance = Access::member_of(&["finance".to_owned()]);
        let hits = store.search(&unit(dimension, 3), 10, &finance).unwrap();
        let ids: Vec<u64> = hits.iter().map(|hit| hit.chunk_id).collect();
        assert!(!ids.contains(&4), "hr chunk leaked to finance: {ids:?}");
        assert!(!ids.contains(&5), "chunk without access tokens leaked: {ids:?}");
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, vec![1, 2, 3]);

        let hits = store
            .search(&unit(dimension, 3), 1, &Access::Tokens(vec![group_token("hr")]))
            .unwrap();
        assert_eq!(hits.iter().map(|hit| hit.chunk_id).collect::<Vec<_>>(), vec![4]);
        assert!(
            store
                .search(&unit(dimension, 0), 5, &Access::Tokens(vec![]))
                .unwrap()
                .is_empty()
        );

        // Upsert replaces; delete removes a whole document.
        store
            .upsert(vec![point(3, "doc-b", unit(dimension, 7), &["finance"], false)])
            .unwrap();
        assert_eq!(store.count().unwrap(), 5);
        let hits = store.search(&unit(dimension, 7), 1, &finance).unwrap();
        assert_eq!(hits[0].chunk_id, 3);
        store.delete_document("doc-a").unwrap();
        store.optimize().unwrap();
        assert_eq!(store.count().unwrap(), 3);
        let hits = store.search(&unit(dimension, 0), 10, &Access::Everything).unwrap();
        assert!(
            hits.iter().all(|hit| hit.chunk_id != 1 && hit.chunk_id != 2),
            "{hits:?}"
        );

        // Access changes apply to every point of a document; chunk deletes are by id.
        store
            .set_document_access("doc-b", &chunk_tokens(&["hr".to_owned()], false))
            .unwrap();
        assert!(
            store
                .search(&unit(dimension, 7), 10, &finance)
                .unwrap()
                .iter()
                .all(|hit| hit.chunk_id != 3)
        );
        let hr = Access::member_of(&["hr".to_owned()]);
        let hits = store.search(&unit(dimension, 7), 1, &hr).unwrap();
        assert_eq!(hits[0].chunk_id, 3, "{hits:?}");
        store.delete_chunks(&[3, 999]).unwrap();
        assert_eq!(store.count().unwrap(), 2);
        assert!(
            store
                .search(&unit(dimension, 7), 10, &Access::Everything)
                .unwrap()
                .iter()
                .all(|hit| hit.chunk_id != 3)
        );

        // Wrong dimensions are an error, not a panic.
        assert!(store.search(&[1.0, 0.0], 1, &Access::Everything).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_conforms() {
        conformance::run(&MemoryVectorStore::new(16), 16);
    }
}
