//! Relate: turn an alignment into a typed relation (kind, coverage each way, score and
//! evidence), with documented thresholds; then, over all relations, group documents into
//! stories ([`stories`]) and find each document's parent ([`provenance`]).
//!
//! Input: what is known of a pair ([`PairEvidence`]: its lexical alignment, its sentence
//! alignment by meaning); output: a [`Relation`], or nothing ([`rules`]). The thresholds by meaning depend on the
//! encoder: they are named tables in [`calibration`].

pub mod calibration;
pub mod entities;
pub mod event;
pub mod provenance;
pub mod rules;
pub mod stories;
pub mod union_find;

use crate::align::Passage;
use crate::id::{DocId, Pair};
pub use calibration::Calibration;
pub use rules::{
    explain, judge, needs_lexical_verbatim, settled_lexically, Check, MeaningEvidence,
    PairEvidence, RelateOptions, Rules, SemanticOptions,
};
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::align::sentences::{Bead, SemAlignment};
    use crate::align::Alignment;

    fn lexical(al: Alignment) -> Option<Relation> {
        let ev = PairEvidence {
            pair: PAIR,
            same_language: true,
            lexical: Some(al),
            meaning: None,
            containment: None,
            verbatim: None,
            lexical_verbatim: None,
        };
        judge(
            ev,
            Rules {
                lexical: &RelateOptions::default(),
                meaning: Some(&SemanticOptions::default()),
            },
        )
    }

    fn by_meaning(
        al: &SemAlignment,
        same_language: bool,
        doc_cos: f64,
        ent: f64,
    ) -> Option<Relation> {
        let ev = PairEvidence {
            pair: PAIR,
            same_language,
            lexical: None,
            meaning: Some(MeaningEvidence {
                alignment: al.clone(),
                passages: Vec::new(),
                doc_cos,
                shared_entities: ent,
            }),
            containment: None,
            verbatim: None,
            lexical_verbatim: None,
        };
        judge(
            ev,
            Rules {
                lexical: &RelateOptions::default(),
                meaning: Some(&SemanticOptions::default()),
            },
        )
    }

    fn passage(a: std::ops::Range<u32>, b: std::ops::Range<u32>, matched: u32) -> Passage {
        Passage {
            tokens_a: a.clone(),
            tokens_b: b.clone(),
            a: a.start * 6..a.end * 6,
            b: b.start * 6..b.end * 6,
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
        let r = lexical(al).expect("a copy");
        assert_eq!(r.kind, Kind::Copy);
        assert!((r.coverage_a - 0.1).abs() < 1e-9 && (r.coverage_b - 1.0).abs() < 1e-9);
        assert!((r.density - 1.0).abs() < 1e-9);
        assert_eq!(r.evidence.len(), 1);
        assert_eq!(r.coverage_of(DocId(1)), r.coverage_b);
    }

    #[test]
    fn thin_or_loose_lexical_overlap_is_no_copy() {
        // Too few verbatim tokens (for half of each text; see
        // `a_short_text_found_whole_is_a_copy_on_few_tokens` for a text found whole).
        let al = alignment(vec![passage(0..8, 0..8, 8)], 16, 16);
        assert!(lexical(al).is_none());
        // Loose: half the aligned tokens differ.
        let al = alignment(vec![passage(0..100, 0..100, 50)], 100, 100);
        assert!(lexical(al).is_none());
        // Nothing aligned.
        assert!(lexical(Alignment::default()).is_none());
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
            covered_a: (ca * 100.0) as u32,
            covered_b: (cb * 100.0) as u32,
            background: 0.0,
            mean_sim: sim as f64,
        }
    }

    #[test]
    fn meaning_gives_rewrites_translations_and_same_story_pairs() {
        let kind = |al: &SemAlignment, same: bool, cos: f64, ent: f64| {
            by_meaning(al, same, cos, ent).map(|r| r.kind)
        };
        let whole = sem(10, 0.8, 0.95, 0.92);
        assert_eq!(kind(&whole, true, 0.9, 0.5), Some(Kind::Rewrite));
        assert_eq!(kind(&whole, false, 0.9, 0.5), Some(Kind::Translation));
        // A partial translation: a few strong beads covering a fifth of both.
        let partial = sem(4, 0.8, 0.2, 0.25);
        assert_eq!(kind(&partial, false, 0.6, 0.0), Some(Kind::Translation));
        // The same alignment within one language is no rewrite ...
        assert_eq!(kind(&partial, true, 0.4, 0.0), None);
        // ... but close documents are one story (to be confirmed as one event by the
        // scan's stage `events`).
        let r = by_meaning(&partial, true, 0.8, 0.4).expect("same story");
        assert_eq!(r.kind, Kind::SameStory);
        assert_eq!((r.coverage_a, r.coverage_b), (0.0, 0.0));
        assert_eq!(r.score, 0.8);
        // Distant documents are not.
        assert_eq!(kind(&sem(0, 0.0, 0.0, 0.0), true, 0.45, 0.3), None);
    }

    fn judged(ev: PairEvidence) -> Option<Relation> {
        judge(
            ev,
            Rules {
                lexical: &RelateOptions::default(),
                meaning: Some(&SemanticOptions::default()),
            },
        )
    }

    fn evidence(lexical: Option<Alignment>, meaning: Option<SemAlignment>) -> PairEvidence {
        PairEvidence {
            pair: PAIR,
            same_language: true,
            lexical,
            meaning: meaning.map(|alignment| MeaningEvidence {
                alignment,
                passages: Vec::new(),
                doc_cos: 0.8,
                shared_entities: 0.3,
            }),
            containment: None,
            verbatim: None,
            lexical_verbatim: None,
        }
    }

    #[test]
    fn a_text_partly_copied_reports_the_copied_part() {
        // b: 100 tokens, 31 of them verbatim from a 535-token a; the rest its own.
        let al = alignment(vec![passage(200..231, 40..71, 31)], 535, 100);
        let r = lexical(al).expect("a copy of part of b");
        assert_eq!(r.kind, Kind::Copy);
        assert!((r.coverage_b - 0.31).abs() < 1e-9);
        // Two texts of like length holding one block of a third of each: a shared block,
        // neither an excerpt of the other (the dev collection counts such pairs unrelated).
        let block = alignment(vec![passage(100..200, 150..250, 100)], 300, 320);
        assert!(lexical(block).is_none());
        // A block too small to tell: 20 verbatim tokens.
        let small = alignment(vec![passage(0..20, 0..20, 20)], 500, 60);
        assert!(lexical(small).is_none());
    }

    #[test]
    fn near_verbatim_edits_are_a_copy_or_a_rewrite_by_density() {
        // 88% of b aligned at density 0.87 (light edits): a rewrite, however long.
        let edited = |a_len: u32| {
            let p = passage(0..88, 0..88, 77);
            alignment(vec![p], a_len, 100)
        };
        for a_len in [100, 535, 5000] {
            let r = lexical(edited(a_len)).expect("derived");
            assert_eq!(r.kind, Kind::Rewrite, "b in a of {a_len} tokens");
            assert!(r.density < RelateOptions::default().copy_min_density);
        }
        // At density 0.9 and above the same passages are a copy.
        let verbatim = alignment(vec![passage(0..88, 0..88, 80)], 535, 100);
        assert_eq!(lexical(verbatim).map(|r| r.kind), Some(Kind::Copy));
    }

    #[test]
    fn a_rewritten_excerpt_is_judged_by_its_own_coverage() {
        // An 80-token answer from a 535-token source: 80% of the answer aligned by meaning,
        // 12% of the source (at most 15% can be).
        let excerpt = sem(5, 0.8, 0.12, 0.8);
        let r = judged(evidence(None, Some(excerpt))).expect("a rewrite");
        assert_eq!(r.kind, Kind::Rewrite);
        // The closer the beads, the smaller the share that suffices ...
        assert!(judged(evidence(None, Some(sem(3, 0.9, 0.08, 0.35)))).is_some());
        // ... but loose beads over a small share are no evidence.
        let loose = judged(evidence(None, Some(sem(3, 0.74, 0.08, 0.35))));
        assert_ne!(loose.map(|r| r.kind), Some(Kind::Rewrite));
        // One sentence is a sentence-long excerpt when it is long and close ...
        let one = |sim: f32, cov: f64| {
            judged(evidence(None, Some(sem(1, sim, 0.05, cov)))).map(|r| r.kind)
        };
        assert_eq!(one(0.95, 0.4), Some(Kind::Rewrite), "40 tokens at 0.95");
        // ... and too little to tell when short or loose.
        assert_ne!(one(0.95, 0.2), Some(Kind::Rewrite), "20 tokens");
        assert_ne!(one(0.85, 0.4), Some(Kind::Rewrite), "at 0.85");
    }

    #[test]
    fn a_partial_paraphrase_needs_kept_phrases() {
        // 59% of the answer and 43% of the source aligned at mean similarity 0.76.
        let al = sem(6, 0.76, 0.43, 0.59);
        let mut ev = evidence(None, Some(al));
        let rules = Rules {
            lexical: &RelateOptions::default(),
            meaning: Some(&SemanticOptions::default()),
        };
        assert!(rules::needs_containment(&ev, rules));
        // Independent reports on one topic align that loosely too, but keep few phrases.
        ev.containment = Some(0.08);
        assert_eq!(judged(ev.clone()).map(|r| r.kind), Some(Kind::SameStory));
        ev.containment = Some(0.3);
        assert_eq!(judged(ev.clone()).map(|r| r.kind), Some(Kind::Rewrite));
        // The checks say which measure failed and by how much.
        ev.containment = Some(0.08);
        let checks = explain(&ev, rules);
        let miss = checks
            .iter()
            .find(|c| c.rule == "partial paraphrase" && !c.passes())
            .expect("a failed check");
        assert_eq!(miss.measure, "word-trigram containment");
        assert!((miss.threshold - miss.value - 0.17).abs() < 1e-9);
    }

    /// Lexical evidence of `b` (100 tokens) against `a` (`a_len` tokens): `hi` of b aligned
    /// at verbatim density `d`.
    fn lexical_at(hi: f64, a_len: u32, d: f64) -> Alignment {
        let span = (hi * 100.0).round() as u32;
        let matched = (d * span as f64).round() as u32;
        alignment(vec![passage(0..span, 0..span, matched)], a_len, 100)
    }

    #[test]
    fn the_rules_leave_no_hole_between_copy_and_rewrite() {
        // Over a grid of coverage of the derived text, how much of the other text that is
        // (symmetry) and verbatim density: wherever the passages are lexical reuse (density
        // at least rewrite_min_density) over an excerpt's share of an excerpt-like pair, or
        // over half a text, the pair has a relation, and its kind is a copy exactly when the
        // density reaches copy_min_density.
        let o = RelateOptions::default();
        for hi in (20..=100).step_by(5).map(|x| x as f64 / 100.0) {
            for a_len in [100u32, 150, 200, 400, 1000, 5000] {
                let lo = hi * 100.0 / a_len as f64;
                for d in (60..=100).step_by(2).map(|x| x as f64 / 100.0) {
                    let al = lexical_at(hi, a_len, d);
                    let (hi, d, m) = (al.coverage_b(), al.density(), al.matched());
                    let excerpt = lo <= o.excerpt_max_symmetry * hi && m >= o.excerpt_min_matched;
                    let whole = hi >= o.copy_min_coverage && m >= o.rewrite_min_matched;
                    let r = lexical(al);
                    if excerpt || whole {
                        let r = r.unwrap_or_else(|| panic!("hole at {hi} {lo} {d}"));
                        let want = if d >= o.copy_min_density {
                            Kind::Copy
                        } else {
                            Kind::Rewrite
                        };
                        assert_eq!(r.kind, want, "{hi} {lo} {d}");
                    }
                }
            }
        }
    }

    #[test]
    fn derivation_by_meaning_grows_with_coverage_and_similarity() {
        // If a point of (coverage of the derived side, mean similarity) is derived, every
        // point with more coverage and closer beads is too (no holes), for excerpts (the
        // other side 10% covered) and for whole texts (the other side covered like it).
        let derived = |hi: f64, lo: f64, sim: f32| {
            judged(evidence(None, Some(sem(6, sim, lo, hi))))
                .is_some_and(|r| r.kind == Kind::Rewrite)
        };
        for whole in [false, true] {
            let mut found = 0;
            for (i, hi) in (10..=100).step_by(5).map(|x| x as f64 / 100.0).enumerate() {
                for (j, sim) in (50..=100).step_by(2).map(|x| x as f32 / 100.0).enumerate() {
                    let lo = if whole { hi } else { 0.1 * hi };
                    if !derived(hi, lo, sim) {
                        continue;
                    }
                    found += 1;
                    for hi2 in (10 + 5 * i..=100).step_by(5).map(|x| x as f64 / 100.0) {
                        for sim2 in (50 + 2 * j..=100).step_by(2).map(|x| x as f32 / 100.0) {
                            let lo2 = if whole { hi2 } else { 0.1 * hi2 };
                            assert!(
                                derived(hi2, lo2, sim2),
                                "({hi}, {sim}) is derived but ({hi2}, {sim2}) is not"
                            );
                        }
                    }
                }
            }
            assert!(found > 100, "the rule finds derivation somewhere ({found})");
        }
        // The corners: close paraphrase of a third of a short text is derived; loose
        // alignment of a third is not.
        assert!(derived(0.35, 0.035, 0.9));
        assert!(!derived(0.35, 0.035, 0.7));
    }

    #[test]
    fn near_verbatim_sentences_derived_by_meaning_are_a_copy() {
        // Ten short sentences, a word swapped in a few: derived by meaning, and the
        // lexical shingles found nothing.
        let mut ev = evidence(None, Some(sem(10, 0.98, 1.0, 1.0)));
        assert!(rules::needs_verbatim(&ev, rules_default()));
        ev.verbatim = Some(0.99);
        assert!(!rules::needs_verbatim(&ev, rules_default()));
        let r = judged(ev.clone()).expect("a copy");
        assert_eq!(r.kind, Kind::Copy);
        assert_eq!(r.density, 0.99);
        // A machine translation against a human one of the same text shares most words
        // sentence by sentence, but not nearly all: a rewrite.
        ev.verbatim = Some(0.93);
        assert_eq!(judged(ev.clone()).map(|r| r.kind), Some(Kind::Rewrite));
        // Across languages it stays a translation, and nothing asks for the measure.
        ev.same_language = false;
        ev.verbatim = None;
        assert!(!rules::needs_verbatim(&ev, rules_default()));
        assert_eq!(judged(ev).map(|r| r.kind), Some(Kind::Translation));
    }

    fn rules_default() -> Rules<'static> {
        static LEX: std::sync::OnceLock<RelateOptions> = std::sync::OnceLock::new();
        Rules {
            lexical: LEX.get_or_init(RelateOptions::default),
            meaning: Some(&calibration::USE_M3.relations),
        }
    }

    #[test]
    fn a_short_text_must_be_close_to_be_derived() {
        let o = SemanticOptions::default();
        // Two sentences of 5 tokens, one aligned at 0.77: thin evidence, nothing.
        let mut short = sem(1, 0.77, 1.0, 0.33);
        short.covered_a = 5;
        assert_eq!(by_meaning(&short, true, 0.3, 0.0).map(|r| r.kind), None);
        // The same text at the thin-text similarity is a rewrite.
        short.beads[0].sim = o.thin_min_sim as f32;
        short.mean_sim = o.thin_min_sim;
        assert_eq!(
            by_meaning(&short, true, 0.3, 0.0).map(|r| r.kind),
            Some(Kind::Rewrite)
        );
        // A longer text at 0.77 is.
        let mut long = sem(1, 0.77, 1.0, 0.33);
        long.covered_a = o.thin_max_tokens;
        assert_eq!(
            by_meaning(&long, true, 0.3, 0.0).map(|r| r.kind),
            Some(Kind::Rewrite)
        );
    }

    #[test]
    fn a_partial_translation_on_few_beads_needs_coverage_or_closeness() {
        let o = SemanticOptions::default();
        let few = o.partial_full_beads - 1;
        assert!(few >= o.partial_min_beads);
        let kind = |al: &SemAlignment| by_meaning(al, false, 0.3, 0.0).map(|r| r.kind);
        // Few beads at the partial mean, a fifth of each side: chance matches.
        let low = o.partial_min_mean_sim as f32 + 0.005;
        assert_eq!(kind(&sem(few, low, 0.27, 0.2)), None);
        // Enough of each side ...
        let cover = o.partial_few_coverage + 0.05;
        assert_eq!(kind(&sem(few, low, cover, cover)), Some(Kind::Translation));
        // ... or closer beads.
        let close = o.partial_few_min_sim as f32 + 0.01;
        assert_eq!(kind(&sem(few, close, 0.27, 0.2)), Some(Kind::Translation));
        // With more beads the partial rule's own thresholds suffice.
        assert_eq!(
            kind(&sem(o.partial_full_beads, low, 0.27, 0.2)),
            Some(Kind::Translation)
        );
    }

    #[test]
    fn a_short_text_found_whole_is_a_copy_on_few_tokens() {
        // Two sentences, 8 tokens, found verbatim in a 60-token text.
        let whole = alignment(vec![passage(20..28, 0..8, 8)], 60, 8);
        assert_eq!(lexical(whole).map(|r| r.kind), Some(Kind::Copy));
        // Eight verbatim tokens covering half of the shorter text are not enough.
        let half = alignment(vec![passage(20..28, 0..8, 8)], 60, 16);
        assert!(lexical(half).is_none());
        // Nor are five covering it whole.
        let tiny = alignment(vec![passage(20..25, 0..5, 5)], 60, 5);
        assert!(lexical(tiny).is_none());
    }

    #[test]
    fn an_excerpt_with_sentences_left_out_is_a_copy() {
        // b keeps 31 of a's 52 tokens, verbatim, leaving sentences out: one passage spans
        // the gaps, so its density is low; every word of b's side is a's.
        let al = alignment(vec![passage(0..52, 0..33, 31)], 52, 33);
        let mut ev = evidence(Some(al), None);
        assert!(ev.lexical.as_ref().unwrap().density() < 0.9);
        assert!(rules::needs_lexical_verbatim(&ev, rules_default()));
        assert_eq!(judged(ev.clone()).map(|r| r.kind), Some(Kind::Rewrite));
        ev.lexical_verbatim = Some(1.0);
        assert!(!rules::needs_lexical_verbatim(&ev, rules_default()));
        assert_eq!(judged(ev.clone()).map(|r| r.kind), Some(Kind::Copy));
        // Words changed on the shorter side too: a rewrite.
        ev.lexical_verbatim = Some(0.85);
        assert_eq!(judged(ev.clone()).map(|r| r.kind), Some(Kind::Rewrite));
        // Across languages the measure is not asked for.
        ev.same_language = false;
        ev.lexical_verbatim = None;
        assert!(!rules::needs_lexical_verbatim(&ev, rules_default()));
    }
}
