//! The mapping between the neutral model and SCIM resources: `login` is `userName`,
//! `display_name` is `displayName` and `name.formatted`, `email` is the `work` entry of
//! `emails`, `enabled` is `active`; free-form attributes go to configured attribute paths
//! (core attributes, sub-attributes, or extension attributes named by schema URN).

use std::collections::BTreeMap;

use idbridge_core::{Group, NewUser, User, UserChanges};
use serde_json::{Map, Value};

use crate::wire::{Email, GroupResource, Name, PatchOperation, USER_SCHEMA, UserResource};

/// Splits a configured path into its schema URN (for an extension attribute) and the
/// attribute path within it: `urn:...:User:manager.value` is `(Some("urn:...:User"),
/// "manager.value")`, `title` is `(None, "title")`.
pub fn split_path(path: &str) -> (Option<&str>, &str) {
    if path.len() > 4 && path[..4].eq_ignore_ascii_case("urn:") {
        if let Some(i) = path.rfind(':') {
            return (Some(&path[..i]), &path[i + 1..]);
        }
    }
    (None, path)
}

/// The text of the attribute at `path` in a resource, when it holds a string, number or
/// boolean.
pub fn read_path(resource: &Value, path: &str) -> Option<String> {
    let (urn, attr) = split_path(path);
    let mut at = match urn {
        Some(urn) => resource.get(urn)?,
        None => resource,
    };
    for part in attr.split('.') {
        at = at.get(part)?;
    }
    match at {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Sets (or with `None` removes) the attribute at `path` in a resource's JSON, creating
/// the objects on the way and naming an extension in `schemas`.
pub fn write_path(resource: &mut Map<String, Value>, path: &str, value: Option<&str>) {
    let (urn, attr) = split_path(path);
    let mut at = resource;
    if let Some(urn) = urn {
        if value.is_some() {
            let schemas = at
                .entry("schemas")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = schemas
                && !list.iter().any(|s| s.as_str() == Some(urn))
            {
                list.push(Value::String(urn.to_string()));
            }
        }
        at = match at.entry(urn).or_insert_with(|| Value::Object(Map::new())) {
            Value::Object(m) => m,
            other => {
                *other = Value::Object(Map::new());
                match other {
                    Value::Object(m) => m,
                    _ => return,
                }
            }
        };
    }
    let parts: Vec<&str> = attr.split('.').collect();
    let Some((last, parents)) = parts.split_last() else {
        return;
    };
    for part in parents {
        let next = at.entry(*part).or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        at = match next {
            Value::Object(m) => m,
            _ => return,
        };
    }
    match value {
        Some(v) => {
            at.insert((*last).to_string(), Value::String(v.to_string()));
        }
        None => {
            at.remove(*last);
        }
    }
}

/// A SCIM user as the neutral model sees it; `attributes` maps idbridge names to paths.
pub fn user_from_scim(r: &UserResource, attributes: &BTreeMap<String, String>) -> User {
    let json = serde_json::to_value(r).unwrap_or(Value::Null);
    let attributes = attributes
        .iter()
        .filter_map(|(name, path)| read_path(&json, path).map(|v| (name.clone(), v)))
        .collect();
    User {
        id: r.id.clone().unwrap_or_default(),
        login: r.user_name.clone(),
        email: r.work_email().map(str::to_string),
        display_name: r
            .display_name
            .clone()
            .filter(|d| !d.is_empty())
            .or_else(|| r.name.as_ref().and_then(|n| n.formatted.clone())),
        enabled: r.active.unwrap_or(true),
        attributes,
    }
}

/// A SCIM group as the neutral model sees it (SCIM groups have no description).
pub fn group_from_scim(r: &GroupResource) -> Group {
    Group {
        id: r.id.clone().unwrap_or_default(),
        name: r.display_name.clone(),
        description: None,
    }
}

/// `emails` with the managed address set to `email` as the `work`, primary entry (or
/// removed with `None`); other addresses are kept and lose `primary`.
pub fn set_work_email(emails: &[Email], old: Option<&str>, email: Option<&str>) -> Vec<Email> {
    let mut out: Vec<Email> = emails
        .iter()
        .filter(|e| {
            e.kind.as_deref() != Some("work") && e.value.as_deref() != old.filter(|o| !o.is_empty())
        })
        .cloned()
        .collect();
    if let Some(value) = email {
        for e in &mut out {
            e.primary = None;
        }
        out.insert(
            0,
            Email {
                value: Some(value.to_string()),
                kind: Some("work".into()),
                primary: Some(true),
                extra: Map::new(),
            },
        );
    }
    out
}

fn set_names(r: &mut UserResource, display: Option<&str>) {
    r.display_name = display.map(str::to_string);
    let name = r.name.get_or_insert_with(Name::default);
    name.formatted = display.map(str::to_string);
    if name.formatted.is_none() && name.extra.is_empty() {
        r.name = None;
    }
}

/// The JSON of a resource with its free-form attributes written to their paths.
fn with_attributes(
    r: &UserResource,
    values: &BTreeMap<String, String>,
    paths: &BTreeMap<String, String>,
    remove_missing: bool,
) -> Value {
    let mut json = match serde_json::to_value(r) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for (name, path) in paths {
        match values.get(name) {
            Some(v) => write_path(&mut json, path, Some(v)),
            None if remove_missing => write_path(&mut json, path, None),
            None => {}
        }
    }
    Value::Object(json)
}

/// The body of a create (RFC 7644 §3.3).
pub fn new_user_body(u: &NewUser, paths: &BTreeMap<String, String>) -> Value {
    let mut r = UserResource {
        schemas: vec![USER_SCHEMA.to_string()],
        user_name: u.login.clone(),
        active: Some(u.enabled),
        emails: set_work_email(&[], None, u.email.as_deref()),
        ..UserResource::default()
    };
    set_names(&mut r, u.display_name.as_deref());
    let mut json = with_attributes(&r, &u.attributes, paths, false);
    if let (Some(password), Value::Object(m)) = (&u.password, &mut json) {
        m.insert(
            "password".into(),
            Value::String(password.expose().to_string()),
        );
    }
    json
}

/// The whole resource after `changes` (for a replace, RFC 7644 §3.5.1), from the one
/// read just before.
pub fn replaced_user_body(
    current: &UserResource,
    changes: &UserChanges,
    enabled: Option<bool>,
    paths: &BTreeMap<String, String>,
) -> Value {
    let mut r = current.clone();
    if let Some(login) = &changes.login {
        r.user_name = login.clone();
    }
    if let Some(display) = &changes.display_name {
        set_names(&mut r, display.as_deref());
    }
    if let Some(email) = &changes.email {
        r.emails = set_work_email(&r.emails, current.work_email(), email.as_deref());
    }
    if let Some(enabled) = enabled {
        r.active = Some(enabled);
    }
    if r.schemas.is_empty() {
        r.schemas.push(USER_SCHEMA.to_string());
    }
    match &changes.attributes {
        Some(values) => with_attributes(&r, values, paths, true),
        None => with_attributes(&r, &BTreeMap::new(), paths, false),
    }
}

/// The PATCH operations of `changes` (RFC 7644 §3.5.2), given the resource read before.
pub fn user_patch(
    current: &UserResource,
    changes: &UserChanges,
    enabled: Option<bool>,
    paths: &BTreeMap<String, String>,
) -> Vec<PatchOperation> {
    let mut ops = Vec::new();
    if let Some(login) = &changes.login {
        ops.push(PatchOperation::replace(
            "userName",
            Value::String(login.clone()),
        ));
    }
    if let Some(display) = &changes.display_name {
        match display {
            Some(d) => {
                ops.push(PatchOperation::replace(
                    "displayName",
                    Value::String(d.clone()),
                ));
                ops.push(PatchOperation::replace(
                    "name.formatted",
                    Value::String(d.clone()),
                ));
            }
            None => {
                if current.display_name.is_some() {
                    ops.push(PatchOperation::remove("displayName"));
                }
                if current.name.as_ref().is_some_and(|n| n.formatted.is_some()) {
                    ops.push(PatchOperation::remove("name.formatted"));
                }
            }
        }
    }
    if let Some(email) = &changes.email {
        let emails = set_work_email(&current.emails, current.work_email(), email.as_deref());
        if emails.is_empty() {
            if !current.emails.is_empty() {
                ops.push(PatchOperation::remove("emails"));
            }
        } else {
            ops.push(PatchOperation::replace(
                "emails",
                serde_json::to_value(emails).unwrap_or(Value::Null),
            ));
        }
    }
    if let Some(enabled) = enabled {
        ops.push(PatchOperation::replace("active", Value::Bool(enabled)));
    }
    if let Some(values) = &changes.attributes {
        let json = serde_json::to_value(current).unwrap_or(Value::Null);
        for (name, path) in paths {
            let now = read_path(&json, path);
            match values.get(name) {
                Some(v) if now.as_deref() != Some(v.as_str()) => {
                    ops.push(PatchOperation::replace(path, Value::String(v.clone())));
                }
                None if now.is_some() => ops.push(PatchOperation::remove(path)),
                _ => {}
            }
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ENTERPRISE_USER_SCHEMA;
    use serde_json::json;

    fn paths() -> BTreeMap<String, String> {
        [
            ("externalId".to_string(), "externalId".to_string()),
            (
                "department".to_string(),
                format!("{ENTERPRISE_USER_SCHEMA}:department"),
            ),
            ("given".to_string(), "name.givenName".to_string()),
        ]
        .into()
    }

    #[test]
    fn a_new_user_maps_every_field_and_extension_attributes() {
        let mut u = NewUser::new("bjensen");
        u.email = Some("b@example.com".into());
        u.display_name = Some("Babs Jensen".into());
        u.attributes = [
            ("externalId".to_string(), "src-1".to_string()),
            ("department".to_string(), "Tour".to_string()),
            ("given".to_string(), "Barbara".to_string()),
        ]
        .into();
        let body = new_user_body(&u, &paths());
        assert_eq!(body["userName"], "bjensen");
        assert_eq!(body["displayName"], "Babs Jensen");
        assert_eq!(
            body["name"],
            json!({"formatted": "Babs Jensen", "givenName": "Barbara"})
        );
        assert_eq!(
            body["emails"],
            json!([{"value": "b@example.com", "type": "work", "primary": true}])
        );
        assert_eq!(body["active"], true);
        assert_eq!(body["externalId"], "src-1");
        assert_eq!(body[ENTERPRISE_USER_SCHEMA]["department"], "Tour");
        assert!(
            body["schemas"]
                .as_array()
                .expect("schemas")
                .contains(&json!(ENTERPRISE_USER_SCHEMA))
        );
        let r: UserResource = serde_json::from_value(body).expect("reads back");
        let user = user_from_scim(&r, &paths());
        assert_eq!(user.login, "bjensen");
        assert_eq!(user.email.as_deref(), Some("b@example.com"));
        assert_eq!(user.attributes.len(), 3, "{:?}", user.attributes);
    }

    #[test]
    fn a_patch_names_only_what_changed_and_keeps_other_addresses() {
        let current: UserResource = serde_json::from_value(json!({
            "id": "u", "userName": "b", "displayName": "B",
            "emails": [{"value": "home@x", "type": "home", "primary": true}, {"value": "w@x", "type": "work"}],
            ENTERPRISE_USER_SCHEMA: {"department": "Old"}
        }))
        .expect("a user");
        let changes = UserChanges {
            email: Some(Some("new@x".into())),
            attributes: Some([("department".to_string(), "Old".to_string())].into()),
            ..UserChanges::default()
        };
        let ops = user_patch(&current, &changes, Some(false), &paths());
        let v = serde_json::to_value(&ops).expect("ops");
        assert_eq!(
            v,
            json!([
                {"op": "replace", "path": "emails", "value": [
                    {"value": "new@x", "type": "work", "primary": true},
                    {"value": "home@x", "type": "home"}]},
                {"op": "replace", "path": "active", "value": false}
            ])
        );
        let put = replaced_user_body(
            &current,
            &UserChanges {
                attributes: Some(BTreeMap::new()),
                ..UserChanges::default()
            },
            None,
            &paths(),
        );
        assert_eq!(put[ENTERPRISE_USER_SCHEMA], json!({}));
        assert_eq!(put["displayName"], "B");
    }
}
