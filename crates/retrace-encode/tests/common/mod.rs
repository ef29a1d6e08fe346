//! Shared helpers of the integration tests: where the shared data lives and loading the
//! installed model (skipping with a notice when either is absent, unless `CI` is set).

#![allow(dead_code)]

use std::path::PathBuf;

use retrace_encode::use_m3::UseM3;

/// `shared/` beside the repository root, if present.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "NOTICE: shared data not found at {}; skipping this test",
            dir.display()
        );
        None
    }
}

/// The installed USE-m3 model; `None` (with a notice) when it is not installed, except under
/// CI, where a missing model fails the test.
pub fn model() -> Option<UseM3> {
    match UseM3::load_installed(&retrace_encode::LoadOptions::default()) {
        Ok(m) => Some(m),
        Err(e) if std::env::var_os("CI").is_some() => panic!("CI: {e}"),
        Err(e) => {
            eprintln!("NOTICE: skipping, the use-m3 model is not available: {e}");
            None
        }
    }
}

/// Cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

/// The installed e5-small model; `None` (with a notice) when it is not installed, except
/// under CI, where a missing model fails the test.
pub fn e5_model() -> Option<retrace_encode::e5::E5Encoder> {
    let path = retrace_encode::e5::default_model_path();
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
    Some(
        retrace_encode::e5::E5Encoder::open(&path, &retrace_encode::LoadOptions::default())
            .expect("model loads"),
    )
}

/// One line of `golden/<model>/vectors.jsonl`.
pub struct Golden {
    pub lang: String,
    pub text: String,
    pub ids: Vec<u32>,
    pub embedding: Vec<f32>,
}

/// The golden vectors of `model` (`use-m3`, `e5-small`), or `None` when the shared data is
/// absent.
pub fn golden(model: &str) -> Option<Vec<Golden>> {
    let path = shared_dir()?.join(format!("golden/{model}/vectors.jsonl"));
    let text = std::fs::read_to_string(&path).expect("read vectors.jsonl");
    let rows = text
        .lines()
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
        .collect();
    Some(rows)
}
