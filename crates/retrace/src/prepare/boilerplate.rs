//! Boilerplate removal: recognises site headers, footers, share buttons, photo credits and
//! dateline stubs so that they are excluded from matching and from coverage.
//!
//! Two signals, both measured, neither a list of known phrases:
//! 1. **Recurrence around different content.** A line whose shape (case-folded, digits
//!    masked, so "Published 2024-06-13" and "Published 2024-07-01" are one shape) recurs in
//!    at least `min_docs` documents, most of which hold content beyond the lines that recur
//!    with it, is template text (see [`BoilerplateModel::learn`]): twenty articles under one
//!    site header are, twenty republications or excerpts of one article are not.
//! 2. **Non-prose fringes.** Short lines without sentence punctuation before the first or
//!    after the last prose line of a document (a scraped header, a byline-like credit, a
//!    footer link) are boilerplate. A document with no prose line keeps all its lines.

use crate::prepare::normalize::{
    is_alphanumeric, is_unspaced_script, lanes_in, le_word, plain_lowercase, LANES,
};
use foldhash::{HashMap, HashMapExt};
use std::ops::Range;
use xxhash_rust::xxh3::xxh3_64;

/// Settings for boilerplate detection.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BoilerplateOptions {
    /// A line shape must occur in at least this many documents to be template text.
    pub min_docs: usize,
    /// ... this many for a long line (prose is rarely template text; it needs more evidence).
    pub min_docs_long: usize,
    /// ... and at least this many of them must hold content beyond the shared lines.
    pub min_distinct: usize,
    /// A line weighing at least this many words is prose.
    pub prose_words: f32,
    /// A line of at least this many words that ends a sentence is prose.
    pub sentence_words: f32,
}

impl Default for BoilerplateOptions {
    fn default() -> Self {
        BoilerplateOptions {
            min_docs: 3,
            min_docs_long: 10,
            min_distinct: 3,
            prose_words: 10.0,
            sentence_words: 2.0,
        }
    }
}

/// The shape of a line: case-folded, whitespace-collapsed, digits masked.
pub fn line_shape(line: &str) -> u64 {
    line_facts(line, &mut Vec::new()).0
}

/// Word weight of a line: words count 1, characters of unspaced scripts 1/2.
pub fn word_weight(line: &str) -> f32 {
    line_facts(line, &mut Vec::new()).1
}

/// [`line_shape`] and [`word_weight`] of a line, in one pass over it (`s`: room for the
/// shape's bytes).
fn line_facts(line: &str, s: &mut Vec<u8>) -> (u64, f32) {
    line_facts_with(line, s, true)
}

/// [`line_facts`], with (`blocks`) or without the eight-bytes-at-once path for ASCII words
/// and single spaces (both give the same results: the tests compare them).
fn line_facts_with(line: &str, s: &mut Vec<u8>, blocks: bool) -> (u64, f32) {
    // Word weight counted in halves.
    let mut halves = 0u32;
    let mut in_word = false;
    let mut space = false;
    let bytes = line.as_bytes();
    // The shape is written into room made in advance (`s[..len]` is written): ASCII without
    // branches, at most two bytes a byte (a separating space and the byte).
    s.clear();
    s.resize(2 * bytes.len() + 8, 0);
    let mut len = 0usize;
    // Append `b` (room grows when short: lower-casing may lengthen a character).
    let put = |s: &mut Vec<u8>, len: &mut usize, b: &[u8]| {
        if *len + b.len() > s.len() {
            s.resize(2 * (*len + b.len()) + 8, 0);
        }
        s[*len..*len + b.len()].copy_from_slice(b);
        *len += b.len();
    };
    let mut i = 0;
    // The next byte at which eight bytes at once are tried (after a failed try, the bytes
    // it looked at go one by one).
    let mut try_at = if blocks { 0 } else { usize::MAX };
    while i < bytes.len() {
        let b = bytes[i];
        if i >= try_at && i + 8 <= bytes.len() {
            if let Some(block) = AsciiBlock::of(le_word(&bytes[i..i + 8]), space || len == 0) {
                // A pending blank before a non-blank is one space (never leading: `len > 0`).
                s[len] = b' ';
                len += (space && len > 0) as usize;
                s[len..len + 8].copy_from_slice(&block.shape.to_le_bytes());
                len += 8;
                // A space ending the block stays pending (it is dropped at the line's end).
                len -= block.ends_blank as usize;
                space = block.ends_blank;
                halves += 2 * block.word_starts(in_word);
                in_word = block.ends_in_word;
                i += 8;
                continue;
            }
            try_at = i + 8;
        }
        if b < 0x80 {
            let class = ASCII_SHAPE[b as usize];
            let alnum = class & ALNUM != 0;
            halves += 2 * (alnum && !in_word) as u32;
            in_word = alnum;
            let blank = class & BLANK != 0;
            s[len] = b' ';
            len += (!blank && space && len > 0) as usize;
            s[len] = class as u8;
            len += !blank as usize;
            space = blank;
            i += 1;
            continue;
        }
        let c = line[i..].chars().next().unwrap_or(' ');
        i += c.len_utf8();
        if is_unspaced_script(c) {
            halves += 1;
            in_word = false;
        } else if is_alphanumeric(c) {
            if !in_word {
                halves += 2;
            }
            in_word = true;
        } else {
            in_word = false;
        }
        let mut tmp = [0u8; 4];
        if let Some(l) = plain_lowercase(c) {
            if space && len > 0 {
                put(s, &mut len, b" ");
            }
            space = false;
            put(s, &mut len, l.encode_utf8(&mut tmp).as_bytes());
        } else if c.is_whitespace() {
            space = true;
        } else {
            if space && len > 0 {
                put(s, &mut len, b" ");
            }
            space = false;
            if c.is_numeric() {
                put(s, &mut len, b"#");
            } else {
                for l in c.to_lowercase() {
                    put(s, &mut len, l.encode_utf8(&mut tmp).as_bytes());
                }
            }
        }
        // Room for the rest, ASCII at two bytes a byte.
        if s.len() < len + 2 * (bytes.len() - i) + 8 {
            s.resize(len + 2 * (bytes.len() - i) + 8, 0);
        }
    }
    (xxh3_64(&s[..len]), halves as f32 / 2.0)
}

/// Eight bytes of a line read at once, when they are ASCII and their only blanks are single
/// spaces (the common case in prose): their shape bytes are the bytes mapped lane by lane.
struct AsciiBlock {
    /// The bytes lower-cased, digits as `#`.
    shape: u64,
    /// Bit 7 of each lane: a letter or digit.
    alnum: u64,
    ends_blank: bool,
    ends_in_word: bool,
}

impl AsciiBlock {
    /// The block of `w` (eight bytes, little-endian), or `None` when some byte is not ASCII,
    /// is a blank other than a space, or is a space next to another, or first when
    /// `blank_before` (a pending blank, or the line's start).
    #[inline]
    fn of(w: u64, blank_before: bool) -> Option<Self> {
        if w & (LANES * 0x80) != 0 {
            return None;
        }
        let sp = lanes_in(w, b' ', b' ');
        if lanes_in(w, b'\t', b'\r') != 0 || sp & (sp << 8) != 0 || (blank_before && sp & 0x80 != 0)
        {
            return None;
        }
        let upper = lanes_in(w, b'A', b'Z');
        let digit = lanes_in(w, b'0', b'9');
        let digits = (digit >> 7) * 0xFF;
        let alnum = upper | digit | lanes_in(w, b'a', b'z');
        Some(AsciiBlock {
            shape: ((w | (upper >> 2)) & !digits) | (digits & (LANES * b'#' as u64)),
            alnum,
            ends_blank: sp >> 63 != 0,
            ends_in_word: alnum >> 63 != 0,
        })
    }

    /// Words starting in the block (a letter or digit after anything else).
    #[inline]
    fn word_starts(&self, in_word: bool) -> u32 {
        let before = (self.alnum << 8) | ((in_word as u64) << 7);
        (self.alnum & !before).count_ones()
    }
}

/// [`ASCII_SHAPE`] flags: a letter or digit; whitespace. The low byte is what the byte
/// stands for in a shape (lower-cased, a digit as `#`).
const ALNUM: u16 = 0x100;
const BLANK: u16 = 0x200;

/// What each ASCII byte is in a line shape (see [`line_shape`]).
static ASCII_SHAPE: [u16; 128] = {
    let mut t = [0u16; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = if matches!(c, b'\t'..=b'\r' | b' ') {
            BLANK
        } else if c.is_ascii_digit() {
            b'#' as u16 | ALNUM
        } else if c.is_ascii_alphabetic() {
            c.to_ascii_lowercase() as u16 | ALNUM
        } else {
            c as u16
        };
        b += 1;
    }
    t
};

/// Per-document input to corpus statistics: the shapes of its lines and which are long.
#[derive(Debug, Clone, Default)]
pub struct LineShapes {
    /// Each line's shape ([`line_shape`]).
    pub shapes: Vec<u64>,
    /// Lines of at least `prose_words` words.
    pub long: Vec<bool>,
    /// Word weight of each line ([`word_weight`]).
    pub weights: Vec<f32>,
}

impl LineShapes {
    /// Append the shapes of `text`'s lines, whether each is long (what
    /// [`BoilerplateModel::learn`] reads) and their word weights to `out`.
    pub fn append(
        text: &str,
        lines: impl Iterator<Item = Range<usize>>,
        opts: &BoilerplateOptions,
        out: &mut LineShapes,
        buf: &mut Vec<u8>,
    ) {
        for r in lines {
            let (shape, w) = line_facts(&text[r], buf);
            out.weights.push(w);
            out.long.push(w >= opts.prose_words);
            out.shapes.push(shape);
        }
    }

    /// The shapes, long flags and weights of `text`'s `lines`.
    pub fn new(text: &str, lines: &[Range<usize>], opts: &BoilerplateOptions) -> Self {
        let mut out = LineShapes::default();
        Self::append(text, lines.iter().cloned(), opts, &mut out, &mut Vec::new());
        out
    }
}

/// Documents examined per candidate shape.
const SAMPLE_DOCS: usize = 32;

/// Corpus statistics of line shapes: which shapes are template text. Serialised as the
/// sorted list of template shapes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BoilerplateModel {
    template: foldhash::HashSet<u64>,
}

impl serde::Serialize for BoilerplateModel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut shapes: Vec<u64> = self.template.iter().copied().collect();
        shapes.sort_unstable();
        serde::Serialize::serialize(&shapes, s)
    }
}

impl<'de> serde::Deserialize<'de> for BoilerplateModel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let shapes: Vec<u64> = serde::Deserialize::deserialize(d)?;
        Ok(BoilerplateModel {
            template: shapes.into_iter().collect(),
        })
    }
}

impl BoilerplateModel {
    /// Learn template lines from every document's line shapes.
    ///
    /// A shape seen in at least `min_docs` documents is a candidate. Among (a deterministic
    /// sample of) the documents holding it, its *block* is the set of shapes present in at
    /// least half of them (a site header is a block of lines that always come together). A
    /// document has *private* content when it holds a shape outside the block. Template text
    /// surrounds different articles, so most of its documents have private content; an
    /// article republished or excerpted many times does not, as its documents hold little
    /// beyond the lines they share.
    pub fn learn(docs: &[&LineShapes], opts: &BoilerplateOptions) -> Self {
        let docs: Vec<(&[u64], &[bool])> = docs
            .iter()
            .map(|d| (d.shapes.as_slice(), d.long.as_slice()))
            .collect();
        Self::learn_from(&docs, opts)
    }

    /// [`BoilerplateModel::learn`] from each document's line shapes and long-line flags.
    pub fn learn_from(docs: &[(&[u64], &[bool])], opts: &BoilerplateOptions) -> Self {
        let mut long = foldhash::HashSet::default();
        for (shapes, is_long) in docs {
            for (s, &l) in shapes.iter().zip(is_long.iter()) {
                if l {
                    long.insert(*s);
                }
            }
        }
        let mut df: HashMap<u64, u32> = HashMap::new();
        let mut uniq: Vec<Vec<u64>> = Vec::with_capacity(docs.len());
        for (shapes, _) in docs {
            let mut u = shapes.to_vec();
            u.sort_unstable();
            u.dedup();
            for &s in &u {
                *df.entry(s).or_default() += 1;
            }
            uniq.push(u);
        }
        let mut holders: HashMap<u64, Vec<u32>> = HashMap::new();
        for (i, u) in uniq.iter().enumerate() {
            for s in u {
                let need = if long.contains(s) {
                    opts.min_docs_long
                } else {
                    opts.min_docs
                };
                if df[s] as usize >= need {
                    let h = holders.entry(*s).or_default();
                    if h.len() < SAMPLE_DOCS {
                        h.push(i as u32);
                    }
                }
            }
        }
        let mut template = foldhash::HashSet::default();
        let mut counts: HashMap<u64, u32> = HashMap::new();
        for (shape, docs_with) in holders {
            counts.clear();
            for &d in &docs_with {
                for &s in &uniq[d as usize] {
                    *counts.entry(s).or_default() += 1;
                }
            }
            let n = docs_with.len() as u32;
            let df_l = df[&shape];
            // Private content: outside the block and rarer than the line itself (another
            // site's template is not content).
            let private_line =
                |s: &u64| counts.get(s).copied().unwrap_or(0) * 2 < n && df[s] < df_l;
            let private = docs_with
                .iter()
                .filter(|&&d| uniq[d as usize].iter().any(private_line))
                .count();
            let need_docs = if long.contains(&shape) {
                opts.min_docs_long
            } else {
                opts.min_docs
            };
            if df_l as usize >= need_docs
                && private >= opts.min_distinct
                && private * 2 >= n as usize
            {
                template.insert(shape);
            }
        }
        BoilerplateModel { template }
    }

    /// Number of template line shapes learnt.
    pub fn len(&self) -> usize {
        self.template.len()
    }

    /// Whether no template shape was learnt.
    pub fn is_empty(&self) -> bool {
        self.template.is_empty()
    }

    /// Whether a line of this shape is template text.
    pub fn is_template(&self, shape: u64) -> bool {
        self.template.contains(&shape)
    }

    /// Flag the boilerplate lines of one document.
    pub fn classify(
        &self,
        text: &str,
        lines: &[Range<usize>],
        shapes: &LineShapes,
        opts: &BoilerplateOptions,
    ) -> Vec<bool> {
        self.classify_shapes(text, lines, &shapes.shapes, &shapes.weights, opts)
    }

    /// [`BoilerplateModel::classify`] given the lines' shapes and word weights (`weights`
    /// may be empty: they are then measured here).
    pub fn classify_shapes(
        &self,
        text: &str,
        lines: &[Range<usize>],
        shapes: &[u64],
        weights: &[f32],
        opts: &BoilerplateOptions,
    ) -> Vec<bool> {
        let mut flags: Vec<bool> = shapes.iter().map(|s| self.is_template(*s)).collect();
        let prose: Vec<bool> = lines
            .iter()
            .zip(&flags)
            .enumerate()
            .map(|(i, (r, &t))| {
                let line = &text[r.clone()];
                let w = match weights.get(i) {
                    Some(&w) if weights.len() == lines.len() => w,
                    _ => word_weight(line),
                };
                !t && is_prose_weighted(line, w, opts)
            })
            .collect();
        let first = prose.iter().position(|&p| p);
        let last = prose.iter().rposition(|&p| p);
        if let (Some(first), Some(last)) = (first, last) {
            for (i, f) in flags.iter_mut().enumerate() {
                if (i < first || i > last) && !prose[i] {
                    *f = true;
                }
            }
        }
        flags
    }
}

/// A line is prose when it is long, or a sentence of a few words.
pub fn is_prose(line: &str, opts: &BoilerplateOptions) -> bool {
    is_prose_weighted(line, word_weight(line), opts)
}

/// [`is_prose`] given the line's [`word_weight`] `w`.
fn is_prose_weighted(line: &str, w: f32, opts: &BoilerplateOptions) -> bool {
    if w >= opts.prose_words {
        return true;
    }
    let last = line
        .trim_end()
        .trim_end_matches(['"', '\'', '”', '’', '»', ')', '」', '』', '）'])
        .chars()
        .last();
    let terminal = matches!(
        last,
        Some('.' | '!' | '?' | '…' | '。' | '！' | '？' | '؟' | '।')
    );
    let unspaced = line.chars().any(is_unspaced_script);
    terminal && (w >= opts.sentence_words || (unspaced && w >= opts.sentence_words / 2.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepare::segment::lines;

    #[test]
    fn eight_bytes_at_once_agree_with_byte_by_byte() {
        let base = [
            "The Council voted 12-3 on Tuesday, 4 March 2024, to close the OLD bridge.",
            "  leading  and   inner\truns\r of blanks, trailing ones too   ",
            "word word word word word word word word word word word word word ",
            " a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9",
            "ABCDEFGH abcdefgh 01234567 ........ @[`{~\u{7f}\u{1} \u{b}\u{c} x",
            "Ärger über Straßen — «citation» 東京都 9:30 Uhr, ça va ?",
            "12345678 12345678  12345678\t12345678",
        ];
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for line in base {
            // Every offset, so that each byte meets each lane and the line's edges.
            for k in (0..line.len()).filter(|&k| line.is_char_boundary(k)) {
                for l in [&line[k..], &line[..k]] {
                    assert_eq!(
                        line_facts_with(l, &mut a, true),
                        line_facts_with(l, &mut b, false),
                        "{l:?}"
                    );
                }
            }
        }
    }

    /// Every line of the JSONL files in `RETRACE_LINES_CHECK` (separated by `:`).
    #[test]
    #[ignore]
    fn eight_bytes_at_once_agree_on_files() {
        let Some(texts) = crate::test_files::jsonl_texts("RETRACE_LINES_CHECK") else {
            return;
        };
        let (mut a, mut b, mut n) = (Vec::new(), Vec::new(), 0);
        for line in texts.iter().flat_map(|t| t.lines()) {
            assert_eq!(
                line_facts_with(line, &mut a, true),
                line_facts_with(line, &mut b, false),
                "{line:?}"
            );
            n += 1;
        }
        eprintln!("{n} lines agree");
    }

    #[test]
    fn shapes_fold_case_space_and_digits_of_any_script() {
        assert_eq!(
            line_shape("Share\tthis\u{a0}story"),
            line_shape("share this story")
        );
        assert_eq!(
            line_shape("ＳＨＡＲＥ １２３"),
            line_shape("ｓｈａｒｅ 456")
        );
        assert_eq!(line_shape("Straße ΣΑΣ ١٢٣"), line_shape("STRAßE σασ 789"));
        assert_ne!(line_shape("东京 2024年"), line_shape("东京 2024月"));
    }

    #[test]
    fn words_weigh_one_and_unspaced_characters_half() {
        assert_eq!(word_weight(""), 0.0);
        assert_eq!(word_weight("Share this story, don't-stop"), 6.0);
        assert_eq!(word_weight("Straße İstanbul ǅemal"), 3.0);
        assert_eq!(word_weight("东京 2024年"), 2.5);
        assert_eq!(word_weight("ไทย ภาษา — ١٢٣ مرحبا"), 5.5);
    }

    fn ranges(t: &str) -> Vec<Range<usize>> {
        lines(t).into_iter().map(|(r, _)| r).collect()
    }

    #[test]
    fn shapes_mask_digits_and_case() {
        assert_eq!(
            line_shape("Published 2024-06-13"),
            line_shape("published  2023-01-02")
        );
        assert_ne!(line_shape("Published"), line_shape("Posted"));
    }

    #[test]
    fn recurring_header_is_template_but_republished_article_is_not() {
        let opts = BoilerplateOptions::default();
        let article = "The council voted on Tuesday to close the old bridge for repairs that will last until spring.";
        let mut texts = Vec::new();
        for topic in ["rain", "trains", "schools", "taxes", "music"] {
            texts.push(format!(
                "Menu\nPublished 2024-06-13\n\nThis story is about {topic}, something else entirely, and it is long enough to be prose.\n\nShare this"
            ));
        }
        for _ in 0..5 {
            texts.push(format!(
                "{article}\n\nA second paragraph that is different in every copy? No."
            ));
        }
        let docs: Vec<(Vec<Range<usize>>, LineShapes)> = texts
            .iter()
            .map(|t| {
                let r = ranges(t);
                let s = LineShapes::new(t, &r, &opts);
                (r, s)
            })
            .collect();
        let shapes: Vec<&LineShapes> = docs.iter().map(|d| &d.1).collect();
        let model = BoilerplateModel::learn(&shapes, &opts);
        assert!(model.is_template(line_shape("Menu")));
        assert!(model.is_template(line_shape("Published 2024-01-01")));
        assert!(!model.is_template(line_shape(article)));
        let flags = model.classify(&texts[0], &docs[0].0, &docs[0].1, &opts);
        assert_eq!(flags, vec![true, true, false, true]);
        let flags = model.classify(&texts[5], &docs[5].0, &docs[5].1, &opts);
        assert_eq!(flags, vec![false, false]);
    }

    #[test]
    fn non_prose_fringes_are_boilerplate() {
        let opts = BoilerplateOptions::default();
        let t = "Enlarge image\n\nPhoto:\n\nIt is not often that the minister calls his counterpart, and this time he did.\n\nShort middle line\n\nAnother long paragraph of prose that closes the story with a full sentence.\n\nvet/AFP/AP";
        let r = ranges(t);
        let s = LineShapes::new(t, &r, &opts);
        let flags = BoilerplateModel::default().classify(t, &r, &s, &opts);
        assert_eq!(flags, vec![true, true, false, false, false, true]);
        // No prose at all: nothing is removed.
        let t = "Menu\nSearch";
        let r = ranges(t);
        let s = LineShapes::new(t, &r, &opts);
        assert_eq!(
            BoilerplateModel::default().classify(t, &r, &s, &opts),
            vec![false, false]
        );
    }
}
