//! Many given pairs scored in one go (`retrace compare --pairs`): the documents are
//! prepared together, each encoder embeds all the sentences it is needed for in one call,
//! and every pair is then aligned (lexically and by meaning) and judged as a scan judges a
//! pair, whether or not a scan would have proposed it as a candidate. Each pair also gets a
//! [`same_event`](crate::relate::event::same_event) score.

use super::events::{event_evidence, EventVectors};
use super::meaning::meaning_evidence;
use super::{Encoders, Meaning, ScanOptions};
use crate::align::{align, passage_verbatim, trigram_containment, Passage};
use crate::document::Document;
use crate::embed::{dot, embed_documents, SentenceVectors};
use crate::id::{DocId, Pair};
use crate::prepare::normalize::Tokenizer;
use crate::prepare::prepare_corpus;
use crate::progress::Progress;
use crate::relate::entities::Entities;
use crate::relate::event::{
    days_apart, same_event, EventEvidence, EventFacts, SharedFacts, SAME_EVENT_WEIGHTS,
};
use crate::relate::{judge, Kind, PairEvidence, Rules};
use rayon::prelude::*;
use retrace_encode::EncodeError;
use serde::{Deserialize, Serialize};

/// Why pairs could not be scored.
#[derive(Debug, thiserror::Error)]
pub enum PairsError {
    /// An encoder failed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A pair names a document that is not among those given, or one document twice.
    #[error("pair {index} is ({a}, {b}): it needs two distinct documents of the {n} given")]
    BadPair {
        /// The pair's position.
        index: usize,
        /// Its first document.
        a: DocId,
        /// Its second document.
        b: DocId,
        /// Documents given.
        n: usize,
    },
}

/// One pair scored, oriented as given: `a` is the pair's first document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairScore {
    /// The relation found (`None`: unrelated).
    pub kind: Option<Kind>,
    /// Share of the first document's main text covered by the second (0 when unrelated).
    pub coverage_a: f64,
    /// The same for the second.
    pub coverage_b: f64,
    /// Cosine of the document vectors, when an encoder reads both languages.
    pub similarity: Option<f64>,
    /// Weighted share of the (same-script) names and numbers both hold, when an encoder
    /// reads both languages.
    pub shared_entities: Option<f64>,
    /// Cosine of the vectors of the two main texts each embedded whole (their first
    /// 2,000 bytes), when an encoder reads both languages.
    pub text_similarity: Option<f64>,
    /// Cosine of the two first main-text sentences (headlines, in news), when an encoder
    /// reads both languages.
    pub first_similarity: Option<f64>,
    /// The relation's aligned passages, `a` in the first document (empty when unrelated or
    /// same story).
    pub evidence: Vec<Passage>,
    /// Names and numbers shared across scripts.
    pub facts: SharedFacts,
    /// How likely the two report the same event, in [0, 1].
    pub same_event: f64,
    /// The encoder the meaning evidence rests on.
    pub encoder: Option<String>,
}

/// Score `pairs` of `docs` (positions into `docs`; boilerplate and name frequencies are
/// learnt from all of `docs`, but only the documents of some pair are embedded). Scores come
/// in the order of `pairs`.
pub fn score_pairs(
    docs: &[Document],
    pairs: &[(DocId, DocId)],
    opts: &ScanOptions,
    encoders: &Encoders,
    progress: &dyn Progress,
) -> Result<Vec<PairScore>, PairsError> {
    let n = docs.len();
    for (index, &(a, b)) in pairs.iter().enumerate() {
        if a == b || a.index() >= n || b.index() >= n {
            return Err(PairsError::BadPair { index, a, b, n });
        }
    }
    progress.start("prepare", n as u64);
    let prepared = prepare_corpus(docs, &opts.prepare, progress).docs;
    progress.finish();
    // The encoder of each pair: the main one when it reads both languages, else the
    // fallback when it does (as a scan judges a pair with an uncovered document).
    let reads = |m: &Meaning, a: DocId, b: DocId| {
        m.encoder.covers(prepared[a.index()].lang) && m.encoder.covers(prepared[b.index()].lang)
    };
    let chosen: Vec<Option<usize>> = pairs
        .iter()
        .map(|&(a, b)| match (encoders.primary, encoders.fallback) {
            (Some(p), _) if reads(&p, a, b) => Some(0),
            (Some(_), Some(f)) if reads(&f, a, b) => Some(1),
            _ => None,
        })
        .collect();
    let meanings = [encoders.primary, encoders.fallback];
    let mut vectors: [Option<SentenceVectors>; 2] = [None, None];
    let mut texts: [Option<EventVectors>; 2] = [None, None];
    for (k, slot) in vectors.iter_mut().enumerate() {
        let Some(m) = meanings[k] else { continue };
        let mut which = vec![false; n];
        for (&(a, b), c) in pairs.iter().zip(&chosen) {
            if *c == Some(k) {
                which[a.index()] = true;
                which[b.index()] = true;
            }
        }
        if which.iter().any(|&w| w) {
            let sv = embed_documents(docs, &prepared, m.encoder, &which, which.clone(), progress)?;
            *slot = Some(sv);
            let w = &m.calibration.event;
            texts[k] = Some(EventVectors::new(docs, &prepared, m.encoder, &which, w)?);
        }
    }
    let entities = Entities::build(docs, &prepared);
    let facts = EventFacts::build(docs, &prepared);
    progress.start("pairs", pairs.len() as u64);
    let out = pairs
        .par_iter()
        .zip(&chosen)
        .map_init(Tokenizer::default, |tk, (&(x, y), &c)| {
            let pair = Pair::new(x, y);
            let (a, b) = (pair.a.index(), pair.b.index());
            let ta = prepared[a].tokens(&docs[a].text, tk);
            let tb = prepared[b].tokens(&docs[b].text, tk);
            let lexical = align(&ta, &tb, &opts.align);
            let m = c.and_then(|k| meanings[k].zip(vectors[k].as_ref()));
            let meaning = m.and_then(|(m, sv)| {
                (sv.has_vectors(pair.a) && sv.has_vectors(pair.b)).then(|| {
                    let cos = dot(sv.doc(pair.a), sv.doc(pair.b));
                    meaning_evidence(sv, &prepared, pair, cos, &entities, m.calibration)
                })
            });
            let similarity = meaning.as_ref().map(|m| m.doc_cos);
            let shared_entities = meaning.as_ref().map(|m| m.shared_entities);
            let ev_vectors = c.and_then(|k| texts[k].as_ref());
            let event = match (similarity, ev_vectors) {
                (Some(cos), Some(v)) => event_evidence(v, &facts, &prepared, pair, cos),
                _ => EventEvidence {
                    facts: facts.shared(pair.a, pair.b),
                    days_apart: days_apart(prepared[a].date, prepared[b].date),
                    ..EventEvidence::default()
                },
            };
            let verbatim = meaning
                .as_ref()
                .map(|m| passage_verbatim(&ta, &tb, &m.passages));
            let lexical_verbatim = Some(passage_verbatim(&ta, &tb, &lexical.passages));
            let evidence = PairEvidence {
                pair,
                same_language: prepared[a].lang == prepared[b].lang,
                lexical: (!lexical.passages.is_empty()).then_some(lexical),
                meaning,
                containment: Some(trigram_containment(&ta, &tb)),
                verbatim,
                lexical_verbatim,
            };
            let rules = Rules {
                lexical: &opts.relate,
                meaning: m.map(|(m, _)| &m.calibration.relations),
            };
            let weights = m.map_or(&SAME_EVENT_WEIGHTS, |(m, _)| &m.calibration.event);
            let same_event = same_event(&event, weights);
            // A pair on its own: the same story when the same event is the likelier.
            let relation = judge(evidence, rules)
                .filter(|r| r.kind != Kind::SameStory || same_event >= 0.5)
                .map(|mut r| {
                    if r.kind == Kind::SameStory {
                        r.score = same_event;
                    }
                    r
                });
            let shared = facts.shared(x, y);
            let swap = x > y;
            let mut score = PairScore {
                kind: None,
                coverage_a: 0.0,
                coverage_b: 0.0,
                similarity,
                shared_entities,
                evidence: Vec::new(),
                same_event,
                text_similarity: event.text_similarity,
                first_similarity: event.first_similarity,
                facts: shared,
                encoder: m.map(|(m, _)| m.encoder.name().to_string()),
            };
            if let Some(r) = relation {
                score.kind = Some(r.kind);
                (score.coverage_a, score.coverage_b) = if swap {
                    (r.coverage_b, r.coverage_a)
                } else {
                    (r.coverage_a, r.coverage_b)
                };
                score.evidence = r.evidence;
                if swap {
                    for p in &mut score.evidence {
                        std::mem::swap(&mut p.a, &mut p.b);
                        std::mem::swap(&mut p.tokens_a, &mut p.tokens_b);
                    }
                }
            }
            progress.advance(1);
            score
        })
        .collect();
    progress.finish();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Meaning;
    use crate::progress::NoProgress;
    use crate::testing::bilingual;

    #[test]
    fn pairs_are_scored_in_order_and_oriented_as_given() {
        let (docs, enc) = bilingual();
        let encoders = Encoders {
            primary: Some(Meaning::new(&enc)),
            fallback: None,
        };
        let opts = ScanOptions::default();
        let pairs = [
            (DocId(1), DocId(0)),
            (DocId(0), DocId(1)),
            (DocId(0), DocId(3)),
        ];
        let s = score_pairs(&docs, &pairs, &opts, &encoders, &NoProgress).expect("scored");
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].kind, Some(Kind::Translation));
        assert_eq!(s[1].kind, Some(Kind::Translation));
        assert_eq!(s[0].coverage_a, s[1].coverage_b);
        assert_eq!(s[0].coverage_b, s[1].coverage_a);
        let (p0, p1) = (&s[0].evidence[0], &s[1].evidence[0]);
        assert_eq!((&p0.a, &p0.b), (&p1.b, &p1.a), "evidence follows the order");
        assert!(s[0]
            .evidence
            .iter()
            .all(|p| p.a.end as usize <= docs[1].text.len()));
        assert_eq!(s[2].kind, None);
        assert!(s[1].same_event > s[2].same_event);
        assert!(s.iter().all(|x| (0.0..=1.0).contains(&x.same_event)));
        assert!(s.iter().all(|x| x.first_similarity.is_some()));
        assert!(matches!(
            score_pairs(
                &docs,
                &[(DocId(2), DocId(2))],
                &opts,
                &encoders,
                &NoProgress
            ),
            Err(PairsError::BadPair { index: 0, .. })
        ));
    }

    #[test]
    fn a_stated_language_is_taken_as_given() {
        let (mut docs, _) = bilingual();
        docs[0].meta.lang = Some("de".into());
        docs[1].meta.lang = Some("xx".into());
        let p = crate::testing::prepared(&docs);
        assert_eq!((p[0].lang, p[0].lang_confidence), ("de", 1.0));
        assert_eq!(p[1].lang, "fr", "an unknown code: identified");
    }
}
