//! Fingerprints of a document's main text: an exact hash of its token sequence, its passage
//! anchors (winnowed shingles) and the LSH band keys of its MinHash signature.

use crate::lsh::{band_keys, LshOptions};
use crate::minhash::Signature;
use crate::normalize::Token;
use crate::shingle::{shingles, winnow};
use xxhash_rust::xxh3::xxh3_64;

/// Winnowing window: a shared passage spanning this many shingles always yields an anchor.
pub const WINNOW_WINDOW: usize = 4;

/// The anchor kept for a winnowed shingle hash.
#[inline]
pub fn anchor_of(shingle_hash: u64) -> u32 {
    (shingle_hash >> 32) as u32
}

/// Fingerprints of one document.
#[derive(Debug, Clone, Default)]
pub struct Fingerprint {
    /// Hash of the whole normalised main text (0 for an empty one).
    pub exact: u64,
    /// Passage anchors: the high 32 bits of the winnowed shingle hashes, sorted and
    /// deduplicated (half the memory of the full hashes; the rare collision only proposes a
    /// candidate pair that alignment then checks).
    pub anchors: Vec<u32>,
    /// The LSH bucket keys of the MinHash signature, one a band ([`crate::lsh::band_keys`];
    /// empty for an empty text): all that candidate generation needs of the signature, in
    /// half its room.
    pub bands: Vec<u64>,
}

/// Reusable buffers.
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
    /// Fingerprints with LSH bands as `lsh` sets them.
    pub fn new(lsh: LshOptions) -> Self {
        Fingerprinter {
            lsh,
            ..Fingerprinter::default()
        }
    }

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
            exact,
            anchors,
            bands: Signature::of(self.hashes.iter().copied())
                .map(|s| band_keys(&s, &self.lsh))
                .unwrap_or_default(),
        }
    }
}
