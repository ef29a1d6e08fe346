//! A deterministic stand-in encoder for tests: no model files, no floating-point surprises,
//! and similarities a test can reason about.
//!
//! [`HashEncoder`] embeds a sentence by feature hashing of its words:
//!
//! 1. the sentence is cut into words, the maximal runs of alphanumeric characters
//!    ([`char::is_alphanumeric`]), each lower-cased;
//! 2. each word found in the encoder's dictionary is replaced by its entry (so a test can
//!    build a word-by-word "translation": `le port` → `the harbour`);
//! 3. each word is hashed with 64-bit FNV-1a; the hash modulo `dim` picks a component and its
//!    top bit a sign, and ±1 is added there (a word repeated counts again);
//! 4. the sum is L2-normalised.
//!
//! Invariants, on top of those of [`Encoder`]:
//! - the vector of a sentence depends only on its sequence of (mapped) words: case,
//!   punctuation and spacing do not matter, the same input always gives the same bits, on
//!   every machine;
//! - the cosine of two sentences is the share of words they have in common (a dot product of
//!   word counts, normalised), up to hash collisions: identical sentences give 1, sentences
//!   with most words in common a high cosine, sentences with no word in common a cosine near
//!   0 (exactly 0 unless two of their words collide in a component);
//! - a sentence with no words, or whose words cancel out, gets a fixed unit vector (the first
//!   basis vector), never NaN.

use std::collections::HashMap;

use crate::{Embeddings, EncodeError, Encoder, Family};

/// Name of the encoder, recorded in run outputs.
pub const NAME: &str = "hash-stub";

/// The deterministic feature-hashing encoder (see the module documentation).
#[derive(Debug, Clone)]
pub struct HashEncoder {
    dim: usize,
    dictionary: HashMap<String, String>,
    languages: Vec<&'static str>,
}

impl HashEncoder {
    /// An encoder of `dim` dimensions (at least 1; a few hundred keep collisions rare),
    /// without a dictionary, covering English only.
    pub fn new(dim: usize) -> Self {
        assert!(dim > 0, "HashEncoder: dim must be at least 1");
        HashEncoder {
            dim,
            dictionary: HashMap::new(),
            languages: vec!["en"],
        }
    }

    /// Adds `(word, replacement)` pairs to the dictionary: `word` (lower-cased) is embedded
    /// as `replacement` (lower-cased). A replacement is not looked up again.
    pub fn with_dictionary(mut self, pairs: &[(&str, &str)]) -> Self {
        for (from, to) in pairs {
            self.dictionary
                .insert(from.to_lowercase(), to.to_lowercase());
        }
        self
    }

    /// The ISO 639-1 codes of the languages the encoder claims to cover (`["en"]` by
    /// default).
    pub fn with_languages(mut self, languages: &[&'static str]) -> Self {
        self.languages = languages.to_vec();
        self
    }

    /// The words of `text` as they are hashed: lower-cased, mapped through the dictionary.
    pub fn words(&self, text: &str) -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                let w = w.to_lowercase();
                match self.dictionary.get(&w) {
                    Some(to) => to.clone(),
                    None => w,
                }
            })
            .collect()
    }

    /// Writes the vector of `text` into `out` (`dim` floats).
    fn embed(&self, text: &str, out: &mut [f32]) {
        out.fill(0.0);
        for word in self.words(text) {
            let h = fnv1a(word.as_bytes());
            let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
            out[(h % self.dim as u64) as usize] += sign;
        }
        let norm = out.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            out.iter_mut().for_each(|v| *v /= norm);
        } else {
            out[0] = 1.0;
        }
    }
}

/// 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Encoder for HashEncoder {
    fn name(&self) -> &str {
        NAME
    }

    fn family(&self) -> Family {
        Family::Stub
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn languages(&self) -> &[&'static str] {
        &self.languages
    }

    fn count_tokens(&self, text: &str) -> Option<usize> {
        Some(self.words(text).len())
    }

    fn encode(&self, batch: &[&str]) -> Result<Embeddings, EncodeError> {
        let mut data = vec![0f32; batch.len() * self.dim];
        for (text, row) in batch.iter().zip(data.chunks_exact_mut(self.dim)) {
            self.embed(text, row);
        }
        Ok(Embeddings {
            dim: self.dim,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cos(e: &Embeddings, i: usize, j: usize) -> f32 {
        e.row(i).iter().zip(e.row(j)).map(|(a, b)| a * b).sum()
    }

    #[test]
    fn rows_are_unit_vectors_one_per_sentence() {
        let enc = HashEncoder::new(64);
        let e = enc
            .encode(&["The harbour reopened.", "", "  ,;! ", "x"])
            .expect("encode");
        assert_eq!((e.len(), e.dim), (4, 64));
        for i in 0..e.len() {
            let norm: f32 = e.row(i).iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-6, "row {i}: norm {norm}");
            assert!(e.row(i).iter().all(|v| v.is_finite()));
        }
        // No words: the fixed unit vector.
        assert_eq!(e.row(1), e.row(2));
        assert_eq!(e.row(1)[0], 1.0);
        assert_eq!(enc.family(), Family::Stub);
        assert_eq!(enc.count_tokens("The harbour, reopened!"), Some(3));
    }

    #[test]
    fn identical_sentences_give_identical_vectors() {
        let enc = HashEncoder::new(256);
        let e = enc
            .encode(&[
                "The harbour reopened on Monday.",
                "the HARBOUR reopened, on monday",
                "The harbour reopened on Monday.",
            ])
            .expect("encode");
        assert_eq!(e.row(0), e.row(1));
        assert_eq!(e.row(0), e.row(2));
        // Across calls and encoders too.
        let again = HashEncoder::new(256)
            .encode(&["The harbour reopened on Monday."])
            .expect("encode");
        assert_eq!(again.row(0), e.row(0));
    }

    #[test]
    fn word_overlap_gives_high_cosine_and_disjoint_words_low() {
        let enc = HashEncoder::new(256);
        let e = enc
            .encode(&[
                "the harbour reopened on monday after the storm",
                "the harbour reopened on tuesday after the storm",
                "prices of wheat fell sharply in chicago",
            ])
            .expect("encode");
        let (overlap, disjoint) = (cos(&e, 0, 1), cos(&e, 0, 2));
        assert!(overlap > 0.8, "overlap {overlap}");
        assert!(disjoint.abs() < 0.2, "disjoint {disjoint}");
    }

    #[test]
    fn dictionary_mapped_sentences_in_two_languages_align() {
        let enc = HashEncoder::new(256)
            .with_dictionary(&[
                ("le", "the"),
                ("port", "harbour"),
                ("a", "has"),
                ("rouvert", "reopened"),
                ("lundi", "monday"),
                ("Blé", "wheat"),
            ])
            .with_languages(&["en", "fr"]);
        assert!(enc.covers("fr") && enc.covers("en") && !enc.covers("de"));
        assert_eq!(enc.words("Le blé"), ["the", "wheat"]);
        let e = enc
            .encode(&[
                "The harbour has reopened on Monday.",
                "Le port a rouvert lundi.",
                "Prices of wheat fell sharply in Chicago.",
            ])
            .expect("encode");
        let (translation, unrelated) = (cos(&e, 0, 1), cos(&e, 1, 2));
        // Five of the English sentence's six words.
        assert!(translation > 0.85, "translation {translation}");
        assert!(unrelated.abs() < 0.2, "unrelated {unrelated}");
        // Without the dictionary the two sentences share nothing.
        let plain = HashEncoder::new(256)
            .encode(&[
                "The harbour has reopened on Monday.",
                "Le port a rouvert lundi.",
            ])
            .expect("encode");
        assert!(cos(&plain, 0, 1).abs() < 0.2);
    }
}
