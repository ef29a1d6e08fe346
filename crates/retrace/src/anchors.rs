//! The inverted index of passage anchors: anchor hash → documents. Pairs of documents that
//! share anchors are candidates for partial reuse (excerpts, quotes, copied paragraphs), found
//! without comparing all pairs: the work is the sum over anchors of the squared number of
//! documents holding them, and anchors held by more than `max_df` documents (template text,
//! stock phrases) are left out, which bounds it.

/// Anchors of all documents, sorted by hash.
#[derive(Debug, Default)]
pub struct AnchorIndex {
    entries: Vec<(u64, u32)>,
}

impl AnchorIndex {
    /// Build from each document's anchors (duplicates within a document are ignored).
    pub fn build(per_doc: impl Iterator<Item = (u32, Vec<u64>)>) -> Self {
        let mut entries = Vec::new();
        for (d, mut anchors) in per_doc {
            anchors.sort_unstable();
            anchors.dedup();
            entries.extend(anchors.into_iter().map(|h| (h, d)));
        }
        entries.sort_unstable();
        AnchorIndex { entries }
    }

    /// Number of (anchor, document) entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Pairs `(a, b)`, `a < b`, with the number of anchors they share, counting only anchors
    /// held by at most `max_df` documents. Sorted by pair.
    pub fn shared_counts(&self, max_df: usize) -> Vec<((u32, u32), u32)> {
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        let e = &self.entries;
        let mut i = 0;
        while i < e.len() {
            let mut j = i + 1;
            while j < e.len() && e[j].0 == e[i].0 {
                j += 1;
            }
            let n = j - i;
            if (2..=max_df).contains(&n) {
                for x in i..j {
                    for y in x + 1..j {
                        pairs.push((e[x].1.min(e[y].1), e[x].1.max(e[y].1)));
                    }
                }
            }
            i = j;
        }
        pairs.sort_unstable();
        let mut out: Vec<((u32, u32), u32)> = Vec::new();
        for p in pairs {
            match out.last_mut() {
                Some((q, c)) if *q == p => *c += 1,
                _ => out.push((p, 1)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_shared_anchors_and_caps_frequent_ones() {
        let idx = AnchorIndex::build(
            vec![
                (0, vec![1, 2, 3, 99]),
                (1, vec![2, 3, 4, 99]),
                (2, vec![3, 5, 99, 99]),
                (3, vec![7, 99]),
            ]
            .into_iter(),
        );
        assert_eq!(idx.len(), 13);
        assert_eq!(
            idx.shared_counts(3),
            vec![((0, 1), 2), ((0, 2), 1), ((1, 2), 1)]
        );
    }
}
