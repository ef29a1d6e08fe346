//! Replays the fuzz corpora of the model-file readers (`fuzz/corpus/<target>/`, and
//! regressions in `fuzz/artifacts/<target>/`) through the functions the fuzz targets call, on
//! stable Rust: the smoke check CI runs without cargo-fuzz. Seeds named `ok-*` must be read,
//! `bad-*` ones must be errors; nothing may panic. (safetensors needs the `hf` feature.)

use std::path::{Path, PathBuf};

use retrace_encode::fuzzing;

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

/// Replay `target`'s corpus through `f`, checking results against the seeds' names.
fn replay(target: &str, f: fn(&[u8]) -> Result<(), String>) {
    for (name, data) in inputs(target) {
        let r = f(&data);
        if name.starts_with("ok-") {
            assert!(r.is_ok(), "{target}/{name}: {:?}", r.err());
        } else if name.starts_with("bad-") {
            assert!(r.is_err(), "{target}/{name} was read");
        }
    }
}

#[test]
fn npz_corpus() {
    replay("npz", fuzzing::npz);
}

#[test]
fn e5_corpus() {
    replay("e5", fuzzing::e5);
}

#[test]
fn sentencepiece_corpus() {
    replay("sentencepiece", fuzzing::sentencepiece);
}

#[cfg(feature = "hf")]
#[test]
fn safetensors_corpus() {
    replay("safetensors", fuzzing::safetensors);
}
