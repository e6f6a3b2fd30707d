//! The token exchange (refresh, password and access-token grants) and the authentication of callers.

use super::*;

impl State {
    /// The token exchange (`POST /oauth2/token`).
    ///
    /// # Errors
    /// 400 for a missing or unknown grant type or missing fields; 403 for a wrong
    /// password, another tenant or an unknown access token; 404 for an unknown refresh
    /// token; 410 for an expired or revoked one.
    pub fn token_exchange(&self, fields: &Map<String, Value>) -> ApiResult<Value> {
        let get = |k: &str| fields.get(k).and_then(value_text);
        if let Some(t) = get("tenant")
            && t != self.settings.tenant
        {
            return Err(ApiError::new(403, format!("Unknown tenant {t}")));
        }
        let mut inner = self.lock();
        let now = Utc::now();
        let session_idx = match get("grant_type").as_deref() {
            Some("refresh_token") => {
                let token = get("refresh_token")
                    .ok_or_else(|| ApiError::new(400, "Missing refresh_token"))?;
                let idx = inner
                    .sessions
                    .iter()
                    .position(|s| s.refresh_token == token)
                    .ok_or_else(|| ApiError::new(404, "Invalid refresh token"))?;
                if inner.sessions[idx].revoked {
                    return Err(ApiError::new(410, "Refresh token revoked"));
                }
                if inner.sessions[idx].valid_to <= now {
                    return Err(ApiError::new(410, "Refresh token expired"));
                }
                idx
            }
            Some("password") => {
                let (Some(username), Some(password)) = (get("username"), get("password")) else {
                    return Err(ApiError::new(400, "Missing username or password"));
                };
                let user = inner
                    .user_by_email(&username, |u| {
                        u.password.as_deref() == Some(password.as_str())
                    })
                    .ok_or_else(|| ApiError::new(403, "Invalid username or password"))?;
                let session = ESession {
                    id: new_id(),
                    user_id: user.id.clone(),
                    kind: "login".into(),
                    refresh_token: new_hex(64),
                    created_at: now,
                    valid_to: now + chrono::Duration::days(365),
                    last_used: None,
                    for_client_id: None,
                    project_permissions: vec!["*".into()],
                    revoked: false,
                };
                inner.sessions.push(session);
                inner.sessions.len() - 1
            }
            Some("access_token") => {
                let token = get("access_token")
                    .ok_or_else(|| ApiError::new(400, "Missing access_token"))?;
                let at = inner
                    .tokens
                    .get(&token)
                    .filter(|t| t.expires > Instant::now())
                    .cloned()
                    .ok_or_else(|| ApiError::new(403, "Invalid access token"))?;
                inner
                    .sessions
                    .iter()
                    .position(|s| s.id == at.session_id && !s.revoked)
                    .ok_or_else(|| ApiError::new(410, "Session revoked"))?
            }
            Some(other) => {
                return Err(ApiError::new(
                    400,
                    format!("Unsupported grant_type {other}"),
                ));
            }
            None => return Err(ApiError::new(400, "Missing grant_type")),
        };
        let session = inner.sessions[session_idx].clone();
        let Some(user) = inner.user(&session.user_id).cloned() else {
            return Err(ApiError::new(410, "The token's user no longer exists"));
        };
        inner.sessions[session_idx].last_used = Some(now);
        let access = new_hex(40);
        // Expired tokens are answered 401 either way; dropping them keeps a long-running
        // emulator's memory flat.
        let now_instant = Instant::now();
        inner.tokens.retain(|_, t| t.expires > now_instant);
        inner.tokens.insert(
            access.clone(),
            AccessToken {
                session_id: session.id.clone(),
                user_id: user.id.clone(),
                expires: Instant::now() + self.settings.access_token_ttl,
            },
        );
        let user_information = get("user_information")
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .unwrap_or_else(|| json!({}));
        Ok(json!({
            "access_token": access,
            // The same refresh token every time: a shared development token must keep
            // working for every client that holds it.
            "refresh_token": session.refresh_token,
            "session_id": session.id,
            "user_id": user.id,
            "tenant": self.settings.tenant,
            "role": user.role,
            "role_permissions": server_role_privileges(&user.role),
            "project_permissions": session.project_permissions,
            "user_information": user_information,
        }))
    }

    /// The caller behind a bearer token.
    ///
    /// # Errors
    /// 401 for a missing, unknown or expired token, or a user that no longer exists.
    pub fn authenticate(&self, bearer: Option<&str>) -> ApiResult<Caller> {
        let token = bearer.ok_or_else(|| ApiError::new(401, "Authentication missing"))?;
        let inner = self.lock();
        let at = inner
            .tokens
            .get(token)
            .ok_or_else(|| ApiError::new(401, "Invalid access token"))?;
        if at.expires <= Instant::now() {
            return Err(ApiError::new(401, "Access token expired"));
        }
        let user = inner
            .user(&at.user_id)
            .ok_or_else(|| ApiError::new(401, "Invalid access token"))?;
        Ok(Caller {
            user_id: user.id.clone(),
            session_id: at.session_id.clone(),
            role: user.role.clone(),
        })
    }
}
