//! The HTML report of a run: one self-contained file, made from the files of a run
//! directory (`pairs.jsonl`, `documents.jsonl`, `texts.jsonl`, `run.json`), that any
//! browser opens offline. The page (`web/report.html`: markup, styles and plain script) is
//! built into the binary; the run's data is embedded in it as JSON, gzip-compressed and
//! base64-encoded when large (the page inflates it with the browser's
//! `DecompressionStream`). The texts are a second block, read only when a page needs them,
//! and `max_text` caps how many bytes of them go in.
//!
//! Input: a run directory; output: the HTML. The same run gives the same bytes.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The page: markup, styles and script, with `<!--@DATA@-->` where the data goes.
const TEMPLATE: &str = include_str!("web/report.html");
const DATA_MARK: &str = "<!--@DATA@-->";

/// JSON blocks larger than this are compressed.
const COMPRESS_ABOVE: usize = 64 * 1024;

/// Errors that stop the making of a report.
#[derive(Debug, Error)]
pub enum ReportError {
    /// A file of the run could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line of a run file is not the record it should be.
    #[error("{}, line {line}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line (1-based; 0 for a whole-file JSON document).
        line: usize,
        /// What is wrong.
        source: serde_json::Error,
    },
    /// A record names a document that `documents.jsonl` lacks.
    #[error("{}, line {line}: unknown document {id:?} (not in documents.jsonl)", path.display())]
    UnknownDocument {
        /// The file.
        path: PathBuf,
        /// The line (1-based).
        line: usize,
        /// The id.
        id: String,
    },
    /// The report could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// How the report is made.
#[derive(Debug, Clone)]
pub struct HtmlOptions {
    /// Bytes of document text the report may hold at most; texts beyond it are left out
    /// (documents in a pair first, then the rest, each in input order).
    pub max_text: usize,
}

impl Default for HtmlOptions {
    fn default() -> Self {
        HtmlOptions { max_text: 64 << 20 }
    }
}

/// What went into a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlSummary {
    /// Documents.
    pub documents: usize,
    /// Pairs.
    pub pairs: usize,
    /// Documents whose text is included.
    pub texts: usize,
    /// Documents whose text was left out by the size cap.
    pub texts_omitted: usize,
    /// Whether the run directory has no `texts.jsonl` (a run of an older retrace).
    pub texts_missing: bool,
    /// Bytes of the HTML file.
    pub bytes: usize,
}

#[derive(Deserialize)]
struct EvidenceIn {
    a: [u64; 2],
    b: [u64; 2],
    score: f64,
    matched_tokens: u64,
}

#[derive(Deserialize)]
struct PairIn {
    a: String,
    b: String,
    kind: String,
    coverage_a: f64,
    coverage_b: f64,
    density: f64,
    score: f64,
    #[serde(default)]
    similarity: Option<f64>,
    #[serde(default)]
    shared_entities: Option<f64>,
    #[serde(default)]
    evidence: Vec<EvidenceIn>,
}

#[derive(Deserialize)]
struct DocIn {
    id: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    chars: u64,
    #[serde(default)]
    main_chars: u64,
    #[serde(default)]
    tokens: u64,
    #[serde(default)]
    sentences: u64,
    #[serde(default)]
    boilerplate_lines: Vec<String>,
    #[serde(default)]
    encoder: Option<String>,
    #[serde(default)]
    story: Option<String>,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    why: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    dated: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
struct TextIn {
    id: String,
    text: String,
}

/// The documents, a column per field (the page indexes them by position).
#[derive(Serialize, Default)]
struct DocsOut {
    id: Vec<String>,
    lang: Vec<String>,
    title: Vec<Option<String>>,
    date: Vec<Option<String>>,
    dated: Vec<Option<String>>,
    url: Vec<Option<String>>,
    story: Vec<u32>,
    /// Index of the parent, -1 for none.
    parent: Vec<i64>,
    why: Vec<Option<String>>,
    chars: Vec<u64>,
    main_chars: Vec<u64>,
    tokens: Vec<u64>,
    sentences: Vec<u64>,
    boilerplate: Vec<usize>,
    encoder: Vec<Option<String>>,
    /// 1 when the text is in the report.
    has_text: Vec<u8>,
}

/// The pairs, a column per field, in `pairs.jsonl` order.
#[derive(Serialize, Default)]
struct PairsOut {
    a: Vec<u32>,
    b: Vec<u32>,
    /// Index into [`KINDS`] (unknown kinds are added to the end of `kinds`).
    kind: Vec<u32>,
    coverage_a: Vec<f64>,
    coverage_b: Vec<f64>,
    score: Vec<f64>,
    density: Vec<f64>,
    similarity: Vec<Option<f64>>,
    shared_entities: Vec<Option<f64>>,
    /// Each pair's passages, flat: a start, a end, b start, b end, score, matched tokens.
    evidence: Vec<Vec<f64>>,
}

#[derive(Serialize)]
struct TextsInfo {
    included: usize,
    omitted: usize,
    missing: bool,
    max_text: usize,
}

#[derive(Serialize)]
struct DataOut<'a> {
    run: &'a serde_json::Value,
    kinds: Vec<String>,
    docs: DocsOut,
    pairs: PairsOut,
    texts: TextsInfo,
}

/// The texts block: each document's text (null when left out) and the byte ranges of its
/// boilerplate lines (flat start, end pairs).
#[derive(Serialize)]
struct TextsOut {
    text: Vec<Option<String>>,
    boilerplate: Vec<Vec<u32>>,
}

/// The kinds, in the order the page shows them.
const KINDS: [&str; 4] = ["copy", "rewrite", "translation", "same_story"];

fn open(path: &Path) -> Result<BufReader<fs::File>, ReportError> {
    fs::File::open(path)
        .map(BufReader::new)
        .map_err(|source| ReportError::Read {
            path: path.into(),
            source,
        })
}

/// Each non-empty line of a JSON Lines file, parsed, with its 1-based number.
fn for_each_line<T: serde::de::DeserializeOwned>(
    path: &Path,
    mut f: impl FnMut(usize, T) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let mut r = open(path)?;
    let mut line = String::new();
    let mut n = 0;
    loop {
        line.clear();
        let got = r.read_line(&mut line).map_err(|source| ReportError::Read {
            path: path.into(),
            source,
        })?;
        if got == 0 {
            return Ok(());
        }
        n += 1;
        if line.trim().is_empty() {
            continue;
        }
        let rec = serde_json::from_str(&line).map_err(|source| ReportError::Parse {
            path: path.into(),
            line: n,
            source,
        })?;
        f(n, rec)?;
    }
}

/// The byte ranges of `text`'s lines that are among `lines` (compared without the
/// whitespace around them), flat.
fn boilerplate_ranges(text: &str, lines: &[String]) -> Vec<u32> {
    if lines.is_empty() {
        return Vec::new();
    }
    let set: HashSet<&str> = lines.iter().map(|l| l.trim()).collect();
    let mut out = Vec::new();
    let mut start = 0usize;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if !trimmed.is_empty() && set.contains(trimmed) {
            // The trimmed line's place in the original.
            let lead = line.len() - line.trim_start().len();
            let (s, e) = (start + lead, start + lead + trimmed.len());
            out.push(s as u32);
            out.push(e as u32);
        }
        start += line.len();
    }
    out
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (c.get(1).copied().unwrap_or(0) as u32) << 8
            | c.get(2).copied().unwrap_or(0) as u32;
        out.push(ABC[(n >> 18) as usize & 63]);
        out.push(ABC[(n >> 12) as usize & 63]);
        out.push(if c.len() > 1 {
            ABC[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(if c.len() > 2 {
            ABC[n as usize & 63]
        } else {
            b'='
        });
    }
    // Only ASCII was pushed.
    String::from_utf8(out).unwrap_or_default()
}

/// A `<script>` block holding `value` as JSON: plain (every `<` escaped, so nothing in it
/// can close the element) or, when large, gzip-compressed and base64-encoded.
fn script_block(id: &str, value: &impl Serialize) -> Result<String, serde_json::Error> {
    let json = serde_json::to_vec(value)?;
    if json.len() <= COMPRESS_ABOVE {
        let text = String::from_utf8_lossy(&json).replace('<', "\\u003c");
        return Ok(format!(
            "<script type=\"application/json\" id=\"{id}\" data-encoding=\"json\">{text}</script>\n"
        ));
    }
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(json.len() / 4),
        flate2::Compression::new(6),
    );
    // Writing into memory does not fail.
    let _ = gz.write_all(&json);
    let packed = gz.finish().unwrap_or_default();
    Ok(format!(
        "<script type=\"application/octet-stream\" id=\"{id}\" data-encoding=\"gzip-base64\" data-bytes=\"{}\">{}</script>\n",
        json.len(),
        base64(&packed)
    ))
}

/// The HTML report of the run in `dir`, and what went into it.
pub fn render(dir: &Path, opts: &HtmlOptions) -> Result<(String, HtmlSummary), ReportError> {
    // Documents.
    let docs_path = dir.join("documents.jsonl");
    let mut docs_in: Vec<DocIn> = Vec::new();
    for_each_line(&docs_path, |_, d: DocIn| {
        docs_in.push(d);
        Ok(())
    })?;
    let index: HashMap<&str, u32> = docs_in
        .iter()
        .enumerate()
        .map(|(i, d)| (d.id.as_str(), i as u32))
        .collect();
    let lookup = |id: &str, path: &Path, line: usize| -> Result<u32, ReportError> {
        index
            .get(id)
            .copied()
            .ok_or_else(|| ReportError::UnknownDocument {
                path: path.into(),
                line,
                id: id.into(),
            })
    };

    // Pairs.
    let pairs_path = dir.join("pairs.jsonl");
    let mut kinds: Vec<String> = KINDS.iter().map(|k| k.to_string()).collect();
    let mut pairs = PairsOut::default();
    let mut paired = vec![false; docs_in.len()];
    for_each_line(&pairs_path, |line, p: PairIn| {
        let a = lookup(&p.a, &pairs_path, line)?;
        let b = lookup(&p.b, &pairs_path, line)?;
        paired[a as usize] = true;
        paired[b as usize] = true;
        let kind = match kinds.iter().position(|k| *k == p.kind) {
            Some(k) => k,
            None => {
                kinds.push(p.kind.clone());
                kinds.len() - 1
            }
        };
        pairs.a.push(a);
        pairs.b.push(b);
        pairs.kind.push(kind as u32);
        pairs.coverage_a.push(p.coverage_a);
        pairs.coverage_b.push(p.coverage_b);
        pairs.score.push(p.score);
        pairs.density.push(p.density);
        pairs.similarity.push(p.similarity);
        pairs.shared_entities.push(p.shared_entities);
        pairs.evidence.push(
            p.evidence
                .iter()
                .flat_map(|e| {
                    [
                        e.a[0] as f64,
                        e.a[1] as f64,
                        e.b[0] as f64,
                        e.b[1] as f64,
                        e.score,
                        e.matched_tokens as f64,
                    ]
                })
                .collect(),
        );
        Ok(())
    })?;

    // The run's record (absent: an empty header).
    let run_path = dir.join("run.json");
    let run: serde_json::Value = match fs::read_to_string(&run_path) {
        Ok(s) => serde_json::from_str(&s).map_err(|source| ReportError::Parse {
            path: run_path.clone(),
            line: 0,
            source,
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::Value::Null,
        Err(source) => {
            return Err(ReportError::Read {
                path: run_path,
                source,
            })
        }
    };

    // Texts: those of paired documents first, then the rest, while they fit the cap.
    let texts_path = dir.join("texts.jsonl");
    let mut texts: Vec<Option<String>> = vec![None; docs_in.len()];
    let texts_missing = !texts_path.exists();
    if !texts_missing {
        for_each_line(&texts_path, |line, t: TextIn| {
            let i = lookup(&t.id, &texts_path, line)?;
            texts[i as usize] = Some(t.text);
            Ok(())
        })?;
    }
    let mut budget = opts.max_text;
    let mut keep = vec![false; docs_in.len()];
    for first in [true, false] {
        for i in 0..docs_in.len() {
            if paired[i] != first {
                continue;
            }
            if let Some(t) = &texts[i] {
                if t.len() <= budget {
                    budget -= t.len();
                    keep[i] = true;
                }
            }
        }
    }
    let mut included = 0;
    let mut omitted = 0;
    for (t, &k) in texts.iter_mut().zip(&keep) {
        if k {
            included += 1;
        } else if t.take().is_some() {
            omitted += 1;
        }
    }
    let boilerplate: Vec<Vec<u32>> = texts
        .iter()
        .zip(&docs_in)
        .map(|(t, d)| {
            t.as_deref()
                .map(|t| boilerplate_ranges(t, &d.boilerplate_lines))
                .unwrap_or_default()
        })
        .collect();

    let mut docs = DocsOut::default();
    for (i, d) in docs_in.iter().enumerate() {
        let story = d
            .story
            .as_deref()
            .and_then(|s| index.get(s).copied())
            .unwrap_or(i as u32);
        let parent = d
            .parent
            .as_deref()
            .and_then(|p| index.get(p).copied())
            .map_or(-1, i64::from);
        docs.story.push(story);
        docs.parent.push(parent);
        docs.boilerplate.push(d.boilerplate_lines.len());
        docs.has_text.push(u8::from(keep[i]));
    }
    for d in docs_in {
        docs.id.push(d.id);
        docs.lang.push(d.lang);
        docs.title.push(d.title);
        docs.date.push(d.date);
        docs.dated.push(d.dated);
        docs.url.push(d.url);
        docs.why.push(d.why);
        docs.chars.push(d.chars);
        docs.main_chars.push(d.main_chars);
        docs.tokens.push(d.tokens);
        docs.sentences.push(d.sentences);
        docs.encoder.push(d.encoder);
    }
    let n_docs = docs.id.len();
    let n_pairs = pairs.a.len();
    let data = DataOut {
        run: &run,
        kinds,
        docs,
        pairs,
        texts: TextsInfo {
            included,
            omitted,
            missing: texts_missing,
            max_text: opts.max_text,
        },
    };
    let json_err = |source| ReportError::Parse {
        path: dir.into(),
        line: 0,
        source,
    };
    let data_block = script_block("retrace-data", &data).map_err(json_err)?;
    drop(data);
    let texts_block = script_block(
        "retrace-texts",
        &TextsOut {
            text: texts,
            boilerplate,
        },
    )
    .map_err(json_err)?;
    let (head, tail) = TEMPLATE.split_once(DATA_MARK).unwrap_or((TEMPLATE, ""));
    let mut html =
        String::with_capacity(head.len() + tail.len() + data_block.len() + texts_block.len());
    html.push_str(head);
    html.push_str(&data_block);
    html.push_str(&texts_block);
    html.push_str(tail);
    let summary = HtmlSummary {
        documents: n_docs,
        pairs: n_pairs,
        texts: included,
        texts_omitted: omitted,
        texts_missing,
        bytes: html.len(),
    };
    Ok((html, summary))
}

/// Write the HTML report of the run in `dir` to `out`.
pub fn write_html(dir: &Path, out: &Path, opts: &HtmlOptions) -> Result<HtmlSummary, ReportError> {
    let (html, summary) = render(dir, opts)?;
    fs::write(out, html).map_err(|source| ReportError::Write {
        path: out.into(),
        source,
    })?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn boilerplate_ranges_are_the_lines_in_the_text() {
        let text = "Menu\n  Search \nBody text here.\r\nMenu\n";
        let r = boilerplate_ranges(text, &["Menu".into(), "Search".into()]);
        let got: Vec<&str> = r
            .chunks(2)
            .map(|c| &text[c[0] as usize..c[1] as usize])
            .collect();
        assert_eq!(got, vec!["Menu", "Search", "Menu"]);
        assert_eq!(&r[..4], &[0, 4, 7, 13]);
    }

    /// A run directory of three documents, `c` (unpaired) first, `a` and `b` a pair.
    fn run_dir(dir: &Path) {
        let text = |c: char, n: usize| c.to_string().repeat(n);
        let doc = |id: &str| {
            serde_json::json!({"id": id, "lang": "en", "story": id, "parent": null,
                "boilerplate_lines": []})
        };
        let lines =
            |v: Vec<serde_json::Value>| -> String { v.iter().map(|x| format!("{x}\n")).collect() };
        fs::write(
            dir.join("documents.jsonl"),
            lines(vec![doc("c"), doc("a"), doc("b")]),
        )
        .expect("write");
        fs::write(
            dir.join("texts.jsonl"),
            lines(vec![
                serde_json::json!({"id": "c", "text": text('c', 100)}),
                serde_json::json!({"id": "a", "text": text('a', 600)}),
                serde_json::json!({"id": "b", "text": text('b', 600)}),
            ]),
        )
        .expect("write");
        let pair = serde_json::json!({"a": "a", "b": "b", "kind": "copy", "coverage_a": 1.0,
            "coverage_b": 1.0, "density": 1.0, "score": 1.0,
            "evidence": [{"a": [0, 600], "b": [0, 600], "score": 1.0, "matched_tokens": 100}]});
        fs::write(dir.join("pairs.jsonl"), lines(vec![pair])).expect("write");
    }

    #[test]
    fn the_text_cap_keeps_the_texts_of_paired_documents_first() {
        let dir = tempfile::tempdir().expect("temp dir");
        run_dir(dir.path());
        let (html, s) = render(dir.path(), &HtmlOptions { max_text: 1250 }).expect("a report");
        assert_eq!((s.documents, s.pairs), (3, 1));
        assert_eq!((s.texts, s.texts_omitted, s.texts_missing), (2, 1, false));
        assert!(html.contains(&"a".repeat(600)) && !html.contains(&"c".repeat(100)));
        let (_, all) = render(dir.path(), &HtmlOptions::default()).expect("a report");
        assert_eq!((all.texts, all.texts_omitted), (3, 0));
        // The same run, the same bytes.
        let (again, _) = render(dir.path(), &HtmlOptions { max_text: 1250 }).expect("a report");
        assert_eq!(html, again);
    }

    #[test]
    fn a_pair_naming_an_unknown_document_is_an_error_naming_the_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        run_dir(dir.path());
        let pairs = dir.path().join("pairs.jsonl");
        let mut text = fs::read_to_string(&pairs).expect("pairs");
        text.push_str(&text.replace("\"b\":\"b\"", "\"b\":\"zz\""));
        fs::write(&pairs, text).expect("write");
        let e = render(dir.path(), &HtmlOptions::default()).expect_err("an unknown id");
        assert!(
            matches!(&e, ReportError::UnknownDocument { line: 2, id, .. } if id == "zz"),
            "{e}"
        );
        fs::write(&pairs, "{not json\n").expect("write");
        let e = render(dir.path(), &HtmlOptions::default()).expect_err("bad JSON");
        assert!(matches!(e, ReportError::Parse { line: 1, .. }), "{e}");
    }

    #[test]
    fn json_blocks_cannot_close_their_script_element() {
        let b = script_block("x", &vec!["</script><b>"]).expect("json");
        assert!(!b[..b.len() - 10].contains("</script"), "{b}");
        assert!(b.contains("\\u003c/script>\\u003cb>"), "{b}");
        let big = vec!["a".repeat(100); 2000];
        let z = script_block("y", &big).expect("json");
        assert!(z.contains("data-encoding=\"gzip-base64\""));
        assert!(z.len() < 20_000, "compressed: {} bytes", z.len());
    }
}
