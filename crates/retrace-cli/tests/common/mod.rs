//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod browser;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_retrace"))
}

/// `retrace scan FLAGS... INPUT --out OUT`.
pub fn scan(flags: &[&str], input: impl AsRef<std::ffi::OsStr>, out: &Path) -> Command {
    let mut c = bin();
    c.arg("scan").args(flags).arg(input).arg("--out").arg(out);
    c
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared` beside the repository, or `None` (with a notice) when it is absent. Under CI
/// (`CI` set) its absence is a failure: there the shared data must be tested.
pub fn shared() -> Option<PathBuf> {
    let p = repo_root().join("../shared");
    if p.join("corpora").is_dir() {
        return Some(p);
    }
    if std::env::var_os("CI").is_some() {
        panic!("../shared is missing under CI: {}", p.display());
    }
    eprintln!("NOTICE: ../shared not found next to the repository; skipping this test");
    None
}

pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run retrace");
    assert!(
        out.status.success(),
        "retrace failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn read_jsonl(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

/// The pair record for ids `x`, `y` (either order), with coverage of x first.
pub fn find_pair(pairs: &[serde_json::Value], x: &str, y: &str) -> Option<(String, f64, f64)> {
    pairs.iter().find_map(|p| {
        let (a, b) = (p["a"].as_str()?, p["b"].as_str()?);
        let kind = p["kind"].as_str()?.to_string();
        let (ca, cb) = (p["coverage_a"].as_f64()?, p["coverage_b"].as_f64()?);
        if a == x && b == y {
            Some((kind, ca, cb))
        } else if a == y && b == x {
            Some((kind, cb, ca))
        } else {
            None
        }
    })
}
