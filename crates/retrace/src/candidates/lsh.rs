//! LSH banding over MinHash signatures: documents whose signatures agree on every row of at
//! least one band (the same band key, [`crate::fingerprint::minhash::band_keys`]) become
//! candidate pairs. With `b` bands of `r` rows a pair of Jaccard similarity `J` is found with
//! probability `1 - (1 - J^r)^b`.

use rayon::prelude::*;

/// Candidate pairs `(a, b)` with `a < b`, sorted and deduplicated, given each document's
/// band keys (empty: no signature). Buckets larger than `max_bucket` are linked as a star
/// from their first member, so that one huge bucket cannot make the cost quadratic.
pub fn candidate_pairs_of_keys(keys_of: &[&[u64]], max_bucket: usize) -> Vec<(u32, u32)> {
    let bands = keys_of.iter().map(|k| k.len()).max().unwrap_or(0);
    // Band by band (in parallel): the keys of different bands never meet in a bucket (the
    // band is hashed into the key), and one band's keys are 1/`bands` of the memory.
    let mut pairs: Vec<(u32, u32)> = (0..bands)
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
                if bucket.len() > max_bucket {
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
    use crate::fingerprint::minhash::{band_keys, LshOptions, Signature};

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
        let keys: Vec<Vec<u64>> = sigs
            .iter()
            .map(|s| {
                s.as_ref()
                    .map(|s| band_keys(s, &LshOptions::default()))
                    .unwrap_or_default()
            })
            .collect();
        let refs: Vec<&[u64]> = keys.iter().map(Vec::as_slice).collect();
        assert_eq!(candidate_pairs_of_keys(&refs, 64), vec![(0, 1)]);
        // A bucket over the cap is a star from its first member.
        let same: Vec<&[u64]> = vec![&keys[0]; 4];
        assert_eq!(
            candidate_pairs_of_keys(&same, 2),
            vec![(0, 1), (0, 2), (0, 3)]
        );
    }
}
