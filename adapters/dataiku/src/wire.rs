//! The JSON shapes of the DSS public API that the adapter reads.
//!
//! Settings documents (users, groups, project permissions) are kept as untyped JSON
//! objects ([`Doc`]): every update is a read-modify-write of the whole document, and every
//! field the adapter does not own must go back to the server exactly as it came.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use idbridge_core::{Error, Group, Result, User, UserActivity};
use serde::Deserialize;
use serde_json::{Map, Value};

/// A JSON object as DSS sent it.
pub type Doc = Map<String, Value>;

/// `GET /auth/info`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthInfo {
    /// The login for a user-bound key, the key id for a global key.
    #[serde(default)]
    pub auth_identifier: Option<String>,
    /// The groups of the user, when the key is bound to one.
    #[serde(default)]
    pub groups: Option<Vec<String>>,
}

/// `GET /admin/users/{login}/activity` and the items of `GET /admin/users-activity`.
/// Timestamps are milliseconds since the epoch; 0 or null means never.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// The user.
    #[serde(default)]
    pub login: Option<String>,
    /// The last successful login.
    #[serde(default)]
    pub last_successful_login: Option<i64>,
    /// The last failed login.
    #[serde(default)]
    pub last_failed_login: Option<i64>,
    /// The last time the user opened a tab or refreshed a session.
    #[serde(default)]
    pub last_session_activity: Option<i64>,
}

/// Milliseconds since the epoch to a time; 0, negative and null mean "never".
pub fn millis(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.filter(|v| *v > 0)
        .and_then(DateTime::from_timestamp_millis)
}

impl Activity {
    /// The neutral record for user `id`.
    pub fn to_neutral(&self, id: &str) -> UserActivity {
        UserActivity {
            user: id.to_string(),
            last_login: millis(self.last_successful_login),
            last_session_activity: millis(self.last_session_activity),
        }
    }
}

/// One item of a bulk response: `{login, status: "SUCCESS"|"FAILURE", error}`.
#[derive(Debug, Clone, Deserialize)]
pub struct BulkItem {
    /// The user the item is about.
    #[serde(default)]
    pub login: String,
    /// `SUCCESS` or `FAILURE`.
    #[serde(default)]
    pub status: String,
    /// The failure's message; empty on success.
    #[serde(default)]
    pub error: Option<String>,
}

impl BulkItem {
    /// Whether the item succeeded.
    pub fn succeeded(&self) -> bool {
        self.status.eq_ignore_ascii_case("SUCCESS")
    }
}

/// One item of `GET /projects/`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectItem {
    /// The project key (`SALES_ANALYTICS`).
    pub project_key: String,
    /// The display name.
    #[serde(default)]
    pub name: Option<String>,
}

/// A string field of a document, if it is a string.
pub fn str_field<'a>(doc: &'a Doc, key: &str) -> Option<&'a str> {
    doc.get(key).and_then(Value::as_str)
}

/// The `groups` list of a user document (non-strings ignored).
pub fn user_groups(doc: &Doc) -> Vec<String> {
    match doc.get("groups") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Replaces the `groups` list of a user document.
pub fn set_user_groups(doc: &mut Doc, groups: &[String]) {
    doc.insert(
        "groups".to_string(),
        Value::Array(groups.iter().cloned().map(Value::String).collect()),
    );
}

/// The string entries of a properties object (other values are not attributes).
pub fn string_props(doc: &Doc, key: &str) -> BTreeMap<String, String> {
    match doc.get(key) {
        Some(Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Sets the string entries of a properties object to `attrs`, keeping entries that are not
/// strings (the adapter does not own them).
pub fn set_string_props(doc: &mut Doc, key: &str, attrs: &BTreeMap<String, String>) {
    let mut kept: Map<String, Value> = match doc.get(key) {
        Some(Value::Object(m)) => m
            .iter()
            .filter(|(_, v)| !v.is_string())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        _ => Map::new(),
    };
    for (k, v) in attrs {
        kept.insert(k.clone(), Value::String(v.clone()));
    }
    doc.insert(key.to_string(), Value::Object(kept));
}

/// Whether a user document carries what the neutral record needs (list items of old
/// servers may lack `enabled` or the properties).
pub fn user_doc_is_complete(doc: &Doc, attributes_key: &str) -> bool {
    doc.get("enabled").is_some_and(Value::is_boolean) && doc.contains_key(attributes_key)
}

/// The neutral user of a settings document.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Protocol`] when the document has no `login`.
pub fn to_user(doc: &Doc, attributes_key: &str) -> Result<User> {
    let login = str_field(doc, "login")
        .filter(|l| !l.is_empty())
        .ok_or_else(|| Error::protocol("a DSS user object has no `login`"))?;
    let non_empty = |key: &str| {
        str_field(doc, key)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Ok(User {
        id: login.to_string(),
        login: login.to_string(),
        email: non_empty("email"),
        display_name: str_field(doc, "displayName")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        enabled: doc.get("enabled").and_then(Value::as_bool).unwrap_or(true),
        attributes: string_props(doc, attributes_key),
    })
}

/// The neutral group of a group definition.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Protocol`] when the definition has no `name`.
pub fn to_group(doc: &Doc) -> Result<Group> {
    let name = str_field(doc, "name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::protocol("a DSS group object has no `name`"))?;
    Ok(Group {
        id: name.to_string(),
        name: name.to_string(),
        description: str_field(doc, "description")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    })
}

/// Whether a group-definition key is a global permission flag (`admin` or `may…`).
pub fn is_global_flag(key: &str) -> bool {
    key == "admin"
        || key
            .strip_prefix("may")
            .and_then(|rest| rest.chars().next())
            .is_some_and(char::is_uppercase)
}

/// The global permission flags a group definition sets to true, sorted.
pub fn true_global_flags(doc: &Doc) -> Vec<String> {
    let mut v: Vec<String> = doc
        .iter()
        .filter(|(k, v)| is_global_flag(k) && v.as_bool() == Some(true))
        .map(|(k, _)| k.clone())
        .collect();
    v.sort();
    v
}

/// Whether a group definition shows its permission flags at all (list items of some
/// servers may carry only name and description).
pub fn group_doc_has_flags(doc: &Doc) -> bool {
    doc.keys().any(|k| is_global_flag(k))
}

/// The boolean flags of a project permission entry that are true.
pub fn true_entry_flags(entry: &Doc) -> Vec<String> {
    let mut v: Vec<String> = entry
        .iter()
        .filter(|(_, v)| v.as_bool() == Some(true))
        .map(|(k, _)| k.clone())
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> Doc {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn user_from_settings() {
        let d = doc(json!({
            "login": "ada", "displayName": "", "email": null, "enabled": false,
            "adminProperties": {"dept": "R&D", "n": 3}, "groups": ["a", 1, "b"]
        }));
        let u = to_user(&d, "adminProperties").expect("valid");
        assert_eq!(u.id, "ada");
        assert_eq!(u.display_name, None);
        assert_eq!(u.email, None);
        assert!(!u.enabled);
        assert_eq!(u.attributes.len(), 1);
        assert_eq!(user_groups(&d), ["a", "b"]);
        assert!(to_user(&doc(json!({"displayName": "x"})), "adminProperties").is_err());
    }

    #[test]
    fn setting_props_keeps_non_strings() {
        let mut d = doc(json!({"adminProperties": {"old": "x", "struct": {"a": 1}}}));
        let attrs = BTreeMap::from([("new".to_string(), "y".to_string())]);
        set_string_props(&mut d, "adminProperties", &attrs);
        assert_eq!(
            d["adminProperties"],
            json!({"new": "y", "struct": {"a": 1}})
        );
    }

    #[test]
    fn flags_and_activity() {
        let g = doc(
            json!({"name": "g", "admin": false, "mayCreateProjects": true, "maybe": true, "description": "d"}),
        );
        assert_eq!(true_global_flags(&g), ["mayCreateProjects"]);
        assert!(group_doc_has_flags(&g));
        assert!(!group_doc_has_flags(&doc(json!({"name": "g"}))));
        let a: Activity = serde_json::from_value(json!({
            "login": "a", "lastSuccessfulLogin": 1_700_000_000_000i64,
            "lastFailedLogin": 0, "lastSessionActivity": null
        }))
        .expect("valid");
        let n = a.to_neutral("a");
        assert!(n.last_login.is_some());
        assert!(n.last_session_activity.is_none());
    }
}
