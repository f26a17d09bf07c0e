//! The ingest path: versions, dedup, deletion, failures and the atomic swap.

use std::time::Duration;

use appliance::engine::IngestStatus;
use appliance::store::audit;

use super::fakes::Gate;
use super::{TestEngine, acl, options};
use appliance::acl::{Acl, Role};

const V1: &str = "# Canteen\n\nThe canteen opens at seven in the morning.\n";
const V2: &str = "# Canteen\n\nThe canteen opens at nine on weekdays and stays closed on Sundays.\n";

#[tokio::test]
async fn a_changed_file_becomes_a_new_version_of_the_same_document() {
    let test = TestEngine::new(None).await;
    let first = test.ingest("/docs/canteen.md", V1, &[]).await;
    assert_eq!((first.status, first.version), (IngestStatus::Indexed, 1));
    let second = test.ingest("/docs/canteen.md", V2, &[]).await;
    assert_eq!((second.status, second.version), (IngestStatus::Updated, 2));
    assert_eq!(second.document_id, first.document_id);
    let found = test.texts("canteen opens", &Acl::operator()).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("nine on weekdays"), "{found:?}");
    let unchanged = test.ingest("/docs/canteen.md", V2, &[]).await;
    assert_eq!(unchanged.status, IngestStatus::Unchanged);
}

#[tokio::test]
async fn an_identical_file_for_the_same_readers_is_a_duplicate() {
    let test = TestEngine::new(None).await;
    let original = test.ingest("/docs/canteen.md", V1, &[]).await;
    let copy = test.ingest("/other/copy.md", V1, &[]).await;
    assert_eq!(copy.status, IngestStatus::Duplicate);
    assert_eq!(copy.document_id, original.document_id);
    // For other readers the same content is a document of its own.
    let for_finance = test.ingest("/finance/copy.md", V1, &["finance"]).await;
    assert_eq!(for_finance.status, IngestStatus::Indexed);
    assert_ne!(for_finance.document_id, original.document_id);
}

#[tokio::test]
async fn a_deleted_document_leaves_search_and_the_audit_log_says_so() {
    let test = TestEngine::new(None).await;
    let outcome = test.ingest("/docs/canteen.md", V1, &[]).await;
    test.engine
        .delete_document(&Acl::operator(), &outcome.document_id, "admin")
        .await
        .unwrap();
    assert!(test.texts("canteen opens", &Acl::operator()).await.is_empty());
    assert_eq!(test.engine.indexed_chunks().await.unwrap(), 0);
    let deleted = test.audit("delete").await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].detail["document"], outcome.document_id.as_str());
}

#[tokio::test]
async fn a_file_without_text_fails_alone_with_its_reason() {
    let test = TestEngine::new(None).await;
    test.ingest("/docs/canteen.md", V1, &[]).await;
    let error = test
        .engine
        .ingest_bytes("/docs/empty.md", Ok(b"   \n\n ".to_vec()), &options(&[], "cli"))
        .await
        .unwrap_err();
    assert!(error.is_user_error(), "{error:#}");
    let jobs = test.engine.jobs(10).await.unwrap();
    let failed = jobs.iter().find(|job| job.name == "empty.md").unwrap();
    assert_eq!(failed.status.as_str(), "failed");
    assert!(failed.error.as_deref().unwrap().contains("no text"), "{failed:?}");
    assert_eq!(test.texts("canteen", &Acl::operator()).await.len(), 1);
}

#[tokio::test]
async fn audit_appends_do_not_wait_for_an_ingest_to_write_its_indexes() {
    let test = TestEngine::new(None).await;
    test.ingest("/docs/canteen.md", V1, &[]).await;
    let gate = Gate::default();
    let (entered_sender, entered) = std::sync::mpsc::channel();
    *test.vectors.hold.lock().unwrap() = Some((gate.clone(), entered_sender));
    let engine = test.engine.clone();
    let ingest = tokio::spawn(async move {
        engine
            .ingest_bytes("/docs/canteen.md", Ok(V2.as_bytes().to_vec()), &options(&[], "cli"))
            .await
    });
    tokio::task::spawn_blocking(move || entered.recv_timeout(Duration::from_secs(10)))
        .await
        .unwrap()
        .expect("the ingest reached the vector store");
    // The new version is being indexed: a search still sees the old one, whole.
    let found = test.texts("canteen opens", &Acl::operator()).await;
    assert_eq!(found.len(), 1);
    assert!(found[0].contains("seven"), "{found:?}");
    // Before: the ingest held the database's write transaction here, so this append
    // waited for the busy timeout (10 s) and failed.
    let append = audit::append(test.engine.store(), "alice", "search", serde_json::json!({}));
    tokio::time::timeout(Duration::from_secs(3), append)
        .await
        .expect("the audit append waited behind the ingest")
        .unwrap();
    gate.open();
    let outcome = ingest.await.unwrap().unwrap();
    assert_eq!(outcome.version, 2);
    let found = test.texts("canteen opens", &Acl::operator()).await;
    assert_eq!(found.len(), 1);
    assert!(found[0].contains("nine"), "{found:?}");
}

#[tokio::test]
async fn reindexing_keeps_the_document_and_needs_the_right_to_manage_it() {
    let test = TestEngine::new(None).await;
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("finance.md");
    std::fs::write(&path, V1).unwrap();
    let outcome = test
        .engine
        .ingest_file(&path, &options(&["finance"], "cli"))
        .await
        .unwrap();
    let employee = acl(Role::Employee, &["finance"]);
    let error = test
        .engine
        .enqueue_reindex(&employee, &outcome.document_id, "bob")
        .await
        .unwrap_err();
    assert!(matches!(error, appliance::Error::Forbidden), "{error:?}");
    let outsider = acl(Role::Editor, &["hr"]);
    let error = test
        .engine
        .enqueue_reindex(&outsider, &outcome.document_id, "eve")
        .await
        .unwrap_err();
    assert!(matches!(error, appliance::Error::NotFound), "{error:?}");
    test.engine
        .enqueue_reindex(&acl(Role::Editor, &["finance"]), &outcome.document_id, "carol")
        .await
        .unwrap();
    let resumed = test.engine.resume_jobs().await.unwrap();
    assert_eq!(resumed.len(), 1);
    let reindexed = resumed[0].1.as_ref().unwrap();
    assert_eq!(
        (reindexed.document_id.as_str(), reindexed.version),
        (outcome.document_id.as_str(), 2)
    );
}

#[tokio::test]
async fn vectors_of_another_embedding_model_are_rebuilt_not_mixed() {
    use appliance::engine::EMBEDDING_MODEL_KEY;
    use appliance::store::{documents, index_meta};
    use retrieval::VectorStore;
    let test = TestEngine::new(None).await;
    test.ingest("/docs/canteen.md", "# Canteen\n\nThe canteen opens at seven.\n", &[])
        .await;
    test.ingest(
        "/docs/parking.md",
        "# Parking\n\nVisitors park in the north garage.\n",
        &[],
    )
    .await;
    let store = test.engine.store();
    let recorded = || async { index_meta::get(store, EMBEDDING_MODEL_KEY).await.unwrap() };
    // An index without a record is taken as built by the model in use.
    assert_eq!(test.engine.check_embedding_model().await.unwrap(), 0);
    assert_eq!(recorded().await.as_deref(), Some("fake-embedder"));

    let chunks = documents::indexed_chunks(store, None).await.unwrap();
    let ids: Vec<u64> = chunks.iter().map(|chunk| chunk.chunk_id).collect();
    let sorted = |mut vectors: Vec<(u64, Vec<f32>)>| {
        vectors.sort_by_key(|(id, _)| *id);
        vectors
    };
    let fresh = sorted(test.vectors.vectors(&ids).unwrap());
    // One vector as another model made it, and the record saying so.
    let old = chunks[0].clone();
    test.vectors
        .upsert(vec![retrieval::VectorPoint {
            chunk_id: old.chunk_id,
            document: old.document_id.clone(),
            vector: vec![0.5; fresh[0].1.len()],
            access: old.access.index_tokens(),
        }])
        .unwrap();
    index_meta::set(store, EMBEDDING_MODEL_KEY, "an-older-model")
        .await
        .unwrap();
    assert_eq!(test.engine.check_embedding_model().await.unwrap(), ids.len());
    assert_eq!(sorted(test.vectors.vectors(&ids).unwrap()), fresh);
    assert_eq!(recorded().await.as_deref(), Some("fake-embedder"));
}

#[tokio::test]
async fn a_keyword_index_cut_by_an_older_analysis_is_cut_again() {
    use appliance::acl::Acl;
    use appliance::engine::{KEYWORD_ANALYZER_KEY, SearchMode};
    use appliance::store::index_meta;
    let test = TestEngine::new(None).await;
    test.ingest(
        "/docs/hostname.md",
        "# 主机名\n\n系统主机名保存在 /etc/hostname 文件中，由启动脚本设置。\n",
        &[],
    )
    .await;
    test.ingest("/docs/canteen.md", "# Canteen\n\nThe canteen opens at seven.\n", &[])
        .await;
    let store = test.engine.store();
    // An index from before the analysis was recorded, or from an older one, is cut again.
    index_meta::set(store, KEYWORD_ANALYZER_KEY, "zh_en-1").await.unwrap();
    assert_eq!(test.engine.check_keyword_analyzer().await.unwrap(), 2);
    assert_eq!(
        index_meta::get(store, KEYWORD_ANALYZER_KEY).await.unwrap().as_deref(),
        Some(retrieval::tokenizer::ANALYZER_VERSION)
    );
    assert_eq!(test.engine.check_keyword_analyzer().await.unwrap(), 0);
    // Asked in Traditional characters and Taiwanese words (檔案, 設定), the Simplified
    // document (文件, 设置) is found by its keywords.
    let hits = test
        .engine
        .search_with("檔案設定？", &Acl::operator(), 5, SearchMode::Keyword)
        .await
        .unwrap();
    assert_eq!(
        hits.first().map(|hit| hit.document.as_str()),
        Some("hostname.md"),
        "{hits:?}"
    );
}

/// Before: a node cut queries with the domain dictionary it started with, so after an admin
/// saved a new one through another node (which rebuilt the shared keyword index), its
/// queries no longer matched the index until a restart.
#[tokio::test]
async fn regression_a_node_kept_cutting_queries_with_an_old_dictionary() {
    use std::sync::Arc;

    use appliance::engine::{Engine, Parts};
    use appliance::models::Models;
    use appliance::store::site_texts::{self, Kind};

    let first = TestEngine::new(None).await;
    let other = Engine::from_parts(Parts {
        settings: first.engine.settings().clone(),
        store: first.engine.store().clone(),
        keyword: Arc::new(retrieval::KeywordIndex::in_memory(&[]).unwrap()),
        vectors: Arc::new(super::fakes::HeldVectorStore::new()),
        models: Models::preloaded(Arc::new(super::fakes::FakeEmbedder), None),
    });
    let term = "蓝港云盘".to_owned();
    assert!(!other.query_terms("蓝港云盘的空间").contains(&term));
    site_texts::save(first.engine.store(), Kind::DomainDictionary, &term, "admin")
        .await
        .unwrap();
    first.engine.rebuild_keyword_index(vec![term.clone()]).await.unwrap();
    assert!(
        other.follow_dictionary().await.unwrap(),
        "a newer dictionary is followed"
    );
    assert!(other.query_terms("蓝港云盘的空间").contains(&term));
    assert!(
        !other.follow_dictionary().await.unwrap(),
        "the same version is not applied twice"
    );
}
