//! Nearest neighbours over document vectors: for every document, the `k` most similar others
//! above a similarity floor, in its own group (its language) and outside it. Search goes
//! through the [`NeighborIndex`] trait; [`ExactIndex`] searches exhaustively (at the sizes
//! this runs on today it is faster than building an approximate index), and an approximate
//! or on-disk index can take its place without touching the stages around it.

use crate::embed::dot;
use crate::id::DocId;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// One search: the neighbours of `vector`.
#[derive(Debug, Clone, Copy)]
pub struct NeighborQuery<'a> {
    /// The query's L2-normalised vector.
    pub vector: &'a [f32],
    /// Its group (language): the `k` best are kept within the group and outside it
    /// separately, since an encoder ranks same-language documents first, which would
    /// otherwise crowd translations out.
    pub group: u32,
    /// An indexed document that is the query itself, never its own neighbour.
    pub exclude: Option<DocId>,
    /// Neighbours kept in the group, and as many outside it.
    pub k: usize,
    /// Cosine below which a document is no neighbour.
    pub min_cos: f32,
}

/// An index of document vectors that answers nearest-neighbour queries.
///
/// Invariant of every implementation: [`NeighborIndex::nearest`] returns the query's group's
/// neighbours first, then the others, each list ordered by descending cosine with ties
/// broken by ascending id, at most `k` in each; the result depends on the indexed vectors
/// and the query alone.
pub trait NeighborIndex: Sync {
    /// Dimension of the vectors.
    fn dim(&self) -> usize;
    /// The neighbours of `q` with their cosines.
    fn nearest(&self, q: &NeighborQuery) -> Vec<(DocId, f32)>;
}

/// Exhaustive search over a row-major matrix of L2-normalised vectors (row `d` is document
/// `d`), restricted to the documents marked active.
pub struct ExactIndex<'a> {
    vectors: &'a [f32],
    dim: usize,
    /// Active documents, ascending.
    ids: Vec<u32>,
    group: &'a [u32],
}

impl<'a> ExactIndex<'a> {
    /// An index of the rows of `vectors` whose `active` flag is set; `group[d]` is document
    /// `d`'s group.
    pub fn new(vectors: &'a [f32], dim: usize, active: &[bool], group: &'a [u32]) -> Self {
        ExactIndex {
            vectors,
            dim,
            ids: (0..active.len() as u32)
                .filter(|&d| active[d as usize])
                .collect(),
            group,
        }
    }

    /// Whether document `d` is indexed.
    pub fn contains(&self, d: DocId) -> bool {
        self.ids.binary_search(&d.0).is_ok()
    }

    /// The query for indexed document `d`'s neighbours.
    pub fn query_for(&self, d: DocId, k: usize, min_cos: f32) -> NeighborQuery<'a> {
        let i = d.index();
        NeighborQuery {
            vector: &self.vectors[i * self.dim..(i + 1) * self.dim],
            group: self.group[i],
            exclude: Some(d),
            k,
            min_cos,
        }
    }
}

impl NeighborIndex for ExactIndex<'_> {
    fn dim(&self) -> usize {
        self.dim
    }

    fn nearest(&self, q: &NeighborQuery) -> Vec<(DocId, f32)> {
        let k = q.k;
        let mut same: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
        let mut other: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
        for &b in &self.ids {
            if Some(DocId(b)) == q.exclude {
                continue;
            }
            let row = &self.vectors[b as usize * self.dim..(b as usize + 1) * self.dim];
            let c = dot(q.vector, row);
            if c < q.min_cos {
                continue;
            }
            let best = if self.group[b as usize] == q.group {
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
            .map(|(c, b)| (DocId(b), c))
            .collect()
    }
}

/// A pair of documents found as neighbours: `a < b` and how similar they are.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NeighborPair {
    /// The smaller id.
    pub a: DocId,
    /// The larger id.
    pub b: DocId,
    /// Cosine of their document vectors (for [`super::namekeys`] neighbours: their shared
    /// key weight, normalised like a cosine).
    pub similarity: f32,
}

/// The pairs each query forms with its neighbours, sorted by pair, each pair once.
/// `queries` are `(document, its query)`.
pub fn nearest_pairs(
    index: &dyn NeighborIndex,
    queries: &[(DocId, NeighborQuery)],
) -> Vec<NeighborPair> {
    let mut pairs: Vec<NeighborPair> = queries
        .par_iter()
        .flat_map_iter(|(a, q)| {
            let a = *a;
            index
                .nearest(q)
                .into_iter()
                .map(move |(b, similarity)| NeighborPair {
                    a: a.min(b),
                    b: a.max(b),
                    similarity,
                })
        })
        .collect();
    pairs.sort_by_key(|x| (x.a, x.b));
    pairs.dedup_by_key(|x| (x.a, x.b));
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[f32], active: &[bool], g: &[u32], k: usize, min_cos: f32) -> Vec<(u32, u32)> {
        let index = ExactIndex::new(v, 2, active, g);
        let queries: Vec<(DocId, NeighborQuery)> = DocId::all(active.len())
            .filter(|&d| index.contains(d))
            .map(|d| (d, index.query_for(d, k, min_cos)))
            .collect();
        nearest_pairs(&index, &queries)
            .iter()
            .map(|x| (x.a.0, x.b.0))
            .collect()
    }

    #[test]
    fn finds_nearest_above_floor() {
        let v = vec![1.0, 0.0, 0.9, 0.436, 0.0, 1.0, -1.0, 0.0];
        let g = [0, 0, 0, 0];
        let all = [true, true, true, true];
        assert_eq!(pairs(&v, &all, &g, 1, 0.3), vec![(0, 1), (1, 2)]);
        assert!(pairs(&v, &[true, false, true, true], &g, 1, 0.3).is_empty());
        // In another group, document 2 is also document 0's nearest there.
        assert_eq!(
            pairs(&v, &all, &[0, 0, 1, 1], 1, 0.0),
            vec![(0, 1), (0, 2), (1, 2), (2, 3)]
        );
    }

    #[test]
    fn ties_go_to_the_smaller_id_and_groups_come_first() {
        // 1 and 2 are equally near 0; 3 is in another group.
        let v = vec![1.0, 0.0, 0.6, 0.8, 0.6, -0.8, 0.6, 0.8];
        let g = [0, 0, 0, 1];
        let index = ExactIndex::new(&v, 2, &[true; 4], &g);
        let near = index.nearest(&index.query_for(DocId(0), 1, 0.0));
        assert_eq!(near, vec![(DocId(1), 0.6), (DocId(3), 0.6)]);
    }
}
