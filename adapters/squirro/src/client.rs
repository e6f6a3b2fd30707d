//! The authenticated HTTP client: the token exchange, the Bearer header, the one refresh
//! and repeat on 401, and error mapping for every non-2xx answer.

use std::sync::RwLock;

use idbridge_core::http::{HttpClient, Idempotency, RequestCounts, read_body, retry_after};
use idbridge_core::{Error, Result, Secret};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::config::{BaseUrls, SquirroConfig};
use crate::error::{Call, map_error};
use crate::wire::TokenResponse;

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// No body (GET, DELETE).
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

/// What the token exchange told us about the connecting account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The connecting user's id.
    pub user_id: Option<String>,
    /// The session the tokens belong to.
    pub session_id: Option<String>,
    /// The connecting user's server role.
    pub role: Option<String>,
}

struct Tokens {
    access: Option<Secret>,
    refresh: Secret,
    /// Bumped at every successful exchange, so that concurrent requests that all saw a
    /// 401 with the same token refresh only once.
    generation: u64,
}

/// A client of one Squirro user API and topic API, authenticated with a refresh token.
pub struct SquirroClient {
    http: HttpClient,
    urls: BaseUrls,
    api_version: String,
    user_data_version: String,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    tenant: RwLock<Option<String>>,
    identity: RwLock<Identity>,
    tokens: Mutex<Tokens>,
}

impl std::fmt::Debug for SquirroClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SquirroClient")
            .field("user_api", &self.urls.user)
            .field("topic_api", &self.urls.topic)
            .field("tenant", &self.tenant_opt())
            .field("client_id", &self.client_id)
            .field("tokens", &idbridge_core::REDACTED)
            .finish()
    }
}

/// Percent-encodes one path segment (ids are URL-safe base64, but nothing from a caller
/// may change the path).
pub fn seg(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parses the token exchange's answer. Unlike other bodies it is never quoted in an
/// error, since it holds tokens: the error names the keys that were there instead.
pub(crate) fn parse_token_response(body: &[u8]) -> Result<TokenResponse> {
    serde_json::from_slice::<TokenResponse>(body).map_err(|_| {
        let found = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => format!(
                "a JSON object with keys {}",
                map.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            Ok(_) => "JSON that is not an object".to_string(),
            Err(_) => "a body that is not JSON".to_string(),
        };
        Error::protocol(format!(
            "the token exchange answered {found}; expected an object with a string `access_token`"
        ))
    })
}

impl SquirroClient {
    /// Builds a client from a validated configuration; nothing is sent yet.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] when the base URLs or the CA file are invalid.
    pub fn new(config: &SquirroConfig) -> Result<Self> {
        let urls = config
            .base_urls()
            .map_err(|(key, msg)| Error::config(format!("key `{key}`: {msg}")))?;
        let http = HttpClient::new(crate::ADAPTER_NAME, &config.http_settings())?;
        Ok(SquirroClient {
            http,
            urls,
            api_version: config.api_version.clone(),
            user_data_version: config.user_data_api_version.clone(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            tenant: RwLock::new(config.tenant.clone()),
            identity: RwLock::new(Identity::default()),
            tokens: Mutex::new(Tokens {
                access: None,
                refresh: config.refresh_token.clone(),
                generation: 0,
            }),
        })
    }

    /// Requests sent so far.
    pub fn counts(&self) -> RequestCounts {
        self.http.counts()
    }

    /// The connecting account, as the last token exchange reported it.
    pub fn identity(&self) -> Identity {
        match self.identity.read() {
            Ok(i) => i.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn tenant_opt(&self) -> Option<String> {
        match self.tenant.read() {
            Ok(t) => t.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The tenant: configured, or learnt from the token exchange.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] when neither gave one.
    pub fn tenant(&self) -> Result<String> {
        self.tenant_opt().ok_or_else(|| {
            Error::config(
                "no tenant: the configuration has no `tenant` and the token exchange reported none",
            )
        })
    }

    /// `{U}/{version}/{tenant}{path}`; `path` starts with `/` and has its ids encoded.
    ///
    /// # Errors
    /// As [`SquirroClient::tenant`].
    pub fn user_url(&self, path: &str) -> Result<String> {
        Ok(format!(
            "{}/{}/{}{path}",
            self.urls.user,
            self.api_version,
            seg(&self.tenant()?)
        ))
    }

    /// `{U}/v0/{tenant}{path}`: the user-create path, which the official client pins to v0.
    ///
    /// # Errors
    /// As [`SquirroClient::tenant`].
    pub fn user_url_v0(&self, path: &str) -> Result<String> {
        Ok(format!(
            "{}/v0/{}{path}",
            self.urls.user,
            seg(&self.tenant()?)
        ))
    }

    /// `{U}/{user_data_api_version}/{tenant}/users/{id}`.
    ///
    /// # Errors
    /// As [`SquirroClient::tenant`].
    pub fn user_data_url(&self, id: &str) -> Result<String> {
        Ok(format!(
            "{}/{}/{}/users/{}",
            self.urls.user,
            self.user_data_version,
            seg(&self.tenant()?),
            seg(id)
        ))
    }

    /// Whether user-data updates go as JSON (`v1`) rather than as a form.
    pub fn user_data_is_json(&self) -> bool {
        self.user_data_version == "v1"
    }

    /// `{T}/{version}/{tenant}{path}`.
    ///
    /// # Errors
    /// As [`SquirroClient::tenant`].
    pub fn topic_url(&self, path: &str) -> Result<String> {
        Ok(format!(
            "{}/{}/{}{path}",
            self.urls.topic,
            self.api_version,
            seg(&self.tenant()?)
        ))
    }

    /// The client credentials, for the calls the vendor sheet says take them.
    pub fn client_credentials(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(id) = &self.client_id {
            out.push(("client_id".to_string(), id.clone()));
            if let Some(secret) = &self.client_secret {
                out.push(("client_secret".to_string(), secret.expose().to_string()));
            }
        }
        out
    }

    /// Exchanges the refresh token for an access token now (done lazily otherwise).
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Unauthenticated`] when the server refuses the refresh
    /// token; [`idbridge_core::ErrorKind::Unavailable`] when it cannot be reached.
    pub async fn login(&self) -> Result<()> {
        let mut tokens = self.tokens.lock().await;
        self.exchange(&mut tokens).await
    }

    /// Sends one token exchange and stores what it returns: the access token, the refresh
    /// token the server hands back (which replaces ours), the tenant when we had none, and
    /// the connecting account's identity.
    async fn exchange(&self, tokens: &mut Tokens) -> Result<()> {
        let mut form: Vec<(String, String)> = vec![
            ("grant_type".into(), "refresh_token".into()),
            ("refresh_token".into(), tokens.refresh.expose().to_string()),
        ];
        form.extend(self.client_credentials());
        if let Some(t) = self.tenant_opt() {
            form.push(("tenant".into(), t));
        }
        let url = format!("{}/oauth2/token", self.urls.user);
        let rb = self
            .http
            .request(Method::POST, &url)
            .header(ACCEPT, "application/json")
            .form(&form);
        // Repeating an exchange only mints another access token.
        let resp = self
            .http
            .send_with(rb, Some(Idempotency::Idempotent))
            .await?;
        let status = resp.status().as_u16();
        let wait = retry_after(&resp);
        let body = read_body(resp, self.http.max_body_bytes()).await?;
        if status == 404 {
            // Squirro answers 404 for a refresh token it does not know, and so does any
            // server without Squirro's user API at this path: name both causes and the URL.
            let err = map_error(Call::TokenExchange, status, wait, &body);
            return Err(Error::new(
                err.kind(),
                format!(
                    "404 at {}: the refresh token is unknown, or cluster_url is not the Squirro cluster's address (give the address the web UI is served from, without /api)",
                    idbridge_core::http::display_url(&url)
                ),
            )
            .with_vendor(err.vendor_code(), err.vendor_message())
            .with_http_status(404)
            .with_operation("token exchange"));
        }
        if !(200..300).contains(&status) {
            return Err(map_error(Call::TokenExchange, status, wait, &body)
                .with_operation("token exchange"));
        }
        let parsed = parse_token_response(&body)?;
        if parsed.access_token.is_empty() {
            return Err(Error::protocol(
                "the token exchange returned an empty access token",
            ));
        }
        tokens.access = Some(parsed.access_token);
        if let Some(refresh) = parsed.refresh_token.filter(|r| !r.is_empty()) {
            tokens.refresh = refresh;
        }
        tokens.generation += 1;
        if let Some(t) = parsed.tenant.filter(|t| !t.is_empty()) {
            let mut tenant = match self.tenant.write() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            if tenant.is_none() {
                *tenant = Some(t);
            }
        }
        let mut identity = match self.identity.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if parsed.user_id.is_some() {
            identity.user_id = parsed.user_id;
        }
        if parsed.session_id.is_some() {
            identity.session_id = parsed.session_id;
        }
        if parsed.role.is_some() {
            identity.role = parsed.role;
        }
        tracing::debug!(
            adapter = crate::ADAPTER_NAME,
            generation = tokens.generation,
            "access token obtained"
        );
        Ok(())
    }

    /// The current access token and its generation, exchanging the refresh token first
    /// when there is none yet.
    async fn access_token(&self) -> Result<(Secret, u64)> {
        let mut tokens = self.tokens.lock().await;
        if tokens.access.is_none() {
            self.exchange(&mut tokens).await?;
        }
        match &tokens.access {
            Some(a) => Ok((a.clone(), tokens.generation)),
            None => Err(Error::protocol("the token exchange left no access token")),
        }
    }

    /// Refreshes after a 401 seen with the token of generation `seen`, unless another
    /// request already did.
    async fn refresh(&self, seen: u64) -> Result<()> {
        let mut tokens = self.tokens.lock().await;
        if tokens.generation != seen && tokens.access.is_some() {
            return Ok(());
        }
        self.exchange(&mut tokens).await
    }

    fn build(
        &self,
        method: &Method,
        url: &str,
        query: &[(String, String)],
        body: &Body,
        token: &Secret,
    ) -> Result<reqwest::RequestBuilder> {
        let bearer =
            HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                Error::protocol("the access token holds characters not allowed in a header")
            })?;
        let mut rb = self
            .http
            .request(method.clone(), url)
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, bearer);
        if !query.is_empty() {
            rb = rb.query(query);
        }
        rb = match body {
            Body::None => rb,
            Body::Form(fields) => rb.form(fields),
            Body::Json(v) => rb
                .header(CONTENT_TYPE, "application/json")
                .body(v.to_string()),
        };
        Ok(rb)
    }

    /// Sends an authenticated request and returns the body of a 2xx answer.
    ///
    /// A 401 triggers one token exchange and one repetition of the request; a second 401
    /// is [`idbridge_core::ErrorKind::Unauthenticated`]. 403 never refreshes. Every other
    /// non-2xx goes through [`map_error`].
    ///
    /// # Errors
    /// The mapped error of the final response, or the token exchange's error.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        query: &[(String, String)],
        body: Body,
        idempotency: Option<Idempotency>,
    ) -> Result<Vec<u8>> {
        let (token, generation) = self.access_token().await?;
        let rb = self.build(&method, url, query, &body, &token)?;
        let mut resp = self.http.send_with(rb, idempotency).await?;
        if resp.status().as_u16() == 401 {
            tracing::debug!(adapter = crate::ADAPTER_NAME, %method, "401: refreshing the access token once");
            drop(resp);
            self.refresh(generation).await?;
            let (token, _) = self.access_token().await?;
            let rb = self.build(&method, url, query, &body, &token)?;
            resp = self.http.send_with(rb, idempotency).await?;
        }
        let status = resp.status().as_u16();
        let wait = retry_after(&resp);
        let bytes = read_body(resp, self.http.max_body_bytes()).await?;
        if (200..300).contains(&status) {
            Ok(bytes)
        } else {
            Err(map_error(Call::Api, status, wait, &bytes))
        }
    }

    /// GET and parse the JSON answer.
    ///
    /// # Errors
    /// As [`SquirroClient::send`], or [`idbridge_core::ErrorKind::Protocol`] when the body
    /// does not match `T`.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        query: &[(String, String)],
        what: &str,
    ) -> Result<T> {
        let body = self.send(Method::GET, url, query, Body::None, None).await?;
        idbridge_core::http::parse_json(&body, what)
            .map_err(|e| idbridge_core::http::name_request(e, "Squirro", &Method::GET, url))
    }

    /// Sends a write and parses its JSON answer.
    ///
    /// # Errors
    /// As [`SquirroClient::get_json`].
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Body,
        idempotency: Option<Idempotency>,
        what: &str,
    ) -> Result<T> {
        let bytes = self
            .send(method.clone(), url, &[], body, idempotency)
            .await?;
        idbridge_core::http::parse_json(&bytes, what)
            .map_err(|e| idbridge_core::http::name_request(e, "Squirro", &method, url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_parse_errors_never_quote_the_body() {
        let err = parse_token_response(br#"{"refresh_token": "canary-rt", "access": 1}"#)
            .err()
            .expect("no access_token");
        assert!(!err.message().contains("canary"), "{}", err.message());
        assert!(err.message().contains("refresh_token"), "{}", err.message());
        let err = parse_token_response(b"<html>canary</html>")
            .err()
            .expect("not JSON");
        assert!(!err.message().contains("canary"), "{}", err.message());
        let ok =
            parse_token_response(br#"{"access_token": "a", "refresh_token": "r"}"#).expect("valid");
        assert_eq!(ok.access_token.expose(), "a");
    }

    #[test]
    fn seg_keeps_ids_and_encodes_the_rest() {
        assert_eq!(seg("H5Qv-WhgSBGW0WL8xolSCQ"), "H5Qv-WhgSBGW0WL8xolSCQ");
        assert_eq!(seg("../x y"), "%2E%2E%2Fx%20y");
    }
}
