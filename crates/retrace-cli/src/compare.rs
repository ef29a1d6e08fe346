//! `retrace compare A B`: explain one pair in the terminal.

use anyhow::{bail, Context, Result};
use retrace::document::Document;
use retrace::ingest::{ingest, read_text_document, Input};
use retrace::pipeline::ScanOptions;
use retrace::progress::NoProgress;
use retrace::DocId;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// First document: a file, or an id with --corpus.
    #[arg(required_unless_present = "pairs")]
    pub a: Option<String>,
    /// Second document: a file, or an id with --corpus.
    #[arg(required_unless_present = "pairs")]
    pub b: Option<String>,
    /// Look A and B up by id in this collection (a directory or JSONL file); boilerplate is
    /// then learnt from the whole collection.
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    #[command(flatten)]
    pub fields: crate::scan::FieldArgs,
    #[command(flatten)]
    pub encoder: crate::scan::EncoderArgs,
    #[command(flatten)]
    pub thresholds: crate::scan::ThresholdArgs,
    /// Width of each column of the side-by-side view.
    #[arg(long, default_value_t = 60)]
    pub width: usize,
    #[command(flatten)]
    pub pairs: crate::compare_pairs::PairsArgs,
}

/// One file as ingest reads a directory's files (its path is its id); a file ingest skips
/// (missing, binary, empty, unreadable) is an error saying why.
fn read_file(p: &str) -> Result<Document> {
    let path = Path::new(p);
    if !path.is_file() {
        bail!("{p}: no such file");
    }
    let mut ing = read_text_document(path, p);
    for w in &ing.report.warnings {
        eprintln!("warning: {}: {}", w.source, w.message);
    }
    match ing.docs.pop() {
        Some(d) => Ok(d),
        None => {
            let why = ing.report.warnings.last().map(|w| w.message.as_str());
            bail!("{p}: {}", why.unwrap_or("nothing to compare"))
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    if let Some(p) = &args.pairs.pairs {
        return crate::compare_pairs::run(&args, p);
    }
    let (Some(a), Some(b)) = (args.a.clone(), args.b.clone()) else {
        bail!("compare needs two documents, or --pairs");
    };
    let docs = match &args.corpus {
        Some(c) => {
            let ing = ingest(&[Input::Path(c.clone())], &args.fields.options(true))
                .map_err(crate::scan::ingest_error)
                .context("reading the collection")?;
            for id in [&a, &b] {
                if !ing.docs.iter().any(|d| &d.id == id) {
                    bail!("no document with id {id:?} in {}", c.display());
                }
            }
            ing.docs
        }
        None => vec![read_file(&a)?, read_file(&b)?],
    };
    let ia = docs
        .iter()
        .position(|d| d.id == a)
        .context("first document")?;
    let ib = docs
        .iter()
        .position(|d| d.id == b)
        .context("second document")?;
    if ia == ib {
        bail!("A and B are the same document");
    }
    let mut encoders = args.encoder.load_all()?;
    let mut opts = ScanOptions::default();
    args.thresholds.apply(&mut opts, &mut encoders.calibration);
    let (ia, ib) = (DocId::new(ia), DocId::new(ib));
    let pair = retrace::Pair::new(ia, ib);
    let examined = retrace::pipeline::examine(&docs, pair, &opts, &encoders.pipeline())?;
    let s = encoders.scan(docs, &opts, &NoProgress)?;
    let rel = s.relations.iter().find(|r| r.pair() == pair);
    let (sa, sb) = (s.doc(ia), s.doc(ib));
    let (da, db) = (&sa.doc, &sb.doc);
    println!("A: {} ({}, {} tokens)", da.id, sa.prepared.lang, sa.tokens);
    println!("B: {} ({}, {} tokens)", db.id, sb.prepared.lang, sb.tokens);
    let Some(r) = rel else {
        println!("kind: unrelated (no reused passage or shared story found)");
        print_checks(&examined);
        return Ok(());
    };
    let swap = ia > ib;
    let (ca, cb) = if swap {
        (r.coverage_b, r.coverage_a)
    } else {
        (r.coverage_a, r.coverage_b)
    };
    println!(
        "kind: {}   coverage of A by B: {:.1}%   coverage of B by A: {:.1}%   score {:.3}",
        r.kind.as_str(),
        100.0 * ca,
        100.0 * cb,
        r.score
    );
    print_checks(&examined);
    let w = args.width.max(20);
    for (k, p) in r.evidence.iter().enumerate() {
        let (ra, rb) = if swap { (&p.b, &p.a) } else { (&p.a, &p.b) };
        println!(
            "\n── passage {} (A bytes {}..{}, B bytes {}..{}, {}) {}",
            k + 1,
            ra.start,
            ra.end,
            rb.start,
            rb.end,
            if p.matched > 0 {
                format!("{:.0}% verbatim", 100.0 * p.score)
            } else {
                format!("similarity {:.2}", p.score)
            },
            "─".repeat(20)
        );
        let span = |r: &std::ops::Range<u32>| r.start as usize..r.end as usize;
        let la = wrap(&da.text[span(ra)], w);
        let lb = wrap(&db.text[span(rb)], w);
        for i in 0..la.len().max(lb.len()) {
            let l = la.get(i).map(String::as_str).unwrap_or("");
            let rt = lb.get(i).map(String::as_str).unwrap_or("");
            let pad = w.saturating_sub(l.chars().count());
            println!("{l}{} │ {rt}", " ".repeat(pad));
        }
    }
    Ok(())
}

/// Every rule's measures against its thresholds, a line a rule: what decided the pair's
/// kind, or by how much each rule missed.
fn print_checks(ex: &retrace::pipeline::Examined) {
    let what = match &ex.encoder {
        Some(e) => format!("lexical alignment and meaning by {e}"),
        None => "lexical alignment only (no encoder reads both languages)".to_string(),
    };
    println!("rules ({what}; ✓ met, ✗ missed by how much):");
    if ex.checks.is_empty() {
        println!("  none applies: no passage is shared and there are no vectors to compare");
    }
    let mut rules: Vec<&str> = Vec::new();
    for c in &ex.checks {
        if !rules.contains(&c.rule) {
            rules.push(c.rule);
        }
    }
    for rule in rules {
        let parts: Vec<String> = ex
            .checks
            .iter()
            .filter(|c| c.rule == rule)
            .map(|c| {
                let (op, gap) = if c.at_least {
                    ("≥", c.threshold - c.value)
                } else {
                    ("≤", c.value - c.threshold)
                };
                if c.passes() {
                    format!("{} {:.2} {op} {:.2} ✓", c.measure, c.value, c.threshold)
                } else {
                    format!(
                        "{} {:.2} {op} {:.2} ✗ (by {:.2})",
                        c.measure, c.value, c.threshold, gap
                    )
                }
            })
            .collect();
        let met = ex
            .checks
            .iter()
            .filter(|c| c.rule == rule)
            .all(|c| c.passes());
        println!(
            "  {:<20} {} {}",
            rule,
            if met { "met:   " } else { "missed:" },
            parts.join("; ")
        );
    }
}

/// Greedy word wrap by characters.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        let wl = word.chars().count();
        let ll = line.chars().count();
        if ll > 0 && ll + 1 + wl > width {
            out.push(std::mem::take(&mut line));
        }
        if wl > width {
            // Unspaced scripts: break inside the word.
            let mut chunk = String::new();
            for c in word.chars() {
                if chunk.chars().count() + line.chars().count() >= width {
                    line.push_str(&chunk);
                    out.push(std::mem::take(&mut line));
                    chunk.clear();
                }
                chunk.push(c);
            }
            line.push_str(&chunk);
            continue;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}
