//! Reading attributes out of a resource's JSON: names match without regard to case (RFC
//! 7643 §2.1), and extension attributes live under their schema URN (RFC 7643 §3.3).

use serde_json::{Map, Value};

use crate::path::AttrPath;
use crate::schema::ResourceSchema;

/// The key of `obj` equal to `name` without regard to ASCII case (the exact spelling wins
/// when several differ only in case).
pub fn find_key<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a String> {
    if let Some((k, _)) = obj.get_key_value(name) {
        return Some(k);
    }
    obj.keys().find(|k| k.eq_ignore_ascii_case(name))
}

/// The member `name` of `obj` (an object), matched without regard to case.
pub fn get_ci<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    let map = obj.as_object()?;
    map.get(find_key(map, name)?)
}

/// The member `name` of `obj`, matched without regard to case, for changing it.
pub fn get_ci_mut<'a>(obj: &'a mut Map<String, Value>, name: &str) -> Option<&'a mut Value> {
    let key = find_key(obj, name)?.clone();
    obj.get_mut(&key)
}

/// Removes every member of `obj` named `name` in any case, returning the last removed.
pub fn remove_ci(obj: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let keys: Vec<String> = obj
        .keys()
        .filter(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .collect();
    keys.into_iter().filter_map(|k| obj.remove(&k)).last()
}

/// The object holding `path`'s attribute: the resource itself for the core schema (or no
/// URN), else the extension object under its URN.
pub fn container<'a>(
    resource: &'a Value,
    path: &AttrPath,
    schema: &ResourceSchema,
) -> Option<&'a Value> {
    match &path.schema {
        Some(urn) if !schema.is_core_urn(urn) => get_ci(resource, urn),
        _ => Some(resource),
    }
}

/// The values `path` names in `resource`, with multi-valued attributes spread into their
/// elements (`emails.value` gives every address); absent and null values are left out.
pub fn values_at<'a>(
    resource: &'a Value,
    path: &AttrPath,
    schema: &ResourceSchema,
) -> Vec<&'a Value> {
    let Some(top) = container(resource, path, schema).and_then(|c| get_ci(c, &path.attribute))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for v in spread(top) {
        match &path.sub_attribute {
            Some(sub) => {
                if let Some(s) = get_ci(v, sub) {
                    out.extend(spread(s));
                }
            }
            None => out.push(v),
        }
    }
    out
}

/// An array's elements, or the value itself; nulls dropped.
pub(crate) fn spread(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().filter(|i| !i.is_null()).collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// Whether a value counts as present for `pr` (RFC 7644 §3.4.2.2): not null, not an empty
/// string, array or object.
pub fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(is_present),
        Value::Object(o) => o.values().any(is_present),
        _ => true,
    }
}
