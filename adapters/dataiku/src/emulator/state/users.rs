//! Users: whole settings documents, activity, creation, changes and deletion.

use super::*;

impl State {
    pub(super) fn user_summary(inner: &Inner, doc: &Doc) -> Value {
        let login = doc.get("login").cloned().unwrap_or(Value::Null);
        json!({
            "login": login,
            "displayName": doc.get("displayName").cloned().unwrap_or(Value::Null),
            "email": doc.get("email").cloned().unwrap_or(Value::Null),
            "groups": doc.get("groups").cloned().unwrap_or(json!([])),
            "sourceType": doc.get("sourceType").cloned().unwrap_or(Value::Null),
            "userProfile": doc.get("userProfile").cloned().unwrap_or(Value::Null),
            "enabled": doc.get("enabled").cloned().unwrap_or(Value::Bool(true)),
            "codeAllowed": login.as_str().is_some_and(|l| Self::user_is_admin(inner, l)),
            "objectImgHash": 0,
            "activeWebSocketSesssions": 0,
            "trialStatus": doc.get("trialStatus").cloned().unwrap_or(Value::Null),
        })
    }

    /// `GET /admin/users/`: list items, or whole settings with `includeSettings` on a
    /// server that has it.
    pub fn list_users(&self, include_settings: bool) -> Vec<Value> {
        let inner = self.lock();
        inner
            .users
            .values()
            .map(|d| {
                if include_settings && self.settings.bulk {
                    Value::Object(d.clone())
                } else {
                    Self::user_summary(&inner, d)
                }
            })
            .collect()
    }

    /// `GET /admin/users/{login}`.
    ///
    /// # Errors
    /// 404 for an unknown login.
    pub fn get_user(&self, login: &str) -> ApiResult<Doc> {
        self.lock()
            .users
            .get(login)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("User {login} not found")))
    }

    /// `GET /users/{login}` (basic info).
    ///
    /// # Errors
    /// 404 for an unknown login.
    pub fn user_info(&self, login: &str) -> ApiResult<Value> {
        let d = self.get_user(login)?;
        Ok(json!({
            "login": d.get("login"),
            "displayName": d.get("displayName"),
            "groups": d.get("groups"),
            "email": d.get("email"),
            "enabled": d.get("enabled"),
        }))
    }

    /// `GET /users`.
    pub fn users_info(&self) -> Vec<Value> {
        let logins: Vec<String> = self.lock().users.keys().cloned().collect();
        logins
            .iter()
            .filter_map(|l| self.user_info(l).ok())
            .collect()
    }

    pub(super) fn check_groups_exist(inner: &Inner, groups: &[String]) -> ApiResult<()> {
        for g in groups {
            if !inner.groups.contains_key(g) {
                return Err(ApiError::illegal(format!("Group {g} does not exist")));
            }
        }
        Ok(())
    }

    pub(super) fn create_user_locked(inner: &mut Inner, body: &Doc) -> ApiResult<String> {
        let login = body
            .get("login")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .ok_or_else(|| ApiError::illegal("A login is required"))?
            .to_string();
        if inner.users.contains_key(&login) {
            return Err(ApiError::illegal(format!("User {login} already exists")));
        }
        let source_type = body
            .get("sourceType")
            .and_then(Value::as_str)
            .unwrap_or("LOCAL")
            .to_string();
        if !SOURCE_TYPES.contains(&source_type.as_str()) {
            return Err(ApiError::illegal(format!(
                "Invalid sourceType: {source_type}"
            )));
        }
        let profile = body
            .get("userProfile")
            .and_then(Value::as_str)
            .unwrap_or("DATA_SCIENTIST")
            .to_string();
        if profile.trim().is_empty() {
            return Err(ApiError::illegal("Invalid userProfile"));
        }
        let groups = str_list(body.get("groups"), "groups")?;
        Self::check_groups_exist(inner, &groups)?;
        let email = match body.get("email") {
            None | Some(Value::Null) => Value::Null,
            Some(Value::String(s)) => Value::String(s.clone()),
            Some(_) => return Err(ApiError::illegal("`email` must be a string")),
        };
        let mut doc = obj(json!({
            "login": login,
            "displayName": body.get("displayName").and_then(Value::as_str).unwrap_or(""),
            "email": email,
            "sourceType": source_type,
            "userProfile": profile,
            "enabled": true,
            "groups": groups,
            "creationDate": now_ms(),
        }));
        complete_user(&mut doc);
        if let Some(Value::String(pw)) = body.get("password") {
            inner.passwords.insert(login.clone(), pw.clone());
        }
        inner.activity.insert(login.clone(), ActivityRec::default());
        inner.users.insert(login.clone(), doc);
        Ok(login)
    }

    /// `POST /admin/users/`.
    ///
    /// # Errors
    /// 400 for a missing login, a duplicate, a bad source type or an unknown group.
    pub fn create_user(&self, body: &Doc) -> ApiResult<String> {
        self.licence.check_create(body)?;
        Self::create_user_locked(&mut self.lock(), body)
    }

    pub(super) fn replace_user_locked(
        inner: &mut Inner,
        login: &str,
        mut body: Doc,
    ) -> ApiResult<()> {
        if !inner.users.contains_key(login) {
            return Err(ApiError::not_found(format!("User {login} not found")));
        }
        match body.get("login") {
            None => {
                body.insert("login".into(), Value::String(login.into()));
            }
            Some(Value::String(l)) if l == login => {}
            Some(_) => return Err(ApiError::illegal("The login of a user cannot be changed")),
        }
        if body.get("enabled").is_some_and(|v| !v.is_boolean()) {
            return Err(ApiError::illegal("`enabled` must be a boolean"));
        }
        let groups = str_list(body.get("groups"), "groups")?;
        Self::check_groups_exist(inner, &groups)?;
        if let Some(st) = body.get("sourceType").and_then(Value::as_str)
            && !SOURCE_TYPES.contains(&st)
        {
            return Err(ApiError::illegal(format!("Invalid sourceType: {st}")));
        }
        match body.remove("password") {
            Some(Value::String(pw)) if !pw.is_empty() => {
                inner.passwords.insert(login.to_string(), pw);
            }
            _ => {}
        }
        let created = inner
            .users
            .get(login)
            .and_then(|u| u.get("creationDate").cloned());
        complete_user(&mut body);
        if let Some(c) = created {
            body.entry("creationDate").or_insert(c);
        }
        inner.users.insert(login.to_string(), body);
        Ok(())
    }

    /// `PUT /admin/users/{login}`: whole-document replace, unknown keys kept, `password`
    /// taken out.
    ///
    /// # Errors
    /// 404 for an unknown login; 400 for a changed login, bad types or an unknown group.
    pub fn replace_user(&self, login: &str, body: Doc) -> ApiResult<()> {
        Self::replace_user_locked(&mut self.lock(), login, body)
    }

    /// `PUT /current-user`: the caller changes what a user may change on itself.
    ///
    /// # Errors
    /// 404 when the caller is not a user.
    pub fn save_own_settings(&self, login: &str, body: &Doc) -> ApiResult<()> {
        let mut inner = self.lock();
        let user = inner
            .users
            .get_mut(login)
            .ok_or_else(|| ApiError::not_found(format!("User {login} not found")))?;
        for k in [
            "userProperties",
            "secrets",
            "credentials",
            "preferences",
            "displayName",
        ] {
            if let Some(v) = body.get(k) {
                user.insert(k.into(), v.clone());
            }
        }
        Ok(())
    }

    pub(super) fn delete_user_locked(
        inner: &mut Inner,
        caller: &Caller,
        login: &str,
        allow_self: bool,
    ) -> ApiResult<()> {
        if !inner.users.contains_key(login) {
            return Err(ApiError::not_found(format!("User {login} not found")));
        }
        if caller.login.as_deref() == Some(login) && !allow_self {
            return Err(ApiError::unauthorized(
                "Refusing to delete the user this API key acts as (allowSelfDeletion is false)",
            ));
        }
        inner.users.remove(login);
        inner.passwords.remove(login);
        inner.activity.remove(login);
        inner.keys.retain(|_, k| k.user.as_deref() != Some(login));
        Ok(())
    }

    /// `DELETE /admin/users/{login}`.
    ///
    /// # Errors
    /// 404 for an unknown login; 403 when deleting the caller itself without
    /// `allowSelfDeletion`.
    pub fn delete_user(&self, caller: &Caller, login: &str, allow_self: bool) -> ApiResult<()> {
        Self::delete_user_locked(&mut self.lock(), caller, login, allow_self)
    }

    /// A stored password, for tests.
    pub fn password_of(&self, login: &str) -> Option<String> {
        self.lock().passwords.get(login).cloned()
    }

    /// Whether a sign-in to the DSS login page as `login` with `password` succeeds, as DSS
    /// decides it: only for an enabled `LOCAL` account with a password, and only with that
    /// password (never an empty one). Accounts of another source type sign in through
    /// their directory or single sign-on, never with a DSS password.
    pub fn can_sign_in(&self, login: &str, password: &str) -> bool {
        let inner = self.lock();
        let Some(doc) = inner.users.get(login) else {
            return false;
        };
        let local = doc.get("sourceType").and_then(Value::as_str) == Some("LOCAL");
        let enabled = doc.get("enabled").and_then(Value::as_bool) == Some(true);
        local
            && enabled
            && !password.is_empty()
            && inner.passwords.get(login).is_some_and(|p| p == password)
    }

    pub(super) fn activity_json(login: &str, a: &ActivityRec) -> Value {
        json!({
            "login": login,
            "lastSuccessfulLogin": a.last_successful_login,
            "lastFailedLogin": a.last_failed_login,
            "lastSessionActivity": a.last_session_activity,
        })
    }

    /// `GET /admin/users/{login}/activity`.
    ///
    /// # Errors
    /// 404 for an unknown login.
    pub fn activity(&self, login: &str) -> ApiResult<Value> {
        let inner = self.lock();
        if !inner.users.contains_key(login) {
            return Err(ApiError::not_found(format!("User {login} not found")));
        }
        let a = inner.activity.get(login).cloned().unwrap_or_default();
        Ok(Self::activity_json(login, &a))
    }

    /// `GET /admin/users-activity`.
    pub fn all_activity(&self, enabled_only: bool) -> Vec<Value> {
        let inner = self.lock();
        inner
            .users
            .iter()
            .filter(|(_, u)| {
                !enabled_only || u.get("enabled").and_then(Value::as_bool) != Some(false)
            })
            .map(|(l, _)| {
                Self::activity_json(l, &inner.activity.get(l).cloned().unwrap_or_default())
            })
            .collect()
    }
}
