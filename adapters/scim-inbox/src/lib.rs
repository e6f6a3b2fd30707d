//! # idbridge-scim-inbox
//!
//! A read-only source adapter, registered as `scim-inbox`, for the SCIM directory that
//! `idbridge serve` keeps in the state database: the users and groups an identity provider
//! provisioned over SCIM 2.0. It reads them as the `scim` adapter reads a SCIM service
//! provider (the same mapping, `idbridge_scim::mapping`): `userName` is the login, `active`
//! is whether the user is enabled (a user with `active = false` is a disabled user), the
//! `work` e-mail is the e-mail, and `attribute_paths` names the free-form attributes.
//! Groups carry their members, users and nested groups.
//!
//! With it, `plan`, `apply`, `sync`, the guards and the journal work on what the identity
//! provider sent, unchanged. docs/scim.md describes the whole path.

pub mod adapter;
pub mod config;

pub use adapter::InboxAdapter;
pub use config::InboxConfig;

idbridge_core::register_adapter! {
    name: "scim-inbox",
    description: "The SCIM directory idbridge serve keeps (users, groups and nested members an identity provider provisioned), as a read-only source",
    capabilities: InboxAdapter::declared_capabilities,
    example_config: config::EXAMPLE_CONFIG,
    secret_keys: &[],
    build: InboxAdapter::build,
    check_config: InboxConfig::from_adapter_config,
}

/// Keeps this crate (and its registration) in the program that calls it.
pub fn link() {
    __link();
}
