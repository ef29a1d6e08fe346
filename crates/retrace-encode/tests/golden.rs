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
    let mut worst = (f32::MAX, "");
    for (i, g) in golden.iter().enumerate() {
        let row = emb.row(i);
        let norm: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-4,
            "row {i} is not unit length: {norm}"
        );
        let c = common::cosine(row, &g.embedding);
        if c < worst.0 {
            worst = (c, &g.text);
        }
    }
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
