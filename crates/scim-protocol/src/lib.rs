//! # idbridge-scim-protocol
//!
//! The SCIM 2.0 protocol, free of idbridge types, of I/O and of any HTTP stack: what
//! idbridge's SCIM adapter (`idbridge-scim`) speaks as a client and idbridge's SCIM server
//! speaks as a service provider.
//!
//! - [`wire`]: the serde types of RFC 7643 resources and RFC 7644 messages.
//! - [`schema`]: attribute definitions (RFC 7643 §2, §7) and the discovery documents.
//! - [`path`]: attribute paths and PATCH paths (RFC 7644 §3.10, §3.5.2).
//! - [`filter`]: the filter grammar and its evaluation (RFC 7644 §3.4.2.2).
//! - [`patch`]: PATCH operations (RFC 7644 §3.5.2).
//! - [`resource`]: the bodies of create and replace (RFC 7644 §3.3, §3.5.1).
//! - [`project`](mod@project): `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5).
//! - [`sort`]: `sortBy` and `sortOrder` (RFC 7644 §3.4.2.3).
//! - [`paging`]: `startIndex` and `count` (RFC 7644 §3.4.2.4).
//! - [`etag`]: versions and preconditions (RFC 7644 §3.14).
//! - [`uniqueness`]: unique attributes and 409 `uniqueness` (RFC 7643 §2.2).
//! - [`error`]: errors with their `scimType` (RFC 7644 §3.12).
//!
//! # Example
//!
//! Apply a PATCH shaped as Microsoft Entra ID sends it (a capitalised `op`, a boolean as
//! text) to a user, then evaluate the filter an identity provider looks users up with:
//!
//! ```
//! use idbridge_scim_protocol::{apply_patch, parse_filter, schema::user_schema, wire::PatchOp};
//! use serde_json::json;
//!
//! let schema = user_schema();
//! let mut user = json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "userName": "ada@example.com",
//!     "active": true,
//! });
//! let patch: PatchOp = serde_json::from_value(json!({
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
//! }))
//! .unwrap();
//! apply_patch(&mut user, &patch.operations, &schema).unwrap();
//! assert_eq!(user["active"], false);
//!
//! let filter = parse_filter(r#"userName eq "ADA@example.com" and active eq false"#).unwrap();
//! assert!(filter.matches(&user, &schema));
//! ```
//!
//! # Next
//!
//! The SCIM adapter (`idbridge-scim`) sends these messages to a service provider;
//! `idbridge-scim-server` serves them, storing what it receives through `idbridge-store`.

mod coerce;
pub mod error;
pub mod etag;
pub mod filter;
pub mod paging;
pub mod patch;
pub mod path;
pub mod project;
pub mod resource;
pub mod schema;
pub mod sort;
pub mod uniqueness;
pub mod value;
pub mod wire;

pub use error::{ScimError, ScimType};
pub use filter::{CompareOp, Filter, parse_filter};
pub use paging::Page;
pub use patch::{PatchOpKind, PatchOptions, apply_patch, apply_patch_with};
pub use path::{AttrPath, PatchPath, parse_attr_path, parse_patch_path};
pub use project::project;
pub use resource::{prepare_create, prepare_replace};
pub use schema::{
    AttrType, AttributeDef, Mutability, ResourceSchema, Returned, Uniqueness, group_schema,
    resource_types_document, schemas_document, user_schema,
};
pub use sort::{SortOrder, compare_by, compare_in};
pub use uniqueness::check_unique;
