//! Tatoeba retrieval accuracy (`shared/data/tatoeba/`) against the reference numbers in
//! `shared/golden/use-m3/tatoeba.json`: for each language, every foreign sentence retrieves
//! its nearest English sentence by cosine (xx→en) and vice versa (en→xx); accuracy is the
//! share retrieving their own translation. Each direction and their mean must be within 0.5
//! points of the reference for every language listed there, with the f32 arithmetic and with
//! the int8 path.

mod common;

use retrace_encode::use_m3::{Precision, UseM3};
use retrace_encode::{Embeddings, Encoder};

fn read_lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

/// Accuracies (q→k, k→q): the share of rows of `q` whose nearest row of `k` (by dot
/// product; rows are unit length; the first index wins ties) has the same index, and the
/// converse.
fn accuracies(q: &Embeddings, k: &Embeddings) -> (f64, f64) {
    let (n, m, d) = (q.len(), k.len(), q.dim);
    let mut sim = vec![0f32; n * m];
    // q is n×d, k is m×d (read transposed as d×m), sim is n×m, all row-major.
    retrace_encode::gemm::sgemm(
        n,
        d,
        m,
        1.0,
        (&q.data, d as isize, 1),
        (&k.data, 1, d as isize),
        0.0,
        (&mut sim, m as isize, 1),
    );
    let argmax = |it: &mut dyn Iterator<Item = f32>| {
        let mut best = (f32::NEG_INFINITY, 0);
        for (j, v) in it.enumerate() {
            if v > best.0 {
                best = (v, j);
            }
        }
        best.1
    };
    let fwd = (0..n)
        .filter(|&i| argmax(&mut sim[i * m..(i + 1) * m].iter().copied()) == i)
        .count();
    let bwd = (0..m)
        .filter(|&j| argmax(&mut (0..n).map(|i| sim[i * m + j])) == j)
        .count();
    (fwd as f64 / n as f64, bwd as f64 / m as f64)
}

#[test]
fn tatoeba_accuracy_matches_the_reference() {
    let (Some(shared), Some(model)) = (common::shared_dir(), common::model()) else {
        return;
    };
    check(&shared, &model);
}

#[test]
fn tatoeba_accuracy_with_int8_matches_the_reference() {
    let (Some(shared), Some(model)) = (common::shared_dir(), common::model()) else {
        return;
    };
    let model = model.with_precision(Precision::Int8);
    let kernel = model.int8_kernel().expect("int8 kernel");
    if !kernel.is_fast() && std::env::var_os("CI").is_none() {
        eprintln!("NOTICE: no AVX-512BW on this CPU: the portable int8 kernel is too slow for Tatoeba; skipping");
        return;
    }
    println!("int8 kernel: {}", kernel.name());
    check(&shared, &model);
}

fn check(shared: &std::path::Path, model: &UseM3) {
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shared.join("golden/use-m3/tatoeba.json"))
            .expect("read tatoeba.json"),
    )
    .expect("tatoeba.json is JSON");
    let langs = golden["languages"].as_object().expect("languages");
    assert!(
        langs.len() >= 24,
        "expected 24 languages, found {}",
        langs.len()
    );
    let mut failures = Vec::new();
    println!("lang      n  xx→en (ref)      en→xx (ref)      mean (ref)");
    for (lang, reference) in langs {
        let dir = shared.join("data/tatoeba");
        let xx = read_lines(&dir.join(format!("tatoeba.{lang}-eng.{lang}")));
        let en = read_lines(&dir.join(format!("tatoeba.{lang}-eng.eng")));
        assert_eq!(xx.len(), en.len(), "{lang}: unaligned files");
        let n = reference["n"].as_u64().expect("n") as usize;
        assert_eq!(
            xx.len(),
            n,
            "{lang}: sentence count differs from the reference"
        );
        let exx = model
            .encode(&xx.iter().map(String::as_str).collect::<Vec<_>>())
            .expect("encode");
        let een = model
            .encode(&en.iter().map(String::as_str).collect::<Vec<_>>())
            .expect("encode");
        let (fwd, bwd) = accuracies(&exx, &een);
        let mean = (fwd + bwd) / 2.0;
        let want = |k: &str| reference[k].as_f64().expect("reference number");
        println!(
            "{lang} {n:>6}  {:5.1} ({:5.1})    {:5.1} ({:5.1})    {:5.2} ({:5.2})",
            100.0 * fwd,
            100.0 * want("xx_to_en"),
            100.0 * bwd,
            100.0 * want("en_to_xx"),
            100.0 * mean,
            100.0 * want("mean")
        );
        for (name, got, key) in [
            ("xx→en", fwd, "xx_to_en"),
            ("en→xx", bwd, "en_to_xx"),
            ("mean", mean, "mean"),
        ] {
            if (got - want(key)).abs() > 0.005 + 1e-9 {
                failures.push(format!(
                    "{lang} {name}: {:.2}% vs reference {:.2}%",
                    100.0 * got,
                    100.0 * want(key)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "off by more than 0.5 points:\n{}",
        failures.join("\n")
    );
}
