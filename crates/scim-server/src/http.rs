//! The HTTP side: routes, request parsing and SCIM answers.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use idbridge_store::InboxKind;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::list::{self, SearchParams};
use crate::resources::{self, IfMatch, etag};
use crate::state::ServerState;
use crate::{MEDIA_TYPE, auth, bulk, discovery};

/// The router of the SCIM endpoint under the configured base path, with authentication
/// and the body limit.
pub(crate) fn router(state: ServerState) -> Router {
    let base = state.inner.base.clone();
    let limit = state.inner.config.max_body_bytes;
    let scim = Router::new()
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{id}", get(discovery::resource_type))
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{id}", get(discovery::schema))
        .route("/Users", get(list_kind::<Users>).post(create_kind::<Users>))
        .route("/Users/.search", post(search_kind::<Users>))
        .route(
            "/Users/{id}",
            get(get_kind::<Users>)
                .put(put_kind::<Users>)
                .patch(patch_kind::<Users>)
                .delete(delete_kind::<Users>),
        )
        .route(
            "/Groups",
            get(list_kind::<Groups>).post(create_kind::<Groups>),
        )
        .route("/Groups/.search", post(search_kind::<Groups>))
        .route(
            "/Groups/{id}",
            get(get_kind::<Groups>)
                .put(put_kind::<Groups>)
                .patch(patch_kind::<Groups>)
                .delete(delete_kind::<Groups>),
        )
        .route("/.search", post(search_all))
        .route("/Bulk", post(bulk::handle));
    let scim = if base.is_empty() {
        scim
    } else {
        Router::new().nest(&base, scim)
    };
    scim.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(host_from_authority))
        .layer(axum::middleware::from_fn(scim_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .layer(axum::middleware::from_fn(access_log))
        .with_state(state)
}

/// HTTP/2 requests carry the host in the URI (`:authority`), not in a `Host` header: copy
/// it there, where `meta.location` is built from.
async fn host_from_authority(
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !req.headers().contains_key(header::HOST) {
        if let Some(v) = req
            .uri()
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        {
            req.headers_mut().insert(header::HOST, v);
        }
    }
    next.run(req).await
}

/// One line per request: method, path, status and time taken. Never headers (the token)
/// nor the query (filters name people).
async fn access_log(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::info!(
        target: "idbridge::scim",
        %method,
        path = %path,
        status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "SCIM request"
    );
    resp
}

/// Errors the framework answers itself (an id that is not UTF-8, for one) come as plain
/// text: they are given the SCIM error shape with the same status.
async fn scim_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_scim = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(MEDIA_TYPE.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_scim {
        return resp;
    }
    let detail = if status == StatusCode::BAD_REQUEST {
        "the request cannot be read (an invalid path segment or query)"
    } else {
        status.canonical_reason().unwrap_or("the request failed")
    };
    ApiError::new(status, None, detail).into_response()
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such SCIM endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "this endpoint does not take this method",
    )
}

/// Runs blocking work (the state database fsyncs on every write) off the async workers.
/// A panic in it becomes a 500, never a dropped connection.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|_| {
        tracing::error!("SCIM server: a request handler failed unexpectedly");
        Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "internal error",
        ))
    })
}

/// The URL the endpoint is reached at, for `meta.location`.
pub(crate) fn base_url(state: &ServerState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.inner.config.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .map_or_else(|| state.inner.config.listen.to_string(), str::to_string);
    let scheme = if state.inner.tls { "https" } else { "http" };
    format!("{scheme}://{host}{}", state.inner.base)
}

/// A JSON body within the size limit.
pub(crate) fn json_body(body: std::result::Result<Bytes, BytesRejection>) -> ApiResult<Value> {
    let bytes = body.map_err(|rej| {
        let status = rej.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                None,
                "the request body is larger than the server accepts",
            )
        } else {
            ApiError::new(status, None, "the request body could not be read")
        }
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::invalid_syntax(format!("the request body is not valid JSON: {e}")))
}

/// A SCIM answer with `status` and `body`.
pub(crate) fn scim(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    resp
}

fn with_etag(mut resp: Response, version: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

fn if_match(headers: &HeaderMap) -> Option<IfMatch> {
    headers
        .get(header::IF_MATCH)
        .and_then(|h| h.to_str().ok())
        .map(IfMatch::parse)
}

fn query_map(raw: Option<String>) -> ApiResult<HashMap<String, String>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::invalid_syntax(format!("the query string cannot be read: {e}")))?;
    Ok(pairs
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect())
}

/// The `attributes`/`excludedAttributes` of a query.
fn projection(q: &HashMap<String, String>) -> (Vec<String>, Vec<String>) {
    (
        list::csv(q.get("attributes")),
        list::csv(q.get("excludedattributes")),
    )
}

/// Answers one resource (`status` 200 or 201), projected, with its ETag (and Location
/// on 201).
async fn one(
    state: &ServerState,
    headers: &HeaderMap,
    status: StatusCode,
    entry: idbridge_store::InboxEntry,
    q: &HashMap<String, String>,
) -> ApiResult<Response> {
    let base_url = base_url(state, headers);
    let inner = state.inner.clone();
    let (attrs, excluded) = projection(q);
    let kind = entry.kind;
    let version = entry.version;
    let body = blocking(move || {
        let snap = if kind == InboxKind::User {
            Some(resources::snapshot(&inner)?)
        } else {
            None
        };
        let groups = snap.as_ref().map_or(&[][..], |s| s.of(InboxKind::Group));
        let m = resources::memberships(groups, &base_url);
        let rendered = resources::render(&entry, &base_url, &m);
        Ok(crate::proto::project(kind, &rendered, &attrs, &excluded))
    })
    .await?;
    let mut resp = with_etag(scim(status, &body), version);
    if status == StatusCode::CREATED {
        if let Some(loc) = body
            .pointer("/meta/location")
            .and_then(Value::as_str)
            .and_then(|l| HeaderValue::from_str(l).ok())
        {
            resp.headers_mut().insert(header::LOCATION, loc);
        }
    }
    Ok(resp)
}

/// The resource type an endpoint (`/Users`, `/Groups`) serves, so that one handler
/// serves both.
trait Endpoint {
    /// The kind of its resources.
    const KIND: InboxKind;
    /// What its listing and search return: its kind only.
    const KINDS: &'static [InboxKind] = &[Self::KIND];
}

/// `/Users`.
struct Users;

impl Endpoint for Users {
    const KIND: InboxKind = InboxKind::User;
}

/// `/Groups`.
struct Groups;

impl Endpoint for Groups {
    const KIND: InboxKind = InboxKind::Group;
}

/// The body of a `POST`, `PUT` or `PATCH` as the framework read it (or why it could not).
type Body = std::result::Result<Bytes, BytesRejection>;

async fn list(
    state: ServerState,
    headers: HeaderMap,
    kinds: &'static [InboxKind],
    params: SearchParams,
) -> ApiResult<Response> {
    let base_url = base_url(&state, &headers);
    let inner = state.inner.clone();
    let body = blocking(move || list::search(&inner, kinds, &params, &base_url)).await?;
    Ok(scim(StatusCode::OK, &body))
}

async fn search(
    state: ServerState,
    headers: HeaderMap,
    kinds: &'static [InboxKind],
    body: Body,
) -> ApiResult<Response> {
    let params = SearchParams::from_body(&json_body(body)?)?;
    list(state, headers, kinds, params).await
}

async fn list_kind<E: Endpoint>(
    State(state): State<ServerState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params = SearchParams::from_query(&query_map(raw)?)?;
    list(state, headers, E::KINDS, params).await
}

async fn search_kind<E: Endpoint>(
    State(state): State<ServerState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    search(state, headers, E::KINDS, body).await
}

/// `POST /.search`: users and groups.
async fn search_all(
    State(state): State<ServerState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    search(state, headers, &[InboxKind::User, InboxKind::Group], body).await
}

async fn get_kind<E: Endpoint>(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let kind = E::KIND;
    let q = query_map(raw)?;
    let inner = state.inner.clone();
    let entry = blocking(move || resources::get(&inner, kind, &id)).await?;
    // If-None-Match on a read: nothing changed since the client's copy.
    if let Some(tags) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|h| h.to_str().ok())
    {
        if IfMatch::parse(tags).matches(entry.version) {
            return Ok(with_etag(
                StatusCode::NOT_MODIFIED.into_response(),
                entry.version,
            ));
        }
    }
    one(&state, &headers, StatusCode::OK, entry, &q).await
}

async fn create_kind<E: Endpoint>(
    State(state): State<ServerState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Body,
) -> ApiResult<Response> {
    let kind = E::KIND;
    let q = query_map(raw)?;
    let body = json_body(body)?;
    let inner = state.inner.clone();
    let entry = blocking(move || resources::create(&inner, kind, body)).await?;
    one(&state, &headers, StatusCode::CREATED, entry, &q).await
}

async fn put_kind<E: Endpoint>(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> ApiResult<Response> {
    let kind = E::KIND;
    let q = query_map(raw)?;
    let body = json_body(body)?;
    let inner = state.inner.clone();
    let m = if_match(&headers);
    let entry = blocking(move || resources::replace(&inner, kind, &id, body, m.as_ref())).await?;
    one(&state, &headers, StatusCode::OK, entry, &q).await
}

async fn patch_kind<E: Endpoint>(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> ApiResult<Response> {
    let kind = E::KIND;
    let q = query_map(raw)?;
    let body = json_body(body)?;
    let inner = state.inner.clone();
    let m = if_match(&headers);
    let entry = blocking(move || resources::patch(&inner, kind, &id, &body, m.as_ref())).await?;
    // A group's answer would list every member: 204 with the new version, as RFC 7644
    // §3.5.2 allows and Entra's guide advises, unless the client asks for attributes.
    if kind == InboxKind::Group
        && !q.contains_key("attributes")
        && !q.contains_key("excludedattributes")
    {
        return Ok(with_etag(
            StatusCode::NO_CONTENT.into_response(),
            entry.version,
        ));
    }
    one(&state, &headers, StatusCode::OK, entry, &q).await
}

async fn delete_kind<E: Endpoint>(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let kind = E::KIND;
    let inner = state.inner.clone();
    let m = if_match(&headers);
    blocking(move || resources::delete(&inner, kind, &id, m.as_ref())).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
