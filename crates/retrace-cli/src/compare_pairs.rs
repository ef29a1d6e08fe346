//! `retrace compare --pairs PAIRS.jsonl`: score many given pairs in one process (encoders
//! loaded once, every document prepared and embedded once), one JSON line out per record
//! in.

use anyhow::{bail, Context, Result};
use retrace::document::{Document, Source};
use retrace::ingest::{ingest, Input};
use retrace::pipeline::{score_pairs, PairScore, ScanOptions};
use retrace::progress::NoProgress;
use retrace::DocId;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

/// The options of the batch mode (flattened into `compare`'s).
#[derive(clap::Args)]
pub struct PairsArgs {
    /// Score every pair of this JSON Lines file: each line has `text_a` and `text_b`
    /// (optionally `lang_a`, `lang_b`), or ids `a` and `b` into --corpus; other fields are
    /// echoed. Writes one JSON line per input line, in order.
    #[arg(long, value_name = "PAIRS.jsonl", conflicts_with_all = ["a", "b", "width"])]
    pub pairs: Option<PathBuf>,
    /// Where --pairs writes its lines (- for standard output).
    #[arg(long, value_name = "FILE", default_value = "-", requires = "pairs")]
    pub out: String,
    /// With --pairs: a malformed line is a warning (its output line holds an `error`
    /// field) instead of an error.
    #[arg(long, requires = "pairs")]
    pub skip_bad_records: bool,
}

/// One input record, read.
struct Record {
    /// The input's fields less the texts, echoed.
    echo: Map<String, Value>,
    /// The two documents (positions in the document list), or what is wrong with the line.
    pair: Result<(DocId, DocId), String>,
}

/// One side of a record: a text given inline, or an id into the corpus.
enum SideRef {
    Text { text: String, lang: Option<String> },
    Id(String),
}

/// The documents the records name: the corpus's, then the distinct inline texts.
struct Docs {
    docs: Vec<Document>,
    by_id: HashMap<String, usize>,
    by_text: HashMap<(String, Option<String>), usize>,
    /// Whether a corpus was given.
    corpus: bool,
    file: Arc<str>,
}

impl Docs {
    fn side(&mut self, side: SideRef, line: usize, which: &str) -> Result<usize, String> {
        match side {
            SideRef::Id(id) => {
                if !self.corpus {
                    return Err(format!(
                        "`{which}` names document {id:?} but there is no `text_{which}` and no --corpus"
                    ));
                }
                self.by_id
                    .get(&id)
                    .copied()
                    .ok_or_else(|| format!("no document with id {id:?} in the corpus"))
            }
            SideRef::Text { text, lang } => {
                let key = (text, lang);
                if let Some(&d) = self.by_text.get(&key) {
                    return Ok(d);
                }
                let (text, lang) = key.clone();
                let mut doc = Document::new(format!("{}:{line}:{which}", self.file), text);
                doc.meta.source = Source {
                    file: self.file.clone(),
                    line,
                };
                doc.meta.lang = lang;
                self.docs.push(doc);
                self.by_text.insert(key, self.docs.len() - 1);
                Ok(self.docs.len() - 1)
            }
        }
    }

    /// A second copy of document `d`, for a pair of a document with itself.
    fn copy_of(&mut self, d: usize) -> usize {
        let mut doc = self.docs[d].clone();
        doc.id.push_str(" (again)");
        self.docs.push(doc);
        self.docs.len() - 1
    }
}

/// Read side `which` (`a` or `b`) of a record.
fn side_of(obj: &Map<String, Value>, which: &str) -> Result<SideRef, String> {
    let text_key = format!("text_{which}");
    match obj.get(&text_key) {
        Some(Value::String(t)) => {
            let lang = match obj.get(&format!("lang_{which}")) {
                None | Some(Value::Null) => None,
                Some(Value::String(l)) => Some(l.trim().to_ascii_lowercase()),
                Some(_) => return Err(format!("`lang_{which}` is not a string")),
            };
            Ok(SideRef::Text {
                text: t.clone(),
                lang,
            })
        }
        Some(_) => Err(format!("`{text_key}` is not a string")),
        None => match obj.get(which) {
            Some(Value::String(s)) => Ok(SideRef::Id(s.clone())),
            Some(Value::Number(n)) => Ok(SideRef::Id(n.to_string())),
            Some(_) => Err(format!("`{which}` is not a string or number")),
            None => Err(format!("neither `{text_key}` nor `{which}`")),
        },
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The output line of a scored pair.
fn scored(mut echo: Map<String, Value>, s: &PairScore) -> Value {
    let evidence: Vec<Value> = s
        .evidence
        .iter()
        .map(|p| {
            json!({
                "a": [p.a.start, p.a.end],
                "b": [p.b.start, p.b.end],
                "score": round4(p.score as f64),
                "matched_tokens": p.matched,
            })
        })
        .collect();
    let fields = [
        ("kind", json!(s.kind.map(|k| k.as_str()))),
        ("coverage_a", json!(round4(s.coverage_a))),
        ("coverage_b", json!(round4(s.coverage_b))),
        ("similarity", json!(s.similarity.map(round4))),
        ("shared_entities", json!(s.shared_entities.map(round4))),
        ("text_similarity", json!(s.text_similarity.map(round4))),
        ("first_similarity", json!(s.first_similarity.map(round4))),
        ("evidence", Value::Array(evidence)),
        ("same_event", json!(round4(s.same_event))),
        (
            "facts",
            json!({
                "names": round4(s.facts.names),
                "numbers": round4(s.facts.numbers),
                "shared_names": s.facts.shared_names,
                "shared_numbers": s.facts.shared_numbers,
            }),
        ),
        ("encoder", json!(s.encoder)),
    ];
    for (k, v) in fields {
        echo.insert(k.to_string(), v);
    }
    Value::Object(echo)
}

pub fn run(args: &crate::compare::Args, pairs_path: &std::path::Path) -> Result<()> {
    let opts = &args.pairs;
    let file: Arc<str> = pairs_path.display().to_string().into();
    let mut docs = Docs {
        docs: Vec::new(),
        by_id: HashMap::new(),
        by_text: HashMap::new(),
        corpus: args.corpus.is_some(),
        file: file.clone(),
    };
    if let Some(c) = &args.corpus {
        let ing = ingest(
            &[Input::Path(c.clone())],
            &args.fields.options(opts.skip_bad_records),
        )
        .map_err(crate::scan::ingest_error)
        .with_context(|| format!("reading the collection {}", c.display()))?;
        for w in &ing.report.warnings {
            eprintln!("warning: {}: {}", w.source, w.message);
        }
        docs.docs = ing.docs;
        docs.by_id = docs
            .docs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id.clone(), i))
            .collect();
    }
    let input = std::fs::File::open(pairs_path)
        .with_context(|| format!("opening the pairs file {file}"))?;
    let mut records: Vec<Record> = Vec::new();
    for (i, line) in std::io::BufReader::new(input).lines().enumerate() {
        let n = i + 1;
        let line = line.with_context(|| format!("{file}:{n}: reading"))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Result<Map<String, Value>, String> = match serde_json::from_str(&line) {
            Ok(Value::Object(o)) => Ok(o),
            Ok(_) => Err("not a JSON object".to_string()),
            Err(e) => Err(format!("invalid JSON: {e}")),
        };
        let (echo, pair) = match parsed {
            Ok(obj) => {
                let pair = side_of(&obj, "a")
                    .and_then(|a| docs.side(a, n, "a"))
                    .and_then(|a| Ok((a, docs.side(side_of(&obj, "b")?, n, "b")?)))
                    .map(|(a, b)| {
                        let b = if a == b { docs.copy_of(b) } else { b };
                        (DocId::new(a), DocId::new(b))
                    });
                let mut echo = obj;
                echo.remove("text_a");
                echo.remove("text_b");
                (echo, pair)
            }
            Err(e) => (Map::new(), Err(e)),
        };
        let pair = pair.map_err(|e| format!("{file}:{n}: malformed pair: {e}"));
        if let Err(e) = &pair {
            if !opts.skip_bad_records {
                bail!("{e} (use --skip-bad-records to skip such lines)");
            }
            eprintln!("warning: {e}; skipped");
        }
        records.push(Record { echo, pair });
    }
    let mut encoders = args.encoder.load_all()?;
    let mut scan_opts = ScanOptions::default();
    args.thresholds
        .apply(&mut scan_opts, &mut encoders.calibration);
    let wanted: Vec<(DocId, DocId)> = records.iter().filter_map(|r| r.pair.clone().ok()).collect();
    let t0 = std::time::Instant::now();
    let scores = score_pairs(
        &docs.docs,
        &wanted,
        &scan_opts,
        &encoders.pipeline(),
        &NoProgress,
    )
    .context("scoring the pairs")?;
    let secs = t0.elapsed().as_secs_f64();
    let sink: Box<dyn Write> = match opts.out.as_str() {
        "-" => Box::new(std::io::stdout().lock()),
        path => Box::new(std::fs::File::create(path).with_context(|| format!("creating {path}"))?),
    };
    let mut w = BufWriter::new(sink);
    let mut scores = scores.iter();
    for r in records {
        let v = match &r.pair {
            Ok(_) => {
                let s = scores.next().context("a score for every pair")?;
                scored(r.echo, s)
            }
            Err(e) => {
                let mut echo = r.echo;
                echo.insert("error".into(), json!(e));
                Value::Object(echo)
            }
        };
        serde_json::to_writer(&mut w, &v).context("writing a pair")?;
        w.write_all(b"\n").context("writing a pair")?;
    }
    w.flush().with_context(|| format!("writing {}", opts.out))?;
    eprintln!(
        "scored {} pairs of {} documents in {secs:.2}s ({:.1} pairs/s)",
        wanted.len(),
        docs.docs.len(),
        wanted.len() as f64 / secs.max(1e-9)
    );
    Ok(())
}
