//! The DSS public API's hooks into the shared request pipeline
//! ([`idbridge_core::http::Pipeline`]), and its URLs.
//!
//! Every request carries the API key as the HTTP Basic user with an empty password, exactly
//! as the official Python client sends it (`Authorization: Basic base64("<key>:")`). API
//! keys do not expire, so there is no login or refresh. Path segments (logins, group names,
//! project keys) are percent-encoded; query booleans are sent as `true`/`false`. Every
//! non-2xx answer goes through [`crate::error::map_error`].

use std::sync::Arc;
use std::time::Duration;

use idbridge_core::http::{
    Authenticator, HttpClient, Idempotency, Pipeline, Request, RequestCounts,
};
use idbridge_core::{Error, Result, Secret, async_trait};
use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::config::DataikuConfig;
use crate::error::map_error;

/// DSS's authentication: the API key as the Basic user, which never expires.
struct ApiKey(Secret);

#[async_trait]
impl Authenticator for ApiKey {
    fn vendor(&self) -> &str {
        "DSS"
    }

    async fn login(&self, _http: &HttpClient) -> Result<Secret> {
        Ok(self.0.clone())
    }

    fn authorize(&self, request: RequestBuilder, key: &Secret) -> Result<RequestBuilder> {
        Ok(request.basic_auth(key.expose(), Some("")))
    }

    fn expired(&self, _body: &[u8]) -> bool {
        // A key does not expire: a 401 is the answer.
        false
    }

    fn map_error(&self, status: u16, body: &[u8], retry_after: Option<Duration>) -> Error {
        map_error(status, body, retry_after)
    }
}

/// One DSS API client. Cheap to clone.
#[derive(Clone)]
pub struct DssClient {
    pipeline: Arc<Pipeline<ApiKey>>,
    root: Url,
}

impl std::fmt::Debug for DssClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DssClient")
            .field("root", &self.root.as_str())
            .field("api_key", &self.pipeline.auth().0)
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
            pipeline: Arc::new(Pipeline::new(http, ApiKey(cfg.api_key.clone()))),
            root,
        })
    }

    /// The requests sent so far.
    pub fn counts(&self) -> RequestCounts {
        self.pipeline.counts()
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

    fn request(
        &self,
        method: Method,
        path: ApiPath<'_>,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Request {
        let request = Request::new(method, self.url(path).as_str()).queries(query);
        match body {
            Some(body) => request.json(body.clone()),
            None => request,
        }
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
        let request = self
            .request(method, path, query, body)
            .idempotency(idempotency);
        self.pipeline.bytes(&request).await
    }

    /// GET and decode JSON; an answer that is not the expected JSON is read again (see
    /// [`Pipeline::read`]).
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
        let request = self.request(Method::GET, path, query, None);
        self.pipeline.json(&request, what).await
    }

    /// A whole-document `PUT` whose answer DSS sends as JSON (user and group settings; the
    /// official client parses it). An answer that is not JSON means the write cannot be
    /// trusted, so the same document is sent again (a whole-document replace is idempotent).
    ///
    /// # Errors
    /// As [`DssClient::call`]; [`idbridge_core::ErrorKind::Protocol`] when the answer is
    /// still not JSON after the last attempt.
    pub async fn put_document(&self, path: ApiPath<'_>, doc: &Value, what: &str) -> Result<()> {
        let request = self
            .request(Method::PUT, path, &[], Some(doc))
            .resend_unreadable();
        self.pipeline.json::<Value>(&request, what).await.map(drop)
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
