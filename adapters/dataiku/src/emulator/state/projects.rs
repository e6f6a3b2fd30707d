//! Projects and their permissions documents.

use super::*;

impl State {
    /// `GET /projects/`.
    pub fn list_projects(&self) -> Vec<Value> {
        self.lock()
            .projects
            .values()
            .map(|p| Value::Object(p.summary.clone()))
            .collect()
    }

    /// `POST /projects/`.
    ///
    /// # Errors
    /// 400 for a missing or taken key.
    pub fn create_project(&self, body: &Doc, caller: &Caller) -> ApiResult<String> {
        let key = body
            .get("projectKey")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| ApiError::illegal("A projectKey is required"))?
            .to_string();
        if self.has_project(&key) {
            return Err(ApiError::illegal(format!("Project {key} already exists")));
        }
        let name = body
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(&key)
            .to_string();
        let owner = body
            .get("owner")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| caller.login.clone())
            .unwrap_or_default();
        let entries = match body.get("permissions") {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        };
        self.seed_project(&key, &name, &owner, entries);
        Ok(key)
    }

    pub(super) fn project_missing(key: &str) -> ApiError {
        // What DSS is reported to answer for an unknown (or inaccessible) project.
        ApiError::unauthorized(format!(
            "Failed to read project permissions: no project {key}"
        ))
    }

    /// `GET /projects/{key}/permissions`.
    ///
    /// # Errors
    /// 403 (`UnauthorizedException`) for an unknown project.
    pub fn permissions(&self, key: &str) -> ApiResult<Doc> {
        self.lock()
            .projects
            .get(key)
            .map(|p| p.permissions.clone())
            .ok_or_else(|| Self::project_missing(key))
    }

    /// `PUT /projects/{key}/permissions`: whole-document replace, unknown keys kept.
    ///
    /// # Errors
    /// 403 for an unknown project; 400 for entries without exactly one of `group` and
    /// `user`, or flags that are not booleans.
    pub fn replace_permissions(&self, key: &str, body: Doc) -> ApiResult<()> {
        let mut inner = self.lock();
        let Some(p) = inner.projects.get_mut(key) else {
            return Err(Self::project_missing(key));
        };
        match body.get("permissions") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for e in items {
                    let Value::Object(e) = e else {
                        return Err(ApiError::illegal("each permission must be an object"));
                    };
                    let g = e
                        .get("group")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty());
                    let u = e
                        .get("user")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty());
                    if g.is_some() == u.is_some() {
                        return Err(ApiError::illegal(
                            "each permission names exactly one of `group` and `user`",
                        ));
                    }
                    for (k, v) in e {
                        if k != "group" && k != "user" && !v.is_boolean() && !v.is_null() {
                            return Err(ApiError::illegal(format!(
                                "permission flag `{k}` must be a boolean"
                            )));
                        }
                    }
                }
            }
            Some(_) => return Err(ApiError::illegal("`permissions` must be a list")),
        }
        if let Some(owner) = body.get("owner").and_then(Value::as_str) {
            p.summary
                .insert("owner".into(), Value::String(owner.into()));
        }
        p.permissions = body;
        Ok(())
    }
}
