//! # idbridge-ldap
//!
//! A read-only source adapter for an LDAP directory (OpenLDAP and other RFC 4519
//! directories, Active Directory): users, groups and memberships read with the Simple Paged
//! Results control over `ldap://`, StartTLS or `ldaps://`, bound with a DN and a secret
//! password. Stable ids come from the directory (`entryUUID`, or `objectGUID` in AD), so a
//! renamed or moved entry keeps its id. See `adapters/ldap/README.md`.

pub mod ad;
pub mod config;
pub mod connection;
pub mod directory;
pub mod dn;
pub mod retry;

mod adapter;

pub use adapter::{DEFAULT_LIST_PAGE, LdapAdapter, SNAPSHOT_REUSE};
pub use config::{DEFAULT_PAGE_SIZE, IdFormat, LdapConfig, Preset, Transport};
pub use directory::Directory;

idbridge_core::register_adapter! {
    name: "ldap",
    description: "An LDAP directory as a read-only source (OpenLDAP preset: entryUUID ids, groupOfNames, groupOfUniqueNames and posixGroup; AD preset: objectGUID ids, userAccountControl, ranged member retrieval)",
    capabilities: LdapAdapter::declared_capabilities,
    example_config: config::EXAMPLE_CONFIG,
    secret_keys: &["password"],
    build: LdapAdapter::build,
    check_config: LdapConfig::from_adapter_config,
}

/// Keeps this crate (and its registration) in the program that calls it.
pub fn link() {
    __link();
}
