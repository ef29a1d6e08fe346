//! The terminal summary of a scan: counts, kinds, languages, which documents rest on which
//! encoder, stories and parents, the strongest pairs and the time of each stage.

use retrace::pipeline::{Scan, Vectors};
use retrace::Relation;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// A short human-readable summary of a scan, with its `top` strongest pairs.
pub fn summary(scan: &Scan, top: usize) -> String {
    let s = &scan.stats;
    let docs: Vec<retrace::ScannedDocument> = scan.documents().collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} documents, {:.1} MB; {} boilerplate lines ({} template shapes); {} candidate pairs; {} related pairs",
        s.documents,
        s.bytes as f64 / 1e6,
        s.boilerplate_lines,
        s.template_shapes,
        s.candidates,
        s.relations
    );
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &scan.relations {
        *by_kind.entry(r.kind.as_str()).or_default() += 1;
    }
    if !by_kind.is_empty() {
        let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(out, "kinds: {}", kinds.join(", "));
    }
    let mut langs: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &docs {
        *langs.entry(d.prepared.lang).or_default() += 1;
    }
    let mut langs: Vec<_> = langs.into_iter().collect();
    langs.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
    let l: Vec<String> = langs
        .iter()
        .take(12)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let _ = writeln!(out, "languages: {}", l.join(", "));
    let langs_of = |v: Vectors| {
        let mut l: Vec<&str> = docs
            .iter()
            .filter(|d| d.vectors == v)
            .map(|d| d.prepared.lang)
            .collect();
        l.sort_unstable();
        l.dedup();
        l.join(", ")
    };
    let count = |v: Vectors| docs.iter().filter(|d| d.vectors == v).count();
    match &scan.encoder {
        Some(e) => {
            let _ = writeln!(
                out,
                "encoder {}: {} sentences embedded; {} documents in languages it covers",
                e.name,
                s.sentences_embedded,
                count(Vectors::Primary),
            );
            let n_fallback = count(Vectors::Fallback);
            if let Some(f) = scan.fallback.as_ref().filter(|_| n_fallback > 0) {
                let _ = writeln!(
                    out,
                    "fallback encoder {}: {} sentences embedded for {} documents in languages {} does not cover ({})",
                    f.name,
                    s.fallback_sentences_embedded,
                    n_fallback,
                    e.name,
                    langs_of(Vectors::Fallback)
                );
            }
            let n_off = count(Vectors::None);
            if n_off > 0 {
                let _ = writeln!(
                    out,
                    "{} documents have lexical evidence only (languages no encoder covers: {})",
                    n_off,
                    langs_of(Vectors::None)
                );
            }
        }
        None => {
            let _ = writeln!(
                out,
                "no encoder: lexical reuse only (no rewrites, translations or same-story pairs)"
            );
        }
    }
    let mut sizes: HashMap<u32, usize> = HashMap::new();
    for d in &docs {
        *sizes.entry(d.story.0).or_default() += 1;
    }
    let multi = sizes.values().filter(|&&n| n > 1).count();
    let roots = docs.iter().filter(|d| d.parent.is_none()).count();
    let _ = writeln!(
        out,
        "{} stories of more than one document; {} documents with a parent, {} without",
        multi,
        docs.len() - roots,
        roots
    );
    let mut rels: Vec<&Relation> = scan.relations.iter().collect();
    rels.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then((x.a, x.b).cmp(&(y.a, y.b)))
    });
    for r in rels.iter().take(top) {
        let _ = writeln!(
            out,
            "  {:<11} {:>5.1}% of {} ⟷ {:>5.1}% of {}  ({} passages)",
            r.kind.as_str(),
            100.0 * r.coverage_a,
            scan.doc(r.a).doc.id,
            100.0 * r.coverage_b,
            scan.doc(r.b).doc.id,
            r.evidence.len()
        );
    }
    if rels.len() > top {
        let _ = writeln!(out, "  ... {} more in pairs.jsonl", rels.len() - top);
    }
    let t: Vec<String> = s
        .timings
        .iter()
        .map(|(k, v)| format!("{k} {v:.2}s"))
        .collect();
    let _ = writeln!(out, "time: {}", t.join(", "));
    out
}
