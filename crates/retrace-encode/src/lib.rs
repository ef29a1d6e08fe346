//! Sentence encoders for retrace.
//!
//! An [`Encoder`] maps a batch of sentences to L2-normalised vectors in which a sentence and
//! its translation land close together. The engine only ever talks to this trait, so an
//! encoder (a CPU model, a GPU model, a remote service) can be swapped without touching the
//! stages around it.

pub mod e5;
#[cfg(feature = "hf")]
pub mod hf;
pub mod unigram;

use thiserror::Error;

/// Errors an encoder can report.
#[derive(Debug, Error)]
pub enum EncodeError {
    /// The model files are missing or unreadable; the message says which command fixes it.
    #[error("model {name} is not usable: {reason}")]
    Model { name: String, reason: String },
    /// Any other failure while encoding.
    #[error("encoding failed: {0}")]
    Failed(String),
}

/// A batch of embeddings: `len()` rows of `dim` floats, row-major, each row L2-normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    pub dim: usize,
    pub data: Vec<f32>,
}

impl Embeddings {
    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    /// True when the batch holds no vector.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

/// A sentence encoder.
///
/// Invariants every implementation keeps: `encode` returns exactly one row per input
/// sentence, in input order, each of length `dim()` and L2-normalised (an empty sentence
/// gives the encoder's vector for empty input, never NaN); the same input gives the same
/// output on every call.
pub trait Encoder: Send + Sync {
    /// Short stable name, recorded in run outputs (e.g. `use-m3`).
    fn name(&self) -> &str;
    /// Output dimension.
    fn dim(&self) -> usize;
    /// ISO 639-1 codes of the languages whose vectors can be trusted.
    fn languages(&self) -> &[&'static str];
    /// Encode a batch of sentences.
    fn encode(&self, batch: &[&str]) -> Result<Embeddings, EncodeError>;

    /// Whether vectors for language `lang` (ISO 639-1) can be trusted.
    fn covers(&self, lang: &str) -> bool {
        self.languages().contains(&lang)
    }
}
