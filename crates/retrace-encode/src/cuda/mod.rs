//! The BERT / XLM-R forward pass of [`crate::e5::bert::Bert`] on an NVIDIA GPU (feature
//! `cuda`), for e5-small and Hugging Face models alike.
//!
//! Nothing of CUDA is needed to build: the driver, cuBLAS and NVRTC are loaded at run time
//! (cudarc's dynamic loading) and the few kernels (`kernels.cu`) are compiled by NVRTC when
//! the encoder opens. Weights are uploaded once as f32 (the word table dequantised); matrix
//! products run in cuBLAS with TF32 tensor cores; windows are sorted by length and batched
//! with padding to the longest window of each batch, attention masking the padding.
//! Results match the CPU path to within TF32 rounding (cosine above 0.999).

use std::sync::Arc;

use cudarc::cublas::{sys as blas_sys, CudaBlas, Gemm, GemmConfig, StridedBatchedConfig};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg,
};

use crate::e5::bert::{Activation, Bert, Pooling, Window};

const KERNELS: &str = include_str!("kernels.cu");

/// Padded tokens per batch: enough to fill the GPU, bounded memory for the scores.
const BATCH_TOKENS: usize = 32_768;

struct GpuLinear {
    w: CudaSlice<f32>,
    b: CudaSlice<f32>,
    nin: usize,
    nout: usize,
}

struct GpuLayer {
    qkv: GpuLinear,
    attn_out: GpuLinear,
    attn_ln: (CudaSlice<f32>, CudaSlice<f32>),
    ffn_in: GpuLinear,
    ffn_out: GpuLinear,
    out_ln: (CudaSlice<f32>, CudaSlice<f32>),
}

struct Kernels {
    embed: CudaFunction,
    add_bias_ln: CudaFunction,
    bias_act: CudaFunction,
    split_heads: CudaFunction,
    merge_heads: CudaFunction,
    softmax_rows: CudaFunction,
    pool: CudaFunction,
}

/// A model's weights on the GPU and the means to run it.
pub struct GpuBert {
    stream: Arc<CudaStream>,
    blas: CudaBlas,
    k: Kernels,
    word: CudaSlice<f32>,
    position: CudaSlice<f32>,
    token_type: CudaSlice<f32>,
    emb_ln: (CudaSlice<f32>, CudaSlice<f32>),
    layers: Vec<GpuLayer>,
    /// Rows of `word` (the vocabulary) and of `position`.
    vocab: usize,
    positions: usize,
    hidden: usize,
    heads: usize,
    ffn: usize,
    eps: f32,
    activation: i32,
    position_offset: i32,
    device_name: String,
    /// One batch at a time on the stream and the cuBLAS handle.
    lock: std::sync::Mutex<()>,
}

/// Run `f`, turning a panic (cudarc's way of saying a CUDA library is missing) into `None`
/// without printing it.
fn quietly<T>(f: impl FnOnce() -> T + std::panic::UnwindSafe) -> Option<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(f).ok();
    std::panic::set_hook(hook);
    r
}

fn err(what: &str, e: impl std::fmt::Debug) -> String {
    format!("CUDA {what}: {e:?}")
}

impl GpuBert {
    /// Upload `bert` (whose linear layers must still hold their row-major weights, i.e. not
    /// packed) to GPU `ordinal`. Fails with a readable message when no driver, GPU or CUDA
    /// library is found.
    pub fn new(bert: &Bert, ordinal: usize) -> Result<Self, String> {
        let c = &bert.config;
        // The kernels' limits (kernels.cu): a row's LayerNorm keeps 8 values a thread, in
        // blocks of at most 1024 threads; heads split the hidden size evenly.
        if c.hidden == 0 || c.hidden > 8 * 1024 || c.heads == 0 || !c.hidden.is_multiple_of(c.heads)
        {
            return Err(format!(
                "the GPU kernels do not support a hidden size of {} with {} heads",
                c.hidden, c.heads
            ));
        }
        // cudarc panics when a CUDA library cannot be loaded: turn that into an error.
        let ctx = quietly(|| CudaContext::new(ordinal))
            .ok_or_else(|| "no CUDA driver found (libcuda.so could not be loaded)".to_string())?
            .map_err(|e| err("device", e))?;
        let device_name = ctx.name().unwrap_or_else(|_| "GPU".into());
        let stream = ctx.default_stream();
        let ptx = quietly(|| cudarc::nvrtc::compile_ptx(KERNELS))
            .ok_or_else(|| "NVRTC (libnvrtc.so) could not be loaded; add the CUDA toolkit's lib64 to LD_LIBRARY_PATH".to_string())?
            .map_err(|e| err("kernel compilation", e))?;
        let module = ctx.load_module(ptx).map_err(|e| err("module", e))?;
        let f = |name: &str| module.load_function(name).map_err(|e| err(name, e));
        let k = Kernels {
            embed: f("embed")?,
            add_bias_ln: f("add_bias_ln")?,
            bias_act: f("bias_act")?,
            split_heads: f("split_heads")?,
            merge_heads: f("merge_heads")?,
            softmax_rows: f("softmax_rows")?,
            pool: f("pool")?,
        };
        let blas = quietly(|| CudaBlas::new(stream.clone()))
            .ok_or_else(|| "cuBLAS (libcublas.so) could not be loaded; add the CUDA toolkit's lib64 to LD_LIBRARY_PATH".to_string())?
            .map_err(|e| err("cuBLAS", e))?;
        // TF32 tensor cores for f32 products.
        // SAFETY: a plain FFI call on the handle `blas` owns (created just above, alive for
        // the call); it takes no pointers, and the mode is a valid cublasMath_t value.
        unsafe {
            blas_sys::cublasSetMathMode(
                *blas.handle(),
                blas_sys::cublasMath_t::CUBLAS_TF32_TENSOR_OP_MATH,
            )
        }
        .result()
        .map_err(|e| err("math mode", e))?;
        let up = |v: &[f32]| stream.clone_htod(v).map_err(|e| err("upload", e));
        let lin = |l: &crate::e5::bert::Linear| -> Result<GpuLinear, String> {
            if l.w.len() != l.nin * l.nout {
                return Err("linear weights were packed for the CPU before upload".into());
            }
            Ok(GpuLinear {
                w: up(&l.w)?,
                b: up(&l.b)?,
                nin: l.nin,
                nout: l.nout,
            })
        };
        let ln = |p: &(Vec<f32>, Vec<f32>)| -> Result<_, String> { Ok((up(&p.0)?, up(&p.1)?)) };
        let mut layers = Vec::with_capacity(bert.layers.len());
        for l in &bert.layers {
            layers.push(GpuLayer {
                qkv: lin(&l.qkv)?,
                attn_out: lin(&l.attn_out)?,
                attn_ln: ln(&l.attn_ln)?,
                ffn_in: lin(&l.ffn_in)?,
                ffn_out: lin(&l.ffn_out)?,
                out_ln: ln(&l.out_ln)?,
            });
        }
        let word = bert.word_table();
        let h = c.hidden;
        Ok(GpuBert {
            vocab: word.len() / h,
            positions: bert.position.len() / h,
            word: up(&word)?,
            position: up(&bert.position)?,
            token_type: up(&bert.token_type)?,
            emb_ln: ln(&bert.emb_ln)?,
            layers,
            hidden: c.hidden,
            heads: c.heads,
            ffn: c.ffn,
            eps: c.eps,
            activation: match c.activation {
                Activation::Gelu => 0,
                Activation::GeluTanh => 1,
                Activation::Relu => 2,
            },
            position_offset: c.position_offset as i32,
            device_name,
            lock: std::sync::Mutex::new(()),
            stream,
            blas,
            k,
        })
    }

    /// The GPU's name.
    pub fn device_name(&self) -> &str {
        &self.device_name
    }

    /// One pooled row of `hidden` floats per window, in the order of `windows`.
    pub fn forward(&self, windows: &[Window], pooling: Pooling) -> Result<Vec<f32>, String> {
        let _one_at_a_time = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.stream
            .context()
            .bind_to_thread()
            .map_err(|e| err("context", e))?;
        let h = self.hidden;
        // The embedding kernel reads word row `id` and position row `position_offset + t`
        // of every token unchecked: check them here.
        for w in windows {
            if self.position_offset as usize + w.ids.len() > self.positions {
                return Err(format!(
                    "window of {} tokens exceeds the model's positions",
                    w.ids.len()
                ));
            }
            if let Some(&bad) = w.ids.iter().find(|&&id| id as usize >= self.vocab) {
                return Err(format!(
                    "token id {bad} outside the vocabulary of {}",
                    self.vocab
                ));
            }
        }
        let mut order: Vec<usize> = (0..windows.len()).collect();
        order.sort_by_key(|&i| (windows[i].ids.len(), i));
        let mut out = vec![0f32; windows.len() * h];
        let mut start = 0;
        while start < order.len() {
            // Windows are sorted by length, so the last of a batch is its longest.
            let mut end = start + 1;
            while end < order.len()
                && (end + 1 - start) * windows[order[end]].ids.len() <= BATCH_TOKENS
            {
                end += 1;
            }
            let batch: Vec<&Window> = order[start..end].iter().map(|&i| &windows[i]).collect();
            let pooled = self.forward_batch(&batch, pooling)?;
            for (k, &i) in order[start..end].iter().enumerate() {
                out[i * h..(i + 1) * h].copy_from_slice(&pooled[k * h..(k + 1) * h]);
            }
            start = end;
        }
        Ok(out)
    }

    fn linear(
        &self,
        l: &GpuLinear,
        x: &CudaSlice<f32>,
        y: &mut CudaSlice<f32>,
        rows: usize,
    ) -> Result<(), String> {
        // Row-major y[rows, nout] = x[rows, nin] · wᵀ, i.e. column-major yᶜ = wᶜᵀ · xᶜ.
        assert!(
            l.w.len() == l.nout * l.nin && x.len() >= rows * l.nin && y.len() >= rows * l.nout,
            "linear: buffers too small"
        );
        let cfg = GemmConfig {
            transa: blas_sys::cublasOperation_t::CUBLAS_OP_T,
            transb: blas_sys::cublasOperation_t::CUBLAS_OP_N,
            m: l.nout as i32,
            n: rows as i32,
            k: l.nin as i32,
            alpha: 1.0f32,
            lda: l.nin as i32,
            ldb: l.nin as i32,
            beta: 0.0f32,
            ldc: l.nout as i32,
        };
        // SAFETY: cuBLAS reads A = w as nin × nout (lda nin: nout · nin floats), B = x as
        // nin × rows (ldb nin) and writes C = y as nout × rows (ldc nout), all column-major,
        // which the assert above keeps inside the three buffers; y is a unique borrow, so C
        // overlaps neither input; the stream orders the call after the writes of x.
        unsafe { self.blas.gemm(cfg, &l.w, x, y) }.map_err(|e| err("gemm", e))
    }

    /// Threads per block for kernels that work on one row of `hidden` floats.
    fn row_threads(&self) -> u32 {
        (self.hidden.div_ceil(8).next_multiple_of(32)).clamp(128, 1024) as u32
    }

    /// `x = LayerNorm(x + y + bias)` over `rows` rows (`y` is overwritten).
    fn residual_ln(
        &self,
        x: &mut CudaSlice<f32>,
        y: &mut CudaSlice<f32>,
        bias: &CudaSlice<f32>,
        ln: &(CudaSlice<f32>, CudaSlice<f32>),
        rows: usize,
    ) -> Result<(), String> {
        let h = self.hidden as i32;
        let cfg = LaunchConfig {
            grid_dim: (rows as u32, 1, 1),
            block_dim: (self.row_threads(), 1, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: the arguments match `add_bias_ln(float* x, float* y, const float* bias,
        // const float* lnw, const float* lnb, int h, float eps)` in order and type. One block a
        // row reads and writes h floats of rows < `rows` of x and y, which the callers size
        // `t × h` with rows = t, and h of bias and the LayerNorm vectors (uploaded with h
        // values each); `row_threads` (a multiple of 32, at most 1024, at least h / 8) is
        // what ln_row's shared reduction and 8 values a thread need.
        unsafe {
            self.stream
                .launch_builder(&self.k.add_bias_ln)
                .arg(x)
                .arg(y)
                .arg(bias)
                .arg(&ln.0)
                .arg(&ln.1)
                .arg(&h)
                .arg(&self.eps)
                .launch(cfg)
        }
        .map(|_| ())
        .map_err(|e| err("kernel", e))
    }

    fn forward_batch(&self, batch: &[&Window], pooling: Pooling) -> Result<Vec<f32>, String> {
        let (h, heads, ff) = (self.hidden, self.heads, self.ffn);
        let d = h / heads;
        let b = batch.len();
        let l = batch.iter().map(|w| w.ids.len()).max().unwrap_or(1).max(1);
        let t = b * l;
        let s = &self.stream;
        let mut ids = vec![0u32; t];
        let mut lens = vec![0i32; b];
        for (k, w) in batch.iter().enumerate() {
            ids[k * l..k * l + w.ids.len()].copy_from_slice(&w.ids);
            lens[k] = w.ids.len() as i32;
        }
        let e = |what: &'static str| move |x: cudarc::driver::DriverError| err(what, x);
        let ids_d = s.clone_htod(&ids).map_err(e("upload"))?;
        let lens_d = s.clone_htod(&lens).map_err(e("upload"))?;
        let alloc = |n: usize| s.alloc_zeros::<f32>(n).map_err(e("alloc"));
        let mut x = alloc(t * h)?;
        let mut qkv = alloc(t * 3 * h)?;
        let mut q = alloc(t * h)?;
        let mut kk = alloc(t * h)?;
        let mut v = alloc(t * h)?;
        let mut ctx = alloc(t * h)?;
        let mut tmp = alloc(t * h)?;
        let mut mid = alloc(t * ff)?;
        let mut scores = alloc(b * heads * l * l)?;
        let threads = self.row_threads();
        let rows_cfg = |rows: usize| LaunchConfig {
            grid_dim: (rows as u32, 1, 1),
            block_dim: (threads, 1, 1),
            shared_mem_bytes: 0,
        };
        let flat = |n: usize| LaunchConfig {
            grid_dim: (n.div_ceil(256) as u32, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        let (li, hi, ffi, di, headsi) = (l as i32, h as i32, ff as i32, d as i32, heads as i32);
        let launch = |r: Result<_, cudarc::driver::DriverError>| r.map(|_| ()).map_err(e("kernel"));
        // Buffer sizes below: ids, x [t, h], qkv [t, 3h], q, kk, v, ctx, tmp [t, h] (q, kk, v
        // as [b, heads, l, d]), mid [t, ff], scores [b · heads, l, l], lens [b], with t = b · l.
        // SAFETY: the arguments match `embed(const unsigned* ids, const float* word, const
        // float* pos, const float* type0, const float* lnw, const float* lnb, float* x, int L,
        // int h, int pos_offset, float eps)`. One block per token row < t reads ids[row] (t
        // ids), word row ids[row] (< vocab, checked in `forward`; padding is id 0), position
        // row pos_offset + (row mod l) (< positions: l is the longest window, checked in
        // `forward`) and h floats of type0, lnw, lnb, and writes row `row` of x.
        unsafe {
            launch(
                s.launch_builder(&self.k.embed)
                    .arg(&ids_d)
                    .arg(&self.word)
                    .arg(&self.position)
                    .arg(&self.token_type)
                    .arg(&self.emb_ln.0)
                    .arg(&self.emb_ln.1)
                    .arg(&mut x)
                    .arg(&li)
                    .arg(&hi)
                    .arg(&self.position_offset)
                    .arg(&self.eps)
                    .launch(rows_cfg(t)),
            )?;
        }
        let scale = 1.0 / (d as f32).sqrt();
        let n_th = t * h;
        let n_ff = t * ff;
        for layer in &self.layers {
            self.linear(&layer.qkv, &x, &mut qkv, t)?;
            // SAFETY: the arguments match `split_heads(const float* qkv, const float* bias,
            // float* q, float* k, float* v, int L, int heads, int d, size_t n)` (n_th is a
            // usize: size_t). Thread i < n = t · h (the rest return) reads element i mod h of
            // the three thirds of qkv row i / h (< t) and of the 3h biases, and writes its
            // head_index, a permutation of 0..t · h, into q, kk and v.
            unsafe {
                launch(
                    s.launch_builder(&self.k.split_heads)
                        .arg(&qkv)
                        .arg(&layer.qkv.b)
                        .arg(&mut q)
                        .arg(&mut kk)
                        .arg(&mut v)
                        .arg(&li)
                        .arg(&headsi)
                        .arg(&di)
                        .arg(&n_th)
                        .launch(flat(n_th)),
                )?;
            }
            // scores[bh] (row-major L×L) = q kᵀ · scale: column-major Sᶜ = kᶜᵀ · qᶜ.
            let sc = StridedBatchedConfig {
                gemm: GemmConfig {
                    transa: blas_sys::cublasOperation_t::CUBLAS_OP_T,
                    transb: blas_sys::cublasOperation_t::CUBLAS_OP_N,
                    m: li,
                    n: li,
                    k: di,
                    alpha: scale,
                    lda: di,
                    ldb: di,
                    beta: 0.0f32,
                    ldc: li,
                },
                batch_size: (b * heads) as i32,
                stride_a: (l * d) as i64,
                stride_b: (l * d) as i64,
                stride_c: (l * l) as i64,
            };
            // SAFETY: b · heads products, each reading an l × d slice of kk and of q (strides
            // l · d, lda = ldb = d) and writing an l × l slice of scores (stride l · l, ldc l):
            // b · heads · l · d = t · h floats of kk and q, b · heads · l² of scores, their
            // sizes; scores is a unique borrow, distinct from kk and q.
            unsafe { self.blas.gemm_strided_batched(sc, &kk, &q, &mut scores) }
                .map_err(|x| err("gemm", x))?;
            // SAFETY: the arguments match `softmax_rows(float* s, const int* lens, int L, int
            // heads)`. One block per score row < b · heads · l reads lens[row / (heads · l)]
            // (< b entries) and rewrites the l floats of its row; the block size (a multiple
            // of 32, at most 256) fits the 32-entry shared reduction.
            unsafe {
                launch(
                    s.launch_builder(&self.k.softmax_rows)
                        .arg(&mut scores)
                        .arg(&lens_d)
                        .arg(&li)
                        .arg(&headsi)
                        .launch(LaunchConfig {
                            grid_dim: ((b * heads * l) as u32, 1, 1),
                            block_dim: (l.next_multiple_of(32).clamp(32, 256) as u32, 1, 1),
                            shared_mem_bytes: 0,
                        }),
                )?;
            }
            // ctx[bh] (row-major L×d) = p v: column-major ctxᶜ = vᶜ · pᶜ.
            let cc = StridedBatchedConfig {
                gemm: GemmConfig {
                    transa: blas_sys::cublasOperation_t::CUBLAS_OP_N,
                    transb: blas_sys::cublasOperation_t::CUBLAS_OP_N,
                    m: di,
                    n: li,
                    k: li,
                    alpha: 1.0f32,
                    lda: di,
                    ldb: li,
                    beta: 0.0f32,
                    ldc: di,
                },
                batch_size: (b * heads) as i32,
                stride_a: (l * d) as i64,
                stride_b: (l * l) as i64,
                stride_c: (l * d) as i64,
            };
            // SAFETY: b · heads products, each reading an l × d slice of v (stride l · d, lda
            // d) and an l × l slice of scores (stride l · l, ldb l) and writing an l × d slice
            // of q (stride l · d, ldc d): within the t · h floats of v and q and the
            // b · heads · l² of scores; q is a unique borrow, distinct from v and scores.
            unsafe { self.blas.gemm_strided_batched(cc, &v, &scores, &mut q) }
                .map_err(|x| err("gemm", x))?;
            // SAFETY: the arguments match `merge_heads(const float* ctx, float* out, int L, int
            // heads, int d, size_t n)`. Thread i < n = t · h writes ctx[i] (of t · h) from
            // q[head_index(..)], a permutation of 0..t · h.
            unsafe {
                launch(
                    s.launch_builder(&self.k.merge_heads)
                        .arg(&q)
                        .arg(&mut ctx)
                        .arg(&li)
                        .arg(&headsi)
                        .arg(&di)
                        .arg(&n_th)
                        .launch(flat(n_th)),
                )?;
            }
            self.linear(&layer.attn_out, &ctx, &mut tmp, t)?;
            self.residual_ln(&mut x, &mut tmp, &layer.attn_out.b, &layer.attn_ln, t)?;
            self.linear(&layer.ffn_in, &x, &mut mid, t)?;
            // SAFETY: the arguments match `bias_act(float* y, const float* bias, size_t n, int
            // f, int act)`. Thread i < n = t · ff rewrites mid[i] (of t · ff) and reads
            // bias[i mod ff] (ff values).
            unsafe {
                launch(
                    s.launch_builder(&self.k.bias_act)
                        .arg(&mut mid)
                        .arg(&layer.ffn_in.b)
                        .arg(&n_ff)
                        .arg(&ffi)
                        .arg(&self.activation)
                        .launch(flat(n_ff)),
                )?;
            }
            self.linear(&layer.ffn_out, &mid, &mut tmp, t)?;
            self.residual_ln(&mut x, &mut tmp, &layer.ffn_out.b, &layer.out_ln, t)?;
        }
        let mut pooled = alloc(b * h)?;
        let mean = i32::from(pooling == Pooling::Mean);
        // SAFETY: the arguments match `pool(const float* x, const int* lens, float* out, int L,
        // int h, int mean)`. Block b' < b reads lens[b'] (≤ l, a window's length) and its
        // window's rows b' · l + t, t < lens[b'] (< t rows of x), and writes row b' of
        // pooled [b, h].
        unsafe {
            launch(
                s.launch_builder(&self.k.pool)
                    .arg(&x)
                    .arg(&lens_d)
                    .arg(&mut pooled)
                    .arg(&li)
                    .arg(&hi)
                    .arg(&mean)
                    .launch(LaunchConfig {
                        grid_dim: (b as u32, 1, 1),
                        block_dim: (h.next_multiple_of(32).min(1024) as u32, 1, 1),
                        shared_mem_bytes: 0,
                    }),
            )?;
        }
        s.clone_dtoh(&pooled).map_err(e("download"))
    }
}
