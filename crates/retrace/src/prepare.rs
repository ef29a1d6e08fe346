//! Prepare: per-document analysis before fingerprinting. Lines, boilerplate flags (from
//! corpus statistics, see [`crate::boilerplate`]), language, paragraphs and sentences of the
//! main text, and the main text's tokens on demand.

use crate::boilerplate::{BoilerplateModel, BoilerplateOptions, LineShapes};
use crate::document::Document;
use crate::langid;
use crate::normalize::{Token, Tokenizer};
use crate::segment;
use rayon::prelude::*;
use std::ops::Range;

/// A prepared document. Ranges are byte ranges of the original text.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// ISO 639-1 code (or `und`).
    pub lang: &'static str,
    pub lang_confidence: f32,
    /// Non-empty lines, trimmed.
    pub lines: Vec<Range<u32>>,
    /// One flag per line.
    pub boilerplate: Vec<bool>,
    /// Paragraphs of the main text (boilerplate lines split paragraphs).
    pub paragraphs: Vec<Range<u32>>,
    /// Sentences of the main text.
    pub sentences: Vec<Range<u32>>,
    /// Tokens of the main text (set by the fingerprint stage, which tokenises it).
    pub main_tokens: u32,
    /// Characters of the main text.
    pub main_chars: u32,
}

impl Prepared {
    /// Byte ranges of the main (non-boilerplate) lines.
    pub fn main_lines(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.lines
            .iter()
            .zip(&self.boilerplate)
            .filter(|(_, &b)| !b)
            .map(|(r, _)| r.start as usize..r.end as usize)
    }

    /// The boilerplate lines' text.
    pub fn boilerplate_lines<'t>(&self, text: &'t str) -> Vec<&'t str> {
        self.lines
            .iter()
            .zip(&self.boilerplate)
            .filter(|(_, &b)| b)
            .map(|(r, _)| &text[r.start as usize..r.end as usize])
            .collect()
    }

    /// Tokens of the main text, in order.
    ///
    /// Alignment asks for the tokens of one document again and again (once per candidate
    /// pair it is in), so the tokens of the last few documents are kept per thread, keyed
    /// by a hash of the text and of its main lines.
    pub fn tokens(&self, text: &str, tk: &mut Tokenizer) -> Vec<Token> {
        let mut key = xxhash_rust::xxh3::Xxh3::new();
        key.update(text.as_bytes());
        for r in self.main_lines() {
            key.update(&(r.start as u64).to_le_bytes());
            key.update(&(r.end as u64).to_le_bytes());
        }
        let key = key.digest128();
        if let Some(t) = TOKEN_CACHE.with(|c| c.borrow().get(key)) {
            return t;
        }
        let mut out = Vec::with_capacity(self.main_tokens as usize);
        for r in self.main_lines() {
            tk.tokenize(text, r, &mut out);
        }
        TOKEN_CACHE.with(|c| c.borrow_mut().put(key, &out));
        out
    }
}

/// Documents whose tokens each thread keeps.
const TOKEN_CACHE_DOCS: usize = 32;
/// Documents with more tokens than this are not kept (at most ~3 MB a thread).
const TOKEN_CACHE_MAX_TOKENS: usize = 4096;

/// The tokens of the documents tokenised last (round robin).
#[derive(Default)]
struct TokenCache {
    entries: Vec<(u128, Vec<Token>)>,
    next: usize,
}

impl TokenCache {
    fn get(&self, key: u128) -> Option<Vec<Token>> {
        self.entries
            .iter()
            .find(|e| e.0 == key)
            .map(|e| e.1.clone())
    }

    fn put(&mut self, key: u128, tokens: &[Token]) {
        if tokens.len() > TOKEN_CACHE_MAX_TOKENS {
            return;
        }
        if self.entries.len() < TOKEN_CACHE_DOCS {
            self.entries.push((key, tokens.to_vec()));
        } else {
            let e = &mut self.entries[self.next];
            e.0 = key;
            e.1.clear();
            e.1.extend_from_slice(tokens);
            self.next = (self.next + 1) % TOKEN_CACHE_DOCS;
        }
    }
}

thread_local! {
    static TOKEN_CACHE: std::cell::RefCell<TokenCache> = std::cell::RefCell::default();
}

/// Options for the prepare stage.
#[derive(Debug, Clone, Default)]
pub struct PrepareOptions {
    pub boilerplate: BoilerplateOptions,
}

/// Result of preparing a corpus.
#[derive(Debug, Default)]
pub struct PreparedCorpus {
    pub docs: Vec<Prepared>,
    /// Template line shapes learnt from the corpus.
    pub template_shapes: usize,
}

/// Prepare every document, learning boilerplate from the whole corpus first.
pub fn prepare_corpus(docs: &[Document], opts: &PrepareOptions) -> PreparedCorpus {
    /// Lines (with blank lines before each) and their shapes.
    type DocLines = (Vec<(Range<usize>, usize)>, LineShapes);
    let lines: Vec<DocLines> = docs
        .par_iter()
        .map(|d| {
            let l = segment::lines(&d.text);
            let ranges: Vec<Range<usize>> = l.iter().map(|x| x.0.clone()).collect();
            let s = LineShapes::new(&d.text, &ranges, &opts.boilerplate);
            (l, s)
        })
        .collect();
    let shapes: Vec<&LineShapes> = lines.iter().map(|x| &x.1).collect();
    let model = BoilerplateModel::learn(&shapes, &opts.boilerplate);
    let prepared = docs
        .par_iter()
        .zip(lines.par_iter())
        .map_init(Tokenizer::default, |tk, (d, (l, shapes))| {
            prepare_one(&d.text, l, shapes, &model, opts, tk)
        })
        .collect();
    PreparedCorpus {
        docs: prepared,
        template_shapes: model.len(),
    }
}

/// Prepare one document given the corpus boilerplate model.
pub fn prepare_one(
    text: &str,
    lines: &[(Range<usize>, usize)],
    shapes: &LineShapes,
    model: &BoilerplateModel,
    opts: &PrepareOptions,
    tk: &mut Tokenizer,
) -> Prepared {
    let ranges: Vec<Range<usize>> = lines.iter().map(|x| x.0.clone()).collect();
    let flags = model.classify(text, &ranges, shapes, &opts.boilerplate);
    // Main paragraphs: consecutive main lines without a blank line or boilerplate between.
    let mut paragraphs: Vec<Range<usize>> = Vec::new();
    let mut prev_main = false;
    for ((r, blanks), &bp) in lines.iter().zip(&flags) {
        if bp {
            prev_main = false;
            continue;
        }
        match paragraphs.last_mut() {
            Some(p) if prev_main && *blanks == 0 => p.end = r.end,
            _ => paragraphs.push(r.clone()),
        }
        prev_main = true;
    }
    let mut sentences = Vec::new();
    for p in &paragraphs {
        segment::sentences(text, p.clone(), &mut sentences);
    }
    let mut sample = String::new();
    for p in &paragraphs {
        if sample.len() > 640 {
            break;
        }
        sample.push_str(&text[p.clone()]);
        sample.push('\n');
    }
    let guess = langid::identify(&sample);
    let _ = tk;
    let main_chars = ranges
        .iter()
        .zip(&flags)
        .filter(|(_, &bp)| !bp)
        .map(|(r, _)| text[r.clone()].chars().count() as u32)
        .sum();
    let to32 = |r: &Range<usize>| r.start as u32..r.end as u32;
    Prepared {
        lang: guess.code,
        lang_confidence: guess.confidence as f32,
        lines: ranges.iter().map(to32).collect(),
        boilerplate: flags,
        paragraphs: paragraphs.iter().map(to32).collect(),
        sentences: sentences.iter().map(to32).collect(),
        main_tokens: 0,
        main_chars,
    }
}
