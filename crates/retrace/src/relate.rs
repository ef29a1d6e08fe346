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
    /// Verbatim tokens over aligned tokens.
    pub density: f64,
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
        evidence: al.passages,
    })
}
