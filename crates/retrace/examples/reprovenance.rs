//! Recompute provenance from a finished run, to study its rules without re-running a scan:
//! `reprovenance RUN_DIR OUT_DIR` reads RUN_DIR's pairs.jsonl and documents.jsonl and
//! writes OUT_DIR/documents.jsonl (every document line with `parent` and `why` decided
//! again) and a copy of pairs.jsonl, so that `score.py GOLD OUT_DIR` scores the new parents.
//! Passages keep their byte ranges only (pairs.jsonl holds no token ranges).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Write};

use retrace::align::Passage;
use retrace::id::DocId;
use retrace::prepare::dates::parse_iso;
use retrace::prepare::langid::known_code;
use retrace::relate::provenance::{provenance, DocFacts, ProvenanceOptions};
use retrace::relate::{Kind, Relation};
use serde_json::Value;

fn lines(path: &std::path::Path) -> Result<Vec<Value>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    for line in BufReader::new(std::fs::File::open(path)?).lines() {
        let line = line?;
        if !line.trim().is_empty() {
            out.push(serde_json::from_str(&line)?);
        }
    }
    Ok(out)
}

fn range(v: &Value) -> std::ops::Range<u32> {
    let at = |i: usize| v.get(i).and_then(Value::as_u64).unwrap_or(0) as u32;
    at(0)..at(1)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (run, out) = match args.as_slice() {
        [r, o] => (std::path::Path::new(r), std::path::Path::new(o)),
        _ => return Err("usage: reprovenance RUN_DIR OUT_DIR".into()),
    };
    let mut docs = lines(&run.join("documents.jsonl"))?;
    let index: HashMap<String, u32> = docs
        .iter()
        .enumerate()
        .filter_map(|(i, d)| Some((d.get("id")?.as_str()?.to_string(), i as u32)))
        .collect();
    let facts: Vec<DocFacts> = docs
        .iter()
        .map(|d| DocFacts {
            date: d.get("dated").and_then(Value::as_str).and_then(parse_iso),
            size: d.get("tokens").and_then(Value::as_u64).unwrap_or(0) as u32,
            sentences: d.get("sentences").and_then(Value::as_u64).unwrap_or(0) as u32,
            lang: d
                .get("lang")
                .and_then(Value::as_str)
                .and_then(known_code)
                .unwrap_or("und"),
        })
        .collect();
    let mut relations = Vec::new();
    for p in lines(&run.join("pairs.jsonl"))? {
        let id = |k: &str| p.get(k).and_then(Value::as_str).and_then(|s| index.get(s));
        let (Some(&a), Some(&b)) = (id("a"), id("b")) else {
            continue;
        };
        let kind: Kind = match p.get("kind").cloned().map(serde_json::from_value) {
            Some(Ok(k)) => k,
            _ => continue,
        };
        let num = |k: &str| p.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        let evidence = p
            .get("evidence")
            .and_then(Value::as_array)
            .map(|ev| {
                ev.iter()
                    .map(|e| Passage {
                        tokens_a: 0..0,
                        tokens_b: 0..0,
                        a: range(&e["a"]),
                        b: range(&e["b"]),
                        matched: e.get("matched_tokens").and_then(Value::as_u64).unwrap_or(0)
                            as u32,
                        score: e.get("score").and_then(Value::as_f64).unwrap_or(0.0) as f32,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let (a, b, ca, cb) = if a < b {
            (a, b, num("coverage_a"), num("coverage_b"))
        } else {
            (b, a, num("coverage_b"), num("coverage_a"))
        };
        relations.push(Relation {
            a: DocId(a),
            b: DocId(b),
            kind,
            coverage_a: ca,
            coverage_b: cb,
            score: num("score"),
            density: num("density"),
            similarity: p.get("similarity").and_then(Value::as_f64),
            shared_entities: p.get("shared_entities").and_then(Value::as_f64),
            evidence,
        });
    }
    relations.sort_by_key(|r| (r.a, r.b));
    let parents = provenance(&relations, &facts, &ProvenanceOptions::default());
    std::fs::create_dir_all(out)?;
    std::fs::copy(run.join("pairs.jsonl"), out.join("pairs.jsonl"))?;
    let ids: Vec<String> = docs
        .iter()
        .map(|d| {
            d.get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        })
        .collect();
    let mut w = BufWriter::new(std::fs::File::create(out.join("documents.jsonl"))?);
    for (d, p) in docs.iter_mut().zip(&parents) {
        let parent = p
            .as_ref()
            .and_then(|p| ids.get(p.parent.index()).cloned())
            .map_or(Value::Null, Value::String);
        d["parent"] = parent;
        d["why"] = p
            .as_ref()
            .map_or(Value::Null, |p| Value::String(p.why.clone()));
        writeln!(w, "{d}")?;
    }
    w.flush()?;
    Ok(())
}
