//! A real HTTP server on loopback that serves an emulator's axum router behind latency,
//! fault injection and a request log.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use idbridge_core::http::RequestCounts;
use idbridge_core::{Error, Result};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tower::ServiceExt;

use super::contract::{Classify, RequestClass};
use super::faults::{
    Fault, FaultDice, FaultSpec, change_type, change_type_of_keys, remove_field, remove_keys,
};
use super::options::EmulatorOptions;

/// One request the emulator received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// The HTTP method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Login, read or write, as the emulator classifies it.
    pub class: RequestClass,
    /// The fault injected, if any: in place of serving it, or (see
    /// [`LoggedRequest::reached_handler`]) to the answer after serving it.
    pub fault: Option<&'static str>,
}

impl LoggedRequest {
    /// Whether the emulated API received the request: no fault, or a fault applied to
    /// its answer (`html`, `wrongtype`, `missing`, `huge`), so its effect on the state
    /// took place.
    pub fn reached_handler(&self) -> bool {
        self.fault
            .and_then(Fault::from_name)
            .is_none_or(Fault::reaches_handler)
    }
}

/// What an emulator received: counters and the list of requests.
#[derive(Debug, Default)]
pub struct RequestLog {
    reads: AtomicU64,
    writes: AtomicU64,
    faults: AtomicU64,
    entries: Mutex<Vec<LoggedRequest>>,
    issued: Mutex<BTreeSet<String>>,
}

impl RequestLog {
    /// Requests received so far, GET/HEAD as reads and the rest as writes (faulted ones
    /// included). `retries` is always 0: the server cannot tell a retry from a request.
    pub fn counts(&self) -> RequestCounts {
        RequestCounts {
            reads: self.reads.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            retries: 0,
        }
    }

    /// How many requests got an injected fault.
    pub fn faults(&self) -> u64 {
        self.faults.load(Ordering::Relaxed)
    }

    /// A copy of every request received, in arrival order.
    pub fn entries(&self) -> Vec<LoggedRequest> {
        match self.entries.lock() {
            Ok(e) => e.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The write requests (class [`RequestClass::Write`]: logins and token exchanges left
    /// out) that the emulated API served: not faulted, or faulted only in their answer
    /// (see [`LoggedRequest::reached_handler`]).
    pub fn served_writes(&self) -> Vec<LoggedRequest> {
        self.entries()
            .into_iter()
            .filter(|e| e.reached_handler() && e.class == RequestClass::Write)
            .collect()
    }

    /// How many requests of `class` arrived so far (faulted ones included).
    pub fn count(&self, class: RequestClass) -> usize {
        self.entries().iter().filter(|e| e.class == class).count()
    }

    /// Every credential the emulator handed out so far: each cookie value it set
    /// (`Set-Cookie`), each value of a response header named after a token
    /// (`X-MSTR-AuthToken`), and each string under a JSON key named after a token
    /// (`access_token`, `refresh_token`, `apiToken`). Tests assert that none of them shows
    /// in anything the client printed or wrote.
    pub fn issued_credentials(&self) -> Vec<String> {
        match self.issued.lock() {
            Ok(i) => i.iter().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().iter().cloned().collect(),
        }
    }

    fn issue(&self, value: &str) {
        let value = value.trim().trim_matches('"');
        if value.is_empty() {
            return;
        }
        match self.issued.lock() {
            Ok(mut i) => i.insert(value.to_string()),
            Err(poisoned) => poisoned.into_inner().insert(value.to_string()),
        };
    }

    /// Notes the credentials in a handler's answer (see
    /// [`RequestLog::issued_credentials`]); the answer goes out unchanged.
    async fn note_credentials(&self, resp: Response<Body>) -> Response<Body> {
        for (name, value) in resp.headers() {
            let Ok(text) = value.to_str() else {
                continue;
            };
            if name == header::SET_COOKIE {
                if let Some((_, v)) = text.split(';').next().and_then(|p| p.split_once('=')) {
                    self.issue(v);
                }
            } else if name.as_str().contains("token") {
                self.issue(text);
            }
        }
        let json = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        if !json {
            return resp;
        }
        let (mut parts, body) = resp.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MANGLE_READ_LIMIT).await else {
            parts.status = StatusCode::INTERNAL_SERVER_ERROR;
            parts.headers.remove(header::CONTENT_LENGTH);
            return Response::from_parts(parts, Body::empty());
        };
        // Only answers that mention a token are parsed: user listings need not be.
        if bytes.windows(5).any(|w| w.eq_ignore_ascii_case(b"token"))
            && let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&bytes)
        {
            self.note_json(&doc);
        }
        Response::from_parts(parts, Body::from(bytes))
    }

    fn note_json(&self, doc: &serde_json::Value) {
        match doc {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    match value {
                        serde_json::Value::String(s)
                            if key.to_ascii_lowercase().contains("token") =>
                        {
                            self.issue(s)
                        }
                        other => self.note_json(other),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| self.note_json(v)),
            _ => {}
        }
    }

    fn record(&self, method: &http::Method, path: &str, class: RequestClass, fault: Option<Fault>) {
        if matches!(*method, http::Method::GET | http::Method::HEAD) {
            self.reads.fetch_add(1, Ordering::Relaxed);
        } else {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        if fault.is_some() {
            self.faults.fetch_add(1, Ordering::Relaxed);
        }
        let entry = LoggedRequest {
            method: method.to_string(),
            path: path.to_string(),
            class,
            fault: fault.map(Fault::as_str),
        };
        match self.entries.lock() {
            Ok(mut e) => e.push(entry),
            Err(poisoned) => poisoned.into_inner().push(entry),
        }
    }
}

/// A running emulator server. Dropping it (or [`EmulatorServer::shutdown`]) stops it.
#[derive(Debug)]
pub struct EmulatorServer {
    addr: SocketAddr,
    log: Arc<RequestLog>,
    dice: Arc<RwLock<Arc<FaultDice>>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl EmulatorServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The request log.
    pub fn log(&self) -> &Arc<RequestLog> {
        &self.log
    }

    /// Replaces the faults injected from the next request on, with fresh dice seeded by
    /// `spec.seed`: a test can connect an adapter to a healthy server, then make every
    /// answer fail.
    pub fn set_faults(&self, spec: FaultSpec) {
        let dice = Arc::new(FaultDice::new(spec));
        match self.dice.write() {
            Ok(mut d) => *d = dice,
            Err(poisoned) => *poisoned.into_inner() = dice,
        }
    }

    /// The faults injected now.
    pub fn faults(&self) -> FaultSpec {
        current_dice(&self.dice).spec().clone()
    }

    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EmulatorServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

struct Shared {
    router: Router,
    classify: Classify,
    options: EmulatorOptions,
    dice: Arc<RwLock<Arc<FaultDice>>>,
    log: Arc<RequestLog>,
}

fn current_dice(dice: &RwLock<Arc<FaultDice>>) -> Arc<FaultDice> {
    match dice.read() {
        Ok(d) => d.clone(),
        // The lock only guards a pointer swap, which cannot leave it half-done.
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// Serves `router` on `options.listen` with the options' latency and faults.
///
/// Each request is logged with its class (`classify`: the emulator's
/// [`super::EmulatorContract::classify`]), delayed by `options.latency`, then either answered by an
/// injected fault (decided by the seeded dice before the router sees it, so such a
/// faulted request never changes state) or passed to the router, whose answer a
/// mangling fault (`html`, `wrongtype`, `missing`, `huge`) may then replace or alter; see
/// [`FaultSpec`]. [`EmulatorServer::set_faults`] changes the faults while it runs.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Unavailable`] when the address cannot be bound.
pub async fn serve(
    router: Router,
    classify: Classify,
    options: EmulatorOptions,
) -> Result<EmulatorServer> {
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|e| Error::unavailable(format!("cannot listen on {}: {e}", options.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::unavailable(format!("cannot read the bound address: {e}")))?;
    let log = Arc::new(RequestLog::default());
    let dice = Arc::new(RwLock::new(Arc::new(FaultDice::new(
        options.faults.clone(),
    ))));
    let shared = Arc::new(Shared {
        router,
        classify,
        dice: dice.clone(),
        options,
        log: log.clone(),
    });
    let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut stop_rx => break,
                accepted = listener.accept() => {
                    let Ok((stream, _peer)) = accepted else { continue };
                    let shared = shared.clone();
                    tokio::spawn(serve_connection(stream, shared));
                }
            }
        }
    });
    Ok(EmulatorServer {
        addr,
        log,
        dice,
        stop: Some(stop_tx),
        task: Some(task),
    })
}

async fn serve_connection(stream: tokio::net::TcpStream, shared: Arc<Shared>) {
    // Notified by a request that draws the `reset` fault: the connection is then dropped
    // with no response at all, as a crashed proxy or a network cut would.
    let kill = Arc::new(Notify::new());
    let service = {
        let kill = kill.clone();
        hyper::service::service_fn(move |req: Request<Incoming>| {
            let shared = shared.clone();
            let kill = kill.clone();
            async move { Ok::<_, Infallible>(handle(req, shared, kill).await) }
        })
    };
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
    }
}

async fn handle(req: Request<Incoming>, shared: Arc<Shared>, kill: Arc<Notify>) -> Response<Body> {
    let dice = current_dice(&shared.dice);
    let fault = dice.roll();
    let path = req.uri().path();
    let class = (shared.classify)(req.method().as_str(), path);
    shared.log.record(req.method(), path, class, fault);
    if !shared.options.latency.is_zero() {
        tokio::time::sleep(shared.options.latency).await;
    }
    let spec = dice.spec();
    let retry_after = spec.retry_after.as_secs().to_string();
    match fault {
        Some(Fault::TooManyRequests) => {
            return json_response(
                StatusCode::TOO_MANY_REQUESTS,
                Some(&retry_after),
                r#"{"error":"Too many requests (injected fault)"}"#,
            );
        }
        Some(Fault::InternalError) => {
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                r#"{"error":"Internal server error (injected fault)"}"#,
            );
        }
        Some(Fault::Unavailable) => {
            return json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(&retry_after),
                r#"{"error":"Service unavailable (injected fault)"}"#,
            );
        }
        Some(Fault::Reset) => {
            kill.notify_one();
            std::future::pending::<()>().await;
        }
        Some(Fault::Garbage) => {
            return json_response(StatusCode::OK, None, r#"{"id": "trunc"#);
        }
        Some(Fault::Slow) => tokio::time::sleep(spec.slow_delay).await,
        Some(Fault::Html | Fault::WrongType | Fault::Missing | Fault::Huge) | None => {}
    }
    let req = req.map(Body::new);
    let resp = match shared.router.clone().oneshot(req).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    };
    let resp = shared.log.note_credentials(resp).await;
    match fault {
        Some(Fault::Html) => html_page(dice.pick(2) == 0),
        Some(Fault::WrongType) if !spec.fields.is_empty() => {
            rewrite_json(resp, |doc| change_type_of_keys(doc, &spec.fields)).await
        }
        Some(Fault::Missing) if !spec.fields.is_empty() => {
            rewrite_json(resp, |doc| remove_keys(doc, &spec.fields)).await
        }
        Some(Fault::WrongType) => {
            rewrite_json(resp, |doc| change_type(doc, |n| dice.pick(n))).await
        }
        Some(Fault::Missing) => rewrite_json(resp, |doc| remove_field(doc, |n| dice.pick(n))).await,
        Some(Fault::Huge) => inflate(resp, spec.huge_bytes).await,
        _ => resp,
    }
}

/// What a reverse proxy in front of a failing or restarting server sends.
const BAD_GATEWAY_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// What a proxy's maintenance or sign-in interstitial sends, with status 200.
const PROXY_OK_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in</title></head>\n<body><h1>Your session has ended</h1><p>Please sign in again to continue.</p><form method=\"post\" action=\"/login\"><input name=\"user\"><input name=\"password\" type=\"password\"></form></body></html>\n";

/// The `html` fault's answer: the proxy's 502 page, or its 200 interstitial.
fn html_page(bad_gateway: bool) -> Response<Body> {
    let (status, page) = if bad_gateway {
        (StatusCode::BAD_GATEWAY, BAD_GATEWAY_PAGE)
    } else {
        (StatusCode::OK, PROXY_OK_PAGE)
    };
    let mut resp = Response::new(Body::from(page));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// The most bytes of a handler's answer read to mangle it; emulators answer far less.
const MANGLE_READ_LIMIT: usize = 256 * 1024 * 1024;

/// Reads the handler's answer whole and hands it to `change` as JSON; an answer that is
/// not JSON, or that `change` leaves alone, goes out as it came.
async fn rewrite_json(
    resp: Response<Body>,
    change: impl FnOnce(&mut serde_json::Value) -> bool,
) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MANGLE_READ_LIMIT).await else {
        // The emulator's own handler failed to produce its body: answer as a server
        // whose handler crashed mid-answer would.
        parts.status = StatusCode::INTERNAL_SERVER_ERROR;
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    };
    let changed = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|mut doc| change(&mut doc).then_some(doc))
        .and_then(|doc| serde_json::to_vec(&doc).ok());
    let out = changed.map_or(bytes, Bytes::from);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}

/// One chunk of the padding a `huge` answer streams, shared by every such answer.
static PADDING: [u8; 64 * 1024] = [b' '; 64 * 1024];

/// The `huge` fault: the handler's answer followed by whitespace until the body is larger
/// than `size` bytes, streamed chunk by chunk with no `Content-Length`, so that the client
/// must count what it reads. Trailing whitespace keeps a JSON answer valid JSON: only the
/// size is wrong.
async fn inflate(resp: Response<Body>, size: u64) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let head = axum::body::to_bytes(body, MANGLE_READ_LIMIT)
        .await
        .unwrap_or_default();
    let padding = (size + 1).saturating_sub(head.len() as u64);
    let chunk = PADDING.len() as u64;
    let full = padding / chunk;
    // The remainder is below one chunk, so it fits in usize on every platform.
    let rest = (padding % chunk) as usize;
    let chunks = std::iter::once(head)
        .chain((0..full).map(|_| Bytes::from_static(&PADDING)))
        .chain(std::iter::once(Bytes::from_static(&PADDING[..rest])))
        .filter(|b| !b.is_empty())
        .map(Ok::<_, Infallible>);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from_stream(futures::stream::iter(chunks)))
}

fn json_response(
    status: StatusCode,
    retry_after: Option<&str>,
    body: &'static str,
) -> Response<Body> {
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(after) = retry_after {
        builder = builder.header(header::RETRY_AFTER, after);
    }
    builder.body(Body::from(body)).unwrap_or_else(|_| {
        // Only reachable with an invalid header value, and every value above is ASCII.
        Response::new(Body::from(body))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::FaultSpec;
    use axum::routing::get;

    fn by_method(method: &str, _path: &str) -> RequestClass {
        RequestClass::by_method(method)
    }

    fn router() -> Router {
        Router::new().route(
            "/ping",
            get(|| async { "pong" }).post(|| async { "posted" }),
        )
    }

    #[tokio::test]
    async fn serves_and_counts() {
        let server = serve(router(), by_method, EmulatorOptions::default())
            .await
            .expect("serve");
        let client = reqwest::Client::new();
        let body = client
            .get(format!("{}/ping", server.url()))
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("text");
        assert_eq!(body, "pong");
        client
            .post(format!("{}/ping", server.url()))
            .send()
            .await
            .expect("post");
        let counts = server.log().counts();
        assert_eq!((counts.reads, counts.writes), (1, 1));
        assert_eq!(server.log().served_writes().len(), 1);
    }

    #[tokio::test]
    async fn the_emulator_classifies_its_requests_and_logins_are_not_writes() {
        fn login_at_ping(method: &str, path: &str) -> RequestClass {
            if method == "POST" && path == "/ping" {
                RequestClass::Login
            } else {
                RequestClass::by_method(method)
            }
        }
        let server = serve(router(), login_at_ping, EmulatorOptions::default())
            .await
            .expect("serve");
        let client = reqwest::Client::new();
        let url = format!("{}/ping", server.url());
        client.post(&url).send().await.expect("post");
        client.get(&url).send().await.expect("get");
        client.put(&url).send().await.expect("put");
        let classes: Vec<_> = server.log().entries().iter().map(|e| e.class).collect();
        assert_eq!(
            classes,
            [RequestClass::Login, RequestClass::Read, RequestClass::Write]
        );
        assert_eq!(server.log().count(RequestClass::Login), 1);
        let writes = server.log().served_writes();
        assert_eq!(writes.len(), 1, "{writes:?}");
        assert_eq!(writes[0].method, "PUT");
    }

    #[tokio::test]
    async fn every_request_faulted_with_429_carries_retry_after() {
        let options = EmulatorOptions {
            faults: FaultSpec::parse("429=1,retry_after=3").expect("spec"),
            ..EmulatorOptions::default()
        };
        let server = serve(router(), by_method, options).await.expect("serve");
        let resp = reqwest::get(format!("{}/ping", server.url()))
            .await
            .expect("get");
        assert_eq!(resp.status(), 429);
        assert_eq!(
            resp.headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("3")
        );
        assert_eq!(server.log().faults(), 1);
    }

    #[tokio::test]
    async fn reset_drops_the_connection_without_a_response() {
        let options = EmulatorOptions {
            faults: FaultSpec::parse("reset=1").expect("spec"),
            ..EmulatorOptions::default()
        };
        let server = serve(router(), by_method, options).await.expect("serve");
        let err = reqwest::get(format!("{}/ping", server.url()))
            .await
            .expect_err("connection dropped");
        assert!(
            !err.is_connect(),
            "the connection was made, then dropped: {err}"
        );
    }

    #[tokio::test]
    async fn garbage_is_truncated_json() {
        let options = EmulatorOptions {
            faults: FaultSpec::parse("garbage=1").expect("spec"),
            ..EmulatorOptions::default()
        };
        let server = serve(router(), by_method, options).await.expect("serve");
        let body = reqwest::get(format!("{}/ping", server.url()))
            .await
            .expect("get")
            .text()
            .await
            .expect("text");
        assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
    }

    /// `GET /doc` answers a fixed JSON document; `POST /count` counts calls and answers the
    /// count, so a test can tell whether the handler ran.
    fn json_router(counter: Arc<AtomicU64>) -> Router {
        use axum::routing::post;
        Router::new()
            .route(
                "/doc",
                get(|| async {
                    axum::Json(serde_json::json!({"id": "abc", "n": 1, "tags": ["x"]}))
                }),
            )
            .route(
                "/count",
                post(move || {
                    let counter = counter.clone();
                    async move {
                        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                        axum::Json(serde_json::json!({"count": n}))
                    }
                }),
            )
    }

    async fn faulted(spec: &str) -> (EmulatorServer, Arc<AtomicU64>) {
        let counter = Arc::new(AtomicU64::new(0));
        let options = EmulatorOptions {
            faults: FaultSpec::parse(spec).expect("spec"),
            ..EmulatorOptions::default()
        };
        let server = serve(json_router(counter.clone()), by_method, options)
            .await
            .expect("serve");
        (server, counter)
    }

    #[tokio::test]
    async fn html_replaces_the_answer_after_the_handler_ran() {
        let (server, counter) = faulted("html=1,seed=1").await;
        let client = reqwest::Client::new();
        let mut statuses = std::collections::BTreeSet::new();
        for _ in 0..16 {
            let resp = client
                .post(format!("{}/count", server.url()))
                .send()
                .await
                .expect("answer");
            statuses.insert(resp.status().as_u16());
            assert_eq!(
                resp.headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok()),
                Some("text/html; charset=utf-8")
            );
            let body = resp.text().await.expect("text");
            assert!(body.trim_start().starts_with('<'), "{body}");
            assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
        }
        assert_eq!(
            statuses,
            [200, 502].into_iter().collect(),
            "both pages are drawn"
        );
        assert_eq!(
            counter.load(Ordering::SeqCst),
            16,
            "every write took effect"
        );
        assert_eq!(server.log().faults(), 16);
        assert_eq!(server.log().served_writes().len(), 16);
    }

    fn type_name(v: &serde_json::Value) -> &'static str {
        match v {
            serde_json::Value::Null => "null",
            serde_json::Value::Bool(_) => "bool",
            serde_json::Value::Number(_) => "number",
            serde_json::Value::String(_) => "string",
            serde_json::Value::Array(_) => "array",
            serde_json::Value::Object(_) => "object",
        }
    }

    #[tokio::test]
    async fn wrongtype_changes_the_type_of_one_value() {
        let (server, _) = faulted("wrongtype=1,seed=5").await;
        let original = serde_json::json!({"id": "abc", "n": 1, "tags": ["x"]});
        let mut changed_paths = std::collections::BTreeSet::new();
        for _ in 0..24 {
            let doc: serde_json::Value = reqwest::get(format!("{}/doc", server.url()))
                .await
                .expect("get")
                .json()
                .await
                .expect("still JSON");
            let obj = doc.as_object().expect("root stays an object");
            assert_eq!(obj.len(), 3, "{doc}");
            let mut differing = Vec::new();
            for key in ["id", "n", "tags"] {
                let (was, now) = (&original[key], &obj[key]);
                if type_name(was) != type_name(now) {
                    differing.push(key.to_string());
                } else if was != now {
                    // Only the inner value of `tags` can change without `tags` changing type.
                    assert_eq!(key, "tags", "{doc}");
                    assert_eq!(type_name(&now[0]), "number", "{doc}");
                    differing.push("tags[0]".to_string());
                }
            }
            assert_eq!(differing.len(), 1, "exactly one value changed: {doc}");
            changed_paths.extend(differing);
        }
        assert_eq!(
            changed_paths.len(),
            4,
            "every value is reachable: {changed_paths:?}"
        );
    }

    #[tokio::test]
    async fn missing_removes_one_field() {
        let (server, _) = faulted("missing=1,seed=9").await;
        let mut removed = std::collections::BTreeSet::new();
        for _ in 0..24 {
            let doc: serde_json::Value = reqwest::get(format!("{}/doc", server.url()))
                .await
                .expect("get")
                .json()
                .await
                .expect("still JSON");
            let obj = doc.as_object().expect("object");
            assert_eq!(obj.len(), 2, "{doc}");
            for key in ["id", "n", "tags"] {
                if !obj.contains_key(key) {
                    removed.insert(key);
                } else {
                    assert_eq!(
                        obj[key],
                        serde_json::json!({"id": "abc", "n": 1, "tags": ["x"]})[key]
                    );
                }
            }
        }
        assert_eq!(removed.len(), 3, "every field is reachable: {removed:?}");
    }

    #[tokio::test]
    async fn huge_streams_past_the_size_without_a_length() {
        // 2 MiB here; the default, 65 MiB, only takes longer to read.
        let (server, counter) = faulted("huge=1,huge_mb=2").await;
        let mut resp = reqwest::Client::new()
            .post(format!("{}/count", server.url()))
            .send()
            .await
            .expect("answer");
        assert_eq!(resp.status(), 200);
        assert!(resp.headers().get("content-length").is_none());
        let mut first = Vec::new();
        let mut total: u64 = 0;
        while let Some(chunk) = resp.chunk().await.expect("chunk") {
            if first.len() < 64 {
                first.extend_from_slice(&chunk[..chunk.len().min(64 - first.len())]);
            }
            total += chunk.len() as u64;
        }
        assert_eq!(total, 2 * 1024 * 1024 + 1);
        assert!(first.starts_with(br#"{"count":1}"#), "{first:?}");
        assert_eq!(counter.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn faults_can_be_switched_while_running() {
        let (server, _) = faulted("").await;
        let url = format!("{}/doc", server.url());
        assert_eq!(reqwest::get(&url).await.expect("get").status(), 200);
        server.set_faults(FaultSpec::parse("500=1").expect("spec"));
        assert_eq!(server.faults().rate(Fault::InternalError), 1.0);
        assert_eq!(reqwest::get(&url).await.expect("get").status(), 500);
        server.set_faults(FaultSpec::none());
        assert_eq!(reqwest::get(&url).await.expect("get").status(), 200);
        let faults: Vec<_> = server.log().entries().iter().map(|e| e.fault).collect();
        assert_eq!(faults, vec![None, Some("500"), None]);
    }

    #[tokio::test]
    async fn a_write_faulted_before_the_handler_is_not_served() {
        let (server, counter) = faulted("500=1").await;
        let resp = reqwest::Client::new()
            .post(format!("{}/count", server.url()))
            .send()
            .await
            .expect("answer");
        assert_eq!(resp.status(), 500);
        assert_eq!(counter.load(Ordering::SeqCst), 0);
        assert!(server.log().served_writes().is_empty());
        assert!(!server.log().entries()[0].reached_handler());
    }
}
