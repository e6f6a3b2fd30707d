//! Uniqueness (RFC 7643 §2.2 `uniqueness`): whether two resources of a type clash on an
//! attribute that must be unique, which a service provider refuses with 409 `uniqueness`
//! (RFC 7644 §3.3, §3.12).

use serde_json::Value;

use crate::error::ScimError;
use crate::path::AttrPath;
use crate::schema::ResourceSchema;
use crate::value::values_at;

/// The first attribute with `uniqueness` `server` or `global` on which `a` and `b` have the
/// same value (strings compared according to `caseExact`: `userName` without regard to
/// case); `None` when they do not clash. `id` is left out (the service provider assigns
/// it).
pub fn clash(a: &Value, b: &Value, schema: &ResourceSchema) -> Option<AttrPath> {
    for (path, def) in schema.unique_attributes() {
        if path.attribute.eq_ignore_ascii_case("id") {
            continue;
        }
        let (left, right) = (values_at(a, &path, schema), values_at(b, &path, schema));
        let same = left.iter().any(|x| {
            right.iter().any(|y| match (x, y) {
                (Value::String(p), Value::String(q)) => {
                    if def.case_exact {
                        p == q
                    } else {
                        p.to_lowercase() == q.to_lowercase()
                    }
                }
                _ => x == y,
            })
        });
        if same {
            return Some(path);
        }
    }
    None
}

/// The 409 for `candidate` clashing with one of `others` (RFC 7644 §3.3: a create or
/// replace that would duplicate a unique value), skipping the resource with id `skip_id`
/// (the one being replaced).
///
/// # Errors
/// 409 `uniqueness` naming the attribute (not its value).
pub fn check_unique<'a>(
    candidate: &Value,
    others: impl IntoIterator<Item = &'a Value>,
    skip_id: Option<&str>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    for other in others {
        if skip_id.is_some() && other.get("id").and_then(Value::as_str) == skip_id {
            continue;
        }
        if let Some(path) = clash(candidate, other, schema) {
            return Err(ScimError::conflict(format!(
                "another {} has the same {path}",
                schema.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use crate::schema::{group_schema, user_schema};
    use serde_json::json;

    #[test]
    fn user_names_clash_without_regard_to_case() {
        let s = user_schema();
        let stored = [
            json!({"id": "u1", "userName": "BJensen"}),
            json!({"id": "u2", "userName": "x"}),
        ];
        let e =
            check_unique(&json!({"userName": "bjensen"}), &stored, None, &s).expect_err("clash");
        assert_eq!((e.status, e.scim_type), (409, Some(ScimType::Uniqueness)));
        assert!(
            e.detail.contains("userName") && !e.detail.contains("jensen"),
            "{}",
            e.detail
        );
        assert!(
            check_unique(
                &json!({"id": "u1", "userName": "bjensen"}),
                &stored,
                Some("u1"),
                &s
            )
            .is_ok()
        );
        assert!(check_unique(&json!({"userName": "other"}), &stored, None, &s).is_ok());
        // displayName is not unique by the RFC's Group schema.
        let groups = [json!({"id": "g1", "displayName": "Ops"})];
        assert!(
            check_unique(
                &json!({"displayName": "Ops"}),
                &groups,
                None,
                &group_schema()
            )
            .is_ok()
        );
    }
}
