//! The authenticated HTTP client of the DSS public API.
//!
//! Every request carries the API key as the HTTP Basic user with an empty password, exactly
//! as the official Python client sends it (`Authorization: Basic base64("<key>:")`). API
//! keys do not expire, so there is no login or refresh. Path segments (logins, group names,
//! project keys) are percent-encoded; query booleans are sent as `true`/`false`. Every
//! non-2xx answer goes through [`crate::error::map_error`].

use idbridge_core::http::{HttpClient, Idempotency, RequestCounts, read_body, retry_after};
use idbridge_core::{Error, Result, Secret};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::config::DataikuConfig;
use crate::error::map_error;

/// How many times a GET whose 2xx body is not the expected JSON is sent in all.
const UNREADABLE_READ_ATTEMPTS: u32 = 3;

/// One DSS API client. Cheap to clone.
#[derive(Clone)]
pub struct DssClient {
    http: HttpClient,
    root: Url,
    api_key: Secret,
}

impl std::fmt::Debug for DssClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DssClient")
            .field("root", &self.root.as_str())
            .field("api_key", &self.api_key)
            .finish()
    }
}

/// A path under the API root, as segments; `slash` adds the trailing slash DSS's list and
/// create endpoints are written with.
#[derive(Debug, Clone, Copy)]
pub struct ApiPath<'a> {
    segments: &'a [&'a str],
    slash: bool,
}

impl<'a> ApiPath<'a> {
    /// `/a/b/c` from `["a", "b", "c"]`.
    pub fn new(segments: &'a [&'a str]) -> Self {
        ApiPath {
            segments,
            slash: false,
        }
    }

    /// `/a/b/` from `["a", "b"]`.
    pub fn dir(segments: &'a [&'a str]) -> Self {
        ApiPath {
            segments,
            slash: true,
        }
    }
}

impl DssClient {
    /// A client for `cfg`.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] for a CA file that cannot be read or a base
    /// URL that cannot hold a path.
    pub fn new(cfg: &DataikuConfig) -> Result<Self> {
        let http = HttpClient::new("dataiku", &cfg.http_settings())?;
        let root = Url::parse(&format!("{}{}", cfg.base_url, cfg.api_path))
            .map_err(|e| Error::config(format!("base_url + api_path is not a URL: {e}")))?;
        if root.cannot_be_a_base() {
            return Err(Error::config("base_url cannot carry a path"));
        }
        Ok(DssClient {
            http,
            root,
            api_key: cfg.api_key.clone(),
        })
    }

    /// The requests sent so far.
    pub fn counts(&self) -> RequestCounts {
        self.http.counts()
    }

    /// The full URL of `path`, each segment percent-encoded.
    pub fn url(&self, path: ApiPath<'_>) -> Url {
        let mut url = self.root.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.pop_if_empty();
            segs.extend(path.segments);
            if path.slash {
                segs.push("");
            }
        }
        url
    }

    /// Sends one request and returns the body of a 2xx answer.
    ///
    /// # Errors
    /// The mapped DSS error for any other status; [`idbridge_core::ErrorKind::Unavailable`]
    /// when no answer arrives.
    pub async fn call(
        &self,
        method: Method,
        path: ApiPath<'_>,
        query: &[(&str, &str)],
        body: Option<&Value>,
        idempotency: Option<Idempotency>,
    ) -> Result<Vec<u8>> {
        let url = self.url(path);
        let mut rb = self
            .http
            .request(method, url)
            .basic_auth(self.api_key.expose(), Some(""));
        if !query.is_empty() {
            rb = rb.query(query);
        }
        if let Some(body) = body {
            let bytes = serde_json::to_vec(body)
                .map_err(|e| Error::invalid_input(format!("cannot encode the request: {e}")))?;
            rb = rb
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(bytes);
        }
        let resp = self.http.send_with(rb, idempotency).await?;
        let status = resp.status();
        let after = retry_after(&resp);
        let bytes = read_body(resp, self.http.max_body_bytes()).await?;
        if status.is_success() {
            Ok(bytes)
        } else {
            Err(map_error(status.as_u16(), &bytes, after))
        }
    }

    /// GET and decode JSON.
    ///
    /// # Errors
    /// As [`DssClient::call`]; [`idbridge_core::ErrorKind::Protocol`] for a body that is not
    /// the expected JSON.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: ApiPath<'_>,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<T> {
        let mut attempt = 1;
        loop {
            let body = self.call(Method::GET, path, query, None, None).await?;
            match idbridge_core::http::parse_json(&body, what) {
                Ok(v) => return Ok(v),
                // A read is safe to repeat: a truncated or mangled answer (a proxy, a
                // dropped chunk) is read again before giving up.
                Err(e) if attempt < UNREADABLE_READ_ATTEMPTS => {
                    tracing::debug!(error = %e, attempt, "re-reading an unreadable answer");
                    attempt += 1;
                }
                Err(e) => {
                    let url = self.url(path);
                    return Err(idbridge_core::http::name_request(
                        e,
                        "DSS",
                        &Method::GET,
                        url.as_str(),
                    ));
                }
            }
        }
    }

    /// A whole-document `PUT` whose answer DSS sends as JSON (user and group settings; the
    /// official client parses it). An answer that is not JSON means the write cannot be
    /// trusted, so the same document is sent again (a whole-document replace is idempotent).
    ///
    /// # Errors
    /// As [`DssClient::call`]; [`idbridge_core::ErrorKind::Protocol`] when the answer is
    /// still not JSON after the last attempt.
    pub async fn put_document(&self, path: ApiPath<'_>, doc: &Value, what: &str) -> Result<()> {
        let mut attempt = 1;
        loop {
            let body = self.call(Method::PUT, path, &[], Some(doc), None).await?;
            match idbridge_core::http::parse_json::<Value>(&body, what) {
                Ok(_) => return Ok(()),
                Err(e) if attempt < UNREADABLE_READ_ATTEMPTS => {
                    tracing::debug!(error = %e, attempt, "re-sending a write with an unreadable answer");
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A write whose answer is ignored (DSS answers most writes with a short message).
    ///
    /// # Errors
    /// As [`DssClient::call`].
    pub async fn write(
        &self,
        method: Method,
        path: ApiPath<'_>,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<()> {
        self.call(method, path, query, body, None).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_core::AdapterConfig;
    use serde_json::json;

    fn client(path: &str) -> DssClient {
        let cfg = DataikuConfig::from_adapter_config(&AdapterConfig::new(
            "dss",
            json!({"base_url": "http://h:11200/", "api_key": "k", "api_path": path}),
        ))
        .expect("valid");
        DssClient::new(&cfg).expect("client")
    }

    #[test]
    fn urls_encode_segments_and_keep_trailing_slashes() {
        let c = client("/dip/publicapi");
        assert_eq!(
            c.url(ApiPath::dir(&["admin", "users"])).as_str(),
            "http://h:11200/dip/publicapi/admin/users/"
        );
        assert_eq!(
            c.url(ApiPath::new(&["admin", "users", "a b/c?d#e@f.g+h"]))
                .as_str(),
            "http://h:11200/dip/publicapi/admin/users/a%20b%2Fc%3Fd%23e@f.g+h"
        );
        let d = client("/public/api");
        assert_eq!(
            d.url(ApiPath::new(&["projects", "P", "permissions"]))
                .as_str(),
            "http://h:11200/public/api/projects/P/permissions"
        );
    }

    #[test]
    fn debug_redacts_the_key() {
        let c = client("/dip/publicapi");
        assert!(!format!("{c:?}").contains("\"k\""));
        assert!(format!("{c:?}").contains("redacted"));
    }
}
