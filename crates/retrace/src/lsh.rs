//! LSH banding over MinHash signatures: documents whose signatures agree on every row of at
//! least one band become candidate pairs. With `b` bands of `r` rows a pair of Jaccard
//! similarity `J` is found with probability `1 - (1 - J^r)^b`.

use crate::minhash::{Signature, BINS};
use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

/// Banding parameters; `bands * rows` must not exceed the signature length.
#[derive(Debug, Clone, Copy)]
pub struct LshOptions {
    pub bands: usize,
    pub rows: usize,
    /// Buckets larger than this are linked as a star from their first member, so that one
    /// huge bucket cannot make the cost quadratic.
    pub max_bucket: usize,
}

impl Default for LshOptions {
    fn default() -> Self {
        LshOptions {
            bands: 16,
            rows: 4,
            max_bucket: 64,
        }
    }
}

/// Candidate pairs `(a, b)` with `a < b`, sorted and deduplicated.
pub fn candidate_pairs(sigs: &[Option<&Signature>], opts: &LshOptions) -> Vec<(u32, u32)> {
    let keys: Vec<Vec<u64>> = sigs
        .iter()
        .map(|s| s.map(|s| band_keys(s, opts)).unwrap_or_default())
        .collect();
    let keys: Vec<&[u64]> = keys.iter().map(Vec::as_slice).collect();
    candidate_pairs_of_keys(&keys, opts)
}

/// The bucket key of each band of a signature (the band's number and rows, hashed).
pub fn band_keys(s: &Signature, opts: &LshOptions) -> Vec<u64> {
    assert!(
        opts.bands * opts.rows <= BINS,
        "bands × rows exceeds the signature length"
    );
    (0..opts.bands)
        .map(|b| {
            let rows = &s.0[b * opts.rows..(b + 1) * opts.rows];
            let mut bytes = [0u8; 4 * BINS + 8];
            bytes[..8].copy_from_slice(&(b as u64).to_le_bytes());
            for (k, v) in rows.iter().enumerate() {
                bytes[8 + 4 * k..12 + 4 * k].copy_from_slice(&v.to_le_bytes());
            }
            xxh3_64(&bytes[..8 + 4 * opts.rows])
        })
        .collect()
}

/// [`candidate_pairs`] given each document's [`band_keys`] (empty: no signature).
pub fn candidate_pairs_of_keys(keys_of: &[&[u64]], opts: &LshOptions) -> Vec<(u32, u32)> {
    // Band by band (in parallel): the keys of different bands never meet in a bucket (the
    // band is hashed into the key), and one band's keys are 1/`bands` of the memory.
    let mut pairs: Vec<(u32, u32)> = (0..opts.bands)
        .into_par_iter()
        .fold(Vec::new, |mut pairs, b| {
            let mut keys: Vec<(u64, u32)> = Vec::with_capacity(keys_of.len());
            for (d, k) in keys_of.iter().enumerate() {
                if let Some(&k) = k.get(b) {
                    keys.push((k, d as u32));
                }
            }
            keys.sort_unstable();
            for bucket in keys.chunk_by(|x, y| x.0 == y.0) {
                if bucket.len() > opts.max_bucket {
                    let first = bucket[0].1;
                    pairs.extend(bucket[1..].iter().map(|x| (first.min(x.1), first.max(x.1))));
                } else {
                    for x in 0..bucket.len() {
                        for y in x + 1..bucket.len() {
                            let (p, q) = (bucket[x].1, bucket[y].1);
                            if p != q {
                                pairs.push((p.min(q), p.max(q)));
                            }
                        }
                    }
                }
            }
            pairs
        })
        .reduce(Vec::new, |mut x, mut y| {
            x.append(&mut y);
            x
        });
    pairs.par_sort_unstable();
    pairs.dedup();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_duplicates_collide_and_distinct_sets_do_not() {
        let base: Vec<u64> = (0..400).collect();
        let near: Vec<u64> = (0..380).chain(1000..1020).collect();
        let other: Vec<u64> = (5000..5400).collect();
        let sigs = [
            Signature::of(base.into_iter()),
            Signature::of(near.into_iter()),
            Signature::of(other.into_iter()),
            None,
        ];
        let refs: Vec<Option<&Signature>> = sigs.iter().map(Option::as_ref).collect();
        let pairs = candidate_pairs(&refs, &LshOptions::default());
        assert_eq!(pairs, vec![(0, 1)]);
    }
}
