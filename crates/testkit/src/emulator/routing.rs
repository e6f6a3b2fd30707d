//! The one routing style of the emulators: an axum [`Router`] built with [`Routes`] (each
//! path under every API root the vendor serves, optionally also with a trailing slash,
//! and the vendor's own error for an unknown route), handlers of one shape
//!
//! ```ignore
//! async fn get_user(State(s): St, Auth(caller): Auth<Caller>, Path(id): Path<String>,
//!     query: Query, body: Bytes) -> ApiResult<Response>
//! ```
//!
//! where [`Auth`] reads who the request acts as ([`Authenticate`], written once per
//! vendor) and fails with the vendor's error, and [`Query`] gives the query pairs in order.
//! Latency, faults and the request log are [`super::serve`]'s, around the router.

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::MethodRouter;

use super::error::{ApiError, ErrorBody};

/// Builds an emulator's router: every path is served under each root, and (when asked)
/// both with and without a trailing slash, as servers that ignore it do.
#[derive(Debug)]
pub struct Routes<S> {
    router: Router<Arc<S>>,
    roots: &'static [&'static str],
    trailing_slash: bool,
}

impl<S: Send + Sync + 'static> Routes<S> {
    /// An empty table serving under `roots` (`&[""]` for paths given whole); with
    /// `trailing_slash`, each path also answers with (or without) a trailing `/`.
    pub fn new(roots: &'static [&'static str], trailing_slash: bool) -> Self {
        Routes {
            router: Router::new(),
            roots,
            trailing_slash,
        }
    }

    /// Serves `path` (relative to each root, axum syntax: `/users/{id}`) with `method`.
    #[must_use]
    pub fn at(mut self, path: &str, method: MethodRouter<Arc<S>>) -> Self {
        for root in self.roots {
            let full = format!("{root}{path}");
            if self.trailing_slash {
                let other = match full.strip_suffix('/') {
                    Some(bare) => bare.to_string(),
                    None => format!("{full}/"),
                };
                self.router = self.router.route(&other, method.clone());
            }
            self.router = self.router.route(&full, method.clone());
        }
        self
    }

    /// The router over `state`: an unknown path answers `not_found`, and a known path
    /// with another method `method_not_allowed` (axum's empty 405 when `None`).
    pub fn finish<D: ErrorBody>(
        self,
        state: Arc<S>,
        not_found: ApiError<D>,
        method_not_allowed: Option<ApiError<D>>,
    ) -> Router {
        let mut router = self
            .router
            .fallback(move || std::future::ready(not_found.clone().into_response()));
        if let Some(e) = method_not_allowed {
            router = router
                .method_not_allowed_fallback(move || std::future::ready(e.clone().into_response()));
        }
        router.with_state(state)
    }
}

impl<S: Send + Sync + 'static> Routes<S> {
    /// The router over `state`, `unknown` answering every unknown path and every known
    /// path with another method (for a vendor whose answer depends on the request, such
    /// as one that authenticates first).
    pub fn finish_with<H, T>(self, state: Arc<S>, unknown: H) -> Router
    where
        H: Handler<T, Arc<S>>,
        T: 'static,
    {
        self.router
            .fallback(unknown.clone())
            .method_not_allowed_fallback(unknown)
            .with_state(state)
    }
}

/// Who a request acts as, read from its head (credentials, session, path segments such
/// as a tenant) by a vendor's emulator.
pub trait Authenticate<S>: Sized {
    /// The vendor's error.
    type Error: IntoResponse;

    /// Reads the caller from the request head.
    ///
    /// # Errors
    /// The vendor's answer to a request it does not accept (401, 403, 404 ...).
    fn authenticate(state: &S, parts: &Parts) -> Result<Self, Self::Error>;
}

/// The extractor of an authenticated caller: `Auth(caller): Auth<Caller>`, placed before
/// the body so that a request without valid credentials is refused before it is read.
#[derive(Debug, Clone)]
pub struct Auth<T>(pub T);

impl<S, T> FromRequestParts<Arc<S>> for Auth<T>
where
    S: Send + Sync + 'static,
    T: Authenticate<S>,
{
    type Rejection = T::Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<S>,
    ) -> Result<Self, Self::Rejection> {
        T::authenticate(state, parts).map(Auth)
    }
}

/// The query pairs of a request, in order, percent-decoded (repeated keys kept); an
/// unreadable query is empty.
#[derive(Debug, Clone, Default)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Reads a query string.
    pub fn parse(raw: Option<&str>) -> Query {
        Query(
            raw.and_then(|q| serde_urlencoded::from_str(q).ok())
                .unwrap_or_default(),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Query::parse(parts.uri.query()))
    }
}

/// A request header as text.
pub fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::State;
    use axum::response::Response;
    use axum::routing::get;
    use serde_json::{Value, json};

    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    struct Plain;

    impl ErrorBody for Plain {
        fn body(&self, message: &str) -> Value {
            json!({ "error": message })
        }
    }

    struct Key;

    impl Authenticate<String> for Key {
        type Error = ApiError<Plain>;
        fn authenticate(state: &String, parts: &Parts) -> Result<Self, Self::Error> {
            match header(parts, "x-key") {
                Some(k) if k == state.as_str() => Ok(Key),
                _ => Err(ApiError::new(401, "no key")),
            }
        }
    }

    async fn hello(
        State(_): State<Arc<String>>,
        Auth(Key): Auth<Key>,
        q: Query,
    ) -> crate::emulator::ApiResult<Response, Plain> {
        Ok(format!("hello {}", q.all("n").join("+")).into_response())
    }

    async fn answer(router: Router, method: &str, path: &str, key: &str) -> (u16, String) {
        use tower::ServiceExt;
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("x-key", key)
            .body(axum::body::Body::empty())
            .expect("request");
        let resp = router.oneshot(req).await.expect("answer");
        let status = resp.status().as_u16();
        let body = axum::body::to_bytes(resp.into_body(), 1024)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    fn router(trailing_slash: bool) -> Router {
        Routes::new(&["/a", "/b"], trailing_slash)
            .at("/hello", get(hello))
            .finish(
                Arc::new("k".to_string()),
                ApiError::<Plain>::new(404, "nothing here"),
                Some(ApiError::new(405, "not so")),
            )
    }

    #[tokio::test]
    async fn every_root_serves_the_path_with_or_without_a_slash_as_asked() {
        for path in ["/a/hello?n=1&n=2", "/b/hello/?n=1&n=2"] {
            let (status, body) = answer(router(true), "GET", path, "k").await;
            assert_eq!((status, body.as_str()), (200, "hello 1+2"), "{path}");
        }
        let (status, body) = answer(router(false), "GET", "/b/hello/", "k").await;
        assert_eq!(
            (status, body.as_str()),
            (404, r#"{"error":"nothing here"}"#)
        );
    }

    #[tokio::test]
    async fn the_vendors_errors_answer_bad_credentials_and_unknown_routes() {
        let (status, body) = answer(router(true), "GET", "/a/hello", "wrong").await;
        assert_eq!((status, body.as_str()), (401, r#"{"error":"no key"}"#));
        let (status, body) = answer(router(true), "POST", "/a/hello", "k").await;
        assert_eq!((status, body.as_str()), (405, r#"{"error":"not so"}"#));
    }
}
