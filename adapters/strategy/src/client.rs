//! The authenticated HTTP client: login, the token and cookies on every call, the one
//! re-login when the session expired, paging, logout.
//!
//! Strategy's REST tier keeps an HTTP session per client: login answers `204` with the
//! token in `X-MSTR-AuthToken` and a session cookie (`JSESSIONID`, plus any load-balancer
//! cookies). Every later call must carry **both** the token header and the cookies, so the
//! HTTP client keeps a cookie store. When a call fails with HTTP 401 and `ERR009` the
//! session expired: the client logs in again once and repeats the call; a second failure
//! is returned as it is.

use std::sync::Arc;

use idbridge_core::http::{self, HttpClient, Idempotency, RequestCounts};
use idbridge_core::{Error, ErrorKind, Result, Secret};
use reqwest::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::{Mutex, RwLock};

use crate::config::{LoginMode, StrategyConfig};
use crate::error::{is_session_expired, map_error};

/// The response header carrying the session token.
pub const AUTH_TOKEN_HEADER: &str = "X-MSTR-AuthToken";
/// The response header carrying the size of a paged collection.
pub const TOTAL_COUNT_HEADER: &str = "X-MSTR-Total-Count";

/// The name this adapter uses in logs and errors.
const ADAPTER: &str = "strategy";

/// How often a GET whose answer arrived unreadable is sent.
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

    /// `METHOD /path`, for errors and logs (no query, which may carry search text).
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

#[derive(Clone)]
struct Credentials {
    mode: LoginMode,
    username: Option<String>,
    password: Option<Secret>,
    api_token: Option<Secret>,
    application_type: u32,
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
    http: HttpClient,
    base_url: String,
    creds: Credentials,
    token: RwLock<Option<Secret>>,
    login_lock: Mutex<()>,
    page_size: usize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("login_mode", &self.creds.mode)
            .field("username", &self.creds.username)
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
        Ok(Arc::new(Client {
            http,
            base_url: cfg.base_url.clone(),
            creds: Credentials {
                mode: cfg.login_mode,
                username: cfg.username.clone(),
                password: cfg.password.clone(),
                api_token: cfg.api_token.clone(),
                application_type: cfg.application_type,
            },
            token: RwLock::new(None),
            login_lock: Mutex::new(()),
            page_size: cfg.page_size,
        }))
    }

    /// The configured page size.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// Requests sent so far.
    pub fn counts(&self) -> RequestCounts {
        self.http.counts()
    }

    /// The most response-body bytes read.
    pub fn max_body_bytes(&self) -> usize {
        self.http.max_body_bytes()
    }

    /// The base URL (ending in `/MicroStrategyLibrary`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Logs in and keeps the token (the cookie store keeps the session cookies).
    ///
    /// Standard and LDAP logins are form-encoded, as the official SDK sends them; API
    /// token login is JSON with the token as `username`.
    ///
    /// # Errors
    /// [`ErrorKind::Unauthenticated`] when the server rejects the credentials;
    /// [`ErrorKind::Protocol`] when a successful answer carries no token.
    pub async fn login(&self) -> Result<()> {
        let _guard = self.login_lock.lock().await;
        self.login_locked().await
    }

    async fn login_locked(&self) -> Result<()> {
        // A success without a token is an answer mangled on the way (a proxy, a cut
        // connection): logging in again is harmless, so try a few times.
        let mut last = None;
        for _ in 0..READ_ATTEMPTS {
            match self.login_once().await {
                Err(e) if e.kind() == ErrorKind::Protocol => last = Some(e),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| Error::protocol("login failed")))
    }

    async fn login_once(&self) -> Result<()> {
        let url = self.url("/api/auth/login");
        let rb = self.http.request(Method::POST, &url);
        let mode = self.creds.mode.code().to_string();
        let app = self.creds.application_type.to_string();
        let rb = match self.creds.mode {
            LoginMode::Standard | LoginMode::Ldap => {
                let username = self.creds.username.as_deref().unwrap_or_default();
                let password = self
                    .creds
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
                    .creds
                    .api_token
                    .as_ref()
                    .map(Secret::expose)
                    .unwrap_or_default();
                rb.json(&serde_json::json!({
                    "loginMode": self.creds.mode.code(),
                    "applicationType": self.creds.application_type,
                    "username": token,
                }))
            }
        };
        // A repeated login only opens one more session, which the server expires.
        let resp = self
            .http
            .send_with(rb, Some(Idempotency::Idempotent))
            .await?;
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
            let body = http::read_body(resp, self.http.max_body_bytes()).await?;
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
        *self.token.write().await = Some(token);
        tracing::debug!(adapter = ADAPTER, "logged in");
        Ok(())
    }

    /// Logs in again unless another task already replaced `stale` meanwhile.
    async fn relogin(&self, stale: &Secret) -> Result<()> {
        let _guard = self.login_lock.lock().await;
        if self.token.read().await.as_ref() != Some(stale) {
            return Ok(());
        }
        tracing::debug!(adapter = ADAPTER, "session expired; logging in again");
        self.login_locked().await
    }

    async fn current_token(&self) -> Result<Secret> {
        if let Some(t) = self.token.read().await.clone() {
            return Ok(t);
        }
        let _guard = self.login_lock.lock().await;
        if let Some(t) = self.token.read().await.clone() {
            return Ok(t);
        }
        self.login_locked().await?;
        self.token
            .read()
            .await
            .clone()
            .ok_or_else(|| Error::protocol("login stored no token"))
    }

    async fn send_once(&self, call: &Call, token: &Secret) -> Result<Response> {
        let mut rb = self
            .http
            .request(call.method.clone(), self.url(&call.path))
            .header(AUTH_TOKEN_HEADER, token.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        if !call.query.is_empty() {
            rb = rb.query(&call.query);
        }
        if let Some(body) = &call.body {
            rb = rb.json(body);
        }
        self.http.send_with(rb, call.idempotency).await
    }

    /// Sends a call with the token and cookies; on 401 `ERR009` logs in once and repeats.
    ///
    /// Returns the 2xx response; every other status becomes an error through
    /// [`map_error`].
    ///
    /// # Errors
    /// The mapped vendor error, or [`ErrorKind::Unavailable`] when no answer arrived.
    pub async fn send(&self, call: &Call) -> Result<Response> {
        let resp = self.send_raw(call).await?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(self.error_of(call, resp).await)
    }

    /// Like [`Client::send`] but returns every response whose status is 2xx or in
    /// `accept`, for calls that carry results in non-2xx answers (bulk disconnect).
    ///
    /// # Errors
    /// As [`Client::send`].
    pub async fn send_accepting(&self, call: &Call, accept: &[u16]) -> Result<Response> {
        let resp = self.send_raw(call).await?;
        if resp.status().is_success() || accept.contains(&resp.status().as_u16()) {
            return Ok(resp);
        }
        Err(self.error_of(call, resp).await)
    }

    async fn send_raw(&self, call: &Call) -> Result<Response> {
        let token = self.current_token().await?;
        let resp = self.send_once(call, &token).await?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let body = http::read_body(resp, self.http.max_body_bytes()).await?;
        if !is_session_expired(401, &body) {
            return Err(map_error(401, &body, None).with_resource(call.describe()));
        }
        self.relogin(&token).await?;
        let token = self.current_token().await?;
        self.send_once(call, &token).await
    }

    async fn error_of(&self, call: &Call, resp: Response) -> Error {
        let status = resp.status().as_u16();
        let retry_after = http::retry_after(&resp);
        match http::read_body(resp, self.http.max_body_bytes()).await {
            Ok(body) => {
                let err = map_error(status, &body, retry_after);
                tracing::debug!(
                    adapter = ADAPTER,
                    call = %call.describe(),
                    status,
                    kind = %err.kind(),
                    vendor_code = err.vendor_code().unwrap_or(""),
                    "error response"
                );
                err
            }
            Err(e) => e,
        }
    }

    /// Reads a call's 2xx body through `parse` (which also gets `X-MSTR-Total-Count`).
    ///
    /// A GET whose body cannot be read to the end or parsed is sent again, up to
    /// [`READ_ATTEMPTS`] times: a body cut short by a dropped connection or a proxy is
    /// transient, and a read can be repeated safely. Writes are read once.
    async fn read<T>(
        &self,
        call: &Call,
        parse: impl Fn(&[u8], Option<u64>) -> Result<T>,
    ) -> Result<T> {
        let attempts = if call.method == Method::GET {
            READ_ATTEMPTS
        } else {
            1
        };
        let mut last = None;
        for _ in 0..attempts {
            let resp = self.send(call).await?;
            let total = resp
                .headers()
                .get(TOTAL_COUNT_HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let outcome = match http::read_body(resp, self.http.max_body_bytes()).await {
                Ok(body) => parse(&body, total),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(v) => return Ok(v),
                Err(e) if matches!(e.kind(), ErrorKind::Protocol | ErrorKind::Unavailable) => {
                    tracing::debug!(adapter = ADAPTER, call = %call.describe(), error = %e, "unreadable answer");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        let err =
            last.unwrap_or_else(|| Error::protocol(format!("{} was not read", call.describe())));
        // Name the vendor and the request: a message about a JSON path alone does not say
        // which answer it was.
        Err(http::name_request(
            err,
            "Strategy",
            &call.method,
            &call.path,
        ))
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
        let _guard = self.login_lock.lock().await;
        let Some(token) = self.token.write().await.take() else {
            return Ok(());
        };
        let call = Call::new(Method::POST, "/api/auth/logout");
        let resp = self.send_once(&call, &token).await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body = http::read_body(resp, self.http.max_body_bytes()).await?;
        if is_session_expired(status.as_u16(), &body) {
            return Ok(());
        }
        Err(map_error(status.as_u16(), &body, None).with_operation("logout"))
    }
}
