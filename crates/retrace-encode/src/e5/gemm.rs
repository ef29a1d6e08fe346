//! Matrix products for the encoder's linear layers: `y = x Wᵀ + b` with `W` pre-packed once
//! at load time into 32-column panels and an AVX-512 register-blocked kernel (8 rows × 32
//! columns), chosen at run time when the CPU has AVX-512; otherwise (and for the attention
//! products) the crate's one `matrixmultiply` entry point, [`crate::gemm`].

/// Rows of the output computed per kernel call.
const MR: usize = 8;
/// Output columns per packed panel.
const NR: usize = 32;
/// Rows per outer block: the block of `x` stays in L2 while every panel passes over it.
const MC: usize = 128;

/// A weight matrix `[nout, nin]` (row-major) with its bias, packed for the fast kernel when
/// the CPU supports it.
pub struct PackedWeights {
    /// `nout.div_ceil(NR)` panels, each `nin × NR` (panel `p`, row `k`, column `j` holds
    /// `W[p·NR + j][k]`, zero past `nout`).
    panels: Vec<f32>,
    /// Bias padded to a whole number of panels.
    bias: Vec<f32>,
    nin: usize,
    nout: usize,
}

/// Whether the packed AVX-512 path is available on this CPU.
pub fn fast_path_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

impl PackedWeights {
    /// Pack `w` (`[nout, nin]`) and `b` (`[nout]`).
    pub fn new(w: &[f32], b: &[f32], nin: usize, nout: usize) -> Self {
        assert_eq!(w.len(), nout * nin, "weight size");
        assert_eq!(b.len(), nout, "bias size");
        let np = nout.div_ceil(NR);
        let mut panels = vec![0f32; np * nin * NR];
        for (o, row) in w.chunks_exact(nin).enumerate() {
            let (p, j) = (o / NR, o % NR);
            let panel = &mut panels[p * nin * NR..(p + 1) * nin * NR];
            for (k, &v) in row.iter().enumerate() {
                panel[k * NR + j] = v;
            }
        }
        let mut bias = b.to_vec();
        bias.resize(np * NR, 0.0);
        PackedWeights {
            panels,
            bias,
            nin,
            nout,
        }
    }

    /// `y[t, :] = x[t, :] Wᵀ + b` for `rows` rows (`x` is `[rows, nin]`, `y` `[rows, nout]`).
    /// Only call when [`fast_path_available`] is true.
    pub fn forward(&self, x: &[f32], y: &mut [f32], rows: usize) {
        let (nin, nout) = (self.nin, self.nout);
        assert!(
            x.len() >= rows * nin && y.len() >= rows * nout,
            "buffer sizes"
        );
        assert!(fast_path_available(), "packed weights need AVX-512");
        let np = nout.div_ceil(NR);
        let mut pad_a = Vec::new();
        let mut pad_c = [0f32; MR * NR];
        for r0 in (0..rows).step_by(MC) {
            let r1 = (r0 + MC).min(rows);
            for p in 0..np {
                let panel = &self.panels[p * nin * NR..(p + 1) * nin * NR];
                let bias = &self.bias[p * NR..(p + 1) * NR];
                let cols = (nout - p * NR).min(NR);
                let mut r = r0;
                while r < r1 {
                    let mr = (r1 - r).min(MR);
                    if mr == MR && cols == NR {
                        // SAFETY: `kernel`'s contract: the CPU has AVX-512F (asserted above);
                        // rows r..r + MR ≤ rows of x (nin floats, stride nin) lie in x and the
                        // columns p·NR..p·NR + NR ≤ nout (cols == NR) of those rows of y
                        // (stride nout) in y, by the size assertion above; the panel holds
                        // nin × NR floats and the bias NR.
                        unsafe {
                            kernel(
                                nin,
                                x[r * nin..].as_ptr(),
                                nin,
                                panel.as_ptr(),
                                bias.as_ptr(),
                                y[r * nout + p * NR..].as_mut_ptr(),
                                nout,
                            );
                        }
                    } else {
                        // Edge block: run the kernel on zero-padded copies.
                        pad_a.clear();
                        pad_a.extend_from_slice(&x[r * nin..(r + mr) * nin]);
                        pad_a.resize(MR * nin, 0.0);
                        // SAFETY: `kernel`'s contract: AVX-512F as above; pad_a holds MR rows
                        // of nin floats (stride nin), pad_c MR rows of NR (stride NR), the
                        // panel nin × NR floats and the bias NR.
                        unsafe {
                            kernel(
                                nin,
                                pad_a.as_ptr(),
                                nin,
                                panel.as_ptr(),
                                bias.as_ptr(),
                                pad_c.as_mut_ptr(),
                                NR,
                            );
                        }
                        for i in 0..mr {
                            y[(r + i) * nout + p * NR..][..cols]
                                .copy_from_slice(&pad_c[i * NR..i * NR + cols]);
                        }
                    }
                    r += MR;
                }
            }
        }
    }
}

/// `c[r][0..32] = bias + Σ_k a[r][k] · panel[k][0..32]` for `r < 8`.
///
/// # Safety
/// The CPU must support AVX-512F; `a` must address 8 rows of `k` floats at stride `lda`,
/// `panel` `k × 32` floats, `bias` 32 floats, `c` 8 rows of 32 floats at stride `ldc`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn kernel(
    k: usize,
    a: *const f32,
    lda: usize,
    panel: *const f32,
    bias: *const f32,
    c: *mut f32,
    ldc: usize,
) {
    use std::arch::x86_64::*;
    // SAFETY: `bias` holds 32 floats (contract): two unaligned 16-lane loads.
    let (b0, b1) = unsafe { (_mm512_loadu_ps(bias), _mm512_loadu_ps(bias.add(16))) };
    let mut lo = [b0; MR];
    let mut hi = [b1; MR];
    // SAFETY: for r < MR = 8, a + r·lda is the start of row r of `a`, which addresses 8 rows
    // of k floats, lda apart (contract), so the offset stays inside its allocation.
    let rows: [*const f32; MR] = std::array::from_fn(|r| unsafe { a.add(r * lda) });
    for kk in 0..k {
        // SAFETY: kk < k, and `panel` holds k rows of NR = 32 floats (contract): the two
        // unaligned loads at kk·NR and kk·NR + 16 lie inside it.
        let (w0, w1) = unsafe {
            (
                _mm512_loadu_ps(panel.add(kk * NR)),
                _mm512_loadu_ps(panel.add(kk * NR + 16)),
            )
        };
        for r in 0..MR {
            // SAFETY: r < MR = 8 and kk < k: rows[r] + kk is element kk of row r of `a`, which
            // addresses 8 rows of k floats, lda apart (contract).
            let av = _mm512_set1_ps(unsafe { *rows[r].add(kk) });
            lo[r] = _mm512_fmadd_ps(av, w0, lo[r]);
            hi[r] = _mm512_fmadd_ps(av, w1, hi[r]);
        }
    }
    for r in 0..MR {
        // SAFETY: row r < 8 of `c` holds 32 floats from r·ldc, valid for writes (contract):
        // two unaligned 16-lane stores.
        unsafe {
            _mm512_storeu_ps(c.add(r * ldc), lo[r]);
            _mm512_storeu_ps(c.add(r * ldc + 16), hi[r]);
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn kernel(
    _k: usize,
    _a: *const f32,
    _lda: usize,
    _panel: *const f32,
    _bias: *const f32,
    _c: *mut f32,
    _ldc: usize,
) {
    unreachable!("the packed path is only selected on x86-64 with AVX-512")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[f32], w: &[f32], b: &[f32], rows: usize, nin: usize, nout: usize) -> Vec<f32> {
        let mut y = vec![0f32; rows * nout];
        for t in 0..rows {
            for o in 0..nout {
                y[t * nout + o] = b[o]
                    + (0..nin)
                        .map(|k| x[t * nin + k] * w[o * nin + k])
                        .sum::<f32>();
            }
        }
        y
    }

    #[test]
    fn packed_matches_naive_including_edges() {
        if !fast_path_available() {
            eprintln!("NOTICE: no AVX-512 on this CPU; packed kernel not exercised");
            return;
        }
        for (rows, nin, nout) in [
            (1, 8, 32),
            (13, 40, 70),
            (8, 32, 64),
            (150, 64, 96),
            (3, 5, 7),
        ] {
            let x: Vec<f32> = (0..rows * nin).map(|i| (i as f32 * 0.37).sin()).collect();
            let w: Vec<f32> = (0..nout * nin).map(|i| (i as f32 * 0.11).cos()).collect();
            let b: Vec<f32> = (0..nout).map(|i| i as f32 * 0.01).collect();
            let p = PackedWeights::new(&w, &b, nin, nout);
            let mut y = vec![f32::NAN; rows * nout];
            p.forward(&x, &mut y, rows);
            let e = naive(&x, &w, &b, rows, nin, nout);
            for (a, b) in y.iter().zip(&e) {
                assert!((a - b).abs() < 1e-3, "{rows}x{nin}x{nout}: {a} vs {b}");
            }
        }
    }
}
