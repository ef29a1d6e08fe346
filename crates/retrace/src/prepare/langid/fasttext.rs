//! A reader for fastText supervised models (`.bin` and quantized `.ftz` files, format
//! version 12) that predicts a text's most likely label as fastText's `predict` does: the
//! same tokens, character n-gram hashes, pruned buckets, product-quantized rows and
//! hierarchical (or plain) softmax. Written for `lid.176.ftz`, fastText's language
//! identifier, but reads any such model.

use std::collections::HashMap;

use thiserror::Error;

/// The first four bytes of a fastText model (`FASTTEXT_FILEFORMAT_MAGIC_INT32`).
const MAGIC: i32 = 793_712_314;
/// The file-format version this reader knows.
const VERSION: i32 = 12;
/// fastText's end-of-sentence token, the last token of every line.
const EOS: &[u8] = b"</s>";
/// Prefix of label entries in the dictionary.
const LABEL_PREFIX: &[u8] = b"__label__";
/// Centroids per sub-quantizer (8-bit codes).
const KSUB: usize = 256;

/// Why a model file could not be read.
#[derive(Debug, Error)]
pub enum FastTextError {
    /// The file ends before the structure it describes does.
    #[error("truncated model file (wanted {wanted} bytes at offset {at})")]
    Truncated {
        /// Offset of the structure.
        at: usize,
        /// Bytes it needs.
        wanted: usize,
    },
    /// Not a fastText model, or a version this reader does not know.
    #[error("not a fastText model of format version {VERSION} (magic {magic}, version {version})")]
    BadHeader {
        /// The file's first four bytes.
        magic: i32,
        /// The next four.
        version: i32,
    },
    /// A model kind this reader does not implement (unsupervised, one-vs-all loss).
    #[error("unsupported fastText model: {0}")]
    Unsupported(String),
    /// Inconsistent sizes or values.
    #[error("invalid fastText model: {0}")]
    Invalid(String),
}

/// Little-endian reader over the model bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FastTextError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(FastTextError::Truncated {
                at: self.at,
                wanted: n,
            });
        };
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], FastTextError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn i32(&mut self) -> Result<i32, FastTextError> {
        Ok(i32::from_le_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, FastTextError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    fn u8(&mut self) -> Result<u8, FastTextError> {
        Ok(self.take(1)?[0])
    }
    fn f64(&mut self) -> Result<f64, FastTextError> {
        Ok(f64::from_le_bytes(self.array()?))
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, FastTextError> {
        let bytes = self.take(
            n.checked_mul(4)
                .ok_or_else(|| invalid("matrix too large"))?,
        )?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
    /// A NUL-terminated string.
    fn cstr(&mut self) -> Result<&'a [u8], FastTextError> {
        let rest = &self.bytes[self.at..];
        let Some(len) = rest.iter().position(|&b| b == 0) else {
            return Err(FastTextError::Truncated {
                at: self.at,
                wanted: rest.len() + 1,
            });
        };
        self.at += len + 1;
        Ok(&rest[..len])
    }
}

fn invalid(what: impl Into<String>) -> FastTextError {
    FastTextError::Invalid(what.into())
}

/// A size read from the file as a non-negative count.
fn count(v: i64, what: &str) -> Result<usize, FastTextError> {
    usize::try_from(v).map_err(|_| invalid(format!("negative {what} ({v})")))
}

/// fastText's string hash: 32-bit FNV-1a over the bytes, each byte sign-extended first
/// (`uint32_t(int8_t(c))`), so bytes ≥ 0x80 hash as fastText's C++ does.
pub fn hash(bytes: &[u8]) -> u32 {
    bytes.iter().fold(2_166_136_261, |h, &b| hash_byte(h, b))
}

/// One step of [`hash`].
fn hash_byte(h: u32, b: u8) -> u32 {
    (h ^ b as i8 as i32 as u32).wrapping_mul(16_777_619)
}

/// A product quantizer: each row is `nsubq` 8-bit codes into per-block centroid tables.
struct ProductQuantizer {
    nsubq: usize,
    dsub: usize,
    lastdsub: usize,
    centroids: Vec<f32>,
}

impl ProductQuantizer {
    fn load(c: &mut Cursor) -> Result<Self, FastTextError> {
        let dim = count(c.i32()? as i64, "quantizer dimension")?;
        let nsubq = count(c.i32()? as i64, "sub-quantizer count")?;
        let dsub = count(c.i32()? as i64, "sub-quantizer size")?;
        let lastdsub = count(c.i32()? as i64, "last sub-quantizer size")?;
        if nsubq == 0 || dsub * (nsubq - 1) + lastdsub != dim {
            return Err(invalid(format!(
                "quantizer blocks ({nsubq} of {dsub}, last {lastdsub}) do not make {dim}"
            )));
        }
        let centroids = c.f32s(dim * KSUB)?;
        Ok(Self {
            nsubq,
            dsub,
            lastdsub,
            centroids,
        })
    }

    /// The centroid of code `i` of block `m`.
    fn centroid(&self, m: usize, i: u8) -> &[f32] {
        let i = i as usize;
        if m == self.nsubq - 1 {
            let at = m * KSUB * self.dsub + i * self.lastdsub;
            &self.centroids[at..at + self.lastdsub]
        } else {
            let at = (m * KSUB + i) * self.dsub;
            &self.centroids[at..at + self.dsub]
        }
    }
}

/// A matrix, dense or product-quantized (with quantized row norms when `norms` is set).
enum Matrix {
    Dense {
        cols: usize,
        data: Vec<f32>,
    },
    Quantized {
        codes: Vec<u8>,
        pq: ProductQuantizer,
        norms: Option<(Vec<u8>, ProductQuantizer)>,
    },
}

impl Matrix {
    /// Rows and columns, then the matrix.
    fn load(c: &mut Cursor, quantized: bool) -> Result<(usize, usize, Self), FastTextError> {
        if !quantized {
            let rows = count(c.i64()?, "rows")?;
            let cols = count(c.i64()?, "columns")?;
            let n = rows
                .checked_mul(cols)
                .ok_or_else(|| invalid("matrix too large"))?;
            let data = c.f32s(n)?;
            return Ok((rows, cols, Matrix::Dense { cols, data }));
        }
        let qnorm = c.u8()? != 0;
        let rows = count(c.i64()?, "rows")?;
        let cols = count(c.i64()?, "columns")?;
        let codesize = count(c.i32()? as i64, "code size")?;
        let codes = c.take(codesize)?.to_vec();
        let pq = ProductQuantizer::load(c)?;
        if rows.checked_mul(pq.nsubq) != Some(codesize)
            || cols != pq.dsub * (pq.nsubq - 1) + pq.lastdsub
        {
            return Err(invalid("quantized matrix sizes disagree"));
        }
        let norms = if qnorm {
            let codes = c.take(rows)?.to_vec();
            let npq = ProductQuantizer::load(c)?;
            if npq.nsubq != 1 || npq.lastdsub != 1 {
                return Err(invalid("norm quantizer is not one-dimensional"));
            }
            Some((codes, npq))
        } else {
            None
        };
        Ok((rows, cols, Matrix::Quantized { codes, pq, norms }))
    }

    /// The matrix decoded (a dense one as it is).
    fn dense(self, rows: usize, cols: usize) -> Self {
        if let Matrix::Dense { .. } = self {
            return self;
        }
        let mut data = vec![0.0f32; rows * cols];
        // (No columns, no rows to decode: a corrupt file's, rejected by the caller.)
        if cols == 0 {
            return Matrix::Dense { cols, data };
        }
        for (i, row) in data.chunks_exact_mut(cols).enumerate() {
            self.add_row(row, i);
        }
        Matrix::Dense { cols, data }
    }

    /// `x += row i` (fastText's `addRowToVector`).
    fn add_row(&self, x: &mut [f32], i: usize) {
        match self {
            Matrix::Dense { cols, data } => {
                for (v, w) in x.iter_mut().zip(&data[i * cols..(i + 1) * cols]) {
                    *v += w;
                }
            }
            Matrix::Quantized { codes, pq, norms } => {
                let alpha = norms
                    .as_ref()
                    .map_or(1.0, |(nc, npq)| npq.centroid(0, nc[i])[0]);
                let code = &codes[i * pq.nsubq..(i + 1) * pq.nsubq];
                for (m, &k) in code.iter().enumerate() {
                    let at = m * pq.dsub;
                    for (v, c) in x[at..].iter_mut().zip(pq.centroid(m, k)) {
                        *v += alpha * c;
                    }
                }
            }
        }
    }

    /// `row i · x` (fastText's `dotRow`).
    fn dot_row(&self, x: &[f32], i: usize) -> f32 {
        match self {
            Matrix::Dense { cols, data } => {
                let mut d = 0.0f32;
                for (w, v) in data[i * cols..(i + 1) * cols].iter().zip(x) {
                    d += w * v;
                }
                d
            }
            Matrix::Quantized { codes, pq, norms } => {
                let alpha = norms
                    .as_ref()
                    .map_or(1.0, |(nc, npq)| npq.centroid(0, nc[i])[0]);
                let code = &codes[i * pq.nsubq..(i + 1) * pq.nsubq];
                let mut d = 0.0f32;
                for (m, &k) in code.iter().enumerate() {
                    let at = m * pq.dsub;
                    for (c, v) in pq.centroid(m, k).iter().zip(&x[at..]) {
                        d += v * c;
                    }
                }
                d * alpha
            }
        }
    }
}

/// A node of the hierarchical-softmax tree (leaves are labels).
#[derive(Clone, Copy)]
struct Node {
    left: i32,
    right: i32,
    count: i64,
}

/// How the output layer turns the hidden vector into label scores.
enum Loss {
    /// Hierarchical softmax over fastText's Huffman tree of label counts.
    Hierarchical(Vec<Node>),
    /// Softmax over every label.
    Softmax,
}

/// A dictionary entry's kind.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Word,
    Label,
}

/// A loaded fastText supervised model.
pub struct Model {
    dim: usize,
    minn: usize,
    maxn: usize,
    bucket: u32,
    word_ngrams: usize,
    nwords: usize,
    /// Dictionary entry of each word and label.
    ids: HashMap<Vec<u8>, (u32, Kind), foldhash::fast::FixedState>,
    /// Input rows of each word: itself, then its character n-grams.
    subwords: Vec<Vec<u32>>,
    /// Bucket → row offset past the words (`None`: not pruned, every bucket kept).
    pruned: Option<HashMap<u32, u32, foldhash::fast::FixedState>>,
    /// One bit a bucket, set for those `pruned` keeps (most n-grams fall in dropped
    /// buckets: a bit test rejects them before a map look-up).
    kept: Vec<u64>,
    input: Matrix,
    output: Matrix,
    labels: Vec<String>,
    loss: Loss,
}

/// Buffers a prediction reuses: input rows, word hashes, a word between `<` and `>`.
#[derive(Default)]
struct Scratch {
    rows: Vec<u32>,
    hashes: Vec<u32>,
    word: Vec<u8>,
}

/// A prediction: label index (into [`Model::labels`]) and probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// Index of the label.
    pub label: usize,
    /// Its probability (0..1).
    pub probability: f32,
}

impl Model {
    /// Read a model from its file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FastTextError> {
        let c = &mut Cursor { bytes, at: 0 };
        let (magic, version) = (c.i32()?, c.i32()?);
        if magic != MAGIC || version != VERSION {
            return Err(FastTextError::BadHeader { magic, version });
        }
        // Args: dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate t.
        let mut args = [0i32; 12];
        for a in &mut args {
            *a = c.i32()?;
        }
        let _t = c.f64()?;
        let [dim, _ws, _epoch, _min_count, _neg, word_ngrams, loss, model, bucket, minn, maxn, _] =
            args;
        if model != 3 {
            return Err(FastTextError::Unsupported(format!(
                "model kind {model} (only supervised models, 3, predict labels)"
            )));
        }
        let dim = count(dim as i64, "dimension")?;
        let bucket = u32::try_from(bucket).map_err(|_| invalid("negative bucket count"))?;
        let minn = count(minn as i64, "minn")?;
        let maxn = count(maxn as i64, "maxn")?;
        let word_ngrams = count(word_ngrams as i64, "wordNgrams")?;

        // Dictionary.
        let size = count(c.i32()? as i64, "dictionary size")?;
        let nwords = count(c.i32()? as i64, "word count")?;
        let nlabels = count(c.i32()? as i64, "label count")?;
        let _ntokens = c.i64()?;
        let prune_size = c.i64()?;
        if nwords + nlabels != size || nlabels == 0 {
            return Err(invalid(format!(
                "dictionary of {size} entries is not {nwords} words and {nlabels} labels"
            )));
        }
        // Room for the entries the rest of the file can hold (10 bytes each at least: an
        // empty name, a count and a kind), not for a corrupt count's.
        let room = (bytes.len() - c.at) / 10;
        let mut ids = HashMap::with_capacity_and_hasher(size.min(room), Default::default());
        let mut words: Vec<&[u8]> = Vec::with_capacity(nwords.min(room));
        let mut labels = Vec::with_capacity(nlabels.min(room));
        let mut label_counts = Vec::with_capacity(nlabels.min(room));
        for i in 0..size {
            let word = c.cstr()?;
            let n = c.i64()?;
            let kind = match c.u8()? {
                0 if i < nwords => Kind::Word,
                1 if i >= nwords => Kind::Label,
                k => return Err(invalid(format!("entry {i} has kind {k} out of place"))),
            };
            ids.insert(word.to_vec(), (i as u32, kind));
            if kind == Kind::Word {
                words.push(word);
            } else {
                let name = word.strip_prefix(LABEL_PREFIX).unwrap_or(word);
                labels.push(String::from_utf8_lossy(name).into_owned());
                label_counts.push(n);
            }
        }
        let pruned = if prune_size >= 0 {
            // (8 bytes a pair: no more than the rest of the file holds.)
            let mut map = HashMap::with_capacity_and_hasher(
                count(prune_size, "pruned buckets")?.min((bytes.len() - c.at) / 8),
                Default::default(),
            );
            for _ in 0..prune_size {
                let (from, to) = (c.i32()?, c.i32()?);
                let (Ok(from), Ok(to)) = (u32::try_from(from), u32::try_from(to)) else {
                    return Err(invalid("negative pruned bucket"));
                };
                map.insert(from, to);
            }
            Some(map)
        } else {
            None
        };

        let quant_input = c.u8()? != 0;
        let (in_rows, in_cols, input) = Matrix::load(c, quant_input)?;
        // Input rows are summed in every prediction: decoded once here (the same floats as
        // decoding each use), ~3 MB for lid.176.
        let input = input.dense(in_rows, in_cols);
        let qout = c.u8()? != 0;
        let (out_rows, out_cols, output) = Matrix::load(c, quant_input && qout)?;
        let in_rows_wanted = nwords
            + match &pruned {
                Some(p) => p.len(),
                None => bucket as usize,
            };
        if in_cols != dim || out_cols != dim || out_rows != nlabels || in_rows < in_rows_wanted {
            return Err(invalid(format!(
                "matrices {in_rows}×{in_cols} and {out_rows}×{out_cols} do not fit \
                 {nwords} words, {nlabels} labels and dimension {dim}"
            )));
        }
        // A pruned bucket's row must be one of the matrix's.
        if let Some(p) = &pruned {
            if let Some(to) = p.values().find(|&&to| to as usize >= in_rows - nwords) {
                return Err(invalid(format!(
                    "pruned bucket row {to} past the {in_rows} input rows"
                )));
            }
        }
        if c.at != bytes.len() {
            return Err(invalid(format!(
                "{} bytes after the output matrix",
                bytes.len() - c.at
            )));
        }
        let loss = match loss {
            1 => Loss::Hierarchical(huffman_tree(&label_counts)),
            3 => Loss::Softmax,
            l => {
                return Err(FastTextError::Unsupported(format!(
                    "loss {l} (only hierarchical softmax, 1, and softmax, 3)"
                )))
            }
        };
        let mut model = Model {
            dim,
            minn,
            maxn,
            bucket,
            word_ngrams,
            nwords,
            ids,
            subwords: Vec::new(),
            kept: Vec::new(),
            pruned,
            input,
            output,
            labels,
            loss,
        };
        if let Some(p) = &model.pruned {
            let mut kept = vec![0u64; (bucket as usize).div_ceil(64)];
            for &b in p.keys() {
                if let Some(k) = kept.get_mut(b as usize / 64) {
                    *k |= 1 << (b % 64);
                }
            }
            model.kept = kept;
        }
        let mut subwords = Vec::with_capacity(nwords);
        for (i, w) in words.iter().enumerate() {
            let mut rows = vec![i as u32];
            if *w != EOS {
                model.char_ngrams(w, &mut rows, &mut Vec::new());
            }
            subwords.push(rows);
        }
        model.subwords = subwords;
        Ok(model)
    }

    /// The model's labels (`__label__` stripped), most frequent in training first.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The input row of hash bucket `id`, unless pruning dropped it.
    fn push_bucket(&self, rows: &mut Vec<u32>, id: u32) {
        let id = match &self.pruned {
            None => Some(id),
            Some(_) if self.kept[id as usize / 64] & (1 << (id % 64)) == 0 => None,
            Some(p) => p.get(&id).copied(),
        };
        if let Some(id) = id {
            rows.push(self.nwords as u32 + id);
        }
    }

    /// Rows of the character n-grams (minn..=maxn characters) of `<word>`, as fastText's
    /// `computeSubwords` finds them: UTF-8 characters, no single `<` or `>`.
    fn char_ngrams(&self, word: &[u8], rows: &mut Vec<u32>, w: &mut Vec<u8>) {
        if self.maxn == 0 {
            return;
        }
        w.clear();
        w.push(b'<');
        w.extend_from_slice(word);
        w.push(b'>');
        let cont = |b: u8| b & 0xC0 == 0x80;
        for i in 0..w.len() {
            if cont(w[i]) {
                continue;
            }
            let mut j = i;
            let mut n = 1;
            // The hash of w[i..j], extended a byte at a time as j grows.
            let mut h = hash(b"");
            while j < w.len() && n <= self.maxn {
                loop {
                    h = hash_byte(h, w[j]);
                    j += 1;
                    if j == w.len() || !cont(w[j]) {
                        break;
                    }
                }
                if n >= self.minn && !(n == 1 && (i == 0 || j == w.len())) {
                    // (No buckets in a corrupt file: no n-gram rows.)
                    if let Some(b) = h.checked_rem(self.bucket) {
                        self.push_bucket(rows, b);
                    }
                }
                n += 1;
            }
        }
    }

    /// The input rows of one line of text, as fastText's `getLine` finds them: tokens split
    /// at ASCII white space and NUL, then `</s>`; known words with their n-grams, unknown
    /// ones by their n-grams only; labels skipped; word n-grams when the model has them.
    fn rows(&self, text: &str, scratch: &mut Scratch) {
        let Scratch { rows, hashes, word } = scratch;
        rows.clear();
        hashes.clear();
        let tokens = text
            .as_bytes()
            .split(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c | 0))
            .filter(|t| !t.is_empty())
            .chain(std::iter::once(EOS));
        for token in tokens {
            let h = hash(token);
            match self.ids.get(token) {
                Some(&(id, Kind::Word)) => {
                    if self.maxn == 0 {
                        rows.push(id);
                    } else {
                        rows.extend_from_slice(&self.subwords[id as usize]);
                    }
                }
                Some((_, Kind::Label)) => continue,
                None if token.starts_with(LABEL_PREFIX) => continue,
                None => {
                    if token != EOS {
                        self.char_ngrams(token, rows, word);
                    }
                }
            }
            hashes.push(h);
        }
        for i in 0..hashes.len() {
            // fastText keeps these hashes as int32 and widens them, sign-extended, to 64 bits.
            let wide = |h: u32| h as i32 as i64 as u64;
            let mut h = wide(hashes[i]);
            for &next in hashes.iter().take(i + self.word_ngrams).skip(i + 1) {
                h = h.wrapping_mul(116_049_371).wrapping_add(wide(next));
                if let Some(b) = h.checked_rem(self.bucket as u64) {
                    self.push_bucket(rows, b as u32);
                }
            }
        }
    }

    /// The most likely label of one line of text (newlines count as spaces), or `None` when
    /// the text has no rows (or no label reaches fastText's floor of 1e-5).
    pub fn predict(&self, text: &str) -> Option<Prediction> {
        thread_local! {
            static SCRATCH: std::cell::RefCell<Scratch> = Default::default();
        }
        SCRATCH.with_borrow_mut(|scratch| self.predict_with(text, scratch))
    }

    fn predict_with(&self, text: &str, scratch: &mut Scratch) -> Option<Prediction> {
        self.rows(text, scratch);
        let rows = &scratch.rows;
        if rows.is_empty() {
            return None;
        }
        let mut hidden = vec![0.0f32; self.dim];
        for &r in rows {
            self.input.add_row(&mut hidden, r as usize);
        }
        let scale = (1.0 / rows.len() as f64) as f32;
        for v in &mut hidden {
            *v *= scale;
        }
        let floor = std_log(0.0);
        let (score, label) = match &self.loss {
            Loss::Hierarchical(tree) => {
                let mut best = None;
                self.dfs(tree, tree.len() - 1, 0.0, &hidden, &mut best);
                best?
            }
            Loss::Softmax => {
                let out: Vec<f32> = (0..self.labels.len())
                    .map(|i| self.output.dot_row(&hidden, i))
                    .collect();
                let max = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let z: f32 = out.iter().map(|o| (o - max).exp()).sum();
                // First of the highest, as fastText's heap keeps it.
                let (i, o) = out
                    .iter()
                    .enumerate()
                    .fold(
                        (0, f32::NEG_INFINITY),
                        |b, (i, &o)| {
                            if o > b.1 {
                                (i, o)
                            } else {
                                b
                            }
                        },
                    );
                (std_log((o - max).exp() / z), i)
            }
        };
        (score >= floor).then(|| Prediction {
            label,
            probability: score.exp(),
        })
    }

    /// fastText's depth-first search of the tree for the best leaf (k = 1): left child
    /// first, a subtree skipped once its score is below the best found.
    fn dfs(
        &self,
        tree: &[Node],
        node: usize,
        score: f32,
        hidden: &[f32],
        best: &mut Option<(f32, usize)>,
    ) {
        if score < std_log(0.0) {
            return;
        }
        if best.is_some_and(|(s, _)| score < s) {
            return;
        }
        let n = tree[node];
        if n.left == -1 && n.right == -1 {
            // Exact ties (which fastText's heap breaks either way) keep the first found.
            if best.is_none_or(|(s, _)| score > s) {
                *best = Some((score, node));
            }
            return;
        }
        let nlabels = self.labels.len();
        let f = self.output.dot_row(hidden, node - nlabels);
        let f = (1.0 / (1.0 + (-f).exp()) as f64) as f32;
        self.dfs(
            tree,
            n.left as usize,
            score + std_log(1.0 - f),
            hidden,
            best,
        );
        self.dfs(tree, n.right as usize, score + std_log(f), hidden, best);
    }
}

/// fastText's `std_log`: log(x + 1e-5), in single precision.
fn std_log(x: f32) -> f32 {
    (x as f64 + 1e-5).ln() as f32
}

/// fastText's Huffman tree over label counts (sorted most frequent first): leaves 0..n,
/// inner nodes n..2n-1, the root last. Counts out of order or not below fastText's sentinel
/// (10^15) in a corrupt file still give a tree (an inner node is only taken once built).
fn huffman_tree(counts: &[i64]) -> Vec<Node> {
    let n = counts.len();
    let mut tree = vec![
        Node {
            left: -1,
            right: -1,
            count: 1_000_000_000_000_000,
        };
        2 * n - 1
    ];
    for (t, &c) in tree.iter_mut().zip(counts) {
        t.count = c;
    }
    let mut leaf = n as i64 - 1;
    let mut node = n;
    for i in n..2 * n - 1 {
        let mut mini = [0usize; 2];
        for m in &mut mini {
            // (Inner nodes n..i are built; when none is left a leaf is, as 2n - 1 - i >= 2
            // nodes remain to pair.)
            if leaf >= 0 && (node >= i || tree[leaf as usize].count < tree[node].count) {
                *m = leaf as usize;
                leaf -= 1;
            } else {
                *m = node;
                node += 1;
            }
        }
        tree[i].left = mini[0] as i32;
        tree[i].right = mini[1] as i32;
        tree[i].count = tree[mini[0]].count.saturating_add(tree[mini[1]].count);
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_fasttexts_fnv1a_with_signed_bytes() {
        // FNV-1a of the empty string is its offset basis; ASCII hashes as plain FNV-1a.
        assert_eq!(hash(b""), 2_166_136_261);
        assert_eq!(hash(b"a"), 0xe40c_292c);
        // A byte >= 0x80 is sign-extended before the xor: 0xc3 xors in 0xffffffc3.
        let plain = (2_166_136_261u32 ^ 0xc3).wrapping_mul(16_777_619);
        let signed = (2_166_136_261u32 ^ 0xffff_ffc3).wrapping_mul(16_777_619);
        assert_ne!(plain, signed);
        assert_eq!(hash(&[0xc3]), signed);
    }

    #[test]
    fn huffman_tree_pairs_the_rarest_first() {
        // Counts 5, 3, 1: the two rarest (leaves 2 and 1) join first, then leaf 0.
        let t = huffman_tree(&[5, 3, 1]);
        assert_eq!((t[3].left, t[3].right, t[3].count), (2, 1, 4));
        assert_eq!((t[4].left, t[4].right, t[4].count), (3, 0, 9));
    }

    /// A tiny dense model: dimension 2, two words, two labels, two hash buckets, n-grams
    /// of 2 characters, softmax or hierarchical softmax.
    fn tiny(loss: i32, input: [[f32; 2]; 4], output: [[f32; 2]; 2]) -> Vec<u8> {
        let mut b = Vec::new();
        let i32s = |b: &mut Vec<u8>, v: &[i32]| v.iter().for_each(|x| b.extend(x.to_le_bytes()));
        i32s(&mut b, &[MAGIC, VERSION]);
        // dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate
        i32s(&mut b, &[2, 5, 5, 1, 5, 1, loss, 3, 2, 2, 2, 100]);
        b.extend(1e-4f64.to_le_bytes());
        i32s(&mut b, &[4, 2, 2]);
        b.extend(10i64.to_le_bytes());
        b.extend((-1i64).to_le_bytes());
        for (w, n, k) in [
            ("</s>", 9i64, 0u8),
            ("hello", 5, 0),
            ("__label__aa", 6, 1),
            ("__label__bb", 4, 1),
        ] {
            b.extend(w.as_bytes());
            b.push(0);
            b.extend(n.to_le_bytes());
            b.push(k);
        }
        b.push(0); // dense input
        b.extend(4i64.to_le_bytes());
        b.extend(2i64.to_le_bytes());
        input
            .iter()
            .flatten()
            .for_each(|x| b.extend(x.to_le_bytes()));
        b.push(0); // dense output
        b.extend(2i64.to_le_bytes());
        b.extend(2i64.to_le_bytes());
        output
            .iter()
            .flatten()
            .for_each(|x| b.extend(x.to_le_bytes()));
        b
    }

    #[test]
    fn tiny_model_predicts_from_words_and_ngrams() {
        // Row 0 </s>, row 1 hello, rows 2-3 buckets. "hello" pulls towards label aa.
        let input = [[0.0, 0.0], [4.0, 0.0], [0.0, 0.0], [0.0, 0.0]];
        let output = [[1.0, 0.0], [-1.0, 0.0]];
        let m = Model::from_bytes(&tiny(3, input, output)).unwrap();
        assert_eq!(m.labels(), ["aa", "bb"]);
        // "hello" is a known word: its own row plus its 2-grams' buckets; </s> one row.
        let mut scratch = Scratch::default();
        m.rows("hello", &mut scratch);
        let rows = scratch.rows;
        let grams = m.subwords[1].len();
        assert_eq!(grams, 1 + 6, "<h he el ll lo o> plus the word");
        assert_eq!(rows.len(), grams + 1);
        assert_eq!(rows[0], 1);
        assert_eq!(*rows.last().unwrap(), 0);
        let p = m.predict("hello").unwrap();
        assert_eq!(p.label, 0);
        // hidden = (4/8, 0): softmax of (0.5, -0.5).
        let want = 1.0 / (1.0 + (-1.0f32).exp());
        assert!((p.probability - want).abs() < 1e-4, "{p:?}");

        // Hierarchical softmax: one inner node (output row 0); aa is its right child
        // (the more frequent leaf joins second), reached with probability sigmoid(f).
        let m = Model::from_bytes(&tiny(1, input, output)).unwrap();
        let p = m.predict("hello").unwrap();
        assert_eq!(p.label, 0);
        let f = 1.0 / (1.0 + (-0.5f32).exp());
        assert!((p.probability - (f + 1e-5)).abs() < 1e-4, "{p:?}");
        let input = [[0.0, 0.0], [-4.0, 0.0], [0.0, 0.0], [0.0, 0.0]];
        let m = Model::from_bytes(&tiny(1, input, output)).unwrap();
        assert_eq!(m.predict("hello").unwrap().label, 1);
    }

    #[test]
    fn corrupt_files_are_errors() {
        let good = tiny(3, [[0.0; 2]; 4], [[0.0; 2]; 2]);
        assert!(Model::from_bytes(&good).is_ok());
        for cut in [0, 3, 8, 70, good.len() - 1] {
            assert!(
                matches!(
                    Model::from_bytes(&good[..cut]),
                    Err(FastTextError::Truncated { .. } | FastTextError::BadHeader { .. })
                ),
                "cut at {cut}"
            );
        }
        let mut bad = good.clone();
        bad[0] ^= 1;
        assert!(matches!(
            Model::from_bytes(&bad),
            Err(FastTextError::BadHeader { .. })
        ));
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(
            Model::from_bytes(&long),
            Err(FastTextError::Invalid(_))
        ));
        let mut ova = good;
        ova[8 + 24..8 + 28].copy_from_slice(&4i32.to_le_bytes());
        assert!(matches!(
            Model::from_bytes(&ova),
            Err(FastTextError::Unsupported(_))
        ));
    }

    #[test]
    fn huffman_tree_of_corrupt_counts_stays_in_bounds() {
        // Found by fuzzing (fuzz/artifacts/fasttext/crash-51d809fa…): a label count above
        // fastText's sentinel made the tree pair nodes not built yet, past its end.
        let t = huffman_tree(&[6, 9_007_199_254_740_996]);
        assert_eq!((t[2].left, t[2].right), (1, 0));
        let t = huffman_tree(&[i64::MAX, i64::MAX, 1, 5]);
        assert_eq!(t.len(), 7);
        assert!(t.iter().all(|n| n.left < 7 && n.right < 7));
        assert_eq!(t[6].count, i64::MAX);
        // Sorted counts below the sentinel: fastText's tree.
        let t = huffman_tree(&[5, 3, 1]);
        assert_eq!((t[3].left, t[3].right, t[4].left, t[4].right), (2, 1, 3, 0));
        let mut input = [[0.0; 2]; 4];
        input[1][0] = 4.0;
        let mut crash = tiny(1, input, [[1.0, 0.0], [-1.0, 0.0]]);
        let bb = b"__label__bb\0";
        let at = crash.windows(bb.len()).position(|w| w == bb).unwrap() + bb.len();
        crash[at..at + 8].copy_from_slice(&9_007_199_254_740_996i64.to_le_bytes());
        let m = Model::from_bytes(&crash).expect("a model");
        assert!(m.predict("hello").is_some());
    }

    #[test]
    fn no_buckets_means_no_ngram_rows() {
        // Found by fuzzing (fuzz/artifacts/fasttext/crash-cd3a8c47…): a bucket count of 0
        // divided by zero when an n-gram was hashed.
        let mut input = [[0.0; 2]; 4];
        input[1][0] = 4.0;
        let mut b = tiny(3, input, [[1.0, 0.0], [-1.0, 0.0]]);
        b[8 + 8 * 4..8 + 9 * 4].copy_from_slice(&0i32.to_le_bytes());
        let m = Model::from_bytes(&b).expect("a model without buckets");
        assert_eq!(m.predict("hello").unwrap().label, 0);
        assert!(m.predict("unknown words here").is_some());
    }

    #[test]
    fn a_quantized_matrix_without_columns_is_an_error() {
        // Found by fuzzing: a product quantizer of dimension 0 made decoding the input
        // matrix panic (chunks of size 0).
        let crash = include_bytes!(
            "../../../../../fuzz/artifacts/fasttext/crash-b8c6979428b7c9dcdbbba832bf9642c2ce7d1bc7"
        );
        assert!(matches!(
            Model::from_bytes(crash),
            Err(FastTextError::Invalid(_))
        ));
    }

    #[test]
    fn huge_counts_are_errors_not_allocations() {
        // Found by fuzzing: a corrupt dictionary size or pruned-bucket count made the reader
        // reserve room for that many entries (tens of GB) before reading any.
        let good = tiny(3, [[0.0; 2]; 4], [[0.0; 2]; 2]);
        let mut size = good.clone();
        size[64..68].copy_from_slice(&i32::MAX.to_le_bytes());
        size[68..72].copy_from_slice(&(i32::MAX - 2).to_le_bytes());
        assert!(Model::from_bytes(&size).is_err());
        let mut pruned = good;
        pruned[84..92].copy_from_slice(&i64::MAX.to_le_bytes());
        assert!(matches!(
            Model::from_bytes(&pruned),
            Err(FastTextError::Truncated { .. })
        ));
    }
}
