//! Entry points of the fuzz targets for ingest and preparation (`fuzz/fuzz_targets/`),
//! shared with the tests that replay the fuzz corpora on stable Rust
//! (`tests/fuzz_corpus.rs`).
//!
//! Each function feeds arbitrary bytes to one reader or stage the way the engine does and
//! checks the invariants its callers rely on (ranges inside the text, on character
//! boundaries, in order). A panic is a bug. Not a stable API.

use std::io::BufReader;
use std::ops::Range;

use crate::ingest::{self, decode, html, IngestOptions};
use crate::prepare::langid::fasttext;
use crate::prepare::{normalize, segment};

/// Texts classified by a language model read: several scripts, an empty one.
pub const TEXTS: &[&str] = &[
    "",
    "The quick brown fox jumps over the lazy dog.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "中文句子。日本語の文です。",
    "ภาษาไทยไม่มีช่องว่าง",
    "Съешь же ещё этих мягких французских булок",
    "\u{0}\u{FEFF}a\u{0301}\u{1F600} 12",
];

/// JSONL, as a `.jsonl` file or standard input is read (a gzip stream, by its magic bytes,
/// as a `.jsonl.gz` file is), with and without skipping bad records. Returns the number of
/// documents read (skipping bad records), or the error of the strict reading.
pub fn jsonl(data: &[u8]) -> Result<usize, String> {
    let read = |opts: &IngestOptions| {
        if data.starts_with(&[0x1f, 0x8b]) {
            let dec = flate2::read::MultiGzDecoder::new(data);
            ingest::read_jsonl(BufReader::new(dec), "fuzz.jsonl.gz", opts)
        } else {
            ingest::read_jsonl(data, "fuzz.jsonl", opts)
        }
    };
    let lenient = IngestOptions {
        skip_bad_records: true,
        ..IngestOptions::default()
    };
    let skipped = read(&lenient);
    let strict = read(&IngestOptions::default());
    match (&skipped, &strict) {
        (Ok(a), Ok(b)) => {
            assert_eq!(
                a.docs.len(),
                b.docs.len(),
                "skipping changed a clean reading"
            );
        }
        // A read error (bad gzip) stops both readings.
        (Err(_), Err(_)) | (Ok(_), Err(_)) => {}
        (Err(e), Ok(_)) => {
            panic!("skipping bad records failed where the strict reading did not: {e}")
        }
    }
    for d in skipped
        .as_ref()
        .map(|i| i.docs.as_slice())
        .unwrap_or_default()
    {
        assert!(!d.text.trim().is_empty(), "an empty document was kept");
    }
    strict.map_err(|e| e.to_string())?;
    skipped.map(|i| i.docs.len()).map_err(|e| e.to_string())
}

/// A text or HTML file's bytes: decoded (encoding detection, `<meta charset>`), converted
/// from HTML, and read as a document both ways. Returns the HTML's text.
pub fn html(data: &[u8]) -> String {
    let d = decode::decode(data, true);
    let h = html::html_to_text(&d.text);
    let _ = html::decode_entities(&d.text);
    let _ = decode::decode(data, false);
    for is_html in [true, false] {
        let got = ingest::read_text_bytes(data, "fuzz.html", "fuzz", is_html);
        assert!(got.docs.len() <= 1);
        if let Some(doc) = got.docs.first() {
            assert!(!doc.text.trim().is_empty(), "an empty document was kept");
        }
    }
    h.text
}

/// Check that `r` is a range of `text` on character boundaries.
fn check_range(text: &str, r: &Range<usize>, what: &str) {
    assert!(
        r.start <= r.end && r.end <= text.len(),
        "{what} {r:?} outside a text of {} bytes",
        text.len()
    );
    assert!(
        text.is_char_boundary(r.start) && text.is_char_boundary(r.end),
        "{what} {r:?} splits a character"
    );
}

/// Text (bytes decoded lossily, as ingest does) cut into lines, paragraphs and sentences and
/// tokenised. Returns the number of sentences and tokens.
pub fn segment(data: &[u8]) -> (usize, usize) {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    let lines = segment::lines(text);
    for (r, _) in &lines {
        check_range(text, r, "line");
        assert!(!text[r.clone()].trim().is_empty(), "blank line {r:?}");
    }
    let paragraphs = segment::paragraphs(&lines);
    let mut sentences = Vec::new();
    let mut prev_end = 0;
    for p in &paragraphs {
        check_range(text, p, "paragraph");
        assert!(p.start >= prev_end, "paragraphs overlap");
        prev_end = p.end;
        let from = sentences.len();
        segment::sentences(text, p.clone(), &mut sentences);
        let mut at = p.start;
        for s in &sentences[from..] {
            check_range(text, s, "sentence");
            assert!(
                s.start >= at && s.end <= p.end,
                "sentence {s:?} out of order"
            );
            assert!(s.start < s.end, "empty sentence");
            at = s.end;
        }
    }
    let mut tk = normalize::Tokenizer::default();
    let mut tokens = Vec::new();
    for s in &sentences {
        let from = tokens.len();
        tk.tokenize(text, s.clone(), &mut tokens);
        for t in &tokens[from..] {
            let r = t.range();
            check_range(text, &r, "token");
            assert!(
                r.start >= s.start && r.end <= s.end,
                "token {r:?} outside {s:?}"
            );
        }
    }
    let whole = normalize::tokenize(text);
    for t in &whole {
        check_range(text, &t.range(), "token");
    }
    for n in [0, 1, 7, 64] {
        let p = segment::prefix(text, n);
        assert!(p.len() <= n && text.starts_with(p));
    }
    let _ = normalize::fold(segment::prefix(text, 256));
    (sentences.len(), tokens.len())
}

/// A fastText model file (`lid.176.ftz`): read, then every text classified. Returns the
/// number of labels.
pub fn fasttext(data: &[u8]) -> Result<usize, String> {
    let m = fasttext::Model::from_bytes(data).map_err(|e| e.to_string())?;
    let n = m.labels().len();
    for t in TEXTS {
        if let Some(p) = m.predict(t) {
            // (A model with NaN weights may give any probability: only the label is checked.)
            assert!(p.label < n, "label {} of {n}", p.label);
        }
    }
    Ok(n)
}
