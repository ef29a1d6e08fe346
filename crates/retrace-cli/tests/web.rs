//! The web page of `retrace serve` in a real browser: an index of the seed corpus is
//! served, headless Chromium renders the page's routes (`--dump-dom`), and the test reads
//! the DOM it prints. Skipped with a notice when Chromium or ../shared is absent (both are
//! required under CI, where `.ci/run` installs Chromium).

mod common;
use common::browser::*;
use common::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const ID_000: &str = "000_3a6c4f445c7f6ecb.txt";
const ID_001: &str = "001_244488ea25266046.txt";
const ID_002: &str = "002_df49b81ec52edcc4.txt";

/// A running `retrace serve`, killed when dropped (also when the test panics).
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn start(index: &Path, log: PathBuf) -> Server {
        // Port 0 is not reported back: take a free port and hand it over.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let err = std::fs::File::create(&log).expect("server log");
        let child = bin()
            .arg("serve")
            .arg("--index")
            .arg(index)
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("start retrace serve");
        let mut s = Server { child, port, log };
        s.wait_ready();
        s
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "retrace serve exited ({status}) before answering:\n{}",
                    self.log()
                );
            }
            if let Ok((200, _)) = http_get(self.port, "/health") {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "retrace serve did not answer /health within 20 s:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn url(&self, hash: &str) -> String {
        format!("http://127.0.0.1:{}/{hash}", self.port)
    }

    /// GET `path` as JSON (status 200 required).
    fn json(&self, path: &str) -> Value {
        self.request("GET", path, None)
    }

    /// `method path` with a JSON body, answered with JSON (status 200 required).
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let body = body.map(|b| b.to_string());
        let (status, out) = http(self.port, method, path, body.as_deref())
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.log()));
        assert_eq!(status, 200, "{method} {path}: {out}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{method} {path}: {e}: {out}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET on 127.0.0.1:`port`: the status and the body.
fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    http(port, "GET", path, None)
}

/// A plain HTTP/1.1 request (a JSON body when given): the status and the body.
fn http(port: u16, method: &str, path: &str, json: Option<&str>) -> std::io::Result<(u16, String)> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = json.unwrap_or("");
    let ctype = if json.is_some() {
        "Content-Type: application/json\r\n"
    } else {
        ""
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{ctype}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let bad = || std::io::Error::other(format!("not an HTTP answer: {raw:.200}"));
    let (head, body) = raw.split_once("\r\n\r\n").ok_or_else(bad)?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Ok((status, if chunked { dechunk(body) } else { body.into() }))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

impl Page {
    /// No JavaScript error (Chromium's log, the page's own `#js-errors`) and no API error.
    fn no_errors(&self) {
        self.check(
            self.console().is_empty(),
            "the page wrote to the console or threw",
        );
        let at = self.dom.find("id=\"js-errors\"");
        self.check(at.is_some(), "no #js-errors element");
        let rest = &self.dom[at.unwrap()..];
        let inner = &rest[rest.find('>').unwrap() + 1..];
        self.check(
            inner.starts_with("</div>"),
            &format!(
                "the page recorded JavaScript errors: {}",
                &inner[..inner.find("</div>").unwrap_or(inner.len())]
            ),
        );
        let shown = self.text_of("class=\"error\"");
        self.check(
            shown.is_none(),
            &format!("the page shows an error: {shown:?}"),
        );
    }
}

/// Each passage pair of `related` is marked on both sides of the page's side-by-side view,
/// and the marks hold the texts at the evidence's byte offsets (`ours` into `ours_text`,
/// `theirs` into `theirs_text`).
fn check_passages(page: &Page, related: &Value, ours_text: &str, theirs_text: &str) {
    page.has("id=\"side-ours\"", "no side-by-side view");
    page.has("id=\"side-theirs\"", "no side-by-side view");
    let evidence = related["evidence"].as_array().unwrap();
    page.check(!evidence.is_empty(), "the relation has no evidence");
    for (i, e) in evidence.iter().enumerate() {
        for (side, text, range) in [
            ("ours", ours_text, &e["ours"]),
            ("theirs", theirs_text, &e["theirs"]),
        ] {
            let want = bytes(text, range);
            let got = page.text_of(&format!("id=\"{side}-p{i}\""));
            page.check(
                got.as_deref()
                    .is_some_and(|g| !g.is_empty() && want.starts_with(g)),
                &format!("passage {i} on side {side}: marked {got:?}, want a prefix of {want:?}"),
            );
        }
    }
    page.check(
        page.count("class=\"passage\"") >= 2 * evidence.len(),
        "too few highlighted passages",
    );
}

#[test]
fn web_page_in_headless_chromium() {
    let Some(chromium) = chromium() else { return };
    let Some(shared) = shared() else { return };
    let seeds = shared.join("corpora/seeds");
    let tmp = tempfile::tempdir().unwrap();
    let index = tmp.path().join("index");
    run_ok(
        bin()
            .args(["index", "create"])
            .arg(&index)
            .args(["--encoder", "none"]),
    );
    run_ok(bin().args(["index", "add"]).arg(&index).arg(&seeds));
    let server = Server::start(&index, tmp.path().join("serve.log"));
    let work = tmp.path().join("chromium");
    // Render `routes` ((what, hash)) at once, each in its own browser and profile.
    let render_all = |routes: &[(&str, String)]| -> Vec<Page> {
        let start = Instant::now();
        let pages: Vec<Page> = std::thread::scope(|scope| {
            let runs: Vec<_> = routes
                .iter()
                .map(|(what, hash)| {
                    let dir = work.join(enc(what));
                    let (chromium, url) = (&chromium, server.url(hash));
                    scope.spawn(move || {
                        render(chromium, &dir, what, &url, 10_000, Duration::from_secs(60))
                    })
                })
                .collect();
            runs.into_iter()
                .map(|r| r.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        eprintln!(
            "rendered {} routes in {:.1} s",
            routes.len(),
            start.elapsed().as_secs_f64()
        );
        pages
    };

    let mut seed_ids: Vec<String> = std::fs::read_dir(&seeds)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    seed_ids.sort();
    assert_eq!(seed_ids.len(), 5, "the seed corpus: {seed_ids:?}");

    let text002 = std::fs::read_to_string(seeds.join(ID_002)).unwrap();
    let paragraph = text002
        .split("\n\n")
        .map(str::trim)
        .max_by_key(|p| p.len())
        .unwrap();
    assert!(paragraph.len() > 300, "a long paragraph: {paragraph:?}");
    let [search, search002, doc, doc_rewrite, story_page, query]: [Page; 6] = render_all(&[
        ("search page", "#/".into()),
        ("search for 002", format!("#/search?q={}", enc("002_DF49"))),
        ("document 000", format!("#/doc/{}", enc(ID_000))),
        (
            "document 000, rewrites, beside 001",
            format!("#/doc/{}?kind=rewrite&with={}", enc(ID_000), enc(ID_001)),
        ),
        ("story of 000", format!("#/story/{}", enc(ID_000))),
        (
            "query with a paragraph of 002",
            format!("#/query?text={}&open=1", enc(paragraph)),
        ),
    ])
    .try_into()
    .unwrap_or_else(|_| unreachable!());

    // (a) The search page: the document count and every seed.
    let p = &search;
    p.no_errors();
    let count = p.text_of("id=\"doc-count\"");
    p.check(
        count.as_deref() == Some("5"),
        &format!("document count {count:?}, want 5"),
    );
    for id in &seed_ids {
        p.has(
            &format!("<li class=\"doc-item\" data-id=\"{id}\">"),
            "a seed is not listed",
        );
        p.has(&format!("href=\"#/doc/{}\"", enc(id)), "no link to a seed");
    }
    let p = &search002;
    p.no_errors();
    p.has(&format!("data-id=\"{ID_002}\""), "002 not found");
    p.lacks(&format!("data-id=\"{ID_001}\""), "001 should not match");

    // (b) A document: its relations, parent, children and story.
    let p = &doc;
    p.no_errors();
    p.has(&format!("id=\"doc-id\">{ID_000}<"), "the document's id");
    p.has(
        &format!("<tr class=\"relation\" data-kind=\"copy\" data-id=\"{ID_002}\">"),
        "no copy relation with 002",
    );
    p.has(
        &format!("<tr class=\"relation\" data-kind=\"rewrite\" data-id=\"{ID_001}\">"),
        "no rewrite relation with 001",
    );
    p.has("id=\"parent\"", "no parent line");
    p.has(
        &format!("<li class=\"child\" data-id=\"{ID_002}\">"),
        "002 (an excerpt of 000) is not listed as a child",
    );
    p.has(
        &format!("id=\"story-link\" href=\"#/story/{}\"", enc(ID_000)),
        "no story link",
    );

    // The kind filter and the side-by-side view of a relation (byte offsets → text).
    let p = &doc_rewrite;
    p.no_errors();
    p.has("data-kind=\"rewrite\"", "no rewrite listed");
    p.lacks("data-kind=\"copy\"", "the kind filter let a copy through");
    let related = server.json(&format!("/documents/{}/related?kind=rewrite", enc(ID_000)));
    let r = related["related"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == ID_001)
        .expect("the API relates 000 to 001");
    let text_of = |id: &str| -> String {
        server.json(&format!("/documents/{}", enc(id)))["document"]["text"]
            .as_str()
            .unwrap()
            .to_string()
    };
    check_passages(p, r, &text_of(ID_000), &text_of(ID_001));

    // (c) The story: an SVG graph with a node per member and an edge per parent.
    let story = server.json(&format!("/stories/{}", enc(ID_000)));
    let members = story["documents"].as_array().unwrap();
    let edges = members.iter().filter(|m| !m["parent"].is_null()).count();
    assert!(
        members.len() >= 3 && edges >= 2,
        "the story of 000: {story}"
    );
    let p = &story_page;
    p.no_errors();
    p.has("<svg", "no SVG graph");
    let nodes = p.count("<g class=\"node");
    p.check(
        nodes == members.len(),
        &format!("{nodes} nodes, want {}", members.len()),
    );
    let drawn = p.count("<g class=\"edge\"");
    p.check(drawn == edges, &format!("{drawn} edges, want {edges}"));
    for m in members {
        p.has(
            &format!(
                "<g class=\"node{}\" data-id=\"{}\">",
                if m["id"] == ID_000 { " current" } else { "" },
                m["id"].as_str().unwrap()
            ),
            "a member has no node",
        );
    }
    p.has(
        &format!("data-parent=\"{ID_000}\" data-child=\"{ID_002}\""),
        "no edge 000 → 002",
    );

    // (d) Paste a text: the longest paragraph of 002 matches 002 (and 000, which 002 copies),
    // and the first match opens beside the pasted text with its passages marked.
    let p = &query;
    p.no_errors();
    p.check(
        p.dom.contains(&format!(
            "class=\"match\" data-kind=\"copy\" data-id=\"{ID_002}\""
        )) || p.dom.contains(&format!(
            "class=\"match\" data-kind=\"copy\" data-id=\"{ID_000}\""
        )),
        "no copy match with 002 or 000",
    );
    p.has("id=\"query-parent\"", "no would-be parent line");
    // The first match, as the API gives it, is the one opened.
    let q = server.request(
        "POST",
        "/query",
        Some(&serde_json::json!({ "text": paragraph })),
    );
    let first = &q["related"][0];
    let first_id = first["id"].as_str().expect("the query matches something");
    check_passages(p, first, paragraph, &text_of(first_id));

    // Ids and texts are shown as text: an id with a slash, spaces, unicode and markup, and
    // a text with markup, go through the routes intact and inject nothing.
    let odd = "odd/id ü <b>bold</b> & \"q\" #?%";
    let text = format!("<img src=x onerror=alert(1)> {paragraph}");
    let (status, body) = http(
        server.port,
        "POST",
        "/documents",
        Some(&serde_json::json!({ "documents": [{ "id": odd, "text": text }] }).to_string()),
    )
    .unwrap();
    assert_eq!(status, 201, "POST /documents: {body}");
    let [odd_doc, odd_search, odd_story, unknown]: [Page; 4] = render_all(&[
        (
            "document with an odd id",
            format!("#/doc/{}?with={}", enc(odd), enc(ID_002)),
        ),
        ("search for markup", format!("#/search?q={}", enc("<b>"))),
        ("story of the odd id", format!("#/story/{}", enc(odd))),
        (
            "an unknown document",
            format!("#/doc/{}", enc("no such id")),
        ),
    ])
    .try_into()
    .unwrap_or_else(|_| unreachable!());
    let shown = "odd/id ü &lt;b&gt;bold&lt;/b&gt; &amp; \"q\" #?%";
    for p in [&odd_doc, &odd_search, &odd_story] {
        p.no_errors();
        p.lacks("<b>", "markup from an id became an element");
        p.lacks("<img", "markup from a text became an element");
        p.has(shown, "the odd id is not shown as text");
    }
    for p in [&odd_search, &odd_story] {
        p.has(
            &format!("href=\"#/doc/{}\"", enc(odd)),
            "no link to the odd id",
        );
    }
    odd_doc.has(&format!("id=\"doc-id\">{shown}<"), "the odd document's id");
    odd_doc.has(
        "&lt;img src=x onerror=alert(1)&gt;",
        "the text is not shown as text",
    );
    let r = server.json(&format!("/documents/{}/related", enc(odd)));
    let r = r["related"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == ID_002)
        .expect("the API relates the odd document to 002");
    check_passages(&odd_doc, r, &text, &text_of(ID_002));
    odd_story.has("<svg", "no graph for the odd id's story");

    // An API error is shown, not swallowed.
    let p = &unknown;
    let shown = p.text_of("class=\"error\"");
    p.check(
        shown
            .as_deref()
            .is_some_and(|e| e.contains("404") && e.contains("no such id")),
        &format!("the 404 is not shown: {shown:?}"),
    );
    p.check(
        !p.stderr.contains("Uncaught"),
        "an uncaught exception on an API error",
    );
    drop(server);
}
