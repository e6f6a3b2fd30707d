//! Logins, delegation, the caller's session and the server status.

use super::*;

pub(super) fn authenticate(st: &EmulatorState, req: &Req) -> ApiResult<SessionRec> {
    let cookie = req.cookie("JSESSIONID");
    st.lock().authenticate(
        req.header(AUTH_TOKEN_HEADER),
        cookie.as_deref(),
        req.header("X-MSTR-ProjectID").filter(|p| !p.is_empty()),
        st.settings.session_timeout_secs,
    )
}

fn int_field(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn login(st: &EmulatorState, req: &Req) -> ApiResult<Response> {
    let is_json = req
        .header("content-type")
        .is_some_and(|c| c.contains("json"))
        || req.body.first() == Some(&b'{');
    let body: Value = if is_json {
        req.json()?
    } else {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&req.body)
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
    let client = req
        .header("x-forwarded-for")
        .unwrap_or("127.0.0.1")
        .to_string();
    let (token, cookie) = st.lock().login(mode, username, password, app, &client)?;
    session_response(&token, &cookie)
}

fn session_response(token: &str, cookie: &str) -> ApiResult<Response> {
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

pub(super) fn delegate(st: &EmulatorState, req: &Req) -> ApiResult<Response> {
    let body = req.json()?;
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

pub(super) fn status(st: &EmulatorState) -> ApiResult<Response> {
    ok(json!({
        "webVersion": st.settings.version,
        "iServerVersion": st.settings.version,
        "deploymentType": "onprem",
        "iServerRunning": true,
    }))
}
