//! Grants (sessions) of a user: new grants, listing, reading and revocation.

use super::*;

impl State {
    pub(super) fn may_see_sessions(caller: &Caller, user_id: &str) -> ApiResult<()> {
        if caller.is_admin() || caller.user_id == user_id {
            Ok(())
        } else {
            Err(forbidden())
        }
    }

    /// `POST /users/{id}/grants`.
    ///
    /// # Errors
    /// 400 for an unknown type or a service grant without `for_client_id`; 403; 404.
    pub fn new_grant(
        &self,
        caller: &Caller,
        user_id: &str,
        fields: &Map<String, Value>,
    ) -> ApiResult<Value> {
        Self::may_see_sessions(caller, user_id)?;
        let kind = fields
            .get("type")
            .and_then(value_text)
            .unwrap_or_else(|| "user".into());
        if kind != "user" && kind != "service" {
            return Err(ApiError::new(400, format!("Invalid grant type {kind}")));
        }
        let for_client_id = fields.get("for_client_id").and_then(value_text);
        if kind == "service" && for_client_id.is_none() {
            return Err(ApiError::new(400, "A service grant needs for_client_id"));
        }
        let project_permissions: Vec<String> = fields
            .get("project_permissions")
            .and_then(value_text)
            .map(|t| {
                t.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .filter(|v: &Vec<String>| !v.is_empty())
            .unwrap_or_else(|| vec!["*".into()]);
        let mut inner = self.lock();
        if inner.user(user_id).is_none() {
            return Err(not_found("User", user_id));
        }
        let now = Utc::now();
        let session = ESession {
            id: new_id(),
            user_id: user_id.to_string(),
            kind,
            refresh_token: new_hex(64),
            created_at: now,
            valid_to: now + chrono::Duration::days(3650),
            last_used: None,
            for_client_id,
            project_permissions,
            revoked: false,
        };
        let out = json!({"id": session.id, "refresh_token": session.refresh_token});
        inner.sessions.push(session);
        Ok(out)
    }

    /// `GET /users/{id}/grants`: the user's `user` and `service` grants.
    ///
    /// # Errors
    /// 403; 404.
    pub fn list_grants(&self, caller: &Caller, user_id: &str) -> ApiResult<Value> {
        Self::may_see_sessions(caller, user_id)?;
        let inner = self.lock();
        if inner.user(user_id).is_none() {
            return Err(not_found("User", user_id));
        }
        let grants: Vec<Value> = inner
            .sessions
            .iter()
            .filter(|s| s.user_id == user_id && s.kind != "login" && !s.revoked)
            .map(|s| {
                json!({
                    "id": s.id,
                    "type": s.kind,
                    "created_at": fmt_time(s.created_at),
                    "valid_to": fmt_time(s.valid_to),
                })
            })
            .collect();
        Ok(json!({ "grants": grants }))
    }

    /// `GET /users/{id}/sessions/{sid}`.
    ///
    /// # Errors
    /// 403; 404.
    pub fn get_session(
        &self,
        caller: &Caller,
        user_id: &str,
        session_id: &str,
    ) -> ApiResult<Value> {
        Self::may_see_sessions(caller, user_id)?;
        let inner = self.lock();
        let s = inner
            .sessions
            .iter()
            .find(|s| s.id == session_id && s.user_id == user_id && !s.revoked)
            .ok_or_else(|| not_found("Session", session_id))?;
        Ok(json!({
            "id": s.id,
            "user_id": s.user_id,
            "type": s.kind,
            "created_at": fmt_time(s.created_at),
            "valid_to": fmt_time(s.valid_to),
            "last_used": s.last_used.map(fmt_time),
            "client_id": s.for_client_id,
            "project_permissions": s.project_permissions,
        }))
    }

    /// `DELETE /users/{id}/sessions/{sid}`: revokes the refresh token and every access
    /// token of the session at once.
    ///
    /// # Errors
    /// 403; 404.
    pub fn delete_session(
        &self,
        caller: &Caller,
        user_id: &str,
        session_id: &str,
    ) -> ApiResult<()> {
        Self::may_see_sessions(caller, user_id)?;
        let mut inner = self.lock();
        let session = inner
            .sessions
            .iter_mut()
            .find(|s| s.id == session_id && s.user_id == user_id && !s.revoked)
            .ok_or_else(|| not_found("Session", session_id))?;
        session.revoked = true;
        inner.tokens.retain(|_, t| t.session_id != session_id);
        Ok(())
    }
}
