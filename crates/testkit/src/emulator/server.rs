//! A real HTTP server on loopback that serves an emulator's axum router behind latency,
//! fault injection and a request log.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Body;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use idbridge_core::{Error, Result};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tower::ServiceExt;

use super::answers;
use super::contract::Classify;
use super::faults::{Fault, FaultDice, FaultSpec};
use super::log::RequestLog;
use super::options::EmulatorOptions;

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
        let started = std::time::Instant::now();
        tokio::time::sleep(shared.options.latency).await;
        shared.log.add_latency_waited(started.elapsed());
    }
    match fault {
        Some(Fault::Reset) => {
            kill.notify_one();
            std::future::pending::<()>().await;
        }
        Some(Fault::Slow) => tokio::time::sleep(dice.spec().slow_delay).await,
        Some(f) => {
            if let Some(answer) = answers::instead(f, dice.spec()) {
                return answer;
            }
        }
        None => {}
    }
    let req = req.map(Body::new);
    let resp = match shared.router.clone().oneshot(req).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    };
    let resp = shared.log.note_credentials(resp).await;
    match fault {
        Some(f) => answers::mangle(resp, f, &dice).await,
        None => resp,
    }
}

#[cfg(test)]
pub(in crate::emulator) mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use axum::routing::get;

    use crate::emulator::RequestClass;
    pub(in crate::emulator) fn by_method(method: &str, _path: &str) -> RequestClass {
        RequestClass::by_method(method)
    }

    fn router() -> Router {
        Router::new().route(
            "/ping",
            get(|| async { "pong" }).post(|| async { "posted" }),
        )
    }

    #[tokio::test]
    async fn the_latency_waited_is_summed_over_the_requests() {
        let latency = std::time::Duration::from_millis(5);
        let options = EmulatorOptions {
            latency,
            ..EmulatorOptions::default()
        };
        let server = serve(router(), by_method, options).await.expect("serve");
        let plain = serve(router(), by_method, EmulatorOptions::default())
            .await
            .expect("serve");
        let client = reqwest::Client::new();
        for s in [&server, &plain] {
            for _ in 0..2 {
                client
                    .get(format!("{}/ping", s.url()))
                    .send()
                    .await
                    .expect("get");
            }
        }
        assert!(server.log().latency_waited() >= latency * 2);
        assert!(plain.log().latency_waited().is_zero());
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
    async fn reset_drops_the_connection_without_a_response() {
        let (server, _) = faulted("reset=1").await;
        let err = reqwest::get(format!("{}/doc", server.url()))
            .await
            .expect_err("connection dropped");
        assert!(
            !err.is_connect(),
            "the connection was made, then dropped: {err}"
        );
    }

    /// `GET /doc` answers a fixed JSON document; `POST /count` counts calls and answers the
    /// count, so a test can tell whether the handler ran.
    pub(in crate::emulator) fn json_router(counter: Arc<AtomicU64>) -> Router {
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

    pub(in crate::emulator) async fn faulted(spec: &str) -> (EmulatorServer, Arc<AtomicU64>) {
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
