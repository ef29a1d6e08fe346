//! Relate: turn an alignment into a typed relation (kind, coverage each way, score and
//! evidence), with documented thresholds.

use crate::align::{Alignment, Passage};
use serde::Serialize;

/// The kind of a relation between two documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Copy => "copy",
            Kind::Rewrite => "rewrite",
            Kind::Translation => "translation",
            Kind::SameStory => "same_story",
        }
    }
}

/// A related pair (document indices, `a < b`).
#[derive(Debug, Clone)]
pub struct Relation {
    pub a: u32,
    pub b: u32,
    pub kind: Kind,
    /// Share of `a`'s main text covered by `b`.
    pub coverage_a: f64,
    pub coverage_b: f64,
    pub score: f64,
    /// Verbatim tokens over aligned tokens (lexical), or mean bead similarity (by meaning).
    pub density: f64,
    /// Cosine of the two documents' vectors, when they have vectors.
    pub similarity: Option<f64>,
    /// Weight of the names and numbers both documents hold (see [`crate::entities`]).
    pub shared_entities: Option<f64>,
    pub evidence: Vec<Passage>,
}

/// Thresholds for calling lexical reuse a copy. Calibrated on the dev collection (see
/// README, "Thresholds").
#[derive(Debug, Clone)]
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
pub fn lexical_relation(a: u32, b: u32, al: Alignment, opts: &RelateOptions) -> Option<Relation> {
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

/// Thresholds for the relations found by meaning. Calibrated on the dev collection (see
/// README, "Thresholds").
#[derive(Debug, Clone)]
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
    pub rewrite_full_coverage: f64,
    /// Mean similarity for a rewrite or translation resting on a single bead (one sentence
    /// pair is thin evidence where unrelated sentences already score high).
    pub single_bead_min_sim: f64,
    /// ... and for one resting on at most `few_beads` beads.
    pub few_beads: usize,
    pub few_beads_min_sim: f64,
    /// A partial translation (different languages) sharing only a few passages: at least
    /// `partial_min_beads` beads
    /// with mean similarity `partial_min_mean_sim` covering `partial_min_coverage` of both
    /// sides (independent reports share facts, rarely several translated passages).
    pub partial_min_beads: usize,
    pub partial_min_mean_sim: f64,
    pub partial_min_coverage: f64,
    /// Document-vector cosine for a same-story pair (when there is no reuse).
    pub story_min_cos: f64,
    /// ... and the weighted share of names and numbers they share (see
    /// [`crate::entities::Entities::overlap`]).
    pub story_min_entities: f64,
}

impl Default for SemanticOptions {
    fn default() -> Self {
        SemanticOptions {
            min_coverage: 0.7,
            min_coverage_other: 0.2,
            min_mean_sim: 0.55,
            rewrite_min_mean_sim: 0.65,
            rewrite_partial_min_mean_sim: 0.7,
            rewrite_full_coverage: 0.9,
            single_bead_min_sim: 0.0,
            few_beads: 0,
            few_beads_min_sim: 0.0,
            partial_min_beads: 3,
            partial_min_mean_sim: 0.7,
            partial_min_coverage: 0.1,
            story_min_cos: 0.7,
            story_min_entities: 0.1,
        }
    }
}

/// What is known of a pair besides its sentence alignment.
#[derive(Debug, Clone, Copy)]
pub struct PairSignals {
    pub same_language: bool,
    /// Cosine of the document vectors.
    pub doc_cos: f64,
    /// Weighted share of names and numbers (see [`crate::entities::Entities::overlap`]).
    pub shared_entities: f64,
}

/// A rewrite, translation or same-story relation from a sentence alignment, or `None`.
pub fn semantic_relation(
    a: u32,
    b: u32,
    al: &crate::semalign::SemAlignment,
    sig: PairSignals,
    evidence: Vec<Passage>,
    opts: &SemanticOptions,
) -> Option<Relation> {
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
