//! Entries of a project's permissions document (`GET|PUT /projects/{key}/permissions`,
//! the official client's `get_permissions` / `set_permissions`).
//!
//! A new entry carries only flag names with evidence: those the server itself returned on
//! the project's other entries, and those the official client's documented models name
//! ([`DOCUMENTED_PROJECT_FLAGS`]); the role's flags are true, the others false. No flag
//! name is made up, so a server that rejects unknown keys is never sent one the adapter
//! guessed.
//!
//! The flags a role sets come from the `project_roles` key, and some default roles use
//! names no official client shows (`writeDashboards`, `runScenarios`). So every write of
//! the document is read back and checked ([`check_applied`]): a server that accepted the
//! document but did not keep a flag fails the grant with a clear error instead of
//! reporting a role it did not give.

use std::collections::BTreeSet;

use idbridge_core::{Error, Principal, Result};
use serde_json::{Map, Value};

use crate::wire::{Doc, str_field};

/// The project permission flags the official client's documented models name:
/// `readProjectContent` and `readDashboards` in `DSSProject.set_permissions`'s example,
/// `admin`, `readProjectContent` and `writeProjectContent` in the permissions of
/// `DSSBusinessAppInstance.get_user_permissions` (dataiku-api-client 15.2.0).
pub const DOCUMENTED_PROJECT_FLAGS: &[&str] = &[
    "admin",
    "readProjectContent",
    "writeProjectContent",
    "readDashboards",
];

/// The principal an entry is for (`group` or `user`).
pub(crate) fn entry_principal(entry: &Doc) -> Option<Principal> {
    if let Some(g) = str_field(entry, "group").filter(|s| !s.is_empty()) {
        return Some(Principal::Group(g.to_string()));
    }
    str_field(entry, "user")
        .filter(|s| !s.is_empty())
        .map(|u| Principal::User(u.to_string()))
}

/// A new entry for `principal` holding `flags`: every flag name the project's other
/// `entries` carry as a boolean, and every documented one, false unless in `flags`.
pub(crate) fn new_entry(principal: &Principal, flags: &[String], entries: &[Value]) -> Value {
    let mut names: BTreeSet<String> = DOCUMENTED_PROJECT_FLAGS
        .iter()
        .map(|f| (*f).to_string())
        .collect();
    for entry in entries.iter().filter_map(Value::as_object) {
        names.extend(
            entry
                .iter()
                .filter(|(_, v)| v.is_boolean())
                .map(|(k, _)| k.clone()),
        );
    }
    let mut entry = Map::new();
    let (k, v) = match principal {
        Principal::User(u) => ("user", u),
        Principal::Group(g) => ("group", g),
    };
    entry.insert(k.into(), Value::String(v.clone()));
    for name in names {
        entry.insert(name, Value::Bool(false));
    }
    for f in flags {
        entry.insert(f.clone(), Value::Bool(true));
    }
    Value::Object(entry)
}

/// Checks a permissions document read back after a write: `principal`'s entry has every
/// flag of `set` true and none of `cleared` true.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Protocol`] naming the project, the principal and the flags
/// the server did not apply.
pub(crate) fn check_applied(
    project: &str,
    doc: &Doc,
    principal: &Principal,
    set: &[String],
    cleared: &[String],
) -> Result<()> {
    let entry = doc
        .get("permissions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .find(|e| entry_principal(e).as_ref() == Some(principal));
    let is_true = |f: &String| entry.and_then(|e| e.get(f)) == Some(&Value::Bool(true));
    let missing: Vec<&str> = set
        .iter()
        .filter(|f| !is_true(f))
        .map(String::as_str)
        .collect();
    let kept: Vec<&str> = cleared
        .iter()
        .filter(|f| is_true(f))
        .map(String::as_str)
        .collect();
    if missing.is_empty() && kept.is_empty() {
        return Ok(());
    }
    let who = match principal {
        Principal::User(u) => format!("user `{u}`"),
        Principal::Group(g) => format!("group `{g}`"),
    };
    let what = if missing.is_empty() {
        format!("still shows {} set", kept.join(", "))
    } else {
        format!("does not show {} set", missing.join(", "))
    };
    Err(Error::protocol(format!(
        "DSS accepted the permissions of project `{project}` but did not apply the change: the entry of {who} {what} when read back (are these flag names ones this DSS knows? see `project_roles`)"
    ))
    .with_resource(project))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn new_entries_carry_the_servers_and_the_documented_flags_only() {
        let existing = vec![json!({
            "group": "data_team", "readProjectContent": true, "runScenarios": false,
            "someNewerFlag": false, "note": "x"
        })];
        let entry = new_entry(
            &Principal::User("ann".into()),
            &["readDashboards".to_string()],
            &existing,
        );
        assert_eq!(
            entry,
            json!({
                "user": "ann", "admin": false, "readProjectContent": false,
                "writeProjectContent": false, "readDashboards": true,
                "runScenarios": false, "someNewerFlag": false
            })
        );
        for invented in ["editPermissions", "publishToDataCollections"] {
            assert!(entry.get(invented).is_none(), "{invented}");
        }
    }

    #[test]
    fn a_change_the_server_dropped_is_an_error_naming_it() {
        let doc: Doc = serde_json::from_value(json!({"permissions": [
            {"group": "g", "readDashboards": true, "writeDashboards": false}
        ]}))
        .expect("object");
        let g = Principal::Group("g".into());
        let flags = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        assert!(check_applied("P", &doc, &g, &flags(&["readDashboards"]), &[]).is_ok());
        let e = check_applied("P", &doc, &g, &flags(&["writeDashboards"]), &[]).expect_err("x");
        assert!(
            e.to_string().contains("does not show writeDashboards"),
            "{e}"
        );
        let e = check_applied("P", &doc, &g, &[], &flags(&["readDashboards"])).expect_err("x");
        assert!(e.to_string().contains("still shows readDashboards"), "{e}");
        let other = Principal::User("u".into());
        assert!(check_applied("P", &doc, &other, &flags(&["readDashboards"]), &[]).is_err());
        assert!(check_applied("P", &doc, &other, &[], &flags(&["readDashboards"])).is_ok());
    }
}
