//! The scan pipeline: every stage over a whole collection, in one process, with the time
//! spent in each.
//!
//! [`scan`] reads as the list of stages it runs: prepare, fingerprint, candidates, align
//! (lexical reuse), then, with an encoder, embed and relations by meaning ([`meaning`]), and
//! last stories and provenance. Each stage is a function of the stage modules; what passes
//! between them is plain data.

mod events;
mod examine;
mod meaning;
mod pairs;
mod stage;

pub use examine::{examine, Examined};
pub use pairs::{score_pairs, PairScore, PairsError};

use crate::align::{align_pairs, passage_verbatim, AlignOptions};
use crate::candidates::{lexical_candidates_in, Candidate, CandidateOptions, KnownAnchors};
use crate::document::Document;
use crate::fingerprint::{fingerprint_corpus, Fingerprint, FingerprintOptions};
use crate::id::{DocId, Pair};
use crate::prepare::boilerplate::BoilerplateModel;
use crate::prepare::{prepare_with, PrepareOptions, Prepared};
use crate::progress::Progress;
use crate::relate::entities::KnownEntities;
use crate::relate::provenance::{provenance, DocFacts, Parent, ProvenanceOptions};
use crate::relate::stories::{stories, StoryOptions};
use crate::relate::{
    judge, needs_lexical_verbatim, settled_lexically, Calibration, Kind, PairEvidence,
    RelateOptions, Relation, Rules,
};
use retrace_encode::{EncodeError, Encoder};
use serde::{Deserialize, Serialize};
use stage::Stages;

/// Every setting of a scan that does not depend on the encoder (the thresholds by meaning
/// do: they come with each encoder, see [`Meaning`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanOptions {
    /// Boilerplate detection.
    pub prepare: PrepareOptions,
    /// Fingerprints (LSH banding).
    pub fingerprint: FingerprintOptions,
    /// Lexical candidate pairs.
    pub candidates: CandidateOptions,
    /// Lexical alignment.
    pub align: AlignOptions,
    /// When lexical reuse is a copy.
    pub relate: RelateOptions,
    /// Nearest neighbours searched for relations by meaning.
    pub search: SearchOptions,
    /// Provenance.
    pub provenance: ProvenanceOptions,
    /// Keep the evidence of every pair judged ([`Scan::judged`]), for calibration and
    /// explanations.
    pub keep_evidence: bool,
}

impl Default for ScanOptions {
    /// The defaults of every stage (what `retrace scan` runs).
    fn default() -> Self {
        ScanOptions {
            prepare: PrepareOptions::default(),
            fingerprint: FingerprintOptions::default(),
            candidates: CandidateOptions::default(),
            align: AlignOptions::default(),
            relate: RelateOptions::default(),
            search: SearchOptions::default(),
            provenance: ProvenanceOptions::default(),
            keep_evidence: false,
        }
    }
}

/// How many neighbours the search by meaning looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchOptions {
    /// Nearest neighbours per document, in its language and as many in others.
    pub neighbors: usize,
    /// Nearest neighbours per document the fallback encoder reads, taken as candidates
    /// (and as many documents related to each).
    pub fallback_neighbors: usize,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            neighbors: 24,
            fallback_neighbors: 8,
        }
    }
}

/// An encoder with the thresholds calibrated for it.
#[derive(Clone, Copy)]
pub struct Meaning<'a> {
    /// The encoder.
    pub encoder: &'a dyn Encoder,
    /// Its thresholds by meaning.
    pub calibration: &'a Calibration,
}

impl<'a> Meaning<'a> {
    /// `encoder` with the calibration table of its family.
    pub fn new(encoder: &'a dyn Encoder) -> Self {
        Meaning {
            encoder,
            calibration: Calibration::for_family(encoder.family()),
        }
    }
}

/// The encoders of a scan: none (lexical reuse only), a primary one, and a fallback for the
/// documents in languages the primary does not cover (used only with a primary).
#[derive(Clone, Copy, Default)]
pub struct Encoders<'a> {
    /// The main encoder.
    pub primary: Option<Meaning<'a>>,
    /// The fallback encoder.
    pub fallback: Option<Meaning<'a>>,
}

/// The encoder a scan used, with the languages whose vectors it trusts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderInfo {
    /// Its name (e.g. `use-m3`).
    pub name: String,
    /// Its vector dimension.
    pub dim: usize,
    /// The languages it covers (ISO 639-1).
    pub languages: Vec<String>,
    /// Its arithmetic, where it has a choice (e.g. `int8/avx512-vnni`).
    pub arithmetic: Option<String>,
}

impl EncoderInfo {
    /// What a scan records of `enc`.
    pub fn of(enc: &dyn Encoder) -> Self {
        EncoderInfo {
            name: enc.name().to_string(),
            dim: enc.dim(),
            languages: enc.languages().iter().map(|l| l.to_string()).collect(),
            arithmetic: enc.arithmetic(),
        }
    }
}

/// Counters and timings of a scan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanStats {
    /// Documents scanned.
    pub documents: usize,
    /// Bytes of their texts.
    pub bytes: usize,
    /// Template line shapes learnt.
    pub template_shapes: usize,
    /// Lines found to be boilerplate.
    pub boilerplate_lines: usize,
    /// Passage anchors of all documents.
    pub anchors: usize,
    /// Lexical candidate pairs.
    pub candidates: usize,
    /// Sentences embedded by the main encoder.
    pub sentences_embedded: usize,
    /// Sentences embedded by the fallback encoder.
    pub fallback_sentences_embedded: usize,
    /// Pairs aligned by meaning.
    pub semantic_candidates: usize,
    /// Documents with more sentences than are embedded ([`crate::embed::MAX_SENTENCES`]):
    /// their relations by meaning rest on their first sentences.
    #[serde(default)]
    pub long_documents: usize,
    /// Same-story pairs by meaning dropped as reports of different events.
    #[serde(default)]
    pub same_story_dropped: usize,
    /// Related pairs found.
    pub relations: usize,
    /// `(stage, seconds)`, in the order the stages ran.
    pub timings: Vec<(String, f64)>,
}

/// Whose vectors a document's relations by meaning rest on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Vectors {
    /// None: lexical evidence only.
    None,
    /// The main encoder's (it covers the document's language).
    Primary,
    /// The fallback encoder's (the main one does not cover the language; the fallback does).
    Fallback,
}

/// What a scan found about one document, beyond its analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Tokens of its main text.
    pub tokens: u32,
    /// Whose vectors its relations by meaning rest on.
    pub vectors: Vectors,
    /// Its story: the story's first document.
    pub story: DocId,
    /// The document it most likely derives from (`None` for an original).
    pub parent: Option<Parent>,
}

/// One document of a scan with everything the scan found about it (a view into [`Scan`]).
#[derive(Debug, Clone, Copy)]
pub struct ScannedDocument<'s> {
    /// Its id in the scan.
    pub id: DocId,
    /// The document as read.
    pub doc: &'s Document,
    /// Its analysis.
    pub prepared: &'s Prepared,
    /// Tokens of its main text.
    pub tokens: u32,
    /// Whose vectors its relations by meaning rest on.
    pub vectors: Vectors,
    /// Its story: the story's first document.
    pub story: DocId,
    /// The document it most likely derives from (`None` for an original).
    pub parent: Option<&'s Parent>,
}

/// The result of a scan.
///
/// Invariant: one document, one analysis and one outcome per input document, in input
/// order (held in three lists that only [`scan`] fills, so that the documents and analyses
/// the stages worked on are kept, not copied).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scan {
    docs: Vec<Document>,
    prepared: Vec<Prepared>,
    outcomes: Vec<Outcome>,
    /// The related pairs, sorted by `(a, b)`.
    pub relations: Vec<Relation>,
    /// The main encoder, when there was one.
    pub encoder: Option<EncoderInfo>,
    /// The fallback encoder, when it was used.
    pub fallback: Option<EncoderInfo>,
    /// Counters and timings.
    pub stats: ScanStats,
    /// The boilerplate model the documents were prepared with.
    pub boilerplate: BoilerplateModel,
    /// With [`ScanOptions::keep_evidence`]: every pair judged, with what was known of it and
    /// the kind it got, sorted by pair (a pair judged twice, by the main encoder's vectors
    /// and then the fallback's, appears twice).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub judged: Vec<Judged>,
}

/// A pair judged, for calibration and explanations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judged {
    /// What was known of the pair.
    pub evidence: PairEvidence,
    /// The kind it got (`None`: unrelated).
    pub kind: Option<Kind>,
}

/// Judges pairs, keeping their evidence when asked to.
pub(crate) struct Judge {
    keep: bool,
    log: std::sync::Mutex<Vec<Judged>>,
}

impl Judge {
    fn new(keep: bool) -> Self {
        Judge {
            keep,
            log: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The relation of a pair (see [`judge`]).
    pub fn judge(&self, ev: PairEvidence, rules: Rules) -> Option<Relation> {
        if !self.keep {
            return judge(ev, rules);
        }
        let kept = ev.clone();
        let r = judge(ev, rules);
        if let Ok(mut log) = self.log.lock() {
            log.push(Judged {
                evidence: kept,
                kind: r.as_ref().map(|r| r.kind),
            });
        }
        r
    }

    fn into_log(self) -> Vec<Judged> {
        let mut log = self.log.into_inner().unwrap_or_default();
        log.sort_by_key(|j| j.evidence.pair);
        log
    }
}

/// A pair after lexical alignment.
enum Lexical {
    /// Related (or settled as a copy).
    Related(Relation),
    /// To be judged with its meaning too (boxed: most pairs are related at once, and the
    /// list of outcomes holds one of these a pair).
    Open(Box<PairEvidence>),
}

impl Scan {
    /// A scan put together from its parts, e.g. from a saved index: `docs`, `prepared` and
    /// `outcomes` hold one entry per document, in order; `relations` are sorted by pair.
    ///
    /// # Panics
    /// When the three per-document lists differ in length.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        docs: Vec<Document>,
        prepared: Vec<Prepared>,
        outcomes: Vec<Outcome>,
        relations: Vec<Relation>,
        encoder: Option<EncoderInfo>,
        fallback: Option<EncoderInfo>,
        stats: ScanStats,
        boilerplate: BoilerplateModel,
    ) -> Scan {
        assert!(
            docs.len() == prepared.len() && docs.len() == outcomes.len(),
            "one prepared document and one outcome a document"
        );
        Scan {
            docs,
            prepared,
            outcomes,
            relations,
            encoder,
            fallback,
            stats,
            boilerplate,
            judged: Vec::new(),
        }
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether the scan read no document.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Document `d`.
    pub fn doc(&self, d: DocId) -> ScannedDocument<'_> {
        let i = d.index();
        let o = &self.outcomes[i];
        ScannedDocument {
            id: d,
            doc: &self.docs[i],
            prepared: &self.prepared[i],
            tokens: o.tokens,
            vectors: o.vectors,
            story: o.story,
            parent: o.parent.as_ref(),
        }
    }

    /// For each document, the first document (smallest id) of its group of identical main
    /// texts, when it is not that one itself: documents joined by copies that cover each
    /// other wholly, every aligned token verbatim. Every pair of a group is a copy (covering
    /// 100% each way), whether `pairs.jsonl` lists it or not (a group larger than
    /// [`CandidateOptions::max_exact_group`] lists the pairs of its first document only).
    pub fn duplicate_of(&self) -> Vec<Option<DocId>> {
        let n = self.docs.len();
        let mut groups = crate::relate::union_find::UnionFind::new(n);
        for r in &self.relations {
            if r.kind == Kind::Copy
                && r.coverage_a >= 1.0
                && r.coverage_b >= 1.0
                && r.density >= 1.0
            {
                groups.union(r.a.0, r.b.0);
            }
        }
        let labels = groups.labels();
        (0..n)
            .map(|d| (labels[d] as usize != d).then_some(DocId(labels[d])))
            .collect()
    }

    /// Every document, in input order.
    pub fn documents(&self) -> impl ExactSizeIterator<Item = ScannedDocument<'_>> + '_ {
        DocId::all(self.len()).map(|d| self.doc(d))
    }

    /// The documents as read, in input order (the scan's results are dropped).
    pub fn into_documents(self) -> Vec<Document> {
        self.docs
    }
}

/// What a scan is told of a larger collection its documents belong to (an index's): the
/// collection's statistics, used instead of those of the scan's own documents, so that a
/// scan of a few documents with the candidates the collection proposes for them judges
/// their pairs as a scan of the whole collection would (up to the neighbours by meaning,
/// which are searched among the scan's documents).
#[derive(Clone, Copy, Default)]
pub struct Collection<'a> {
    /// Its boilerplate model (else learnt from the scan's documents).
    pub boilerplate: Option<&'a BoilerplateModel>,
    /// Documents it counts.
    pub documents: usize,
    /// For each document of the scan, whether the collection counts it already (the others
    /// add to its counts). A pair of two counted documents is not judged: the collection
    /// has judged it.
    pub counted: Option<&'a [bool]>,
    /// Documents of the collection holding a passage anchor.
    pub anchor_df: Option<&'a (dyn Fn(u32) -> u32 + Sync)>,
    /// Documents of the collection holding a name or number ([`crate::relate::entities`]).
    pub entity_df: Option<&'a (dyn Fn(u64) -> u32 + Sync)>,
    /// The first documents of the scan already prepared and fingerprinted (with this
    /// `boilerplate` model and the scan's options), as `prepare` and `fingerprint` would:
    /// only the others go through those stages. Ignored without a boilerplate model.
    pub prepared: Option<(&'a [Prepared], &'a [Fingerprint])>,
    /// Relations the collection found among the counted documents of the scan (scan ids):
    /// the stage `events` reads which documents are versions of one text from them too.
    pub known: Option<&'a [Relation]>,
}

/// `docs` sorted by id (byte order): the order in which `retrace scan` and an index's
/// refresh run the pipeline, so that ties (a story's label, a parent, a star's centre) are
/// broken by id and the outputs do not depend on the order of the input.
pub fn in_id_order(mut docs: Vec<Document>) -> Vec<Document> {
    docs.sort_by(|x, y| x.id.as_bytes().cmp(y.id.as_bytes()));
    docs
}

/// Run the pipeline over `docs`: lexical reuse always, and rewrites, translations and
/// same-story pairs when an encoder is given.
pub fn scan(
    docs: Vec<Document>,
    opts: &ScanOptions,
    encoders: &Encoders,
    progress: &dyn Progress,
) -> Result<Scan, EncodeError> {
    scan_in(docs, &Collection::default(), opts, encoders, progress)
}

/// [`scan`] of documents that belong to a larger collection, with its statistics.
pub fn scan_in(
    docs: Vec<Document>,
    collection: &Collection,
    opts: &ScanOptions,
    encoders: &Encoders,
    progress: &dyn Progress,
) -> Result<Scan, EncodeError> {
    let n = docs.len();
    let counted_none = vec![false; n];
    let counted = collection.counted.unwrap_or(&counted_none);
    let mut stats = ScanStats {
        documents: n,
        bytes: docs.iter().map(|d| d.text.len()).sum(),
        ..ScanStats::default()
    };
    let mut run = Stages::new(progress);

    // Preparations the caller made already (with the same model and options).
    let (given, given_fps) = match collection.prepared {
        Some((p, f)) if collection.boilerplate.is_some() && p.len() == f.len() && p.len() <= n => {
            (p, f)
        }
        _ => (&[][..], &[][..]),
    };
    let k = given.len();
    let corpus = run.run("prepare", Some(n - k), |p| {
        let mut c = prepare_with(&docs[k..], &opts.prepare, collection.boilerplate, p);
        if k > 0 {
            c.docs.splice(0..0, given.iter().cloned());
        }
        c
    });
    stats.template_shapes = corpus.template_shapes;
    let boilerplate = corpus.model;
    let prepared = corpus.docs;
    stats.boilerplate_lines = prepared
        .iter()
        .map(|p| p.boilerplate.iter().filter(|&&b| b).count())
        .sum();

    let fps = run.run("fingerprint", Some(n - k), |p| {
        let mut f = fingerprint_corpus(&docs[k..], &prepared[k..], &opts.fingerprint, p);
        if k > 0 {
            f.splice(0..0, given_fps.iter().cloned());
        }
        f
    });
    let tokens: Vec<u32> = fps.iter().map(|f| f.tokens).collect();
    stats.anchors = fps.iter().map(|f| f.anchors.len()).sum();

    let pairs: Vec<Pair> = run.run("candidates", None, |_| {
        let known = collection.anchor_df.map(|df| KnownAnchors { df, counted });
        let cands = lexical_candidates_in(fps, &opts.candidates, known);
        cands
            .iter()
            .map(Candidate::pair)
            .filter(|p| !(counted[p.a.index()] && counted[p.b.index()]))
            .collect()
    });
    stats.candidates = pairs.len();

    let judge = Judge::new(opts.keep_evidence);
    let by_meaning = encoders.primary.is_some();
    let lexical_rules = Rules {
        lexical: &opts.relate,
        meaning: None,
    };
    let outcomes = run.run("align", Some(pairs.len()), |p| {
        align_pairs(
            &docs,
            &prepared,
            &pairs,
            &opts.align,
            p,
            |pair, al, ta, tb| {
                if al.passages.is_empty() {
                    return None;
                }
                let mut ev = PairEvidence {
                    pair,
                    same_language: prepared[pair.a.index()].lang == prepared[pair.b.index()].lang,
                    lexical: Some(al),
                    meaning: None,
                    containment: None,
                    verbatim: None,
                    lexical_verbatim: None,
                };
                if needs_lexical_verbatim(&ev, lexical_rules) {
                    ev.lexical_verbatim = ev
                        .lexical
                        .as_ref()
                        .map(|al| passage_verbatim(ta, tb, &al.passages));
                }
                if by_meaning && !settled_lexically(&ev, lexical_rules) {
                    return Some(Lexical::Open(Box::new(ev)));
                }
                judge.judge(ev, lexical_rules).map(Lexical::Related)
            },
        )
    });
    drop(pairs);
    let mut outcomes = outcomes;
    let mut open: Vec<PairEvidence> = outcomes
        .extract_if(.., |o| matches!(o, Lexical::Open(_)))
        .filter_map(|o| match o {
            Lexical::Open(ev) => Some(*ev),
            Lexical::Related(_) => None,
        })
        .collect();
    // (Collected in place: the relations take the outcomes' room.)
    let mut relations: Vec<Relation> = outcomes
        .into_iter()
        .filter_map(|o| match o {
            Lexical::Related(r) => Some(r),
            Lexical::Open(_) => None,
        })
        .collect();
    relations.sort_by_key(|r| (r.a, r.b));
    open.sort_by_key(|e| e.pair);

    let mut vectors = vec![Vectors::None; n];
    if encoders.primary.is_some() {
        stats.long_documents = prepared
            .iter()
            .filter(|p| p.sentences.len() > crate::embed::MAX_SENTENCES)
            .count();
        if stats.long_documents > 0 {
            tracing::warn!(
                "{} documents have more than {} sentences: relations by meaning read their \
                 first {} (lexical reuse is found anywhere in them)",
                stats.long_documents,
                crate::embed::MAX_SENTENCES,
                crate::embed::MAX_SENTENCES
            );
        }
    }
    if let Some(primary) = &encoders.primary {
        let known = collection.entity_df.map(|df| KnownEntities {
            documents: collection.documents,
            df,
            counted,
        });
        let by_meaning = meaning::ByMeaning::new(
            &docs,
            &prepared,
            known,
            opts.search,
            Rules {
                lexical: &opts.relate,
                meaning: None,
            },
            &judge,
            progress,
        );
        by_meaning.relate(
            &mut run,
            primary,
            encoders.fallback.as_ref(),
            &mut relations,
            open,
            &mut vectors,
            &mut stats,
        )?;
        stats.same_story_dropped = run.run("events", None, |p| {
            let known = collection.known.unwrap_or(&[]);
            events::confirm_same_story(
                &docs,
                &prepared,
                &mut relations,
                known,
                encoders,
                &vectors,
                p,
            )
        })?;
    }
    stats.relations = relations.len();

    let story_opts = match &encoders.primary {
        Some(m) => m.calibration.stories.clone(),
        None => StoryOptions::default(),
    };
    let (story, parents) = run.run("relate", None, |_| {
        let story = stories(n, &relations, &story_opts);
        let facts: Vec<DocFacts> = prepared
            .iter()
            .zip(&tokens)
            .map(|(p, &size)| DocFacts {
                date: p.date,
                size,
                sentences: p.sentences.len() as u32,
                lang: p.lang,
            })
            .collect();
        (story, provenance(&relations, &facts, &opts.provenance))
    });
    stats.timings = run.timings;

    let outcomes = tokens
        .into_iter()
        .zip(vectors)
        .zip(story.into_iter().zip(parents))
        .map(|((tokens, vectors), (story, parent))| Outcome {
            tokens,
            vectors,
            story,
            parent,
        })
        .collect();
    Ok(Scan {
        docs,
        prepared,
        outcomes,
        relations,
        encoder: encoders.primary.map(|m| EncoderInfo::of(m.encoder)),
        fallback: match (encoders.primary, encoders.fallback) {
            (Some(_), Some(f)) => Some(EncoderInfo::of(f.encoder)),
            _ => None,
        },
        stats,
        boilerplate,
        judged: judge.into_log(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidates::lexical_candidates;
    use crate::prepare::prepare_corpus;
    use crate::progress::NoProgress;
    use crate::relate::Kind;
    use crate::testing::{bilingual, news};

    fn kinds(s: &Scan) -> Vec<(&str, &str, Kind)> {
        s.relations
            .iter()
            .map(|r| {
                (
                    s.doc(r.a).doc.id.as_str(),
                    s.doc(r.b).doc.id.as_str(),
                    r.kind,
                )
            })
            .collect()
    }

    #[test]
    fn an_encoder_finds_translations_and_rewrites() {
        let (docs, enc) = bilingual();
        let encoders = Encoders {
            primary: Some(Meaning::new(&enc)),
            fallback: None,
        };
        let s = scan(docs, &ScanOptions::default(), &encoders, &NoProgress).expect("scan");
        assert_eq!(s.doc(DocId(1)).prepared.lang, "fr");
        assert_eq!(
            kinds(&s),
            vec![
                ("en", "fr", Kind::Translation),
                ("en", "rewrite", Kind::Rewrite),
                ("fr", "rewrite", Kind::Translation),
            ]
        );
        let stories: Vec<u32> = s.documents().map(|d| d.story.0).collect();
        assert_eq!(stories, [0, 0, 0, 3]);
        let roots = s.documents().take(3).filter(|d| d.parent.is_none()).count();
        assert_eq!(roots, 1, "one story, one root");
        assert!(s.documents().all(|d| d.vectors == Vectors::Primary));
        assert_eq!(
            s.encoder.as_ref().map(|e| e.name.as_str()),
            Some("hash-stub")
        );
        assert!(s.stats.semantic_candidates >= 3);
        let stages: Vec<&str> = s.stats.timings.iter().map(|t| t.0.as_str()).collect();
        assert_eq!(
            stages,
            [
                "prepare",
                "fingerprint",
                "candidates",
                "align",
                "embed",
                "semantic",
                "events",
                "relate"
            ]
        );
        // Without the encoder only lexical reuse is looked for: nothing here.
        let (docs, _) = bilingual();
        let lexical = scan(
            docs,
            &ScanOptions::default(),
            &Encoders::default(),
            &NoProgress,
        )
        .expect("scan");
        assert!(lexical.relations.is_empty());
        assert!(lexical.documents().all(|d| d.vectors == Vectors::None));
    }

    /// Round-trip a stage's output through JSON, as a stage run in another process would
    /// hand it over.
    fn handed_over<T: Serialize + serde::de::DeserializeOwned>(x: &T) -> T {
        serde_json::from_str(&serde_json::to_string(x).expect("json")).expect("read back")
    }

    #[test]
    fn stages_run_apart_on_plain_data_give_the_scan() {
        let docs = news();
        let opts = ScanOptions::default();
        let whole = scan(docs.clone(), &opts, &Encoders::default(), &NoProgress).expect("scan");
        let docs: Vec<Document> = handed_over(&docs);
        let prepared = handed_over(&prepare_corpus(&docs, &opts.prepare, &NoProgress));
        let fps = handed_over(&fingerprint_corpus(
            &docs,
            &prepared.docs,
            &opts.fingerprint,
            &NoProgress,
        ));
        let tokens: Vec<u32> = fps.iter().map(|f| f.tokens).collect();
        let cands = handed_over(&lexical_candidates(fps, &opts.candidates));
        let pairs: Vec<Pair> = cands.iter().map(Candidate::pair).collect();
        let rules = Rules {
            lexical: &opts.relate,
            meaning: None,
        };
        let relations = handed_over(&align_pairs(
            &docs,
            &prepared.docs,
            &pairs,
            &opts.align,
            &NoProgress,
            |pair, al, _, _| {
                let ev = PairEvidence {
                    pair,
                    same_language: true,
                    lexical: Some(al),
                    meaning: None,
                    containment: None,
                    verbatim: None,
                    lexical_verbatim: None,
                };
                judge(ev, rules)
            },
        ));
        assert_eq!(relations, whole.relations);
        let facts: Vec<DocFacts> = prepared
            .docs
            .iter()
            .zip(&tokens)
            .map(|(p, &size)| DocFacts {
                date: p.date,
                size,
                sentences: p.sentences.len() as u32,
                lang: p.lang,
            })
            .collect();
        let parents = provenance(
            &relations,
            &handed_over::<Vec<DocFacts>>(&facts),
            &opts.provenance,
        );
        let story = stories(docs.len(), &relations, &StoryOptions::default());
        for (i, d) in whole.documents().enumerate() {
            assert_eq!(d.prepared, &prepared.docs[i]);
            assert_eq!(d.tokens, tokens[i]);
            assert_eq!(d.parent, parents[i].as_ref());
            assert_eq!(d.story, story[i]);
        }
        // The whole result is plain data too.
        assert_eq!(handed_over(&whole), whole);
    }
}
