//! A real HTTP server on loopback that serves an emulator's axum router behind latency,
//! fault injection and a request log.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use idbridge_core::http::RequestCounts;
use idbridge_core::{Error, Result};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tower::ServiceExt;

use super::faults::{Fault, FaultDice};
use super::options::EmulatorOptions;

/// One request the emulator received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// The HTTP method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The fault injected instead of serving it, if any.
    pub fault: Option<&'static str>,
}

/// What an emulator received: counters and the list of requests.
#[derive(Debug, Default)]
pub struct RequestLog {
    reads: AtomicU64,
    writes: AtomicU64,
    faults: AtomicU64,
    entries: Mutex<Vec<LoggedRequest>>,
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

    /// The write requests (not GET/HEAD) that were served, not faulted.
    pub fn served_writes(&self) -> Vec<LoggedRequest> {
        self.entries()
            .into_iter()
            .filter(|e| e.fault.is_none() && e.method != "GET" && e.method != "HEAD")
            .collect()
    }

    fn record(&self, method: &http::Method, path: &str, fault: Option<Fault>) {
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
    options: EmulatorOptions,
    dice: FaultDice,
    log: Arc<RequestLog>,
}

/// Serves `router` on `options.listen` with the options' latency and faults.
///
/// Each request is logged, delayed by `options.latency`, then either answered by an
/// injected fault (decided by the seeded dice before the router sees it, so a faulted
/// request never changes state) or passed to the router.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Unavailable`] when the address cannot be bound.
pub async fn serve(router: Router, options: EmulatorOptions) -> Result<EmulatorServer> {
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|e| Error::unavailable(format!("cannot listen on {}: {e}", options.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::unavailable(format!("cannot read the bound address: {e}")))?;
    let log = Arc::new(RequestLog::default());
    let shared = Arc::new(Shared {
        router,
        dice: FaultDice::new(options.faults.clone()),
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
    let fault = shared.dice.roll();
    shared.log.record(req.method(), req.uri().path(), fault);
    if !shared.options.latency.is_zero() {
        tokio::time::sleep(shared.options.latency).await;
    }
    let spec = shared.dice.spec();
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
        None => {}
    }
    let req = req.map(Body::new);
    match shared.router.clone().oneshot(req).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    }
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

    fn router() -> Router {
        Router::new().route(
            "/ping",
            get(|| async { "pong" }).post(|| async { "posted" }),
        )
    }

    #[tokio::test]
    async fn serves_and_counts() {
        let server = serve(router(), EmulatorOptions::default())
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
    async fn every_request_faulted_with_429_carries_retry_after() {
        let options = EmulatorOptions {
            faults: FaultSpec::parse("429=1,retry_after=3").expect("spec"),
            ..EmulatorOptions::default()
        };
        let server = serve(router(), options).await.expect("serve");
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
        let server = serve(router(), options).await.expect("serve");
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
        let server = serve(router(), options).await.expect("serve");
        let body = reqwest::get(format!("{}/ping", server.url()))
            .await
            .expect("get")
            .text()
            .await
            .expect("text");
        assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
    }
}
