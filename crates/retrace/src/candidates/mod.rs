//! Candidates: the pairs worth aligning, never all pairs.
//!
//! - Lexical ([`lexical_candidates`]): documents with the same normalised text, documents
//!   sharing passage anchors in the inverted index ([`anchors`]; partial reuse of any length)
//!   and documents colliding in MinHash LSH bands ([`lsh`]; whole-document near duplicates).
//!   Input: [`Fingerprint`]s; output: [`Candidate`]s.
//! - By meaning ([`neighbors`]): each document's nearest neighbours by document vector,
//!   through a [`NeighborIndex`] (exact search today, [`ExactIndex`]; an approximate index
//!   can take its place). Output: [`NeighborPair`]s.
//! - By names ([`namekeys`]): documents sharing rare names and numbers whatever their script,
//!   for languages no encoder reads well.

pub mod anchors;
pub mod lsh;
pub mod namekeys;
pub mod neighbors;

use crate::fingerprint::Fingerprint;
use crate::id::{DocId, Pair};
use anchors::AnchorIndex;
use lsh::candidate_pairs_of_keys;
pub use neighbors::{nearest_pairs, ExactIndex, NeighborIndex, NeighborPair, NeighborQuery};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Lexical candidate settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateOptions {
    /// Anchors held by more documents than this are ignored (template text, stock phrases).
    pub max_df: usize,
    /// Shared anchors needed for a pair (a document with few anchors needs only one).
    pub min_shared: u32,
    /// ... and at least this share of the smaller document's anchors.
    pub min_shared_fraction: f64,
    /// LSH buckets larger than this are linked as a star from their first member, so that
    /// one huge bucket cannot make the cost quadratic.
    pub max_bucket: usize,
    /// Documents with one main text (an exact duplicate group, such as a syndicated
    /// article) are paired all with all up to this many members, every pair of the group
    /// reported; a larger group is linked as a star from its first member, with a warning
    /// (documents.jsonl's `duplicate_of` accounts for every pair of a group).
    #[serde(default = "default_max_exact_group")]
    pub max_exact_group: usize,
}

fn default_max_exact_group() -> usize {
    1000
}

impl Default for CandidateOptions {
    fn default() -> Self {
        CandidateOptions {
            max_df: 64,
            min_shared: 2,
            min_shared_fraction: 0.15,
            max_bucket: 64,
            max_exact_group: default_max_exact_group(),
        }
    }
}

/// A lexical candidate pair (`a < b`) and why it was proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// The smaller document id.
    pub a: DocId,
    /// The larger one.
    pub b: DocId,
    /// Passage anchors the two share (counting those held by at most `max_df` documents).
    pub shared_anchors: u32,
    /// They share an LSH bucket.
    pub lsh: bool,
    /// Their main texts are the same.
    pub exact: bool,
}

impl Candidate {
    /// The pair.
    pub fn pair(&self) -> Pair {
        Pair {
            a: self.a,
            b: self.b,
        }
    }
}

/// What a larger collection knows of passage anchors (see [`lexical_candidates_in`]).
#[derive(Clone, Copy)]
pub struct KnownAnchors<'a> {
    /// Documents of the collection holding an anchor.
    pub df: &'a (dyn Fn(u32) -> u32 + Sync),
    /// For each fingerprint given, whether the collection counts its document already.
    pub counted: &'a [bool],
}

/// Lexical candidates, sorted by `(a, b)`. Takes the fingerprints, as it frees each part
/// once used (signatures, then anchors) to keep the peak memory low.
pub fn lexical_candidates(fps: Vec<Fingerprint>, opts: &CandidateOptions) -> Vec<Candidate> {
    lexical_candidates_in(fps, opts, None)
}

/// [`lexical_candidates`] among documents that are part of a larger collection: an anchor
/// held by more than `max_df` documents of the collection (with those given that it does
/// not count yet) pairs nothing, as in a scan of the whole collection.
pub fn lexical_candidates_in(
    fps: Vec<Fingerprint>,
    opts: &CandidateOptions,
    known: Option<KnownAnchors>,
) -> Vec<Candidate> {
    // LSH pairs and exact duplicates, side by side.
    let (lsh, by_exact) = rayon::join(
        || {
            let keys: Vec<&[u64]> = fps.iter().map(|f| f.bands.as_slice()).collect();
            candidate_pairs_of_keys(&keys, opts.max_bucket)
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
        if g.len() <= opts.max_exact_group {
            // Every pair: none of a syndicated article's copies may go unreported.
            for i in 0..g.len() {
                for j in i + 1..g.len() {
                    exact.push((g[i].1, g[j].1));
                }
            }
        } else {
            tracing::warn!(
                "{} documents share one main text (document {} and {} more); more than {} \
                 such documents are paired only with the first of them, and each other names \
                 it as duplicate_of in documents.jsonl (every pair of the group is a copy; \
                 bench/expand_duplicates.py lists them all)",
                g.len(),
                g[0].1,
                g.len() - 1,
                opts.max_exact_group
            );
            for j in 1..g.len() {
                exact.push((g[0].1, g[j].1));
            }
        }
    }
    drop(by_exact);
    exact.sort_unstable();
    let sizes: Vec<u32> = per_doc.iter().map(|a| a.len() as u32).collect();
    if let Some(k) = known {
        // Anchors frequent in the collection pair nothing here either (the sizes above keep
        // them: the share of a document's anchors is of all of them, as in a whole scan).
        let mut fresh: foldhash::HashMap<u32, u32> = Default::default();
        for (anchors, &counted) in per_doc.iter().zip(k.counted) {
            if !counted {
                for &a in anchors {
                    *fresh.entry(a).or_default() += 1;
                }
            }
        }
        // The collection's frequency of each distinct anchor, asked once.
        let mut distinct: Vec<u32> = per_doc.iter().flatten().copied().collect();
        distinct.par_sort_unstable();
        distinct.dedup();
        // An anchor only counted documents hold pairs only them, pairs the collection has
        // judged: dropped without asking.
        let keep: Vec<bool> = distinct
            .par_iter()
            .map(|a| {
                fresh
                    .get(a)
                    .is_some_and(|&n| (k.df)(*a) as usize + n as usize <= opts.max_df)
            })
            .collect();
        per_doc.par_iter_mut().for_each(|anchors| {
            anchors.retain(|a| distinct.binary_search(a).is_ok_and(|i| keep[i]));
        });
    }
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
                a: DocId(a),
                b: DocId(b),
                shared_anchors: n,
                lsh: false,
                exact: false,
            });
        }
    }
    let merge = |out: &mut Vec<Candidate>, pairs: &[(u32, u32)], lsh: bool| {
        let mut extra = Vec::new();
        for &(a, b) in pairs {
            let (a, b) = (DocId(a), DocId(b));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{fingerprint_corpus, FingerprintOptions};
    use crate::progress::NoProgress;
    use crate::testing::{news, prepared};

    fn candidates(docs: &[crate::Document], opts: &CandidateOptions) -> Vec<Candidate> {
        let p = prepared(docs);
        let fps = fingerprint_corpus(docs, &p, &FingerprintOptions::default(), &NoProgress);
        lexical_candidates(fps, opts)
    }

    #[test]
    fn reuse_of_any_length_is_proposed_and_unrelated_texts_are_not() {
        let mut docs = news();
        // An exact duplicate of the festival article under another name.
        let mut dup = docs[3].clone();
        dup.id = "festival-again.txt".into();
        docs.push(dup);
        let c = candidates(&docs, &CandidateOptions::default());
        let pairs: Vec<(u32, u32)> = c.iter().map(|c| (c.a.0, c.b.0)).collect();
        // The article, its republication and its excerpt pair up; the duplicate pairs
        // with its original; nothing else is proposed.
        assert_eq!(pairs, vec![(0, 1), (0, 2), (1, 2), (3, 5)], "{c:?}");
        let dup = c.iter().find(|c| c.pair() == Pair::new(DocId(3), DocId(5)));
        let dup = dup.expect("the duplicate");
        assert!(dup.exact && dup.lsh && dup.shared_anchors > 10, "{dup:?}");
        let excerpt = c[1];
        assert!(!excerpt.exact && excerpt.shared_anchors >= 2, "{excerpt:?}");
        assert!(
            c.windows(2).all(|w| w[0].pair() < w[1].pair()),
            "sorted, unique"
        );
    }

    #[test]
    fn anchors_held_by_too_many_documents_pair_nothing() {
        // Twenty documents share one sentence and nothing else.
        let shared = "the council approved the budget for the new harbour wall on tuesday";
        // Words of letters only, a different set for each document.
        let word = |i: usize, k: usize| -> String {
            let n = i * 30 + k;
            [n / 676, n / 26 % 26, n % 26]
                .iter()
                .map(|&c| char::from(b'a' + c as u8))
                .chain("zq".chars())
                .collect()
        };
        let docs: Vec<crate::Document> = (0..20)
            .map(|i| {
                let own: String = (0..30).map(|k| word(i, k) + " ").collect();
                crate::Document::new(format!("d{i}"), format!("{own}{shared} {own}"))
            })
            .collect();
        let all = candidates(&docs, &CandidateOptions::default());
        assert_eq!(all.len(), 190, "every pair shares the sentence");
        let capped = CandidateOptions {
            max_df: 10,
            ..CandidateOptions::default()
        };
        // What is left comes from the (banded, probabilistic) LSH alone: a pair sharing a
        // seventh of its shingles collides in a band now and then.
        let c = candidates(&docs, &capped);
        assert!(c.iter().all(|c| c.shared_anchors == 0 && c.lsh), "{c:?}");
        assert!(c.len() < 19, "{c:?}");
    }
}
