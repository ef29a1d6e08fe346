//! Replays the fuzz corpora of the ingest and preparation targets (`fuzz/corpus/<target>/`,
//! and regressions in `fuzz/artifacts/<target>/`) through the functions the fuzz targets call,
//! on stable Rust: the smoke check CI runs without cargo-fuzz. Seeds named `ok-*` must be
//! read, `bad-*` ones (where the reader can fail) must be errors; nothing may panic.

use std::path::{Path, PathBuf};

use retrace::fuzzing;

/// Every file of the target's corpus and artifacts, with its name.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut out = Vec::new();
    for dir in ["corpus", "artifacts"] {
        let d: PathBuf = root.join(dir).join(target);
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.expect("corpus entry").path();
            if p.is_file() {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                out.push((name, std::fs::read(&p).expect("corpus file")));
            }
        }
    }
    out.sort();
    assert!(
        out.iter().any(|(n, _)| n.starts_with("ok-")),
        "no ok-* seeds for {target}"
    );
    out
}

/// Check a reader's result against the seed's name.
fn check<T, E: std::fmt::Debug>(target: &str, name: &str, r: &Result<T, E>) {
    if name.starts_with("ok-") {
        assert!(r.is_ok(), "{target}/{name}: {:?}", r.as_ref().err());
    } else if name.starts_with("bad-") {
        assert!(r.is_err(), "{target}/{name} was read");
    }
}

#[test]
fn jsonl_corpus() {
    for (name, data) in inputs("jsonl") {
        let r = fuzzing::jsonl(&data);
        check("jsonl", &name, &r);
        if name.starts_with("ok-") {
            assert!(r.unwrap() > 0, "{name}: no documents");
        }
    }
}

#[test]
fn html_corpus() {
    for (name, data) in inputs("html") {
        let text = fuzzing::html(&data);
        if name.starts_with("ok-") {
            assert!(!text.trim().is_empty(), "{name}: no text");
        }
    }
}

#[test]
fn segment_corpus() {
    for (name, data) in inputs("segment") {
        let (sentences, tokens) = fuzzing::segment(&data);
        if name.starts_with("ok-") {
            assert!(
                sentences > 1 && tokens > sentences,
                "{name}: {sentences}, {tokens}"
            );
        }
    }
}

#[test]
fn fasttext_corpus() {
    for (name, data) in inputs("fasttext") {
        let r = fuzzing::fasttext(&data);
        check("fasttext", &name, &r);
        if let Ok(n) = r {
            assert_eq!(n, 2, "{name}: labels");
        }
    }
}
