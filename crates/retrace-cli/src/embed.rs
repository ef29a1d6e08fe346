//! `retrace embed [FILE|-]`: embed one sentence per input line and write JSON Lines.
//!
//! Output: one object per input line, in input order:
//! `{"text": "<the line>", "vector": [f32, ...]}` with an L2-normalised vector of the
//! encoder's dimension (512 for `use-m3`). Empty lines are embedded too, so output line `i`
//! always belongs to input line `i`.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::load_encoder;
use anyhow::{Context, Result};
use clap::Args;

/// Embed sentences (one per line) from a file or stdin; JSONL on stdout.
#[derive(Args)]
pub struct EmbedArgs {
    /// Input file, one sentence per line; `-` or nothing reads stdin.
    input: Option<PathBuf>,
    /// Sentence encoder: a model name (e.g. `use-m3`, `e5-small`) or a directory holding
    /// the model files (as `scan --encoder`; `--model` is the older name).
    #[arg(
        long = "encoder",
        visible_alias = "model",
        value_name = "ENCODER",
        default_value = retrace_encode::models::DEFAULT_MODEL
    )]
    model: String,
    /// Model cache directory (see `retrace model install`).
    #[arg(long, value_name = "DIR")]
    model_dir: Option<PathBuf>,
    /// Where transformer encoders (e5-small, Hugging Face models) run: cpu, cuda or cuda:N
    /// (builds with the `cuda` feature).
    #[arg(long, default_value = "cpu", value_parser = crate::parse_device)]
    device: retrace_encode::Device,
    /// Arithmetic of the use-m3 and e5-small encoders on the CPU: f32, int8 (8-bit integer
    /// products: use-m3 2-3x faster with AVX-512, cosine >= 0.998 to f32, docs/encoders.md;
    /// e5-small ~2.3x faster, cosine >= 0.997 to f32, docs/e5.md), or auto (use-m3 in int8
    /// where the CPU has AVX-512BW, else f32; e5-small in f32). The GPU computes in f32.
    #[arg(long, default_value = "auto", value_name = "auto|f32|int8")]
    precision: retrace_encode::use_m3::Precision,
    /// int8 kernel of the use-m3 and e5-small encoders, for benchmarks and tests:
    /// avx512-vnni, avx512bw or portable (default: the fastest this CPU runs).
    #[arg(long, value_name = "NAME", env = "RETRACE_INT8_KERNEL")]
    int8_kernel: Option<String>,
    /// Sentences per encoder call.
    #[arg(long, default_value_t = 8192)]
    batch: usize,
    /// Print throughput (sentences/s, tokens/s, time in the encoder) to stderr.
    #[arg(long)]
    stats: bool,
    /// Do not write vectors (for timing the encoder alone).
    #[arg(long)]
    discard: bool,
}

#[derive(serde::Serialize)]
struct Row<'a> {
    text: &'a str,
    vector: &'a [f32],
}

pub fn run(args: EmbedArgs) -> Result<()> {
    let load = Instant::now();
    let options = crate::load_options(
        args.model_dir.clone(),
        args.device,
        args.precision,
        args.int8_kernel.as_deref(),
    )?;
    let encoder = load_encoder(&args.model, &options)?;
    let load = load.elapsed();
    let reader: Box<dyn BufRead> = match &args.input {
        Some(p) if p.as_os_str() != "-" => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        )),
        _ => Box::new(std::io::stdin().lock()),
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut lines = reader.lines();
    let mut batch: Vec<String> = Vec::with_capacity(args.batch.max(1));
    let (mut sentences, mut tokens, mut spent) = (0usize, 0usize, Duration::ZERO);
    loop {
        batch.clear();
        for line in lines.by_ref().take(args.batch.max(1)) {
            batch.push(line.context("cannot read input")?);
        }
        if batch.is_empty() {
            break;
        }
        let texts: Vec<&str> = batch.iter().map(String::as_str).collect();
        let t = Instant::now();
        let emb = encoder.encode(&texts)?;
        spent += t.elapsed();
        sentences += texts.len();
        if args.stats {
            tokens += texts
                .iter()
                .filter_map(|t| encoder.count_tokens(t))
                .sum::<usize>();
        }
        if !args.discard {
            for (i, text) in texts.iter().enumerate() {
                serde_json::to_writer(
                    &mut out,
                    &Row {
                        text,
                        vector: emb.row(i),
                    },
                )?;
                out.write_all(b"\n")?;
            }
        }
    }
    out.flush()?;
    if args.stats {
        let s = spent.as_secs_f64().max(1e-9);
        eprintln!(
            "encoder {} arithmetic {} threads {} load_s {:.3} sentences {sentences} tokens {tokens} encode_s {:.3} sentences_per_s {:.1} tokens_per_s {:.1}",
            encoder.name(),
            encoder.arithmetic().unwrap_or_else(|| "-".into()),
            rayon::current_num_threads(),
            load.as_secs_f64(),
            s,
            sentences as f64 / s,
            tokens as f64 / s,
        );
    }
    Ok(())
}
