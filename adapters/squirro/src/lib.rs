//! # idbridge-squirro
//!
//! The idbridge adapter for Squirro, registered as `squirro`: users, groups and their
//! members, server roles and project roles, grants and sessions, over Squirro's user API
//! (and the topic API for project lookup), authenticated with a refresh token.
//!
//! With the `emulator` feature the crate also holds a stateful in-memory Squirro that the
//! official Python client `squirroclient` works against (see [`emulator`]).
//!
//! The full page (configuration keys, mapping, capabilities, uncertain points) is
//! `adapters/squirro/README.md`.

pub mod adapter;
pub mod client;
pub mod config;
pub mod error;
mod groups;
mod memberships;
mod readback;
pub mod roles;
pub mod sessions;
pub mod users;
pub mod wire;

#[cfg(feature = "emulator")]
pub mod emulator;

pub use adapter::SquirroAdapter;
pub use config::SquirroConfig;

idbridge_core::register_adapter! {
    name: "squirro",
    description: "Squirro user API: users, groups, project members, server and project roles, grants and sessions",
    capabilities: SquirroAdapter::declared_capabilities,
    example_config: "cluster_url = \"https://squirro.example.com\"\ntenant = \"squirro\"\nrefresh_token_file = \"/run/secrets/squirro-token\"\ndefault_role = \"user\"",
    secret_keys: &["refresh_token", "client_secret"],
    build: SquirroAdapter::build,
    check_config: SquirroConfig::from_adapter_config,
    emulator: {
        description: "Squirro user API (token exchange, users, groups, project members, grants, sessions) and topic-API projects",
        start: crate::emulator::start,
        contract: &crate::emulator::CONTRACT,
    },
}
