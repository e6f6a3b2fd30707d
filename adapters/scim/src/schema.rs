//! The discovery resources the adapter reads (RFC 7643 §6 resource types, §7 schemas),
//! only the fields it uses; everything else a server sends is ignored.

use serde::Deserialize;

/// An extension of a resource type (RFC 7643 §6, `schemaExtensions`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SchemaExtension {
    /// The extension's schema URN.
    pub schema: String,
    /// Whether every resource must carry it.
    #[serde(default)]
    pub required: bool,
}

/// A resource type (RFC 7643 §6).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceType {
    /// Its name, as `User`.
    pub name: String,
    /// Its endpoint relative to the base URL, as `/Users`.
    pub endpoint: String,
    /// Its core schema URN.
    pub schema: String,
    /// Its extensions.
    #[serde(default)]
    pub schema_extensions: Vec<SchemaExtension>,
}

/// An attribute of a schema (RFC 7643 §7).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaAttribute {
    /// Its name.
    pub name: String,
    /// Its data type (`string`, `complex`, ...), when given.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Whether it holds many values.
    #[serde(default)]
    pub multi_valued: bool,
    /// Its sub-attributes (of a `complex` attribute).
    #[serde(default)]
    pub sub_attributes: Vec<SchemaAttribute>,
}

/// A schema (RFC 7643 §7).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SchemaDocument {
    /// Its URN.
    pub id: String,
    /// Its attributes.
    #[serde(default)]
    pub attributes: Vec<SchemaAttribute>,
}
