//! The configured client and its send loop: timeouts, TLS settings, the retry policy,
//! request counters, and tracing that never records credentials.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::body::{parse_json, read_capped};
use super::redirect::{RedirectRefused, redirect_policy};
use super::retry::{RetryPolicy, retry_after};
use super::secrets::{Direction, RegisteringJar, register_credentials};
use super::transport::{Cause, Place, without_url, without_url_text};
use super::{Answered, HttpSettings, Idempotency, MAX_CA_FILE_BYTES, RequestCounts};
use crate::{Error, Result};

#[derive(Debug, Default)]
struct Counters {
    reads: AtomicU64,
    writes: AtomicU64,
    retries: AtomicU64,
}

/// The least time a retry is started with: a retry that the budget would cut off at once
/// is not sent.
const MIN_ATTEMPT_TIME: Duration = Duration::from_secs(1);

/// One adapter's HTTP client. Cheap to clone; clones share connections and counters.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    policy: RetryPolicy,
    request_timeout: Duration,
    max_body_bytes: usize,
    counters: Arc<Counters>,
    adapter: Arc<str>,
    /// The configured system it serves, for the answer observer (see [`super::observe`]).
    system: Arc<str>,
}

impl HttpClient {
    /// Builds a client for the adapter named `adapter` (used in logs and errors).
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when the CA file cannot be read or parsed.
    pub fn new(adapter: &str, settings: &HttpSettings) -> Result<Self> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(concat!("idbridge/", env!("CARGO_PKG_VERSION")))
            .redirect(redirect_policy());
        if settings.cookie_store {
            builder = builder.cookie_provider(Arc::new(RegisteringJar::default()));
        }
        if !settings.verify_tls {
            tracing::warn!(
                adapter,
                "TLS certificate verification is turned off (verify_tls = false)"
            );
            builder = builder.danger_accept_invalid_certs(true);
        }
        if let Some(path) = &settings.ca_file {
            // Bounded: a wrong path (`/dev/zero`, a log) must not exhaust memory.
            let pem = crate::config::read_bounded(path, MAX_CA_FILE_BYTES).map_err(|e| {
                Error::config(format!("ca_file `{}`: {e}", path.display())).with_adapter(adapter)
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                Error::config(format!(
                    "ca_file `{}` is not a PEM certificate bundle: {e}",
                    path.display()
                ))
                .with_adapter(adapter)
            })?;
            if certs.is_empty() {
                return Err(Error::config(format!(
                    "ca_file `{}` holds no certificate",
                    path.display()
                ))
                .with_adapter(adapter));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder.build().map_err(|e| {
            Error::config(format!("cannot build the HTTP client: {e}")).with_adapter(adapter)
        })?;
        Ok(HttpClient {
            client,
            policy: settings.retry,
            request_timeout: settings.request_timeout,
            max_body_bytes: settings.max_body_bytes,
            counters: Arc::new(Counters::default()),
            adapter: Arc::from(adapter),
            system: super::observe::current_system(),
        })
    }

    /// Starts a request.
    pub fn request(&self, method: Method, url: impl reqwest::IntoUrl) -> RequestBuilder {
        self.client.request(method, url)
    }

    /// The requests sent so far.
    pub fn counts(&self) -> RequestCounts {
        RequestCounts {
            reads: self.counters.reads.load(Ordering::Relaxed),
            writes: self.counters.writes.load(Ordering::Relaxed),
            retries: self.counters.retries.load(Ordering::Relaxed),
        }
    }

    /// The most response-body bytes [`HttpClient::read_json`] accepts.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// Sends a request, retrying as its method's [`Idempotency`] allows.
    ///
    /// # Errors
    /// See [`HttpClient::send_with`].
    pub async fn send(&self, request: RequestBuilder) -> Result<Response> {
        self.send_with(request, None).await
    }

    /// Sends a request with an explicit idempotency (or the method's default when `None`).
    ///
    /// Retries on 429 and 503 (honouring `Retry-After`) whatever the idempotency, since
    /// the server says it did not take the request; on 500, 502, 504, timeouts and dropped
    /// connections only when the idempotency allows; on a connection never established
    /// always. All within the policy's attempts and time budget: no attempt outlives the
    /// budget (the last one's timeout is cut to what is left). Returns the last response
    /// whatever its status: mapping statuses to errors is the adapter's job.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable) when no response arrived (connection refused, timeout,
    /// reset) after the last attempt, marked [`Error::is_outcome_unknown`] when a
    /// request that is not idempotent was sent and its answer lost; [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the request cannot be
    /// built.
    pub async fn send_with(
        &self,
        request: RequestBuilder,
        idempotency: Option<Idempotency>,
    ) -> Result<Response> {
        let request = request.build().map_err(|e| {
            Error::invalid_input(format!("cannot build request: {e}")).with_source(e)
        })?;
        register_credentials(request.headers(), Direction::Sent);
        let idempotency = idempotency.unwrap_or_else(|| Idempotency::of(request.method()));
        let method = request.method().clone();
        let path = request.url().path().to_string();
        let place = Place::of(request.url());
        let started = Instant::now();
        let mut attempt: u32 = 0;
        let mut original = Some(request);
        loop {
            attempt += 1;
            // A streaming body cannot be cloned: such a request is sent once, as it is.
            let mut this = match original.as_ref().and_then(reqwest::Request::try_clone) {
                Some(copy) => copy,
                None => original.take().ok_or_else(|| {
                    Error::invalid_input(format!(
                        "{method} {path}: a streamed request body cannot be sent again"
                    ))
                })?,
            };
            let spare = original.is_some();
            // No attempt outlives the request's budget: the last one gets what is left.
            let left = self.policy.budget.saturating_sub(started.elapsed());
            *this.timeout_mut() = Some(self.request_timeout.min(left.max(MIN_ATTEMPT_TIME)));
            if matches!(method, Method::GET | Method::HEAD) {
                self.counters.reads.fetch_add(1, Ordering::Relaxed);
            } else {
                self.counters.writes.fetch_add(1, Ordering::Relaxed);
            }
            if attempt > 1 {
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
            }
            let span = tracing::debug_span!(
                "http",
                adapter = %self.adapter,
                method = %method,
                path = %path,
                attempt,
                status = tracing::field::Empty,
                duration_ms = tracing::field::Empty,
            );
            let t0 = Instant::now();
            let outcome = self.client.execute(this).instrument(span.clone()).await;
            let elapsed = t0.elapsed();
            span.record("duration_ms", elapsed.as_millis() as u64);
            let can_retry_more = spare
                && attempt < self.policy.max_attempts
                && started.elapsed() < self.policy.budget;
            match outcome {
                Ok(resp) => {
                    register_credentials(resp.headers(), Direction::Received);
                    let status = resp.status();
                    super::observe::answered(
                        &self.system,
                        &self.adapter,
                        Answered::Status(status.as_u16()),
                    );
                    span.record("status", status.as_u16());
                    span.in_scope(|| tracing::debug!(status = status.as_u16(), "response"));
                    let retry = match status {
                        // The server says it did not take the request: safe to repeat,
                        // whatever the method.
                        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => true,
                        // The request may have been carried out before the failure.
                        StatusCode::INTERNAL_SERVER_ERROR
                        | StatusCode::BAD_GATEWAY
                        | StatusCode::GATEWAY_TIMEOUT => idempotency.may_repeat(),
                        _ => false,
                    };
                    if !retry || !can_retry_more {
                        return Ok(resp);
                    }
                    let wait = match status {
                        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                            retry_after(&resp)
                                .map(|d| d.min(self.policy.max_retry_after))
                                .unwrap_or_else(|| self.policy.backoff(attempt))
                        }
                        _ => self.policy.backoff(attempt),
                    };
                    if started.elapsed() + wait + MIN_ATTEMPT_TIME > self.policy.budget {
                        return Ok(resp);
                    }
                    span.in_scope(|| {
                        tracing::debug!(
                            status = status.as_u16(),
                            wait_ms = wait.as_millis() as u64,
                            "retrying"
                        )
                    });
                    tokio::time::sleep(wait).await;
                }
                Err(err) if err.is_redirect() => {
                    // Not followed by the policy: say where it went; trying again would
                    // be redirected again.
                    let refused = std::error::Error::source(&err)
                        .and_then(|e| e.downcast_ref::<RedirectRefused>())
                        .map(|r| r.to_string())
                        .unwrap_or_else(|| "the server redirected the request in a loop".into());
                    return Err(Error::config(format!("{method} {path}: {refused}"))
                        .with_retryable(false)
                        .with_adapter(self.adapter.as_ref()));
                }
                Err(err) => {
                    super::observe::answered(&self.system, &self.adapter, Answered::NoAnswer);
                    let never_sent = err.is_connect();
                    let cause = Cause::of(&err, &place);
                    // A wrong scheme or an untrusted certificate does not heal by itself.
                    let retry = (never_sent || idempotency.may_repeat()) && !cause.is_permanent();
                    let wait = self.policy.backoff(attempt);
                    if !retry
                        || !can_retry_more
                        || started.elapsed() + wait + MIN_ATTEMPT_TIME > self.policy.budget
                    {
                        let what = if err.is_timeout() {
                            "timed out at"
                        } else if never_sent {
                            "could not connect to"
                        } else {
                            "lost the connection to"
                        };
                        return Err(Error::unavailable(format!(
                            "{method} {path} {what} {} after {attempt} attempt(s): {}",
                            place.host_port,
                            cause.describe(&place)
                        ))
                        .with_retryable(!cause.is_permanent())
                        // Sent, and not repeated because it is not idempotent: the server
                        // may have carried it out.
                        .with_outcome_unknown(!never_sent && !idempotency.may_repeat())
                        .with_adapter(self.adapter.as_ref())
                        .with_source(without_url(err)));
                    }
                    span.in_scope(|| {
                        tracing::debug!(
                            error = %without_url_text(&err),
                            wait_ms = wait.as_millis() as u64,
                            "retrying after transport error"
                        )
                    });
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Reads a whole response body within [`HttpClient::max_body_bytes`].
    ///
    /// # Errors
    /// As [`read_body`](super::read_body); a body above the limit names the
    /// `max_response_mib` setting of the system this client serves.
    pub async fn read_body(&self, resp: Response) -> Result<Vec<u8>> {
        read_capped(resp, self.max_body_bytes, &self.system).await
    }

    /// Reads a response body as JSON into `T`, naming the field that did not match.
    ///
    /// # Errors
    /// See [`parse_json`] and [`HttpClient::read_body`].
    pub async fn read_json<T: DeserializeOwned>(&self, resp: Response, what: &str) -> Result<T> {
        let body = self.read_body(resp).await?;
        parse_json(&body, what)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::ErrorKind;
    use crate::http::test_support::fast;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[tokio::test]
    async fn retries_get_on_503_and_counts_every_attempt() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/x"))
            .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "0"))
            .up_to_n_times(2)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/x"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
            .mount(&server)
            .await;
        let client = HttpClient::new("t", &fast()).expect("client");
        let resp = client
            .send(client.request(Method::GET, format!("{}/x", server.uri())))
            .await
            .expect("response");
        assert_eq!(resp.status(), 200);
        let counts = client.counts();
        assert_eq!(counts.reads, 3);
        assert_eq!(counts.retries, 2);
        assert_eq!(counts.writes, 0);
    }

    #[tokio::test]
    async fn does_not_retry_post_on_500_but_does_on_429() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/a"))
            .respond_with(ResponseTemplate::new(500))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/b"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/b"))
            .respond_with(ResponseTemplate::new(201))
            .mount(&server)
            .await;
        let client = HttpClient::new("t", &fast()).expect("client");
        let a = client
            .send(client.request(Method::POST, format!("{}/a", server.uri())))
            .await
            .expect("response");
        assert_eq!(a.status(), 500);
        assert_eq!(client.counts().writes, 1);
        let b = client
            .send(client.request(Method::POST, format!("{}/b", server.uri())))
            .await
            .expect("response");
        assert_eq!(b.status(), 201);
        assert_eq!(client.counts().writes, 3);
    }

    #[tokio::test]
    async fn stops_after_max_attempts() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(502))
            .mount(&server)
            .await;
        let mut settings = fast();
        settings.retry.max_attempts = 3;
        let client = HttpClient::new("t", &settings).expect("client");
        let resp = client
            .send(client.request(Method::GET, server.uri()))
            .await
            .expect("response");
        assert_eq!(resp.status(), 502);
        assert_eq!(client.counts().reads, 3);
    }

    #[tokio::test]
    async fn a_body_above_the_limit_names_the_setting_of_its_system() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 2 * 1024 * 1024]))
            .mount(&server)
            .await;
        let small = fast().with_max_response_mib(1);
        for (system, names) in [
            ("bi", "`max_response_mib` of target `bi`"),
            ("source", "`max_response_mib` of the source"),
        ] {
            let client = super::super::in_system(system, async {
                HttpClient::new("t", &small).expect("client")
            })
            .await;
            let resp = client
                .send(client.request(Method::GET, server.uri()))
                .await
                .expect("response");
            let err = client.read_body(resp).await.expect_err("too large");
            assert_eq!(err.kind(), ErrorKind::Protocol);
            let text = err.to_string();
            assert!(text.contains("limit of 1048576 bytes (1 MiB)"), "{text}");
            assert!(text.contains(names), "{text}");
        }
        let client = HttpClient::new("t", &fast().with_max_response_mib(2)).expect("client");
        let resp = client
            .send(client.request(Method::GET, server.uri()))
            .await
            .expect("response");
        let body = client.read_body(resp).await.expect("within the limit");
        assert_eq!(body.len(), 2 * 1024 * 1024);
    }

    #[tokio::test]
    async fn connection_refused_is_unavailable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let mut settings = fast();
        settings.retry.max_attempts = 2;
        let client = HttpClient::new("t", &settings).expect("client");
        let err = client
            .send(client.request(Method::GET, format!("http://{addr}/")))
            .await
            .expect_err("nothing listens");
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.is_retryable());
        assert_eq!(client.counts().reads, 2);
    }

    /// Sends one GET to `url` with two attempts; the error text.
    async fn failure(url: &str) -> Error {
        let mut settings = fast();
        settings.retry.max_attempts = 2;
        settings.connect_timeout = Duration::from_secs(20);
        let client = HttpClient::new("t", &settings).expect("client");
        client
            .send(client.request(Method::GET, url))
            .await
            .expect_err("no answer")
    }

    #[tokio::test]
    async fn a_closed_port_is_named_with_its_cause() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let err = failure(&format!("http://{addr}/x")).await;
        let text = err.to_string();
        assert!(text.contains(&addr.to_string()), "{text}");
        assert!(text.contains("connection refused"), "{text}");
        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn an_unresolvable_host_is_a_dns_failure() {
        let err = failure("https://no-such-host.invalid/x").await;
        let text = err.to_string();
        assert!(text.contains("no-such-host.invalid:443"), "{text}");
        assert!(text.contains("does not resolve (DNS)"), "{text}");
    }

    #[tokio::test]
    async fn https_to_a_plain_http_server_says_so_and_is_not_retried() {
        let server = MockServer::start().await;
        let url = server.uri().replace("http://", "https://");
        let err = failure(&format!("{url}/x")).await;
        let text = err.to_string();
        assert!(text.contains("answers plain HTTP, not HTTPS"), "{text}");
        assert!(text.contains("after 1 attempt(s)"), "{text}");
        assert!(!err.is_retryable());
    }

    #[tokio::test]
    async fn http_to_a_tls_server_says_it_likely_expects_https() {
        // A server that answers every connection the way a TLS server answers a plain
        // HTTP request: a TLS alert record, then it closes.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = sock.read(&mut buf).await;
                // TLS 1.2 alert: fatal (2), protocol_version (70).
                let _ = sock
                    .write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46])
                    .await;
                let _ = sock.shutdown().await;
            }
        });
        let err = failure(&format!("http://{addr}/x")).await;
        let text = err.to_string();
        assert!(text.contains(&addr.to_string()), "{text}");
        assert!(
            text.contains("likely expects HTTPS")
                || text.contains("an http:// URL for an HTTPS port"),
            "{text}"
        );
    }

    #[test]
    fn a_bad_ca_file_is_a_config_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.pem");
        let settings = HttpSettings {
            ca_file: Some(missing.clone()),
            ..HttpSettings::default()
        };
        let err = HttpClient::new("bi", &settings).expect_err("missing file");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("missing.pem"), "{err}");

        let not_pem = dir.path().join("not.pem");
        std::fs::write(&not_pem, "hello").expect("write");
        let settings = HttpSettings {
            ca_file: Some(not_pem),
            ..HttpSettings::default()
        };
        let err = HttpClient::new("bi", &settings).expect_err("no certificate");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("not.pem"), "{err}");
    }

    #[test]
    fn an_endless_ca_file_is_refused_without_reading_it_all() {
        let settings = HttpSettings {
            ca_file: Some(PathBuf::from("/dev/zero")),
            ..HttpSettings::default()
        };
        let err = HttpClient::new("bi", &settings).expect_err("endless file");
        assert_eq!(err.kind(), ErrorKind::Config);
        let text = err.to_string();
        assert!(text.contains("ca_file `/dev/zero`"), "{text}");
        assert!(text.contains("larger than 4096 KiB"), "{text}");
    }

    #[tokio::test]
    async fn credentials_sent_and_received_are_registered() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("Set-Cookie", "JSESSIONID=cookie-canary-91ab; Path=/")
                    .insert_header("X-Auth-Token", "header-token-canary-22cd"),
            )
            .mount(&server)
            .await;
        let settings = HttpSettings {
            cookie_store: true,
            ..fast()
        };
        let client = HttpClient::new("t", &settings).expect("client");
        client
            .send(
                client
                    .request(Method::GET, server.uri())
                    .bearer_auth("bearer-canary-33ef"),
            )
            .await
            .expect("response");
        let text = "cookie-canary-91ab header-token-canary-22cd Bearer bearer-canary-33ef";
        let clean = crate::redact(text);
        assert!(!clean.contains("canary"), "{clean}");
    }

    #[tokio::test]
    async fn a_post_is_retried_after_503_which_says_it_was_not_processed() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "0"))
            .up_to_n_times(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(201))
            .mount(&server)
            .await;
        let client = HttpClient::new("t", &fast()).expect("client");
        let resp = client
            .send(client.request(Method::POST, server.uri()))
            .await
            .expect("response");
        assert_eq!(resp.status(), 201);
        assert_eq!(client.counts().writes, 3);
    }

    /// A server that reads each request and closes the connection without an answer;
    /// the number of connections it accepted.
    async fn dropping_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
        use std::sync::atomic::AtomicU64;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let accepted = std::sync::Arc::new(AtomicU64::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            while let Ok((mut sock, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                drop(sock);
            }
        });
        (format!("http://{addr}/x"), accepted)
    }

    #[tokio::test]
    async fn a_post_whose_answer_is_lost_is_sent_once_and_its_outcome_unknown() {
        let (url, accepted) = dropping_server().await;
        let client = HttpClient::new("t", &fast()).expect("client");
        let err = client
            .send(client.request(Method::POST, &url).body("{}"))
            .await
            .expect_err("no answer");
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.is_outcome_unknown(), "{err}");
        assert_eq!(client.counts().writes, 1);
        assert_eq!(accepted.load(Ordering::SeqCst), 1);

        // A GET is retried, and its failure leaves nothing unknown.
        let err = client
            .send(client.request(Method::GET, &url))
            .await
            .expect_err("no answer");
        assert!(!err.is_outcome_unknown(), "{err}");
        assert_eq!(
            client.counts().reads,
            u64::from(RetryPolicy::default().max_attempts)
        );
    }

    #[tokio::test]
    async fn no_retry_starts_that_the_budget_would_cut_off() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "1"))
            .mount(&server)
            .await;
        let mut settings = fast();
        // Room for one wait of 1 s and one more attempt of at least 1 s, not for two.
        settings.retry.budget = Duration::from_millis(2500);
        let client = HttpClient::new("t", &settings).expect("client");
        let resp = client
            .send(client.request(Method::GET, server.uri()))
            .await
            .expect("response");
        assert_eq!(resp.status(), 503);
        assert_eq!(client.counts().reads, 2);
    }
}
