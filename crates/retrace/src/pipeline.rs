//! The scan pipeline: prepare → fingerprint → candidates → align → relate, over a whole
//! collection, with the time spent in each stage.

use crate::align::Passage;
use crate::align::{align_sides, AlignOptions, Side};
use crate::candidates::{lexical_candidates, Candidate, CandidateOptions};
use crate::dates::{document_date, Date};
use crate::document::Document;
use crate::entities::Entities;
use crate::fingerprint::{Fingerprint, Fingerprinter};
use crate::neighbors::{knn_from, knn_pairs};
use crate::normalize::Tokenizer;
use crate::prepare::{prepare_corpus, PrepareOptions, Prepared};
use crate::progress::Progress;
use crate::provenance::{provenance, Parent, ProvenanceOptions};
use crate::relate::{
    lexical_relation, semantic_relation, Kind, PairSignals, RelateOptions, Relation,
    SemanticOptions,
};
use crate::semalign::{align_sentences, SemAlignOptions};
use crate::sentvec::{dot, embed_corpus, embed_documents, SentenceVectors};
use crate::stories::{stories, StoryOptions};
use rayon::prelude::*;
use retrace_encode::{EncodeError, Encoder};
use std::time::Instant;

/// Every setting of a scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    pub prepare: PrepareOptions,
    pub candidates: CandidateOptions,
    pub align: AlignOptions,
    pub relate: RelateOptions,
    pub semalign: SemAlignOptions,
    pub semantic: SemanticOptions,
    /// Nearest neighbours per document searched for relations by meaning.
    pub neighbors: usize,
    /// Document-vector cosine below which neighbours are not considered.
    pub neighbor_min_cos: f32,
    /// When this encoder is a fallback: nearest neighbours per uncovered document taken as
    /// candidates (and as many documents related to each).
    pub fallback_neighbors: usize,
    pub stories: StoryOptions,
    pub provenance: ProvenanceOptions,
}

impl ScanOptions {
    /// Defaults for every stage (thresholds by meaning calibrated for `use-m3`).
    pub fn new() -> Self {
        ScanOptions {
            neighbors: 24,
            neighbor_min_cos: 0.3,
            fallback_neighbors: 8,
            ..ScanOptions::default()
        }
    }

    /// Defaults with the thresholds by meaning calibrated for the named encoder. Encoders
    /// differ in how similar unrelated sentences look (e5 models place almost every pair
    /// above 0.7), so each known encoder has its own calibration on the dev collection;
    /// unknown encoders (Hugging Face directories) get the e5 one, the closest in kind.
    pub fn for_encoder(name: &str) -> Self {
        let mut o = ScanOptions::new();
        if name != "use-m3" {
            o.semalign.min_sim = 0.8;
            o.semalign.margin = Some(0.06);
            o.semantic.min_coverage = 0.8;
            o.semantic.min_coverage_other = 0.2;
            o.semantic.min_mean_sim = 0.85;
            o.semantic.rewrite_min_mean_sim = 0.93;
            o.semantic.partial_min_coverage = 0.2;
            o.semantic.partial_min_beads = 4;
            o.semantic.partial_min_mean_sim = 0.87;
            o.semantic.single_bead_min_sim = 0.95;
            o.semantic.few_beads = 3;
            o.semantic.few_beads_min_sim = 0.9;
            o.semantic.story_min_cos = 0.92;
            o.semantic.story_min_entities = 0.5;
            o.stories.min_link_cos = 0.92;
            o.stories.min_link_entities = 0.6;
            o.neighbor_min_cos = 0.7;
        }
        o
    }
}

/// The encoder a scan used, with the languages whose vectors it trusts.
#[derive(Debug, Clone)]
pub struct EncoderInfo {
    pub name: String,
    pub dim: usize,
    pub languages: Vec<&'static str>,
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
    pub sentences_embedded: usize,
    /// Sentences embedded by the fallback encoder.
    pub fallback_sentences_embedded: usize,
    pub semantic_candidates: usize,
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
    /// Story label per document: the index of its story's first document.
    pub stories: Vec<u32>,
    pub parents: Vec<Option<Parent>>,
    pub dates: Vec<Option<Date>>,
    /// Whether the encoder covers each document's language (all false without an encoder).
    pub covered: Vec<bool>,
    pub encoder: Option<EncoderInfo>,
    /// Documents whose relations by meaning rest on the fallback encoder.
    pub fallback_covered: Vec<bool>,
    pub fallback: Option<EncoderInfo>,
    pub stats: ScanStats,
}

/// A second encoder for the documents in languages the first one does not cover, with the
/// options calibrated for it.
pub struct Fallback<'a> {
    pub encoder: &'a dyn Encoder,
    pub options: ScanOptions,
}

impl EncoderInfo {
    fn of(enc: &dyn Encoder) -> Self {
        EncoderInfo {
            name: enc.name().to_string(),
            dim: enc.dim(),
            languages: enc.languages().to_vec(),
        }
    }
}

/// Run the pipeline over `docs`: lexical reuse always, and rewrites, translations and
/// same-story pairs when an encoder is given.
pub fn scan(
    docs: Vec<Document>,
    opts: &ScanOptions,
    encoder: Option<&dyn Encoder>,
    progress: &dyn Progress,
) -> Result<Scan, EncodeError> {
    scan_with_fallback(docs, opts, encoder, None, progress)
}

/// As [`scan`], with a fallback encoder for documents in languages the encoder does not
/// cover (used only when `encoder` is given).
pub fn scan_with_fallback(
    docs: Vec<Document>,
    opts: &ScanOptions,
    encoder: Option<&dyn Encoder>,
    fallback: Option<&Fallback>,
    progress: &dyn Progress,
) -> Result<Scan, EncodeError> {
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
            || {
                let fp = Fingerprinter::new(opts.candidates.lsh);
                (Tokenizer::default(), fp, Vec::new())
            },
            |(tk, fp, toks), (d, p)| {
                p.tokens_into(&d.text, tk, toks);
                p.main_tokens = toks.len() as u32;
                let f = fp.fingerprint(toks);
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
    let cands = lexical_candidates(fps, &opts.candidates);
    stats.candidates = cands.len();
    stats
        .timings
        .push(("candidates", t.elapsed().as_secs_f64()));

    let t = Instant::now();
    let mut relations = align_candidates(&docs, &prepared, &cands, opts, progress);
    drop(cands);
    stats.timings.push(("align", t.elapsed().as_secs_f64()));

    let mut covered = vec![false; docs.len()];
    let mut fallback_covered = vec![false; docs.len()];
    let mut fallback_info = None;
    let mut info = None;
    let mut doc_vectors: Option<SentenceVectors> = None;
    if let Some(enc) = encoder {
        let t = Instant::now();
        let sv = embed_corpus(&docs, &prepared, enc, progress)?;
        stats.sentences_embedded = sv.weights.len();
        stats.timings.push(("embed", t.elapsed().as_secs_f64()));
        let t = Instant::now();
        let entities = Entities::build(&docs, &prepared);
        let sem = semantic_relations(
            &docs, &prepared, &sv, &relations, &entities, opts, &mut stats, progress,
        );
        relations.extend(sem);
        relations.sort_by_key(|r| (r.a, r.b));
        stats.timings.push(("semantic", t.elapsed().as_secs_f64()));
        if let Some(fb) = fallback {
            let t = Instant::now();
            let (more, fcov) = fallback_relations(
                &docs,
                &prepared,
                enc,
                &sv,
                fb.encoder,
                &fb.options,
                &relations,
                &entities,
                &mut stats,
                progress,
            )?;
            relations.extend(more);
            relations.sort_by_key(|r| (r.a, r.b));
            fallback_covered = fcov;
            fallback_info = Some(EncoderInfo::of(fb.encoder));
            stats.timings.push(("fallback", t.elapsed().as_secs_f64()));
        }
        covered = sv.covered.clone();
        info = Some(EncoderInfo::of(enc));
        doc_vectors = Some(sv);
    }
    stats.relations = relations.len();

    let t = Instant::now();
    drop(doc_vectors);
    let story = stories(docs.len(), &relations, &opts.stories);
    let dates: Vec<Option<Date>> = docs
        .par_iter()
        .zip(&prepared)
        .map(|(d, p)| {
            document_date(
                d.meta.date.as_deref(),
                p.lines
                    .iter()
                    .map(|r| &d.text[r.start as usize..r.end as usize]),
            )
        })
        .collect();
    let sizes: Vec<u32> = prepared.iter().map(|p| p.main_tokens).collect();
    let langs: Vec<&str> = prepared.iter().map(|p| p.lang).collect();
    let sentences: Vec<u32> = prepared.iter().map(|p| p.sentences.len() as u32).collect();
    let facts = crate::provenance::DocFacts {
        dates: &dates,
        size: &sizes,
        sentences: &sentences,
        langs: &langs,
    };
    let parents = provenance(docs.len(), &relations, &facts, &opts.provenance);
    stats.timings.push(("relate", t.elapsed().as_secs_f64()));
    Ok(Scan {
        docs,
        prepared,
        relations,
        stories: story,
        parents,
        dates,
        covered,
        encoder: info,
        fallback_covered,
        fallback: fallback_info,
        stats,
    })
}

/// Language groups of the documents (neighbours are searched within and across languages
/// separately).
fn language_groups(prepared: &[Prepared]) -> Vec<u32> {
    let mut langs: Vec<&str> = prepared.iter().map(|p| p.lang).collect();
    langs.sort_unstable();
    langs.dedup();
    prepared
        .iter()
        .map(|p| langs.binary_search(&p.lang).unwrap_or(0) as u32)
        .collect()
}

/// Rewrites, translations and same-story pairs among documents' nearest neighbours by
/// meaning (pairs already related as copies are left as they are).
#[allow(clippy::too_many_arguments)]
fn semantic_relations(
    docs: &[Document],
    prepared: &[Prepared],
    sv: &SentenceVectors,
    lexical: &[Relation],
    entities: &Entities,
    opts: &ScanOptions,
    stats: &mut ScanStats,
    progress: &dyn Progress,
) -> Vec<Relation> {
    let active: Vec<bool> = (0..docs.len()).map(|d| sv.has_vectors(d)).collect();
    let group = language_groups(prepared);
    let pairs = knn_pairs(
        &sv.doc_vectors,
        sv.dim,
        &active,
        &group,
        opts.neighbors,
        opts.neighbor_min_cos,
    );
    let copies: std::collections::HashSet<(u32, u32)> = lexical
        .iter()
        .filter(|r| r.kind == Kind::Copy)
        .map(|r| (r.a, r.b))
        .collect();
    let pairs: Vec<(u32, u32, f32)> = pairs
        .into_iter()
        .filter(|p| !copies.contains(&(p.0, p.1)))
        .collect();
    stats.semantic_candidates = pairs.len();
    relate_by_meaning(prepared, sv, &pairs, entities, opts, progress)
}

/// Align each pair `(a, b, document cosine)` sentence by sentence and keep those that relate.
fn relate_by_meaning(
    prepared: &[Prepared],
    sv: &SentenceVectors,
    pairs: &[(u32, u32, f32)],
    entities: &Entities,
    opts: &ScanOptions,
    progress: &dyn Progress,
) -> Vec<Relation> {
    progress.start("align by meaning", pairs.len() as u64);
    let out = pairs
        .par_iter()
        .filter_map(|&(a, b, cos)| {
            let (ai, bi) = (a as usize, b as usize);
            let al = align_sentences(sv, ai, bi, &opts.semalign);
            let evidence: Vec<Passage> = al
                .beads
                .iter()
                .map(|bd| {
                    let ra = &prepared[ai].sentences;
                    let rb = &prepared[bi].sentences;
                    Passage {
                        tokens_a: bd.a.start as u32..bd.a.end as u32,
                        tokens_b: bd.b.start as u32..bd.b.end as u32,
                        a: ra[bd.a.start].start as usize..ra[bd.a.end - 1].end as usize,
                        b: rb[bd.b.start].start as usize..rb[bd.b.end - 1].end as usize,
                        matched: 0,
                        score: bd.sim,
                    }
                })
                .collect();
            let same_language = prepared[ai].lang == prepared[bi].lang;
            progress.advance(1);
            let sig = PairSignals {
                same_language,
                doc_cos: cos as f64,
                shared_entities: entities.overlap(ai, bi),
            };
            semantic_relation(a, b, &al, sig, evidence, &opts.semantic)
        })
        .collect();
    progress.finish();
    out
}

/// Relations by meaning for the documents whose language the primary encoder does not cover
/// but the fallback encoder does. Candidates come cheaply: the primary encoder's vectors of
/// those documents (too rough to claim anything, good enough to rank neighbours), plus the
/// documents related to those neighbours. Only these documents and their candidates are
/// embedded with the fallback encoder, and every claim rests on its vectors and thresholds.
/// Returns the relations and which documents got fallback vectors.
#[allow(clippy::too_many_arguments)]
fn fallback_relations(
    docs: &[Document],
    prepared: &[Prepared],
    primary: &dyn Encoder,
    primary_sv: &SentenceVectors,
    fallback: &dyn Encoder,
    fopts: &ScanOptions,
    relations: &[Relation],
    entities: &Entities,
    stats: &mut ScanStats,
    progress: &dyn Progress,
) -> Result<(Vec<Relation>, Vec<bool>), EncodeError> {
    let n = docs.len();
    let uncovered: Vec<bool> = (0..n)
        .map(|d| !primary_sv.covered[d] && fallback.covers(prepared[d].lang))
        .collect();
    if !uncovered.iter().any(|&u| u) {
        return Ok((Vec::new(), vec![false; n]));
    }
    // Rough vectors of the uncovered documents, beside the primary vectors of the others.
    let probe = embed_documents(
        docs,
        prepared,
        primary,
        &uncovered,
        vec![false; n],
        progress,
    )?;
    let dim = primary_sv.dim;
    let mut vectors = primary_sv.doc_vectors.clone();
    for d in (0..n).filter(|&d| uncovered[d]) {
        vectors[d * dim..(d + 1) * dim].copy_from_slice(probe.doc(d));
    }
    let active: Vec<bool> = (0..n)
        .map(|d| uncovered[d] || primary_sv.has_vectors(d))
        .collect();
    let group = language_groups(prepared);
    let near = knn_from(
        &vectors,
        dim,
        &active,
        &uncovered,
        &group,
        fopts.fallback_neighbors,
        // The probe only ranks: an unrelated-looking cosine is no reason to drop the best.
        -1.0,
    );
    // Documents sharing rare names and numbers, whatever their script.
    let keys = crate::namekeys::corpus_keys(docs, prepared);
    let max_df = ((n as f64).sqrt() as usize).max(64);
    let by_keys =
        crate::namekeys::key_neighbors(&keys, &uncovered, fopts.fallback_neighbors, max_df, 2);
    let near: Vec<(u32, u32, f32)> = near.into_iter().chain(by_keys).collect();
    // Add the documents related to each neighbour: versions of one text travel together.
    let mut related: Vec<Vec<u32>> = vec![Vec::new(); n];
    for r in relations.iter().filter(|r| r.kind != Kind::SameStory) {
        related[r.a as usize].push(r.b);
        related[r.b as usize].push(r.a);
    }
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for &(a, b, _) in &near {
        pairs.push((a, b));
        for (u, o) in [(a, b), (b, a)] {
            if uncovered[u as usize] {
                for &q in related[o as usize].iter().take(fopts.fallback_neighbors) {
                    if q != u {
                        pairs.push((u.min(q), u.max(q)));
                    }
                }
            }
        }
    }
    let known: std::collections::HashSet<(u32, u32)> =
        relations.iter().map(|r| (r.a, r.b)).collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs.retain(|p| !known.contains(p));
    let mut chosen = vec![false; n];
    for &(a, b) in &pairs {
        chosen[a as usize] = true;
        chosen[b as usize] = true;
    }
    let sv = embed_documents(docs, prepared, fallback, &chosen, chosen.clone(), progress)?;
    stats.fallback_sentences_embedded = sv.weights.len();
    let pairs: Vec<(u32, u32, f32)> = pairs
        .into_iter()
        .map(|(a, b)| (a, b, dot(sv.doc(a as usize), sv.doc(b as usize))))
        .filter(|p| p.2 >= fopts.neighbor_min_cos)
        .collect();
    stats.semantic_candidates += pairs.len();
    let rels = relate_by_meaning(prepared, &sv, &pairs, entities, fopts, progress);
    Ok((rels, uncovered))
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
    // Group by `a` so that each `a` is prepared once; the sides of the documents met last
    // are kept, since a document's candidates are mostly its neighbours in the collection.
    let groups: Vec<&[Candidate]> = cands.chunk_by(|x, y| x.a == y.a).collect();
    // Relations appended to one list per worker's run of groups, joined in order.
    let mut rels: Vec<Relation> = groups
        .par_iter()
        .fold(
            || (Tokenizer::default(), SideCache::default(), Vec::new()),
            |(mut tk, mut cache, mut out), g| {
                let a = g[0].a as usize;
                let sa = cache.side(a, docs, prepared, &mut tk);
                for c in g.iter() {
                    let b = c.b as usize;
                    let sb = cache.side(b, docs, prepared, &mut tk);
                    let al = align_sides(&sa, &sb, &opts.align);
                    if let Some(r) = lexical_relation(c.a, c.b, al, &opts.relate) {
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
        });
    progress.finish();
    rels.sort_by_key(|r| (r.a, r.b));
    rels
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
    entries: std::collections::VecDeque<(usize, std::sync::Arc<Side>)>,
    tokens: usize,
}

impl SideCache {
    fn side(
        &mut self,
        d: usize,
        docs: &[Document],
        prepared: &[Prepared],
        tk: &mut Tokenizer,
    ) -> std::sync::Arc<Side> {
        if let Some(e) = self.entries.iter().find(|e| e.0 == d) {
            return e.1.clone();
        }
        let side = std::sync::Arc::new(Side::new(prepared[d].tokens(&docs[d].text, tk)));
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
