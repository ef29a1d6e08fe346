//! Relations by meaning within a scan: embed the documents the primary encoder covers, pair
//! each with its nearest neighbours, align the pairs sentence by sentence and relate them;
//! then do the same with the fallback encoder for the documents in languages only it covers.

use super::stage::Stages;
use super::{Judge, Meaning, ScanStats, SearchOptions, Vectors};
use crate::align::sentences::align_sentences;
use crate::align::{passage_verbatim, trigram_containment, Passage};
use crate::candidates::namekeys::{corpus_keys, key_neighbors};
use crate::candidates::{nearest_pairs, ExactIndex, NeighborPair, NeighborQuery};
use crate::document::Document;
use crate::embed::{dot, embed_documents, SentenceVectors};
use crate::id::{DocId, Pair};
use crate::prepare::normalize::{Token, Tokenizer};
use crate::prepare::Prepared;
use crate::progress::Progress;
use crate::relate::entities::{Entities, KnownEntities};
use crate::relate::rules::{needs_containment, needs_verbatim};
use crate::relate::{Calibration, Kind, MeaningEvidence, PairEvidence, Relation, Rules};
use rayon::prelude::*;
use retrace_encode::EncodeError;
use std::collections::{HashMap, HashSet};

/// What every step by meaning reads: the documents, their analysis and language groups.
pub(super) struct ByMeaning<'a> {
    docs: &'a [Document],
    prepared: &'a [Prepared],
    /// The collection's entity statistics, when the documents belong to a larger one.
    known: Option<KnownEntities<'a>>,
    /// Each document's language, numbered (neighbours are searched within and across
    /// languages separately).
    group: Vec<u32>,
    search: SearchOptions,
    /// The lexical rules (the meaning rules come with each encoder).
    rules: Rules<'a>,
    judge: &'a Judge,
    progress: &'a dyn Progress,
}

impl<'a> ByMeaning<'a> {
    pub fn new(
        docs: &'a [Document],
        prepared: &'a [Prepared],
        known: Option<KnownEntities<'a>>,
        search: SearchOptions,
        rules: Rules<'a>,
        judge: &'a Judge,
        progress: &'a dyn Progress,
    ) -> Self {
        let mut langs: Vec<&str> = prepared.iter().map(|p| p.lang).collect();
        langs.sort_unstable();
        langs.dedup();
        let group = prepared
            .iter()
            .map(|p| langs.binary_search(&p.lang).unwrap_or(0) as u32)
            .collect();
        ByMeaning {
            docs,
            prepared,
            known,
            group,
            search,
            rules,
            judge,
            progress,
        }
    }

    /// The stages by meaning: `embed`, `semantic` and, with a fallback encoder, `fallback`.
    /// `relations` holds the pairs lexical evidence settled, `open` the other lexically
    /// aligned pairs (sorted): every pair is judged on all that is known of it. Adds the
    /// relations found to `relations` (kept sorted) and records in `vectors` whose vectors
    /// each document's claims rest on.
    #[allow(clippy::too_many_arguments)]
    pub fn relate(
        &self,
        run: &mut Stages,
        primary: &Meaning,
        fallback: Option<&Meaning>,
        relations: &mut Vec<Relation>,
        open: Vec<PairEvidence>,
        vectors: &mut [Vectors],
        stats: &mut ScanStats,
    ) -> Result<(), EncodeError> {
        let n = self.docs.len();
        let covered: Vec<bool> = self
            .prepared
            .iter()
            .map(|p| primary.encoder.covers(p.lang))
            .collect();
        let sv = run.run("embed", None, |p| {
            embed_documents(
                self.docs,
                self.prepared,
                primary.encoder,
                &covered,
                covered.clone(),
                p,
            )
        })?;
        stats.sentences_embedded = sv.weights.len();
        let (entities, unjudged) = run.run("semantic", None, |_| {
            let entities = Entities::build_in(self.docs, self.prepared, self.known);
            let near = self.neighbor_pairs(&sv, relations, primary.calibration);
            let (pairs, unjudged) = merge(open, near, &sv, |p| self.evidence(p));
            stats.semantic_candidates = pairs.iter().filter(|p| p.1.is_some()).count();
            let found = self.relate_pairs(&sv, pairs, &entities, primary.calibration);
            relations.extend(found);
            relations.sort_by_key(|r| (r.a, r.b));
            (entities, unjudged)
        });
        for (v, &c) in vectors.iter_mut().zip(&covered) {
            if c {
                *v = Vectors::Primary;
            }
        }
        if let Some(fb) = fallback {
            run.run("fallback", None, |_| -> Result<(), EncodeError> {
                let (more, uncovered) = self
                    .fallback_relations(primary, &sv, fb, relations, unjudged, &entities, stats)?;
                relations.extend(more);
                relations.sort_by_key(|r| (r.a, r.b));
                for (v, &u) in vectors.iter_mut().zip(&uncovered) {
                    if u {
                        *v = Vectors::Fallback;
                    }
                }
                Ok(())
            })?;
        }
        debug_assert_eq!(vectors.len(), n);
        Ok(())
    }

    /// Each document's nearest neighbours by meaning, less the pairs already related as
    /// copies (they are left as they are).
    fn neighbor_pairs(
        &self,
        sv: &SentenceVectors,
        lexical: &[Relation],
        cal: &Calibration,
    ) -> Vec<NeighborPair> {
        let active: Vec<bool> = DocId::all(self.docs.len())
            .map(|d| sv.has_vectors(d))
            .collect();
        let index = ExactIndex::new(&sv.doc_vectors, sv.dim, &active, &self.group);
        let queries: Vec<(DocId, NeighborQuery)> = DocId::all(self.docs.len())
            .filter(|&d| active[d.index()])
            .map(|d| {
                let q = index.query_for(d, self.search.neighbors, cal.neighbor_min_cos);
                (d, q)
            })
            .collect();
        let copies: HashSet<Pair> = lexical
            .iter()
            .filter(|r| r.kind == Kind::Copy)
            .map(Relation::pair)
            .collect();
        nearest_pairs(&index, &queries)
            .into_iter()
            .filter(|p| !copies.contains(&Pair { a: p.a, b: p.b }))
            .filter(|p| !self.judged_before(Pair { a: p.a, b: p.b }))
            .collect()
    }

    /// Whether the collection has judged pair `p` already (both its documents counted).
    fn judged_before(&self, p: Pair) -> bool {
        self.known
            .is_some_and(|k| k.counted[p.a.index()] && k.counted[p.b.index()])
    }

    /// Evidence of a pair with nothing known of it yet.
    fn evidence(&self, pair: Pair) -> PairEvidence {
        PairEvidence {
            pair,
            same_language: self.prepared[pair.a.index()].lang == self.prepared[pair.b.index()].lang,
            lexical: None,
            meaning: None,
            containment: None,
            verbatim: None,
            lexical_verbatim: None,
        }
    }

    /// Judge each pair on its lexical evidence and, where a document cosine is given (both
    /// documents have vectors), its sentence alignment by meaning.
    fn relate_pairs(
        &self,
        sv: &SentenceVectors,
        pairs: Vec<(PairEvidence, Option<f32>)>,
        entities: &Entities,
        cal: &Calibration,
    ) -> Vec<Relation> {
        let rules = Rules {
            lexical: self.rules.lexical,
            meaning: Some(&cal.relations),
        };
        self.progress.start("align by meaning", pairs.len() as u64);
        let out = pairs
            .into_par_iter()
            .filter_map(|(mut ev, cos)| {
                if let Some(cos) = cos {
                    ev.meaning = Some(meaning_evidence(
                        sv,
                        self.prepared,
                        ev.pair,
                        cos,
                        entities,
                        cal,
                    ));
                }
                // Tokenised once, only for a pair whose rules need a lexical measure.
                let mut tokens = None;
                if needs_containment(&ev, rules) {
                    let (ta, tb) = tokens.get_or_insert_with(|| self.tokens(ev.pair));
                    ev.containment = Some(trigram_containment(ta, tb));
                }
                if needs_verbatim(&ev, rules) {
                    let (ta, tb) = tokens.get_or_insert_with(|| self.tokens(ev.pair));
                    ev.verbatim = ev
                        .meaning
                        .as_ref()
                        .map(|m| passage_verbatim(ta, tb, &m.passages));
                }
                self.progress.advance(1);
                self.judge.judge(ev, rules)
            })
            .collect();
        self.progress.finish();
        out
    }

    /// A pair's main-text tokens, for the measures the rules ask for lazily.
    fn tokens(&self, pair: Pair) -> (Vec<Token>, Vec<Token>) {
        let mut tk = Tokenizer::default();
        let side = |d: DocId, tk: &mut Tokenizer| {
            self.prepared[d.index()].tokens(&self.docs[d.index()].text, tk)
        };
        (side(pair.a, &mut tk), side(pair.b, &mut tk))
    }

    /// Relations by meaning for the documents whose language the primary encoder does not
    /// cover but the fallback encoder does. Candidates come cheaply: the primary encoder's
    /// vectors of those documents (too rough to claim anything, good enough to rank
    /// neighbours), documents sharing rare names and numbers, plus the documents related
    /// to those neighbours. Only these documents and their candidates are embedded with the
    /// fallback encoder, and every claim rests on its vectors and thresholds. Returns the
    /// relations and which documents got fallback vectors.
    #[allow(clippy::too_many_arguments)]
    fn fallback_relations(
        &self,
        primary: &Meaning,
        primary_sv: &SentenceVectors,
        fallback: &Meaning,
        relations: &[Relation],
        lexical: HashMap<Pair, PairEvidence>,
        entities: &Entities,
        stats: &mut ScanStats,
    ) -> Result<(Vec<Relation>, Vec<bool>), EncodeError> {
        let (docs, prepared) = (self.docs, self.prepared);
        let n = docs.len();
        let k = self.search.fallback_neighbors;
        let uncovered: Vec<bool> = (0..n)
            .map(|d| !primary_sv.covered[d] && fallback.encoder.covers(prepared[d].lang))
            .collect();
        if !uncovered.iter().any(|&u| u) {
            return Ok((Vec::new(), vec![false; n]));
        }
        // Rough vectors of the uncovered documents, beside the primary vectors of the others.
        let probe = embed_documents(
            docs,
            prepared,
            primary.encoder,
            &uncovered,
            vec![false; n],
            self.progress,
        )?;
        let dim = primary_sv.dim;
        let mut vectors = primary_sv.doc_vectors.clone();
        for d in DocId::all(n).filter(|d| uncovered[d.index()]) {
            let i = d.index();
            vectors[i * dim..(i + 1) * dim].copy_from_slice(probe.doc(d));
        }
        let active: Vec<bool> = DocId::all(n)
            .map(|d| uncovered[d.index()] || primary_sv.has_vectors(d))
            .collect();
        let index = ExactIndex::new(&vectors, dim, &active, &self.group);
        let queries: Vec<(DocId, NeighborQuery)> = DocId::all(n)
            .filter(|d| active[d.index()] && uncovered[d.index()])
            // The probe only ranks: an unrelated-looking cosine is no reason to drop the best.
            .map(|d| (d, index.query_for(d, k, -1.0)))
            .collect();
        let near = nearest_pairs(&index, &queries);
        // Documents sharing rare names and numbers, whatever their script.
        let keys = corpus_keys(docs, prepared);
        let max_df = ((n as f64).sqrt() as usize).max(64);
        let by_keys = key_neighbors(&keys, &uncovered, k, max_df, 2);
        // Add the documents related to each neighbour: versions of one text travel together.
        let mut related: Vec<Vec<DocId>> = vec![Vec::new(); n];
        for r in relations.iter().filter(|r| r.kind != Kind::SameStory) {
            related[r.a.index()].push(r.b);
            related[r.b.index()].push(r.a);
        }
        let mut pairs: Vec<Pair> = Vec::new();
        for np in near.iter().chain(&by_keys) {
            let (a, b) = (np.a, np.b);
            pairs.push(Pair { a, b });
            for (u, o) in [(a, b), (b, a)] {
                if uncovered[u.index()] {
                    for &q in related[o.index()].iter().take(k) {
                        if q != u {
                            pairs.push(Pair::new(u, q));
                        }
                    }
                }
            }
        }
        let known: HashSet<Pair> = relations.iter().map(Relation::pair).collect();
        pairs.sort_unstable();
        pairs.dedup();
        pairs.retain(|p| !known.contains(p) && !self.judged_before(*p));
        let mut chosen = vec![false; n];
        for p in &pairs {
            chosen[p.a.index()] = true;
            chosen[p.b.index()] = true;
        }
        let sv = embed_documents(
            docs,
            prepared,
            fallback.encoder,
            &chosen,
            chosen.clone(),
            self.progress,
        )?;
        stats.fallback_sentences_embedded = sv.weights.len();
        let min_cos = fallback.calibration.neighbor_min_cos;
        let mut lexical = lexical;
        let pairs: Vec<(PairEvidence, Option<f32>)> = pairs
            .into_iter()
            .map(|p| (p, dot(sv.doc(p.a), sv.doc(p.b))))
            .filter(|p| p.1 >= min_cos)
            .map(|(p, cos)| {
                let ev = lexical.remove(&p).unwrap_or_else(|| self.evidence(p));
                (ev, Some(cos))
            })
            .collect();
        stats.semantic_candidates += pairs.len();
        let rels = self.relate_pairs(&sv, pairs, entities, fallback.calibration);
        Ok((rels, uncovered))
    }
}

/// A pair to judge and, where both documents have vectors, their cosine.
type ToJudge = (PairEvidence, Option<f32>);

/// The pairs to judge in the semantic stage: the lexically aligned pairs still open and the
/// nearest neighbours, each once, sorted, with their document cosine where both documents
/// have vectors (`fresh` makes the evidence of a neighbour pair). Open pairs that cannot be
/// aligned by meaning are judged on their lexical evidence alone; they are also returned by
/// pair, for the fallback encoder to judge again with its vectors.
fn merge(
    open: Vec<PairEvidence>,
    near: Vec<NeighborPair>,
    sv: &SentenceVectors,
    fresh: impl Fn(Pair) -> PairEvidence,
) -> (Vec<ToJudge>, HashMap<Pair, PairEvidence>) {
    let mut out: Vec<ToJudge> = Vec::with_capacity(open.len() + near.len());
    let mut unjudged = HashMap::new();
    let mut near = near.into_iter().peekable();
    let both = |p: Pair| sv.has_vectors(p.a) && sv.has_vectors(p.b);
    let pair = |n: &NeighborPair| Pair { a: n.a, b: n.b };
    for ev in open {
        while let Some(n) = near.next_if(|n| pair(n) < ev.pair) {
            out.push((fresh(pair(&n)), Some(n.similarity)));
        }
        let cos = match near.next_if(|n| pair(n) == ev.pair) {
            Some(n) => Some(n.similarity),
            None if both(ev.pair) => Some(dot(sv.doc(ev.pair.a), sv.doc(ev.pair.b))),
            None => None,
        };
        if cos.is_none() {
            unjudged.insert(ev.pair, ev.clone());
        }
        out.push((ev, cos));
    }
    for n in near {
        out.push((fresh(pair(&n)), Some(n.similarity)));
    }
    (out, unjudged)
}

/// A pair's sentence alignment by meaning: the aligned sentences as passages (byte ranges
/// of the documents' sentences in `prepared`), with the document cosine given and the
/// names and numbers both hold. The one way `scan`, `examine` and `score_pairs` build it.
pub(crate) fn meaning_evidence(
    sv: &SentenceVectors,
    prepared: &[Prepared],
    pair: Pair,
    doc_cos: f32,
    entities: &Entities,
    cal: &Calibration,
) -> MeaningEvidence {
    let Pair { a, b } = pair;
    let al = align_sentences(sv, a, b, &cal.sentences);
    let ra = &prepared[a.index()].sentences;
    let rb = &prepared[b.index()].sentences;
    let passages: Vec<Passage> = al
        .beads
        .iter()
        .map(|bd| Passage {
            tokens_a: bd.a.start as u32..bd.a.end as u32,
            tokens_b: bd.b.start as u32..bd.b.end as u32,
            a: ra[bd.a.start].start..ra[bd.a.end - 1].end,
            b: rb[bd.b.start].start..rb[bd.b.end - 1].end,
            matched: 0,
            score: bd.sim,
        })
        .collect();
    MeaningEvidence {
        alignment: al,
        passages,
        doc_cos: doc_cos as f64,
        shared_entities: entities.overlap(a, b),
    }
}
