//! Tests on the shared corpora: the seed corpus and the dev collection (skipped with a
//! notice when ../shared is absent, required under CI).

mod common;
use common::*;
use std::collections::HashSet;

/// The default sentence encoder is not installed: a notice outside CI, a failure under CI.
fn model_missing(what: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{what}: the default encoder is not installed under CI");
    }
    eprintln!(
        "NOTICE: {what}: skipped, the sentence encoder is not installed (retrace model install)"
    );
}

fn range(v: &serde_json::Value) -> (f64, f64) {
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

#[test]
fn seed_corpus_copy_coverage_and_boilerplate() {
    let Some(shared) = shared() else { return };
    let seeds = shared.join("corpora/seeds");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(seeds.join("expected.json")).unwrap())
            .unwrap();
    let out = tempfile::tempdir().unwrap();
    run_ok(&mut scan(&["-q"], &seeds, out.path()));
    let pairs = read_jsonl(&out.path().join("pairs.jsonl"));
    let docs = read_jsonl(&out.path().join("documents.jsonl"));
    assert_eq!(docs.len(), 5);

    // 000/002 is a copy with coverages in range.
    let spec = expected["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["a"] == "000_3a6c4f445c7f6ecb.txt" && p["b"] == "002_df49b81ec52edcc4.txt")
        .unwrap();
    assert_eq!(spec["kind"], "copy");
    let (kind, cov_a, cov_b) = find_pair(
        &pairs,
        "000_3a6c4f445c7f6ecb.txt",
        "002_df49b81ec52edcc4.txt",
    )
    .expect("000/002 found");
    assert_eq!(kind, "copy");
    let (lo, hi) = range(&spec["coverage_of_a_by_b"]);
    assert!(
        cov_a >= lo && cov_a <= hi,
        "coverage of 000 by 002 = {cov_a}, want {lo}..{hi}"
    );
    let (lo, hi) = range(&spec["coverage_of_b_by_a"]);
    assert!(
        cov_b >= lo && cov_b <= hi,
        "coverage of 002 by 000 = {cov_b}, want {lo}..{hi}"
    );

    // Nothing involving 004 is a copy; no pair the ground truth does not call a copy is one.
    for p in &pairs {
        let (a, b) = (p["a"].as_str().unwrap(), p["b"].as_str().unwrap());
        if p["kind"] == "copy" {
            assert!(
                !a.starts_with("004") && !b.starts_with("004"),
                "004 reported as copy: {p}"
            );
            let gold = expected["pairs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| (g["a"] == a && g["b"] == b) || (g["a"] == b && g["b"] == a))
                .unwrap();
            assert_eq!(
                gold["kind"], "copy",
                "{a}/{b} is {} in the ground truth",
                gold["kind"]
            );
        }
    }

    // Every listed boilerplate line is recognised, and no body paragraph is.
    for (id, lines) in expected["boilerplate"].as_object().unwrap() {
        let d = docs.iter().find(|d| d["id"] == id.as_str()).unwrap();
        let found: HashSet<&str> = d["boilerplate_lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for l in lines.as_array().unwrap() {
            assert!(
                found.contains(l.as_str().unwrap()),
                "{id}: boilerplate {l} not recognised; found {found:?}"
            );
        }
    }
    for d in &docs {
        let text = std::fs::read_to_string(seeds.join(d["id"].as_str().unwrap())).unwrap();
        let flagged: HashSet<&str> = d["boilerplate_lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
            let words = para.split_whitespace().count();
            if words >= 12 {
                assert!(
                    !flagged.contains(para),
                    "{}: body paragraph flagged as boilerplate: {para}",
                    d["id"]
                );
                for line in para.lines() {
                    assert!(
                        !flagged.contains(line.trim()) || line.split_whitespace().count() < 12,
                        "{line}"
                    );
                }
            }
        }
    }
}

#[test]
fn dev_collection_scores() {
    let Some(shared) = shared() else { return };
    let dev = shared.join("corpora/dev");
    let (out, run, figures, stdout) = scan_and_score(&shared, "dev");
    let copy_f1 = figures["per_kind_f1"]["copy"].as_f64().unwrap();
    assert!(copy_f1 >= 0.95, "copy F1 {copy_f1} < 0.95");
    let copy_line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("copy"))
        .unwrap();
    let p: f64 = copy_line
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert!(p >= 0.97, "copy precision {p} < 0.97 ({copy_line})");
    assert_eq!(figures["unknown_ids"], 0);
    assert_eq!(figures["bad_lines"], 0);

    // Part 2: relations by meaning, stories and provenance, with the default encoder.
    if run["encoder"].is_null() {
        model_missing("dev collection: rewrites, translations, stories, provenance");
    } else {
        let f = |k: &str| figures[k].as_f64().unwrap_or(0.0);
        // Targets of the issue that hold today.
        assert!(
            f("kind_accuracy") >= 0.90,
            "kind accuracy {}",
            f("kind_accuracy")
        );
        // Stories join reports of one event only (measured 0.967; 0.919 before the stage
        // `events`), and same-story pairs are the same event, not the same topic (F1
        // measured 0.706, P 0.745; 0.196 before).
        assert!(f("story_ari") >= 0.95, "story ARI {}", f("story_ari"));
        let same_story = figures["per_kind_f1"]["same_story"].as_f64().unwrap_or(0.0);
        assert!(same_story >= 0.65, "same_story F1 {same_story}");
        assert!(
            f("reuse_precision") >= 0.95,
            "reuse precision {}",
            f("reuse_precision")
        );
        for (lp, p) in figures["precision_by_language_pair"].as_object().unwrap() {
            if let Some(p) = p.as_f64() {
                assert!(p >= 0.95, "reuse precision {p} for {lp} < 0.95");
            }
        }
        // The targets for reuse F1, parents and roots need the fallback encoder for
        // the languages use-m3 does not cover (uk, is, hr): measured 0.913, 0.892 and 0.954
        // with it; 0.838, 0.790 and 0.958 without.
        if run["fallback_encoder"].is_null() {
            model_missing(
                "dev collection: reuse F1 and parents with the fallback encoder e5-small",
            );
        } else {
            assert!(f("reuse_f1") >= 0.85, "reuse F1 {}", f("reuse_f1"));
            // What the fallback reads: translations into Ukrainian, Icelandic and Croatian
            // (none found without it; measured 0.55, 0.71, 0.77).
            for lp in ["en-uk", "en-is", "en-hr"] {
                let r = figures["recall_by_language_pair"][lp]
                    .as_f64()
                    .unwrap_or(0.0);
                assert!(r >= 0.4, "recall {r} for {lp} with the fallback encoder");
            }
            // Provenance (issue 19 item 4, target 0.95): measured 0.932 (0.889 before the
            // fuller-copy, translation-flow, sibling and whole-version rules).
            assert!(
                f("parent_accuracy") >= 0.92,
                "parent accuracy {}",
                f("parent_accuracy")
            );
            // Roots (target 0.98): measured 0.965 with the fallback encoder (0.951 before).
            assert!(
                f("root_accuracy") >= 0.96,
                "root accuracy {}",
                f("root_accuracy")
            );
        }
        assert!(
            f("root_accuracy") >= 0.95,
            "root accuracy {}",
            f("root_accuracy")
        );
    }

    // No pair may rest on site headers and footers: every reported pair's evidence must lie
    // in text that is not one of the collection's recurring template lines.
    let mut df: std::collections::HashMap<String, usize> = Default::default();
    let mut texts: std::collections::HashMap<String, String> = Default::default();
    for rec in read_jsonl(&dev.join("docs.jsonl")) {
        let t = rec["text"].as_str().unwrap().to_string();
        let lines: HashSet<String> = t
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        for l in lines {
            *df.entry(l).or_default() += 1;
        }
        texts.insert(rec["id"].as_str().unwrap().to_string(), t);
    }
    for p in read_jsonl(&out.path().join("pairs.jsonl")) {
        let ta = &texts[p["a"].as_str().unwrap()];
        for e in p["evidence"].as_array().unwrap() {
            let r = e["a"].as_array().unwrap();
            let s = &ta[r[0].as_u64().unwrap() as usize..r[1].as_u64().unwrap() as usize];
            let template_only = s
                .lines()
                .all(|l| df.get(l.trim()).copied().unwrap_or(0) >= 20);
            assert!(
                !template_only,
                "evidence is template text only: {s:?} in {p}"
            );
        }
    }
}

#[test]
fn seed_corpus_kinds_coverage_stories_and_provenance() {
    let Some(shared) = shared() else { return };
    let seeds = shared.join("corpora/seeds");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(seeds.join("expected.json")).unwrap())
            .unwrap();
    let out = tempfile::tempdir().unwrap();
    run_ok(&mut scan(&["-q"], &seeds, out.path()));
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("run.json")).unwrap())
            .unwrap();
    if run["encoder"].is_null() {
        return model_missing("seed corpus: kinds of all pairs, stories, provenance");
    }
    let pairs = read_jsonl(&out.path().join("pairs.jsonl"));
    let docs = read_jsonl(&out.path().join("documents.jsonl"));
    for spec in expected["pairs"].as_array().unwrap() {
        let (a, b) = (spec["a"].as_str().unwrap(), spec["b"].as_str().unwrap());
        let (kind, ca, cb) =
            find_pair(&pairs, a, b).unwrap_or_else(|| panic!("{a}/{b} not reported"));
        assert_eq!(kind, spec["kind"].as_str().unwrap(), "{a}/{b}");
        if let Some(r) = spec.get("coverage_of_a_by_b") {
            let (lo, hi) = range(r);
            assert!(
                ca >= lo && ca <= hi,
                "{a}/{b}: coverage of a {ca} not in {lo}..{hi}"
            );
        }
        if let Some(r) = spec.get("coverage_of_b_by_a") {
            let (lo, hi) = range(r);
            assert!(
                cb >= lo && cb <= hi,
                "{a}/{b}: coverage of b {cb} not in {lo}..{hi}"
            );
        }
    }
    // One story of five documents.
    let stories: HashSet<&str> = docs.iter().map(|d| d["story"].as_str().unwrap()).collect();
    assert_eq!(stories.len(), 1, "{stories:?}");
    assert_eq!(expected["stories"][0].as_array().unwrap().len(), docs.len());
    // Provenance edges and roots.
    let parent = |id: &str| {
        docs.iter().find(|d| d["id"] == id).unwrap()["parent"]
            .as_str()
            .map(str::to_string)
    };
    for e in expected["provenance"]["edges"].as_array().unwrap() {
        let child = e["child"].as_str().unwrap();
        let got = parent(child).unwrap_or_else(|| panic!("{child} has no parent"));
        let ok: Vec<&str> = e["parent"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            ok.contains(&got.as_str()),
            "{child}: parent {got}, want one of {ok:?}"
        );
        let why = docs.iter().find(|d| d["id"] == child).unwrap()["why"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(!why.is_empty());
    }
    for r in expected["provenance"]["roots"].as_array().unwrap() {
        assert_eq!(
            parent(r.as_str().unwrap()),
            None,
            "{r} should have no parent"
        );
    }
}

#[test]
fn uncovered_languages_are_reported_and_get_no_claims_by_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let f = dir.path().join("docs.jsonl");
    let is1 = "Ráðherrann sagði á miðvikudag að ríkisstjórnin myndi ekki breyta áætlunum sínum fyrir næsta ár. Þingið fjallar um málið í næstu viku og búist er við hörðum umræðum. Stjórnarandstaðan hefur krafist þess að fjárlögin verði dregin til baka. Hagfræðingar vara við því að verðbólga gæti aukist í vor.";
    let is2 = "Forsætisráðherra sagði í gær að ríkisstjórnin héldi fast við áætlanir sínar fyrir komandi ár. Búist er við að þingið ræði málið í næstu viku.";
    let en = "The minister said on Wednesday that the government would not change its plans for next year. Parliament will discuss the matter next week and a heated debate is expected. The opposition has demanded that the budget be withdrawn. Economists warn that inflation could rise in the spring.";
    let lines: Vec<String> = [("i1", is1), ("i2", is2), ("e1", en)]
        .iter()
        .map(|(id, t)| serde_json::json!({"id": id, "text": t}).to_string())
        .collect();
    std::fs::write(&f, lines.join("\n")).unwrap();
    let o = run_ok(&mut scan(&["--fallback-encoder", "none"], &f, out.path()));
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("run.json")).unwrap())
            .unwrap();
    if run["encoder"].is_null() {
        return model_missing("uncovered languages");
    }
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("2 documents have lexical evidence only (languages no encoder covers: is)"),
        "{stdout}"
    );
    let docs = read_jsonl(&out.path().join("documents.jsonl"));
    for d in &docs {
        let covered = d["encoder_covered"].as_bool().unwrap();
        assert_eq!(covered, d["lang"] == "en", "{d}");
        assert_eq!(d["encoder"].as_str(), covered.then_some("use-m3"), "{d}");
    }
    // No rewrite or translation may rest on vectors of an uncovered language.
    for p in read_jsonl(&out.path().join("pairs.jsonl")) {
        assert!(
            p["kind"] == "copy",
            "claim by meaning on an uncovered language: {p}"
        );
    }

    // With the broad-coverage encoder as a fallback, the Icelandic documents are read by it
    // (the dev collection test checks what it finds there); no copy claim changes.
    let out = tempfile::tempdir().unwrap();
    let o = run_ok(&mut scan(
        &["--fallback-encoder", "e5-small"],
        &f,
        out.path(),
    ));
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("run.json")).unwrap())
            .unwrap();
    if run["fallback_encoder"].is_null() {
        return model_missing("fallback encoder (retrace model install e5-small)");
    }
    assert_eq!(run["fallback_encoder"]["documents"], 2, "{run}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("fallback encoder e5-small:")
            && stdout.contains("for 2 documents in languages use-m3 does not cover (is)")
            && !stdout.contains("lexical evidence only"),
        "{stdout}"
    );
    for d in read_jsonl(&out.path().join("documents.jsonl")) {
        let want = if d["lang"] == "en" {
            "use-m3"
        } else {
            "e5-small"
        };
        assert_eq!(d["encoder"], want, "{d}");
        assert_eq!(d["encoder_covered"], true, "{d}");
    }
    for p in read_jsonl(&out.path().join("pairs.jsonl")) {
        let pair = (p["a"].as_str().unwrap(), p["b"].as_str().unwrap());
        assert!(
            matches!(pair, ("e1", "i1") | ("i1", "i2")),
            "i2 is no version of e1: {p}"
        );
    }
}

#[test]
fn derived_short_texts_meet_the_derivation_targets() {
    // bench/derivation.py builds, from the shared corpora, a plagiarism-style set (answers
    // cut, revised, partly copied or written independently from WMT and ECB+ articles) and a
    // grid of synthetic derivations (excerpt shares x edits x placement), scans them and
    // checks its targets (see its docstring); --quick keeps it under a minute.
    let Some(_shared) = shared() else { return };
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(std::env::var_os("CI").is_none(), "CI: python3 is missing");
        eprintln!("NOTICE: no python3; skipping the derivation benchmark");
        return;
    }
    // The targets are those of the default pipeline: they need the sentence encoder.
    let listed = run_ok(bin().args(["model", "list"]));
    let installed = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .any(|l| l.split_whitespace().take(2).eq(["use-m3", "installed"]));
    if !installed {
        model_missing("derivation targets");
        return;
    }
    let o = std::process::Command::new("python3")
        .arg(repo_root().join("bench/derivation.py"))
        .args(["--quick", "--check"])
        .arg("--exe")
        .arg(env!("CARGO_BIN_EXE_retrace"))
        .output()
        .expect("python3 runs the benchmark");
    let out = String::from_utf8_lossy(&o.stdout);
    eprintln!("{out}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "targets missed:\n{out}");
    assert!(out.contains("targets: all met"), "{out}");
}

/// Scan `corpus` (a folder of ../shared/corpora with docs.jsonl and gold.json) with the
/// default options and score it: the run directory, run.json, the scorer's figures and its
/// printed report.
fn scan_and_score(
    shared: &std::path::Path,
    corpus: &str,
) -> (
    tempfile::TempDir,
    serde_json::Value,
    serde_json::Value,
    String,
) {
    let dir = shared.join("corpora").join(corpus);
    let out = tempfile::tempdir().unwrap();
    run_ok(&mut scan(&["-q"], dir.join("docs.jsonl"), out.path()));
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("run.json")).unwrap())
            .unwrap();
    let o = std::process::Command::new("python3")
        .arg(shared.join("tools/score.py"))
        .arg(dir.join("gold.json"))
        .arg(out.path())
        .output()
        .expect("python3 runs the scorer");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    eprintln!("{stdout}");
    let figures = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    (out, run, figures, stdout)
}

#[test]
fn wide_collection_scores() {
    let Some(shared) = shared() else { return };
    let (_out, run, figures, _) = scan_and_score(&shared, "wide");
    let f = |k: &str| figures[k].as_f64().unwrap_or(0.0);
    assert_eq!(figures["unknown_ids"], 0);
    if run["encoder"].is_null() || run["fallback_encoder"].is_null() {
        model_missing("wide collection: relations by meaning, stories and provenance");
        return;
    }
    // Near-verbatim sentences derived by meaning, excerpts with sentences left out and
    // short texts found whole are copies (issue 16: copy F1 ≥ 0.975; measured 0.981, 0.934
    // before), and thin or chance matches (a sentence or two, a handful of beads at e5's
    // background) are not claimed: reuse precision 0.994 (0.980 before).
    let copy_f1 = figures["per_kind_f1"]["copy"].as_f64().unwrap_or(0.0);
    assert!(copy_f1 >= 0.975, "copy F1 {copy_f1} < 0.975");
    assert!(
        f("reuse_precision") >= 0.985,
        "reuse precision {}",
        f("reuse_precision")
    );
    // Every language pair with 10 gold pairs or more: measured ≥ 0.875 (en-pt, 2 false
    // positives of 16), the rest ≥ 0.97.
    let gold: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shared.join("corpora/wide/gold.json")).unwrap(),
    )
    .unwrap();
    let lang = |id: &serde_json::Value| {
        gold["documents"][id.as_str().unwrap()]["lang"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let mut per_pair: std::collections::HashMap<String, usize> = Default::default();
    for p in gold["pairs"].as_array().unwrap() {
        let mut l = [lang(&p["a"]), lang(&p["b"])];
        l.sort();
        *per_pair.entry(l.join("-")).or_default() += 1;
    }
    for (lp, n) in per_pair.iter().filter(|(_, &n)| n >= 10) {
        if let Some(p) = figures["precision_by_language_pair"][lp].as_f64() {
            assert!(
                p >= 0.85,
                "reuse precision {p} for {lp} ({n} gold pairs) < 0.85"
            );
        }
    }
    // Provenance (issue 19: parent ≥ 0.97, roots ≥ 0.99): measured parent 0.981 (0.940
    // before), roots 1.0 (0.985).
    assert!(
        f("parent_accuracy") >= 0.97,
        "parent accuracy {}",
        f("parent_accuracy")
    );
    assert!(
        f("root_accuracy") >= 0.99,
        "root accuracy {}",
        f("root_accuracy")
    );
}
