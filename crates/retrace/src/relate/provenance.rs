//! Provenance: the document each one most likely derives from, with a short reason.
//!
//! Over the reuse relations (copy, rewrite, translation), each relation gets a direction
//! when the evidence gives one: containment (an excerpt, or a partial translation, derives
//! from the fuller text: the side covered clearly more is the derived one), for a copy whose
//! sides cover each other alike the fuller text in tokens (one language, so counts compare),
//! translation support (a text with several independent versions in another language is
//! their source: independent translations of one text are rewrites of each other; excerpts
//! are no versions of their own) and an earlier date (metadata or dateline) mark the source.
//! Containment speaks first for copies and translations, then support (translations) or
//! size (copies), then dates; dates speak first for rewrites. A translation left open
//! follows the way the collection's other whole translations between its two languages
//! clearly flow, else the sentence counts (translators split more than they join). Each
//! connected group has one root: a document nothing is known to precede, the one with the
//! most independent translations, then the earliest dated, then the one accounting for the
//! most of its neighbours' text (aligned content, never token counts across languages).
//! Every other document takes as parent a neighbour that is not known to derive from it,
//! preferring a known direction, then a neighbour that is not a sibling (a rewrite that
//! translates one of its own sources: two translations of one text), then a copy (verbatim
//! reuse is the most direct derivation), then the neighbour closest to the root, then
//! rewrite over translation, then the one covering it most. Cycles are broken by attaching
//! to the root.
use super::union_find::UnionFind;
use super::{Kind, Relation};
use crate::id::DocId;
use crate::prepare::dates::Date;
use crate::prepare::langid::LangCode;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::VecDeque;

/// Provenance settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvenanceOptions {
    /// Coverage difference that makes the more covered side the derived one.
    pub containment_margin: f64,
    /// The same for translations, whose coverage is measured through sentence alignment
    /// (a split or merged sentence, a dropped caption) and so needs a wider margin.
    pub translation_containment_margin: f64,
}

impl Default for ProvenanceOptions {
    fn default() -> Self {
        ProvenanceOptions {
            containment_margin: 0.1,
            translation_containment_margin: 0.2,
        }
    }
}

/// What provenance knows of a document besides its relations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DocFacts {
    /// Its date (metadata or dateline).
    pub date: Option<Date>,
    /// Completeness: main-text tokens.
    pub size: u32,
    /// Main-text sentences.
    pub sentences: u32,
    /// Language (ISO 639-1).
    #[serde(deserialize_with = "crate::prepare::langid::deserialize_code")]
    pub lang: LangCode,
}

/// A parent edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parent {
    /// The document it derives from.
    pub parent: DocId,
    /// Which evidence decided, in words.
    pub why: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dir {
    /// The first document is the source of the second.
    Forward,
    Backward,
    Unknown,
}

struct Edge<'a> {
    other: DocId,
    rel: &'a Relation,
    /// Direction from `other` to this document: Forward = other is the source.
    dir: Dir,
    reason: Why,
}

/// What gave a relation its direction (put in words only for the parents chosen).
#[derive(Clone, Copy, Debug)]
enum Why {
    /// The source has this many independent translations.
    Support(u32),
    /// The source is dated earlier: (source's date, the other's).
    Dated(Date, Date),
    /// The source contains the other: (share of the other covered, share of the source).
    Contains(f64, f64),
    /// The source has fewer sentences: (its count, the other's).
    Sentences(u32, u32),
    /// Translations between the two languages flow this way in the collection: (source
    /// language, target language, translations decided that way, decided either way).
    Flow(LangCode, LangCode, u32, u32),
    /// Same language, the source is the fuller text: (its main-text tokens, the other's).
    Fuller(u32, u32),
    /// Nothing tells.
    Unknown,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Why::Support(n) => write!(f, "has {n} independent translations"),
            Why::Dated(a, b) => write!(f, "is dated earlier ({a} < {b})"),
            Why::Contains(x, y) => write!(
                f,
                "contains it ({:.0}% of it vs {:.0}% of the parent)",
                100.0 * x,
                100.0 * y
            ),
            Why::Sentences(x, y) => write!(
                f,
                "has fewer sentences ({x} vs {y}; translations split more than they join)"
            ),
            Why::Fuller(x, y) => write!(
                f,
                "is the fuller text in the same language ({x} vs {y} tokens, each covering \
                 the other alike)"
            ),
            Why::Flow(x, y, k, n) => write!(
                f,
                "is in the language translations flow from ({x} to {y} in {k} of the {n} \
                 translations between them whose direction is known)"
            ),
            Why::Unknown => write!(f, "no date or containment tells the direction"),
        }
    }
}

fn kind_rank(k: Kind) -> u8 {
    match k {
        Kind::Copy => 0,
        Kind::Rewrite => 1,
        Kind::Translation => 2,
        Kind::SameStory => 3,
    }
}

/// Direction of relation `r` between `a`=r.a and `b`=r.b, with the reason. For a copy or a
/// translation, containment speaks first (an excerpt derives from the fuller text whatever
/// the dates say: republications are often dated by when they were scraped), then, for a
/// translation, translation support; for a rewrite, dates speak first.
fn direction(
    r: &Relation,
    facts: &[DocFacts],
    support: &[u32],
    opts: &ProvenanceOptions,
) -> (Dir, Why) {
    let (fa, fb) = (&facts[r.a.index()], &facts[r.b.index()]);
    // A translation between a text with several independent versions in the other's
    // language and a text with one version in the first's: the first is the source.
    let by_support = || -> Option<(Dir, Why)> {
        let (sa, sb) = (support[r.a.index()], support[r.b.index()]);
        if sa >= 2 && sb <= 1 {
            Some((Dir::Forward, Why::Support(sa)))
        } else if sb >= 2 && sa <= 1 {
            Some((Dir::Backward, Why::Support(sb)))
        } else {
            None
        }
    };
    let by_date = || -> Option<(Dir, Why)> {
        let (da, db) = (fa.date?, fb.date?);
        match da.strictly_cmp(&db)? {
            Ordering::Less => Some((Dir::Forward, Why::Dated(da, db))),
            Ordering::Greater => Some((Dir::Backward, Why::Dated(db, da))),
            Ordering::Equal => None,
        }
    };
    // coverage_b = share of b covered by a: b contained in a → a is the source.
    let by_containment = || -> Option<(Dir, Why)> {
        let m = if r.kind == Kind::Translation {
            opts.translation_containment_margin
        } else {
            opts.containment_margin
        };
        if r.coverage_b - r.coverage_a > m {
            Some((Dir::Forward, Why::Contains(r.coverage_b, r.coverage_a)))
        } else if r.coverage_a - r.coverage_b > m {
            Some((Dir::Backward, Why::Contains(r.coverage_a, r.coverage_b)))
        } else {
            None
        }
    };
    // In one language, token counts compare: when each text covers the other alike (a
    // light edit, a trimmed republication), the fuller one is the source.
    let by_size = || -> Option<(Dir, Why)> {
        if fa.lang != fb.lang {
            return None;
        }
        match fa.size.cmp(&fb.size) {
            Ordering::Greater => Some((Dir::Forward, Why::Fuller(fa.size, fb.size))),
            Ordering::Less => Some((Dir::Backward, Why::Fuller(fb.size, fa.size))),
            Ordering::Equal => None,
        }
    };
    let found = if r.kind == Kind::Copy {
        by_containment().or_else(by_size).or_else(by_date)
    } else if r.kind == Kind::Translation {
        by_containment().or_else(by_support).or_else(by_date)
    } else {
        by_date().or_else(by_containment)
    };
    found.unwrap_or((Dir::Unknown, Why::Unknown))
}

/// Which way translations between two languages flow in the collection: for every ordered
/// language pair, the whole translations whose direction support or a date decided.
type Flows = std::collections::HashMap<(LangCode, LangCode), u32>;

/// Direction of a translation that containment, support and dates leave open. When the
/// collection's other translations between the two languages clearly flow one way (at least
/// `FLOW_MIN` known, at least `FLOW_SHARE` of them that way: a site that translates the
/// press of one country, a set of sources and their references), this one is taken to flow
/// that way too. Otherwise the sentence counts speak: translators split long sentences more
/// often than they join short ones (on the dev collection, where a full translation and its
/// source differ in sentence count, the translation has more in 73% of 145 cases, in every
/// language pair), a weak signal, heard last.
fn translation_fallback(r: &Relation, facts: &[DocFacts], flows: &Flows) -> (Dir, Why) {
    let (fa, fb) = (&facts[r.a.index()], &facts[r.b.index()]);
    let ab = flows.get(&(fa.lang, fb.lang)).copied().unwrap_or(0);
    let ba = flows.get(&(fb.lang, fa.lang)).copied().unwrap_or(0);
    let n = ab + ba;
    if n >= FLOW_MIN && fa.lang != fb.lang {
        if f64::from(ab) >= FLOW_SHARE * f64::from(n) {
            return (Dir::Forward, Why::Flow(fa.lang, fb.lang, ab, n));
        }
        if f64::from(ba) >= FLOW_SHARE * f64::from(n) {
            return (Dir::Backward, Why::Flow(fb.lang, fa.lang, ba, n));
        }
    }
    let (na, nb) = (fa.sentences, fb.sentences);
    match na.cmp(&nb) {
        Ordering::Less => (Dir::Forward, Why::Sentences(na, nb)),
        Ordering::Greater => (Dir::Backward, Why::Sentences(nb, na)),
        Ordering::Equal => (Dir::Unknown, Why::Unknown),
    }
}

/// Fewest known translations between two languages that give their flow.
const FLOW_MIN: u32 = 5;
/// Share of them that must go one way.
const FLOW_SHARE: f64 = 0.8;

/// Translation support of every document: the largest number of distinct versions of it in
/// one other language. Two independent translations of one text into the same language are
/// rewrites of each other, not copies; one text with several such translations is far more
/// likely their common source than a translation of one of them. A version copied into
/// another (contained in it by more than `margin`: an excerpt) is no version of its own;
/// versions that copy each other whole (a republication) count once.
fn translation_support(relations: &[Relation], facts: &[DocFacts], margin: f64) -> Vec<u32> {
    let n = facts.len();
    let lang = |d: DocId| facts[d.index()].lang;
    let mut trans: Vec<Vec<DocId>> = vec![Vec::new(); n];
    // Copies: pair → (coverage of a, coverage of b).
    let mut copies = std::collections::HashMap::new();
    for r in relations {
        match r.kind {
            Kind::Translation => {
                trans[r.a.index()].push(r.b);
                trans[r.b.index()].push(r.a);
            }
            Kind::Copy => {
                copies.insert(r.pair(), (r.coverage_a, r.coverage_b));
            }
            _ => {}
        }
    }
    // How much of `x` a copy `x`–`y` covers, and of `y`.
    let copy = |x: DocId, y: DocId| {
        if x == y {
            return None;
        }
        let &(ca, cb) = copies.get(&crate::id::Pair::new(x, y))?;
        Some(if x < y { (ca, cb) } else { (cb, ca) })
    };
    trans
        .iter()
        .map(|ts| {
            let mut best = 0u32;
            let mut ts = ts.clone();
            ts.sort_by(|&x, &y| lang(x).cmp(lang(y)).then(x.cmp(&y)));
            for same in ts.chunk_by(|&x, &y| lang(x) == lang(y)) {
                let excerpt = |x: DocId| {
                    same.iter()
                        .any(|&y| copy(x, y).is_some_and(|(cx, cy)| cx - cy > margin))
                };
                let whole: Vec<DocId> = same.iter().copied().filter(|&x| !excerpt(x)).collect();
                // Union the whole versions joined by copies; count the groups.
                let mut groups = UnionFind::new(whole.len());
                for i in 0..whole.len() {
                    for j in i + 1..whole.len() {
                        if copy(whole[i], whole[j]).is_some() {
                            groups.union(i as u32, j as u32);
                        }
                    }
                }
                best = best.max(groups.groups() as u32);
            }
            best
        })
        .collect()
}

/// Parents for the documents `facts` describes (one each, in order) from the reuse
/// relations.
pub fn provenance(
    relations: &[Relation],
    facts: &[DocFacts],
    opts: &ProvenanceOptions,
) -> Vec<Option<Parent>> {
    let n = facts.len();
    let support = translation_support(relations, facts, opts.containment_margin);
    let reuse: Vec<&Relation> = relations
        .iter()
        .filter(|r| r.kind != Kind::SameStory)
        .collect();
    let mut dirs: Vec<(Dir, Why)> = reuse
        .iter()
        .map(|r| direction(r, facts, &support, opts))
        .collect();
    let mut flows = Flows::new();
    for (r, &(d, why)) in reuse.iter().zip(&dirs) {
        // Whole translations only: an excerpt in one language is contained in the other
        // language's full text whichever way the full texts were translated.
        if matches!(why, Why::Contains(..)) {
            continue;
        }
        let (src, dst) = match d {
            Dir::Forward => (r.a, r.b),
            Dir::Backward => (r.b, r.a),
            Dir::Unknown => continue,
        };
        if r.kind == Kind::Translation {
            *flows
                .entry((facts[src.index()].lang, facts[dst.index()].lang))
                .or_insert(0) += 1;
        }
    }
    for (r, d) in reuse.iter().zip(dirs.iter_mut()) {
        if r.kind == Kind::Translation && d.0 == Dir::Unknown {
            *d = translation_fallback(r, facts, &flows);
        }
    }
    let mut adj: Vec<Vec<Edge>> = (0..n).map(|_| Vec::new()).collect();
    for (&r, &(d, why)) in reuse.iter().zip(&dirs) {
        let (to_b, to_a) = match d {
            Dir::Forward => (Dir::Forward, Dir::Backward),
            Dir::Backward => (Dir::Backward, Dir::Forward),
            Dir::Unknown => (Dir::Unknown, Dir::Unknown),
        };
        adj[r.b.index()].push(Edge {
            other: r.a,
            rel: r,
            dir: to_b,
            reason: why,
        });
        adj[r.a.index()].push(Edge {
            other: r.b,
            rel: r,
            dir: to_a,
            reason: why,
        });
    }
    // Connected groups.
    let mut group = vec![u32::MAX; n];
    let mut groups: Vec<Vec<DocId>> = Vec::new();
    for s in DocId::all(n) {
        if group[s.index()] != u32::MAX || adj[s.index()].is_empty() {
            continue;
        }
        let g = groups.len() as u32;
        let mut members = vec![s];
        group[s.index()] = g;
        let mut q = VecDeque::from([s]);
        while let Some(x) = q.pop_front() {
            for e in &adj[x.index()] {
                if group[e.other.index()] == u32::MAX {
                    group[e.other.index()] = g;
                    members.push(e.other);
                    q.push_back(e.other);
                }
            }
        }
        members.sort_unstable();
        groups.push(members);
    }
    let mut out: Vec<Option<Parent>> = vec![None; n];
    // Distance from the group's root, reset member by member after each group (one
    // collection-sized list, not one a group).
    let mut dist = vec![u32::MAX; n];
    for members in &groups {
        // Root: nothing known to precede it; earliest date; most complete; smallest index.
        let preceded = |d: DocId| adj[d.index()].iter().any(|e| e.dir == Dir::Forward);
        let mut cands: Vec<DocId> = members.iter().copied().filter(|&d| !preceded(d)).collect();
        if cands.is_empty() {
            cands = members.clone();
        }
        // Completeness by aligned content, whatever the languages: how much of its
        // neighbours' text a document accounts for (a source covers each of its versions;
        // a version covers its source and, less, the other versions).
        let accounts = |d: DocId| -> f64 {
            adj[d.index()]
                .iter()
                .map(|e| e.rel.coverage_of(e.other))
                .sum()
        };
        cands.sort_by(|&x, &y| {
            let (fx, fy) = (&facts[x.index()], &facts[y.index()]);
            let by_date = match (fx.date, fy.date) {
                (Some(a), Some(b)) => a.strictly_cmp(&b).unwrap_or(Ordering::Equal),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            };
            support[y.index()]
                .cmp(&support[x.index()])
                .then(by_date)
                .then(accounts(y).total_cmp(&accounts(x)))
                .then(x.cmp(&y))
        });
        let root = cands[0];
        // Distance from the root.
        dist[root.index()] = 0;
        let mut q = VecDeque::from([root]);
        while let Some(x) = q.pop_front() {
            for e in &adj[x.index()] {
                if dist[e.other.index()] == u32::MAX {
                    dist[e.other.index()] = dist[x.index()] + 1;
                    q.push_back(e.other);
                }
            }
        }
        for &v in members {
            if v == root {
                continue;
            }
            // Sources known to have translated `v`.
            let translated_from = |d: DocId, s: DocId| {
                adj[d.index()].iter().any(|f| {
                    f.other == s && f.rel.kind == Kind::Translation && f.dir == Dir::Forward
                })
            };
            // A rewrite of `v` that translates one of `v`'s own sources is its sibling (two
            // translations of one text reword each other), not its source.
            let sibling = |e: &Edge| {
                e.rel.kind == Kind::Rewrite
                    && adj[v.index()].iter().any(|f| {
                        f.rel.kind == Kind::Translation
                            && f.dir == Dir::Forward
                            && translated_from(e.other, f.other)
                    })
            };
            let best = adj[v.index()]
                .iter()
                .filter(|e| e.dir != Dir::Backward)
                .min_by(|x, y| {
                    let kx = (
                        x.dir != Dir::Forward,
                        sibling(x),
                        x.rel.kind != Kind::Copy,
                        dist[x.other.index()],
                        kind_rank(x.rel.kind),
                    );
                    let ky = (
                        y.dir != Dir::Forward,
                        sibling(y),
                        y.rel.kind != Kind::Copy,
                        dist[y.other.index()],
                        kind_rank(y.rel.kind),
                    );
                    let cov = |e: &Edge| e.rel.coverage_of(v);
                    kx.cmp(&ky)
                        .then(cov(y).total_cmp(&cov(x)))
                        .then(x.other.cmp(&y.other))
                });
            out[v.index()] = match best {
                Some(e) => Some(Parent {
                    parent: e.other,
                    why: format!("{} of the parent, which {}", e.rel.kind.as_str(), e.reason),
                }),
                None => Some(Parent {
                    parent: root,
                    why: "every neighbour derives from it; attached to the group's root".into(),
                }),
            };
        }
        // Break cycles.
        for &v in members {
            let mut seen = std::collections::HashSet::new();
            let mut x = v;
            while let Some(p) = out[x.index()].as_ref().map(|p| p.parent) {
                if !seen.insert(x) {
                    out[x.index()] = Some(Parent {
                        parent: root,
                        why: "derivation cycle broken; attached to the group's root".into(),
                    });
                    break;
                }
                x = p;
            }
        }
        out[root.index()] = None;
        for &v in members {
            dist[v.index()] = u32::MAX;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepare::dates::parse_iso;

    fn facts(
        dates: &[Option<Date>],
        size: &[u32],
        sentences: &[u32],
        langs: &[&'static str],
    ) -> Vec<DocFacts> {
        (0..dates.len())
            .map(|i| DocFacts {
                date: dates[i],
                size: size[i],
                sentences: sentences[i],
                lang: langs[i],
            })
            .collect()
    }

    fn rel(a: u32, b: u32, kind: Kind, ca: f64, cb: f64) -> Relation {
        Relation {
            a: DocId(a),
            b: DocId(b),
            kind,
            coverage_a: ca,
            coverage_b: cb,
            score: 1.0,
            density: 1.0,
            similarity: None,
            shared_entities: None,
            evidence: Vec::new(),
        }
    }

    #[test]
    fn excerpt_derives_from_fuller_text_and_translations_from_the_dated_original() {
        // 0: original (dated first), 1: translation of 0, 2: excerpt of 1, 3: unrelated.
        let rels = vec![
            rel(0, 1, Kind::Translation, 0.95, 0.97),
            rel(1, 2, Kind::Copy, 0.3, 1.0),
            rel(0, 2, Kind::Translation, 0.3, 0.95),
        ];
        let dates = [parse_iso("2024-01-01"), parse_iso("2024-01-03"), None, None];
        let facts = facts(
            &dates,
            &[100, 100, 30, 50],
            &[5, 5, 2, 3],
            &["en", "fr", "fr", "de"],
        );
        let p = provenance(&rels, &facts, &ProvenanceOptions::default());
        assert_eq!(p[0], None);
        assert_eq!(p[1].as_ref().unwrap().parent, DocId(0));
        assert!(p[1].as_ref().unwrap().why.contains("dated earlier"));
        assert_eq!(
            p[2].as_ref().unwrap().parent,
            DocId(1),
            "a copy beats a translation"
        );
        assert!(p[2].as_ref().unwrap().why.contains("contains it"));
        assert_eq!(p[3], None);
    }

    #[test]
    fn a_text_with_independent_translations_is_their_source() {
        // 0: Russian original, undated; 1, 2: two English translations of it (rewrites of
        // each other, 1 dated earlier than 2); 3: an excerpt copied from 1.
        let rels = vec![
            rel(0, 1, Kind::Translation, 0.97, 0.96),
            rel(0, 2, Kind::Translation, 0.95, 0.97),
            rel(1, 2, Kind::Rewrite, 0.9, 0.92),
            rel(1, 3, Kind::Copy, 0.4, 1.0),
            rel(0, 3, Kind::Translation, 0.4, 0.95),
        ];
        let dates = [None, parse_iso("2024-01-01"), parse_iso("2024-01-02"), None];
        // Sizes favour an English text: completeness alone would pick it.
        let facts = facts(
            &dates,
            &[80, 100, 100, 40],
            &[6, 6, 7, 3],
            &["ru", "en", "en", "en"],
        );
        let p = provenance(&rels, &facts, &ProvenanceOptions::default());
        assert_eq!(p[0], None, "the original is the root");
        for child in [1, 2] {
            let e = p[child].as_ref().unwrap();
            assert_eq!(
                e.parent,
                DocId(0),
                "translation {child} derives from the original"
            );
            assert!(e.why.contains("2 independent translations"), "{}", e.why);
        }
        assert_eq!(p[3].as_ref().unwrap().parent, DocId(1));
    }

    #[test]
    fn the_fuller_copy_is_the_source_when_each_covers_the_other() {
        // 1 drops a few words of 0 (a light edit); dates say the opposite (scraped later).
        let rels = vec![rel(0, 1, Kind::Copy, 0.99, 1.0)];
        let dates = [parse_iso("2024-01-03"), parse_iso("2024-01-01")];
        let facts = facts(&dates, &[120, 112], &[6, 6], &["en", "en"]);
        let p = provenance(&rels, &facts, &ProvenanceOptions::default());
        assert_eq!(p[0], None);
        let e = p[1].as_ref().unwrap();
        assert_eq!(e.parent, DocId(0));
        assert!(e.why.contains("fuller text"), "{}", e.why);
    }

    #[test]
    fn an_open_translation_follows_the_collections_flow_not_token_counts() {
        // Six Russian texts with two English versions each (support says ru → en), and
        // one more pair (12, 13) where nothing tells: the wordier English side must not win.
        let mut rels = Vec::new();
        let mut langs = Vec::new();
        for g in 0..6u32 {
            let s = 3 * g;
            rels.push(rel(s, s + 1, Kind::Translation, 1.0, 1.0));
            rels.push(rel(s, s + 2, Kind::Translation, 1.0, 1.0));
            rels.push(rel(s + 1, s + 2, Kind::Rewrite, 0.95, 0.95));
            langs.extend(["ru", "en", "en"]);
        }
        rels.push(rel(18, 19, Kind::Translation, 1.0, 1.0));
        langs.extend(["en", "ru"]);
        let n = langs.len();
        let mut size = vec![100; n];
        size[18] = 130;
        let facts = facts(&vec![None; n], &size, &vec![5; n], &langs);
        let p = provenance(&rels, &facts, &ProvenanceOptions::default());
        assert_eq!(p[19], None, "the Russian text is the source");
        let e = p[18].as_ref().unwrap();
        assert_eq!(e.parent, DocId(19));
        assert!(e.why.contains("ru to en in 12 of the 12"), "{}", e.why);
    }

    #[test]
    fn a_sibling_translation_is_not_a_parent() {
        // 0: English source; 1, 2: two Croatian translations that reword each other, 2
        // wordier (so containment points from 2 to 1).
        let rels = vec![
            rel(0, 1, Kind::Translation, 1.0, 1.0),
            rel(0, 2, Kind::Translation, 1.0, 1.0),
            rel(1, 2, Kind::Rewrite, 1.0, 0.77),
        ];
        let facts = facts(
            &[None; 3],
            &[224, 186, 196],
            &[8, 8, 14],
            &["en", "hr", "hr"],
        );
        let p = provenance(&rels, &facts, &ProvenanceOptions::default());
        assert_eq!(p[0], None);
        for child in [1, 2] {
            assert_eq!(p[child].as_ref().unwrap().parent, DocId(0), "{child}");
        }
    }

    #[test]
    fn an_excerpt_is_no_independent_translation() {
        // 0: French source; 1: its German translation; 2: an excerpt copied from 1 (so
        // also a partial translation of 0): 0 has one German version, not two.
        let rels = vec![
            rel(0, 1, Kind::Translation, 1.0, 1.0),
            rel(0, 2, Kind::Translation, 0.5, 1.0),
            rel(1, 2, Kind::Copy, 0.5, 1.0),
        ];
        let facts = facts(&[None; 3], &[100, 90, 45], &[6, 6, 3], &["fr", "de", "de"]);
        let support = translation_support(&rels, &facts, 0.1);
        assert_eq!(support[0], 1);
    }
}
