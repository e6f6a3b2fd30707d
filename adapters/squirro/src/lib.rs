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
        suite: &crate::emulator::SUITE,
        contract: &crate::emulator::CONTRACT,
    },
}

/// Entry points for the fuzz targets (`fuzz/`): the adapter's answer parsing as it runs
/// on what a server sends. Not part of the API; may change at any time.
#[doc(hidden)]
pub mod fuzzing {
    use idbridge_core::http::parse_json;
    use idbridge_core::{Group, Result, User};

    use crate::wire::{GroupsResponse, UsersResponse};

    /// A token-exchange answer, parsed as the login does (the tokens are dropped).
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Protocol`] when the body does not parse.
    pub fn token_response(body: &[u8]) -> Result<()> {
        crate::client::parse_token_response(body).map(drop)
    }

    /// A user listing, parsed and converted as `list_users` does for `adapter`'s
    /// attribute keys.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Protocol`] when the body does not parse.
    pub fn users(adapter: &crate::SquirroAdapter, body: &[u8]) -> Result<Vec<User>> {
        let resp = parse_json::<UsersResponse>(body, "user list")?;
        resp.into_users()
            .into_iter()
            .map(|w| adapter.to_user(w, "GET /users"))
            .collect()
    }

    /// A group listing, parsed and converted as `list_groups` does.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Protocol`] when the body does not parse.
    pub fn groups(body: &[u8]) -> Result<Vec<Group>> {
        let resp = parse_json::<GroupsResponse>(body, "group list")?;
        resp.into_groups()
            .iter()
            .map(|g| crate::groups::to_group(g, "GET /groups"))
            .collect()
    }
}
