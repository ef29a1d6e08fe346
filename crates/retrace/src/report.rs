//! Report: the machine-readable outputs (`pairs.jsonl`, `documents.jsonl`, `run.json`) and
//! the terminal summary. Output is deterministic: documents in input order, pairs sorted by
//! their ids.

use crate::pipeline::Scan;
use crate::relate::Relation;
use rayon::prelude::*;
use serde::Serialize;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

// The fields of a pair's record and its evidence are in alphabetical order, as they have
// been written from the start.
#[derive(Serialize)]
struct EvidenceOut {
    /// Byte range in a's original text.
    a: [usize; 2],
    b: [usize; 2],
    matched_tokens: u32,
    score: f64,
}

#[derive(Serialize)]
pub struct PairOut<'a> {
    a: &'a str,
    b: &'a str,
    coverage_a: f64,
    coverage_b: f64,
    density: f64,
    evidence: Vec<EvidenceOut>,
    kind: &'static str,
    score: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    shared_entities: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    similarity: Option<f64>,
}

#[derive(Serialize)]
struct DocOut<'a> {
    id: &'a str,
    lang: &'a str,
    chars: usize,
    main_chars: u32,
    tokens: u32,
    sentences: usize,
    boilerplate_lines: Vec<&'a str>,
    /// Whether an encoder trusts vectors in this document's language (null: no encoder).
    encoder_covered: Option<bool>,
    /// The encoder whose vectors this document's rewrite, translation and same-story
    /// relations rest on: the main one, the fallback for languages the main one does not
    /// cover, or null (lexical evidence only).
    encoder: Option<&'a str>,
    story: Option<&'a str>,
    parent: Option<&'a str>,
    why: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<&'a str>,
    /// The date provenance used (metadata or dateline), when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    dated: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
}

/// One relation as its output record, with `a`/`b` in id order.
pub fn pair_out<'s>(scan: &'s Scan, r: &Relation) -> PairOut<'s> {
    let (ia, ib) = (&scan.docs[r.a as usize].id, &scan.docs[r.b as usize].id);
    let swap = ia > ib;
    let (a, b) = if swap { (ib, ia) } else { (ia, ib) };
    let (ca, cb) = if swap {
        (r.coverage_b, r.coverage_a)
    } else {
        (r.coverage_a, r.coverage_b)
    };
    PairOut {
        a,
        b,
        kind: r.kind.as_str(),
        coverage_a: round4(ca),
        coverage_b: round4(cb),
        score: round4(r.score),
        density: round4(r.density),
        similarity: r.similarity.map(round4),
        shared_entities: r.shared_entities.map(round4),
        evidence: r
            .evidence
            .iter()
            .map(|p| {
                let (ra, rb) = if swap { (&p.b, &p.a) } else { (&p.a, &p.b) };
                EvidenceOut {
                    a: [ra.start, ra.end],
                    b: [rb.start, rb.end],
                    score: round4(p.score as f64),
                    matched_tokens: p.matched,
                }
            })
            .collect(),
    }
}

/// Write `pairs.jsonl`, `documents.jsonl` and `run.json` into `dir`.
pub fn write_outputs(scan: &Scan, dir: &Path, run_info: &serde_json::Value) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    // The two files side by side: one's writing overlaps the other's making of JSON.
    let (pairs, docs) = rayon::join(
        || -> std::io::Result<()> {
            // Pairs in id order, each turned into JSON only when written (holding every
            // pair's JSON at once was the peak of a scan's memory).
            let mut order: Vec<(&str, &str, usize)> = scan
                .relations
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let (ia, ib) = (&scan.docs[r.a as usize].id, &scan.docs[r.b as usize].id);
                    let (a, b) = if ia > ib { (ib, ia) } else { (ia, ib) };
                    (a.as_str(), b.as_str(), i)
                })
                .collect();
            order.par_sort_unstable();
            let mut w = BufWriter::new(fs::File::create(dir.join("pairs.jsonl"))?);
            for chunk in order.chunks(WRITE_CHUNK) {
                write_lines(&mut w, chunk, |&(_, _, i)| {
                    serde_json::to_vec(&pair_out(scan, &scan.relations[i]))
                })?;
            }
            w.flush()
        },
        || -> std::io::Result<()> {
            let mut w = BufWriter::new(fs::File::create(dir.join("documents.jsonl"))?);
            let indices: Vec<usize> = (0..scan.docs.len()).collect();
            for chunk in indices.chunks(WRITE_CHUNK) {
                write_lines(&mut w, chunk, |&i| serde_json::to_vec(&doc_out(scan, i)))?;
            }
            w.flush()
        },
    );
    pairs?;
    docs?;
    let mut w = BufWriter::new(fs::File::create(dir.join("run.json"))?);
    serde_json::to_writer_pretty(&mut w, run_info)?;
    w.write_all(b"\n")?;
    w.flush()
}

/// Records turned into JSON at once (in parallel), then written in order: a chunk's JSON is
/// all that is held.
const WRITE_CHUNK: usize = 4096;

/// Write one line of JSON per item, made in parallel, in order.
fn write_lines<T: Sync>(
    w: &mut impl Write,
    items: &[T],
    json: impl Fn(&T) -> serde_json::Result<Vec<u8>> + Sync + Send,
) -> std::io::Result<()> {
    let lines: Vec<serde_json::Result<Vec<u8>>> = items.par_iter().map(json).collect();
    for line in lines {
        let line: Vec<u8> = line?;
        w.write_all(&line)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// The output record of document `i`.
fn doc_out(scan: &Scan, i: usize) -> DocOut<'_> {
    let (d, p) = (&scan.docs[i], &scan.prepared[i]);
    {
        let parent = scan.parents.get(i).and_then(|p| p.as_ref());
        DocOut {
            id: &d.id,
            lang: p.lang,
            chars: d.text.chars().count(),
            main_chars: p.main_chars,
            tokens: p.main_tokens,
            sentences: p.sentences.len(),
            boilerplate_lines: p.boilerplate_lines(&d.text),
            encoder_covered: scan
                .encoder
                .as_ref()
                .map(|_| scan.covered[i] || scan.fallback_covered[i]),
            encoder: match (&scan.encoder, &scan.fallback) {
                (Some(e), _) if scan.covered[i] => Some(e.name.as_str()),
                (_, Some(f)) if scan.fallback_covered[i] => Some(f.name.as_str()),
                _ => None,
            },
            story: scan
                .stories
                .get(i)
                .map(|&s| scan.docs[s as usize].id.as_str()),
            parent: parent.map(|p| scan.docs[p.parent as usize].id.as_str()),
            why: parent.map(|p| p.why.as_str()),
            url: d.meta.url.as_deref(),
            date: d.meta.date.as_deref(),
            dated: scan.dates.get(i).and_then(|x| x.map(|x| x.to_string())),
            title: d.meta.title.as_deref(),
        }
    }
}

/// A short human-readable summary of a scan.
pub fn summary(scan: &Scan, top: usize) -> String {
    use std::fmt::Write as _;
    let s = &scan.stats;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} documents, {:.1} MB; {} boilerplate lines ({} template shapes); {} candidate pairs; {} related pairs",
        s.documents,
        s.bytes as f64 / 1e6,
        s.boilerplate_lines,
        s.template_shapes,
        s.candidates,
        s.relations
    );
    let mut by_kind: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in &scan.relations {
        *by_kind.entry(r.kind.as_str()).or_default() += 1;
    }
    if !by_kind.is_empty() {
        let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(out, "kinds: {}", kinds.join(", "));
    }
    let mut langs: std::collections::BTreeMap<&str, usize> = Default::default();
    for p in &scan.prepared {
        *langs.entry(p.lang).or_default() += 1;
    }
    let mut langs: Vec<_> = langs.into_iter().collect();
    langs.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
    let l: Vec<String> = langs
        .iter()
        .take(12)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let _ = writeln!(out, "languages: {}", l.join(", "));
    match &scan.encoder {
        Some(e) => {
            let langs_of = |keep: &dyn Fn(usize) -> bool| {
                let mut l: Vec<&str> = (0..scan.docs.len())
                    .filter(|&i| keep(i))
                    .map(|i| scan.prepared[i].lang)
                    .collect();
                l.sort_unstable();
                l.dedup();
                l.join(", ")
            };
            let lexical_only = |i: usize| !scan.covered[i] && !scan.fallback_covered[i];
            let n_off = (0..scan.docs.len()).filter(|&i| lexical_only(i)).count();
            let _ = writeln!(
                out,
                "encoder {}: {} sentences embedded; {} documents in languages it covers",
                e.name,
                s.sentences_embedded,
                scan.covered.iter().filter(|c| **c).count(),
            );
            let n_fallback = scan.fallback_covered.iter().filter(|c| **c).count();
            if let Some(f) = scan.fallback.as_ref().filter(|_| n_fallback > 0) {
                let _ = writeln!(
                    out,
                    "fallback encoder {}: {} sentences embedded for {} documents in languages {} does not cover ({})",
                    f.name,
                    s.fallback_sentences_embedded,
                    n_fallback,
                    e.name,
                    langs_of(&|i| scan.fallback_covered[i])
                );
            }
            if n_off > 0 {
                let _ = writeln!(
                    out,
                    "{} documents have lexical evidence only (languages no encoder covers: {})",
                    n_off,
                    langs_of(&lexical_only)
                );
            }
        }
        None => {
            let _ = writeln!(
                out,
                "no encoder: lexical reuse only (no rewrites, translations or same-story pairs)"
            );
        }
    }
    let mut sizes: std::collections::HashMap<u32, usize> = Default::default();
    for &st in &scan.stories {
        *sizes.entry(st).or_default() += 1;
    }
    let multi = sizes.values().filter(|&&n| n > 1).count();
    let roots = scan.parents.iter().filter(|p| p.is_none()).count();
    let _ = writeln!(
        out,
        "{} stories of more than one document; {} documents with a parent, {} without",
        multi,
        scan.docs.len() - roots,
        roots
    );
    let mut rels: Vec<&Relation> = scan.relations.iter().collect();
    rels.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then((x.a, x.b).cmp(&(y.a, y.b)))
    });
    for r in rels.iter().take(top) {
        let _ = writeln!(
            out,
            "  {:<11} {:>5.1}% of {} ⟷ {:>5.1}% of {}  ({} passages)",
            r.kind.as_str(),
            100.0 * r.coverage_a,
            scan.docs[r.a as usize].id,
            100.0 * r.coverage_b,
            scan.docs[r.b as usize].id,
            r.evidence.len()
        );
    }
    if rels.len() > top {
        let _ = writeln!(out, "  ... {} more in pairs.jsonl", rels.len() - top);
    }
    let t: Vec<String> = s
        .timings
        .iter()
        .map(|(k, v)| format!("{k} {v:.2}s"))
        .collect();
    let _ = writeln!(out, "time: {}", t.join(", "));
    out
}
