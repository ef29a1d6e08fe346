//! Candidate pairs for lexical reuse, never all pairs: documents with the same normalised
//! text, documents sharing passage anchors in the inverted index (partial reuse of any
//! length), and documents colliding in MinHash LSH bands (whole-document near duplicates).

use crate::anchors::AnchorIndex;
use crate::fingerprint::Fingerprint;
use crate::lsh::{candidate_pairs_of_keys, LshOptions};

/// Candidate generation settings.
#[derive(Debug, Clone)]
pub struct CandidateOptions {
    /// Anchors held by more documents than this are ignored (template text, stock phrases).
    pub max_df: usize,
    /// Shared anchors needed for a pair (a document with few anchors needs only one).
    pub min_shared: u32,
    /// ... and at least this share of the smaller document's anchors.
    pub min_shared_fraction: f64,
    pub lsh: LshOptions,
}

impl Default for CandidateOptions {
    fn default() -> Self {
        CandidateOptions {
            max_df: 64,
            min_shared: 2,
            min_shared_fraction: 0.15,
            lsh: LshOptions::default(),
        }
    }
}

/// A candidate pair (`a < b`, document indices) and why it was proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub a: u32,
    pub b: u32,
    pub shared_anchors: u32,
    pub lsh: bool,
    pub exact: bool,
}

/// Lexical candidates, sorted by `(a, b)`. Takes the fingerprints, as it frees each part
/// once used (signatures, then anchors) to keep the peak memory low.
pub fn lexical_candidates(fps: Vec<Fingerprint>, opts: &CandidateOptions) -> Vec<Candidate> {
    // LSH pairs and exact duplicates, side by side.
    let (lsh, by_exact) = rayon::join(
        || {
            let keys: Vec<&[u64]> = fps.iter().map(|f| f.bands.as_slice()).collect();
            candidate_pairs_of_keys(&keys, &opts.lsh)
        },
        || {
            let mut by_exact: Vec<(u64, u32)> = fps
                .iter()
                .enumerate()
                .filter(|(_, f)| f.exact != 0)
                .map(|(d, f)| (f.exact, d as u32))
                .collect();
            by_exact.sort_unstable();
            by_exact
        },
    );
    // Each fingerprint's anchors are sorted and deduplicated already. (Not an in-place
    // collect, which would keep the fingerprints' allocation.)
    let mut per_doc: Vec<Vec<u32>> = Vec::with_capacity(fps.len());
    for f in fps {
        per_doc.push(f.anchors);
    }
    let mut exact = Vec::new();
    for g in by_exact.chunk_by(|x, y| x.0 == y.0) {
        for i in 0..g.len() {
            for j in i + 1..g.len().min(i + 1 + opts.max_df) {
                exact.push((g[i].1, g[j].1));
            }
        }
    }
    drop(by_exact);
    exact.sort_unstable();
    let sizes: Vec<u32> = per_doc.iter().map(|a| a.len() as u32).collect();
    let index = AnchorIndex::build(&mut per_doc);
    // A pair is worth aligning when it shares a fair part of the smaller document's anchors
    // (a copy or excerpt shares most of them); a document with few anchors needs only one.
    let keep = |a: u32, b: u32, n: u32| {
        let small = sizes[a as usize].min(sizes[b as usize]) as f64;
        if small <= 8.0 {
            return true;
        }
        n >= opts.min_shared && n as f64 >= opts.min_shared_fraction * small
    };
    let shared = index.shared_counts(&per_doc, opts.max_df, keep);
    drop(index);
    drop(per_doc);

    let mut out: Vec<Candidate> = Vec::new();
    for ((a, b), n) in shared {
        let few = sizes[a as usize].min(sizes[b as usize]) <= 8;
        if n >= opts.min_shared || few {
            out.push(Candidate {
                a,
                b,
                shared_anchors: n,
                lsh: false,
                exact: false,
            });
        }
    }
    let merge = |out: &mut Vec<Candidate>, pairs: &[(u32, u32)], lsh: bool| {
        let mut extra = Vec::new();
        for &(a, b) in pairs {
            match out.binary_search_by_key(&(a, b), |c| (c.a, c.b)) {
                Ok(i) => {
                    if lsh {
                        out[i].lsh = true
                    } else {
                        out[i].exact = true
                    }
                }
                Err(_) => extra.push(Candidate {
                    a,
                    b,
                    shared_anchors: 0,
                    lsh,
                    exact: !lsh,
                }),
            }
        }
        out.extend(extra);
        out.sort_unstable_by_key(|c| (c.a, c.b));
        out.dedup_by_key(|c| (c.a, c.b));
    };
    merge(&mut out, &lsh, true);
    merge(&mut out, &exact, false);
    out
}
