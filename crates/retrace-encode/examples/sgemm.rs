//! Times a plain f32 matrix multiplication with the GEMM the encoder uses
//! (`retrace_encode::gemm::sgemm`, over matrixmultiply),
//! on 1..=N threads (rows split across rayon threads), for the benchmark's roofline.
//! Usage: `cargo run --release -p retrace-encode --example sgemm -- [SIZE] [MAX_THREADS]`.
//! Prints one line per thread count: `sgemm threads T size S gflops G`.

use rayon::prelude::*;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2048);
    let max_threads: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let a: Vec<f32> = (0..n * n)
        .map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.1)
        .collect();
    let b: Vec<f32> = (0..n * n)
        .map(|i| ((i * 5 % 11) as f32 - 5.0) * 0.1)
        .collect();
    let mut c = vec![0f32; n * n];
    for threads in 1..=max_threads {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        let rows = n.div_ceil(threads);
        let mut run = || {
            pool.install(|| {
                c.par_chunks_mut(rows * n).enumerate().for_each(|(i, c)| {
                    let m = c.len() / n;
                    retrace_encode::gemm::sgemm(
                        m,
                        n,
                        n,
                        1.0,
                        (&a[i * rows * n..], n as isize, 1),
                        (&b, n as isize, 1),
                        0.0,
                        (c, n as isize, 1),
                    )
                })
            })
        };
        run();
        let reps = 5;
        let t = Instant::now();
        for _ in 0..reps {
            run();
        }
        let s = t.elapsed().as_secs_f64() / reps as f64;
        println!(
            "sgemm threads {threads} size {n} gflops {:.1}",
            2.0 * (n as f64).powi(3) / s / 1e9
        );
    }
}
