//! Discovery documents: `/ResourceTypes` (RFC 7643 §6) and `/Schemas` (RFC 7643 §7), as
//! served by a service provider and read by a client. Characteristics are kept as the
//! server spells them (strings), so that a client reads any server; the defaults of a
//! characteristic left out are those of RFC 7643 §2.2.

use serde::{Deserialize, Serialize};

use super::Meta;

/// One of a resource type's schema extensions (RFC 7643 §6 `schemaExtensions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaExtension {
    /// The extension's schema URN.
    pub schema: String,
    /// Whether every resource of the type must carry it; absent means `false`.
    #[serde(default)]
    pub required: bool,
}

/// A resource type (RFC 7643 §6), one of the `/ResourceTypes` answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceType {
    /// The schemas (the ResourceType URN).
    #[serde(default)]
    pub schemas: Vec<String>,
    /// The type's id (`User`); optional in the RFC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The type's name (`User`).
    #[serde(default)]
    pub name: String,
    /// Its endpoint relative to the base URL (`/Users`).
    #[serde(default)]
    pub endpoint: String,
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The core schema's URN.
    #[serde(default)]
    pub schema: String,
    /// The extensions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schema_extensions: Vec<SchemaExtension>,
    /// `meta` (`resourceType` `ResourceType`, `location`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

fn read_write() -> String {
    "readWrite".to_string()
}

fn default_returned() -> String {
    "default".to_string()
}

fn no_uniqueness() -> String {
    "none".to_string()
}

fn string_type() -> String {
    "string".to_string()
}

/// An attribute definition (RFC 7643 §7 `attributes`, recursive in `subAttributes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaAttribute {
    /// The attribute's name.
    pub name: String,
    /// Its type (`string`, `boolean`, `decimal`, `integer`, `dateTime`, `binary`,
    /// `reference`, `complex`); absent reads as `string`.
    #[serde(rename = "type", default = "string_type")]
    pub kind: String,
    /// Whether it is multi-valued; absent reads as `false`.
    #[serde(default)]
    pub multi_valued: bool,
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether it is required; absent reads as `false`.
    #[serde(default)]
    pub required: bool,
    /// Suggested values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<String>,
    /// Whether string comparisons regard case; absent reads as `false`.
    #[serde(default)]
    pub case_exact: bool,
    /// `readOnly`, `readWrite` (the default), `immutable` or `writeOnly`.
    #[serde(default = "read_write")]
    pub mutability: String,
    /// `always`, `never`, `default` (the default) or `request`.
    #[serde(default = "default_returned")]
    pub returned: String,
    /// `none` (the default), `server` or `global`.
    #[serde(default = "no_uniqueness")]
    pub uniqueness: String,
    /// For references: the resource types referred to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<String>,
    /// For complex attributes: the sub-attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_attributes: Vec<SchemaAttribute>,
}

/// A schema (RFC 7643 §7), one of the `/Schemas` answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchemaDocument {
    /// The schemas (the Schema URN).
    #[serde(default)]
    pub schemas: Vec<String>,
    /// The schema's URN.
    pub id: String,
    /// Its name (`User`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its attributes.
    #[serde(default)]
    pub attributes: Vec<SchemaAttribute>,
    /// `meta` (`resourceType` `Schema`, `location`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 7643 §8.6's User resource type reads and writes back the same.
    #[test]
    fn the_rfc_resource_type_round_trips() {
        let rfc = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User", "name": "User", "endpoint": "/Users",
            "description": "User Account",
            "schema": "urn:ietf:params:scim:schemas:core:2.0:User",
            "schemaExtensions": [{
                "schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "required": true
            }],
            "meta": {"location": "https://example.com/v2/ResourceTypes/User",
                     "resourceType": "ResourceType"}
        });
        let rt: ResourceType = serde_json::from_value(rfc.clone()).expect("reads");
        assert_eq!(rt.endpoint, "/Users");
        assert!(rt.schema_extensions[0].required);
        assert_eq!(serde_json::to_value(&rt).expect("writes"), rfc);
    }

    #[test]
    fn a_terse_schema_reads_with_the_rfc_defaults() {
        let doc: SchemaDocument = serde_json::from_value(json!({
            "id": "urn:ietf:params:scim:schemas:core:2.0:Group",
            "attributes": [
                {"name": "displayName", "required": true},
                {"name": "members", "type": "complex", "multiValued": true,
                 "subAttributes": [{"name": "value", "mutability": "immutable"}]}
            ]
        }))
        .expect("reads");
        let display = &doc.attributes[0];
        assert_eq!(
            (
                display.kind.as_str(),
                display.mutability.as_str(),
                display.returned.as_str()
            ),
            ("string", "readWrite", "default")
        );
        assert!(display.required && !display.case_exact && !display.multi_valued);
        assert_eq!(doc.attributes[1].sub_attributes[0].mutability, "immutable");
    }
}
