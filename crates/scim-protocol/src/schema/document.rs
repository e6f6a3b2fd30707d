//! The discovery documents a service provider serves (`/Schemas`, RFC 7643 §7 and §8.7.1;
//! `/ResourceTypes`, RFC 7643 §6 and §8.6), built from the definitions, and the reverse: a
//! [`ResourceSchema`] read from a server's documents, for a client.

use serde_json::{Map, Value, json};

use super::{
    AttrType, AttributeDef, Extension, Mutability, ResourceSchema, Returned, SchemaDef, Uniqueness,
    common_attributes, group_schema, user_schema,
};
use crate::wire::{
    LIST_RESPONSE_SCHEMA, Meta, ResourceType, SchemaAttribute, SchemaDocument, SchemaExtension,
};

/// The schema URN of a schema definition (RFC 7643 §7).
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// The schema URN of a resource type (RFC 7643 §6).
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

fn text<T: serde::Serialize>(t: T) -> String {
    match serde_json::to_value(t) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

impl From<&AttributeDef> for SchemaAttribute {
    fn from(a: &AttributeDef) -> Self {
        SchemaAttribute {
            name: a.name.clone(),
            kind: text(a.kind),
            multi_valued: a.multi_valued,
            description: Some(a.description.clone()).filter(|d| !d.is_empty()),
            required: a.required,
            canonical_values: a.canonical_values.clone(),
            case_exact: a.case_exact,
            mutability: text(a.mutability),
            returned: text(a.returned),
            uniqueness: text(a.uniqueness),
            reference_types: a.reference_types.clone(),
            sub_attributes: a.sub_attributes.iter().map(SchemaAttribute::from).collect(),
        }
    }
}

fn parse_kind(s: &str) -> AttrType {
    match s.to_ascii_lowercase().as_str() {
        "boolean" => AttrType::Boolean,
        "decimal" => AttrType::Decimal,
        "integer" => AttrType::Integer,
        "datetime" => AttrType::DateTime,
        "binary" => AttrType::Binary,
        "reference" => AttrType::Reference,
        "complex" => AttrType::Complex,
        _ => AttrType::String,
    }
}

impl From<&SchemaAttribute> for AttributeDef {
    /// Reads a server's definition; a characteristic spelled in another case is
    /// recognised, an unknown one reads as the RFC 7643 §2.2 default.
    fn from(a: &SchemaAttribute) -> Self {
        let mutability = match a.mutability.to_ascii_lowercase().as_str() {
            "readonly" => Mutability::ReadOnly,
            "immutable" => Mutability::Immutable,
            "writeonly" => Mutability::WriteOnly,
            _ => Mutability::ReadWrite,
        };
        let returned = match a.returned.to_ascii_lowercase().as_str() {
            "always" => Returned::Always,
            "never" => Returned::Never,
            "request" => Returned::Request,
            _ => Returned::Default,
        };
        let uniqueness = match a.uniqueness.to_ascii_lowercase().as_str() {
            "server" => Uniqueness::Server,
            "global" => Uniqueness::Global,
            _ => Uniqueness::None,
        };
        AttributeDef {
            name: a.name.clone(),
            kind: parse_kind(&a.kind),
            multi_valued: a.multi_valued,
            description: a.description.clone().unwrap_or_default(),
            required: a.required,
            canonical_values: a.canonical_values.clone(),
            case_exact: a.case_exact,
            mutability,
            returned,
            uniqueness,
            reference_types: a.reference_types.clone(),
            sub_attributes: a.sub_attributes.iter().map(AttributeDef::from).collect(),
        }
    }
}

impl From<&SchemaDocument> for SchemaDef {
    fn from(d: &SchemaDocument) -> Self {
        SchemaDef {
            id: d.id.clone(),
            name: d.name.clone().unwrap_or_default(),
            description: d.description.clone().unwrap_or_default(),
            attributes: d.attributes.iter().map(AttributeDef::from).collect(),
        }
    }
}

impl ResourceSchema {
    /// A resource type as a server describes it (RFC 7643 §6, §7): its core schema and
    /// extensions looked up by URN among `schemas`. Extensions not among them are left
    /// out; the common attributes (RFC 7643 §3.1) are added.
    ///
    /// Returns `None` when the core schema is not among `schemas`.
    pub fn from_discovery(rt: &ResourceType, schemas: &[SchemaDocument]) -> Option<Self> {
        let find = |urn: &str| schemas.iter().find(|s| s.id.eq_ignore_ascii_case(urn));
        Some(ResourceSchema {
            name: rt.name.clone(),
            endpoint: rt.endpoint.clone(),
            description: rt.description.clone().unwrap_or_default(),
            core: SchemaDef::from(find(&rt.schema)?),
            extensions: rt
                .schema_extensions
                .iter()
                .filter_map(|e| {
                    Some(Extension {
                        schema: SchemaDef::from(find(&e.schema)?),
                        required: e.required,
                    })
                })
                .collect(),
            common: common_attributes(),
        })
    }
}

fn meta(resource_type: &str, location: Option<String>) -> Meta {
    Meta {
        resource_type: Some(resource_type.to_string()),
        location,
        version: None,
        extra: Map::new(),
    }
}

/// One schema's document (RFC 7643 §7), located under `base_url` (the SCIM base URL
/// without a trailing `/`; empty leaves `meta.location` out).
pub fn schema_document(schema: &SchemaDef, base_url: &str) -> SchemaDocument {
    let location = (!base_url.is_empty()).then(|| format!("{base_url}/Schemas/{}", schema.id));
    SchemaDocument {
        schemas: vec![SCHEMA_SCHEMA.to_string()],
        id: schema.id.clone(),
        name: Some(schema.name.clone()),
        description: Some(schema.description.clone()),
        attributes: schema
            .attributes
            .iter()
            .map(SchemaAttribute::from)
            .collect(),
        meta: Some(meta("Schema", location)),
    }
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": resources.len(),
        "itemsPerPage": resources.len(),
        "startIndex": 1,
        "Resources": resources,
    })
}

fn to_json<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

/// The `/Schemas` answer (RFC 7644 §4, RFC 7643 §7): a ListResponse of the core User, the
/// Enterprise User extension and the core Group schemas, without `meta.location` (see
/// [`schemas_document_at`] for located ones).
pub fn schemas_document() -> Value {
    schemas_document_at("")
}

/// [`schemas_document`] with each schema's `meta.location` under `base_url`.
pub fn schemas_document_at(base_url: &str) -> Value {
    let user = user_schema();
    let group = group_schema();
    let mut all = vec![&user.core];
    all.extend(user.extensions.iter().map(|e| &e.schema));
    all.push(&group.core);
    list(
        all.into_iter()
            .map(|s| to_json(&schema_document(s, base_url)))
            .collect(),
    )
}

/// One resource type's document (RFC 7643 §6), located under `base_url` (the SCIM base URL
/// without a trailing `/`).
pub fn resource_type_document(schema: &ResourceSchema, base_url: &str) -> ResourceType {
    ResourceType {
        schemas: vec![RESOURCE_TYPE_SCHEMA.to_string()],
        id: Some(schema.name.clone()),
        name: schema.name.clone(),
        endpoint: schema.endpoint.clone(),
        description: Some(schema.description.clone()),
        schema: schema.core.id.clone(),
        schema_extensions: schema
            .extensions
            .iter()
            .map(|e| SchemaExtension {
                schema: e.schema.id.clone(),
                required: e.required,
            })
            .collect(),
        meta: Some(meta(
            "ResourceType",
            Some(format!("{base_url}/ResourceTypes/{}", schema.name)),
        )),
    }
}

/// The `/ResourceTypes` answer (RFC 7644 §4, RFC 7643 §6): a ListResponse of the User
/// (with the Enterprise extension, optional) and Group resource types, each located under
/// `base_url` (the SCIM base URL without a trailing `/`).
pub fn resource_types_document(base_url: &str) -> Value {
    list(
        [user_schema(), group_schema()]
            .iter()
            .map(|s| to_json(&resource_type_document(s, base_url)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

    #[test]
    fn the_schemas_answer_has_the_rfc_shapes() {
        let doc = schemas_document_at("https://example.com/v2");
        assert_eq!(doc["totalResults"], 3);
        let ids: Vec<&str> = doc["Resources"]
            .as_array()
            .expect("resources")
            .iter()
            .filter_map(|r| r["id"].as_str())
            .collect();
        assert_eq!(ids, [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA]);
        let user = &doc["Resources"][0];
        assert_eq!(user["schemas"][0], SCHEMA_SCHEMA);
        assert_eq!(
            user["meta"]["location"],
            format!("https://example.com/v2/Schemas/{USER_SCHEMA}")
        );
        let user_name = &user["attributes"][0];
        assert_eq!(user_name["name"], "userName");
        assert_eq!(user_name["type"], "string");
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["required"], true);
        let attrs = user["attributes"].as_array().expect("attributes");
        let emails = attrs
            .iter()
            .find(|a| a["name"] == "emails")
            .expect("emails");
        assert_eq!(emails["multiValued"], true);
        assert_eq!(emails["subAttributes"][3]["type"], "boolean");
        let pw = attrs
            .iter()
            .find(|a| a["name"] == "password")
            .expect("password");
        assert_eq!(
            (&pw["returned"], &pw["mutability"]),
            (&json!("never"), &json!("writeOnly"))
        );
        assert!(
            attrs.iter().all(|a| a["name"] != "id"),
            "common attributes are not listed"
        );
        let docs: Vec<SchemaDocument> =
            serde_json::from_value(doc["Resources"].clone()).expect("reads back");
        assert_eq!(SchemaDef::from(&docs[0]), user_schema().core);
    }

    #[test]
    fn the_resource_types_answer_reads_back_into_the_same_schemas() {
        let doc = resource_types_document("https://example.com/v2");
        assert_eq!(doc["totalResults"], 2);
        let user = &doc["Resources"][0];
        assert_eq!(user["endpoint"], "/Users");
        assert_eq!(user["schema"], USER_SCHEMA);
        assert_eq!(
            user["schemaExtensions"][0]["schema"],
            ENTERPRISE_USER_SCHEMA
        );
        assert_eq!(user["schemaExtensions"][0]["required"], false);
        assert_eq!(
            user["meta"]["location"],
            "https://example.com/v2/ResourceTypes/User"
        );
        let types: Vec<ResourceType> =
            serde_json::from_value(doc["Resources"].clone()).expect("reads back");
        let schemas: Vec<SchemaDocument> =
            serde_json::from_value(schemas_document()["Resources"].clone()).expect("reads");
        let read = ResourceSchema::from_discovery(&types[0], &schemas).expect("user");
        assert_eq!(read, user_schema());
        let group = ResourceSchema::from_discovery(&types[1], &schemas).expect("group");
        assert_eq!(group, group_schema());
        assert!(ResourceSchema::from_discovery(&types[0], &[]).is_none());
    }
}
