//! The bulk user endpoints of DSS 14.2 and later.

use super::*;

impl State {
    pub(super) fn bulk_item(login: &str, outcome: ApiResult<()>) -> Value {
        match outcome {
            Ok(()) => json!({"login": login, "status": "SUCCESS", "error": ""}),
            Err(e) => json!({"login": login, "status": "FAILURE", "error": e.message}),
        }
    }

    pub(super) fn login_of(v: &Value) -> String {
        v.get("login")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    /// `POST /admin/users/actions/bulk`.
    pub fn bulk_create(&self, items: &[Value]) -> Vec<Value> {
        let mut inner = self.lock();
        items
            .iter()
            .map(|item| {
                let login = Self::login_of(item);
                let outcome = match item {
                    Value::Object(body) => self
                        .licence
                        .check_create(body)
                        .and_then(|()| Self::create_user_locked(&mut inner, body))
                        .map(drop),
                    _ => Err(ApiError::illegal("each item must be an object")),
                };
                Self::bulk_item(&login, outcome)
            })
            .collect()
    }

    /// `PUT /admin/users/actions/bulk`: each item is merged into the user's settings.
    pub fn bulk_edit(&self, items: &[Value]) -> Vec<Value> {
        let mut inner = self.lock();
        items
            .iter()
            .map(|item| {
                let login = Self::login_of(item);
                let outcome = match (item, inner.users.get(&login).cloned()) {
                    (Value::Object(_), None) => {
                        Err(ApiError::not_found(format!("User {login} does not exist")))
                    }
                    (Value::Object(changes), Some(mut doc)) => {
                        for (k, v) in changes {
                            doc.insert(k.clone(), v.clone());
                        }
                        Self::replace_user_locked(&mut inner, &login, doc)
                    }
                    _ => Err(ApiError::illegal("each item must be an object")),
                };
                Self::bulk_item(&login, outcome)
            })
            .collect()
    }

    /// `DELETE /admin/users/actions/bulk`.
    pub fn bulk_delete(&self, caller: &Caller, items: &[Value], allow_self: bool) -> Vec<Value> {
        let mut inner = self.lock();
        items
            .iter()
            .map(|item| {
                let login = item.as_str().unwrap_or_default().to_string();
                let outcome = match Self::delete_user_locked(&mut inner, caller, &login, allow_self)
                {
                    Err(e) if e.status == 404 => {
                        Err(ApiError::not_found(format!("User {login} does not exist")))
                    }
                    other => other,
                };
                Self::bulk_item(&login, outcome)
            })
            .collect()
    }
}
