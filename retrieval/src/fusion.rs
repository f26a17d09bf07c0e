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
    ranked(fused, limit)
}

/// Weighted fusion of scores: each list's scores are scaled to 0..1 (min-max over the list),
/// multiplied by the list's weight and summed; a chunk missing from a list gets 0 there.
/// Unlike rank fusion it keeps how far ahead a clear winner is.
pub fn weighted_score_fusion(lists: &[(&[ScoredChunk], f32)], limit: usize) -> Vec<ScoredChunk> {
    let mut fused: HashMap<u64, f32> = HashMap::new();
    for (list, weight) in lists {
        let (low, high) = list
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(low, high), hit| {
                (low.min(hit.score), high.max(hit.score))
            });
        let spread = high - low;
        for hit in list.iter() {
            let normalised = if spread > f32::EPSILON {
                (hit.score - low) / spread
            } else {
                1.0
            };
            *fused.entry(hit.chunk_id).or_default() += weight * normalised;
        }
    }
    ranked(fused, limit)
}

/// Best first, ties broken by id so results are reproducible.
fn ranked(fused: HashMap<u64, f32>, limit: usize) -> Vec<ScoredChunk> {
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

    fn scored(pairs: &[(u64, f32)]) -> Vec<ScoredChunk> {
        pairs
            .iter()
            .map(|&(chunk_id, score)| ScoredChunk { chunk_id, score })
            .collect()
    }

    #[test]
    fn score_fusion_keeps_a_clear_winner_ahead() {
        // Keyword: chunk 1 far ahead; dense: 2 barely ahead of 1. Rank fusion would tie them.
        let keyword = scored(&[(1, 30.0), (2, 5.0), (3, 4.0)]);
        let dense = scored(&[(2, 0.86), (1, 0.85), (4, 0.70)]);
        let fused = weighted_score_fusion(&[(&keyword, 1.0), (&dense, 1.0)], 10);
        assert_eq!(fused[0].chunk_id, 1);
        assert_eq!(fused.len(), 4);
        let tied = reciprocal_rank_fusion(&[&keyword, &dense], RRF_K, 10);
        assert_eq!(tied[0].score, tied[1].score);
        // A heavy dense weight hands the lead to the dense winner.
        let dense_led = weighted_score_fusion(&[(&keyword, 0.01), (&dense, 1.0)], 10);
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
