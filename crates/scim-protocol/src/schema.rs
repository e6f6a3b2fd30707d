//! Attribute definitions (RFC 7643 §2.2, §7): the characteristics that drive filtering
//! (type, `caseExact`), PATCH (`mutability`, `multiValued`, `subAttributes`), projection
//! (`returned`) and uniqueness checks, for a resource type with its core schema and
//! extensions.

mod definitions;
mod document;

use serde::{Deserialize, Serialize};

use crate::path::AttrPath;

pub use definitions::{
    common_attributes, enterprise_user_schema, group_core_schema, group_schema, user_core_schema,
    user_schema,
};
pub use document::{
    RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA, resource_type_document, resource_types_document,
    schema_document, schemas_document, schemas_document_at,
};

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    /// A Unicode string.
    String,
    /// `true` or `false`.
    Boolean,
    /// A number with a fractional part.
    Decimal,
    /// A whole number.
    Integer,
    /// An `xsd:dateTime` string (RFC 3339 in practice).
    DateTime,
    /// Base64 text.
    Binary,
    /// A URI.
    Reference,
    /// An object of sub-attributes.
    Complex,
}

/// When an attribute may be written (RFC 7643 §2.2 `mutability`); default `readWrite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    /// Never written by a client.
    ReadOnly,
    /// Written freely.
    #[default]
    ReadWrite,
    /// Written once, when it has no value yet.
    Immutable,
    /// Written but never returned (a password).
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 §2.2 `returned`); default `default`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    /// Always, even when `excludedAttributes` names it.
    Always,
    /// Never (a password).
    Never,
    /// Unless `attributes` leaves it out or `excludedAttributes` names it.
    #[default]
    Default,
    /// Only when `attributes` names it.
    Request,
}

/// How unique an attribute's value is (RFC 7643 §2.2 `uniqueness`); default `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    /// No constraint.
    #[default]
    None,
    /// Unique within the service provider's resources of this type.
    Server,
    /// Globally unique.
    Global,
}

/// One attribute's definition (RFC 7643 §7 `attributes`). Built with [`AttributeDef::new`]
/// and the chained setters, whose defaults are those of RFC 7643 §2.2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeDef {
    /// The name, as the schema spells it (its canonical case).
    pub name: String,
    /// The data type.
    pub kind: AttrType,
    /// Whether the value is an array.
    pub multi_valued: bool,
    /// A human-readable description.
    pub description: String,
    /// Whether a resource must have it.
    pub required: bool,
    /// Suggested values (`type` of `emails`: `work`, `home`, `other`).
    pub canonical_values: Vec<String>,
    /// Whether string comparisons regard case.
    pub case_exact: bool,
    /// When it may be written.
    pub mutability: Mutability,
    /// When it is returned.
    pub returned: Returned,
    /// How unique its value is.
    pub uniqueness: Uniqueness,
    /// For a reference: the resource types it may point at (`User`, `Group`, `external`,
    /// `uri`).
    pub reference_types: Vec<String>,
    /// For a complex attribute: its sub-attributes.
    pub sub_attributes: Vec<AttributeDef>,
}

impl AttributeDef {
    /// A single-valued, optional, case-insensitive, readWrite attribute returned by
    /// default, with no uniqueness (RFC 7643 §2.2 defaults).
    pub fn new(name: &str, kind: AttrType) -> Self {
        AttributeDef {
            name: name.to_string(),
            kind,
            multi_valued: false,
            description: String::new(),
            required: false,
            canonical_values: Vec::new(),
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }

    /// Sets the description.
    pub fn describe(mut self, description: &str) -> Self {
        self.description = description.to_string();
        self
    }

    /// Makes it multi-valued.
    pub fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    /// Makes it required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Makes string comparisons regard case.
    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    /// Sets the mutability.
    pub fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }

    /// Sets when it is returned.
    pub fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }

    /// Sets the uniqueness.
    pub fn uniqueness(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }

    /// Sets the canonical values.
    pub fn canonical(mut self, values: &[&str]) -> Self {
        self.canonical_values = values.iter().map(|v| v.to_string()).collect();
        self
    }

    /// Sets the reference types.
    pub fn references(mut self, types: &[&str]) -> Self {
        self.reference_types = types.iter().map(|v| v.to_string()).collect();
        self
    }

    /// Sets the sub-attributes (for a complex attribute).
    pub fn subs(mut self, subs: Vec<AttributeDef>) -> Self {
        self.sub_attributes = subs;
        self
    }

    /// The sub-attribute named `name`, in any case.
    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        find(&self.sub_attributes, name)
    }

    /// Whether a client may never write it (`readOnly`).
    pub fn is_read_only(&self) -> bool {
        self.mutability == Mutability::ReadOnly
    }
}

fn find<'a>(attrs: &'a [AttributeDef], name: &str) -> Option<&'a AttributeDef> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// A schema (RFC 7643 §7): a URN, a name and attributes. A resource type has one core
/// schema and any number of extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaDef {
    /// The URN (`urn:ietf:params:scim:schemas:core:2.0:User`).
    pub id: String,
    /// The name (`User`).
    pub name: String,
    /// A human-readable description.
    pub description: String,
    /// Its attributes.
    pub attributes: Vec<AttributeDef>,
}

impl SchemaDef {
    /// The attribute named `name`, in any case.
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        find(&self.attributes, name)
    }
}

/// A schema extension of a resource type (RFC 7643 §6 `schemaExtensions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The extension's schema.
    pub schema: SchemaDef,
    /// Whether every resource must carry it.
    pub required: bool,
}

/// A resource type with its schemas (RFC 7643 §6): what the filter, PATCH, projection and
/// sorting of this crate read attribute characteristics from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSchema {
    /// The resource type's name and id (`User`).
    pub name: String,
    /// Its endpoint relative to the base URL (`/Users`).
    pub endpoint: String,
    /// A human-readable description.
    pub description: String,
    /// The core schema.
    pub core: SchemaDef,
    /// The extensions.
    pub extensions: Vec<Extension>,
    /// The attributes every resource has (RFC 7643 §3.1: `id`, `externalId`, `meta`, and
    /// `schemas`), in no schema's document.
    pub common: Vec<AttributeDef>,
}

impl ResourceSchema {
    /// Whether `urn` is the core schema's URN (any case).
    pub fn is_core_urn(&self, urn: &str) -> bool {
        self.core.id.eq_ignore_ascii_case(urn)
    }

    /// The extension whose URN is `urn` (any case).
    pub fn extension(&self, urn: &str) -> Option<&Extension> {
        self.extensions
            .iter()
            .find(|e| e.schema.id.eq_ignore_ascii_case(urn))
    }

    /// The extension a path names as a whole (`urn:...:enterprise:2.0:User`), if any.
    pub fn extension_named(&self, path: &AttrPath) -> Option<&Extension> {
        self.extension(&path.as_urn()?)
    }

    /// Every schema URN of the resource type, the core one first.
    pub fn schema_urns(&self) -> Vec<&str> {
        std::iter::once(self.core.id.as_str())
            .chain(self.extensions.iter().map(|e| e.schema.id.as_str()))
            .collect()
    }

    /// The top-level definition of `path`'s attribute (ignoring its sub-attribute): from the
    /// extension its URN names, else the core schema or the common attributes. An
    /// unqualified name is looked up in the core schema only (RFC 7644 §3.10).
    pub fn top_attribute(&self, path: &AttrPath) -> Option<&AttributeDef> {
        match &path.schema {
            Some(urn) if !self.is_core_urn(urn) => {
                self.extension(urn)?.schema.attribute(&path.attribute)
            }
            _ => self
                .core
                .attribute(&path.attribute)
                .or_else(|| find(&self.common, &path.attribute)),
        }
    }

    /// The definition of the attribute `path` names: the sub-attribute's when it has one.
    /// `None` for an attribute no schema of this resource type defines.
    pub fn attribute(&self, path: &AttrPath) -> Option<&AttributeDef> {
        let top = self.top_attribute(path)?;
        match &path.sub_attribute {
            Some(sub) => top.sub_attribute(sub),
            None => Some(top),
        }
    }

    /// Every attribute with `uniqueness` `server` or `global` (top-level, core and
    /// extensions), with the path that names it: what a service provider checks on create
    /// and replace before answering 409 `uniqueness`.
    pub fn unique_attributes(&self) -> Vec<(AttrPath, &AttributeDef)> {
        let mut out: Vec<(AttrPath, &AttributeDef)> = self
            .core
            .attributes
            .iter()
            .chain(self.common.iter())
            .filter(|a| a.uniqueness != Uniqueness::None)
            .map(|a| (AttrPath::new(a.name.clone()), a))
            .collect();
        for ext in &self.extensions {
            for a in &ext.schema.attributes {
                if a.uniqueness != Uniqueness::None {
                    out.push((
                        AttrPath::new(a.name.clone()).in_schema(ext.schema.id.clone()),
                        a,
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::parse_attr_path;

    fn path(s: &str) -> AttrPath {
        parse_attr_path(s).expect("a path")
    }

    #[test]
    fn lookups_ignore_case_and_follow_the_urn() {
        let user = user_schema();
        let a = user.attribute(&path("USERNAME")).expect("userName");
        assert_eq!(a.name, "userName");
        assert_eq!(a.uniqueness, Uniqueness::Server);
        assert!(!a.case_exact);
        let given = user
            .attribute(&path(
                "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName",
            ))
            .expect("name.givenName");
        assert_eq!(given.name, "givenName");
        let dept = user
            .attribute(&path(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            ))
            .expect("department");
        assert_eq!(dept.kind, AttrType::String);
        assert!(
            user.attribute(&path("department")).is_none(),
            "unqualified names are core attributes"
        );
        let id = user.attribute(&path("id")).expect("id");
        assert!(id.case_exact && id.is_read_only() && id.returned == Returned::Always);
        let pw = user.attribute(&path("password")).expect("password");
        assert_eq!(
            (pw.returned, pw.mutability),
            (Returned::Never, Mutability::WriteOnly)
        );
        assert_eq!(
            user.attribute(&path("meta.lastModified")).map(|a| a.kind),
            Some(AttrType::DateTime)
        );
        assert!(
            user.extension_named(&path(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"
            ))
            .is_some()
        );
        let group = group_schema();
        let member_value = group
            .attribute(&path("members.value"))
            .expect("members.value");
        assert_eq!(member_value.mutability, Mutability::Immutable);
        assert!(group.attribute(&path("userName")).is_none());
    }

    #[test]
    fn unique_attributes_are_listed() {
        let names: Vec<String> = user_schema()
            .unique_attributes()
            .into_iter()
            .map(|(p, _)| p.to_string())
            .collect();
        assert!(names.contains(&"userName".to_string()), "{names:?}");
        assert!(names.contains(&"id".to_string()), "{names:?}");
    }
}
