//! Rank fusion of the keyword and vector result lists.

use std::collections::HashMap;

use crate::ScoredChunk;

/// The constant of reciprocal rank fusion (Cormack et al. use 60).
pub const RRF_K: f32 = 60.0;

/// Reciprocal rank fusion: each list contributes `1 / (k + rank)` to a chunk's score.
pub fn reciprocal_rank_fusion(lists: &[&[ScoredChunk]], k: f32, limit: usize) -> Vec<ScoredChunk> {
    let weighted: Vec<(&[ScoredChunk], f32)> = lists.iter().map(|list| (*list, 1.0)).collect();
    weighted_reciprocal_rank_fusion(&weighted, k, limit)
}

/// Reciprocal rank fusion where each list's contribution is scaled by its weight: lets a
/// stronger retriever (BM25 on Chinese question sets, say) lead without silencing the other.
pub fn weighted_reciprocal_rank_fusion(lists: &[(&[ScoredChunk], f32)], k: f32, limit: usize) -> Vec<ScoredChunk> {
    let mut fused: HashMap<u64, f32> = HashMap::new();
    for (list, weight) in lists {
        for (rank, hit) in list.iter().enumerate() {
            *fused.entry(hit.chunk_id).or_default() += weight / (k + rank as f32 + 1.0);
        }
    }
    let mut hits: Vec<ScoredChunk> = fused
        .into_iter()
        .map(|(chunk_id, score)| ScoredChunk { chunk_id, score })
        .collect();
    hits.sort_by(|left, right| {
        right
            .score
            .total_cmp(&left.score)
            .then(left.chunk_id.cmp(&right.chunk_id))
    });
    hits.truncate(limit);
    hits
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn hits(ids: &[u64]) -> Vec<ScoredChunk> {
        ids.iter()
            .map(|&chunk_id| ScoredChunk { chunk_id, score: 1.0 })
            .collect()
    }

    #[test]
    fn agreement_wins() {
        let keyword = hits(&[1, 2, 3]);
        let dense = hits(&[3, 4, 1]);
        let fused = reciprocal_rank_fusion(&[&keyword, &dense], RRF_K, 10);
        let ids: Vec<u64> = fused.iter().map(|hit| hit.chunk_id).collect();
        assert_eq!(ids[..2], [1, 3]);
        assert_eq!(ids.len(), 4);
    }

    #[test]
    fn weights_decide_between_first_places() {
        let keyword = hits(&[1, 2]);
        let dense = hits(&[2, 1]);
        let keyword_led = weighted_reciprocal_rank_fusion(&[(&keyword, 1.0), (&dense, 0.5)], RRF_K, 2);
        assert_eq!(keyword_led[0].chunk_id, 1);
        let dense_led = weighted_reciprocal_rank_fusion(&[(&keyword, 0.5), (&dense, 1.0)], RRF_K, 2);
        assert_eq!(dense_led[0].chunk_id, 2);
    }

    proptest! {
        #[test]
        fn fused_is_sorted_unique_and_bounded(
            left in proptest::collection::vec(0u64..50, 0..30),
            right in proptest::collection::vec(0u64..50, 0..30),
            limit in 0usize..20,
        ) {
            let fused = reciprocal_rank_fusion(&[&hits(&left), &hits(&right)], RRF_K, limit);
            prop_assert!(fused.len() <= limit);
            prop_assert!(fused.windows(2).all(|pair| pair[0].score >= pair[1].score));
            let mut ids: Vec<u64> = fused.iter().map(|hit| hit.chunk_id).collect();
            ids.sort();
            ids.dedup();
            prop_assert_eq!(ids.len(), fused.len());
            for hit in &fused {
                prop_assert!(left.contains(&hit.chunk_id) || right.contains(&hit.chunk_id));
            }
        }
    }
}
