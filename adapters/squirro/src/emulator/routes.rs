//! The axum routes of the emulated user and topic APIs: request decoding (form or JSON
//! bodies, `True`/`False` booleans), authentication, exact success codes and
//! `{"error": ...}` bodies.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Map, Value, json};

use super::state::{ApiError, ApiResult, Caller, State};

type S = AxState<Arc<State>>;
type P = Path<HashMap<String, String>>;

/// Every route of the emulator, password policy before `/users/{id}` (the router ranks
/// literal segments above parameters).
pub fn router(state: Arc<State>) -> Router {
    let u = "/api/user/{v}/{tenant}";
    let t = "/api/topic/{v}/{tenant}";
    Router::new()
        .route("/api/user/oauth2/token", post(token))
        .route(&format!("{u}/users"), get(list_users).post(create_user))
        .route(&format!("{u}/users/password_policy"), get(password_policy))
        .route(
            &format!("{u}/users/{{user_id}}"),
            get(get_user).put(update_user).delete(delete_user),
        )
        .route(
            &format!("{u}/users/{{user_id}}/password"),
            axum::routing::put(change_password),
        )
        .route(
            &format!("{u}/users/{{user_id}}/grants"),
            get(list_grants).post(new_grant),
        )
        .route(
            &format!("{u}/users/{{user_id}}/sessions/{{session_id}}"),
            get(get_session).delete(delete_session),
        )
        .route(&format!("{u}/groups"), get(list_groups).post(create_group))
        .route(
            &format!("{u}/groups/{{group_id}}"),
            get(get_group)
                .put(update_group)
                .delete(delete_group)
                .post(add_group_member),
        )
        .route(
            &format!("{u}/groups/{{group_id}}/members/{{user_id}}"),
            delete(remove_group_member),
        )
        .route(
            &format!("{u}/projects/{{project_id}}/members"),
            get(project_members).post(add_project_member),
        )
        .route(
            &format!("{u}/projects/{{project_id}}/members/{{member_id}}"),
            axum::routing::put(update_project_member).delete(remove_project_member),
        )
        .route(
            &format!("{t}/projects"),
            get(list_projects).post(create_project),
        )
        .route(
            &format!("{t}/projects/{{project_id}}"),
            get(get_project).delete(delete_project),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

fn error_response(e: ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(json!({ "error": e.message }))).into_response()
}

fn reply(status: StatusCode, result: ApiResult<Value>) -> Response {
    match result {
        Ok(v) => (status, axum::Json(v)).into_response(),
        Err(e) => error_response(e),
    }
}

fn no_content(result: ApiResult<()>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error_response(e),
    }
}

async fn not_found() -> Response {
    error_response(ApiError::new(404, "Not found"))
}

async fn method_not_allowed() -> Response {
    error_response(ApiError::new(405, "Method not allowed"))
}

fn param<'a>(p: &'a HashMap<String, String>, key: &str) -> &'a str {
    p.get(key).map(String::as_str).unwrap_or_default()
}

/// Reads a body as form fields or, with a JSON content type, as a JSON object.
pub fn parse_fields(headers: &HeaderMap, body: &[u8]) -> ApiResult<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
    if is_json {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(ApiError::new(400, "The JSON body must be an object")),
            Err(e) => Err(ApiError::new(400, format!("Invalid JSON body: {e}"))),
        }
    } else {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|e| ApiError::new(400, format!("Invalid form body: {e}")))?;
        Ok(pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect())
    }
}

/// Reads a query string into pairs.
fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

/// A boolean query parameter: `True`/`False` as the Python client sends them, and also
/// `true`/`false`/`1`/`0`, case-insensitively. Absent or unreadable means `default`.
pub fn query_bool(raw: Option<&str>, key: &str, default: bool) -> bool {
    query_pairs(raw)
        .into_iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        })
        .unwrap_or(default)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Authenticates the caller, then checks the version and tenant segments.
fn enter(state: &State, headers: &HeaderMap, p: &HashMap<String, String>) -> ApiResult<Caller> {
    let caller = state.authenticate(bearer(headers))?;
    if !matches!(param(p, "v"), "v0" | "v1" | "v2") {
        return Err(ApiError::new(
            404,
            format!("Unknown API version {}", param(p, "v")),
        ));
    }
    state.check_tenant(param(p, "tenant"))?;
    Ok(caller)
}

macro_rules! try_api {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return error_response(e),
        }
    };
}

async fn token(AxState(s): S, headers: HeaderMap, body: Bytes) -> Response {
    let fields = try_api!(parse_fields(&headers, &body));
    reply(StatusCode::OK, s.token_exchange(&fields))
}

async fn list_users(
    AxState(s): S,
    Path(p): P,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    let include_config = query_bool(q.as_deref(), "include_config", false);
    reply(StatusCode::OK, s.list_users(&caller, include_config))
}

async fn create_user(AxState(s): S, Path(p): P, headers: HeaderMap, body: Bytes) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    let fields = try_api!(parse_fields(&headers, &body));
    reply(StatusCode::CREATED, s.create_user(&caller, &fields))
}

async fn password_policy(AxState(s): S, Path(p): P, headers: HeaderMap) -> Response {
    try_api!(enter(&s, &headers, &p));
    reply(StatusCode::OK, Ok(s.password_policy()))
}

async fn get_user(
    AxState(s): S,
    Path(p): P,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    let include_projects = query_bool(q.as_deref(), "include_projects", false);
    reply(
        StatusCode::OK,
        s.get_user(&caller, param(&p, "user_id"), include_projects),
    )
}

async fn update_user(AxState(s): S, Path(p): P, headers: HeaderMap, body: Bytes) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    let fields = try_api!(parse_fields(&headers, &body));
    reply(
        StatusCode::OK,
        s.update_user_data(&caller, param(&p, "user_id"), &fields),
    )
}

async fn delete_user(AxState(s): S, Path(p): P, headers: HeaderMap) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    no_content(s.delete_user(&caller, param(&p, "user_id")))
}

async fn change_password(AxState(s): S, Path(p): P, headers: HeaderMap, body: Bytes) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    let fields = try_api!(parse_fields(&headers, &body));
    reply(
        StatusCode::OK,
        s.change_password(&caller, param(&p, "user_id"), &fields),
    )
}

async fn list_grants(AxState(s): S, Path(p): P, headers: HeaderMap) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    reply(StatusCode::OK, s.list_grants(&caller, param(&p, "user_id")))
}

async fn new_grant(AxState(s): S, Path(p): P, headers: HeaderMap, body: Bytes) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    let fields = try_api!(parse_fields(&headers, &body));
    reply(
        StatusCode::CREATED,
        s.new_grant(&caller, param(&p, "user_id"), &fields),
    )
}

async fn get_session(AxState(s): S, Path(p): P, headers: HeaderMap) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    reply(
        StatusCode::OK,
        s.get_session(&caller, param(&p, "user_id"), param(&p, "session_id")),
    )
}

async fn delete_session(AxState(s): S, Path(p): P, headers: HeaderMap) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    no_content(s.delete_session(&caller, param(&p, "user_id"), param(&p, "session_id")))
}

async fn list_groups(AxState(s): S, Path(p): P, headers: HeaderMap) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    reply(StatusCode::OK, s.list_groups(&caller))
}

async fn create_group(AxState(s): S, Path(p): P, headers: HeaderMap, body: Bytes) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    let fields = try_api!(parse_fields(&headers, &body));
    reply(StatusCode::CREATED, s.create_group(&caller, &fields))
}

async fn get_group(
    AxState(s): S,
    Path(p): P,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    let include_projects = query_bool(q.as_deref(), "include_projects", false);
    reply(
        StatusCode::OK,
        s.get_group(&caller, param(&p, "group_id"), include_projects),
    )
}

async fn update_group(AxState(s): S, Path(p): P, headers: HeaderMap, body: Bytes) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    let fields = try_api!(parse_fields(&headers, &body));
    reply(
        StatusCode::OK,
        s.update_group(&caller, param(&p, "group_id"), &fields),
    )
}

async fn delete_group(AxState(s): S, Path(p): P, headers: HeaderMap) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    no_content(s.delete_group(&caller, param(&p, "group_id")))
}

async fn add_group_member(AxState(s): S, Path(p): P, headers: HeaderMap, body: Bytes) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    let fields = try_api!(parse_fields(&headers, &body));
    reply(
        StatusCode::OK,
        s.add_group_member(&caller, param(&p, "group_id"), &fields),
    )
}

async fn remove_group_member(AxState(s): S, Path(p): P, headers: HeaderMap) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    no_content(s.remove_group_member(&caller, param(&p, "group_id"), param(&p, "user_id")))
}

async fn project_members(AxState(s): S, Path(p): P, headers: HeaderMap) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    reply(
        StatusCode::OK,
        s.project_members(&caller, param(&p, "project_id")),
    )
}

async fn add_project_member(
    AxState(s): S,
    Path(p): P,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    let fields = try_api!(parse_fields(&headers, &body));
    reply(
        StatusCode::OK,
        s.add_project_member(&caller, param(&p, "project_id"), &fields),
    )
}

async fn update_project_member(
    AxState(s): S,
    Path(p): P,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    let fields = try_api!(parse_fields(&headers, &body));
    reply(
        StatusCode::OK,
        s.update_project_member(
            &caller,
            param(&p, "project_id"),
            param(&p, "member_id"),
            &fields,
        ),
    )
}

async fn remove_project_member(AxState(s): S, Path(p): P, headers: HeaderMap) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    no_content(s.remove_project_member(&caller, param(&p, "project_id"), param(&p, "member_id")))
}

async fn list_projects(AxState(s): S, Path(p): P, headers: HeaderMap) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    reply(StatusCode::OK, Ok(s.list_projects(&caller)))
}

async fn create_project(AxState(s): S, Path(p): P, headers: HeaderMap, body: Bytes) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    let fields = try_api!(parse_fields(&headers, &body));
    reply(StatusCode::CREATED, s.create_project(&caller, &fields))
}

async fn get_project(AxState(s): S, Path(p): P, headers: HeaderMap) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    reply(
        StatusCode::OK,
        s.get_project(&caller, param(&p, "project_id")),
    )
}

async fn delete_project(AxState(s): S, Path(p): P, headers: HeaderMap) -> Response {
    let caller = try_api!(enter(&s, &headers, &p));
    no_content(s.delete_project(&caller, param(&p, "project_id")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn booleans_accept_python_spelling_and_more() {
        for (q, want) in [
            ("include_projects=True", true),
            ("include_projects=False", false),
            ("include_projects=true", true),
            ("include_projects=0", false),
            ("include_projects=1&x=2", true),
            ("other=True", false),
        ] {
            assert_eq!(query_bool(Some(q), "include_projects", false), want, "{q}");
        }
    }

    #[test]
    fn bodies_are_form_or_json() {
        let mut h = HeaderMap::new();
        let form = parse_fields(
            &h,
            b"name=Team+East&members=%5B%7B%22id%22%3A%22u1%22%7D%5D",
        )
        .expect("form");
        assert_eq!(form["name"], "Team East");
        assert_eq!(form["members"], r#"[{"id":"u1"}]"#);
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let j = parse_fields(&h, br#"{"email": "a@b.cd", "role": null}"#).expect("json");
        assert_eq!(j["role"], Value::Null);
        assert_eq!(
            parse_fields(&h, b"[1]").expect_err("not an object").status,
            400
        );
    }
}
