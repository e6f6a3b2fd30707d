//! Choosing the attributes an answer carries (RFC 7644 §3.4.2.5 `attributes` and
//! `excludedAttributes`, §3.9), by each attribute's `returned` characteristic (RFC 7643
//! §2.2): `always` is always there, `never` (a password) never, `default` unless left
//! out, `request` only when asked for.

use serde_json::{Map, Value};

use crate::path::{AttrPath, parse_attr_path};
use crate::schema::{AttributeDef, ResourceSchema, Returned};

/// What a list of paths asks of one attribute.
#[derive(Debug, PartialEq)]
enum Asked {
    Nothing,
    Whole,
    Subs(Vec<String>),
}

/// Parses `attributes`/`excludedAttributes` entries; each may itself be a comma-separated
/// list (as the query parameter is). Entries that are not attribute paths are ignored.
fn parse_list(entries: &[String]) -> Vec<AttrPath> {
    entries
        .iter()
        .flat_map(|e| e.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .filter_map(|e| parse_attr_path(e).ok())
        .collect()
}

/// What `paths` ask of the attribute `name`, held by the extension `urn` (or the core
/// schema, `None`).
fn asked(paths: &[AttrPath], schema: &ResourceSchema, urn: Option<&str>, name: &str) -> Asked {
    let mut subs = Vec::new();
    for p in paths {
        // The URN of a whole extension asks for all of its attributes.
        if let (Some(urn), Some(whole)) = (urn, p.as_urn()) {
            if whole.eq_ignore_ascii_case(urn) {
                return Asked::Whole;
            }
        }
        let same_schema = match (&p.schema, urn) {
            (None, None) => true,
            (Some(s), None) => schema.is_core_urn(s),
            (Some(s), Some(u)) => s.eq_ignore_ascii_case(u),
            (None, Some(_)) => false,
        };
        if !same_schema || !p.attribute.eq_ignore_ascii_case(name) {
            continue;
        }
        match &p.sub_attribute {
            None => return Asked::Whole,
            Some(sub) => subs.push(sub.clone()),
        }
    }
    if subs.is_empty() {
        Asked::Nothing
    } else {
        Asked::Subs(subs)
    }
}

/// `resource` with only the attributes an answer carries (RFC 7644 §3.4.2.5):
/// - `attributes` (when not empty) lists the attributes to return, overriding the
///   default set; `name.givenName` returns `name` with that sub-attribute only, the URN of
///   an extension all of its attributes;
/// - `excludedAttributes` lists attributes to leave out of the default set;
/// - attributes `returned` `always` (`id`, `schemas`) are always kept, `never` (`password`)
///   always dropped, `request` kept only when `attributes` names them.
///
/// Names match in any case; each entry may also be a comma-separated list; entries that are
/// not attribute paths are ignored. Attributes no schema defines are treated as `default`.
/// A non-object `resource` comes back unchanged.
pub fn project(
    resource: &Value,
    attributes: &[String],
    excluded: &[String],
    schema: &ResourceSchema,
) -> Value {
    let Value::Object(members) = resource else {
        return resource.clone();
    };
    let wanted = parse_list(attributes);
    let dropped = parse_list(excluded);
    let mut out = Map::new();
    for (key, value) in members {
        if key.eq_ignore_ascii_case("schemas") {
            out.insert(key.clone(), value.clone());
            continue;
        }
        if let Some(ext) = schema.extension(key) {
            let Value::Object(inner) = value else {
                continue;
            };
            let urn = ext.schema.id.as_str();
            let mut kept = Map::new();
            for (name, v) in inner {
                let def = ext.schema.attribute(name);
                if let Some(v) =
                    project_attribute(def, v, &wanted, &dropped, schema, Some(urn), name)
                {
                    kept.insert(name.clone(), v);
                }
            }
            if !kept.is_empty() {
                out.insert(key.clone(), Value::Object(kept));
            }
            continue;
        }
        let def = schema.core.attribute(key).or_else(|| {
            schema
                .common
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(key))
        });
        if let Some(v) = project_attribute(def, value, &wanted, &dropped, schema, None, key) {
            out.insert(key.clone(), v);
        }
    }
    Value::Object(out)
}

fn project_attribute(
    def: Option<&AttributeDef>,
    value: &Value,
    wanted: &[AttrPath],
    dropped: &[AttrPath],
    schema: &ResourceSchema,
    urn: Option<&str>,
    name: &str,
) -> Option<Value> {
    let returned = def.map_or(Returned::Default, |d| d.returned);
    let keep_subs = match returned {
        Returned::Never => return None,
        Returned::Always => Asked::Whole,
        Returned::Request | Returned::Default if !wanted.is_empty() => {
            match asked(wanted, schema, urn, name) {
                Asked::Nothing => return None,
                other => other,
            }
        }
        Returned::Request => return None,
        Returned::Default => match asked(dropped, schema, urn, name) {
            Asked::Whole => return None,
            Asked::Subs(subs) => {
                return Some(filter_subs(def, value, |sub, returned| {
                    returned == Returned::Always
                        || !subs.iter().any(|s| s.eq_ignore_ascii_case(sub))
                }));
            }
            Asked::Nothing => Asked::Whole,
        },
    };
    Some(match keep_subs {
        Asked::Subs(subs) => filter_subs(def, value, |sub, returned| {
            returned == Returned::Always || subs.iter().any(|s| s.eq_ignore_ascii_case(sub))
        }),
        _ => filter_subs(def, value, |_, _| true),
    })
}

/// The value with only the sub-attributes `keep` accepts (and never those `returned`
/// `never` or, unless accepted by name, `request`), applied to each value of a
/// multi-valued attribute.
fn filter_subs(
    def: Option<&AttributeDef>,
    value: &Value,
    keep: impl Fn(&str, Returned) -> bool + Copy,
) -> Value {
    match value {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| filter_subs(def, item, keep))
                .filter(|v| !v.as_object().is_some_and(Map::is_empty))
                .collect(),
        ),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .filter(|(k, _)| {
                    let returned = def
                        .and_then(|d| d.sub_attribute(k))
                        .map_or(Returned::Default, |s| s.returned);
                    returned != Returned::Never && keep(k, returned)
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{group_schema, user_schema};
    use serde_json::json;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "id": "2819c223", "userName": "bjensen", "password": "t1meMa$heen",
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "emails": [{"value": "b@example.com", "type": "work"}],
            ENTERPRISE: {"department": "Tours", "employeeNumber": "701984"},
            "meta": {"resourceType": "User"}
        })
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_default_set_never_holds_the_password() {
        let out = project(&user(), &[], &[], &user_schema());
        let mut expected = user();
        expected.as_object_mut().map(|o| o.remove("password"));
        assert_eq!(out, expected);
    }

    #[test]
    fn attributes_choose_and_always_attributes_stay() {
        let out = project(
            &user(),
            &strings(&["userName", "name.givenName", "password"]),
            &[],
            &user_schema(),
        );
        assert_eq!(
            out,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
                "id": "2819c223", "userName": "bjensen", "name": {"givenName": "Barbara"}
            })
        );
        let ext = project(
            &user(),
            &strings(&[&format!("{ENTERPRISE}:department"), "EMAILS.value"]),
            &[],
            &user_schema(),
        );
        assert_eq!(ext[ENTERPRISE], json!({"department": "Tours"}));
        assert_eq!(ext["emails"], json!([{"value": "b@example.com"}]));
        let whole = project(&user(), &strings(&[ENTERPRISE]), &[], &user_schema());
        assert_eq!(whole[ENTERPRISE]["employeeNumber"], "701984");
        assert!(whole.get("userName").is_none());
        let listed = project(&user(), &strings(&["userName,meta"]), &[], &user_schema());
        assert!(listed.get("meta").is_some() && listed.get("name").is_none());
    }

    #[test]
    fn excluded_attributes_leave_the_default_set() {
        let g = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                       "id": "g1", "displayName": "Ops", "members": [{"value": "u1"}]});
        let out = project(&g, &[], &strings(&["members"]), &group_schema());
        assert_eq!(
            out,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                   "id": "g1", "displayName": "Ops"})
        );
        let out = project(
            &user(),
            &[],
            &strings(&["id", "name.familyName", &format!("{ENTERPRISE}:department")]),
            &user_schema(),
        );
        assert_eq!(out["id"], "2819c223", "id is returned always");
        assert_eq!(out["name"], json!({"givenName": "Barbara"}));
        assert_eq!(out[ENTERPRISE], json!({"employeeNumber": "701984"}));
    }
}
