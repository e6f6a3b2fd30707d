//! User-data writes, verified after they are sent.
//!
//! The adapter changes a user's e-mail address (its login), display name, managed
//! attributes and server role through `PUT /{v}/{tenant}/users/{id}`. The official client
//! documents that call only as "update data for the given user: any value can be set and
//! will be returned again" (squirroclient 3.17.3, `update_user_data`); no official call or
//! vendor page shows that it changes the server role or the login of an existing user. A
//! server that kept such a key as free-form data would answer 200 and change nothing: for
//! the role, a silent authorisation failure. So every user-data write is followed by one
//! read of the user (`GET /{user_data_api_version}/{tenant}/users/{id}`, squirroclient's
//! `get_user_data`), and each field sent must read back as sent; otherwise the write fails
//! naming the user and the field.

use idbridge_core::{Error, Result};
use serde_json::{Map, Value};

use crate::adapter::SquirroAdapter;
use crate::wire::WireUser;

/// Why `read` does not show the change of `field` to `sent`, or `None` when it does.
///
/// - `email` compares without regard to case (servers may normalise addresses);
/// - `role` must equal the role sent, and the server's own `role_permissions`, when it
///   lists them, must not contradict it: the vendor documents `["user"]` for `user` and
///   `["admin", …]` for `admin`, so `admin` needs `admin` there, `user` needs `user`
///   without `admin`, and no other role may carry `admin`;
/// - a value sent as `null` (or as an empty form value) must read back absent, `null` or
///   empty;
/// - any other value must read back equal (a number or boolean by its text).
pub fn not_applied(field: &str, sent: &Value, read: &WireUser) -> Option<String> {
    let shown = match field {
        "email" => read.email.clone().map(Value::String),
        "full_name" => read.full_name.clone().map(Value::String),
        "role" => read.role.clone().map(Value::String),
        _ => read.extra.get(field).cloned(),
    };
    let shown_text = match &shown {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let sent_text = match sent {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
    .filter(|s| !s.is_empty());
    let describe = |v: &Option<String>| match v.as_deref() {
        None | Some("") => "none".to_string(),
        Some(s) => format!("`{s}`"),
    };
    let same = match (&sent_text, &shown_text) {
        (None, shown) => shown.as_deref().is_none_or(str::is_empty),
        (Some(a), Some(b)) if field == "email" => a.eq_ignore_ascii_case(b),
        (Some(a), Some(b)) => a == b,
        (Some(_), None) => false,
    };
    if !same {
        return Some(format!(
            "reading the user back shows {} where {} was sent",
            describe(&shown_text),
            describe(&sent_text)
        ));
    }
    if field == "role"
        && let Some(role) = &sent_text
    {
        return role_permissions_contradict(role, read);
    }
    None
}

/// Whether the server's `role_permissions` contradict `role` (see [`not_applied`]).
fn role_permissions_contradict(role: &str, read: &WireUser) -> Option<String> {
    let Some(Value::Array(perms)) = read.extra.get("role_permissions") else {
        return None;
    };
    let has = |p: &str| perms.iter().any(|v| v.as_str() == Some(p));
    let contradicts = match role {
        "admin" => !has("admin"),
        "user" => !has("user") || has("admin"),
        _ => has("admin"),
    };
    contradicts.then(|| {
        let listed: Vec<&str> = perms.iter().filter_map(Value::as_str).collect();
        format!(
            "reading the user back shows role `{role}`, but its `role_permissions` ({}) are not those of that role",
            listed.join(", ")
        )
    })
}

impl SquirroAdapter {
    /// Sends a user-data update, reads the user back and checks that every field sent
    /// shows there. Returns the user as read back.
    ///
    /// # Errors
    /// The update's or the read's error; [`idbridge_core::ErrorKind::Protocol`] (not
    /// retryable) naming the user and each field whose change the server accepted but
    /// did not apply.
    pub(crate) async fn write_user_data(
        &self,
        id: &str,
        changes: Map<String, Value>,
    ) -> Result<WireUser> {
        self.put_user_data(id, changes.clone()).await?;
        let read = self.wire_user(id).await?;
        let missing: Vec<String> = changes
            .iter()
            .filter_map(|(field, sent)| {
                not_applied(field, sent, &read).map(|why| format!("`{field}` ({why})"))
            })
            .collect();
        if missing.is_empty() {
            return Ok(read);
        }
        let what = if changes.contains_key("role") && missing.len() == 1 {
            "the change of role".to_string()
        } else {
            "the change".to_string()
        };
        Err(Error::protocol(format!(
            "Squirro accepted {what} of user `{id}` but did not apply it: {}. The server may keep these keys of PUT /users/{id} as free-form user data; the change is not retried (see the adapter page, \"Evidence for every request\")",
            missing.join("; ")
        ))
        .with_retryable(false)
        .with_resource(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(v: Value) -> WireUser {
        serde_json::from_value(v).expect("a user")
    }

    #[test]
    fn a_field_that_reads_back_as_sent_is_applied() {
        let u = user(
            json!({"id": "u", "email": "Ada@Example.com", "full_name": "Ada",
            "role": "admin", "role_permissions": ["admin", "projects.write.create"],
            "dept": "QA", "level": 3}),
        );
        assert_eq!(not_applied("email", &json!("ada@example.com"), &u), None);
        assert_eq!(not_applied("full_name", &json!("Ada"), &u), None);
        assert_eq!(not_applied("role", &json!("admin"), &u), None);
        assert_eq!(not_applied("dept", &json!("QA"), &u), None);
        assert_eq!(not_applied("level", &json!("3"), &u), None);
        assert_eq!(not_applied("gone", &Value::Null, &u), None);
        assert_eq!(not_applied("gone", &json!(""), &u), None);
    }

    #[test]
    fn a_field_that_does_not_read_back_is_named_with_both_values() {
        let u = user(json!({"id": "u", "email": "a@x.io", "role": "user",
            "role_permissions": ["user"], "dept": "QA"}));
        let why = not_applied("role", &json!("admin"), &u).expect("not applied");
        assert!(why.contains("`user`") && why.contains("`admin`"), "{why}");
        assert!(not_applied("full_name", &json!("Ada"), &u).is_some());
        assert!(not_applied("dept", &Value::Null, &u).is_some());
        assert!(not_applied("email", &json!("b@x.io"), &u).is_some());
    }

    #[test]
    fn a_role_shown_as_sent_but_contradicted_by_its_permissions_is_not_applied() {
        let echoed = user(json!({"id": "u", "role": "admin", "role_permissions": ["user"]}));
        let why = not_applied("role", &json!("admin"), &echoed).expect("contradicted");
        assert!(why.contains("role_permissions"), "{why}");
        let echoed = user(json!({"id": "u", "role": "user",
            "role_permissions": ["admin", "profile.write.update"]}));
        assert!(not_applied("role", &json!("user"), &echoed).is_some());
        let reader = user(json!({"id": "u", "role": "reader", "role_permissions": ["admin"]}));
        assert!(not_applied("role", &json!("reader"), &reader).is_some());
        // Without `role_permissions`, or with permissions the vendor does not document,
        // only the role itself is compared.
        let bare = user(json!({"id": "u", "role": "reader"}));
        assert_eq!(not_applied("role", &json!("reader"), &bare), None);
        let demo = user(json!({"id": "u", "role": "demo", "role_permissions": ["user"]}));
        assert_eq!(not_applied("role", &json!("demo"), &demo), None);
    }
}
