//! The emulated REST endpoints under `/MicroStrategyLibrary/api`.
//!
//! One dispatcher matches method and path segments, which keeps the trailing-slash
//! variants the official SDK sends (`/api/users/`, `/api/usergroups/`), literal segments
//! next to ids (`/api/usergroups/topLevel`) and the REST tier's own 404 for unknown routes
//! in one place.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use axum::response::IntoResponse;

use super::state::{
    ApiError, ApiResult, EmulatorState, MstrErrors, NODE_NAME, PRIVILEGES, SessionRec, begins_with,
    new_object_id, parse_operations,
};
use crate::client::{AUTH_TOKEN_HEADER, TOTAL_COUNT_HEADER};
use crate::wire::{EVERYONE_GROUP_ID, TYPE_SECURITY_ROLE, TYPE_USER_OR_GROUP};

mod auth;
mod lookups;

use auth::{authenticate, delegate, login, status};
use lookups::{list_users, object, principal_privileges, principal_roles};

/// The path every route lives under.
pub const PREFIX: &str = "/MicroStrategyLibrary/api/";

/// The router serving the whole API.
pub fn router(state: Arc<EmulatorState>) -> Router {
    Router::new().fallback(dispatch).with_state(state)
}

/// One request, parsed.
struct Req {
    method: Method,
    segs: Vec<String>,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
}

impl Req {
    fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn params(&self, key: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    fn json(&self) -> ApiResult<Value> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Map::new()));
        }
        serde_json::from_slice(&self.body).map_err(|_| ApiError::invalid("Invalid JSON"))
    }

    /// `offset` and `limit` (`-1` or absent: everything).
    fn window(&self) -> ApiResult<(usize, Option<usize>)> {
        let offset = match self.param("offset") {
            None | Some("") => 0,
            Some(o) => o
                .parse::<usize>()
                .map_err(|_| ApiError::invalid(format!("Invalid offset '{o}'")))?,
        };
        let limit = match self.param("limit") {
            None | Some("") | Some("-1") => None,
            Some(l) => Some(
                l.parse::<usize>()
                    .map_err(|_| ApiError::invalid(format!("Invalid limit '{l}'")))?,
            ),
        };
        Ok((offset, limit))
    }

    fn fields(&self) -> Option<Vec<String>> {
        self.param("fields").map(|f| {
            f.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
    }
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn error_response(e: ApiError) -> Response {
    e.into_response()
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

fn ok(body: Value) -> ApiResult<Response> {
    Ok(json_response(StatusCode::OK, &body))
}

/// A 200 answer serialized from a typed body (keeps its field order).
fn ok_body(body: &impl serde::Serialize) -> ApiResult<Response> {
    let text = serde_json::to_string(body)
        .map_err(|e| ApiError::invalid(format!("cannot encode the answer: {e}")))?;
    let mut resp = Response::new(Body::from(text));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

fn created(body: Value) -> ApiResult<Response> {
    Ok(json_response(StatusCode::CREATED, &body))
}

fn no_content() -> ApiResult<Response> {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    Ok(resp)
}

/// A page of a collection with `X-MSTR-Total-Count`, bare or wrapped under `key`.
fn paged(
    all: Vec<Value>,
    window: (usize, Option<usize>),
    key: Option<&str>,
) -> ApiResult<Response> {
    let total = all.len();
    let (offset, limit) = window;
    let page: Vec<Value> = all
        .into_iter()
        .skip(offset)
        .take(limit.unwrap_or(usize::MAX))
        .collect();
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

async fn dispatch(
    State(st): State<Arc<EmulatorState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return error_response(ApiError::no_route());
    };
    let mut segs: Vec<String> = rest.split('/').map(percent_decode).collect();
    while segs.last().is_some_and(String::is_empty) {
        segs.pop();
    }
    let query: Vec<(String, String)> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let req = Req {
        method,
        segs,
        query,
        headers,
        body,
    };
    match handle(&st, &req) {
        Ok(resp) => resp,
        Err(e) => error_response(e),
    }
}

fn handle(st: &EmulatorState, req: &Req) -> ApiResult<Response> {
    let segs: Vec<&str> = req.segs.iter().map(String::as_str).collect();
    match (req.method.clone(), segs.as_slice()) {
        (Method::POST, ["auth", "login"]) => return login(st, req),
        (Method::POST, ["auth", "delegate"]) => return delegate(st, req),
        (Method::GET, ["status"]) => return status(st),
        (Method::POST, ["auth", "logout"]) => {
            let session = authenticate(st, req)?;
            st.lock().logout(&session.token);
            return no_content();
        }
        _ => {}
    }
    let session = authenticate(st, req)?;
    match (req.method.clone(), segs.as_slice()) {
        (Method::GET, ["sessions"]) => ok(json!({
            "timeout": st.settings.session_timeout_secs,
            "workingSet": 10,
            "maxSearch": 3,
            "locale": 1033,
            "dateCreated": crate::wire::format_timestamp(chrono::Utc::now()),
        })),
        (Method::PUT, ["sessions"]) => no_content(),
        (Method::GET, ["sessions", "userInfo"]) => {
            let i = st.lock();
            let u = i
                .users
                .get(&session.user_id)
                .ok_or_else(ApiError::session_expired)?;
            ok(json!({
                "id": u.id,
                "fullName": u.full_name,
                "initials": u.full_name.split_whitespace().filter_map(|w| w.chars().next()).collect::<String>(),
                "username": u.username,
                "metadataUser": true,
            }))
        }
        (Method::GET, ["sessions", "privileges"]) => ok(json!({
            "privileges": PRIVILEGES.iter().map(|(id, name, _)| json!({
                "id": id, "name": name, "description": name, "isUserLevelAllowed": true, "projects": []
            })).collect::<Vec<_>>()
        })),
        (Method::POST, ["auth", "identityToken"]) => {
            let token = new_object_id().to_ascii_lowercase();
            st.lock()
                .identity_tokens
                .insert(token.clone(), session.user_id.clone());
            let mut resp = json_response(StatusCode::CREATED, &json!({}));
            resp.headers_mut().insert(
                "X-MSTR-IdentityToken",
                HeaderValue::from_str(&token).map_err(|_| ApiError::invalid("token"))?,
            );
            Ok(resp)
        }
        (Method::GET, ["auth", "identityToken"]) => {
            let valid = req
                .header("X-MSTR-IdentityToken")
                .is_some_and(|t| st.lock().identity_tokens.contains_key(t));
            if valid {
                no_content()
            } else {
                Err(ApiError::login_failed("Invalid identity token"))
            }
        }
        (Method::POST, ["auth", "apiTokens"]) => {
            let body = req.json()?;
            let user = body
                .get("userId")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| session.user_id.clone());
            let mut i = st.lock();
            if !i.users.contains_key(&user) {
                return Err(ApiError::not_found("User", &user));
            }
            let token = new_object_id().to_ascii_lowercase();
            i.api_tokens.insert(token.clone(), user);
            created(json!({"apiToken": token}))
        }

        // ----- users -----
        (Method::GET, ["users"]) => list_users(st, req),
        (Method::POST, ["users"]) => {
            let body = req.json()?;
            let mut i = st.lock();
            let id = i.create_user(&body)?;
            let u = i
                .users
                .get(&id)
                .ok_or_else(|| ApiError::not_found("User", &id))?;
            created(i.user_json(u))
        }
        (Method::GET, ["users", id]) => {
            let i = st.lock();
            let u = i
                .users
                .get(*id)
                .ok_or_else(|| ApiError::not_found("User", id))?;
            ok(select_fields(i.user_json(u), &req.fields()))
        }
        (Method::PATCH, ["users", id]) => {
            let ops = parse_operations(&req.json()?)?;
            let mut i = st.lock();
            i.patch_user(id, &ops)?;
            let u = i
                .users
                .get(*id)
                .ok_or_else(|| ApiError::not_found("User", id))?;
            ok(i.user_json(u))
        }
        (Method::DELETE, ["users", id]) => {
            st.lock().delete_user(id)?;
            no_content()
        }
        (Method::GET, ["users", id, "memberships"]) => {
            let i = st.lock();
            if !i.users.contains_key(*id) {
                return Err(ApiError::not_found("User", id));
            }
            let parents: Vec<Value> = i
                .parents_of(id)
                .iter()
                .map(|g| i.group_summary(g))
                .collect();
            ok(select_fields(Value::from(parents), &req.fields()))
        }
        (Method::GET, ["users", id, "securityRoles"]) => {
            principal_roles(st, id, req.param("projectId"))
        }
        (Method::GET, ["users", id, "privileges"]) => principal_privileges(st, id),
        (Method::DELETE, ["users", id, "profile"]) => {
            if st.lock().users.contains_key(*id) {
                no_content()
            } else {
                Err(ApiError::not_found("User", id))
            }
        }
        (Method::GET, ["users", id, "addresses"]) => {
            let i = st.lock();
            let u = i
                .users
                .get(*id)
                .ok_or_else(|| ApiError::not_found("User", id))?;
            let addresses: Vec<Value> = u.addresses.iter().map(|a| a.to_json()).collect();
            ok(json!({"addresses": addresses}))
        }
        (Method::POST, ["users", id, "addresses"]) => {
            let body = req.json()?;
            let mut i = st.lock();
            i.add_address(id, &body)?;
            let u = i
                .users
                .get(*id)
                .ok_or_else(|| ApiError::not_found("User", id))?;
            let addresses: Vec<Value> = u.addresses.iter().map(|a| a.to_json()).collect();
            created(json!({"addresses": addresses}))
        }
        (Method::PUT, ["users", id, "addresses", address]) => {
            let body = req.json()?;
            let mut i = st.lock();
            i.update_address(id, address, &body)?;
            let u = i
                .users
                .get(*id)
                .ok_or_else(|| ApiError::not_found("User", id))?;
            let addresses: Vec<Value> = u.addresses.iter().map(|a| a.to_json()).collect();
            ok(json!({"addresses": addresses}))
        }
        (Method::DELETE, ["users", id, "addresses", address]) => {
            st.lock().delete_address(id, address)?;
            no_content()
        }

        // ----- user groups -----
        (Method::GET, ["usergroups"]) => {
            let i = st.lock();
            let name = req.param("nameBegins");
            let all: Vec<Value> = i
                .group_order
                .iter()
                .filter_map(|g| i.groups.get(g))
                .filter(|g| name.is_none_or(|n| begins_with(&g.name, n)))
                .map(|g| select_fields(i.group_summary(g), &req.fields()))
                .collect();
            paged(all, req.window()?, None)
        }
        (Method::POST, ["usergroups"]) => {
            let body = req.json()?;
            let mut i = st.lock();
            let id = i.create_group(&body)?;
            let g = i
                .groups
                .get(&id)
                .ok_or_else(|| ApiError::not_found("User group", &id))?;
            created(i.group_json(g))
        }
        (Method::GET, ["usergroups", "topLevel"]) => {
            let i = st.lock();
            let top: Vec<Value> = i
                .group_order
                .iter()
                .filter_map(|g| i.groups.get(g))
                .filter(|g| g.id != EVERYONE_GROUP_ID && i.parents_of(&g.id).is_empty())
                .map(|g| i.group_summary(g))
                .collect();
            ok(Value::from(top))
        }
        (Method::GET, ["usergroups", id]) => {
            let i = st.lock();
            let g = i
                .groups
                .get(*id)
                .ok_or_else(|| ApiError::not_found("User group", id))?;
            ok(select_fields(i.group_json(g), &req.fields()))
        }
        (Method::PATCH, ["usergroups", id]) => {
            let ops = parse_operations(&req.json()?)?;
            let mut i = st.lock();
            i.patch_group(id, &ops)?;
            let g = i
                .groups
                .get(*id)
                .ok_or_else(|| ApiError::not_found("User group", id))?;
            ok(i.group_json(g))
        }
        (Method::DELETE, ["usergroups", id]) => {
            st.lock().delete_group(id)?;
            no_content()
        }
        (Method::GET, ["usergroups", id, "members"]) => {
            let i = st.lock();
            if !i.groups.contains_key(*id) {
                return Err(ApiError::not_found("User group", id));
            }
            let all: Vec<Value> = i
                .members_of(id)
                .iter()
                .filter_map(|m| i.member_entry(m))
                .collect();
            paged(all, req.window()?, None)
        }
        (Method::GET, ["usergroups", id, "memberships"]) => {
            let i = st.lock();
            if !i.groups.contains_key(*id) {
                return Err(ApiError::not_found("User group", id));
            }
            let parents: Vec<Value> = i
                .parents_of(id)
                .iter()
                .map(|g| i.group_summary(g))
                .collect();
            ok(Value::from(parents))
        }
        (Method::GET, ["usergroups", id, "securityRoles"]) => {
            principal_roles(st, id, req.param("projectId"))
        }
        (Method::GET, ["usergroups", id, "privileges"]) => principal_privileges(st, id),

        // ----- security roles -----
        (Method::GET, ["securityRoles"]) => {
            let i = st.lock();
            let all: Vec<Value> = i.roles.values().map(|r| i.role_summary(r)).collect();
            ok(select_fields(Value::from(all), &req.fields()))
        }
        (Method::POST, ["securityRoles"]) => {
            let body = req.json()?;
            let id = st.lock().create_role(&body)?;
            let mut resp = json_response(StatusCode::CREATED, &json!({"id": id}));
            if let Ok(v) = HeaderValue::from_str(&format!("{PREFIX}securityRoles/{id}")) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            Ok(resp)
        }
        (Method::GET, ["securityRoles", id]) => {
            let i = st.lock();
            let r = i
                .roles
                .get(*id)
                .ok_or_else(|| ApiError::not_found("Security role", id))?;
            ok_body(&i.role_json(r).select(&req.fields()))
        }
        (Method::PATCH, ["securityRoles", id, "members"]) => {
            if !crate::adapter::version_at_least(&st.settings.version, "11.6.0400") {
                return Err(ApiError::no_route());
            }
            let ops = parse_operations(&req.json()?)?;
            if ops.iter().any(|o| o.path != "members") {
                return Err(ApiError::invalid("Only '/members' can be changed here"));
            }
            let mut i = st.lock();
            i.patch_role(id, &ops)?;
            let r = i
                .roles
                .get(*id)
                .ok_or_else(|| ApiError::not_found("Security role", id))?;
            ok_body(&i.role_json(r))
        }
        (Method::PATCH, ["securityRoles", id]) => {
            let ops = parse_operations(&req.json()?)?;
            let mut i = st.lock();
            i.patch_role(id, &ops)?;
            let r = i
                .roles
                .get(*id)
                .ok_or_else(|| ApiError::not_found("Security role", id))?;
            ok_body(&i.role_json(r))
        }
        (Method::DELETE, ["securityRoles", id]) => {
            st.lock().delete_role(id)?;
            no_content()
        }
        (Method::GET, ["securityRoles", id, "projects", project, "members"]) => {
            let i = st.lock();
            let r = i
                .roles
                .get(*id)
                .ok_or_else(|| ApiError::not_found("Security role", id))?;
            let p = i
                .project(project)
                .ok_or_else(|| ApiError::not_found("Project", project))?;
            let members: Vec<Value> = r
                .members
                .get(&p.id)
                .map(|ms| ms.iter().filter_map(|m| i.principal_ref(m)).collect())
                .unwrap_or_default();
            ok(Value::from(members))
        }
        (Method::GET, ["iserver", "privileges"]) => ok(Value::from(
            PRIVILEGES
                .iter()
                .map(|(id, name, project)| {
                    json!({
                        "id": id,
                        "name": name,
                        "description": name,
                        "categories": [if *project { "Project" } else { "Server" }],
                        "isProjectLevelPrivilege": project,
                    })
                })
                .collect::<Vec<_>>(),
        )),
        (Method::GET, ["iserver", "privileges", "categories"]) => {
            ok(json!([{"name": "Project"}, {"name": "Server"}]))
        }

        // ----- monitors -----
        (Method::GET, ["monitors", "iServer", "nodes"]) => {
            let i = st.lock();
            let wanted = req.param("name");
            let projects: Vec<Value> = i
                .projects
                .iter()
                .map(|p| json!({"id": p.id, "name": p.name, "status": "loaded"}))
                .collect();
            let nodes: Vec<Value> = if wanted.is_none_or(|n| n == NODE_NAME) {
                vec![json!({
                    "name": NODE_NAME,
                    "address": "127.0.0.1",
                    "port": 34952,
                    "status": "running",
                    "load": 0,
                    "projects": projects,
                    "default": true,
                    "serviceControl": false,
                })]
            } else {
                Vec::new()
            };
            ok(json!({"nodes": nodes}))
        }
        (Method::GET, ["monitors", "userConnections"]) => {
            let i = st.lock();
            let all = match req.param("clusterNode") {
                None | Some(NODE_NAME) => i.connections(),
                Some(_) => Vec::new(),
            };
            paged(all, req.window()?, Some("userConnections"))
        }
        (Method::DELETE, ["monitors", "userConnections", id]) => {
            let (status, message) = st.lock().disconnect(id, &session.token);
            match status {
                200..=299 => no_content(),
                404 => Err(ApiError::not_found("User connection", id)),
                _ => Err(ApiError::iserver(message, -2_147_072_488)),
            }
        }
        (Method::POST, ["monitors", "deleteUserConnections"]) => {
            if !st.settings.bulk_disconnect {
                return Err(ApiError::no_route());
            }
            let body = req.json()?;
            let ids = body
                .get("userConnectionIds")
                .and_then(Value::as_array)
                .ok_or_else(|| ApiError::missing("userConnectionIds"))?;
            let mut i = st.lock();
            let mut statuses = Vec::new();
            for id in ids {
                let id = id.as_str().unwrap_or_default();
                let (status, message) = i.disconnect(id, &session.token);
                statuses.push(json!({"id": id, "status": status, "message": message}));
            }
            let succeeded = statuses
                .iter()
                .filter(|s| {
                    s["status"]
                        .as_u64()
                        .is_some_and(|c| (200..300).contains(&c))
                })
                .count();
            let overall = if succeeded == statuses.len() {
                StatusCode::OK
            } else if succeeded == 0 {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::MULTI_STATUS
            };
            Ok(json_response(
                overall,
                &json!({"deleteUserConnectionsStatus": statuses}),
            ))
        }
        (Method::GET, ["monitors", "projects"]) => {
            let i = st.lock();
            let all: Vec<Value> = i
                .projects
                .iter()
                .map(|p| {
                    json!({
                        "id": p.id,
                        "name": p.name,
                        "description": p.description,
                        "status": "loaded",
                        "nodes": [{"name": NODE_NAME, "status": "loaded"}],
                    })
                })
                .collect();
            paged(all, req.window()?, Some("projects"))
        }

        // ----- projects -----
        (Method::GET, ["projects"]) => {
            let i = st.lock();
            let all: Vec<Value> = i.projects.iter().map(|p| i.project_json(p)).collect();
            ok(Value::from(all))
        }
        (Method::GET, ["projects", id]) => {
            let i = st.lock();
            let p = i
                .project(id)
                .ok_or_else(|| ApiError::not_found("Project", id))?;
            ok(i.project_json(p))
        }

        // ----- generic objects -----
        (Method::GET | Method::PUT | Method::DELETE, ["objects", id]) => object(st, req, id),

        _ => Err(ApiError::no_route()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("a%2Bb%3D%3D"), "a+b==");
        assert_eq!(percent_decode("plain:-1"), "plain:-1");
        assert_eq!(percent_decode("bad%zz"), "bad%zz");
    }

    #[test]
    fn field_selection_keeps_only_named_keys() {
        let v = json!({"id": "a", "name": "n", "members": []});
        assert_eq!(
            select_fields(v, &Some(vec!["id".into(), "name".into()])),
            json!({"id": "a", "name": "n"})
        );
    }
}
