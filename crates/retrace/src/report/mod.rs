//! Report: the machine-readable outputs of a scan, `pairs.jsonl`, `documents.jsonl`,
//! `texts.jsonl` and `run.json` (README, "Outputs", is the contract), and the HTML report
//! made from them ([`html`]). Output is deterministic: documents in input order, pairs
//! sorted by their ids, numbers rounded to four decimals.
//!
//! Input: a [`Scan`] and a [`RunInfo`]; output: the files.

pub mod html;
#[cfg(feature = "parquet")]
pub mod parquet;

use crate::ingest::IngestReport;
use crate::pipeline::{Scan, Vectors};
use crate::relate::Relation;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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
    a: [u32; 2],
    b: [u32; 2],
    matched_tokens: u32,
    score: f64,
}

/// A pair's record in `pairs.jsonl`.
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
    /// The first document of its group of identical main texts, when it is not that one:
    /// every pair of the group is a copy, listed in `pairs.jsonl` or not
    /// ([`Scan::duplicate_of`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicate_of: Option<&'a str>,
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

/// The input ids of a relation's documents, in id order, and whether that swaps them.
fn ids<'s>(scan: &'s Scan, r: &Relation) -> (&'s str, &'s str, bool) {
    let (ia, ib) = (&scan.doc(r.a).doc.id, &scan.doc(r.b).doc.id);
    if ia > ib {
        (ib, ia, true)
    } else {
        (ia, ib, false)
    }
}

/// One relation as its output record, with `a`/`b` in id order.
pub fn pair_out<'s>(scan: &'s Scan, r: &Relation) -> PairOut<'s> {
    let (a, b, swap) = ids(scan, r);
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

/// A document's text in `texts.jsonl`: the original text the evidence's byte ranges
/// index into.
#[derive(Serialize, Deserialize)]
pub struct TextRecord<'a> {
    /// The document id.
    #[serde(borrow)]
    pub id: std::borrow::Cow<'a, str>,
    /// How the text was made from its file when it is not the file's bytes as they are
    /// (`html`, `windows-1252`, `utf-8, lossy`, ...; see `Meta::text_from`).
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub from: Option<std::borrow::Cow<'a, str>>,
    /// Its text, as read.
    #[serde(borrow)]
    pub text: std::borrow::Cow<'a, str>,
}

/// Write `pairs.jsonl`, `documents.jsonl`, `texts.jsonl` and `run.json` into `dir`.
pub fn write_outputs(scan: &Scan, dir: &Path, run_info: &RunInfo) -> std::io::Result<()> {
    let order: Vec<usize> = (0..scan.len()).collect();
    write_outputs_ordered(scan, dir, run_info, &order)
}

/// [`write_outputs`], with `documents.jsonl` (and `texts.jsonl`) in the order `order`
/// gives: the scan's document indices in the order the lines are written (the input's
/// order, for a scan of documents sorted by id).
pub fn write_outputs_ordered(
    scan: &Scan,
    dir: &Path,
    run_info: &RunInfo,
    order: &[usize],
) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    // Written whole into a folder beside them, then moved into place (run.json last): an
    // interrupted or failed writing leaves no output half written.
    let tmp = dir.join(format!(".retrace-writing-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let written = fs::create_dir(&tmp).and_then(|()| write_files(scan, &tmp, run_info, order));
    let moved = written.and_then(|()| {
        OUTPUT_FILES.iter().try_for_each(|f| {
            if tmp.join(f).exists() {
                fs::rename(tmp.join(f), dir.join(f))
            } else {
                // Not made by this run: none from an earlier one may stay.
                match fs::remove_file(dir.join(f)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                }
            }
        })
    });
    let _ = fs::remove_dir_all(&tmp);
    moved
}

/// The files [`write_outputs`] writes, in the order they are moved into place.
pub const OUTPUT_FILES: [&str; 4] = ["pairs.jsonl", "documents.jsonl", "texts.jsonl", "run.json"];

fn write_files(
    scan: &Scan,
    dir: &Path,
    run_info: &RunInfo,
    order: &[usize],
) -> std::io::Result<()> {
    // The files side by side: one's writing overlaps another's making of JSON.
    let (pairs, (docs, texts)) = rayon::join(
        || -> std::io::Result<()> {
            // Pairs in id order, each turned into JSON only when written (holding every
            // pair's JSON at once was the peak of a scan's memory).
            let mut order: Vec<(&str, &str, usize)> = scan
                .relations
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let (a, b, _) = ids(scan, r);
                    (a, b, i)
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
        || {
            rayon::join(
                || -> std::io::Result<()> {
                    let mut w = BufWriter::new(fs::File::create(dir.join("documents.jsonl"))?);
                    let indices = order;
                    let dups = scan.duplicate_of();
                    for chunk in indices.chunks(WRITE_CHUNK) {
                        write_lines(&mut w, chunk, |&i| {
                            serde_json::to_vec(&doc_out(scan, &dups, i))
                        })?;
                    }
                    w.flush()
                },
                || -> std::io::Result<()> {
                    let mut w = BufWriter::new(fs::File::create(dir.join("texts.jsonl"))?);
                    let indices = order;
                    for chunk in indices.chunks(WRITE_CHUNK) {
                        write_lines(&mut w, chunk, |&i| {
                            let d = scan.doc(crate::id::DocId::new(i)).doc;
                            serde_json::to_vec(&TextRecord {
                                id: d.id.as_str().into(),
                                from: d.meta.text_from.as_deref().map(Into::into),
                                text: d.text.as_str().into(),
                            })
                        })?;
                    }
                    w.flush()
                },
            )
        },
    );
    pairs?;
    docs?;
    texts?;
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
fn doc_out<'s>(scan: &'s Scan, dups: &[Option<crate::id::DocId>], i: usize) -> DocOut<'s> {
    let sd = scan.doc(crate::id::DocId::new(i));
    let (d, p) = (sd.doc, sd.prepared);
    let parent = sd.parent;
    DocOut {
        id: &d.id,
        lang: p.lang,
        chars: d.text.chars().count(),
        main_chars: p.main_chars,
        tokens: sd.tokens,
        sentences: p.sentences.len(),
        boilerplate_lines: p.boilerplate_lines(&d.text),
        encoder_covered: scan.encoder.as_ref().map(|_| sd.vectors != Vectors::None),
        encoder: match (sd.vectors, &scan.encoder, &scan.fallback) {
            (Vectors::Primary, Some(e), _) => Some(e.name.as_str()),
            (Vectors::Fallback, _, Some(f)) => Some(f.name.as_str()),
            _ => None,
        },
        story: Some(scan.doc(sd.story).doc.id.as_str()),
        parent: parent.map(|p| scan.doc(p.parent).doc.id.as_str()),
        why: parent.map(|p| p.why.as_str()),
        duplicate_of: dups[i].map(|f| scan.doc(f).doc.id.as_str()),
        url: d.meta.url.as_deref(),
        date: d.meta.date.as_deref(),
        dated: p.date.map(|x| x.to_string()),
        title: d.meta.title.as_deref(),
    }
}

/// `run.json`: what a run read, with which encoders, and its counters and timings. Fields
/// are in alphabetical order, as written from the start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The main encoder.
    pub encoder: Option<EncoderRecord>,
    /// The fallback encoder, when one was used.
    pub fallback_encoder: Option<FallbackRecord>,
    /// What ingest read and skipped.
    pub ingest: IngestRecord,
    /// The inputs as given.
    pub inputs: Vec<String>,
    /// The options of the run as given (flag name → value), for the record.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// The version of retrace.
    pub retrace: String,
    /// Counters and seconds per stage.
    pub stats: StatsRecord,
    /// What the run went without, and why (e.g. an encoder not installed under
    /// `--offline`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
}

/// The main encoder in `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderRecord {
    /// Its arithmetic, where it offers a choice.
    pub arithmetic: Option<String>,
    /// Vector dimension.
    pub dim: usize,
    /// Languages it covers.
    pub languages: Vec<String>,
    /// Its name.
    pub name: String,
}

/// The fallback encoder in `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FallbackRecord {
    /// Vector dimension.
    pub dim: usize,
    /// Documents whose relations by meaning rest on it.
    pub documents: usize,
    /// Languages it covers.
    pub languages: Vec<String>,
    /// Its name.
    pub name: String,
}

/// Ingest's account in `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestRecord {
    /// Bytes of text read.
    pub bytes: usize,
    /// Documents read.
    pub documents: usize,
    /// Files not read because of their extension.
    pub ignored_files: usize,
    /// Documents decoded lossily.
    pub lossy: usize,
    /// Skipped inputs by reason.
    pub skipped: BTreeMap<String, usize>,
    /// Every warning, as `source: message`.
    pub warnings: Vec<String>,
}

/// Counters and timings in `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsRecord {
    /// Passage anchors.
    pub anchors: usize,
    /// Boilerplate lines.
    pub boilerplate_lines: usize,
    /// Lexical candidate pairs.
    pub candidates: usize,
    /// Documents.
    pub documents: usize,
    /// Sentences the fallback encoder embedded.
    pub fallback_sentences_embedded: usize,
    /// Documents longer than the sentences embedded (relations by meaning read their first
    /// 400 sentences).
    #[serde(default)]
    pub long_documents: usize,
    /// Related pairs.
    pub relations: usize,
    /// Same-story candidates dropped as reports of different events (stage `events`).
    #[serde(default)]
    pub same_story_dropped: usize,
    /// Seconds per stage (rounded to milliseconds).
    pub seconds: BTreeMap<String, f64>,
    /// Pairs aligned by meaning.
    pub semantic_candidates: usize,
    /// Sentences the main encoder embedded.
    pub sentences_embedded: usize,
    /// Template line shapes learnt.
    pub template_shapes: usize,
}

impl RunInfo {
    /// The record of a scan of `inputs` that ingest read as `ingest` reports.
    pub fn new(inputs: &[String], ingest: &IngestReport, scan: &Scan) -> Self {
        let s = &scan.stats;
        RunInfo {
            encoder: scan.encoder.as_ref().map(|e| EncoderRecord {
                arithmetic: e.arithmetic.clone(),
                dim: e.dim,
                languages: e.languages.clone(),
                name: e.name.clone(),
            }),
            fallback_encoder: scan.fallback.as_ref().map(|e| FallbackRecord {
                dim: e.dim,
                documents: scan
                    .documents()
                    .filter(|d| d.vectors == Vectors::Fallback)
                    .count(),
                languages: e.languages.clone(),
                name: e.name.clone(),
            }),
            ingest: IngestRecord {
                bytes: ingest.bytes,
                documents: ingest.documents,
                ignored_files: ingest.ignored_files,
                lossy: ingest.lossy,
                skipped: ingest.skipped.clone(),
                warnings: ingest
                    .warnings
                    .iter()
                    .map(|w| format!("{}: {}", w.source, w.message))
                    .collect(),
            },
            inputs: inputs.to_vec(),
            options: BTreeMap::new(),
            notices: Vec::new(),
            retrace: env!("CARGO_PKG_VERSION").to_string(),
            stats: StatsRecord {
                anchors: s.anchors,
                boilerplate_lines: s.boilerplate_lines,
                candidates: s.candidates,
                documents: s.documents,
                fallback_sentences_embedded: s.fallback_sentences_embedded,
                long_documents: s.long_documents,
                relations: s.relations,
                same_story_dropped: s.same_story_dropped,
                seconds: s
                    .timings
                    .iter()
                    .map(|(k, v)| (k.clone(), (v * 1000.0).round() / 1000.0))
                    .collect(),
                semantic_candidates: s.semantic_candidates,
                sentences_embedded: s.sentences_embedded,
                template_shapes: s.template_shapes,
            },
        }
    }
}

/// One judged pair's record in the evidence file ([`write_evidence`]): the measures the
/// rules read, with `a`/`b` as in the scan (input order) and coverage following them.
#[derive(Serialize)]
struct EvidenceRecord<'a> {
    a: &'a str,
    b: &'a str,
    lang_a: &'a str,
    lang_b: &'a str,
    tokens_a: u32,
    tokens_b: u32,
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    containment: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lexical: Option<LexicalRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    meaning: Option<MeaningRecord>,
}

#[derive(Serialize)]
struct LexicalRecord {
    matched: u32,
    density: f64,
    coverage_a: f64,
    coverage_b: f64,
    passages: usize,
}

#[derive(Serialize)]
struct MeaningRecord {
    beads: usize,
    mean_sim: f64,
    coverage_a: f64,
    coverage_b: f64,
    background: f64,
    doc_cos: f64,
    shared_entities: f64,
    /// Sentences of each side that were embedded.
    sentences_a: usize,
    sentences_b: usize,
    bead_sims: Vec<f64>,
}

/// Write every pair the scan judged ([`Scan::judged`], kept with
/// [`crate::pipeline::ScanOptions::keep_evidence`]) as JSON Lines: what was known of it and
/// the kind it got. For calibrating the rules and explaining them.
pub fn write_evidence(scan: &Scan, path: &Path) -> std::io::Result<()> {
    // Written beside it, then moved into place.
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".retrace-writing-{}", std::process::id()));
    let tmp = path.with_file_name(name);
    let written = write_evidence_to(scan, &tmp).and_then(|()| fs::rename(&tmp, path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

fn write_evidence_to(scan: &Scan, path: &Path) -> std::io::Result<()> {
    let mut w = BufWriter::new(fs::File::create(path)?);
    for j in &scan.judged {
        let ev = &j.evidence;
        let (da, db) = (scan.doc(ev.pair.a), scan.doc(ev.pair.b));
        let rec = EvidenceRecord {
            a: &da.doc.id,
            b: &db.doc.id,
            lang_a: da.prepared.lang,
            lang_b: db.prepared.lang,
            tokens_a: da.tokens,
            tokens_b: db.tokens,
            kind: j.kind.map(|k| k.as_str()),
            containment: ev.containment.map(round4),
            lexical: ev.lexical.as_ref().map(|al| LexicalRecord {
                matched: al.matched(),
                density: round4(al.density()),
                coverage_a: round4(al.coverage_a()),
                coverage_b: round4(al.coverage_b()),
                passages: al.passages.len(),
            }),
            meaning: ev.meaning.as_ref().map(|m| {
                let al = &m.alignment;
                MeaningRecord {
                    beads: al.beads.len(),
                    mean_sim: round4(al.mean_sim),
                    coverage_a: round4(al.coverage_a),
                    coverage_b: round4(al.coverage_b),
                    background: round4(al.background),
                    doc_cos: round4(m.doc_cos),
                    shared_entities: round4(m.shared_entities),
                    sentences_a: da.prepared.sentences.len().min(crate::embed::MAX_SENTENCES),
                    sentences_b: db.prepared.sentences.len().min(crate::embed::MAX_SENTENCES),
                    bead_sims: al.beads.iter().map(|b| round4(b.sim as f64)).collect(),
                }
            }),
        };
        serde_json::to_writer(&mut w, &rec)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::IngestReport;
    use crate::pipeline::{scan, Encoders, ScanOptions};
    use crate::progress::NoProgress;
    use crate::testing::news;

    fn lines(path: &Path) -> Vec<serde_json::Value> {
        fs::read_to_string(path)
            .expect("written")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    fn write(docs: Vec<crate::Document>, dir: &Path) -> Scan {
        let s = scan(
            docs,
            &ScanOptions::default(),
            &Encoders::default(),
            &NoProgress,
        )
        .expect("a lexical scan");
        let info = RunInfo::new(&["examples/news".into()], &IngestReport::default(), &s);
        write_outputs(&s, dir, &info).expect("outputs");
        s
    }

    #[test]
    fn outputs_follow_the_contract_and_do_not_depend_on_input_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let s = write(news(), dir.path());
        let pairs = lines(&dir.path().join("pairs.jsonl"));
        let ids: Vec<(&str, &str, &str)> = pairs
            .iter()
            .map(|p| {
                let f = |k: &str| p[k].as_str().expect("a string");
                (f("a"), f("b"), f("kind"))
            })
            .collect();
        assert_eq!(
            ids,
            vec![
                (
                    "coastal-news-republished.txt",
                    "harbour-original.txt",
                    "copy"
                ),
                (
                    "coastal-news-republished.txt",
                    "weekly-digest-excerpt.md",
                    "copy"
                ),
                ("harbour-original.txt", "weekly-digest-excerpt.md", "copy"),
            ]
        );
        // Coverage follows the ids' order: the excerpt is covered whole by the article.
        let p = &pairs[2];
        assert!(p["coverage_b"].as_f64().expect("coverage") > 0.95, "{p}");
        assert!(p["coverage_a"].as_f64().expect("coverage") < 0.5, "{p}");
        // Evidence ranges are byte ranges of the texts, a's first.
        let (a, b) = (
            &s.doc(crate::DocId(0)).doc.text,
            &s.doc(crate::DocId(2)).doc.text,
        );
        let ev = &p["evidence"][0];
        let range = |v: &serde_json::Value| {
            v.as_array()
                .expect("a range")
                .iter()
                .map(|x| x.as_u64().expect("n") as usize)
                .collect::<Vec<_>>()
        };
        let (ra, rb) = (range(&ev["a"]), range(&ev["b"]));
        let words = |t: &str| {
            t.to_lowercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        let (ta, tb) = (words(&a[ra[0]..ra[1]]), words(&b[rb[0]..rb[1]]));
        assert!(
            ta.contains("publish the tender for the construction work"),
            "{ta}"
        );
        assert_eq!(ta, tb, "a verbatim passage (tokens are case-folded)");
        let docs = lines(&dir.path().join("documents.jsonl"));
        assert_eq!(docs.len(), 5);
        // texts.jsonl: each document's text as read, in input order.
        let texts = lines(&dir.path().join("texts.jsonl"));
        assert_eq!(texts.len(), 5);
        for (i, t) in texts.iter().enumerate() {
            let d = s.doc(crate::DocId(i as u32)).doc;
            assert_eq!(t["id"], d.id.as_str());
            assert_eq!(t["text"], d.text.as_str());
        }
        assert_eq!(docs[0]["id"], "harbour-original.txt");
        // The article, its republication and the excerpt are one story with one root: the
        // article, dated two days before its republication (which also lacks its dateline).
        for d in &docs[..3] {
            assert_eq!(d["story"], "harbour-original.txt");
        }
        assert_eq!(docs[0]["parent"], serde_json::Value::Null, "{}", docs[0]);
        assert_eq!(docs[1]["parent"], "harbour-original.txt");
        assert_eq!(docs[3]["story"], "coastal-news-festival.txt");
        assert_eq!(docs[3]["parent"], serde_json::Value::Null);
        assert!(
            docs[1]["boilerplate_lines"]
                .as_array()
                .expect("lines")
                .len()
                >= 2
        );
        assert_eq!(
            docs[1]["encoder_covered"],
            serde_json::Value::Null,
            "no encoder"
        );
        let run: RunInfo = serde_json::from_str(
            &fs::read_to_string(dir.path().join("run.json")).expect("run.json"),
        )
        .expect("run.json reads back");
        assert_eq!(run.stats.relations, 3);
        assert_eq!(run.stats.documents, 5);
        assert!(run.stats.seconds.contains_key("align"));
        // The same collection in another order gives the same pairs, byte for byte.
        let other = tempfile::tempdir().expect("temp dir");
        let mut docs = news();
        docs.reverse();
        write(docs, other.path());
        let read = |d: &Path| fs::read(d.join("pairs.jsonl")).expect("pairs");
        assert_eq!(read(dir.path()), read(other.path()));
    }
}
