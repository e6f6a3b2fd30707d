//! The JSON shapes of the DSS public API that the adapter reads.
//!
//! Settings documents (users, groups, project permissions) are kept as untyped JSON
//! objects ([`Doc`]): every update is a read-modify-write of the whole document, and every
//! field the adapter does not own must go back to the server exactly as it came.
//!
//! The fields the engine acts on are read strictly: a user's `login`, `enabled`, `email`,
//! `displayName` and `groups`, a group's `name` and `description`, and the global
//! permission flags of a group. Missing where DSS always sends it, or of another JSON
//! type, the record is an error naming the endpoint, the record and the field
//! ([`bad_field`]); it never takes a default (an absent `enabled` is not "enabled", an
//! unreadable `groups` list is not "no groups").

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

/// A string field of a document, if it is a string (for fields nothing depends on).
pub fn str_field<'a>(doc: &'a Doc, key: &str) -> Option<&'a str> {
    doc.get(key).and_then(Value::as_str)
}

/// The JSON type of a value, for error messages.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The error for a record DSS sent from `endpoint` (`GET /admin/users/`) whose `field`
/// is unusable as `problem` says: names the vendor, the endpoint, the record and the
/// field.
pub fn bad_field(endpoint: &str, what: &str, id: &str, field: &str, problem: &str) -> Error {
    let record = if id.is_empty() {
        format!("a {what}")
    } else {
        format!("{what} `{id}`")
    };
    Error::unusable_field("DSS", endpoint, &record, field, problem)
}

/// A string field that may be absent or `null`.
///
/// # Errors
/// [`bad_field`] when it holds another type.
fn optional_text<'a>(
    doc: &'a Doc,
    key: &str,
    endpoint: &str,
    what: &str,
    id: &str,
) -> Result<Option<&'a str>> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(bad_field(
            endpoint,
            what,
            id,
            key,
            &format!("is {} where a string belongs", json_type(other)),
        )),
    }
}

/// A string field that must be there and not blank: a user's `login`, a group's `name`.
fn required_text<'a>(
    doc: &'a Doc,
    key: &str,
    endpoint: &str,
    what: &str,
    id: &str,
) -> Result<&'a str> {
    match optional_text(doc, key, endpoint, what, id)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        Some(_) => Err(bad_field(endpoint, what, id, key, "is empty")),
        None => Err(bad_field(endpoint, what, id, key, "is missing")),
    }
}

/// The `login` of a user document read from `endpoint`.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Protocol`] when it is missing, empty or not a string.
pub fn user_login<'a>(doc: &'a Doc, endpoint: &str) -> Result<&'a str> {
    required_text(doc, "login", endpoint, "user", "")
}

/// The `name` of a group definition read from `endpoint`.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Protocol`] when it is missing, empty or not a string.
pub fn group_name<'a>(doc: &'a Doc, endpoint: &str) -> Result<&'a str> {
    required_text(doc, "name", endpoint, "group", "")
}

/// The `groups` list of a user document read from `endpoint`. DSS lists it for every
/// user, with or without settings.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Protocol`] when it is missing, not a list, or holds
/// anything but group names: a user is never taken to have no groups, or fewer.
pub fn user_groups(doc: &Doc, endpoint: &str) -> Result<Vec<String>> {
    let login = user_login(doc, endpoint)?;
    let bad = |problem: &str| bad_field(endpoint, "user", login, "groups", problem);
    match doc.get("groups") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(g) if !g.is_empty() => Ok(g.clone()),
                other => Err(bad(&format!(
                    "holds {} where a group name belongs",
                    json_type(other)
                ))),
            })
            .collect(),
        None | Some(Value::Null) => Err(bad("is missing")),
        Some(other) => Err(bad(&format!(
            "is {} where a list belongs",
            json_type(other)
        ))),
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

/// The neutral user of a settings document read from `endpoint`.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Protocol`] naming the endpoint, the user and the field when
/// `login` is missing or empty, `enabled` is missing or not a boolean, or `email` or
/// `displayName` is of another type than a string.
pub fn to_user(doc: &Doc, attributes_key: &str, endpoint: &str) -> Result<User> {
    let login = user_login(doc, endpoint)?;
    let text = |key: &str| optional_text(doc, key, endpoint, "user", login);
    let enabled = match doc.get("enabled") {
        Some(Value::Bool(b)) => *b,
        None | Some(Value::Null) => {
            return Err(bad_field(endpoint, "user", login, "enabled", "is missing"));
        }
        Some(other) => {
            return Err(bad_field(
                endpoint,
                "user",
                login,
                "enabled",
                &format!("is {} where a boolean belongs", json_type(other)),
            ));
        }
    };
    Ok(User {
        id: login.to_string(),
        login: login.to_string(),
        email: text("email")?
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        display_name: text("displayName")?
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        enabled,
        attributes: string_props(doc, attributes_key),
    })
}

/// The neutral group of a group definition read from `endpoint`.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Protocol`] when the definition has no `name` or the name
/// or description is of another type than a string.
pub fn to_group(doc: &Doc, endpoint: &str) -> Result<Group> {
    let name = group_name(doc, endpoint)?;
    Ok(Group {
        id: name.to_string(),
        name: name.to_string(),
        description: optional_text(doc, "description", endpoint, "group", name)?
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

/// The global permission flags a group definition read from `endpoint` sets to true,
/// sorted.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Protocol`] when the group has no name, or a flag is not a
/// boolean (DSS sends each as `true` or `false`): a flag is never guessed either way.
pub fn true_global_flags(doc: &Doc, endpoint: &str) -> Result<Vec<String>> {
    let name = group_name(doc, endpoint)?;
    let mut v = Vec::new();
    for (k, value) in doc.iter().filter(|(k, _)| is_global_flag(k)) {
        match value {
            Value::Bool(true) => v.push(k.clone()),
            Value::Bool(false) | Value::Null => {}
            other => {
                return Err(bad_field(
                    endpoint,
                    "group",
                    name,
                    k,
                    &format!("is {} where a boolean belongs", json_type(other)),
                ));
            }
        }
    }
    v.sort();
    Ok(v)
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
        let u = to_user(&d, "adminProperties", "GET /admin/users/ada").expect("valid");
        assert_eq!(u.id, "ada");
        assert_eq!(u.display_name, None);
        assert_eq!(u.email, None);
        assert!(!u.enabled);
        assert_eq!(u.attributes.len(), 1);
        let err = user_groups(&d, "GET /admin/users/").expect_err("a number among groups");
        assert!(err.message().contains("`groups`"), "{}", err.message());
        let ok = doc(json!({"login": "ada", "groups": ["a", "b"]}));
        assert_eq!(
            user_groups(&ok, "GET /admin/users/").expect("valid"),
            ["a", "b"]
        );
        assert!(to_user(&doc(json!({"displayName": "x"})), "adminProperties", "GET").is_err());
    }

    /// Every field the engine acts on, missing or of another type, fails the record and
    /// says which, where and whose.
    #[test]
    fn garbled_user_and_group_fields_fail_the_record() {
        let good = json!({
            "login": "ada", "enabled": false, "email": "ada@example.com",
            "displayName": "Ada", "groups": ["g"], "adminProperties": {}
        });
        let cases: &[(&str, Option<Value>)] = &[
            ("login", None),
            ("login", Some(json!(3))),
            ("login", Some(json!(""))),
            ("enabled", None),
            ("enabled", Some(json!("false"))),
            ("enabled", Some(json!(0))),
            ("email", Some(json!(15))),
            ("displayName", Some(json!(["Ada"]))),
        ];
        for (field, value) in cases {
            let mut d = doc(good.clone());
            match value {
                None => {
                    d.remove(*field);
                }
                Some(v) => {
                    d.insert((*field).to_string(), v.clone());
                }
            }
            let err = to_user(&d, "adminProperties", "GET /admin/users/")
                .expect_err(&format!("{field} = {value:?}"));
            let m = err.message();
            assert_eq!(err.kind(), idbridge_core::ErrorKind::Protocol);
            for needle in ["DSS", "GET /admin/users/", &format!("`{field}`")] {
                assert!(m.contains(needle), "{field}: {needle}: {m}");
            }
            if *field != "login" {
                assert!(m.contains("user `ada`"), "{m}");
            }
        }
        for bad in [
            json!({"name": 7}),
            json!({}),
            json!({"name": "g", "description": 1}),
        ] {
            let err = to_group(&doc(bad.clone()), "GET /admin/groups/").expect_err("garbled");
            assert!(
                err.message().contains("GET /admin/groups/"),
                "{bad}: {}",
                err.message()
            );
        }
        let flags = doc(json!({"name": "g", "admin": "true"}));
        let err = true_global_flags(&flags, "GET /admin/groups/g").expect_err("string flag");
        assert!(err.message().contains("`admin`"), "{}", err.message());
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
        assert_eq!(
            true_global_flags(&g, "GET /admin/groups/g").expect("valid"),
            ["mayCreateProjects"]
        );
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
