//! Evaluating a filter against a resource (RFC 7644 §3.4.2.2): multi-valued attributes
//! match when any of their values does, a complex attribute compared without a
//! sub-attribute is compared through its `value` sub-attribute (as in the RFC's
//! `emails co "example.com"`), string comparisons follow `caseExact`, and dateTime
//! attributes compare as instants.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::{CompareOp, Filter};
use crate::error::ScimError;
use crate::path::AttrPath;
use crate::schema::{AttrType, AttributeDef, ResourceSchema};
use crate::value::{get_ci, is_present, spread, values_at};

/// Where paths are resolved: a resource (its schemas), or one value of a multi-valued
/// complex attribute inside a value path (its sub-attributes).
#[derive(Clone, Copy)]
enum Scope<'a> {
    Resource(&'a ResourceSchema),
    Element(Option<&'a AttributeDef>),
}

impl Filter {
    /// Whether `resource` (a resource's JSON) matches the filter, reading attribute
    /// characteristics from `schema`. An attribute no schema defines is compared as a
    /// case-insensitive string (or as the number or boolean it holds). Never fails: a
    /// comparison that makes no sense for the value (`gt` on a boolean) does not match; see
    /// [`Filter::check`] to refuse such filters up front.
    pub fn matches(&self, resource: &Value, schema: &ResourceSchema) -> bool {
        eval(self, Scope::Resource(schema), resource)
    }

    /// Whether one value of a multi-valued complex attribute (`{"type": "work", "value":
    /// ...}`) matches the filter of a value path, whose paths name sub-attributes of
    /// `parent` (the attribute's definition, when known).
    pub fn matches_element(&self, element: &Value, parent: Option<&AttributeDef>) -> bool {
        eval(self, Scope::Element(parent), element)
    }

    /// Checks the filter against the schema as RFC 7644 §3.4.2.2 requires: ordering
    /// operators (`gt ge lt le`) on boolean or binary attributes are refused.
    ///
    /// # Errors
    /// 400 `invalidFilter` naming the attribute.
    pub fn check(&self, schema: &ResourceSchema) -> Result<(), ScimError> {
        check(self, Scope::Resource(schema))
    }
}

fn check(f: &Filter, scope: Scope<'_>) -> Result<(), ScimError> {
    match f {
        Filter::And(parts) | Filter::Or(parts) => parts.iter().try_for_each(|p| check(p, scope)),
        Filter::Not(inner) => check(inner, scope),
        Filter::Present(_) => Ok(()),
        Filter::ValuePath { path, filter } => {
            let def = match scope {
                Scope::Resource(schema) => schema.attribute(path),
                Scope::Element(_) => None,
            };
            check(filter, Scope::Element(def))
        }
        Filter::Compare { path, op, .. } => {
            let def = definition(path, scope);
            if op.is_ordering()
                && def.is_some_and(|d| matches!(d.kind, AttrType::Boolean | AttrType::Binary))
            {
                return Err(ScimError::invalid_filter(format!(
                    "'{}' cannot compare the {:?} attribute {path}",
                    op.as_str(),
                    def.map(|d| d.kind).unwrap_or(AttrType::String)
                )));
            }
            Ok(())
        }
    }
}

fn definition<'a>(path: &AttrPath, scope: Scope<'a>) -> Option<&'a AttributeDef> {
    match scope {
        Scope::Resource(schema) => schema.attribute(path),
        Scope::Element(parent) => {
            let sub = parent?.sub_attribute(&path.attribute)?;
            match &path.sub_attribute {
                Some(name) => sub.sub_attribute(name),
                None => Some(sub),
            }
        }
    }
}

/// The definition and the values `path` names in `obj`.
fn resolve<'v, 'a>(
    path: &AttrPath,
    scope: Scope<'a>,
    obj: &'v Value,
) -> (Option<&'a AttributeDef>, Vec<&'v Value>) {
    let def = definition(path, scope);
    let mut values = match scope {
        Scope::Resource(schema) => values_at(obj, path, schema),
        Scope::Element(_) => {
            let top = get_ci(obj, &path.attribute).map(spread).unwrap_or_default();
            match &path.sub_attribute {
                Some(sub) => top
                    .into_iter()
                    .filter_map(|v| get_ci(v, sub))
                    .flat_map(spread)
                    .collect(),
                None => top,
            }
        }
    };
    // A complex attribute compared as a whole is compared through its `value`.
    if def.is_some_and(|d| d.kind == AttrType::Complex) || values.iter().any(|v| v.is_object()) {
        values = values
            .into_iter()
            .filter_map(|v| {
                if v.is_object() {
                    get_ci(v, "value")
                } else {
                    Some(v)
                }
            })
            .collect();
        let value_def = def.and_then(|d| d.sub_attribute("value"));
        return (value_def.or(def), values);
    }
    (def, values)
}

fn eval(f: &Filter, scope: Scope<'_>, obj: &Value) -> bool {
    match f {
        Filter::And(parts) => parts.iter().all(|p| eval(p, scope, obj)),
        Filter::Or(parts) => parts.iter().any(|p| eval(p, scope, obj)),
        Filter::Not(inner) => !eval(inner, scope, obj),
        Filter::Present(path) => present(path, scope, obj),
        Filter::ValuePath { path, filter } => {
            let (def, elements) = match scope {
                Scope::Resource(schema) => (schema.attribute(path), values_at(obj, path, schema)),
                // The parser refuses nested value paths; a built one reads its attribute.
                Scope::Element(parent) => (
                    definition(path, Scope::Element(parent)),
                    get_ci(obj, &path.attribute).map(spread).unwrap_or_default(),
                ),
            };
            elements
                .into_iter()
                .any(|e| eval(filter, Scope::Element(def), e))
        }
        Filter::Compare { path, op, value } => {
            if value.is_null() {
                // `eq null` holds for an unassigned attribute (RFC 7643 §2.5), `ne null`
                // for an assigned one.
                let assigned = present(path, scope, obj);
                return match op {
                    CompareOp::Eq => !assigned,
                    CompareOp::Ne => assigned,
                    _ => false,
                };
            }
            let (def, values) = resolve(path, scope, obj);
            match op {
                CompareOp::Ne => !values.iter().any(|v| compare(CompareOp::Eq, v, value, def)),
                _ => values.iter().any(|v| compare(*op, v, value, def)),
            }
        }
    }
}

fn present(path: &AttrPath, scope: Scope<'_>, obj: &Value) -> bool {
    let values = match scope {
        Scope::Resource(schema) => values_at(obj, path, schema),
        Scope::Element(_) => {
            let top = get_ci(obj, &path.attribute).map(spread).unwrap_or_default();
            match &path.sub_attribute {
                Some(sub) => top.into_iter().filter_map(|v| get_ci(v, sub)).collect(),
                None => top,
            }
        }
    };
    values.into_iter().any(is_present)
}

/// A boolean, also from the strings `"true"`/`"false"` in any case (as some clients send
/// booleans).
fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn date(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s.trim()).ok()
}

fn ordered(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// Compares one attribute value with the filter's literal.
fn compare(op: CompareOp, actual: &Value, literal: &Value, def: Option<&AttributeDef>) -> bool {
    let kind = def.map(|d| d.kind);
    if kind == Some(AttrType::Boolean) || actual.is_boolean() {
        // Booleans only compare for equality (RFC 7644 §3.4.2.2).
        return match (as_bool(actual), as_bool(literal)) {
            (Some(a), Some(b)) => ordered(op, a.cmp(&b)) && matches!(op, CompareOp::Eq),
            _ => false,
        };
    }
    match (actual, literal) {
        (Value::Number(a), Value::Number(b)) => {
            let ord = match (a.as_i64(), b.as_i64()) {
                (Some(x), Some(y)) => Some(x.cmp(&y)),
                _ => a
                    .as_f64()
                    .zip(b.as_f64())
                    .and_then(|(x, y)| x.partial_cmp(&y)),
            };
            ord.is_some_and(|o| ordered(op, o))
        }
        (Value::String(a), Value::String(b)) => {
            if kind == Some(AttrType::DateTime)
                && !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
            {
                if let (Some(x), Some(y)) = (date(a), date(b)) {
                    return ordered(op, x.cmp(&y));
                }
            }
            let exact = def.is_some_and(|d| d.case_exact);
            compare_text(op, a, b, exact)
        }
        _ => false,
    }
}

fn compare_text(op: CompareOp, a: &str, b: &str, case_exact: bool) -> bool {
    let (a, b) = if case_exact {
        (a.to_string(), b.to_string())
    } else {
        (a.to_lowercase(), b.to_lowercase())
    };
    match op {
        CompareOp::Co => a.contains(&b),
        CompareOp::Sw => a.starts_with(&b),
        CompareOp::Ew => a.ends_with(&b),
        _ => ordered(op, a.cmp(&b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse_filter;
    use crate::schema::{group_schema, user_schema};
    use serde_json::json;

    /// RFC 7643 §8.2's full user, with an `ims` value and a type.
    fn bjensen() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "701984",
            "userName": "bjensen@example.com",
            "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen",
                     "givenName": "Barbara", "middleName": "Jane"},
            "displayName": "Babs Jensen",
            "title": "Tour Guide",
            "userType": "Employee",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "ims": [{"value": "someaimhandle", "type": "aim"}],
            "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAw"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984", "department": "Tour Operations",
                "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
            },
            "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z",
                     "lastModified": "2011-05-13T04:42:34Z", "version": "W/\"3694e05e9dff591\""}
        })
    }

    fn matches(filter: &str) -> bool {
        parse_filter(filter)
            .unwrap_or_else(|e| panic!("{filter}: {e}"))
            .matches(&bjensen(), &user_schema())
    }

    #[test]
    fn the_rfc_examples_select_what_they_describe() {
        for (filter, expected) in [
            (r#"userName eq "bjensen@example.com""#, true),
            (r#"userName eq "BJENSEN@example.com""#, true),
            (r#"name.familyName co "ens""#, true),
            (r#"name.familyName co "O'Malley""#, false),
            (r#"userName sw "B""#, true),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj""#,
                true,
            ),
            (r#"title pr"#, true),
            (r#"nickName pr"#, false),
            (r#"meta.lastModified gt "2011-05-13T04:42:33Z""#, true),
            (r#"meta.lastModified gt "2011-05-13T06:42:34+02:00""#, false),
            (r#"meta.lastModified ge "2011-05-13T06:42:34+02:00""#, true),
            (r#"meta.lastModified lt "2011-05-13T04:42:35Z""#, true),
            (r#"meta.lastModified le "2010-01-01T00:00:00Z""#, false),
            (r#"title pr and userType eq "Employee""#, true),
            (r#"title pr and userType eq "Intern""#, false),
            (r#"nickName pr or userType eq "employee""#, true),
            (
                r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
                true,
            ),
            (
                r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
                true,
            ),
            (
                r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
                false,
            ),
            (
                r#"userType eq "Employee" and (emails.type eq "work")"#,
                true,
            ),
            (
                r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
                true,
            ),
            (
                r#"emails[type eq "home" and value co "@example.com"]"#,
                false,
            ),
            (
                r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
                true,
            ),
            (r#"ims[type eq "xmpp"]"#, false),
        ] {
            assert_eq!(matches(filter), expected, "{filter}");
        }
    }

    #[test]
    fn case_follows_the_schema() {
        // id and externalId are caseExact (RFC 7643 §3.1), userName is not.
        assert!(matches(r#"externalId eq "701984""#));
        assert!(matches(r#"id eq "2819c223-7f76-453a-919d-413861904646""#));
        assert!(!matches(r#"id eq "2819C223-7F76-453A-919D-413861904646""#));
        assert!(matches(r#"USERNAME Eq "BJensen@Example.com""#));
        // Unknown attributes compare without regard to case.
        let odd = json!({"custom": "Hello"});
        let f = parse_filter(r#"custom eq "hello""#).expect("parses");
        assert!(f.matches(&odd, &user_schema()));
    }

    #[test]
    fn extensions_numbers_booleans_and_null() {
        assert!(matches(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations""#
        ));
        assert!(matches(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value sw "2611""#
        ));
        assert!(matches("active eq true"));
        assert!(!matches("active eq false"));
        assert!(matches("active ne false"));
        assert!(matches(r#"active eq "True""#), "a boolean sent as a string");
        assert!(matches("nickName eq null"));
        assert!(!matches("title eq null"));
        assert!(matches("title ne null"));
        assert!(
            matches(r#"nickName ne "x""#),
            "ne holds for an unassigned attribute"
        );
        let n = json!({"count": 5, "ratio": 0.5});
        let s = user_schema();
        for (f, want) in [
            ("count gt 4", true),
            ("count le 4", false),
            ("ratio lt 1", true),
            ("count eq 5.0", true),
        ] {
            assert_eq!(
                parse_filter(f).expect("parses").matches(&n, &s),
                want,
                "{f}"
            );
        }
    }

    #[test]
    fn groups_match_on_members() {
        let g = json!({"displayName": "Tour Guides", "members": [
            {"value": "2819c223", "display": "Babs Jensen"},
            {"value": "902c246b", "display": "Mandy Pepperidge"}]});
        let s = group_schema();
        for (f, want) in [
            (r#"displayName eq "tour guides""#, true),
            (r#"members[value eq "902c246b"]"#, true),
            (r#"members.value eq "902c246b""#, true),
            (r#"members eq "2819c223""#, true),
            (r#"members[value eq "nobody"]"#, false),
            (r#"not (members pr)"#, false),
        ] {
            assert_eq!(
                parse_filter(f).expect("parses").matches(&g, &s),
                want,
                "{f}"
            );
        }
    }

    #[test]
    fn checks_refuse_ordering_on_booleans_and_binaries() {
        let s = user_schema();
        for f in [
            r#"active gt "a""#,
            r#"x509Certificates.value lt "M""#,
            r#"emails[primary ge "t"]"#,
        ] {
            let e = parse_filter(f).expect("parses").check(&s).expect_err(f);
            assert_eq!(e.scim_type, Some(crate::error::ScimType::InvalidFilter));
        }
        assert!(
            parse_filter(r#"userName gt "a" and meta.created lt "2020-01-01T00:00:00Z""#)
                .expect("parses")
                .check(&s)
                .is_ok()
        );
    }
}
