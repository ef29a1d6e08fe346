//! The inverted index of passage anchors: anchor hash → documents. Pairs of documents that
//! share anchors are candidates for partial reuse (excerpts, quotes, copied paragraphs), found
//! without comparing all pairs: the work is the sum over anchors of the squared number of
//! documents holding them, and anchors held by more than `max_df` documents (template text,
//! stock phrases) are left out, which bounds it.

use rayon::prelude::*;

/// A pair of documents `(a, b)` and the number of anchors they share.
pub type SharedCount = ((u32, u32), u32);

/// Marks an anchor held by one document only (it pairs nothing).
pub const UNSHARED: u32 = u32::MAX;

/// The anchors held by at least two documents, each with the (ascending) documents holding
/// it. An anchor of one document pairs nothing, so it is not kept.
#[derive(Debug, Default)]
pub struct AnchorIndex {
    /// `docs[starts[k]..starts[k + 1]]` hold shared anchor `k`.
    starts: Vec<u32>,
    docs: Vec<u32>,
}

impl AnchorIndex {
    /// Build from each document's anchors, which must be sorted and deduplicated. Each anchor
    /// is replaced in place by its number in the index, or [`UNSHARED`]: the numbers are all
    /// [`AnchorIndex::shared_counts`] needs, and no map from hashes is kept.
    pub fn build(per_doc: &mut [Vec<u32>]) -> Self {
        // The shared hashes, sorted, with the number of documents holding each: found part by
        // part of the hash range (by the top bits), so that only a part's hashes are ever
        // copied out at once.
        // (Each part reads every document's anchors: a fixed number of parts keeps that
        // linear in the collection.)
        let total_anchors: usize = per_doc.iter().map(Vec::len).sum();
        let parts: usize = if total_anchors < 1 << 18 { 1 } else { 16 };
        let shift = 32 - parts.trailing_zeros();
        let found: Vec<(Vec<u32>, Vec<u32>)> = (0..parts as u32)
            .into_par_iter()
            .map(|part| {
                let in_part = |h: u32| parts == 1 || h >> shift == part;
                let mut all: Vec<u32> = Vec::new();
                for anchors in per_doc.iter() {
                    all.extend(anchors.iter().copied().filter(|&h| in_part(h)));
                }
                all.sort_unstable();
                let (mut keys, mut counts) = (Vec::new(), Vec::new());
                for g in all.chunk_by(|x, y| x == y) {
                    if g.len() >= 2 {
                        keys.push(g[0]);
                        counts.push(g.len() as u32);
                    }
                }
                (keys, counts)
            })
            .collect();
        let mut keys: Vec<u32> = Vec::with_capacity(found.iter().map(|f| f.0.len()).sum());
        let mut starts: Vec<u32> = Vec::with_capacity(keys.capacity() + 1);
        starts.push(0);
        let mut total = 0u32;
        for (k, c) in found {
            keys.extend_from_slice(&k);
            for n in c {
                total += n;
                starts.push(total);
            }
        }
        // Look-up of a hash: the keys sharing its top 16 bits, then a binary search.
        let mut buckets = vec![0u32; (1 << 16) + 1];
        for &k in &keys {
            buckets[(k >> 16) as usize + 1] += 1;
        }
        for i in 1..buckets.len() {
            buckets[i] += buckets[i - 1];
        }
        per_doc.par_iter_mut().for_each(|anchors| {
            for h in anchors.iter_mut() {
                let top = (*h >> 16) as usize;
                let (lo, hi) = (buckets[top] as usize, buckets[top + 1] as usize);
                *h = match keys[lo..hi].binary_search(h) {
                    Ok(i) => (lo + i) as u32,
                    Err(_) => UNSHARED,
                };
            }
        });
        drop(keys);
        drop(buckets);
        // Each anchor's documents, ascending: filled from the end of its range backwards,
        // documents taken last to first, with the range ends as cursors. They end up at the
        // range starts, one place up: `starts` is then shifted back.
        let mut docs = vec![0u32; total as usize];
        for (d, anchors) in per_doc.iter().enumerate().rev() {
            for &k in anchors.iter().filter(|&&k| k != UNSHARED) {
                let slot = &mut starts[k as usize + 1];
                *slot -= 1;
                docs[*slot as usize] = d as u32;
            }
        }
        starts.remove(0);
        starts.push(total);
        AnchorIndex { starts, docs }
    }

    /// Number of (anchor, document) entries kept.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Pairs `(a, b)`, `a < b`, with the number of anchors they share, counting only anchors
    /// held by at most `max_df` documents, keeping pairs for which `keep(a, b, shared)` holds.
    /// `per_doc` holds each document's anchors as numbered by [`AnchorIndex::build`].
    /// Sorted by pair. Runs per document in parallel; memory beyond the index is one buffer
    /// per thread plus the kept pairs.
    pub fn shared_counts<A: AsRef<[u32]> + Sync>(
        &self,
        per_doc: &[A],
        max_df: usize,
        keep: impl Fn(u32, u32, u32) -> bool + Sync,
    ) -> Vec<SharedCount> {
        let mut pairs = per_doc
            .par_iter()
            .enumerate()
            // Pairs appended to one list per worker's run of documents (not one list a
            // document), joined in document order.
            .fold(
                || (Vec::new(), Vec::new()),
                |(mut others, mut out): (Vec<u32>, Vec<SharedCount>), (a, anchors)| {
                    let a = a as u32;
                    others.clear();
                    for &k in anchors.as_ref() {
                        if k == UNSHARED {
                            continue;
                        }
                        let (lo, hi) = (self.starts[k as usize], self.starts[k as usize + 1]);
                        // Anchors held by more than `max_df` documents pair nothing.
                        if (hi - lo) as usize <= max_df {
                            others.extend(
                                self.docs[lo as usize..hi as usize]
                                    .iter()
                                    .filter(|&&b| b > a),
                            );
                        }
                    }
                    others.sort_unstable();
                    for g in others.chunk_by(|x, y| x == y) {
                        let n = g.len() as u32;
                        if keep(a, g[0], n) {
                            out.push(((a, g[0]), n));
                        }
                    }
                    (others, out)
                },
            )
            .map(|(_, out)| out)
            .reduce(Vec::new, |mut x, mut y| {
                x.append(&mut y);
                x
            });
        // In order already (each pair once): this only checks it.
        pairs.sort_unstable_by_key(|p| p.0);
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_shared_anchors_and_caps_frequent_ones() {
        let mut docs = vec![
            vec![1u32, 2, 3, 99],
            vec![2, 3, 4, 99],
            vec![3, 5, 99],
            vec![7, 99],
        ];
        let idx = AnchorIndex::build(&mut docs);
        assert_eq!(idx.len(), 9);
        assert_eq!(docs[3], vec![UNSHARED, 2]);
        assert_eq!(
            idx.shared_counts(&docs, 3, |_, _, _| true),
            vec![((0, 1), 2), ((0, 2), 1), ((1, 2), 1)]
        );
        assert_eq!(
            idx.shared_counts(&docs, 3, |_, _, n| n >= 2),
            vec![((0, 1), 2)]
        );
    }
}
