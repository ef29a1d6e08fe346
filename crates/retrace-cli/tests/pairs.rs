//! `retrace compare --pairs`: many pairs scored in one process, one line out per line in.

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::Path;

const ARTICLE: &str =
    "The town council voted on Tuesday to rebuild the old sea wall near the harbour. \
The storms of January destroyed a large part of the wall near the fish market, officials said. \
The mayor said the work would start in the spring and cost four million euros in all. \
Fishermen welcomed the decision after waiting for many months for an answer from the town.";
const OTHER: &str = "A new bakery opened in the main square this week, selling bread and cakes. \
Its owner trained in Lyon for ten years before coming back to her home town to open it. \
Customers queued from early morning to taste the famous apple pie she learnt to bake there.";

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn compare_pairs(pairs: &Path, extra: &[&str]) -> std::process::Command {
    let mut c = bin();
    c.args(["compare", "--encoder", "none", "--pairs"])
        .arg(pairs)
        .args(extra);
    c
}

fn lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn pairs_come_out_in_order_with_their_fields() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("docs.jsonl");
    let excerpt = &ARTICLE[..ARTICLE.find(" The mayor").unwrap()];
    write_lines(
        &corpus,
        &[
            json!({"id": "full", "text": ARTICLE}).to_string(),
            json!({"id": "bakery", "text": OTHER}).to_string(),
        ],
    );
    let pairs = dir.path().join("pairs.jsonl");
    let copy = format!("{excerpt} Subscribe to our newsletter for more news from the coast.");
    write_lines(
        &pairs,
        &[
            // The excerpt first: coverages follow the order given.
            json!({"pair_id": "p1", "text_a": copy, "text_b": ARTICLE, "gold": 1}).to_string(),
            json!({"pair_id": "p2", "a": "bakery", "b": "full"}).to_string(),
            String::new(),
            json!({"pair_id": "p3", "text_a": ARTICLE, "text_b": OTHER, "lang_a": "en", "lang_b": "en"}).to_string(),
            json!({"pair_id": "p4", "a": "full", "text_b": ARTICLE}).to_string(),
        ],
    );
    let out = run_ok(compare_pairs(&pairs, &["--corpus"]).arg(&corpus));
    let got = lines(&out.stdout);
    assert_eq!(got.len(), 4, "one line per record, blank lines skipped");
    let ids: Vec<&str> = got.iter().map(|v| v["pair_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["p1", "p2", "p3", "p4"]);
    // p1: the excerpt is a copy; it is covered almost whole, the article in part.
    let p1 = &got[0];
    assert_eq!(p1["kind"], "copy");
    assert_eq!(p1["gold"], 1, "other fields are echoed");
    assert!(p1.get("text_a").is_none(), "the texts are not echoed");
    let (ca, cb) = (
        p1["coverage_a"].as_f64().unwrap(),
        p1["coverage_b"].as_f64().unwrap(),
    );
    assert!(ca > 0.7 && cb < 0.7 && cb > 0.3, "{p1}");
    let ev = &p1["evidence"][0];
    let (s, e) = (
        ev["a"][0].as_u64().unwrap() as usize,
        ev["a"][1].as_u64().unwrap() as usize,
    );
    assert!(copy[s..e].starts_with("The town council voted"), "{ev}");
    let (s, e) = (
        ev["b"][0].as_u64().unwrap() as usize,
        ev["b"][1].as_u64().unwrap() as usize,
    );
    assert!(ARTICLE[s..e].starts_with("The town council voted"), "{ev}");
    // p2 and p3: unrelated, with every field present.
    for p in &got[1..3] {
        assert_eq!(p["kind"], Value::Null, "{p}");
        assert_eq!(p["evidence"], json!([]));
        let se = p["same_event"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&se), "{p}");
        assert!(p.get("similarity").is_some() && p.get("shared_entities").is_some());
    }
    assert_eq!(got[1]["a"], "bakery", "ids are echoed");
    // p4: an id on one side, a text on the other: the same text is a full copy.
    assert_eq!(got[3]["kind"], "copy");
    assert_eq!(got[3]["coverage_a"], 1.0);
    assert_eq!(got[3]["coverage_b"], 1.0);
    assert!(
        got[3]["same_event"].as_f64().unwrap() > got[1]["same_event"].as_f64().unwrap(),
        "{got:?}"
    );

    // Deterministic, and --out writes the same lines to a file.
    let file = dir.path().join("out.jsonl");
    run_ok(
        compare_pairs(&pairs, &["--corpus"])
            .arg(&corpus)
            .arg("--out")
            .arg(&file),
    );
    assert_eq!(std::fs::read(&file).unwrap(), out.stdout);
}

#[test]
fn a_bad_line_names_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = dir.path().join("pairs.jsonl");
    write_lines(
        &pairs,
        &[
            json!({"pair_id": "ok", "text_a": ARTICLE, "text_b": OTHER}).to_string(),
            "{\"pair_id\": \"broken\", \"text_a\": ".to_string(),
            json!({"pair_id": "no-b", "text_a": ARTICLE}).to_string(),
            json!({"pair_id": "id", "a": "x", "b": "y"}).to_string(),
        ],
    );
    let o = compare_pairs(&pairs, &[]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("pairs.jsonl:2: malformed pair"), "{err}");
    assert!(err.contains("--skip-bad-records"), "{err}");
    assert!(o.stdout.is_empty(), "nothing written on an error");

    let o = run_ok(&mut compare_pairs(&pairs, &["--skip-bad-records"]));
    let got = lines(&o.stdout);
    assert_eq!(got.len(), 4, "output stays aligned with input");
    assert_eq!(got[0]["pair_id"], "ok");
    assert!(got[0].get("error").is_none());
    assert!(got[0].get("kind").is_some());
    let error = |v: &Value| v["error"].as_str().unwrap_or_default().to_string();
    assert!(error(&got[1]).contains("pairs.jsonl:2: malformed pair: invalid JSON"));
    assert_eq!(got[2]["pair_id"], "no-b");
    assert!(error(&got[2]).contains("pairs.jsonl:3"), "{}", got[2]);
    assert!(error(&got[2]).contains("text_b"), "{}", got[2]);
    assert!(error(&got[3]).contains("no --corpus"), "{}", got[3]);
    let warned = String::from_utf8_lossy(&o.stderr);
    assert!(
        warned.contains("warning: ") && warned.contains("pairs.jsonl:4"),
        "{warned}"
    );
}

/// Pearson correlation.
fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    cov / (vx * vy).sqrt()
}

#[test]
fn semeval_same_event_tracks_the_gold_scores() {
    let Some(shared) = shared() else { return };
    let file = shared.join("corpora/semeval-t8/train.jsonl");
    let listed = run_ok(bin().args(["model", "list"]));
    let installed = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .any(|l| l.split_whitespace().take(2).eq(["use-m3", "installed"]));
    if !installed {
        assert!(
            std::env::var_os("CI").is_none(),
            "use-m3 must be installed under CI"
        );
        eprintln!("NOTICE: use-m3 not installed; skipping the SemEval figures");
        return;
    }
    let o = run_ok(bin().args(["compare", "--pairs"]).arg(&file));
    let got = lines(&o.stdout);
    assert_eq!(got.len(), 1221);
    let score: Vec<f64> = got
        .iter()
        .map(|v| v["same_event"].as_f64().unwrap())
        .collect();
    let gold: Vec<f64> = got
        .iter()
        .map(|v| -v["overall"].as_f64().unwrap())
        .collect();
    let r = pearson(&score, &gold);
    // Same event (overall <= 1.5) against unrelated (>= 3.5), cut at 0.5.
    let (mut tp, mut fp, mut fneg) = (0, 0, 0);
    for (s, g) in score.iter().zip(&gold) {
        let (same, other) = (-g <= 1.5, -g >= 3.5);
        match (same || other, *s >= 0.5) {
            (false, _) => {}
            (true, true) if same => tp += 1,
            (true, true) => fp += 1,
            (true, false) if same => fneg += 1,
            (true, false) => {}
        }
    }
    let f1 = 2.0 * tp as f64 / (2 * tp + fp + fneg) as f64;
    eprintln!("SemEval train: Pearson {r:.3}, F1 {f1:.3}");
    assert!(r >= PEARSON_MEASURED - 0.02, "Pearson {r:.3}");
    assert!(f1 >= F1_MEASURED - 0.02, "F1 {f1:.3}");
}

/// Measured on SemEval train with the default encoders (README, `bench/semeval.py`).
const PEARSON_MEASURED: f64 = 0.753;
const F1_MEASURED: f64 = 0.894;
