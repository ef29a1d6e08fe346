//! The golden vectors of `shared/golden/use-m3/vectors.jsonl` (300 sentences in 25
//! languages, token ids from the C++ sentencepiece library and embeddings from the numpy
//! reference): token ids must be identical and embeddings within cosine 0.999.

mod common;

use retrace_encode::Encoder;

#[test]
fn token_ids_match_the_reference_library() {
    let (Some(golden), Some(model)) = (common::golden("use-m3"), common::model()) else {
        return;
    };
    assert_eq!(golden.len(), 300, "expected 300 golden sentences");
    let mut ids = Vec::new();
    let mut bad = Vec::new();
    for g in &golden {
        ids.clear();
        model.tokenize(&g.text, &mut ids);
        if ids != g.ids {
            bad.push(format!(
                "[{}] {:?}\n  want {:?}\n  got  {:?}",
                g.lang, g.text, g.ids, ids
            ));
        }
    }
    println!(
        "token ids identical for {}/{}",
        golden.len() - bad.len(),
        golden.len()
    );
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn embeddings_match_the_reference_forward_pass() {
    let (Some(golden), Some(model)) = (common::golden("use-m3"), common::model()) else {
        return;
    };
    let texts: Vec<&str> = golden.iter().map(|g| g.text.as_str()).collect();
    let emb = model.encode(&texts).expect("encode");
    assert_eq!(emb.len(), golden.len());
    let (worst, _) = against_golden(&golden, &emb);
    println!(
        "min cosine to the reference: {:.6} ({:?})",
        worst.0, worst.1
    );
    assert!(
        worst.0 >= 0.999,
        "min cosine {} < 0.999 for {:?}",
        worst.0,
        worst.1
    );

    // One at a time gives the same vectors as the batch (no leakage between sentences).
    alone_as_in_batch(&model, &texts, &emb);
}

/// The lowest cosine between `emb` and the golden vectors (with its sentence) and the mean
/// cosine; every row must have unit length.
fn against_golden<'g>(
    golden: &'g [common::Golden],
    emb: &retrace_encode::Embeddings,
) -> ((f32, &'g str), f32) {
    assert_eq!(emb.len(), golden.len());
    let mut worst = (f32::MAX, "");
    let mut sum = 0.0;
    for (i, g) in golden.iter().enumerate() {
        let row = emb.row(i);
        let norm: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-4,
            "row {i} is not unit length: {norm}"
        );
        let c = common::cosine(row, &g.embedding);
        sum += c;
        if c < worst.0 {
            worst = (c, &g.text);
        }
    }
    (worst, sum / golden.len() as f32)
}

/// A few sentences encoded alone give the vectors they get in the batch `emb`.
fn alone_as_in_batch(model: &impl Encoder, texts: &[&str], emb: &retrace_encode::Embeddings) {
    for i in [0, 57, 299] {
        let one = model.encode(&texts[i..i + 1]).expect("encode one");
        let c = common::cosine(one.row(0), emb.row(i));
        assert!(c > 0.99999, "sentence {i} alone vs in batch: cosine {c}");
    }
}

#[test]
fn empty_and_odd_inputs_give_unit_vectors() {
    let Some(model) = common::model() else {
        return;
    };
    assert_eq!(model.family(), retrace_encode::Family::UseM3);
    let emb = model
        .encode(&["", "   ", "\u{200b}", "x", "日本語", "🙂🙂🙂"])
        .expect("encode");
    for i in 0..emb.len() {
        let norm: f32 = emb.row(i).iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "row {i}: norm {norm}");
    }
    // Empty and all-space text both tokenise to BOS EOS, so they embed identically.
    assert_eq!(emb.row(0), emb.row(1));
    let mut ids = Vec::new();
    model.tokenize("", &mut ids);
    assert_eq!(ids, vec![1, 2]);
}

#[test]
fn int8_embeddings_stay_close_to_the_reference() {
    use retrace_encode::use_m3::Precision;
    let (Some(golden), Some(model)) = (common::golden("use-m3"), common::model()) else {
        return;
    };
    let model = model.with_precision(Precision::Int8);
    let kernel = model.int8_kernel().expect("int8 kernel");
    let texts: Vec<&str> = golden.iter().map(|g| g.text.as_str()).collect();
    let emb = model.encode(&texts).expect("encode");
    let (worst, mean) = against_golden(&golden, &emb);
    println!(
        "int8 ({}): min cosine to the reference {:.6} ({:?}), mean {:.6}",
        kernel.name(),
        worst.0,
        worst.1,
        mean
    );
    assert!(
        worst.0 >= 0.995,
        "int8: min cosine {} < 0.995 for {:?}",
        worst.0,
        worst.1
    );
    // Activations are quantised per token: a sentence alone embeds as in a batch.
    alone_as_in_batch(&model, &texts, &emb);
    // Every kernel this CPU runs gives the same vectors, bit for bit (exact integer sums, one
    // epilogue); the portable one on a few sentences only (it is slow).
    use retrace_encode::qgemm::Kernel;
    let best = Kernel::detect();
    let mut others = vec![Kernel::Portable];
    if best == Kernel::Vnni {
        others.push(Kernel::Avx512Bw);
    }
    for k in others.into_iter().filter(|&k| k != kernel) {
        let n = if k.is_fast() { texts.len() } else { 12 };
        let other = common::model()
            .expect("model")
            .with_int8_kernel(k)
            .encode(&texts[..n])
            .expect("encode");
        assert_eq!(
            other.data[..],
            emb.data[..n * emb.dim],
            "kernel {} differs from {}",
            k.name(),
            kernel.name()
        );
        println!(
            "int8 kernel {} gives identical vectors ({n} sentences)",
            k.name()
        );
    }
}
