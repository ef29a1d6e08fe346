//! Sentence vectors: every main-text sentence of every document whose language the encoder
//! covers, embedded in batches, plus one vector per document (the normalised mean of its
//! sentence vectors). Documents in languages the encoder does not cover get no vectors, so no
//! cross-lingual or rewrite claim can rest on vectors that cannot be trusted.

use crate::document::Document;
use crate::normalize::Tokenizer;
use crate::prepare::Prepared;
use crate::progress::Progress;
use retrace_encode::{EncodeError, Encoder};

/// Sentences longer than this many bytes are cut (the encoder reads the start).
const MAX_SENTENCE_BYTES: usize = 1000;
/// At most this many sentences of a document are embedded.
pub const MAX_SENTENCES: usize = 400;
/// Sentences per encoder call.
const BATCH: usize = 4096;

/// Sentence and document vectors of a corpus.
#[derive(Debug, Default)]
pub struct SentenceVectors {
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
    pub fn sentences(&self, d: usize) -> std::ops::Range<usize> {
        self.offsets[d] as usize..self.offsets[d + 1] as usize
    }
    pub fn row(&self, s: usize) -> &[f32] {
        &self.data[s * self.dim..(s + 1) * self.dim]
    }
    pub fn doc(&self, d: usize) -> &[f32] {
        &self.doc_vectors[d * self.dim..(d + 1) * self.dim]
    }
    pub fn has_vectors(&self, d: usize) -> bool {
        self.offsets[d + 1] > self.offsets[d]
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
    progress.start("embed", refs.len() as u64);
    let mut data = Vec::with_capacity(refs.len() * dim);
    for chunk in refs.chunks(BATCH) {
        let batch: Vec<&str> = chunk
            .iter()
            .map(|(d, r)| crate::segment::prefix(&docs[*d].text[r.clone()], MAX_SENTENCE_BYTES))
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
