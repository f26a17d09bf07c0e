//! The behaviour every [`KeywordStore`] must show, run against each implementation.

use super::{KeywordChunk, KeywordStore};
use crate::Access;
use crate::access::chunk_tokens;

/// A chunk readable by `groups`, public when there are none.
pub(crate) fn chunk(chunk_id: u64, document: &str, title: &str, text: &str, groups: &[&str]) -> KeywordChunk {
    let groups: Vec<String> = groups.iter().map(|group| (*group).to_owned()).collect();
    KeywordChunk {
        chunk_id,
        document: document.to_owned(),
        title: title.to_owned(),
        text: text.to_owned(),
        access: chunk_tokens(&groups, groups.is_empty()),
    }
}

/// The ids of the best ten chunks `access` may see for `query`, sorted.
pub(crate) fn ids(store: &dyn KeywordStore, query: &str, access: &Access) -> Vec<u64> {
    let mut ids: Vec<u64> = store
        .search(query, 10, access)
        .unwrap()
        .iter()
        .map(|hit| hit.chunk_id)
        .collect();
    ids.sort();
    ids
}

fn ranked(store: &dyn KeywordStore, query: &str) -> Vec<u64> {
    let hits = store.search(query, 10, &Access::Everything).unwrap();
    assert!(
        hits.windows(2).all(|pair| pair[0].score >= pair[1].score),
        "{query}: {hits:?}"
    );
    hits.iter().map(|hit| hit.chunk_id).collect()
}

/// Runs every check against `store`, which must be empty and use no domain dictionary;
/// panics with a message on the first failure.
pub fn run(store: &dyn KeywordStore) {
    assert_eq!(store.count().unwrap(), 0, "store must start empty");
    let staff: Vec<KeywordChunk> = (0..20)
        .map(|id| chunk(id, "reports", "", &format!("the office report number {id}"), &["staff"]))
        .collect();
    store.add_chunks(&staff).unwrap();
    store
        .add_chunks(&[
            chunk(
                100,
                "canteen",
                "",
                "the canteen closes at 14:00, the canteen opens at 7:00",
                &[],
            ),
            chunk(
                101,
                "canteen",
                "",
                "the canteen sells tea, coffee and juice at lunch",
                &["staff"],
            ),
            chunk(102, "servers", "", "服务器机房停电时联系值班人员", &[]),
            chunk(103, "servers", "", "服务器维护窗口在周六", &["it"]),
            chunk(104, "handbook", "Paperkey", "prints a secret key on paper", &[]),
            chunk(105, "hidden", "", "the canteen note has no access tokens at all", &[]),
        ])
        .unwrap();
    // A chunk whose access list is empty is hidden from everyone but the operator.
    store
        .add_chunks(&[KeywordChunk {
            access: Vec::new(),
            ..chunk(105, "hidden", "", "the canteen note has no access tokens at all", &[])
        }])
        .unwrap();
    assert_eq!(store.count().unwrap(), 26, "a retried write must not duplicate");

    // BM25: more occurrences in a passage of the same length rank first; title words count.
    assert_eq!(ranked(store, "canteen")[0], 100);
    assert_eq!(ranked(store, "paperkey"), vec![104]);
    assert_eq!(ranked(store, "how does the canteen close")[0], 100);
    // Analysis: stemming, Traditional folded to Simplified, jieba words.
    assert!(ranked(store, "closing").contains(&100));
    assert_eq!(ids(store, "伺服器 服務器", &Access::Everything), vec![102, 103]);
    assert!(store.search("", 10, &Access::Everything).unwrap().is_empty());
    assert!(store.search("canteen", 0, &Access::Everything).unwrap().is_empty());

    // The access filter applies inside the search, before the limit.
    let outsider = Access::member_of(&[]);
    assert_eq!(ids(store, "canteen", &outsider), vec![100]);
    assert_eq!(ids(store, "服务器", &outsider), vec![102], "group chunk hidden");
    assert_eq!(
        ids(store, "服务器", &Access::member_of(&["it".to_owned()])),
        vec![102, 103]
    );
    assert_eq!(ids(store, "canteen", &Access::Everything), vec![100, 101, 105]);
    let staff_member = Access::member_of(&["staff".to_owned()]);
    let hits = store.search("office report", 3, &staff_member).unwrap();
    assert_eq!(hits.len(), 3, "{hits:?}");
    assert!(
        store
            .search("canteen", 10, &Access::Tokens(Vec::new()))
            .unwrap()
            .is_empty()
    );

    // Document frequencies and the coverage built on them.
    let (total, frequencies) = store
        .document_frequencies(&["report".to_owned(), "canteen".to_owned(), "absent".to_owned()])
        .unwrap();
    // Three live chunks say "canteen"; tantivy still counts a replaced one until its
    // segments merge, so a frequency may run one replaced chunk high.
    assert_eq!(total, 26);
    assert!(
        frequencies[0] == 20 && (3..=4).contains(&frequencies[1]) && frequencies[2] == 0,
        "{frequencies:?}"
    );
    let coverage = store
        .coverage(
            "when does the canteen close",
            &["the canteen closes at 14:00", "the office report", "nothing relevant"],
        )
        .unwrap();
    assert!(coverage[0] > 0.99, "{coverage:?}");
    assert_eq!(coverage[1..], [0.0, 0.0]);
    let coverage = store.coverage("office canteen", &["the office report"]).unwrap();
    assert!(
        coverage[0] < 0.2,
        "a word on most pages is little evidence: {coverage:?}"
    );
    assert_eq!(store.coverage("", &["x"]).unwrap(), vec![0.0]);
    assert_eq!(store.content_terms("paperkey 有什么用？"), vec!["paperkey".to_owned()]);

    // Re-adding a chunk with other access tokens replaces them (permission changes).
    store
        .add_chunks(&[chunk(103, "servers", "", "服务器维护窗口在周六", &[])])
        .unwrap();
    assert_eq!(ids(store, "服务器", &outsider), vec![102, 103]);

    // Deletes by id and by document.
    store.delete_chunks(&[102, 999]).unwrap();
    assert_eq!(ids(store, "服务器", &Access::Everything), vec![103]);
    store.delete_document("canteen").unwrap();
    assert_eq!(ids(store, "canteen", &Access::Everything), vec![105]);
    assert_eq!(store.count().unwrap(), 23);

    // A rebuild with a domain dictionary re-cuts stored chunks and queries alike.
    let words = vec!["蓝港云盘".to_owned()];
    let cloud = vec![
        chunk(1, "a", "", "蓝港云盘的共享空间每人二十GB", &["staff"]),
        chunk(2, "b", "", "云盘以外的存储需要申请", &["staff"]),
    ];
    assert!(!store.tokens("蓝港云盘").contains(&words[0]));
    store.rebuild(&words, &cloud).unwrap();
    assert_eq!(store.count().unwrap(), 2, "a rebuild replaces every chunk");
    assert!(store.tokens("蓝港云盘").contains(&words[0]));
    assert_eq!(store.document_frequencies(&words).unwrap(), (2, vec![1]));
    assert_eq!(ranked(store, "蓝港云盘")[0], 1);
    // Following a dictionary another node rebuilt with re-cuts queries, not stored chunks.
    store.follow_dictionary(&[]);
    assert!(!store.tokens("蓝港云盘").contains(&words[0]));
    assert_eq!(store.document_frequencies(&words).unwrap(), (2, vec![1]));
    store.follow_dictionary(&words);
    assert_eq!(ranked(store, "蓝港云盘")[0], 1);
    store.rebuild(&[], &cloud).unwrap();
    assert_eq!(store.document_frequencies(&words).unwrap(), (2, vec![0]));
    assert!(ranked(store, "蓝港云盘").contains(&1));
}
