//! End-to-end tests of `retrace scan` and `retrace compare` on the example corpus and on
//! bad input.

mod common;
use common::*;
use std::io::Write;

#[test]
fn example_corpus_copy_excerpt_and_unrelated() {
    let out = tempfile::tempdir().unwrap();
    let o = run_ok(
        bin()
            .args(["scan", "examples/news", "--out"])
            .arg(out.path())
            .current_dir(repo_root()),
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("related pairs"), "{stdout}");
    let pairs = read_jsonl(&out.path().join("pairs.jsonl"));
    let (kind, c_rep, c_orig) = find_pair(
        &pairs,
        "coastal-news-republished.txt",
        "harbour-original.txt",
    )
    .expect("copy found");
    assert_eq!(kind, "copy");
    assert!(c_rep > 0.95 && c_orig > 0.95, "{c_rep} {c_orig}");
    let (kind, c_ex, c_src) = find_pair(&pairs, "weekly-digest-excerpt.md", "harbour-original.txt")
        .expect("excerpt found");
    assert_eq!(kind, "copy");
    assert!(c_ex > 0.8 && c_src < 0.35, "{c_ex} {c_src}");
    // Documents that share only the site's header and footer are not related.
    for p in &pairs {
        let ids = [p["a"].as_str().unwrap(), p["b"].as_str().unwrap()];
        assert!(
            !ids.contains(&"coastal-news-festival.txt")
                && !ids.contains(&"coastal-news-library.html"),
            "template-only pair reported: {p}"
        );
    }
    let docs = read_jsonl(&out.path().join("documents.jsonl"));
    assert_eq!(docs.len(), 5);
    let lib = docs
        .iter()
        .find(|d| d["id"] == "coastal-news-library.html")
        .unwrap();
    let bp: Vec<&str> = lib["boilerplate_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        bp.contains(&"Coastal News Network | Home | Local | Weather"),
        "{bp:?}"
    );
    assert!(
        bp.contains(&"© 2024 Coastal News Network. All rights reserved."),
        "{bp:?}"
    );
    assert_eq!(lib["title"], "New library opens");
    assert_eq!(lib["lang"], "en");
    for d in &docs {
        for k in [
            "id",
            "lang",
            "chars",
            "boilerplate_lines",
            "story",
            "parent",
        ] {
            assert!(d.get(k).is_some(), "documents.jsonl lacks {k}: {d}");
        }
    }
    for p in &pairs {
        for k in [
            "a",
            "b",
            "kind",
            "coverage_a",
            "coverage_b",
            "score",
            "evidence",
        ] {
            assert!(p.get(k).is_some(), "pairs.jsonl lacks {k}: {p}");
        }
    }
}

#[test]
fn evidence_ranges_point_at_matching_text() {
    let out = tempfile::tempdir().unwrap();
    run_ok(
        bin()
            .args(["scan", "examples/news", "-q", "--out"])
            .arg(out.path())
            .current_dir(repo_root()),
    );
    let pairs = read_jsonl(&out.path().join("pairs.jsonl"));
    let dir = repo_root().join("examples/news");
    for p in pairs {
        let ta = std::fs::read_to_string(dir.join(p["a"].as_str().unwrap())).unwrap();
        let tb = std::fs::read_to_string(dir.join(p["b"].as_str().unwrap())).unwrap();
        for e in p["evidence"].as_array().unwrap() {
            let ra = e["a"].as_array().unwrap();
            let rb = e["b"].as_array().unwrap();
            let sa = &ta[ra[0].as_u64().unwrap() as usize..ra[1].as_u64().unwrap() as usize];
            let sb = &tb[rb[0].as_u64().unwrap() as usize..rb[1].as_u64().unwrap() as usize];
            let wa: Vec<String> = sa
                .split_whitespace()
                .take(6)
                .map(str::to_lowercase)
                .collect();
            let wb: Vec<String> = sb
                .split_whitespace()
                .take(6)
                .map(str::to_lowercase)
                .collect();
            assert_eq!(wa, wb, "evidence starts differ:\n{sa}\n{sb}");
        }
    }
}

#[test]
fn output_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for d in [&a, &b] {
        run_ok(
            bin()
                .args(["scan", "examples/news", "-q", "--out"])
                .arg(d.path())
                .current_dir(repo_root()),
        );
    }
    for f in ["pairs.jsonl", "documents.jsonl"] {
        assert_eq!(
            std::fs::read(a.path().join(f)).unwrap(),
            std::fs::read(b.path().join(f)).unwrap(),
            "{f} differs between runs"
        );
    }
}

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
fn bad_files_are_skipped_or_decoded_with_warnings() {
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(repo_root().join("examples/news/harbour-original.txt")).unwrap();
    write(input.path(), "good.txt", text.as_bytes());
    let mut bad = text.clone().into_bytes();
    bad.insert(40, 0xff);
    write(input.path(), "latin1.txt", &bad);
    write(
        input.path(),
        "binary.txt",
        &[0u8, 1, 2, 3, 0, 159, 146, 150],
    );
    write(input.path(), "empty.txt", b"  \n\n ");
    write(input.path(), "notes.pdf", b"%PDF-1.4");
    std::os::unix::fs::symlink(
        input.path().join("missing-target"),
        input.path().join("dangling.txt"),
    )
    .unwrap();
    let o = run_ok(&mut scan(&[], input.path(), out.path()));
    let err = String::from_utf8_lossy(&o.stderr);
    // Not UTF-8: decoded as the legacy encoding its bytes suggest, with a warning.
    assert!(
        err.contains("latin1.txt: not UTF-8; decoded as windows-1252"),
        "{err}"
    );
    assert!(
        err.contains("binary.txt") && err.contains("binary"),
        "{err}"
    );
    assert!(err.contains("empty.txt") && err.contains("empty"), "{err}");
    assert!(
        err.contains("dangling.txt") && err.contains("cannot read"),
        "{err}"
    );
    assert!(err.contains("read 2 documents"), "{err}");
    assert!(
        err.contains("skipped 3 (1 binary file, 1 empty document, 1 unreadable file)"),
        "{err}"
    );
    assert!(
        err.contains("1 files with other extensions not read"),
        "{err}"
    );
    let docs = read_jsonl(&out.path().join("documents.jsonl"));
    assert_eq!(docs.len(), 2);
    let pairs = read_jsonl(&out.path().join("pairs.jsonl"));
    let (kind, _, _) =
        find_pair(&pairs, "good.txt", "latin1.txt").expect("lossy copy still matched");
    assert_eq!(kind, "copy");
}

#[test]
fn malformed_jsonl_is_an_error_naming_file_and_line() {
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let f = input.path().join("docs.jsonl");
    std::fs::write(&f, "{\"id\":\"a\",\"text\":\"hello there\"}\n{\"id\":\"b\",\"text\":\n{\"id\":\"c\",\"text\":\"more text\"}\n").unwrap();
    let o = scan(&[], &f, out.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("docs.jsonl:2") && err.contains("malformed record"),
        "{err}"
    );
    // With --skip-bad-records the record is skipped with a warning and the rest is read.
    let o = run_ok(&mut scan(&["--skip-bad-records"], &f, out.path()));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("docs.jsonl:2") && err.contains("skipped 1 (1 malformed record)"),
        "{err}"
    );
    assert_eq!(read_jsonl(&out.path().join("documents.jsonl")).len(), 2);
}

#[test]
fn missing_text_field_and_duplicate_ids_are_errors() {
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let f = input.path().join("d.jsonl");
    std::fs::write(&f, "{\"id\":\"a\",\"body\":\"x y\"}\n").unwrap();
    let o = scan(&[], &f, out.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("d.jsonl:1: malformed record: no \"text\" field"));
    // Field mapping fixes it.
    run_ok(&mut scan(&["--text-field", "body"], &f, out.path()));
    std::fs::write(
        &f,
        "{\"id\":\"a\",\"text\":\"one two\"}\n{\"id\":\"a\",\"text\":\"three four\"}\n",
    )
    .unwrap();
    let o = scan(&[], &f, out.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("d.jsonl:2: duplicate id \"a\""), "{err}");
}

#[test]
fn gzip_jsonl_stdin_and_field_mapping() {
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(repo_root().join("examples/news/harbour-original.txt")).unwrap();
    let rec = |id: &str, t: &str| {
        serde_json::json!({"doc": id, "body": t, "published": "2024-02-14", "link": format!("https://example.org/{id}"), "headline": "H"}).to_string()
    };
    let f = input.path().join("docs.jsonl.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&f).unwrap(),
        flate2::Compression::default(),
    );
    writeln!(gz, "{}", rec("x1", &text)).unwrap();
    gz.finish().unwrap();
    let mut child = bin()
        .args([
            "scan",
            "-q",
            "--id-field",
            "doc",
            "--text-field",
            "body",
            "--date-field",
            "published",
            "--url-field",
            "link",
            "--title-field",
            "headline",
        ])
        .arg(&f)
        .arg("-")
        .arg("--out")
        .arg(out.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{}", rec("x2", &text)).unwrap();
    assert!(child.wait().unwrap().success());
    let docs = read_jsonl(&out.path().join("documents.jsonl"));
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["id"], "x1");
    assert_eq!(docs[0]["date"], "2024-02-14");
    assert_eq!(docs[1]["url"], "https://example.org/x2");
    assert_eq!(docs[1]["title"], "H");
    let pairs = read_jsonl(&out.path().join("pairs.jsonl"));
    assert_eq!(find_pair(&pairs, "x1", "x2").unwrap().0, "copy");
}

#[test]
fn compare_explains_a_pair() {
    let o = run_ok(
        bin()
            .args([
                "compare",
                "examples/news/weekly-digest-excerpt.md",
                "examples/news/harbour-original.txt",
            ])
            .current_dir(repo_root()),
    );
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("kind: copy"), "{s}");
    assert!(s.contains("passage 1"), "{s}");
    assert!(s.contains("moored their boats"), "{s}");
    let o = run_ok(
        bin()
            .args([
                "compare",
                "examples/news/coastal-news-festival.txt",
                "examples/news/harbour-original.txt",
            ])
            .current_dir(repo_root()),
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("kind: unrelated"));
}

#[test]
fn compare_says_which_rule_a_near_miss_failed_and_by_how_much() {
    let dir = tempfile::tempdir().unwrap();
    let source =
        std::fs::read_to_string(repo_root().join("examples/news/harbour-original.txt")).unwrap();
    // A new text on another subject quoting 20 words of the article verbatim: too little
    // to claim (a lexical excerpt needs 25 verbatim tokens).
    let quote = "Mayor Ines Dalby said the decision was overdue. \"Every week we wait, the water \
        takes a little more of the promenade,\" she said";
    assert!(source.contains("Mayor Ines Dalby said the decision was overdue."));
    let text = format!(
        "The bakery on the main square reopened this week after a long renovation, its owner \
         said, and customers queued from early morning. {quote}, one customer recalled while \
         waiting for bread. The new ovens were built by a firm from the next valley and the \
         shop will now open on Sundays too."
    );
    write(dir.path(), "quote.txt", text.as_bytes());
    let o = run_ok(
        bin()
            .args(["compare", "--encoder", "none"])
            .arg(dir.path().join("quote.txt"))
            .arg(repo_root().join("examples/news/harbour-original.txt")),
    );
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("kind: unrelated"), "{s}");
    assert!(s.contains("lexical alignment only"), "{s}");
    let excerpt = s
        .lines()
        .find(|l| l.trim_start().starts_with("lexical excerpt"))
        .unwrap_or_else(|| panic!("no line for the excerpt rule: {s}"));
    assert!(excerpt.contains("missed"), "{excerpt}");
    assert!(
        excerpt.contains("verbatim tokens") && excerpt.contains("≥ 25.00 ✗ (by"),
        "{excerpt}"
    );
    // The same quote in a text of its own length is an excerpt: a copy, and the rule met.
    write(dir.path(), "excerpt.txt", format!("{quote}.").as_bytes());
    let o = run_ok(
        bin()
            .args(["compare", "--encoder", "none"])
            .arg(dir.path().join("excerpt.txt"))
            .arg(repo_root().join("examples/news/harbour-original.txt")),
    );
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("kind: copy"), "{s}");
    assert!(
        s.lines()
            .any(|l| l.trim_start().starts_with("copy") && l.contains("met:")),
        "{s}"
    );
}

#[test]
fn usage_errors_exit_2_and_missing_input_exits_1() {
    let o = bin().args(["scan"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = bin()
        .args(["scan", "/nonexistent/path", "--out", "/tmp/x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("/nonexistent/path: no such file or directory")
    );
    let o = run_ok(bin().args(["scan", "--help"]));
    let h = String::from_utf8_lossy(&o.stdout);
    for flag in [
        "--out",
        "--id-field",
        "--text-field",
        "--date-field",
        "--url-field",
        "--title-field",
        "--skip-bad-records",
    ] {
        assert!(h.contains(flag), "help lacks {flag}");
    }
}

#[test]
fn device_choice_is_validated_and_a_missing_gpu_is_a_clear_error() {
    let o = bin().args(["embed", "--device", "tpu"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected cpu, cuda or cuda:N"));
    // `--device cuda` in a build without the `cuda` feature (or on a machine without a
    // GPU) fails when the transformer encoder opens, saying why; it never falls back
    // silently. Needs the e5-small model; without it the error names the install command.
    let mut cmd = bin();
    cmd.args(["embed", "--model", "e5-small", "--device", "cuda:0"])
        .stdin(std::process::Stdio::null());
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no GPU support")
            || err.contains("no CUDA driver")
            || err.contains("retrace model install e5-small"),
        "{err}"
    );
}

#[test]
fn precision_is_validated_and_int8_vectors_stay_close_to_f32() {
    let o = bin()
        .args(["embed", "--precision", "int4"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected auto, f32 or int8"));
    let embed = |precision: &str, kernel: Option<&str>| {
        let mut cmd = bin();
        cmd.args(["embed", "--precision", precision]);
        if let Some(k) = kernel {
            cmd.env("RETRACE_INT8_KERNEL", k);
        }
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all("The harbour reopened on Monday.\nLe port a rouvert lundi.\n".as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let f32_run = embed("f32", None);
    if !f32_run.status.success() {
        let err = String::from_utf8_lossy(&f32_run.stderr);
        assert!(err.contains("retrace model install use-m3"), "{err}");
        assert!(
            std::env::var_os("CI").is_none(),
            "CI: use-m3 missing: {err}"
        );
        eprintln!("NOTICE: use-m3 is not installed; skipping the int8 comparison");
        return;
    }
    // A kernel this CPU does not run (or a made-up one) is an error naming the variable.
    let bad = embed("int8", Some("avx9000"));
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("RETRACE_INT8_KERNEL"));
    let vectors = |o: &std::process::Output| -> Vec<Vec<f64>> {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["vector"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect()
            })
            .collect()
    };
    let want = vectors(&f32_run);
    // The portable kernel runs everywhere and gives the same vectors as the SIMD ones.
    let portable = embed("int8", Some("portable"));
    assert!(portable.status.success());
    let got = vectors(&portable);
    assert_eq!(got.len(), 2);
    for (g, w) in got.iter().zip(&want) {
        let cos: f64 = g.iter().zip(w).map(|(a, b)| a * b).sum();
        assert!(cos > 0.995 && cos < 1.0 + 1e-6, "int8 vs f32 cosine {cos}");
        assert!(g != w, "int8 must differ from f32 in the last bits");
    }
    let auto = embed("int8", None);
    assert_eq!(
        vectors(&auto),
        got,
        "the default kernel differs from the portable one"
    );
}
