//! The HTTP API on loopback: every route, its errors (400 naming the field, 401, 404, 409,
//! 413, 408), ids that look like paths, and readers answered while a writer is busy.

use retrace::encode::stub::HashEncoder;
use retrace::encode::{Embeddings, EncodeError, Encoder, Family};
use retrace::pipeline::{Encoders, Meaning};
use retrace::Calibration;
use retrace_service::http::{self, ServeOptions};
use retrace_service::{Index, IndexOptions};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

const ARTICLE: &str = "The harbour authority approved a plan on Monday to deepen the main \
    channel so that larger container ships can dock. The work will take two years and cost \
    ninety million euros, paid partly by the port's own revenue. Local fishermen fear that \
    the dredging will disturb the breeding grounds of sole and plaice near the estuary. The \
    authority promised an independent study of the seabed before the first dredger arrives.";

const OTHER: &str = "A new bakery opened in the main square this week, selling bread and \
    cakes. Its owner trained in Lyon for ten years before coming back to her home town. \
    Customers queued from early morning to taste the famous apple pie.";

/// A stub encoder that can be held inside `encode` until released (to keep a writer busy).
struct Gate {
    inner: HashEncoder,
    state: Mutex<(bool, usize)>,
    cv: Condvar,
}

impl Gate {
    fn new() -> Self {
        Gate {
            inner: HashEncoder::new(128),
            state: Mutex::new((true, 0)),
            cv: Condvar::new(),
        }
    }
    fn close(&self) {
        self.state.lock().expect("lock").0 = false;
    }
    fn open(&self) {
        self.state.lock().expect("lock").0 = true;
        self.cv.notify_all();
    }
    /// Wait until a call is held at the gate.
    fn wait_held(&self) {
        let mut s = self.state.lock().expect("lock");
        while s.1 == 0 {
            s = self
                .cv
                .wait_timeout(s, Duration::from_secs(10))
                .expect("lock")
                .0;
        }
    }
}

impl Encoder for Gate {
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
        let mut s = self.state.lock().expect("lock");
        if !s.0 {
            s.1 += 1;
            self.cv.notify_all();
            while !s.0 {
                s = self.cv.wait(s).expect("lock");
            }
            s.1 -= 1;
        }
        drop(s);
        self.inner.encode(batch)
    }
}

/// An encoder shared between the test and the server.
struct Shared(Arc<Gate>);

impl Encoder for Shared {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn family(&self) -> Family {
        self.0.family()
    }
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn languages(&self) -> &[&'static str] {
        self.0.languages()
    }
    fn encode(&self, batch: &[&str]) -> Result<Embeddings, EncodeError> {
        self.0.encode(batch)
    }
}

struct Server {
    addr: SocketAddr,
    _rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// A server over a new index (stub encoder) with `options`, on a free loopback port.
fn server(gate: Arc<Gate>, options: ServeOptions) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let cal = Calibration::for_encoder(gate.as_ref()).clone();
    let enc = Encoders {
        primary: Some(Meaning {
            encoder: gate.as_ref(),
            calibration: &cal,
        }),
        fallback: None,
    };
    let index = Index::create(dir.path(), IndexOptions::default(), &enc).expect("create");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let app = http::router(
        index,
        http::Encoders {
            primary: Some(Box::new(Shared(gate))),
            fallback: None,
        },
        options,
    );
    rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server {
        addr,
        _rt: rt,
        _dir: dir,
    }
}

/// One HTTP/1.1 request; the status and the body as JSON (`Null` when it is not JSON).
fn call(addr: SocketAddr, method: &str, path: &str, headers: &[&str], body: &[u8]) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req += "Content-Type: application/json\r\n";
    }
    for h in headers {
        req += h;
        req += "\r\n";
    }
    req += "\r\n";
    s.write_all(req.as_bytes()).expect("send");
    // A body the server refuses may be cut short: ignore a reset while sending it.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    call(addr, "GET", path, &[], b"")
}

fn post(addr: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    call(addr, "POST", path, &[], body.to_string().as_bytes())
}

fn error_of(v: &Value) -> String {
    v["error"].as_str().unwrap_or_default().to_string()
}

#[test]
fn the_api_adds_finds_and_explains() {
    let s = server(Arc::new(Gate::new()), ServeOptions::default());
    let (st, h) = get(s.addr, "/health");
    assert_eq!(st, 200);
    assert_eq!(h["documents"], 0);
    let docs = json!({"documents": [
        {"id": "news/harbour.txt", "text": ARTICLE, "title": "Harbour", "date": "2026-03-02"},
        {"id": "bakery", "text": OTHER},
    ]});
    let (st, r) = post(s.addr, "/documents", &docs);
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["added"], 2);
    // A republication, as a bare array.
    let copy = format!("Port news | Subscribe\n\n{ARTICLE}\n\nShare this article");
    let (st, r) = post(
        s.addr,
        "/documents",
        &json!([{"id": "copy ü", "text": copy}]),
    );
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["relations"], 1);
    assert_eq!(r["documents"], 3);
    // Ids with slashes and spaces, percent-encoded.
    let (st, d) = get(s.addr, "/documents/news%2Fharbour.txt");
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["document"]["meta"]["title"], "Harbour");
    assert_eq!(d["lang"], "en");
    let (st, rel) = get(s.addr, "/documents/copy%20%C3%BC/related");
    assert_eq!(st, 200);
    let rel = rel["related"].as_array().expect("list").clone();
    assert_eq!(rel.len(), 1);
    assert_eq!(rel[0]["id"], "news/harbour.txt");
    assert_eq!(rel[0]["kind"], "copy");
    assert!(!rel[0]["evidence"].as_array().expect("evidence").is_empty());
    let (_, none) = get(s.addr, "/documents/copy%20%C3%BC/related?kind=translation");
    assert_eq!(none["related"], json!([]));
    let (_, high) = get(s.addr, "/documents/copy%20%C3%BC/related?min_score=1.5");
    assert_eq!(high["related"], json!([]));
    let (st, e) = get(s.addr, "/documents/copy%20%C3%BC/related?kind=plagiarism");
    assert_eq!(st, 400);
    assert!(error_of(&e).contains("kind"), "{e}");
    // A query: an excerpt of the article, with the passages and the would-be parent.
    let excerpt: String = ARTICLE.split(". ").take(2).collect::<Vec<_>>().join(". ");
    let (st, q) = post(s.addr, "/query", &json!({"text": excerpt}));
    assert_eq!(st, 200, "{q}");
    let related = q["related"].as_array().expect("related");
    assert!(
        related
            .iter()
            .any(|r| r["id"] == "news/harbour.txt" && r["kind"] == "copy"),
        "{q}"
    );
    assert!(q["parent"]["id"].is_string(), "{q}");
    assert_eq!(
        get(s.addr, "/health").1["documents"],
        3,
        "a query adds nothing"
    );
    // The story of the article holds its copy, and the copy's parent is the article.
    let (st, story) = get(s.addr, "/stories/news%2Fharbour.txt");
    assert_eq!(st, 200);
    let mut members: Vec<&str> = story["documents"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    members.sort_unstable();
    assert_eq!(members, ["copy ü", "news/harbour.txt"]);
    assert_eq!(story["relations"].as_array().expect("relations").len(), 1);
    let (_, search) = get(s.addr, "/search?q=HARB");
    assert_eq!(search["documents"][0]["id"], "news/harbour.txt");
    // The page and the API's description.
    let (st, _) = get(s.addr, "/");
    assert_eq!(st, 200);
    let (st, api) = get(s.addr, "/openapi.json");
    assert_eq!(st, 200);
    assert!(api["paths"]["/query"]["post"].is_object());
    // Removal.
    let (st, _) = call(s.addr, "DELETE", "/documents/bakery", &[], b"");
    assert_eq!(st, 200);
    assert_eq!(get(s.addr, "/documents/bakery").0, 404);
    assert_eq!(call(s.addr, "DELETE", "/documents/bakery", &[], b"").0, 404);
}

#[test]
fn bad_requests_say_what_is_wrong() {
    let s = server(
        Arc::new(Gate::new()),
        ServeOptions {
            max_body: 4096,
            max_batch: 3,
            ..ServeOptions::default()
        },
    );
    let cases: &[(&str, &str)] = &[
        ("{not json", "not JSON"),
        ("", "no body"),
        ("42", "expected an object or an array"),
        (r#"{"docs": []}"#, "expected {\"documents\""),
        (r#"{"documents": {}}"#, "documents: expected an array"),
        (
            r#"{"documents": [{"id": "a", "text": "x"}, {"id": "b"}]}"#,
            "documents[1]: missing \"text\"",
        ),
        (
            r#"{"documents": [{"id": 7, "text": "x"}]}"#,
            "documents[0].id: expected a string, got a number",
        ),
        (r#"[{"text": "x"}]"#, "[0]: missing \"id\""),
        (r#"[{"id": "", "text": "x"}]"#, "[0].id: empty"),
        (
            r#"[{"id": "a", "text": "x", "title": ["t"]}]"#,
            "[0].title: expected a string, got an array",
        ),
        (
            r#"[{"id": "a", "text": "x", "lang": "klingon"}]"#,
            "[0].lang: \"klingon\" is not a language code",
        ),
    ];
    for (body, want) in cases {
        let (st, e) = call(s.addr, "POST", "/documents", &[], body.as_bytes());
        assert_eq!(st, 400, "{body}: {e}");
        assert!(
            error_of(&e).contains(want),
            "{body}: {} lacks {want:?}",
            error_of(&e)
        );
    }
    let (st, e) = post(s.addr, "/query", &json!({"lang": "en"}));
    assert_eq!(st, 400);
    assert!(error_of(&e).contains("missing \"text\""), "{e}");
    let (st, e) = post(s.addr, "/query", &json!({"text": "x", "lang": 3}));
    assert_eq!(st, 400);
    assert!(error_of(&e).contains("body.lang: expected a string"), "{e}");
    // Over the body limit; over the batch limit.
    let big = json!([{"id": "big", "text": "word ".repeat(2000)}]);
    assert_eq!(post(s.addr, "/documents", &big).0, 413);
    let many: Vec<Value> = (0..4)
        .map(|i| json!({"id": format!("d{i}"), "text": "x"}))
        .collect();
    let (st, e) = post(s.addr, "/documents", &Value::Array(many));
    assert_eq!(st, 413);
    assert!(error_of(&e).contains("at most 3"), "{e}");
    // An id twice: 409, and nothing of the batch is added.
    let (st, _) = post(s.addr, "/documents", &json!([{"id": "a", "text": ARTICLE}]));
    assert_eq!(st, 201);
    let (st, e) = post(
        s.addr,
        "/documents",
        &json!([{"id": "b", "text": OTHER}, {"id": "a", "text": "again"}]),
    );
    assert_eq!(st, 409, "{e}");
    assert_eq!(get(s.addr, "/health").1["documents"], 1);
    // Ids never reach the file system: names of the index's own files are unknown ids.
    for path in [
        "/documents/..%2Findex.json",
        "/documents/%2Fetc%2Fpasswd",
        "/documents/..%2F..%2F..%2Fetc%2Fpasswd/related",
        "/stories/index.json",
        "/documents/seg-00000001%2Fdocs.jsonl",
    ] {
        let (st, e) = get(s.addr, path);
        assert_eq!(st, 404, "{path}: {e}");
        assert!(
            error_of(&e).starts_with("no document with id"),
            "{path}: {e}"
        );
    }
    assert_eq!(get(s.addr, "/no/such/route").0, 404);
}

#[test]
fn writes_need_the_token_when_there_is_one() {
    let s = server(
        Arc::new(Gate::new()),
        ServeOptions {
            token: Some("s3cret".into()),
            ..ServeOptions::default()
        },
    );
    let body = json!([{"id": "a", "text": ARTICLE}]).to_string();
    let (st, e) = call(s.addr, "POST", "/documents", &[], body.as_bytes());
    assert_eq!(st, 401, "{e}");
    let wrong = ["Authorization: Bearer s3cre"];
    assert_eq!(
        call(s.addr, "POST", "/documents", &wrong, body.as_bytes()).0,
        401
    );
    let right = ["Authorization: Bearer s3cret"];
    assert_eq!(
        call(s.addr, "POST", "/documents", &right, body.as_bytes()).0,
        201
    );
    assert_eq!(call(s.addr, "DELETE", "/documents/a", &[], b"").0, 401);
    // Reads and queries need no token.
    assert_eq!(get(s.addr, "/documents/a").0, 200);
    assert_eq!(post(s.addr, "/query", &json!({"text": ARTICLE})).0, 200);
    assert_eq!(get(s.addr, "/health").1["writes"], "token");
    let ro = server(
        Arc::new(Gate::new()),
        ServeOptions {
            read_only: true,
            ..ServeOptions::default()
        },
    );
    assert_eq!(
        call(ro.addr, "POST", "/documents", &[], body.as_bytes()).0,
        403
    );
}

#[test]
fn readers_are_answered_while_a_writer_adds_and_slow_queries_time_out() {
    let gate = Arc::new(Gate::new());
    let s = server(
        gate.clone(),
        ServeOptions {
            timeout: Duration::from_millis(300),
            ..ServeOptions::default()
        },
    );
    assert_eq!(
        post(s.addr, "/documents", &json!([{"id": "a", "text": ARTICLE}])).0,
        201
    );
    // Hold the next add inside the encoder.
    gate.close();
    let addr = s.addr;
    let writer =
        std::thread::spawn(move || post(addr, "/documents", &json!([{"id": "b", "text": OTHER}])));
    gate.wait_held();
    // The writer is held: reads are answered from the last commit.
    let (st, h) = get(s.addr, "/health");
    assert_eq!(st, 200);
    assert_eq!(h["documents"], 1, "the held batch is not visible");
    assert_eq!(get(s.addr, "/documents/a").0, 200);
    assert_eq!(get(s.addr, "/documents/b").0, 404);
    assert_eq!(
        get(s.addr, "/search?q=").1["documents"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // A query needs the (held) encoder: it times out, and says so.
    let (st, e) = post(s.addr, "/query", &json!({"text": OTHER}));
    assert_eq!(st, 408, "{e}");
    assert!(error_of(&e).contains("longer than"), "{e}");
    gate.open();
    let (st, r) = writer.join().expect("writer");
    assert_eq!(st, 201, "{r}");
    assert_eq!(get(s.addr, "/health").1["documents"], 2);
    assert_eq!(get(s.addr, "/documents/b").0, 200);
}
