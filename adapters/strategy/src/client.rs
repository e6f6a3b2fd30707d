//! Strategy's hooks into the shared request pipeline ([`idbridge_core::http::Pipeline`]):
//! the login, the token and cookies on every call, which 401 means the session expired,
//! the logout; and its calls, paging included.
//!
//! Strategy's REST tier keeps an HTTP session per client: login answers `204` with the
//! token in `X-MSTR-AuthToken` and a session cookie (`JSESSIONID`, plus any load-balancer
//! cookies). Every later call must carry **both** the token header and the cookies, so the
//! HTTP client keeps a cookie store. When a call fails with HTTP 401 and `ERR009` the
//! session expired: the pipeline logs in again once and repeats the call; a second failure
//! is returned as it is.

use std::sync::Arc;
use std::time::Duration;

use idbridge_core::http::{
    self, Answer, Authenticator, HttpClient, Idempotency, Pipeline, Request, RequestCounts,
};
use idbridge_core::{Error, ErrorKind, Result, Secret, async_trait};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::{LoginMode, StrategyConfig};
use crate::error::{is_session_expired, map_error};

/// The response header carrying the session token.
pub const AUTH_TOKEN_HEADER: &str = "X-MSTR-AuthToken";
/// The response header carrying the size of a paged collection.
pub const TOTAL_COUNT_HEADER: &str = "X-MSTR-Total-Count";

/// The name this adapter uses in logs and errors.
const ADAPTER: &str = "strategy";

/// How often a login whose success arrived without a token is sent.
pub const READ_ATTEMPTS: usize = 3;

/// One REST call, kept as data so it can be sent again after a re-login.
#[derive(Debug, Clone)]
pub struct Call {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Value>,
    idempotency: Option<Idempotency>,
}

impl Call {
    /// A call of `method` on `path` (relative to the base URL, starting with `/api/`).
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Call {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            idempotency: None,
        }
    }

    /// A GET.
    pub fn get(path: impl Into<String>) -> Self {
        Call::new(Method::GET, path)
    }

    /// Adds a query parameter.
    pub fn query(mut self, key: &str, value: impl ToString) -> Self {
        self.query.push((key.to_string(), value.to_string()));
        self
    }

    /// Sets a JSON body.
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Declares the call safe to repeat (an idempotent PATCH, for example), so the HTTP
    /// layer may retry it after a 5xx or a dropped connection.
    pub fn idempotent(mut self) -> Self {
        self.idempotency = Some(Idempotency::Idempotent);
        self
    }

    /// The pipeline's request for this call under `base_url`.
    fn request(&self, base_url: &str) -> Request {
        let request = Request::new(self.method.clone(), format!("{base_url}{}", self.path))
            .queries(&self.query)
            .idempotency(self.idempotency);
        match &self.body {
            Some(body) => request.json(body.clone()),
            None => request,
        }
    }

    /// `METHOD /path`, for errors and logs (no query, which may carry search text).
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// Strategy's authentication: a login (standard, LDAP or API token) whose token goes in
/// a header next to the session cookies.
struct Session {
    base_url: String,
    mode: LoginMode,
    username: Option<String>,
    password: Option<Secret>,
    api_token: Option<Secret>,
    application_type: u32,
}

impl Session {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    async fn login_once(&self, http: &HttpClient) -> Result<Secret> {
        let url = self.url("/api/auth/login");
        let rb = http.request(Method::POST, &url);
        let mode = self.mode.code().to_string();
        let app = self.application_type.to_string();
        let rb = match self.mode {
            LoginMode::Standard | LoginMode::Ldap => {
                let username = self.username.as_deref().unwrap_or_default();
                let password = self
                    .password
                    .as_ref()
                    .map(Secret::expose)
                    .unwrap_or_default();
                rb.form(&[
                    ("loginMode", mode.as_str()),
                    ("applicationType", app.as_str()),
                    ("username", username),
                    ("password", password),
                ])
            }
            LoginMode::ApiToken => {
                let token = self
                    .api_token
                    .as_ref()
                    .map(Secret::expose)
                    .unwrap_or_default();
                rb.json(&serde_json::json!({
                    "loginMode": self.mode.code(),
                    "applicationType": self.application_type,
                    "username": token,
                }))
            }
        };
        // A repeated login only opens one more session, which the server expires.
        let resp = http.send_with(rb, Some(Idempotency::Idempotent)).await?;
        let status = resp.status();
        if status == StatusCode::NOT_FOUND {
            // The REST API lives under the Library web application: a 404 at its login
            // endpoint means base_url points somewhere else, not a missing feature.
            return Err(Error::config(format!(
                "404 at {}: is this the Library URL (ending in /MicroStrategyLibrary)? base_url is `{}`",
                http::display_url(&url),
                http::display_url(&self.base_url)
            ))
            .with_http_status(404)
            .with_operation("login"));
        }
        if !status.is_success() {
            let retry_after = http::retry_after(&resp);
            let body = http.read_body(resp).await?;
            let err = map_error(status.as_u16(), &body, retry_after);
            let err = if err.kind() == ErrorKind::Unauthenticated {
                Error::new(
                    ErrorKind::Unauthenticated,
                    "login failed: check username, password, login_mode or api_token",
                )
                .with_vendor(err.vendor_code(), err.vendor_message())
                .with_http_status(status.as_u16())
            } else {
                err
            };
            return Err(err.with_operation("login"));
        }
        let token = resp
            .headers()
            .get(AUTH_TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(Secret::new)
            .ok_or_else(|| {
                Error::protocol(format!(
                    "login answered HTTP {} without an {AUTH_TOKEN_HEADER} header; is base_url the MicroStrategyLibrary URL?",
                    status.as_u16()
                ))
            })?;
        tracing::debug!(adapter = ADAPTER, "logged in");
        Ok(token)
    }
}

#[async_trait]
impl Authenticator for Session {
    fn vendor(&self) -> &str {
        "Strategy"
    }

    /// Standard and LDAP logins are form-encoded, as the official SDK sends them; API
    /// token login is JSON with the token as `username`.
    async fn login(&self, http: &HttpClient) -> Result<Secret> {
        // A success without a token is an answer mangled on the way (a proxy, a cut
        // connection): logging in again is harmless, so try a few times.
        let mut last = None;
        for _ in 0..READ_ATTEMPTS {
            match self.login_once(http).await {
                Err(e) if e.kind() == ErrorKind::Protocol => last = Some(e),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| Error::protocol("login failed")))
    }

    fn authorize(&self, request: RequestBuilder, token: &Secret) -> Result<RequestBuilder> {
        Ok(request
            .header(AUTH_TOKEN_HEADER, token.expose())
            .header(reqwest::header::ACCEPT, "application/json"))
    }

    fn expired(&self, body: &[u8]) -> bool {
        is_session_expired(401, body)
    }

    fn map_error(&self, status: u16, body: &[u8], retry_after: Option<Duration>) -> Error {
        map_error(status, body, retry_after)
    }

    /// A session that already expired (401 `ERR009`) counts as logged out.
    async fn logout(&self, http: &HttpClient, token: &Secret) -> Result<()> {
        let rb = self.authorize(
            http.request(Method::POST, self.url("/api/auth/logout")),
            token,
        )?;
        let resp = http.send_with(rb, None).await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body = http.read_body(resp).await?;
        if is_session_expired(status.as_u16(), &body) {
            return Ok(());
        }
        Err(map_error(status.as_u16(), &body, None).with_operation("logout"))
    }
}

/// One page of a collection and the collection's total size, when the server said.
#[derive(Debug, Clone)]
pub struct PageOf<T> {
    /// The records on this page.
    pub items: Vec<T>,
    /// `X-MSTR-Total-Count`, if the response carried it.
    pub total: Option<u64>,
}

/// The Strategy REST client. Cheap to share behind an `Arc`.
pub struct Client {
    pipeline: Pipeline<Session>,
    base_url: String,
    page_size: usize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth = self.pipeline.auth();
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("login_mode", &auth.mode)
            .field("username", &auth.username)
            .field("token", &idbridge_core::REDACTED)
            .finish()
    }
}

impl Client {
    /// Builds a client (without logging in).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the TLS settings cannot be applied.
    pub fn new(cfg: &StrategyConfig) -> Result<Arc<Client>> {
        let http = HttpClient::new(ADAPTER, &cfg.http_settings())?;
        let session = Session {
            base_url: cfg.base_url.clone(),
            mode: cfg.login_mode,
            username: cfg.username.clone(),
            password: cfg.password.clone(),
            api_token: cfg.api_token.clone(),
            application_type: cfg.application_type,
        };
        Ok(Arc::new(Client {
            pipeline: Pipeline::new(http, session),
            base_url: cfg.base_url.clone(),
            page_size: cfg.page_size,
        }))
    }

    /// The configured page size.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// Requests sent so far.
    pub fn counts(&self) -> RequestCounts {
        self.pipeline.counts()
    }

    /// The most response-body bytes read.
    pub fn max_body_bytes(&self) -> usize {
        self.pipeline.http().max_body_bytes()
    }

    /// The base URL (ending in `/MicroStrategyLibrary`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Logs in and keeps the token (the cookie store keeps the session cookies).
    ///
    /// # Errors
    /// [`ErrorKind::Unauthenticated`] when the server rejects the credentials;
    /// [`ErrorKind::Protocol`] when a successful answer carries no token.
    pub async fn login(&self) -> Result<()> {
        self.pipeline.login().await
    }

    /// Sends a call with the token and cookies; on 401 `ERR009` logs in once and repeats.
    ///
    /// Returns the 2xx answer; every other status becomes an error through [`map_error`].
    ///
    /// # Errors
    /// The mapped vendor error, or [`ErrorKind::Unavailable`] when no answer arrived.
    pub async fn send(&self, call: &Call) -> Result<Answer> {
        self.send_accepting(call, &[]).await
    }

    /// Like [`Client::send`] but returns every answer whose status is 2xx or in
    /// `accept`, for calls that carry results in non-2xx answers (bulk disconnect).
    ///
    /// # Errors
    /// As [`Client::send`].
    pub async fn send_accepting(&self, call: &Call, accept: &[u16]) -> Result<Answer> {
        self.pipeline
            .send(&call.request(&self.base_url), accept)
            .await
    }

    /// Reads a call's 2xx body through `parse` (which also gets `X-MSTR-Total-Count`); an
    /// unreadable answer to a GET is read again (see [`Pipeline::read`]).
    async fn read<T>(
        &self,
        call: &Call,
        parse: impl Fn(&[u8], Option<u64>) -> Result<T>,
    ) -> Result<T> {
        self.pipeline
            .read(&call.request(&self.base_url), |answer| {
                let total = answer
                    .header(TOTAL_COUNT_HEADER)
                    .and_then(|v| v.trim().parse::<u64>().ok());
                parse(&answer.body, total)
            })
            .await
    }

    /// Sends a call and reads its JSON answer into `T`.
    ///
    /// # Errors
    /// As [`Client::send`], and [`ErrorKind::Protocol`] naming the field that did not match.
    pub async fn json<T: DeserializeOwned>(&self, call: &Call, what: &str) -> Result<T> {
        self.read(call, |body, _| http::parse_json(body, what))
            .await
    }

    /// Sends a call whose answer is a list (a bare array, or one array under a key).
    ///
    /// # Errors
    /// As [`Client::json`].
    pub async fn list<T: DeserializeOwned>(&self, call: &Call, what: &str) -> Result<Vec<T>> {
        self.read(call, |body, _| {
            let value: Value = http::parse_json(body, what)?;
            crate::wire::list_of(value)
                .map_err(|e| Error::protocol(format!("unexpected {what} response: {e}")))
        })
        .await
    }

    /// Sends a call and ignores its body.
    ///
    /// # Errors
    /// As [`Client::send`].
    pub async fn ok(&self, call: &Call) -> Result<()> {
        self.send(call).await.map(|_| ())
    }

    /// Reads one page of a paged collection with `offset`/`limit`, and the
    /// `X-MSTR-Total-Count` header. `key` names the array for wrapped answers
    /// (`userConnections`, `projects`); `None` means a bare array.
    ///
    /// # Errors
    /// As [`Client::json`].
    pub async fn page<T: DeserializeOwned>(
        &self,
        call: Call,
        offset: usize,
        limit: usize,
        key: Option<&str>,
        what: &str,
    ) -> Result<PageOf<T>> {
        let call = call.query("offset", offset).query("limit", limit);
        self.read(&call, |body, total| {
            let items = match key {
                None => http::parse_json::<Vec<T>>(body, what)?,
                Some(k) => {
                    let mut v: Value = http::parse_json(body, what)?;
                    let inner = v
                        .get_mut(k)
                        .map(Value::take)
                        .unwrap_or(Value::Array(Vec::new()));
                    serde_json::from_value(inner).map_err(|e| {
                        Error::protocol(format!("unexpected {what} response at `{k}`: {e}"))
                    })?
                }
            };
            Ok(PageOf { items, total })
        })
        .await
    }

    /// Reads every page of a paged collection: pages of the configured size until the
    /// offset reaches `X-MSTR-Total-Count`, or (when a server omits the header) until a
    /// short page.
    ///
    /// # Errors
    /// As [`Client::page`]; [`ErrorKind::Protocol`] when the server keeps sending pages
    /// past any sane total.
    pub async fn all<T: DeserializeOwned>(
        &self,
        call: Call,
        key: Option<&str>,
        what: &str,
    ) -> Result<Vec<T>> {
        let limit = self.page_size;
        let mut out = Vec::new();
        let mut offset = 0usize;
        for _ in 0..idbridge_core::MAX_PAGES {
            let page: PageOf<T> = self.page(call.clone(), offset, limit, key, what).await?;
            let got = page.items.len();
            out.extend(page.items);
            offset += got;
            let done = match page.total {
                Some(total) => offset as u64 >= total || got == 0,
                None => got < limit,
            };
            if done {
                return Ok(out);
            }
        }
        Err(Error::protocol(format!(
            "{what} listing did not end after {} pages",
            idbridge_core::MAX_PAGES
        )))
    }

    /// Logs out (closing the server session) and forgets the token. A session that
    /// already expired (401 `ERR009`) counts as logged out.
    ///
    /// # Errors
    /// Whatever else the server answers.
    pub async fn logout(&self) -> Result<()> {
        self.pipeline.logout().await
    }
}
