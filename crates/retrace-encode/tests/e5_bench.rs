//! Throughput probe for `bench/e5.sh` (ignored in normal test runs): encodes the sentences of
//! the file named by `RETRACE_BENCH_SENTENCES` (one per line) with the installed e5-small in
//! batches of `RETRACE_BENCH_BATCH` (default 256) and prints sentences per second; with
//! `RETRACE_BENCH_OUT` set, writes the vectors there as little-endian f32.

use std::io::Write;
use std::time::Instant;

use retrace_encode::e5::{default_model_path, E5Encoder};
use retrace_encode::Encoder;

#[test]
#[ignore = "benchmark; run through bench/e5.sh"]
fn e5_bench_throughput() {
    let Some(input) = std::env::var_os("RETRACE_BENCH_SENTENCES") else {
        eprintln!("NOTICE: RETRACE_BENCH_SENTENCES not set; nothing to measure");
        return;
    };
    let batch: usize = std::env::var("RETRACE_BENCH_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(256)
        .max(1);
    let text = std::fs::read_to_string(&input).expect("sentence file readable");
    let lines: Vec<&str> = text.lines().collect();
    let t0 = Instant::now();
    let enc =
        E5Encoder::open(&default_model_path(), &Default::default()).expect("e5-small installed");
    let load = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let mut data = Vec::with_capacity(lines.len() * enc.dim());
    for chunk in lines.chunks(batch) {
        data.extend(enc.encode(chunk).expect("encode").data);
    }
    let secs = t1.elapsed().as_secs_f64();
    println!(
        "sentences={} load_s={load:.3} encode_s={secs:.3} sentences_per_s={:.1}",
        lines.len(),
        lines.len() as f64 / secs
    );
    if let Some(out) = std::env::var_os("RETRACE_BENCH_OUT") {
        let mut f = std::io::BufWriter::new(std::fs::File::create(out).expect("output file"));
        for v in &data {
            f.write_all(&v.to_le_bytes()).expect("write vectors");
        }
    }
}
