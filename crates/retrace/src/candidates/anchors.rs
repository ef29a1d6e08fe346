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
        // part of the hash range, so that only a part's hashes are ever copied out at once.
        let total_anchors: usize = per_doc.iter().map(Vec::len).sum();
        let parts: u64 = if total_anchors < 1 << 18 { 1 } else { 16 };
        // Part `p` holds the hashes in `bounds[p]..bounds[p + 1]`, ranges chosen from a
        // histogram of the top 16 bits so that parts hold about as many anchors each
        // (winnowing keeps minima: anchors crowd towards small hashes).
        let mut bounds: Vec<u64> = vec![0; parts as usize + 1];
        bounds[parts as usize] = 1 << 32;
        if parts > 1 {
            let mut hist = vec![0u32; 1 << 16];
            for anchors in per_doc.iter() {
                for &h in anchors {
                    hist[(h >> 16) as usize] += 1;
                }
            }
            let (mut cum, mut p) = (0u64, 1usize);
            for (top, &n) in hist.iter().enumerate() {
                cum += n as u64;
                while p < parts as usize && cum * parts >= p as u64 * total_anchors as u64 {
                    bounds[p] = (top as u64 + 1) << 16;
                    p += 1;
                }
            }
        }
        // Parts are taken in runs, one run a worker; a document's anchors are sorted, so a
        // part's are the next of them, and each run keeps a cursor into every document's.
        let runs = (rayon::current_num_threads() as u64).clamp(1, parts);
        let found: Vec<Vec<(Vec<u32>, Vec<u32>)>> = (0..runs)
            .into_par_iter()
            .map(|r| {
                let (first, end) = (r * parts / runs, (r + 1) * parts / runs);
                let start = bounds[first as usize];
                let mut cursor: Vec<u32> = per_doc
                    .iter()
                    .map(|a| a.partition_point(|&h| (h as u64) < start) as u32)
                    .collect();
                // One buffer (and one for sorting) for all the run's parts.
                let (mut all, mut tmp): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
                (first..end)
                    .map(|part| {
                        let hi = bounds[part as usize + 1];
                        all.clear();
                        for (anchors, c) in per_doc.iter().zip(cursor.iter_mut()) {
                            let a = *c as usize;
                            let n = anchors[a..]
                                .iter()
                                .take_while(|&&h| (h as u64) < hi)
                                .count();
                            all.extend_from_slice(&anchors[a..a + n]);
                            *c = (a + n) as u32;
                        }
                        radix_sort(&mut all, &mut tmp);
                        let (mut keys, mut counts) = (Vec::new(), Vec::new());
                        for g in all.chunk_by(|x, y| x == y) {
                            if g.len() >= 2 {
                                keys.push(g[0]);
                                counts.push(g.len() as u32);
                            }
                        }
                        (keys, counts)
                    })
                    .collect()
            })
            .collect();
        let found: Vec<(Vec<u32>, Vec<u32>)> = found.into_iter().flatten().collect();
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
        // In parallel over runs of anchor numbers: each run owns its anchors' cursors and
        // their part of `docs`.
        let n_keys = starts.len() - 1;
        let runs = rayon::current_num_threads().clamp(1, n_keys.max(1));
        let mut parts: Vec<FillRun> = Vec::with_capacity(runs);
        let (mut rest_starts, mut rest_docs) = (&mut starts[1..], &mut docs[..]);
        let mut done = 0usize;
        for r in 0..runs {
            let (k0, k1) = (n_keys * r / runs, n_keys * (r + 1) / runs);
            let (s, more) = std::mem::take(&mut rest_starts).split_at_mut(k1 - k0);
            // The run's entries end where its last anchor's do.
            let end = s.last().map_or(done, |&e| e as usize);
            let (d, more_docs) = std::mem::take(&mut rest_docs).split_at_mut(end - done);
            parts.push(FillRun {
                anchors: k0 as u32..k1 as u32,
                offset: done as u32,
                cursors: s,
                out: d,
            });
            rest_starts = more;
            rest_docs = more_docs;
            done = end;
        }
        parts.par_iter_mut().for_each(|run| {
            let FillRun {
                anchors: ks,
                offset,
                cursors,
                out,
            } = run;
            for (d, anchors) in per_doc.iter().enumerate().rev() {
                for &k in anchors
                    .iter()
                    .filter(|&&k| k != UNSHARED && ks.contains(&k))
                {
                    let slot = &mut cursors[(k - ks.start) as usize];
                    *slot -= 1;
                    out[(*slot - *offset) as usize] = d as u32;
                }
            }
        });
        drop(parts);
        starts.remove(0);
        starts.push(total);
        AnchorIndex { starts, docs }
    }

    /// Number of (anchor, document) entries kept.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether no anchor is shared.
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
                || {
                    (
                        foldhash::HashMap::<u32, u32>::default(),
                        Vec::new(),
                        Vec::new(),
                    )
                },
                |(mut counts, mut met, mut out): (_, Vec<(u32, u32)>, Vec<SharedCount>),
                 (a, anchors)| {
                    let a = a as u32;
                    // Documents sharing many anchors with `a` come up once an anchor (an order
                    // of magnitude more mentions than documents): counted in a map, then the
                    // documents met are sorted.
                    counts.clear();
                    for &k in anchors.as_ref() {
                        if k == UNSHARED {
                            continue;
                        }
                        let (lo, hi) = (self.starts[k as usize], self.starts[k as usize + 1]);
                        // Anchors held by more than `max_df` documents pair nothing.
                        if (hi - lo) as usize <= max_df {
                            // An anchor's documents ascend: those after `a` are a tail.
                            let holders = &self.docs[lo as usize..hi as usize];
                            let after = holders.partition_point(|&b| b <= a);
                            for &b in &holders[after..] {
                                *counts.entry(b).or_insert(0) += 1;
                            }
                        }
                    }
                    met.clear();
                    met.extend(counts.iter().map(|(&b, &n)| (b, n)));
                    met.sort_unstable();
                    for &(b, n) in &met {
                        if keep(a, b, n) {
                            out.push(((a, b), n));
                        }
                    }
                    (counts, met, out)
                },
            )
            .map(|(_, _, out)| out)
            .reduce(Vec::new, |mut x, mut y| {
                x.append(&mut y);
                x
            });
        // In order already (each pair once): this only checks it.
        pairs.sort_unstable_by_key(|p| p.0);
        pairs
    }
}

/// One worker's share of filling [`AnchorIndex`]'s document lists: a run of anchor numbers,
/// their cursors and their entries (which start at `offset` in the whole list).
struct FillRun<'a> {
    anchors: std::ops::Range<u32>,
    offset: u32,
    cursors: &'a mut [u32],
    out: &'a mut [u32],
}

/// Sort `v` ascending: least significant digit first, 11 bits a pass, skipping the passes
/// whose digit is the same for all values. `tmp` is room it may use.
fn radix_sort(v: &mut Vec<u32>, tmp: &mut Vec<u32>) {
    if v.len() < 256 {
        v.sort_unstable();
        return;
    }
    const BITS: u32 = 11;
    const BUCKETS: usize = 1 << BITS;
    tmp.clear();
    tmp.resize(v.len(), 0);
    let mut shift = 0;
    while shift < 32 {
        let digit = |x: u32| ((x >> shift) as usize) & (BUCKETS - 1);
        let mut count = vec![0usize; BUCKETS + 1];
        for &x in v.iter() {
            count[digit(x) + 1] += 1;
        }
        if count.contains(&v.len()) {
            shift += BITS;
            continue;
        }
        for i in 1..=BUCKETS {
            count[i] += count[i - 1];
        }
        for &x in v.iter() {
            let d = digit(x);
            tmp[count[d]] = x;
            count[d] += 1;
        }
        std::mem::swap(v, tmp);
        shift += BITS;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_sort_sorts() {
        let mut x: u64 = 7;
        for n in [0usize, 5, 300, 5000] {
            let mut v: Vec<u32> = (0..n)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    // Some values share high bits, as anchors of one part do.
                    ((x >> 33) as u32) & 0x0FFF_FFFF
                })
                .collect();
            let mut want = v.clone();
            want.sort_unstable();
            radix_sort(&mut v, &mut Vec::new());
            assert_eq!(v, want);
        }
    }

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
