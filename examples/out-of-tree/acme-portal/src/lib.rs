//! # acme-portal
//!
//! An idbridge adapter for Acme's in-house portal, written outside the idbridge repository.
//! The portal keeps its users, groups, memberships, roles and role grants in one local
//! JSON file (the *store*); this crate reads it at connect time, keeps it in memory and
//! writes the whole store back, atomically, after every change.
//!
//! What makes it an idbridge adapter is three things:
//! - [`Portal`] implements the five concept traits and [`idbridge_core::Adapter`]
//!   (`adapter.rs`), declaring exactly what it implemented in its capabilities;
//! - [`idbridge_core::register_adapter!`] below puts it in the registry as `portal`;
//! - [`link`], called from the binary's `main`, keeps the crate (and so its registration)
//!   in the linked program.
//!
//! Configuration (one section of an idbridge configuration file):
//!
//! ```toml
//! [targets.portal]
//! adapter = "portal"
//! path = "portal.json"   # the store, relative to the configuration file
//! create = true          # start an empty store when the file does not exist (default: false)
//! ```

mod adapter;
mod store;

pub use adapter::{DEFAULT_PAGE_SIZE, Portal};
pub use store::{ADMIN_GROUP_ID, ADMIN_USER_ID, Store};

idbridge_core::register_adapter! {
    name: "portal",
    description: "Acme's in-house portal (users, groups and roles in a local JSON store)",
    capabilities: Portal::declared_capabilities,
    example_config: "path = \"portal.json\"  # relative to this file\ncreate = false         # start an empty store if the file is missing",
    secret_keys: &[],
    build: Portal::build,
}

/// Keeps this crate in the program that calls it.
///
/// The registry collects adapters at link time, and the linker leaves out a crate that
/// nothing references: call this once from `main` (before `idbridge::main()`), or the
/// `portal` adapter is missing from the program.
pub fn link() {
    __link();
}
