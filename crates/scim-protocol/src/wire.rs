//! The SCIM 2.0 wire model (RFC 7643 resources, RFC 7644 protocol messages), as plain serde
//! types over `serde_json`, shared by the SCIM client adapter and the SCIM server.
//!
//! Resources keep every attribute they are sent: the typed fields are the ones idbridge
//! reads and writes, the rest stays in `extra` and goes back unchanged on a whole-resource
//! replace (RFC 7644 §3.5.1 replaces every attribute the client may write).

mod bulk;
mod discovery;
mod messages;
mod provider;
mod resources;

pub use bulk::{
    BULK_ID_PREFIX, BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, BulkOperation,
    BulkOperationResponse, BulkRequest, BulkResponse, bulk_id_reference, bulk_id_references,
    dependency_order, resolve_bulk_id_in_path, resolve_bulk_ids,
};
pub use discovery::{ResourceType, SchemaAttribute, SchemaDocument, SchemaExtension};
pub use messages::{ErrorResponse, ListResponse, PatchOp, PatchOperation};
pub use provider::{Bulk, Filter, ServiceProviderConfig, Supported};
pub use resources::{Email, GroupResource, Member, Meta, Name, UserResource};

/// The core User schema (RFC 7643 §4.1).
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema (RFC 7643 §4.2).
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The Enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// A list answer (RFC 7644 §3.4.2).
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// A PATCH request (RFC 7644 §3.5.2).
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// An error answer (RFC 7644 §3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The service provider's configuration (RFC 7643 §5).
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// The media type of SCIM bodies (RFC 7644 §3.1).
pub const MEDIA_TYPE: &str = "application/scim+json";

/// Quotes a value for a filter expression (RFC 7644 §3.4.2.2: a JSON string literal).
pub fn filter_string(value: &str) -> String {
    serde_json::Value::String(value.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_strings_are_json_literals() {
        assert_eq!(filter_string("bjensen"), "\"bjensen\"");
        assert_eq!(filter_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
