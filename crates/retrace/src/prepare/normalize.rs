//! Normalisation for matching: splits text into tokens folded with NFKC and lower-casing,
//! with punctuation and whitespace dropped, while every token keeps its byte range in the
//! original text so that evidence can point back into it.
//!
//! Space-delimited scripts give one token per word. Scripts written without spaces (Han,
//! kana, Thai, Lao, Khmer, Myanmar) give one token per character, so that character n-grams
//! stand in for word n-grams there.

use std::ops::Range;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use xxhash_rust::xxh3::xxh3_64;

/// One normalised token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Byte range in the original text: start ...
    pub start: u32,
    /// ... and end.
    pub end: u32,
    /// Hash of the normalised form.
    pub hash: u64,
    /// True for a character of a script written without spaces.
    pub is_char: bool,
}

impl Token {
    /// The token's byte range in the original text.
    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// Scripts written without spaces between words: each character is a token.
pub fn is_unspaced_script(c: char) -> bool {
    // (Most text is below the first range: one comparison.)
    (c as u32) >= 0x0E00
        && matches!(c as u32,
        0x0E00..=0x0EFF       // Thai, Lao
        | 0x1000..=0x109F     // Myanmar
        | 0x1780..=0x17FF     // Khmer
        | 0x3040..=0x30FF     // Hiragana, Katakana
        | 0x31F0..=0x31FF
        | 0x3400..=0x4DBF     // CJK extension A
        | 0x4E00..=0x9FFF     // CJK unified
        | 0xF900..=0xFAFF     // CJK compatibility
        | 0xFF66..=0xFF9F     // half-width katakana
        | 0x20000..=0x2FA1F)
}

#[inline]
fn is_word_char(c: char) -> bool {
    match FACTS.bit(&FACTS.word, c) {
        Some(b) => b,
        None => is_word_char_slow(c),
    }
}

fn is_word_char_slow(c: char) -> bool {
    c.is_alphanumeric() || (!c.is_ascii() && is_combining_mark(c))
}

/// [`unicode_normalization::char::is_combining_mark`], by table in the BMP.
#[inline]
fn is_mark(c: char) -> bool {
    match FACTS.bit(&FACTS.mark, c) {
        Some(b) => b,
        None => is_combining_mark(c),
    }
}

/// `char::is_alphanumeric`, by table in the BMP.
#[inline]
pub(crate) fn is_alphanumeric(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    match FACTS.bit(&FACTS.alnum, c) {
        Some(b) => b,
        None => c.is_alphanumeric(),
    }
}

/// For a character that is neither whitespace nor numeric and lower-cases to one character,
/// that character (`None` for any other, ASCII included).
#[inline]
pub(crate) fn plain_lowercase(c: char) -> Option<char> {
    if c.is_ascii() {
        return None;
    }
    FACTS.plain_lower(c)
}

/// Characters below this have their lowercase in [`CharFacts::lower`].
const LOWER_TABLE: usize = 0x800;

/// Facts about the characters of the Basic Multilingual Plane, computed once from the very
/// functions tokenisation otherwise calls per character, so that table and function agree.
struct CharFacts {
    /// `is_word_char`, one bit a character.
    word: Vec<u64>,
    /// `is_combining_mark`, one bit a character.
    mark: Vec<u64>,
    /// Characters that fold to themselves alone: not ASCII, NFKC quick check "yes", canonical
    /// combining class 0 and their own lowercase.
    same: Vec<u64>,
    /// Below [`LOWER_TABLE`]: the one-character lowercase of a character that is NFKC "yes"
    /// with combining class 0 (0: not such a character).
    lower: Vec<u16>,
    /// `char::is_alphanumeric`, one bit a character.
    alnum: Vec<u64>,
    /// Characters that are neither whitespace nor numeric and are their own lowercase.
    plain_same: Vec<u64>,
    /// Below [`LOWER_TABLE`]: the one-character lowercase of a character that is neither
    /// whitespace nor numeric (0: not such a character).
    plain_lower: Vec<u16>,
}

static FACTS: std::sync::LazyLock<CharFacts> = std::sync::LazyLock::new(CharFacts::new);

impl CharFacts {
    fn new() -> Self {
        let mut f = CharFacts {
            word: vec![0; 1 << 10],
            mark: vec![0; 1 << 10],
            same: vec![0; 1 << 10],
            lower: vec![0; LOWER_TABLE],
            alnum: vec![0; 1 << 10],
            plain_same: vec![0; 1 << 10],
            plain_lower: vec![0; LOWER_TABLE],
        };
        for c in (0..0x10000u32).filter_map(char::from_u32) {
            let i = c as usize;
            let set = |v: &mut Vec<u64>| v[i / 64] |= 1 << (i % 64);
            if is_word_char_slow(c) {
                set(&mut f.word);
            }
            if is_combining_mark(c) {
                set(&mut f.mark);
            }
            if c.is_alphanumeric() {
                set(&mut f.alnum);
            }
            if !c.is_whitespace() && !c.is_numeric() {
                let mut low = c.to_lowercase();
                if let (Some(l), None) = (low.next(), low.next()) {
                    if l == c {
                        set(&mut f.plain_same);
                    }
                    if i < LOWER_TABLE && (l as u32) < 0x10000 {
                        f.plain_lower[i] = l as u32 as u16;
                    }
                }
            }
            if c.is_ascii()
                || unicode_normalization::char::canonical_combining_class(c) != 0
                || unicode_normalization::is_nfkc_quick(std::iter::once(c))
                    != unicode_normalization::IsNormalized::Yes
            {
                continue;
            }
            let mut low = c.to_lowercase();
            if let (Some(l), None) = (low.next(), low.next()) {
                if l == c {
                    set(&mut f.same);
                }
                if i < LOWER_TABLE && (l as u32) < 0x10000 {
                    f.lower[i] = l as u32 as u16;
                }
            }
        }
        f
    }

    /// The one-character lowercase of `c` when it is neither whitespace nor numeric.
    #[inline]
    fn plain_lower(&self, c: char) -> Option<char> {
        self.mapped(&self.plain_lower, &self.plain_same, c)
    }

    /// `c` through a pair of tables: `lower` for the first [`LOWER_TABLE`] characters (0:
    /// none), then `same` (the characters that map to themselves).
    #[inline]
    fn mapped(&self, lower: &[u16], same: &[u64], c: char) -> Option<char> {
        let i = c as usize;
        if i < LOWER_TABLE {
            return match lower[i] {
                0 => None,
                l => char::from_u32(l as u32),
            };
        }
        match self.bit(same, c) {
            Some(true) => Some(c),
            _ => None,
        }
    }

    /// The bit of `c` in a table (`None` outside the BMP).
    #[inline]
    fn bit(&self, table: &[u64], c: char) -> Option<bool> {
        let i = c as usize;
        table.get(i / 64).map(|w| w & (1 << (i % 64)) != 0)
    }

    /// What a non-ASCII character folds to when it needs no normalisation and no look at
    /// its neighbours (`None`: take the slow path).
    #[inline]
    fn fold_alone(&self, c: char) -> Option<char> {
        self.mapped(&self.lower, &self.same, c)
    }
}

/// One bit in each byte lane of a `u64`.
pub(crate) const LANES: u64 = 0x0101_0101_0101_0101;

/// Bit 7 of each byte lane of `w` whose byte (which must be below 0x80) is in `lo..=hi`.
#[inline]
pub(crate) fn lanes_in(w: u64, lo: u8, hi: u8) -> u64 {
    let ge = w + LANES * (0x80 - lo as u64);
    let gt = w + LANES * (0x7F - hi as u64);
    ge & !gt & (LANES * 0x80)
}

/// Bytes that are ASCII word characters (letters and digits).
const ASCII_WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 128 {
        t[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    t
};

/// Bytes that are ASCII but not word characters (spaces, punctuation, controls).
const ASCII_SEPARATOR: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 128 {
        t[b] = !ASCII_WORD[b];
        b += 1;
    }
    t
};

/// The hash of a token: of its normalised bytes. A token of at most 16 bytes (nearly all
/// of them) is read as two little-endian words, zero-padded, and mixed with its length by
/// two folded multiplications (as wyhash and foldhash do); a longer one is hashed by xxh3.
#[inline]
pub fn token_hash(b: &[u8]) -> u64 {
    if b.len() <= 16 {
        let mut w = [0u8; 16];
        w[..b.len()].copy_from_slice(b);
        let (lo, hi) = w.split_at(8);
        short_hash(le_word(lo), le_word(hi), b.len())
    } else {
        xxh3_64(b)
    }
}

/// The first eight bytes of `b` as a little-endian word.
#[inline]
pub(crate) fn le_word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_le_bytes(w)
}

/// [`token_hash`] of at most 16 bytes, given as two zero-padded little-endian words.
#[inline]
fn short_hash(lo: u64, hi: u64, len: usize) -> u64 {
    let m = folded_mul(lo ^ 0xA076_1D64_78BD_642F, hi ^ 0xE703_7ED1_A0B4_28DB);
    folded_mul(
        m ^ 0x8EBC_6AF0_9C88_C6E3,
        len as u64 ^ 0x5899_65CC_7537_4CC3,
    )
}

/// The two halves of a 64 x 64-bit product, xored.
#[inline]
fn folded_mul(x: u64, y: u64) -> u64 {
    let p = x as u128 * y as u128;
    p as u64 ^ (p >> 64) as u64
}

/// Masks keeping the first `n` bytes of two little-endian words, for `n` in 0..=16.
const PREFIX_MASKS: [(u64, u64); 17] = {
    let mut t = [(0u64, 0u64); 17];
    let mut n = 0;
    while n <= 16 {
        let lo = if n >= 8 {
            u64::MAX
        } else {
            (1u64 << (8 * n)) - 1
        };
        let hi = if n <= 8 {
            0
        } else if n == 16 {
            u64::MAX
        } else {
            (1u64 << (8 * (n - 8))) - 1
        };
        t[n] = (lo, hi);
        n += 1;
    }
    t
};

/// [`token_hash`] of the normalised form of the ASCII word `text[start..end]` (letters and
/// digits): its lower-cased bytes. A letter or digit is lower-cased by setting bit 5 (digits
/// have it already), so a short word is read straight from the text, 16 bytes at once.
#[inline]
fn hash_ascii_lower(text: &[u8], start: usize, end: usize) -> u64 {
    const LOWER: u64 = 0x2020_2020_2020_2020;
    let n = end - start;
    if n <= 16 && start + 16 <= text.len() {
        let (ml, mh) = PREFIX_MASKS[n];
        let lo = le_word(&text[start..start + 8]);
        let hi = le_word(&text[start + 8..start + 16]);
        return short_hash((lo | LOWER) & ml, (hi | LOWER) & mh, n);
    }
    let mut stack = [0u8; 64];
    if n <= stack.len() {
        for (d, &b) in stack.iter_mut().zip(&text[start..end]) {
            *d = b.to_ascii_lowercase();
        }
        token_hash(&stack[..n])
    } else {
        let w: Vec<u8> = text[start..end]
            .iter()
            .map(|b| b.to_ascii_lowercase())
            .collect();
        token_hash(&w)
    }
}

/// NFKC then lower case, appended to `buf` (cleared first). Text that is already in NFKC
/// (nearly all of it) skips the normaliser: the result is the same.
#[inline]
fn fold_into(w: &str, buf: &mut String) {
    // Characters that are NFKC "yes" with combining class 0 cannot make a word fail the
    // NFKC quick check: such words fold character by character, from a table.
    buf.clear();
    for c in w.chars() {
        if c.is_ascii() {
            buf.push(c.to_ascii_lowercase());
        } else if let Some(l) = FACTS.fold_alone(c) {
            buf.push(l);
        } else {
            return fold_into_slow(w, buf);
        }
    }
}

/// [`fold_into`] for any word.
fn fold_into_slow(w: &str, buf: &mut String) {
    buf.clear();
    if unicode_normalization::is_nfkc_quick(w.chars()) == unicode_normalization::IsNormalized::Yes {
        for c in w.chars() {
            if c.is_ascii() {
                buf.push(c.to_ascii_lowercase());
            } else {
                buf.extend(c.to_lowercase());
            }
        }
    } else {
        for c in w.nfkc() {
            buf.extend(c.to_lowercase());
        }
    }
}

/// Reusable buffers for [`tokenize`], and the hashes of the unspaced-script characters met
/// last (a character's token hash depends on the character alone; CJK text repeats a few
/// thousand characters).
#[derive(Default)]
pub struct Tokenizer {
    buf: String,
    /// Direct-mapped by the character's low bits: (character, its token hash); `u32::MAX`
    /// marks a free entry. Made on the first unspaced-script character.
    char_hashes: Vec<(u32, u64)>,
}

/// Entries of [`Tokenizer`]'s character cache.
const CHAR_CACHE: usize = 4096;

impl Tokenizer {
    /// Append the tokens of `text[range]` to `out`.
    pub fn tokenize(&mut self, text: &str, range: Range<usize>, out: &mut Vec<Token>) {
        self.tokenize_with(text, range, out, true)
    }

    /// [`Tokenizer::tokenize`], with (`blocks`) or without the eight-bytes-at-once path for
    /// ASCII (both give the same tokens: the tests compare them).
    fn tokenize_with(
        &mut self,
        text: &str,
        range: Range<usize>,
        out: &mut Vec<Token>,
        blocks: bool,
    ) {
        let base = range.start;
        let s = &text[range];
        let bytes = s.as_bytes();
        let mut word_start: Option<usize> = None;
        let mut ascii = true;
        let mut i = 0;
        // The next byte at which eight ASCII bytes at once are tried (after a failed try,
        // the bytes it looked at go one by one).
        let mut try_at = if blocks { 0 } else { usize::MAX };
        while i < bytes.len() {
            if i >= try_at && i + 8 <= bytes.len() {
                let w = le_word(&bytes[i..i + 8]);
                if w & (LANES * 0x80) == 0 {
                    // Words start and end where a lane's letter-or-digit bit differs from the
                    // lane before it (the first lane's "before" is whether a word is open).
                    let word =
                        lanes_in(w, b'0', b'9') | lanes_in(w, b'A', b'Z') | lanes_in(w, b'a', b'z');
                    let before = (word << 8) | ((word_start.is_some() as u64) << 7);
                    let mut changes = word ^ before;
                    while changes != 0 {
                        let bit = changes.trailing_zeros();
                        let at = i + bit as usize / 8;
                        if word >> bit & 1 != 0 {
                            word_start = Some(at);
                            ascii = true;
                        } else if let Some(ws) = word_start.take() {
                            self.push_word(text, ws, at, ascii, base, out);
                        }
                        changes &= changes - 1;
                    }
                    i += 8;
                    continue;
                }
                try_at = i + 8;
            }
            let b = bytes[i];
            if b < 0x80 {
                // ASCII: a letter or digit continues or starts a word, anything else ends it;
                // the rest of a run of either kind is passed over at once.
                if ASCII_WORD[b as usize] {
                    if word_start.is_none() {
                        word_start = Some(i);
                        ascii = true;
                    }
                    i += 1;
                    while i < bytes.len() && ASCII_WORD[bytes[i] as usize] {
                        i += 1;
                    }
                } else {
                    if let Some(ws) = word_start.take() {
                        self.push_word(text, ws, i, ascii, base, out);
                    }
                    i += 1;
                    while i < bytes.len() && ASCII_SEPARATOR[bytes[i] as usize] {
                        i += 1;
                    }
                }
                continue;
            }
            let c = s[i..].chars().next().expect("char boundary");
            let len = c.len_utf8();
            // A combining mark right after an unspaced-script character extends it.
            if word_start.is_none() && is_mark(c) {
                if let Some(last) = out.last_mut() {
                    if last.is_char && last.end as usize == base + i {
                        last.end = (base + i + len) as u32;
                        fold_into(&text[last.start as usize..last.end as usize], &mut self.buf);
                        last.hash = token_hash(self.buf.as_bytes());
                        i += len;
                        continue;
                    }
                }
            }
            if is_unspaced_script(c) {
                if let Some(ws) = word_start.take() {
                    self.push_word(text, ws, i, ascii, base, out);
                }
                self.push_char(s, c, i, i + len, base, out);
                ascii = true;
            } else if is_word_char(c) {
                if word_start.is_none() {
                    word_start = Some(i);
                }
                ascii = false;
            } else if let Some(ws) = word_start.take() {
                self.push_word(text, ws, i, ascii, base, out);
            }
            i += len;
        }
        if let Some(ws) = word_start {
            self.push_word(text, ws, s.len(), ascii, base, out);
        }
    }

    /// Push the word `text[base + start..base + end]` (`ascii`: of ASCII letters and digits).
    fn push_word(
        &mut self,
        text: &str,
        start: usize,
        end: usize,
        ascii: bool,
        base: usize,
        out: &mut Vec<Token>,
    ) {
        let hash = if ascii {
            hash_ascii_lower(text.as_bytes(), base + start, base + end)
        } else {
            fold_into(&text[base + start..base + end], &mut self.buf);
            token_hash(self.buf.as_bytes())
        };
        out.push(Token {
            start: (base + start) as u32,
            end: (base + end) as u32,
            hash,
            is_char: false,
        });
    }

    /// Push the token of character `c`, which is `s[start..end]`.
    fn push_char(
        &mut self,
        s: &str,
        c: char,
        start: usize,
        end: usize,
        base: usize,
        out: &mut Vec<Token>,
    ) {
        if self.char_hashes.is_empty() {
            self.char_hashes = vec![(u32::MAX, 0); CHAR_CACHE];
        }
        let slot = &mut self.char_hashes[c as usize % CHAR_CACHE];
        let hash = if slot.0 == c as u32 {
            slot.1
        } else {
            fold_into(&s[start..end], &mut self.buf);
            let h = token_hash(self.buf.as_bytes());
            *slot = (c as u32, h);
            h
        };
        out.push(Token {
            start: (base + start) as u32,
            end: (base + end) as u32,
            hash,
            is_char: true,
        });
    }
}

/// Tokens of a whole string (convenience for tests and small inputs).
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    Tokenizer::default().tokenize(text, 0..text.len(), &mut out);
    out
}

/// The normalised form of one word, as hashed by [`Tokenizer`].
pub fn fold(word: &str) -> String {
    let mut s = String::new();
    for c in word.nfkc() {
        s.extend(c.to_lowercase());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(t: &str) -> Vec<&str> {
        tokenize(t).iter().map(|k| &t[k.range()]).collect()
    }

    #[test]
    fn folds_case_width_and_punctuation() {
        let a = tokenize("Hello, WORLD! ﬁne Ｆｕｌｌ");
        let b = tokenize("hello world fine full");
        assert_eq!(
            a.iter().map(|t| t.hash).collect::<Vec<_>>(),
            b.iter().map(|t| t.hash).collect::<Vec<_>>()
        );
        assert_eq!(words("Hello, WORLD!"), vec!["Hello", "WORLD"]);
    }

    fn same_tokens_both_ways(t: &str) {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let mut tk = Tokenizer::default();
        tk.tokenize_with(t, 0..t.len(), &mut a, true);
        tk.tokenize_with(t, 0..t.len(), &mut b, false);
        assert_eq!(a, b, "{t:?}");
    }

    #[test]
    fn eight_bytes_at_once_agree_with_byte_by_byte() {
        let texts = [
            "The Council voted 12-3 on Tuesday, 4 March 2024, to close the OLD bridge.",
            "Müller's café: naïve coöperation über alles, x\u{301}y and ΑΘΗΝΑ 2024",
            "東京はGPU大好き! abcdefghijklmnopqrstuvwxyz0123456789 สวัสดี ok",
            "a b c d e f g h i j k l m n o p q r s t u v w x y z",
            "--------........,,,,,,,,wordwordwordword    \t\t\r\n\n12345678",
        ];
        for t in texts {
            for k in (0..t.len()).filter(|&k| t.is_char_boundary(k)) {
                same_tokens_both_ways(&t[k..]);
                same_tokens_both_ways(&t[..k]);
            }
        }
    }

    /// Every text of the JSONL files in `RETRACE_TOKENS_CHECK` (separated by `:`).
    #[test]
    #[ignore]
    fn eight_bytes_at_once_agree_on_files() {
        let Some(texts) = crate::test_files::jsonl_texts("RETRACE_TOKENS_CHECK") else {
            return;
        };
        for t in &texts {
            same_tokens_both_ways(t);
        }
        eprintln!("{} texts agree", texts.len());
    }

    #[test]
    fn ascii_words_hash_as_their_lower_case_bytes() {
        // Words of every length, read straight from the text (16 bytes at once) or copied
        // near its end, hash as `token_hash` of their lower-cased bytes.
        let word = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789".repeat(3);
        for n in 1..=word.len() {
            let w = &word[..n];
            let want = token_hash(w.to_ascii_lowercase().as_bytes());
            for text in [format!("{w} and more text after it"), format!("x {w}")] {
                let toks = tokenize(&text);
                let t = toks.iter().find(|t| &text[t.range()] == w).expect("word");
                assert_eq!(t.hash, want, "{w}");
            }
        }
        // Different words, lengths and case-insensitive equals.
        assert_ne!(token_hash(b"ab"), token_hash(b"ab\0"));
        assert_ne!(token_hash(b"abcdefgh"), token_hash(b"abcdefghi"));
        assert_eq!(tokenize("WORD")[0].hash, tokenize("word")[0].hash);
    }

    #[test]
    fn composed_and_decomposed_forms_match() {
        let a = tokenize("café");
        let b = tokenize("cafe\u{301}");
        assert_eq!(a[0].hash, b[0].hash);
        assert_eq!(b[0].range(), 0..6);
    }

    #[test]
    fn unspaced_scripts_give_characters() {
        assert_eq!(
            words("東京はGPU大好き"),
            vec!["東", "京", "は", "GPU", "大", "好", "き"]
        );
        // Thai vowel marks stay with their consonant.
        let t = "สวัสดี";
        let w = words(t);
        assert!(w.len() < t.chars().count());
        assert_eq!(w.concat(), t);
    }

    #[test]
    fn offsets_point_into_the_original() {
        let t = "  Ünïcode — text ";
        for k in tokenize(t) {
            assert!(t.is_char_boundary(k.start as usize) && t.is_char_boundary(k.end as usize));
        }
        assert_eq!(words(t), vec!["Ünïcode", "text"]);
        assert_eq!(fold("Ünïcode"), "ünïcode");
    }

    #[test]
    fn tables_agree_with_the_functions() {
        let mut fast = String::new();
        let mut slow = String::new();
        for c in (0..0x11000u32).filter_map(char::from_u32) {
            assert_eq!(is_word_char(c), is_word_char_slow(c), "{c:?}");
            assert_eq!(is_mark(c), is_combining_mark(c), "{c:?}");
            assert_eq!(is_alphanumeric(c), c.is_alphanumeric(), "{c:?}");
            if let Some(l) = plain_lowercase(c) {
                assert!(
                    !c.is_ascii() && !c.is_whitespace() && !c.is_numeric(),
                    "{c:?}"
                );
                assert_eq!(c.to_lowercase().collect::<String>(), l.to_string(), "{c:?}");
            }
            let w = c.to_string();
            fold_into(&w, &mut fast);
            fold_into_slow(&w, &mut slow);
            assert_eq!(fast, slow, "{c:?}");
        }
        for w in [
            "Ünïcode",
            "ΣΟΦΊΑ",
            "İstanbul",
            "ﬁne",
            "Ｆｕｌｌ",
            "cafe\u{301}",
            "Straße",
        ] {
            fold_into(w, &mut fast);
            fold_into_slow(w, &mut slow);
            assert_eq!(fast, slow, "{w:?}");
        }
    }

    #[test]
    fn cyrillic_and_arabic_are_words() {
        assert_eq!(words("Привет, мир"), vec!["Привет", "мир"]);
        assert_eq!(words("مرحبا بالعالم"), vec!["مرحبا", "بالعالم"]);
    }
}
