//! Embed: sentence vectors of every main-text sentence of the documents chosen (by default,
//! those whose language the encoder covers), embedded in batches through an [`Encoder`],
//! plus one vector per document (the token-weighted, normalised mean of its sentence
//! vectors). Documents in languages the encoder does not cover get no vectors, so no
//! cross-lingual or rewrite claim can rest on vectors that cannot be trusted.
//!
//! Input: documents, their [`Prepared`] analysis and an encoder. Output:
//! [`SentenceVectors`].

use crate::document::Document;
use crate::id::DocId;
use crate::prepare::normalize::Tokenizer;
use crate::prepare::Prepared;
use crate::progress::Progress;
use retrace_encode::{EncodeError, Encoder};
use serde::{Deserialize, Serialize};

/// Sentences longer than this many bytes are cut (the encoder reads the start).
const MAX_SENTENCE_BYTES: usize = 1000;
/// At most this many sentences of a document are embedded.
pub const MAX_SENTENCES: usize = 400;
/// Sentences per encoder call.
const BATCH: usize = 4096;

/// Sentence and document vectors of a corpus.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentenceVectors {
    /// Vector dimension.
    pub dim: usize,
    /// One L2-normalised row per embedded sentence.
    pub data: Vec<f32>,
    /// Document `d`'s sentences are rows `offsets[d]..offsets[d + 1]`, in order; they are its
    /// first `offsets[d + 1] - offsets[d]` sentences.
    pub offsets: Vec<u32>,
    /// Tokens per embedded sentence (the weight of a sentence in coverage).
    pub weights: Vec<u32>,
    /// One L2-normalised row per document (zeros when it has no vectors).
    pub doc_vectors: Vec<f32>,
    /// Whether the encoder covers the document's language.
    pub covered: Vec<bool>,
}

impl SentenceVectors {
    /// The rows of document `d`'s sentences.
    pub fn sentences(&self, d: DocId) -> std::ops::Range<usize> {
        let d = d.index();
        self.offsets[d] as usize..self.offsets[d + 1] as usize
    }
    /// Sentence row `s`.
    pub fn row(&self, s: usize) -> &[f32] {
        &self.data[s * self.dim..(s + 1) * self.dim]
    }
    /// Document `d`'s vector (zeros when it has none).
    pub fn doc(&self, d: DocId) -> &[f32] {
        let d = d.index();
        &self.doc_vectors[d * self.dim..(d + 1) * self.dim]
    }
    /// Whether document `d` has sentence vectors.
    pub fn has_vectors(&self, d: DocId) -> bool {
        !self.sentences(d).is_empty()
    }
    /// Number of documents (with vectors or not).
    pub fn documents(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
}

/// Dot product.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut s = [0f32; 8];
    let (ca, ra) = a.split_at(a.len() / 8 * 8);
    let (cb, rb) = b.split_at(ca.len());
    for (x, y) in ca.chunks_exact(8).zip(cb.chunks_exact(8)) {
        for k in 0..8 {
            s[k] += x[k] * y[k];
        }
    }
    let mut t: f32 = s.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        t += x * y;
    }
    t
}

/// Embed the main sentences of every covered document.
pub fn embed_corpus(
    docs: &[Document],
    prepared: &[Prepared],
    encoder: &dyn Encoder,
    progress: &dyn Progress,
) -> Result<SentenceVectors, EncodeError> {
    let covered: Vec<bool> = prepared.iter().map(|p| encoder.covers(p.lang)).collect();
    embed_documents(docs, prepared, encoder, &covered, covered.clone(), progress)
}

/// Embed the main sentences of the documents `which` selects; `covered` is recorded as is
/// (whether the encoder's vectors of each document can be trusted).
pub fn embed_documents(
    docs: &[Document],
    prepared: &[Prepared],
    encoder: &dyn Encoder,
    which: &[bool],
    covered: Vec<bool>,
    progress: &dyn Progress,
) -> Result<SentenceVectors, EncodeError> {
    let dim = encoder.dim();
    let mut offsets = vec![0u32];
    let mut refs: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
    for (d, p) in prepared.iter().enumerate() {
        if which[d] {
            for r in p.sentences.iter().take(MAX_SENTENCES) {
                refs.push((d, r.start as usize..r.end as usize));
            }
        }
        offsets.push(refs.len() as u32);
    }
    let mut tk = Tokenizer::default();
    let mut toks = Vec::new();
    let weights: Vec<u32> = refs
        .iter()
        .map(|(d, r)| {
            toks.clear();
            tk.tokenize(&docs[*d].text, r.clone(), &mut toks);
            toks.len().max(1) as u32
        })
        .collect();
    // Named for the encoder: a scan embeds with the primary and then the fallback one.
    progress.start(&format!("embed {}", encoder.name()), refs.len() as u64);
    let mut data = Vec::with_capacity(refs.len() * dim);
    for chunk in refs.chunks(BATCH) {
        let batch: Vec<&str> = chunk
            .iter()
            .map(|(d, r)| {
                crate::prepare::segment::prefix(&docs[*d].text[r.clone()], MAX_SENTENCE_BYTES)
            })
            .collect();
        let e = encoder.encode(&batch)?;
        if e.len() != batch.len() || e.dim != dim {
            return Err(EncodeError::Failed(format!(
                "encoder {} returned {} vectors of {} for {} sentences",
                encoder.name(),
                e.len(),
                e.dim,
                batch.len()
            )));
        }
        data.extend_from_slice(&e.data);
        progress.advance(batch.len() as u64);
    }
    progress.finish();
    let mut doc_vectors = vec![0f32; prepared.len() * dim];
    for d in 0..prepared.len() {
        let (s, e) = (offsets[d] as usize, offsets[d + 1] as usize);
        if s == e {
            continue;
        }
        let v = &mut doc_vectors[d * dim..(d + 1) * dim];
        for i in s..e {
            let w = weights[i] as f32;
            for (x, y) in v.iter_mut().zip(&data[i * dim..(i + 1) * dim]) {
                *x += w * y;
            }
        }
        let n = dot(v, v).sqrt();
        if n > 0.0 {
            v.iter_mut().for_each(|x| *x /= n);
        }
    }
    Ok(SentenceVectors {
        dim,
        data,
        offsets,
        weights,
        doc_vectors,
        covered,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;
    use crate::testing::{bilingual, prepared};

    #[test]
    fn covered_documents_get_sentence_and_document_vectors() {
        let (mut docs, enc) = bilingual();
        docs.push(Document::new(
            "de",
            "Der Stadtrat hat am Dienstag beschlossen, die alte Mauer wieder aufzubauen.",
        ));
        let p = prepared(&docs);
        assert_eq!(p[4].lang, "de");
        let covered: Vec<bool> = p.iter().map(|p| enc.covers(p.lang)).collect();
        assert_eq!(covered, [true, true, true, true, false]);
        let sv = embed_documents(&docs, &p, &enc, &covered, covered.clone(), &NoProgress)
            .expect("the stub encodes");
        assert_eq!(sv.documents(), 5);
        assert_eq!(sv.sentences(DocId(0)).len(), p[0].sentences.len());
        assert!(
            !sv.has_vectors(DocId(4)),
            "an uncovered language gets no vectors"
        );
        assert!(sv.doc(DocId(4)).iter().all(|&x| x == 0.0));
        for d in DocId::all(4) {
            let v = sv.doc(d);
            assert!(
                (dot(v, v) - 1.0).abs() < 1e-5,
                "document vectors are unit vectors"
            );
        }
        assert_eq!(sv.weights.len(), sv.data.len() / sv.dim);
        assert!(sv.weights.iter().all(|&w| w >= 1));
        // The translation and the rewrite are far closer to the article than the bakery.
        let cos = |x: u32, y: u32| dot(sv.doc(DocId(x)), sv.doc(DocId(y)));
        assert!(
            cos(0, 1) > 0.8 && cos(0, 2) > 0.7,
            "{} {}",
            cos(0, 1),
            cos(0, 2)
        );
        assert!(cos(0, 3) < 0.5, "{}", cos(0, 3));
        // Plain data: the vectors survive a trip through JSON.
        let back: SentenceVectors =
            serde_json::from_str(&serde_json::to_string(&sv).expect("json")).expect("read");
        assert_eq!(back, sv);
    }
}
