//! The emulated REST endpoints under `/MicroStrategyLibrary/api`, one handler per route
//! (see [`router`]), grouped by concern: logins and sessions ([`auth`]), users and user
//! groups ([`directory`]), contact addresses ([`addresses`]), security roles and
//! privileges ([`roles`]), monitors and projects ([`monitors`]), and lookups across
//! records ([`lookups`]).
//!
//! Every path also answers with a trailing slash (the official SDK sends `/api/users/`);
//! literal segments rank above ids (`/api/usergroups/topLevel`); an unknown route (or
//! method) answers the REST tier's own 404 `ERR004`, after the session check for paths
//! under the API as the server does.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{delete, get, patch, post, put};
use idbridge_testkit::emulator::{Auth, Authenticate, Query, Routes};
use serde_json::{Map, Value, json};

use super::state::{
    ApiError, ApiResult, EmulatorState, Inner, MstrErrors, PatchOp, SessionRec, parse_operations,
};
use crate::client::{AUTH_TOKEN_HEADER, TOTAL_COUNT_HEADER};

mod addresses;
mod auth;
mod directory;
mod lookups;
mod monitors;
mod roles;

/// The path every route lives under.
pub const PREFIX: &str = "/MicroStrategyLibrary/api/";

/// The API root, [`PREFIX`] without its trailing slash.
const ROOT: &str = "/MicroStrategyLibrary/api";

type St = State<Arc<EmulatorState>>;
type R = ApiResult<Response>;

/// The router serving the whole API.
pub fn router(state: Arc<EmulatorState>) -> Router {
    let routes = Routes::new(&[ROOT], true)
        .at("/auth/login", post(auth::login))
        .at("/auth/delegate", post(auth::delegate))
        .at("/auth/logout", post(auth::logout))
        .at("/status", get(auth::status))
        .at("/sessions", get(auth::session).put(auth::extend_session))
        .at("/sessions/userInfo", get(auth::user_info))
        .at("/sessions/privileges", get(auth::own_privileges))
        .at(
            "/auth/identityToken",
            post(auth::new_identity_token).get(auth::check_identity_token),
        )
        .at("/auth/apiTokens", post(auth::new_api_token));
    let routes = directory::routes(routes);
    let routes = addresses::routes(routes);
    let routes = roles::routes(routes);
    let routes = monitors::routes(routes);
    routes
        .at(
            "/objects/{id}",
            get(lookups::object)
                .put(lookups::object)
                .delete(lookups::object),
        )
        .finish_with(state, unknown)
}

/// No such route: the session is checked first for paths under the API, as the server
/// does, then 404 `ERR004`.
async fn unknown(State(st): St, parts: Parts) -> R {
    if parts.uri.path().starts_with(PREFIX) {
        SessionRec::authenticate(&st, &parts)?;
    }
    Err(ApiError::no_route())
}

/// The caller's session, from `X-MSTR-AuthToken` and the `JSESSIONID` cookie; a project
/// named in `X-MSTR-ProjectID` opens a project connection.
impl Authenticate<EmulatorState> for SessionRec {
    type Error = ApiError;

    fn authenticate(st: &EmulatorState, parts: &Parts) -> ApiResult<SessionRec> {
        let cookie = cookie(&parts.headers, "JSESSIONID");
        st.lock().authenticate(
            idbridge_testkit::emulator::header(parts, AUTH_TOKEN_HEADER),
            cookie.as_deref(),
            idbridge_testkit::emulator::header(parts, "X-MSTR-ProjectID").filter(|p| !p.is_empty()),
            st.settings.session_timeout_secs,
        )
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A JSON body; an empty one is `{}`.
fn json_body(body: &Bytes) -> ApiResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body).map_err(|_| ApiError::invalid("Invalid JSON"))
}

/// `offset` and `limit` (`-1` or absent: everything).
fn window(q: &Query) -> ApiResult<(usize, Option<usize>)> {
    let offset = match q.get("offset") {
        None | Some("") => 0,
        Some(o) => o
            .parse::<usize>()
            .map_err(|_| ApiError::invalid(format!("Invalid offset '{o}'")))?,
    };
    let limit = match q.get("limit") {
        None | Some("") | Some("-1") => None,
        Some(l) => Some(
            l.parse::<usize>()
                .map_err(|_| ApiError::invalid(format!("Invalid limit '{l}'")))?,
        ),
    };
    Ok((offset, limit))
}

/// The `fields` query parameter.
fn fields(q: &Query) -> Option<Vec<String>> {
    q.get("fields").map(|f| {
        f.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

/// `POST` of a new record: `create` it from the JSON body, answer 201 with its `view`.
fn create_one(
    st: &EmulatorState,
    body: &Bytes,
    create: fn(&mut Inner, &Value) -> ApiResult<String>,
    view: fn(&Inner, &str) -> ApiResult<Value>,
) -> R {
    let body = json_body(body)?;
    let mut i = st.lock();
    let id = create(&mut i, &body)?;
    created(view(&i, &id)?)
}

/// `GET` of one record: its `view`, with only the fields asked for.
fn read_one(
    st: &EmulatorState,
    id: &str,
    q: &Query,
    view: fn(&Inner, &str) -> ApiResult<Value>,
) -> R {
    let i = st.lock();
    ok(select_fields(view(&i, id)?, &fields(q)))
}

/// `PATCH` of one record: the body's `operationList` applied by `apply`, answered with the
/// record's `view`.
fn patch_one<T: serde::Serialize>(
    st: &EmulatorState,
    id: &str,
    body: &Bytes,
    apply: impl FnOnce(&mut Inner, &str, &[PatchOp]) -> ApiResult<()>,
    view: fn(&Inner, &str) -> ApiResult<T>,
) -> R {
    let ops = parse_operations(&json_body(body)?)?;
    let mut i = st.lock();
    apply(&mut i, id, &ops)?;
    ok_body(&view(&i, id)?)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn ok(body: Value) -> R {
    Ok(json_response(StatusCode::OK, &body))
}

/// A 200 answer serialized from a typed body (keeps its field order).
fn ok_body(body: &impl serde::Serialize) -> R {
    let text = serde_json::to_string(body)
        .map_err(|e| ApiError::invalid(format!("cannot encode the answer: {e}")))?;
    let mut resp = Response::new(Body::from(text));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

fn created(body: Value) -> R {
    Ok(json_response(StatusCode::CREATED, &body))
}

fn no_content() -> R {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    Ok(resp)
}

/// A page of a collection with `X-MSTR-Total-Count`, bare or wrapped under `key`.
fn paged(all: Vec<Value>, window: (usize, Option<usize>), key: Option<&str>) -> R {
    let total = all.len();
    let (offset, limit) = window;
    let page: Vec<Value> = all
        .into_iter()
        .skip(offset)
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    page_answer(total, page, key)
}

/// A page of `all` (records that all exist), each shown by `show`, only the page's
/// records built: a large directory pages without building every record per page.
fn paged_lazy<T>(
    all: &[T],
    window: (usize, Option<usize>),
    show: impl Fn(&T) -> Option<Value>,
) -> R {
    let (offset, limit) = window;
    let page: Vec<Value> = all
        .get(offset..)
        .unwrap_or_default()
        .iter()
        .take(limit.unwrap_or(usize::MAX))
        .filter_map(show)
        .collect();
    page_answer(all.len(), page, None)
}

fn page_answer(total: usize, page: Vec<Value>, key: Option<&str>) -> R {
    let body = match key {
        None => Value::from(page),
        Some(k) => json!({ k: page }),
    };
    let mut resp = json_response(StatusCode::OK, &body);
    resp.headers_mut()
        .insert(TOTAL_COUNT_HEADER, HeaderValue::from(total as u64));
    Ok(resp)
}

/// Keeps only the requested top-level fields (the `fields` query parameter).
fn select_fields(value: Value, fields: &Option<Vec<String>>) -> Value {
    let Some(fields) = fields else {
        return value;
    };
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| fields.iter().any(|f| f == k))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| select_fields(v, &Some(fields.clone())))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_selection_keeps_only_named_keys() {
        let v = json!({"id": "a", "name": "n", "members": []});
        assert_eq!(
            select_fields(v, &Some(vec!["id".into(), "name".into()])),
            json!({"id": "a", "name": "n"})
        );
    }
}
