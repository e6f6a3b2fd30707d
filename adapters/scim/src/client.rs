//! The SCIM hooks into the shared request pipeline ([`idbridge_core::http::Pipeline`]):
//! bearer, basic or OAuth 2.0 client-credentials authentication, the SCIM media type,
//! `If-Match` on versioned writes, and error mapping for every non-2xx answer.

use std::time::Duration;

use base64::Engine as _;
use idbridge_core::http::{
    Answer, Authenticator, HttpClient, Idempotency, Pipeline, Request, RequestCounts, parse_json,
    retry_after,
};
use idbridge_core::{Error, Result, Secret, async_trait};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, IF_MATCH};
use reqwest::{Method, RequestBuilder};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::{AuthMethod, ScimConfig};
use crate::error::map_error;
use crate::wire::MEDIA_TYPE;

tokio::task_local! {
    /// The entity tag the request being sent must match (RFC 7644 §3.14); the pipeline's
    /// requests carry no headers of their own, so it travels with the task.
    static IF_MATCH_TAG: Option<String>;
}

/// The platform's name in errors.
pub const PLATFORM: &str = "SCIM service provider";

/// The OAuth 2.0 token answer (RFC 6749 §5.1); only the token is read.
#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(deserialize_with = "Secret::deserialize_derived")]
    access_token: Secret,
}

/// How requests are authenticated.
struct ScimAuth {
    method: AuthMethod,
}

#[async_trait]
impl Authenticator for ScimAuth {
    fn vendor(&self) -> &str {
        PLATFORM
    }

    async fn login(&self, http: &HttpClient) -> Result<Secret> {
        match &self.method {
            AuthMethod::Bearer(token) => Ok(Secret::new(format!("Bearer {}", token.expose()))),
            AuthMethod::Basic { username, password } => {
                let pair = format!("{username}:{}", password.expose());
                Ok(Secret::new(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )))
            }
            AuthMethod::ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
            } => client_credentials(http, token_url, client_id, client_secret, scope.as_deref())
                .await
                .map(|t| Secret::new(format!("Bearer {}", t.expose()))),
        }
    }

    fn authorize(&self, request: RequestBuilder, credential: &Secret) -> Result<RequestBuilder> {
        let (client, built) = request.build_split();
        let mut built = built.map_err(|e| Error::protocol(format!("request not built: {e}")))?;
        let headers = built.headers_mut();
        // RFC 7644 §3.1: bodies are application/scim+json; some servers refuse any other.
        if headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
        }
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/scim+json, application/json"),
        );
        let mut auth = HeaderValue::from_str(credential.expose()).map_err(|_| {
            Error::protocol("the credential holds characters not allowed in a header")
        })?;
        auth.set_sensitive(true);
        headers.insert(AUTHORIZATION, auth);
        if let Ok(Some(tag)) = IF_MATCH_TAG.try_with(Clone::clone) {
            let value = HeaderValue::from_str(&tag).map_err(|_| {
                Error::protocol("the server's entity tag holds characters not allowed in a header")
            })?;
            headers.insert(IF_MATCH, value);
        }
        Ok(RequestBuilder::from_parts(client, built))
    }

    fn expired(&self, _body: &[u8]) -> bool {
        // Only a token from the token endpoint can be renewed; a static one cannot.
        matches!(self.method, AuthMethod::ClientCredentials { .. })
    }

    fn map_error(&self, status: u16, body: &[u8], retry_after: Option<Duration>) -> Error {
        map_error(status, body, retry_after)
    }
}

/// The client credentials grant (RFC 6749 §4.4), the client authenticated with HTTP basic
/// (§2.3.1). The answer is never quoted in an error: it may hold a token.
async fn client_credentials(
    http: &HttpClient,
    token_url: &str,
    client_id: &str,
    client_secret: &Secret,
    scope: Option<&str>,
) -> Result<Secret> {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let pair = format!(
        "{}:{}",
        form_encode(client_id),
        form_encode(client_secret.expose())
    );
    let basic = Secret::new(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    ));
    let mut auth = HeaderValue::from_str(basic.expose())
        .map_err(|_| Error::config("the client id or secret cannot go in a header"))?;
    auth.set_sensitive(true);
    let rb = http
        .request(Method::POST, token_url)
        .header(ACCEPT, "application/json")
        .header(AUTHORIZATION, auth)
        .form(&form);
    // Asking twice only mints another token.
    let resp = http.send_with(rb, Some(Idempotency::Idempotent)).await?;
    let status = resp.status().as_u16();
    let wait = retry_after(&resp);
    let body = http.read_body(resp).await?;
    if !(200..300).contains(&status) {
        let err = map_error(status, b"", wait);
        let kind = if matches!(status, 400 | 401) {
            idbridge_core::ErrorKind::Unauthenticated
        } else {
            err.kind()
        };
        return Err(Error::new(
            kind,
            format!(
                "the token endpoint {} answered {status} to the client credentials grant",
                idbridge_core::http::display_url(token_url)
            ),
        )
        .with_http_status(status)
        .with_retry_after(wait)
        .with_operation("token request"));
    }
    match serde_json::from_slice::<TokenAnswer>(&body) {
        Ok(t) if !t.access_token.is_empty() => Ok(t.access_token),
        _ => Err(Error::protocol(
            "the token endpoint's answer holds no string `access_token`",
        )),
    }
}

/// `application/x-www-form-urlencoded` encoding of a client id or secret before basic
/// authentication (RFC 6749 §2.3.1).
fn form_encode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

/// Percent-encodes one path segment, so that no id from a caller changes the path.
pub fn seg(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'~' | b'.') && raw != "." && raw != ".."
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A client of one SCIM service provider.
pub struct ScimClient {
    pipeline: Pipeline<ScimAuth>,
    base: String,
}

impl std::fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClient")
            .field("base_url", &self.base)
            .field("credential", &idbridge_core::REDACTED)
            .finish()
    }
}

/// A write's answer: its status, the resource when the server returned one, and the
/// entity tag it reported.
#[derive(Debug, Clone)]
pub struct Written {
    /// The status.
    pub status: u16,
    /// The body, when it is JSON (a 204 has none).
    pub body: Option<Value>,
}

impl ScimClient {
    /// Builds a client from a validated configuration; nothing is sent yet.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] for the authentication or the CA file.
    pub fn new(config: &ScimConfig) -> Result<Self> {
        let method = config
            .auth_method()
            .map_err(|(key, msg)| Error::config(format!("key `{key}`: {msg}")))?;
        let http = HttpClient::new(crate::ADAPTER_NAME, &config.http_settings())?;
        Ok(ScimClient {
            pipeline: Pipeline::new(http, ScimAuth { method }),
            base: config.base_url.clone(),
        })
    }

    /// Requests sent so far.
    pub fn counts(&self) -> RequestCounts {
        self.pipeline.counts()
    }

    /// `{base_url}{path}`; `path` starts with `/` and has its ids encoded.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Obtains the credential now (otherwise done before the first request).
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Unauthenticated`] when the token endpoint refuses.
    pub async fn login(&self) -> Result<()> {
        self.pipeline.login().await
    }

    /// GETs `path` and parses its JSON answer into `T`.
    ///
    /// # Errors
    /// The mapped error answer; [`idbridge_core::ErrorKind::Protocol`] naming the JSON
    /// path when the answer does not read as `T`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<T> {
        let request = Request::get(self.url(path)).queries(query);
        self.pipeline.json(&request, what).await
    }

    /// Sends a write with a JSON body (or none), with `If-Match: tag` when given, and
    /// returns what came back.
    ///
    /// # Errors
    /// The mapped error answer (a 412 is [`idbridge_core::ErrorKind::Conflict`]);
    /// [`idbridge_core::ErrorKind::Protocol`] when a body came back that is not JSON.
    pub async fn write(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        if_match: Option<String>,
        idempotent: bool,
    ) -> Result<Written> {
        let mut request = Request::new(method, self.url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        if idempotent {
            request = request.idempotent();
        }
        let answer: Answer = IF_MATCH_TAG
            .scope(if_match, self.pipeline.send(&request, &[]))
            .await?;
        let body = if answer.body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(
                parse_json::<Value>(&answer.body, "the answer").map_err(|e| {
                    idbridge_core::http::name_request(e, PLATFORM, request.method(), request.url())
                })?,
            )
        };
        Ok(Written {
            status: answer.status.as_u16(),
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded() {
        assert_eq!(seg("2819c223-7f76"), "2819c223-7f76");
        assert_eq!(seg("../x y"), "..%2Fx%20y");
        assert_eq!(seg(".."), "%2E%2E");
    }
}
