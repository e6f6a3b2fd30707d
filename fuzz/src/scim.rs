//! The SCIM protocol targets: the filter parser and evaluator, and the PATCH interpreter,
//! on what a SCIM client sends a service provider.

use idbridge_scim_protocol::wire::PatchOperation;
use idbridge_scim_protocol::{
    Filter, ResourceSchema, ScimError, apply_patch, group_schema, parse_filter, project,
    user_schema,
};
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The user every fuzzed filter and PATCH runs against.
fn sample_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen",
                 "givenName": "Barbara"},
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "groups": [{"value": "e9e30dba", "display": "Tour Guides"}],
        ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations",
                     "manager": {"value": "26118915", "displayName": "John Smith"}},
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z",
                 "lastModified": "2011-05-13T04:42:34Z", "version": "W/\"3694e05e\""}
    })
}

/// The group every fuzzed PATCH also runs against.
fn sample_group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba", "displayName": "Tour Guides",
        "members": [{"value": "2819c223", "display": "Babs Jensen", "type": "User"},
                    {"value": "902c246b", "display": "Mandy Pepperidge", "type": "User"}],
        "meta": {"resourceType": "Group", "version": "W/\"1\""}
    })
}

fn expect_400(e: &ScimError, what: &str) {
    assert_eq!(e.status, 400, "{what}: {e}");
    assert!(e.scim_type.is_some(), "{what}: {e}");
    assert!(!e.detail.is_empty());
    let _ = serde_json::to_value(e.to_response()).expect("an error body serialises");
}

/// `parse_filter` on any text (the first line; the rest, when JSON, is a resource to match
/// against besides the sample user). A filter, or an `invalidFilter` 400; a parsed filter
/// prints to text that parses back to the same filter, `not` inverts its match, and
/// matching never fails.
pub fn scim_filter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (line, rest) = text.split_once('\n').unwrap_or((text, ""));
    let filter = match parse_filter(line) {
        Ok(f) => f,
        Err(e) => {
            expect_400(&e, "parse_filter");
            assert_eq!(
                e.scim_type,
                Some(idbridge_scim_protocol::ScimType::InvalidFilter)
            );
            return;
        }
    };
    let printed = filter.to_string();
    let again = parse_filter(&printed)
        .unwrap_or_else(|e| panic!("the printed filter {printed:?} does not parse: {e}"));
    assert_eq!(again, filter, "printing changed the filter: {printed:?}");
    let mut resources = vec![sample_user(), sample_group()];
    if let Ok(extra) = serde_json::from_str::<Value>(rest) {
        resources.push(extra);
    }
    let negated = Filter::Not(Box::new(filter.clone()));
    for schema in [user_schema(), group_schema()] {
        if let Err(e) = filter.check(&schema) {
            expect_400(&e, "Filter::check");
        }
        for r in &resources {
            assert_eq!(negated.matches(r, &schema), !filter.matches(r, &schema));
        }
    }
}

/// The operations of a PATCH input: a PatchOp body, an array of operations, or one.
fn operations(body: &Value) -> Option<Vec<PatchOperation>> {
    let ops = match body {
        Value::Object(o) => match o.get("Operations") {
            Some(list) => list.clone(),
            None => Value::Array(vec![body.clone()]),
        },
        Value::Array(_) => body.clone(),
        _ => return None,
    };
    serde_json::from_value(ops).ok()
}

fn patch_one(resource: Value, ops: &[PatchOperation], schema: &ResourceSchema) {
    let mut patched = resource.clone();
    match apply_patch(&mut patched, ops, schema) {
        Err(e) => {
            expect_400(&e, "apply_patch");
            assert_eq!(patched, resource, "a refused PATCH changed the resource");
        }
        Ok(()) => {
            // Read-only attributes survive every accepted PATCH unchanged.
            for key in ["id", "meta", "groups"] {
                assert_eq!(patched.get(key), resource.get(key), "{key} changed");
            }
            assert!(patched.is_object());
            let listed = patched["schemas"]
                .as_array()
                .is_some_and(|l| l.iter().any(|s| s == ENTERPRISE));
            assert_eq!(
                listed,
                patched.get(ENTERPRISE).is_some(),
                "schemas out of step with the extension: {patched}"
            );
            let shown = project(&patched, &[], &[], schema);
            assert!(
                shown.get("password").is_none(),
                "a password is never returned"
            );
        }
    }
}

/// `apply_patch` on any JSON (a PatchOp body, an array of operations or one operation),
/// against the sample user and the sample group. Refusals are 400s with a `scimType` that
/// leave the resource unchanged; accepted PATCHes keep read-only attributes, keep
/// `schemas` in step with the extension, and never return a password.
pub fn scim_patch(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Some(ops) = operations(&body) else {
        return;
    };
    patch_one(sample_user(), &ops, &user_schema());
    patch_one(sample_group(), &ops, &group_schema());
}
