//! The emulator's HTTP surface: every endpoint is served under both API roots
//! (`/dip/publicapi`, the official client's, and `/public/api`, the documented one), with
//! and without a trailing slash.
//!
//! Requests authenticate with HTTP Basic (API key as user, empty password); `X-DKU-ProxyUser`
//! impersonates a user for administrator keys. Bodies are JSON whatever the
//! `Content-Type` (the official client sends none); query booleans are read ignoring case
//! (`True`, as Python sends them). Errors are `{errorType, message, detailedMessage}`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use base64::Engine;
use idbridge_testkit::emulator::{Auth, Authenticate, Query, Routes, header};
use serde_json::{Value, json};

use super::state::{ApiError, ApiResult, Caller, DssError, DssErrors, NOT_AUTHENTICATED, State};
use crate::wire::Doc;

/// The API roots served.
pub const ROOTS: &[&str] = &["/dip/publicapi", "/public/api"];

type St = AxState<Arc<State>>;

fn ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

/// Reads a boolean query parameter as DSS does: `true` in any case is true.
pub fn query_bool(q: &Query, name: &str) -> bool {
    q.get(name)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn unauthenticated(msg: &str) -> ApiError {
    ApiError::with(401, DssError(NOT_AUTHENTICATED), msg)
}

/// The caller of a request, from its Basic credentials and `X-DKU-ProxyUser`.
impl Authenticate<State> for Caller {
    type Error = ApiError;

    fn authenticate(state: &State, parts: &Parts) -> ApiResult<Caller> {
        let value =
            header(parts, "authorization").ok_or_else(|| unauthenticated("No API key given"))?;
        let encoded = value
            .strip_prefix("Basic ")
            .or_else(|| value.strip_prefix("basic "))
            .ok_or_else(|| {
                unauthenticated("Expected HTTP Basic authentication with the API key as user")
            })?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| unauthenticated("Malformed Basic credentials"))?;
        let (key, password) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
        if !password.is_empty() {
            return Err(unauthenticated(
                "Unknown API Key (send the key as user with an empty password)",
            ));
        }
        state.authenticate(key, header(parts, "X-DKU-ProxyUser"))
    }
}

/// A caller with administrator rights.
struct Admin(Caller);

impl Authenticate<State> for Admin {
    type Error = ApiError;

    fn authenticate(state: &State, parts: &Parts) -> ApiResult<Admin> {
        let c = Caller::authenticate(state, parts)?;
        if c.admin {
            Ok(Admin(c))
        } else {
            Err(ApiError::unauthorized(
                "Action forbidden, you are not admin",
            ))
        }
    }
}

/// Parses a JSON body whatever the content type; an empty body is `null`.
fn body_json(bytes: &Bytes) -> ApiResult<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::illegal(format!("Malformed JSON body: {e}")))
}

fn body_object(bytes: &Bytes) -> ApiResult<Doc> {
    match body_json(bytes)? {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::illegal("Expected a JSON object")),
    }
}

fn body_array(bytes: &Bytes) -> ApiResult<Vec<Value>> {
    match body_json(bytes)? {
        Value::Array(items) => Ok(items),
        _ => Err(ApiError::illegal("Expected a JSON array")),
    }
}

type R = ApiResult<Response>;

// ----- auth, own user -------------------------------------------------------------------

async fn auth_info(AxState(s): St, Auth(c): Auth<Caller>) -> R {
    Ok(ok(s.auth_info(&c)))
}

async fn current_user(AxState(s): St, Auth(c): Auth<Caller>) -> R {
    let login = c
        .login
        .ok_or_else(|| ApiError::illegal("This API key is not bound to a user"))?;
    let mut doc = s.get_user(&login)?;
    doc.remove("adminProperties");
    Ok(ok(Value::Object(doc)))
}

async fn save_current_user(AxState(s): St, Auth(c): Auth<Caller>, body: Bytes) -> R {
    let login = c
        .login
        .ok_or_else(|| ApiError::illegal("This API key is not bound to a user"))?;
    s.save_own_settings(&login, &body_object(&body)?)?;
    Ok(ok(json!({"msg": "Saved"})))
}

// ----- users ------------------------------------------------------------------------

async fn list_users(AxState(s): St, Auth(_): Auth<Admin>, q: Query) -> R {
    Ok(ok(Value::Array(
        s.list_users(query_bool(&q, "includeSettings")),
    )))
}

async fn create_user(AxState(s): St, Auth(_): Auth<Admin>, body: Bytes) -> R {
    let login = s.create_user(&body_object(&body)?)?;
    Ok(ok(json!({"msg": format!("Created user {login}")})))
}

async fn get_user(AxState(s): St, Auth(_): Auth<Admin>, Path(login): Path<String>) -> R {
    Ok(ok(Value::Object(s.get_user(&login)?)))
}

async fn put_user(
    AxState(s): St,
    Auth(_): Auth<Admin>,
    Path(login): Path<String>,
    body: Bytes,
) -> R {
    s.replace_user(&login, body_object(&body)?)?;
    Ok(ok(json!({"msg": format!("Edited user {login}")})))
}

async fn delete_user(
    AxState(s): St,
    Auth(Admin(c)): Auth<Admin>,
    Path(login): Path<String>,
    q: Query,
) -> R {
    s.delete_user(&c, &login, query_bool(&q, "allowSelfDeletion"))?;
    Ok(ok(json!({"msg": format!("Deleted user {login}")})))
}

async fn user_activity(AxState(s): St, Auth(_): Auth<Admin>, Path(login): Path<String>) -> R {
    Ok(ok(s.activity(&login)?))
}

async fn users_activity(AxState(s): St, Auth(_): Auth<Admin>, q: Query) -> R {
    Ok(ok(Value::Array(
        s.all_activity(query_bool(&q, "enabledUsersOnly")),
    )))
}

async fn resync_user(AxState(s): St, Auth(_): Auth<Admin>, Path(login): Path<String>) -> R {
    s.get_user(&login)?;
    Ok(ok(s.finished_future(Value::Null)))
}

async fn resync_multi(AxState(s): St, Auth(_): Auth<Admin>, _body: Bytes) -> R {
    Ok(ok(s.finished_future(Value::Null)))
}

async fn users_info(AxState(s): St, Auth(_): Auth<Caller>) -> R {
    Ok(ok(Value::Array(s.users_info())))
}

async fn user_info(AxState(s): St, Auth(_): Auth<Caller>, Path(login): Path<String>) -> R {
    Ok(ok(s.user_info(&login)?))
}

async fn trial_expired(Auth(_): Auth<Admin>) -> R {
    Ok(ok(json!([])))
}

async fn licensing_status(AxState(s): St, Auth(_): Auth<Admin>) -> R {
    Ok(ok(s.licence().status()))
}

// ----- bulk -------------------------------------------------------------------------

async fn bulk_create(AxState(s): St, Auth(_): Auth<Admin>, body: Bytes) -> R {
    Ok(ok(Value::Array(s.bulk_create(&body_array(&body)?))))
}

async fn bulk_edit(AxState(s): St, Auth(_): Auth<Admin>, body: Bytes) -> R {
    Ok(ok(Value::Array(s.bulk_edit(&body_array(&body)?))))
}

async fn bulk_delete(AxState(s): St, Auth(Admin(c)): Auth<Admin>, q: Query, body: Bytes) -> R {
    Ok(ok(Value::Array(s.bulk_delete(
        &c,
        &body_array(&body)?,
        query_bool(&q, "allowSelfDeletion"),
    ))))
}

// ----- groups -----------------------------------------------------------------------

async fn list_groups(AxState(s): St, Auth(_): Auth<Admin>) -> R {
    Ok(ok(Value::Array(s.list_groups())))
}

async fn groups_info(AxState(s): St, Auth(_): Auth<Caller>) -> R {
    Ok(ok(Value::Array(s.groups_info())))
}

async fn create_group(AxState(s): St, Auth(_): Auth<Admin>, body: Bytes) -> R {
    let name = s.create_group(&body_object(&body)?)?;
    Ok(ok(json!({"msg": format!("Created group {name}")})))
}

async fn get_group(AxState(s): St, Auth(_): Auth<Admin>, Path(name): Path<String>) -> R {
    Ok(ok(Value::Object(s.get_group(&name)?)))
}

async fn put_group(
    AxState(s): St,
    Auth(_): Auth<Admin>,
    Path(name): Path<String>,
    body: Bytes,
) -> R {
    s.replace_group(&name, body_object(&body)?)?;
    Ok(ok(json!({"msg": format!("Edited group {name}")})))
}

async fn delete_group(AxState(s): St, Auth(_): Auth<Admin>, Path(name): Path<String>) -> R {
    s.delete_group(&name)?;
    Ok(ok(json!({"msg": format!("Deleted group {name}")})))
}

async fn authorization_matrix(AxState(s): St, Auth(_): Auth<Admin>) -> R {
    Ok(ok(s.authorization_matrix()))
}

// ----- projects ---------------------------------------------------------------------

async fn list_projects(AxState(s): St, Auth(_): Auth<Caller>) -> R {
    Ok(ok(Value::Array(s.list_projects())))
}

async fn create_project(AxState(s): St, Auth(Admin(c)): Auth<Admin>, body: Bytes) -> R {
    let key = s.create_project(&body_object(&body)?, &c)?;
    Ok(ok(json!({"projectKey": key})))
}

async fn get_permissions(AxState(s): St, Auth(_): Auth<Admin>, Path(key): Path<String>) -> R {
    Ok(ok(Value::Object(s.permissions(&key)?)))
}

async fn put_permissions(
    AxState(s): St,
    Auth(_): Auth<Admin>,
    Path(key): Path<String>,
    body: Bytes,
) -> R {
    s.replace_permissions(&key, body_object(&body)?)?;
    Ok(ok(json!({"msg": "Permissions saved"})))
}

// ----- futures ----------------------------------------------------------------------

async fn get_future(Auth(_): Auth<Caller>, Path(id): Path<String>) -> R {
    Ok(ok(json!({
        "jobId": id,
        "hasResult": true,
        "alive": false,
        "result": null,
        "progress": {"states": []},
    })))
}

async fn abort_future(Auth(_): Auth<Caller>, Path(_id): Path<String>) -> R {
    Ok(ok(json!({})))
}

/// The router over `state`. Without the bulk setting (a server older than 14.2), the bulk
/// endpoints answer 404 and `includeSettings` is ignored.
pub fn router(state: Arc<State>) -> Router {
    let mut r = Routes::new(ROOTS, true);
    r = r.at("/auth/info", get(auth_info));
    r = r.at("/current-user", get(current_user).put(save_current_user));
    r = r.at("/admin/users/", get(list_users).post(create_user));
    r = r.at(
        "/admin/users/{login}",
        get(get_user).put(put_user).delete(delete_user),
    );
    r = r.at("/admin/users/{login}/activity", get(user_activity));
    r = r.at("/admin/users/{login}/actions/resync", post(resync_user));
    r = r.at("/admin/users/actions/resync-multi", post(resync_multi));
    r = r.at("/admin/users-activity", get(users_activity));
    r = r.at("/admin/list-trial-expired-users", get(trial_expired));
    if state.settings().bulk {
        r = r.at(
            "/admin/users/actions/bulk",
            post(bulk_create).put(bulk_edit).delete(bulk_delete),
        );
    }
    r = r.at("/admin/licensing/status", get(licensing_status));
    r = r.at("/admin/groups/", get(list_groups).post(create_group));
    r = r.at(
        "/admin/groups/{name}",
        get(get_group).put(put_group).delete(delete_group),
    );
    r = r.at("/admin/authorization-matrix", get(authorization_matrix));
    r = r.at("/users", get(users_info));
    r = r.at("/users/{login}", get(user_info));
    r = r.at("/groups", get(groups_info));
    r = r.at("/projects/", get(list_projects).post(create_project));
    r = r.at(
        "/projects/{key}/permissions",
        get(get_permissions).put(put_permissions),
    );
    r = r.at("/futures/{id}", get(get_future).merge(delete(abort_future)));
    r.finish(state, ApiError::not_found("No such API endpoint"), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_ignore_case() {
        let q = Query::parse(Some("a=True&b=FALSE"));
        assert!(query_bool(&q, "a"));
        assert!(!query_bool(&q, "b"));
        assert!(!query_bool(&q, "c"));
    }
}
