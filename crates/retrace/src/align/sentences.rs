//! Sentence alignment by meaning, in the spirit of Vecalign and Bertalign: a monotonic
//! alignment of two documents' sentence vectors that allows 1-1 beads, 1-2 and 2-1 merges
//! and skipped sentences on either side, found by dynamic programming. A bead earns its
//! similarity minus a threshold, a skip earns nothing, so the alignment keeps only beads
//! that look like translations or paraphrases of each other and partial translations and
//! excerpts get the coverage of what they really share.

use crate::embed::{dot, SentenceVectors};
use crate::id::DocId;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Alignment settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SemAlignOptions {
    /// A bead counts when its cosine similarity reaches this.
    pub min_sim: f32,
    /// Extra cost of a 1-2 or 2-1 merge over a 1-1 bead.
    pub merge_penalty: f32,
    /// When set, a bead also needs this much more than the background similarity of the
    /// pair: the mean similarity of each sentence of `a` to the sentences of `b` other than
    /// its best match. Encoders that place every pair of sentences high (e5 models put
    /// unrelated ones near 0.8) are read by how far a match stands out, the margin idea of
    /// LASER and Vecalign, which works for every language pair alike.
    pub margin: Option<f32>,
}

impl Default for SemAlignOptions {
    /// The USE-m3 table's ([`crate::relate::calibration::USE_M3`]).
    fn default() -> Self {
        crate::relate::calibration::USE_M3.sentences
    }
}

/// One aligned bead: sentence ranges (indices within each document) and similarity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bead {
    /// Sentences of `a` (one or two).
    pub a: Range<usize>,
    /// Sentences of `b` (one or two).
    pub b: Range<usize>,
    /// Cosine of the two sides (a merged side is the normalised sum of its vectors).
    pub sim: f32,
}

/// A semantic alignment with coverage figures (token-weighted).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SemAlignment {
    /// The beads, in order.
    pub beads: Vec<Bead>,
    /// Token-weighted share of `a`'s embedded sentences inside beads.
    pub coverage_a: f64,
    /// The same for `b`.
    pub coverage_b: f64,
    /// Tokens of `a`'s embedded sentences inside beads.
    pub covered_a: u32,
    /// The same for `b`.
    pub covered_b: u32,
    /// Background similarity of the pair (see [`SemAlignOptions::margin`]).
    pub background: f64,
    /// Mean similarity of the beads.
    pub mean_sim: f64,
}

#[derive(Clone, Copy)]
enum Step {
    None,
    SkipA,
    SkipB,
    One,
    TwoOne,
    OneTwo,
}

/// Align documents `a` and `b` (indices into `sv`).
pub fn align_sentences(
    sv: &SentenceVectors,
    a: DocId,
    b: DocId,
    opts: &SemAlignOptions,
) -> SemAlignment {
    let ra = sv.sentences(a);
    let rb = sv.sentences(b);
    let (m, n) = (ra.len(), rb.len());
    if m == 0 || n == 0 {
        return SemAlignment::default();
    }
    let sim = |i: usize, j: usize| dot(sv.row(ra.start + i), sv.row(rb.start + j));
    let s: Vec<f32> = (0..m * n).map(|x| sim(x / n, x % n)).collect();
    let sa: Vec<f32> = (0..m.saturating_sub(1))
        .map(|i| dot(sv.row(ra.start + i), sv.row(ra.start + i + 1)))
        .collect();
    let sb: Vec<f32> = (0..n.saturating_sub(1))
        .map(|j| dot(sv.row(rb.start + j), sv.row(rb.start + j + 1)))
        .collect();
    // Similarity of a 2-1 bead ending at (i, j) (sentences i-2, i-1 of a with j-1 of b), and of
    // a 1-2 bead: the merged side is the normalised sum of its two vectors.
    let two_one = |i: usize, j: usize| {
        (s[(i - 2) * n + j - 1] + s[(i - 1) * n + j - 1]) / (2.0 + 2.0 * sa[i - 2]).max(1e-6).sqrt()
    };
    let one_two = |i: usize, j: usize| {
        (s[(i - 1) * n + j - 2] + s[(i - 1) * n + j - 1]) / (2.0 + 2.0 * sb[j - 2]).max(1e-6).sqrt()
    };
    let w = n + 1;
    let mut best = vec![0f32; (m + 1) * (n + 1)];
    let mut step = vec![Step::None; (m + 1) * (n + 1)];
    let background = background(&s, m, n);
    let min_sim = match opts.margin {
        Some(margin) => opts.min_sim.max(background + margin),
        None => opts.min_sim,
    };
    let gain = |c: f32| c - min_sim;
    for i in 0..=m {
        for j in 0..=n {
            if i == 0 && j == 0 {
                continue;
            }
            let mut bv = f32::NEG_INFINITY;
            let mut bs = Step::None;
            let mut consider = |v: f32, st: Step| {
                if v > bv {
                    bv = v;
                    bs = st;
                }
            };
            if i > 0 {
                consider(best[(i - 1) * w + j], Step::SkipA);
            }
            if j > 0 {
                consider(best[i * w + j - 1], Step::SkipB);
            }
            if i > 0 && j > 0 {
                consider(
                    best[(i - 1) * w + j - 1] + gain(s[(i - 1) * n + j - 1]),
                    Step::One,
                );
            }
            if i > 1 && j > 0 {
                let c = two_one(i, j);
                consider(
                    best[(i - 2) * w + j - 1] + gain(c) - opts.merge_penalty,
                    Step::TwoOne,
                );
            }
            if i > 0 && j > 1 {
                let c = one_two(i, j);
                consider(
                    best[(i - 1) * w + j - 2] + gain(c) - opts.merge_penalty,
                    Step::OneTwo,
                );
            }
            best[i * w + j] = bv;
            step[i * w + j] = bs;
        }
    }
    // Backtrack.
    let mut beads = Vec::new();
    let (mut i, mut j) = (m, n);
    while i > 0 || j > 0 {
        match step[i * w + j] {
            Step::SkipA => i -= 1,
            Step::SkipB => j -= 1,
            bead @ (Step::One | Step::TwoOne | Step::OneTwo) => {
                let (da, db, c) = match bead {
                    Step::TwoOne => (2, 1, two_one(i, j)),
                    Step::OneTwo => (1, 2, one_two(i, j)),
                    _ => (1, 1, s[(i - 1) * n + j - 1]),
                };
                if c >= min_sim {
                    beads.push(Bead {
                        a: i - da..i,
                        b: j - db..j,
                        sim: c,
                    });
                }
                i -= da;
                j -= db;
            }
            Step::None => break,
        }
    }
    beads.reverse();
    let total = |r: &Range<usize>| -> u64 { sv.weights[r.clone()].iter().map(|&x| x as u64).sum() };
    let ta = total(&ra).max(1);
    let tb = total(&rb).max(1);
    let ca: u64 = beads
        .iter()
        .map(|bd| total(&(ra.start + bd.a.start..ra.start + bd.a.end)))
        .sum();
    let cb: u64 = beads
        .iter()
        .map(|bd| total(&(rb.start + bd.b.start..rb.start + bd.b.end)))
        .sum();
    let mean_sim = if beads.is_empty() {
        0.0
    } else {
        beads.iter().map(|bd| bd.sim as f64).sum::<f64>() / beads.len() as f64
    };
    SemAlignment {
        beads,
        coverage_a: ca as f64 / ta as f64,
        coverage_b: cb as f64 / tb as f64,
        covered_a: ca.min(u32::MAX as u64) as u32,
        covered_b: cb.min(u32::MAX as u64) as u32,
        mean_sim,
        background: background as f64,
    }
}

/// Mean of the `m` × `n` similarities `s` leaving out each row's maximum (the candidate
/// match), so that a short pair's true matches do not raise it; 0 for a single column.
fn background(s: &[f32], m: usize, n: usize) -> f32 {
    if n < 2 {
        return 0.0;
    }
    let mut sum = 0f64;
    for row in s.chunks_exact(n) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        sum += row.iter().map(|&x| x as f64).sum::<f64>() - max as f64;
    }
    (sum / (m * (n - 1)) as f64) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = dot(v, v).sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn aligns_partial_translation_monotonically() {
        // Document 0 has four sentences; document 1 translates sentences 0, 2 and 3.
        let basis = [
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ];
        let mut data = Vec::new();
        for b in &basis {
            data.extend(unit(b));
        }
        for k in [0usize, 2, 3] {
            let mut v = basis[k].to_vec();
            v[(k + 1) % 4] += 0.3;
            data.extend(unit(&v));
        }
        let sv = SentenceVectors {
            dim: 4,
            data,
            offsets: vec![0, 4, 7],
            weights: vec![10, 10, 10, 10, 10, 10, 10],
            doc_vectors: vec![0.0; 8],
            covered: vec![true, true],
        };
        let al = align_sentences(&sv, DocId(0), DocId(1), &SemAlignOptions::default());
        let pairs: Vec<(Range<usize>, Range<usize>)> = al
            .beads
            .iter()
            .map(|b| (b.a.clone(), b.b.clone()))
            .collect();
        assert_eq!(pairs, vec![(0..1, 0..1), (2..3, 1..2), (3..4, 2..3)]);
        assert!((al.coverage_a - 0.75).abs() < 1e-9);
        assert!((al.coverage_b - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_margin_keeps_only_matches_that_stand_out() {
        // Every sentence of one document is close to every sentence of the other (cosine
        // 0.64, as e5 places unrelated sentences); only sentence 1 of each has a real match
        // (cosine 0.94).
        let mk = |parts: &[(usize, f32)]| {
            let mut v = [0f32; 8];
            for &(i, x) in parts {
                v[i] = x;
            }
            unit(&v)
        };
        let a = [
            mk(&[(0, 0.8), (1, 0.6)]),
            mk(&[(0, 0.8), (2, 0.6)]),
            mk(&[(0, 0.8), (3, 0.6)]),
        ];
        let b = [
            mk(&[(0, 0.8), (4, 0.6)]),
            mk(&[(0, 0.8), (2, 0.5), (7, 0.33)]),
            mk(&[(0, 0.8), (5, 0.6)]),
        ];
        let mut data = Vec::new();
        for v in a.iter().chain(&b) {
            data.extend_from_slice(v);
        }
        let sv = SentenceVectors {
            dim: 8,
            data,
            offsets: vec![0, 3, 6],
            weights: vec![10; 6],
            doc_vectors: vec![0.0; 16],
            covered: vec![true, true],
        };
        let plain = SemAlignOptions {
            min_sim: 0.5,
            ..SemAlignOptions::default()
        };
        assert_eq!(
            align_sentences(&sv, DocId(0), DocId(1), &plain).beads.len(),
            3
        );
        let margin = SemAlignOptions {
            margin: Some(0.2),
            ..plain
        };
        let al = align_sentences(&sv, DocId(0), DocId(1), &margin);
        assert!((al.background - 0.64).abs() < 0.01, "{}", al.background);
        let beads: Vec<(Range<usize>, Range<usize>)> = al
            .beads
            .iter()
            .map(|b| (b.a.clone(), b.b.clone()))
            .collect();
        assert_eq!(beads, vec![(1..2, 1..2)]);
    }
}
