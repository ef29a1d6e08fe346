//! Shingles and passage anchors.
//!
//! A shingle is a hashed run of consecutive tokens weighing at least [`SHINGLE_WEIGHT`]
//! words, where a word counts 1 and a character of an unspaced script (Han, kana, Thai, ...)
//! counts 1/2: five words, or ten characters. Anchors are the shingles that winnowing picks
//! (the minimum hash of every window of `w` consecutive shingles): any passage two documents
//! share that spans at least `w` shingles yields at least one common anchor, whatever the
//! lengths of the documents around it, which is what lets short excerpts of long articles be
//! found.

use crate::prepare::normalize::Token;

/// Weight of a shingle in words.
pub const SHINGLE_WEIGHT: f32 = 5.0;

#[inline]
fn mix(h: u64, x: u64) -> u64 {
    (h.rotate_left(23) ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The hash of no tokens.
const SEED: u64 = 0x5151_5151;

/// Shingle hashes, one per start position `i` whose run reaches the weight; `out[k]` is
/// `(hash, start_token, end_token)`.
pub fn shingles(tokens: &[Token], out: &mut Vec<(u64, u32, u32)>) {
    out.clear();
    let n = tokens.len();
    let w = |t: &Token| if t.is_char { 1u32 } else { 2u32 };
    let need = (SHINGLE_WEIGHT * 2.0) as u32;
    // Words alone: a shingle is `WORDS` tokens.
    const WORDS: usize = SHINGLE_WEIGHT as usize;
    let mut j = 0usize;
    let mut weight = 0u32;
    let mut i = 0;
    while i < n {
        // Four shingles at once where the next `WORDS + 3` tokens are all words (their
        // hashes computed side by side, the same values as one by one).
        if i + WORDS + 3 <= n && tokens[i..i + WORDS + 3].iter().all(|t| !t.is_char) {
            let mut h = [SEED; 4];
            for k in 0..WORDS {
                for (q, hq) in h.iter_mut().enumerate() {
                    *hq = mix(*hq, tokens[i + q + k].hash);
                }
            }
            for (q, &hq) in h.iter().enumerate() {
                out.push((hq, (i + q) as u32, (i + q + WORDS) as u32));
            }
            // The window of the next start holds its first `WORDS - 1` tokens.
            i += 4;
            j = i + WORDS - 1;
            weight = 2 * (WORDS as u32 - 1);
            continue;
        }
        while j < n && weight < need {
            weight += w(&tokens[j]);
            j += 1;
        }
        if weight < need {
            break;
        }
        let mut h = SEED;
        for t in &tokens[i..j] {
            h = mix(h, t.hash);
        }
        out.push((h, i as u32, j as u32));
        weight -= w(&tokens[i]);
        i += 1;
    }
    // A document too short for one full shingle still gets one covering all its tokens.
    if out.is_empty() && n >= 2 {
        let mut h = SEED;
        for t in tokens {
            h = mix(h, t.hash);
        }
        out.push((h, 0, n as u32));
    }
}

/// Winnowing: the positions (into `hashes`) of the minimum of every window of `w` hashes,
/// each position once, in order.
pub fn winnow(hashes: &[u64], w: usize, out: &mut Vec<usize>) {
    out.clear();
    if hashes.is_empty() {
        return;
    }
    if hashes.len() <= w {
        let (p, _) = hashes
            .iter()
            .enumerate()
            .min_by_key(|(i, h)| (**h, std::cmp::Reverse(*i)))
            .expect("non-empty");
        out.push(p);
        return;
    }
    // The minimum of each window, the rightmost of equal ones: kept while it stays in the
    // window and no smaller-or-equal hash enters; searched again when it leaves (about once
    // every `w` windows).
    let rightmost_min = |lo: usize, hi: usize| {
        let mut m = lo;
        for k in lo + 1..hi {
            if hashes[k] <= hashes[m] {
                m = k;
            }
        }
        m
    };
    let mut m = rightmost_min(0, w);
    out.push(m);
    for i in w..hashes.len() {
        let lo = i + 1 - w;
        if m < lo {
            m = rightmost_min(lo, i + 1);
        } else if hashes[i] <= hashes[m] {
            m = i;
        }
        if out.last() != Some(&m) {
            out.push(m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepare::normalize::tokenize;

    fn hashes(t: &str) -> Vec<u64> {
        let mut s = Vec::new();
        shingles(&tokenize(t), &mut s);
        s.iter().map(|x| x.0).collect()
    }

    #[test]
    fn shingles_are_five_words_or_ten_chars() {
        let mut s = Vec::new();
        shingles(&tokenize("one two three four five six"), &mut s);
        assert_eq!(
            s.iter().map(|x| (x.1, x.2)).collect::<Vec<_>>(),
            vec![(0, 5), (1, 6)]
        );
        shingles(&tokenize("一二三四五六七八九十十一"), &mut s);
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].1, s[0].2), (0, 10));
        shingles(&tokenize("two words"), &mut s);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn shared_passage_gives_shared_anchor() {
        let passage = "the quick brown fox jumps over the lazy dog near the river bank today";
        let a =
            format!("completely different opening words here and there {passage} then an ending");
        let b = format!("{passage} followed by other things entirely unlike the first");
        let (ha, hb) = (hashes(&a), hashes(&b));
        let mut wa = Vec::new();
        let mut wb = Vec::new();
        winnow(&ha, 4, &mut wa);
        winnow(&hb, 4, &mut wb);
        let sa: std::collections::HashSet<u64> = wa.iter().map(|&i| ha[i]).collect();
        assert!(wb.iter().any(|&i| sa.contains(&hb[i])));
        // Density is about 2/(w+1).
        assert!(wa.len() < ha.len());
    }

    #[test]
    fn winnow_small_inputs() {
        let mut w = Vec::new();
        winnow(&[5, 3, 9], 4, &mut w);
        assert_eq!(w, vec![1]);
        winnow(&[], 4, &mut w);
        assert!(w.is_empty());
    }
}
