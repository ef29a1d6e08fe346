//! Ingest: turn directories of .txt/.md/.html files, JSONL files (optionally gzipped) and JSONL
//! on standard input into [`Document`]s with their metadata.
//!
//! Bad input never crashes a run and never disappears silently: every skipped file or record
//! is counted in the [`IngestReport`] with its reason and a [`Warning`] naming the file (and
//! line); a malformed JSONL record or a duplicate id is an error unless
//! [`IngestOptions::skip_bad_records`] turns it into a warning.

pub mod decode;
mod entities;
pub mod html;

use crate::document::{Document, Meta, Source};
use html::html_to_text;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

/// Errors that stop ingest.
#[derive(Debug, Error)]
pub enum IngestError {
    /// An input path does not exist.
    #[error("{path}: no such file or directory")]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// An input could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A JSONL line is not a record (skipped instead with
    /// [`IngestOptions::skip_bad_records`]).
    #[error("{file}:{line}: malformed record: {message}")]
    BadRecord {
        /// The JSONL file.
        file: String,
        /// Its line (from 1).
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// Two documents have one id (the later ones are skipped instead with
    /// [`IngestOptions::skip_bad_records`]).
    #[error("{}: duplicate id {id:?}, first seen at {first}", place(file, *line))]
    DuplicateId {
        /// The id.
        id: String,
        /// Where the second document is: its file ...
        file: String,
        /// ... and line (0 for a whole file).
        line: usize,
        /// Where the first one is (`file` or `file:line`).
        first: String,
    },
}

/// `file`, or `file:line` for a record (line 0: a whole file).
fn place(file: &str, line: usize) -> String {
    match line {
        0 => file.to_string(),
        n => format!("{file}:{n}"),
    }
}

impl IngestError {
    /// Whether [`IngestOptions::skip_bad_records`] would have turned this error into a
    /// warning.
    pub fn is_bad_record(&self) -> bool {
        matches!(
            self,
            IngestError::BadRecord { .. } | IngestError::DuplicateId { .. }
        )
    }
}

/// Names of the JSONL fields to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMap {
    /// The document id (a string or number; the record's `file:line` when absent).
    pub id: String,
    /// The text (required, a string).
    pub text: String,
    /// The publication date (ISO 8601).
    pub date: String,
    /// The URL.
    pub url: String,
    /// The title.
    pub title: String,
}

impl Default for FieldMap {
    fn default() -> Self {
        FieldMap {
            id: "id".into(),
            text: "text".into(),
            date: "date".into(),
            url: "url".into(),
            title: "title".into(),
        }
    }
}

/// Options for ingest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IngestOptions {
    /// Which JSONL fields hold what.
    pub fields: FieldMap,
    /// Turn malformed records and duplicate ids into warnings (the record is skipped).
    pub skip_bad_records: bool,
}

/// One input: a path (file or directory) or standard input (JSONL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A directory (read recursively), a JSONL file (`.jsonl`, `.ndjson`, optionally
    /// gzipped) or a text or HTML file.
    Path(PathBuf),
    /// JSONL on standard input.
    Stdin,
}

impl Input {
    /// `-` means standard input.
    pub fn parse(s: &str) -> Input {
        if s == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(s))
        }
    }
}

/// A problem worth telling the user about; the run goes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// File, or `file:line` for a record.
    pub source: String,
    /// What happened.
    pub message: String,
}

/// What ingest read, skipped and why.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IngestReport {
    /// Documents read (including lossily decoded ones).
    pub documents: usize,
    /// Bytes of text read.
    pub bytes: usize,
    /// Documents decoded lossily from invalid UTF-8.
    pub lossy: usize,
    /// Skipped inputs by reason.
    pub skipped: BTreeMap<String, usize>,
    /// Files decoded from an encoding other than UTF-8, by encoding.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub decoded: BTreeMap<String, usize>,
    /// Files in directories that were not read because of their extension.
    pub ignored_files: usize,
    /// Every warning, in the order of the input.
    pub warnings: Vec<Warning>,
}

impl IngestReport {
    fn warn(&mut self, source: impl Into<String>, message: impl Into<String>) {
        let w = Warning {
            source: source.into(),
            message: message.into(),
        };
        tracing::warn!("{}: {}", w.source, w.message);
        self.warnings.push(w);
    }

    fn skip(&mut self, reason: &str, source: impl Into<String>, message: impl Into<String>) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
        self.warn(source, message);
    }

    /// Total number of skipped inputs.
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }
}

/// Documents plus the report of how they were read.
#[derive(Debug, Default)]
pub struct Ingested {
    /// The documents, in input order.
    pub docs: Vec<Document>,
    /// What was read and skipped.
    pub report: IngestReport,
}

/// Documents larger than this get a warning (they are still processed).
pub const HUGE_DOCUMENT_BYTES: usize = 16 << 20;

const TEXT_EXTENSIONS: &[&str] = &["txt", "md", "markdown", "text"];
const HTML_EXTENSIONS: &[&str] = &["html", "htm", "xhtml"];

struct Collector<'a> {
    opts: &'a IngestOptions,
    out: Ingested,
    seen: SeenIds,
    /// Records of the JSONL file being read that have no id: the first one's line and why,
    /// and how many.
    unnamed: Option<(usize, &'static str, usize)>,
}

/// The ids read so far, as the index of their document in [`Ingested::docs`] (which holds
/// the id and where it was seen), by a hash of the id: no second copy of every id.
#[derive(Default)]
struct SeenIds {
    /// Hash of an id → the first document with that hash.
    by_hash: foldhash::HashMap<u64, u32>,
    /// Documents whose id's hash is also another id's (keyed by id).
    collided: HashMap<String, u32>,
}

impl SeenIds {
    fn hash(id: &str) -> u64 {
        xxhash_rust::xxh3::xxh3_64(id.as_bytes())
    }

    /// The document that already has `id`.
    fn get(&self, id: &str, docs: &[Document]) -> Option<usize> {
        let d = *self.by_hash.get(&Self::hash(id))? as usize;
        if docs[d].id == id {
            Some(d)
        } else {
            self.collided.get(id).map(|&d| d as usize)
        }
    }

    /// Record that document `d` has `id` (not seen before).
    fn insert(&mut self, id: &str, d: usize) {
        match self.by_hash.entry(Self::hash(id)) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(d as u32);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.collided.insert(id.to_string(), d as u32);
            }
        }
    }
}

/// What one input holds, found before anything is read.
enum Planned {
    /// JSONL on standard input.
    Stdin,
    /// A JSONL file.
    Jsonl(PathBuf),
    /// A text or HTML file; `id` is its path relative to its directory input (or its
    /// name, for a file given as an input); `input` is the input it belongs to.
    Text {
        path: PathBuf,
        id: String,
        input: usize,
    },
}

/// Read every input, in order.
///
/// A text or HTML file's id is its path relative to the directory given (its name, for a
/// file given itself). When one such id comes from more than one input (`dir1/index.html`
/// and `dir2/index.html`), every document with it is named by its input too
/// (`dir1/index.html`), with a warning; a JSONL record's id is taken as it is. An id that is
/// still not unique is a [`IngestError::DuplicateId`].
pub fn ingest(inputs: &[Input], opts: &IngestOptions) -> Result<Ingested, IngestError> {
    let mut c = Collector {
        opts,
        out: Ingested::default(),
        seen: SeenIds::default(),
        unnamed: None,
    };
    let mut plan = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        match input {
            Input::Stdin => plan.push(Planned::Stdin),
            Input::Path(p) => c.plan_path(p, i, &mut plan)?,
        }
    }
    disambiguate(&mut plan, inputs, &mut c.out.report);
    for item in plan {
        match item {
            Planned::Stdin => {
                // (Not the locked handle: the next batch is read on another thread.)
                c.read_jsonl(
                    BufReader::with_capacity(1 << 20, std::io::stdin()),
                    "<stdin>",
                )?;
            }
            Planned::Jsonl(p) => c.read_jsonl_file(&p)?,
            Planned::Text { path, id, .. } => c.read_text_file(&path, id)?,
        }
    }
    // Pushed one by one, the list may hold up to twice the room it needs.
    c.out.docs.shrink_to_fit();
    Ok(c.out)
}

/// Name the files whose id comes from more than one input by their input too.
fn disambiguate(plan: &mut [Planned], inputs: &[Input], report: &mut IngestReport) {
    // id → the first input it came from, and whether another input has it too.
    let mut from: HashMap<&str, (usize, bool)> = HashMap::new();
    for item in plan.iter() {
        if let Planned::Text { id, input, .. } = item {
            from.entry(id.as_str())
                .and_modify(|e| e.1 |= e.0 != *input)
                .or_insert((*input, false));
        }
    }
    let ambiguous: std::collections::HashSet<String> = from
        .into_iter()
        .filter(|(_, (_, many))| *many)
        .map(|(id, _)| id.to_string())
        .collect();
    if ambiguous.is_empty() {
        return;
    }
    let mut renamed = 0usize;
    let mut example = None;
    for item in plan.iter_mut() {
        if let Planned::Text { path, id, input } = item {
            if !ambiguous.contains(id.as_str()) {
                continue;
            }
            let new = match &inputs[*input] {
                Input::Path(root) if root.is_dir() => {
                    format!("{}/{id}", path_id(root))
                }
                _ => path_id(path),
            };
            if example.is_none() {
                example = Some(format!("{id:?} is now {new:?}"));
            }
            *id = new;
            renamed += 1;
        }
    }
    report.warn(
        "<inputs>",
        format!(
            "{renamed} files have an id (their path in their input) that another input has \
             too; they are named by their input as well ({})",
            example.unwrap_or_default()
        ),
    );
}

/// A path as an id: its components joined by `/`, without `.` components or a trailing
/// separator.
fn path_id(p: &Path) -> String {
    use std::path::Component;
    let mut s = String::new();
    for c in p.components() {
        match c {
            Component::CurDir => continue,
            Component::RootDir => {
                s.push('/');
                continue;
            }
            _ => {}
        }
        if !s.is_empty() && !s.ends_with('/') {
            s.push('/');
        }
        s.push_str(&c.as_os_str().to_string_lossy());
    }
    s
}

/// Read one text or HTML file as the document `id`, as a directory's files are read (binary
/// and empty files are skipped with a warning, invalid UTF-8 is decoded lossily with one).
/// The report says what happened; `docs` is empty when the file was skipped.
pub fn read_text_document(path: &Path, id: &str) -> Ingested {
    let opts = IngestOptions::default();
    let mut c = Collector {
        opts: &opts,
        out: Ingested::default(),
        seen: SeenIds::default(),
        unnamed: None,
    };
    // One document: its id cannot be taken already.
    let _ = c.read_text_file(path, id.to_string());
    c.out
}

/// Read one text or HTML file's bytes (named `name` in warnings and the documents' source)
/// as the document `id`, as [`read_text_document`] reads a file: `html` says whether it is
/// HTML (as a `.html` extension does).
pub fn read_text_bytes(bytes: &[u8], name: &str, id: &str, html: bool) -> Ingested {
    let opts = IngestOptions::default();
    let mut c = Collector {
        opts: &opts,
        out: Ingested::default(),
        seen: SeenIds::default(),
        unnamed: None,
    };
    // One document: its id cannot be taken already.
    let _ = c.read_text(bytes.to_vec(), name.to_string(), html, id.to_string());
    c.out
}

/// Read JSONL from `r` (named `name` in warnings, errors and the documents' source), as
/// [`ingest`] reads a JSONL file or standard input (gzip is not undone here).
pub fn read_jsonl<R: BufRead + Send>(
    r: R,
    name: &str,
    opts: &IngestOptions,
) -> Result<Ingested, IngestError> {
    let mut c = Collector {
        opts,
        out: Ingested::default(),
        seen: SeenIds::default(),
        unnamed: None,
    };
    c.read_jsonl(r, name)?;
    c.out.docs.shrink_to_fit();
    Ok(c.out)
}

fn is_jsonl(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    [".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz"]
        .iter()
        .any(|e| name.ends_with(e))
}

fn extension(p: &Path) -> String {
    p.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

impl Collector<'_> {
    /// List what input `p` (the `input`th) holds.
    fn plan_path(
        &mut self,
        p: &Path,
        input: usize,
        plan: &mut Vec<Planned>,
    ) -> Result<(), IngestError> {
        let meta = match fs::metadata(p) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(IngestError::NotFound { path: p.into() })
            }
            Err(e) => {
                return Err(IngestError::Io {
                    path: p.into(),
                    source: e,
                })
            }
        };
        if meta.is_dir() {
            let mut files = Vec::new();
            walk(p, &mut files, &mut self.out.report);
            files.sort();
            for f in files {
                let ext = extension(&f);
                if TEXT_EXTENSIONS.contains(&ext.as_str())
                    || HTML_EXTENSIONS.contains(&ext.as_str())
                {
                    let rel = f.strip_prefix(p).unwrap_or(&f);
                    let id = rel
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy())
                        .collect::<Vec<_>>()
                        .join("/");
                    plan.push(Planned::Text { path: f, id, input });
                } else if is_jsonl(&f) {
                    plan.push(Planned::Jsonl(f));
                } else {
                    self.out.report.ignored_files += 1;
                }
            }
        } else if is_jsonl(p) {
            plan.push(Planned::Jsonl(p.into()));
        } else {
            // A file named on the command line is read whatever it is (a FIFO included:
            // `<(zcat ...)`); only files found in directories must be regular.
            let id = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string());
            plan.push(Planned::Text {
                path: p.into(),
                id,
                input,
            });
        }
        Ok(())
    }

    fn read_text_file(&mut self, path: &Path, id: String) -> Result<(), IngestError> {
        let source = path.display().to_string();
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                self.out
                    .report
                    .skip("unreadable file", &source, format!("cannot read: {e}"));
                return Ok(());
            }
        };
        let ext = extension(path);
        let is_html = HTML_EXTENSIONS.contains(&ext.as_str());
        self.read_text(bytes, source, is_html, id)
    }

    /// Read a text or HTML file's bytes (`source`: its name) as the document `id`.
    fn read_text(
        &mut self,
        bytes: Vec<u8>,
        source: String,
        is_html: bool,
        id: String,
    ) -> Result<(), IngestError> {
        if !decode::has_utf16_bom(&bytes) && looks_binary(&bytes) {
            self.out
                .report
                .skip("binary file", &source, "looks like a binary file, skipped");
            return Ok(());
        }
        let d = decode::decode(&bytes, is_html);
        drop(bytes);
        let enc = d.encoding.name().to_ascii_lowercase();
        let mut from = Vec::new();
        if is_html {
            from.push("html".to_string());
        }
        if d.lossy {
            self.out.report.lossy += 1;
            let at = d
                .first_bad
                .map(|at| format!(" (first bad byte at offset {at})"))
                .unwrap_or_default();
            let msg = if d.encoding == encoding_rs::UTF_8 {
                format!("invalid UTF-8{at}; decoded lossily")
            } else {
                format!("invalid {enc}{at}; decoded lossily")
            };
            self.out.report.warn(&source, msg);
            from.push(format!("{enc}, lossy"));
        } else if d.chosen == decode::Chosen::Detected {
            self.out.report.warn(
                &source,
                format!("not UTF-8; decoded as {enc} (detected from its bytes)"),
            );
            from.push(enc.clone());
        } else if !d.is_verbatim() {
            // Declared (a byte order mark, a <meta charset>): no warning.
            from.push(enc.clone());
        }
        if d.encoding != encoding_rs::UTF_8 {
            *self.out.report.decoded.entry(enc).or_default() += 1;
        }
        let (text, title) = if is_html {
            let h = html_to_text(&d.text);
            (h.text, h.title)
        } else {
            (d.text, None)
        };
        let meta = Meta {
            title,
            source: Source::file(source.as_str()),
            text_from: (!from.is_empty()).then(|| from.join(", ")),
            ..Meta::default()
        };
        self.push(id, text, meta)
    }

    fn read_jsonl_file(&mut self, path: &Path) -> Result<(), IngestError> {
        let file = fs::File::open(path).map_err(|e| IngestError::Io {
            path: path.into(),
            source: e,
        })?;
        let name = path.display().to_string();
        let lower = name.to_lowercase();
        if lower.ends_with(".gz") {
            let dec = flate2::read::MultiGzDecoder::new(file);
            self.read_jsonl(BufReader::with_capacity(1 << 20, dec), &name)
        } else {
            self.read_jsonl(BufReader::with_capacity(1 << 20, file), &name)
        }
    }

    fn read_jsonl<R: BufRead + Send>(&mut self, mut r: R, name: &str) -> Result<(), IngestError> {
        // Lines are read in batches and parsed in parallel, then taken in order, so that
        // warnings, errors and ids come out as from a reading line by line. While one batch
        // is taken, the next is parsed and the one after it read.
        let opts = self.opts;
        let parse = |b: &LineBatch| -> Vec<ParsedLine> {
            let lines: Vec<&[u8]> = b
                .ends
                .iter()
                .enumerate()
                .map(|(i, &e)| &b.buf[if i == 0 { 0 } else { b.ends[i - 1] }..e])
                .collect();
            lines
                .par_iter()
                .map(|line| parse_line(line, &opts.fields))
                .collect()
        };
        let mut line_no = 0usize;
        let file: Arc<str> = name.into();
        let (mut cur, mut next) = (LineBatch::default(), LineBatch::default());
        cur.read(&mut r);
        // A byte order mark before the first record is not part of it.
        cur.strip_bom();
        let more = !cur.eof && cur.error.is_none();
        let (mut parsed, ()) = rayon::join(
            || parse(&cur),
            || {
                if more {
                    next.read(&mut r)
                }
            },
        );
        loop {
            if cur.eof || cur.error.is_some() {
                self.take(parsed, &file, &mut line_no)?;
                if let Some((line, why, n)) = self.unnamed.take() {
                    let field = &self.opts.fields.id;
                    let message = if n == 1 {
                        format!(
                            "the record has no id (field {field:?} {why}); it is named \
                             \"{name}:{line}\""
                        )
                    } else {
                        format!(
                            "{n} records of this file have no id (field {field:?} {why} in \
                             the first, here); each is named by its file and line, \
                             \"{name}:{line}\" for the first"
                        )
                    };
                    self.out.report.warn(format!("{name}:{line}"), message);
                }
                // A read error is reported after the lines before it, as a line-by-line
                // reading would (a malformed record before it is the error then).
                if let Some(e) = cur.error.take() {
                    return Err(IngestError::Io {
                        path: name.into(),
                        source: e,
                    });
                }
                return Ok(());
            }
            // `next` is read: parse it (and read the one after) while taking this batch.
            std::mem::swap(&mut cur, &mut next);
            let more = !cur.eof && cur.error.is_none();
            let (taken, (parsed_next, ())) = rayon::join(
                || self.take(parsed, &file, &mut line_no),
                || {
                    rayon::join(
                        || parse(&cur),
                        || {
                            if more {
                                next.read(&mut r)
                            }
                        },
                    )
                },
            );
            taken?;
            parsed = parsed_next;
        }
    }

    /// Take one batch of parsed lines, in order (`line_no`: the lines taken before).
    fn take(
        &mut self,
        parsed: Vec<ParsedLine>,
        file: &Arc<str>,
        line_no: &mut usize,
    ) -> Result<(), IngestError> {
        for p in parsed {
            *line_no += 1;
            let source = Source {
                file: file.clone(),
                line: *line_no,
            };
            if p.lossy {
                self.out.report.lossy += 1;
                self.out
                    .report
                    .warn(source.to_string(), "invalid UTF-8; decoded lossily");
            }
            match p.record {
                None => {}
                Some(Ok((id, text, meta))) => {
                    let id = match id {
                        Ok(id) => id,
                        Err(why) => {
                            let u = self.unnamed.get_or_insert((source.line, why, 0));
                            u.2 += 1;
                            source.to_string()
                        }
                    };
                    let text_from = p.lossy.then(|| "utf-8, lossy".to_string());
                    self.push(
                        id,
                        text,
                        Meta {
                            source,
                            text_from,
                            ..meta
                        },
                    )?;
                }
                Some(Err(message)) => {
                    if self.opts.skip_bad_records {
                        self.out.report.skip(
                            "malformed record",
                            source.to_string(),
                            format!("malformed record skipped: {message}"),
                        );
                    } else {
                        return Err(IngestError::BadRecord {
                            file: file.to_string(),
                            line: source.line,
                            message,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn push(&mut self, id: String, text: String, meta: Meta) -> Result<(), IngestError> {
        let at = &meta.source;
        if text.trim().is_empty() {
            self.out.report.skip(
                "empty document",
                at.to_string(),
                format!("document {id:?} is empty, skipped"),
            );
            return Ok(());
        }
        if let Some(first) = self.seen.get(&id, &self.out.docs) {
            let first = self.out.docs[first].meta.source.to_string();
            if self.opts.skip_bad_records {
                self.out.report.skip(
                    "duplicate id",
                    at.to_string(),
                    format!("duplicate id {id:?} (first seen at {first}), skipped"),
                );
                return Ok(());
            }
            return Err(IngestError::DuplicateId {
                id,
                file: at.file.to_string(),
                line: at.line,
                first,
            });
        }
        if text.len() > HUGE_DOCUMENT_BYTES {
            self.out.report.warn(
                at.to_string(),
                format!(
                    "document {id:?} is huge ({} MB); it is processed but slows the run",
                    text.len() >> 20
                ),
            );
        }
        self.seen.insert(&id, self.out.docs.len());
        self.out.report.documents += 1;
        self.out.report.bytes += text.len();
        self.out.docs.push(Document { id, text, meta });
        Ok(())
    }
}

/// Bytes of JSONL read before the lines read are parsed (in parallel).
const JSONL_BATCH_BYTES: usize = 4 << 20;
/// ... or this many lines.
const JSONL_BATCH_LINES: usize = 8192;

/// A record's id (or why it has none: `is missing`, `is null`, `is empty`), text and metadata
/// (without its source).
type Record = (Result<String, &'static str>, String, Meta);

/// A batch of JSONL lines, read whole: `buf[ends[i - 1]..ends[i]]` is line `i`.
#[derive(Default)]
struct LineBatch {
    buf: Vec<u8>,
    ends: Vec<usize>,
    /// The input ended.
    eof: bool,
    /// Reading failed after these lines.
    error: Option<std::io::Error>,
}

impl LineBatch {
    /// Drop a UTF-8 byte order mark at the start of the batch.
    fn strip_bom(&mut self) {
        const BOM: &[u8] = b"\xEF\xBB\xBF";
        if self.buf.starts_with(BOM) {
            self.buf.drain(..BOM.len());
            for e in &mut self.ends {
                *e -= BOM.len();
            }
        }
    }

    /// Read the next lines of `r` (up to [`JSONL_BATCH_BYTES`] or [`JSONL_BATCH_LINES`]).
    fn read(&mut self, r: &mut impl BufRead) {
        self.buf.clear();
        self.ends.clear();
        self.eof = false;
        self.error = None;
        while self.buf.len() < JSONL_BATCH_BYTES && self.ends.len() < JSONL_BATCH_LINES {
            match r.read_until(b'\n', &mut self.buf) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(_) => self.ends.push(self.buf.len()),
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            }
        }
    }
}

/// One JSONL line, parsed.
struct ParsedLine {
    /// The line was not valid UTF-8 (and was decoded lossily).
    lossy: bool,
    /// `None` for a blank line; the error message for a malformed record.
    record: Option<Result<Record, String>>,
}

fn parse_line(buf: &[u8], fields: &FieldMap) -> ParsedLine {
    let (line, lossy) = match std::str::from_utf8(buf) {
        Ok(s) => (std::borrow::Cow::Borrowed(s), false),
        Err(_) => (String::from_utf8_lossy(buf), true),
    };
    let trimmed = line.trim();
    ParsedLine {
        lossy,
        record: (!trimmed.is_empty()).then(|| parse_record(trimmed, fields)),
    }
}

fn parse_record(line: &str, f: &FieldMap) -> Result<Record, String> {
    let mut v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = v.as_object_mut().ok_or("not a JSON object")?;
    match obj.get(&f.text) {
        Some(serde_json::Value::String(_)) => {}
        Some(serde_json::Value::Null) | None => {
            return Err(format!("no {:?} field", f.text));
        }
        Some(_) => return Err(format!("field {:?} is not a string", f.text)),
    }
    let scalar = |k: &str| -> Option<String> {
        match obj.get(k) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    };
    let meta = Meta {
        url: scalar(&f.url),
        date: scalar(&f.date),
        title: scalar(&f.title),
        source: Source::default(),
        lang: None,
        text_from: None,
    };
    let id = match obj.get(&f.id) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
        Some(serde_json::Value::String(_)) => Err("is empty"),
        Some(serde_json::Value::Null) => Err("is null"),
        None => Err("is missing"),
        Some(_) => return Err(format!("field {:?} is not a string or a number", f.id)),
    };
    // The text is moved out, not copied (the other fields are read first: they may name the
    // same field).
    let text = match obj.remove(&f.text) {
        Some(serde_json::Value::String(s)) => s,
        _ => String::new(),
    };
    Ok((id, text, meta))
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, report: &mut IngestReport) {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            report.skip(
                "unreadable directory",
                dir.display().to_string(),
                format!("cannot list directory: {e}"),
            );
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                report.skip(
                    "unreadable directory",
                    dir.display().to_string(),
                    format!("cannot list an entry: {e}"),
                );
                continue;
            }
        };
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, files, report),
            Ok(t) if t.is_file() => files.push(path),
            Ok(t) if t.is_symlink() => match fs::metadata(&path) {
                Ok(m) if m.is_file() => files.push(path),
                // Not followed: a link may lead back up the tree.
                Ok(m) if m.is_dir() => report.skip(
                    "link to a directory",
                    path.display().to_string(),
                    "a symbolic link to a directory, not followed",
                ),
                Ok(m) => report.skip(
                    "special file",
                    path.display().to_string(),
                    format!(
                        "a symbolic link to {}, not a regular file; skipped",
                        special_kind(&m.file_type())
                    ),
                ),
                // A dangling link: reading it says why.
                Err(_) => files.push(path),
            },
            // Never opened: reading a FIFO would wait for a writer forever.
            Ok(t) => report.skip(
                "special file",
                path.display().to_string(),
                format!("{}, not a regular file; skipped", special_kind(&t)),
            ),
            Err(e) => report.skip(
                "unreadable file",
                path.display().to_string(),
                format!("cannot stat: {e}"),
            ),
        }
    }
}

/// What a file that is neither a regular file nor a directory is.
fn special_kind(t: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_char_device() {
            return "a character device";
        }
    }
    let _ = t;
    "a special file"
}

/// A file is binary when its first 8 KiB hold a NUL byte or mostly control bytes.
pub fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return true;
    }
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c))
        .count();
    !head.is_empty() && control * 10 > head.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What README's directory rules say: every text, HTML and JSON Lines extension, in
    /// any case, and nothing else (counted as ignored).
    #[test]
    fn directories_read_the_extensions_the_readme_lists() {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let text = "A short text about the harbour.";
        for f in ["a.txt", "b.TEXT", "c.md", "d.markdown", "e.Txt"] {
            std::fs::write(d.join(f), text).unwrap();
        }
        for f in ["f.html", "g.htm", "h.XHTML"] {
            std::fs::write(d.join(f), format!("<p>{text}</p>")).unwrap();
        }
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(
            d.join("sub/r.jsonl"),
            "{\"id\": \"j1\", \"text\": \"x y\"}\n",
        )
        .unwrap();
        std::fs::write(
            d.join("sub/s.NDJSON"),
            "{\"id\": \"j2\", \"text\": \"x y\"}\n",
        )
        .unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"{\"id\": \"j3\", \"text\": \"x y\"}\n").unwrap();
        std::fs::write(d.join("sub/t.jsonl.gz"), gz.finish().unwrap()).unwrap();
        for f in ["notes.pdf", "data.csv", "image.png"] {
            std::fs::write(d.join(f), "ignored").unwrap();
        }
        let got = ingest(
            &[Input::parse(&d.to_string_lossy())],
            &IngestOptions::default(),
        )
        .expect("ingest");
        let mut ids: Vec<&str> = got.docs.iter().map(|x| x.id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(
            ids,
            [
                "a.txt",
                "b.TEXT",
                "c.md",
                "d.markdown",
                "e.Txt",
                "f.html",
                "g.htm",
                "h.XHTML",
                "j1",
                "j2",
                "j3"
            ]
        );
        assert_eq!(got.report.ignored_files, 3);
    }

    /// Lines past a parsing batch keep their numbers, order and first-seen sources.
    #[test]
    fn records_across_batches_keep_line_numbers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("many.jsonl");
        let n = JSONL_BATCH_LINES + 100;
        let mut s = String::new();
        let (dup, bad) = (n - 50, n - 49);
        for i in 1..=n {
            if i == 3 {
                s.push('\n');
            } else if i == dup {
                s.push_str("{\"id\": \"d5\", \"text\": \"again\"}\n");
            } else if i == bad {
                s.push_str("{not json\n");
            } else {
                s.push_str(&format!("{{\"id\": \"d{i}\", \"text\": \"text {i}\"}}\n"));
            }
        }
        std::fs::write(&path, s).expect("write");
        let inputs = [Input::Path(path.clone())];
        let msg = match ingest(&inputs, &IngestOptions::default()) {
            Ok(_) => panic!("a duplicate id must be an error"),
            Err(e) => e.to_string(),
        };
        assert!(
            msg.contains(&format!(":{dup}: duplicate id \"d5\"")),
            "{msg}"
        );
        assert!(msg.contains("many.jsonl:5"), "{msg}");
        let opts = IngestOptions {
            skip_bad_records: true,
            ..IngestOptions::default()
        };
        let ing = ingest(&inputs, &opts).expect("skipping");
        assert_eq!(ing.docs.len(), n - 3);
        assert_eq!(ing.docs[0].id, "d1");
        let last = ing.docs.last().expect("documents");
        assert_eq!(last.id, format!("d{n}"));
        assert!(last
            .meta
            .source
            .to_string()
            .ends_with(&format!("many.jsonl:{n}")));
        let w: Vec<&str> = ing
            .report
            .warnings
            .iter()
            .map(|w| w.source.as_str())
            .collect();
        assert!(
            w[0].ends_with(&format!(":{dup}")) && w[1].ends_with(&format!(":{bad}")),
            "{w:?}"
        );
    }
}
