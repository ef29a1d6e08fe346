//! Nearest neighbours over document vectors: for every document, the `k` most similar
//! others above a similarity floor. Exact search by blocked dot products (at the sizes this
//! runs on today it is faster than building an approximate index; an ANN index can replace
//! this module behind the same function).

use crate::sentvec::dot;
use rayon::prelude::*;

/// Candidate pairs `(a, b, cosine)` with `a < b`, sorted, from each document's `k` nearest
/// neighbours with cosine ≥ `min_cos` in its own group and its `k` nearest outside it
/// (`group` is the language: an encoder ranks same-language documents first, which would
/// otherwise crowd translations out). `active[d]` false excludes document `d`.
pub fn knn_pairs(
    vectors: &[f32],
    dim: usize,
    active: &[bool],
    group: &[u32],
    k: usize,
    min_cos: f32,
) -> Vec<(u32, u32, f32)> {
    knn_from(vectors, dim, active, active, group, k, min_cos)
}

/// As [`knn_pairs`], searching only from the documents `queries` selects (their neighbours
/// are any active document).
pub fn knn_from(
    vectors: &[f32],
    dim: usize,
    active: &[bool],
    queries: &[bool],
    group: &[u32],
    k: usize,
    min_cos: f32,
) -> Vec<(u32, u32, f32)> {
    let n = active.len();
    let ids: Vec<usize> = (0..n).filter(|&d| active[d]).collect();
    let from: Vec<usize> = (0..n).filter(|&d| active[d] && queries[d]).collect();
    let row = |d: usize| &vectors[d * dim..(d + 1) * dim];
    let mut pairs: Vec<(u32, u32, f32)> = from
        .par_iter()
        .flat_map_iter(|&a| {
            let va = row(a);
            let mut same: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
            let mut other: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
            for &b in &ids {
                if b == a {
                    continue;
                }
                let c = dot(va, row(b));
                if c < min_cos {
                    continue;
                }
                let best = if group[a] == group[b] {
                    &mut same
                } else {
                    &mut other
                };
                if best.len() < k || c > best[best.len() - 1].0 {
                    let pos = best
                        .iter()
                        .position(|x| c > x.0 || (c == x.0 && b < x.1))
                        .unwrap_or(best.len());
                    best.insert(pos, (c, b));
                    best.truncate(k);
                }
            }
            same.into_iter()
                .chain(other)
                .map(move |(c, b)| (a.min(b) as u32, a.max(b) as u32, c))
        })
        .collect();
    pairs.sort_by_key(|x| (x.0, x.1));
    pairs.dedup_by_key(|x| (x.0, x.1));
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nearest_above_floor() {
        let v = vec![1.0, 0.0, 0.9, 0.436, 0.0, 1.0, -1.0, 0.0];
        let g = [0, 0, 0, 0];
        let pairs = knn_pairs(&v, 2, &[true, true, true, true], &g, 1, 0.3);
        let p: Vec<(u32, u32)> = pairs.iter().map(|x| (x.0, x.1)).collect();
        assert_eq!(p, vec![(0, 1), (1, 2)]);
        let pairs = knn_pairs(&v, 2, &[true, false, true, true], &g, 1, 0.3);
        assert!(pairs.is_empty());
        // In another group, document 2 is also document 0's nearest there.
        let pairs = knn_pairs(&v, 2, &[true, true, true, true], &[0, 0, 1, 1], 1, 0.0);
        let p: Vec<(u32, u32)> = pairs.iter().map(|x| (x.0, x.1)).collect();
        assert_eq!(p, vec![(0, 1), (0, 2), (1, 2), (2, 3)]);
    }
}
