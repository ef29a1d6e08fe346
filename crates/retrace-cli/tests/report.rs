//! The HTML report (`retrace report`, `retrace scan --html`): one self-contained file,
//! the same bytes for the same run, and, in a real browser (headless Chromium renders its
//! routes from `file://` with `--dump-dom`), the counts of `pairs.jsonl`, the stories, and
//! each pair's passages highlighted at the byte ranges of its evidence. The browser tests
//! skip with a notice when Chromium or ../shared is absent (both are required under CI).

mod common;
use common::browser::*;
use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

/// Render `routes` ((what, hash)) of the report `html`, each in its own browser, two at a
/// time.
fn render_all(chromium: &Path, work: &Path, html: &Path, routes: &[(&str, String)]) -> Vec<Page> {
    let start = Instant::now();
    let mut pages = Vec::new();
    for (c, chunk) in routes.chunks(2).enumerate() {
        let got: Vec<Page> = std::thread::scope(|scope| {
            let runs: Vec<_> = chunk
                .iter()
                .enumerate()
                .map(|(j, (what, hash))| {
                    let dir = work.join(format!("route{}", 2 * c + j));
                    let url = format!("file://{}{hash}", html.display());
                    scope.spawn(move || {
                        render(chromium, &dir, what, &url, 30_000, Duration::from_secs(120))
                    })
                })
                .collect();
            runs.into_iter()
                .map(|r| r.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        pages.extend(got);
    }
    eprintln!(
        "rendered {} routes in {:.1} s",
        routes.len(),
        start.elapsed().as_secs_f64()
    );
    pages
}

impl Page {
    /// No JavaScript error (Chromium's log, the page's `#js-errors`), no error shown, and
    /// the page finished rendering (`data-ready` on the body).
    fn ok(&self) {
        self.check(
            self.console().is_empty(),
            "the page wrote to the console or threw",
        );
        let inner = self.text_of("id=\"js-errors\"");
        self.check(
            inner.as_deref() == Some(""),
            &format!("the page recorded JavaScript errors: {inner:?}"),
        );
        let shown = self.text_of("class=\"error\"");
        self.check(
            shown.is_none(),
            &format!("the page shows an error: {shown:?}"),
        );
        self.check(
            self.dom.contains("data-ready=\"1\""),
            "the page did not finish rendering",
        );
    }

    /// The value of attribute `name` in the first start tag that holds `attr`.
    fn attr_of(&self, attr: &str, name: &str) -> Option<String> {
        let at = self.dom.find(attr)?;
        let tag_start = self.dom[..at].rfind('<')?;
        let tag = &self.dom[tag_start..at + self.dom[at..].find('>')?];
        let key = format!(" {name}=\"");
        let v = tag.find(&key)? + key.len();
        Some(unescape(&tag[v..v + tag[v..].find('"')?]))
    }
}

/// `s` as Chromium's serialiser writes it in a text node.
fn text_escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\u{a0}', "&nbsp;")
}

/// `s` as Chromium's serialiser writes it in an attribute value (`<` and `>` too, as
/// current Chromium does).
fn attr_escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\u{a0}', "&nbsp;")
}

/// The text shown in the element with id `id` (tags dropped, up to its first `</div>`).
fn shown_text(p: &Page, id: &str) -> String {
    let at = p.dom.find(&format!("id=\"{id}\"")).expect("the element");
    let rest = &p.dom[at..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    let rest = &rest[..rest.find("</div>").unwrap_or(rest.len())];
    let mut out = String::new();
    let mut in_tag = false;
    for c in rest.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
}

/// `n` as the page writes numbers (en-US grouping).
fn grouped(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A run directory's files, read back.
struct Run {
    pairs: Vec<Value>,
    docs: Vec<Value>,
    texts: BTreeMap<String, String>,
    has_run_json: bool,
}

impl Run {
    fn read(dir: &Path) -> Run {
        let texts = read_jsonl(&dir.join("texts.jsonl"))
            .into_iter()
            .map(|t| {
                (
                    t["id"].as_str().unwrap().to_string(),
                    t["text"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        Run {
            pairs: read_jsonl(&dir.join("pairs.jsonl")),
            docs: read_jsonl(&dir.join("documents.jsonl")),
            texts,
            has_run_json: dir.join("run.json").exists(),
        }
    }

    fn kind_counts(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for p in &self.pairs {
            *m.entry(p["kind"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
        m
    }

    /// Stories (story id → members) as documents.jsonl gives them.
    fn stories(&self) -> BTreeMap<String, Vec<String>> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for d in &self.docs {
            m.entry(d["story"].as_str().unwrap().to_string())
                .or_default()
                .push(d["id"].as_str().unwrap().to_string());
        }
        m
    }

    fn doc(&self, id: &str) -> &Value {
        self.docs.iter().find(|d| d["id"] == id).unwrap()
    }
}

/// The overview shows the counts of pairs.jsonl: all pairs, each kind, and (in the table
/// by kind and language pair) totals that add up.
fn check_overview(p: &Page, run: &Run) {
    p.ok();
    let n = run.pairs.len();
    p.check(
        p.text_of("id=\"pair-count\"").as_deref() == Some(grouped(n).as_str()),
        &format!("pair count {:?}, want {n}", p.text_of("id=\"pair-count\"")),
    );
    p.check(
        p.text_of("id=\"doc-count\"").as_deref() == Some(grouped(run.docs.len()).as_str()),
        "document count",
    );
    let counts = run.kind_counts();
    for kind in ["copy", "rewrite", "translation", "same_story"] {
        let want = counts.get(kind).copied().unwrap_or(0);
        let got = p.text_of(&format!("id=\"count-{kind}\""));
        p.check(
            got.as_deref() == Some(grouped(want).as_str()),
            &format!("{kind}: shown {got:?}, want {want}"),
        );
        let total = p.text_of(&format!("data-total=\"{kind}\""));
        p.check(
            total.as_deref() == Some(grouped(want).as_str()),
            &format!("{kind} total of the table: {total:?}, want {want}"),
        );
    }
    p.has("id=\"hist-coverage\"", "no coverage histogram");
    p.has("id=\"hist-similarity\"", "no similarity histogram");
    if run.has_run_json {
        p.has("id=\"stage-times\"", "no stage times");
    }
    // The histograms count every pair (coverage) and every pair with a similarity.
    let bars: usize = p
        .dom
        .split("class=\"hbar\"")
        .skip(1)
        .filter_map(|s| {
            let tag = &s[..s.find('>')?];
            let v = tag.split("data-n=\"").nth(1)?;
            v[..v.find('"')?].parse::<usize>().ok()
        })
        .sum();
    let with_sim = run
        .pairs
        .iter()
        .filter(|p| !p["similarity"].is_null())
        .count();
    p.check(
        bars == n + with_sim,
        &format!("histogram bars count {bars}, want {n} + {with_sim}"),
    );
}

/// Pair `i` of pairs.jsonl is shown with both texts, every passage marked on both sides
/// at its evidence's byte range, a bar segment per passage, and the diff or the sentence
/// table its evidence calls for.
fn check_pair(p: &Page, run: &Run, i: usize) {
    p.ok();
    let pair = &run.pairs[i];
    let (a, b) = (pair["a"].as_str().unwrap(), pair["b"].as_str().unwrap());
    p.has(&format!("data-pair=\"{i}\""), "not the pair asked for");
    p.has("id=\"side-a\"", "no side a");
    p.has("id=\"side-b\"", "no side b");
    // Both texts, whole.
    for (side, id) in [("a", a), ("b", b)] {
        p.check(
            shown_text(p, &format!("side-{side}")) == run.texts[id],
            &format!("side {side} does not show the text of {id}"),
        );
    }
    let evidence = pair["evidence"].as_array().unwrap();
    if evidence.is_empty() {
        // A same-story pair: nothing marked.
        p.check(
            pair["kind"] == "same_story",
            "a derived pair has no evidence",
        );
        p.check(!p.dom.contains("<mark"), "passages marked without evidence");
        return;
    }
    for (j, e) in evidence.iter().enumerate() {
        for (side, id, range) in [("a", a, &e["a"]), ("b", b, &e["b"])] {
            let want = bytes(&run.texts[id], range);
            let got = p.text_of(&format!("id=\"{side}-p{j}\""));
            p.check(
                got.as_deref()
                    .is_some_and(|g| !g.is_empty() && want.starts_with(g)),
                &format!("passage {j} on side {side}: marked {got:?}, want a prefix of {want:?}"),
            );
        }
    }
    p.check(
        p.count("class=\"passage") >= 2 * evidence.len(),
        "too few highlighted passages",
    );
    // Each passage's marks, joined, are its text (pieces cut by other passages included).
    for (side, id, key) in [("a", a, "a"), ("b", b, "b")] {
        let e = &evidence[0];
        let want = bytes(&run.texts[id], &e[key]);
        let mut got = String::new();
        let box_start = p.dom.find(&format!("id=\"side-{side}\"")).unwrap();
        let rest = &p.dom[box_start..];
        let rest = &rest[..rest.find("</div>").unwrap_or(rest.len())];
        for piece in rest.split("<mark ").skip(1) {
            let tag_end = piece.find('>').unwrap();
            let pairs = piece[..tag_end]
                .split("data-pairs=\"")
                .nth(1)
                .map(|v| &v[..v.find('"').unwrap()])
                .unwrap_or("");
            if pairs.split(' ').any(|x| x == "0") {
                let body = &piece[tag_end + 1..];
                got.push_str(&unescape(&body[..body.find("</mark>").unwrap()]));
            }
        }
        p.check(
            got == want,
            &format!("passage 0 on side {side}: marks hold {got:?}, want {want:?}"),
        );
    }
    let segs = p.count("class=\"seg\"");
    p.check(
        segs == 2 * evidence.len(),
        &format!("{segs} bar segments, want {}", 2 * evidence.len()),
    );
    let lexical = evidence
        .iter()
        .filter(|e| e["matched_tokens"].as_u64().unwrap() > 0)
        .count();
    if lexical > 0 {
        p.has("id=\"diff\"", "no word diff for lexical passages");
        p.check(
            p.count("class=\"diff\"") == lexical.min(200),
            "a diff per lexical passage",
        );
    }
    let meaning = evidence.len() - lexical;
    if meaning > 0 {
        p.has("id=\"sentences\"", "no sentence table");
        p.check(
            p.count("class=\"sentence-row\"") == meaning,
            "a row per aligned sentence pair",
        );
    }
    // Boilerplate lines of either document are greyed.
    for id in [a, b] {
        for line in run.doc(id)["boilerplate_lines"].as_array().unwrap() {
            let line = line.as_str().unwrap().trim();
            let shown = text_escaped(line);
            p.check(
                p.dom.contains(&format!("class=\"bp\">{shown}<"))
                    || p.dom.contains("class=\"passage bp\""),
                &format!("boilerplate line {line:?} of {id} is not greyed"),
            );
        }
    }
}

/// `#/pair/N?p=J` clicks passage J on side a: side b scrolls to its partner, which
/// flashes.
fn check_selected(p: &Page, j: usize) {
    p.ok();
    let to = p.attr_of("id=\"side-b\"", "data-scrolled-to");
    p.check(
        to.as_deref() == Some(j.to_string().as_str()),
        &format!("side b scrolled to {to:?}, want passage {j}"),
    );
    let top: i64 = p
        .attr_of("id=\"side-b\"", "data-scroll-top")
        .and_then(|t| t.parse().ok())
        .unwrap_or(-1);
    p.check(top > 0, &format!("side b did not scroll (scrollTop {top})"));
    let class = p.attr_of(&format!("id=\"b-p{j}\""), "class");
    p.check(
        class.as_deref().is_some_and(|c| c.contains("flash")),
        &format!("the partner does not flash: class {class:?}"),
    );
}

/// The story of `story` draws a node per member and an edge per parent inside it, each
/// edge labelled with the child's `why`.
fn check_story(p: &Page, run: &Run, story: &str) {
    p.ok();
    let stories = run.stories();
    let members = &stories[story];
    p.has("<svg", "no SVG graph");
    let nodes = p.count("<g class=\"node");
    p.check(
        nodes == members.len(),
        &format!("{nodes} nodes, want {}", members.len()),
    );
    let mut edges = 0;
    for m in members {
        p.has(
            &format!("data-id=\"{}\"", attr_escaped(m)),
            "a member is missing",
        );
        let d = run.doc(m);
        if let Some(parent) = d["parent"].as_str() {
            edges += 1;
            p.has(
                &format!(
                    "data-parent=\"{}\" data-child=\"{}\"",
                    attr_escaped(parent),
                    attr_escaped(m)
                ),
                "a provenance edge is missing",
            );
            let why = d["why"].as_str().unwrap();
            let short: String = why.chars().take(20).collect();
            p.has(&text_escaped(&short), "an edge's why is not shown");
        }
    }
    let drawn = p.count("<g class=\"edge\"");
    p.check(drawn == edges, &format!("{drawn} edges, want {edges}"));
    // Each root but the first is joined by a dashed line to a member it relates to.
    let roots = members.len() - edges;
    let links = p.count("<g class=\"link\"");
    p.check(
        links == roots.saturating_sub(1),
        &format!(
            "{links} links between roots and members, want {}",
            roots - 1
        ),
    );
    p.check(
        p.count("class=\"member\"") == members.len(),
        "a members row each",
    );
}

/// The document page of `id`: its relations, parent and children.
fn check_doc(p: &Page, run: &Run, id: &str) {
    p.ok();
    p.has(
        &format!("id=\"doc-id\">{}<", text_escaped(id)),
        "the document's id",
    );
    let related = run
        .pairs
        .iter()
        .filter(|q| q["a"] == id || q["b"] == id)
        .count();
    p.check(
        p.count("<tr class=\"relation\"") == related,
        &format!("want {related} relations"),
    );
    let d = run.doc(id);
    if let Some(parent) = d["parent"].as_str() {
        p.has("id=\"parent\"", "no parent line");
        p.has(
            &format!(
                "data-id=\"{}\">{}</a>",
                attr_escaped(parent),
                text_escaped(parent)
            ),
            "no parent link",
        );
    }
    let children: Vec<&Value> = run.docs.iter().filter(|c| c["parent"] == id).collect();
    p.check(
        p.count("<li class=\"child\"") == children.len(),
        &format!("want {} children", children.len()),
    );
    p.has("id=\"doc-text\"", "no text");
}

/// How many stories the stories page should list for a minimum size and kind.
fn stories_matching(run: &Run, min: usize, kind: Option<&str>) -> usize {
    let story_of: BTreeMap<&str, &str> = run
        .docs
        .iter()
        .map(|d| (d["id"].as_str().unwrap(), d["story"].as_str().unwrap()))
        .collect();
    let mut kinds: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for p in &run.pairs {
        let (a, b) = (p["a"].as_str().unwrap(), p["b"].as_str().unwrap());
        if story_of[a] == story_of[b] {
            kinds
                .entry(story_of[a])
                .or_default()
                .insert(p["kind"].as_str().unwrap());
        }
    }
    run.stories()
        .iter()
        .filter(|(s, m)| {
            m.len() >= min
                && kind.is_none_or(|k| kinds.get(s.as_str()).is_some_and(|x| x.contains(k)))
        })
        .count()
}

fn check_stories(p: &Page, want: usize) {
    p.ok();
    let n = p.attr_of("id=\"stories-count\"", "data-n");
    p.check(
        n.as_deref() == Some(want.to_string().as_str()),
        &format!("{n:?} stories listed, want {want}"),
    );
    p.check(
        p.count("<tr class=\"story-row\"") == want.min(50),
        "a row per story (50 a page)",
    );
}

fn report_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("report.html")).expect("report.html")
}

/// The seed corpus: the report of `scan --html` opens without errors and shows what the
/// run found, every pair side by side with its passages at their byte ranges.
#[test]
fn seed_report_in_headless_chromium() {
    let Some(shared) = shared() else { return };
    let Some(chromium) = chromium() else { return };
    let seeds = shared.join("corpora/seeds");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let printed = run_ok(&mut scan(&["--html"], &seeds, &out));
    let stdout = String::from_utf8_lossy(&printed.stdout);
    assert!(
        stdout.contains(&format!(
            "wrote the report {}",
            out.join("report.html").display()
        )),
        "scan --html says where the report is: {stdout}"
    );
    let run = Run::read(&out);
    // The texts travel with the run, as read.
    for (id, text) in &run.texts {
        assert_eq!(
            text,
            &std::fs::read_to_string(seeds.join(id)).unwrap(),
            "texts.jsonl holds {id} as read"
        );
    }
    assert!(
        run.pairs.len() >= 3,
        "the seeds' pairs: {}",
        run.pairs.len()
    );
    let html = out.join("report.html");
    let story = run.docs[0]["story"].as_str().unwrap().to_string();
    let doc = "000_3a6c4f445c7f6ecb.txt";
    let mut routes: Vec<(&str, String)> = vec![
        ("overview", "#/".into()),
        ("story", format!("#/story/{}", enc(&story))),
        ("document", format!("#/doc/{}", enc(doc))),
        ("stories", "#/stories?min=1".into()),
    ];
    // The pair whose last passage lies furthest into b, selected by the route.
    let (sel, last) = run
        .pairs
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let ev = p["evidence"].as_array()?;
            let j = ev.len().checked_sub(1)?;
            Some((ev[j]["b"][0].as_u64()?, i, j))
        })
        .max()
        .map(|(_, i, j)| (i, j))
        .expect("a pair with passages");
    routes.push(("selected passage", format!("#/pair/{sel}?p={last}")));
    let whats: Vec<String> = (0..run.pairs.len()).map(|i| format!("pair {i}")).collect();
    for (i, w) in whats.iter().enumerate() {
        routes.push((w, format!("#/pair/{i}")));
    }
    let pages = render_all(&chromium, &tmp.path().join("chromium"), &html, &routes);
    check_overview(&pages[0], &run);
    check_story(&pages[1], &run, &story);
    check_doc(&pages[2], &run, doc);
    check_stories(&pages[3], stories_matching(&run, 1, None));
    check_selected(&pages[4], last);
    for (i, p) in pages[5..].iter().enumerate() {
        check_pair(p, &run, i);
    }
}

/// The dev collection (lexical scan): the overview's counts, stories filtered by kind and
/// size and searched in the texts, and pairs of each kind side by side.
#[test]
fn dev_report_in_headless_chromium() {
    let Some(shared) = shared() else { return };
    let Some(chromium) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    run_ok(&mut scan(
        &["-q", "--encoder", "none"],
        shared.join("corpora/dev/docs.jsonl"),
        &out,
    ));
    let report = run_ok(bin().arg("report").arg(&out));
    assert!(String::from_utf8_lossy(&report.stdout).contains("wrote the report"));
    let run = Run::read(&out);
    assert!(run.pairs.len() > 50, "dev pairs: {}", run.pairs.len());
    let html = out.join("report.html");
    // A pair of each kind found, and the largest story.
    let mut picks: Vec<usize> = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, p) in run.pairs.iter().enumerate() {
        if seen.insert(p["kind"].as_str().unwrap().to_string()) {
            picks.push(i);
        }
    }
    picks.push(run.pairs.len() - 1);
    let stories = run.stories();
    let (big, members) = stories.iter().max_by_key(|(s, m)| (m.len(), *s)).unwrap();
    // A word from the text of one member of the largest story, searched in the texts.
    let text = &run.texts[&members[0]];
    let word = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 9)
        .max_by_key(|w| (w.len(), *w))
        .unwrap_or("the")
        .to_string();
    let mut routes: Vec<(&str, String)> = vec![
        ("overview", "#/".into()),
        ("largest story", format!("#/story/{}", enc(big))),
        ("stories with a copy", "#/stories?kind=copy&min=2".into()),
        (
            "stories searched in texts",
            format!("#/stories?min=1&text=1&q={}", enc(&word)),
        ),
        ("document", format!("#/doc/{}", enc(&members[0]))),
    ];
    let whats: Vec<String> = picks.iter().map(|i| format!("pair {i}")).collect();
    for (w, i) in whats.iter().zip(&picks) {
        routes.push((w, format!("#/pair/{i}")));
    }
    let pages = render_all(&chromium, &tmp.path().join("chromium"), &html, &routes);
    check_overview(&pages[0], &run);
    check_story(&pages[1], &run, big);
    check_stories(&pages[2], stories_matching(&run, 2, Some("copy")));
    let p = &pages[3];
    p.ok();
    p.has(
        &format!("<tr class=\"story-row\" data-id=\"{big}\""),
        &format!("searching the texts for {word:?} finds the story"),
    );
    let matching = run
        .texts
        .values()
        .filter(|t| t.to_lowercase().contains(&word.to_lowercase()))
        .count();
    let n: usize = p
        .attr_of("id=\"stories-count\"", "data-n")
        .and_then(|n| n.parse().ok())
        .unwrap();
    p.check(
        n >= 1 && n <= matching,
        &format!("{n} stories for {word:?}, held by {matching} texts"),
    );
    check_doc(&pages[4], &run, &members[0]);
    for (p, &i) in pages[5..].iter().zip(&picks) {
        check_pair(p, &run, i);
    }
}

/// No browser needed: the report holds no reference to anything outside it, the same run
/// gives the same bytes (`scan --html` and `retrace report` alike), and `-o` and
/// `--report-max-text` do what they say.
#[test]
fn report_is_self_contained_and_deterministic() {
    let news = repo_root().join("examples/news");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    run_ok(&mut scan(
        &["-q", "--encoder", "none", "--html"],
        &news,
        &out,
    ));
    let first = report_bytes(&out);
    let html = String::from_utf8(first.clone()).unwrap();
    // The page outside its data blocks loads nothing: no external script, style, image
    // or request; its only URLs are the SVG namespace and the test for web links.
    let page: String = html
        .split("<script type=\"application/")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part
            } else {
                &part[part.find("</script>").expect("a closed data block")..]
            }
        })
        .collect();
    for needle in [
        " src=",
        "<link",
        "@import",
        "url(",
        "fetch(",
        "XMLHttpRequest",
        "<iframe",
    ] {
        assert!(
            !page.replace("url(#", "").contains(needle),
            "the report may load something from outside it: {needle}"
        );
    }
    let urls = page
        .replace("http://www.w3.org/2000/svg", "")
        .replace("url(#", "")
        .replace("/^https?:\\/\\//i", "");
    assert!(!urls.contains("http"), "a URL in the page");
    assert!(html.contains("id=\"retrace-data\""));
    assert!(html.contains("id=\"retrace-texts\""));
    // The data block holds the run: every document id and the pair count.
    let run = Run::read(&out);
    for d in &run.docs {
        assert!(html.contains(d["id"].as_str().unwrap()), "{}", d["id"]);
    }
    let again = tmp.path().join("again.html");
    run_ok(bin().arg("report").arg(&out).arg("-o").arg(&again));
    assert_eq!(
        std::fs::read(&again).unwrap(),
        first,
        "the same run gives the same report"
    );
    // A second scan of the same input gives the same report but for the stage times.
    let out2 = tmp.path().join("run2");
    run_ok(&mut scan(
        &["-q", "--encoder", "none", "--html"],
        &news,
        &out2,
    ));
    let strip = |b: &[u8]| {
        let s = String::from_utf8_lossy(b).into_owned();
        let at = s.find("\"seconds\":{").expect("stage times in the report");
        let end = at + s[at..].find('}').expect("the end of the stage times");
        format!("{}{}", &s[..at], &s[end..])
    };
    assert_eq!(strip(&first), strip(&report_bytes(&out2)));
    // The cap leaves texts out, and says how many.
    let capped = tmp.path().join("capped.html");
    let printed = run_ok(
        bin()
            .arg("report")
            .arg(&out)
            .arg("-o")
            .arg(&capped)
            .args(["--report-max-text", "1000"]),
    );
    let stdout = String::from_utf8_lossy(&printed.stdout);
    let total: usize = run.texts.values().map(String::len).sum();
    let fit = run.texts.values().filter(|t| t.len() <= 1000).count();
    assert!(fit < run.texts.len(), "some text is over 1000 bytes");
    assert!(
        stdout.contains("texts left out by --report-max-text"),
        "{stdout}"
    );
    let c = std::fs::read_to_string(&capped).unwrap();
    assert!(c.len() < html.len(), "{} >= {}", c.len(), html.len());
    assert!(total > 1000);
    // A run directory without texts.jsonl (an older run) still gives a report.
    std::fs::remove_file(out.join("texts.jsonl")).unwrap();
    let printed = run_ok(bin().arg("report").arg(&out));
    assert!(String::from_utf8_lossy(&printed.stdout).contains("no texts.jsonl"));
    // A missing run directory is an error naming the file.
    let bad = bin()
        .arg("report")
        .arg(tmp.path().join("nope"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("documents.jsonl"));
}

/// A run directory written by hand: ids and texts with markup go into the page as text,
/// byte offsets past multi-byte characters land on the right characters, passages
/// aligned by meaning get a sentence table, boilerplate is greyed, and the page works
/// from the plain (uncompressed) data blocks of a small run.
#[test]
fn handmade_run_in_headless_chromium() {
    let Some(chromium) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    std::fs::create_dir_all(&dir).unwrap();
    let odd = "odd/<b>x</b> & \"q\".txt";
    let de = "Menu\nÜber <img src=x onerror=alert(1)> die Brücke wurde gestern eröffnet. Die Stadt feierte das Ereignis mit einem großen Fest.\nFooter ©\n";
    let en = "The bridge over the river was opened yesterday. The city celebrated the event with a big festival.";
    let range = |text: &str, part: &str| {
        let s = text.find(part).unwrap();
        serde_json::json!([s, s + part.len()])
    };
    let (de1, de2) = (
        "Über <img src=x onerror=alert(1)> die Brücke wurde gestern eröffnet.",
        "Die Stadt feierte das Ereignis mit einem großen Fest.",
    );
    let (en1, en2) = (
        "The bridge over the river was opened yesterday.",
        "The city celebrated the event with a big festival.",
    );
    // Pairs are sorted by id: "b.txt" < "odd/...".
    let pair = serde_json::json!({
        "a": "b.txt", "b": odd, "kind": "translation",
        "coverage_a": 1.0, "coverage_b": 0.9, "density": 0.9, "score": 0.9,
        "similarity": 0.93, "shared_entities": 0.5,
        "evidence": [
            {"a": range(en, en1), "b": range(de, de1), "matched_tokens": 0, "score": 0.91},
            {"a": range(en, en2), "b": range(de, de2), "matched_tokens": 0, "score": 0.88},
        ],
    });
    let docs = [
        serde_json::json!({"id": odd, "lang": "de", "chars": de.chars().count(), "main_chars": 100,
            "tokens": 20, "sentences": 2, "boilerplate_lines": ["Menu", "Footer ©"],
            "encoder_covered": true, "encoder": "use-m3", "story": "b.txt", "parent": "b.txt",
            "why": "translation of the parent, which is dated earlier", "title": "<i>Brücke</i>"}),
        serde_json::json!({"id": "b.txt", "lang": "en", "chars": en.len(), "main_chars": en.len(),
            "tokens": 18, "sentences": 2, "boilerplate_lines": [], "encoder_covered": true,
            "encoder": "use-m3", "story": "b.txt", "parent": null, "why": null, "date": "2024-01-02"}),
    ];
    let lines = |v: &[Value]| -> String { v.iter().map(|x| format!("{x}\n")).collect() };
    std::fs::write(dir.join("pairs.jsonl"), lines(&[pair])).unwrap();
    std::fs::write(dir.join("documents.jsonl"), lines(&docs)).unwrap();
    std::fs::write(
        dir.join("texts.jsonl"),
        lines(&[
            serde_json::json!({"id": odd, "text": de}),
            serde_json::json!({"id": "b.txt", "text": en}),
        ]),
    )
    .unwrap();
    run_ok(bin().arg("report").arg(&dir));
    let html = dir.join("report.html");
    let body = std::fs::read_to_string(&html).unwrap();
    assert!(
        body.contains("data-encoding=\"json\""),
        "a small run is not compressed"
    );
    let run = Run::read(&dir);
    let pages = render_all(
        &chromium,
        &tmp.path().join("chromium"),
        &html,
        &[
            ("overview", "#/".into()),
            ("pair", "#/pair/0".into()),
            ("story", "#/story/b.txt".into()),
            ("odd document", format!("#/doc/{}", enc(odd))),
            ("stories searched", format!("#/stories?q={}", enc("<b>"))),
        ],
    );
    for p in &pages {
        p.ok();
        p.check(
            !p.dom.contains("<img"),
            "markup from a text became an element",
        );
        p.check(
            !p.dom.contains("<b>x"),
            "markup from an id became an element",
        );
        p.check(
            !p.dom.contains("<i>Br"),
            "markup from a title became an element",
        );
    }
    check_overview(&pages[0], &run);
    check_pair(&pages[1], &run, 0);
    let p = &pages[1];
    p.has(
        &format!("class=\"s\">{}<", text_escaped(de1)),
        "the sentence table holds the German sentence",
    );
    p.has("<td class=\"num\">0.91</td>", "the sentence's score");
    p.has("class=\"bp\">Footer ©<", "the footer is greyed");
    check_story(&pages[2], &run, "b.txt");
    check_doc(&pages[3], &run, odd);
    pages[3].has(
        &text_escaped("<img src=x onerror=alert(1)>"),
        "the text is shown as text",
    );
    let p = &pages[4];
    p.has(
        "<tr class=\"story-row\" data-id=\"b.txt\"",
        "searching for markup finds the story by its member's id",
    );
}
