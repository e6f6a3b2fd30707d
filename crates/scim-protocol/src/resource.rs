//! Checking the body of a create (RFC 7644 §3.3, POST) or a whole replace (§3.5.1, PUT)
//! against the schema, and giving the resource to store: canonical attribute names,
//! values of the right type, read-only attributes left to the service provider.

use serde_json::{Map, Value};

use crate::coerce::{coerce, settle_primary};
use crate::error::ScimError;
use crate::schema::{AttributeDef, Mutability, ResourceSchema, SchemaDef};
use crate::value::{find_key, get_ci, is_present};

/// The resource a create (`POST`, RFC 7644 §3.3) stores, from the client's body:
/// - attributes are written in the schema's case, with values of their type (booleans sent
///   as the strings `"True"`/`"False"` read as booleans, as `apply_patch` does);
/// - `readOnly` attributes (`id`, `meta`, `groups`) are ignored, for the service provider
///   sets them (RFC 7643 §2.2);
/// - attributes no schema of the resource type defines are ignored (identity providers
///   send attributes mapped for other applications);
/// - `schemas` lists the core schema and the extensions the resource carries;
/// - at most one value of a multi-valued attribute is `primary` (RFC 7643 §2.4).
///
/// The service provider then adds `id`, `meta` and checks uniqueness.
///
/// # Errors
/// 400 `invalidSyntax` when the body is not an object; 400 `invalidValue` naming the
/// attribute for a value of the wrong type, or a required attribute (`userName`,
/// `displayName`) missing or empty.
pub fn prepare_create(body: &Value, schema: &ResourceSchema) -> Result<Value, ScimError> {
    let Value::Object(members) = body else {
        return Err(ScimError::invalid_syntax(format!(
            "a {} must be a JSON object",
            schema.name
        )));
    };
    let mut out = Map::new();
    for (key, value) in members {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = schema.extension(key) {
            let Value::Object(inner) = value else {
                return Err(ScimError::invalid_value(format!(
                    "extension {key:?} takes an object of attributes"
                )));
            };
            let kept = writable(&ext.schema, inner)?;
            if !kept.is_empty() {
                out.insert(ext.schema.id.clone(), Value::Object(kept));
            }
            continue;
        }
        let Some(def) = schema.core.attribute(key).or_else(|| {
            schema
                .common
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(key))
        }) else {
            continue;
        };
        if def.name == "schemas" || def.is_read_only() {
            continue;
        }
        put(&mut out, def, value)?;
    }
    for ext in &schema.extensions {
        if ext.required && !out.contains_key(&ext.schema.id) {
            return Err(ScimError::invalid_value(format!(
                "extension {:?} is required",
                ext.schema.id
            )));
        }
    }
    check_required(&out, schema)?;
    let mut schemas = vec![Value::String(schema.core.id.clone())];
    for ext in &schema.extensions {
        if out.contains_key(&ext.schema.id) {
            schemas.push(Value::String(ext.schema.id.clone()));
        }
    }
    out.insert("schemas".to_string(), Value::Array(schemas));
    Ok(Value::Object(out))
}

/// The attributes of one schema's object that a client may write, checked.
fn writable(
    schema: &SchemaDef,
    members: &Map<String, Value>,
) -> Result<Map<String, Value>, ScimError> {
    let mut out = Map::new();
    for (key, value) in members {
        if let Some(def) = schema.attribute(key) {
            if !def.is_read_only() {
                put(&mut out, def, value)?;
            }
        }
    }
    Ok(out)
}

fn put(out: &mut Map<String, Value>, def: &AttributeDef, value: &Value) -> Result<(), ScimError> {
    let mut v = coerce(def, value.clone(), false)?;
    if let Value::Array(items) = &mut v {
        settle_primary(items, &[]);
        if items.is_empty() {
            return Ok(());
        }
    }
    if !v.is_null() {
        out.insert(def.name.clone(), v);
    }
    Ok(())
}

fn check_required(out: &Map<String, Value>, schema: &ResourceSchema) -> Result<(), ScimError> {
    for def in schema.core.attributes.iter().filter(|a| a.required) {
        if !out.get(&def.name).is_some_and(is_present) {
            return Err(ScimError::invalid_value(format!(
                "attribute {:?} is required",
                def.name
            )));
        }
    }
    Ok(())
}

/// The resource a replace (`PUT`, RFC 7644 §3.5.1) stores, from the client's body and the
/// stored resource: the body is checked as by [`prepare_create`]; then `readOnly`
/// attributes keep their stored values (`id`, `meta`, `groups`), `writeOnly` ones (a
/// password) keep theirs when the body leaves them out (a client cannot read them back to
/// send them again), and every other attribute the body leaves out is cleared.
///
/// # Errors
/// Those of [`prepare_create`], and 400 `mutability` when the body gives an `immutable`
/// attribute that has a value a different one.
pub fn prepare_replace(
    body: &Value,
    existing: &Value,
    schema: &ResourceSchema,
) -> Result<Value, ScimError> {
    let mut out = prepare_create(body, schema)?;
    let Some(map) = out.as_object_mut() else {
        return Err(ScimError::internal("a prepared resource is an object"));
    };
    keep_stored(map, existing, &schema.core.attributes, None)?;
    keep_stored(map, existing, &schema.common, None)?;
    for ext in &schema.extensions {
        if let Some(stored) = get_ci(existing, &ext.schema.id) {
            let mut inner = match map.remove(&ext.schema.id) {
                Some(Value::Object(o)) => o,
                _ => Map::new(),
            };
            keep_stored(
                &mut inner,
                stored,
                &ext.schema.attributes,
                Some(&ext.schema.id),
            )?;
            if !inner.is_empty() {
                map.insert(ext.schema.id.clone(), Value::Object(inner));
            }
        }
    }
    // `schemas` follows the extensions the result carries.
    let mut schemas = vec![Value::String(schema.core.id.clone())];
    for ext in &schema.extensions {
        if map.contains_key(&ext.schema.id) {
            schemas.push(Value::String(ext.schema.id.clone()));
        }
    }
    map.insert("schemas".to_string(), Value::Array(schemas));
    Ok(out)
}

fn keep_stored(
    out: &mut Map<String, Value>,
    existing: &Value,
    defs: &[AttributeDef],
    urn: Option<&str>,
) -> Result<(), ScimError> {
    let Some(stored) = existing.as_object() else {
        return Ok(());
    };
    for def in defs {
        if def.name == "schemas" {
            continue;
        }
        let Some(old) = find_key(stored, &def.name).and_then(|k| stored.get(k)) else {
            continue;
        };
        match def.mutability {
            Mutability::ReadOnly => {
                out.insert(def.name.clone(), old.clone());
            }
            Mutability::WriteOnly if !out.contains_key(&def.name) => {
                out.insert(def.name.clone(), old.clone());
            }
            Mutability::Immutable if is_present(old) => {
                if let Some(new) = out.get(&def.name) {
                    if new != old {
                        let name = match urn {
                            Some(u) => format!("{u}:{}", def.name),
                            None => def.name.clone(),
                        };
                        return Err(ScimError::mutability(format!(
                            "attribute {name:?} is immutable and already has a value"
                        )));
                    }
                }
            }
            _ => {}
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

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    /// An Okta-shaped create (developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20,
    /// "Create the User"): a throwaway password, and `active` as a boolean.
    #[test]
    fn an_okta_create_is_stored_without_what_the_server_owns() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [], "password": "1mz050nq", "active": true,
            "id": "client-chosen", "meta": {"resourceType": "User"}
        });
        let user = prepare_create(&body, &user_schema()).expect("a user");
        assert!(
            user.get("id").is_none() && user.get("meta").is_none() && user.get("groups").is_none()
        );
        assert_eq!(
            user["password"], "1mz050nq",
            "kept to store; never returned"
        );
        assert_eq!(
            user["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
        );
    }

    /// An Entra-shaped create: the Enterprise extension, `active` as a string, an attribute
    /// mapped for no schema here.
    #[test]
    fn an_entra_create_is_brought_to_the_schema() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "UserName": "Test_User_ab6490ee@testuser.com",
            "active": "True",
            "emails": [{"primary": true, "type": "work", "value": "a@x.com"},
                       {"primary": true, "type": "home", "value": "b@x.com"}],
            ENTERPRISE: {"department": "Sales", "manager": {"value": "m1", "displayName": "M"}},
            "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User": {"tag": "x"}
        });
        let user = prepare_create(&body, &user_schema()).expect("a user");
        assert_eq!(user["userName"], "Test_User_ab6490ee@testuser.com");
        assert_eq!(user["active"], true);
        assert_eq!(
            user[ENTERPRISE],
            json!({"department": "Sales", "manager": {"value": "m1"}})
        );
        assert_eq!(user["emails"][0]["primary"], false, "one primary at most");
        assert_eq!(
            user["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE])
        );
        assert_eq!(user.as_object().map(|o| o.len()), Some(6), "{user}");
    }

    #[test]
    fn required_and_typed_attributes_are_checked() {
        let s = user_schema();
        for (body, kind) in [
            (json!({"name": {"givenName": "x"}}), ScimType::InvalidValue),
            (json!({"userName": ""}), ScimType::InvalidValue),
            (
                json!({"userName": "x", "active": "yes"}),
                ScimType::InvalidValue,
            ),
            (
                json!({"userName": "x", "emails": [{"value": 1}]}),
                ScimType::InvalidValue,
            ),
            (json!(["userName"]), ScimType::InvalidSyntax),
        ] {
            let e = prepare_create(&body, &s).expect_err("refused");
            assert_eq!(e.scim_type, Some(kind), "{body}: {e}");
        }
        let e = prepare_create(&json!({"members": []}), &group_schema()).expect_err("no name");
        assert!(e.detail.contains("displayName"), "{}", e.detail);
    }

    /// An Okta-shaped PUT: the whole profile, without the password; `id` and `meta` stay.
    #[test]
    fn a_replace_keeps_what_the_server_owns_and_clears_the_rest() {
        let s = user_schema();
        let stored = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "id": "u1", "userName": "a@x", "title": "Guide", "password": "secret",
            "groups": [{"value": "g1"}], ENTERPRISE: {"department": "Sales"},
            "meta": {"resourceType": "User", "version": "W/\"1\""}
        });
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "other", "userName": "a@x", "active": false,
            "name": {"givenName": "A"}
        });
        let out = prepare_replace(&body, &stored, &s).expect("replaced");
        assert_eq!(
            out,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "u1", "userName": "a@x", "active": false, "name": {"givenName": "A"},
                "password": "secret", "groups": [{"value": "g1"}],
                "meta": {"resourceType": "User", "version": "W/\"1\""}
            })
        );
    }

    #[test]
    fn a_replace_refuses_to_change_an_immutable_value() {
        let mut s = user_schema();
        if let Some(a) = s.core.attributes.iter_mut().find(|a| a.name == "userName") {
            a.mutability = Mutability::Immutable;
        }
        let stored = json!({"id": "u1", "userName": "a@x"});
        let e = prepare_replace(&json!({"userName": "b@x"}), &stored, &s).expect_err("immutable");
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
        assert!(prepare_replace(&json!({"userName": "a@x"}), &stored, &s).is_ok());
    }
}
