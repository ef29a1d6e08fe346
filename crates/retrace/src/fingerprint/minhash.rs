//! MinHash signatures by one-permutation hashing with densification: one hash per shingle
//! picks a bin and a value, each bin keeps its minimum, and empty bins borrow from the next
//! non-empty bin. The estimator of Jaccard similarity is the share of equal bins.

/// Number of bins (signature length).
pub const BINS: usize = 64;

#[inline]
fn remix(x: u64) -> u64 {
    let mut z = x ^ 0x2545_F491_4F6C_DD1D;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// LSH banding of signatures: `bands` bands of `rows` rows each, whose keys
/// ([`band_keys`]) are what candidate generation buckets. With `b` bands of `r` rows a pair of
/// Jaccard similarity `J` shares a key with probability `1 - (1 - J^r)^b`;
/// `bands * rows` must not exceed [`BINS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LshOptions {
    /// Bands per signature.
    pub bands: usize,
    /// Rows (bins) per band.
    pub rows: usize,
}

impl Default for LshOptions {
    fn default() -> Self {
        LshOptions { bands: 16, rows: 4 }
    }
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
            xxhash_rust::xxh3::xxh3_64(&bytes[..8 + 4 * opts.rows])
        })
        .collect()
}

/// A MinHash signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature(pub [u32; BINS]);

impl Signature {
    /// Signature of a set of shingle hashes (duplicates do not matter). `None` when empty.
    pub fn of(hashes: impl Iterator<Item = u64>) -> Option<Signature> {
        let mut bins = [u32::MAX; BINS];
        let mut filled = [false; BINS];
        let mut any = false;
        for h in hashes {
            let z = remix(h);
            let b = (z >> 58) as usize % BINS;
            // (An unfilled bin holds u32::MAX: the minimum is then `v`.)
            bins[b] = bins[b].min(z as u32);
            filled[b] = true;
            any = true;
        }
        if !any {
            return None;
        }
        // Densify: an empty bin takes the value of the next filled bin, re-hashed by distance.
        let snapshot = bins;
        for i in 0..BINS {
            if filled[i] {
                continue;
            }
            let mut d = 1;
            while !filled[(i + d) % BINS] {
                d += 1;
            }
            let src = (i + d) % BINS;
            bins[i] = remix(snapshot[src] as u64 ^ ((d as u64) << 32)) as u32;
        }
        Some(Signature(bins))
    }

    /// Estimated Jaccard similarity.
    pub fn jaccard(&self, other: &Signature) -> f64 {
        let eq = self
            .0
            .iter()
            .zip(other.0.iter())
            .filter(|(a, b)| a == b)
            .count();
        eq as f64 / BINS as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_jaccard() {
        let a: Vec<u64> = (0..1000).collect();
        let b: Vec<u64> = (500..1500).collect();
        let sa = Signature::of(a.iter().copied()).unwrap();
        let sb = Signature::of(b.iter().copied()).unwrap();
        let j = sa.jaccard(&sb);
        assert!((j - 1.0 / 3.0).abs() < 0.15, "{j}");
        assert_eq!(sa.jaccard(&sa), 1.0);
        let c: Vec<u64> = (5000..6000).collect();
        assert!(sa.jaccard(&Signature::of(c.iter().copied()).unwrap()) < 0.1);
        assert!(Signature::of(std::iter::empty()).is_none());
    }

    #[test]
    fn tiny_sets_are_densified() {
        let s = Signature::of([42u64].into_iter()).unwrap();
        assert!(s.0.iter().all(|&v| v != u32::MAX));
    }
}
