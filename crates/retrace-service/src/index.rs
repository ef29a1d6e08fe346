//! The living index: documents added as they arrive, each batch judged against what the
//! index holds, and any text asked about without being added.
//!
//! # One code path with `scan`
//!
//! A batch (or a query) is judged by [`retrace::pipeline::scan_in`]: a scan of the new
//! documents together with the documents the index proposes as their candidates (those
//! sharing passage anchors, an LSH bucket or the whole text, and each new document's nearest
//! neighbours by meaning), told the index's statistics (its boilerplate model, how many of
//! its documents hold an anchor or a name). Only the relations that involve a new document
//! are kept. A scan of the whole collection would judge these pairs the same way, up to
//! statistics that have moved since they were last learnt:
//!
//! - the boilerplate model is learnt at the last refresh (lines that became template text
//!   since are matched until then);
//! - the anchor and name frequencies are the index's, exact at every commit; but a pair
//!   found when an anchor was rarer stays (a scan of the whole would ignore the anchor);
//! - nearest neighbours by meaning are searched from the new documents only: an old
//!   document whose neighbours a new one would displace keeps its pairs.
//! - a same-story pair kept because one side is a version of a report confirmed as the
//!   same event (the stage `events`) is found when the later of the two arrives with the
//!   others known (the relations among the proposed documents are handed to the scan); a
//!   version added after both is linked at the next refresh.
//!
//! A **refresh** (automatic once the documents added since the last one reach
//! `refresh_ratio` of those it saw, or `retrace index refresh`) scans the whole collection
//! again, with the cached sentence vectors (no sentence is embedded twice), relearns the
//! statistics and rewrites the index as one segment; after it, the index holds exactly what
//! one `scan` of its documents gives. `export` refreshes first unless told not to.
//!
//! # Durability
//!
//! A commit writes a new segment directory under a temporary name, syncs it, renames it,
//! then replaces `index.json` (the manifest) atomically: the manifest is the commit point.
//! A process killed at any moment leaves the manifest of the last acknowledged commit;
//! directories it does not list are removed at the next write. One writer at a time
//! (`write.lock`, an exclusive file lock); readers see the last committed snapshot and are
//! never blocked by a writer.

use crate::cache::{CacheMap, CachedEncoder};
use crate::segment::{self, id_hash, Info, Segment, SegmentData, SegmentMeta};
use crate::store::{self, Syncs};
use crate::IndexError;
use foldhash::{HashMap, HashSet};
use retrace::candidates::{nearest_pairs, ExactIndex, NeighborQuery};
use retrace::embed::embed_documents;
use retrace::encode::Encoder;
use retrace::fingerprint::fingerprint_corpus;
use retrace::pipeline::{
    scan_in, Collection, Encoders, Meaning, Outcome, Scan, ScanOptions, Vectors,
};
use retrace::prepare::boilerplate::BoilerplateModel;
use retrace::prepare::{prepare_with, Prepared};
use retrace::progress::{NoProgress, Progress};
use retrace::relate::entities::Entities;
use retrace::relate::provenance::{provenance, DocFacts, Parent};
use retrace::relate::stories::{stories, StoryOptions};
use retrace::{Calibration, DocId, Document, Kind, Passage, Relation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// Segments of one tier that are merged into one (see [`Index::compact`]).
pub const MERGE_FACTOR: usize = 8;

/// The tier of a segment of `count` documents: `floor(log8(count))`.
fn tier(count: u32) -> u32 {
    let (mut t, mut c) = (0, count);
    while c >= MERGE_FACTOR as u32 {
        c /= MERGE_FACTOR as u32;
        t += 1;
    }
    t
}

/// Format of an index (`index.json` and its segments' files). 1: documents and relations
/// as JSON lines; 2: as binary records (see `segment.rs` and `codec.rs`).
const FORMAT: u32 = 2;

/// How an index is made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexOptions {
    /// Every stage's settings.
    pub scan: ScanOptions,
    /// The main encoder's name (none: lexical only).
    pub encoder: Option<String>,
    /// The fallback encoder's name.
    pub fallback: Option<String>,
    /// The main encoder's thresholds by meaning (recorded at creation).
    pub calibration: Option<Calibration>,
    /// The fallback encoder's.
    pub fallback_calibration: Option<Calibration>,
    /// The arithmetic of the main encoder's vectors (e.g. `int8`), when it has a choice.
    #[serde(default)]
    pub arithmetic: Option<String>,
    /// Refresh once the documents added since the last refresh reach this share of the
    /// documents it saw (0: after every commit; a large value: only when asked).
    pub refresh_ratio: f64,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            scan: ScanOptions::default(),
            encoder: None,
            fallback: None,
            calibration: None,
            fallback_calibration: None,
            arithmetic: None,
            refresh_ratio: 0.5,
        }
    }
}

/// The sentence encoders an index is used with: the ones it was created with (checked by
/// name; their thresholds are the index's).
#[derive(Clone, Copy, Default)]
pub struct Models<'a> {
    /// The main encoder (`None`: lexical only).
    pub primary: Option<&'a dyn Encoder>,
    /// The fallback encoder.
    pub fallback: Option<&'a dyn Encoder>,
}

/// The manifest: what the last commit holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    options: IndexOptions,
    /// Commit number (segment directories are named by it).
    generation: u64,
    segments: Vec<SegmentMeta>,
    /// Documents ever added (ids `0..next`).
    next: u32,
    /// Removed documents, sorted.
    removed: Vec<u32>,
    /// The boilerplate model of the last refresh.
    boilerplate: BoilerplateModel,
    /// Live documents at the last refresh.
    refreshed_docs: usize,
    /// Documents added since it.
    added_since_refresh: usize,
}

/// A committed state of the index, read without locks.
pub struct Snapshot {
    root: PathBuf,
    manifest: Manifest,
    segments: Vec<Segment>,
    removed: HashSet<u32>,
    relations: OnceLock<Result<Arc<Vec<Relation>>, String>>,
    caches: OnceLock<HashMap<String, CacheMap>>,
    vectors: OnceLock<Vec<f32>>,
    graph: OnceLock<Arc<Graph>>,
    /// Graphs of the components looked up so far, by member (see [`Snapshot::graph_around`]).
    around: Mutex<HashMap<u32, Arc<Graph>>>,
}

/// Stories and parents of the live documents.
struct Graph {
    story: HashMap<u32, u32>,
    parent: HashMap<u32, Parent>,
}

/// What was added.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AddReport {
    /// Documents added.
    pub added: usize,
    /// Relations found for them.
    pub relations: usize,
    /// Whether a refresh followed the commit.
    pub refreshed: bool,
    /// Live documents after the commit.
    pub documents: usize,
}

/// A document related to another (or to a query).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Related {
    /// The related document's id.
    pub id: String,
    /// The relation's kind.
    pub kind: Kind,
    /// Share of the asked document covered by the related one.
    pub coverage: f64,
    /// Share of the related document covered by the asked one.
    pub coverage_other: f64,
    /// The relation's score.
    pub score: f64,
    /// Verbatim density or mean similarity (see the output contract).
    pub density: f64,
    /// Document cosine, for relations by meaning.
    pub similarity: Option<f64>,
    /// The aligned passages: `ours` byte ranges in the asked document, `theirs` in the
    /// related one.
    pub evidence: Vec<Evidence>,
}

/// An aligned passage of a related pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Byte range in the asked document.
    pub ours: [u32; 2],
    /// Byte range in the related one.
    pub theirs: [u32; 2],
    /// Verbatim share or similarity.
    pub score: f32,
    /// Verbatim tokens (0 for a passage aligned by meaning).
    pub matched_tokens: u32,
}

/// What the index says of a text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    /// Its language.
    pub lang: String,
    /// Tokens of its main text.
    pub tokens: u32,
    /// Related documents, strongest first.
    pub related: Vec<Related>,
    /// The document it would derive from, were it added, and why.
    pub parent: Option<ParentOut>,
}

/// A parent, by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParentOut {
    /// The parent's id.
    pub id: String,
    /// Which evidence decided.
    pub why: String,
}

/// A document of the index with what the index found about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentOut {
    /// The document.
    pub document: Document,
    /// Its language.
    pub lang: String,
    /// Tokens of its main text.
    pub tokens: u32,
    /// Its story (the id of the story's first document).
    pub story: String,
    /// Its parent.
    pub parent: Option<ParentOut>,
}

/// A story: its documents and their parents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryOut {
    /// The story's id (its first document's).
    pub id: String,
    /// Its documents, in index order.
    pub documents: Vec<StoryMember>,
    /// The relations among them (ids in `a` < `b` order of the index).
    pub relations: Vec<StoryRelation>,
}

/// A member of a story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryMember {
    /// Its id.
    pub id: String,
    /// Its title, when known.
    pub title: Option<String>,
    /// Its language.
    pub lang: String,
    /// Its parent.
    pub parent: Option<ParentOut>,
}

/// A relation inside a story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryRelation {
    /// One document.
    pub a: String,
    /// The other.
    pub b: String,
    /// The kind.
    pub kind: Kind,
    /// Share of a covered by b.
    pub coverage_a: f64,
    /// Share of b covered by a.
    pub coverage_b: f64,
}

/// The index.
pub struct Index {
    root: PathBuf,
    snapshot: RwLock<Arc<Snapshot>>,
    writer: Mutex<()>,
}

fn manifest_path(root: &Path) -> PathBuf {
    root.join("index.json")
}

fn read_manifest(root: &Path) -> Result<Manifest, IndexError> {
    let path = manifest_path(root);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            IndexError::NotAnIndex(root.to_path_buf())
        } else {
            IndexError::Io {
                path: path.clone(),
                source: e,
            }
        }
    })?;
    let m: Manifest = serde_json::from_str(&text).map_err(|e| IndexError::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    if m.format != FORMAT {
        return Err(IndexError::Format {
            path,
            found: m.format,
            reads: FORMAT,
        });
    }
    Ok(m)
}

impl Snapshot {
    fn open(root: &Path, manifest: Manifest) -> Result<Snapshot, IndexError> {
        let segments = manifest
            .segments
            .iter()
            .map(|m| Segment::open(root, m))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Snapshot {
            root: root.to_path_buf(),
            removed: manifest.removed.iter().copied().collect(),
            manifest,
            segments,
            relations: OnceLock::new(),
            caches: OnceLock::new(),
            vectors: OnceLock::new(),
            graph: OnceLock::new(),
            around: Mutex::new(HashMap::default()),
        })
    }

    /// `models` with the index's thresholds, as the pipeline takes them.
    fn meanings<'a>(&'a self, models: Models<'a>) -> Encoders<'a> {
        let o = &self.manifest.options;
        let with = |e: Option<&'a dyn Encoder>, c: &'a Option<Calibration>| {
            e.zip(c.as_ref()).map(|(encoder, calibration)| Meaning {
                encoder,
                calibration,
            })
        };
        Encoders {
            primary: with(models.primary, &o.calibration),
            fallback: with(models.fallback, &o.fallback_calibration),
        }
    }

    /// The index's options.
    pub fn options(&self) -> &IndexOptions {
        &self.manifest.options
    }

    /// Live documents.
    pub fn len(&self) -> usize {
        self.manifest.next as usize - self.removed.len()
    }

    /// Whether it holds no live document.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of segments (one after a refresh, one more for each add since).
    pub fn segments(&self) -> usize {
        self.segments.len()
    }

    /// The commit this snapshot holds (1 for the first).
    pub fn generation(&self) -> u64 {
        self.manifest.generation
    }

    /// Documents added since the last refresh.
    pub fn added_since_refresh(&self) -> usize {
        self.manifest.added_since_refresh
    }

    fn segment_of(&self, d: DocId) -> Option<&Segment> {
        let i = self
            .segments
            .partition_point(|s| s.meta.first + s.meta.count <= d.0);
        self.segments.get(i).filter(|s| s.holds(d))
    }

    fn live(&self, d: DocId) -> bool {
        d.0 < self.manifest.next && !self.removed.contains(&d.0)
    }

    /// The live documents' ids, in order.
    fn live_ids(&self) -> Vec<DocId> {
        DocId::all(self.manifest.next as usize)
            .filter(|d| !self.removed.contains(&d.0))
            .collect()
    }

    fn document(&self, d: DocId) -> Result<Document, IndexError> {
        match self.segment_of(d) {
            Some(s) => s.document(d),
            None => Err(IndexError::Corrupt {
                path: manifest_path(&self.root),
                reason: format!("no segment holds document {}", d.0),
            }),
        }
    }

    /// Passage anchors of document `d` (0 when no segment holds it).
    fn anchor_count(&self, d: DocId) -> u32 {
        self.segment_of(d).map(|s| s.anchor_count(d)).unwrap_or(0)
    }

    fn info(&self, d: DocId) -> Option<Info> {
        self.segment_of(d).map(|s| s.info(d))
    }

    /// The live document with input id `id`.
    pub fn find(&self, id: &str) -> Result<Option<DocId>, IndexError> {
        let h = id_hash(id);
        for s in &self.segments {
            for d in s.ids_with_hash(h) {
                if self.live(d) && s.document(d)?.id == id {
                    return Ok(Some(d));
                }
            }
        }
        Ok(None)
    }

    /// Documents of the index holding passage anchor `a`.
    fn anchor_df(&self, a: u32) -> u32 {
        self.segments
            .iter()
            .map(|s| {
                let (lo, hi) = s.anchor_range(a);
                (hi - lo) as u32
            })
            .sum()
    }

    /// Documents of the index holding name or number `e`.
    fn entity_df(&self, e: u64) -> u32 {
        self.segments
            .iter()
            .map(|s| {
                let (lo, hi) = s.entities.equal_range(e, |b| store::u64_at(b, 0));
                (hi - lo) as u32
            })
            .sum()
    }

    fn caches(&self) -> &HashMap<String, CacheMap> {
        self.caches.get_or_init(|| {
            let mut names: Vec<String> = self
                .segments
                .iter()
                .flat_map(|s| s.meta.cache.iter().map(|c| c.0.clone()))
                .collect();
            names.sort();
            names.dedup();
            names
                .into_iter()
                .map(|n| {
                    let m = CacheMap::build(&self.segments, &n);
                    (n, m)
                })
                .collect()
        })
    }

    /// Every document's main-encoder vector (zeros for removed or vectorless documents),
    /// decoded once.
    fn vectors(&self) -> &[f32] {
        self.vectors.get_or_init(|| {
            let dim = self.segments.iter().map(|s| s.meta.dim).max().unwrap_or(0);
            let mut out = vec![0f32; self.manifest.next as usize * dim];
            let mut row = Vec::new();
            for s in &self.segments {
                if s.meta.dim != dim {
                    continue;
                }
                for i in 0..s.meta.count {
                    let d = s.global(i);
                    s.docvec(d, &mut row);
                    let at = d.index() * dim;
                    out[at..at + dim].copy_from_slice(&row);
                }
            }
            out
        })
    }

    fn dim(&self) -> usize {
        self.segments.iter().map(|s| s.meta.dim).max().unwrap_or(0)
    }

    /// Every live relation.
    fn relations(&self) -> Result<Arc<Vec<Relation>>, IndexError> {
        let r = self.relations.get_or_init(|| {
            let mut all = Vec::new();
            for s in &self.segments {
                let rels = s.relations().map_err(|e| e.to_string())?;
                all.extend(
                    rels.into_iter()
                        .filter(|r| self.live(r.a) && self.live(r.b)),
                );
            }
            all.sort_by_key(|r| (r.a, r.b));
            all.dedup_by_key(|r| (r.a, r.b));
            Ok(Arc::new(all))
        });
        r.clone().map_err(|reason| IndexError::Corrupt {
            path: self.root.clone(),
            reason,
        })
    }

    /// The live relations of document `d`, by pair.
    fn relations_of(&self, d: DocId) -> Result<Vec<Relation>, IndexError> {
        let mut out = Vec::new();
        for s in &self.segments {
            out.extend(
                s.relations_of(d)?
                    .into_iter()
                    .filter(|r| self.live(r.a) && self.live(r.b)),
            );
        }
        out.sort_by_key(|r| (r.a, r.b));
        out.dedup_by_key(|r| (r.a, r.b));
        Ok(out)
    }

    fn facts(&self, ids: &[DocId]) -> Vec<DocFacts> {
        ids.iter()
            .map(|&d| {
                let i = self.info(d);
                DocFacts {
                    date: i.and_then(|i| i.date),
                    size: i.map(|i| i.tokens).unwrap_or(0),
                    sentences: i.map(|i| i.sentences).unwrap_or(0),
                    lang: i.map(|i| i.lang).unwrap_or("und"),
                }
            })
            .collect()
    }

    /// Stories and parents over the live documents (computed once a snapshot).
    fn graph(&self) -> Result<Arc<Graph>, IndexError> {
        if let Some(g) = self.graph.get() {
            return Ok(g.clone());
        }
        let g = Arc::new(self.graph_of(&self.live_ids(), &self.relations()?));
        let _ = self.graph.set(g.clone());
        Ok(g)
    }

    /// Stories and parents of the documents connected to `d` by live relations: what
    /// [`Snapshot::graph`] gives them, computed from them alone (stories are groups of
    /// connected documents, labelled by their first member, and a parent is chosen within
    /// a connected group), so that looking up one document costs the size of its component,
    /// not of the index.
    fn graph_around(&self, d: DocId) -> Result<Arc<Graph>, IndexError> {
        if let Some(g) = self.graph.get() {
            return Ok(g.clone());
        }
        if let Some(g) = self.around.lock().ok().and_then(|m| m.get(&d.0).cloned()) {
            return Ok(g);
        }
        let mut members = vec![d];
        let mut seen: HashSet<u32> = HashSet::default();
        seen.insert(d.0);
        let mut rels = Vec::new();
        let mut next = 0;
        while let Some(&m) = members.get(next) {
            next += 1;
            for r in self.relations_of(m)? {
                let other = if r.a == m { r.b } else { r.a };
                if seen.insert(other.0) {
                    members.push(other);
                }
                // Each relation once: from its first document.
                if r.a == m {
                    rels.push(r);
                }
            }
        }
        members.sort_unstable();
        rels.sort_by_key(|r| (r.a, r.b));
        let g = Arc::new(self.graph_of(&members, &rels));
        if let Ok(mut cache) = self.around.lock() {
            for m in &members {
                cache.insert(m.0, g.clone());
            }
        }
        Ok(g)
    }

    /// Stories and parents of `ids` (live documents, in order) from `relations` (those among
    /// them, by pair).
    fn graph_of(&self, ids: &[DocId], relations: &[Relation]) -> Graph {
        // Dense ids for the documents, in order, as a scan of them would number them.
        let dense: HashMap<u32, u32> = ids
            .iter()
            .enumerate()
            .map(|(i, d)| (d.0, i as u32))
            .collect();
        let rels: Vec<Relation> = relations
            .iter()
            .filter_map(|r| {
                Some(Relation {
                    a: DocId(*dense.get(&r.a.0)?),
                    b: DocId(*dense.get(&r.b.0)?),
                    ..r.clone()
                })
            })
            .collect();
        let story_opts = match &self.manifest.options.calibration {
            Some(c) => c.stories.clone(),
            None => StoryOptions::default(),
        };
        let story = stories(ids.len(), &rels, &story_opts);
        let parents = provenance(
            &rels,
            &self.facts(ids),
            &self.manifest.options.scan.provenance,
        );
        Graph {
            story: ids
                .iter()
                .zip(&story)
                .map(|(d, s)| (d.0, ids[s.index()].0))
                .collect(),
            parent: ids
                .iter()
                .zip(parents)
                .filter_map(|(d, p)| {
                    p.map(|p| {
                        (
                            d.0,
                            Parent {
                                parent: ids[p.parent.index()],
                                why: p.why,
                            },
                        )
                    })
                })
                .collect(),
        }
    }

    fn id_of(&self, d: DocId) -> Result<String, IndexError> {
        Ok(self.document(d)?.id)
    }

    fn parent_out(&self, p: Option<&Parent>) -> Result<Option<ParentOut>, IndexError> {
        p.map(|p| {
            Ok(ParentOut {
                id: self.id_of(p.parent)?,
                why: p.why.clone(),
            })
        })
        .transpose()
    }

    /// Document `id` with its language, story and parent.
    pub fn get(&self, id: &str) -> Result<Option<DocumentOut>, IndexError> {
        let Some(d) = self.find(id)? else {
            return Ok(None);
        };
        let g = self.graph_around(d)?;
        let info = self.info(d);
        Ok(Some(DocumentOut {
            document: self.document(d)?,
            lang: info.map(|i| i.lang).unwrap_or("und").to_string(),
            tokens: info.map(|i| i.tokens).unwrap_or(0),
            story: self.id_of(DocId(g.story.get(&d.0).copied().unwrap_or(d.0)))?,
            parent: self.parent_out(g.parent.get(&d.0))?,
        }))
    }

    /// The documents related to document `id`, strongest first, filtered by kind and score.
    pub fn related(
        &self,
        id: &str,
        kind: Option<Kind>,
        min_score: f64,
    ) -> Result<Option<Vec<Related>>, IndexError> {
        let Some(d) = self.find(id)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for r in self.relations_of(d)? {
            if kind.is_some_and(|k| k != r.kind) || r.score < min_score {
                continue;
            }
            let other = if r.a == d { r.b } else { r.a };
            out.push(related_out(&r, d, self.id_of(other)?));
        }
        sort_related(&mut out);
        Ok(Some(out))
    }

    /// The story of document `id`: its members, their parents and the relations among them.
    pub fn story(&self, id: &str) -> Result<Option<StoryOut>, IndexError> {
        let Some(d) = self.find(id)? else {
            return Ok(None);
        };
        let g = self.graph_around(d)?;
        let s = g.story.get(&d.0).copied().unwrap_or(d.0);
        let mut members: Vec<u32> = g
            .story
            .iter()
            .filter(|(_, &x)| x == s)
            .map(|(&m, _)| m)
            .collect();
        members.sort_unstable();
        let set: HashSet<u32> = members.iter().copied().collect();
        let mut rels = Vec::new();
        for &m in &members {
            for r in self.relations_of(DocId(m))? {
                if r.a.0 == m && set.contains(&r.b.0) {
                    rels.push(StoryRelation {
                        a: self.id_of(r.a)?,
                        b: self.id_of(r.b)?,
                        kind: r.kind,
                        coverage_a: r.coverage_a,
                        coverage_b: r.coverage_b,
                    });
                }
            }
        }
        let documents = members
            .iter()
            .map(|&m| {
                let doc = self.document(DocId(m))?;
                Ok(StoryMember {
                    lang: self
                        .info(DocId(m))
                        .map(|i| i.lang)
                        .unwrap_or("und")
                        .to_string(),
                    parent: self.parent_out(g.parent.get(&m))?,
                    title: doc.meta.title.clone(),
                    id: doc.id,
                })
            })
            .collect::<Result<Vec<_>, IndexError>>()?;
        Ok(Some(StoryOut {
            id: self.id_of(DocId(s))?,
            documents,
            relations: rels,
        }))
    }

    /// Live documents whose id or title contains `needle` (case-insensitive; all of them
    /// for an empty one), in index order, at most `limit`.
    pub fn search(&self, needle: &str, limit: usize) -> Result<Vec<SearchHit>, IndexError> {
        let needle = needle.to_lowercase();
        let mut out = Vec::new();
        for d in self.live_ids() {
            if out.len() >= limit {
                break;
            }
            let doc = self.document(d)?;
            let title = doc.meta.title.as_deref().unwrap_or("");
            if doc.id.to_lowercase().contains(&needle) || title.to_lowercase().contains(&needle) {
                out.push(SearchHit {
                    lang: self.info(d).map(|i| i.lang).unwrap_or("und").to_string(),
                    title: doc.meta.title,
                    id: doc.id,
                });
            }
        }
        Ok(out)
    }
}

/// A document found by [`Snapshot::search`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// Its id.
    pub id: String,
    /// Its title, when known.
    pub title: Option<String>,
    /// Its language.
    pub lang: String,
}

/// A relation seen from document `me`.
fn related_out(r: &Relation, me: DocId, other_id: String) -> Related {
    let mine = r.a == me;
    Related {
        id: other_id,
        kind: r.kind,
        coverage: if mine { r.coverage_a } else { r.coverage_b },
        coverage_other: if mine { r.coverage_b } else { r.coverage_a },
        score: r.score,
        density: r.density,
        similarity: r.similarity,
        evidence: r
            .evidence
            .iter()
            .map(|p: &Passage| {
                let (o, t) = if mine { (&p.a, &p.b) } else { (&p.b, &p.a) };
                Evidence {
                    ours: [o.start, o.end],
                    theirs: [t.start, t.end],
                    score: p.score,
                    matched_tokens: p.matched,
                }
            })
            .collect(),
    }
}

fn sort_related(out: &mut [Related]) {
    out.sort_by(|x, y| y.score.total_cmp(&x.score).then(x.id.cmp(&y.id)));
}

/// The candidates the index proposes for new documents: the old documents a scan of the
/// whole collection would pair with them (by anchors, LSH buckets, the whole text, and the
/// new documents' nearest neighbours by meaning).
fn proposals(
    snap: &Snapshot,
    docs: &[Document],
    prepared: &[Prepared],
    fps: &[retrace::Fingerprint],
    encoders: &Encoders,
    progress: &dyn Progress,
    anchor_df: &mut HashMap<u32, u32>,
) -> Result<BTreeSet<DocId>, IndexError> {
    let opts = &snap.manifest.options.scan.candidates;
    let mut out = BTreeSet::new();
    if snap.segments.is_empty() {
        return Ok(out);
    }
    // Lexical: shared anchors, with the collection's frequencies and the scan's keep rule.
    // Each distinct anchor of the batch is looked up once.
    let mut wanted: Vec<(u32, u32)> = fps
        .iter()
        .enumerate()
        .flat_map(|(k, f)| f.anchors.iter().map(move |&a| (a, k as u32)))
        .collect();
    wanted.sort_unstable();
    let mut shared: Vec<(u32, u32)> = Vec::new();
    let mut ranges: Vec<(usize, usize)> = vec![(0, 0); snap.segments.len()];
    for run in wanted.chunk_by(|x, y| x.0 == y.0) {
        let a = run[0].0;
        let mut df = run.len();
        for (r, s) in ranges.iter_mut().zip(&snap.segments) {
            *r = s.anchor_range(a);
            df += r.1 - r.0;
        }
        anchor_df.insert(a, (df - run.len()) as u32);
        if df == run.len() || df > opts.max_df {
            continue;
        }
        for ((lo, hi), s) in ranges.iter().zip(&snap.segments) {
            for i in *lo..*hi {
                let d = s.global(store::u32_at(s.anchors.get(i), 4));
                shared.extend(run.iter().map(|&(_, k)| (k, d.0)));
            }
        }
    }
    drop(wanted);
    shared.sort_unstable();
    for run in shared.chunk_by(|x, y| x == y) {
        let (k, d) = run[0];
        let n = run.len() as u32;
        let d = DocId(d);
        if !snap.live(d) {
            continue;
        }
        let theirs = snap.anchor_count(d);
        let small = (fps[k as usize].anchors.len() as u32).min(theirs) as f64;
        if small <= 8.0 || (n >= opts.min_shared && n as f64 >= opts.min_shared_fraction * small) {
            out.insert(d);
        }
    }
    drop(shared);
    // LSH buckets and the same text: each distinct key once.
    let mut bands: Vec<u64> = fps.iter().flat_map(|f| f.bands.iter().copied()).collect();
    let mut exact: Vec<u64> = fps.iter().map(|f| f.exact).filter(|&e| e != 0).collect();
    for keys in [&mut bands, &mut exact] {
        keys.sort_unstable();
        keys.dedup();
    }
    for s in &snap.segments {
        for (table, keys, cap) in [
            (&s.bands, &bands, opts.max_bucket),
            (&s.exact, &exact, opts.max_df),
        ] {
            for &k in keys {
                for d in Segment::key_docs(table, k, s).into_iter().take(cap) {
                    if snap.live(d) {
                        out.insert(d);
                    }
                }
            }
        }
    }
    // By meaning: each new document's nearest neighbours among the index's vectors (the
    // main encoder's; rough ones for languages only the fallback reads).
    if let Some(primary) = encoders.primary {
        let dim = snap.dim();
        if dim > 0 && !snap.is_empty() {
            let which = vec![true; docs.len()];
            let sv = embed_documents(
                docs,
                prepared,
                primary.encoder,
                &which,
                which.clone(),
                progress,
            )
            .map_err(IndexError::Encoder)?;
            let old = snap.vectors();
            let n_old = snap.manifest.next as usize;
            // One matrix: the index's vectors, then the new documents'.
            let mut all = Vec::with_capacity((n_old + docs.len()) * dim);
            all.extend_from_slice(old);
            all.extend_from_slice(&sv.doc_vectors);
            let mut langs: Vec<&str> = Vec::new();
            let mut group = Vec::with_capacity(n_old + docs.len());
            let mut lang_of = |l: &'static str| -> u32 {
                match langs.iter().position(|x| *x == l) {
                    Some(i) => i as u32,
                    None => {
                        langs.push(l);
                        langs.len() as u32 - 1
                    }
                }
            };
            let mut active = Vec::with_capacity(n_old + docs.len());
            for d in DocId::all(n_old) {
                let info = snap.info(d);
                group.push(lang_of(info.map(|i| i.lang).unwrap_or("und")));
                active.push(
                    snap.live(d)
                        && info.is_some_and(|i| i.vectors != Vectors::None || i.tokens > 0),
                );
            }
            // The new documents only ask: their neighbours among themselves are found by the
            // scan of the batch.
            for p in prepared {
                group.push(lang_of(p.lang));
                active.push(false);
            }
            let index = ExactIndex::new(&all, dim, &active, &group);
            let cal = primary.calibration;
            let search = &snap.manifest.options.scan.search;
            let queries: Vec<(DocId, NeighborQuery)> = (0..docs.len())
                .filter(|&k| sv.has_vectors(DocId::new(k)))
                .map(|k| {
                    let d = DocId::new(n_old + k);
                    let covered = primary.encoder.covers(prepared[k].lang);
                    let (kk, min) = if covered {
                        (search.neighbors, cal.neighbor_min_cos)
                    } else {
                        (search.fallback_neighbors, -1.0)
                    };
                    let row = &all[d.index() * dim..(d.index() + 1) * dim];
                    (
                        d,
                        NeighborQuery {
                            vector: row,
                            group: group[d.index()],
                            exclude: None,
                            k: kk,
                            min_cos: min,
                        },
                    )
                })
                .collect();
            for p in nearest_pairs(&index, &queries) {
                for d in [p.a, p.b] {
                    if d.index() < n_old && snap.live(d) {
                        out.insert(d);
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The encoders of a scan, each answering from the index's cache of sentence vectors first.
struct CachedEncoders<'a> {
    primary: Option<(CachedEncoder<'a>, &'a retrace::Calibration)>,
    fallback: Option<(CachedEncoder<'a>, &'a retrace::Calibration)>,
}

impl<'a> CachedEncoders<'a> {
    /// `keep_hits`: remember the cached vectors read too (a refresh rewrites the cache whole).
    fn new(snap: &'a Snapshot, encoders: &Encoders<'a>, keep_hits: bool) -> Self {
        let caches = snap.caches();
        let wrap = |m: Meaning<'a>| {
            let map = caches.get(m.encoder.name());
            (
                CachedEncoder::new(m.encoder, map, &snap.segments, keep_hits),
                m.calibration,
            )
        };
        CachedEncoders {
            primary: encoders.primary.map(wrap),
            fallback: encoders.fallback.map(wrap),
        }
    }

    fn encoders(&self) -> Encoders<'_> {
        fn meaning<'s>(p: &'s (CachedEncoder<'_>, &'s retrace::Calibration)) -> Meaning<'s> {
            Meaning {
                encoder: &p.0,
                calibration: p.1,
            }
        }
        Encoders {
            primary: self.primary.as_ref().map(meaning),
            fallback: self.fallback.as_ref().map(meaning),
        }
    }

    /// The main encoder's document vectors of `docs` (every one: rough ones where it does
    /// not cover the language, for later neighbour searches); empty without one.
    fn doc_vectors(
        &self,
        docs: &[Document],
        prepared: &[Prepared],
    ) -> Result<Vec<f32>, IndexError> {
        let Some((enc, _)) = &self.primary else {
            return Ok(Vec::new());
        };
        let which = vec![true; docs.len()];
        let sv = embed_documents(docs, prepared, enc, &which, which.clone(), &NoProgress)
            .map_err(IndexError::Encoder)?;
        Ok(sv.doc_vectors)
    }

    /// The vectors to cache: `(encoder, key, vector)`.
    fn into_rows(self) -> Vec<(String, u64, Vec<f32>)> {
        let mut out = Vec::new();
        for (enc, _) in [self.primary, self.fallback].into_iter().flatten() {
            let name = enc.name().to_string();
            for (k, v) in enc.into_rows() {
                out.push((name.clone(), k, v));
            }
        }
        out
    }
}

/// The relations judged for new documents (`docs`, to be numbered from `first`) against the
/// index: a scan of them with the candidates the index proposes, under its statistics.
struct Judged {
    /// Relations with global ids (only those with a new document).
    relations: Vec<Relation>,
    /// What the scan found of the new documents (in order).
    scan: Scan,
    prepared: Vec<Prepared>,
    fingerprints: Vec<retrace::Fingerprint>,
    /// Vectors to cache, by encoder.
    cache: Vec<(String, u64, Vec<f32>)>,
    /// Main-encoder document vectors of the new documents.
    docvec: Vec<f32>,
}

/// With `segment`, the directory of the segment the documents will be added in: the tables
/// of the documents and of their fingerprints are written there meanwhile
/// ([`segment::write_documents`], [`segment::write_fingerprints`]).
fn judge_new(
    snap: &Snapshot,
    docs: Vec<Document>,
    first: DocId,
    models: Models<'_>,
    progress: &dyn Progress,
    segment: Option<(&Path, &Syncs)>,
) -> Result<Judged, IndexError> {
    let opts = &snap.manifest.options.scan;
    let model = &snap.manifest.boilerplate;
    let t0 = std::time::Instant::now();
    let (prepared, written) = rayon::join(
        || prepare_with(&docs, &opts.prepare, Some(model), &NoProgress).docs,
        || segment.map_or(Ok(()), |(dir, s)| segment::write_documents(dir, &docs, s)),
    );
    written?;
    let fps = fingerprint_corpus(&docs, &prepared, &opts.fingerprint, &NoProgress);
    tracing::debug!(
        "index: batch prepared and fingerprinted in {:.3?}",
        t0.elapsed()
    );
    let given = snap.meanings(models);
    let cached = CachedEncoders::new(snap, &given, false);
    let wrapped = cached.encoders();
    // The collection's frequency of each anchor of the batch, found while proposing.
    let mut batch_df = HashMap::default();
    let (olds, fps_written) = rayon::join(
        || {
            proposals(
                snap,
                &docs,
                &prepared,
                &fps,
                &wrapped,
                progress,
                &mut batch_df,
            )
        },
        || segment.map_or(Ok(()), |(dir, s)| segment::write_fingerprints(dir, &fps, s)),
    );
    let olds: Vec<DocId> = olds?.into_iter().collect();
    tracing::debug!(
        "index: {} documents of the index proposed, at {:.3?}",
        olds.len(),
        t0.elapsed()
    );
    let n_new = docs.len();
    let mut local = docs;
    for &d in &olds {
        local.push(snap.document(d)?);
    }
    let counted: Vec<bool> = (0..local.len()).map(|i| i >= n_new).collect();
    // The relations among the proposed documents, in the scan's ids.
    let position: HashMap<DocId, DocId> = olds
        .iter()
        .enumerate()
        .map(|(k, &d)| (d, DocId::new(n_new + k)))
        .collect();
    let mut known: Vec<Relation> = Vec::new();
    for &d in &olds {
        for r in snap.relations_of(d)? {
            if let (Some(&a), Some(&b)) = (position.get(&r.a), position.get(&r.b)) {
                // (Each once; the stage reads kinds and pairs only: evidence is left out.)
                if r.a == d {
                    let (ca, cb) = (r.coverage_a, r.coverage_b);
                    let (a, b, coverage_a, coverage_b) = if a < b {
                        (a, b, ca, cb)
                    } else {
                        (b, a, cb, ca)
                    };
                    known.push(Relation {
                        a,
                        b,
                        coverage_a,
                        coverage_b,
                        evidence: Vec::new(),
                        ..r
                    });
                }
            }
        }
    }
    known.sort_by_key(|r| (r.a, r.b));
    let anchor_df = |a: u32| {
        batch_df
            .get(&a)
            .copied()
            .unwrap_or_else(|| snap.anchor_df(a))
    };
    let entity_df = |e: u64| snap.entity_df(e);
    let collection = Collection {
        boilerplate: Some(model),
        documents: snap.len(),
        counted: Some(&counted),
        anchor_df: Some(&anchor_df),
        entity_df: Some(&entity_df),
        prepared: Some((&prepared, &fps)),
        known: Some(&known),
    };
    let result =
        scan_in(local, &collection, opts, &wrapped, progress).map_err(IndexError::Encoder)?;
    fps_written?;
    tracing::debug!(
        "index: batch judged at {:.3?} (stages: {:?})",
        t0.elapsed(),
        result.stats.timings
    );
    let global = |d: DocId| -> DocId {
        if d.index() < n_new {
            DocId(first.0 + d.0)
        } else {
            olds[d.index() - n_new]
        }
    };
    let relations: Vec<Relation> = result
        .relations
        .iter()
        .filter(|r| r.a.index() < n_new || r.b.index() < n_new)
        .map(|r| {
            let (a, b) = (global(r.a), global(r.b));
            // New documents take ids above every old one: the order of a and b may change.
            if a < b {
                Relation { a, b, ..r.clone() }
            } else {
                Relation {
                    a: b,
                    b: a,
                    coverage_a: r.coverage_b,
                    coverage_b: r.coverage_a,
                    evidence: r
                        .evidence
                        .iter()
                        .map(|p| Passage {
                            tokens_a: p.tokens_b.clone(),
                            tokens_b: p.tokens_a.clone(),
                            a: p.b.clone(),
                            b: p.a.clone(),
                            ..p.clone()
                        })
                        .collect(),
                    ..r.clone()
                }
            }
        })
        .collect();
    // Only the main encoder gives documents vectors (the documents are copied for it).
    let docvec = match cached.primary {
        Some(_) => {
            let new_docs: Vec<Document> = result
                .documents()
                .take(n_new)
                .map(|d| d.doc.clone())
                .collect();
            cached.doc_vectors(&new_docs, &prepared)?
        }
        None => Vec::new(),
    };
    let cache = cached.into_rows();
    Ok(Judged {
        relations,
        scan: result,
        prepared,
        fingerprints: fps,
        cache,
        docvec,
    })
}

impl Index {
    /// Create an empty index in `dir` (which must not hold one) for `encoders`: their names
    /// and calibrations are recorded, and every later add, query and refresh must be given
    /// the same encoders (as [`Models`]).
    pub fn create(
        dir: &Path,
        mut options: IndexOptions,
        encoders: &Encoders,
    ) -> Result<Index, IndexError> {
        std::fs::create_dir_all(dir).map_err(store::io(dir))?;
        if manifest_path(dir).exists() {
            return Err(IndexError::Exists(dir.to_path_buf()));
        }
        options.encoder = encoders.primary.map(|m| m.encoder.name().to_string());
        options.fallback = encoders.fallback.map(|m| m.encoder.name().to_string());
        options.calibration = encoders.primary.map(|m| m.calibration.clone());
        options.fallback_calibration = encoders.fallback.map(|m| m.calibration.clone());
        let m = Manifest {
            format: FORMAT,
            options,
            generation: 0,
            segments: Vec::new(),
            next: 0,
            removed: Vec::new(),
            boilerplate: BoilerplateModel::default(),
            refreshed_docs: 0,
            added_since_refresh: 0,
        };
        write_manifest(dir, &m)?;
        Index::open(dir)
    }

    /// Open the index in `dir`.
    pub fn open(dir: &Path) -> Result<Index, IndexError> {
        let m = read_manifest(dir)?;
        let snap = Snapshot::open(dir, m)?;
        Ok(Index {
            root: dir.to_path_buf(),
            snapshot: RwLock::new(Arc::new(snap)),
            writer: Mutex::new(()),
        })
    }

    /// The last committed state.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn commit(&self, m: Manifest) -> Result<(), IndexError> {
        write_manifest(&self.root, &m)?;
        let snap = Snapshot::open(&self.root, m)?;
        let listed: HashSet<String> = snap
            .manifest
            .segments
            .iter()
            .map(|s| s.dir.clone())
            .collect();
        match self.snapshot.write() {
            Ok(mut s) => *s = Arc::new(snap),
            Err(p) => *p.into_inner() = Arc::new(snap),
        }
        remove_unlisted(&self.root, &listed);
        Ok(())
    }

    /// Take the writer's lock (within this process, then across processes).
    fn lock(&self) -> Result<(std::sync::MutexGuard<'_, ()>, std::fs::File), IndexError> {
        let guard = self.writer.lock().map_err(|_| IndexError::Poisoned)?;
        let path = self.root.join("write.lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(store::io(&path))?;
        f.lock().map_err(store::io(&path))?;
        Ok((guard, f))
    }

    /// Add documents in one commit: judged against the index, then durable when this
    /// returns. A refresh that has become due is left to [`Index::refresh_if_due`].
    pub fn add(
        &self,
        docs: Vec<Document>,
        models: Models<'_>,
        progress: &dyn Progress,
    ) -> Result<AddReport, IndexError> {
        let (_g, _f) = self.lock()?;
        // Re-read the manifest: another process may have committed since we opened.
        self.reload()?;
        let snap = self.snapshot();
        self.check_encoders(&snap, models)?;
        let mut seen = HashSet::default();
        for d in &docs {
            if !seen.insert(d.id.clone()) {
                return Err(IndexError::DuplicateId(d.id.clone()));
            }
            if snap.find(&d.id)?.is_some() {
                return Err(IndexError::DuplicateId(d.id.clone()));
            }
        }
        if docs.is_empty() {
            return Ok(AddReport {
                documents: snap.len(),
                ..AddReport::default()
            });
        }
        if snap.manifest.next == 0 {
            // Nothing to judge against: the batch's own scan is a refresh (it learns the
            // statistics from the batch), at the cost of one scan.
            let n = docs.len();
            let relations = self.rewrite(&snap, docs, models, progress)?;
            return Ok(AddReport {
                added: n,
                relations,
                refreshed: false,
                documents: self.snapshot().len(),
            });
        }
        let first = DocId(snap.manifest.next);
        let t0 = std::time::Instant::now();
        let added = docs.len();
        let mut m = snap.manifest.clone();
        m.generation += 1;
        let name = format!("seg-{:08}", m.generation);
        let tmp = self.new_segment_dir(&name)?;
        let syncs = Syncs::default();
        let j = judge_new(&snap, docs, first, models, progress, Some((&tmp, &syncs)))?;
        let n = added;
        // Names and numbers matter only to relations by meaning.
        let entities = match models.primary {
            Some(_) => {
                let owned: Vec<Document> =
                    j.scan.documents().take(n).map(|d| d.doc.clone()).collect();
                Entities::build(&owned, &j.prepared).per_doc
            }
            None => vec![Vec::new(); n],
        };
        let infos = j
            .scan
            .documents()
            .take(n)
            .zip(&j.fingerprints)
            .map(|(d, f)| Info {
                tokens: d.tokens,
                sentences: d.prepared.sentences.len() as u32,
                anchors: f.anchors.len() as u32,
                lang: d.prepared.lang,
                date: d.prepared.date,
                vectors: d.vectors,
            })
            .collect();
        let meta = self.finish_segment(
            &name,
            &tmp,
            &SegmentData {
                first,
                count: n,
                infos,
                entities: &entities,
                docvec: j.docvec,
                relations: &j.relations,
                cache: j.cache,
            },
            &syncs,
        )?;
        m.segments.push(meta);
        m.next += n as u32;
        m.added_since_refresh += n;
        tracing::debug!("index: segment written at {:.3?}", t0.elapsed());
        self.compact(&mut m)?;
        tracing::debug!("index: segments merged at {:.3?}", t0.elapsed());
        self.commit(m)?;
        tracing::debug!("index: committed at {:.3?}", t0.elapsed());
        let relations = j.relations.len();
        free_later((j.scan, j.prepared, j.fingerprints, j.relations, entities));
        Ok(AddReport {
            added: n,
            relations,
            refreshed: false,
            documents: self.snapshot().len(),
        })
    }

    /// Whether a refresh is due: the documents added since the last one reach
    /// `refresh_ratio` of those it saw.
    pub fn refresh_due(&self) -> bool {
        let m = &self.snapshot().manifest;
        m.added_since_refresh > 0
            && m.added_since_refresh as f64
                >= m.options.refresh_ratio * m.refreshed_docs.max(1) as f64
    }

    /// Refresh when one is due (see [`Index::refresh_due`]); whether it did.
    pub fn refresh_if_due(
        &self,
        models: Models<'_>,
        progress: &dyn Progress,
    ) -> Result<bool, IndexError> {
        let (_g, _f) = self.lock()?;
        self.reload()?;
        if !self.refresh_due() {
            return Ok(false);
        }
        self.check_encoders(&self.snapshot(), models)?;
        self.refresh_locked(models, progress)?;
        Ok(true)
    }

    /// Merge the newest segments, tier by tier: a segment's tier is `floor(log8(documents))`,
    /// and once the last [`MERGE_FACTOR`] segments are of one tier they become one (of the
    /// next tier, which may merge in turn). At most `MERGE_FACTOR - 1` segments of a tier
    /// remain, so `(MERGE_FACTOR - 1) * (log8(n) + 1)` in all, and a document is rewritten
    /// once per tier it climbs. The merged segments go into the same commit `m`.
    fn compact(&self, m: &mut Manifest) -> Result<(), IndexError> {
        let mut k = 0;
        loop {
            let segs = &m.segments;
            let Some(last) = segs.last() else { break };
            let t = tier(last.count);
            let run = segs.iter().rev().take_while(|s| tier(s.count) == t).count();
            if run < MERGE_FACTOR {
                break;
            }
            let from = segs.len() - run;
            let open = segs[from..]
                .iter()
                .map(|meta| Segment::open(&self.root, meta))
                .collect::<Result<Vec<_>, _>>()?;
            k += 1;
            let name = format!("seg-{:08}-{k}", m.generation);
            let tmp = self.root.join(format!("{name}.tmp"));
            if tmp.exists() {
                std::fs::remove_dir_all(&tmp).map_err(store::io(&tmp))?;
            }
            let mut meta = segment::merge(&tmp, &open.iter().collect::<Vec<_>>())?;
            let dir = self.root.join(&name);
            std::fs::rename(&tmp, &dir).map_err(store::io(&dir))?;
            store::sync_dir(&self.root)?;
            meta.dir = name;
            m.segments.truncate(from);
            m.segments.push(meta);
        }
        Ok(())
    }

    /// The empty directory, `name.tmp`, a segment `name` is written into before it is named.
    fn new_segment_dir(&self, name: &str) -> Result<PathBuf, IndexError> {
        let tmp = self.root.join(format!("{name}.tmp"));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(store::io(&tmp))?;
        }
        std::fs::create_dir_all(&tmp).map_err(store::io(&tmp))?;
        Ok(tmp)
    }

    /// Write the rest of segment `name` into `tmp` (from [`Index::new_segment_dir`]), sync
    /// it and name it.
    fn finish_segment(
        &self,
        name: &str,
        tmp: &Path,
        data: &SegmentData,
        syncs: &Syncs,
    ) -> Result<SegmentMeta, IndexError> {
        let mut meta = segment::write(tmp, data, syncs)?;
        let dir = self.root.join(name);
        std::fs::rename(tmp, &dir).map_err(store::io(&dir))?;
        store::sync_dir(&self.root)?;
        meta.dir = name.to_string();
        Ok(meta)
    }

    fn reload(&self) -> Result<(), IndexError> {
        let m = read_manifest(&self.root)?;
        if m.generation != self.snapshot().manifest.generation {
            let snap = Snapshot::open(&self.root, m)?;
            match self.snapshot.write() {
                Ok(mut s) => *s = Arc::new(snap),
                Err(p) => *p.into_inner() = Arc::new(snap),
            }
        }
        Ok(())
    }

    fn check_encoders(&self, snap: &Snapshot, models: Models<'_>) -> Result<(), IndexError> {
        let want = (
            snap.manifest.options.encoder.as_deref(),
            snap.manifest.options.fallback.as_deref(),
        );
        let have = (
            models.primary.map(|e| e.name()),
            models.fallback.map(|e| e.name()),
        );
        if want != have {
            return Err(IndexError::EncoderMismatch {
                index: format!("{want:?}"),
                given: format!("{have:?}"),
            });
        }
        Ok(())
    }

    /// Remove documents by id; returns how many were removed (ids not found are skipped).
    pub fn remove(&self, ids: &[String]) -> Result<usize, IndexError> {
        let (_g, _f) = self.lock()?;
        self.reload()?;
        let snap = self.snapshot();
        let mut m = snap.manifest.clone();
        let mut n = 0;
        for id in ids {
            if let Some(d) = snap.find(id)? {
                if !m.removed.contains(&d.0) {
                    m.removed.push(d.0);
                    n += 1;
                }
            }
        }
        m.removed.sort_unstable();
        m.generation += 1;
        self.commit(m)?;
        Ok(n)
    }

    /// Scan the whole collection again (with the cached vectors) and rewrite the index as
    /// one segment: afterwards it holds what one `scan` of its documents gives.
    pub fn refresh(&self, models: Models<'_>, progress: &dyn Progress) -> Result<(), IndexError> {
        let (_g, _f) = self.lock()?;
        self.reload()?;
        self.check_encoders(&self.snapshot(), models)?;
        self.refresh_locked(models, progress)
    }

    fn refresh_locked(
        &self,
        models: Models<'_>,
        progress: &dyn Progress,
    ) -> Result<(), IndexError> {
        let snap = self.snapshot();
        let ids = snap.live_ids();
        let docs: Vec<Document> = ids
            .iter()
            .map(|&d| snap.document(d))
            .collect::<Result<_, _>>()?;
        self.rewrite(&snap, docs, models, progress).map(|_| ())
    }

    /// Replace the index by one segment holding `docs` (numbered from 0), judged by one
    /// `scan` of them that learns every statistic: after it, the index holds exactly what
    /// that scan gives. Returns the number of relations found.
    fn rewrite(
        &self,
        snap: &Snapshot,
        docs: Vec<Document>,
        models: Models<'_>,
        progress: &dyn Progress,
    ) -> Result<usize, IndexError> {
        let t0 = std::time::Instant::now();
        // In id order, as `retrace scan` runs them (ties are broken by id).
        let docs = retrace::pipeline::in_id_order(docs);
        let opts = snap.manifest.options.scan.clone();
        let given = snap.meanings(models);
        let cached = CachedEncoders::new(snap, &given, true);
        let wrapped = cached.encoders();
        let mut m = snap.manifest.clone();
        m.generation += 1;
        let name = format!("seg-{:08}", m.generation);
        let tmp = self.new_segment_dir(&name)?;
        let syncs = Syncs::default();
        // Prepared and fingerprinted here (as `scan` would: the boilerplate model learnt
        // from these documents) so that the segment is written from the same fingerprints.
        // The tables of the documents are written meanwhile, and those of the fingerprints
        // while the documents are judged.
        let ((corpus, fps), written) = rayon::join(
            || {
                let corpus = prepare_with(&docs, &opts.prepare, None, progress);
                let fps = fingerprint_corpus(&docs, &corpus.docs, &opts.fingerprint, progress);
                (corpus, fps)
            },
            || segment::write_documents(&tmp, &docs, &syncs),
        );
        written?;
        let prepared = corpus.docs;
        let collection = Collection {
            boilerplate: Some(&corpus.model),
            prepared: Some((&prepared, &fps)),
            ..Collection::default()
        };
        let (result, written) = rayon::join(
            || scan_in(docs, &collection, &opts, &wrapped, progress),
            || segment::write_fingerprints(&tmp, &fps, &syncs),
        );
        let result = result.map_err(IndexError::Encoder)?;
        written?;
        tracing::debug!("index: rewrite scanned at {:.3?}", t0.elapsed());
        let all: Vec<&Document> = result.documents().map(|d| d.doc).collect();
        // Names, numbers and document vectors matter only to relations by meaning (and
        // without an encoder, the documents are not copied for them).
        let (entities, docvec) = match models.primary {
            Some(_) => {
                let owned: Vec<Document> = all.iter().map(|&d| d.clone()).collect();
                (
                    Entities::build(&owned, &prepared).per_doc,
                    cached.doc_vectors(&owned, &prepared)?,
                )
            }
            None => (vec![Vec::new(); all.len()], Vec::new()),
        };
        let infos = result
            .documents()
            .zip(&fps)
            .map(|(d, f)| Info {
                tokens: d.tokens,
                sentences: d.prepared.sentences.len() as u32,
                anchors: f.anchors.len() as u32,
                lang: d.prepared.lang,
                date: d.prepared.date,
                vectors: d.vectors,
            })
            .collect();
        let cache = cached.into_rows();
        tracing::debug!("index: rewrite ready to write at {:.3?}", t0.elapsed());
        let meta = self.finish_segment(
            &name,
            &tmp,
            &SegmentData {
                first: DocId(0),
                count: all.len(),
                infos,
                entities: &entities,
                docvec,
                relations: &result.relations,
                cache,
            },
            &syncs,
        )?;
        m.segments = vec![meta];
        m.next = result.len() as u32;
        m.removed.clear();
        m.boilerplate = result.boilerplate.clone();
        m.refreshed_docs = result.len();
        m.added_since_refresh = 0;
        tracing::debug!("index: rewrite segment written at {:.3?}", t0.elapsed());
        self.commit(m)?;
        tracing::debug!("index: rewrite committed at {:.3?}", t0.elapsed());
        let found = result.relations.len();
        free_later((result, prepared, fps, entities));
        Ok(found)
    }

    /// What the index says of a text: its relations with the index's documents and the
    /// document it would derive from.
    pub fn query(
        &self,
        doc: Document,
        models: Models<'_>,
        progress: &dyn Progress,
    ) -> Result<QueryResult, IndexError> {
        let snap = self.snapshot();
        self.check_encoders(&snap, models)?;
        let me = DocId(snap.manifest.next);
        let j = judge_new(&snap, vec![doc], me, models, progress, None)?;
        let q = j.scan.doc(DocId(0));
        let mut related = Vec::new();
        for r in &j.relations {
            let other = if r.a == me { r.b } else { r.a };
            related.push(related_out(r, me, snap.id_of(other)?));
        }
        sort_related(&mut related);
        // The would-be parent: provenance over the query and its related documents.
        let mut members: Vec<DocId> = j
            .relations
            .iter()
            .map(|r| if r.a == me { r.b } else { r.a })
            .collect();
        members.sort_unstable();
        members.dedup();
        let set: HashSet<u32> = members.iter().map(|d| d.0).collect();
        let mut rels: Vec<Relation> = Vec::new();
        for &m in &members {
            for r in snap.relations_of(m)? {
                // Each pair once: from its first member.
                if r.a == m && set.contains(&r.b.0) {
                    rels.push(r);
                }
            }
        }
        rels.extend(j.relations.iter().cloned());
        members.push(me);
        let dense: HashMap<u32, u32> = members
            .iter()
            .enumerate()
            .map(|(i, d)| (d.0, i as u32))
            .collect();
        let local: Vec<Relation> = rels
            .iter()
            .map(|r| Relation {
                a: DocId(dense[&r.a.0]),
                b: DocId(dense[&r.b.0]),
                ..r.clone()
            })
            .collect();
        let mut facts = snap.facts(&members[..members.len() - 1]);
        facts.push(DocFacts {
            date: q.prepared.date,
            size: q.tokens,
            sentences: q.prepared.sentences.len() as u32,
            lang: q.prepared.lang,
        });
        let parents = provenance(&local, &facts, &snap.manifest.options.scan.provenance);
        let parent = match parents.last().cloned().flatten() {
            Some(p) => Some(ParentOut {
                id: snap.id_of(members[p.parent.index()])?,
                why: p.why,
            }),
            None => None,
        };
        Ok(QueryResult {
            lang: q.prepared.lang.to_string(),
            tokens: q.tokens,
            related,
            parent,
        })
    }

    /// The live state as one `scan` would write it: a `Scan` of every live document (ids
    /// in index order).
    pub fn to_scan(
        &self,
        encoder: Option<retrace::pipeline::EncoderInfo>,
        fallback: Option<retrace::pipeline::EncoderInfo>,
    ) -> Result<Scan, IndexError> {
        let snap = self.snapshot();
        let ids = snap.live_ids();
        let docs: Vec<Document> = ids
            .iter()
            .map(|&d| snap.document(d))
            .collect::<Result<_, _>>()?;
        let opts = &snap.manifest.options.scan;
        let prepared = prepare_with(
            &docs,
            &opts.prepare,
            Some(&snap.manifest.boilerplate),
            &NoProgress,
        )
        .docs;
        let g = snap.graph()?;
        let dense: HashMap<u32, u32> = ids
            .iter()
            .enumerate()
            .map(|(i, d)| (d.0, i as u32))
            .collect();
        let outcomes = ids
            .iter()
            .map(|&d| {
                let info = snap.info(d);
                Outcome {
                    tokens: info.map(|i| i.tokens).unwrap_or(0),
                    vectors: info.map(|i| i.vectors).unwrap_or(Vectors::None),
                    story: DocId(dense[&g.story.get(&d.0).copied().unwrap_or(d.0)]),
                    parent: g.parent.get(&d.0).map(|p| Parent {
                        parent: DocId(dense[&p.parent.0]),
                        why: p.why.clone(),
                    }),
                }
            })
            .collect();
        let relations = snap
            .relations()?
            .iter()
            .map(|r| Relation {
                a: DocId(dense[&r.a.0]),
                b: DocId(dense[&r.b.0]),
                ..r.clone()
            })
            .collect();
        let stats = retrace::pipeline::ScanStats {
            documents: docs.len(),
            bytes: docs.iter().map(|d| d.text.len()).sum(),
            template_shapes: snap.manifest.boilerplate.len(),
            ..Default::default()
        };
        Ok(Scan::from_parts(
            docs,
            prepared,
            outcomes,
            relations,
            encoder,
            fallback,
            stats,
            snap.manifest.boilerplate.clone(),
        ))
    }
}

/// Drop `x` on a thread of its own: freeing a scan's many allocations takes tens of
/// milliseconds at 25k documents, which need not delay the acknowledgement of a commit.
fn free_later<T: Send + 'static>(x: T) {
    // Should the thread not start, the closure (and `x` with it) is dropped here.
    let _ = std::thread::Builder::new()
        .name("retrace-free".into())
        .spawn(move || drop(x));
}

fn write_manifest(root: &Path, m: &Manifest) -> Result<(), IndexError> {
    let bytes = serde_json::to_vec_pretty(m).map_err(|e| IndexError::Encode(e.to_string()))?;
    store::write_atomic(&manifest_path(root), &bytes)
}

/// Remove segment directories the manifest does not list (a crashed commit's, or those a
/// refresh replaced).
fn remove_unlisted(root: &Path, listed: &HashSet<String>) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("seg-") && !listed.contains(&name) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}
