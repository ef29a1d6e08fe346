//! Relate: turn an alignment into a typed relation (kind, coverage each way, score and
//! evidence), with documented thresholds; then, over all relations, group documents into
//! stories ([`stories`]) and find each document's parent ([`provenance`]).
//!
//! Input: a pair's [`Alignment`] (lexical) or [`SemAlignment`] plus [`PairSignals`] (by
//! meaning). Output: a [`Relation`], or nothing. The thresholds by meaning depend on the
//! encoder: they are named tables in [`calibration`].

pub mod calibration;
pub mod entities;
pub mod provenance;
pub mod stories;
pub mod union_find;

use crate::align::sentences::SemAlignment;
use crate::align::{Alignment, Passage};
use crate::id::{DocId, Pair};
pub use calibration::Calibration;
use serde::{Deserialize, Serialize};

/// The kind of a relation between two documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Same language, text reused verbatim or lightly edited, whole or in part.
    Copy,
    /// Same language, same content, substantially reworded.
    Rewrite,
    /// Different languages, passages that translate each other.
    Translation,
    /// Independent reports of one event.
    SameStory,
}

impl Kind {
    /// The kind's name in outputs (`copy`, `rewrite`, `translation`, `same_story`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Copy => "copy",
            Kind::Rewrite => "rewrite",
            Kind::Translation => "translation",
            Kind::SameStory => "same_story",
        }
    }
}

/// A related pair (`a < b`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relation {
    /// The smaller document id.
    pub a: DocId,
    /// The larger one.
    pub b: DocId,
    /// What the relation is.
    pub kind: Kind,
    /// Share of `a`'s main text covered by `b`.
    pub coverage_a: f64,
    /// Share of `b`'s main text covered by `a`.
    pub coverage_b: f64,
    /// `max(coverage) × density`; for a same-story pair, the document similarity.
    pub score: f64,
    /// Verbatim tokens over aligned tokens (lexical), or mean bead similarity (by meaning).
    pub density: f64,
    /// Cosine of the two documents' vectors, when they have vectors.
    pub similarity: Option<f64>,
    /// Weight of the names and numbers both documents hold (see [`crate::relate::entities`]).
    pub shared_entities: Option<f64>,
    /// The aligned passages (empty for a same-story pair).
    pub evidence: Vec<Passage>,
}

impl Relation {
    /// The pair.
    pub fn pair(&self) -> Pair {
        Pair {
            a: self.a,
            b: self.b,
        }
    }

    /// Share of `d`'s main text covered by the other document (`d` must be a member).
    pub fn coverage_of(&self, d: DocId) -> f64 {
        if d == self.a {
            self.coverage_a
        } else {
            self.coverage_b
        }
    }
}

/// Thresholds for calling lexical reuse a copy. Calibrated on the dev collection (see
/// README, "Thresholds").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelateOptions {
    /// Verbatim tokens the passages must hold in all.
    pub copy_min_matched: u32,
    /// Verbatim share of the aligned text: copies are near-verbatim, re-translations and
    /// paraphrases that happen to share phrases are not.
    pub copy_min_density: f64,
    /// Coverage of the better-covered side.
    pub copy_min_coverage: f64,
}

impl Default for RelateOptions {
    fn default() -> Self {
        RelateOptions {
            copy_min_matched: 10,
            copy_min_density: 0.9,
            copy_min_coverage: 0.5,
        }
    }
}

/// A copy relation from a lexical alignment, or `None`.
pub fn lexical_relation(pair: Pair, al: Alignment, opts: &RelateOptions) -> Option<Relation> {
    let Pair { a, b } = pair;
    let matched = al.matched();
    let density = al.density();
    let (ca, cb) = (al.coverage_a(), al.coverage_b());
    if matched < opts.copy_min_matched
        || density < opts.copy_min_density
        || ca.max(cb) < opts.copy_min_coverage
    {
        return None;
    }
    Some(Relation {
        a,
        b,
        kind: Kind::Copy,
        coverage_a: ca,
        coverage_b: cb,
        score: ca.max(cb) * density,
        density,
        similarity: None,
        shared_entities: None,
        evidence: al.passages,
    })
}

/// Thresholds for the relations found by meaning. Calibrated on the dev collection for each
/// encoder family (see [`calibration`] and README, "Thresholds").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SemanticOptions {
    /// Aligned share of the better-covered side for a rewrite or translation.
    pub min_coverage: f64,
    /// ... and of the other side.
    pub min_coverage_other: f64,
    /// Mean bead similarity for that.
    pub min_mean_sim: f64,
    /// Mean bead similarity for a same-language rewrite (paraphrases of different texts
    /// on one topic look alike to some encoders; translations are checked against
    /// `min_mean_sim`).
    pub rewrite_min_mean_sim: f64,
    /// ... and, when neither side is covered to `rewrite_full_coverage`, this mean (two
    /// reports quoting one wire paragraph align partly and loosely; a re-translation
    /// aligns almost whole).
    pub rewrite_partial_min_mean_sim: f64,
    /// Coverage of the better-covered side above which a rewrite is "full".
    pub rewrite_full_coverage: f64,
    /// Mean similarity for a rewrite or translation resting on a single bead (one sentence
    /// pair is thin evidence where unrelated sentences already score high).
    pub single_bead_min_sim: f64,
    /// ... and for one resting on at most `few_beads` beads ...
    pub few_beads: usize,
    /// ... this mean similarity.
    pub few_beads_min_sim: f64,
    /// A partial translation (different languages) sharing only a few passages: at least
    /// `partial_min_beads` beads
    /// with mean similarity `partial_min_mean_sim` covering `partial_min_coverage` of both
    /// sides (independent reports share facts, rarely several translated passages).
    pub partial_min_beads: usize,
    /// Mean similarity of a partial translation's beads.
    pub partial_min_mean_sim: f64,
    /// Coverage of each side of a partial translation.
    pub partial_min_coverage: f64,
    /// Document-vector cosine for a same-story pair (when there is no reuse).
    pub story_min_cos: f64,
    /// ... and the weighted share of names and numbers they share (see
    /// [`crate::relate::entities::Entities::overlap`]).
    pub story_min_entities: f64,
}

impl Default for SemanticOptions {
    /// The USE-m3 table's ([`calibration::USE_M3`]).
    fn default() -> Self {
        calibration::USE_M3.relations
    }
}

/// What is known of a pair besides its sentence alignment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairSignals {
    /// Whether the two documents are in one language.
    pub same_language: bool,
    /// Cosine of the document vectors.
    pub doc_cos: f64,
    /// Weighted share of names and numbers (see [`crate::relate::entities::Entities::overlap`]).
    pub shared_entities: f64,
}

/// A rewrite, translation or same-story relation from a sentence alignment, or `None`.
pub fn semantic_relation(
    pair: Pair,
    al: &SemAlignment,
    sig: PairSignals,
    evidence: Vec<Passage>,
    opts: &SemanticOptions,
) -> Option<Relation> {
    let Pair { a, b } = pair;
    let PairSignals {
        same_language,
        doc_cos,
        shared_entities,
    } = sig;
    let (ca, cb) = (al.coverage_a, al.coverage_b);
    let full = !al.beads.is_empty()
        && (al.beads.len() > 1 || al.mean_sim >= opts.single_bead_min_sim)
        && (al.beads.len() > opts.few_beads || al.mean_sim >= opts.few_beads_min_sim)
        && ca.max(cb) >= opts.min_coverage
        && ca.min(cb) >= opts.min_coverage_other
        && al.mean_sim
            >= if !same_language {
                opts.min_mean_sim
            } else if ca.max(cb) < opts.rewrite_full_coverage {
                opts.rewrite_min_mean_sim
                    .max(opts.rewrite_partial_min_mean_sim)
            } else {
                opts.rewrite_min_mean_sim
            };
    // Same-language partial reuse is a copy (lexical) or a same-story report.
    let partial = !same_language
        && al.beads.len() >= opts.partial_min_beads
        && al.mean_sim >= opts.partial_min_mean_sim
        && ca.min(cb) >= opts.partial_min_coverage;
    let reuse = full || partial;
    let kind = if reuse {
        if same_language {
            Kind::Rewrite
        } else {
            Kind::Translation
        }
    } else if doc_cos >= opts.story_min_cos && shared_entities >= opts.story_min_entities {
        Kind::SameStory
    } else {
        return None;
    };
    let (coverage_a, coverage_b, evidence) = if kind == Kind::SameStory {
        (0.0, 0.0, Vec::new())
    } else {
        (ca, cb, evidence)
    };
    Some(Relation {
        a,
        b,
        kind,
        coverage_a,
        coverage_b,
        score: if kind == Kind::SameStory {
            doc_cos
        } else {
            ca.max(cb) * al.mean_sim
        },
        density: al.mean_sim,
        similarity: Some(doc_cos),
        shared_entities: Some(shared_entities),
        evidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::align::sentences::Bead;

    fn passage(a: std::ops::Range<u32>, b: std::ops::Range<u32>, matched: u32) -> Passage {
        Passage {
            tokens_a: a.clone(),
            tokens_b: b.clone(),
            a: a.start as usize * 6..a.end as usize * 6,
            b: b.start as usize * 6..b.end as usize * 6,
            matched,
            score: 2.0 * matched as f32 / (a.len() + b.len()) as f32,
        }
    }

    fn alignment(passages: Vec<Passage>, tokens_a: u32, tokens_b: u32) -> Alignment {
        Alignment {
            covered_a: passages.iter().map(|p| p.tokens_a.len() as u32).sum(),
            covered_b: passages.iter().map(|p| p.tokens_b.len() as u32).sum(),
            passages,
            tokens_a,
            tokens_b,
        }
    }

    const PAIR: Pair = Pair {
        a: DocId(0),
        b: DocId(1),
    };

    #[test]
    fn a_verbatim_excerpt_is_a_copy_with_coverage_each_way() {
        // b is 40 tokens copied from the middle of a's 400.
        let al = alignment(vec![passage(100..140, 0..40, 40)], 400, 40);
        let r = lexical_relation(PAIR, al, &RelateOptions::default()).expect("a copy");
        assert_eq!(r.kind, Kind::Copy);
        assert!((r.coverage_a - 0.1).abs() < 1e-9 && (r.coverage_b - 1.0).abs() < 1e-9);
        assert!((r.density - 1.0).abs() < 1e-9);
        assert_eq!(r.evidence.len(), 1);
        assert_eq!(r.coverage_of(DocId(1)), r.coverage_b);
    }

    #[test]
    fn thin_or_loose_lexical_overlap_is_no_copy() {
        let opts = RelateOptions::default();
        // Too few verbatim tokens.
        let al = alignment(vec![passage(0..8, 0..8, 8)], 8, 8);
        assert!(lexical_relation(PAIR, al, &opts).is_none());
        // Loose: half the aligned tokens differ.
        let al = alignment(vec![passage(0..100, 0..100, 50)], 100, 100);
        assert!(lexical_relation(PAIR, al, &opts).is_none());
        // Nothing aligned.
        assert!(lexical_relation(PAIR, Alignment::default(), &opts).is_none());
    }

    fn sem(beads: usize, sim: f32, ca: f64, cb: f64) -> SemAlignment {
        SemAlignment {
            beads: (0..beads)
                .map(|i| Bead {
                    a: i..i + 1,
                    b: i..i + 1,
                    sim,
                })
                .collect(),
            coverage_a: ca,
            coverage_b: cb,
            background: 0.0,
            mean_sim: sim as f64,
        }
    }

    fn signals(same_language: bool, doc_cos: f64, shared_entities: f64) -> PairSignals {
        PairSignals {
            same_language,
            doc_cos,
            shared_entities,
        }
    }

    #[test]
    fn meaning_gives_rewrites_translations_and_same_story_pairs() {
        let opts = SemanticOptions::default();
        let kind = |al: &SemAlignment, sig| {
            semantic_relation(PAIR, al, sig, Vec::new(), &opts).map(|r| r.kind)
        };
        let whole = sem(10, 0.8, 0.95, 0.92);
        assert_eq!(kind(&whole, signals(true, 0.9, 0.5)), Some(Kind::Rewrite));
        assert_eq!(
            kind(&whole, signals(false, 0.9, 0.5)),
            Some(Kind::Translation)
        );
        // A partial translation: a few strong beads covering a fifth of both.
        let partial = sem(4, 0.8, 0.2, 0.25);
        assert_eq!(
            kind(&partial, signals(false, 0.6, 0.0)),
            Some(Kind::Translation)
        );
        // The same alignment within one language is no rewrite ...
        assert_eq!(kind(&partial, signals(true, 0.6, 0.0)), None);
        // ... but close documents sharing names are one story.
        let r = semantic_relation(PAIR, &partial, signals(true, 0.8, 0.4), Vec::new(), &opts)
            .expect("same story");
        assert_eq!(r.kind, Kind::SameStory);
        assert_eq!((r.coverage_a, r.coverage_b), (0.0, 0.0));
        assert_eq!(r.score, 0.8);
        // Close documents that share no names are not.
        assert_eq!(kind(&sem(0, 0.0, 0.0, 0.0), signals(true, 0.8, 0.0)), None);
    }
}
