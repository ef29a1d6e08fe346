//! A segment: the documents one commit added (or a refresh rewrote), with everything a
//! query needs to find candidates among them, in immutable files of one directory.
//!
//! | file | records |
//! | --- | --- |
//! | `docs.bin`, `docs.off` | the documents' binary records ([`crate::codec`]); `u64` byte offset of each record, and the end |
//! | `ids` | `(u64 hash of id, u32 doc)`, sorted |
//! | `info` | per document, 24 bytes: tokens, sentences, anchor count, language, date, vectors |
//! | `anchors` | `(u32 anchor, u32 doc)`, sorted |
//! | `bands`, `exact`, `entities` | `(u64 key, u32 doc)`, sorted |
//! | `docvec` | the main encoder's document vectors, `dim` `f32` per document (absent lexically) |
//! | `relations.bin`, `relations.off` | the relations found when the segment was written, binary records; `u64` offset of each record, and the end |
//! | `reldocs` | `(u32 doc, u32 record)`: the relations of each document (global ids), sorted |
//! | `cache.keys`, `cache.vecs` | sentence vectors the main/fallback encoders computed then |
//!
//! Documents of a segment are numbered from the segment's first id in the index. Each file
//! is streamed through a buffer (none is built whole in memory first); the tables of the
//! documents and of their fingerprints are written while the documents are judged
//! ([`write_documents`], [`write_fingerprints`]), the rest once they are ([`write`]).

use crate::codec;
use crate::store::{self, f32_at, u32_at, u64_at, Mapped, Records, Sink, Syncs};
use crate::IndexError;
use retrace::pipeline::Vectors;
use retrace::prepare::dates::Date;
use retrace::{DocId, Document, Fingerprint, Relation};
use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::path::{Path, PathBuf};

/// Hash of a document id (for the id table).
pub(crate) fn id_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// What the index keeps of a document besides its text, in 24 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Info {
    pub tokens: u32,
    pub sentences: u32,
    pub anchors: u32,
    pub lang: &'static str,
    pub date: Option<Date>,
    pub vectors: Vectors,
}

impl Info {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.tokens.to_le_bytes());
        out.extend_from_slice(&self.sentences.to_le_bytes());
        out.extend_from_slice(&self.anchors.to_le_bytes());
        let mut lang = [0u8; 4];
        for (d, s) in lang.iter_mut().zip(self.lang.bytes()) {
            *d = s;
        }
        out.extend_from_slice(&lang);
        let (y, m, d) = match self.date {
            Some(x) => (x.year, x.month.unwrap_or(0), x.day.unwrap_or(0)),
            None => (0, 0, 0),
        };
        out.extend_from_slice(&y.to_le_bytes());
        out.push(m);
        out.push(d);
        out.push(match self.vectors {
            Vectors::None => 0,
            Vectors::Primary => 1,
            Vectors::Fallback => 2,
        });
        out.extend_from_slice(&[0; 3]);
    }

    fn decode(b: &[u8; 24]) -> Info {
        let code = std::str::from_utf8(&b[12..16])
            .unwrap_or("und")
            .trim_end_matches('\0');
        let lang = retrace::prepare::langid::known_code(code).unwrap_or("und");
        let year = u16::from_le_bytes([b[16], b[17]]);
        let date = (year > 0).then_some(Date {
            year,
            month: (b[18] > 0).then_some(b[18]),
            day: (b[19] > 0).then_some(b[19]),
        });
        Info {
            tokens: u32_at(b, 0),
            sentences: u32_at(b, 4),
            anchors: u32_at(b, 8),
            lang,
            date,
            vectors: match b[20] {
                1 => Vectors::Primary,
                2 => Vectors::Fallback,
                _ => Vectors::None,
            },
        }
    }
}

/// Everything written for one segment's documents.
/// The tables that depend only on the documents ([`write_documents`]) and on their
/// fingerprints ([`write_fingerprints`]) are not here: they are written into the segment's
/// directory while the documents are judged.
pub(crate) struct SegmentData<'a> {
    pub first: DocId,
    /// Number of documents.
    pub count: usize,
    pub infos: Vec<Info>,
    /// Each document's entity hashes.
    pub entities: &'a [Vec<u64>],
    /// `dim` floats per document (empty without an encoder).
    pub docvec: Vec<f32>,
    pub relations: &'a [Relation],
    /// Sentence vectors computed for these documents: (encoder name, text hash, vector).
    pub cache: Vec<(String, u64, Vec<f32>)>,
}

/// The record of a segment in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SegmentMeta {
    /// Directory name inside the index.
    pub dir: String,
    /// Id of its first document.
    pub first: u32,
    /// Its documents.
    pub count: u32,
    /// Vector dimension of `docvec` (0: none).
    pub dim: usize,
    /// Cached sentence vectors by encoder: (name, rows, dim).
    pub cache: Vec<(String, usize, usize)>,
}

/// Complete segment `dir` (a new directory, synced, to be named by the caller, which holds
/// the tables of [`write_documents`] and [`write_fingerprints`] already).
pub(crate) fn write(
    dir: &Path,
    data: &SegmentData,
    syncs: &Syncs,
) -> Result<SegmentMeta, IndexError> {
    let t0 = std::time::Instant::now();
    // The relations beside the rest.
    let (relations, rest) = rayon::join(
        || write_relations(dir, data.relations, syncs),
        || write_judged(dir, data, syncs),
    );
    relations?;
    let (dim, by_encoder) = rest?;
    syncs.wait()?;
    store::sync_dir(dir)?;
    tracing::debug!(
        "segment: {} documents completed in {:.3?}",
        data.count,
        t0.elapsed()
    );
    Ok(SegmentMeta {
        dir: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        first: data.first.0,
        count: data.count as u32,
        dim,
        cache: by_encoder,
    })
}

/// Records of `items` into `dir/name`, and their offsets (and the end's) into
/// `dir/offsets`.
fn write_records<T>(
    dir: &Path,
    name: &str,
    offsets: &str,
    items: &[T],
    put: impl Fn(&mut Vec<u8>, &T),
    syncs: &Syncs,
) -> Result<(), IndexError> {
    const FLUSH: usize = 1 << 20;
    let mut sink = Sink::create(&dir.join(name))?;
    let mut at = Vec::with_capacity((items.len() + 1) * 8);
    let mut buf = Vec::with_capacity(FLUSH + (64 << 10));
    for x in items {
        at.extend_from_slice(&(sink.written() + buf.len() as u64).to_le_bytes());
        put(&mut buf, x);
        if buf.len() >= FLUSH {
            sink.put(&buf)?;
            buf.clear();
        }
    }
    sink.put(&buf)?;
    at.extend_from_slice(&sink.written().to_le_bytes());
    sink.finish(syncs)?;
    store::write_file(&dir.join(offsets), &at, syncs)
}

/// `docs.bin`, `docs.off` and `ids` of a segment's documents (in order) into `dir`.
pub(crate) fn write_documents<D: Borrow<Document>>(
    dir: &Path,
    docs: &[D],
    syncs: &Syncs,
) -> Result<(), IndexError> {
    let put = |b: &mut Vec<u8>, d: &D| codec::put_document(b, d.borrow());
    write_records(dir, "docs.bin", "docs.off", docs, put, syncs)?;
    let ids = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (id_hash(&d.borrow().id), i as u32))
        .collect();
    store::write_key64(&dir.join("ids"), ids, syncs)
}

/// `anchors`, `bands` and `exact` of a segment's documents' fingerprints into `dir`. The
/// anchor table, the largest, is built in document order, so that sorting it is a radix
/// sort of the anchors alone.
pub(crate) fn write_fingerprints(
    dir: &Path,
    fps: &[Fingerprint],
    syncs: &Syncs,
) -> Result<(), IndexError> {
    let n = fps.iter().map(|f| f.anchors.len()).sum();
    let mut anchors = Vec::with_capacity(n);
    let (mut bands, mut exact) = (Vec::new(), Vec::new());
    for (i, f) in fps.iter().enumerate() {
        anchors.extend(f.anchors.iter().map(|&a| store::pack32(a, i as u32)));
        bands.extend(f.bands.iter().map(|&k| (k, i as u32)));
        if f.exact != 0 {
            exact.push((f.exact, i as u32));
        }
    }
    let (a, b) = rayon::join(
        || store::write_packed32(&dir.join("anchors"), anchors, syncs),
        || {
            store::write_key64(&dir.join("bands"), bands, syncs)?;
            store::write_key64(&dir.join("exact"), exact, syncs)
        },
    );
    a.and(b)
}

/// `relations.bin`, `relations.off` and `reldocs`.
fn write_relations(dir: &Path, relations: &[Relation], syncs: &Syncs) -> Result<(), IndexError> {
    let put = |b: &mut Vec<u8>, r: &Relation| codec::put_relation(b, r);
    write_records(dir, "relations.bin", "relations.off", relations, put, syncs)?;
    let mut reldocs = Vec::with_capacity(relations.len() * 2);
    for (line, r) in relations.iter().enumerate() {
        reldocs.push((r.a.0, line as u32));
        reldocs.push((r.b.0, line as u32));
    }
    store::write_key32(&dir.join("reldocs"), reldocs, syncs)
}

/// What [`write_judged`] reports: the document vectors' dimension and, per encoder,
/// `(name, rows, dim)` of its cached sentence vectors.
type VectorsWritten = (usize, Vec<(String, usize, usize)>);

/// `info`, `entities`, `docvec` and the cached sentence vectors: what judging the documents
/// found of them.
fn write_judged(
    dir: &Path,
    data: &SegmentData,
    syncs: &Syncs,
) -> Result<VectorsWritten, IndexError> {
    let mut info = Vec::with_capacity(data.infos.len() * 24);
    for x in &data.infos {
        x.encode(&mut info);
    }
    store::write_file(&dir.join("info"), &info, syncs)?;
    let mut entities = Vec::new();
    for (i, e) in data.entities.iter().enumerate() {
        entities.extend(e.iter().map(|&h| (h, i as u32)));
    }
    store::write_key64(&dir.join("entities"), entities, syncs)?;
    let dim = data.docvec.len().checked_div(data.count).unwrap_or(0);
    let mut vec_bytes = Vec::with_capacity(data.docvec.len() * 4);
    for x in &data.docvec {
        vec_bytes.extend_from_slice(&x.to_le_bytes());
    }
    store::write_file(&dir.join("docvec"), &vec_bytes, syncs)?;
    // The sentence vectors, one pair of files per encoder.
    let mut by_encoder: Vec<(String, usize, usize)> = Vec::new();
    let mut names: Vec<&str> = data.cache.iter().map(|c| c.0.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let rows: Vec<&(String, u64, Vec<f32>)> =
            data.cache.iter().filter(|c| c.0 == name).collect();
        let dim = rows.first().map(|r| r.2.len()).unwrap_or(0);
        let (mut keys, mut vecs) = (Vec::new(), Vec::new());
        for r in &rows {
            keys.extend_from_slice(&r.1.to_le_bytes());
            for x in &r.2 {
                vecs.extend_from_slice(&x.to_le_bytes());
            }
        }
        let file = cache_file(name);
        store::write_file(&dir.join(format!("{file}.keys")), &keys, syncs)?;
        store::write_file(&dir.join(format!("{file}.vecs")), &vecs, syncs)?;
        by_encoder.push((name.to_string(), rows.len(), dim));
    }
    Ok((dim, by_encoder))
}

/// A file name for an encoder's cache (its name, with anything but letters, digits and `-`
/// replaced).
fn cache_file(encoder: &str) -> String {
    let clean: String = encoder
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("cache-{clean}")
}

/// An open segment: its files mapped.
pub(crate) struct Segment {
    pub meta: SegmentMeta,
    pub path: PathBuf,
    docs: Mapped,
    offsets: Records<8>,
    ids: Records<12>,
    info: Records<24>,
    pub anchors: Records<8>,
    pub bands: Records<12>,
    pub exact: Records<12>,
    pub entities: Records<12>,
    docvec: Mapped,
    relations: Mapped,
    rel_offsets: Records<8>,
    reldocs: Records<8>,
    /// Per encoder: (name, keys, vectors, dim).
    cache: Vec<(String, Records<8>, Mapped, usize)>,
}

impl Segment {
    pub fn open(root: &Path, meta: &SegmentMeta) -> Result<Segment, IndexError> {
        let path = root.join(&meta.dir);
        let f = |n: &str| path.join(n);
        let seg = Segment {
            docs: Mapped::open(&f("docs.bin"))?,
            offsets: Records::open(&f("docs.off"))?,
            ids: Records::open(&f("ids"))?,
            info: Records::open(&f("info"))?,
            anchors: Records::open(&f("anchors"))?,
            bands: Records::open(&f("bands"))?,
            exact: Records::open(&f("exact"))?,
            entities: Records::open(&f("entities"))?,
            docvec: Mapped::open(&f("docvec"))?,
            relations: Mapped::open(&f("relations.bin"))?,
            rel_offsets: Records::open(&f("relations.off"))?,
            reldocs: Records::open(&f("reldocs"))?,
            cache: meta
                .cache
                .iter()
                .map(|(name, _, dim)| {
                    let file = cache_file(name);
                    Ok((
                        name.clone(),
                        Records::open(&f(&format!("{file}.keys")))?,
                        Mapped::open(&f(&format!("{file}.vecs")))?,
                        *dim,
                    ))
                })
                .collect::<Result<_, IndexError>>()?,
            meta: meta.clone(),
            path,
        };
        if seg.info.len() != meta.count as usize || seg.offsets.len() != meta.count as usize + 1 {
            return Err(IndexError::Corrupt {
                path: seg.path.clone(),
                reason: format!(
                    "holds {} document records, the manifest says {}",
                    seg.info.len(),
                    meta.count
                ),
            });
        }
        Ok(seg)
    }

    /// Whether global document `d` is in this segment.
    pub fn holds(&self, d: DocId) -> bool {
        d.0 >= self.meta.first && d.0 < self.meta.first + self.meta.count
    }

    fn local(&self, d: DocId) -> usize {
        (d.0 - self.meta.first) as usize
    }

    /// The global id of local document `i`.
    pub fn global(&self, i: u32) -> DocId {
        DocId(self.meta.first + i)
    }

    /// Document `d` (of this segment).
    pub fn document(&self, d: DocId) -> Result<Document, IndexError> {
        let i = self.local(d);
        let (s, e) = (
            u64_at(self.offsets.get(i), 0) as usize,
            u64_at(self.offsets.get(i + 1), 0) as usize,
        );
        let record = self.docs.bytes().get(s..e).unwrap_or(&[]);
        codec::document(record).map_err(|e| IndexError::Corrupt {
            path: self.path.join("docs.bin"),
            reason: format!("document {}: {e}", d.0),
        })
    }

    /// What the index keeps of document `d`.
    pub fn info(&self, d: DocId) -> Info {
        Info::decode(self.info.get(self.local(d)))
    }

    /// Passage anchors of document `d` (the third field of its info record).
    pub fn anchor_count(&self, d: DocId) -> u32 {
        u32_at(self.info.get(self.local(d)), 8)
    }

    /// The global ids of documents whose id hashes to `h`.
    pub fn ids_with_hash(&self, h: u64) -> Vec<DocId> {
        let (lo, hi) = self.ids.equal_range(h, |b| u64_at(b, 0));
        (lo..hi)
            .map(|i| self.global(u32_at(self.ids.get(i), 8)))
            .collect()
    }

    /// Documents of this segment holding `anchor`: a range of `anchors` records.
    pub fn anchor_range(&self, anchor: u32) -> (usize, usize) {
        self.anchors.equal_range(anchor, |b| u32_at(b, 0))
    }

    /// Documents holding key `k` in a sorted `(u64, u32)` file.
    pub fn key_docs(records: &Records<12>, k: u64, seg: &Segment) -> Vec<DocId> {
        let (lo, hi) = records.equal_range(k, |b| u64_at(b, 0));
        (lo..hi)
            .map(|i| seg.global(u32_at(records.get(i), 8)))
            .collect()
    }

    /// Document `d`'s vector (empty without one).
    pub fn docvec(&self, d: DocId, out: &mut Vec<f32>) {
        out.clear();
        let dim = self.meta.dim;
        if dim == 0 {
            return;
        }
        let b = self.docvec.bytes();
        let i = self.local(d);
        out.extend((i * dim..(i + 1) * dim).map(|k| f32_at(b, k)));
    }

    /// The relations written with this segment.
    pub fn relations(&self) -> Result<Vec<Relation>, IndexError> {
        (0..self.rel_offsets.len().saturating_sub(1))
            .map(|i| self.relation(i))
            .collect()
    }

    /// The relations of this segment that involve document `d` (of any segment).
    pub fn relations_of(&self, d: DocId) -> Result<Vec<Relation>, IndexError> {
        let (lo, hi) = self.reldocs.equal_range(d.0, |b| u32_at(b, 0));
        (lo..hi)
            .map(|k| self.relation(u32_at(self.reldocs.get(k), 4) as usize))
            .collect()
    }

    fn relation(&self, line: usize) -> Result<Relation, IndexError> {
        let corrupt = |reason: String| IndexError::Corrupt {
            path: self.path.join("relations.bin"),
            reason,
        };
        if line + 1 >= self.rel_offsets.len() {
            return Err(corrupt(format!("no relation {line}")));
        }
        let (s, e) = (
            u64_at(self.rel_offsets.get(line), 0) as usize,
            u64_at(self.rel_offsets.get(line + 1), 0) as usize,
        );
        let bytes = self.relations.bytes().get(s..e).unwrap_or(&[]);
        codec::relation(bytes).map_err(|e| corrupt(format!("relation {line}: {e}")))
    }

    /// The cached sentence vectors of encoder `name`: `(keys, vectors, dim)`.
    pub fn cache(&self, name: &str) -> Option<(&Records<8>, &[u8], usize)> {
        self.cache
            .iter()
            .find(|c| c.0 == name)
            .map(|c| (&c.1, c.2.bytes(), c.3))
    }
}

/// Write into `dir` one segment holding what `segs` hold (consecutive segments, in order):
/// the same records, renumbered, so that a reader cannot tell it from the segments it
/// replaces. Nothing is judged again.
pub(crate) fn merge(dir: &Path, segs: &[&Segment]) -> Result<SegmentMeta, IndexError> {
    let syncs = &Syncs::default();
    let first = segs.first().map(|s| s.meta.first).unwrap_or(0);
    let mut next = first;
    for s in segs {
        if s.meta.first != next {
            return Err(IndexError::Corrupt {
                path: s.path.clone(),
                reason: format!(
                    "segment starts at document {}, not {next}: only consecutive segments merge",
                    s.meta.first
                ),
            });
        }
        next += s.meta.count;
    }
    std::fs::create_dir_all(dir).map_err(store::io(dir))?;
    let dim = segs.iter().map(|s| s.meta.dim).max().unwrap_or(0);
    let (mut docs, mut offsets, mut info, mut docvec) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut ids, mut anchors, mut bands, mut exact, mut entities) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut rel, mut rel_off, mut reldocs) = (Vec::new(), Vec::new(), Vec::new());
    let mut line_base = 0u32;
    for s in segs {
        let shift = s.meta.first - first;
        let base = docs.len() as u64;
        for i in 0..s.offsets.len().saturating_sub(1) {
            let at = u64_at(s.offsets.get(i), 0) + base;
            offsets.extend_from_slice(&at.to_le_bytes());
        }
        docs.extend_from_slice(s.docs.bytes());
        for i in 0..s.info.len() {
            info.extend_from_slice(s.info.get(i));
        }
        if s.meta.dim == dim {
            docvec.extend_from_slice(s.docvec.bytes());
        } else {
            // A segment without vectors among segments with them: zero vectors, which
            // match nothing (its documents' info says they have none).
            docvec.resize(docvec.len() + s.meta.count as usize * dim * 4, 0);
        }
        let k64 = |r: &Records<12>, out: &mut Vec<(u64, u32)>| {
            out.extend((0..r.len()).map(|i| (u64_at(r.get(i), 0), u32_at(r.get(i), 8) + shift)));
        };
        k64(&s.ids, &mut ids);
        k64(&s.bands, &mut bands);
        k64(&s.exact, &mut exact);
        k64(&s.entities, &mut entities);
        anchors.extend((0..s.anchors.len()).map(|i| {
            (
                u32_at(s.anchors.get(i), 0),
                u32_at(s.anchors.get(i), 4) + shift,
            )
        }));
        let rbase = rel.len() as u64;
        let lines = s.rel_offsets.len().saturating_sub(1);
        for i in 0..lines {
            let at = u64_at(s.rel_offsets.get(i), 0) + rbase;
            rel_off.extend_from_slice(&at.to_le_bytes());
        }
        rel.extend_from_slice(s.relations.bytes());
        reldocs.extend((0..s.reldocs.len()).map(|i| {
            let r = s.reldocs.get(i);
            (u32_at(r, 0), u32_at(r, 4) + line_base)
        }));
        line_base += lines as u32;
    }
    offsets.extend_from_slice(&(docs.len() as u64).to_le_bytes());
    rel_off.extend_from_slice(&(rel.len() as u64).to_le_bytes());
    store::write_file(&dir.join("docs.bin"), &docs, syncs)?;
    store::write_file(&dir.join("docs.off"), &offsets, syncs)?;
    store::write_key64(&dir.join("ids"), ids, syncs)?;
    store::write_file(&dir.join("info"), &info, syncs)?;
    store::write_key32(&dir.join("anchors"), anchors, syncs)?;
    store::write_key64(&dir.join("bands"), bands, syncs)?;
    store::write_key64(&dir.join("exact"), exact, syncs)?;
    store::write_key64(&dir.join("entities"), entities, syncs)?;
    store::write_file(&dir.join("docvec"), &docvec, syncs)?;
    store::write_file(&dir.join("relations.bin"), &rel, syncs)?;
    store::write_file(&dir.join("relations.off"), &rel_off, syncs)?;
    store::write_key32(&dir.join("reldocs"), reldocs, syncs)?;
    // Cached sentence vectors, per encoder, in segment order.
    let mut names: Vec<(&str, usize)> = segs
        .iter()
        .flat_map(|s| s.cache.iter().map(|c| (c.0.as_str(), c.3)))
        .collect();
    names.sort_unstable();
    names.dedup_by(|a, b| a.0 == b.0);
    let mut by_encoder = Vec::new();
    for (name, cdim) in names {
        let (mut keys, mut vecs, mut rows) = (Vec::new(), Vec::new(), 0);
        for c in segs.iter().flat_map(|s| s.cache.iter()) {
            if c.0 == name && c.3 == cdim {
                for i in 0..c.1.len() {
                    keys.extend_from_slice(c.1.get(i));
                }
                vecs.extend_from_slice(c.2.bytes());
                rows += c.1.len();
            }
        }
        let file = cache_file(name);
        store::write_file(&dir.join(format!("{file}.keys")), &keys, syncs)?;
        store::write_file(&dir.join(format!("{file}.vecs")), &vecs, syncs)?;
        by_encoder.push((name.to_string(), rows, cdim));
    }
    syncs.wait()?;
    store::sync_dir(dir)?;
    Ok(SegmentMeta {
        dir: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        first,
        count: next - first,
        dim,
        cache: by_encoder,
    })
}
