//! Prepare: per-document analysis before fingerprinting. Lines, boilerplate flags (from
//! corpus statistics, see [`boilerplate`]), language, paragraphs and sentences of the main
//! text, its date, and the main text's tokens on demand.
//!
//! Input: the [`Document`]s of a collection. Output: one [`Prepared`] per document, in
//! order ([`PreparedCorpus`]). The boilerplate model is the only corpus-wide statistic: it is
//! learnt from every document's line shapes before any document is classified.

pub mod boilerplate;
pub mod dates;
pub mod langid;
pub mod names;
pub mod normalize;
pub mod segment;

use crate::document::Document;
use boilerplate::{BoilerplateModel, BoilerplateOptions, LineShapes};
use dates::{document_date, Date};
use normalize::{Token, Tokenizer};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// A prepared document. Ranges are byte ranges of the original text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Prepared {
    /// ISO 639-1 code (or `und`).
    #[serde(deserialize_with = "langid::deserialize_code")]
    pub lang: langid::LangCode,
    /// The language identifier's confidence, 0..1.
    pub lang_confidence: f32,
    /// Non-empty lines, trimmed.
    pub lines: Vec<Range<u32>>,
    /// One flag per line.
    pub boilerplate: Vec<bool>,
    /// Paragraphs of the main text (boilerplate lines split paragraphs).
    pub paragraphs: Vec<Range<u32>>,
    /// Sentences of the main text.
    pub sentences: Vec<Range<u32>>,
    /// Characters of the main text.
    pub main_chars: u32,
    /// The date provenance uses: the metadata date, else a dateline in the first lines.
    pub date: Option<Date>,
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
        // Room for about a token every five characters (words), grown where there are more.
        let mut out = Vec::with_capacity(self.main_chars as usize / 5 + 16);
        self.append_tokens(text, tk, &mut out);
        out
    }

    /// [`Prepared::tokens`] into `out` (cleared first), to reuse its room.
    pub fn tokens_into(&self, text: &str, tk: &mut Tokenizer, out: &mut Vec<Token>) {
        out.clear();
        self.append_tokens(text, tk, out);
    }

    /// Append the tokens of the main text to `out`.
    fn append_tokens(&self, text: &str, tk: &mut Tokenizer, out: &mut Vec<Token>) {
        for r in self.main_lines() {
            tk.tokenize(text, r, out);
        }
    }
}

/// Options for the prepare stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrepareOptions {
    /// Boilerplate detection.
    pub boilerplate: BoilerplateOptions,
}

/// Result of preparing a corpus.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PreparedCorpus {
    /// One per document, in order.
    pub docs: Vec<Prepared>,
    /// The boilerplate model the documents were prepared with.
    pub model: BoilerplateModel,
    /// Template line shapes learnt from the corpus.
    pub template_shapes: usize,
}

/// Documents whose line shapes are kept in one set of arrays.
const SHAPE_CHUNK: usize = 256;

/// The line shapes of a run of documents, one after the other (few allocations: the
/// corpus's shapes are all held at once, while the boilerplate model is learnt).
#[derive(Default)]
struct ShapeChunk {
    /// The documents' lines (as [`segment::lines`] gives them), one after the other.
    spans: Vec<(Range<usize>, usize)>,
    lines: LineShapes,
    /// End of each document's lines in `lines`.
    ends: Vec<u32>,
}

impl ShapeChunk {
    /// Lines `[lo, hi)` of the chunk's `j`-th document.
    fn range(&self, j: usize) -> Range<usize> {
        let lo = if j == 0 { 0 } else { self.ends[j - 1] as usize };
        lo..self.ends[j] as usize
    }
}

/// Prepare every document, learning boilerplate from the whole corpus first.
pub fn prepare_corpus(
    docs: &[Document],
    opts: &PrepareOptions,
    progress: &dyn crate::progress::Progress,
) -> PreparedCorpus {
    prepare_with(docs, opts, None, progress)
}

/// [`prepare_corpus`] with the boilerplate model `model` (a larger collection's) instead of
/// one learnt from these documents.
pub fn prepare_with(
    docs: &[Document],
    opts: &PrepareOptions,
    model: Option<&BoilerplateModel>,
    progress: &dyn crate::progress::Progress,
) -> PreparedCorpus {
    let chunks: Vec<ShapeChunk> = docs
        .par_chunks(SHAPE_CHUNK)
        .map(|ds| {
            let mut c = ShapeChunk::default();
            let mut buf = Vec::new();
            for d in ds {
                let lines = segment::lines(&d.text);
                LineShapes::append(
                    &d.text,
                    lines.iter().map(|x| x.0.clone()),
                    &opts.boilerplate,
                    &mut c.lines,
                    &mut buf,
                );
                c.spans.extend(lines);
                c.ends.push(c.lines.shapes.len() as u32);
            }
            c.spans.shrink_to_fit();
            c.lines.shapes.shrink_to_fit();
            c.lines.long.shrink_to_fit();
            c.lines.weights.shrink_to_fit();
            c
        })
        .collect();
    let shapes: Vec<(&[u64], &[bool])> = chunks
        .iter()
        .flat_map(|c| {
            (0..c.ends.len()).map(|j| (&c.lines.shapes[c.range(j)], &c.lines.long[c.range(j)]))
        })
        .collect();
    let model = match model {
        Some(m) => m.clone(),
        None => BoilerplateModel::learn_from(&shapes, &opts.boilerplate),
    };
    drop(shapes);
    let prepared = docs
        .par_iter()
        .enumerate()
        .map(|(i, d)| {
            let c = &chunks[i / SHAPE_CHUNK];
            let r = c.range(i % SHAPE_CHUNK);
            let lines = &c.spans[r.clone()];
            let (shapes, weights) = (&c.lines.shapes[r.clone()], &c.lines.weights[r]);
            let p = prepare_one(d, lines, shapes, weights, &model, opts);
            progress.advance(1);
            p
        })
        .collect();
    PreparedCorpus {
        docs: prepared,
        template_shapes: model.len(),
        model,
    }
}

/// Prepare one document given the corpus boilerplate model and its lines (as
/// [`segment::lines`] gives them), their shapes and their word weights.
pub fn prepare_one(
    doc: &Document,
    lines: &[(Range<usize>, usize)],
    shapes: &[u64],
    weights: &[f32],
    model: &BoilerplateModel,
    opts: &PrepareOptions,
) -> Prepared {
    let text = doc.text.as_str();
    let ranges: Vec<Range<usize>> = lines.iter().map(|x| x.0.clone()).collect();
    let flags = model.classify_shapes(text, &ranges, shapes, weights, &opts.boilerplate);
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
    // The start of the main text, paragraphs a line each, as far as language identification
    // reads (the paragraph reaching that far is cut past it, at a character boundary).
    let mut sample = String::new();
    for p in &paragraphs {
        if sample.len() > langid::SAMPLE_BYTES {
            break;
        }
        let para = &text[p.clone()];
        let mut end = para.len().min(langid::SAMPLE_BYTES + 1 - sample.len());
        while !para.is_char_boundary(end) {
            end += 1;
        }
        sample.push_str(&para[..end]);
        if end == para.len() {
            sample.push('\n');
        }
    }
    // A language the input states is taken as given, when it is one prepare knows.
    let stated = doc.meta.lang.as_deref().and_then(langid::known_code);
    let guess = match stated {
        Some(code) => langid::LangGuess {
            code,
            confidence: 1.0,
        },
        None => langid::identify(&sample),
    };
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
        main_chars,
        date: document_date(
            doc.meta.date.as_deref(),
            ranges.iter().map(|r| &text[r.clone()]),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    #[test]
    fn a_stated_language_is_taken_and_an_unknown_one_is_identified() {
        let text = "The central bank raised its main interest rate on Thursday.\n\
                    Economists had expected the move after inflation rose again.";
        let mut stated = Document::new("a", text);
        stated.meta.lang = Some("fr".into());
        let mut unknown = Document::new("b", text);
        unknown.meta.lang = Some("not-a-code".into());
        let plain = Document::new("c", text);
        let p = prepare_corpus(
            &[stated, unknown, plain],
            &PrepareOptions::default(),
            &NoProgress,
        );
        assert_eq!(p.docs[0].lang, "fr");
        assert_eq!(p.docs[0].lang_confidence, 1.0);
        assert_eq!(p.docs[1].lang, "en");
        assert_eq!(p.docs[2].lang, "en");
        assert_eq!(p.docs[1].sentences, p.docs[0].sentences);
    }
}
