//! `retrace index ...` and `retrace serve`: a living index on disk, and the HTTP service
//! over it.

use crate::progress::Bars;
use crate::scan::{ingest_error, ingest_line, FieldArgs, ThresholdArgs};
use anyhow::{bail, Context, Result};
use retrace::encode::Encoder;
use retrace::ingest::{ingest, read_text_document, IngestReport, Input};
use retrace::pipeline::{EncoderInfo, ScanOptions};
use retrace::report::{write_outputs, RunInfo};
use retrace::Document;
use retrace_service::{Index, IndexOptions, Models, QueryResult, Related};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
#[command(after_long_help = "\
Each `add` batch is one commit, judged by the same stages as `scan` against the documents the
index proposes as candidates, with the index's statistics. Until the next refresh an index can
differ from one scan of its documents in three ways: the boilerplate model is the one learnt at
the last refresh; a pair found when an anchor was rarer stays; an old document whose nearest
neighbours by meaning a new one would displace keeps its pairs. A refresh (automatic once the
documents added since the last one reach --refresh-ratio of those it saw, or `index refresh`)
scans everything again with the cached sentence vectors and rewrites the index as one segment;
after it the index holds exactly what one scan gives. `export` refreshes first unless
--no-refresh. Segments are merged 8 at a time within a size tier, so an index of n documents
added one at a time holds O(log n) segments. See docs/service.md.")]
pub struct IndexArgs {
    #[command(subcommand)]
    command: IndexCommand,
}

#[derive(clap::Subcommand)]
enum IndexCommand {
    /// Create an empty index for the encoders chosen (recorded: later commands use them).
    Create(CreateArgs),
    /// Add documents: each batch is one commit, judged against the index.
    Add(AddArgs),
    /// What a text (or a document of the index) relates to; nothing is added.
    Query(QueryArgs),
    /// Remove documents by id.
    Remove(RemoveArgs),
    /// Write the files `scan` writes (pairs.jsonl, documents.jsonl, texts.jsonl, run.json;
    /// with --html the report).
    Export(ExportArgs),
    /// Scan the whole index again and relearn its statistics (see `retrace index --help`).
    Refresh(OpenArgs),
    /// Documents, segments and encoders of an index.
    Info(InfoArgs),
}

/// How the index's encoders are loaded (which ones is the index's choice).
#[derive(clap::Args)]
pub struct LoadArgs {
    /// Model cache directory (default: $RETRACE_MODEL_DIR or the XDG cache).
    #[arg(long, value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
    /// Where transformer encoders run: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu", value_parser = crate::parse_device)]
    pub device: retrace_encode::Device,
    /// Arithmetic of the use-m3 and e5-small encoders: auto, f32 or int8 (must give the
    /// vectors the index was made with: the index records it).
    #[arg(long, default_value = "auto", value_name = "auto|f32|int8")]
    pub precision: retrace_encode::use_m3::Precision,
    /// int8 kernel of the use-m3 and e5-small encoders (all kernels give the same vectors).
    #[arg(long, value_name = "NAME", env = "RETRACE_INT8_KERNEL")]
    pub int8_kernel: Option<String>,
}

impl LoadArgs {
    /// Load the encoders `index` was made with.
    fn load(&self, index: &Index) -> Result<retrace_service::http::Encoders> {
        let snap = index.snapshot();
        let o = snap.options();
        let options = crate::load_options(
            self.model_dir.clone(),
            self.device,
            self.precision,
            self.int8_kernel.as_deref(),
        )?;
        let load = |name: &Option<String>, what: &str| -> Result<Option<Box<dyn Encoder>>> {
            name.as_deref()
                .map(|n| {
                    crate::load_encoder(n, &options)
                        .with_context(|| format!("loading the index's {what} encoder {n}"))
                })
                .transpose()
        };
        let enc = retrace_service::http::Encoders {
            primary: load(&o.encoder, "main")?,
            fallback: load(&o.fallback, "fallback")?,
        };
        check_arithmetic(o, &enc)?;
        Ok(enc)
    }
}

/// The arithmetic an encoder computes in (`int8` of `int8/avx512-vnni`: every kernel of
/// one arithmetic gives the same vectors).
fn arithmetic(e: &dyn Encoder) -> Option<String> {
    e.arithmetic()
        .map(|a| a.split('/').next().unwrap_or_default().to_string())
}

/// An index made with int8 vectors cannot be extended with f32 ones (its cached vectors
/// would differ from the new ones).
fn check_arithmetic(o: &IndexOptions, enc: &retrace_service::http::Encoders) -> Result<()> {
    if let (Some(want), Some(e)) = (&o.arithmetic, enc.primary.as_deref()) {
        let have = arithmetic(e).unwrap_or_default();
        if &have != want {
            bail!(
                "the index's vectors were computed in {want}, this encoder computes in {have}; pass --precision {want}"
            );
        }
    }
    Ok(())
}

#[derive(clap::Args)]
struct CreateArgs {
    /// Directory of the new index.
    dir: PathBuf,
    #[command(flatten)]
    encoder: crate::scan::EncoderArgs,
    #[command(flatten)]
    thresholds: ThresholdArgs,
    /// Refresh (scan the whole index again) once the documents added since the last
    /// refresh reach this share of those it saw; 0: after every add.
    #[arg(long, default_value_t = 0.5)]
    refresh_ratio: f64,
}

#[derive(clap::Args)]
struct OpenArgs {
    /// The index's directory.
    dir: PathBuf,
    #[command(flatten)]
    load: LoadArgs,
    /// No progress bars.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args)]
struct AddArgs {
    /// The index's directory.
    dir: PathBuf,
    /// Directories, JSONL files or - (as `scan` reads them).
    #[arg(required = true)]
    inputs: Vec<String>,
    #[command(flatten)]
    fields: FieldArgs,
    /// Skip malformed JSONL records and duplicate ids with a warning instead of stopping.
    #[arg(long)]
    skip_bad_records: bool,
    /// Commit every N documents (each commit is acknowledged on standard output); default:
    /// one commit for all.
    #[arg(long, value_name = "N")]
    batch_size: Option<usize>,
    #[command(flatten)]
    load: LoadArgs,
    /// No progress bars.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args)]
struct QueryArgs {
    /// The index's directory.
    dir: PathBuf,
    /// The text to ask about.
    #[arg(conflicts_with_all = ["file", "id"], required_unless_present_any = ["file", "id"])]
    text: Option<String>,
    /// Ask about the text of this file.
    #[arg(long, conflicts_with = "id")]
    file: Option<PathBuf>,
    /// Show what the index found for its document with this id.
    #[arg(long)]
    id: Option<String>,
    /// Print the answer as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(clap::Args)]
struct RemoveArgs {
    /// The index's directory.
    dir: PathBuf,
    /// Ids of the documents to remove.
    #[arg(required = true)]
    ids: Vec<String>,
}

#[derive(clap::Args)]
struct ExportArgs {
    /// The index's directory.
    dir: PathBuf,
    /// Directory to write the run into.
    #[arg(long, short)]
    out: PathBuf,
    /// Export what the index holds now, without refreshing it first (see `retrace index
    /// --help` for how that can differ from a scan).
    #[arg(long)]
    no_refresh: bool,
    /// Also write the HTML report of the run (OUT/report.html), as `scan --html` does.
    #[arg(long)]
    html: bool,
    #[command(flatten)]
    report: crate::report::HtmlArgs,
    #[command(flatten)]
    load: LoadArgs,
    /// No progress bars.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args)]
struct InfoArgs {
    /// The index's directory.
    dir: PathBuf,
}

fn open(dir: &std::path::Path) -> Result<Index> {
    Index::open(dir).with_context(|| format!("opening the index {}", dir.display()))
}

pub fn run(args: IndexArgs) -> Result<()> {
    match args.command {
        IndexCommand::Create(a) => create(a),
        IndexCommand::Add(a) => add(a),
        IndexCommand::Query(a) => query(a),
        IndexCommand::Remove(a) => {
            let index = open(&a.dir)?;
            let n = index.remove(&a.ids)?;
            println!("removed {n} of {} documents", a.ids.len());
            Ok(())
        }
        IndexCommand::Export(a) => export(a),
        IndexCommand::Refresh(a) => {
            let index = open(&a.dir)?;
            let enc = a.load.load(&index)?;
            let t0 = Instant::now();
            index.refresh(models(&enc), &Bars::new(a.quiet))?;
            println!(
                "refreshed {} documents in {:.2}s",
                index.snapshot().len(),
                t0.elapsed().as_secs_f64()
            );
            Ok(())
        }
        IndexCommand::Info(a) => {
            let index = open(&a.dir)?;
            let snap = index.snapshot();
            let o = snap.options();
            println!("documents: {}", snap.len());
            println!("generation: {}", snap.generation());
            println!("segments: {}", snap.segments());
            println!(
                "added since the last refresh: {}",
                snap.added_since_refresh()
            );
            println!(
                "encoders: {} (fallback {})",
                o.encoder.as_deref().unwrap_or("none"),
                o.fallback.as_deref().unwrap_or("none")
            );
            Ok(())
        }
    }
}

fn models(enc: &retrace_service::http::Encoders) -> Models<'_> {
    Models {
        primary: enc.primary.as_deref(),
        fallback: enc.fallback.as_deref(),
    }
}

fn create(a: CreateArgs) -> Result<()> {
    if !(a.refresh_ratio >= 0.0 && a.refresh_ratio.is_finite()) {
        bail!("--refresh-ratio must be a number >= 0");
    }
    let mut encoders = a.encoder.load_all()?;
    let mut scan = ScanOptions::default();
    a.thresholds.apply(&mut scan, &mut encoders.calibration);
    let options = IndexOptions {
        scan,
        refresh_ratio: a.refresh_ratio,
        arithmetic: encoders.primary.as_deref().and_then(arithmetic),
        ..IndexOptions::default()
    };
    let index = Index::create(&a.dir, options, &encoders.pipeline())
        .with_context(|| format!("creating an index in {}", a.dir.display()))?;
    let o = index.snapshot().options().clone();
    println!(
        "created an index in {} (encoders: {}, fallback {})",
        a.dir.display(),
        o.encoder.as_deref().unwrap_or("none"),
        o.fallback.as_deref().unwrap_or("none")
    );
    Ok(())
}

fn add(a: AddArgs) -> Result<()> {
    let index = open(&a.dir)?;
    let inputs: Vec<Input> = a.inputs.iter().map(|s| Input::parse(s)).collect();
    let ing = ingest(&inputs, &a.fields.options(a.skip_bad_records))
        .map_err(ingest_error)
        .context("reading input")?;
    eprintln!("{}", ingest_line(&ing.report));
    let enc = a.load.load(&index)?;
    let bars = Bars::new(a.quiet);
    let size = a.batch_size.unwrap_or(usize::MAX).max(1);
    let total = ing.docs.len();
    let t0 = Instant::now();
    let mut docs = ing.docs.into_iter().peekable();
    let mut k = 0;
    let mut stdout = std::io::stdout();
    while docs.peek().is_some() {
        let batch: Vec<Document> = docs.by_ref().take(size).collect();
        let n = batch.len();
        let first = batch.first().map(|d| d.id.clone()).unwrap_or_default();
        let r = index
            .add(batch, models(&enc), &bars)
            .with_context(|| format!("adding batch {} (from document {first:?})", k + 1))?;
        k += 1;
        // The acknowledgement: the batch is committed when this line is written.
        writeln!(
            stdout,
            "committed batch {k}: {n} documents, {} relations; the index holds {}",
            r.relations, r.documents
        )?;
        stdout.flush()?;
        if index.refresh_if_due(models(&enc), &bars)? {
            writeln!(stdout, "refreshed the index ({} documents)", r.documents)?;
            stdout.flush()?;
        }
    }
    eprintln!(
        "added {total} documents in {k} commits in {:.2}s",
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn query(a: QueryArgs) -> Result<()> {
    let index = open(&a.dir)?;
    let snap = index.snapshot();
    if let Some(id) = &a.id {
        let Some(doc) = snap.get(id)? else {
            bail!("no document with id {id:?} in {}", a.dir.display());
        };
        let related = snap.related(id, None, 0.0)?.unwrap_or_default();
        if a.json {
            let v = serde_json::json!({ "document": doc, "related": related });
            println!("{}", serde_json::to_string(&v)?);
        } else {
            println!(
                "{id}: {} ({} tokens), story {}",
                doc.lang, doc.tokens, doc.story
            );
            print_parent(doc.parent.as_ref().map(|p| (&p.id, &p.why)));
            print_related(&related);
        }
        return Ok(());
    }
    let doc = match (&a.text, &a.file) {
        (Some(t), _) => Document::new("query", t.clone()),
        (None, Some(f)) => {
            let name = f.display().to_string();
            let mut ing = read_text_document(f, &name);
            for w in &ing.report.warnings {
                eprintln!("warning: {}: {}", w.source, w.message);
            }
            match ing.docs.pop() {
                Some(d) => d,
                None => bail!("{name}: nothing to ask about"),
            }
        }
        (None, None) => bail!("give a TEXT, --file or --id"),
    };
    let enc = a.load.load(&index)?;
    let t0 = Instant::now();
    let r: QueryResult = index.query(doc, models(&enc), &retrace::progress::NoProgress)?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "{} ({} tokens): {} related in {:.1} ms",
            r.lang,
            r.tokens,
            r.related.len(),
            t0.elapsed().as_secs_f64() * 1e3
        );
        print_parent(r.parent.as_ref().map(|p| (&p.id, &p.why)));
        print_related(&r.related);
    }
    Ok(())
}

fn print_parent(p: Option<(&String, &String)>) {
    match p {
        Some((id, why)) => println!("  would derive from {id} ({why})"),
        None => println!("  an original (no parent)"),
    }
}

fn print_related(related: &[Related]) {
    for r in related {
        println!(
            "  {:<11} {:>5.2}  coverage {:.2} / {:.2}  {}",
            r.kind.as_str(),
            r.score,
            r.coverage,
            r.coverage_other,
            r.id
        );
    }
}

fn export(a: ExportArgs) -> Result<()> {
    let index = open(&a.dir)?;
    let enc = a.load.load(&index)?;
    if !a.no_refresh {
        index.refresh(models(&enc), &Bars::new(a.quiet))?;
    }
    let info = |e: &Option<Box<dyn Encoder>>| e.as_deref().map(EncoderInfo::of);
    let scan = index.to_scan(info(&enc.primary), info(&enc.fallback))?;
    let report = IngestReport {
        documents: scan.len(),
        bytes: scan.documents().map(|d| d.doc.text.len()).sum(),
        ..IngestReport::default()
    };
    let inputs = vec![a.dir.display().to_string()];
    let run = RunInfo::new(&inputs, &report, &scan);
    write_outputs(&scan, &a.out, &run)
        .with_context(|| format!("writing results to {}", a.out.display()))?;
    println!(
        "wrote {}/pairs.jsonl, documents.jsonl, texts.jsonl and run.json ({} documents, {} pairs)",
        a.out.display(),
        scan.len(),
        scan.relations.len()
    );
    if a.html {
        let (out, s) = crate::report::write(&a.out, None, &a.report)?;
        println!("{}", crate::report::line(&out, &s));
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The index's directory (made with `retrace index create`).
    #[arg(long)]
    index: PathBuf,
    /// Address to listen on (loopback by default; another address needs --token-file or
    /// --read-only).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// File holding the bearer token writes must present (`Authorization: Bearer ...`);
    /// or set RETRACE_TOKEN.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Refuse writes.
    #[arg(long)]
    read_only: bool,
    /// Largest request body in MB (413 beyond).
    #[arg(long, default_value_t = 32)]
    max_body_mb: usize,
    /// Seconds a read or query may take (408 beyond).
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Seconds a write may take.
    #[arg(long, default_value_t = 600)]
    write_timeout: u64,
    #[command(flatten)]
    load: LoadArgs,
}

pub fn serve(a: ServeArgs) -> Result<()> {
    let index = open(&a.index)?;
    let token = match (&a.token_file, std::env::var("RETRACE_TOKEN")) {
        (Some(f), _) => {
            let t = std::fs::read_to_string(f)
                .with_context(|| format!("reading the token file {}", f.display()))?;
            Some(t.trim().to_string())
        }
        (None, Ok(t)) => Some(t.trim().to_string()),
        (None, Err(_)) => None,
    };
    if token.as_deref().is_some_and(str::is_empty) {
        bail!("the token is empty");
    }
    if !a.addr.ip().is_loopback() && token.is_none() && !a.read_only {
        bail!(
            "{} is reachable from other machines: give writes a token (--token-file or RETRACE_TOKEN) or serve --read-only",
            a.addr
        );
    }
    let enc = a.load.load(&index)?;
    let options = retrace_service::http::ServeOptions {
        addr: a.addr,
        token,
        read_only: a.read_only,
        max_body: a.max_body_mb << 20,
        timeout: Duration::from_secs(a.timeout),
        write_timeout: Duration::from_secs(a.write_timeout),
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the server's runtime")?;
    eprintln!(
        "serving {} ({} documents) on http://{}",
        a.index.display(),
        index.snapshot().len(),
        a.addr
    );
    rt.block_on(retrace_service::http::serve(index, enc, options))
        .with_context(|| format!("serving on {}", a.addr))
}
