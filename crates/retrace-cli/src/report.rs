//! `retrace report`: the HTML report of a run directory.

use anyhow::{Context, Result};
use retrace::report::html::{write_html, HtmlOptions, HtmlSummary};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// A run directory (written by `retrace scan --out DIR`).
    pub run_dir: PathBuf,
    /// The HTML file to write (default: RUN_DIR/report.html).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub html: HtmlArgs,
}

/// Options of the HTML report.
#[derive(clap::Args)]
pub struct HtmlArgs {
    /// Bytes of document text the HTML report may embed at most (texts beyond it are left
    /// out: those of documents in a pair first, then the rest, in input order).
    #[arg(long, value_name = "BYTES", default_value_t = HtmlOptions::default().max_text)]
    pub report_max_text: usize,
}

impl HtmlArgs {
    pub fn options(&self) -> HtmlOptions {
        HtmlOptions {
            max_text: self.report_max_text,
        }
    }
}

/// Write the report of `dir` to `out` (default `dir/report.html`).
pub fn write(dir: &Path, out: Option<&Path>, args: &HtmlArgs) -> Result<(PathBuf, HtmlSummary)> {
    let out = out.map_or_else(|| dir.join("report.html"), Path::to_path_buf);
    let summary = write_html(dir, &out, &args.options())
        .with_context(|| format!("writing the report of {}", dir.display()))?;
    Ok((out, summary))
}

/// The line that says where the report went and what it holds.
pub fn line(out: &Path, s: &HtmlSummary) -> String {
    let mut line = format!(
        "wrote the report {} ({:.1} MB: {} documents, {} pairs",
        out.display(),
        s.bytes as f64 / 1e6,
        s.documents,
        s.pairs
    );
    if s.texts_missing {
        line += "; no texts.jsonl in the run, so no texts";
    } else if s.texts_omitted > 0 {
        line += &format!("; {} texts left out by --report-max-text", s.texts_omitted);
    }
    line + ")"
}

pub fn run(args: Args) -> Result<()> {
    let (out, summary) = write(&args.run_dir, args.output.as_deref(), &args.html)?;
    println!("{}", line(&out, &summary));
    Ok(())
}
