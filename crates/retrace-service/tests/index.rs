//! The index against one scan: the same relations, stories and parents after a refresh, a
//! bounded difference before it, no sentence embedded twice, and removal, reopening and
//! errors as documented. Runs on the repository's example collection with the stub encoder
//! (no model files).

use retrace::encode::stub::HashEncoder;
use retrace::encode::{Embeddings, EncodeError, Encoder, Family};
use retrace::ingest::{ingest, IngestOptions, Input};
use retrace::pipeline::{scan, Encoders, Meaning, Scan, ScanOptions};
use retrace::{Calibration, Document, Kind, NoProgress};
use retrace_service::{Index, IndexError, IndexOptions, Models, MERGE_FACTOR};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The example collection (`examples/news`, read as `scan` reads a directory), an excerpt of
/// its article, and an article with its French translation, an English rewrite and an
/// unrelated text (related by meaning through [`stub`]).
fn corpus() -> Vec<Document> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/news");
    let mut docs = ingest(&[Input::Path(dir)], &IngestOptions::default())
        .expect("read the examples")
        .docs;
    let original = docs
        .iter()
        .find(|d| d.id.ends_with("harbour-original.txt"))
        .expect("the example article")
        .text
        .clone();
    docs.push(Document::new(
        "short-excerpt.txt",
        original.split(". ").take(2).collect::<Vec<_>>().join(". "),
    ));
    let en = "The town council voted on Tuesday to rebuild the old sea wall. \
        The storms of January destroyed a large part of the wall near the fish market. \
        The mayor said the work would start in the spring and cost four million euros. \
        Fishermen welcomed the decision after waiting for many months. \
        Engineers expect the new wall to last at least a hundred years.";
    let fr = "Le conseil municipal a voté mardi pour reconstruire la vieille digue. \
        Les tempêtes de janvier ont détruit une grande partie de la digue près du marché aux poissons. \
        Le maire a dit que les travaux commenceraient au printemps et coûteraient quatre millions d'euros. \
        Les pêcheurs ont salué la décision après avoir attendu pendant de longs mois. \
        Les ingénieurs pensent que la nouvelle digue durera au moins cent ans.";
    let rewrite =
        "On Tuesday the municipal council decided to reconstruct the ancient sea barrier. \
        January storms ruined a big section of the barrier close to the fish market. \
        According to the mayor, construction begins in spring at a price of four million euros. \
        After months of waiting, the fishermen praised the choice. \
        Engineers believe the new barrier will endure for a century at least.";
    let other = "A new bakery opened in the main square this week, selling bread and cakes. \
        Its owner trained in Lyon for ten years before coming back to her home town. \
        Customers queued from early morning to taste the famous apple pie. \
        The bakery will open every day except Monday.";
    docs.extend([
        Document::new("wall-en", en),
        Document::new("wall-fr", fr),
        Document::new("wall-rewrite", rewrite),
        Document::new("bakery", other),
    ]);
    docs
}

/// The stub encoder's dictionary: reads the French article's words and the rewrite's
/// synonyms as the English article's words.
const DICTIONARY: &[(&str, &str)] = &[
    ("le", "the"),
    ("la", "the"),
    ("les", "the"),
    ("conseil", "council"),
    ("municipal", "town"),
    ("a", "to"),
    ("voté", "voted"),
    ("mardi", "tuesday"),
    ("pour", "to"),
    ("reconstruire", "rebuild"),
    ("vieille", "old"),
    ("digue", "wall"),
    ("tempêtes", "storms"),
    ("de", "of"),
    ("janvier", "january"),
    ("ont", "of"),
    ("détruit", "destroyed"),
    ("une", "a"),
    ("grande", "large"),
    ("partie", "part"),
    ("près", "near"),
    ("du", "the"),
    ("marché", "market"),
    ("aux", "the"),
    ("poissons", "fish"),
    ("maire", "mayor"),
    ("dit", "said"),
    ("que", "the"),
    ("travaux", "work"),
    ("commenceraient", "start"),
    ("au", "in"),
    ("printemps", "spring"),
    ("et", "and"),
    ("coûteraient", "cost"),
    ("quatre", "four"),
    ("millions", "million"),
    ("d", "of"),
    ("euros", "euros"),
    ("pêcheurs", "fishermen"),
    ("salué", "welcomed"),
    ("décision", "decision"),
    ("après", "after"),
    ("avoir", "waiting"),
    ("attendu", "waiting"),
    ("pendant", "for"),
    ("longs", "many"),
    ("mois", "months"),
    ("ingénieurs", "engineers"),
    ("pensent", "expect"),
    ("nouvelle", "new"),
    ("durera", "last"),
    ("moins", "least"),
    ("cent", "hundred"),
    ("ans", "years"),
    // The rewrite's synonyms.
    ("municipal", "town"),
    ("decided", "voted"),
    ("reconstruct", "rebuild"),
    ("ancient", "old"),
    ("barrier", "wall"),
    ("ruined", "destroyed"),
    ("big", "large"),
    ("section", "part"),
    ("close", "near"),
    ("construction", "work"),
    ("begins", "start"),
    ("price", "cost"),
    ("praised", "welcomed"),
    ("choice", "decision"),
    ("believe", "expect"),
    ("endure", "last"),
    ("century", "hundred"),
];

/// The stub encoder reading English and French.
fn stub() -> HashEncoder {
    HashEncoder::new(256)
        .with_dictionary(DICTIONARY)
        .with_languages(&["en", "fr"])
}

/// An encoder that counts the sentences it is asked to embed, and keeps them.
struct Counting {
    inner: HashEncoder,
    sentences: AtomicUsize,
    texts: std::sync::Mutex<Vec<String>>,
}

impl Encoder for Counting {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn family(&self) -> Family {
        self.inner.family()
    }
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn languages(&self) -> &[&'static str] {
        self.inner.languages()
    }
    fn encode(&self, batch: &[&str]) -> Result<Embeddings, EncodeError> {
        self.sentences.fetch_add(batch.len(), Ordering::Relaxed);
        if let Ok(mut t) = self.texts.lock() {
            t.extend(batch.iter().map(|s| s.to_string()));
        }
        self.inner.encode(batch)
    }
}

fn counting() -> Counting {
    Counting {
        inner: stub(),
        sentences: AtomicUsize::new(0),
        texts: Default::default(),
    }
}

fn encoders<'a>(e: &'a dyn Encoder, cal: &'a Calibration) -> Encoders<'a> {
    Encoders {
        primary: Some(Meaning {
            encoder: e,
            calibration: cal,
        }),
        fallback: None,
    }
}

/// What must agree between a scan and an export: pairs by id with kind and coverage, each
/// document's story and parent (by id).
fn outcome(s: &Scan) -> (Vec<String>, Vec<String>) {
    let id = |d: retrace::DocId| s.doc(d).doc.id.clone();
    let mut pairs: Vec<String> = s
        .relations
        .iter()
        .map(|r| {
            format!(
                "{} {} {:?} {:.4} {:.4} {:.4} {}",
                id(r.a),
                id(r.b),
                r.kind,
                r.coverage_a,
                r.coverage_b,
                r.score,
                r.evidence.len()
            )
        })
        .collect();
    pairs.sort();
    let docs = s
        .documents()
        .map(|d| {
            format!(
                "{} story={} parent={:?}",
                d.doc.id,
                id(d.story),
                d.parent.map(|p| (id(p.parent), p.why.clone()))
            )
        })
        .collect();
    (pairs, docs)
}

#[test]
fn added_one_by_one_and_refreshed_the_index_holds_what_a_scan_finds() {
    let docs = corpus();
    let enc = counting();
    let cal = Calibration::for_encoder(&enc).clone();
    // As `retrace scan` runs it (in id order, which a refresh follows too).
    let batch = scan(
        retrace::pipeline::in_id_order(docs.clone()),
        &ScanOptions::default(),
        &encoders(&enc, &cal),
        &NoProgress,
    )
    .expect("scan");
    assert!(
        batch.relations.iter().any(|r| r.kind == Kind::Copy)
            && batch.relations.iter().any(|r| r.kind == Kind::Rewrite),
        "the corpus holds copies and rewrites: {:?}",
        outcome(&batch).0
    );
    let batch_texts = enc.sentences.load(Ordering::Relaxed);
    let dir = tempfile::tempdir().expect("temp dir");
    // Never refreshed on its own: the test refreshes when it wants.
    let options = IndexOptions {
        refresh_ratio: 1e9,
        ..IndexOptions::default()
    };
    let index = Index::create(dir.path(), options, &encoders(&enc, &cal)).expect("create");
    let models = Models {
        primary: Some(&enc),
        fallback: None,
    };
    for d in docs.iter().cloned() {
        index.add(vec![d], models, &NoProgress).expect("add");
    }
    let info = index.snapshot();
    assert_eq!(info.len(), docs.len());
    // One segment a commit, merged tier by tier as they come.
    let n = docs.len();
    assert!(n > MERGE_FACTOR, "enough commits to merge");
    assert!(
        info.segments() < MERGE_FACTOR && info.segments() <= n - MERGE_FACTOR + 1,
        "{} segments after {n} one-document commits",
        info.segments()
    );
    // Before a refresh: the same pairs with the same kinds (statistics may move scores).
    let before = index.to_scan(None, None).expect("export");
    let kinds = |s: &Scan| -> Vec<(String, String, Kind)> {
        let mut v: Vec<_> = s
            .relations
            .iter()
            .map(|r| (s.doc(r.a).doc.id.clone(), s.doc(r.b).doc.id.clone(), r.kind))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        kinds(&before),
        kinds(&batch),
        "pairs and kinds before a refresh"
    );
    // A refresh embeds nothing again: every sentence is in the cache.
    // A refresh embeds no text again: every sentence vector is in the cache. (It may embed
    // a text never embedded before: the whole text of a document that only now has a
    // same-story candidate, for the stage `events`.)
    let texts = |e: &Counting| e.texts.lock().map(|t| t.clone()).unwrap_or_default();
    let before_refresh = texts(&enc).len();
    let embedded_by_index: std::collections::HashSet<String> =
        texts(&enc)[batch_texts..].iter().cloned().collect();
    index.refresh(models, &NoProgress).expect("refresh");
    let again: Vec<String> = texts(&enc)[before_refresh..]
        .iter()
        .filter(|t| embedded_by_index.contains(*t))
        .cloned()
        .collect();
    assert!(again.is_empty(), "a refresh embeds again: {again:?}");
    assert!(
        enc.sentences.load(Ordering::Relaxed) - before_refresh <= 2,
        "a refresh takes every sentence vector from the cache"
    );
    let after = index.to_scan(None, None).expect("export");
    assert_eq!(
        index.snapshot().segments(),
        1,
        "a refresh leaves one segment"
    );
    assert_eq!(
        outcome(&after),
        outcome(&batch),
        "after a refresh: exactly the scan's"
    );
    // Reopened from disk, each document looked up alone (from its own component, before
    // anything computes the whole graph): the scan's story and parent.
    drop(index);
    let index = Index::open(dir.path()).expect("reopen");
    let snap = index.snapshot();
    let mut parents = 0;
    for d in batch.documents() {
        let got = snap.get(&d.doc.id).expect("get").expect("held");
        assert_eq!(
            got.story,
            batch.doc(d.story).doc.id,
            "story of {}",
            d.doc.id
        );
        let want = d
            .parent
            .map(|p| (batch.doc(p.parent).doc.id.clone(), p.why.clone()));
        parents += usize::from(want.is_some());
        assert_eq!(
            got.parent.map(|p| (p.id, p.why)),
            want,
            "parent of {}",
            d.doc.id
        );
    }
    assert!(parents > 0, "the corpus has derived documents");
    drop(snap);
    assert_eq!(
        outcome(&index.to_scan(None, None).expect("export")),
        outcome(&batch)
    );
}

#[test]
fn a_query_finds_what_adding_the_text_would_find_and_adds_nothing() {
    let docs = corpus();
    let enc = counting();
    let cal = Calibration::for_encoder(&enc).clone();
    let dir = tempfile::tempdir().expect("temp dir");
    let index =
        Index::create(dir.path(), IndexOptions::default(), &encoders(&enc, &cal)).expect("create");
    let models = Models {
        primary: Some(&enc),
        fallback: None,
    };
    let (asked, rest): (Vec<Document>, Vec<Document>) =
        docs.into_iter().partition(|d| d.id == "short-excerpt.txt");
    let held = rest.len();
    index.add(rest, models, &NoProgress).expect("add");
    let q = asked[0].clone();
    let r = index.query(q.clone(), models, &NoProgress).expect("query");
    assert_eq!(index.snapshot().len(), held, "a query adds nothing");
    let original = r
        .related
        .iter()
        .find(|x| x.id.ends_with("harbour-original.txt"))
        .expect("the excerpt's source is found");
    assert_eq!(original.kind, Kind::Copy);
    assert!(
        original.coverage > 0.95,
        "the excerpt is covered: {}",
        original.coverage
    );
    assert!(original.coverage_other < 0.8, "{original:?}");
    // Evidence offsets are byte ranges of the asked text and of the related document.
    let theirs = index
        .snapshot()
        .get(&original.id)
        .expect("get")
        .expect("found")
        .document
        .text;
    for e in &original.evidence {
        let ours = &q.text[e.ours[0] as usize..e.ours[1] as usize];
        let other = &theirs[e.theirs[0] as usize..e.theirs[1] as usize];
        assert!(!ours.is_empty() && !other.is_empty());
    }
    assert!(r.parent.is_some(), "an excerpt derives from something");
    // Adding it finds the same relations.
    index.add(asked, models, &NoProgress).expect("add");
    let related = index
        .snapshot()
        .related("short-excerpt.txt", None, 0.0)
        .expect("related")
        .expect("found");
    let ids = |v: &[retrace_service::Related]| -> Vec<(String, Kind)> {
        let mut x: Vec<_> = v.iter().map(|r| (r.id.clone(), r.kind)).collect();
        x.sort();
        x
    };
    assert_eq!(ids(&related), ids(&r.related));
    let copies = index
        .snapshot()
        .related("short-excerpt.txt", Some(Kind::Copy), 0.0)
        .expect("related")
        .expect("found");
    assert!(copies.iter().all(|r| r.kind == Kind::Copy) && !copies.is_empty());
}

#[test]
fn removed_documents_leave_every_answer_and_ids_stay_unique() {
    let docs = corpus();
    let dir = tempfile::tempdir().expect("temp dir");
    let index =
        Index::create(dir.path(), IndexOptions::default(), &Encoders::default()).expect("create");
    let models = Models::default();
    index.add(docs.clone(), models, &NoProgress).expect("add");
    let original = docs
        .iter()
        .find(|d| d.id.ends_with("harbour-original.txt"))
        .expect("article")
        .id
        .clone();
    assert!(!index
        .snapshot()
        .related(&original, None, 0.0)
        .expect("related")
        .expect("found")
        .is_empty());
    // The same id again is refused, in another batch or twice in one.
    match index.add(vec![docs[0].clone()], models, &NoProgress) {
        Err(IndexError::DuplicateId(id)) => assert_eq!(id, docs[0].id),
        other => panic!("expected a duplicate id error, got {other:?}"),
    }
    let twice = vec![Document::new("x", "one"), Document::new("x", "two")];
    assert!(matches!(
        index.add(twice, models, &NoProgress),
        Err(IndexError::DuplicateId(_))
    ));
    assert_eq!(
        index
            .remove(std::slice::from_ref(&original))
            .expect("remove"),
        1
    );
    let snap = index.snapshot();
    assert_eq!(snap.len(), docs.len() - 1);
    assert!(snap.get(&original).expect("get").is_none());
    for d in &docs {
        if let Some(rel) = snap.related(&d.id, None, 0.0).expect("related") {
            assert!(
                rel.iter().all(|r| r.id != original),
                "{} still relates to it",
                d.id
            );
        }
    }
    let exported = index.to_scan(None, None).expect("export");
    assert!(exported.documents().all(|d| d.doc.id != original));
    // Its id may be used again.
    let again = docs
        .iter()
        .find(|d| d.id == original)
        .cloned()
        .expect("article");
    index.add(vec![again], models, &NoProgress).expect("re-add");
    assert_eq!(index.snapshot().len(), docs.len());
}

#[test]
fn an_index_is_used_with_its_own_encoders_and_found_only_where_it_is() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index =
        Index::create(dir.path(), IndexOptions::default(), &Encoders::default()).expect("create");
    let enc = HashEncoder::new(64);
    let with = Models {
        primary: Some(&enc),
        fallback: None,
    };
    assert!(matches!(
        index.add(vec![Document::new("a", "text")], with, &NoProgress),
        Err(IndexError::EncoderMismatch { .. })
    ));
    assert!(matches!(
        Index::create(dir.path(), IndexOptions::default(), &Encoders::default()),
        Err(IndexError::Exists(_))
    ));
    let elsewhere = tempfile::tempdir().expect("temp dir");
    assert!(matches!(
        Index::open(elsewhere.path()),
        Err(IndexError::NotAnIndex(_))
    ));
    // A manifest that is not one names its file.
    std::fs::write(elsewhere.path().join("index.json"), "{not json").expect("write");
    match Index::open(elsewhere.path()) {
        Err(e @ IndexError::Corrupt { .. }) => {
            assert!(e.to_string().contains("index.json"), "{e}")
        }
        other => panic!("expected a corrupt-index error, got {:?}", other.err()),
    }
    // An index written by an earlier build (format 1: JSON lines in its segments) is
    // refused, naming both formats and what to do, not read as garbage.
    drop(index);
    let manifest = dir.path().join("index.json");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let mut json: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(json["format"], 2);
    json["format"] = 1.into();
    std::fs::write(&manifest, json.to_string()).expect("write");
    match Index::open(dir.path()) {
        Err(
            e @ IndexError::Format {
                found: 1, reads: 2, ..
            },
        ) => {
            let msg = e.to_string();
            assert!(msg.contains("index format 1"), "{msg}");
            assert!(msg.contains("reads format 2"), "{msg}");
            assert!(msg.contains("retrace index create"), "{msg}");
        }
        other => panic!("expected a format error, got {:?}", other.err()),
    }
}
