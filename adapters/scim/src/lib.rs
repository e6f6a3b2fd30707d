//! # idbridge-scim
//!
//! The idbridge adapter for any SCIM 2.0 service provider (RFC 7643, RFC 7644), registered
//! as `scim`: users (with `active`), groups, nested members, discovery of what the server
//! supports from `/ServiceProviderConfig`, PATCH or whole-resource replace, `If-Match`
//! where the server keeps versions, and bearer, basic or OAuth 2.0 client-credentials
//! authentication.
//!
//! The SCIM wire model lives in `idbridge-scim-protocol` (re-exported as [`wire`]), shared
//! with idbridge's own SCIM server. With the `emulator`
//! feature the crate also holds a stateful in-memory SCIM service provider (see
//! `emulator`).
//!
//! The full page (configuration keys, mapping, capabilities, evidence) is
//! `adapters/scim/README.md`.

pub mod adapter;
mod bulk;
pub mod client;
pub mod config;
pub mod discovery;
pub mod error;
mod groups;
pub mod mapping;
pub mod users;
pub use idbridge_scim_protocol::wire;

#[cfg(feature = "emulator")]
pub mod emulator;

pub use adapter::{Features, ScimAdapter};
pub use config::ScimConfig;

impl idbridge_core::Roles for ScimAdapter {}
impl idbridge_core::Sessions for ScimAdapter {}

idbridge_core::register_adapter! {
    name: "scim",
    description: "Any SCIM 2.0 service provider (RFC 7643/7644): users, groups and nested members",
    capabilities: ScimAdapter::declared_capabilities,
    example_config: "base_url = \"https://app.example.com/scim/v2\"\ntoken_file = \"/run/secrets/scim-token\"\n# or: username = \"...\" and password_file = \"...\"\n# or: token_url = \"https://login.example.com/oauth2/token\", client_id = \"...\", client_secret_file = \"...\", scope = \"scim\"\n# attribute_paths = { externalId = \"externalId\", department = \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department\" }",
    secret_keys: &["token", "api_key", "password", "client_secret"],
    build: ScimAdapter::build,
    check_config: ScimConfig::from_adapter_config,
    emulator: {
        description: "A SCIM 2.0 service provider: users, groups with nested members, PATCH, filters, versions",
        start: crate::emulator::start,
        contract: &crate::emulator::CONTRACT,
    },
}

/// Keeps this crate (and its registrations) in the program that calls it.
pub fn link() {
    __link();
}
