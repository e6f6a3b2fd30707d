//! HTTP plumbing every REST adapter uses: one configured client with timeouts, TLS
//! settings, a retry policy, request counters and tracing that never records credentials.
//!
//! Credentials stay with the server they were configured for: a redirect is followed only
//! within the origin (scheme, host and port) of the request, so neither a header, a cookie
//! nor a form body with a password goes to another server, nor from `https` to `http`.
//! Every credential the client sends or receives outside a [`crate::Secret`]
//! (`Authorization` headers, cookies, token headers) is registered with
//! [`crate::register_secret`], so that no error or log line shows it.
//!
//! Adapters build requests with [`HttpClient::request`], send them with
//! [`HttpClient::send`] (which retries what is safe to retry), and map the final response's
//! status and body to an [`Error`] in their own one error-mapping function. Response
//! bodies are read with [`read_body`] / [`parse_json`], which cap the size and name the
//! offending field when the JSON does not match.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::header::HeaderValue;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::{Error, ErrorKind, Result};

/// How retries back off and when they stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included. Default 5; 1 disables retries.
    pub max_attempts: u32,
    /// The back-off before the first retry (before jitter). Default 200 ms.
    pub initial_backoff: Duration,
    /// The largest back-off between two attempts. Default 10 s.
    pub max_backoff: Duration,
    /// The time all attempts of one request may take together; no retry starts after it.
    /// Default 120 s.
    pub budget: Duration,
    /// The longest `Retry-After` honoured; a server asking for more gets this. Default 60 s.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            budget: Duration::from_secs(120),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The back-off before retry number `retry` (1-based): exponential, capped, with full
    /// jitter so that many clients do not retry in lock-step.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)));
        let cap = exp.min(self.max_backoff);
        let millis = cap.as_millis().min(u128::from(u64::MAX)) as u64;
        if millis == 0 {
            return Duration::ZERO;
        }
        // Full jitter, but never below half the back-off so retries still spread out.
        let low = millis / 2;
        Duration::from_millis(rand::rng().random_range(low..=millis))
    }
}

/// The largest `ca_file` read: 4 MiB, several times a whole system CA bundle.
pub const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Settings of one adapter's HTTP client.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Verify the server's TLS certificate. Default `true`; turning it off logs a warning.
    pub verify_tls: bool,
    /// An extra PEM bundle of CA certificates to trust, besides the built-in roots.
    pub ca_file: Option<PathBuf>,
    /// Time to establish a connection. Default 10 s.
    pub connect_timeout: Duration,
    /// Time for one whole request and response. Default 60 s.
    pub request_timeout: Duration,
    /// The retry policy.
    pub retry: RetryPolicy,
    /// Keep cookies between requests (for servers with HTTP sessions). Default `false`.
    pub cookie_store: bool,
    /// The most bytes of a response body read. Default 64 MiB.
    pub max_body_bytes: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            verify_tls: true,
            ca_file: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            cookie_store: false,
            max_body_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Whether a request may be sent twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Reads: GET, HEAD. Retried on any transient failure.
    Safe,
    /// Writes whose repetition has the same effect: PUT, DELETE, and requests the adapter
    /// marks so. Retried on any transient failure.
    Idempotent,
    /// Writes that may take effect twice (POST create, PATCH add). Retried only when the
    /// server certainly did not process them: 429, or a connection never established.
    NotIdempotent,
}

impl Idempotency {
    /// The default for an HTTP method.
    pub fn of(method: &Method) -> Self {
        match *method {
            Method::GET | Method::HEAD | Method::OPTIONS => Idempotency::Safe,
            Method::PUT | Method::DELETE => Idempotency::Idempotent,
            _ => Idempotency::NotIdempotent,
        }
    }

    fn may_repeat(self) -> bool {
        !matches!(self, Idempotency::NotIdempotent)
    }
}

/// Requests sent by one adapter: every attempt counts, retries included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RequestCounts {
    /// GET and HEAD requests.
    pub reads: u64,
    /// Every other request.
    pub writes: u64,
    /// Attempts that were retries of an earlier one (included in reads/writes).
    pub retries: u64,
}

impl RequestCounts {
    /// Reads plus writes.
    pub fn total(&self) -> u64 {
        self.reads + self.writes
    }

    /// The requests sent since `earlier` was taken.
    pub fn since(&self, earlier: &RequestCounts) -> RequestCounts {
        RequestCounts {
            reads: self.reads.saturating_sub(earlier.reads),
            writes: self.writes.saturating_sub(earlier.writes),
            retries: self.retries.saturating_sub(earlier.retries),
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    reads: AtomicU64,
    writes: AtomicU64,
    retries: AtomicU64,
}

/// One adapter's HTTP client. Cheap to clone; clones share connections and counters.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    policy: RetryPolicy,
    max_body_bytes: usize,
    counters: Arc<Counters>,
    adapter: Arc<str>,
}

impl HttpClient {
    /// Builds a client for the adapter named `adapter` (used in logs and errors).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the CA file cannot be read or parsed.
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
            max_body_bytes: settings.max_body_bytes,
            counters: Arc::new(Counters::default()),
            adapter: Arc::from(adapter),
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
    /// Retries on 429 (honouring `Retry-After`), 500, 502, 503 (honouring `Retry-After`),
    /// 504, timeouts and dropped connections, within the policy's attempts and time
    /// budget, as far as the idempotency allows. Returns the last response whatever its
    /// status: mapping statuses to errors is the adapter's job.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when no response arrived (connection refused, timeout,
    /// reset) after the last attempt; [`ErrorKind::InvalidInput`] when the request cannot be
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
            let this = match original.as_ref().and_then(reqwest::Request::try_clone) {
                Some(copy) => copy,
                None => original.take().ok_or_else(|| {
                    Error::invalid_input(format!(
                        "{method} {path}: a streamed request body cannot be sent again"
                    ))
                })?,
            };
            let spare = original.is_some();
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
                    span.record("status", status.as_u16());
                    span.in_scope(|| tracing::debug!(status = status.as_u16(), "response"));
                    let retry = match status {
                        StatusCode::TOO_MANY_REQUESTS => true,
                        StatusCode::INTERNAL_SERVER_ERROR
                        | StatusCode::BAD_GATEWAY
                        | StatusCode::SERVICE_UNAVAILABLE
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
                    if started.elapsed() + wait > self.policy.budget {
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
                    let never_sent = err.is_connect();
                    let cause = Cause::of(&err, &place);
                    // A wrong scheme or an untrusted certificate does not heal by itself.
                    let retry = (never_sent || idempotency.may_repeat()) && !cause.is_permanent();
                    let wait = self.policy.backoff(attempt);
                    if !retry || !can_retry_more || started.elapsed() + wait > self.policy.budget {
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

    /// Reads a response body as JSON into `T`, naming the field that did not match.
    ///
    /// # Errors
    /// See [`parse_json`] and [`read_body`].
    pub async fn read_json<T: DeserializeOwned>(&self, resp: Response, what: &str) -> Result<T> {
        let body = read_body(resp, self.max_body_bytes).await?;
        parse_json(&body, what)
    }
}

/// The most redirects followed for one request (all within its origin).
const MAX_REDIRECTS: usize = 10;

/// Follows a redirect only within the origin (scheme, host and port) of the request it
/// answers. Redirects are where credentials leak: a `307` re-sends a login form with its
/// password, custom token headers are re-sent to any host, and reqwest keeps even the
/// `Authorization` header on an `https` -> `http` redirect to the same host. So no
/// redirect to another origin is followed, whatever the status, and the error says where
/// it pointed.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first().cloned() else {
            return attempt.follow();
        };
        let to = attempt.url().clone();
        let status = attempt.status().as_u16();
        if !same_origin(&first, &to) {
            return attempt.error(RedirectRefused {
                from: origin_of(&first),
                to: display_url(to.as_str()),
                status,
                downgrade: first.scheme() == "https" && to.scheme() == "http",
                too_many: false,
            });
        }
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(RedirectRefused {
                from: origin_of(&first),
                to: display_url(to.as_str()),
                status,
                downgrade: false,
                too_many: true,
            });
        }
        attempt.follow()
    })
}

/// Whether two URLs share scheme, host and port (the default port of the scheme when
/// none is written).
fn same_origin(a: &reqwest::Url, b: &reqwest::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// `scheme://host:port` of a URL.
fn origin_of(url: &reqwest::Url) -> String {
    match url.port_or_known_default() {
        Some(port) => format!(
            "{}://{}:{port}",
            url.scheme(),
            url.host_str().unwrap_or_default()
        ),
        None => format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default()),
    }
}

/// A redirect the policy did not follow.
#[derive(Debug)]
struct RedirectRefused {
    from: String,
    to: String,
    status: u16,
    downgrade: bool,
    too_many: bool,
}

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let RedirectRefused {
            from,
            to,
            status,
            downgrade,
            too_many,
        } = self;
        if *too_many {
            return write!(
                f,
                "the server at {from} redirected the request more than {MAX_REDIRECTS} times (last to {to}, HTTP {status}); not followed"
            );
        }
        let why = if *downgrade {
            "a redirect from https to http would send the credentials in clear"
        } else {
            "credentials are only sent to the configured origin (scheme, host and port)"
        };
        write!(
            f,
            "the server at {from} redirected the request to {to} (HTTP {status}); not followed: {why}. If that is the right server, configure its address instead"
        )
    }
}

impl std::error::Error for RedirectRefused {}

/// Which way a header went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Sent,
    Received,
}

/// Whether a header carries a credential: the standard ones, any the client marked
/// sensitive, and vendor headers named after a token, key, secret, password or session
/// (`X-MSTR-AuthToken`, `X-API-Key`).
fn is_credential_header(name: &reqwest::header::HeaderName, value: &HeaderValue) -> bool {
    use reqwest::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION, SET_COOKIE};
    if value.is_sensitive()
        || [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE, SET_COOKIE].contains(name)
    {
        return true;
    }
    let name = name.as_str();
    ["token", "key", "secret", "password", "session"]
        .iter()
        .any(|w| name.contains(w))
}

/// Registers every credential in `headers` ([`crate::register_secret`]): the whole value,
/// the credential after an `Authorization` scheme (`Bearer x`, `Basic x`), and each
/// cookie's value.
fn register_credentials(headers: &reqwest::header::HeaderMap, direction: Direction) {
    use reqwest::header::{COOKIE, SET_COOKIE};
    for (name, value) in headers {
        if !is_credential_header(name, value) {
            continue;
        }
        let Ok(text) = value.to_str() else {
            continue;
        };
        if name == SET_COOKIE {
            register_cookie_values(text.split(';').take(1));
        } else if name == COOKIE && direction == Direction::Sent {
            register_cookie_values(text.split(';'));
        } else {
            crate::register_secret(text.trim());
            if let Some((_, credential)) = text.trim().split_once(' ') {
                crate::register_secret(credential.trim());
            }
        }
    }
}

/// Registers the values of `name=value` pairs.
fn register_cookie_values<'a>(pairs: impl Iterator<Item = &'a str>) {
    for pair in pairs {
        if let Some((_, value)) = pair.split_once('=') {
            crate::register_secret(value.trim().trim_matches('"'));
        }
    }
}

/// reqwest's cookie jar, registering every cookie value it receives before it stores it
/// (the cookie store logs what it inserts at debug level, and a session cookie is as
/// good as the password).
#[derive(Debug, Default)]
struct RegisteringJar(reqwest::cookie::Jar);

impl reqwest::cookie::CookieStore for RegisteringJar {
    fn set_cookies(
        &self,
        cookie_headers: &mut dyn Iterator<Item = &HeaderValue>,
        url: &reqwest::Url,
    ) {
        let headers: Vec<&HeaderValue> = cookie_headers.collect();
        for header in &headers {
            if let Ok(text) = header.to_str() {
                register_cookie_values(text.split(';').take(1));
            }
        }
        self.0.set_cookies(&mut headers.into_iter(), url);
    }

    fn cookies(&self, url: &reqwest::Url) -> Option<HeaderValue> {
        self.0.cookies(url)
    }
}

/// Where a request went, for errors: the scheme and `host:port`, never the path's query
/// or any credentials in the URL.
#[derive(Debug, Clone)]
struct Place {
    https: bool,
    host: String,
    host_port: String,
}

impl Place {
    fn of(url: &reqwest::Url) -> Place {
        let host = url.host_str().unwrap_or("(no host)").to_string();
        let host_port = match url.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        Place {
            https: url.scheme() == "https",
            host,
            host_port,
        }
    }
}

/// Why no answer arrived, read from the transport error's chain of sources.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cause {
    /// Nothing listens on the port (or a firewall rejects the connection).
    Refused,
    /// The host name does not resolve.
    Dns,
    /// Connecting or answering took longer than the configured timeout.
    Timeout,
    /// An `https://` URL, but the server answered plain HTTP.
    PlainHttpOnHttps,
    /// An `http://` URL, but the server did not answer HTTP (it likely expects TLS).
    NotHttpOnHttp,
    /// The server's certificate is not trusted (the text says why).
    Certificate(String),
    /// Another TLS failure (the text says which).
    Tls(String),
    /// The connection was reset or closed before an answer.
    Closed,
    /// Anything else: the innermost error's text.
    Other(String),
}

impl Cause {
    fn of(err: &reqwest::Error, place: &Place) -> Cause {
        let mut texts = Vec::new();
        let mut io_kind = None;
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = current {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                io_kind.get_or_insert(io.kind());
            }
            texts.push(e.to_string());
            current = e.source();
        }
        let all = texts.join(" | ").to_ascii_lowercase();
        let innermost = texts
            .last()
            .map(|t| match err.url() {
                Some(url) => t.replace(url.as_str(), "<url>"),
                None => t.clone(),
            })
            .unwrap_or_default();
        let has = |needles: &[&str]| needles.iter().any(|n| all.contains(n));
        if err.is_timeout() || io_kind == Some(std::io::ErrorKind::TimedOut) {
            return Cause::Timeout;
        }
        if io_kind == Some(std::io::ErrorKind::ConnectionRefused) || has(&["connection refused"]) {
            return Cause::Refused;
        }
        if has(&[
            "dns error",
            "failed to lookup address",
            "name or service not known",
            "no such host",
            "nodename nor servname",
            "temporary failure in name resolution",
        ]) {
            return Cause::Dns;
        }
        if place.https {
            if has(&[
                "invalidcontenttype",
                "corrupt message",
                "wrong version number",
                "http request",
            ]) {
                return Cause::PlainHttpOnHttps;
            }
            if has(&["certificate", "unknownissuer", "notvalidforname", "cert"]) {
                return Cause::Certificate(innermost);
            }
            if has(&["tls", "handshake", "alert"]) {
                return Cause::Tls(innermost);
            }
        } else if has(&[
            "invalid http version",
            "invalid status",
            "invalid header",
            "parse",
        ]) {
            return Cause::NotHttpOnHttp;
        }
        if matches!(
            io_kind,
            Some(
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::BrokenPipe
            )
        ) || has(&[
            "connection closed",
            "connection reset",
            "incomplete message",
        ]) {
            return Cause::Closed;
        }
        Cause::Other(innermost)
    }

    /// A wrong scheme or an untrusted certificate: repeating the request cannot help.
    fn is_permanent(&self) -> bool {
        matches!(
            self,
            Cause::PlainHttpOnHttps | Cause::NotHttpOnHttp | Cause::Certificate(_) | Cause::Tls(_)
        )
    }

    fn describe(&self, place: &Place) -> String {
        let hp = &place.host_port;
        match self {
            Cause::Refused => format!(
                "connection refused: nothing listens on {hp} (check the port, and that the server runs)"
            ),
            Cause::Dns => format!(
                "the host name `{}` does not resolve (DNS): check its spelling",
                place.host
            ),
            Cause::Timeout => format!(
                "no answer from {hp} within the timeout (a firewall dropping packets, or an overloaded server)"
            ),
            Cause::PlainHttpOnHttps => format!(
                "TLS handshake failed: {hp} answers plain HTTP, not HTTPS; use an http:// URL or the server's HTTPS port"
            ),
            Cause::NotHttpOnHttp => {
                format!("{hp} did not answer HTTP; it likely expects HTTPS: use an https:// URL")
            }
            Cause::Certificate(detail) => format!(
                "TLS handshake failed: the certificate of {hp} is not trusted ({detail}); give its CA in ca_file"
            ),
            Cause::Tls(detail) => format!("TLS handshake with {hp} failed: {detail}"),
            Cause::Closed => format!(
                "{hp} closed the connection without an answer (a proxy, a server restart, or an http:// URL for an HTTPS port)"
            ),
            Cause::Other(detail) => detail.clone(),
        }
    }
}

/// Names the vendor and the request (`GET /api/users`, the path only) in an unreadable
/// answer's error ([`ErrorKind::Protocol`]), whose text otherwise only names a JSON path;
/// other errors are returned as they are.
pub fn name_request(err: Error, vendor: &str, method: &Method, url_or_path: &str) -> Error {
    if err.kind() != ErrorKind::Protocol {
        return err;
    }
    let path = match reqwest::Url::parse(url_or_path) {
        Ok(u) => u.path().to_string(),
        Err(_) => url_or_path
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    let mut named = Error::new(
        ErrorKind::Protocol,
        format!("{vendor} answered {method} {path}: {}", err.message()),
    )
    .with_retryable(err.is_retryable());
    if let Some(status) = err.http_status() {
        named = named.with_http_status(status);
    }
    named
}

/// A URL as errors may show it: without user information (`user:password@`), query or
/// fragment, which can carry credentials or tokens. Text that is not a URL is returned
/// as it is.
pub fn display_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}

/// Reqwest errors print the URL, which for some APIs carries a tenant or a query: keep only
/// the error's own text.
fn without_url(err: reqwest::Error) -> reqwest::Error {
    err.without_url()
}

fn without_url_text(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    if let Some(url) = err.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    text
}

/// The `Retry-After` of a response, as seconds or an HTTP date.
pub fn retry_after(resp: &Response) -> Option<Duration> {
    let value = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    parse_retry_after(value)
}

/// Parses a `Retry-After` value: delay seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Reads a whole body, refusing more than `limit` bytes.
///
/// # Errors
/// [`ErrorKind::Protocol`] when the body is larger than `limit`;
/// [`ErrorKind::Unavailable`] when the connection drops while reading.
pub async fn read_body(mut resp: Response, limit: usize) -> Result<Vec<u8>> {
    if let Some(len) = resp.content_length()
        && len > limit as u64
    {
        return Err(Error::protocol(format!(
            "response body of {len} bytes exceeds the limit of {limit} bytes"
        ))
        .with_http_status(resp.status().as_u16()));
    }
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(Error::protocol(format!(
                        "response body exceeds the limit of {limit} bytes"
                    ))
                    .with_http_status(status));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                return Err(
                    Error::unavailable("connection dropped while reading the response")
                        .with_http_status(status)
                        .with_source(without_url(e)),
                );
            }
        }
    }
}

/// Parses JSON into `T`; on failure names the JSON path that did not match and shows the
/// start of the body, so a truncated body or an HTML error page is recognisable.
///
/// # Errors
/// [`ErrorKind::Protocol`].
pub fn parse_json<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => Ok(v),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            let at = if path == "." || path.is_empty() {
                String::new()
            } else {
                format!(" at `{path}`")
            };
            Err(Error::new(
                ErrorKind::Protocol,
                format!(
                    "unexpected {what} response{at}: {inner}; body starts with: {}",
                    body_excerpt(body)
                ),
            ))
        }
    }
}

/// The first 120 characters of a body, on one line, for error messages, cleaned of every
/// registered secret ([`crate::redact`]): a server may repeat the request it refused.
pub fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = crate::redact(&text);
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(120)
        .collect();
    if one_line.trim().is_empty() {
        "(empty)".to_string()
    } else {
        format!("`{}`", one_line.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn fast() -> HttpSettings {
        HttpSettings {
            retry: RetryPolicy {
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(5),
                ..RetryPolicy::default()
            },
            ..HttpSettings::default()
        }
    }

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
    fn unreadable_answers_name_the_vendor_and_the_request() {
        let err = parse_json::<Vec<u32>>(b"{}", "user list").expect_err("not a list");
        let named = name_request(
            err,
            "DSS",
            &Method::GET,
            "https://h/dip/publicapi/admin/users/?x=canary",
        );
        assert!(
            named.message().starts_with(
                "DSS answered GET /dip/publicapi/admin/users/: unexpected user list response"
            ),
            "{}",
            named.message()
        );
        assert!(!named.message().contains("canary"));
        let other = name_request(Error::not_found("x"), "DSS", &Method::GET, "/a");
        assert_eq!(other.message(), "x");
    }

    #[test]
    fn urls_in_errors_carry_no_credentials() {
        assert_eq!(
            display_url("https://u:canary-pw@h.example.com:8443/a/b?token=canary#x"),
            "https://h.example.com:8443/a/b"
        );
        assert_eq!(display_url("not a url"), "not a url");
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

    #[test]
    fn parses_retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn parse_json_names_the_path_and_shows_html() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct U {
            id: String,
            n: u32,
        }
        let err = parse_json::<U>(br#"{"id":"a","n":"x"}"#, "user").expect_err("wrong type");
        assert_eq!(err.kind(), ErrorKind::Protocol);
        assert!(err.message().contains("at `n`"), "{}", err.message());
        let err =
            parse_json::<U>(b"<html><body>Bad Gateway</body></html>", "user").expect_err("html");
        assert!(err.message().contains("<html>"), "{}", err.message());
    }

    #[tokio::test]
    async fn a_redirect_to_another_origin_is_not_followed_and_named() {
        let login = MockServer::start().await;
        let other = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(307)
                    .insert_header("Location", format!("{}/steal?x=1", other.uri())),
            )
            .mount(&login)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&other)
            .await;
        let client = HttpClient::new("t", &fast()).expect("client");
        let err = client
            .send(
                client
                    .request(Method::POST, format!("{}/api/auth/login", login.uri()))
                    .form(&[("password", "redirect-canary-pw")]),
            )
            .await
            .expect_err("not followed");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(!err.is_retryable());
        let text = err.to_string();
        assert!(
            text.contains(&format!("redirected the request to {}/steal", other.uri())),
            "{text}"
        );
        assert!(text.contains("not followed"), "{text}");
        assert!(text.contains("POST /api/auth/login"), "{text}");
        assert!(!text.contains("x=1"), "{text}");
        let received = other.received_requests().await.unwrap_or_default();
        assert!(received.is_empty(), "the other origin got {received:?}");
        assert_eq!(client.counts().writes, 1, "sent once, not retried");
    }

    #[tokio::test]
    async fn a_redirect_within_the_origin_is_followed() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/old"))
            .respond_with(ResponseTemplate::new(302).insert_header("Location", "/new"))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/new"))
            .respond_with(ResponseTemplate::new(200).set_body_string("here"))
            .mount(&server)
            .await;
        let client = HttpClient::new("t", &fast()).expect("client");
        let resp = client
            .send(client.request(Method::GET, format!("{}/old", server.uri())))
            .await
            .expect("followed");
        assert_eq!(resp.status(), 200);
    }

    #[test]
    fn origins_differ_by_scheme_host_or_port() {
        let u = |s: &str| reqwest::Url::parse(s).expect("url");
        assert!(same_origin(&u("https://h/a"), &u("https://h:443/b?c")));
        assert!(!same_origin(&u("https://h/a"), &u("http://h/a")));
        assert!(!same_origin(&u("https://h:8443/a"), &u("http://h:8443/a")));
        assert!(!same_origin(&u("http://h:8080/a"), &u("http://h:8081/a")));
        assert!(!same_origin(&u("http://h/a"), &u("http://other/a")));
        let downgrade = RedirectRefused {
            from: origin_of(&u("https://h:8443/x")),
            to: display_url("http://h:8443/x"),
            status: 307,
            downgrade: true,
            too_many: false,
        }
        .to_string();
        assert!(
            downgrade.contains("https://h:8443 redirected the request to http://h:8443/x"),
            "{downgrade}"
        );
        assert!(downgrade.contains("in clear"), "{downgrade}");
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

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        for retry in 1..20 {
            assert!(p.backoff(retry) <= p.max_backoff);
        }
        assert!(p.backoff(1) >= Duration::from_millis(100));
    }
}
