//! Fingerprint: what candidate generation needs of a document's main text. An exact hash of
//! its token sequence, its passage anchors (winnowed shingles, [`shingle`]) and the LSH band
//! keys of its MinHash signature ([`minhash`]), with its token count.
//!
//! Input: documents and their [`Prepared`] analysis. Output: one [`Fingerprint`] per
//! document, in order. Fingerprints depend on the document alone (no corpus statistics), so
//! a document's fingerprint never changes as a collection grows.

pub mod minhash;
pub mod shingle;

use crate::document::Document;
use crate::prepare::normalize::{Token, Tokenizer};
use crate::prepare::Prepared;
use crate::progress::Progress;
use minhash::{band_keys, LshOptions, Signature};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use shingle::{shingles, winnow};
use xxhash_rust::xxh3::xxh3_64;

/// Winnowing window: a shared passage spanning this many shingles always yields an anchor.
pub const WINNOW_WINDOW: usize = 4;

/// The anchor kept for a winnowed shingle hash.
#[inline]
pub fn anchor_of(shingle_hash: u64) -> u32 {
    (shingle_hash >> 32) as u32
}

/// Fingerprint settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FingerprintOptions {
    /// LSH banding of the MinHash signature.
    pub lsh: LshOptions,
}

/// Fingerprints of one document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Tokens of the main text (the measure of its size in coverage and provenance).
    pub tokens: u32,
    /// Hash of the whole normalised main text (0 for an empty one).
    pub exact: u64,
    /// Passage anchors: the high 32 bits of the winnowed shingle hashes, sorted and
    /// deduplicated (half the memory of the full hashes; the rare collision only proposes a
    /// candidate pair that alignment then checks).
    pub anchors: Vec<u32>,
    /// The LSH bucket keys of the MinHash signature, one a band ([`band_keys`]; empty for an
    /// empty text): all that candidate generation needs of the signature, in half its room.
    pub bands: Vec<u64>,
}

/// Fingerprints documents, reusing its buffers from one to the next.
#[derive(Default)]
pub struct Fingerprinter {
    sh: Vec<(u64, u32, u32)>,
    hashes: Vec<u64>,
    picks: Vec<usize>,
    /// The token hashes' bytes.
    bytes: Vec<u8>,
    lsh: LshOptions,
}

impl Fingerprinter {
    /// Fingerprints with LSH bands as `opts` sets them.
    pub fn new(opts: &FingerprintOptions) -> Self {
        Fingerprinter {
            lsh: opts.lsh,
            ..Fingerprinter::default()
        }
    }

    /// The fingerprint of a main text's tokens.
    pub fn fingerprint(&mut self, tokens: &[Token]) -> Fingerprint {
        if tokens.is_empty() {
            return Fingerprint::default();
        }
        // The exact hash: xxh3 of the token hashes' bytes, hashed in one call.
        self.bytes.clear();
        for t in tokens {
            self.bytes.extend_from_slice(&t.hash.to_le_bytes());
        }
        let exact = xxh3_64(&self.bytes);
        shingles(tokens, &mut self.sh);
        self.hashes.clear();
        self.hashes.extend(self.sh.iter().map(|s| s.0));
        winnow(&self.hashes, WINNOW_WINDOW, &mut self.picks);
        let mut anchors: Vec<u32> = self
            .picks
            .iter()
            .map(|&i| anchor_of(self.hashes[i]))
            .collect();
        anchors.sort_unstable();
        anchors.dedup();
        Fingerprint {
            tokens: tokens.len() as u32,
            exact,
            anchors,
            bands: Signature::of(self.hashes.iter().copied())
                .map(|s| band_keys(&s, &self.lsh))
                .unwrap_or_default(),
        }
    }
}

/// Fingerprint every document (in parallel; one per document, in order).
pub fn fingerprint_corpus(
    docs: &[Document],
    prepared: &[Prepared],
    opts: &FingerprintOptions,
    progress: &dyn Progress,
) -> Vec<Fingerprint> {
    docs.par_iter()
        .zip(prepared.par_iter())
        .map_init(
            || (Tokenizer::default(), Fingerprinter::new(opts), Vec::new()),
            |(tk, fp, toks), (d, p)| {
                p.tokens_into(&d.text, tk, toks);
                let f = fp.fingerprint(toks);
                progress.advance(1);
                f
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepare::normalize::tokenize;

    #[test]
    fn fingerprints_count_tokens_and_read_back() {
        let text = "The harbour of Calais reopened on Monday after a week of storms closed it \
            to ferries, the port authority said in a statement.";
        let mut fp = Fingerprinter::new(&FingerprintOptions::default());
        let f = fp.fingerprint(&tokenize(text));
        assert_eq!(f.tokens, 23);
        assert_ne!(f.exact, 0);
        assert!(!f.anchors.is_empty());
        assert!(f.anchors.windows(2).all(|w| w[0] < w[1]), "sorted, unique");
        assert_eq!(f.bands.len(), LshOptions::default().bands);
        // The same text gives the same fingerprint; an empty one the empty fingerprint.
        assert_eq!(fp.fingerprint(&tokenize(text)), f);
        assert_eq!(fp.fingerprint(&[]), Fingerprint::default());
        let back: Fingerprint =
            serde_json::from_str(&serde_json::to_string(&f).expect("json")).expect("read");
        assert_eq!(back, f);
    }
}
