//! Squirro's hooks into the shared request pipeline
//! ([`idbridge_core::http::Pipeline`]): the token exchange, the Bearer header, and error
//! mapping for every non-2xx answer; and the URLs of the user and topic APIs.

use std::sync::RwLock;
use std::time::Duration;

use idbridge_core::http::{
    Authenticator, HttpClient, Idempotency, Pipeline, Request, RequestCounts, retry_after,
};
use idbridge_core::{Error, Result, Secret, async_trait};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::config::{BaseUrls, SquirroConfig};
use crate::error::{Call, map_error};
use crate::wire::TokenResponse;

/// A request body.
pub use idbridge_core::http::Body;

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

/// Squirro's authentication: a refresh token exchanged for an access token, sent as a
/// Bearer header; any 401 means the access token expired.
struct TokenExchange {
    user_api: String,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    tenant: RwLock<Option<String>>,
    identity: RwLock<Identity>,
    /// Replaced by the one each exchange hands back.
    refresh: Mutex<Secret>,
}

/// A client of one Squirro user API and topic API, authenticated with a refresh token.
pub struct SquirroClient {
    pipeline: Pipeline<TokenExchange>,
    urls: BaseUrls,
    api_version: String,
    user_data_version: String,
}

impl std::fmt::Debug for SquirroClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SquirroClient")
            .field("user_api", &self.urls.user)
            .field("topic_api", &self.urls.topic)
            .field("tenant", &self.pipeline.auth().tenant_opt())
            .field("client_id", &self.pipeline.auth().client_id)
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

impl TokenExchange {
    fn tenant_opt(&self) -> Option<String> {
        match self.tenant.read() {
            Ok(t) => t.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn client_credentials(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(id) = &self.client_id {
            out.push(("client_id".to_string(), id.clone()));
            if let Some(secret) = &self.client_secret {
                out.push(("client_secret".to_string(), secret.expose().to_string()));
            }
        }
        out
    }

    /// Sends one token exchange and stores what it returns: the access token, the refresh
    /// token the server hands back (which replaces ours), the tenant when we had none, and
    /// the connecting account's identity.
    async fn exchange(&self, http: &HttpClient) -> Result<Secret> {
        let mut refresh = self.refresh.lock().await;
        let mut form: Vec<(String, String)> = vec![
            ("grant_type".into(), "refresh_token".into()),
            ("refresh_token".into(), refresh.expose().to_string()),
        ];
        form.extend(self.client_credentials());
        if let Some(t) = self.tenant_opt() {
            form.push(("tenant".into(), t));
        }
        let url = format!("{}/oauth2/token", self.user_api);
        let rb = http
            .request(Method::POST, &url)
            .header(ACCEPT, "application/json")
            .form(&form);
        // Repeating an exchange only mints another access token.
        let resp = http.send_with(rb, Some(Idempotency::Idempotent)).await?;
        let status = resp.status().as_u16();
        let wait = retry_after(&resp);
        let body = http.read_body(resp).await?;
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
        if let Some(next) = parsed.refresh_token.filter(|r| !r.is_empty()) {
            *refresh = next;
        }
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
        tracing::debug!(adapter = crate::ADAPTER_NAME, "access token obtained");
        Ok(parsed.access_token)
    }
}

#[async_trait]
impl Authenticator for TokenExchange {
    fn vendor(&self) -> &str {
        "Squirro"
    }

    async fn login(&self, http: &HttpClient) -> Result<Secret> {
        self.exchange(http).await
    }

    fn authorize(&self, request: RequestBuilder, token: &Secret) -> Result<RequestBuilder> {
        let bearer =
            HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                Error::protocol("the access token holds characters not allowed in a header")
            })?;
        Ok(request
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, bearer))
    }

    fn map_error(&self, status: u16, body: &[u8], retry_after: Option<Duration>) -> Error {
        map_error(Call::Api, status, retry_after, body)
    }
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
        let auth = TokenExchange {
            user_api: urls.user.clone(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            tenant: RwLock::new(config.tenant.clone()),
            identity: RwLock::new(Identity::default()),
            refresh: Mutex::new(config.refresh_token.clone()),
        };
        Ok(SquirroClient {
            pipeline: Pipeline::new(http, auth),
            urls,
            api_version: config.api_version.clone(),
            user_data_version: config.user_data_api_version.clone(),
        })
    }

    /// Requests sent so far.
    pub fn counts(&self) -> RequestCounts {
        self.pipeline.counts()
    }

    /// The connecting account, as the last token exchange reported it.
    pub fn identity(&self) -> Identity {
        match self.pipeline.auth().identity.read() {
            Ok(i) => i.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The tenant: configured, or learnt from the token exchange.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] when neither gave one.
    pub fn tenant(&self) -> Result<String> {
        self.pipeline.auth().tenant_opt().ok_or_else(|| {
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
        self.pipeline.auth().client_credentials()
    }

    /// Exchanges the refresh token for an access token now (done lazily otherwise).
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Unauthenticated`] when the server refuses the refresh
    /// token; [`idbridge_core::ErrorKind::Unavailable`] when it cannot be reached.
    pub async fn login(&self) -> Result<()> {
        self.pipeline.login().await
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
        let request = Request::new(method, url)
            .queries(query)
            .body(body)
            .idempotency(idempotency);
        self.pipeline.bytes(&request).await
    }

    /// GET and parse the JSON answer; an unreadable answer is read again (see
    /// [`Pipeline::read`]).
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
        let request = Request::get(url).queries(query);
        self.pipeline.json(&request, what).await
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
        let request = Request::new(method, url)
            .body(body)
            .idempotency(idempotency);
        self.pipeline.json(&request, what).await
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
