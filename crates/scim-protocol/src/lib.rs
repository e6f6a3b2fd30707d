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
//! - [`project`]: `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5).
//! - [`sort`]: `sortBy` and `sortOrder` (RFC 7644 §3.4.2.3).
//! - [`error`]: errors with their `scimType` (RFC 7644 §3.12).

mod coerce;
pub mod error;
pub mod filter;
pub mod patch;
pub mod path;
pub mod project;
pub mod resource;
pub mod schema;
pub mod sort;
pub mod value;
pub mod wire;

pub use error::{ScimError, ScimType};
pub use filter::{CompareOp, Filter, parse_filter};
pub use patch::{PatchOpKind, apply_patch};
pub use path::{AttrPath, PatchPath, parse_attr_path, parse_patch_path};
pub use project::project;
pub use resource::{prepare_create, prepare_replace};
pub use schema::{
    AttrType, AttributeDef, Mutability, ResourceSchema, Returned, Uniqueness, group_schema,
    resource_types_document, schemas_document, user_schema,
};
pub use sort::{SortOrder, compare_by, compare_in};
