//! One pair looked at closely: every alignment and measure the rules read, whether or not
//! the pair would have been a candidate, for explaining why a pair got its kind or none
//! (`retrace compare`).

use super::meaning::meaning_evidence;
use super::{Encoders, Meaning, ScanOptions};
use crate::align::{align, passage_verbatim, trigram_containment};
use crate::document::Document;
use crate::embed::{dot, embed_documents};
use crate::id::Pair;
use crate::prepare::normalize::Tokenizer;
use crate::prepare::prepare_corpus;
use crate::progress::NoProgress;
use crate::relate::entities::Entities;
use crate::relate::{explain, Check, PairEvidence, Rules};
use retrace_encode::EncodeError;

/// A pair examined: what is known of it, the encoder its meaning evidence rests on, and
/// every rule's check.
#[derive(Debug, Clone)]
pub struct Examined {
    /// The evidence.
    pub evidence: PairEvidence,
    /// The encoder whose vectors the meaning evidence comes from (none: lexical only).
    pub encoder: Option<String>,
    /// Every rule's measures against its thresholds.
    pub checks: Vec<Check>,
}

/// Examine `pair` of `docs` (the whole collection, whose statistics prepare the
/// documents): align it lexically and, when an encoder reads both languages, by meaning.
pub fn examine(
    docs: &[Document],
    pair: Pair,
    opts: &ScanOptions,
    encoders: &Encoders,
) -> Result<Examined, EncodeError> {
    let prepared = prepare_corpus(docs, &opts.prepare, &NoProgress).docs;
    let (a, b) = (pair.a.index(), pair.b.index());
    let mut tk = Tokenizer::default();
    let (ta, tb) = (
        prepared[a].tokens(&docs[a].text, &mut tk),
        prepared[b].tokens(&docs[b].text, &mut tk),
    );
    let lexical = align(&ta, &tb, &opts.align);
    let (la, lb) = (prepared[a].lang, prepared[b].lang);
    // The encoder whose vectors of both documents can be trusted: the main one, else the
    // fallback (as a scan judges a pair with an uncovered document).
    let reads = |m: &Meaning| m.encoder.covers(la) && m.encoder.covers(lb);
    let chosen = match (encoders.primary, encoders.fallback) {
        (Some(p), _) if reads(&p) => Some(p),
        (Some(_), Some(f)) if reads(&f) => Some(f),
        _ => None,
    };
    let mut meaning = None;
    if let Some(m) = chosen {
        let which: Vec<bool> = (0..docs.len()).map(|d| d == a || d == b).collect();
        let sv = embed_documents(
            docs,
            &prepared,
            m.encoder,
            &which,
            which.clone(),
            &NoProgress,
        )?;
        if sv.has_vectors(pair.a) && sv.has_vectors(pair.b) {
            let entities = Entities::build(docs, &prepared);
            let cos = dot(sv.doc(pair.a), sv.doc(pair.b));
            meaning = Some(meaning_evidence(
                &sv,
                &prepared,
                pair,
                cos,
                &entities,
                m.calibration,
            ));
        }
    }
    let verbatim = meaning
        .as_ref()
        .map(|m| passage_verbatim(&ta, &tb, &m.passages));
    let lexical_verbatim = Some(passage_verbatim(&ta, &tb, &lexical.passages));
    let evidence = PairEvidence {
        pair,
        same_language: la == lb,
        lexical: (!lexical.passages.is_empty()).then_some(lexical),
        meaning,
        containment: Some(trigram_containment(&ta, &tb)),
        verbatim,
        lexical_verbatim,
    };
    let rules = Rules {
        lexical: &opts.relate,
        meaning: chosen.map(|m| &m.calibration.relations),
    };
    Ok(Examined {
        checks: explain(&evidence, rules),
        encoder: chosen.map(|m| m.encoder.name().to_string()),
        evidence,
    })
}
