//! Groups: whole definitions with their permission flags.

use super::*;

impl State {
    /// `GET /admin/groups/`: whole definitions.
    pub fn list_groups(&self) -> Vec<Value> {
        self.lock()
            .groups
            .values()
            .map(|g| Value::Object(g.clone()))
            .collect()
    }

    /// `GET /groups`.
    pub fn groups_info(&self) -> Vec<Value> {
        self.lock()
            .groups
            .values()
            .map(|g| json!({"name": g.get("name"), "description": g.get("description")}))
            .collect()
    }

    /// `GET /admin/groups/{name}`.
    ///
    /// # Errors
    /// 404 for an unknown group.
    pub fn get_group(&self, name: &str) -> ApiResult<Doc> {
        self.lock()
            .groups
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("Group {name} not found")))
    }

    /// `POST /admin/groups/` with `{name, description, sourceType}`.
    ///
    /// # Errors
    /// 400 for a missing name, a duplicate or a bad source type.
    pub fn create_group(&self, body: &Doc) -> ApiResult<String> {
        let name = body
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ApiError::illegal("A group name is required"))?
            .to_string();
        let source = body
            .get("sourceType")
            .and_then(Value::as_str)
            .unwrap_or("LOCAL");
        if !SOURCE_TYPES.contains(&source) {
            return Err(ApiError::illegal(format!("Invalid sourceType: {source}")));
        }
        let description = match body.get("description") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(ApiError::illegal("`description` must be a string")),
        };
        let mut inner = self.lock();
        if inner.groups.contains_key(&name) {
            return Err(ApiError::illegal(format!("Group {name} already exists")));
        }
        inner
            .groups
            .insert(name.clone(), new_group(&name, description, source));
        Ok(name)
    }

    /// `PUT /admin/groups/{name}`: whole-definition replace, unknown keys kept.
    ///
    /// # Errors
    /// 404 for an unknown group; 400 for a rename or bad flag types.
    pub fn replace_group(&self, name: &str, mut body: Doc) -> ApiResult<()> {
        let mut inner = self.lock();
        if !inner.groups.contains_key(name) {
            return Err(ApiError::not_found(format!("Group {name} not found")));
        }
        match body.get("name") {
            None => {
                body.insert("name".into(), Value::String(name.into()));
            }
            Some(Value::String(n)) if n == name => {}
            Some(_) => return Err(ApiError::illegal("A group cannot be renamed")),
        }
        check_flags(&body, "a group")?;
        normalize_external_names(&mut body)?;
        inner.groups.insert(name.to_string(), body);
        Ok(())
    }

    /// `DELETE /admin/groups/{name}`: also removes the name from users and project
    /// permissions.
    ///
    /// # Errors
    /// 404 for an unknown group.
    pub fn delete_group(&self, name: &str) -> ApiResult<()> {
        let mut inner = self.lock();
        if inner.groups.remove(name).is_none() {
            return Err(ApiError::not_found(format!("Group {name} not found")));
        }
        for user in inner.users.values_mut() {
            let groups: Vec<String> = crate::emulator::state::groups_of(user)
                .into_iter()
                .filter(|g| g != name)
                .collect();
            crate::wire::set_user_groups(user, &groups);
        }
        for p in inner.projects.values_mut() {
            if let Some(Value::Array(items)) = p.permissions.get_mut("permissions") {
                items.retain(|e| e.get("group").and_then(Value::as_str) != Some(name));
            }
        }
        Ok(())
    }
}
