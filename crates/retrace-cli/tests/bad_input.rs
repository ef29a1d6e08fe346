//! Bad input and bad options, as a table: each case builds its input, runs `retrace`, and
//! checks the exit code, that the message names the file (and line), and that nothing
//! was lost: every document expected is in `documents.jsonl`.

mod common;
use common::*;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A text long enough to be a document (the example corpus's original article).
fn article() -> String {
    std::fs::read_to_string(repo_root().join("examples/news/harbour-original.txt"))
        .expect("example article")
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create dir");
    }
    std::fs::write(path, bytes).expect("write");
}

/// Run with a deadline (a hang is a failure, not a stuck test run).
fn run_within(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn retrace");
    let t0 = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let o = child.wait_with_output().expect("output");
            panic!(
                "retrace ran past {limit:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One row of the table.
struct Case {
    name: &'static str,
    /// Builds the input under the directory given; returns the arguments after `retrace`
    /// (`{in}` stands for that directory, `{out}` for the output directory).
    setup: fn(&Path) -> Vec<String>,
    /// Expected exit code.
    code: i32,
    /// Each of these must be in stderr (`{in}` as above).
    stderr: &'static [&'static str],
    /// On success, exactly these document ids (sorted), when given.
    ids: Option<&'static [&'static str]>,
    /// Paths that must exist afterwards, and paths that must not.
    exist: &'static [&'static str],
    absent: &'static [&'static str],
}

fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn two_dirs_with_one_name(d: &Path) -> Vec<String> {
    let t = article();
    write(&d.join("site1/index.html"), format!("<p>{t}</p>"));
    write(
        &d.join("site2/index.html"),
        "<p>Another page entirely, about the weather in the hills this week.</p>",
    );
    write(
        &d.join("site2/about.txt"),
        "About this site: it reports the weather.",
    );
    args(&[
        "scan",
        "{in}/site1",
        "{in}/site2/",
        "--out",
        "{out}",
        "--encoder",
        "none",
    ])
}

fn jsonl_without_ids(d: &Path) -> Vec<String> {
    write(
        &d.join("r.jsonl"),
        "{\"id\":\"a\",\"text\":\"first record text\"}\n{\"text\":\"no id at all\"}\n{\"id\":null,\"text\":\"a null id\"}\n",
    );
    args(&[
        "scan",
        "{in}/r.jsonl",
        "--out",
        "{out}",
        "--encoder",
        "none",
    ])
}

fn jsonl_with_bom(d: &Path) -> Vec<String> {
    write(
        &d.join("bom.jsonl"),
        b"\xEF\xBB\xBF{\"id\":\"first\",\"text\":\"the first record\"}\n{\"id\":\"second\",\"text\":\"the second record\"}\n",
    );
    args(&[
        "scan",
        "{in}/bom.jsonl",
        "--out",
        "{out}",
        "--encoder",
        "none",
    ])
}

fn jsonl_with_bom_skipping(d: &Path) -> Vec<String> {
    let mut a = jsonl_with_bom(d);
    a.push("--skip-bad-records".into());
    a
}

fn fifo_in_a_directory(d: &Path) -> Vec<String> {
    write(&d.join("docs/a.txt"), article());
    let st = Command::new("mkfifo")
        .arg(d.join("docs/pipe.txt"))
        .status()
        .expect("mkfifo");
    assert!(st.success());
    args(&["scan", "{in}/docs", "--out", "{out}", "--encoder", "none"])
}

fn one_directory_twice(d: &Path) -> Vec<String> {
    write(&d.join("docs/a.txt"), article());
    args(&[
        "scan",
        "{in}/docs",
        "{in}/docs",
        "--out",
        "{out}",
        "--encoder",
        "none",
    ])
}

fn one_directory_twice_skipping(d: &Path) -> Vec<String> {
    let mut a = one_directory_twice(d);
    a.push("--skip-bad-records".into());
    a
}

fn file_and_record_with_one_id(d: &Path) -> Vec<String> {
    write(&d.join("docs/a.txt"), article());
    write(
        &d.join("docs/r.jsonl"),
        "{\"id\":\"a.txt\",\"text\":\"some text\"}\n",
    );
    args(&["scan", "{in}/docs", "--out", "{out}", "--encoder", "none"])
}

fn id_of_wrong_type(d: &Path) -> Vec<String> {
    write(
        &d.join("r.jsonl"),
        "{\"id\":\"a\",\"text\":\"x y\"}\n{\"id\":[1],\"text\":\"z\"}\n",
    );
    args(&[
        "scan",
        "{in}/r.jsonl",
        "--out",
        "{out}",
        "--encoder",
        "none",
    ])
}

fn out_is_a_file(d: &Path) -> Vec<String> {
    write(&d.join("docs/a.txt"), article());
    write(&d.join("results"), "not a directory");
    args(&[
        "scan",
        "{in}/docs",
        "--out",
        "{in}/results",
        "--encoder",
        "none",
    ])
}

fn out_inside_the_input(d: &Path) -> Vec<String> {
    write(&d.join("docs/a.txt"), article());
    args(&[
        "scan",
        "{in}/docs",
        "--out",
        "{in}/docs/./results/",
        "--encoder",
        "none",
    ])
}

fn failed_run_over_earlier_outputs(d: &Path) -> Vec<String> {
    write(
        &d.join("bad.jsonl"),
        "{\"id\":\"a\",\"text\":\"x\"}\n{oops\n",
    );
    for f in ["pairs.jsonl", "documents.jsonl", "run.json"] {
        write(&d.join("out").join(f), "{}\n");
    }
    args(&[
        "scan",
        "{in}/bad.jsonl",
        "--out",
        "{in}/out",
        "--encoder",
        "none",
    ])
}

fn out_cannot_be_made(d: &Path) -> Vec<String> {
    write(&d.join("docs/a.txt"), article());
    // Not even root makes a directory in /proc.
    args(&[
        "scan",
        "{in}/docs",
        "--out",
        "/proc/retrace-test-out",
        "--encoder",
        "none",
    ])
}

fn good_run_over_earlier_outputs(d: &Path) -> Vec<String> {
    write(&d.join("docs/a.txt"), article());
    for f in ["pairs.jsonl", "documents.jsonl", "run.json"] {
        write(&d.join("out").join(f), "{}\n");
    }
    args(&[
        "scan",
        "{in}/docs",
        "--out",
        "{in}/out",
        "--encoder",
        "none",
    ])
}

const CASES: &[Case] = &[
    Case {
        name: "an --out that cannot be created",
        setup: out_cannot_be_made,
        code: 1,
        stderr: &["--out /proc/retrace-test-out: cannot create the directory"],
        ids: None,
        exist: &[],
        absent: &[],
    },
    Case {
        name: "a good run replaces the earlier outputs",
        setup: good_run_over_earlier_outputs,
        code: 0,
        stderr: &["read 1 documents"],
        ids: None,
        exist: &["{in}/out/pairs.jsonl", "{in}/out/run.json"],
        absent: &["{in}/out/.previous"],
    },
    Case {
        name: "--out is an existing file",
        setup: out_is_a_file,
        code: 1,
        stderr: &["--out {in}/results: exists and is not a directory"],
        ids: None,
        exist: &[],
        absent: &[],
    },
    Case {
        name: "--out inside an input directory",
        setup: out_inside_the_input,
        code: 1,
        stderr: &["is inside the input directory {in}/docs"],
        ids: None,
        exist: &[],
        absent: &["{in}/docs/results"],
    },
    Case {
        name: "a failed run moves the earlier outputs aside",
        setup: failed_run_over_earlier_outputs,
        code: 1,
        stderr: &[
            "bad.jsonl:2: malformed record",
            "earlier run's outputs are in {in}/out/.previous",
        ],
        ids: None,
        exist: &[
            "{in}/out/.previous/pairs.jsonl",
            "{in}/out/.previous/run.json",
        ],
        absent: &[
            "{in}/out/pairs.jsonl",
            "{in}/out/documents.jsonl",
            "{in}/out/run.json",
        ],
    },
    Case {
        name: "two directories holding index.html",
        setup: two_dirs_with_one_name,
        code: 0,
        stderr: &["\"index.html\" is now", "read 3 documents"],
        ids: Some(&[
            "about.txt",
            "{in}/site1/index.html",
            "{in}/site2/index.html",
        ]),
        exist: &[],
        absent: &[],
    },
    Case {
        name: "JSONL records with a missing or null id",
        setup: jsonl_without_ids,
        code: 0,
        stderr: &[
            "r.jsonl:2: 2 records of this file have no id",
            "read 3 documents",
        ],
        ids: Some(&["a", "{in}/r.jsonl:2", "{in}/r.jsonl:3"]),
        exist: &[],
        absent: &[],
    },
    Case {
        name: "a UTF-8 BOM before the first JSONL record",
        setup: jsonl_with_bom,
        code: 0,
        stderr: &["read 2 documents", "skipped 0"],
        ids: Some(&["first", "second"]),
        exist: &[],
        absent: &[],
    },
    Case {
        name: "a BOM with --skip-bad-records drops nothing",
        setup: jsonl_with_bom_skipping,
        code: 0,
        stderr: &["read 2 documents", "skipped 0"],
        ids: Some(&["first", "second"]),
        exist: &[],
        absent: &[],
    },
    Case {
        name: "a FIFO in an input directory is skipped, never opened",
        setup: fifo_in_a_directory,
        code: 0,
        stderr: &["{in}/docs/pipe.txt: a FIFO", "skipped 1 (1 special file)"],
        ids: Some(&["a.txt"]),
        exist: &[],
        absent: &[],
    },
    Case {
        name: "one directory given twice",
        setup: one_directory_twice,
        code: 1,
        stderr: &["{in}/docs/a.txt: duplicate id", "--skip-bad-records"],
        ids: None,
        exist: &[],
        absent: &[],
    },
    Case {
        name: "one directory twice, skipping the second",
        setup: one_directory_twice_skipping,
        code: 0,
        stderr: &[
            "{in}/docs/a.txt: duplicate id",
            "skipped 1 (1 duplicate id)",
        ],
        ids: Some(&["{in}/docs/a.txt"]),
        exist: &[],
        absent: &[],
    },
    Case {
        name: "a file and a record with one id",
        setup: file_and_record_with_one_id,
        code: 1,
        stderr: &["{in}/docs/r.jsonl:1: duplicate id \"a.txt\", first seen at {in}/docs/a.txt"],
        ids: None,
        exist: &[],
        absent: &[],
    },
    Case {
        name: "an id that is neither a string nor a number",
        setup: id_of_wrong_type,
        code: 1,
        stderr: &["{in}/r.jsonl:2: malformed record: field \"id\" is not a string or a number"],
        ids: None,
        exist: &[],
        absent: &[],
    },
];

/// Bad option values: each is a usage error (exit 2) naming the option, before any work.
#[test]
fn bad_options_exit_2_naming_the_option() {
    let input = tempfile::tempdir().expect("temp dir");
    write(&input.path().join("a.txt"), article());
    let out = input.path().join("never-made");
    for (flag, value, says) in [
        ("--copy-min-density", "2.5", "not a number from 0 to 1"),
        ("--copy-min-density", "nan", "not a number from 0 to 1"),
        ("--copy-min-density", "-0.1", "not a number from 0 to 1"),
        ("--copy-min-coverage", "inf", "not a number from 0 to 1"),
        ("--semantic-min-coverage", "1.5", "not a number from 0 to 1"),
        ("--sentence-min-sim", "NaN", "not a number from -1 to 1"),
        ("--story-min-cos", "7", "not a number from -1 to 1"),
        ("--copy-min-density", "abc", "is not a number"),
        ("--threads", "100000", "is not from 1 to"),
        ("--threads", "0", "is not from 1 to"),
        ("--threads", "-3", "not a whole number"),
    ] {
        let o = run_within(
            bin()
                .arg("scan")
                .arg(format!("{flag}={value}"))
                .args(["--encoder", "none", "--out"])
                .arg(&out)
                .arg(input.path().join("a.txt")),
            Duration::from_secs(30),
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(
            err.contains(flag) && err.contains(says),
            "{flag} {value}: {err}"
        );
        assert!(!out.exists(), "{flag} {value} made the output directory");
    }
    // compare takes the same threshold options, validated the same way, and applies them
    // (its rule lines show the thresholds in force).
    let news = repo_root().join("examples/news");
    let o = run_within(
        bin().args(["compare", "--copy-min-density", "2.5", "a", "b"]),
        Duration::from_secs(30),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--copy-min-density") && err.contains("not a number from 0 to 1"));
    let compare = |extra: &[&str]| {
        let o = run_within(
            bin()
                .arg("compare")
                .arg(news.join("harbour-original.txt"))
                .arg(news.join("weekly-digest-excerpt.md"))
                .args(["--encoder", "none"])
                .args(extra),
            Duration::from_secs(60),
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert!(compare(&[]).contains("verbatim tokens 42.00 ≥ 10.00 ✓"));
    assert!(compare(&["--copy-min-matched", "5000"]).contains("verbatim tokens 42.00 ≥ 5000.00 ✗"));
    // embed names its encoder as scan does (`--model` is kept as the older name).
    for flag in ["--encoder", "--model"] {
        let o = run_within(
            bin().args(["embed", flag, "/nonexistent/model-dir"]),
            Duration::from_secs(30),
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{flag}: {err}");
        assert!(err.contains("/nonexistent/model-dir"), "{flag}: {err}");
    }
    // In range, they are taken.
    let o = run_within(
        bin()
            .args(["scan", "--copy-min-density", "0.95", "--threads", "2", "-q"])
            .args(["--encoder", "none", "--out"])
            .arg(&out)
            .arg(input.path().join("a.txt")),
        Duration::from_secs(60),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for cmd in [
        vec!["--help"],
        vec!["scan", "--help"],
        vec!["compare", "--help"],
    ] {
        let o = run_within(bin().args(&cmd), Duration::from_secs(30));
        let help = String::from_utf8_lossy(&o.stdout);
        assert!(
            help.contains("Exit codes:") && help.contains("2  invalid command line"),
            "{cmd:?}: {help}"
        );
    }
}

#[test]
fn bad_input_table() {
    let mut failures = Vec::new();
    for case in CASES {
        let input = tempfile::tempdir().expect("temp dir");
        let out_root = tempfile::tempdir().expect("temp dir");
        let out = out_root.path().join("out");
        let dir = input.path().display().to_string();
        let fill = |s: &str| {
            s.replace("{in}", &dir)
                .replace("{out}", &out.display().to_string())
        };
        let argv: Vec<String> = (case.setup)(input.path()).iter().map(|a| fill(a)).collect();
        let o = run_within(bin().args(&argv), Duration::from_secs(120));
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let mut why = Vec::new();
        if o.status.code() != Some(case.code) {
            why.push(format!(
                "exit {:?}, expected {}",
                o.status.code(),
                case.code
            ));
        }
        for want in case.stderr {
            if !err.contains(&fill(want)) {
                why.push(format!("stderr lacks {:?}", fill(want)));
            }
        }
        if let Some(ids) = case.ids {
            let docs = out.join("documents.jsonl");
            if docs.is_file() {
                let mut got: Vec<String> = read_jsonl(&docs)
                    .iter()
                    .map(|d| d["id"].as_str().unwrap_or("?").to_string())
                    .collect();
                got.sort();
                let mut want: Vec<String> = ids.iter().map(|s| fill(s)).collect();
                want.sort();
                if got != want {
                    why.push(format!("ids {got:?}, expected {want:?}"));
                }
            } else {
                why.push("no documents.jsonl".into());
            }
        }
        for p in case.exist {
            if !Path::new(&fill(p)).exists() {
                why.push(format!("{} is missing", fill(p)));
            }
        }
        for p in case.absent {
            if Path::new(&fill(p)).exists() {
                why.push(format!("{} exists", fill(p)));
            }
        }
        if case.code != 0 && err.contains("documents (") {
            why.push("failed after reading the input, not before".into());
        }
        if !why.is_empty() {
            failures.push(format!("{}: {}\nstderr: {err}", case.name, why.join("; ")));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

/// A model cache holding `name` with these files (garbage or copies) and a manifest.
fn fake_model(root: &Path, name: &str, files: &[(&str, &[u8])], manifest: &str) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("model dir");
    for (f, bytes) in files {
        write(&dir.join(f), bytes);
    }
    write(&dir.join("installed.json"), manifest);
}

/// The installed models' cache, when both default encoders are in it (else a notice).
fn real_models() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("RETRACE_MODEL_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/retrace/models"))
        })?;
    let ok =
        dir.join("use-m3/weights.npz").is_file() && dir.join("e5-small/e5-small-q4.bin").is_file();
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("the default encoders are not installed under CI");
        }
        eprintln!("NOTICE: use-m3 and e5-small are not installed; skipping the cases needing them");
        return None;
    }
    Some(dir)
}

fn scan_with_models(models: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = tempfile::tempdir().expect("temp dir");
    let o = run_within(
        bin()
            .arg("scan")
            .arg(repo_root().join("examples/news"))
            .arg("--out")
            .arg(out.path().join("o"))
            .arg("--model-dir")
            .arg(models)
            .arg("-q")
            // Nothing is fetched: the models are the ones the test put there.
            .arg("--offline")
            .args(extra),
        Duration::from_secs(300),
    );
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A model that is installed but broken is an error naming the file (exit 1) under any
/// `--encoder`, `auto` included; `model list` calls it broken; a model not installed at
/// all means lexical evidence only, said even with `-q`.
#[test]
fn broken_models_are_errors_naming_the_file() {
    let cache = tempfile::tempdir().expect("temp dir");
    let root = cache.path();
    // Nothing installed and --offline: lexical only, with a warning even under -q, and
    // run.json says what the run went without.
    let (code, err) = scan_with_models(root, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("finding lexical reuse only"), "{err}");
    let out = tempfile::tempdir().expect("temp dir");
    let o = run_within(
        bin()
            .arg("scan")
            .arg(repo_root().join("examples/news"))
            .arg("--out")
            .arg(out.path())
            .arg("--model-dir")
            .arg(root)
            .env("RETRACE_OFFLINE", "1"),
        Duration::from_secs(300),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("note: use-m3 is not installed"), "{stdout}");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("run.json")).unwrap())
            .unwrap();
    let notices = run["notices"].as_array().expect("notices");
    for name in ["use-m3", "e5-small", "lid176"] {
        assert!(
            notices
                .iter()
                .any(|n| n.as_str().unwrap_or("").starts_with(name)),
            "{name} missing from {notices:?}"
        );
    }
    assert!(run["encoder"].is_null());
    // A garbage use-m3 under auto and by name.
    fake_model(
        root,
        "use-m3",
        &[
            ("sp.model", b"\x01\x02garbage"),
            ("weights.npz", b"PK garbage"),
        ],
        "{\"name\": \"use-m3\", \"files\": {\"sp.model\": \"00\", \"weights.npz\": \"00\"}}",
    );
    for enc in ["auto", "use-m3"] {
        let (code, err) = scan_with_models(root, &["--encoder", enc]);
        assert_eq!(code, Some(1), "--encoder {enc}: {err}");
        assert!(
            err.contains("use-m3") && err.contains("sp.model") && err.contains("reinstall"),
            "--encoder {enc}: {err}"
        );
    }
    // A truncated file whose size the manifest records: named with both sizes.
    fake_model(
        root,
        "e5-small",
        &[("e5-small-q4.bin", b"E5S1 but short")],
        "{\"name\": \"e5-small\", \"files\": {\"e5-small-q4.bin\": \"00\"}, \"sizes\": {\"e5-small-q4.bin\": 71622400}}",
    );
    let (code, err) = scan_with_models(root, &["--encoder", "e5-small"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("e5-small-q4.bin is 14 bytes, 71622400 when installed"),
        "{err}"
    );
    // A manifest that is not JSON.
    write(&root.join("e5-small/installed.json"), "{oops");
    let (code, err) = scan_with_models(root, &["--encoder", "e5-small"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("installed.json: not JSON"), "{err}");
    // `model list` checks every byte against the recorded sha256.
    let o = run_within(
        bin().args(["model", "list", "--model-dir"]).arg(root),
        Duration::from_secs(60),
    );
    let list = String::from_utf8_lossy(&o.stdout);
    let line = |name: &str| {
        list.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("use-m3").contains("broken") && line("use-m3").contains("sha256"),
        "{list}"
    );
    assert!(
        line("e5-small").contains("broken") && line("e5-small").contains("installed.json"),
        "{list}"
    );

    let Some(real) = real_models() else { return };
    // The real use-m3 with a truncated e5-small: the fallback under auto is an error too.
    std::fs::remove_dir_all(root.join("use-m3")).expect("remove");
    std::fs::remove_dir_all(root.join("e5-small")).expect("remove");
    std::fs::create_dir_all(root.join("use-m3")).expect("dir");
    for f in ["sp.model", "weights.npz", "installed.json"] {
        std::os::unix::fs::symlink(real.join("use-m3").join(f), root.join("use-m3").join(f))
            .expect("link");
    }
    let e5 = std::fs::read(real.join("e5-small/e5-small-q4.bin")).expect("e5 model");
    fake_model(
        root,
        "e5-small",
        &[("e5-small-q4.bin", &e5[..1 << 20])],
        &std::fs::read_to_string(real.join("e5-small/installed.json")).expect("manifest"),
    );
    let (code, err) = scan_with_models(root, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("fallback encoder e5-small") && err.contains("e5-small-q4.bin"),
        "{err}"
    );
    let (code, err) = scan_with_models(root, &["--fallback-encoder", "none"]);
    assert_eq!(code, Some(0), "{err}");
    // A device this build lacks: an error, not a silently dropped fallback.
    write(&root.join("e5-small/e5-small-q4.bin"), &e5);
    drop(e5);
    let (code, err) = scan_with_models(root, &["--device", "cuda"]);
    if code == Some(0) {
        // A build with the `cuda` feature on a machine with a GPU.
        return;
    }
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("e5-small") && err.contains("device"), "{err}");
}

/// Legacy encodings are decoded (a byte order mark, `<meta charset>`, else detected), HTML
/// named references are all known, and every evidence range points into the text the run
/// used, which `texts.jsonl` holds (the file's bytes when it is UTF-8 read as it is).
#[test]
fn legacy_encodings_are_decoded_and_offsets_resolve() {
    let input = tempfile::tempdir().expect("temp dir");
    let d = input.path();
    let base = article().replace(" the ", " the “new” ").replace("'", "’");
    let story = format!("{base}\nThe mayor’s office said: “We’re done” – and that was that.\n");
    write(&d.join("utf8.txt"), &story);
    let (cp, _, bad) = encoding_rs::WINDOWS_1252.encode(&story);
    assert!(!bad);
    write(&d.join("cp1252.txt"), &cp);
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(story.encode_utf16().flat_map(|u| u.to_le_bytes()));
    write(&d.join("utf16.txt"), &utf16);
    let html = format!(
        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\">\
         <title>Se&ntilde;or &AMP; caf&eacute; &Amp;</title></head><body><p>{}</p></body></html>",
        story.replace('\n', "</p><p>")
    );
    let (latin, _, _) = encoding_rs::WINDOWS_1252.encode(&html);
    write(&d.join("page.html"), &latin);
    let out = tempfile::tempdir().expect("temp dir");
    let o = run_ok(&mut scan(&["--encoder", "none"], d, out.path()));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cp1252.txt: not UTF-8; decoded as windows-1252"),
        "{err}"
    );
    assert!(!err.contains("lossily"), "{err}");
    let docs = read_jsonl(&out.path().join("documents.jsonl"));
    let page = docs.iter().find(|d| d["id"] == "page.html").expect("page");
    assert_eq!(page["title"], "Señor & café &Amp;");
    let records = read_jsonl(&out.path().join("texts.jsonl"));
    // Every document's text is written; those not the file's bytes as they are say how
    // they were made.
    let mut derived: Vec<&str> = records
        .iter()
        .filter(|t| t.get("from").is_some())
        .filter_map(|t| t["id"].as_str())
        .collect();
    derived.sort();
    assert_eq!(derived, ["cp1252.txt", "page.html", "utf16.txt"]);
    let texts: std::collections::HashMap<String, String> = records
        .into_iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap_or_default().to_string(),
                t["text"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(texts.len(), 4);
    assert_eq!(texts["cp1252.txt"], story);
    assert_eq!(
        texts["utf8.txt"],
        std::fs::read_to_string(d.join("utf8.txt")).expect("read")
    );
    let used = |id: &str| -> String {
        texts.get(id).cloned().unwrap_or_else(|| {
            std::fs::read_to_string(d.join(id)).expect("a UTF-8 input read as it is")
        })
    };
    let pairs = read_jsonl(&out.path().join("pairs.jsonl"));
    // Every pair of the four is a copy, and each range holds the same words on both sides.
    assert_eq!(pairs.len(), 6, "{pairs:?}");
    for p in &pairs {
        assert_eq!(p["kind"], "copy", "{p}");
        let (ta, tb) = (
            used(p["a"].as_str().unwrap()),
            used(p["b"].as_str().unwrap()),
        );
        for e in p["evidence"].as_array().expect("evidence") {
            let r = |side: &str| {
                let v = e[side].as_array().expect("range");
                (
                    v[0].as_u64().unwrap() as usize,
                    v[1].as_u64().unwrap() as usize,
                )
            };
            let ((a0, a1), (b0, b1)) = (r("a"), r("b"));
            let (sa, sb) = (&ta[a0..a1], &tb[b0..b1]);
            let words = |s: &str| {
                s.split_whitespace()
                    .take(8)
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            };
            assert_eq!(words(sa), words(sb), "{p}");
        }
    }
}

/// A syndicated article: every pair of 200 identical copies is reported (anchors held by
/// more than 64 documents used to hide 9,045 of the 19,900).
#[test]
fn every_pair_of_identical_copies_is_reported() {
    let input = tempfile::tempdir().expect("temp dir");
    let t = article();
    let n = 200;
    let lines: String = (0..n)
        .map(|i| serde_json::json!({"id": format!("c{i:03}"), "text": t}).to_string() + "\n")
        .collect();
    write(&input.path().join("copies.jsonl"), lines);
    let out = tempfile::tempdir().expect("temp dir");
    run_ok(&mut scan(
        &["--encoder", "none", "-q"],
        input.path().join("copies.jsonl"),
        out.path(),
    ));
    let pairs = read_jsonl(&out.path().join("pairs.jsonl"));
    assert_eq!(pairs.len(), n * (n - 1) / 2);
    let mut seen = std::collections::HashSet::new();
    for p in &pairs {
        assert_eq!(p["kind"], "copy", "{p}");
        assert!(seen.insert((p["a"].to_string(), p["b"].to_string())), "{p}");
    }
    for d in read_jsonl(&out.path().join("documents.jsonl")) {
        let first = d["id"] == "c000";
        assert_eq!(d["duplicate_of"].is_null(), first, "{d}");
    }
}

/// A group of identical documents beyond the 1,000 whose pairs are all listed is accounted
/// for in linear time: the first member's pairs are listed, every other member names it as
/// `duplicate_of`, and bench/expand_duplicates.py writes every implied pair for a scorer.
#[test]
fn a_large_group_of_copies_is_accounted_for_whole() {
    let input = tempfile::tempdir().expect("temp dir");
    let t = article();
    let n = 1200;
    let mut lines: String = (0..n)
        .map(|i| serde_json::json!({"id": format!("c{i:04}"), "text": t}).to_string() + "\n")
        .collect();
    lines.push_str(
        &(serde_json::json!({"id": "other", "text": "A different text about the weather."})
            .to_string()
            + "\n"),
    );
    write(&input.path().join("copies.jsonl"), lines);
    let out = tempfile::tempdir().expect("temp dir");
    let o = scan(
        &["--encoder", "none", "-q"],
        input.path().join("copies.jsonl"),
        out.path(),
    )
    .output()
    .expect("scan");
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("1200 documents share one main text"), "{err}");
    assert!(err.contains("duplicate_of"), "{err}");
    let pairs = read_jsonl(&out.path().join("pairs.jsonl"));
    assert_eq!(pairs.len(), n - 1, "the first member's pairs");
    assert!(pairs
        .iter()
        .all(|p| p["a"] == "c0000" && p["kind"] == "copy"));
    let docs = read_jsonl(&out.path().join("documents.jsonl"));
    let grouped = docs.iter().filter(|d| d["duplicate_of"] == "c0000").count();
    assert_eq!(grouped, n - 1);
    assert!(docs
        .iter()
        .any(|d| d["id"] == "other" && d["duplicate_of"].is_null()));
    // The scorer's view: every pair of the group.
    let Some(python) = python3() else { return };
    let expanded = tempfile::tempdir().expect("temp dir");
    let o = Command::new(python)
        .arg(repo_root().join("bench/expand_duplicates.py"))
        .arg(out.path())
        .arg(expanded.path())
        .output()
        .expect("expand");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let all = read_jsonl(&expanded.path().join("pairs.jsonl"));
    assert_eq!(all.len(), n * (n - 1) / 2);
    assert!(expanded.path().join("documents.jsonl").is_file());
}

/// python3, when installed (required under CI).
fn python3() -> Option<&'static str> {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "CI: python3 is missing");
        eprintln!("NOTICE: python3 not found; skipping the expansion of duplicate groups");
        return None;
    }
    Some("python3")
}

/// Outputs do not depend on the order of the input: the dev collection shuffled and
/// reversed gives byte-identical pairs.jsonl, documents.jsonl and texts.jsonl (story
/// labels and parents tie-broken by id, not position; documents written in id order).
#[test]
fn outputs_do_not_depend_on_input_order() {
    let Some(shared) = shared() else { return };
    let docs = std::fs::read_to_string(shared.join("corpora/dev/docs.jsonl")).expect("dev");
    let lines: Vec<&str> = docs.lines().filter(|l| !l.trim().is_empty()).collect();
    // A fixed shuffle (a linear congruential generator, so no dependency).
    let mut shuffled = lines.clone();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in (1..shuffled.len()).rev() {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        shuffled.swap(i, (x >> 33) as usize % (i + 1));
    }
    let mut reversed = lines.clone();
    reversed.reverse();
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |name: &str, l: &[&str]| {
        let f = dir.path().join(format!("{name}.jsonl"));
        write(&f, l.join("\n") + "\n");
        let out = dir.path().join(name);
        run_ok(&mut scan(&["--encoder", "none", "-q"], &f, &out));
        let read = |f: &str| std::fs::read(out.join(f)).expect("read");
        (
            read("pairs.jsonl"),
            read("documents.jsonl"),
            read("texts.jsonl"),
        )
    };
    let (p0, d0, t0) = run("original", &lines);
    assert!(!p0.is_empty());
    for (name, l) in [("shuffled", &shuffled), ("reversed", &reversed)] {
        let (p, d, t) = run(name, l);
        assert!(p == p0, "pairs.jsonl differs when the input is {name}");
        assert!(d == d0, "documents.jsonl differs when the input is {name}");
        assert!(t == t0, "texts.jsonl differs when the input is {name}");
    }
}

/// Without a terminal, progress is written as lines (stage, done/total, rate, ETA); `-v`
/// logs each stage; `-q` silences the progress only, not warnings.
#[test]
fn progress_lines_without_a_terminal() {
    let input = tempfile::tempdir().expect("temp dir");
    write(&input.path().join("a.txt"), article());
    write(&input.path().join("b.txt"), article());
    write(
        &input.path().join("r.jsonl"),
        "{\"text\": \"a record without an id\"}\n",
    );
    let outs = tempfile::tempdir().expect("temp dir");
    let out = outs.path().join("out");
    let run = |flags: &[&str]| {
        let o = run_within(
            bin()
                .env("RETRACE_PROGRESS_EVERY", "0")
                .args(["scan", "--encoder", "none"])
                .args(flags)
                .arg(input.path())
                .arg("--out")
                .arg(&out),
            Duration::from_secs(60),
        );
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(0), "{err}");
        err
    };
    let err = run(&["-v"]);
    assert!(
        err.lines()
            .any(|l| l.starts_with("progress: prepare ") && l.contains("/s, eta ")),
        "{err}"
    );
    assert!(err.contains("stage align"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "colour codes on a non-terminal: {err}"
    );
    let err = run(&["-q"]);
    assert!(!err.contains("progress:"), "{err}");
    assert!(
        err.contains("have no id") || err.contains("has no id"),
        "{err}"
    );
}

/// Each encoder's progress is named for it ("embed use-m3", then "embed e5-small" for the
/// fallback), not one "embed" for both. Needs use-m3 installed (a notice when not; a
/// failure under CI, where .ci/run installs it).
#[test]
fn embed_progress_names_the_encoder() {
    let list = run_ok(bin().args(["model", "list"]));
    let installed = String::from_utf8_lossy(&list.stdout)
        .lines()
        .any(|l| l.starts_with("use-m3") && l.contains(" installed "));
    if !installed {
        assert!(
            std::env::var_os("CI").is_none(),
            "use-m3 is not installed under CI"
        );
        eprintln!("NOTICE: use-m3 not installed (retrace model install use-m3); skipping");
        return;
    }
    let input = tempfile::tempdir().expect("temp dir");
    write(&input.path().join("a.txt"), article());
    write(&input.path().join("b.txt"), article());
    let outs = tempfile::tempdir().expect("temp dir");
    let o = run_within(
        bin()
            .env("RETRACE_PROGRESS_EVERY", "0")
            .args(["scan", "--offline", "--fallback-encoder", "none"])
            .arg(input.path())
            .arg("--out")
            .arg(outs.path().join("out")),
        Duration::from_secs(120),
    );
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("progress: embed use-m3 ")),
        "{err}"
    );
}
