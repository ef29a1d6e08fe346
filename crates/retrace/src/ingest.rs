//! Ingest: turn directories of .txt/.md/.html files, JSONL files (optionally gzipped) and JSONL
//! on standard input into [`Document`]s with their metadata.
//!
//! Bad input never crashes a run and never disappears silently: every skipped file or record
//! is counted in the [`IngestReport`] with its reason and a [`Warning`] naming the file (and
//! line); a malformed JSONL record or a duplicate id is an error unless
//! [`IngestOptions::skip_bad_records`] turns it into a warning.

use crate::document::{Document, Meta};
use crate::html::html_to_text;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Errors that stop ingest.
#[derive(Debug, Error)]
pub enum IngestError {
    #[error("{path}: no such file or directory")]
    NotFound { path: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{file}:{line}: malformed record: {message} (use --skip-bad-records to skip such records)"
    )]
    BadRecord {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}:{line}: duplicate id {id:?}, first seen at {first} (use --skip-bad-records to keep the first and skip the rest)")]
    DuplicateId {
        id: String,
        file: String,
        line: usize,
        first: String,
    },
}

/// Names of the JSONL fields to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMap {
    pub id: String,
    pub text: String,
    pub date: String,
    pub url: String,
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
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    pub fields: FieldMap,
    /// Turn malformed records and duplicate ids into warnings (the record is skipped).
    pub skip_bad_records: bool,
}

/// One input: a path (file or directory) or standard input (JSONL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Path(PathBuf),
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// File, or `file:line` for a record.
    pub source: String,
    pub message: String,
}

/// What ingest read, skipped and why.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    /// Documents read (including lossily decoded ones).
    pub documents: usize,
    /// Bytes of text read.
    pub bytes: usize,
    /// Documents decoded lossily from invalid UTF-8.
    pub lossy: usize,
    /// Skipped inputs by reason.
    pub skipped: BTreeMap<String, usize>,
    /// Files in directories that were not read because of their extension.
    pub ignored_files: usize,
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
    pub docs: Vec<Document>,
    pub report: IngestReport,
}

/// Documents larger than this get a warning (they are still processed).
pub const HUGE_DOCUMENT_BYTES: usize = 16 << 20;

const TEXT_EXTENSIONS: &[&str] = &["txt", "md", "markdown", "text"];
const HTML_EXTENSIONS: &[&str] = &["html", "htm", "xhtml"];

struct Collector<'a> {
    opts: &'a IngestOptions,
    out: Ingested,
    /// id -> where it was first seen
    seen: HashMap<String, String>,
}

/// Read every input, in order.
pub fn ingest(inputs: &[Input], opts: &IngestOptions) -> Result<Ingested, IngestError> {
    let mut c = Collector {
        opts,
        out: Ingested::default(),
        seen: HashMap::new(),
    };
    for input in inputs {
        match input {
            Input::Stdin => {
                let stdin = std::io::stdin();
                c.read_jsonl(stdin.lock(), "<stdin>")?;
            }
            Input::Path(p) => c.read_path(p)?,
        }
    }
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
    fn read_path(&mut self, p: &Path) -> Result<(), IngestError> {
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
                    self.read_text_file(&f, id);
                } else if is_jsonl(&f) {
                    self.read_jsonl_file(&f)?;
                } else {
                    self.out.report.ignored_files += 1;
                }
            }
            Ok(())
        } else if is_jsonl(p) {
            self.read_jsonl_file(p)
        } else {
            let id = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string());
            self.read_text_file(p, id);
            Ok(())
        }
    }

    fn read_text_file(&mut self, path: &Path, id: String) {
        let source = path.display().to_string();
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                self.out
                    .report
                    .skip("unreadable file", &source, format!("cannot read: {e}"));
                return;
            }
        };
        if looks_binary(&bytes) {
            self.out
                .report
                .skip("binary file", &source, "looks like a binary file, skipped");
            return;
        }
        let text = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => {
                self.out.report.lossy += 1;
                let at = e.utf8_error().valid_up_to();
                self.out.report.warn(
                    &source,
                    format!("invalid UTF-8 (first bad byte at offset {at}); decoded lossily"),
                );
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        };
        let ext = extension(path);
        let (text, title) = if HTML_EXTENSIONS.contains(&ext.as_str()) {
            let h = html_to_text(&text);
            (h.text, h.title)
        } else {
            (text, None)
        };
        let meta = Meta {
            title,
            source: source.clone(),
            ..Meta::default()
        };
        let _ = self.push(id, text, meta, &source, 0);
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

    fn read_jsonl<R: BufRead>(&mut self, mut r: R, name: &str) -> Result<(), IngestError> {
        let mut buf = Vec::new();
        let mut line_no = 0usize;
        loop {
            buf.clear();
            let n = r.read_until(b'\n', &mut buf).map_err(|e| IngestError::Io {
                path: name.into(),
                source: e,
            })?;
            if n == 0 {
                break;
            }
            line_no += 1;
            let line = match std::str::from_utf8(&buf) {
                Ok(s) => std::borrow::Cow::Borrowed(s),
                Err(_) => {
                    self.out.report.lossy += 1;
                    self.out.report.warn(
                        format!("{name}:{line_no}"),
                        "invalid UTF-8; decoded lossily",
                    );
                    String::from_utf8_lossy(&buf)
                }
            };
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            match self.parse_record(trimmed) {
                Ok((id, text, meta)) => {
                    let id = id.unwrap_or_else(|| format!("{name}:{line_no}"));
                    let meta = Meta {
                        source: format!("{name}:{line_no}"),
                        ..meta
                    };
                    self.push(id, text, meta, name, line_no)?;
                }
                Err(message) => {
                    if self.opts.skip_bad_records {
                        self.out.report.skip(
                            "malformed record",
                            format!("{name}:{line_no}"),
                            format!("malformed record skipped: {message}"),
                        );
                    } else {
                        return Err(IngestError::BadRecord {
                            file: name.to_string(),
                            line: line_no,
                            message,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    #[allow(clippy::type_complexity)]
    fn parse_record(&self, line: &str) -> Result<(Option<String>, String, Meta), String> {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
        let obj = v.as_object().ok_or("not a JSON object")?;
        let f = &self.opts.fields;
        let text = match obj.get(&f.text) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => {
                return Err(format!("no {:?} field", f.text));
            }
            Some(_) => return Err(format!("field {:?} is not a string", f.text)),
        };
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
            source: String::new(),
        };
        Ok((scalar(&f.id), text, meta))
    }

    fn push(
        &mut self,
        id: String,
        text: String,
        meta: Meta,
        file: &str,
        line: usize,
    ) -> Result<(), IngestError> {
        let at = meta.source.clone();
        if text.trim().is_empty() {
            self.out.report.skip(
                "empty document",
                &at,
                format!("document {id:?} is empty, skipped"),
            );
            return Ok(());
        }
        if let Some(first) = self.seen.get(&id) {
            if self.opts.skip_bad_records {
                self.out.report.skip(
                    "duplicate id",
                    &at,
                    format!("duplicate id {id:?} (first seen at {first}), skipped"),
                );
                return Ok(());
            }
            return Err(IngestError::DuplicateId {
                id,
                file: file.to_string(),
                line,
                first: first.clone(),
            });
        }
        if text.len() > HUGE_DOCUMENT_BYTES {
            self.out.report.warn(
                &at,
                format!(
                    "document {id:?} is huge ({} MB); it is processed but slows the run",
                    text.len() >> 20
                ),
            );
        }
        self.seen.insert(id.clone(), at);
        self.out.report.documents += 1;
        self.out.report.bytes += text.len();
        self.out.docs.push(Document { id, text, meta });
        Ok(())
    }
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
            Ok(_) => files.push(path),
            Err(e) => report.skip(
                "unreadable file",
                path.display().to_string(),
                format!("cannot stat: {e}"),
            ),
        }
    }
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

/// Read all of a reader into a string, lossily (used for `compare` on arbitrary files).
pub fn read_lossy(mut r: impl Read) -> std::io::Result<(String, bool)> {
    let mut buf = Vec::new();
    r.read_to_end(&mut buf)?;
    match String::from_utf8(buf) {
        Ok(s) => Ok((s, false)),
        Err(e) => Ok((String::from_utf8_lossy(e.as_bytes()).into_owned(), true)),
    }
}
