//! HTTP sessions and the user connections they open: login, authentication, logout, the sessions monitor and disconnection.

use super::*;

impl Inner {
    /// Checks credentials and opens a session: returns `(token, cookie)`.
    pub fn login(
        &mut self,
        mode: i64,
        username: &str,
        password: &str,
        application_type: i64,
        client: &str,
    ) -> ApiResult<(String, String)> {
        let user_id = match mode {
            1 | 16 => {
                let user = self
                    .index
                    .user_with_login(username)
                    .and_then(|id| self.users.get(id))
                    .ok_or_else(|| ApiError::login_failed("Login failed"))?;
                // Standard login of an account bound to LDAP or trusted authentication
                // (`standardAuth: false`) is refused whatever the password.
                if mode == 1 && user.extra.get("standardAuth") == Some(&Value::Bool(false)) {
                    return Err(ApiError::login_failed(
                        "Login failed: standard authentication is not allowed for this user",
                    ));
                }
                // A user created without a password logs in with an empty one, as on a
                // server whose minimum password length is 0 (the vendor's default).
                let ok = match &user.password {
                    Some(p) => p == password,
                    None => password.is_empty(),
                };
                if !ok {
                    return Err(ApiError::login_failed("Login failed"));
                }
                if !user.enabled {
                    return Err(ApiError::login_failed(
                        "Login failed: the user account is disabled",
                    ));
                }
                if user.require_new_password {
                    return Err(ApiError::login_failed(
                        "Login failed: the password must be changed before the first login",
                    ));
                }
                user.id.clone()
            }
            4096 => {
                let id = self
                    .api_tokens
                    .get(username)
                    .cloned()
                    .ok_or_else(|| ApiError::login_failed("Login failed: invalid API token"))?;
                match self.users.get(&id) {
                    Some(u) if u.enabled => id,
                    _ => return Err(ApiError::login_failed("Login failed")),
                }
            }
            8 => {
                return Err(ApiError::login_failed(
                    "Login failed: anonymous authentication is not enabled",
                ));
            }
            other => {
                return Err(ApiError::invalid(format!(
                    "Login mode {other} is not supported by this server"
                )));
            }
        };
        Ok(self.open_session(&user_id, application_type, client))
    }

    /// Opens a session for a user (after a login or a delegation).
    pub fn open_session(
        &mut self,
        user_id: &str,
        application_type: i64,
        client: &str,
    ) -> (String, String) {
        let t = now();
        let token = new_token();
        let cookie = new_object_id();
        let session_id = new_object_id();
        let config_connection = ConnectionRec {
            id: format!("{session_id}:-1:{}", base64_of(NODE_NAME)),
            project_id: None,
            created: t,
            last_used: t,
        };
        self.sessions.insert(
            token.clone(),
            SessionRec {
                token: token.clone(),
                cookie: cookie.clone(),
                session_id,
                user_id: user_id.to_string(),
                application_type,
                client: client.to_string(),
                last_used: t,
                connections: vec![config_connection],
            },
        );
        (token, cookie)
    }

    /// The session of a request: the token must be known, not idle past the timeout, and
    /// presented with its cookie. Touches it and opens a project connection when the
    /// request names a project.
    pub fn authenticate(
        &mut self,
        token: Option<&str>,
        cookie: Option<&str>,
        project: Option<&str>,
        timeout_secs: i64,
    ) -> ApiResult<SessionRec> {
        let token = token.ok_or_else(ApiError::session_expired)?;
        let t = now();
        let expired = match self.sessions.get(token) {
            None => return Err(ApiError::session_expired()),
            Some(s) => (t - s.last_used).num_seconds() > timeout_secs,
        };
        if expired {
            self.sessions.remove(token);
            return Err(ApiError::session_expired());
        }
        let project_index = project.and_then(|p| {
            self.projects
                .iter()
                .position(|x| x.id.eq_ignore_ascii_case(p))
                .map(|i| (i, self.projects[i].id.clone()))
        });
        let Some(session) = self.sessions.get_mut(token) else {
            return Err(ApiError::session_expired());
        };
        // The REST tier keeps the token inside its HTTP session: without the cookie the
        // token is unknown to it.
        if cookie != Some(session.cookie.as_str()) {
            return Err(ApiError::session_expired());
        }
        session.last_used = t;
        if let Some(first) = session.connections.first_mut() {
            first.last_used = t;
        }
        if let Some((index, pid)) = project_index {
            match session
                .connections
                .iter_mut()
                .find(|c| c.project_id.as_deref() == Some(pid.as_str()))
            {
                Some(c) => c.last_used = t,
                None => {
                    let id = format!("{}:{index}:{}", session.session_id, base64_of(NODE_NAME));
                    session.connections.push(ConnectionRec {
                        id,
                        project_id: Some(pid),
                        created: t,
                        last_used: t,
                    });
                }
            }
        }
        Ok(session.clone())
    }

    /// Ends a session (logout).
    pub fn logout(&mut self, token: &str) {
        self.sessions.remove(token);
    }

    /// Every user connection, oldest session first.
    pub fn connections(&self) -> Vec<Value> {
        let mut sessions: Vec<&SessionRec> = self.sessions.values().collect();
        sessions.sort_by(|a, b| {
            let a0 = a.connections.first().map(|c| c.created);
            let b0 = b.connections.first().map(|c| c.created);
            a0.cmp(&b0).then_with(|| a.session_id.cmp(&b.session_id))
        });
        let t = now();
        let mut out = Vec::new();
        for s in sessions {
            let (username, full_name) = self
                .users
                .get(&s.user_id)
                .map(|u| (u.username.clone(), u.full_name.clone()))
                .unwrap_or_default();
            let config_id = s
                .connections
                .first()
                .map(|c| c.id.clone())
                .unwrap_or_default();
            for (i, c) in s.connections.iter().enumerate() {
                let project = c.project_id.as_ref().and_then(|p| {
                    self.projects
                        .iter()
                        .position(|x| &x.id == p)
                        .map(|i| (i, &self.projects[i]))
                });
                out.push(json!({
                    "id": c.id,
                    "parentId": if i == 0 { String::new() } else { config_id.clone() },
                    "username": username,
                    "userFullName": full_name,
                    "projectIndex": project.map_or(-1, |(i, _)| i as i64),
                    "projectId": project.map_or(String::new(), |(_, p)| p.id.clone()),
                    "projectName": project.map_or(String::new(), |(_, p)| p.name.clone()),
                    "projectType": if project.is_some() { "Project" } else { "" },
                    "openJobsCount": 0,
                    "applicationType": application_name(s.application_type),
                    "dateConnectionCreated": ts(c.created),
                    "dateFirstJobSubmitted": ts(c.created),
                    "dateLastJobSubmitted": ts(c.last_used),
                    "lastAction": "",
                    "duration": (t - c.created).num_seconds(),
                    "sessionId": s.session_id,
                    "client": s.client,
                    "configLevel": project.is_none(),
                }));
            }
        }
        out
    }

    /// Ends one connection: a project connection closes alone, the configuration-level
    /// one ends its whole session. The caller's own session cannot be ended this way.
    /// Returns the per-connection HTTP-like status.
    pub fn disconnect(&mut self, connection_id: &str, caller_token: &str) -> (u16, String) {
        let Some((token, index)) = self.sessions.iter().find_map(|(tok, s)| {
            s.connections
                .iter()
                .position(|c| c.id == connection_id)
                .map(|i| (tok.clone(), i))
        }) else {
            return (
                404,
                format!("User connection '{connection_id}' does not exist"),
            );
        };
        if token == caller_token {
            return (
                403,
                "The connection of the current session cannot be disconnected".to_string(),
            );
        }
        if index == 0 {
            self.sessions.remove(&token);
        } else if let Some(s) = self.sessions.get_mut(&token) {
            s.connections.remove(index);
        }
        (200, "Disconnected".to_string())
    }

    /// Ends every session of a user (after the user was deleted or disabled).
    pub(super) fn end_sessions_of(&mut self, user_id: &str) {
        self.sessions.retain(|_, s| s.user_id != user_id);
    }
}

fn application_name(application_type: i64) -> &'static str {
    match application_type {
        76 => "Python",
        35 => "Library",
        6 => "DSSScheduler",
        _ => "Library",
    }
}
