//! Property-style leak test: random groups, documents and users; no keyword or vector
//! result may ever come from a document the user cannot read, and nothing readable that
//! matches may be withheld.

use proptest::prelude::*;
use retrieval::access::chunk_tokens;
use retrieval::{
    Access, EdgeVectorStore, KeywordChunk, KeywordIndex, KeywordStore, MemoryVectorStore, VectorPoint, VectorStore,
};

const GROUPS: [&str; 4] = ["finance", "hr", "legal", "sales"];
const DIMENSION: usize = 8;

#[derive(Debug, Clone)]
struct Document {
    groups: Vec<String>,
    public: bool,
    vectors: Vec<[f32; DIMENSION]>,
}

fn document() -> impl Strategy<Value = Document> {
    (
        proptest::sample::subsequence(GROUPS.to_vec(), 0..=2),
        any::<bool>(),
        proptest::collection::vec(proptest::array::uniform8(-1.0f32..1.0), 1..4),
    )
        .prop_map(|(groups, public, vectors)| Document {
            groups: groups.into_iter().map(str::to_owned).collect(),
            public,
            vectors,
        })
}

fn user() -> impl Strategy<Value = (bool, Vec<String>)> {
    (any::<bool>(), proptest::sample::subsequence(GROUPS.to_vec(), 0..=2))
        .prop_map(|(admin, groups)| (admin, groups.into_iter().map(str::to_owned).collect()))
}

fn check(documents: &[Document], users: &[(bool, Vec<String>)], store: &dyn VectorStore) {
    check_with(documents, users, &KeywordIndex::in_memory(&[]).unwrap(), store);
}

fn check_with(
    documents: &[Document],
    users: &[(bool, Vec<String>)],
    keyword: &dyn KeywordStore,
    store: &dyn VectorStore,
) {
    let mut owner = std::collections::HashMap::new();
    let mut chunk_id = 0u64;
    for (index, document) in documents.iter().enumerate() {
        let name = format!("doc-{index}");
        let access = chunk_tokens(&document.groups, document.public);
        let mut chunks = Vec::new();
        let mut points = Vec::new();
        for vector in &document.vectors {
            chunk_id += 1;
            owner.insert(chunk_id, index);
            chunks.push(KeywordChunk {
                chunk_id,
                document: name.clone(),
                title: "quarterly report".into(),
                text: format!("budget figures 季度预算 number {index}"),
                access: access.clone(),
            });
            let mut values = vector.to_vec();
            values[0] += 1.5; // keep vectors away from zero length
            points.push(VectorPoint {
                chunk_id,
                document: name.clone(),
                vector: values,
                access: access.clone(),
            });
        }
        keyword.delete_document(&name).unwrap();
        keyword.add_chunks(&chunks).unwrap();
        store.upsert(points).unwrap();
    }
    store.optimize().unwrap();
    for (admin, groups) in users {
        let access = if *admin {
            Access::Everything
        } else {
            Access::member_of(groups)
        };
        let readable: std::collections::HashSet<u64> = owner
            .iter()
            .filter(|(_, document)| {
                access.allows(&chunk_tokens(
                    &documents[**document].groups,
                    documents[**document].public,
                ))
            })
            .map(|(chunk, _)| *chunk)
            .collect();
        for query in ["budget", "季度预算", "report"] {
            let hits = keyword.search(query, 1000, &access).unwrap();
            let found: std::collections::HashSet<u64> = hits.iter().map(|hit| hit.chunk_id).collect();
            assert!(
                found.is_subset(&readable),
                "keyword leak for {groups:?}: {found:?} vs {readable:?}"
            );
            assert_eq!(found, readable, "keyword search withheld readable chunks");
        }
        let hits = store.search(&[1.0; DIMENSION], 1000, &access).unwrap();
        let found: std::collections::HashSet<u64> = hits.iter().map(|hit| hit.chunk_id).collect();
        assert!(
            found.is_subset(&readable),
            "vector leak for {groups:?}: {found:?} vs {readable:?}"
        );
        assert_eq!(found, readable, "vector search withheld readable chunks");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn no_leak_through_memory_store(
        documents in proptest::collection::vec(document(), 1..12),
        users in proptest::collection::vec(user(), 1..6),
    ) {
        check(&documents, &users, &MemoryVectorStore::new(DIMENSION));
    }

    #[test]
    fn no_leak_through_qdrant_edge(
        documents in proptest::collection::vec(document(), 1..12),
        users in proptest::collection::vec(user(), 1..6),
    ) {
        let directory = tempfile::tempdir().unwrap();
        check(&documents, &users, &EdgeVectorStore::open(directory.path(), DIMENSION).unwrap());
    }

    /// Against a real Qdrant server when `QDRANT_URL` (its gRPC address) is set.
    #[test]
    fn no_leak_through_qdrant_server(
        documents in proptest::collection::vec(document(), 1..12),
        users in proptest::collection::vec(user(), 1..6),
    ) {
        let Ok(url) = std::env::var("QDRANT_URL") else {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                eprintln!("WARNING: the leak test against a Qdrant server DID NOT RUN: set QDRANT_URL");
            });
            return Ok(());
        };
        let config = retrieval::QdrantConfig {
            url,
            api_key: std::env::var("QDRANT_API_KEY").ok(),
            collection: format!("leak-{}-{}", std::process::id(), NEXT_COLLECTION.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
            shards: 2,
            replication: 1,
        };
        let store = retrieval::QdrantVectorStore::connect(&config, DIMENSION).unwrap();
        let keyword = retrieval::QdrantKeywordStore::connect(&config, &[]).unwrap();
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_with(&documents, &users, &keyword, &store)));
        store.drop_collection().unwrap();
        keyword.discard().unwrap();
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }
}

static NEXT_COLLECTION: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
