//! Users: the user API's `/users` resource. The e-mail address is the login; Squirro has
//! no enabled flag.

use std::collections::BTreeMap;

use idbridge_core::{
    Error, NewUser, Page, PageRequest, Result, User, UserChanges, Users, async_trait,
};
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::adapter::SquirroAdapter;
use crate::client::{Body, seg};
use crate::wire::{UsersResponse, WireUser};

/// Keys of a user object that are Squirro's own fields, never custom attributes.
pub const BUILT_IN_USER_KEYS: [&str; 13] = [
    "id",
    "email",
    "full_name",
    "role",
    "role_permissions",
    "tenant",
    "groups",
    "projects",
    "config",
    "password",
    "created_at",
    "modified_at",
    "last_login",
];

/// Whether `text` passes the e-mail check the official client applies before it sends an
/// address (`something@something.something`).
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain
            .split_once('.')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
        && !text.chars().any(char::is_whitespace)
}

impl SquirroAdapter {
    /// The neutral user of a user object read from `endpoint` (`GET /users`).
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Protocol`] naming the endpoint, the user and the field
    /// when the id or the e-mail address (the login) is missing or empty. The login is
    /// never taken from the id: that would rename the account everywhere.
    pub(crate) fn to_user(&self, w: WireUser, endpoint: &str) -> Result<User> {
        let bad = |field: &str, problem: &str| {
            let record = if w.id.is_empty() {
                "a user without an id".to_string()
            } else {
                format!("user `{}`", w.id)
            };
            Error::unusable_field("Squirro", endpoint, &record, field, problem)
        };
        if w.id.trim().is_empty() {
            return Err(bad("id", "is empty"));
        }
        let login = match w.email.as_deref().map(str::trim) {
            Some(e) if !e.is_empty() => e.to_string(),
            Some(_) => return Err(bad("email", "is empty")),
            None => return Err(bad("email", "is missing")),
        };
        let attributes: BTreeMap<String, String> = self
            .attribute_keys
            .iter()
            .filter_map(|k| match w.extra.get(k) {
                Some(Value::String(s)) => Some((k.clone(), s.clone())),
                Some(Value::Number(n)) => Some((k.clone(), n.to_string())),
                Some(Value::Bool(b)) => Some((k.clone(), b.to_string())),
                _ => None,
            })
            .collect();
        Ok(User {
            login,
            email: w.email,
            display_name: w.full_name.filter(|n| !n.is_empty()),
            id: w.id,
            // Not a default: Squirro has no enabled flag, so every account it lists can
            // sign in (leavers are deleted, or stripped of groups, roles and sessions).
            enabled: true,
            attributes,
        })
    }

    /// Every user of the tenant, as the server returns them (the list is not paged).
    pub(crate) async fn wire_users(&self) -> Result<Vec<WireUser>> {
        let url = self.client.user_url("/users")?;
        let resp: UsersResponse = self.client.get_json(&url, &[], "user list").await?;
        Ok(resp.into_users())
    }

    /// One user through the user-data endpoint.
    pub(crate) async fn wire_user(&self, id: &str) -> Result<WireUser> {
        let url = self.client.user_data_url(id)?;
        self.client
            .get_json(
                &url,
                &[("include_projects".to_string(), "False".to_string())],
                "user",
            )
            .await
    }

    /// The user-data changes for `changes`, validated.
    fn user_data_changes(&self, changes: &UserChanges) -> Result<Map<String, Value>> {
        let mut out = Map::new();
        let email = match (&changes.login, &changes.email) {
            (Some(login), Some(Some(email))) if !login.eq_ignore_ascii_case(email) => {
                return Err(Error::invalid_input(format!(
                    "on Squirro the e-mail address is the login: login `{login}` and email `{email}` must be the same"
                )));
            }
            (_, Some(None)) => {
                return Err(Error::invalid_input(
                    "on Squirro the e-mail address is the login and cannot be cleared",
                ));
            }
            (Some(login), _) => Some(login.clone()),
            (None, Some(Some(email))) => Some(email.clone()),
            (None, None) => None,
        };
        if let Some(email) = email {
            if !is_email(&email) {
                return Err(Error::invalid_input(format!(
                    "`{email}` is not an e-mail address; Squirro logins are e-mail addresses"
                )));
            }
            out.insert("email".into(), Value::String(email));
        }
        if let Some(name) = &changes.display_name {
            out.insert(
                "full_name".into(),
                name.clone().map_or(Value::Null, Value::String),
            );
        }
        if let Some(attrs) = &changes.attributes {
            for key in attrs.keys() {
                if !self.attribute_keys.contains(key) {
                    return Err(Error::invalid_input(format!(
                        "attribute `{key}` is not managed on this Squirro system; list it in `attribute_keys`"
                    )));
                }
            }
            for key in &self.attribute_keys {
                // A managed key missing from the new map is removed (set to null).
                let v = attrs.get(key).cloned().map_or(Value::Null, Value::String);
                out.insert(key.clone(), v);
            }
        }
        Ok(out)
    }

    /// Sends a user-data update: JSON for `v1`, a form otherwise (nulls as empty values).
    pub(crate) async fn put_user_data(
        &self,
        id: &str,
        changes: Map<String, Value>,
    ) -> Result<WireUser> {
        let url = self.client.user_data_url(id)?;
        let body = if self.client.user_data_is_json() {
            Body::Json(Value::Object(changes))
        } else {
            Body::form(changes.into_iter().map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s,
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                (k, text)
            }))
        };
        self.client
            .send_json(Method::PUT, &url, body, None, "updated user")
            .await
    }
}

#[async_trait]
impl Users for SquirroAdapter {
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        let all: Vec<User> = self
            .wire_users()
            .await?
            .into_iter()
            .map(|w| self.to_user(w, "GET /users"))
            .collect::<Result<_>>()?;
        let size = all.len().max(1);
        Page::slice(all, &page, size)
    }

    async fn get_user(&self, id: &str) -> Result<User> {
        self.to_user(self.wire_user(id).await?, &format!("GET /users/{id}"))
    }

    /// `POST /v0/{tenant}/users` with `{"email", "password", "role"}` (role:
    /// `default_role`; password: the one given, else a random one nobody sees), then one
    /// user-data update when a display name or attributes are given, since the create
    /// call takes neither (checked by reading the user back, see `readback`).
    async fn create_user(&self, user: &NewUser) -> Result<User> {
        if !is_email(&user.login) {
            return Err(Error::invalid_input(format!(
                "`{}` is not an e-mail address; Squirro logins are e-mail addresses",
                user.login
            )));
        }
        if let Some(email) = &user.email
            && !email.eq_ignore_ascii_case(&user.login)
        {
            return Err(Error::invalid_input(format!(
                "on Squirro the e-mail address is the login: login `{}` and email `{email}` must be the same",
                user.login
            )));
        }
        if !user.enabled {
            return Err(Error::invalid_input(
                "Squirro users cannot be created disabled (the platform has no enabled flag)",
            ));
        }
        let follow_up = self.user_data_changes(&UserChanges {
            display_name: user.display_name.clone().map(Some),
            attributes: (!user.attributes.is_empty()).then(|| user.attributes.clone()),
            ..UserChanges::default()
        })?;
        // Never without a password: the one given, else a random one nobody sees. Squirro
        // has no per-account binding to a company sign-in in its user API; accounts that
        // sign in through single sign-on simply never use this password.
        let password = user
            .password
            .clone()
            .filter(|p| !p.expose().trim().is_empty())
            .unwrap_or_else(idbridge_core::account::random_password);
        let body = json!({
            "email": user.login,
            "role": self.default_role,
            "password": password.expose(),
        });
        let url = self.client.user_url_v0("/users")?;
        let created: WireUser = self
            .client
            .send_json(Method::POST, &url, Body::Json(body), None, "created user")
            .await?;
        if follow_up.is_empty() {
            return self.to_user(created, "POST /users");
        }
        let id = created.id.clone();
        let updated = self
            .write_user_data(&id, follow_up)
            .await
            .map_err(|e| e.with_resource(id.clone()))?;
        self.to_user(updated, &format!("PUT /users/{id}"))
    }

    /// `PUT /{user_data_api_version}/{tenant}/users/{id}` with the changed fields
    /// (`email`, `full_name`, managed attribute keys), then one read of the user that
    /// checks each change shows (see `readback`).
    async fn update_user(&self, id: &str, changes: &UserChanges) -> Result<User> {
        let body = self.user_data_changes(changes)?;
        if body.is_empty() {
            return self.get_user(id).await;
        }
        self.to_user(
            self.write_user_data(id, body).await?,
            &format!("PUT /users/{id}"),
        )
    }

    async fn delete_user(&self, id: &str) -> Result<()> {
        self.refuse_connecting_user(id, "deletes")?;
        let url = self.client.user_url(&format!("/users/{}", seg(id)))?;
        self.client
            .send(Method::DELETE, &url, &[], Body::None, None)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_check_matches_the_official_client() {
        for ok in ["a@b.c", "ada.lovelace@example.com", "x+y@sub.example.org"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in ["ada", "@b.c", "a@b", "a@.c", "a@b.", "a b@c.d", "a@b@c.d"] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
