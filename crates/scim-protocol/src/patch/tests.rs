//! PATCH behaviour on the RFC 7644 §3.5.2 examples and on Entra- and Okta-shaped bodies.

use serde_json::{Value, json};

use super::*;
use crate::error::ScimType;
use crate::schema::{group_schema, user_schema};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn ops(v: Value) -> Vec<PatchOperation> {
    let body: crate::wire::PatchOp = serde_json::from_value(json!({
        "schemas": [crate::wire::PATCH_OP_SCHEMA], "Operations": v
    }))
    .expect("a PatchOp body");
    body.operations
}

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223", "userName": "bjensen", "active": true,
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "meta": {"resourceType": "User", "version": "W/\"1\""}
    })
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "acbf3ae7", "displayName": "Tour Guides",
        "members": [
            {"value": "2819c223", "display": "Babs Jensen", "type": "User"},
            {"value": "902c246b", "display": "Mandy Pepperidge", "type": "User"}
        ]
    })
}

fn patched(mut resource: Value, body: Value, schema: &ResourceSchema) -> Value {
    apply_patch(&mut resource, &ops(body), schema).unwrap_or_else(|e| panic!("{e}"));
    resource
}

fn refused(mut resource: Value, body: Value, schema: &ResourceSchema) -> ScimError {
    let before = resource.clone();
    let e = apply_patch(&mut resource, &ops(body), schema).expect_err("refused");
    assert_eq!(resource, before, "a refused PATCH changes nothing");
    e
}

fn member_ids(g: &Value) -> Vec<&str> {
    g["members"]
        .as_array()
        .map(|m| m.iter().filter_map(|v| v["value"].as_str()).collect())
        .unwrap_or_default()
}

/// RFC 7644 §3.5.2.1: adding a member, and adding attributes without a path.
#[test]
fn rfc_add_examples() {
    let g = patched(
        group(),
        json!([{"op": "add", "path": "members", "value": [
            {"display": "James Smith", "$ref": "https://example.com/v2/Users/08e1d05d",
             "value": "08e1d05d"}]}]),
        &group_schema(),
    );
    assert_eq!(member_ids(&g), ["2819c223", "902c246b", "08e1d05d"]);
    let u = patched(
        user(),
        json!([{"op": "add", "value": {
            "emails": [{"value": "babs@jensen.org", "type": "home"}],
            "nickname": "Babs"}}]),
        &user_schema(),
    );
    assert_eq!(u["nickName"], "Babs", "written in the schema's case");
    assert_eq!(
        u["emails"].as_array().map(Vec::len),
        Some(2),
        "no duplicate: {u}"
    );
    let again = patched(
        group(),
        json!([{"op": "add", "path": "members", "value": [{"value": "902C246B"}]}]),
        &group_schema(),
    );
    assert_eq!(
        member_ids(&again).len(),
        2,
        "a member already there is not added again"
    );
}

/// RFC 7644 §3.5.2.2: removing one member, all members, and members by filter.
#[test]
fn rfc_remove_examples() {
    let s = group_schema();
    let one = patched(
        group(),
        json!([{"op": "remove", "path": "members[value eq \"2819c223\"]"}]),
        &s,
    );
    assert_eq!(member_ids(&one), ["902c246b"]);
    let all = patched(group(), json!([{"op": "remove", "path": "members"}]), &s);
    assert!(all.get("members").is_none(), "{all}");
    let replaced = patched(
        group(),
        json!([
            {"op": "remove", "path": "members[value eq \"2819c223\"]"},
            {"op": "add", "path": "members", "value": [{"value": "08e1d05d"}]}
        ]),
        &s,
    );
    assert_eq!(member_ids(&replaced), ["902c246b", "08e1d05d"]);
    let u = patched(
        user(),
        json!([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}]),
        &user_schema(),
    );
    assert_eq!(
        u["emails"],
        json!([{"value": "babs@jensen.org", "type": "home"}])
    );
    let none = patched(
        group(),
        json!([{"op": "remove", "path": "members[value eq \"nobody\"]"}]),
        &s,
    );
    assert_eq!(none, group(), "a filter selecting nothing removes nothing");
    let e = refused(group(), json!([{"op": "remove"}]), &s);
    assert_eq!(e.scim_type, Some(ScimType::NoTarget));
}

/// RFC 7644 §3.5.2.3: replacing all members, a filtered value's sub-attribute, a complex
/// attribute's sub-attributes.
#[test]
fn rfc_replace_examples() {
    let g = patched(
        group(),
        json!([{"op": "replace", "path": "members", "value": [
            {"display": "Babs Jensen", "value": "2819c223"},
            {"display": "James Smith", "value": "08e1d05d"}]}]),
        &group_schema(),
    );
    assert_eq!(member_ids(&g), ["2819c223", "08e1d05d"]);
    let s = user_schema();
    let u = patched(
        user(),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value",
                "value": "bjensen@example.org"}]),
        &s,
    );
    assert_eq!(u["emails"][0]["value"], "bjensen@example.org");
    assert_eq!(u["emails"][1]["value"], "babs@jensen.org");
    let named = patched(
        user(),
        json!([{"op": "replace", "path": "name", "value": {"givenName": "Babs"}}]),
        &s,
    );
    assert_eq!(
        named["name"],
        json!({"familyName": "Jensen", "givenName": "Babs"})
    );
    let whole = patched(
        user(),
        json!([{"op": "replace", "path": "emails[type eq \"home\"]",
                "value": {"value": "b@j.org", "type": "home", "primary": true}}]),
        &s,
    );
    assert_eq!(
        whole["emails"][1],
        json!({"value": "b@j.org", "type": "home", "primary": true})
    );
    assert_eq!(whole["emails"][0]["primary"], false, "one primary at most");
    let e = refused(
        user(),
        json!([{"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "x"}}]),
        &s,
    );
    assert_eq!(e.scim_type, Some(ScimType::NoTarget));
    assert!(e.detail.starts_with("operation 1: "), "{}", e.detail);
}

#[test]
fn read_only_and_immutable_attributes_are_refused() {
    let s = user_schema();
    for body in [
        json!([{"op": "replace", "path": "id", "value": "other"}]),
        json!([{"op": "remove", "path": "meta"}]),
        json!([{"op": "add", "path": "groups", "value": [{"value": "g1"}]}]),
        json!([{"op": "replace", "path": "meta.version", "value": "W/\"9\""}]),
    ] {
        let e = refused(user(), body.clone(), &s);
        assert_eq!(e.scim_type, Some(ScimType::Mutability), "{body}: {e}");
    }
    // Echoing a read-only value unchanged is allowed.
    let same = patched(
        user(),
        json!([{"op": "replace", "value": {"id": "2819c223"}}]),
        &s,
    );
    assert_eq!(same, user());
    let e = refused(
        group(),
        json!([{"op": "replace", "path": "members[value eq \"2819c223\"].value", "value": "x"}]),
        &group_schema(),
    );
    assert_eq!(e.scim_type, Some(ScimType::Mutability));
    let e = refused(user(), json!([{"op": "remove", "path": "userName"}]), &s);
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
}

#[test]
fn malformed_operations_are_refused_with_their_scim_type() {
    let s = user_schema();
    for (body, kind) in [
        (
            json!([{"op": "move", "path": "title", "value": "x"}]),
            ScimType::InvalidSyntax,
        ),
        (
            json!([{"op": "replace", "value": "x"}]),
            ScimType::InvalidSyntax,
        ),
        (
            json!([{"op": "replace", "path": "nosuch", "value": "x"}]),
            ScimType::InvalidPath,
        ),
        (
            json!([{"op": "replace", "path": "name.nosuch", "value": "x"}]),
            ScimType::InvalidPath,
        ),
        (
            json!([{"op": "replace", "path": "emails[type eq]", "value": "x"}]),
            ScimType::InvalidFilter,
        ),
        (
            json!([{"op": "replace", "path": "active", "value": "maybe"}]),
            ScimType::InvalidValue,
        ),
        (
            json!([{"op": "replace", "path": "userName", "value": 7}]),
            ScimType::InvalidValue,
        ),
        (
            json!([{"op": "add", "path": "title"}]),
            ScimType::InvalidValue,
        ),
        (
            json!([{"op": "replace", "path": "title[value eq \"x\"]", "value": "y"}]),
            ScimType::InvalidPath,
        ),
        (
            json!([{"op": "replace", "path": "urn:x:y:title", "value": "y"}]),
            ScimType::InvalidPath,
        ),
    ] {
        let e = refused(user(), body.clone(), &s);
        assert_eq!(e.scim_type, Some(kind), "{body}: {e}");
        assert_eq!(e.status, 400);
    }
}

#[test]
fn operations_apply_all_or_nothing() {
    let e = refused(
        user(),
        json!([
            {"op": "replace", "path": "title", "value": "Boss"},
            {"op": "replace", "path": "id", "value": "x"}
        ]),
        &user_schema(),
    );
    assert!(e.detail.starts_with("operation 2: "), "{}", e.detail);
}

/// Entra: `op` in title case, booleans as strings, removal of members by value, a
/// path-less replace whose keys are paths.
#[test]
fn entra_shaped_bodies() {
    let s = user_schema();
    let disabled = patched(
        user(),
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
        &s,
    );
    assert_eq!(disabled["active"], false);
    let u = patched(
        user(),
        json!([{"op": "replace", "value": {
            "active": false,
            "displayName": "Babs",
            "name.givenName": "Barbie",
            "emails[type eq \"work\"].value": "babs@example.com",
            "externalId": "e-701984",
            format!("{ENTERPRISE}:department"): "Tours",
            format!("{ENTERPRISE}:manager"): {"value": "m-1"}
        }}]),
        &s,
    );
    assert_eq!(u["active"], false);
    assert_eq!(u["name"]["givenName"], "Barbie");
    assert_eq!(u["name"]["familyName"], "Jensen");
    assert_eq!(u["emails"][0]["value"], "babs@example.com");
    assert_eq!(u[ENTERPRISE]["department"], "Tours");
    assert_eq!(u[ENTERPRISE]["manager"], json!({"value": "m-1"}));
    assert!(
        u["schemas"]
            .as_array()
            .is_some_and(|l| l.contains(&json!(ENTERPRISE))),
        "{u}"
    );
    let added = patched(
        json!({"userName": "x"}),
        json!([
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "x@example.com"},
            {"op": "Add", "path": "addresses[type eq \"work\"].formatted", "value": "1 Main St"},
            {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"}
        ]),
        &s,
    );
    assert_eq!(
        added["emails"],
        json!([{"type": "work", "value": "x@example.com"}])
    );
    assert_eq!(
        added["addresses"],
        json!([{"type": "work", "formatted": "1 Main St"}])
    );
    assert_eq!(added["phoneNumbers"][0]["type"], "mobile");
    let g = patched(
        group(),
        json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "2819c223"}]}]),
        &group_schema(),
    );
    assert_eq!(member_ids(&g), ["902c246b"]);
    let g = patched(
        group(),
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "f648f8d5"}]}]),
        &group_schema(),
    );
    assert_eq!(member_ids(&g), ["2819c223", "902c246b", "f648f8d5"]);
    let renamed = patched(
        group(),
        json!([{"op": "Replace", "path": "displayName", "value": "Guides"}]),
        &group_schema(),
    );
    assert_eq!(renamed["displayName"], "Guides");
}

/// Okta: deactivation by a path-less replace, group membership and renames.
#[test]
fn okta_shaped_bodies() {
    let u = patched(
        user(),
        json!([{"op": "replace", "value": {"active": false}}]),
        &user_schema(),
    );
    assert_eq!(u["active"], false);
    let gs = group_schema();
    let g = patched(
        group(),
        json!([
            {"op": "replace", "value": {"id": "acbf3ae7", "displayName": "Tour Guides EU"}},
            {"op": "add", "path": "members", "value": [{"value": "00u1", "display": "a@x"}]},
            {"op": "remove", "path": "members[value eq \"902c246b\"]"}
        ]),
        &gs,
    );
    assert_eq!(g["displayName"], "Tour Guides EU");
    assert_eq!(member_ids(&g), ["2819c223", "00u1"]);
}

#[test]
fn extensions_are_written_whole_and_removed_with_their_urn() {
    let s = user_schema();
    let u = patched(
        user(),
        json!([{"op": "add", "path": ENTERPRISE, "value": {"employeeNumber": "701984"}}]),
        &s,
    );
    assert_eq!(u[ENTERPRISE]["employeeNumber"], "701984");
    let gone = patched(
        u,
        json!([{"op": "remove", "path": format!("{ENTERPRISE}:employeeNumber")}]),
        &s,
    );
    assert!(gone.get(ENTERPRISE).is_none(), "{gone}");
    assert_eq!(
        gone["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
}

#[test]
fn sub_attributes_and_nulls() {
    let s = user_schema();
    let u = patched(
        user(),
        json!([
            {"op": "remove", "path": "name.givenName"},
            {"op": "replace", "path": "title", "value": null},
            {"op": "add", "path": "title", "value": "Guide"},
            {"op": "remove", "path": "emails[type eq \"home\"].type"}
        ]),
        &s,
    );
    assert_eq!(u["name"], json!({"familyName": "Jensen"}));
    assert_eq!(u["title"], "Guide");
    assert_eq!(u["emails"][1], json!({"value": "babs@jensen.org"}));
    let cleared = patched(u, json!([{"op": "remove", "path": "name.familyName"}]), &s);
    assert!(
        cleared.get("name").is_none(),
        "an emptied complex attribute goes: {cleared}"
    );
}
