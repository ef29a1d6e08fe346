//! Sentence vectors the index has computed, kept so that no sentence is embedded twice: an
//! encoder wrapper that answers from the cache and asks the real encoder only for sentences
//! it has not seen (encoders give a sentence the same vector whatever the batch it comes
//! in, so a cached vector is the one a fresh scan would compute, bit for bit).

use crate::segment::Segment;
use crate::store::{f32_at, u64_at};
use foldhash::HashMap;
use retrace::encode::{Embeddings, EncodeError, Encoder, Family};
use std::sync::Mutex;

/// The key of a sentence in the cache.
pub(crate) fn sentence_key(text: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

/// Where one encoder's cached vectors are: segment and row, by sentence key.
#[derive(Default)]
pub(crate) struct CacheMap {
    rows: HashMap<u64, (u32, u32)>,
    dim: usize,
}

impl CacheMap {
    /// The map of encoder `name`'s vectors over `segments`.
    pub fn build(segments: &[Segment], name: &str) -> CacheMap {
        let mut m = CacheMap::default();
        for (s, seg) in segments.iter().enumerate() {
            if let Some((keys, _, dim)) = seg.cache(name) {
                m.dim = dim;
                for r in 0..keys.len() {
                    m.rows.insert(u64_at(keys.get(r), 0), (s as u32, r as u32));
                }
            }
        }
        m
    }
}

/// An encoder answering from the cache first.
pub(crate) struct CachedEncoder<'a> {
    inner: &'a dyn Encoder,
    map: Option<&'a CacheMap>,
    segments: &'a [Segment],
    /// Vectors computed or read during this use, by key (to write to the next segment):
    /// `keep_hits` keeps the cached ones read too (a refresh rewrites the cache whole).
    seen: Mutex<HashMap<u64, Vec<f32>>>,
    keep_hits: bool,
}

impl<'a> CachedEncoder<'a> {
    pub fn new(
        inner: &'a dyn Encoder,
        map: Option<&'a CacheMap>,
        segments: &'a [Segment],
        keep_hits: bool,
    ) -> Self {
        CachedEncoder {
            inner,
            map,
            segments,
            seen: Mutex::new(HashMap::default()),
            keep_hits,
        }
    }

    fn cached(&self, key: u64) -> Option<Vec<f32>> {
        let &(s, r) = self.map?.rows.get(&key)?;
        let (_, vecs, dim) = self.segments.get(s as usize)?.cache(self.inner.name())?;
        let r = r as usize;
        Some((r * dim..(r + 1) * dim).map(|i| f32_at(vecs, i)).collect())
    }

    /// The vectors to write with the next segment: `(key, vector)`, sorted by key.
    pub fn into_rows(self) -> Vec<(u64, Vec<f32>)> {
        let mut rows: Vec<(u64, Vec<f32>)> = self
            .seen
            .into_inner()
            .unwrap_or_default()
            .into_iter()
            .collect();
        rows.sort_by_key(|r| r.0);
        rows
    }
}

impl Encoder for CachedEncoder<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn family(&self) -> Family {
        self.inner.family()
    }

    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn languages(&self) -> &[&'static str] {
        self.inner.languages()
    }

    fn arithmetic(&self) -> Option<String> {
        self.inner.arithmetic()
    }

    fn count_tokens(&self, text: &str) -> Option<usize> {
        self.inner.count_tokens(text)
    }

    fn encode(&self, batch: &[&str]) -> Result<Embeddings, EncodeError> {
        let dim = self.dim();
        let keys: Vec<u64> = batch.iter().map(|s| sentence_key(s)).collect();
        let mut rows: Vec<Option<Vec<f32>>> = Vec::with_capacity(batch.len());
        let mut missing: Vec<usize> = Vec::new();
        {
            let seen = self
                .seen
                .lock()
                .map_err(|_| EncodeError::Failed("the vector cache's lock is poisoned".into()))?;
            for (i, &k) in keys.iter().enumerate() {
                let hit = seen.get(&k).cloned().or_else(|| self.cached(k));
                if hit.is_none() {
                    missing.push(i);
                }
                rows.push(hit);
            }
        }
        // The sentences not seen, each once.
        let mut todo: Vec<usize> = Vec::new();
        let mut first: HashMap<u64, usize> = HashMap::default();
        for &i in &missing {
            first.entry(keys[i]).or_insert_with(|| {
                todo.push(i);
                todo.len() - 1
            });
        }
        let texts: Vec<&str> = todo.iter().map(|&i| batch[i]).collect();
        let fresh = if texts.is_empty() {
            Embeddings {
                dim,
                data: Vec::new(),
            }
        } else {
            self.inner.encode(&texts)?
        };
        if fresh.len() != texts.len() {
            return Err(EncodeError::Failed(format!(
                "encoder {} returned {} vectors for {} sentences",
                self.name(),
                fresh.len(),
                texts.len()
            )));
        }
        let mut seen = self
            .seen
            .lock()
            .map_err(|_| EncodeError::Failed("the vector cache's lock is poisoned".into()))?;
        for &i in &missing {
            let row = fresh.row(first[&keys[i]]).to_vec();
            seen.insert(keys[i], row.clone());
            rows[i] = Some(row);
        }
        let mut data = Vec::with_capacity(batch.len() * dim);
        for (i, r) in rows.into_iter().enumerate() {
            let r = r.unwrap_or_else(|| vec![0.0; dim]);
            if self.keep_hits && !seen.contains_key(&keys[i]) {
                seen.insert(keys[i], r.clone());
            }
            data.extend_from_slice(&r);
        }
        Ok(Embeddings { dim, data })
    }
}
