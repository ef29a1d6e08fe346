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
    pub fn tokens(&self, text: &str, tk: &mut Tokenizer) -> Vec<Token> {
        let mut out = Vec::with_capacity(self.main_tokens as usize);
        for r in self.main_lines() {
            tk.tokenize(text, r, &mut out);
        }
        out
    }
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
