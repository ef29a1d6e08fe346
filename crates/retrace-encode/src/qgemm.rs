//! 8-bit integer matrix multiplication for the USE-m3 encoder's int8 path:
//! `C[m×n] = ((A_u8 − zp) · B_i8) × row_scale × col_scale` (zero point and scale per row), with A's rows read at any stride
//! (rows may overlap: the encoder's n-gram windows) and B quantised once at load.
//!
//! Invariants that make every kernel exact and identical:
//! - A holds 7-bit codes (`0..=127`; the USE-m3 embedding table's codes are 6-bit, activations
//!   are quantised to 7 bits) and B 8-bit weights (`|q| ≤ 127`, per column): a pair of
//!   products `a0·b0 + a1·b1` stays within ±32,258, so AVX-512BW's saturating `vpmaddubsw`
//!   never saturates and agrees with VNNI's `vpdpbusd` and with the portable loop bit for bit;
//! - sums are exact in i32 (k ≤ 8,400 keeps `k · 127 · 127` below 2³¹);
//! - the f32 epilogue is the same expression in every kernel, so a machine with VNNI, one with
//!   only AVX-512BW and one with neither give identical outputs.
//!
//! Kernels: `vpdpbusd` (AVX-512 VNNI) where present, `vpmaddubsw` + `vpmaddwd` (AVX-512BW)
//! otherwise, a portable loop elsewhere (exact, slow). Blocks of [`MR`] rows × [`NR`] columns
//! keep 2·MR accumulators in registers; B is packed so that one k-step of a block is two
//! contiguous 64-byte loads.

/// Columns per packed block (two 512-bit vectors of i32 lanes).
pub const NR: usize = 32;
/// Rows per register block.
pub const MR: usize = 8;
/// Largest quantised weight magnitude (7 bits, see the module invariants).
pub const QMAX_B: f32 = 127.0;
/// Largest activation code (7 bits, see the module invariants).
pub const QMAX_A: u8 = 127;

/// The kernel family picked for this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// AVX-512 VNNI `vpdpbusd`.
    Vnni,
    /// AVX-512BW `vpmaddubsw` + `vpmaddwd`.
    Avx512Bw,
    /// Plain loops (exact; for CPUs without AVX-512BW and for tests).
    Portable,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
            {
                if std::arch::is_x86_feature_detected!("avx512vnni") {
                    return Kernel::Vnni;
                }
                return Kernel::Avx512Bw;
            }
        }
        Kernel::Portable
    }

    /// Every kernel, fastest first.
    pub const ALL: [Kernel; 3] = [Kernel::Vnni, Kernel::Avx512Bw, Kernel::Portable];

    /// Whether this CPU runs this kernel.
    pub fn runs_here(self) -> bool {
        let best = Kernel::detect();
        match self {
            Kernel::Vnni => best == Kernel::Vnni,
            Kernel::Avx512Bw => best.is_fast(),
            Kernel::Portable => true,
        }
    }

    /// The kernels this CPU runs, fastest first.
    pub fn supported() -> Vec<Kernel> {
        Kernel::ALL.into_iter().filter(|k| k.runs_here()).collect()
    }

    /// The kernel called `name` ([`Kernel::name`]: `avx512-vnni`, `avx512bw`, `portable`) if
    /// this CPU runs it; otherwise an error that lists the ones it runs (`"x" is not a
    /// kernel this CPU runs (it runs: avx512bw, portable)`: tools read that list).
    pub fn by_name(name: &str) -> Result<Kernel, String> {
        let supported = Kernel::supported();
        supported
            .iter()
            .copied()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = supported.iter().map(|k| k.name()).collect();
                format!(
                    "{name:?} is not a kernel this CPU runs (it runs: {})",
                    names.join(", ")
                )
            })
    }

    /// Whether this kernel is faster than the f32 path (a SIMD kernel).
    pub fn is_fast(self) -> bool {
        self != Kernel::Portable
    }

    /// Short name for logs and benchmarks.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Vnni => "avx512-vnni",
            Kernel::Avx512Bw => "avx512bw",
            Kernel::Portable => "portable",
        }
    }
}

/// A `k × n` f32 matrix quantised per column to 7-bit integers, packed for the kernels.
#[derive(Debug, Clone)]
pub struct QuantMatrix {
    k: usize,
    n: usize,
    /// `[n / NR][k / 4][NR][4]`: block, k-step, column, 4 consecutive k.
    packed: Vec<i8>,
    /// Per column: f32 value of one quantum.
    scale: Vec<f32>,
    /// Per column: sum of the quantised weights (for the zero point of A).
    colsum: Vec<i32>,
}

impl QuantMatrix {
    /// Quantises row-major `w` (`k × n`); `k` must be a multiple of 4 and `n` of [`NR`].
    pub fn quantize(w: &[f32], k: usize, n: usize) -> QuantMatrix {
        assert_eq!(w.len(), k * n, "quantize: shape");
        assert!(
            k.is_multiple_of(4) && n.is_multiple_of(NR),
            "quantize: k % 4 and n % {NR} must be 0"
        );
        assert!(k <= 8400, "quantize: k too large for exact i32 sums");
        let mut scale = vec![0f32; n];
        for row in w.chunks_exact(n) {
            for (s, &v) in scale.iter_mut().zip(row) {
                *s = s.max(v.abs());
            }
        }
        for s in &mut scale {
            *s = if *s > 0.0 { *s / QMAX_B } else { 1.0 };
        }
        let mut colsum = vec![0i32; n];
        let mut packed = vec![0i8; k * n];
        for kk in 0..k {
            for c in 0..n {
                let q = (w[kk * n + c] / scale[c]).round().clamp(-QMAX_B, QMAX_B) as i8;
                colsum[c] += q as i32;
                let (blk, col) = (c / NR, c % NR);
                let at = blk * (k * NR) + (kk / 4) * (NR * 4) + col * 4 + kk % 4;
                packed[at] = q;
            }
        }
        QuantMatrix {
            k,
            n,
            packed,
            scale,
            colsum,
        }
    }

    /// Rows (the inner dimension).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The quantised weight at (`row`, `col`) and the f32 value of one quantum of `col`.
    pub fn get(&self, row: usize, col: usize) -> (i8, f32) {
        let (blk, c) = (col / NR, col % NR);
        let at = blk * (self.k * NR) + (row / 4) * (NR * 4) + c * 4 + row % 4;
        (self.packed[at], self.scale[col])
    }
}

/// The left operand of [`qgemm`]: `m` rows of 7-bit codes, row `i` at `codes[i·stride ..]`
/// (rows may overlap), each with its zero point and scale.
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    pub m: usize,
    pub codes: &'a [u8],
    pub stride: usize,
    pub zp: &'a [u8],
    pub scale: &'a [f32],
}

/// `C[i][j] (+)= (Σ_k A[i][k]·B[k][j] − zp[i]·colsum[j]) · scale[i] · col_scale[j]` for the
/// rows `a` (see [`Rows`]); C is row-major with row stride `rsc`; with `accumulate` the
/// product is added to C.
///
/// Panics when a slice is too small for the shapes.
pub fn qgemm(
    kernel: Kernel,
    a: Rows,
    b: &QuantMatrix,
    c: &mut [f32],
    rsc: usize,
    accumulate: bool,
) {
    let m = a.m;
    if m == 0 {
        return;
    }
    let (k, n) = (b.k, b.n);
    assert!(
        a.codes.len() >= (m - 1) * a.stride + k,
        "qgemm: A too small"
    );
    assert!(a.scale.len() >= m, "qgemm: row scales too small");
    assert!(a.zp.len() >= m, "qgemm: zero points too small");
    assert!(c.len() >= (m - 1) * rsc + n, "qgemm: C too small");
    #[cfg(target_arch = "x86_64")]
    {
        if kernel != Kernel::Portable {
            assert!(
                kernel.runs_here(),
                "qgemm: kernel {} not supported here",
                kernel.name()
            );
            // SAFETY: `kernel` is a SIMD kernel (not Portable) this CPU runs (asserted
            // above), and the asserts above are the shape checks x86::qgemm requires: A
            // holds m rows of k codes and m scales and zero points, C m rows of n floats.
            unsafe { x86::qgemm(kernel, a, b, c, rsc, accumulate) };
            return;
        }
    }
    portable(a, b, c, rsc, accumulate);
}

/// The scale and zero point that map `[min(lo, 0), max(hi, 0)]` onto `0..=QMAX_A` (0.0 is
/// exactly representable); `(1, 64)` for a zero row.
fn scale_and_zero(lo: f32, hi: f32) -> (f32, u8) {
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    if hi - lo > 0.0 {
        let top = QMAX_A as f32;
        let scale = (hi - lo) / top;
        (scale, (-lo / scale).round_ties_even().clamp(0.0, top) as u8)
    } else {
        (1.0, ZERO_ROW)
    }
}

/// Code and zero point of a row of zeros (any code works: it equals the zero point).
pub const ZERO_ROW: u8 = 64;

/// Quantises `x` to `out` with a scale and zero point of its own (returned): `out =
/// clamp(round_half_even(x / scale) + zp, 0, QMAX_A)` with the range of the row mapped onto
/// all 128 codes. Every kernel gives the same bytes.
pub fn quantize_row(kernel: Kernel, x: &[f32], out: &mut [u8]) -> (f32, u8) {
    assert_eq!(x.len(), out.len(), "quantize_row: lengths");
    #[cfg(target_arch = "x86_64")]
    {
        if kernel.is_fast() && x.len().is_multiple_of(16) && Kernel::detect().is_fast() {
            // SAFETY: x86::quantize_row needs AVX-512F and BW, which `Kernel::detect().is_fast()`
            // (just checked) means this CPU has; it checks the lengths itself.
            return unsafe { x86::quantize_row(x, out) };
        }
    }
    let _ = kernel;
    let lo = x.iter().fold(0f32, |m, &v| m.min(v));
    let hi = x.iter().fold(0f32, |m, &v| m.max(v));
    let (scale, zp) = scale_and_zero(lo, hi);
    let inv = 1.0 / scale;
    for (d, &v) in out.iter_mut().zip(x) {
        *d = ((v * inv).round_ties_even() as i32 + zp as i32).clamp(0, QMAX_A as i32) as u8;
    }
    (scale, zp)
}

/// The f32 value of an exact integer sum, added to `prev`: shared by every kernel so results
/// are identical.
#[inline(always)]
fn epilogue(acc: i32, zp_sum: i32, rs: f32, cs: f32, prev: f32) -> f32 {
    prev + (acc - zp_sum) as f32 * (rs * cs)
}

fn portable(a: Rows, b: &QuantMatrix, c: &mut [f32], rsc: usize, accumulate: bool) {
    let (k, n) = (b.k, b.n);
    let mut acc = vec![0i32; n];
    for i in 0..a.m {
        acc.fill(0);
        let row = &a.codes[i * a.stride..i * a.stride + k];
        for blk in 0..n / NR {
            let bb = &b.packed[blk * k * NR..(blk + 1) * k * NR];
            for (ks, step) in bb.chunks_exact(NR * 4).enumerate() {
                let av = &row[ks * 4..ks * 4 + 4];
                for (col, w) in step.chunks_exact(4).enumerate() {
                    let mut s = 0i32;
                    for (&x, &y) in av.iter().zip(w) {
                        s += x as i32 * y as i32;
                    }
                    acc[blk * NR + col] += s;
                }
            }
        }
        let out = &mut c[i * rsc..i * rsc + n];
        for j in 0..n {
            out[j] = epilogue(
                acc[j],
                a.zp[i] as i32 * b.colsum[j],
                a.scale[i],
                b.scale[j],
                if accumulate { out[j] } else { 0.0 },
            );
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Kernel, QuantMatrix, Rows};

    /// The kernels for one instruction set: `step` is the k-step product (`vpdpbusd`, or
    /// `vpmaddubsw` + `vpmaddwd`); every function carries the target features so the
    /// intrinsics inline.
    macro_rules! kernels {
        ($name:ident, $feat:literal, |$acc:ident, $av:ident, $bv:ident| $step:block) => {
            mod $name {
                use super::super::{QuantMatrix, Rows, MR, NR};
                use std::arch::x86_64::*;

                /// One k-step product of the broadcast A dword `av` with the B vector `bv`, added to `acc`.
                #[inline]
                #[target_feature(enable = $feat)]
                fn step($acc: __m512i, $av: __m512i, $bv: __m512i) -> __m512i $step

                /// R rows × NR columns of C.
                ///
                /// # Safety
                /// The CPU has the target features. `a` addresses R rows of `4 · ksteps`
                /// bytes, `rsa` apart; `b` one packed block of `ksteps · NR · 4` bytes; `c` R
                /// rows of NR floats, `rsc` apart, valid for reads and writes; `colsum` and
                /// `col_scale` hold at least NR values, `zp` and `row_scale` at least R.
                #[inline]
                #[target_feature(enable = $feat)]
                #[allow(clippy::too_many_arguments)]
                unsafe fn block<const R: usize>(
                    a: *const u8,
                    rsa: usize,
                    b: *const i8,
                    ksteps: usize,
                    colsum: &[i32],
                    zp: &[u8],
                    col_scale: &[f32],
                    row_scale: &[f32],
                    c: *mut f32,
                    rsc: usize,
                    accumulate: bool,
                ) {
                    debug_assert!(colsum.len() >= NR && col_scale.len() >= NR);
                    debug_assert!(zp.len() >= R && row_scale.len() >= R);
                    let mut acc0 = [_mm512_setzero_si512(); R];
                    let mut acc1 = [_mm512_setzero_si512(); R];
                    for ks in 0..ksteps {
                        // SAFETY: ks < ksteps, so the two unaligned 64-byte loads at ks·NR·4 and
                        // ks·NR·4 + 64 (NR·4 = 128 bytes a k-step) lie inside the block `b`
                        // addresses (contract).
                        let (b0, b1) = unsafe {
                            (
                                _mm512_loadu_si512(b.add(ks * NR * 4) as *const __m512i),
                                _mm512_loadu_si512(b.add(ks * NR * 4 + 64) as *const __m512i),
                            )
                        };
                        for r in 0..R {
                            // SAFETY: r < R and 4·ks + 4 ≤ 4·ksteps, so the unaligned dword
                            // read at r·rsa + 4·ks lies inside row r of `a` (contract).
                            let av = unsafe {
                                _mm512_set1_epi32(
                                    (a.add(r * rsa + ks * 4) as *const i32).read_unaligned(),
                                )
                            };
                            acc0[r] = step(acc0[r], av, b0);
                            acc1[r] = step(acc1[r], av, b1);
                        }
                    }
                    // SAFETY: colsum and col_scale hold at least NR = 32 values (contract), read
                    // as two unaligned 16-lane vectors.
                    let (sum0, sum1, cs0, cs1) = unsafe {
                        (
                            _mm512_loadu_si512(colsum.as_ptr() as *const __m512i),
                            _mm512_loadu_si512(colsum.as_ptr().add(16) as *const __m512i),
                            _mm512_loadu_ps(col_scale.as_ptr()),
                            _mm512_loadu_ps(col_scale.as_ptr().add(16)),
                        )
                    };
                    for r in 0..R {
                        let rs = _mm512_set1_ps(row_scale[r]);
                        let z = _mm512_set1_epi32(zp[r] as i32);
                        let (zp0, zp1) = (_mm512_mullo_epi32(z, sum0), _mm512_mullo_epi32(z, sum1));
                        // Same expression as `epilogue`: prev + (acc − zp_sum) as f32 × (rs × cs).
                        let (mut p0, mut p1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
                        if accumulate {
                            // SAFETY: row r < R of `c` holds NR = 32 floats from r·rsc, valid
                            // for reads (contract); unaligned loads.
                            unsafe {
                                p0 = _mm512_loadu_ps(c.add(r * rsc));
                                p1 = _mm512_loadu_ps(c.add(r * rsc + 16));
                            }
                        }
                        let v0 = _mm512_add_ps(
                            p0,
                            _mm512_mul_ps(
                                _mm512_cvtepi32_ps(_mm512_sub_epi32(acc0[r], zp0)),
                                _mm512_mul_ps(rs, cs0),
                            ),
                        );
                        let v1 = _mm512_add_ps(
                            p1,
                            _mm512_mul_ps(
                                _mm512_cvtepi32_ps(_mm512_sub_epi32(acc1[r], zp1)),
                                _mm512_mul_ps(rs, cs1),
                            ),
                        );
                        // SAFETY: as for the loads above, row r < R of `c` holds 32 floats
                        // from r·rsc, valid for writes; unaligned stores.
                        unsafe {
                            _mm512_storeu_ps(c.add(r * rsc), v0);
                            _mm512_storeu_ps(c.add(r * rsc + 16), v1);
                        }
                    }
                }

                /// [`super::super::qgemm`] with this kernel.
                ///
                /// # Safety
                /// The CPU has the target features, and the shapes passed the checks of
                /// [`super::super::qgemm`]: `a.codes` holds `(m − 1) · stride + k` codes,
                /// `a.scale` and `a.zp` at least m values, `c` at least `(m − 1) · rsc + n`
                /// floats.
                #[target_feature(enable = $feat)]
                pub(super) unsafe fn run(
                    a: Rows,
                    b: &QuantMatrix,
                    c: &mut [f32],
                    rsc: usize,
                    accumulate: bool,
                ) {
                    let (m, rsa) = (a.m, a.stride);
                    let (k, n) = (b.k, b.n);
                    let ksteps = k / 4;
                    let ap = a.codes.as_ptr();
                    let cp = c.as_mut_ptr();
                    for blk in 0..n / NR {
                        // A QuantMatrix packs its n / NR blocks of k · NR bytes one after the
                        // other (k is a multiple of 4, n of NR: `quantize` asserts both).
                        let bp = b.packed[blk * k * NR..(blk + 1) * k * NR].as_ptr();
                        let cols = blk * NR..(blk + 1) * NR;
                        let sums = &b.colsum[cols.clone()];
                        let cs = &b.scale[cols];
                        let mut i = 0;
                        while i < m {
                            let r = (m - i).min(MR);
                            let (rs, zs) = (&a.scale[i..], &a.zp[i..]);
                            // SAFETY: i < m, and (contract) A holds m rows of k codes, `rsa`
                            // apart, and C m rows of n ≥ (blk + 1) · NR floats, `rsc` apart:
                            // rows i..i + r of both lie inside them, so `ai` and `ci` stay in
                            // bounds, and `block` reads r rows of k = 4 · ksteps codes from
                            // `ai` and reads and writes r rows of NR floats from `ci`; `bp` is
                            // block blk of B (ksteps · NR · 4 bytes); `sums` and `cs` hold NR
                            // values, `rs` and `zs` m − i ≥ r; the CPU has the target
                            // features (contract). `c` is not otherwise used meanwhile.
                            unsafe {
                                let (ai, ci) = (ap.add(i * rsa), cp.add(i * rsc + blk * NR));
                                macro_rules! go {
                                    ($r:literal) => {
                                        block::<$r>(
                                            ai, rsa, bp, ksteps, sums, zs, cs, rs, ci, rsc,
                                            accumulate,
                                        )
                                    };
                                }
                                match r {
                                    8 => go!(8),
                                    7 => go!(7),
                                    6 => go!(6),
                                    5 => go!(5),
                                    4 => go!(4),
                                    3 => go!(3),
                                    2 => go!(2),
                                    _ => go!(1),
                                }
                            }
                            i += r;
                        }
                    }
                }
            }
        };
    }

    kernels!(vnni, "avx512f,avx512bw,avx512vnni", |acc, av, bv| {
        _mm512_dpbusd_epi32(acc, av, bv)
    });
    kernels!(bw, "avx512f,avx512bw", |acc, av, bv| {
        let pairs = _mm512_maddubs_epi16(av, bv);
        _mm512_add_epi32(acc, _mm512_madd_epi16(pairs, _mm512_set1_epi16(1)))
    });

    /// [`super::quantize_row`] with AVX-512 (`vcvtps2dq` rounds half to even, as the portable
    /// `round_ties_even`; min and max are exact in any order). Panics unless `x` and `out`
    /// have the same length, a multiple of 16.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) fn quantize_row(x: &[f32], out: &mut [u8]) -> (f32, u8) {
        use std::arch::x86_64::*;
        let n = x.len();
        assert!(
            out.len() == n && n.is_multiple_of(16),
            "quantize_row: lengths"
        );
        let p = x.as_ptr();
        let (mut lo, mut hi) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        for i in (0..n).step_by(16) {
            // SAFETY: i + 16 ≤ n = x.len() (n is a multiple of 16, asserted); unaligned load.
            let v = unsafe { _mm512_loadu_ps(p.add(i)) };
            lo = _mm512_min_ps(lo, v);
            hi = _mm512_max_ps(hi, v);
        }
        let (scale, zp) = super::scale_and_zero(_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi));
        let inv = _mm512_set1_ps(1.0 / scale);
        let z = _mm512_set1_epi32(zp as i32);
        let (zero, top) = (
            _mm512_setzero_si512(),
            _mm512_set1_epi32(super::QMAX_A as i32),
        );
        for i in (0..n).step_by(16) {
            // SAFETY: i + 16 ≤ n = x.len() = out.len() (asserted): the 16 floats read and the
            // 16 bytes written lie inside `x` and `out`; unaligned load and store.
            unsafe {
                let q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(p.add(i)), inv));
                let q = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, z), zero), top);
                _mm_storeu_si128(
                    out.as_mut_ptr().add(i) as *mut __m128i,
                    _mm512_cvtepi32_epi8(q),
                );
            }
        }
        (scale, zp)
    }

    /// Dispatch to the kernel's entry point.
    ///
    /// # Safety
    /// `kernel` is a SIMD kernel ([`Kernel::Vnni`] or [`Kernel::Avx512Bw`]) that this CPU
    /// runs, and the shapes passed the checks of [`super::qgemm`].
    pub(super) unsafe fn qgemm(
        kernel: Kernel,
        a: Rows,
        b: &QuantMatrix,
        c: &mut [f32],
        rsc: usize,
        accumulate: bool,
    ) {
        // SAFETY: the contract carries over: the CPU runs `kernel`, so it has AVX-512 VNNI for
        // `vnni::run`, or AVX-512F and BW for `bw::run` (which VNNI CPUs have too, see
        // `Kernel::runs_here`); the shapes passed qgemm's checks.
        unsafe {
            match kernel {
                Kernel::Vnni => vnni::run(a, b, c, rsc, accumulate),
                _ => bw::run(a, b, c, rsc, accumulate),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random numbers in [-1, 1).
    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    fn reference(
        m: usize,
        a: &[u8],
        rsa: usize,
        zp: &[u8],
        b: &QuantMatrix,
        rs: &[f32],
    ) -> Vec<f32> {
        let (k, n) = (b.k(), b.n());
        let mut out = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0i64;
                for kk in 0..k {
                    acc += (a[i * rsa + kk] as i64) * b.get(kk, j).0 as i64;
                }
                let zp_sum = zp[i] as i32 * (0..k).map(|kk| b.get(kk, j).0 as i32).sum::<i32>();
                out[i * n + j] = epilogue(acc as i32, zp_sum, rs[i], b.get(0, j).1, 0.0);
            }
        }
        out
    }

    #[test]
    fn kernels_are_found_by_name_among_those_this_cpu_runs() {
        assert_eq!(Kernel::by_name("portable"), Ok(Kernel::Portable));
        assert_eq!(
            Kernel::by_name(Kernel::detect().name()),
            Ok(Kernel::detect())
        );
        let supported = Kernel::supported();
        assert_eq!(supported.first(), Some(&Kernel::detect()));
        for k in Kernel::ALL {
            assert_eq!(Kernel::by_name(k.name()).is_ok(), supported.contains(&k));
        }
        let err = Kernel::by_name("list").expect_err("not a kernel");
        let names: Vec<&str> = supported.iter().map(|k| k.name()).collect();
        assert!(
            err.ends_with(&format!("(it runs: {})", names.join(", "))),
            "{err}"
        );
    }

    #[test]
    fn quantisation_keeps_seven_bits_and_reconstructs_weights() {
        let (k, n) = (64, 64);
        let w = noise(k * n, 1);
        let q = QuantMatrix::quantize(&w, k, n);
        for kk in 0..k {
            for j in 0..n {
                let (v, s) = q.get(kk, j);
                assert!(v.unsigned_abs() as f32 <= QMAX_B);
                assert!((v as f32 * s - w[kk * n + j]).abs() <= s * 0.5 + 1e-6);
            }
        }
    }

    #[test]
    fn every_kernel_matches_the_exact_reference_with_overlapping_rows() {
        // Overlapping rows (stride 16 < k) and ragged m, as the encoder's n-gram windows.
        let (k, n, rsa) = (48, 64, 16);
        for m in [1, 5, 8, 13, 17] {
            let w = noise(k * n, 2);
            let q = QuantMatrix::quantize(&w, k, n);
            let a: Vec<u8> = noise((m - 1) * rsa + k, 3)
                .iter()
                .map(|v| ((v + 1.0) * 63.9) as u8)
                .collect();
            // Extremes too: 127s against ±127 weights (the no-saturation invariant).
            let mut a = a;
            a[..8].fill(QMAX_A);
            let rs: Vec<f32> = (0..m).map(|i| 0.01 + i as f32 * 0.001).collect();
            let zp: Vec<u8> = (0..m).map(|i| 100 + 7 * i as u8).collect();
            let want = reference(m, &a, rsa, &zp, &q, &rs);
            let mut kernels = vec![Kernel::Portable];
            if Kernel::detect().is_fast() {
                kernels.push(Kernel::Avx512Bw);
            }
            if Kernel::detect() == Kernel::Vnni {
                kernels.push(Kernel::Vnni);
            }
            for kern in kernels {
                let mut c = vec![f32::NAN; m * n + 7];
                let rows = Rows {
                    m,
                    codes: &a,
                    stride: rsa,
                    zp: &zp,
                    scale: &rs,
                };
                qgemm(kern, rows, &q, &mut c, n, false);
                assert_eq!(&c[..m * n], &want[..], "kernel {} m {m}", kern.name());
                // Accumulating adds the same product to what C holds.
                qgemm(kern, rows, &q, &mut c, n, true);
                for (got, w) in c.iter().zip(&want) {
                    assert_eq!(*got, w + w, "kernel {} m {m} accumulate", kern.name());
                }
            }
        }
    }

    #[test]
    fn row_quantisation_is_the_same_in_every_kernel() {
        let mut x = noise(256, 6);
        x[17] = 3.0; // the maximum
        x[18] = -3.0;
        let mut want = vec![0u8; 256];
        let (s, zp) = quantize_row(Kernel::Portable, &x, &mut want);
        assert_eq!((s, zp), (6.0 / 127.0, 64)); // round(3 / (6 / 127)) = round(63.5) = 64
        assert_eq!((want[17], want[18]), (127, 0));
        let mut got = vec![0u8; 256];
        assert_eq!(quantize_row(Kernel::detect(), &x, &mut got), (s, zp));
        assert_eq!(got, want);
        // A one-signed row uses every code for its own range; 0.0 stays exact.
        let pos: Vec<f32> = (0..32).map(|i| i as f32 / 8.0).collect();
        let (s, zp) = quantize_row(Kernel::detect(), &pos, &mut got[..32]);
        assert_eq!((zp, got[0], got[31]), (0, 0, 127));
        assert!((s - 31.0 / 8.0 / 127.0).abs() < 1e-7);
        assert_eq!(
            quantize_row(Kernel::detect(), &[0.0; 16], &mut got[..16]),
            (1.0, ZERO_ROW)
        );
        assert!(got[..16].iter().all(|&b| b == ZERO_ROW));
    }

    #[test]
    fn the_integer_product_approximates_the_f32_product() {
        let (m, k, n) = (4, 256, 32);
        let w = noise(k * n, 4);
        let x = noise(m * k, 5);
        let q = QuantMatrix::quantize(&w, k, n);
        // A quantised per row around the zero point 64 (7 bits).
        let mut a = vec![0u8; m * k];
        let mut rs = vec![0f32; m];
        for i in 0..m {
            let row = &x[i * k..(i + 1) * k];
            let s = row.iter().fold(0f32, |s, v| s.max(v.abs())) / 63.0;
            rs[i] = s;
            for (d, &v) in a[i * k..(i + 1) * k].iter_mut().zip(row) {
                *d = ((v / s).round() + 64.0) as u8;
            }
        }
        let mut c = vec![0f32; m * n];
        let rows = Rows {
            m,
            codes: &a,
            stride: k,
            zp: &[64; 4],
            scale: &rs,
        };
        qgemm(Kernel::detect(), rows, &q, &mut c, n, false);
        for i in 0..m {
            for j in 0..n {
                let exact: f32 = (0..k).map(|kk| x[i * k + kk] * w[kk * n + j]).sum();
                assert!(
                    (c[i * n + j] - exact).abs() < 0.05 * (k as f32).sqrt() * 0.6,
                    "{i},{j}: {} vs {exact}",
                    c[i * n + j]
                );
            }
        }
    }
}
