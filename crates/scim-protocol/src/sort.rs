//! Sorting (RFC 7644 §3.4.2.3): `sortBy` and `sortOrder`.

use std::cmp::Ordering;

use chrono::DateTime;
use serde_json::Value;

use crate::path::AttrPath;
use crate::schema::{AttrType, ResourceSchema};
use crate::value::{container, get_ci, spread};

/// `sortOrder` (RFC 7644 §3.4.2.3); default ascending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Smallest first; resources without a value last.
    #[default]
    Ascending,
    /// The reverse of ascending.
    Descending,
}

impl SortOrder {
    /// `ascending` or `descending`, in any case; `None` for another word.
    pub fn parse(s: &str) -> Option<SortOrder> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ascending" => Some(SortOrder::Ascending),
            "descending" => Some(SortOrder::Descending),
            _ => None,
        }
    }
}

/// The value a resource sorts by: for a multi-valued attribute the primary value, else the
/// first (RFC 7644 §3.4.2.3); a complex value sorts by its `value` sub-attribute.
pub fn sort_value<'a>(
    resource: &'a Value,
    by: &AttrPath,
    schema: &ResourceSchema,
) -> Option<&'a Value> {
    let top = container(resource, by, schema).and_then(|c| get_ci(c, &by.attribute))?;
    let values = spread(top);
    let is_primary = |v: &&&Value| get_ci(v, "primary").and_then(Value::as_bool) == Some(true);
    let chosen = values
        .iter()
        .find(is_primary)
        .or_else(|| values.first())
        .copied()?;
    let leaf = match &by.sub_attribute {
        Some(sub) => get_ci(chosen, sub)?,
        None if chosen.is_object() => get_ci(chosen, "value")?,
        None => chosen,
    };
    (!leaf.is_null()).then_some(leaf)
}

/// Compares two resources by `sort_by` in ascending order: strings by the attribute's
/// `caseExact` (case-insensitive by default), dateTimes as instants, numbers and booleans
/// by value; a resource without a value sorts after every one with one. Reverse the result
/// for descending (see [`compare_in`]).
pub fn compare_by(a: &Value, b: &Value, sort_by: &AttrPath, schema: &ResourceSchema) -> Ordering {
    let def = schema.attribute(sort_by).map(|d| {
        if d.kind == AttrType::Complex && sort_by.sub_attribute.is_none() {
            d.sub_attribute("value").unwrap_or(d)
        } else {
            d
        }
    });
    match (
        sort_value(a, sort_by, schema),
        sort_value(b, sort_by, schema),
    ) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => compare_values(x, y, def.map(|d| (d.kind, d.case_exact))),
    }
}

/// [`compare_by`] in `order`.
pub fn compare_in(
    a: &Value,
    b: &Value,
    sort_by: &AttrPath,
    order: SortOrder,
    schema: &ResourceSchema,
) -> Ordering {
    let ord = compare_by(a, b, sort_by, schema);
    match order {
        SortOrder::Ascending => ord,
        SortOrder::Descending => ord.reverse(),
    }
}

/// Values of different JSON kinds order by kind (booleans, numbers, strings, others).
fn compare_values(x: &Value, y: &Value, def: Option<(AttrType, bool)>) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Bool(_) => 0,
            Value::Number(_) => 1,
            Value::String(_) => 2,
            _ => 3,
        }
    }
    match (x, y) {
        (Value::Bool(p), Value::Bool(q)) => p.cmp(q),
        (Value::Number(p), Value::Number(q)) => match (p.as_i64(), q.as_i64()) {
            (Some(i), Some(j)) => i.cmp(&j),
            _ => p
                .as_f64()
                .zip(q.as_f64())
                .and_then(|(i, j)| i.partial_cmp(&j))
                .unwrap_or(Ordering::Equal),
        },
        (Value::String(p), Value::String(q)) => {
            if def.is_some_and(|(k, _)| k == AttrType::DateTime) {
                if let (Ok(i), Ok(j)) = (
                    DateTime::parse_from_rfc3339(p.trim()),
                    DateTime::parse_from_rfc3339(q.trim()),
                ) {
                    return i.cmp(&j);
                }
            }
            if def.is_some_and(|(_, exact)| exact) {
                p.cmp(q)
            } else {
                p.to_lowercase().cmp(&q.to_lowercase())
            }
        }
        _ => rank(x).cmp(&rank(y)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::parse_attr_path;
    use crate::schema::user_schema;
    use serde_json::json;

    fn sorted(mut users: Vec<Value>, by: &str, order: SortOrder) -> Vec<String> {
        let s = user_schema();
        let by = parse_attr_path(by).expect("a path");
        users.sort_by(|a, b| compare_in(a, b, &by, order, &s));
        users
            .iter()
            .map(|u| u["id"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    fn users() -> Vec<Value> {
        vec![
            json!({"id": "1", "userName": "carol", "externalId": "b",
                   "meta": {"created": "2020-01-01T00:00:00Z"},
                   "emails": [{"value": "z@x"}, {"value": "a@x", "primary": true}]}),
            json!({"id": "2", "userName": "Alice", "externalId": "B",
                   "meta": {"created": "2020-01-01T01:00:00+02:00"},
                   "emails": [{"value": "m@x"}]}),
            json!({"id": "3", "userName": "bob", "meta": {"created": "2019-12-31T23:30:00Z"}}),
        ]
    }

    #[test]
    fn sorting_follows_the_attribute_type() {
        assert_eq!(
            sorted(users(), "userName", SortOrder::Ascending),
            ["2", "3", "1"]
        );
        assert_eq!(
            sorted(users(), "USERNAME", SortOrder::Descending),
            ["1", "3", "2"]
        );
        // externalId is caseExact: "B" < "b"; the user without one is last.
        assert_eq!(
            sorted(users(), "externalId", SortOrder::Ascending),
            ["2", "1", "3"]
        );
        // 01:00+02:00 is 23:00Z the day before.
        assert_eq!(
            sorted(users(), "meta.created", SortOrder::Ascending),
            ["2", "3", "1"]
        );
        // The primary email sorts, else the first.
        assert_eq!(
            sorted(users(), "emails", SortOrder::Ascending),
            ["1", "2", "3"]
        );
        assert_eq!(
            sorted(users(), "emails.value", SortOrder::Ascending),
            ["1", "2", "3"]
        );
        assert_eq!(SortOrder::parse("Descending"), Some(SortOrder::Descending));
        assert_eq!(SortOrder::parse("up"), None);
    }
}
