//! Lexical passage alignment: the passages two documents share, with token and byte ranges in
//! both, found from common shingles and extended over light edits.
//!
//! 1. Every shingle of `a` that also occurs in `b` is a seed; seeds on one diagonal with
//!    consecutive starts form a run of verbatim text.
//! 2. Runs are chained into passages when they follow each other in both documents with
//!    gaps of at most `max_gap` tokens (a changed, inserted or deleted word breaks a run
//!    but not a passage).
//! 3. Each passage is extended token by token past its ends, re-synchronising over up to
//!    `max_skip` changed tokens, which recovers edits too close to the ends for a shingle.
//!
//! Coverage of `a` is the share of `a`'s tokens inside some passage; a passage's score is
//! the share of its tokens that match verbatim.
//!
//! Input: candidate [`Pair`]s and their documents; output: one [`Alignment`] per pair,
//! handed at once to the caller's relate rule ([`align_pairs`]) so that only the pairs that
//! relate are kept. Sentence alignment by meaning is [`sentences`].

pub mod sentences;

use crate::document::Document;
use crate::fingerprint::shingle::shingles;
use crate::id::Pair;
use crate::prepare::normalize::{Token, Tokenizer};
use crate::prepare::Prepared;
use crate::progress::Progress;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::Arc;

/// Alignment settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlignOptions {
    /// Largest gap (in tokens, either side) bridged inside a passage.
    pub max_gap: u32,
    /// Largest gap bridged when the other side has none (an inserted or deleted block larger
    /// than this splits the passage, so that excerpts keep high verbatim scores).
    pub max_one_sided_gap: u32,
    /// Tokens skipped (either side) when re-synchronising an extension.
    pub max_skip: usize,
    /// Passages with fewer matched tokens than this are dropped.
    pub min_matched: u32,
    /// At most this many occurrences of one shingle in `b` are used as seeds.
    pub max_occurrences: usize,
}

impl Default for AlignOptions {
    fn default() -> Self {
        AlignOptions {
            max_gap: 16,
            max_one_sided_gap: 4,
            max_skip: 3,
            min_matched: 7,
            max_occurrences: 8,
        }
    }
}

/// A shared passage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passage {
    /// Token range in `a`'s main-text token sequence (sentence range for a passage aligned
    /// by meaning).
    pub tokens_a: Range<u32>,
    /// The same in `b`.
    pub tokens_b: Range<u32>,
    /// Byte range in `a`'s original text.
    pub a: Range<u32>,
    /// Byte range in `b`'s original text.
    pub b: Range<u32>,
    /// Tokens that match verbatim.
    pub matched: u32,
    /// matched / mean span length, 0..1.
    pub score: f32,
}

impl Passage {
    /// The passage's byte range in `a`'s text, to slice it.
    pub fn text_a(&self) -> Range<usize> {
        self.a.start as usize..self.a.end as usize
    }

    /// The passage's byte range in `b`'s text.
    pub fn text_b(&self) -> Range<usize> {
        self.b.start as usize..self.b.end as usize
    }
}

/// The passages of a pair plus coverage figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Alignment {
    /// The passages, in `a`'s order.
    pub passages: Vec<Passage>,
    /// Tokens of `a` inside some passage.
    pub covered_a: u32,
    /// Tokens of `b` inside some passage.
    pub covered_b: u32,
    /// Tokens of `a`'s main text.
    pub tokens_a: u32,
    /// Tokens of `b`'s main text.
    pub tokens_b: u32,
}

impl Alignment {
    /// Share of `a`'s tokens inside some passage.
    pub fn coverage_a(&self) -> f64 {
        ratio(self.covered_a, self.tokens_a)
    }
    /// Share of `b`'s tokens inside some passage.
    pub fn coverage_b(&self) -> f64 {
        ratio(self.covered_b, self.tokens_b)
    }
    /// Verbatim tokens over passage tokens, both sides averaged.
    pub fn density(&self) -> f64 {
        let m: u32 = self.passages.iter().map(|p| p.matched).sum();
        let span: u32 = self
            .passages
            .iter()
            .map(|p| (p.tokens_a.len() + p.tokens_b.len()) as u32)
            .sum();
        if span == 0 {
            0.0
        } else {
            2.0 * m as f64 / span as f64
        }
    }
    /// Verbatim tokens in all passages.
    pub fn matched(&self) -> u32 {
        self.passages.iter().map(|p| p.matched).sum()
    }
}

fn ratio(a: u32, b: u32) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Longest shingle in tokens (ten characters of an unspaced script).
const MAX_SHINGLE_TOKENS: i64 = 10;

/// End of a chain in [`Side`]'s shingle index.
const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Run {
    a0: u32,
    a1: u32,
    b0: u32,
    b1: u32,
    /// Verbatim tokens in the run.
    len: u32,
}

/// One document's side of an alignment: its tokens, their shingles and an index of the
/// shingles, computed once for all the pairs the document is in.
#[derive(Debug, Clone, Default)]
pub struct Side {
    tokens: Vec<Token>,
    /// `(hash, start_token, end_token)`; `shingles[k]` starts at token `k`.
    shingles: Vec<(u64, u32, u32)>,
    /// Hash chains: `heads[bucket(h)]` is the first shingle whose hash falls in that bucket,
    /// and `chain[k]` holds shingle `k`'s hash and the next shingle in its bucket, in
    /// ascending order ([`NONE`] ends a chain). One more entry, `(0, NONE)`, stands for an
    /// empty bucket, so that a look-up reads it without a branch.
    heads: Vec<u32>,
    chain: Vec<(u64, u32)>,
    /// Buckets: `1 << bits`, at least twice the shingles.
    bits: u32,
}

impl Side {
    /// The side of a document whose main text has these tokens.
    pub fn new(tokens: Vec<Token>) -> Side {
        let mut sh = Vec::new();
        shingles(&tokens, &mut sh);
        let bits = (sh.len() * 2).next_power_of_two().trailing_zeros().max(1);
        let mut heads = vec![NONE; 1 << bits];
        let mut chain = vec![(0, NONE); sh.len() + 1];
        // Filled last to first, so that each chain ascends.
        for (k, x) in sh.iter().enumerate().rev() {
            let b = bucket(x.0, bits);
            chain[k] = (x.0, heads[b]);
            heads[b] = k as u32;
        }
        Side {
            tokens,
            shingles: sh,
            heads,
            chain,
            bits,
        }
    }

    /// The document's tokens.
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }
}

/// The bucket of a shingle hash among `1 << bits` (its top bits).
#[inline]
fn bucket(h: u64, bits: u32) -> usize {
    (h >> (64 - bits)) as usize
}

/// Align two token sequences (each the main text of a document).
pub fn align(ta: &[Token], tb: &[Token], opts: &AlignOptions) -> Alignment {
    align_sides(&Side::new(ta.to_vec()), &Side::new(tb.to_vec()), opts)
}

/// [`align`] of two prepared sides.
pub fn align_sides(a: &Side, b: &Side, opts: &AlignOptions) -> Alignment {
    SCRATCH.with(|sc| align_with(a, b, opts, &mut sc.borrow_mut()))
}

/// Room [`align_sides`] reuses from pair to pair (one per thread).
#[derive(Default)]
struct Scratch {
    open: Vec<Run>,
    slot: foldhash::HashMap<i64, u32>,
    runs: Vec<Run>,
    chains: Vec<Run>,
    /// Chains that later runs may still join.
    active: Vec<u32>,
    /// The look-ups of `a`'s shingles that hit or need a walk.
    probes: Vec<(u32, u32, bool)>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

fn align_with(a: &Side, b: &Side, opts: &AlignOptions, sc: &mut Scratch) -> Alignment {
    let (ta, tb) = (&a.tokens[..], &b.tokens[..]);
    let (sa, sb) = (&a.shingles, &b.shingles);
    let Scratch {
        open,
        slot,
        runs,
        chains,
        active,
        probes,
    } = sc;
    open.clear();
    slot.clear();
    runs.clear();
    chains.clear();
    // 1. Seeds → runs on diagonals. The open run of each diagonal is kept in `open`, found
    // through `slot` by diagonal; consecutive seeds nearly always continue the run of the
    // seed before, so the last diagonal's slot is remembered.
    let mut last: Option<(i64, usize)> = None;
    let mut seed = |i0: u32, i1: u32, j0: u32, j1: u32| {
        let d = j0 as i64 - i0 as i64;
        let fresh = Run {
            a0: i0,
            a1: i1,
            b0: j0,
            b1: j1,
            len: 0,
        };
        let k = match last {
            Some((ld, k)) if ld == d => k,
            _ => {
                let k = match slot.get(&d) {
                    Some(&k) => k as usize,
                    None => {
                        slot.insert(d, open.len() as u32);
                        open.push(fresh);
                        last = Some((d, open.len() - 1));
                        return;
                    }
                };
                last = Some((d, k));
                k
            }
        };
        let r = &mut open[k];
        if r.a0 < i0 && i0 <= r.a1 {
            r.a1 = r.a1.max(i1);
            r.b1 = r.b1.max(j1);
        } else {
            runs.push(*r);
            *r = fresh;
        }
    };
    // Each shingle of `a` seeds with its first `max_occurrences` occurrences in `b`, in
    // order. Most shingles either miss or meet a chain of one: those are told apart without
    // branches (a branch on a look-up's outcome is mispredicted half the time), and only the
    // hits and the longer chains are kept, in order, as `(shingle of a, head, walk)`.
    let empty = b.shingles.len() as u32;
    probes.clear();
    probes.resize(sa.len(), (0, 0, false));
    let mut found = 0;
    {
        let (heads, chain, bits) = (&b.heads[..], &b.chain[..], b.bits);
        let out = &mut probes[..];
        for (i, &(h, _, _)) in sa.iter().enumerate() {
            let k = heads[bucket(h, bits)];
            let (h2, next) = chain[k.min(empty) as usize];
            let present = k != NONE;
            let walk = present & (next != NONE);
            let hit = present & (next == NONE) & (h2 == h);
            out[found] = (i as u32, k, walk);
            found += (hit | walk) as usize;
        }
    }
    for &(i, k, walk) in &probes[..found] {
        let (h, i0, i1) = sa[i as usize];
        if !walk {
            let (_, j0, j1) = sb[k as usize];
            seed(i0, i1, j0, j1);
            continue;
        }
        let mut k = k;
        let mut taken = 0;
        while k != NONE && taken < opts.max_occurrences {
            let (h2, next) = b.chain[k as usize];
            if h2 == h {
                taken += 1;
                let (_, j0, j1) = sb[k as usize];
                seed(i0, i1, j0, j1);
            }
            k = next;
        }
    }
    runs.append(open);
    for r in runs.iter_mut() {
        r.len = r.a1 - r.a0;
    }
    runs.sort_unstable_by_key(|r| (r.a0, r.b0));

    // 2. Chain runs into passages. A run joins the newest chain it can follow. Runs come in
    // order of their start in `a`, so a chain ending more than `max_gap` before a run's
    // start can join no later run either: only the chains still in reach (`active`, oldest
    // first) are looked at.
    active.clear();
    for &r in runs.iter() {
        active.retain(|&k| chains[k as usize].a1 + opts.max_gap >= r.a0);
        let mut best: Option<usize> = None;
        for &k in active.iter().rev() {
            let k = k as usize;
            let c = &chains[k];
            let ga = r.a0 as i64 - c.a1 as i64;
            let gb = r.b0 as i64 - c.b1 as i64;
            let forward = r.a0 >= c.a0 && r.a1 > c.a1 && r.b1 > c.b1;
            let near = ga <= opts.max_gap as i64
                && gb <= opts.max_gap as i64
                && ga >= -(MAX_SHINGLE_TOKENS)
                && gb >= -(MAX_SHINGLE_TOKENS);
            // A block present on one side only (a dropped sentence) splits the passage.
            let one_sided = ga.min(gb) <= 0 && ga.max(gb) > opts.max_one_sided_gap as i64;
            if forward && near && !one_sided {
                best = Some(k);
                break;
            }
        }
        match best {
            Some(k) => {
                let c = &mut chains[k];
                let overlap = c.a1.saturating_sub(r.a0).min(r.len);
                c.len += r.len - overlap;
                c.a1 = c.a1.max(r.a1);
                c.b1 = c.b1.max(r.b1);
            }
            None => {
                active.push(chains.len() as u32);
                chains.push(r);
            }
        }
    }

    // 3. Extend over light edits and build passages.
    let mut passages = Vec::new();
    for &c in chains.iter() {
        let c = extend(ta, tb, c, opts.max_skip);
        if c.len < opts.min_matched {
            continue;
        }
        let span = (c.a1 - c.a0 + c.b1 - c.b0) as f32 / 2.0;
        passages.push(Passage {
            a: ta[c.a0 as usize].start..ta[c.a1 as usize - 1].end,
            b: tb[c.b0 as usize].start..tb[c.b1 as usize - 1].end,
            tokens_a: c.a0..c.a1,
            tokens_b: c.b0..c.b1,
            matched: c.len,
            score: (c.len as f32 / span).min(1.0),
        });
    }
    passages.sort_by_key(|p| (p.tokens_a.start, p.tokens_b.start));
    let covered_a = union_len(passages.iter().map(|p| p.tokens_a.clone()));
    let covered_b = union_len(passages.iter().map(|p| p.tokens_b.clone()));
    Alignment {
        passages,
        covered_a,
        covered_b,
        tokens_a: ta.len() as u32,
        tokens_b: tb.len() as u32,
    }
}

/// Extend a chain forwards and backwards over exact tokens, re-synchronising past up to
/// `skip` differing tokens on either side when two tokens match again.
fn extend(ta: &[Token], tb: &[Token], mut c: Run, skip: usize) -> Run {
    let eq = |i: usize, j: usize| ta[i].hash == tb[j].hash;
    // Forwards.
    let (mut i, mut j) = (c.a1 as usize, c.b1 as usize);
    loop {
        if i < ta.len() && j < tb.len() && eq(i, j) {
            i += 1;
            j += 1;
            c.len += 1;
            c.a1 = i as u32;
            c.b1 = j as u32;
            continue;
        }
        let mut found = None;
        'search: for total in 1..=2 * skip {
            for da in 0..=total.min(skip) {
                let db = total - da;
                if db > skip {
                    continue;
                }
                let (x, y) = (i + da, j + db);
                if x + 1 < ta.len() && y + 1 < tb.len() && eq(x, y) && eq(x + 1, y + 1) {
                    found = Some((x, y));
                    break 'search;
                }
            }
        }
        match found {
            Some((x, y)) => {
                i = x;
                j = y;
            }
            None => break,
        }
    }
    // Backwards.
    let (mut i, mut j) = (c.a0 as usize, c.b0 as usize);
    loop {
        if i > 0 && j > 0 && eq(i - 1, j - 1) {
            i -= 1;
            j -= 1;
            c.len += 1;
            c.a0 = i as u32;
            c.b0 = j as u32;
            continue;
        }
        let mut found = None;
        'search: for total in 1..=2 * skip {
            for da in 0..=total.min(skip) {
                let db = total - da;
                if db > skip {
                    continue;
                }
                if i >= da + 2 && j >= db + 2 {
                    let (x, y) = (i - da, j - db);
                    if eq(x - 1, y - 1) && eq(x - 2, y - 2) {
                        found = Some((x, y));
                        break 'search;
                    }
                }
            }
        }
        match found {
            Some((x, y)) => {
                i = x;
                j = y;
            }
            None => break,
        }
    }
    c
}

fn union_len(ranges: impl Iterator<Item = Range<u32>>) -> u32 {
    let mut v: Vec<Range<u32>> = ranges.collect();
    v.sort_by_key(|r| r.start);
    let mut total = 0;
    let mut cur: Option<Range<u32>> = None;
    for r in v {
        match &mut cur {
            Some(c) if r.start <= c.end => c.end = c.end.max(r.end),
            _ => {
                if let Some(c) = cur.take() {
                    total += c.end - c.start;
                }
                cur = Some(r);
            }
        }
    }
    if let Some(c) = cur {
        total += c.end - c.start;
    }
    total
}

/// How verbatim passages aligned by meaning are: over all passages, the tokens the two
/// sides hold in common (as a bag of words, so a swapped word order still counts) over the
/// tokens of the shorter side. `a` and `b` are the documents' tokens in order; a passage's
/// tokens are those starting inside its byte range. 0 when no passage holds a token.
/// More lenient than [`Alignment::density`], which counts only runs of shingles, so its
/// copy cut ([`crate::relate::RelateOptions::copy_min_verbatim`]) lies higher.
pub fn passage_verbatim(a: &[Token], b: &[Token], passages: &[Passage]) -> f64 {
    let inside = |t: &[Token], r: &Range<u32>| -> Vec<u64> {
        let lo = t.partition_point(|x| x.start < r.start);
        let hi = t.partition_point(|x| x.start < r.end).max(lo);
        let mut h: Vec<u64> = t[lo..hi].iter().map(|x| x.hash).collect();
        h.sort_unstable();
        h
    };
    let (mut common, mut shorter) = (0usize, 0usize);
    for p in passages {
        let (ha, hb) = (inside(a, &p.a), inside(b, &p.b));
        shorter += ha.len().min(hb.len());
        let (mut i, mut j) = (0, 0);
        while i < ha.len() && j < hb.len() {
            match ha[i].cmp(&hb[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    common += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
    }
    if shorter == 0 {
        0.0
    } else {
        common as f64 / shorter as f64
    }
}

/// Word-trigram containment of the text with fewer trigrams in the other: the share of its
/// trigrams of consecutive tokens (normalised, so case and punctuation do not matter; an
/// unspaced script's tokens are characters) that the other text holds too. A lenient
/// measure of lexical reuse that survives heavy revision (phrases kept, sentences recast),
/// where the shingles of [`align`] find few seeds. 0 when either text has no trigram.
pub fn trigram_containment(a: &[Token], b: &[Token]) -> f64 {
    let grams = |t: &[Token]| -> Vec<u64> {
        let mut g: Vec<u64> = t
            .windows(3)
            .map(|w| {
                let h = w[0]
                    .hash
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .rotate_left(21)
                    ^ w[1].hash;
                h.wrapping_mul(0xC2B2_AE3D_27D4_EB4F).rotate_left(17) ^ w[2].hash
            })
            .collect();
        g.sort_unstable();
        g.dedup();
        g
    };
    let (ga, gb) = (grams(a), grams(b));
    let (small, large) = if ga.len() <= gb.len() {
        (&ga, &gb)
    } else {
        (&gb, &ga)
    };
    if small.is_empty() {
        return 0.0;
    }
    let shared = small
        .iter()
        .filter(|g| large.binary_search(g).is_ok())
        .count();
    shared as f64 / small.len() as f64
}

/// Align every pair (sorted by pair) and keep what `relate` makes of each alignment (given
/// with the two documents' tokens), in pair order. Pairs are taken in runs of one `a`, so that each `a` is prepared once; the
/// sides of the documents met last are kept, since a document's candidates are mostly its
/// neighbours in the collection.
pub fn align_pairs<R: Send>(
    docs: &[Document],
    prepared: &[Prepared],
    pairs: &[Pair],
    opts: &AlignOptions,
    progress: &dyn Progress,
    relate: impl Fn(Pair, Alignment, &[Token], &[Token]) -> Option<R> + Sync,
) -> Vec<R> {
    let groups: Vec<&[Pair]> = pairs.chunk_by(|x, y| x.a == y.a).collect();
    // Results appended to one list per worker's run of groups, joined in order.
    groups
        .par_iter()
        .fold(
            || (Tokenizer::default(), SideCache::default(), Vec::new()),
            |(mut tk, mut cache, mut out), g| {
                let a = g[0].a.index();
                let sa = cache.side(a, docs, prepared, &mut tk);
                for p in g.iter() {
                    let sb = cache.side(p.b.index(), docs, prepared, &mut tk);
                    let al = align_sides(&sa, &sb, opts);
                    if let Some(r) = relate(*p, al, sa.tokens(), sb.tokens()) {
                        out.push(r);
                    }
                }
                progress.advance(g.len() as u64);
                (tk, cache, out)
            },
        )
        .map(|(_, _, out)| out)
        .reduce(Vec::new, |mut x, mut y| {
            x.append(&mut y);
            x
        })
}

/// Documents whose alignment sides a worker keeps.
const SIDE_CACHE_DOCS: usize = 64;
/// ... holding at most this many tokens in all (~0.8 MB a worker).
const SIDE_CACHE_TOKENS: usize = 16384;
/// Documents with more tokens than this are not kept.
const SIDE_CACHE_MAX_TOKENS: usize = 4096;

/// The alignment sides of the documents prepared last (first in, first out), by document
/// index.
#[derive(Default)]
struct SideCache {
    entries: std::collections::VecDeque<(usize, Arc<Side>)>,
    tokens: usize,
}

impl SideCache {
    fn side(
        &mut self,
        d: usize,
        docs: &[Document],
        prepared: &[Prepared],
        tk: &mut Tokenizer,
    ) -> Arc<Side> {
        if let Some(e) = self.entries.iter().find(|e| e.0 == d) {
            return e.1.clone();
        }
        let side = Arc::new(Side::new(prepared[d].tokens(&docs[d].text, tk)));
        let n = side.tokens().len();
        if n <= SIDE_CACHE_MAX_TOKENS {
            self.entries.push_back((d, side.clone()));
            self.tokens += n;
            while self.entries.len() > SIDE_CACHE_DOCS || self.tokens > SIDE_CACHE_TOKENS {
                match self.entries.pop_front() {
                    Some((_, s)) => self.tokens -= s.tokens().len(),
                    None => break,
                }
            }
        }
        side
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepare::normalize::tokenize;

    const SRC: &str = "The council voted on Tuesday to close the old bridge for repairs. \
        Work will start next month and last until spring, the mayor said. \
        Drivers are advised to use the northern ring road during the closure. \
        Local shops fear a drop in customers while the bridge is shut.";

    #[test]
    fn verbatim_excerpt_has_full_coverage_on_its_side() {
        let excerpt = "Work will start next month and last until spring, the mayor said.";
        let b = format!("Unrelated opening words about weather and sports. {excerpt} Then more unrelated text follows here.");
        let al = align(&tokenize(SRC), &tokenize(&b), &AlignOptions::default());
        assert_eq!(al.passages.len(), 1);
        let p = &al.passages[0];
        assert_eq!(
            &b[p.text_b()],
            "Work will start next month and last until spring, the mayor said"
        );
        assert_eq!(&SRC[p.text_a()], &b[p.text_b()]);
        assert!(
            al.coverage_a() >= 0.2 && al.coverage_a() < 0.4,
            "{}",
            al.coverage_a()
        );
    }

    #[test]
    fn a_passage_repeated_in_b_is_aligned_at_each_place() {
        // Each shingle of the excerpt occurs twice in `b`: both occurrences are seeds.
        let excerpt = "Work will start next month and last until spring, the mayor said.";
        let b =
            format!("{excerpt} Some unrelated words about the weather come in between. {excerpt}");
        let al = align(&tokenize(SRC), &tokenize(&b), &AlignOptions::default());
        let places: Vec<usize> = al.passages.iter().map(|p| p.b.start as usize).collect();
        assert_eq!(
            places,
            vec![0, b.rfind("Work").expect("second")],
            "{:?}",
            al.passages
        );
        for p in &al.passages {
            assert_eq!(&SRC[p.text_a()], &b[p.text_b()]);
        }
    }

    #[test]
    fn light_edits_stay_one_passage() {
        let edited = SRC
            .replace("Tuesday", "Wednesday")
            .replace("northern", "")
            .replace("fear a drop", "fear a big drop");
        let al = align(&tokenize(SRC), &tokenize(&edited), &AlignOptions::default());
        assert_eq!(al.passages.len(), 1, "{:?}", al.passages);
        assert!(al.coverage_a() > 0.95 && al.coverage_b() > 0.95);
        assert!(al.density() > 0.9 && al.density() < 1.0);
    }

    #[test]
    fn trigram_containment_counts_the_smaller_texts_trigrams() {
        let a =
            tokenize("The council voted on Tuesday to rebuild the old sea wall near the market.");
        let b = tokenize("On Tuesday the council voted to rebuild the wall.");
        let c = trigram_containment(&a, &b);
        // b's trigrams: on tuesday the / tuesday the council / the council voted / council
        // voted to / voted to rebuild / to rebuild the / rebuild the wall: a holds 2 of 7.
        assert!((c - 2.0 / 7.0).abs() < 1e-9, "{c}");
        assert_eq!(trigram_containment(&b, &a), c, "symmetric");
        assert_eq!(trigram_containment(&a, &a), 1.0);
        assert_eq!(
            trigram_containment(&a, &tokenize("Nothing in common here at all")),
            0.0
        );
        assert_eq!(trigram_containment(&a, &tokenize("two words")), 0.0);
    }

    #[test]
    fn unrelated_texts_share_nothing() {
        let other = "A completely different story about a football match in which the home team won by three goals.";
        let al = align(&tokenize(SRC), &tokenize(other), &AlignOptions::default());
        assert!(al.passages.is_empty());
        assert_eq!(al.coverage_a(), 0.0);
    }

    #[test]
    fn union_of_ranges() {
        assert_eq!(union_len([0..5, 3..8, 10..12].into_iter()), 10);
    }

    #[test]
    fn passage_verbatim_counts_shared_words_in_any_order() {
        let text_a = "Where do you come from? I teach French.";
        let text_b = "do Where you come from? I teach German.";
        let mut tk = Tokenizer::default();
        let mut ta = Vec::new();
        tk.tokenize(text_a, 0..text_a.len(), &mut ta);
        let mut tb = Vec::new();
        tk.tokenize(text_b, 0..text_b.len(), &mut tb);
        let bead = |a: Range<u32>, b: Range<u32>| Passage {
            tokens_a: 0..1,
            tokens_b: 0..1,
            a,
            b,
            matched: 0,
            score: 1.0,
        };
        // The swapped sentence is all shared words.
        assert_eq!(passage_verbatim(&ta, &tb, &[bead(0..23, 0..23)]), 1.0);
        // With the second sentence, one word of eight differs.
        let both = [bead(0..23, 0..23), bead(24..39, 24..39)];
        assert!((passage_verbatim(&ta, &tb, &both) - 7.0 / 8.0).abs() < 1e-9);
        assert_eq!(passage_verbatim(&ta, &tb, &[]), 0.0);
    }
}
