//! The scan pipeline: prepare → fingerprint → candidates → align → relate, over a whole
//! collection, with the time spent in each stage.

use crate::align::{align, AlignOptions};
use crate::candidates::{lexical_candidates, Candidate, CandidateOptions};
use crate::document::Document;
use crate::fingerprint::{Fingerprint, Fingerprinter};
use crate::normalize::Tokenizer;
use crate::prepare::{prepare_corpus, PrepareOptions, Prepared};
use crate::progress::Progress;
use crate::relate::{lexical_relation, RelateOptions, Relation};
use rayon::prelude::*;
use std::time::Instant;

/// Every setting of a scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    pub prepare: PrepareOptions,
    pub candidates: CandidateOptions,
    pub align: AlignOptions,
    pub relate: RelateOptions,
}

/// Counters and timings of a scan.
#[derive(Debug, Clone, Default)]
pub struct ScanStats {
    pub documents: usize,
    pub bytes: usize,
    pub template_shapes: usize,
    pub boilerplate_lines: usize,
    pub anchors: usize,
    pub candidates: usize,
    pub relations: usize,
    /// (stage, seconds)
    pub timings: Vec<(&'static str, f64)>,
}

/// The result of a scan.
#[derive(Debug)]
pub struct Scan {
    pub docs: Vec<Document>,
    pub prepared: Vec<Prepared>,
    /// Sorted by `(a, b)`; `a < b` are document indices.
    pub relations: Vec<Relation>,
    pub stats: ScanStats,
}

/// Run the pipeline over `docs`.
pub fn scan(docs: Vec<Document>, opts: &ScanOptions, progress: &dyn Progress) -> Scan {
    let mut stats = ScanStats {
        documents: docs.len(),
        bytes: docs.iter().map(|d| d.text.len()).sum(),
        ..ScanStats::default()
    };
    let t = Instant::now();
    progress.start("prepare", docs.len() as u64);
    let corpus = prepare_corpus(&docs, &opts.prepare);
    progress.finish();
    stats.template_shapes = corpus.template_shapes;
    let mut prepared = corpus.docs;
    stats.boilerplate_lines = prepared
        .iter()
        .map(|p| p.boilerplate.iter().filter(|&&b| b).count())
        .sum();
    stats.timings.push(("prepare", t.elapsed().as_secs_f64()));

    let t = Instant::now();
    progress.start("fingerprint", docs.len() as u64);
    let fps: Vec<Fingerprint> = docs
        .par_iter()
        .zip(prepared.par_iter_mut())
        .map_init(
            || (Tokenizer::default(), Fingerprinter::default()),
            |(tk, fp), (d, p)| {
                let toks = p.tokens(&d.text, tk);
                p.main_tokens = toks.len() as u32;
                let f = fp.fingerprint(&toks);
                progress.advance(1);
                f
            },
        )
        .collect();
    progress.finish();
    stats.anchors = fps.iter().map(|f| f.anchors.len()).sum();
    stats
        .timings
        .push(("fingerprint", t.elapsed().as_secs_f64()));

    let t = Instant::now();
    let cands = lexical_candidates(&fps, &opts.candidates);
    drop(fps);
    stats.candidates = cands.len();
    stats
        .timings
        .push(("candidates", t.elapsed().as_secs_f64()));

    let t = Instant::now();
    let relations = align_candidates(&docs, &prepared, &cands, opts, progress);
    stats.relations = relations.len();
    stats.timings.push(("align", t.elapsed().as_secs_f64()));
    Scan {
        docs,
        prepared,
        relations,
        stats,
    }
}

/// Align every candidate pair and keep those that relate.
pub fn align_candidates(
    docs: &[Document],
    prepared: &[Prepared],
    cands: &[Candidate],
    opts: &ScanOptions,
    progress: &dyn Progress,
) -> Vec<Relation> {
    progress.start("align", cands.len() as u64);
    // Group by `a` so that each `a` is tokenised once.
    let groups: Vec<&[Candidate]> = cands.chunk_by(|x, y| x.a == y.a).collect();
    let mut rels: Vec<Relation> = groups
        .par_iter()
        .map_init(Tokenizer::default, |tk, g| {
            let a = g[0].a as usize;
            let ta = prepared[a].tokens(&docs[a].text, tk);
            let mut out = Vec::new();
            for c in g.iter() {
                let b = c.b as usize;
                let tb = prepared[b].tokens(&docs[b].text, tk);
                let al = align(&ta, &tb, &opts.align);
                if let Some(r) = lexical_relation(c.a, c.b, al, &opts.relate) {
                    out.push(r);
                }
            }
            progress.advance(g.len() as u64);
            out
        })
        .flatten()
        .collect();
    progress.finish();
    rels.sort_by_key(|r| (r.a, r.b));
    rels
}
