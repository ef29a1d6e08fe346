//! The rules that turn what is known of a pair ([`PairEvidence`]: its lexical alignment, its
//! sentence alignment by meaning, how close the documents are) into a relation, and the
//! account of every rule's measure against its threshold ([`explain`]) that says why a
//! pair got its kind, or why it got none.
//!
//! A pair is *derived* (one text comes from the other) when the passages it shares, by
//! either alignment, make up enough of a text:
//! - **whole or half**: they cover at least half of one text (lexically; by meaning the
//!   calibrated coverage of both sides), or
//! - **an excerpt, with or without additions**: they cover a share of the better-covered
//!   text (usually the shorter) that may be small when the passages are close (a fifth
//!   when verbatim, 0.3 to 0.8 by meaning as the similarity falls), provided the shared
//!   part is an excerpt of the other text rather than a block both hold: its share of the
//!   other text is at most [`RelateOptions::excerpt_max_symmetry`] times its share of the
//!   first. (Two texts of like length that share a passage under half of each, such as a
//!   follow-up story reusing background paragraphs, are not claimed: the dev collection
//!   counts them unrelated.)
//!
//! The kind of a derived pair follows from how verbatim it is, one rule for every coverage:
//! lexical passages of verbatim density at least [`RelateOptions::copy_min_density`] make
//! a `copy`; below it (light edits, paraphrase) the pair is a `rewrite` in one language and a
//! `translation` across languages. When both alignments show derivation, the copy wins if
//! its passages cover nearly as much as the sentences aligned by meaning; a pair derived by
//! meaning whose aligned sentences share nearly all their words
//! ([`RelateOptions::copy_min_verbatim`]) is a copy too.
//!
//! Thin evidence asks for closer matches: a relation by meaning resting on one or a few
//! beads, on a short text (a sentence or two), or a partial translation on a handful of
//! beads covering little of either side, needs a higher mean similarity, since such
//! matches occur by chance between unrelated texts of one register.

use super::{Kind, Relation};
use crate::align::sentences::SemAlignment;
use crate::align::{Alignment, Passage};
use crate::id::Pair;
use serde::{Deserialize, Serialize};

/// Thresholds for lexical reuse. Calibrated on the dev collection and the derivation sets
/// of `bench/derivation.py` (see README, "Thresholds").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelateOptions {
    /// Verbatim tokens the passages must hold in all.
    pub copy_min_matched: u32,
    /// Coverage of the better-covered side at which a text is found whole in the other ...
    pub copy_whole_coverage: f64,
    /// ... and a copy on this many verbatim tokens (a short text: a headline, a sentence or
    /// two).
    pub copy_whole_min_matched: u32,
    /// Verbatim share of the aligned text at which reuse is a copy: copies are
    /// near-verbatim; below it, lexical reuse is a rewrite (light edits).
    pub copy_min_density: f64,
    /// Verbatim share of the sentences aligned by meaning (bag of words,
    /// [`crate::align::passage_verbatim`]) at which a pair in one language derived by meaning
    /// is a copy: short sentences with a word swapped or changed, where the shingles find
    /// little. Higher than `copy_min_density`, as any shared word counts here (a machine
    /// translation and a human one of the same text share most words, sentence by sentence).
    pub copy_min_verbatim: f64,
    /// Coverage of the better-covered side that makes reuse whole or half (a copy of this
    /// much is settled without looking at meaning).
    pub copy_min_coverage: f64,
    /// Verbatim share below which aligned passages are not lexical reuse at all (a rewrite
    /// so loose is left to meaning).
    pub rewrite_min_density: f64,
    /// Verbatim tokens a lexical rewrite (below `copy_min_density`) must hold.
    pub rewrite_min_matched: u32,
    /// Coverage of the better-covered side for an excerpt with additions.
    pub excerpt_min_coverage: f64,
    /// ... with at least this many verbatim tokens ...
    pub excerpt_min_matched: u32,
    /// ... and the other side covered at most this many times as much (the shared part
    /// is an excerpt of the other text, not a block both hold).
    pub excerpt_max_symmetry: f64,
}

impl Default for RelateOptions {
    fn default() -> Self {
        RelateOptions {
            copy_min_matched: 10,
            copy_whole_coverage: 0.9,
            copy_whole_min_matched: 6,
            copy_min_density: 0.9,
            copy_min_verbatim: 0.97,
            copy_min_coverage: 0.5,
            rewrite_min_density: 0.6,
            rewrite_min_matched: 20,
            excerpt_min_coverage: 0.2,
            excerpt_min_matched: 25,
            excerpt_max_symmetry: 0.5,
        }
    }
}

/// Thresholds for the relations found by meaning. Calibrated on the dev collection for each
/// encoder family (see [`super::calibration`] and README, "Thresholds").
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
    /// A partial translation on fewer beads than this (a handful of sentence pairs, where
    /// chance matches between unrelated texts of one register already reach the mean
    /// similarity) needs each side covered `partial_few_coverage` or a mean similarity of
    /// `partial_few_min_sim` (0: no such rule).
    pub partial_full_beads: usize,
    /// See `partial_full_beads`.
    pub partial_few_coverage: f64,
    /// See `partial_full_beads`.
    pub partial_few_min_sim: f64,
    /// A rewrite or translation whose better-covered side has fewer aligned tokens than
    /// this (a text of a sentence or two) ...
    pub thin_max_tokens: u32,
    /// ... needs this mean similarity: a short text matches many by chance, so it must be
    /// close to the other to be derived from it.
    pub thin_min_sim: f64,
    /// An excerpt by meaning (a rewritten or translated excerpt, with or without
    /// additions) needs this many beads ...
    pub excerpt_min_beads: usize,
    /// ... holding this many tokens of the better-covered side ...
    pub excerpt_min_tokens: u32,
    /// ... or one bead of at least this similarity (above 1: never) ...
    pub excerpt_single_min_sim: f64,
    /// ... holding at least this many tokens (a sentence-long excerpt) ...
    pub excerpt_single_min_tokens: u32,
    /// ... the other side covered at most this many times as much as the better-covered
    /// one ...
    pub excerpt_max_symmetry: f64,
    /// ... and a coverage of the better-covered side that falls linearly with the mean
    /// similarity: `excerpt_max_coverage` at `excerpt_min_sim` (nothing below it) down to
    /// `excerpt_min_coverage` at `excerpt_full_sim` and above.
    pub excerpt_min_sim: f64,
    /// See `excerpt_min_sim`.
    pub excerpt_max_coverage: f64,
    /// See `excerpt_min_sim`.
    pub excerpt_full_sim: f64,
    /// See `excerpt_min_sim`.
    pub excerpt_min_coverage: f64,
    /// A partial paraphrase (a text reworded in part, the rest its own, as a student
    /// answer drawn from an article): the mean of the two sides' coverage at least this ...
    pub paraphrase_min_mean_coverage: f64,
    /// ... the worse-covered side at least this ...
    pub paraphrase_min_coverage_other: f64,
    /// ... a mean bead similarity of at least this (above 1: the rule is off) ...
    pub paraphrase_min_sim: f64,
    /// ... and word-trigram containment at least this (kept phrases: independent reports
    /// on one topic align loosely too, but share few phrases), when no lexical block both
    /// texts hold explains the likeness (see the module's notes on symmetry).
    pub paraphrase_min_containment: f64,
    /// Document-vector cosine for a same-story pair (when there is no reuse).
    pub story_min_cos: f64,
    /// ... and the weighted share of names and numbers they share (see
    /// [`crate::relate::entities::Entities::overlap`]).
    pub story_min_entities: f64,
    /// A same-story pair of a collection is kept only when its
    /// [`same_event`](crate::relate::event::same_event) score is at least this: the other
    /// neighbours of a report are mostly reports on its topic, so the cut lies above the
    /// 0.5 of a pair on its own.
    pub story_min_event: f64,
}

impl Default for SemanticOptions {
    /// The USE-m3 table's ([`super::calibration::USE_M3`]).
    fn default() -> Self {
        super::calibration::USE_M3.relations
    }
}

/// What is known of a pair by meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeaningEvidence {
    /// The sentence alignment.
    pub alignment: SemAlignment,
    /// Its beads as passages (byte ranges of the sentences; `matched` 0, `score` the
    /// bead's similarity).
    pub passages: Vec<Passage>,
    /// Cosine of the two document vectors.
    pub doc_cos: f64,
    /// Weighted share of names and numbers both hold (see
    /// [`crate::relate::entities::Entities::overlap`]).
    pub shared_entities: f64,
}

/// Everything known of a pair when it is judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairEvidence {
    /// The pair.
    pub pair: Pair,
    /// Whether the two documents are in one language.
    pub same_language: bool,
    /// Its lexical alignment, when it was a lexical candidate.
    pub lexical: Option<Alignment>,
    /// Its alignment by meaning, when both documents have vectors and it was aligned so.
    pub meaning: Option<MeaningEvidence>,
    /// Word-trigram containment of the shorter text in the other
    /// ([`crate::align::trigram_containment`]), where a rule needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containment: Option<f64>,
    /// How verbatim the sentences aligned by meaning are
    /// ([`crate::align::passage_verbatim`]), where a rule needs it: a pair derived by
    /// meaning whose aligned sentences are near-verbatim (short sentences with a word
    /// swapped or changed, where the lexical shingles find little) is a copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verbatim: Option<f64>,
    /// The same measure over the lexical passages, where a rule needs it: lexical reuse
    /// short of copy density whose shorter side is all words of the other (an excerpt with
    /// sentences left out, which lowers the density of passages spanning the gaps) is a
    /// copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lexical_verbatim: Option<f64>,
}

/// The thresholds a pair is judged by: the lexical ones, and those of the encoder whose
/// vectors the meaning evidence comes from (none in a lexical scan).
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// Lexical reuse.
    pub lexical: &'a RelateOptions,
    /// Relations by meaning.
    pub meaning: Option<&'a SemanticOptions>,
}

/// One measure of a pair against one threshold of a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// The rule (`copy`, `rewrite`, `translation`, `partial translation`, `same story`).
    pub rule: &'static str,
    /// What is measured.
    pub measure: &'static str,
    /// The pair's value.
    pub value: f64,
    /// The threshold.
    pub threshold: f64,
    /// Whether the value must be at least (true) or at most (false) the threshold.
    pub at_least: bool,
}

impl Check {
    /// Whether the value meets the threshold.
    pub fn passes(&self) -> bool {
        if self.at_least {
            self.value >= self.threshold
        } else {
            self.value <= self.threshold
        }
    }
}

/// Whether a rule's checks are kept (to explain a pair) or only their outcome (to judge it,
/// without allocating).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Judge,
    Explain,
}

/// The checks of one rule, in the order they are read.
#[derive(Debug, Clone)]
struct RuleChecks {
    mode: Mode,
    pass: bool,
    checks: Vec<Check>,
}

impl RuleChecks {
    fn new(mode: Mode) -> Self {
        RuleChecks {
            mode,
            pass: true,
            checks: Vec::new(),
        }
    }

    fn push(&mut self, check: Check) {
        self.pass &= check.passes();
        if self.mode == Mode::Explain {
            self.checks.push(check);
        }
    }

    fn need(&mut self, rule: &'static str, measure: &'static str, value: f64, threshold: f64) {
        self.push(Check {
            rule,
            measure,
            value,
            threshold,
            at_least: true,
        });
    }

    fn at_most(&mut self, rule: &'static str, measure: &'static str, value: f64, threshold: f64) {
        self.push(Check {
            rule,
            measure,
            value,
            threshold,
            at_least: false,
        });
    }

    fn passes(&self) -> bool {
        self.pass
    }
}

impl SemanticOptions {
    /// The coverage an excerpt by meaning needs at mean similarity `sim` (more than 1 when
    /// none suffices).
    pub fn excerpt_coverage_at(&self, sim: f64) -> f64 {
        if sim < self.excerpt_min_sim {
            return f64::INFINITY;
        }
        if sim >= self.excerpt_full_sim {
            return self.excerpt_min_coverage;
        }
        let t = (sim - self.excerpt_min_sim) / (self.excerpt_full_sim - self.excerpt_min_sim);
        self.excerpt_max_coverage + (self.excerpt_min_coverage - self.excerpt_max_coverage) * t
    }
}

/// The coverage of the better- and the worse-covered side.
fn sides(ca: f64, cb: f64) -> (f64, f64) {
    (ca.max(cb), ca.min(cb))
}

/// The copy that settles a pair: verbatim passages covering half of one text.
fn copy_checks(mode: Mode, al: &Alignment, o: &RelateOptions) -> RuleChecks {
    let mut c = RuleChecks::new(mode);
    let rule = "copy";
    let (hi, _) = sides(al.coverage_a(), al.coverage_b());
    // A short text found whole in another (a headline, a sentence or two) is a copy on
    // fewer verbatim tokens.
    let min_matched = if hi >= o.copy_whole_coverage {
        o.copy_whole_min_matched
    } else {
        o.copy_min_matched
    };
    c.need(
        rule,
        "verbatim tokens",
        al.matched() as f64,
        min_matched as f64,
    );
    c.need(rule, "density", al.density(), o.copy_min_density);
    c.need(
        rule,
        "coverage of the better-covered side",
        hi,
        o.copy_min_coverage,
    );
    c
}

/// Lexical reuse short of a settled copy: half of one text, or an excerpt with additions,
/// verbatim (a copy) or lightly edited (a rewrite).
fn lexical_checks(mode: Mode, al: &Alignment, o: &RelateOptions) -> (RuleChecks, RuleChecks) {
    let (hi, lo) = sides(al.coverage_a(), al.coverage_b());
    let rule = "lexical reuse";
    let mut whole = RuleChecks::new(mode);
    whole.need(
        rule,
        "verbatim tokens",
        al.matched() as f64,
        o.copy_min_matched as f64,
    );
    whole.need(rule, "density", al.density(), o.rewrite_min_density);
    whole.need(
        rule,
        "coverage of the better-covered side",
        hi,
        o.copy_min_coverage,
    );
    let rule = "lexical excerpt";
    let mut excerpt = RuleChecks::new(mode);
    excerpt.need(
        rule,
        "verbatim tokens",
        al.matched() as f64,
        o.excerpt_min_matched as f64,
    );
    excerpt.need(rule, "density", al.density(), o.rewrite_min_density);
    excerpt.need(
        rule,
        "coverage of the better-covered side",
        hi,
        o.excerpt_min_coverage,
    );
    excerpt.at_most(
        rule,
        "coverage of the other side",
        lo,
        o.excerpt_max_symmetry * hi,
    );
    (whole, excerpt)
}

/// The rewrite or translation rule's checks for whole texts.
fn full_checks(
    mode: Mode,
    m: &MeaningEvidence,
    same_language: bool,
    o: &SemanticOptions,
) -> RuleChecks {
    let al = &m.alignment;
    let rule = if same_language {
        "rewrite"
    } else {
        "translation"
    };
    let (hi, lo) = sides(al.coverage_a, al.coverage_b);
    let mut c = RuleChecks::new(mode);
    c.need(rule, "aligned sentences", al.beads.len() as f64, 1.0);
    few_beads(&mut c, rule, m, o);
    c.need(
        rule,
        "coverage of the better-covered side",
        hi,
        o.min_coverage,
    );
    c.need(rule, "coverage of the other side", lo, o.min_coverage_other);
    let min_sim = if !same_language {
        o.min_mean_sim
    } else if hi < o.rewrite_full_coverage {
        o.rewrite_min_mean_sim.max(o.rewrite_partial_min_mean_sim)
    } else {
        o.rewrite_min_mean_sim
    };
    c.need(rule, "mean similarity", al.mean_sim, min_sim);
    c
}

/// The checks one or a few beads, or few aligned tokens, need (thin evidence where
/// unrelated sentences score high).
fn few_beads(c: &mut RuleChecks, rule: &'static str, m: &MeaningEvidence, o: &SemanticOptions) {
    let al = &m.alignment;
    let covered = if al.coverage_a >= al.coverage_b {
        al.covered_a
    } else {
        al.covered_b
    };
    if covered < o.thin_max_tokens {
        c.need(
            rule,
            "similarity of a short text's sentences",
            al.mean_sim,
            o.thin_min_sim,
        );
    }
    if al.beads.len() == 1 {
        c.need(
            rule,
            "similarity of a single bead",
            al.mean_sim,
            o.single_bead_min_sim,
        );
    }
    if al.beads.len() <= o.few_beads {
        c.need(
            rule,
            "similarity of few beads",
            al.mean_sim,
            o.few_beads_min_sim,
        );
    }
}

/// A rewritten or translated excerpt, with or without additions: judged by the coverage
/// of the better-covered side, which may be the smaller the closer the beads are.
fn excerpt_checks(
    mode: Mode,
    ev: &PairEvidence,
    m: &MeaningEvidence,
    rules: &Rules,
    o: &SemanticOptions,
) -> RuleChecks {
    let same_language = ev.same_language;
    let al = &m.alignment;
    let rule = if same_language {
        "rewritten excerpt"
    } else {
        "translated excerpt"
    };
    let (hi, lo) = sides(al.coverage_a, al.coverage_b);
    let mut c = RuleChecks::new(mode);
    let covered = if al.coverage_a >= al.coverage_b {
        al.covered_a
    } else {
        al.covered_b
    };
    if al.beads.len() == 1 && al.mean_sim >= o.excerpt_single_min_sim {
        // One close sentence: a sentence-long excerpt.
        c.need(
            rule,
            "tokens of a single aligned sentence",
            covered as f64,
            o.excerpt_single_min_tokens as f64,
        );
    } else {
        c.need(
            rule,
            "aligned sentences",
            al.beads.len() as f64,
            o.excerpt_min_beads as f64,
        );
        c.need(
            rule,
            "aligned tokens of the better-covered side",
            covered as f64,
            o.excerpt_min_tokens as f64,
        );
    }
    few_beads(&mut c, rule, m, o);
    c.need(rule, "mean similarity", al.mean_sim, o.excerpt_min_sim);
    c.need(
        rule,
        "coverage of the better-covered side",
        hi,
        o.excerpt_coverage_at(al.mean_sim).min(1.0),
    );
    c.at_most(
        rule,
        "coverage of the other side",
        lo,
        o.excerpt_max_symmetry * hi,
    );
    let block = ev
        .lexical
        .as_ref()
        .is_some_and(|al| shared_block(al, rules.lexical));
    c.at_most(
        rule,
        "a lexical block both texts hold",
        block as u8 as f64,
        0.0,
    );
    c
}

/// The coverage measures of the partial paraphrase rule (everything but containment).
fn paraphrase_measures(
    mode: Mode,
    m: &MeaningEvidence,
    same_language: bool,
    o: &SemanticOptions,
) -> RuleChecks {
    let al = &m.alignment;
    let rule = "partial paraphrase";
    let (hi, lo) = sides(al.coverage_a, al.coverage_b);
    let mut c = RuleChecks::new(mode);
    c.need(rule, "same language", same_language as u8 as f64, 1.0);
    c.need(rule, "aligned sentences", al.beads.len() as f64, 2.0);
    c.need(rule, "mean similarity", al.mean_sim, o.paraphrase_min_sim);
    c.need(
        rule,
        "mean coverage of the two sides",
        (hi + lo) / 2.0,
        o.paraphrase_min_mean_coverage,
    );
    c.need(
        rule,
        "coverage of the other side",
        lo,
        o.paraphrase_min_coverage_other,
    );
    c
}

/// Whether the lexical alignment is a block both texts hold: lexical reuse (at the
/// rewrite density) covering an excerpt's share of the better-covered text and, on the
/// other, more than the symmetry an excerpt allows.
fn shared_block(al: &Alignment, o: &RelateOptions) -> bool {
    let (hi, lo) = sides(al.coverage_a(), al.coverage_b());
    al.density() >= o.rewrite_min_density
        && hi >= o.excerpt_min_coverage
        && lo > o.excerpt_max_symmetry * hi
}

/// The partial paraphrase rule's checks.
fn paraphrase_checks(
    mode: Mode,
    ev: &PairEvidence,
    m: &MeaningEvidence,
    rules: &Rules,
    o: &SemanticOptions,
) -> RuleChecks {
    let mut c = paraphrase_measures(mode, m, ev.same_language, o);
    let rule = "partial paraphrase";
    c.need(
        rule,
        "word-trigram containment",
        ev.containment.unwrap_or(0.0),
        o.paraphrase_min_containment,
    );
    let block = ev
        .lexical
        .as_ref()
        .is_some_and(|al| shared_block(al, rules.lexical));
    c.at_most(
        rule,
        "a lexical block both texts hold",
        block as u8 as f64,
        0.0,
    );
    c
}

/// Whether judging `ev` needs its trigram containment: its alignment by meaning meets every
/// other measure of the partial paraphrase rule and no rule before it decides the pair.
pub fn needs_containment(ev: &PairEvidence, rules: Rules) -> bool {
    let (Some(m), Some(o)) = (&ev.meaning, rules.meaning) else {
        return false;
    };
    ev.containment.is_none()
        && paraphrase_measures(Mode::Judge, m, ev.same_language, o).passes()
        && !full_checks(Mode::Judge, m, ev.same_language, o).passes()
        && !excerpt_checks(Mode::Judge, ev, m, &rules, o).passes()
}

/// Whether the alignment by meaning shows derivation by some rule (the partial paraphrase
/// rule read with the containment known so far).
fn derived_by_meaning(
    ev: &PairEvidence,
    m: &MeaningEvidence,
    rules: &Rules,
    o: &SemanticOptions,
) -> bool {
    full_checks(Mode::Judge, m, ev.same_language, o).passes()
        || excerpt_checks(Mode::Judge, ev, m, rules, o).passes()
        || (!ev.same_language && partial_checks(Mode::Judge, m, o).passes())
        || paraphrase_checks(Mode::Judge, ev, m, rules, o).passes()
}

/// Whether judging `ev` needs its verbatim share ([`PairEvidence::verbatim`]): a pair in one
/// language derived by meaning, not settled as a copy by its lexical passages.
pub fn needs_verbatim(ev: &PairEvidence, rules: Rules) -> bool {
    let (Some(m), Some(o)) = (&ev.meaning, rules.meaning) else {
        return false;
    };
    ev.verbatim.is_none()
        && ev.same_language
        && !settled_lexically(ev, rules)
        && derived_by_meaning(ev, m, &rules, o)
}

/// Whether judging `ev` needs the verbatim share of its lexical passages
/// ([`PairEvidence::lexical_verbatim`]): lexical reuse in one language that the lexical rules
/// make a rewrite (below copy density).
pub fn needs_lexical_verbatim(ev: &PairEvidence, rules: Rules) -> bool {
    let Some(al) = &ev.lexical else {
        return false;
    };
    ev.lexical_verbatim.is_none()
        && ev.same_language
        && matches!(
            lexical_verdict(al, true, None, rules.lexical),
            LexicalVerdict::Reuse {
                kind: Kind::Rewrite,
                ..
            }
        )
}

/// The copy-by-sentences check: a pair in one language derived by meaning is a copy when
/// its aligned sentences are near-verbatim.
fn sentence_copy_checks(mode: Mode, ev: &PairEvidence, o: &RelateOptions) -> RuleChecks {
    let mut c = RuleChecks::new(mode);
    let rule = "copy by sentences";
    c.need(rule, "same language", ev.same_language as u8 as f64, 1.0);
    c.need(
        rule,
        "verbatim share of the aligned sentences",
        ev.verbatim.unwrap_or(0.0),
        o.copy_min_verbatim,
    );
    c
}

/// The partial translation rule's checks (a few translated passages across languages).
fn partial_checks(mode: Mode, m: &MeaningEvidence, o: &SemanticOptions) -> RuleChecks {
    let al = &m.alignment;
    let rule = "partial translation";
    let mut c = RuleChecks::new(mode);
    c.need(
        rule,
        "aligned sentences",
        al.beads.len() as f64,
        o.partial_min_beads as f64,
    );
    c.need(rule, "mean similarity", al.mean_sim, o.partial_min_mean_sim);
    let lo = al.coverage_a.min(al.coverage_b);
    c.need(rule, "coverage of each side", lo, o.partial_min_coverage);
    if al.beads.len() < o.partial_full_beads {
        // Few beads: enough of each side, or closer beads.
        let (value, threshold) = if lo >= o.partial_few_coverage {
            (lo, o.partial_few_coverage)
        } else {
            (al.mean_sim, o.partial_few_min_sim)
        };
        c.need(
            rule,
            "few beads: coverage of each side, or else mean similarity",
            value,
            threshold,
        );
    }
    few_beads(&mut c, rule, m, o);
    c
}

/// The same-story rule's checks.
fn story_checks(mode: Mode, m: &MeaningEvidence, o: &SemanticOptions) -> RuleChecks {
    let mut c = RuleChecks::new(mode);
    c.need(
        "same story",
        "document similarity",
        m.doc_cos,
        o.story_min_cos,
    );
    c.need(
        "same story",
        "shared names and numbers",
        m.shared_entities,
        o.story_min_entities,
    );
    c
}

/// What the lexical alignment says of a pair.
enum LexicalVerdict {
    /// Nothing.
    None,
    /// Reuse of this kind; `settled` when it is a copy of half a text or more (meaning need
    /// not be asked).
    Reuse { kind: Kind, settled: bool },
}

fn lexical_verdict(
    al: &Alignment,
    same_language: bool,
    verbatim: Option<f64>,
    o: &RelateOptions,
) -> LexicalVerdict {
    if copy_checks(Mode::Judge, al, o).passes() {
        return LexicalVerdict::Reuse {
            kind: Kind::Copy,
            settled: true,
        };
    }
    let (whole, excerpt) = lexical_checks(Mode::Judge, al, o);
    if !(whole.passes() || excerpt.passes()) {
        return LexicalVerdict::None;
    }
    let kind = if al.density() >= o.copy_min_density
        || (same_language && verbatim.is_some_and(|v| v >= o.copy_min_verbatim))
    {
        Kind::Copy
    } else if same_language && al.matched() >= o.rewrite_min_matched {
        Kind::Rewrite
    } else if same_language {
        return LexicalVerdict::None;
    } else {
        // Loose lexical overlap across languages (names, numbers) is not a translation.
        return LexicalVerdict::None;
    };
    LexicalVerdict::Reuse {
        kind,
        settled: false,
    }
}

/// The relation a lexical alignment makes.
fn lexical_relation(
    a: crate::id::DocId,
    b: crate::id::DocId,
    kind: Kind,
    mut al: Alignment,
) -> Relation {
    let (ca, cb) = (al.coverage_a(), al.coverage_b());
    let density = al.density();
    // Kept to the end of the scan: no room beyond the passages (a copy's single passage
    // sat in room for four).
    al.passages.shrink_to_fit();
    Relation {
        a,
        b,
        kind,
        coverage_a: ca,
        coverage_b: cb,
        score: ca.max(cb) * density,
        density,
        similarity: None,
        shared_entities: None,
        evidence: al.passages,
    }
}

/// Coverage the lexical copy may fall short of the alignment by meaning and still decide
/// the kind (both measure the same passages, the one by tokens, the other by sentences).
const COPY_MARGIN: f64 = 0.1;

/// Judge a pair: its relation, or `None`.
pub fn judge(ev: PairEvidence, rules: Rules) -> Option<Relation> {
    let Pair { a, b } = ev.pair;
    let lexical = match &ev.lexical {
        Some(al) => lexical_verdict(al, ev.same_language, ev.lexical_verbatim, rules.lexical),
        None => LexicalVerdict::None,
    };
    if let LexicalVerdict::Reuse {
        kind,
        settled: true,
        ..
    } = lexical
    {
        return ev.lexical.map(|al| lexical_relation(a, b, kind, al));
    }
    let meaning = match (&ev.meaning, rules.meaning) {
        (Some(m), Some(o)) => Some((m, o, derived_by_meaning(&ev, m, &rules, o))),
        _ => None,
    };
    if let Some((m, _, true)) = meaning {
        let al = &m.alignment;
        let (ca, cb) = (al.coverage_a, al.coverage_b);
        // Derived by meaning: the kind says how verbatim. Verbatim passages covering about
        // as much as the sentences aligned make it a copy (lexical rules of their own or not:
        // a short verbatim quote is derivation shown by meaning and worded by the lexicon).
        if let Some(al) = &ev.lexical {
            let (hi, _) = sides(al.coverage_a(), al.coverage_b());
            if al.matched() >= rules.lexical.copy_min_matched
                && al.density() >= rules.lexical.copy_min_density
                && hi >= ca.max(cb) - COPY_MARGIN
            {
                return ev.lexical.map(|al| lexical_relation(a, b, Kind::Copy, al));
            }
        }
        // Near-verbatim sentences (a word swapped or changed in short sentences, where the
        // shingles find little): a copy, as verbatim as its sentences.
        let verbatim = sentence_copy_checks(Mode::Judge, &ev, rules.lexical)
            .passes()
            .then_some(ev.verbatim)
            .flatten();
        let m = ev.meaning?;
        let density = verbatim.unwrap_or(m.alignment.mean_sim);
        return Some(Relation {
            a,
            b,
            kind: if verbatim.is_some() {
                Kind::Copy
            } else if ev.same_language {
                Kind::Rewrite
            } else {
                Kind::Translation
            },
            coverage_a: ca,
            coverage_b: cb,
            score: ca.max(cb) * density,
            density,
            similarity: Some(m.doc_cos),
            shared_entities: Some(m.shared_entities),
            evidence: m.passages,
        });
    }
    if let LexicalVerdict::Reuse { kind, .. } = lexical {
        return ev.lexical.map(|al| lexical_relation(a, b, kind, al));
    }
    let (m, o, _) = meaning?;
    if !story_checks(Mode::Judge, m, o).passes() {
        return None;
    }
    Some(Relation {
        a,
        b,
        kind: Kind::SameStory,
        coverage_a: 0.0,
        coverage_b: 0.0,
        score: m.doc_cos,
        density: m.alignment.mean_sim,
        similarity: Some(m.doc_cos),
        shared_entities: Some(m.shared_entities),
        evidence: Vec::new(),
    })
}

/// Every rule's checks for a pair, in the order [`judge`] reads them (rules that need
/// evidence the pair lacks are left out).
pub fn explain(ev: &PairEvidence, rules: Rules) -> Vec<Check> {
    let mut out = Vec::new();
    if let Some(al) = &ev.lexical {
        out.extend(copy_checks(Mode::Explain, al, rules.lexical).checks);
        let (whole, excerpt) = lexical_checks(Mode::Explain, al, rules.lexical);
        out.extend(whole.checks);
        out.extend(excerpt.checks);
        if let Some(v) = ev.lexical_verbatim.filter(|_| ev.same_language) {
            let mut c = RuleChecks::new(Mode::Explain);
            c.need(
                "lexical copy by words",
                "verbatim share of the passages' shorter side",
                v,
                rules.lexical.copy_min_verbatim,
            );
            out.extend(c.checks);
        }
    }
    if let (Some(m), Some(o)) = (&ev.meaning, rules.meaning) {
        out.extend(full_checks(Mode::Explain, m, ev.same_language, o).checks);
        out.extend(excerpt_checks(Mode::Explain, ev, m, &rules, o).checks);
        if !ev.same_language {
            out.extend(partial_checks(Mode::Explain, m, o).checks);
        } else {
            out.extend(paraphrase_checks(Mode::Explain, ev, m, &rules, o).checks);
            if ev.verbatim.is_some() {
                out.extend(sentence_copy_checks(Mode::Explain, ev, rules.lexical).checks);
            }
        }
        out.extend(story_checks(Mode::Explain, m, o).checks);
    }
    out
}

/// Whether a pair's lexical evidence settles it whatever its meaning says: a copy of half
/// a text or more (meaning is then not looked at).
pub fn settled_lexically(ev: &PairEvidence, rules: Rules) -> bool {
    ev.lexical
        .as_ref()
        .is_some_and(|al| copy_checks(Mode::Judge, al, rules.lexical).passes())
}
