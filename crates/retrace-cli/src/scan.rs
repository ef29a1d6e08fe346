//! `retrace scan`: run the whole pipeline over inputs and write the outputs.

use crate::progress::Bars;
use anyhow::{bail, Context, Result};
use retrace::ingest::{ingest, FieldMap, IngestOptions, IngestReport, Input};
use retrace::pipeline::{scan, ScanOptions};
use retrace::report::{summary, write_outputs};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Directories (.txt, .md, .html files, recursively), JSONL files (.jsonl, .jsonl.gz),
    /// or - for JSONL on standard input.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Directory to write pairs.jsonl, documents.jsonl and run.json into.
    #[arg(long, short)]
    pub out: PathBuf,
    #[command(flatten)]
    pub fields: FieldArgs,
    /// Skip malformed JSONL records and duplicate ids with a warning instead of stopping.
    #[arg(long)]
    pub skip_bad_records: bool,
    /// Pairs to show in the terminal summary.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// No progress bars or summary.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
}

/// Relation thresholds (defaults calibrated on the dev collection; see README).
#[derive(clap::Args)]
pub struct ThresholdArgs {
    /// Verbatim tokens a copy's passages must hold in all.
    #[arg(long)]
    pub copy_min_matched: Option<u32>,
    /// Verbatim share of a copy's aligned text (0..1).
    #[arg(long)]
    pub copy_min_density: Option<f64>,
    /// Coverage of the better-covered side of a copy (0..1).
    #[arg(long)]
    pub copy_min_coverage: Option<f64>,
}

impl ThresholdArgs {
    pub fn apply(&self, o: &mut ScanOptions) {
        if let Some(v) = self.copy_min_matched {
            o.relate.copy_min_matched = v;
        }
        if let Some(v) = self.copy_min_density {
            o.relate.copy_min_density = v;
        }
        if let Some(v) = self.copy_min_coverage {
            o.relate.copy_min_coverage = v;
        }
    }
}

/// JSONL field names.
#[derive(clap::Args)]
pub struct FieldArgs {
    /// JSONL field holding the document id.
    #[arg(long, default_value = "id")]
    pub id_field: String,
    /// JSONL field holding the text.
    #[arg(long, default_value = "text")]
    pub text_field: String,
    /// JSONL field holding the publication date (ISO 8601).
    #[arg(long, default_value = "date")]
    pub date_field: String,
    /// JSONL field holding the URL.
    #[arg(long, default_value = "url")]
    pub url_field: String,
    /// JSONL field holding the title.
    #[arg(long, default_value = "title")]
    pub title_field: String,
}

impl FieldArgs {
    pub fn options(&self, skip_bad_records: bool) -> IngestOptions {
        IngestOptions {
            fields: FieldMap {
                id: self.id_field.clone(),
                text: self.text_field.clone(),
                date: self.date_field.clone(),
                url: self.url_field.clone(),
                title: self.title_field.clone(),
            },
            skip_bad_records,
        }
    }
}

/// A one-line account of what ingest read and skipped.
pub fn ingest_line(r: &IngestReport) -> String {
    let mut s = format!(
        "read {} documents ({:.1} MB)",
        r.documents,
        r.bytes as f64 / 1e6
    );
    if r.lossy > 0 {
        s += &format!(", {} decoded lossily from invalid UTF-8", r.lossy);
    }
    if r.skipped_total() > 0 {
        let why: Vec<String> = r.skipped.iter().map(|(k, n)| format!("{n} {k}")).collect();
        s += &format!("; skipped {} ({})", r.skipped_total(), why.join(", "));
    } else {
        s += "; skipped 0";
    }
    if r.ignored_files > 0 {
        s += &format!("; {} files with other extensions not read", r.ignored_files);
    }
    s
}

pub fn run(args: Args) -> Result<()> {
    let t0 = Instant::now();
    let inputs: Vec<Input> = args.inputs.iter().map(|s| Input::parse(s)).collect();
    let opts = args.fields.options(args.skip_bad_records);
    let ing = ingest(&inputs, &opts).context("reading input")?;
    let line = ingest_line(&ing.report);
    if !args.quiet {
        eprintln!("{line}");
    }
    if ing.docs.is_empty() {
        bail!("no documents to scan ({line})");
    }
    let bars = Bars::new(args.quiet);
    let mut scan_opts = ScanOptions::default();
    args.thresholds.apply(&mut scan_opts);
    let result = scan(ing.docs, &scan_opts, &bars);
    let info = serde_json::json!({
        "retrace": env!("CARGO_PKG_VERSION"),
        "inputs": args.inputs,
        "ingest": {
            "documents": ing.report.documents,
            "bytes": ing.report.bytes,
            "lossy": ing.report.lossy,
            "skipped": ing.report.skipped,
            "ignored_files": ing.report.ignored_files,
            "warnings": ing.report.warnings.iter().map(|w| format!("{}: {}", w.source, w.message)).collect::<Vec<_>>(),
        },
        "stats": {
            "documents": result.stats.documents,
            "template_shapes": result.stats.template_shapes,
            "boilerplate_lines": result.stats.boilerplate_lines,
            "anchors": result.stats.anchors,
            "candidates": result.stats.candidates,
            "relations": result.stats.relations,
            "seconds": result.stats.timings.iter().map(|(k, v)| (k.to_string(), serde_json::json!((v * 1000.0).round() / 1000.0))).collect::<serde_json::Map<_, _>>(),
        },
    });
    write_outputs(&result, &args.out, &info)
        .with_context(|| format!("writing results to {}", args.out.display()))?;
    if !args.quiet {
        print!("{}", summary(&result, args.top));
        println!(
            "wrote {}/pairs.jsonl and documents.jsonl in {:.2}s",
            args.out.display(),
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
