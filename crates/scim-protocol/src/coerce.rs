//! Checking a written value (PATCH, create, replace) against its attribute's definition (RFC 7643 §2.3 data types) and
//! bringing it to the schema's shape: canonical attribute names, booleans sent as strings
//! read as booleans, read-only sub-attributes dropped.

use chrono::DateTime;
use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::schema::{AttrType, AttributeDef};
use crate::value::{find_key, get_ci};

/// `value` made to fit `def`. A multi-valued attribute takes an array (a single value is
/// read as an array of one); `element` coerces one value of it instead.
///
/// Microsoft Entra ID has sent booleans as the strings `"True"`/`"False"` (its "Known
/// issues and resolutions with SCIM 2.0 protocol compliance" page,
/// learn.microsoft.com/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility,
/// shows `{"op": "Replace", "path": "active", "value": "False"}`), so such strings are read
/// as booleans for boolean attributes.
///
/// # Errors
/// 400 `invalidValue` naming the attribute when the value has the wrong type, or a complex
/// value names a sub-attribute the definition lacks.
pub(crate) fn coerce(def: &AttributeDef, value: Value, element: bool) -> Result<Value, ScimError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    if def.multi_valued && !element {
        let items = match value {
            Value::Array(items) => items,
            single => vec![single],
        };
        return items
            .into_iter()
            .filter(|v| !v.is_null())
            .map(|v| coerce(def, v, true))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    let wrong =
        |what: &str| ScimError::invalid_value(format!("attribute {:?} takes {what}", def.name));
    match def.kind {
        AttrType::Complex => {
            let Value::Object(members) = value else {
                return Err(wrong("an object of sub-attributes"));
            };
            let mut out = Map::new();
            for (key, v) in members {
                let Some(sub) = def.sub_attribute(&key) else {
                    return Err(ScimError::invalid_value(format!(
                        "attribute {:?} has no sub-attribute {key:?}",
                        def.name
                    )));
                };
                // What the client may not write is left out rather than refused: clients
                // echo back what they read (a member's display name, a manager's name).
                if sub.is_read_only() || v.is_null() {
                    continue;
                }
                out.insert(sub.name.clone(), coerce(sub, v, false)?);
            }
            Ok(Value::Object(out))
        }
        AttrType::Boolean => match &value {
            Value::Bool(_) => Ok(value),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(wrong("a boolean")),
        },
        AttrType::Integer => match &value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(value),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| wrong("an integer")),
            _ => Err(wrong("an integer")),
        },
        AttrType::Decimal => match &value {
            Value::Number(_) => Ok(value),
            _ => Err(wrong("a number")),
        },
        AttrType::DateTime => match &value {
            Value::String(s) if DateTime::parse_from_rfc3339(s.trim()).is_ok() => Ok(value),
            _ => Err(wrong("a dateTime (RFC 3339)")),
        },
        AttrType::String | AttrType::Reference | AttrType::Binary => match &value {
            Value::String(_) => Ok(value),
            _ => Err(wrong("a string")),
        },
    }
}

/// Whether two values of an attribute are the same value: strings compare according to
/// `caseExact`, complex values by their `value` sub-attribute when both have one.
pub(crate) fn same_value(a: &Value, b: &Value, def: Option<&AttributeDef>) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            if def.is_some_and(|d| d.case_exact) {
                x == y
            } else {
                x.to_lowercase() == y.to_lowercase()
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            let value_def = def.and_then(|d| d.sub_attribute("value"));
            match (get_ci(a, "value"), get_ci(b, "value")) {
                (Some(p), Some(q)) if !p.is_null() && !q.is_null() => same_value(p, q, value_def),
                _ => x == y,
            }
        }
        _ => a == b,
    }
}

/// Keeps at most one value `primary` (RFC 7643 §2.4): when several are, the last one
/// written this operation keeps it.
pub(crate) fn settle_primary(list: &mut [Value], written: &[usize]) {
    let is_primary = |v: &Value| get_ci(v, "primary").and_then(Value::as_bool) == Some(true);
    if list.iter().filter(|v| is_primary(v)).count() < 2 {
        return;
    }
    let keep = written
        .iter()
        .rev()
        .copied()
        .find(|&i| list.get(i).is_some_and(is_primary))
        .or_else(|| list.iter().rposition(is_primary));
    for (i, v) in list.iter_mut().enumerate() {
        if Some(i) != keep {
            if let Some(o) = v.as_object_mut() {
                if find_key(o, "primary").is_some() {
                    o.retain(|k, _| !k.eq_ignore_ascii_case("primary"));
                    o.insert("primary".to_string(), Value::Bool(false));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::AttrPath;
    use crate::schema::user_schema;
    use serde_json::json;

    fn def(path: &str) -> AttributeDef {
        user_schema()
            .attribute(&crate::path::parse_attr_path(path).expect("path"))
            .cloned()
            .expect("defined")
    }

    #[test]
    fn values_take_the_schema_shape() {
        assert_eq!(
            coerce(&def("active"), json!("False"), false),
            Ok(json!(false))
        );
        assert_eq!(
            coerce(&def("active"), json!("TRUE"), false),
            Ok(json!(true))
        );
        assert!(coerce(&def("active"), json!("no"), false).is_err());
        let emails = coerce(
            &def("emails"),
            json!({"VALUE": "a@b", "Primary": "true", "type": "work"}),
            false,
        )
        .expect("an email");
        assert_eq!(
            emails,
            json!([{"value": "a@b", "primary": true, "type": "work"}])
        );
        let groups = coerce(&def("emails"), json!([{"value": "a", "bogus": 1}]), false);
        assert!(groups.expect_err("unknown sub").detail.contains("bogus"));
        assert!(coerce(&def("userName"), json!(5), false).is_err());
        assert!(coerce(&def("meta.created"), json!("yesterday"), false).is_err());
        let user = user_schema();
        let manager = user
            .attribute(
                &AttrPath::new("manager")
                    .in_schema("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            )
            .expect("manager");
        assert_eq!(
            coerce(
                manager,
                json!({"value": "m1", "displayName": "Boss"}),
                false
            ),
            Ok(json!({"value": "m1"})),
            "read-only sub-attributes are dropped"
        );
    }

    #[test]
    fn sameness_follows_case_exactness_and_value() {
        assert!(same_value(
            &json!("A@b"),
            &json!("a@B"),
            Some(&def("emails.value"))
        ));
        assert!(!same_value(
            &json!("A"),
            &json!("a"),
            Some(&def("externalId"))
        ));
        assert!(same_value(
            &json!({"value": "u1", "display": "x"}),
            &json!({"value": "u1"}),
            Some(&def("emails"))
        ));
    }
}
