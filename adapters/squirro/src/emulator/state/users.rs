//! Users: listing, reading, creation, changes, deletion and passwords.

use super::*;

impl State {
    pub(super) fn user_json(
        inner: &Inner,
        u: &EUser,
        tenant: &str,
        include_projects: bool,
        include_config: bool,
    ) -> Value {
        let mut obj = Map::new();
        for (k, v) in &u.custom {
            obj.insert(k.clone(), v.clone());
        }
        obj.insert("id".into(), json!(u.id));
        obj.insert("email".into(), json!(u.email));
        obj.insert("full_name".into(), json!(u.full_name));
        obj.insert("role".into(), json!(u.role));
        obj.insert(
            "role_permissions".into(),
            json!(server_role_privileges(&u.role)),
        );
        obj.insert("tenant".into(), json!(tenant));
        super::role_updates::echo_role(inner.role_updates, &u.custom, &mut obj);
        let groups: Vec<Value> = inner
            .groups_of_user(&u.id)
            .into_iter()
            .map(|g| json!({"id": g.id, "name": g.name}))
            .collect();
        obj.insert("groups".into(), Value::Array(groups));
        if include_projects {
            let projects = inner.projects_of(&u.id, false);
            obj.insert("projects".into(), Value::Array(projects));
        }
        if include_config {
            obj.insert("config".into(), json!({}));
        }
        Value::Object(obj)
    }

    pub(super) fn user_summary(u: &EUser, tenant: &str) -> Value {
        json!({
            "email": u.email,
            "full_name": u.full_name,
            "id": u.id,
            "role": u.role,
            "role_permissions": server_role_privileges(&u.role),
            "tenant": tenant,
        })
    }

    /// `GET /users`.
    ///
    /// # Errors
    /// 403 for non-administrators.
    pub fn list_users(&self, caller: &Caller, include_config: bool) -> ApiResult<Value> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let inner = self.lock();
        let users: Vec<Value> = inner
            .users
            .iter()
            .map(|u| Self::user_json(&inner, u, &self.settings.tenant, false, include_config))
            .collect();
        Ok(json!({ "users": users }))
    }

    /// `GET /users/{id}`: administrators, or the user itself.
    ///
    /// # Errors
    /// 403, 404.
    pub fn get_user(&self, caller: &Caller, id: &str, include_projects: bool) -> ApiResult<Value> {
        if !caller.is_admin() && caller.user_id != id {
            return Err(forbidden());
        }
        let inner = self.lock();
        let u = inner.user(id).ok_or_else(|| not_found("User", id))?;
        Ok(Self::user_json(
            &inner,
            u,
            &self.settings.tenant,
            include_projects,
            false,
        ))
    }

    /// 409 when another user than `except` has this e-mail (in any case).
    fn email_free(inner: &Inner, except: Option<&str>, email: &str) -> ApiResult<()> {
        if inner.emails.taken(email, except) {
            Err(ApiError::new(
                409,
                format!("A user with email {email} already exists"),
            ))
        } else {
            Ok(())
        }
    }

    /// `POST /users`.
    ///
    /// # Errors
    /// 400 for a missing or malformed e-mail, an unknown role or a short password; 403;
    /// 409 for a taken e-mail.
    pub fn create_user(&self, caller: &Caller, fields: &Map<String, Value>) -> ApiResult<Value> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let email = fields
            .get("email")
            .and_then(value_text)
            .ok_or_else(|| ApiError::new(400, "A valid email address is required"))?;
        if !is_email(&email) {
            return Err(ApiError::new(400, format!("Invalid email address {email}")));
        }
        let role = fields
            .get("role")
            .and_then(value_text)
            .unwrap_or_else(|| "user".to_string());
        if !SERVER_ROLES.contains(&role.as_str()) {
            return Err(ApiError::new(400, format!("Invalid role {role}")));
        }
        let password = fields.get("password").and_then(value_text);
        if let Some(pw) = &password {
            self.check_password(pw)?;
        }
        let full_name = fields.get("full_name").and_then(value_text);
        let mut inner = self.lock();
        Self::email_free(&inner, None, &email)?;
        let user = EUser {
            id: new_id(),
            email,
            full_name,
            role,
            password,
            custom: Map::new(),
        };
        let out = Self::user_json(&inner, &user, &self.settings.tenant, false, false);
        inner.push_user(user);
        Ok(out)
    }

    /// `PUT /users/{id}`: `email`, `full_name`, `role` and `password` are fields; any
    /// other key is a custom value (`null` removes it).
    ///
    /// # Errors
    /// 400 for a malformed e-mail or unknown role; 403 (also for a non-administrator
    /// changing its own role); 404; 409 for a taken e-mail.
    pub fn update_user(
        &self,
        caller: &Caller,
        id: &str,
        fields: &Map<String, Value>,
    ) -> ApiResult<Value> {
        if !caller.is_admin() && (caller.user_id != id || fields.contains_key("role")) {
            return Err(forbidden());
        }
        if let Some(pw) = fields.get("password").and_then(value_text) {
            self.check_password(&pw)?;
        }
        let mut inner = self.lock();
        let idx = inner
            .user_position(id)
            .ok_or_else(|| not_found("User", id))?;
        if let Some(v) = fields.get("email") {
            let email = value_text(v).unwrap_or_default();
            if !is_email(&email) {
                return Err(ApiError::new(400, format!("Invalid email address {email}")));
            }
            Self::email_free(&inner, Some(id), &email)?;
        }
        if let Some(v) = fields.get("role") {
            let role = value_text(v).unwrap_or_default();
            if !SERVER_ROLES.contains(&role.as_str()) {
                return Err(ApiError::new(400, format!("Invalid role {role}")));
            }
        }
        if let Some(v) = fields.get("email") {
            let old = inner.users[idx].email.clone();
            inner.emails.remove(&old, id);
            inner.emails.add(&value_text(v).unwrap_or_default(), id);
        }
        let user = &mut inner.users[idx];
        for (k, v) in fields {
            match k.as_str() {
                "email" => user.email = value_text(v).unwrap_or_default(),
                "full_name" => user.full_name = value_text(v).filter(|s| !s.is_empty()),
                "role" => user.role = value_text(v).unwrap_or_default(),
                "password" => user.password = value_text(v),
                "id" | "tenant" | "role_permissions" | "groups" | "projects" | "config" => {}
                _ if v.is_null() || v.as_str() == Some("") => {
                    user.custom.remove(k);
                }
                _ => {
                    user.custom.insert(k.clone(), v.clone());
                }
            }
        }
        let user = inner.users[idx].clone();
        Ok(Self::user_json(
            &inner,
            &user,
            &self.settings.tenant,
            false,
            false,
        ))
    }

    /// `DELETE /users/{id}`: also removes the user from groups and projects and ends its
    /// sessions.
    ///
    /// # Errors
    /// 400 for deleting oneself; 403; 404.
    pub fn delete_user(&self, caller: &Caller, id: &str) -> ApiResult<()> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        if caller.user_id == id {
            return Err(ApiError::new(400, "You cannot delete your own user"));
        }
        let mut inner = self.lock();
        let Some(idx) = inner.user_position(id) else {
            return Err(not_found("User", id));
        };
        let gone = inner.users.remove(idx);
        inner.emails.remove(&gone.email, id);
        inner.reindex_users();
        for gid in inner.groups_of.take(id) {
            if let Some(at) = inner.group_position(&gid) {
                inner.groups[at].members.retain(|m| m != id);
            }
        }
        for p in &mut inner.projects {
            p.members.retain(|m| m.is_group || m.member_id != id);
        }
        inner.sessions.retain(|s| s.user_id != id);
        inner.tokens.retain(|_, t| t.user_id != id);
        Ok(())
    }

    pub(super) fn check_password(&self, pw: &str) -> ApiResult<()> {
        if pw.chars().count() < self.settings.min_password_length {
            return Err(ApiError::new(
                400,
                format!(
                    "Password must be at least {} characters long",
                    self.settings.min_password_length
                ),
            ));
        }
        Ok(())
    }

    /// `PUT /users/{id}/password`.
    ///
    /// # Errors
    /// 400 for a wrong current password, a mismatched confirmation or a short password;
    /// 403; 404.
    pub fn change_password(
        &self,
        caller: &Caller,
        id: &str,
        fields: &Map<String, Value>,
    ) -> ApiResult<Value> {
        if !caller.is_admin() && caller.user_id != id {
            return Err(forbidden());
        }
        let get = |k: &str| fields.get(k).and_then(value_text).unwrap_or_default();
        let (current, new, confirm) = (
            get("current_password"),
            get("new_password"),
            get("new_password_confirm"),
        );
        if new != confirm {
            return Err(ApiError::new(
                400,
                "New password and confirmation do not match",
            ));
        }
        self.check_password(&new)?;
        let mut inner = self.lock();
        let user = inner.user_mut(id).ok_or_else(|| not_found("User", id))?;
        if caller.user_id == id
            && user.password.is_some()
            && user.password.as_deref() != Some(current.as_str())
        {
            return Err(ApiError::new(400, "Current password is wrong"));
        }
        user.password = Some(new);
        Ok(json!({}))
    }

    /// `GET /users/password_policy`.
    pub fn password_policy(&self) -> Value {
        json!({
            "min_length": self.settings.min_password_length,
            "require_lowercase": false,
            "require_uppercase": false,
            "require_digits": false,
            "require_special": false,
        })
    }
}
