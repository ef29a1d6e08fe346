//! Language identification on the shared collections: `retrace scan` with fastText's lid.176
//! must reach the accuracy targets of the scorer's "language id" line (wide ≥ 0.97, dev ≥
//! 0.995), and a corrupt model must be an error. Skipped with a notice when ../shared or the
//! lid176 model is absent, required under CI.

mod common;
use common::*;

/// Whether lid176 is installed in the default model cache (a notice when not; a failure
/// under CI, where .ci/run installs it).
fn lid176_installed() -> bool {
    let out = run_ok(bin().args(["model", "list"]));
    let listed = String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.starts_with("lid176") && l.contains(" installed "));
    if !listed {
        if std::env::var_os("CI").is_some() {
            panic!("lid176 is not installed under CI");
        }
        eprintln!("NOTICE: lid176 not installed (retrace model install lid176); skipping");
    }
    listed
}

/// Share of documents whose gold language (ISO 639-1 only) the scan reports, as score.py
/// counts it (nb and nn as no too).
fn accuracy(shared: &std::path::Path, corpus: &str) -> f64 {
    let dir = shared.join("corpora").join(corpus);
    let out = tempfile::tempdir().unwrap();
    run_ok(&mut scan(
        &["-q", "--encoder", "none"],
        dir.join("docs.jsonl"),
        out.path(),
    ));
    let gold: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("gold.json")).unwrap()).unwrap();
    let (mut n, mut ok) = (0, 0);
    for d in read_jsonl(&out.path().join("documents.jsonl")) {
        let id = d["id"].as_str().unwrap();
        let want = gold["documents"][id]["lang"].as_str().unwrap_or("");
        if want.len() != 2 {
            continue;
        }
        let got = d["lang"].as_str().unwrap_or("");
        n += 1;
        ok += (got == want || (got == "no" && matches!(want, "nb" | "nn"))) as usize;
    }
    assert!(n > 1000, "{corpus}: only {n} documents scored");
    ok as f64 / n as f64
}

#[test]
fn language_id_reaches_the_targets_on_wide_and_dev() {
    let Some(shared) = shared() else { return };
    if !lid176_installed() {
        return;
    }
    let wide = accuracy(&shared, "wide");
    let dev = accuracy(&shared, "dev");
    eprintln!("language id: wide {wide:.4}, dev {dev:.4}");
    assert!(wide >= 0.97, "wide language id {wide:.4} < 0.97");
    assert!(dev >= 0.995, "dev language id {dev:.4} < 0.995");
}

#[test]
fn a_corrupt_lid176_model_is_an_error() {
    if !lid176_installed() {
        return;
    }
    let home = models_dir();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lid176");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["installed.json", "lid.176.ftz"] {
        std::fs::copy(home.join("lid176").join(f), dir.join(f)).unwrap();
    }
    // Same size (the manifest's quick check passes), damaged header.
    let path = dir.join("lid.176.ftz");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let out = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("docs.jsonl");
    std::fs::write(&docs, "{\"id\": \"a\", \"text\": \"Ein kurzer Text.\"}\n").unwrap();
    let res = scan(&["-q", "--encoder", "none"], &docs, out.path())
        .arg("--model-dir")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(!res.status.success(), "a corrupt model must fail the scan");
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(
        err.contains("lid.176.ftz is corrupt") && err.contains("retrace model install lid176"),
        "{err}"
    );
}

/// The default model cache, as `retrace model list` prints it.
fn models_dir() -> std::path::PathBuf {
    let out = run_ok(bin().args(["model", "list"]));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text.lines().next().unwrap();
    std::path::PathBuf::from(line.trim_start_matches("model cache: "))
}
