//! The inverted index of passage anchors: anchor hash → documents. Pairs of documents that
//! share anchors are candidates for partial reuse (excerpts, quotes, copied paragraphs), found
//! without comparing all pairs: the work is the sum over anchors of the squared number of
//! documents holding them, and anchors held by more than `max_df` documents (template text,
//! stock phrases) are left out, which bounds it.

use rayon::prelude::*;

/// The anchors held by at least two documents, sorted by hash (an anchor of one document
/// pairs nothing, so it is not kept).
#[derive(Debug, Default)]
pub struct AnchorIndex {
    entries: Vec<(u32, u32)>,
}

impl AnchorIndex {
    /// Build from each document's anchors, which must be sorted and deduplicated.
    pub fn build<A: AsRef<[u32]>>(per_doc: &[A]) -> Self {
        let mut entries = Vec::with_capacity(per_doc.iter().map(|a| a.as_ref().len()).sum());
        for (d, anchors) in per_doc.iter().enumerate() {
            entries.extend(anchors.as_ref().iter().map(|&h| (h, d as u32)));
        }
        entries.par_sort_unstable();
        // Keep only the anchors held by two documents or more, in place.
        let mut kept = 0;
        let mut i = 0;
        while i < entries.len() {
            let mut j = i + 1;
            while j < entries.len() && entries[j].0 == entries[i].0 {
                j += 1;
            }
            if j - i >= 2 {
                entries.copy_within(i..j, kept);
                kept += j - i;
            }
            i = j;
        }
        entries.truncate(kept);
        entries.shrink_to_fit();
        AnchorIndex { entries }
    }

    /// Number of (anchor, document) entries kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Pairs `(a, b)`, `a < b`, with the number of anchors they share, counting only anchors
    /// held by at most `max_df` documents, keeping pairs for which `keep(a, b, shared)` holds.
    /// Sorted by pair. Runs per document in parallel; memory beyond the index is one buffer
    /// per thread plus the kept pairs.
    pub fn shared_counts<A: AsRef<[u32]> + Sync>(
        &self,
        per_doc: &[A],
        max_df: usize,
        keep: impl Fn(u32, u32, u32) -> bool + Sync,
    ) -> Vec<((u32, u32), u32)> {
        let e = &self.entries;
        // Posting ranges of the anchors held by 2..=max_df documents; the rest pair nothing.
        let mut postings: foldhash::HashMap<u32, (u32, u32)> = Default::default();
        let mut lo = 0usize;
        for g in e.chunk_by(|x, y| x.0 == y.0) {
            if (2..=max_df).contains(&g.len()) {
                postings.insert(g[0].0, (lo as u32, (lo + g.len()) as u32));
            }
            lo += g.len();
        }
        per_doc
            .par_iter()
            .enumerate()
            .map_init(Vec::new, |others: &mut Vec<u32>, (a, anchors)| {
                let a = a as u32;
                others.clear();
                for h in anchors.as_ref() {
                    if let Some(&(lo, hi)) = postings.get(h) {
                        others.extend(
                            e[lo as usize..hi as usize]
                                .iter()
                                .map(|x| x.1)
                                .filter(|&b| b > a),
                        );
                    }
                }
                others.sort_unstable();
                let mut out = Vec::new();
                for g in others.chunk_by(|x, y| x == y) {
                    let n = g.len() as u32;
                    if keep(a, g[0], n) {
                        out.push(((a, g[0]), n));
                    }
                }
                out
            })
            .flatten()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_shared_anchors_and_caps_frequent_ones() {
        let docs = vec![
            vec![1u32, 2, 3, 99],
            vec![2, 3, 4, 99],
            vec![3, 5, 99],
            vec![7, 99],
        ];
        let idx = AnchorIndex::build(&docs);
        assert_eq!(idx.len(), 9);
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
