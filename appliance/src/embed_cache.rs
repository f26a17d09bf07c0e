//! A caching wrapper around an [`Embedder`]: passage vectors keyed by the SHA-256 of the
//! model id and the passage text, persisted in one append-only file.
//!
//! Embedding a corpus is the slow part of an evaluation on a CPU box (about 5 minutes per
//! thousand passages); with the cache the second run of the same evaluation re-embeds
//! nothing. Queries are not cached: their latency is part of what is measured.

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use llm::Embedder;
use sha2::{Digest, Sha256};

type Key = [u8; 32];

/// An [`Embedder`] that remembers passage vectors on disk.
pub struct CachingEmbedder {
    inner: Arc<dyn Embedder>,
    path: PathBuf,
    vectors: Mutex<HashMap<Key, Vec<f32>>>,
    pending: Mutex<Vec<(Key, Vec<f32>)>>,
}

impl CachingEmbedder {
    /// Wraps `inner`, loading what `path` already holds (a missing or truncated file is fine).
    pub fn open(inner: Arc<dyn Embedder>, path: &Path) -> anyhow::Result<Self> {
        let dimension = inner.dimension();
        let mut vectors = HashMap::new();
        if let Ok(file) = std::fs::File::open(path) {
            let mut reader = BufReader::new(file);
            let mut record = vec![0u8; 32 + dimension * 4];
            while reader.read_exact(&mut record).is_ok() {
                let key: Key = record[..32].try_into().expect("32 bytes");
                let vector = record[32..]
                    .chunks_exact(4)
                    .map(|bytes| f32::from_le_bytes(bytes.try_into().expect("4 bytes")))
                    .collect();
                vectors.insert(key, vector);
            }
        }
        Ok(Self {
            inner,
            path: path.to_owned(),
            vectors: Mutex::new(vectors),
            pending: Mutex::new(Vec::new()),
        })
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of cached vectors.
    pub fn len(&self) -> usize {
        self.vectors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }

    fn key(&self, text: &str) -> Key {
        let mut hasher = Sha256::new();
        hasher.update(self.inner.model_id().as_bytes());
        hasher.update([0]);
        hasher.update(text.as_bytes());
        hasher.finalize().into()
    }

    /// Appends the vectors computed since the last save.
    pub fn save(&self) -> anyhow::Result<()> {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        if pending.is_empty() {
            return Ok(());
        }
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
        let mut writer = BufWriter::new(file);
        for (key, vector) in pending {
            writer.write_all(&key)?;
            for value in vector {
                writer.write_all(&value.to_le_bytes())?;
            }
        }
        writer.flush()?;
        Ok(())
    }
}

impl Embedder for CachingEmbedder {
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    fn embed_passages(&self, texts: &[&str]) -> llm::Result<Vec<Vec<f32>>> {
        let keys: Vec<Key> = texts.iter().map(|text| self.key(text)).collect();
        let missing: Vec<usize> = {
            let vectors = self.vectors.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut seen = std::collections::HashSet::new();
            (0..texts.len())
                .filter(|index| !vectors.contains_key(&keys[*index]) && seen.insert(keys[*index]))
                .collect()
        };
        if !missing.is_empty() {
            let missing_texts: Vec<&str> = missing.iter().map(|index| texts[*index]).collect();
            let computed = self.inner.embed_passages(&missing_texts)?;
            let mut vectors = self.vectors.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut pending = self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            for (index, vector) in missing.into_iter().zip(computed) {
                vectors.insert(keys[index], vector.clone());
                pending.push((keys[index], vector));
            }
        }
        let vectors = self.vectors.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(keys.iter().map(|key| vectors[key].clone()).collect())
    }

    fn embed_query(&self, text: &str) -> llm::Result<Vec<f32>> {
        self.inner.embed_query(text)
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.inner.count_tokens(text)
    }

    fn max_tokens(&self) -> usize {
        self.inner.max_tokens()
    }

    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts how many passages reach the real model.
    struct CountingEmbedder(AtomicUsize);

    impl Embedder for CountingEmbedder {
        fn dimension(&self) -> usize {
            2
        }
        fn embed_passages(&self, texts: &[&str]) -> llm::Result<Vec<Vec<f32>>> {
            self.0.fetch_add(texts.len(), Ordering::SeqCst);
            Ok(texts.iter().map(|text| vec![text.len() as f32, 1.0]).collect())
        }
        fn embed_query(&self, _: &str) -> llm::Result<Vec<f32>> {
            Ok(vec![0.0, 1.0])
        }
        fn count_tokens(&self, text: &str) -> usize {
            text.len()
        }
        fn max_tokens(&self) -> usize {
            512
        }
        fn model_id(&self) -> &str {
            "counting"
        }
    }

    #[test]
    fn second_run_embeds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.bin");
        let inner = Arc::new(CountingEmbedder(AtomicUsize::new(0)));
        let first = CachingEmbedder::open(inner.clone(), &path).unwrap();
        let vectors = first.embed_passages(&["a", "bb", "a"]).unwrap();
        assert_eq!(vectors, vec![vec![1.0, 1.0], vec![2.0, 1.0], vec![1.0, 1.0]]);
        first.save().unwrap();
        assert_eq!(
            inner.0.load(Ordering::SeqCst),
            2,
            "duplicates within a batch are embedded once"
        );

        let second = CachingEmbedder::open(inner.clone(), &path).unwrap();
        assert_eq!(second.len(), 2);
        assert_eq!(
            second.embed_passages(&["bb", "a"]).unwrap(),
            vec![vec![2.0, 1.0], vec![1.0, 1.0]]
        );
        assert_eq!(
            inner.0.load(Ordering::SeqCst),
            2,
            "cached passages never reach the model"
        );
    }
}
