//! Authentication: API keys, the caller behind a request, and impersonation.

use super::*;

impl State {
    pub(super) fn user_is_admin(inner: &Inner, login: &str) -> bool {
        inner.users.get(login).is_some_and(|u| {
            u.get("enabled").and_then(Value::as_bool) != Some(false)
                && crate::emulator::state::groups_of(u).iter().any(|g| {
                    inner
                        .groups
                        .get(g)
                        .and_then(|d| d.get("admin"))
                        .and_then(Value::as_bool)
                        == Some(true)
                })
        })
    }

    /// Resolves a key (and an optional impersonated user) to a caller.
    ///
    /// # Errors
    /// 401 for an unknown key or a key whose user is gone or disabled; 403 when a
    /// non-administrator impersonates; 404 for an unknown impersonated user.
    pub fn authenticate(&self, key: &str, proxy_user: Option<&str>) -> ApiResult<Caller> {
        let inner = self.lock();
        let Some(k) = inner.keys.get(key) else {
            return Err(ApiError::with(
                401,
                DssError(NOT_AUTHENTICATED),
                "Unknown API Key",
            ));
        };
        let mut caller = match &k.user {
            Some(login) => {
                let Some(u) = inner.users.get(login) else {
                    return Err(ApiError::with(
                        401,
                        DssError(NOT_AUTHENTICATED),
                        "The user of this API key does not exist any more",
                    ));
                };
                if u.get("enabled").and_then(Value::as_bool) == Some(false) {
                    return Err(ApiError::with(
                        401,
                        DssError(NOT_AUTHENTICATED),
                        "The user of this API key is disabled",
                    ));
                }
                Caller {
                    key_id: k.id.clone(),
                    login: Some(login.clone()),
                    admin: Self::user_is_admin(&inner, login),
                }
            }
            None => Caller {
                key_id: k.id.clone(),
                login: None,
                admin: k.admin,
            },
        };
        if let Some(proxy) = proxy_user.filter(|p| !p.is_empty()) {
            if !caller.admin {
                return Err(ApiError::unauthorized(
                    "Only administrators may impersonate other users",
                ));
            }
            if !inner.users.contains_key(proxy) {
                return Err(ApiError::not_found(format!("User {proxy} not found")));
            }
            caller = Caller {
                key_id: caller.key_id,
                login: Some(proxy.to_string()),
                admin: Self::user_is_admin(&inner, proxy),
            };
        }
        Ok(caller)
    }

    /// `GET /auth/info`.
    pub fn auth_info(&self, caller: &Caller) -> Value {
        let inner = self.lock();
        match &caller.login {
            Some(login) => {
                let groups = inner
                    .users
                    .get(login)
                    .map(crate::emulator::state::groups_of)
                    .unwrap_or_default();
                json!({
                    "authIdentifier": login,
                    "groups": groups,
                    "userProfile": inner.users.get(login).and_then(|u| u.get("userProfile")).cloned(),
                    "secrets": [],
                })
            }
            None => json!({"authIdentifier": caller.key_id}),
        }
    }
}
