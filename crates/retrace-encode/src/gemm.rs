//! f32 matrix products: the crate's one entry point to `matrixmultiply`.
//!
//! [`sgemm`] is the only function that calls `matrixmultiply::sgemm`: it checks that every
//! element the shapes and strides address lies inside its slice, then makes the call.
//! [`sgemm_rows`] (USE-m3: rows read at any stride, possibly overlapping) and [`sgemm_nt`]
//! (transformer layers: `B` stored transposed, as weights `[out, in]`) are shorthands for
//! it. The packed AVX-512 kernel of the transformers' linear layers is
//! [`crate::e5::gemm::PackedWeights`].

/// A strided view of a matrix: `(slice, row stride, column stride)`; element `(i, j)` is
/// `slice[i · row stride + j · column stride]`.
pub type View<'a> = (&'a [f32], isize, isize);
/// A strided view of the output matrix.
pub type ViewMut<'a> = (&'a mut [f32], isize, isize);

/// `c[m, n] = alpha · a[m, k] · b[k, n] + beta · c` on strided views (see [`View`]); with
/// `beta == 0` what `c` held is ignored (even NaN).
///
/// Panics when a stride is negative, an addressed element lies outside its slice or two
/// elements of `c` are the same (a zero stride, say).
#[allow(clippy::too_many_arguments)]
pub fn sgemm(m: usize, k: usize, n: usize, alpha: f32, a: View, b: View, beta: f32, c: ViewMut) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rows: usize, cols: usize, rs: isize, cs: isize| {
        (rows as isize - 1) * rs + (cols as isize - 1) * cs
    };
    assert!(
        a.1 >= 0 && a.2 >= 0 && b.1 >= 0 && b.2 >= 0 && c.1 >= 0 && c.2 >= 0,
        "sgemm: negative stride"
    );
    assert!(
        k == 0 || last(m, k, a.1, a.2) < a.0.len() as isize,
        "sgemm: A too small"
    );
    assert!(
        k == 0 || last(k, n, b.1, b.2) < b.0.len() as isize,
        "sgemm: B too small"
    );
    assert!(
        last(m, n, c.1, c.2) < c.0.len() as isize,
        "sgemm: C too small"
    );
    // C's elements must be distinct: its rows (or its columns) lie apart.
    let rows_apart = (n == 1 || c.2 > 0) && (m == 1 || c.1 > (n as isize - 1) * c.2);
    let cols_apart = (m == 1 || c.1 > 0) && (n == 1 || c.2 > (m as isize - 1) * c.1);
    assert!(rows_apart || cols_apart, "sgemm: C's elements overlap");
    // SAFETY: matrixmultiply reads a[i·rsa + p·csa] for i < m, p < k, b[p·rsb + j·csb] for
    // p < k, j < n (no element of either when k == 0), and writes c[i·rsc + j·csc] for
    // i < m, j < n. Strides are non-negative, so each view's offsets run from 0 to its `last`
    // one, asserted above to lie inside its slice. `c` is a unique borrow, so it aliases
    // neither `a` nor `b`, and its m × n elements are distinct (asserted above), as
    // matrixmultiply requires of C.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.0.as_ptr(),
            a.1,
            a.2,
            b.0.as_ptr(),
            b.1,
            b.2,
            beta,
            c.0.as_mut_ptr(),
            c.1,
            c.2,
        );
    }
}

/// `C[m×n] (+)= A[m×k] · B[k×n]`: A's rows start `rsa` floats apart (rows may overlap), B is
/// row-major `k × n`, C row-major with row stride `rsc`; with `accumulate` the product is
/// added to C, else C is overwritten.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_rows(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    rsa: usize,
    b: &[f32],
    c: &mut [f32],
    rsc: usize,
    accumulate: bool,
) {
    let beta = if accumulate { 1.0 } else { 0.0 };
    sgemm(
        m,
        k,
        n,
        1.0,
        (a, rsa as isize, 1),
        (b, n as isize, 1),
        beta,
        (c, rsc as isize, 1),
    );
}

/// `c[m, n] = a[m, k] · b[n, k]ᵀ + beta · c` with row-major `a`, `b`, `c` of the given
/// leading dimensions (`b` is a weight matrix stored `[out, in]`).
#[allow(clippy::too_many_arguments)]
pub fn sgemm_nt(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    beta: f32,
) {
    sgemm(
        m,
        k,
        n,
        1.0,
        (a, lda as isize, 1),
        (b, 1, ldb as isize),
        beta,
        (c, ldc as isize, 1),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, f: f32) -> Vec<f32> {
        (0..n).map(|i| (i as f32 * f).sin()).collect()
    }

    #[test]
    fn sgemm_nt_matches_naive() {
        let (m, k, n) = (5, 7, 3);
        let a = noise(m * k, 0.37);
        let b: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut c = vec![1f32; m * n];
        sgemm_nt(m, k, n, &a, k, &b, k, &mut c, n, 1.0);
        for i in 0..m {
            for j in 0..n {
                let e: f32 = 1.0 + (0..k).map(|x| a[i * k + x] * b[j * k + x]).sum::<f32>();
                assert!((c[i * n + j] - e).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn sgemm_rows_reads_overlapping_rows_and_accumulates() {
        // Windows of 3 rows of 4 floats over a padded matrix, as USE-m3's convolutions.
        let (m, k, n, rsa) = (6, 12, 5, 4);
        let a = noise((m - 1) * rsa + k, 0.29);
        let b = noise(k * n, 0.53);
        let naive = |i: usize, j: usize| (0..k).map(|p| a[i * rsa + p] * b[p * n + j]).sum::<f32>();
        let rsc = n + 2;
        let mut c = vec![f32::NAN; (m - 1) * rsc + n];
        sgemm_rows(m, k, n, &a, rsa, &b, &mut c, rsc, false);
        for i in 0..m {
            for j in 0..n {
                assert!((c[i * rsc + j] - naive(i, j)).abs() < 1e-5, "{i},{j}");
            }
        }
        sgemm_rows(m, k, n, &a, rsa, &b, &mut c, rsc, true);
        for i in 0..m {
            for j in 0..n {
                assert!((c[i * rsc + j] - 2.0 * naive(i, j)).abs() < 1e-5, "{i},{j}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "A too small")]
    fn out_of_bounds_views_are_refused() {
        let (a, b, mut c) = (vec![0f32; 11], vec![0f32; 12], vec![0f32; 9]);
        sgemm_rows(3, 4, 3, &a, 4, &b, &mut c, 3, false);
    }

    #[test]
    #[should_panic(expected = "C's elements overlap")]
    fn overlapping_outputs_are_refused() {
        let (a, b, mut c) = (vec![0f32; 8], vec![0f32; 8], vec![0f32; 4]);
        sgemm(2, 4, 2, 1.0, (&a, 4, 1), (&b, 2, 1), 0.0, (&mut c, 1, 1));
    }

    #[test]
    fn empty_products_touch_nothing() {
        let mut c = vec![7f32; 4];
        sgemm(
            0,
            3,
            4,
            1.0,
            (&[], 3, 1),
            (&[0.0; 12], 4, 1),
            0.0,
            (&mut c, 4, 1),
        );
        sgemm(
            1,
            3,
            0,
            1.0,
            (&[0.0; 3], 3, 1),
            (&[], 0, 1),
            0.0,
            (&mut c, 4, 1),
        );
        assert_eq!(c, [7.0; 4]);
    }
}
