//! The axum routes of the emulated user and topic APIs: request decoding (form or JSON
//! bodies, `True`/`False` booleans), authentication (the [`Caller`] extractor), exact
//! success codes and `{"error": ...}` bodies.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State as AxState};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use idbridge_testkit::emulator::{Auth, Authenticate, Query, Routes};
use serde_json::{Map, Value};

use super::state::{ApiError, ApiResult, Caller, State};

type St = AxState<Arc<State>>;
type P = Path<HashMap<String, String>>;
type R = ApiResult<Response>;

/// Every route of the emulator, password policy before `/users/{id}` (the router ranks
/// literal segments above parameters).
pub fn router(state: Arc<State>) -> Router {
    let u = "/api/user/{v}/{tenant}";
    let t = "/api/topic/{v}/{tenant}";
    Routes::new(&[""], false)
        .at("/api/user/oauth2/token", post(token))
        .at(&format!("{u}/users"), get(list_users).post(create_user))
        .at(&format!("{u}/users/password_policy"), get(password_policy))
        .at(
            &format!("{u}/users/{{user_id}}"),
            get(get_user).put(update_user).delete(delete_user),
        )
        .at(
            &format!("{u}/users/{{user_id}}/password"),
            put(change_password),
        )
        .at(
            &format!("{u}/users/{{user_id}}/grants"),
            get(list_grants).post(new_grant),
        )
        .at(
            &format!("{u}/users/{{user_id}}/sessions/{{session_id}}"),
            get(get_session).delete(delete_session),
        )
        .at(&format!("{u}/groups"), get(list_groups).post(create_group))
        .at(
            &format!("{u}/groups/{{group_id}}"),
            get(get_group)
                .put(update_group)
                .delete(delete_group)
                .post(add_group_member),
        )
        .at(
            &format!("{u}/groups/{{group_id}}/members/{{user_id}}"),
            delete(remove_group_member),
        )
        .at(
            &format!("{u}/projects/{{project_id}}/members"),
            get(project_members).post(add_project_member),
        )
        .at(
            &format!("{u}/projects/{{project_id}}/members/{{member_id}}"),
            put(update_project_member).delete(remove_project_member),
        )
        .at(
            &format!("{t}/projects"),
            get(list_projects).post(create_project),
        )
        .at(
            &format!("{t}/projects/{{project_id}}"),
            get(get_project).delete(delete_project),
        )
        .finish(
            state,
            ApiError::new(404, "Not found"),
            Some(ApiError::new(405, "Method not allowed")),
        )
}

fn ok(v: Value) -> R {
    Ok((StatusCode::OK, axum::Json(v)).into_response())
}

fn created(v: Value) -> R {
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

fn no_content() -> R {
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn param<'a>(p: &'a HashMap<String, String>, key: &str) -> &'a str {
    p.get(key).map(String::as_str).unwrap_or_default()
}

/// Reads a body as form fields or, with a JSON content type, as a JSON object.
///
/// # Errors
/// 400 for a body that is neither.
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

/// A boolean query parameter: `True`/`False` as the Python client sends them, and also
/// `true`/`false`/`1`/`0`, case-insensitively. Absent or unreadable means `default`.
pub fn query_bool(q: &Query, key: &str, default: bool) -> bool {
    q.get(key)
        .and_then(|v| match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        })
        .unwrap_or(default)
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A request body as form fields or a JSON object (see [`parse_fields`]).
struct Fields(Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        parse_fields(&headers, &body)
            .map(Fields)
            .map_err(IntoResponse::into_response)
    }
}

/// The caller from its bearer token, then the version and tenant segments of the path
/// (`/api/{user|topic}/{v}/{tenant}/...`) checked.
impl Authenticate<State> for Caller {
    type Error = ApiError;

    fn authenticate(state: &State, parts: &Parts) -> ApiResult<Caller> {
        let caller = state.authenticate(bearer(parts))?;
        let mut segs = parts.uri.path().split('/').skip(3);
        let version = segs.next().unwrap_or_default();
        if !matches!(version, "v0" | "v1" | "v2") {
            return Err(ApiError::new(404, format!("Unknown API version {version}")));
        }
        state.check_tenant(segs.next().unwrap_or_default())?;
        Ok(caller)
    }
}

async fn token(AxState(s): St, Fields(f): Fields) -> R {
    ok(s.token_exchange(&f)?)
}

async fn list_users(AxState(s): St, Auth(c): Auth<Caller>, q: Query) -> R {
    ok(s.list_users(&c, query_bool(&q, "include_config", false))?)
}

async fn create_user(AxState(s): St, Auth(c): Auth<Caller>, Fields(f): Fields) -> R {
    created(s.create_user(&c, &f)?)
}

async fn password_policy(AxState(s): St, Auth(_): Auth<Caller>) -> R {
    ok(s.password_policy())
}

async fn get_user(AxState(s): St, Auth(c): Auth<Caller>, Path(p): P, q: Query) -> R {
    let include_projects = query_bool(&q, "include_projects", false);
    ok(s.get_user(&c, param(&p, "user_id"), include_projects)?)
}

async fn update_user(AxState(s): St, Auth(c): Auth<Caller>, Path(p): P, Fields(f): Fields) -> R {
    ok(s.update_user_data(&c, param(&p, "user_id"), &f)?)
}

async fn delete_user(AxState(s): St, Auth(c): Auth<Caller>, Path(p): P) -> R {
    s.delete_user(&c, param(&p, "user_id"))?;
    no_content()
}

async fn change_password(
    AxState(s): St,
    Auth(c): Auth<Caller>,
    Path(p): P,
    Fields(f): Fields,
) -> R {
    ok(s.change_password(&c, param(&p, "user_id"), &f)?)
}

async fn list_grants(AxState(s): St, Auth(c): Auth<Caller>, Path(p): P) -> R {
    ok(s.list_grants(&c, param(&p, "user_id"))?)
}

async fn new_grant(AxState(s): St, Auth(c): Auth<Caller>, Path(p): P, Fields(f): Fields) -> R {
    created(s.new_grant(&c, param(&p, "user_id"), &f)?)
}

async fn get_session(AxState(s): St, Auth(c): Auth<Caller>, Path(p): P) -> R {
    ok(s.get_session(&c, param(&p, "user_id"), param(&p, "session_id"))?)
}

async fn delete_session(AxState(s): St, Auth(c): Auth<Caller>, Path(p): P) -> R {
    s.delete_session(&c, param(&p, "user_id"), param(&p, "session_id"))?;
    no_content()
}

async fn list_groups(AxState(s): St, Auth(c): Auth<Caller>) -> R {
    ok(s.list_groups(&c)?)
}

async fn create_group(AxState(s): St, Auth(c): Auth<Caller>, Fields(f): Fields) -> R {
    created(s.create_group(&c, &f)?)
}

async fn get_group(AxState(s): St, Auth(c): Auth<Caller>, Path(p): P, q: Query) -> R {
    let include_projects = query_bool(&q, "include_projects", false);
    ok(s.get_group(&c, param(&p, "group_id"), include_projects)?)
}

async fn update_group(AxState(s): St, Auth(c): Auth<Caller>, Path(p): P, Fields(f): Fields) -> R {
    ok(s.update_group(&c, param(&p, "group_id"), &f)?)
}

async fn delete_group(AxState(s): St, Auth(c): Auth<Caller>, Path(p): P) -> R {
    s.delete_group(&c, param(&p, "group_id"))?;
    no_content()
}

async fn add_group_member(
    AxState(s): St,
    Auth(c): Auth<Caller>,
    Path(p): P,
    Fields(f): Fields,
) -> R {
    ok(s.add_group_member(&c, param(&p, "group_id"), &f)?)
}

async fn remove_group_member(AxState(s): St, Auth(c): Auth<Caller>, Path(p): P) -> R {
    s.remove_group_member(&c, param(&p, "group_id"), param(&p, "user_id"))?;
    no_content()
}

async fn project_members(AxState(s): St, Auth(c): Auth<Caller>, Path(p): P) -> R {
    ok(s.project_members(&c, param(&p, "project_id"))?)
}

async fn add_project_member(
    AxState(s): St,
    Auth(c): Auth<Caller>,
    Path(p): P,
    Fields(f): Fields,
) -> R {
    ok(s.add_project_member(&c, param(&p, "project_id"), &f)?)
}

async fn update_project_member(
    AxState(s): St,
    Auth(c): Auth<Caller>,
    Path(p): P,
    Fields(f): Fields,
) -> R {
    let (project, member) = (param(&p, "project_id"), param(&p, "member_id"));
    ok(s.update_project_member(&c, project, member, &f)?)
}

async fn remove_project_member(AxState(s): St, Auth(c): Auth<Caller>, Path(p): P) -> R {
    s.remove_project_member(&c, param(&p, "project_id"), param(&p, "member_id"))?;
    no_content()
}

async fn list_projects(AxState(s): St, Auth(c): Auth<Caller>) -> R {
    ok(s.list_projects(&c))
}

async fn create_project(AxState(s): St, Auth(c): Auth<Caller>, Fields(f): Fields) -> R {
    created(s.create_project(&c, &f)?)
}

async fn get_project(AxState(s): St, Auth(c): Auth<Caller>, Path(p): P) -> R {
    ok(s.get_project(&c, param(&p, "project_id"))?)
}

async fn delete_project(AxState(s): St, Auth(c): Auth<Caller>, Path(p): P) -> R {
    s.delete_project(&c, param(&p, "project_id"))?;
    no_content()
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
            let q = Query::parse(Some(q));
            assert_eq!(query_bool(&q, "include_projects", false), want, "{q:?}");
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
