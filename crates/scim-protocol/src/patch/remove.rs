//! `remove` (RFC 7644 §3.5.2.2) at a path.

use serde_json::{Map, Value};

use super::write::container_mut;
use crate::coerce::same_value;
use crate::error::ScimError;
use crate::path::parse_patch_path;
use crate::schema::{AttributeDef, Mutability, ResourceSchema};
use crate::value::{find_key, get_ci, remove_ci};

/// Removes what `path` names. With a `value` and a multi-valued attribute, removes the
/// values it lists instead of the whole attribute (Microsoft Entra ID's member removal,
/// `{"op": "Remove", "path": "members", "value": [{"value": "id"}]}`).
pub(super) fn remove(
    work: &mut Value,
    path: &str,
    value: Option<&Value>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    if let Some(ext) = schema.extension(path.trim()) {
        if ext.required {
            return Err(ScimError::invalid_value(format!(
                "extension {path:?} is required"
            )));
        }
        if let Some(root) = work.as_object_mut() {
            remove_ci(root, &ext.schema.id);
        }
        return Ok(());
    }
    let path = parse_patch_path(path.trim())?;
    let top = schema.top_attribute(&path.attr).ok_or_else(|| {
        ScimError::invalid_path(format!(
            "no attribute {} in the {} schemas",
            path.attr, schema.name
        ))
    })?;
    let read_only = |def: &AttributeDef| {
        ScimError::mutability(format!(
            "{path}: attribute {:?} is {}",
            def.name,
            if def.mutability == Mutability::ReadOnly {
                "readOnly"
            } else {
                "immutable"
            }
        ))
    };
    if matches!(top.mutability, Mutability::ReadOnly | Mutability::Immutable) {
        return Err(read_only(top));
    }
    let container = container_mut(work, &path, schema, false)?;
    let sub = match (
        path.attr.sub_attribute.as_deref(),
        path.sub_attribute.as_deref(),
    ) {
        (Some(s), _) | (None, Some(s)) => Some(top.sub_attribute(s).ok_or_else(|| {
            ScimError::invalid_path(format!(
                "{path}: attribute {:?} has no sub-attribute {s:?}",
                top.name
            ))
        })?),
        (None, None) => None,
    };
    if let Some(sub) = sub {
        if sub.required || matches!(sub.mutability, Mutability::ReadOnly | Mutability::Immutable) {
            return Err(if sub.required {
                ScimError::invalid_value(format!("{path}: {:?} is required", sub.name))
            } else {
                read_only(sub)
            });
        }
    }
    let Some(key) = find_key(container, &top.name).cloned() else {
        return Ok(());
    };
    match (&path.value_filter, sub, value) {
        (None, None, Some(listed)) if top.multi_valued && !listed.is_null() => {
            remove_listed(container, &key, top, listed);
        }
        (None, None, _) => {
            if top.required {
                return Err(ScimError::invalid_value(format!(
                    "{path}: attribute {:?} is required",
                    top.name
                )));
            }
            container.remove(&key);
        }
        (filter, Some(sub), _) => {
            for item in selected(container, &key, top, filter.as_ref()) {
                if let Some(obj) = item.as_object_mut() {
                    remove_ci(obj, &sub.name);
                }
            }
            drop_empty(container, &key);
        }
        (Some(filter), None, _) => {
            if let Some(Value::Array(items)) = container.get_mut(&key) {
                items.retain(|v| !filter.matches_element(v, Some(top)));
            }
            drop_empty(container, &key);
        }
    }
    Ok(())
}

/// The values of `key` a filter selects (all of them without one), or the single complex
/// value.
fn selected<'a>(
    container: &'a mut Map<String, Value>,
    key: &str,
    top: &AttributeDef,
    filter: Option<&crate::filter::Filter>,
) -> Vec<&'a mut Value> {
    match container.get_mut(key) {
        Some(Value::Array(items)) => items
            .iter_mut()
            .filter(|v| filter.is_none_or(|f| f.matches_element(v, Some(top))))
            .collect(),
        Some(single @ Value::Object(_)) if filter.is_none() => vec![single],
        _ => Vec::new(),
    }
}

/// Removes an attribute left without a value (an empty array or object).
fn drop_empty(container: &mut Map<String, Value>, key: &str) {
    let empty = match container.get(key) {
        Some(Value::Array(items)) => items.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(Value::Null) => true,
        _ => false,
    };
    if empty {
        container.remove(key);
    }
}

/// Removes the values `listed` names: a listed object selects the values that agree with
/// every sub-attribute it gives (nulls ignored, such as Entra's `"$ref": null`), a listed
/// scalar the values equal to it or whose `value` is.
fn remove_listed(
    container: &mut Map<String, Value>,
    key: &str,
    top: &AttributeDef,
    listed: &Value,
) {
    let listed: Vec<&Value> = match listed {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let selects = |item: &Value, wanted: &Value| match wanted {
        Value::Object(fields) => {
            let given: Vec<(&String, &Value)> =
                fields.iter().filter(|(_, v)| !v.is_null()).collect();
            !given.is_empty()
                && given.iter().all(|(k, v)| {
                    let def = top.sub_attribute(k);
                    get_ci(item, k).is_some_and(|have| same_value(have, v, def))
                })
        }
        scalar => {
            same_value(item, scalar, Some(top))
                || get_ci(item, "value")
                    .is_some_and(|have| same_value(have, scalar, top.sub_attribute("value")))
        }
    };
    if let Some(Value::Array(items)) = container.get_mut(key) {
        items.retain(|item| !listed.iter().any(|w| selects(item, w)));
    }
    drop_empty(container, key);
}
