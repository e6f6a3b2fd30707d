//! The request pipeline every authenticated REST adapter shares: a credential obtained
//! once and put on every request, one fresh login and one repetition when the server says
//! the credential expired, every non-2xx answer mapped to an [`Error`] by the adapter,
//! a capped body read, and an answer that cannot be read sent for again a bounded number
//! of times.
//!
//! An adapter fills in the [`Authenticator`] hooks (how to log in, how to put the
//! credential on a request, which answers mean it expired, how its error bodies read,
//! how to log out) and sends [`Request`]s through a [`Pipeline`]. Transient failures
//! (429, 503, dropped connections) are retried below it, in [`HttpClient::send_with`],
//! and nowhere else: the pipeline only repeats a request after a fresh login or when a
//! 2xx answer could not be read, neither of which that layer sees.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Mutex;

use super::body::parse_json;
use super::naming::name_request;
use super::retry::parse_retry_after;
use super::{HttpClient, Idempotency, RequestCounts};
use crate::{Error, ErrorKind, Result, Secret};

/// How many times a request whose 2xx answer cannot be read (cut short, or not the
/// expected JSON) is sent in all, when it may be repeated: a GET, or a request marked
/// with [`Request::resend_unreadable`].
pub const UNREADABLE_ATTEMPTS: u32 = 3;

/// A request body.
#[derive(Debug, Clone, Default)]
pub enum Body {
    /// No body.
    #[default]
    None,
    /// `application/x-www-form-urlencoded` fields, in order.
    Form(Vec<(String, String)>),
    /// `application/json`.
    Json(Value),
}

impl Body {
    /// A form body from `(key, value)` pairs.
    pub fn form<K: Into<String>, V: Into<String>>(
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Body::Form(
            fields
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// One request, kept as data so that it can be sent again after a fresh login.
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    url: String,
    query: Vec<(String, String)>,
    body: Body,
    idempotency: Option<Idempotency>,
    resend_unreadable: bool,
}

impl Request {
    /// A request of `method` to the absolute `url`.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request {
            method,
            url: url.into(),
            query: Vec::new(),
            body: Body::None,
            idempotency: None,
            resend_unreadable: false,
        }
    }

    /// A GET of `url`.
    pub fn get(url: impl Into<String>) -> Self {
        Request::new(Method::GET, url)
    }

    /// Adds one query parameter.
    pub fn query(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.query.push((key.into(), value.to_string()));
        self
    }

    /// Adds query parameters, in order.
    pub fn queries<K: ToString, V: ToString>(mut self, pairs: &[(K, V)]) -> Self {
        self.query
            .extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    /// Sets a JSON body.
    pub fn json(self, body: Value) -> Self {
        self.body(Body::Json(body))
    }

    /// Overrides the idempotency the method implies ([`Idempotency::of`]); `None` keeps it.
    pub fn idempotency(mut self, idempotency: Option<Idempotency>) -> Self {
        if idempotency.is_some() {
            self.idempotency = idempotency;
        }
        self
    }

    /// Declares the request safe to repeat (an idempotent PATCH, for example), so the HTTP
    /// layer may retry it after a 5xx or a dropped connection.
    pub fn idempotent(self) -> Self {
        self.idempotency(Some(Idempotency::Idempotent))
    }

    /// Sends the request again, up to [`UNREADABLE_ATTEMPTS`] in all, when its 2xx answer
    /// cannot be read: for a whole-document replace, whose answer is needed to trust it.
    /// GETs always are.
    pub fn resend_unreadable(mut self) -> Self {
        self.resend_unreadable = true;
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL, without the query.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The idempotency the request is sent with.
    pub fn effective_idempotency(&self) -> Idempotency {
        self.idempotency
            .unwrap_or_else(|| Idempotency::of(&self.method))
    }

    /// `METHOD /path`, for errors and logs (no host, query or credentials).
    pub fn describe(&self) -> String {
        let path = match reqwest::Url::parse(&self.url) {
            Ok(u) => u.path().to_string(),
            Err(_) => self.url.split(['?', '#']).next().unwrap_or_default().into(),
        };
        format!("{} {path}", self.method)
    }

    fn rereads(&self) -> u32 {
        if self.method == Method::GET || self.resend_unreadable {
            UNREADABLE_ATTEMPTS
        } else {
            1
        }
    }

    fn build(&self, http: &HttpClient) -> RequestBuilder {
        let mut rb = http.request(self.method.clone(), &self.url);
        if !self.query.is_empty() {
            rb = rb.query(&self.query);
        }
        match &self.body {
            Body::None => rb,
            Body::Form(fields) => rb.form(fields),
            Body::Json(v) => rb
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(v.to_string()),
        }
    }
}

/// A whole answer: status, headers and the body, read within the size limit.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// A header's value, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Retry-After` the server sent, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.header(reqwest::header::RETRY_AFTER.as_str())
            .and_then(parse_retry_after)
    }

    async fn read(resp: Response, http: &HttpClient) -> Result<Answer> {
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = http.read_body(resp).await?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// What an adapter tells the [`Pipeline`] about its platform's authentication and errors.
#[async_trait]
pub trait Authenticator: Send + Sync {
    /// The platform's name as errors show it (`"DSS"`), in "DSS answered GET /path: ...".
    fn vendor(&self) -> &str;

    /// Obtains a credential: logs in, exchanges a refresh token, or returns a key that
    /// needs no request. Called when there is none yet, on [`Pipeline::login`], and after
    /// an answer [`Authenticator::expired`] recognises; never twice at once.
    ///
    /// # Errors
    /// Whatever the login answered, mapped by the adapter.
    async fn login(&self, http: &HttpClient) -> Result<Secret>;

    /// Puts the credential (and any header every request carries) on a request.
    ///
    /// # Errors
    /// When the credential cannot be carried (characters not allowed in a header).
    fn authorize(&self, request: RequestBuilder, credential: &Secret) -> Result<RequestBuilder>;

    /// Whether a 401 answer says the credential expired, so that one fresh login and one
    /// repetition may help. Default: every 401.
    fn expired(&self, body: &[u8]) -> bool {
        let _ = body;
        true
    }

    /// The error of a non-2xx answer: its kind from the status, the vendor's code and
    /// message from the body.
    fn map_error(&self, status: u16, body: &[u8], retry_after: Option<Duration>) -> Error;

    /// Ends the session of `credential` at the server. Default: nothing to end.
    ///
    /// # Errors
    /// Whatever the server answers.
    async fn logout(&self, http: &HttpClient, credential: &Secret) -> Result<()> {
        let _ = (http, credential);
        Ok(())
    }
}

#[derive(Default)]
struct Session {
    credential: Option<Secret>,
    /// Bumped at every login, so that concurrent requests that all saw the same
    /// credential expire log in once.
    generation: u64,
}

/// One adapter's authenticated request pipeline over an [`HttpClient`].
pub struct Pipeline<A> {
    http: HttpClient,
    auth: A,
    session: Mutex<Session>,
}

impl<A> std::fmt::Debug for Pipeline<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("credential", &crate::REDACTED)
            .finish()
    }
}

/// Why one exchange failed, and whether reading the answer again may help.
struct Failure {
    error: Error,
    /// The 2xx answer was cut short or unreadable: the HTTP layer returned it as a
    /// success, so it did not retry it.
    unreadable: bool,
}

impl<A: Authenticator> Pipeline<A> {
    /// A pipeline sending through `http`, authenticating with `auth`; nothing is sent yet.
    pub fn new(http: HttpClient, auth: A) -> Self {
        Pipeline {
            http,
            auth,
            session: Mutex::new(Session::default()),
        }
    }

    /// The HTTP client underneath.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The adapter's hooks.
    pub fn auth(&self) -> &A {
        &self.auth
    }

    /// The requests sent so far.
    pub fn counts(&self) -> RequestCounts {
        self.http.counts()
    }

    /// Logs in now (otherwise done before the first request), replacing any credential.
    ///
    /// # Errors
    /// As [`Authenticator::login`].
    pub async fn login(&self) -> Result<()> {
        let mut session = self.session.lock().await;
        self.login_locked(&mut session).await
    }

    async fn login_locked(&self, session: &mut Session) -> Result<()> {
        let credential = self.auth.login(&self.http).await?;
        session.credential = Some(credential);
        session.generation += 1;
        Ok(())
    }

    /// Ends the session at the server and forgets the credential; nothing is sent when
    /// there is none.
    ///
    /// # Errors
    /// As [`Authenticator::logout`].
    pub async fn logout(&self) -> Result<()> {
        let mut session = self.session.lock().await;
        let Some(credential) = session.credential.take() else {
            return Ok(());
        };
        self.auth.logout(&self.http, &credential).await
    }

    /// The current credential and its generation, logging in first when there is none.
    async fn credential(&self) -> Result<(Secret, u64)> {
        let mut session = self.session.lock().await;
        if session.credential.is_none() {
            self.login_locked(&mut session).await?;
        }
        match &session.credential {
            Some(c) => Ok((c.clone(), session.generation)),
            None => Err(Error::protocol("the login left no credential")),
        }
    }

    /// Logs in again after the credential of generation `seen` expired, unless another
    /// request already did.
    async fn relogin(&self, seen: u64) -> Result<()> {
        let mut session = self.session.lock().await;
        if session.generation != seen && session.credential.is_some() {
            return Ok(());
        }
        tracing::debug!(
            vendor = self.auth.vendor(),
            "credential expired; logging in again"
        );
        self.login_locked(&mut session).await
    }

    async fn send_with(&self, request: &Request, credential: &Secret) -> Result<Response> {
        let rb = self.auth.authorize(request.build(&self.http), credential)?;
        self.http.send_with(rb, request.idempotency).await
    }

    /// Sends once with the credential; on a 401 the hooks call expired, logs in once more
    /// and sends once more. Every answer is returned, whatever its status.
    async fn exchange(&self, request: &Request) -> std::result::Result<Answer, Failure> {
        let fail = |error| Failure {
            error,
            unreadable: false,
        };
        let (credential, generation) = self.credential().await.map_err(fail)?;
        let resp = self.send_with(request, &credential).await.map_err(fail)?;
        let resp = if resp.status() == StatusCode::UNAUTHORIZED {
            let first = Answer::read(resp, &self.http).await.map_err(fail)?;
            if !self.auth.expired(&first.body) {
                return Ok(first);
            }
            self.relogin(generation).await.map_err(fail)?;
            let (credential, _) = self.credential().await.map_err(fail)?;
            self.send_with(request, &credential).await.map_err(fail)?
        } else {
            resp
        };
        let success = resp.status().is_success();
        Answer::read(resp, &self.http)
            .await
            .map_err(|error| Failure {
                // A 2xx whose body broke off is not something the HTTP layer saw fail.
                unreadable: success && error.kind() == ErrorKind::Unavailable,
                error,
            })
    }

    /// The error of a non-2xx answer, through [`Authenticator::map_error`]; a 500, 502 or
    /// 504 to a request that is not idempotent leaves its outcome unknown.
    fn error_of(&self, request: &Request, answer: &Answer) -> Error {
        let status = answer.status.as_u16();
        let err = self
            .auth
            .map_error(status, &answer.body, answer.retry_after());
        tracing::debug!(
            vendor = self.auth.vendor(),
            request = %request.describe(),
            status,
            kind = %err.kind(),
            vendor_code = err.vendor_code().unwrap_or(""),
            "error response"
        );
        let unknown =
            matches!(status, 500 | 502 | 504) && !request.effective_idempotency().may_repeat();
        if unknown {
            err.with_outcome_unknown(true)
        } else {
            err
        }
    }

    async fn answer(
        &self,
        request: &Request,
        accept: &[u16],
    ) -> std::result::Result<Answer, Failure> {
        let answer = self.exchange(request).await?;
        if answer.status.is_success() || accept.contains(&answer.status.as_u16()) {
            Ok(answer)
        } else {
            Err(Failure {
                error: self.error_of(request, &answer),
                unreadable: false,
            })
        }
    }

    /// Sends a request and returns its answer when the status is 2xx or in `accept`.
    ///
    /// # Errors
    /// The mapped error of any other status; the login's error; [`ErrorKind::Unavailable`]
    /// when no answer arrived (after the HTTP layer's retries).
    pub async fn send(&self, request: &Request, accept: &[u16]) -> Result<Answer> {
        self.answer(request, accept).await.map_err(|f| f.error)
    }

    /// Sends a request and reads its 2xx answer through `parse`. A GET (or a request
    /// marked [`Request::resend_unreadable`]) whose answer is cut short or does not parse
    /// is sent again, up to [`UNREADABLE_ATTEMPTS`] in all: a body mangled by a proxy or a
    /// dropped connection is transient. Nothing else is repeated here.
    ///
    /// # Errors
    /// As [`Pipeline::send`]; the last parse error ([`ErrorKind::Protocol`]), naming the
    /// platform and the request.
    pub async fn read<T>(
        &self,
        request: &Request,
        parse: impl Fn(&Answer) -> Result<T>,
    ) -> Result<T> {
        let attempts = request.rereads();
        let mut attempt = 1;
        loop {
            let error = match self.answer(request, &[]).await {
                Ok(answer) => match parse(&answer) {
                    Ok(v) => return Ok(v),
                    Err(e) if e.kind() == ErrorKind::Protocol => e,
                    Err(e) => return Err(e),
                },
                Err(Failure {
                    error,
                    unreadable: true,
                }) => error,
                Err(f) => return Err(f.error),
            };
            if attempt >= attempts {
                return Err(name_request(
                    error,
                    self.auth.vendor(),
                    &request.method,
                    &request.url,
                ));
            }
            tracing::debug!(vendor = self.auth.vendor(), request = %request.describe(), attempt, error = %error, "unreadable answer; sending again");
            attempt += 1;
        }
    }

    /// Sends a request and parses its 2xx answer as JSON into `T`.
    ///
    /// # Errors
    /// As [`Pipeline::read`].
    pub async fn json<T: DeserializeOwned>(&self, request: &Request, what: &str) -> Result<T> {
        self.read(request, |a| parse_json(&a.body, what)).await
    }

    /// Sends a request and returns its 2xx body.
    ///
    /// # Errors
    /// As [`Pipeline::send`].
    pub async fn bytes(&self, request: &Request) -> Result<Vec<u8>> {
        self.send(request, &[]).await.map(|a| a.body)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::http::test_support::fast;

    /// Logs in by counting: the credential is `token-N` for the Nth login.
    #[derive(Default)]
    struct Counting {
        logins: AtomicU32,
    }

    #[async_trait]
    impl Authenticator for Counting {
        fn vendor(&self) -> &str {
            "Test"
        }

        async fn login(&self, _http: &HttpClient) -> Result<Secret> {
            let n = self.logins.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(Secret::new(format!("token-{n}")))
        }

        fn authorize(&self, request: RequestBuilder, token: &Secret) -> Result<RequestBuilder> {
            Ok(request.header("x-test-token", token.expose()))
        }

        fn expired(&self, body: &[u8]) -> bool {
            body == b"expired"
        }

        fn map_error(&self, status: u16, body: &[u8], retry_after: Option<Duration>) -> Error {
            let kind = match status {
                401 => ErrorKind::Unauthenticated,
                500..=504 => ErrorKind::Unavailable,
                _ => ErrorKind::Protocol,
            };
            Error::new(
                kind,
                format!("HTTP {status}: {}", String::from_utf8_lossy(body)),
            )
            .with_retry_after(retry_after)
        }
    }

    fn pipeline() -> Pipeline<Counting> {
        Pipeline::new(
            HttpClient::new("t", &fast()).expect("client"),
            Counting::default(),
        )
    }

    #[tokio::test]
    async fn an_expired_credential_is_renewed_once_and_the_request_repeated() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(header("x-test-token", "token-1"))
            .respond_with(ResponseTemplate::new(401).set_body_string("expired"))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(header("x-test-token", "token-2"))
            .respond_with(ResponseTemplate::new(200).set_body_string("[1,2]"))
            .mount(&server)
            .await;
        let p = pipeline();
        let got: Vec<u32> = p
            .json(&Request::get(format!("{}/x", server.uri())), "list")
            .await
            .expect("answer");
        assert_eq!(got, vec![1, 2]);
        assert_eq!(p.auth().logins.load(Ordering::SeqCst), 2);
        assert_eq!(p.counts().reads, 2);
    }

    #[tokio::test]
    async fn a_401_that_is_not_an_expiry_is_mapped_without_a_new_login() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(401).set_body_string("denied"))
            .mount(&server)
            .await;
        let p = pipeline();
        let err = p
            .send(&Request::get(server.uri()), &[])
            .await
            .expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(err.message().contains("denied"), "{}", err.message());
        assert_eq!(p.auth().logins.load(Ordering::SeqCst), 1);
        assert_eq!(p.counts().reads, 1);
    }

    #[tokio::test]
    async fn an_unreadable_answer_is_read_again_a_bounded_number_of_times() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/list"))
            .respond_with(ResponseTemplate::new(200).set_body_string("[1,"))
            .mount(&server)
            .await;
        let p = pipeline();
        let err = p
            .json::<Vec<u32>>(&Request::get(format!("{}/list", server.uri())), "list")
            .await
            .expect_err("never readable");
        assert_eq!(err.kind(), ErrorKind::Protocol);
        assert!(
            err.message().starts_with("Test answered GET /list"),
            "{}",
            err.message()
        );
        assert_eq!(p.counts().reads, u64::from(UNREADABLE_ATTEMPTS));
        // A write is read once.
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{"))
            .mount(&server)
            .await;
        let _ = p
            .json::<Value>(&Request::new(Method::POST, server.uri()), "result")
            .await
            .expect_err("unreadable");
        assert_eq!(p.counts().writes, 1);
    }

    #[tokio::test]
    async fn a_503_is_retried_by_the_http_layer_only_not_read_again() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "0"))
            .mount(&server)
            .await;
        let p = pipeline();
        let err = p
            .json::<Value>(&Request::get(server.uri()), "list")
            .await
            .expect_err("unavailable");
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(!err.is_outcome_unknown());
        assert_eq!(
            p.counts().reads,
            u64::from(RetryPolicy::default().max_attempts)
        );
    }

    #[tokio::test]
    async fn a_500_to_a_create_leaves_its_outcome_unknown_and_is_sent_once() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500))
            .mount(&server)
            .await;
        Mock::given(method("PUT"))
            .respond_with(ResponseTemplate::new(500))
            .mount(&server)
            .await;
        let p = pipeline();
        let err = p
            .send(&Request::new(Method::POST, server.uri()), &[])
            .await
            .expect_err("failed");
        assert!(err.is_outcome_unknown());
        assert_eq!(p.counts().writes, 1);
        // An idempotent write was retried below and may be sent again by anyone.
        let err = p
            .send(&Request::new(Method::PUT, server.uri()), &[])
            .await
            .expect_err("failed");
        assert!(!err.is_outcome_unknown());
    }

    use crate::http::RetryPolicy;
}
