//! whatlang's language detection (its default, combined alphabet and trigram method) with the
//! same results to the last bit, computed faster.
//!
//! whatlang scores a text in a script shared by several languages (Latin, Cyrillic, Arabic,
//! Devanagari, Hebrew) by looking each of every language's 300 profile trigrams up in the
//! text's trigram table: ~11,000 hash look-ups a text for Latin, whatever its length. Here the
//! profiles are one inverted index (trigram → languages and ranks), so a text costs one
//! look-up per distinct trigram of its own (at most 600), and every sum, sort and division is
//! done as whatlang does it, in the same order, so scores, ties and confidences come out the
//! same. Texts in other scripts go to whatlang itself (they need no trigrams).

use super::profiles;
use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::LazyLock;
use whatlang::{Info, Lang, Script};

/// Room for every whatlang language, indexed by `Lang as usize`.
const LANGS: usize = 128;

/// Largest distance a profile trigram contributes (whatlang's `MAX_TRIGRAM_DISTANCE`).
const MAX_TRIGRAM_DISTANCE: u32 = 300;
/// whatlang's `MAX_TOTAL_DISTANCE`.
const MAX_TOTAL_DISTANCE: u32 = MAX_TRIGRAM_DISTANCE * MAX_TRIGRAM_DISTANCE;
/// Text trigrams ranked (whatlang's `TEXT_TRIGRAMS_SIZE`).
const TEXT_TRIGRAMS_SIZE: usize = 600;

/// Detect the language of `text` exactly as `whatlang::detect` does.
pub fn detect(text: &str) -> Option<Info> {
    let script = match latin_or_cyrillic(text) {
        Ok(s) => s?,
        Err(Unsure) => whatlang::detect_script(text)?,
    };
    let group: &Group = match script {
        Script::Latin => &LATIN,
        Script::Cyrillic => &CYRILLIC,
        Script::Arabic => &ARABIC,
        Script::Devanagari => &DEVANAGARI,
        Script::Hebrew => &HEBREW,
        // One language per script, or the Han/kana rule: no trigrams involved.
        _ => return whatlang::detect(text),
    };
    group.detect(text)
}

/// A text [`latin_or_cyrillic`] leaves to whatlang.
struct Unsure;

/// whatlang's script detection for the common case, a text whose letters are all Latin or
/// all Cyrillic (`Ok(None)`: no letter of any script), in one pass without whatlang's 25
/// range checks a character. whatlang counts each letter for the first script that claims
/// it and picks the most counted; when only one script is counted that is the answer, and
/// anything else (another script, both) is [`Unsure`].
fn latin_or_cyrillic(text: &str) -> Result<Option<Script>, Unsure> {
    let bytes = text.as_bytes();
    // ASCII: its letters are Latin, the rest (stop characters, DEL) belongs to no script.
    let mut latin = bytes.iter().any(|b| b.is_ascii_alphabetic());
    let mut cyrillic = false;
    // The other characters, one by one.
    let mut i = 0;
    while let Some(k) = bytes[i..].iter().position(|&b| b >= 0x80) {
        i += k;
        let ch = text[i..].chars().next().unwrap_or(' ');
        i += ch.len_utf8();
        match ch {
            // whatlang's `is_latin` beyond ASCII.
            '\u{0080}'..='\u{02AF}'
            | '\u{1D00}'..='\u{1DBF}'
            | '\u{1E00}'..='\u{1EFF}'
            | '\u{2100}'..='\u{214F}'
            | '\u{2C60}'..='\u{2C7F}'
            | '\u{A720}'..='\u{A7FF}'
            | '\u{AB30}'..='\u{AB6F}' => latin = true,
            // Claimed by no script: combining marks, general punctuation, currency signs.
            '\u{02B0}'..='\u{036F}' | '\u{2000}'..='\u{20FF}' => {}
            // whatlang's `is_cyrillic`, less the letters `is_latin` claims first.
            '\u{0400}'..='\u{0484}'
            | '\u{0487}'..='\u{052F}'
            | '\u{2DE0}'..='\u{2DFF}'
            | '\u{A640}'..='\u{A69D}'
            | '\u{A69F}' => cyrillic = true,
            _ => return Err(Unsure),
        }
    }
    match (latin, cyrillic) {
        (true, true) => Err(Unsure),
        (true, false) => Ok(Some(Script::Latin)),
        (false, true) => Ok(Some(Script::Cyrillic)),
        (false, false) => Ok(None),
    }
}

/// Same as whatlang's `is_stop_char`: ASCII punctuation, digits, controls and space.
#[inline]
fn is_stop_char(ch: char) -> bool {
    matches!(ch, '\u{0000}'..='\u{0040}' | '\u{005B}'..='\u{0060}' | '\u{007B}'..='\u{007E}')
}

/// A trigram as one integer ordered like whatlang's `Trigram(char, char, char)`.
#[inline]
fn pack(a: char, b: char, c: char) -> u64 {
    ((a as u64) << 42) | ((b as u64) << 21) | c as u64
}

/// A text's trigrams, packed: in 30 bits while every character is below U+0400 (the Latin
/// alphabets; the order is the same, and `u32` sorts faster), else by [`pack`].
enum Keys {
    Narrow(Vec<u32>),
    Wide(Vec<u64>),
}

impl Keys {
    fn new(capacity: usize) -> Self {
        Keys::Narrow(Vec::with_capacity(capacity))
    }

    #[inline]
    fn push(&mut self, a: char, b: char, c: char) {
        match self {
            Keys::Narrow(k) if (a as u32 | b as u32 | c as u32) < 0x400 => {
                k.push((a as u32) << 20 | (b as u32) << 10 | c as u32)
            }
            Keys::Narrow(k) => {
                let mut wide: Vec<u64> = k.iter().map(|&x| pack32_to_64(x)).collect();
                wide.push(pack(a, b, c));
                *self = Keys::Wide(wide);
            }
            Keys::Wide(k) => k.push(pack(a, b, c)),
        }
    }
}

impl Keys {
    /// The distinct trigrams with their counts, `(count, packed trigram)`, trigrams
    /// descending.
    fn distinct(self) -> Vec<(u32, u64)> {
        match self {
            Keys::Narrow(mut k) => {
                k.sort_unstable();
                k.chunk_by(|x, y| x == y)
                    .rev()
                    .map(|g| (g.len() as u32, pack32_to_64(g[0])))
                    .collect()
            }
            Keys::Wide(mut k) => {
                k.sort_unstable();
                k.chunk_by(|x, y| x == y)
                    .rev()
                    .map(|g| (g.len() as u32, g[0]))
                    .collect()
            }
        }
    }
}

/// A trigram packed in 30 bits (characters below U+0400) as one packed by [`pack`].
#[inline]
fn pack32_to_64(k: u32) -> u64 {
    let m = 0x3FF;
    pack(
        char::from_u32(k >> 20).unwrap_or(' '),
        char::from_u32((k >> 10) & m).unwrap_or(' '),
        char::from_u32(k & m).unwrap_or(' '),
    )
}

/// The trigrams whatlang counts in a lower-cased text (its `count`): stop characters become
/// spaces and a trigram centred on a space needs letters on both sides of it.
#[inline]
fn text_trigrams(lower: &str, mut f: impl FnMut(char, char, char)) {
    let mut w = Window::new(' ');
    for c in lower.chars() {
        w.push(if is_stop_char(c) { ' ' } else { c }, &mut f);
    }
    w.finish(f);
}

/// whatlang's trigram window, fed a text's characters one by one (lower-cased, stop
/// characters already turned into `space`, in any encoding of characters): a trigram
/// centred on a space needs letters on both sides of it, and a space after the text closes
/// the last one.
struct Window<T> {
    space: T,
    c1: T,
    /// `None` before the first character.
    c2: Option<T>,
}

impl<T: Copy + PartialEq> Window<T> {
    fn new(space: T) -> Self {
        Window {
            space,
            c1: space,
            c2: None,
        }
    }

    /// The next character; `f` gets the trigram it completes, if counted.
    #[inline]
    fn push(&mut self, c3: T, mut f: impl FnMut(T, T, T)) {
        if let Some(c2) = self.c2 {
            if !(c2 == self.space && (self.c1 == self.space || c3 == self.space)) {
                f(self.c1, c2, c3);
            }
            self.c1 = c2;
        }
        self.c2 = Some(c3);
    }

    /// The end of the text.
    #[inline]
    fn finish(&mut self, f: impl FnMut(T, T, T)) {
        self.push(self.space, f);
    }
}

/// The profiles' trigrams, each with its range of postings: an open-addressing table with
/// a bit filter in front, since most of a text's trigrams are in no profile.
struct TrigramTable {
    /// (packed trigram, range of postings); the key [`EMPTY`] marks a free slot.
    slots: Vec<(u64, u32, u32)>,
    /// Slots: `1 << bits`.
    bits: u32,
    /// One bit per value of [`FILTER_BITS`] middle bits of a hash: set when some key has it.
    filter: Vec<u64>,
}

/// No trigram packs to this (characters have 21 bits).
const EMPTY: u64 = u64::MAX;
const FILTER_BITS: u32 = 16;

impl TrigramTable {
    fn new(entries: &[(u64, u32, u32)]) -> Self {
        // At most half full: probes are short.
        let bits = (entries.len() * 2)
            .next_power_of_two()
            .trailing_zeros()
            .max(4);
        let mut t = TrigramTable {
            slots: vec![(EMPTY, 0, 0); 1 << bits],
            bits,
            filter: vec![0; 1 << (FILTER_BITS - 6)],
        };
        let mask = (1usize << bits) - 1;
        for &e in entries {
            let h = Self::hash(e.0);
            let f = Self::filter_bit(h);
            t.filter[f >> 6] |= 1 << (f & 63);
            let mut i = (h >> (64 - bits)) as usize;
            while t.slots[i].0 != EMPTY {
                i = (i + 1) & mask;
            }
            t.slots[i] = e;
        }
        t
    }

    #[inline]
    fn hash(k: u64) -> u64 {
        (k ^ (k >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    #[inline]
    fn filter_bit(h: u64) -> usize {
        (h >> 16) as usize & ((1 << FILTER_BITS) - 1)
    }

    #[inline]
    fn get(&self, k: u64) -> Option<(u32, u32)> {
        let h = Self::hash(k);
        let f = Self::filter_bit(h);
        if self.filter[f >> 6] & (1 << (f & 63)) == 0 {
            return None;
        }
        let mask = (1usize << self.bits) - 1;
        let mut i = (h >> (64 - self.bits)) as usize;
        loop {
            let (key, lo, hi) = self.slots[i];
            if key == k {
                return Some((lo, hi));
            }
            if key == EMPTY {
                return None;
            }
            i = (i + 1) & mask;
        }
    }
}

/// Which languages use each letter (whatlang's `build_inverted_map`).
struct Alphabets {
    chars: Vec<char>,
    langs: Vec<Vec<Lang>>,
    /// Position in `chars` of each character below [`DENSE_CHARS`] (`u16::MAX`: none).
    dense: Vec<u16>,
}

/// Characters looked up in a table rather than by binary search (Latin with Vietnamese
/// letters, Cyrillic).
const DENSE_CHARS: usize = 0x2000;

impl Alphabets {
    fn new(alphabets: &[(Lang, &str)]) -> Self {
        let mut map: HashMap<char, Vec<Lang>> = HashMap::new();
        for (lang, alphabet) in alphabets {
            for c in alphabet.chars() {
                map.entry(c).or_default().push(*lang);
            }
        }
        let mut char_lang: Vec<_> = map.into_iter().collect();
        char_lang.sort_unstable_by_key(|(c, _)| *c);
        let (chars, langs): (Vec<char>, _) = char_lang.into_iter().unzip();
        let mut dense = vec![u16::MAX; DENSE_CHARS];
        for (i, &c) in chars.iter().enumerate() {
            if (c as usize) < DENSE_CHARS {
                dense[c as usize] = i as u16;
            }
        }
        Alphabets {
            chars,
            langs,
            dense,
        }
    }

    /// Position of `ch` in `chars`.
    #[inline]
    fn position(&self, ch: char) -> Option<usize> {
        match self.dense.get(ch as usize) {
            Some(&p) => (p != u16::MAX).then_some(p as usize),
            None => self.chars.binary_search(&ch).ok(),
        }
    }

    /// whatlang's `generic_alphabet_calculate_scores`: (letters counted, scores best first).
    fn scores(&self, script: Script, text: &str) -> (usize, Vec<(Lang, f64)>) {
        let mut char_scores = vec![0usize; self.chars.len()];
        let mut max_raw_score = 0usize;
        for ch in text.chars() {
            self.count(ch, &mut char_scores, &mut max_raw_score);
        }
        self.finish(script, char_scores, max_raw_score)
    }

    /// Count one character of the lower-cased text.
    #[inline]
    fn count(&self, ch: char, char_scores: &mut [usize], max_raw_score: &mut usize) {
        if is_stop_char(ch) {
            return;
        }
        *max_raw_score += 1;
        if let Some(position) = self.position(ch) {
            char_scores[position] += 2;
        }
    }

    /// The scores from the counts.
    fn finish(
        &self,
        script: Script,
        char_scores: Vec<usize>,
        max_raw_score: usize,
    ) -> (usize, Vec<(Lang, f64)>) {
        let script_langs = script.langs();
        let mut lang_scores = vec![0usize; Lang::all().len()];
        let mut common_score = 0usize;
        for (position, char_score) in char_scores.into_iter().enumerate() {
            if char_score > 0 {
                let languages = &self.langs[position];
                if languages.len() == script_langs.len() {
                    common_score += char_score;
                } else {
                    for &lang in languages {
                        lang_scores[lang as usize] += char_score;
                    }
                }
            }
        }
        let mut raw_scores: Vec<(Lang, usize)> = script_langs
            .iter()
            .map(|&l| {
                let score = (lang_scores[l as usize] + common_score).saturating_sub(max_raw_score);
                (l, score)
            })
            .collect();
        raw_scores.sort_unstable_by_key(|(_, score)| Reverse(*score));
        let scores = raw_scores
            .iter()
            .map(|&(lang, raw)| (lang, raw as f64 / max_raw_score as f64))
            .collect();
        (max_raw_score, scores)
    }
}

/// Trigrams of 27 symbols (space, a-z).
const ASCII_IDS: usize = 27 * 27 * 27;

/// Marks a trigram given by its number among [`ASCII_IDS`] rather than packed (packed
/// trigrams use 63 bits).
const ASCII_TAG: u64 = 1 << 63;

/// The symbol of a lower-cased character in the trigrams of [`ASCII_IDS`]: 0 for space,
/// 1-26 for a-z.
#[inline]
fn symbol(c: char) -> Option<usize> {
    match c {
        ' ' => Some(0),
        'a'..='z' => Some(c as usize - 'a' as usize + 1),
        _ => None,
    }
}

/// The packed trigram ([`pack`]) of trigram number `id` among [`ASCII_IDS`].
#[inline]
fn ascii_trigram(id: usize) -> u64 {
    let c = |s: usize| {
        if s == 0 {
            ' '
        } else {
            (b'a' + s as u8 - 1) as char
        }
    };
    pack(c(id / 729), c(id / 27 % 27), c(id % 27))
}

/// Words of trigram bits in the table of [`ASCII_IDS`] counters: one bit a trigram seen,
/// then one bit a word of those that has any set (so that a short text's few trigrams are
/// found without reading every word).
const SEEN_WORDS: usize = ASCII_IDS.div_ceil(64);
const SEEN_BITS: usize = SEEN_WORDS + SEEN_WORDS.div_ceil(64);

/// Count ASCII trigram number `id` in the table.
#[inline]
fn count_ascii_trigram(counts: &mut [u32], bits: &mut [u64], id: usize) {
    if counts[id] == 0 {
        bits[id >> 6] |= 1 << (id & 63);
        bits[SEEN_WORDS + (id >> 12)] |= 1 << ((id >> 6) & 63);
    }
    counts[id] += 1;
}

/// The trigrams counted in a table of [`ASCII_IDS`] counters by [`count_ascii_trigram`],
/// `(count, number)`, numbers descending (the trigrams' order); the table is left zero.
fn take_ascii_trigrams(counts: &mut [u32], bits: &mut [u64]) -> Vec<(u32, u64)> {
    let mut distinct = Vec::new();
    let (trigrams, summary) = bits.split_at_mut(SEEN_WORDS);
    for (g, any) in summary.iter_mut().enumerate().rev() {
        while *any != 0 {
            let j = 63 - any.leading_zeros() as usize;
            *any &= !(1 << j);
            let w = g * 64 + j;
            while trigrams[w] != 0 {
                let k = 63 - trigrams[w].leading_zeros() as usize;
                trigrams[w] &= !(1 << k);
                let id = w * 64 + k;
                let n = std::mem::take(&mut counts[id]);
                distinct.push((n, id as u64));
            }
        }
    }
    distinct
}

thread_local! {
    /// Per worker: the count of each ASCII trigram and the bits of those seen
    /// ([`SEEN_BITS`]), zero between texts.
    static ASCII_TRIGRAMS: std::cell::RefCell<(Vec<u32>, Vec<u64>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// A count (letters or trigrams) and the languages' scores, best first.
type Scores = (usize, Vec<(Lang, f64)>);

/// The languages of one script with their profiles, inverted.
struct Group {
    script: Script,
    /// Languages in whatlang's profile order.
    langs: Vec<Lang>,
    /// Trigram → range of `postings`.
    index: TrigramTable,
    /// The same for the trigrams of 27 symbols (space, a-z), by number (see
    /// [`Group::ascii_scores`]); empty ranges for those in no profile.
    ascii_index: Vec<(u32, u32)>,
    /// (index into `langs`, rank in that language's profile).
    postings: Vec<(u16, u16)>,
    /// Letters per language; `None` where whatlang uses fixed alphabet scores.
    alphabets: Option<Alphabets>,
    /// whatlang's fixed alphabet scores (all 1.0) for scripts without alphabets.
    mock: &'static [Lang],
    /// Every profile's language is among the alphabet scores' languages: the combined
    /// scores then list the languages in the alphabet scores' order, and the trigram scores
    /// are only looked up by language, so they need no sorting.
    trigram_order_unused: bool,
}

static LATIN: LazyLock<Group> = LazyLock::new(|| {
    Group::new(
        Script::Latin,
        profiles::LATIN,
        Some(Alphabets::new(LATIN_ALPHABETS)),
        &[],
    )
});
static CYRILLIC: LazyLock<Group> = LazyLock::new(|| {
    Group::new(
        Script::Cyrillic,
        profiles::CYRILLIC,
        Some(Alphabets::new(CYRILLIC_ALPHABETS)),
        &[],
    )
});
static ARABIC: LazyLock<Group> = LazyLock::new(|| {
    Group::new(
        Script::Arabic,
        profiles::ARABIC,
        None,
        &[Lang::Ara, Lang::Urd, Lang::Pes],
    )
});
static DEVANAGARI: LazyLock<Group> = LazyLock::new(|| {
    Group::new(
        Script::Devanagari,
        profiles::DEVANAGARI,
        None,
        &[Lang::Hin, Lang::Mar, Lang::Nep],
    )
});
static HEBREW: LazyLock<Group> = LazyLock::new(|| {
    Group::new(
        Script::Hebrew,
        profiles::HEBREW,
        None,
        &[Lang::Heb, Lang::Yid],
    )
});

impl Group {
    fn new(
        script: Script,
        profiles: &[(Lang, &str)],
        alphabets: Option<Alphabets>,
        mock: &'static [Lang],
    ) -> Self {
        let mut entries: Vec<(u64, u16, u16)> = Vec::new();
        for (l, (_, profile)) in profiles.iter().enumerate() {
            let chars: Vec<char> = profile.chars().collect();
            for (rank, t) in chars.chunks_exact(3).enumerate() {
                entries.push((pack(t[0], t[1], t[2]), l as u16, rank as u16));
            }
        }
        entries.sort_unstable();
        let mut keyed = Vec::new();
        let mut lo = 0usize;
        for g in entries.chunk_by(|x, y| x.0 == y.0) {
            keyed.push((g[0].0, lo as u32, (lo + g.len()) as u32));
            lo += g.len();
        }
        let index = TrigramTable::new(&keyed);
        // Only Latin text is all ASCII letters.
        let ascii_index = if script == Script::Latin {
            (0..ASCII_IDS)
                .map(|id| index.get(ascii_trigram(id)).unwrap_or((0, 0)))
                .collect()
        } else {
            Vec::new()
        };
        let langs: Vec<Lang> = profiles.iter().map(|p| p.0).collect();
        // The languages the alphabet scores list (all the script's, or the fixed ones).
        let alphabet_langs: &[Lang] = if alphabets.is_some() {
            script.langs()
        } else {
            mock
        };
        Group {
            script,
            trigram_order_unused: langs.iter().all(|l| alphabet_langs.contains(l)),
            langs,
            index,
            ascii_index,
            postings: entries.iter().map(|e| (e.1, e.2)).collect(),
            alphabets,
            mock,
        }
    }

    /// whatlang's `combined::detect` for this script.
    fn detect(&self, text: &str) -> Option<Info> {
        let ((alphabet_count, alphabet_scores), (trigrams_count, trigram_scores)) =
            match &self.alphabets {
                // One pass over the text (no sigma: `str::to_lowercase` treats a final one
                // apart).
                // ASCII letters and stop characters only (DEL is neither): counted by table.
                Some(a) if text.bytes().all(|b| b < 0x7F) => self.ascii_scores(a, text),
                Some(a) if !text.contains('Σ') => self.alphabet_and_trigram_scores(a, text),
                _ => {
                    let lower = text.to_lowercase();
                    let alphabet = match &self.alphabets {
                        Some(a) => a.scores(self.script, &lower),
                        None => (1, self.mock.iter().map(|&l| (l, 1.0)).collect()),
                    };
                    (alphabet, self.trigram_scores(&lower))
                }
            };
        // Combined, as whatlang's `combined::raw_detect`.
        let mut all_langs: Vec<Lang> = alphabet_scores.iter().map(|x| x.0).collect();
        let mut listed = [false; LANGS];
        for &l in &all_langs {
            listed[l as usize] = true;
        }
        for &(lang, _) in trigram_scores.iter() {
            if !std::mem::replace(&mut listed[lang as usize], true) {
                all_langs.push(lang);
            }
        }
        let alphabet_weight = calc_alphabet_weight(alphabet_count);
        let trigram_weight = 1.0 - alphabet_weight;
        // Each list names a language at most once: its score by language.
        let mut a_of = [0.0f64; LANGS];
        let mut t_of = [0.0f64; LANGS];
        for &(l, a) in &alphabet_scores {
            a_of[l as usize] = a;
        }
        for &(l, t) in &trigram_scores {
            t_of[l as usize] = t;
        }
        let mut scores: Vec<(Lang, f64)> = Vec::with_capacity(all_langs.len());
        for lang in all_langs {
            let (a, t) = (a_of[lang as usize], t_of[lang as usize]);
            scores.push((lang, a * alphabet_weight + t * trigram_weight));
        }
        // The best language and the next score: a unique best needs no sort (whatlang
        // sorts; which of tied best scores comes first is its sort's to say).
        let (lang1, score1, score2) = match best_two(&scores) {
            Some(b) => b,
            None => {
                scores.sort_unstable_by(|a, b| {
                    b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Less)
                });
                let (lang1, score1) = *scores.first()?;
                (lang1, score1, scores.get(1).map(|s| s.1))
            }
        };
        let confidence = match score2 {
            Some(score2) => calculate_confidence(score1, score2, trigrams_count),
            None => 1.0,
        };
        Some(Info::new(self.script, lang1, confidence))
    }

    /// whatlang's `calculate_scores_in_profiles`: (distinct text trigrams ranked, scores best
    /// first, or in profile order where that order is unused: see
    /// [`Group::trigram_order_unused`]).
    fn trigram_scores(&self, lower: &str) -> (usize, Vec<(Lang, f64)>) {
        // Count the text's trigrams (whatlang's `count`): stop characters become spaces and a
        // trigram centred on a space needs letters on both sides of it.
        let mut keys = Keys::new(lower.len() + 1);
        text_trigrams(lower, |a, b, c| keys.push(a, b, c));
        self.rank_and_score(keys)
    }

    /// [`Group::scores`]'s alphabet and trigram parts in one pass over the text, lower-cased
    /// character by character as `str::to_lowercase` does for text without a capital sigma.
    ///
    /// For Latin, the trigrams of space and a-z only (most of them) are counted in the
    /// table of [`Group::ascii_scores`] and the others sorted, the two lists then merged.
    fn alphabet_and_trigram_scores(&self, a: &Alphabets, text: &str) -> (Scores, Scores) {
        let mut char_scores = vec![0usize; a.chars.len()];
        let mut max_raw_score = 0usize;
        let latin = !self.ascii_index.is_empty();
        let mut keys = Keys::new(if latin { text.len() / 4 } else { text.len() } + 1);
        let distinct = ASCII_TRIGRAMS.with(|t| {
            let (counts, bits) = &mut *t.borrow_mut();
            if latin && counts.is_empty() {
                counts.resize(ASCII_IDS, 0);
                bits.resize(SEEN_BITS, 0);
            }
            let mut trigram = |x: char, y: char, z: char| match (symbol(x), symbol(y), symbol(z)) {
                (Some(p), Some(q), Some(r)) if latin => {
                    count_ascii_trigram(counts, bits, (p * 27 + q) * 27 + r)
                }
                _ => keys.push(x, y, z),
            };
            let mut window = Window::new(' ');
            let mut step = |ch: char, char_scores: &mut [usize], max_raw_score: &mut usize| {
                a.count(ch, char_scores, max_raw_score);
                let c3 = if is_stop_char(ch) { ' ' } else { ch };
                window.push(c3, &mut trigram);
            };
            for ch in text.chars() {
                if ch.is_ascii() {
                    step(
                        ch.to_ascii_lowercase(),
                        &mut char_scores,
                        &mut max_raw_score,
                    );
                } else {
                    for l in ch.to_lowercase() {
                        step(l, &mut char_scores, &mut max_raw_score);
                    }
                }
            }
            window.finish(&mut trigram);
            if !latin {
                return std::mem::replace(&mut keys, Keys::new(0)).distinct();
            }
            // Both lists descend by trigram; the table's are tagged with their number.
            let table = take_ascii_trigrams(counts, bits);
            let others = std::mem::replace(&mut keys, Keys::new(0)).distinct();
            let mut merged = Vec::with_capacity(table.len() + others.len());
            let (mut i, mut j) = (0, 0);
            while i < table.len() || j < others.len() {
                let t = table
                    .get(i)
                    .map(|&(n, id)| (n, id, ascii_trigram(id as usize)));
                match (t, others.get(j)) {
                    (Some((n, id, packed)), o) if o.is_none_or(|o| packed > o.1) => {
                        merged.push((n, id | ASCII_TAG));
                        i += 1;
                    }
                    (_, Some(&o)) => {
                        merged.push(o);
                        j += 1;
                    }
                    (_, None) => break,
                }
            }
            merged
        });
        let ascii = &self.ascii_index;
        (
            a.finish(self.script, char_scores, max_raw_score),
            self.score_ranked(distinct, |t| {
                if t & ASCII_TAG != 0 {
                    let (lo, hi) = ascii[(t & !ASCII_TAG) as usize];
                    (hi > lo).then_some((lo, hi))
                } else {
                    self.index.get(t)
                }
            }),
        )
    }

    /// Rank the text's trigrams and score each language's profile against the ranks.
    fn rank_and_score(&self, keys: Keys) -> (usize, Vec<(Lang, f64)>) {
        // Rank the distinct trigrams most frequent first, ties by trigram descending (as
        // whatlang's sort of `(count, trigram)` pairs in descending order; a total order, so
        // any sort agrees): a counting sort by frequency of the trigrams taken in descending
        // order.
        self.score_distinct(keys.distinct())
    }

    /// [`Group::alphabet_and_trigram_scores`] for text of ASCII letters and stop characters:
    /// letters counted in 26 counters, trigrams of the 27 symbols (space, a-z) in a table,
    /// whose set bits give the distinct trigrams in descending order without a sort.
    fn ascii_scores(&self, a: &Alphabets, text: &str) -> (Scores, Scores) {
        let mut letters = [0usize; 26];
        let distinct = ASCII_TRIGRAMS.with(|t| {
            let (counts, bits) = &mut *t.borrow_mut();
            if counts.is_empty() {
                counts.resize(ASCII_IDS, 0);
                bits.resize(SEEN_BITS, 0);
            }
            let mut add = |s1: usize, s2: usize, s3: usize| {
                count_ascii_trigram(counts, bits, (s1 * 27 + s2) * 27 + s3)
            };
            // Symbols: 0 for a stop character (a space), 1-26 for a letter, lower-cased.
            let mut window = Window::new(0usize);
            for &b in text.as_bytes() {
                let s3 = if b.is_ascii_alphabetic() {
                    let l = (b.to_ascii_lowercase() - b'a') as usize;
                    letters[l] += 1;
                    l + 1
                } else {
                    0
                };
                window.push(s3, &mut add);
            }
            window.finish(&mut add);
            // Trigrams by number (in the characters' order), their postings from
            // `ascii_index`.
            take_ascii_trigrams(counts, bits)
        });
        let mut char_scores = vec![0usize; a.chars.len()];
        let mut max_raw_score = 0usize;
        for (l, &n) in letters.iter().enumerate() {
            max_raw_score += n;
            if let Some(position) = a.position((b'a' + l as u8) as char) {
                char_scores[position] += 2 * n;
            }
        }
        let ascii = &self.ascii_index;
        (
            a.finish(self.script, char_scores, max_raw_score),
            self.score_ranked(distinct, |id| {
                let (lo, hi) = ascii[id as usize];
                (hi > lo).then_some((lo, hi))
            }),
        )
    }

    /// Score each language's profile against the ranks of the text's distinct trigrams
    /// (`(count, trigram)`, trigrams descending).
    fn score_distinct(&self, distinct: Vec<(u32, u64)>) -> Scores {
        self.score_ranked(distinct, |t| self.index.get(t))
    }

    /// [`Group::score_distinct`] with the trigrams' postings from `postings_of`.
    fn score_ranked(
        &self,
        mut distinct: Vec<(u32, u64)>,
        postings_of: impl Fn(u64) -> Option<(u32, u32)>,
    ) -> Scores {
        let max_count = distinct.iter().map(|d| d.0).max().unwrap_or(0) as usize;
        // `start[c]`: first rank of the trigrams seen `c` times.
        let mut start = vec![0usize; max_count + 2];
        for d in &distinct {
            start[max_count - d.0 as usize + 1] += 1;
        }
        for c in 1..start.len() {
            start[c] += start[c - 1];
        }
        let mut counted = vec![(0u32, 0u64); distinct.len()];
        for d in distinct.drain(..) {
            let slot = &mut start[max_count - d.0 as usize];
            counted[*slot] = d;
            *slot += 1;
        }
        counted.truncate(TEXT_TRIGRAMS_SIZE);
        let count = counted.len();
        // Per language: the sum over its profile of |text rank - profile rank|, or the
        // maximum for a trigram the text lacks; kept as the difference from "all missing".
        let mut delta = [0i32; LANGS];
        for (n, &(_, t)) in counted.iter().enumerate() {
            if let Some((lo, hi)) = postings_of(t) {
                for &(l, rank) in &self.postings[lo as usize..hi as usize] {
                    let d = (n as i32 - rank as i32).abs();
                    delta[l as usize & (LANGS - 1)] += d - MAX_TRIGRAM_DISTANCE as i32;
                }
            }
        }
        let mut lang_distances: Vec<(Lang, u32)> = self
            .langs
            .iter()
            .zip(&delta)
            .map(|(&lang, &d)| {
                let mut total = MAX_TOTAL_DISTANCE as i64 + d as i64;
                if MAX_TRIGRAM_DISTANCE as usize > count {
                    total -=
                        (MAX_TRIGRAM_DISTANCE as i64 - count as i64) * MAX_TRIGRAM_DISTANCE as i64;
                }
                // whatlang's u32 arithmetic would wrap below zero, then clamp to the maximum.
                let dist = if total < 0 {
                    MAX_TOTAL_DISTANCE
                } else {
                    (total as u32).min(MAX_TOTAL_DISTANCE)
                };
                (lang, dist)
            })
            .collect();
        if !self.trigram_order_unused {
            lang_distances.sort_unstable_by_key(|(_, dist)| *dist);
        }
        let max_dist = count as u32 * MAX_TRIGRAM_DISTANCE;
        let scores = lang_distances
            .iter()
            .map(|&(lang, distance)| {
                let similarity = max_dist.wrapping_sub(distance);
                (lang, similarity as f64 / max_dist as f64)
            })
            .collect();
        (count, scores)
    }
}

/// The language with the highest score, its score and the next highest score (`None` for a
/// single language), when the highest score is held by one language only and no score is
/// NaN; `None` otherwise.
fn best_two(scores: &[(Lang, f64)]) -> Option<(Lang, f64, Option<f64>)> {
    let (&(lang, top), rest) = scores.split_first()?;
    let (mut lang, mut top, mut next): (Lang, f64, Option<f64>) = (lang, top, None);
    let mut tied = false;
    if top.is_nan() {
        return None;
    }
    for &(l, x) in rest {
        if x.is_nan() {
            return None;
        }
        if x > top {
            next = Some(top);
            (lang, top, tied) = (l, x, false);
        } else {
            tied |= x == top;
            if next.is_none_or(|n| x > n) {
                next = Some(x);
            }
        }
    }
    (!tied).then_some((lang, top, next))
}

/// whatlang's weight of the alphabet score: 2/3 for short texts, 1/3 from 100 letters on.
fn calc_alphabet_weight(count: usize) -> f64 {
    let weight = -(count as f64 / 300.0) + 2.0 / 3.0;
    weight.clamp(1.0 / 3.0, 2.0 / 3.0)
}

/// whatlang's `calculate_confidence`.
fn calculate_confidence(highest_score: f64, second_score: f64, count: usize) -> f64 {
    if highest_score == 0.0 {
        return 0.0;
    }
    if second_score == 0.0 {
        return highest_score;
    }
    let confident_rate = (3.0 / count as f64) + 0.015;
    let rate = (highest_score - second_score) / second_score;
    if rate > confident_rate {
        1.0
    } else {
        rate / confident_rate
    }
}

/// whatlang's Latin alphabets.
const LATIN_ALPHABETS: &[(Lang, &str)] = &[
    (Lang::Afr, "abcdefghijklmnopqrstuvwxyzáèéêëíîïóôúû"),
    (Lang::Aka, "abdefghiklmnoprstuwyɔɛ"),
    (Lang::Aze, "abcdefghijklmnopqrstuvxyzçöüğışə̇"),
    (Lang::Cat, "abcdefghijklmnopqrstuvwxyz·àçèéíïòóúü"),
    (Lang::Ces, "abcdefghijklmnopqrstuvwxyzáéíóúýčďěňřšťůž"),
    (Lang::Cym, "abcdefghijklmnopqrstuvwxyzàáâäèéêëìíîïòóôöùúûüýÿŵŷẁẃẅỳ"),
    (Lang::Dan, "abcdefghijklmnopqrstuvwxyzåæø"),
    (Lang::Deu, "abcdefghijklmnopqrstuvwxyzßäöü"),
    (Lang::Eng, "abcdefghijklmnopqrstuvwxyz"),
    (Lang::Epo, "abcdefghijklmnoprstuvzĉĝĥĵŝŭ"),
    (Lang::Est, "abcdefghijklmnopqrstuvwxyzäõöü"),
    (Lang::Fin, "abcdefghijklmnopqrstuvwxyzäöšž"),
    (Lang::Fra, "abcdefghijklmnopqrstuvwxyzàâçèéêëîïôùûüÿœ"),
    (Lang::Hrv, "abcdefghijklmnopqrstuvwxyzćčđšž"),
    (Lang::Hun, "abcdefghijklmnopqrstuvwxyzáéíóöúüőű"),
    (Lang::Ind, "abcdefghijklmnopqrstuvwxyz"),
    (Lang::Ita, "abcdefghijklmnopqrstuvwxyzàèéìòù"),
    (Lang::Jav, "abcdefghijklmnopqrstuvwxyzèé"),
    (Lang::Lat, "abcdefghijklmnopqrstuvwxyz"),
    (Lang::Lav, "abcdefghijklmnopqrstuvwxyzāčēģīķļņōŗšūž"),
    (Lang::Lit, "abcdefghijklmnopqrstuvwxyząčėęįšūųž"),
    (Lang::Nld, "abcdefghijklmnopqrstuvwxyzàèéëïĳ"),
    (Lang::Nob, "abcdefghijklmnopqrstuvwxyzåæø"),
    (Lang::Pol, "abcdefghijklmnopqrstuvwxyzóąćęłńśźż"),
    (Lang::Por, "abcdefghijklmnopqrstuvwxyzàáâãçéêíóôõú"),
    (Lang::Ron, "abcdefghijklmnopqrstuvwxyzâîăşţ"),
    (Lang::Slk, "abcdefghijklmnopqrstuvwxyzáäéíóôúýčďĺľňŕšťž"),
    (Lang::Slv, "abcdefghijklmnopqrstuvwxyzčšž"),
    (Lang::Sna, "abcdefghijklmnopqrstuvwxyz"),
    (Lang::Spa, "abcdefghijklmnopqrstuvwxyz¡¿áéíñóúü"),
    (Lang::Swe, "abcdefghijklmnopqrstuvwxyzäåö"),
    (Lang::Tgl, "abcdefghijklmnopqrstuvwxyzáéíñóú"),
    (Lang::Tuk, "abdefghijklmnoprstuwyzäçöüýňşž"),
    (Lang::Tur, "abcdefghijklmnopqrstuvwxyzçöüğış̇"),
    (Lang::Uzb, "abcdefghijklmnopqrstuvxyzʻ"),
    (
        Lang::Vie,
        "abcdefghijklmnopqrstuvwxyzàáâãèéêìíòóôõùúýăđĩũơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ",
    ),
    (Lang::Zul, "abcdefghijklmnopqrstuvwxyz"),
];

/// whatlang's Cyrillic alphabets.
const CYRILLIC_ALPHABETS: &[(Lang, &str)] = &[
    (Lang::Bul, "абвгдежзийклмнопрстуфхцчшщъьюя"),
    (Lang::Rus, "абвгдежзийклмнопрстуфхцчшщъыьэюяё"),
    (Lang::Ukr, "абвгдежзийклмнопрстуфхцчшщьюяєіїґ"),
    (Lang::Bel, "абвгдежзйклмнопрстуфхцчшыьэюяёіў"),
    (Lang::Srp, "абвгдежзиклмнопрстуфхцчшђјљњћџ"),
    (Lang::Mkd, "абвгдежзиклмнопрстуфхцчшѓѕјљњќџ"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Same language, script and confidence (to the bit) as whatlang.
    fn same_as_whatlang(text: &str) {
        let want = whatlang::detect(text);
        let got = detect(text);
        assert_eq!(
            got.as_ref()
                .map(|i| (i.lang(), i.script(), i.confidence().to_bits())),
            want.as_ref()
                .map(|i| (i.lang(), i.script(), i.confidence().to_bits())),
            "{text:?}"
        );
    }

    #[test]
    fn script_shortcut_agrees_with_whatlang() {
        let mut texts: Vec<String> = Vec::new();
        for c in (0..0x3_0000u32).filter_map(char::from_u32) {
            texts.push(c.to_string());
            texts.push(format!("{c}a"));
            texts.push(format!("{c}ж"));
            texts.push(format!("ж{c}ж"));
        }
        for t in &texts {
            if let Ok(s) = latin_or_cyrillic(t) {
                assert_eq!(s, whatlang::detect_script(t), "{t:?}");
            }
        }
        assert!(latin_or_cyrillic("Hello, world — ça va?").is_ok());
        assert!(latin_or_cyrillic("Привет, мир").is_ok());
        assert!(latin_or_cyrillic("Привет, world").is_err());
    }

    #[test]
    fn best_two_only_answers_for_a_unique_best() {
        let s = |v: &[f64]| -> Vec<(Lang, f64)> {
            v.iter().zip(Lang::all()).map(|(&x, &l)| (l, x)).collect()
        };
        let l = Lang::all();
        assert_eq!(
            best_two(&s(&[0.2, 0.9, 0.5, 0.1])),
            Some((l[1], 0.9, Some(0.5)))
        );
        assert_eq!(best_two(&s(&[0.4])), Some((l[0], 0.4, None)));
        // Ties for the best, and NaN, are left to the sort.
        assert_eq!(best_two(&s(&[0.5, 0.9, 0.9])), None);
        assert_eq!(best_two(&s(&[0.9, 0.2, 0.9])), None);
        assert_eq!(best_two(&s(&[0.1, f64::NAN])), None);
        // A tie below the best does not matter.
        assert_eq!(best_two(&s(&[0.3, 0.3, 0.8])), Some((l[2], 0.8, Some(0.3))));
    }

    #[test]
    fn trigram_score_order_is_unused_for_every_script() {
        for g in [&*LATIN, &*CYRILLIC, &*ARABIC, &*DEVANAGARI, &*HEBREW] {
            assert!(g.trigram_order_unused, "{:?}", g.script);
        }
    }

    #[test]
    fn languages_fit_the_tables() {
        assert!(Lang::all().iter().all(|&l| (l as usize) < LANGS));
    }

    #[test]
    fn matches_whatlang() {
        let texts = [
            "",
            "1234 -- !!",
            "a",
            "Hi",
            "I am begging pardon",
            "The minister said on Wednesday that the government would not change its plans.",
            "Le ministre a déclaré mercredi que le gouvernement ne changerait pas ses projets.",
            "Der Minister sagte am Mittwoch, dass die Regierung ihre Pläne nicht ändern werde.",
            "Ja kulkee kylmä hetki pariimme, Olet hauras kuin jää, Ja kulke",
            "Ráðherrann sagði á miðvikudag að ríkisstjórnin myndi ekki breyta áætlunum sínum.",
            "Tyrkiske språk eller turkotatariske språk er en språkgruppe bestående av minst 35 språk",
            "Além disso, o governo disse que não mudaria os planos para o próximo ano.",
            "Министр заявил в среду, что правительство не изменит свои планы на следующий год.",
            "Та нічого, все нормально. А в тебе як?",
            "Мы хотим видеть дальше, чем окна дома напротив",
            " ككل حوالي 1.6، ومعظم الناس يتحدثون العربية في المنزل",
            "हिमालयी वन चिड़िया (जूथेरा सालिमअली) चिड़िया की एक प्रजाति है",
            "היסטוריה והתפתחות של האלפבית העברי",
            "大臣は水曜日、政府は来年の計画を変更しないと述べた。",
            "県見夜上温国阪題富販",
            "Ελληνικά κείμενα για δοκιμή",
            "Russian word любовь means love.",
            "Привет! Текст на русском with some English.",
            "Bir Türk vatandaşı olarak, ağaçların gölgesinde şarkı söyledik.",
            "Việt Nam là một quốc gia nằm ở phía đông bán đảo Đông Dương.",
            // Lower-casing that lengthens a character, and a final sigma.
            "İSTANBUL İLE İZMİR ARASINDA YENİ BİR HIZLI TREN HATTI AÇILDI",
            "ΟΔΥΣΣΕΥΣ and the Greek word ΣΟΦΟΣ in an English sentence.",
            "ПРИВЕТ, МИР! КАК ДЕЛА?",
            // Latin with other characters: trigrams of space and a-z are counted apart from
            // the rest (accents, quotes, dashes, DEL) and the two lists merged.
            "L’équipe « Les Bleus » a gagné – 3 à 1 — hier soir… et après ?",
            "Þetta er „íslenska“ með “gæsalöppum” og stafnum \u{7f}x í miðjunni",
            "naïve café résumé coöperate façade Zoë über",
            "a\u{7f}b zz\u{7f} \u{7f}\u{7f}\u{7f} é",
        ];
        for t in texts {
            same_as_whatlang(t);
        }
        // Long texts: more than 600 distinct trigrams.
        let long = texts[5..14].concat().repeat(3);
        same_as_whatlang(&long);
    }

    /// Every document of the JSONL files in `RETRACE_LANGID_CHECK` (separated by `:`), cut
    /// at several lengths: `RETRACE_LANGID_CHECK=docs.jsonl cargo test --release -p retrace
    /// langid_matches_whatlang_on_files -- --ignored`.
    #[test]
    #[ignore]
    fn langid_matches_whatlang_on_files() {
        let Some(texts) = crate::test_files::jsonl_texts("RETRACE_LANGID_CHECK") else {
            return;
        };
        let mut n = 0;
        for text in &texts {
            for cut in [16, 48, 120, 300, 640, 700, 2000, usize::MAX] {
                same_as_whatlang(crate::prepare::segment::prefix(text, cut));
                n += 1;
            }
        }
        eprintln!("{n} texts identical");
    }
}
