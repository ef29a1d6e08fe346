//! `retrace scan --format parquet` (feature `parquet`): the Parquet files hold the records
//! of the JSON Lines files, read back by pyarrow. pyarrow comes from `$RETRACE_PYTHON` (a
//! Python with pyarrow; `.ci/run` makes a virtualenv) or `python3`; without it the test
//! prints a notice and skips, except under CI. Without the feature, `--format parquet`
//! is an error that says how to get it.

mod common;
use common::*;

#[cfg(not(feature = "parquet"))]
#[test]
fn parquet_needs_the_feature() {
    let tmp = tempfile::tempdir().unwrap();
    let out = scan(
        &["-q", "--encoder", "none", "--format", "parquet"],
        repo_root().join("examples/news"),
        tmp.path(),
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--features parquet"), "{err}");
    assert!(
        !tmp.path().join("pairs.jsonl").exists(),
        "refused before the scan"
    );
}

/// A Python that imports pyarrow, or None (a notice; a failure under CI).
#[cfg(feature = "parquet")]
fn python_with_pyarrow() -> Option<std::path::PathBuf> {
    let python = std::env::var_os("RETRACE_PYTHON").unwrap_or_else(|| "python3".into());
    let ok = std::process::Command::new(&python)
        .args(["-c", "import pyarrow.parquet"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python.into());
    }
    if std::env::var_os("CI").is_some() {
        panic!("pyarrow is not importable by {python:?} under CI (set RETRACE_PYTHON)");
    }
    eprintln!("NOTICE: no pyarrow ({python:?}); skipping the Parquet read-back test");
    None
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_files_hold_the_jsonl_records() {
    use serde_json::Value;
    let Some(python) = python_with_pyarrow() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    run_ok(&mut scan(
        &["-q", "--encoder", "none", "--format", "parquet"],
        repo_root().join("examples/news"),
        &out,
    ));
    // pyarrow reads each file and prints its rows as JSON.
    let script = r#"
import json, sys
import pyarrow.parquet as pq
out = {}
for name in ["pairs", "evidence", "documents"]:
    out[name] = pq.read_table(f"{sys.argv[1]}/{name}.parquet").to_pylist()
print(json.dumps(out))
"#;
    let read = run_ok(
        std::process::Command::new(python)
            .arg("-c")
            .arg(script)
            .arg(&out),
    );
    let got: Value = serde_json::from_slice(&read.stdout).expect("pyarrow's JSON");
    let pairs = read_jsonl(&out.join("pairs.jsonl"));
    let docs = read_jsonl(&out.join("documents.jsonl"));
    let (pq_pairs, pq_ev, pq_docs) = (
        got["pairs"].as_array().unwrap(),
        got["evidence"].as_array().unwrap(),
        got["documents"].as_array().unwrap(),
    );
    assert_eq!(pq_pairs.len(), pairs.len());
    assert!(!pairs.is_empty());
    let mut ev_rows = 0;
    for (p, q) in pairs.iter().zip(pq_pairs) {
        for k in [
            "a",
            "b",
            "kind",
            "coverage_a",
            "coverage_b",
            "density",
            "score",
        ] {
            assert_eq!(p[k], q[k], "{k}: {p} vs {q}");
        }
        for k in ["similarity", "shared_entities"] {
            assert_eq!(p.get(k).unwrap_or(&Value::Null), &q[k], "{k}");
        }
        let ev = p["evidence"].as_array().unwrap();
        assert_eq!(q["passages"], ev.len());
        for (i, e) in ev.iter().enumerate() {
            let r = pq_ev
                .iter()
                .find(|r| r["a"] == p["a"] && r["b"] == p["b"] && r["passage"] == i)
                .unwrap_or_else(|| panic!("no evidence row {i} of {p}"));
            assert_eq!(r["a_start"], e["a"][0]);
            assert_eq!(r["a_end"], e["a"][1]);
            assert_eq!(r["b_start"], e["b"][0]);
            assert_eq!(r["b_end"], e["b"][1]);
            assert_eq!(r["score"], e["score"]);
            assert_eq!(r["matched_tokens"], e["matched_tokens"]);
            ev_rows += 1;
        }
    }
    assert_eq!(pq_ev.len(), ev_rows);
    assert_eq!(pq_docs.len(), docs.len());
    for (d, q) in docs.iter().zip(pq_docs) {
        for (k, v) in d.as_object().unwrap() {
            assert_eq!(v, &q[k], "document {}: {k}", d["id"]);
        }
    }
    // Some document has boilerplate lines and some has none: both come back as lists.
    assert!(pq_docs
        .iter()
        .any(|d| d["boilerplate_lines"].as_array().unwrap().len() >= 2));
    assert!(pq_docs
        .iter()
        .any(|d| d["boilerplate_lines"].as_array().unwrap().is_empty()));
}
