//! Logins, delegation, the caller's session, identity and API tokens, and the server
//! status.

use super::*;
use crate::emulator::state::{PRIVILEGES, new_object_id};

fn int_field(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `POST /auth/login`, form-encoded or JSON.
pub(super) async fn login(State(st): St, headers: HeaderMap, body: Bytes) -> R {
    let is_json = header_text(&headers, "content-type").is_some_and(|c| c.contains("json"))
        || body.first() == Some(&b'{');
    let body: Value = if is_json {
        json_body(&body)?
    } else {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|_| ApiError::invalid("Invalid form body"))?;
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::from(v)))
                .collect(),
        )
    };
    let mode = int_field(body.get("loginMode")).unwrap_or(1);
    let app = int_field(body.get("applicationType")).unwrap_or(35);
    let username = body
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let password = body
        .get("password")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let client = header_text(&headers, "x-forwarded-for")
        .unwrap_or("127.0.0.1")
        .to_string();
    let (token, cookie) = st.lock().login(mode, username, password, app, &client)?;
    session_response(&token, &cookie)
}

fn session_response(token: &str, cookie: &str) -> R {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    let h = resp.headers_mut();
    h.insert(
        AUTH_TOKEN_HEADER,
        HeaderValue::from_str(token).map_err(|_| ApiError::invalid("token"))?,
    );
    h.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "JSESSIONID={cookie}; Path=/MicroStrategyLibrary; HttpOnly"
        ))
        .map_err(|_| ApiError::invalid("cookie"))?,
    );
    Ok(resp)
}

/// `POST /auth/delegate`: a session from an identity token.
pub(super) async fn delegate(State(st): St, body: Bytes) -> R {
    let body = json_body(&body)?;
    let token = body
        .get("identityToken")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::login_failed("Invalid identity token"))?;
    let mut i = st.lock();
    let user = i
        .identity_tokens
        .get(token)
        .cloned()
        .ok_or_else(|| ApiError::login_failed("Invalid identity token"))?;
    let (token, cookie) = i.open_session(&user, 35, "127.0.0.1");
    session_response(&token, &cookie)
}

/// `POST /auth/logout`.
pub(super) async fn logout(State(st): St, Auth(session): Auth<SessionRec>) -> R {
    st.lock().logout(&session.token);
    no_content()
}

/// `GET /status`, without a session.
pub(super) async fn status(State(st): St) -> R {
    ok(json!({
        "webVersion": st.settings.version,
        "iServerVersion": st.settings.version,
        "deploymentType": "onprem",
        "iServerRunning": true,
    }))
}

/// `GET /sessions`.
pub(super) async fn session(State(st): St, Auth(_): Auth<SessionRec>) -> R {
    ok(json!({
        "timeout": st.settings.session_timeout_secs,
        "workingSet": 10,
        "maxSearch": 3,
        "locale": 1033,
        "dateCreated": crate::wire::format_timestamp(chrono::Utc::now()),
    }))
}

/// `PUT /sessions`: the session is extended by the check itself.
pub(super) async fn extend_session(Auth(_): Auth<SessionRec>) -> R {
    no_content()
}

/// `GET /sessions/userInfo`.
pub(super) async fn user_info(State(st): St, Auth(session): Auth<SessionRec>) -> R {
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

/// `GET /sessions/privileges`.
pub(super) async fn own_privileges(Auth(_): Auth<SessionRec>) -> R {
    ok(json!({
        "privileges": PRIVILEGES.iter().map(|(id, name, _)| json!({
            "id": id, "name": name, "description": name, "isUserLevelAllowed": true, "projects": []
        })).collect::<Vec<_>>()
    }))
}

/// `POST /auth/identityToken`.
pub(super) async fn new_identity_token(State(st): St, Auth(session): Auth<SessionRec>) -> R {
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

/// `GET /auth/identityToken`: whether `X-MSTR-IdentityToken` is valid.
pub(super) async fn check_identity_token(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    headers: HeaderMap,
) -> R {
    let valid = header_text(&headers, "X-MSTR-IdentityToken")
        .is_some_and(|t| st.lock().identity_tokens.contains_key(t));
    if valid {
        no_content()
    } else {
        Err(ApiError::login_failed("Invalid identity token"))
    }
}

/// `POST /auth/apiTokens`: an API token for the caller or the user named.
pub(super) async fn new_api_token(
    State(st): St,
    Auth(session): Auth<SessionRec>,
    body: Bytes,
) -> R {
    let body = json_body(&body)?;
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
