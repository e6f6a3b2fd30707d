//! `add` (RFC 7644 §3.5.2.1) and `replace` (§3.5.2.3) at a path.

use serde_json::{Map, Value};

use super::PatchOpKind;
use crate::coerce::{coerce, same_value, settle_primary};
use crate::error::ScimError;
use crate::filter::Filter;
use crate::path::{PatchPath, parse_patch_path};
use crate::schema::{AttributeDef, Mutability, ResourceSchema};
use crate::value::{find_key, get_ci, remove_ci};

/// Writes `value` at `path` (an attribute path, the URN of a whole extension, or a value
/// path with an optional sub-attribute).
pub(super) fn write(
    work: &mut Value,
    kind: PatchOpKind,
    path: &str,
    value: Value,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    // A whole extension (`urn:...:enterprise:2.0:User`) is its attributes one by one.
    if let Some(ext) = schema.extension(path.trim()) {
        let Value::Object(members) = value else {
            return Err(ScimError::invalid_value(format!(
                "extension {path:?} takes an object of attributes"
            )));
        };
        let urn = ext.schema.id.clone();
        for (key, v) in members {
            write(work, kind, &format!("{urn}:{key}"), v, schema)?;
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
    let container = container_mut(work, &path, schema, true)?;
    match (
        &path.value_filter,
        path.attr.sub_attribute.as_deref(),
        path.sub_attribute.as_deref(),
    ) {
        (None, None, _) => write_whole(container, kind, top, value, &path),
        (None, Some(sub), _) => write_sub(container, top, sub, value, &path),
        (Some(filter), _, None) => write_matching(container, kind, top, filter, value, &path),
        (Some(filter), _, Some(sub)) => {
            write_matching_sub(container, top, filter, sub, value, &path)
        }
    }
}

/// The object holding the path's attribute: the resource, or the extension object under
/// its URN (created when `create`).
pub(super) fn container_mut<'a>(
    work: &'a mut Value,
    path: &PatchPath,
    schema: &ResourceSchema,
    create: bool,
) -> Result<&'a mut Map<String, Value>, ScimError> {
    let internal = || ScimError::internal("the resource is not a JSON object");
    let root = work.as_object_mut().ok_or_else(internal)?;
    let urn = match &path.attr.schema {
        Some(urn) if !schema.is_core_urn(urn) => match schema.extension(urn) {
            Some(ext) => ext.schema.id.clone(),
            None => {
                return Err(ScimError::invalid_path(format!(
                    "path {path}: unknown schema {urn:?}"
                )));
            }
        },
        _ => return Ok(root),
    };
    let key = match find_key(root, &urn) {
        Some(k) => k.clone(),
        None => urn,
    };
    let slot = root.entry(key).or_insert(Value::Null);
    if !slot.is_object() {
        if !create && !slot.is_null() {
            return Err(ScimError::invalid_value(format!(
                "extension {} is not an object",
                path.attr.schema.as_deref().unwrap_or_default()
            )));
        }
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().ok_or_else(internal)
}

/// Refuses a change to a `readOnly` attribute, or to an `immutable` one that has a value
/// (RFC 7643 §2.2); writing the value already there is allowed (clients echo back what
/// they read). Returns whether the write changes anything.
fn check_mutability(
    def: &AttributeDef,
    current: Option<&Value>,
    new: &Value,
    path: &PatchPath,
) -> Result<bool, ScimError> {
    let current = current.filter(|v| !v.is_null());
    let unchanged = match current {
        Some(c) => c == new,
        None => new.is_null(),
    };
    match def.mutability {
        Mutability::ReadOnly if !unchanged => Err(ScimError::mutability(format!(
            "{path}: attribute {:?} is readOnly",
            def.name
        ))),
        Mutability::Immutable if current.is_some() && !unchanged => {
            Err(ScimError::mutability(format!(
                "{path}: attribute {:?} is immutable and already has a value",
                def.name
            )))
        }
        _ => Ok(!unchanged),
    }
}

fn set(container: &mut Map<String, Value>, name: &str, value: Value) {
    remove_ci(container, name);
    if !value.is_null() {
        container.insert(name.to_string(), value);
    }
}

/// `path` names a whole attribute.
fn write_whole(
    container: &mut Map<String, Value>,
    kind: PatchOpKind,
    def: &AttributeDef,
    value: Value,
    path: &PatchPath,
) -> Result<(), ScimError> {
    let new = coerce(def, value, false)?;
    let current = get_ci_map(container, &def.name);
    if !check_mutability(def, current, &new, path)? {
        return Ok(());
    }
    if new.is_null() {
        if def.required {
            return Err(ScimError::invalid_value(format!(
                "{path}: attribute {:?} is required",
                def.name
            )));
        }
        remove_ci(container, &def.name);
        return Ok(());
    }
    if def.multi_valued {
        let Value::Array(items) = new else {
            return Err(ScimError::internal(
                "a coerced multi-valued value is an array",
            ));
        };
        let mut list = match (kind, remove_ci(container, &def.name)) {
            (PatchOpKind::Add, Some(Value::Array(existing))) => existing,
            (PatchOpKind::Add, Some(single)) if !single.is_null() => vec![single],
            _ => Vec::new(),
        };
        let mut written = Vec::new();
        for item in items {
            // Adding a value already there does not duplicate it (RFC 7644 §3.5.2.1).
            match list.iter().position(|e| same_value(e, &item, Some(def))) {
                Some(i) => {
                    merge_into(&mut list[i], item);
                    written.push(i);
                }
                None => {
                    list.push(item);
                    written.push(list.len() - 1);
                }
            }
        }
        settle_primary(&mut list, &written);
        if !list.is_empty() {
            container.insert(def.name.clone(), Value::Array(list));
        }
        return Ok(());
    }
    if let Value::Object(_) = new {
        // A complex attribute's sub-attributes merge: those not given are left unchanged
        // (RFC 7644 §3.5.2.1 and §3.5.2.3).
        let mut merged = match remove_ci(container, &def.name) {
            Some(v @ Value::Object(_)) => v,
            _ => Value::Object(Map::new()),
        };
        merge_into(&mut merged, new);
        if merged.as_object().is_some_and(|o| !o.is_empty()) {
            container.insert(def.name.clone(), merged);
        }
        return Ok(());
    }
    set(container, &def.name, new);
    Ok(())
}

fn get_ci_map<'a>(container: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    container.get(find_key(container, name)?)
}

/// Merges the members of `new` (an object) into `target` (an object); other values
/// replace it.
fn merge_into(target: &mut Value, new: Value) {
    match (target.as_object_mut(), new) {
        (Some(t), Value::Object(members)) => {
            for (k, v) in members {
                set(t, &k, v);
            }
        }
        (_, other) => *target = other,
    }
}

fn sub_def<'a>(
    top: &'a AttributeDef,
    sub: &str,
    path: &PatchPath,
) -> Result<&'a AttributeDef, ScimError> {
    top.sub_attribute(sub).ok_or_else(|| {
        ScimError::invalid_path(format!(
            "{path}: attribute {:?} has no sub-attribute {sub:?}",
            top.name
        ))
    })
}

/// `name.givenName`: one sub-attribute of a complex attribute (of every value, for a
/// multi-valued one).
fn write_sub(
    container: &mut Map<String, Value>,
    top: &AttributeDef,
    sub: &str,
    value: Value,
    path: &PatchPath,
) -> Result<(), ScimError> {
    let sub = sub_def(top, sub, path)?;
    if top.mutability == Mutability::ReadOnly {
        return Err(ScimError::mutability(format!(
            "{path}: attribute {:?} is readOnly",
            top.name
        )));
    }
    let new = coerce(sub, value, false)?;
    if top.multi_valued {
        let Some(Value::Array(items)) = find_key(container, &top.name)
            .cloned()
            .and_then(|k| container.get_mut(&k))
        else {
            return Err(ScimError::no_target(format!(
                "{path}: attribute {:?} has no values",
                top.name
            )));
        };
        let all: Vec<usize> = (0..items.len()).collect();
        return set_sub_on(items, &all, sub, &new, path);
    }
    let key = find_key(container, &top.name)
        .cloned()
        .unwrap_or_else(|| top.name.clone());
    let slot = container.entry(key.clone()).or_insert(Value::Null);
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Some(obj) = slot.as_object_mut() {
        if check_mutability(sub, get_ci_map(obj, &sub.name), &new, path)? {
            set(obj, &sub.name, new);
        }
        if obj.is_empty() {
            container.remove(&key);
        }
    }
    Ok(())
}

/// Sets (or, for null, removes) `sub` on the values at `indices`.
fn set_sub_on(
    items: &mut [Value],
    indices: &[usize],
    sub: &AttributeDef,
    new: &Value,
    path: &PatchPath,
) -> Result<(), ScimError> {
    for &i in indices {
        let Some(obj) = items.get_mut(i).and_then(Value::as_object_mut) else {
            continue;
        };
        if check_mutability(sub, get_ci_map(obj, &sub.name), new, path)? {
            set(obj, &sub.name, new.clone());
        }
    }
    if sub.name.eq_ignore_ascii_case("primary") && new.as_bool() == Some(true) {
        settle_primary(items, indices);
    }
    Ok(())
}

/// The indices of the values of a multi-valued attribute the filter selects.
fn matching(items: &[Value], filter: &Filter, top: &AttributeDef) -> Vec<usize> {
    items
        .iter()
        .enumerate()
        .filter(|(_, v)| filter.matches_element(v, Some(top)))
        .map(|(i, _)| i)
        .collect()
}

fn multi_valued_items<'a>(
    container: &'a mut Map<String, Value>,
    top: &AttributeDef,
    path: &PatchPath,
) -> Result<&'a mut Vec<Value>, ScimError> {
    if !top.multi_valued {
        return Err(ScimError::invalid_path(format!(
            "{path}: a value filter needs a multi-valued attribute, and {:?} is not",
            top.name
        )));
    }
    let key = find_key(container, &top.name)
        .cloned()
        .unwrap_or_else(|| top.name.clone());
    let slot = container.entry(key).or_insert(Value::Null);
    if !slot.is_array() {
        *slot = match slot.take() {
            Value::Null => Value::Array(Vec::new()),
            single => Value::Array(vec![single]),
        };
    }
    match slot {
        Value::Array(items) => Ok(items),
        _ => Err(ScimError::internal("a multi-valued attribute is an array")),
    }
}

/// `emails[type eq "work"]`: replaces (or, for add, merges into) the selected values.
fn write_matching(
    container: &mut Map<String, Value>,
    kind: PatchOpKind,
    top: &AttributeDef,
    filter: &Filter,
    value: Value,
    path: &PatchPath,
) -> Result<(), ScimError> {
    if top.mutability == Mutability::ReadOnly {
        return Err(ScimError::mutability(format!(
            "{path}: attribute {:?} is readOnly",
            top.name
        )));
    }
    let value = match value {
        Value::Array(mut one) if one.len() == 1 => one.remove(0),
        other => other,
    };
    let new = coerce(top, value, true)?;
    let items = multi_valued_items(container, top, path)?;
    let selected = matching(items, filter, top);
    let result = if selected.is_empty() {
        Err(ScimError::no_target(format!(
            "{path}: no value of {:?} matches the filter",
            top.name
        )))
    } else {
        let mut outcome = Ok(());
        for &i in &selected {
            if let Some(item) = items.get_mut(i) {
                let mut updated = match kind {
                    PatchOpKind::Add => item.clone(),
                    _ => Value::Object(Map::new()),
                };
                merge_into(&mut updated, new.clone());
                if let Err(e) = check_elements_immutable(top, item, &updated, path) {
                    outcome = Err(e);
                    break;
                }
                *item = updated;
            }
        }
        settle_primary(items, &selected);
        outcome
    };
    if items.is_empty() {
        remove_ci(container, &top.name);
    }
    result
}

/// Refuses replacing a value whose immutable sub-attributes (a member's `value`) change.
fn check_elements_immutable(
    top: &AttributeDef,
    old: &Value,
    new: &Value,
    path: &PatchPath,
) -> Result<(), ScimError> {
    for sub in top
        .sub_attributes
        .iter()
        .filter(|s| s.mutability == Mutability::Immutable)
    {
        let (before, after) = (get_ci(old, &sub.name), get_ci(new, &sub.name));
        if let (Some(b), Some(a)) = (before, after) {
            if b != a {
                return Err(ScimError::mutability(format!(
                    "{path}: sub-attribute {:?} of {:?} is immutable",
                    sub.name, top.name
                )));
            }
        }
    }
    Ok(())
}

/// `emails[type eq "work"].value`: sets the sub-attribute on the selected values, or,
/// when none is selected and the filter is made of `eq` terms, adds a value made of them.
fn write_matching_sub(
    container: &mut Map<String, Value>,
    top: &AttributeDef,
    filter: &Filter,
    sub: &str,
    value: Value,
    path: &PatchPath,
) -> Result<(), ScimError> {
    let sub = sub_def(top, sub, path)?;
    if top.mutability == Mutability::ReadOnly {
        return Err(ScimError::mutability(format!(
            "{path}: attribute {:?} is readOnly",
            top.name
        )));
    }
    let new = coerce(sub, value, false)?;
    let items = multi_valued_items(container, top, path)?;
    let selected = matching(items, filter, top);
    let result = if !selected.is_empty() {
        set_sub_on(items, &selected, sub, &new, path)
    } else if new.is_null() {
        Ok(())
    } else {
        match new_value_from_filter(top, filter, path) {
            Ok(mut created) => {
                created.insert(sub.name.clone(), new);
                items.push(Value::Object(created));
                let last = items.len() - 1;
                settle_primary(items, &[last]);
                Ok(())
            }
            Err(e) => Err(e),
        }
    };
    if items.is_empty() {
        remove_ci(container, &top.name);
    }
    result
}

/// The value a filter of `eq` terms describes (`type eq "work"` gives `{"type": "work"}`).
fn new_value_from_filter(
    top: &AttributeDef,
    filter: &Filter,
    path: &PatchPath,
) -> Result<Map<String, Value>, ScimError> {
    let no_target = || {
        ScimError::no_target(format!(
            "{path}: no value of {:?} matches the filter",
            top.name
        ))
    };
    let terms = filter.equalities().ok_or_else(no_target)?;
    let mut created = Map::new();
    for (p, v) in terms {
        if p.schema.is_some() || p.sub_attribute.is_some() {
            return Err(no_target());
        }
        let sub = sub_def(top, &p.attribute, path)?;
        created.insert(sub.name.clone(), coerce(sub, v.clone(), false)?);
    }
    Ok(created)
}
