//! The HTTP JSON API and web page over an [`Index`] (`retrace serve`).
//!
//! | route | what |
//! | --- | --- |
//! | `GET /` | the web page (search, a document's relations, a story's graph, paste a text) |
//! | `GET /health` | documents, generation, encoders |
//! | `GET /openapi.json` | this API, as OpenAPI 3.1 |
//! | `POST /documents` | add a batch (`{"documents": [...]}` or a bare array); needs the token when one is set |
//! | `DELETE /documents/{id}` | remove a document; needs the token when one is set |
//! | `GET /documents/{id}` | a document, its language, story and parent |
//! | `GET /documents/{id}/related?kind=&min_score=` | its relations, strongest first |
//! | `POST /query` | `{text, id?, title?, date?, url?}`: what a text relates to, not added |
//! | `GET /stories/{id}` | the story of document `id`: members, parents, relations |
//! | `GET /search?q=&limit=` | documents whose id or title contains `q` |
//!
//! Errors are JSON `{"error": "..."}` with the status: 400 for a malformed body (naming
//! the record and field), 401 without the token, 404 for an unknown id, 409 for an id
//! already added, 413 for a body over the limit, 408 past the request timeout, 500 for
//! an index error. Ids are looked up in the index's tables and never reach a file path.
//!
//! Reads run on the last committed snapshot and are not blocked by a writer; writes are
//! serialised by the index's lock. Work runs on blocking threads, so the event loop keeps
//! answering while a batch is judged.

use crate::index::{Index, Models};
use crate::IndexError;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use retrace::encode::Encoder;
use retrace::progress::NoProgress;
use retrace::{Document, Kind};
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The web page, served at `/`.
const PAGE: &str = include_str!("web/index.html");
/// The API's description.
const OPENAPI: &str = include_str!("openapi.json");

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Writes need `Authorization: Bearer <token>` when set.
    pub token: Option<String>,
    /// Refuse writes altogether.
    pub read_only: bool,
    /// Largest request body, in bytes (413 beyond).
    pub max_body: usize,
    /// Longest time a read or query may take (408 beyond).
    pub timeout: Duration,
    /// Longest time a write may take.
    pub write_timeout: Duration,
    /// Most documents one `POST /documents` may hold.
    pub max_batch: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            token: None,
            read_only: false,
            max_body: 32 << 20,
            timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(600),
            max_batch: 10_000,
        }
    }
}

/// The encoders a server uses (the index's).
pub struct Encoders {
    /// The main encoder.
    pub primary: Option<Box<dyn Encoder>>,
    /// The fallback encoder.
    pub fallback: Option<Box<dyn Encoder>>,
}

impl Encoders {
    fn models(&self) -> Models<'_> {
        Models {
            primary: self.primary.as_deref(),
            fallback: self.fallback.as_deref(),
        }
    }
}

struct AppState {
    index: Index,
    encoders: Encoders,
    options: ServeOptions,
}

type Shared = Arc<AppState>;

/// An error answer: a status and a message.
#[derive(Debug)]
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<IndexError> for ApiError {
    fn from(e: IndexError) -> Self {
        let status = match &e {
            IndexError::DuplicateId(_) => StatusCode::CONFLICT,
            IndexError::EncoderMismatch { .. } => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!("{e}");
        }
        ApiError(status, e.to_string())
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

fn not_found(id: &str) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, format!("no document with id {id:?}"))
}

/// Run `f` on a blocking thread within `limit` (408 beyond).
async fn blocking<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let task = tokio::task::spawn_blocking(f);
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the request's work failed: {e}"),
        )),
        Err(_) => Err(ApiError(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request took longer than {:?}", limit),
        )),
    }
}

/// The router of the API and page over `index` (for tests and embedding; [`serve`] binds it).
pub fn router(index: Index, encoders: Encoders, options: ServeOptions) -> Router {
    let max_body = options.max_body;
    let state: Shared = Arc::new(AppState {
        index,
        encoders,
        options,
    });
    Router::new()
        .route("/", get(page))
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .route("/documents", post(add))
        .route("/documents/{id}", get(document).delete(remove))
        .route("/documents/{id}/related", get(related))
        .route("/query", post(query))
        .route("/stories/{id}", get(story))
        .route("/search", get(search))
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such route".into()) })
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// Serve `index` until interrupted (Ctrl-C or SIGTERM).
pub async fn serve(index: Index, encoders: Encoders, options: ServeOptions) -> std::io::Result<()> {
    let addr = options.addr;
    let app = router(index, encoders, options);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn health(State(s): State<Shared>) -> Json<Value> {
    let snap = s.index.snapshot();
    let o = snap.options();
    Json(json!({
        "status": "ok",
        "documents": snap.len(),
        "generation": snap.generation(),
        "added_since_refresh": snap.added_since_refresh(),
        "encoder": o.encoder,
        "fallback_encoder": o.fallback,
        "writes": if s.options.read_only { "off" } else if s.options.token.is_some() { "token" } else { "open" },
    }))
}

/// Whether the request may write.
fn authorise(s: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if s.options.read_only {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "this server is read-only".into(),
        ));
    }
    let Some(token) = &s.options.token else {
        return Ok(());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(g) if constant_time_eq(g.as_bytes(), token.as_bytes()) => Ok(()),
        _ => Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "writes need the header `Authorization: Bearer <token>`".into(),
        )),
    }
}

/// Compare without stopping at the first difference (the token is a secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The JSON body, or a 400 saying what is wrong with it.
fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Err(bad("the request has no body (expected JSON)"));
    }
    serde_json::from_slice(body).map_err(|e| {
        bad(format!(
            "the body is not JSON: {e} (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

/// An optional string field of a record.
fn opt_str(
    rec: &serde_json::Map<String, Value>,
    field: &str,
    at: &str,
) -> Result<Option<String>, ApiError> {
    match rec.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad(format!(
            "{at}.{field}: expected a string, got {}",
            kind_of(other)
        ))),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A document from a JSON record at `at` (`id` required when `need_id`).
fn document_of(v: &Value, at: &str, need_id: bool) -> Result<Document, ApiError> {
    let Value::Object(rec) = v else {
        return Err(bad(format!("{at}: expected an object, got {}", kind_of(v))));
    };
    let text = opt_str(rec, "text", at)?
        .ok_or_else(|| bad(format!("{at}: missing \"text\" (a string)")))?;
    let id = match opt_str(rec, "id", at)? {
        Some(id) if id.is_empty() => return Err(bad(format!("{at}.id: empty"))),
        Some(id) => id,
        None if need_id => return Err(bad(format!("{at}: missing \"id\" (a string)"))),
        None => "query".to_string(),
    };
    let mut doc = Document::new(id, text);
    doc.meta.url = opt_str(rec, "url", at)?;
    doc.meta.date = opt_str(rec, "date", at)?;
    doc.meta.title = opt_str(rec, "title", at)?;
    if let Some(lang) = opt_str(rec, "lang", at)? {
        if retrace::prepare::langid::known_code(&lang).is_none() {
            return Err(bad(format!(
                "{at}.lang: {lang:?} is not a language code retrace identifies (e.g. \"en\", \"fr\", \"und\")"
            )));
        }
        doc.meta.lang = Some(lang);
    }
    doc.meta.source = retrace::document::Source::file(
        opt_str(rec, "source", at)?.unwrap_or_else(|| "http".to_string()),
    );
    Ok(doc)
}

async fn add(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<impl IntoResponse, ApiError> {
    authorise(&s, &headers)?;
    let v = parse_body(&body)?;
    let (list, at) = match &v {
        Value::Array(a) => (a, ""),
        Value::Object(o) => match o.get("documents") {
            Some(Value::Array(a)) => (a, "documents"),
            Some(other) => {
                return Err(bad(format!(
                    "documents: expected an array, got {}",
                    kind_of(other)
                )))
            }
            None => {
                return Err(bad(
                    "expected {\"documents\": [...]} or an array of documents",
                ))
            }
        },
        other => {
            return Err(bad(format!(
                "expected an object or an array, got {}",
                kind_of(other)
            )))
        }
    };
    if list.len() > s.options.max_batch {
        return Err(ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} documents in one request; at most {} (send several)",
                list.len(),
                s.options.max_batch
            ),
        ));
    }
    let docs = list
        .iter()
        .enumerate()
        .map(|(i, d)| document_of(d, &format!("{at}[{i}]"), true))
        .collect::<Result<Vec<_>, _>>()?;
    let limit = s.options.write_timeout;
    let report = blocking(limit, move || {
        let mut r = s.index.add(docs, s.encoders.models(), &NoProgress)?;
        r.refreshed = s.index.refresh_if_due(s.encoders.models(), &NoProgress)?;
        if r.refreshed {
            r.documents = s.index.snapshot().len();
        }
        Ok(r)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(report)))
}

async fn remove(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    authorise(&s, &headers)?;
    let limit = s.options.write_timeout;
    let n = blocking(limit, move || {
        let n = s.index.remove(std::slice::from_ref(&id))?;
        if n == 0 {
            return Err(not_found(&id));
        }
        Ok(n)
    })
    .await?;
    Ok(Json(json!({ "removed": n })))
}

async fn document(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = s.options.timeout;
    let out = blocking(limit, move || {
        s.index.snapshot().get(&id)?.ok_or_else(|| not_found(&id))
    })
    .await?;
    Ok(Json(out))
}

#[derive(Deserialize)]
struct RelatedParams {
    kind: Option<String>,
    min_score: Option<f64>,
}

fn parse_kind(s: &str) -> Result<Kind, ApiError> {
    [
        Kind::Copy,
        Kind::Rewrite,
        Kind::Translation,
        Kind::SameStory,
    ]
    .into_iter()
    .find(|k| k.as_str() == s)
    .ok_or_else(|| {
        bad(format!(
            "kind: unknown kind {s:?} (copy, rewrite, translation or same_story)"
        ))
    })
}

async fn related(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(p): Query<RelatedParams>,
) -> Result<impl IntoResponse, ApiError> {
    let kind = p
        .kind
        .as_deref()
        .filter(|k| !k.is_empty())
        .map(parse_kind)
        .transpose()?;
    let min_score = p.min_score.unwrap_or(0.0);
    if !min_score.is_finite() {
        return Err(bad("min_score: not a finite number"));
    }
    let limit = s.options.timeout;
    let out = blocking(limit, move || {
        s.index
            .snapshot()
            .related(&id, kind, min_score)?
            .ok_or_else(|| not_found(&id))
    })
    .await?;
    Ok(Json(json!({ "related": out })))
}

async fn query(
    State(s): State<Shared>,
    body: axum::body::Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let v = parse_body(&body)?;
    let doc = document_of(&v, "body", false)?;
    let limit = s.options.timeout;
    let out = blocking(limit, move || {
        Ok(s.index.query(doc, s.encoders.models(), &NoProgress)?)
    })
    .await?;
    Ok(Json(out))
}

async fn story(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = s.options.timeout;
    let out = blocking(limit, move || {
        s.index.snapshot().story(&id)?.ok_or_else(|| not_found(&id))
    })
    .await?;
    Ok(Json(out))
}

#[derive(Deserialize)]
struct SearchParams {
    q: Option<String>,
    limit: Option<usize>,
}

async fn search(
    State(s): State<Shared>,
    Query(p): Query<SearchParams>,
) -> Result<impl IntoResponse, ApiError> {
    let q = p.q.unwrap_or_default();
    let n = p.limit.unwrap_or(50).min(1000);
    let limit = s.options.timeout;
    let out = blocking(limit, move || Ok(s.index.snapshot().search(&q, n)?)).await?;
    Ok(Json(json!({ "documents": out })))
}
